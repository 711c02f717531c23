/* test_extender_http.c - numafit-extender's HTTP server on loopback, driven with libcurl:
 * health/readiness, /v1/nodes, every error status with its JSON body, /filter and /prioritize in
 * both nodeCacheCapable modes with mixed-case keys, stale policies. */
#include <curl/curl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cache.h"
#include "extender_http.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"
#include "test_docs.h"

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char allow[64];
    char type[64];
} resp;

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
    resp *r = ud;
    r->body = realloc(r->body, r->len + s * n + 1);
    memcpy(r->body + r->len, d, s * n);
    r->len += s * n;
    r->body[r->len] = 0;
    return s * n;
}

static size_t on_header(char *d, size_t s, size_t n, void *ud)
{
    resp *r = ud;
    char *dst = strncasecmp(d, "Allow:", 6) == 0           ? r->allow
                : strncasecmp(d, "Content-Type:", 13) == 0 ? r->type
                                                           : NULL;
    if (dst) {
        const char *v = strchr(d, ':') + 1;
        while (*v == ' ')
            v++;
        size_t k = 0;
        while (v < d + s * n && *v != '\r' && *v != '\n' && k + 1 < 64)
            dst[k++] = *v++;
        dst[k] = 0;
    }
    return s * n;
}

typedef struct chunked {
    size_t left;
} chunked;

static size_t feed(char *buf, size_t s, size_t n, void *ud)
{
    chunked *c = ud;
    size_t k = s * n < c->left ? s * n : c->left;
    memset(buf, ' ', k);
    c->left -= k;
    return k;
}

static unsigned port;

/* One request; body NULL for GET. chunk_bytes > 0 streams that many bytes chunked instead. */
static resp req(const char *method, const char *path, const char *body, size_t chunk_bytes)
{
    resp r = {0};
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    chunked ck = {chunk_bytes};
    if (chunk_bytes) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
        curl_easy_setopt(c, CURLOPT_READDATA, &ck);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = strdup("");
    return r;
}

static json_t *json_of(const resp *r)
{
    json_error_t je;
    json_t *j = json_loads(r->body, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, r->body);
    return j;
}

/* The status and a JSON {"Error": "..."} containing `needle`. */
static void expect_error(resp r, long status, const char *needle)
{
    if (r.status != status)
        fail_msg("expected HTTP %ld, got %ld: %s", status, r.status, r.body);
    json_t *j = json_of(&r);
    const char *e = json_string_value(json_object_get(j, "Error"));
    if (!e || !strstr(e, needle))
        fail_msg("Error without \"%s\": %s", needle, r.body);
    json_decref(j);
    free(r.body);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nf_test_doc(node, 2 NUMA nodes, cpu_free, 2 VFs per NUMA node), decoded */
static nf_topology doc(const char *node, int cpu_free)
{
    char *s = nf_test_doc(node, 2, 1, cpu_free, 2);
    nf_topology t;
    nf_err err;
    assert_int_equal(nf_topology_parse(s, strlen(s), &t, &err), 0);
    free(s);
    return t;
}

static void put(nf_cache *c, const char *node, int cpu_free, const char *source, int64_t when)
{
    nf_topology t = doc(node, cpu_free);
    assert_int_equal(nf_cache_put(c, &t, source, when), 0);
}

typedef struct fixture {
    nf_cache *cache;
    nf_extender_http *http;
} fixture;

static fixture start(bool pass_missing, size_t max_body)
{
    fixture f;
    assert_int_equal(nf_cache_new(&f.cache), 0);
    nf_extender_config cfg = {.listen = "127.0.0.1:0",
                              .fit = {.align = NF_ALIGN_NUMA},
                              .pass_missing = pass_missing,
                              .stale_after_ms = 60000,
                              .max_body = max_body,
                              .threads = 2};
    nf_err err;
    if (nf_extender_http_start(&cfg, f.cache, &f.http, &err))
        fail_msg("start: %s", err.msg);
    port = nf_extender_http_port(f.http);
    assert_true(port > 0);
    return f;
}

static void stop(fixture *f)
{
    nf_extender_http_stop(f->http, 2000);
    nf_cache_free(f->cache);
}

static void health_ready_nodes(void **state)
{
    fixture f = start(false, 0);
    resp r = req("GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = req("GET", "/readyz", NULL, 0);
    assert_int_equal(r.status, 503);
    free(r.body);

    put(f.cache, "worker-1", 10, "http://10.0.0.1:9750", now_ms());
    r = req("GET", "/readyz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);

    r = req("GET", "/v1/nodes", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "application/json");
    json_t *j = json_of(&r);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "NodeTopologyList");
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    /* each item is a NodeTopology the shared decoder reads back (the report relies on it) */
    nf_topology back;
    nf_err err;
    assert_int_equal(nf_topology_from_json(json_array_get(items, 0), &back, &err), 0);
    assert_string_equal(back.node, "worker-1");
    assert_int_equal(back.n_numa_nodes, 2);
    nf_topology_free(&back);
    json_decref(j);
    free(r.body);

    r = req("GET", "/v1/nodes/worker-1", NULL, 0);
    assert_int_equal(r.status, 200);
    j = json_of(&r);
    assert_string_equal(json_string_value(json_object_get(j, "node")), "worker-1");
    json_t *meta = json_object_get(j, "cache");
    assert_string_equal(json_string_value(json_object_get(meta, "source")), "http://10.0.0.1:9750");
    assert_true(json_is_false(json_object_get(meta, "stale")));
    assert_non_null(json_object_get(meta, "receivedAt"));
    json_decref(j);
    free(r.body);

    nf_cache_mark_stale(f.cache, "http://10.0.0.1:9750", "exporter http://10.0.0.1:9750: refused");
    r = req("GET", "/v1/nodes/worker-1", NULL, 0);
    j = json_of(&r);
    meta = json_object_get(j, "cache");
    assert_true(json_is_true(json_object_get(meta, "stale")));
    assert_non_null(strstr(json_string_value(json_object_get(meta, "staleReason")), "refused"));
    json_decref(j);
    free(r.body);

    expect_error(req("GET", "/v1/nodes/nope", NULL, 0), 404, "nope");
    stop(&f);
}

static void error_statuses(void **state)
{
    fixture f = start(false, 4096);
    expect_error(req("GET", "/nope", NULL, 0), 404, "no such path");
    resp r = req("GET", "/filter", NULL, 0);
    assert_string_equal(r.allow, "POST");
    expect_error(r, 405, "method GET");
    r = req("POST", "/v1/nodes", "{}", 0);
    assert_string_equal(r.allow, "GET, HEAD");
    expect_error(r, 405, "POST");
    expect_error(req("POST", "/filter", "{\"Pod\": ", 0), 400, "JSON");
    expect_error(req("POST", "/filter", "{\"NodeNames\": [\"a\"]}", 0), 400, "Pod");
    expect_error(req("POST", "/prioritize", "[1, 2]", 0), 400, "");
    expect_error(req("POST", "/bind", "{\"PodName\": 3}", 0), 400, "");
    char big[8192];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    expect_error(req("POST", "/filter", big, 0), 413, "limit");     /* Content-Length says so */
    expect_error(req("POST", "/filter", NULL, 6000), 413, "limit"); /* chunked, found streaming */
    expect_error(req("GET", "/v1/report", NULL, 0), 400, "at least one shape");
    expect_error(req("POST", "/bind",
                     "{\"PodName\": \"p\", \"PodNamespace\": \"d\", \"PodUID\": \"u\", "
                     "\"Node\": \"worker-1\"}",
                     0),
                 200, "does not bind");
    /* still serving after all of that */
    r = req("GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    stop(&f);
}

/* Issue 12: bytes that are not UTF-8 in a URL, a message cut mid-character, and a document
 * holding INT64_MAX: clear 4xx answers and a report without that node, never a 500. */
static void bad_bytes_and_absurd_amounts(void **state)
{
    fixture f = start(false, 0);
    expect_error(req("GET", "/v1/nodes/%ff", NULL, 0), 404, "no topology cached for node");
    expect_error(req("GET", "/%ff%fe", NULL, 0), 404, "no such path");
    /* "no such path: %.200s" cuts the URL inside the 2-byte e-acute */
    char url[256] = "/";
    memset(url + 1, 'a', 198);
    strcpy(url + 199, "%C3%A9");
    expect_error(req("GET", url, NULL, 0), 404, "no such path: /aaa");
    expect_error(req("GET", "/v1/report?shape=cpu=2,intel.com/%ff=1", NULL, 0), 400,
                 "is not a Kubernetes resource name");

    put(f.cache, "worker-1", 10, "http://10.0.0.1:9750", now_ms());
    nf_topology t = doc("worker-max", 10);
    nf_resource *hp = nf_numa_resource(&t.numa_nodes[1], "hugepages-1Gi");
    assert_non_null(hp);
    hp->capacity = hp->allocatable = hp->available = INT64_MAX;
    assert_int_equal(nf_cache_put(f.cache, &t, "http://10.0.0.9:9750", now_ms()), 0);
    resp r = req("GET", "/v1/report?shape=cpu=2,hugepages-1Gi=1Gi", NULL, 0);
    if (r.status != 200)
        fail_msg("report: HTTP %ld: %s", r.status, r.body);
    json_t *j = json_of(&r);
    free(r.body);
    json_t *skipped = json_object_get(j, "skipped");
    assert_int_equal(json_array_size(skipped), 1);
    json_t *sk = json_array_get(skipped, 0);
    assert_string_equal(json_string_value(json_object_get(sk, "node")), "worker-max");
    assert_non_null(strstr(json_string_value(json_object_get(sk, "reason")),
                           "numa1 resources[hugepages-1Gi].capacity = 9223372036854775807"));
    assert_int_equal(json_integer_value(json_object_get(j, "nodeCount")), 1);
    json_t *shape = json_array_get(json_object_get(j, "shapes"), 0);
    assert_true(json_integer_value(json_object_get(shape, "total")) > 0);
    json_decref(j);
    r = req("GET", "/v1/report?shape=cpu=2,hugepages-1Gi=1Gi&format=html", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "worker-max"));
    free(r.body);
    stop(&f);
}

/* A server with these fit options on an existing cache (several servers may share it, and with
 * it each document's remembered answers). */
static nf_extender_http *serve(nf_cache *cache, nf_fit_opts fit)
{
    nf_extender_config cfg = {
        .listen = "127.0.0.1:0", .fit = fit, .stale_after_ms = 60000, .threads = 2};
    nf_extender_http *h;
    nf_err err;
    if (nf_extender_http_start(&cfg, cache, &h, &err))
        fail_msg("start: %s", err.msg);
    return h;
}

/* The answer of server h to /filter of pod on node: "pass", "failed: ..." or "unresolvable: ..."
 * (static buffer). */
static const char *filter_on(nf_extender_http *h, const char *pod_json, const char *node)
{
    static char out[1024];
    char body[4096];
    snprintf(body, sizeof(body), "{\"Pod\": %s, \"NodeNames\": [\"%s\"]}", pod_json, node);
    port = nf_extender_http_port(h);
    resp r = req("POST", "/filter", body, 0);
    if (r.status != 200)
        fail_msg("/filter: HTTP %ld: %s", r.status, r.body);
    json_t *j = json_of(&r);
    free(r.body);
    const char *f = json_string_value(json_object_get(json_object_get(j, "FailedNodes"), node));
    const char *u =
        json_string_value(json_object_get(json_object_get(j, "FailedAndUnresolvableNodes"), node));
    snprintf(out, sizeof(out), "%s%s",
             f   ? "failed: "
             : u ? "unresolvable: "
                 : "pass",
             f   ? f
             : u ? u
                 : "");
    json_decref(j);
    return out;
}

#define DPDK_RES "\"hugepages-1Gi\": \"2Gi\", \"intel.com/intel_sriov_dpdk\": \"1\""
/* The same DPDK pod, Burstable and Guaranteed: nothing else differs. */
static const char burstable_pod[] =
    "{\"metadata\": {\"name\": \"b\", \"uid\": \"u-b\"}, \"spec\": {\"containers\": [{\"name\": "
    "\"app\", \"resources\": {\"requests\": {\"cpu\": \"2\", \"memory\": \"1Gi\", " DPDK_RES
    "}, \"limits\": {\"cpu\": \"2\", \"memory\": \"2Gi\", " DPDK_RES "}}}]}}";
static const char guaranteed_pod[] =
    "{\"metadata\": {\"name\": \"b\", \"uid\": \"u-b\"}, \"spec\": {\"containers\": [{\"name\": "
    "\"app\", \"resources\": {\"requests\": {\"cpu\": \"2\", \"memory\": \"2Gi\", " DPDK_RES
    "}, \"limits\": {\"cpu\": \"2\", \"memory\": \"2Gi\", " DPDK_RES "}}}]}}";

/* Issue 12: --hugepages-alignment and the pod's QoS change the answer, so they are part of the
 * remembered shape: a warm memo never answers for the other pod, nor for a server with the other
 * option on the same cached document. */
static void hugepages_alignment_memo(void **state)
{
    nf_cache *cache;
    assert_int_equal(nf_cache_new(&cache), 0);
    /* 1Gi pages only on numa0, VFs only on numa1 */
    nf_topology t = doc("split", 10);
    nf_resource *hp = nf_numa_resource(&t.numa_nodes[1], "hugepages-1Gi");
    nf_resource *vf = nf_numa_resource(&t.numa_nodes[0], "intel.com/intel_sriov_dpdk");
    hp->capacity = hp->allocatable = hp->available = 0;
    vf->capacity = vf->allocatable = vf->available = 0;
    assert_int_equal(nf_cache_put(cache, &t, "http://10.0.0.1:9750", now_ms()), 0);
    nf_extender_http *kub = serve(cache, (nf_fit_opts){.hugepages = NF_HUGEPAGES_GUARANTEED});
    nf_extender_http *all = serve(cache, (nf_fit_opts){.hugepages = NF_HUGEPAGES_ALL});
    for (int round = 0; round < 2; round++) { /* cold, then every answer remembered */
        assert_string_equal(filter_on(kub, burstable_pod, "split"), "pass");
        const char *g = filter_on(kub, guaranteed_pod, "split");
        assert_true(strncmp(g, "unresolvable: ", 14) == 0);
        assert_null(strstr(g, "--hugepages-alignment"));
        const char *b = filter_on(all, burstable_pod, "split");
        assert_true(strncmp(b, "unresolvable: ", 14) == 0);
        assert_non_null(strstr(b, "Burstable pod: numafit aligns hugepages for all pods"));
    }
    nf_extender_http_stop(kub, 2000);
    nf_extender_http_stop(all, 2000);
    nf_cache_free(cache);
}

static void put_policy(nf_cache *c, const char *node, const char *policy, int cpu_free)
{
    nf_topology t = doc(node, cpu_free);
    assert_int_equal(nf_strset(&t.kubelet.topology_manager_policy, policy), 0);
    assert_int_equal(nf_cache_put(c, &t, "http://10.0.0.1:9750", now_ms()), 0);
}

/* Issue 12: --align kubelet on mixed-policy nodes, and --align numa on the same cached documents
 * (their remembered answers are kept per align mode): a 30-CPU pod needs both 24-CPU NUMA nodes,
 * which restricted and best-effort admit and single-numa-node does not. */
static void align_kubelet_mixed_policies(void **state)
{
    nf_cache *cache;
    assert_int_equal(nf_cache_new(&cache), 0);
    put_policy(cache, "restricted", "restricted", 20);
    put_policy(cache, "single", "single-numa-node", 20);
    put_policy(cache, "besteffort", "best-effort", 4);
    put_policy(cache, "full", "restricted", 12); /* 24 free CPUs in all: no room now */
    nf_extender_http *kub = serve(cache, (nf_fit_opts){.align = NF_ALIGN_KUBELET});
    nf_extender_http *numa = serve(cache, (nf_fit_opts){.align = NF_ALIGN_NUMA});
    char p30[1024];
    snprintf(p30, sizeof(p30),
             "{\"metadata\": {\"name\": \"big\"}, \"spec\": {\"containers\": [{\"name\": \"app\", "
             "\"resources\": {\"limits\": {\"cpu\": \"30\", \"memory\": \"1Gi\", %s}}}]}}",
             DPDK_RES);
    for (int round = 0; round < 2; round++) {
        assert_string_equal(filter_on(kub, p30, "restricted"), "pass");
        assert_string_equal(filter_on(kub, p30, "besteffort"), "pass");
        assert_true(strncmp(filter_on(kub, p30, "single"), "unresolvable: ", 14) == 0);
        const char *f = filter_on(kub, p30, "full");
        if (strncmp(f, "failed: ", 8) != 0 || !strstr(f, "restricted"))
            fail_msg("full: %s", f);
        assert_true(strncmp(filter_on(numa, p30, "restricted"), "unresolvable: ", 14) == 0);
        assert_true(strncmp(filter_on(numa, p30, "besteffort"), "unresolvable: ", 14) == 0);
    }
    /* prioritize: both spanning nodes score, the unresolvable one 0 */
    port = nf_extender_http_port(kub);
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"Pod\": %s, \"NodeNames\": [\"restricted\", \"besteffort\", \"single\"]}", p30);
    resp r = req("POST", "/prioritize", body, 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_of(&r);
    free(r.body);
    assert_true(json_integer_value(json_object_get(json_array_get(j, 0), "Score")) > 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 2), "Score")), 0);
    json_decref(j);
    nf_extender_http_stop(kub, 2000);
    nf_extender_http_stop(numa, 2000);
    nf_cache_free(cache);
}

static const char pod[] =
    "{\"metadata\": {\"name\": \"dpdk\", \"namespace\": \"default\", \"uid\": \"u-1\"},"
    " \"spec\": {\"containers\": [{\"name\": \"app\", \"resources\": {"
    "\"requests\": {\"cpu\": \"4\", \"memory\": \"1Gi\", \"hugepages-1Gi\": \"2Gi\","
    " \"intel.com/intel_sriov_dpdk\": \"1\"},"
    "\"limits\": {\"cpu\": \"4\", \"memory\": \"1Gi\", \"hugepages-1Gi\": \"2Gi\","
    " \"intel.com/intel_sriov_dpdk\": \"1\"}}}]}}";

static json_t *post(const char *path, const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    resp r = req("POST", path, body, 0);
    if (r.status != 200)
        fail_msg("%s: HTTP %ld: %s", path, r.status, r.body);
    json_t *j = json_of(&r);
    free(r.body);
    return j;
}

static const char *failed_reason(json_t *res, const char *node)
{
    return json_string_value(json_object_get(json_object_get(res, "FailedNodes"), node));
}

static const char *unresolvable_reason(json_t *res, const char *node)
{
    return json_string_value(
        json_object_get(json_object_get(res, "FailedAndUnresolvableNodes"), node));
}

static void filter_and_prioritize(void **state)
{
    fixture f = start(false, 0);
    put(f.cache, "worker-1", 10, "http://10.0.0.1:9750", now_ms()); /* 10 free CPUs per NUMA */
    put(f.cache, "worker-2", 2, "http://10.0.0.2:9750", now_ms());  /* 2: cpu=4 cannot fit */
    put(f.cache, "worker-4", 10, "http://10.0.0.4:9750", now_ms() - 120000);  /* aged out */
    put(f.cache, "worker-5", 10, "file:/t/worker-5.json", now_ms() - 120000); /* files don't age */

    json_t *res = post("/filter",
                       "{\"Pod\": %s, \"Nodes\": null, \"NodeNames\": [\"worker-1\", "
                       "\"worker-2\", \"worker-3\", \"worker-4\", \"worker-5\"]}",
                       pod);
    json_t *names = json_object_get(res, "NodeNames");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "worker-1");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "worker-5");
    assert_true(json_is_null(json_object_get(res, "Nodes")));
    assert_non_null(strstr(failed_reason(res, "worker-2"), "cpu"));
    /* --stale-policy reject: no usable topology is no place to preempt (issue 12) */
    assert_non_null(strstr(unresolvable_reason(res, "worker-3"), "no topology"));
    assert_non_null(strstr(unresolvable_reason(res, "worker-4"), "--stale-after"));
    assert_null(failed_reason(res, "worker-3"));
    assert_null(failed_reason(res, "worker-4"));
    assert_null(unresolvable_reason(res, "worker-2"));
    assert_string_equal(json_string_value(json_object_get(res, "Error")), "");
    json_decref(res);

    /* lower-case keys, as upstream tests send them */
    res = post("/filter", "{\"pod\": %s, \"nodenames\": [\"worker-2\", \"worker-1\"]}", pod);
    names = json_object_get(res, "NodeNames");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "worker-1");
    json_decref(res);

    /* a full NodeList: the passing node objects come back unchanged */
    res = post("/filter",
               "{\"Pod\": %s, \"Nodes\": {\"kind\": \"NodeList\", \"apiVersion\": \"v1\", "
               "\"items\": [{\"metadata\": {\"name\": \"worker-1\", \"labels\": {\"zone\": "
               "\"a\"}}, \"status\": {\"allocatable\": {\"cpu\": \"48\"}}}, {\"metadata\": "
               "{\"name\": \"worker-2\"}}]}}",
               pod);
    json_t *items = json_object_get(json_object_get(res, "Nodes"), "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *n0 = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(n0, "metadata"), "name")),
                        "worker-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(n0, "metadata"), "labels"), "zone")),
                        "a");
    assert_true(json_is_null(json_object_get(res, "NodeNames")));
    assert_non_null(failed_reason(res, "worker-2"));
    json_decref(res);

    res = post("/prioritize",
               "{\"Pod\": %s, \"NodeNames\": [\"worker-1\", \"worker-2\", "
               "\"worker-3\"]}",
               pod);
    assert_true(json_is_array(res));
    assert_int_equal(json_array_size(res), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *h = json_array_get(res, i);
        json_int_t score = json_integer_value(json_object_get(h, "Score"));
        assert_true(score >= 0 && score <= 10);
        if (i > 0)
            assert_int_equal(score, 0); /* does not fit / no topology */
        else
            assert_true(score > 0);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "Host")),
                        "worker-1");
    json_decref(res);

    /* a stale source rejects its node, with the reason of its kind (the same for every stale
     * node, so kube-scheduler folds them); the detail is in /v1/nodes/{name} */
    nf_cache_mark_stale(f.cache, "http://10.0.0.1:9750", "exporter http://10.0.0.1:9750: gone");
    res = post("/filter", "{\"Pod\": %s, \"NodeNames\": [\"worker-1\"]}", pod);
    assert_int_equal(json_array_size(json_object_get(res, "NodeNames")), 0);
    assert_string_equal(unresolvable_reason(res, "worker-1"),
                        "numafit: topology is stale: its source stopped answering (GET "
                        "/v1/nodes/NODE says why)");
    assert_null(failed_reason(res, "worker-1"));
    json_decref(res);
    resp nr = req("GET", "/v1/nodes/worker-1", NULL, 0);
    assert_int_equal(nr.status, 200);
    assert_non_null(strstr(nr.body, "exporter http://10.0.0.1:9750: gone"));
    free(nr.body);
    stop(&f);
}

static void stale_policy_ignore(void **state)
{
    fixture f = start(true, 0);
    put(f.cache, "worker-1", 10, "http://10.0.0.1:9750", now_ms());
    nf_cache_mark_stale(f.cache, "http://10.0.0.1:9750", "gone");
    json_t *res =
        post("/filter", "{\"Pod\": %s, \"NodeNames\": [\"worker-1\", \"worker-9\"]}", pod);
    assert_int_equal(json_array_size(json_object_get(res, "NodeNames")), 2);
    assert_int_equal(json_object_size(json_object_get(res, "FailedNodes")), 0);
    assert_int_equal(json_object_size(json_object_get(res, "FailedAndUnresolvableNodes")), 0);
    json_decref(res);
    stop(&f);
}

int main(void)
{
    nf_log_set_level(NF_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_ready_nodes),           cmocka_unit_test(error_statuses),
        cmocka_unit_test(filter_and_prioritize),        cmocka_unit_test(stale_policy_ignore),
        cmocka_unit_test(bad_bytes_and_absurd_amounts), cmocka_unit_test(hugepages_alignment_memo),
        cmocka_unit_test(align_kubelet_mixed_policies),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
