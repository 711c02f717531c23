/* fuzz_pod_requirements.c - nf_pod_req_from_json on arbitrary bytes that load as JSON (a v1.Pod,
 * a workload or a template), and nf_pod_req_from_shape on the raw text.
 *
 * Properties (both): a failure says why and leaves *out zeroed; on success every container has
 * a name and a known kind, cpu_milli >= 0, exclusive CPUs only for a Guaranteed pod with a whole
 * cpu request (and then "cpu" == exclusive_cpus), amounts > 0 with unique names, memory only when
 * Guaranteed; `effective` is exactly kubelet's rule from the header recomputed here, and
 * `aligned` says whether it holds anything; nf_amounts_format always NUL-terminates within its
 * buffer; a second parse gives the same result. Shape: a Guaranteed pod with one app container
 * "shape" that needs something. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "pod_requirements.h"

static int64_t amount(const nf_amount *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return a[i].value;
    return 0;
}

static void check_amounts(const nf_amount *a, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        NF_FUZZ_CHECK(a[i].name != NULL, "%s[%zu] without a name", what, i);
        NF_FUZZ_CHECK(a[i].value > 0, "%s %s = %lld", what, a[i].name, (long long)a[i].value);
        for (size_t j = 0; j < i; j++)
            NF_FUZZ_CHECK(strcmp(a[i].name, a[j].name) != 0, "%s %s twice", what, a[i].name);
    }
}

/* kubelet's effective request for `name` (header of pod_requirements.h); false on overflow. */
static bool effective(const nf_pod_req *r, const char *name, int64_t *out)
{
    int64_t side = 0, peak = 0, app = 0, t;
    for (size_t i = 0; i < r->n_containers; i++) {
        const nf_container_req *c = &r->containers[i];
        int64_t v = amount(c->amounts, c->n_amounts, name);
        if (c->kind == NF_CONTAINER_SIDECAR) {
            if (__builtin_add_overflow(side, v, &side))
                return false;
        } else if (c->kind == NF_CONTAINER_INIT) {
            if (__builtin_add_overflow(side, v, &t))
                return false;
            if (t > peak)
                peak = t;
        } else if (__builtin_add_overflow(app, v, &app)) {
            return false;
        }
    }
    if (__builtin_add_overflow(app, side, &app))
        return false;
    *out = app > peak ? app : peak;
    if (strcmp(name, "cpu") != 0 && (strcmp(name, "memory") != 0 || r->qos == NF_QOS_GUARANTEED))
        return !__builtin_add_overflow(*out, amount(r->overhead, r->n_overhead, name), out);
    return true;
}

static void check_req(const nf_pod_req *r)
{
    NF_FUZZ_CHECK(r->qos >= NF_QOS_BEST_EFFORT && r->qos <= NF_QOS_GUARANTEED, "qos %d", r->qos);
    for (size_t i = 0; i < r->n_containers; i++) {
        const nf_container_req *c = &r->containers[i];
        NF_FUZZ_CHECK(c->name != NULL, "container %zu without a name", i);
        NF_FUZZ_CHECK(c->kind >= NF_CONTAINER_INIT && c->kind <= NF_CONTAINER_APP, "kind %d",
                      c->kind);
        NF_FUZZ_CHECK(i == 0 || c->kind == NF_CONTAINER_APP ||
                          r->containers[i - 1].kind != NF_CONTAINER_APP,
                      "init container %zu after an app container", i);
        NF_FUZZ_CHECK(c->cpu_milli >= 0 && c->exclusive_cpus >= 0, "negative cpu in %s", c->name);
        check_amounts(c->amounts, c->n_amounts, c->name);
        if (c->exclusive_cpus > 0) {
            NF_FUZZ_CHECK(r->qos == NF_QOS_GUARANTEED, "exclusive CPUs in a %s pod",
                          nf_qos_name(r->qos));
            NF_FUZZ_CHECK(c->cpu_milli == c->exclusive_cpus * 1000,
                          "exclusive_cpus %lld for cpu_milli %lld", (long long)c->exclusive_cpus,
                          (long long)c->cpu_milli);
        } else {
            NF_FUZZ_CHECK(
                r->qos != NF_QOS_GUARANTEED || c->cpu_milli % 1000 != 0 || c->cpu_milli == 0,
                "Guaranteed whole cpu %lld without exclusive CPUs", (long long)c->cpu_milli);
        }
        NF_FUZZ_CHECK(amount(c->amounts, c->n_amounts, "cpu") == c->exclusive_cpus,
                      "cpu amount differs from exclusive_cpus in %s", c->name);
        NF_FUZZ_CHECK(r->qos == NF_QOS_GUARANTEED ||
                          amount(c->amounts, c->n_amounts, "memory") == 0,
                      "memory aligned in a %s pod", nf_qos_name(r->qos));
    }
    for (size_t i = 0; i < r->n_overhead; i++)
        NF_FUZZ_CHECK(r->overhead[i].name != NULL, "overhead without a name");
    check_amounts(r->effective, r->n_effective, "effective");
    for (size_t i = 0; i < r->n_effective; i++) {
        int64_t want;
        if (effective(r, r->effective[i].name, &want))
            NF_FUZZ_CHECK(want == r->effective[i].value, "effective %s = %lld, rule gives %lld",
                          r->effective[i].name, (long long)r->effective[i].value, (long long)want);
    }
    for (size_t i = 0; i < r->n_containers; i++)
        for (size_t k = 0; k < r->containers[i].n_amounts; k++)
            NF_FUZZ_CHECK(amount(r->effective, r->n_effective, r->containers[i].amounts[k].name) >
                              0,
                          "%s needed by %s but not in effective", r->containers[i].amounts[k].name,
                          r->containers[i].name);
    NF_FUZZ_CHECK(r->aligned == (r->n_effective > 0), "aligned %d with %zu effective amounts",
                  r->aligned, r->n_effective);
    char small[24], big[4096];
    nf_amounts_format(r->effective, r->n_effective, small, sizeof(small));
    NF_FUZZ_CHECK(memchr(small, '\0', sizeof(small)) != NULL, "format overran its buffer");
    nf_amounts_format(r->effective, r->n_effective, big, sizeof(big));
    NF_FUZZ_CHECK(memchr(big, '\0', sizeof(big)) != NULL, "format not terminated");
}

static bool same_amounts(const nf_amount *a, size_t na, const nf_amount *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) || a[i].value != b[i].value)
            return false;
    return true;
}

static bool same_req(const nf_pod_req *a, const nf_pod_req *b)
{
    if (a->qos != b->qos || a->aligned != b->aligned || a->n_containers != b->n_containers ||
        !same_amounts(a->effective, a->n_effective, b->effective, b->n_effective) ||
        !same_amounts(a->overhead, a->n_overhead, b->overhead, b->n_overhead))
        return false;
    for (size_t i = 0; i < a->n_containers; i++) {
        const nf_container_req *x = &a->containers[i], *y = &b->containers[i];
        if (strcmp(x->name, y->name) || x->kind != y->kind || x->cpu_milli != y->cpu_milli ||
            x->exclusive_cpus != y->exclusive_cpus ||
            !same_amounts(x->amounts, x->n_amounts, y->amounts, y->n_amounts))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_pod_req r, again;
    nf_err err = {{0}};
    json_error_t je;
    json_t *doc = json_loadb((const char *)data, size, 0, &je);
    if (doc) {
        memset(&r, 0, sizeof(r));
        int rc = nf_pod_req_from_json(doc, &r, &err);
        if (rc) {
            NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
            NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
            NF_FUZZ_CHECK(nf_fuzz_zero(&r, sizeof(r)), "failed parse left data behind");
        } else {
            check_req(&r);
            rc = nf_pod_req_from_json(doc, &again, &err);
            NF_FUZZ_CHECK(rc == 0 && same_req(&r, &again), "second parse differs");
            nf_pod_req_free(&again);
            nf_pod_req_free(&r);
            NF_FUZZ_CHECK(nf_fuzz_zero(&r, sizeof(r)), "free left data behind");
        }
        json_decref(doc);
    }

    char *shape = nf_fuzz_cstr(data, size);
    memset(&r, 0, sizeof(r));
    int rc = nf_pod_req_from_shape(shape, &r, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "shape: rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "shape: rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&r, sizeof(r)), "shape: failed parse left data behind");
    } else {
        check_req(&r);
        NF_FUZZ_CHECK(r.qos == NF_QOS_GUARANTEED && r.n_containers == 1 &&
                          r.containers[0].kind == NF_CONTAINER_APP &&
                          strcmp(r.containers[0].name, "shape") == 0,
                      "shape is not one Guaranteed app container \"shape\"");
        NF_FUZZ_CHECK(r.containers[0].n_amounts > 0 && r.aligned, "shape needs nothing");
        rc = nf_pod_req_from_shape(shape, &again, &err);
        NF_FUZZ_CHECK(rc == 0 && same_req(&r, &again), "shape: second parse differs");
        nf_pod_req_free(&again);
        nf_pod_req_free(&r);
    }
    free(shape);
    return 0;
}
