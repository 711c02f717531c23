/* pod_requirements.c - v1.Pod -> nf_pod_req (see pod_requirements.h). */
#include "pod_requirements.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numafit/quantity.h"

json_t *nf_json_iget(const json_t *obj, const char *key)
{
    if (!json_is_object(obj) || !key)
        return NULL;
    /* Go assigns every member that folds onto the field in document order: the last one wins */
    json_t *found = NULL;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val)
    {
        if (strcasecmp(k, key) == 0)
            found = val;
    }
    return found;
}

const char *nf_qos_name(nf_qos q)
{
    switch (q) {
    case NF_QOS_GUARANTEED:
        return "Guaranteed";
    case NF_QOS_BURSTABLE:
        return "Burstable";
    default:
        return "BestEffort";
    }
}

static void container_free(nf_container_req *c)
{
    free(c->name);
    nf_amount_free_array(c->amounts, c->n_amounts);
}

void nf_pod_req_free(nf_pod_req *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->namespace_);
    free(r->uid);
    for (size_t i = 0; i < r->n_containers; i++)
        container_free(&r->containers[i]);
    free(r->containers);
    nf_amount_free_array(r->overhead, r->n_overhead);
    nf_amount_free_array(r->effective, r->n_effective);
    memset(r, 0, sizeof(*r));
}

/* ---- quantities ---- */

/* A quantity as a JSON string or number, in milli-units. */
static int json_quantity_milli(const json_t *v, int64_t *out, const char *where, nf_err *err)
{
    char buf[64];
    const char *s;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = buf;
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        s = buf;
    } else {
        return nf_errf(err, -EINVAL, "%s: a quantity must be a string or number", where);
    }
    nf_err qe;
    int rc = nf_quantity_parse_milli(s, out, &qe);
    if (rc)
        return nf_errf(err, rc, "%s: %s", where, qe.msg);
    return 0;
}

/* Milli-units -> the unit the model uses for a resource (whole CPUs are not converted here). */
static int milli_to_units(const char *res, int64_t milli, int64_t *out, const char *where,
                          nf_err *err)
{
    if (nf_resource_is_device(res) && milli % 1000 != 0)
        return nf_errf(err, -EINVAL, "%s: device resource %s must be a whole number", where, res);
    *out = milli / 1000 + (milli % 1000 != 0); /* bytes round up as Quantity.Value() does */
    return 0;
}

/* ---- one container ---- */

typedef struct raw_res {
    int64_t req_cpu, lim_cpu, req_mem, lim_mem; /* milli; -1 = not given */
} raw_res;

static int parse_resource_map(const json_t *map, const char *where, nf_amount **out, size_t *n,
                              nf_err *err)
{
    if (!map || json_is_null(map))
        return 0;
    if (!json_is_object(map))
        return nf_errf(err, -EINVAL, "%s: must be an object", where);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v)
    {
        char w[200];
        snprintf(w, sizeof(w), "%s.%s", where, k);
        int64_t milli;
        int rc = json_quantity_milli(v, &milli, w, err);
        if (rc)
            return rc;
        if ((rc = nf_amount_add(out, n, k, milli)))
            return nf_errf(err, rc, "%s: %s", w, nf_strerror(rc));
    }
    return 0;
}

static bool amount_has(const nf_amount *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return true;
    return false;
}

/* Parse one container: name, kind, requests (defaulted from limits) in milli. */
static int parse_container(const json_t *c, nf_container_kind kind, const char *where,
                           nf_container_req *out, nf_amount **req, size_t *n_req, raw_res *raw,
                           nf_err *err)
{
    if (!json_is_object(c))
        return nf_errf(err, -EINVAL, "%s: must be an object", where);
    json_t *name = nf_json_iget(c, "name");
    if (name && !json_is_string(name) && !json_is_null(name))
        return nf_errf(err, -EINVAL, "%s.name: must be a string", where);
    if (nf_strset(&out->name, json_is_string(name) ? json_string_value(name) : "") < 0)
        return nf_errf(err, -ENOMEM, "%s: out of memory", where);
    out->kind = kind;
    if (kind == NF_CONTAINER_INIT) {
        json_t *rp = nf_json_iget(c, "restartPolicy");
        if (rp && !json_is_null(rp) && !json_is_string(rp))
            return nf_errf(err, -EINVAL, "%s.restartPolicy: must be a string", where);
        if (json_is_string(rp) && strcmp(json_string_value(rp), "Always") == 0)
            out->kind = NF_CONTAINER_SIDECAR;
    }
    char w[160];
    snprintf(w, sizeof(w), "%s%s%s%s.resources", where, *out->name ? " (" : "", out->name,
             *out->name ? ")" : "");
    json_t *res = nf_json_iget(c, "resources");
    if (res && !json_is_null(res) && !json_is_object(res))
        return nf_errf(err, -EINVAL, "%s: must be an object", w);
    nf_amount *lim = NULL;
    size_t n_lim = 0;
    char wr[200], wl[200];
    snprintf(wr, sizeof(wr), "%s.requests", w);
    snprintf(wl, sizeof(wl), "%s.limits", w);
    int rc = parse_resource_map(nf_json_iget(res, "requests"), wr, req, n_req, err);
    if (!rc)
        rc = parse_resource_map(nf_json_iget(res, "limits"), wl, &lim, &n_lim, err);
    if (rc) {
        nf_amount_free_array(lim, n_lim);
        return rc;
    }
    /* requests default to limits */
    for (size_t i = 0; i < n_lim && !rc; i++)
        if (!amount_has(*req, *n_req, lim[i].name))
            rc = nf_amount_add(req, n_req, lim[i].name, lim[i].value);
    raw->req_cpu = amount_has(*req, *n_req, "cpu") ? nf_amount_get(*req, *n_req, "cpu") : -1;
    raw->req_mem = amount_has(*req, *n_req, "memory") ? nf_amount_get(*req, *n_req, "memory") : -1;
    raw->lim_cpu = amount_has(lim, n_lim, "cpu") ? nf_amount_get(lim, n_lim, "cpu") : -1;
    raw->lim_mem = amount_has(lim, n_lim, "memory") ? nf_amount_get(lim, n_lim, "memory") : -1;
    nf_amount_free_array(lim, n_lim);
    if (rc)
        return nf_errf(err, rc, "%s: out of memory", w);
    out->cpu_milli = raw->req_cpu > 0 ? raw->req_cpu : 0;
    return 0;
}

/* Keep the aligned resources of a container's (milli) requests as model units. */
static int container_amounts(nf_container_req *c, const nf_amount *req, size_t n_req, nf_qos qos,
                             const char *where, nf_err *err)
{
    for (size_t i = 0; i < n_req; i++) {
        const char *r = req[i].name;
        int64_t v = 0;
        int rc;
        if (strcmp(r, "cpu") == 0) {
            continue;
        } else if (strcmp(r, "memory") == 0) {
            if (qos != NF_QOS_GUARANTEED)
                continue;
        } else if (!nf_resource_is_hugepages(r) && !nf_resource_is_device(r)) {
            continue;
        }
        char w[200];
        snprintf(w, sizeof(w), "%s (%s).resources.requests.%s", where, c->name, r);
        if ((rc = milli_to_units(r, req[i].value, &v, w, err)))
            return rc;
        if (v == 0)
            continue;
        if ((rc = nf_amount_add(&c->amounts, &c->n_amounts, r, v)))
            return nf_errf(err, rc, "%s: %s", w, nf_strerror(rc));
    }
    if (qos == NF_QOS_GUARANTEED && c->cpu_milli > 0 && c->cpu_milli % 1000 == 0) {
        c->exclusive_cpus = c->cpu_milli / 1000;
        int rc = nf_amount_add(&c->amounts, &c->n_amounts, "cpu", c->exclusive_cpus);
        if (rc)
            return nf_errf(err, rc, "%s: out of memory", where);
    }
    return 0;
}

static int add_checked(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -ERANGE : 0;
}

/* kubelet's effective request for one resource (see the header). */
static int effective_one(const nf_pod_req *r, const char *name, int64_t *out)
{
    int64_t sidecars = 0, init_peak = 0, app = 0, t;
    for (size_t i = 0; i < r->n_containers; i++) {
        const nf_container_req *c = &r->containers[i];
        int64_t v = nf_amount_get(c->amounts, c->n_amounts, name);
        switch (c->kind) {
        case NF_CONTAINER_SIDECAR:
            if (add_checked(sidecars, v, &sidecars))
                return -ERANGE;
            break;
        case NF_CONTAINER_INIT:
            if (add_checked(sidecars, v, &t))
                return -ERANGE;
            if (t > init_peak)
                init_peak = t;
            break;
        case NF_CONTAINER_APP:
            if (add_checked(app, v, &app))
                return -ERANGE;
            break;
        }
    }
    if (add_checked(app, sidecars, &app))
        return -ERANGE;
    *out = app > init_peak ? app : init_peak;
    return 0;
}

static int compute_effective(nf_pod_req *r, nf_err *err)
{
    for (size_t i = 0; i < r->n_containers; i++) {
        const nf_container_req *c = &r->containers[i];
        for (size_t j = 0; j < c->n_amounts; j++) {
            const char *name = c->amounts[j].name;
            if (amount_has(r->effective, r->n_effective, name))
                continue;
            int64_t v;
            int rc = effective_one(r, name, &v);
            if (rc)
                return nf_errf(err, rc, "effective request of %s overflows", name);
            if ((rc = nf_amount_add(&r->effective, &r->n_effective, name, v)))
                return nf_errf(err, rc, "effective request: %s", nf_strerror(rc));
        }
    }
    /* overhead: memory (only where memory is aligned: Guaranteed), hugepages, devices */
    for (size_t i = 0; i < r->n_overhead; i++) {
        const char *name = r->overhead[i].name;
        bool take = nf_resource_is_hugepages(name) || nf_resource_is_device(name) ||
                    (strcmp(name, "memory") == 0 && r->qos == NF_QOS_GUARANTEED);
        if (!take || r->overhead[i].value == 0)
            continue;
        int rc = nf_amount_add(&r->effective, &r->n_effective, name, r->overhead[i].value);
        if (rc)
            return nf_errf(err, rc, "spec.overhead.%s: effective request overflows", name);
    }
    r->aligned = false;
    for (size_t i = 0; i < r->n_effective; i++)
        if (r->effective[i].value > 0)
            r->aligned = true;
    return 0;
}

static int dup_meta(const json_t *meta, const char *key, char **dst)
{
    json_t *v = nf_json_iget(meta, key);
    if (json_is_string(v))
        return nf_strset(dst, json_string_value(v));
    return 0;
}

/* Find the object that holds the pod spec: a Pod, or a workload's spec.template. */
static const json_t *find_pod(const json_t *doc, const char **kind_out)
{
    json_t *kind = nf_json_iget(doc, "kind");
    *kind_out = json_is_string(kind) ? json_string_value(kind) : NULL;
    json_t *spec = nf_json_iget(doc, "spec");
    if (json_is_object(spec)) {
        json_t *tpl = nf_json_iget(spec, "template");
        if (json_is_object(tpl) && !nf_json_iget(spec, "containers")) {
            /* CronJob: spec.jobTemplate.spec.template is not handled; Deployments and friends are
             */
            return tpl;
        }
    }
    return doc;
}

int nf_pod_req_from_json(const json_t *doc, nf_pod_req *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return nf_errf(err, -EINVAL, "pod: must be an object");
    const char *kind;
    const json_t *pod = find_pod(doc, &kind);
    json_t *meta = nf_json_iget(pod, "metadata");
    if (meta && !json_is_null(meta) && !json_is_object(meta))
        return nf_errf(err, -EINVAL, "pod metadata: must be an object");
    if (dup_meta(meta, "name", &out->name) || dup_meta(meta, "namespace", &out->namespace_) ||
        dup_meta(meta, "uid", &out->uid)) {
        nf_pod_req_free(out);
        return nf_errf(err, -ENOMEM, "pod: out of memory");
    }
    json_t *spec = nf_json_iget(pod, "spec");
    if (!json_is_object(spec)) {
        nf_pod_req_free(out);
        return nf_errf(err, -EINVAL, "pod%s%s: spec %s", out->name ? " " : "",
                       out->name ? out->name : "", spec ? "must be an object" : "is missing");
    }
    json_t *init = nf_json_iget(spec, "initContainers");
    json_t *app = nf_json_iget(spec, "containers");
    if (init && !json_is_null(init) && !json_is_array(init)) {
        nf_pod_req_free(out);
        return nf_errf(err, -EINVAL, "spec.initContainers: must be an array");
    }
    if (!json_is_array(app)) {
        nf_pod_req_free(out);
        return nf_errf(err, -EINVAL, "spec.containers: %s", app ? "must be an array" : "missing");
    }
    size_t n_init = json_is_array(init) ? json_array_size(init) : 0;
    size_t n_app = json_array_size(app);
    size_t n = n_init + n_app;
    raw_res *raw = calloc(n ? n : 1, sizeof(*raw));
    nf_amount **reqs = calloc(n ? n : 1, sizeof(*reqs));
    size_t *n_reqs = calloc(n ? n : 1, sizeof(*n_reqs));
    out->containers = calloc(n ? n : 1, sizeof(*out->containers));
    int rc = 0;
    if (!raw || !reqs || !n_reqs || !out->containers) {
        rc = nf_errf(err, -ENOMEM, "pod: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        bool is_init = i < n_init;
        size_t idx = is_init ? i : i - n_init;
        char where[64];
        snprintf(where, sizeof(where), "spec.%s[%zu]", is_init ? "initContainers" : "containers",
                 idx);
        rc = parse_container(json_array_get(is_init ? init : app, idx),
                             is_init ? NF_CONTAINER_INIT : NF_CONTAINER_APP, where,
                             &out->containers[i], &reqs[i], &n_reqs[i], &raw[i], err);
        out->n_containers = i + 1;
    }
    if (rc)
        goto done;

    /* QoS, as kubelet's GetPodQOS: cpu and memory of every container. */
    bool any = false, guaranteed = n > 0;
    for (size_t i = 0; i < n; i++) {
        if (raw[i].req_cpu > 0 || raw[i].req_mem > 0 || raw[i].lim_cpu > 0 || raw[i].lim_mem > 0)
            any = true;
        if (raw[i].lim_cpu <= 0 || raw[i].lim_mem <= 0 || raw[i].req_cpu != raw[i].lim_cpu ||
            raw[i].req_mem != raw[i].lim_mem)
            guaranteed = false;
    }
    out->qos = !any ? NF_QOS_BEST_EFFORT : guaranteed ? NF_QOS_GUARANTEED : NF_QOS_BURSTABLE;

    for (size_t i = 0; i < n && !rc; i++) {
        char where[64];
        bool is_init = i < n_init;
        snprintf(where, sizeof(where), "spec.%s[%zu]", is_init ? "initContainers" : "containers",
                 is_init ? i : i - n_init);
        rc = container_amounts(&out->containers[i], reqs[i], n_reqs[i], out->qos, where, err);
    }
    if (rc)
        goto done;
    json_t *oh = nf_json_iget(spec, "overhead");
    nf_amount *ohm = NULL;
    size_t n_ohm = 0;
    if ((rc = parse_resource_map(oh, "spec.overhead", &ohm, &n_ohm, err))) {
        nf_amount_free_array(ohm, n_ohm);
        goto done;
    }
    for (size_t i = 0; i < n_ohm && !rc; i++) {
        int64_t v = ohm[i].value;
        char w[200];
        snprintf(w, sizeof(w), "spec.overhead.%s", ohm[i].name);
        if (strcmp(ohm[i].name, "cpu") != 0)
            rc = milli_to_units(ohm[i].name, ohm[i].value, &v, w, err);
        if (!rc && (rc = nf_amount_add(&out->overhead, &out->n_overhead, ohm[i].name, v)))
            nf_errf(err, rc, "%s: %s", w, nf_strerror(rc));
    }
    nf_amount_free_array(ohm, n_ohm);
    if (!rc)
        rc = compute_effective(out, err);
done:
    for (size_t i = 0; reqs && i < n; i++)
        nf_amount_free_array(reqs[i], n_reqs[i]);
    free(reqs);
    free(n_reqs);
    free(raw);
    if (rc)
        nf_pod_req_free(out);
    (void)kind;
    return rc;
}

/* ---- shapes ---- */

int nf_pod_req_from_shape(const char *shape, nf_pod_req *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!shape)
        return nf_errf(err, -EINVAL, "shape: empty");
    char *copy = strdup(shape);
    out->containers = calloc(1, sizeof(*out->containers));
    if (!copy || !out->containers) {
        free(copy);
        nf_pod_req_free(out);
        return nf_errf(err, -ENOMEM, "shape: out of memory");
    }
    out->n_containers = 1;
    nf_container_req *c = &out->containers[0];
    c->kind = NF_CONTAINER_APP;
    out->qos = NF_QOS_GUARANTEED;
    int rc = nf_strset(&c->name, "shape") < 0 ? nf_errf(err, -ENOMEM, "shape: out of memory") : 0;
    char *save = NULL;
    char *p = copy;
    size_t items = 0;
    /* strtok_r would skip empty items; split by hand so "a=1,,b=2" is an error */
    while (!rc && p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *item = p;
        p = comma ? comma + 1 : NULL;
        while (*item == ' ' || *item == '\t')
            item++;
        char *end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (!*item) {
            rc = nf_errf(err, -EINVAL, "shape \"%.100s\": empty item", shape);
            break;
        }
        char *eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            rc = nf_errf(err, -EINVAL, "shape \"%.100s\": item \"%.40s\" is not name=quantity",
                         shape, item);
            break;
        }
        *eq = '\0';
        const char *name = item, *q = eq + 1;
        if (amount_has(c->amounts, c->n_amounts, name)) {
            rc = nf_errf(err, -EINVAL, "shape \"%.100s\": %s given twice", shape, name);
            break;
        }
        /* Kubernetes resource names are qualified names: anything else (a byte that is not even
         * UTF-8, from a URL's %ff) would only come back in reports and JSON */
        if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
            strlen(name)) {
            rc = nf_errf(err, -EINVAL,
                         "shape \"%.100s\": \"%.60s\" is not a Kubernetes resource name (letters, "
                         "digits, '.', '_', '-', '/')",
                         shape, name);
            break;
        }
        bool is_cpu = strcmp(name, "cpu") == 0;
        if (!is_cpu && strcmp(name, "memory") != 0 && !nf_resource_is_hugepages(name) &&
            !nf_resource_is_device(name)) {
            rc = nf_errf(err, -EINVAL,
                         "shape \"%.100s\": %s is not an aligned resource (cpu, memory, "
                         "hugepages-<size>, or a device name like intel.com/sriov)",
                         shape, name);
            break;
        }
        int64_t milli = 0, v = 0;
        nf_err qe;
        if ((rc = nf_quantity_parse_milli(q, &milli, &qe))) {
            nf_errf(err, rc, "shape \"%.100s\": %s: %s", shape, name, qe.msg);
            break;
        }
        if (milli == 0) {
            rc = nf_errf(err, -EINVAL, "shape \"%.100s\": %s is zero", shape, name);
            break;
        }
        if (is_cpu) {
            if (milli % 1000) {
                rc = nf_errf(err, -EINVAL,
                             "shape \"%.100s\": cpu=%s is not a whole number (a shape gets "
                             "exclusive CPUs)",
                             shape, q);
                break;
            }
            c->cpu_milli = milli;
            c->exclusive_cpus = v = milli / 1000;
        } else {
            char w[160];
            snprintf(w, sizeof(w), "shape \"%.100s\": %s", shape, name);
            if ((rc = milli_to_units(name, milli, &v, w, err)))
                break;
        }
        if ((rc = nf_amount_add(&c->amounts, &c->n_amounts, name, v)))
            nf_errf(err, rc, "shape: %s", nf_strerror(rc));
        items++;
    }
    (void)save;
    free(copy);
    if (!rc && items == 0)
        rc = nf_errf(err, -EINVAL, "shape: empty");
    if (!rc)
        rc = compute_effective(out, err);
    if (rc)
        nf_pod_req_free(out);
    return rc;
}

/* ---- formatting ---- */

static int amount_cmp(const void *a, const void *b)
{
    const nf_amount *x = *(const nf_amount *const *)a, *y = *(const nf_amount *const *)b;
    return nf_resource_name_cmp(x->name, y->name);
}

const char *nf_amounts_format(const nf_amount *a, size_t n, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    const nf_amount *stack[64];
    const nf_amount **order = n <= 64 ? stack : malloc(n * sizeof(*order));
    if (!order)
        return buf;
    for (size_t i = 0; i < n; i++)
        order[i] = &a[i];
    qsort(order, n, sizeof(*order), amount_cmp);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        char q[40];
        if (nf_resource_is_bytes(order[i]->name))
            nf_quantity_format_bytes(order[i]->value, q, sizeof(q));
        else
            snprintf(q, sizeof(q), "%" PRId64, order[i]->value);
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "", order[i]->name, q);
        if (w < 0 || (size_t)w >= len - used) {
            if (len >= 4) {
                size_t cut = len - 4;
                while (cut > 0 && ((unsigned char)buf[cut] & 0xC0) == 0x80)
                    cut--; /* never half a UTF-8 character */
                strcpy(buf + cut, "...");
            }
            break;
        }
        used += (size_t)w;
    }
    if (order != stack)
        free(order);
    return buf;
}
