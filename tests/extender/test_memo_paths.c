/* test_memo_paths.c - the extender's remembered answers are the answers of a fresh fit, byte for
 * byte:
 *   - the per-document fit memo (node_view.h, fit_memo.h) behind nf_extender_filter_text and
 *     nf_extender_prioritize_text, over a generated cluster and the real DPDK/SR-IOV pod specs
 *     of the fuzz corpus, cold and warm, /filter and /prioritize in both orders, several shapes
 *     per document, shapes that differ in one amount or one container name, a full memo;
 *   - the real HTTP server (its kept views with the node's reservations deducted), against a
 *     fresh view per request with the reservations deducted in-process: without and with
 *     reservations, after they change, beyond NF_NODE_VIEW_VARIANTS lists on one document, with a
 *     reservation the document already accounts for, and after a document is republished. */
#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "binder.h"
#include "cache.h"
#include "extender_http.h"
#include "extender_protocol.h"
#include "extender_test_util.h"
#include "fit_memo.h"
#include "node_view.h"
#include "numafit/clock.h"
#include "reservations.h"

/* ---- small helpers ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static int rnd_in(rng *r, int lo, int hi)
{
    return lo + (int)(rnd(r) % (uint64_t)(hi - lo + 1));
}

typedef struct dstr {
    char *p;
    size_t len, cap;
} dstr;

static void ds_add(dstr *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ds_add(dstr *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (d->len + (size_t)n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < d->len + (size_t)n + 1)
            cap *= 2;
        d->p = realloc(d->p, cap);
        assert_non_null(d->p);
        d->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(d->p + d->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->len += (size_t)n;
}

/* Fails showing where two answers part, unless they are the same bytes. */
static void same_bytes(const char *what, const char *want, size_t nw, const char *got, size_t ng)
{
    if (nw == ng && memcmp(want, got, nw) == 0)
        return;
    size_t i = 0;
    while (i < nw && i < ng && want[i] == got[i])
        i++;
    size_t from = i > 80 ? i - 80 : 0;
    fail_msg("%s: answers differ at byte %zu (lengths %zu, %zu)\nwant ...%.200s\ngot  ...%.200s",
             what, i, nw, ng, want + from, got + from);
}

/* ---- a generated cluster ---- */

/* Device resources the corpus pods ask for, beside topo_builder's VF ("intel.com/sriov"). */
static const char *const DEVS[] = {
    "intel.com/intel_sriov_netdevice",
    "intel.com/intel_x710vfio",
    "intel.com/x700_gtp",
    "mellanox.com/mlnx_connectx4",
    "mellanox.com/mlnx_connectx5",
    "mellanox.com/mlnx_rdma",
    "openshift.io/intelnics_radio_uplink",
    "openshift.io/intelnics_radio_downlink",
    "openshift.io/storm5eno3",
};
#define N_DEVS (sizeof(DEVS) / sizeof(DEVS[0]))

/* Node name's document, varied by seed: kubelet policies (static/none/unknown CPU manager,
 * pod/container/unknown scope, Memory Manager Static or not, full-pcpus-only), 2 or 4 NUMA nodes
 * on 1 or 2 sockets, free amounts from none to all, VFs, hugepages, memory and other device
 * resources on some NUMA nodes only. */
static json_t *gen_doc(const char *name, uint64_t seed)
{
    rng r = {seed * 0x9E3779B97F4A7C15u + 0x1234567u};
    for (int i = 0; i < 4; i++)
        rnd(&r);
    static const char *const cpu_pol[] = {"static", "static", "static", "static",
                                          "static", "static", "none",   NULL};
    static const char *const scope[] = {"pod", "container", NULL};
    static const char *const mm[] = {"Static", "None", NULL, "static"};
    kspec k = {.cpu_policy = cpu_pol[rnd(&r) % 8],
               .scope = scope[rnd(&r) % 3],
               .mm_policy = mm[rnd(&r) % 4],
               .fpo = rnd(&r) % 5 == 0};
    int nz = rnd(&r) % 3 == 0 ? 4 : 2;
    bool two_sockets = rnd(&r) % 2;
    zspec z[4];
    for (int i = 0; i < nz; i++) {
        int cpu_alloc = rnd_in(&r, 4, 32);
        int cpu_avail = rnd_in(&r, 0, cpu_alloc);
        int64_t hp_alloc = rnd(&r) % 4 == 0 ? -1 : rnd_in(&r, 0, 16);
        int64_t hp_avail = hp_alloc < 0 ? 0 : rnd_in(&r, 0, (int)hp_alloc);
        int vf_alloc = rnd(&r) % 3 == 0 ? -1 : rnd_in(&r, 0, 8);
        int vf_avail = vf_alloc < 0 ? 0 : rnd_in(&r, 0, vf_alloc);
        int vf_usable = vf_alloc < 0 || rnd(&r) % 4 ? -1 : rnd_in(&r, 0, vf_avail);
        z[i] = tb_zone(i, two_sockets ? i * 2 / nz : 0, cpu_alloc, cpu_avail, hp_alloc, hp_avail,
                       vf_alloc, vf_avail, vf_usable);
        if (rnd(&r) % 2) {
            z[i].tpc = 2;
            z[i].ffc = cpu_avail / 2 - rnd_in(&r, 0, cpu_avail / 4);
        }
        if (rnd(&r) % 2) {
            z[i].mem_alloc = rnd_in(&r, 8, 128);
            z[i].mem_avail = rnd_in(&r, 0, (int)z[i].mem_alloc);
        }
    }
    json_t *doc = tb_doc(name, k, z, (size_t)nz);
    json_t *numa = json_object_get(doc, "numaNodes");
    for (size_t i = 0; i < json_array_size(numa); i++) {
        json_t *res = json_object_get(json_array_get(numa, i), "resources");
        for (size_t d = 0; d < N_DEVS; d++) {
            if (rnd(&r) % 3 == 0) {
                int a = rnd_in(&r, 1, 8);
                tb_res(res, DEVS[d], a, rnd_in(&r, 0, a), -1);
            }
        }
        if (rnd(&r) % 4 == 0) {
            int pages = rnd_in(&r, 0, 2048);
            tb_res(res, "hugepages-2Mi", (int64_t)2048 << 21, (int64_t)pages << 21, -1);
        }
    }
    return doc;
}

static void publish(nf_cache *c, json_t *doc)
{
    nf_topology *t = tb_decode(doc);
    assert_int_equal(nf_cache_put(c, t, "http://10.0.0.1:9750", nf_wall_ms()), 0);
    free(t); /* the cache took its fields */
}

static const char *node_name(int i)
{
    static char buf[8][16];
    static unsigned k;
    char *b = buf[k++ % 8];
    snprintf(b, 16, "w-%03d", i);
    return b;
}

/* Documents of nodes w-000..w-(n-1), the same for the same gen. */
static void publish_cluster(nf_cache *c, int n, uint64_t gen)
{
    for (int i = 0; i < n; i++)
        publish(c, gen_doc(node_name(i), (uint64_t)i + 1000 * gen));
}

/* The cluster's names and n_ghosts unknown ones, shuffled (kube-scheduler's order is its own). */
static char **request_names(int n, int n_ghosts, size_t *out_n)
{
    size_t total = (size_t)(n + n_ghosts);
    char **names = calloc(total, sizeof(*names));
    assert_non_null(names);
    for (int i = 0; i < n; i++)
        names[i] = strdup(node_name(i));
    for (int i = 0; i < n_ghosts; i++) {
        char b[32];
        snprintf(b, sizeof(b), "ghost-%d", i);
        names[n + i] = strdup(b);
    }
    rng r = {42};
    for (size_t i = total - 1; i > 0; i--) {
        size_t j = rnd(&r) % (i + 1);
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
    }
    *out_n = total;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* An ExtenderArgs body for pod (JSON text): NodeNames, or a NodeList of small node objects. */
static char *body_of(const char *pod, char *const *names, size_t n, bool list)
{
    dstr d = {0};
    ds_add(&d, "{\"Pod\":%s,", pod);
    if (list) {
        ds_add(&d, "\"Nodes\":{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":"
                   "{\"resourceVersion\":\"42\"},\"items\":[");
        for (size_t i = 0; i < n; i++)
            ds_add(&d,
                   "%s{\"metadata\":{\"name\":\"%s\",\"labels\":{\"kubernetes.io/hostname\":"
                   "\"%s\"}},\"status\":{\"capacity\":{\"cpu\":\"64\",\"x\":1.5}}}",
                   i ? "," : "", names[i], names[i]);
        ds_add(&d, "]}}");
    } else {
        ds_add(&d, "\"NodeNames\":[");
        for (size_t i = 0; i < n; i++)
            ds_add(&d, "%s\"%s\"", i ? "," : "", names[i]);
        ds_add(&d, "]}");
    }
    return d.p;
}

/* ---- the pods: the fuzz corpus's real pod specs and a few synthetic ones ---- */

typedef struct pod_set {
    char *json[64];
    char *label[64];
    size_t n;
    size_t n_corpus_json; /* *.json files loaded (the real DPDK/SR-IOV specs) */
} pod_set;

static void pods_add(pod_set *ps, const char *label, char *json)
{
    assert_true(ps->n < 64);
    nf_pod_req r;
    nf_err err;
    json_t *j = json_loads(json, 0, NULL);
    int rc = j ? nf_pod_req_from_json(j, &r, &err) : -EINVAL;
    json_decref(j);
    if (rc) { /* the corpus holds inputs the codec rejects on purpose */
        free(json);
        return;
    }
    nf_pod_req_free(&r);
    ps->label[ps->n] = strdup(label);
    ps->json[ps->n++] = json;
}

static void pods_free(pod_set *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->json[i]);
        free(ps->label[i]);
    }
    ps->n = 0;
}

#define CT(name, cpu, extra)                                                                       \
    "{'name':'" name "','resources':{'limits':{'cpu':'" cpu "','memory':'1Gi'" extra "}}}"

static const char *const SYNTH[] = {
    /* one DPDK container, odd CPU count (full-pcpus-only nodes refuse it) */
    "{'metadata':{'name':'s1','uid':'u1'},'spec':{'containers':[" CT(
        "dpdk", "3", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}",
    /* two aligned containers: container scope may split them */
    "{'metadata':{'name':'s2'},'spec':{'containers':[" CT(
        "a", "6", ",'hugepages-1Gi':'2Gi'") "," CT("b", "4", ",'intel.com/sriov':'2'") "]}}",
    /* init container, sidecar and apps */
    "{'spec':{'initContainers':[" CT(
        "init", "12", "") ",{'name':'side','restartPolicy':'Always',"
                          "'resources':{'limits':{'cpu':'1','memory':"
                          "'1Gi','intel.com/sriov':'1'}}}],"
                          "'containers':[" CT("app", "4", ",'hugepages-1Gi':'1Gi'") "]}}",
    /* never fits anywhere */
    "{'spec':{'containers':[" CT("big", "64", ",'hugepages-1Gi':'64Gi'") "]}}",
    /* memory alone: aligned only where the Memory Manager is Static */
    "{'spec':{'containers':[{'name':'m','resources':{'limits':{'cpu':'500m','memory':'40Gi'}}}]}}",
    /* needs nothing aligned: passes everywhere without a lookup */
    "{'spec':{'containers':[{'name':'be','resources':{}}]}}",
    /* a corpus-style device pod on the 2Mi pages */
    "{'spec':{'containers':[" CT(
        "mlx", "2", ",'hugepages-2Mi':'512Mi','mellanox.com/mlnx_connectx5':'1'") "]}}",
};

static void load_pods(pod_set *ps)
{
    memset(ps, 0, sizeof(*ps));
    const char *dir = NF_SOURCE_DIR "/tests/fuzz/corpus/pod_requirements";
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n <= 0)
        fail_msg("cannot list %s", dir);
    for (int i = 0; i < n; i++) {
        const char *f = ents[i]->d_name;
        if (f[0] != '.' && strncmp(f, "shape-", 6) != 0 && strcmp(f, "README.md") != 0) {
            size_t len;
            char *text = nft_read(nft_path(dir, f), &len);
            while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = 0;
            size_t before = ps->n;
            pods_add(ps, f, text);
            size_t fl = strlen(f);
            if (ps->n > before && fl > 5 && strcmp(f + fl - 5, ".json") == 0)
                ps->n_corpus_json++;
        }
        free(ents[i]);
    }
    free(ents);
    for (size_t i = 0; i < sizeof(SYNTH) / sizeof(SYNTH[0]); i++) {
        char label[32];
        snprintf(label, sizeof(label), "synthetic-%zu", i);
        pods_add(ps, label, tb_sq(SYNTH[i]));
    }
}

/* ---- topology sources ---- */

enum { SRC_SLOW, SRC_FRESH, SRC_MEMO };

#define HTTP_MISSING "no topology for this node (no exporter or file has published it)"

typedef struct src_ctx {
    nf_cache *cache;
    int mode;
    const char *why;
    nf_resv_snapshot *resv;    /* SRC_FRESH: deduct these from the fresh view */
    nf_fit_view *own[2];       /* SRC_FRESH: views of the node being fitted */
    const nf_fit_shape *shape; /* the request's shape */
    const nf_fit_answer *pre;  /* SRC_MEMO: the memo's answer before the fit looked */
    size_t warm, fitted, served;
} src_ctx;

static const nf_topology *src_acquire(void *ctx, const char *node, void **handle, char *why,
                                      size_t len)
{
    src_ctx *c = ctx;
    nf_cache_entry *e = nf_cache_acquire(c->cache, node);
    if (!e) {
        snprintf(why, len, "%s", c->why ? c->why : HTTP_MISSING);
        return NULL;
    }
    if (nf_cache_entry_unusable_kind(e, nf_wall_ms(), 0, why, len)) { /* the server's rule */
        nf_cache_release(e);
        return NULL;
    }
    *handle = e;
    return &e->topo;
}

static void src_release(void *ctx, void *handle)
{
    src_ctx *c = ctx;
    for (int i = 0; i < 2; i++) {
        nf_fit_view_free(c->own[i]);
        c->own[i] = NULL;
    }
    c->pre = NULL;
    nf_cache_release(handle);
}

static const nf_fit_view *src_view(void *ctx, void *handle, const nf_topology *t, nf_align align,
                                   nf_fit_memo **memo)
{
    src_ctx *c = ctx;
    *memo = NULL;
    if (c->mode == SRC_MEMO) {
        const nf_fit_view *v = nf_node_view(handle, align, memo);
        assert_non_null(v);
        assert_non_null(*memo);
        c->pre = nf_fit_memo_find(*memo, c->shape);
        if (c->pre)
            c->warm++;
        return v;
    }
    assert_int_equal(nf_fit_view_new(t, align, &c->own[0]), 0);
    if (c->resv) {
        nf_deduction *d;
        size_t n;
        assert_int_equal(nf_resv_snapshot_deductions(c->resv, t, &d, &n), 0);
        if (n)
            assert_int_equal(nf_fit_view_deduct(c->own[0], t, d, n, &c->own[1]), 0);
        free(d);
    }
    return c->own[1] ? c->own[1] : c->own[0];
}

static void src_fitted(void *ctx, const char *node, const nf_fit_answer *a)
{
    src_ctx *c = ctx;
    (void)node;
    c->fitted++;
    if (c->pre) { /* a remembered answer is served as it is */
        assert_ptr_equal(a, c->pre);
        c->served++;
    }
}

/* The answer text of a for the source c (counters reset). */
static char *answer_text(const nf_extender_args *a, src_ctx *c, const nf_fit_opts *o, bool filter,
                         size_t *len)
{
    nf_topology_source src = {.acquire = src_acquire,
                              .release = src_release,
                              .fitted = src_fitted,
                              .view = c->mode == SRC_SLOW ? NULL : src_view,
                              .ctx = c};
    nf_fit_shape shape;
    assert_int_equal(nf_fit_shape_of(&a->req, o, &shape), 0);
    c->shape = &shape;
    c->warm = c->fitted = c->served = 0;
    c->pre = NULL;
    char *text = NULL;
    int rc = filter ? nf_extender_filter_text(a, &src, o, &text, len)
                    : nf_extender_prioritize_text(a, &src, o, &text, len);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(text), *len);
    c->shape = NULL;
    nf_fit_shape_free(&shape);
    return text;
}

/* ---- what an answer says ---- */

typedef struct tally {
    size_t pass, failed, unres, scored, score_sum;
} tally;

static void tally_filter(tally *t, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    json_t *names = json_object_get(j, "NodeNames");
    json_t *nodes = json_object_get(j, "Nodes");
    t->pass += json_is_array(names) ? json_array_size(names)
                                    : json_array_size(json_object_get(nodes, "items"));
    t->failed += json_object_size(json_object_get(j, "FailedNodes"));
    t->unres += json_object_size(json_object_get(j, "FailedAndUnresolvableNodes"));
    json_decref(j);
}

static void tally_prioritize(tally *t, const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_true(json_is_array(j));
    for (size_t i = 0; i < json_array_size(j); i++) {
        json_int_t s = json_integer_value(json_object_get(json_array_get(j, i), "Score"));
        assert_true(s >= 0 && s <= 10);
        if (s > 0)
            t->scored++;
        t->score_sum += (size_t)s;
    }
    json_decref(j);
}

/* Does the /filter answer text pass node? (false: it fails it) */
static bool passes(const char *text, const char *node)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    bool in_failed = json_object_get(json_object_get(j, "FailedNodes"), node) ||
                     json_object_get(json_object_get(j, "FailedAndUnresolvableNodes"), node);
    bool in_pass = false;
    json_t *names = json_object_get(j, "NodeNames");
    json_t *items = json_object_get(json_object_get(j, "Nodes"), "items");
    for (size_t i = 0; i < json_array_size(names); i++)
        in_pass |= strcmp(json_string_value(json_array_get(names, i)), node) == 0;
    for (size_t i = 0; i < json_array_size(items); i++)
        in_pass |= strcmp(json_string_value(json_object_get(
                              json_object_get(json_array_get(items, i), "metadata"), "name")),
                          node) == 0;
    json_decref(j);
    if (in_pass == in_failed)
        fail_msg("node %s is %s in %s", node, in_pass ? "passed and failed" : "not answered", text);
    return in_pass;
}

/* ---- 1. memo answers equal fresh fits ---- */

#define N_NODES 80
#define N_GHOSTS 6

typedef struct shapes_seen {
    nf_fit_shape s[64];
    size_t n;
} shapes_seen;

/* Was the shape of req under o seen since the documents were (re)published? Records it. */
static bool seen_before(shapes_seen *ss, const nf_pod_req *req, const nf_fit_opts *o)
{
    nf_fit_shape s;
    assert_int_equal(nf_fit_shape_of(req, o, &s), 0);
    for (size_t i = 0; i < ss->n; i++) {
        if (ss->s[i].len == s.len && memcmp(ss->s[i].key, s.key, s.len) == 0) {
            nf_fit_shape_free(&s);
            return true;
        }
    }
    assert_true(ss->n < 64);
    ss->s[ss->n++] = s;
    return false;
}

static void seen_clear(shapes_seen *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        nf_fit_shape_free(&ss->s[i]);
    ss->n = 0;
}

/* One memo call: its text must be want; warm: every known node's answer came from the memo
 * (else none did). */
static void memo_call(const char *what, const nf_extender_args *a, src_ctx *c, const nf_fit_opts *o,
                      bool filter, bool warm, const char *want, size_t nw)
{
    size_t len;
    char *t = answer_text(a, c, o, filter, &len);
    same_bytes(what, want, nw, t, len);
    free(t);
    if (!a->req.aligned) {
        assert_int_equal(c->fitted, 0); /* passed without a lookup */
        return;
    }
    assert_int_equal(c->fitted, N_NODES);
    if (c->warm != (warm ? (size_t)N_NODES : 0))
        fail_msg("%s (%s): %zu of %d nodes answered from the memo, expected %s", what,
                 filter ? "filter" : "prioritize", c->warm, N_NODES, warm ? "all" : "none");
    assert_int_equal(c->served, c->warm);
}

typedef struct expected {
    char *f, *p;
    size_t nf, np;
} expected;

static void test_memo_equals_fresh(void **state)
{
    (void)state;
    pod_set ps;
    load_pods(&ps);
    /* the real specs are there (a renamed corpus must not turn this test into a no-op) */
    assert_true(ps.n_corpus_json >= 10);
    size_t n_names;
    char **names = request_names(N_NODES, N_GHOSTS, &n_names);
    tally total = {0};
    size_t mixed = 0, checked = 0;
    for (int al = 0; al < 2; al++) {
        for (int st = 0; st < 3; st++) {
            nf_fit_opts o = {.align = al ? NF_ALIGN_SOCKET : NF_ALIGN_NUMA,
                             .strategy = (nf_strategy)st};
            /* a: /filter asked first, b: /prioritize first; the same documents */
            nf_cache *ca, *cb;
            assert_int_equal(nf_cache_new(&ca), 0);
            assert_int_equal(nf_cache_new(&cb), 0);
            publish_cluster(ca, N_NODES, 1);
            publish_cluster(cb, N_NODES, 1);
            shapes_seen seen = {0};
            size_t chunk_start = 0;
            expected exp[64] = {{0}};
            for (size_t p = 0; p <= ps.n; p++) {
                /* every 10 pods (or at the end): the chunk's pods again, interleaved in reverse
                 * order on the warm documents, then fresh documents (a memo holds 16 shapes) */
                if (p == ps.n || p - chunk_start == 10) {
                    for (size_t q = p; q-- > chunk_start;) {
                        nf_extender_args a;
                        nf_err err;
                        char *body = body_of(ps.json[q], names, n_names, q % 2);
                        assert_int_equal(nf_extender_args_scan(body, strlen(body), NULL, &a, &err),
                                         0);
                        src_ctx ma = {.cache = ca, .mode = SRC_MEMO};
                        src_ctx mb = {.cache = cb, .mode = SRC_MEMO};
                        memo_call(ps.label[q], &a, &mb, &o, true, true, exp[q].f, exp[q].nf);
                        memo_call(ps.label[q], &a, &ma, &o, false, true, exp[q].p, exp[q].np);
                        nf_extender_args_free(&a);
                        free(body);
                        free(exp[q].f);
                        free(exp[q].p);
                    }
                    if (p == ps.n)
                        break;
                    publish_cluster(ca, N_NODES, 1);
                    publish_cluster(cb, N_NODES, 1);
                    seen_clear(&seen);
                    chunk_start = p;
                }
                bool list = p % 2; /* NodeList mode for every other pod */
                char *body = body_of(ps.json[p], names, n_names, list);
                nf_extender_args a, d;
                nf_err err;
                assert_int_equal(nf_extender_args_scan(body, strlen(body), NULL, &a, &err), 0);
                assert_int_equal(nf_extender_args_decode(body, strlen(body), &d, &err), 0);
                /* the slow answers: no view at all, and a fresh view per node without a memo */
                src_ctx slow = {.cache = ca, .mode = SRC_SLOW};
                src_ctx fresh = {.cache = ca, .mode = SRC_FRESH};
                expected *e = &exp[p];
                e->f = answer_text(&a, &slow, &o, true, &e->nf);
                e->p = answer_text(&a, &slow, &o, false, &e->np);
                size_t n2;
                char *t2 = answer_text(&a, &fresh, &o, true, &n2);
                same_bytes("fresh view /filter", e->f, e->nf, t2, n2);
                free(t2);
                t2 = answer_text(&a, &fresh, &o, false, &n2);
                same_bytes("fresh view /prioritize", e->p, e->np, t2, n2);
                free(t2);
                if (!list) { /* the decoded request answers the same (NodeList: same nodes,
                                other bytes) */
                    t2 = answer_text(&d, &slow, &o, true, &n2);
                    same_bytes("decoded /filter", e->f, e->nf, t2, n2);
                    free(t2);
                }
                bool warm = a.req.aligned && seen_before(&seen, &a.req, &o);
                /* a: filter cold, prioritize warm, filter, prioritize */
                src_ctx ma = {.cache = ca, .mode = SRC_MEMO};
                memo_call(ps.label[p], &a, &ma, &o, true, warm, e->f, e->nf);
                memo_call(ps.label[p], &a, &ma, &o, false, a.req.aligned, e->p, e->np);
                memo_call(ps.label[p], &a, &ma, &o, true, a.req.aligned, e->f, e->nf);
                memo_call(ps.label[p], &a, &ma, &o, false, a.req.aligned, e->p, e->np);
                /* b: prioritize cold, then filter, both through the decoded request too */
                src_ctx mb = {.cache = cb, .mode = SRC_MEMO};
                memo_call(ps.label[p], &a, &mb, &o, false, warm, e->p, e->np);
                memo_call(ps.label[p], &a, &mb, &o, true, a.req.aligned, e->f, e->nf);
                memo_call(ps.label[p], &d, &mb, &o, false, a.req.aligned, e->p, e->np);
                if (!list)
                    memo_call(ps.label[p], &d, &mb, &o, true, a.req.aligned, e->f, e->nf);
                tally t = {0};
                tally_filter(&t, e->f);
                tally_prioritize(&t, e->p);
                assert_int_equal(t.pass + t.failed + t.unres, n_names);
                if (a.req.aligned) {
                    assert_true(t.failed + t.unres >= N_GHOSTS); /* the unknown nodes */
                    checked++;
                    if (t.pass && t.failed + t.unres > N_GHOSTS)
                        mixed++;
                }
                total.pass += t.pass;
                total.failed += t.failed;
                total.unres += t.unres;
                total.scored += t.scored;
                nf_extender_args_free(&a);
                nf_extender_args_free(&d);
                free(body);
            }
            seen_clear(&seen);
            nf_cache_free(ca);
            nf_cache_free(cb);
        }
    }
    /* the comparisons meant something: nodes pass, fail, are unresolvable and score */
    if (!(total.pass > 100 && total.failed > 100 && total.unres > 100 && total.scored > 100 &&
          mixed * 2 > checked))
        fail_msg("cluster too uniform: pass %zu failed %zu unresolvable %zu scored %zu, %zu of "
                 "%zu aligned pods with passing and failing nodes",
                 total.pass, total.failed, total.unres, total.scored, mixed, checked);
    free_names(names, n_names);
    pods_free(&ps);
}

/* Shapes that differ in one amount, one container name, the strategy or the align mode keep
 * their own answers in one document's memo; a pod of the same shape (another name, namespace and
 * uid) is served the remembered answer. */
static void test_memo_shapes_kept_apart(void **state)
{
    (void)state;
    static const char *const P[] = {
        /* 0 */ "{'metadata':{'name':'a','uid':'ua'},'spec':{'containers':[" CT(
            "dpdk", "3", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}",
        /* 1: another container name */
        "{'metadata':{'name':'a','uid':'ua'},'spec':{'containers':[" CT(
            "dpdk2", "3", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}",
        /* 2: one amount more */
        "{'metadata':{'name':'a','uid':'ua'},'spec':{'containers':[" CT(
            "dpdk", "4", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}",
        /* 3: the shape of 0, another pod */
        "{'metadata':{'name':'other','namespace':'ran','uid':'ub'},'spec':{'containers':[" CT(
            "dpdk", "3", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}",
    };
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    publish_cluster(c, N_NODES, 7);
    size_t n_names;
    char **names = request_names(N_NODES, N_GHOSTS, &n_names);
    nf_extender_args a[4];
    nf_pod_req req[4];
    char *bodies[4];
    for (int i = 0; i < 4; i++) {
        char *pod = tb_sq(P[i]);
        bodies[i] = body_of(pod, names, n_names, false);
        free(pod);
        nf_err err;
        assert_int_equal(nf_extender_args_scan(bodies[i], strlen(bodies[i]), NULL, &a[i], &err), 0);
        req[i] = a[i].req;
    }
    nf_fit_opts o = {.align = NF_ALIGN_NUMA, .strategy = NF_STRATEGY_MOST_ALLOCATED};
    char *f[4], *pr[4];
    size_t nf[4], np[4];
    for (int i = 0; i < 4; i++) {
        src_ctx slow = {.cache = c, .mode = SRC_SLOW};
        f[i] = answer_text(&a[i], &slow, &o, true, &nf[i]);
        pr[i] = answer_text(&a[i], &slow, &o, false, &np[i]);
    }
    /* each through the memo, in an order where a wrongly shared answer would be served */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 4; i++) {
            bool warm = round > 0 || i == 3;
            src_ctx m = {.cache = c, .mode = SRC_MEMO};
            memo_call("shape", &a[i], &m, &o, true, warm, f[i], nf[i]);
            memo_call("shape", &a[i], &m, &o, false, true, pr[i], np[i]);
        }
    }
    /* the keys: 0 and 3 are one shape, the others are not */
    nf_fit_shape s[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(nf_fit_shape_of(&req[i], &o, &s[i]), 0);
    assert_true(s[0].len == s[3].len && memcmp(s[0].key, s[3].key, s[0].len) == 0);
    for (int i = 1; i < 3; i++) {
        assert_false(s[0].len == s[i].len && memcmp(s[0].key, s[i].key, s[0].len) == 0);
        assert_true(s[0].id != s[i].id); /* an id never names another key */
    }
    for (int i = 0; i < 4; i++)
        nf_fit_shape_free(&s[i]);

    /* the answers really differ: full-pcpus-only nodes name the container, and every failing
     * node's reason names the amounts */
    assert_true(nf[0] != nf[1] || memcmp(f[0], f[1], nf[0]) != 0);
    assert_non_null(strstr(f[0], "full-pcpus-only: container dpdk asks cpu=3"));
    assert_non_null(strstr(f[1], "full-pcpus-only: container dpdk2 asks cpu=3"));
    assert_null(strstr(f[1], "container dpdk asks"));
    assert_non_null(strstr(f[0], "cpu=3 "));
    assert_null(strstr(f[2], "cpu=3 "));
    assert_non_null(strstr(f[2], "cpu=4 "));
    same_bytes("same shape, other pod", f[0], nf[0], f[3], nf[3]);
    same_bytes("same shape, other pod", pr[0], np[0], pr[3], np[3]);
    /* cpu=4 passes some node cpu=3 does not (even count on full-pcpus-only nodes) */
    bool differs = false;
    for (int i = 0; i < N_NODES; i++)
        differs |= passes(f[0], node_name(i)) != passes(f[2], node_name(i));
    assert_true(differs);

    /* another strategy and the other align mode: their own answers, cold at first */
    for (int v = 0; v < 2; v++) {
        nf_fit_opts q = o;
        if (v)
            q.align = NF_ALIGN_SOCKET;
        else
            q.strategy = NF_STRATEGY_LEAST_ALLOCATED;
        src_ctx slow = {.cache = c, .mode = SRC_SLOW};
        size_t n1, n2;
        char *want_p = answer_text(&a[0], &slow, &q, false, &n1);
        char *want_f = answer_text(&a[0], &slow, &q, true, &n2);
        src_ctx m = {.cache = c, .mode = SRC_MEMO};
        memo_call("strategy/align", &a[0], &m, &q, false, false, want_p, n1);
        memo_call("strategy/align", &a[0], &m, &q, true, true, want_f, n2);
        /* the scores follow the strategy; the socket view answers differently */
        assert_true(n1 != np[0] || memcmp(want_p, pr[0], n1) != 0);
        free(want_p);
        free(want_f);
    }
    for (int i = 0; i < 4; i++) {
        free(f[i]);
        free(pr[i]);
        nf_extender_args_free(&a[i]);
        free(bodies[i]);
    }
    free_names(names, n_names);
    nf_cache_free(c);
}

/* More shapes than a memo holds: the first NF_FIT_MEMO_SHAPES are remembered, the others are
 * fitted every time, and every answer stays right. */
/* Answers packed into the cache's words: passing ones with their score, failing ones with their
 * status, lack and reason (interned: the same text is the same number and the same pointer). */
static void test_packed_answers(void **state)
{
    (void)state;
    nf_pod_req req = {.aligned = true, .qos = NF_QOS_GUARANTEED};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    nf_fit_shape s;
    assert_int_equal(nf_fit_shape_of(&req, &o, &s), 0);
    uint64_t mask, key = nf_fit_pack_key(&s, NF_ALIGN_NUMA, &mask);
    assert_true(key != 0);
    nf_fit_answer ok = {.status = NF_FIT_OK, .aligned = true, .score = 4321, .reason = ""};
    nf_fit_answer out;
    uint64_t w = nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &ok);
    assert_int_equal(w & mask, key);
    nf_fit_answer_unpack(w, &out);
    assert_int_equal(out.status, NF_FIT_OK);
    assert_int_equal(out.score, 4321);
    assert_true(out.aligned);
    assert_int_equal(out.reason_len, 0);

    char text[] = "numafit: no NUMA node has cpu=4 free";
    nf_fit_answer failed = {.status = NF_FIT_FAILED,
                            .lack = NF_LACK_CPU,
                            .aligned = true,
                            .reason = text,
                            .reason_len = strlen(text)};
    uint64_t wf = nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &failed);
    assert_true(wf != 0 && wf != w);
    assert_int_equal(wf & mask, key); /* found by the same lookup as a passing answer */
    text[9] = 'N';                    /* the caller's buffer changes: the packed text does not */
    nf_fit_answer_unpack(wf, &out);
    assert_int_equal(out.status, NF_FIT_FAILED);
    assert_int_equal(out.lack, NF_LACK_CPU);
    assert_true(out.aligned);
    assert_int_equal(out.score, 0);
    assert_int_equal(out.reason_len, strlen(text));
    assert_memory_equal(out.reason, "numafit: no NUMA node has cpu=4 free", out.reason_len);
    text[9] = 'n';
    const char *first = out.reason;
    assert_int_equal(nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &failed), wf); /* same text, same id */

    nf_fit_answer unres = {.status = NF_FIT_UNRESOLVABLE,
                           .lack = NF_LACK_DEVICE,
                           .aligned = true,
                           .reason = "numafit: even when empty, no NUMA node could hold x=1",
                           .reason_len = 53};
    uint64_t wu = nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &unres);
    assert_true(wu != 0 && wu != wf);
    nf_fit_answer_unpack(wu, &out);
    assert_int_equal(out.status, NF_FIT_UNRESOLVABLE);
    assert_int_equal(out.lack, NF_LACK_DEVICE);
    assert_string_equal(out.reason, unres.reason);
    nf_fit_answer_unpack(wf, &out);
    assert_ptr_equal(out.reason, first); /* interned once, for good */

    failed.aligned = false; /* what is not an aligned decision is not kept */
    assert_int_equal(nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &failed), 0);
    failed.aligned = true;
    failed.lack = (nf_fit_lack)8; /* does not fit its bits */
    assert_int_equal(nf_fit_answer_pack(&s, NF_ALIGN_NUMA, &failed), 0);
    nf_fit_shape_free(&s);
}

static void test_memo_full(void **state)
{
    (void)state;
    enum { N_SHAPES = NF_FIT_MEMO_SHAPES + 6 };
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    publish_cluster(c, N_NODES, 3);
    size_t n_names;
    char **names = request_names(N_NODES, N_GHOSTS, &n_names);
    nf_fit_opts o = {.align = NF_ALIGN_NUMA, .strategy = NF_STRATEGY_BALANCED};
    char *want[N_SHAPES];
    size_t nw[N_SHAPES];
    nf_extender_args a[N_SHAPES];
    char *bodies[N_SHAPES];
    for (int i = 0; i < N_SHAPES; i++) {
        char pod[256];
        snprintf(pod, sizeof(pod),
                 "{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'%d','memory':"
                 "'1Gi','hugepages-1Gi':'1Gi'}}}]}}",
                 i + 1);
        char *pj = tb_sq(pod);
        bodies[i] = body_of(pj, names, n_names, false);
        free(pj);
        nf_err err;
        assert_int_equal(nf_extender_args_scan(bodies[i], strlen(bodies[i]), NULL, &a[i], &err), 0);
        src_ctx slow = {.cache = c, .mode = SRC_SLOW};
        want[i] = answer_text(&a[i], &slow, &o, true, &nw[i]);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N_SHAPES; i++) {
            src_ctx m = {.cache = c, .mode = SRC_MEMO};
            memo_call("full memo", &a[i], &m, &o, true, round > 0 && i < NF_FIT_MEMO_SHAPES,
                      want[i], nw[i]);
        }
    }
    for (int i = 0; i < N_SHAPES; i++) {
        free(want[i]);
        nf_extender_args_free(&a[i]);
        free(bodies[i]);
    }
    free_names(names, n_names);
    nf_cache_free(c);
}

/* ---- 2. the server's answers equal fresh fits, with and without reservations ---- */

typedef struct resp {
    char *body;
    size_t len;
} resp;

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
    resp *r = ud;
    r->body = realloc(r->body, r->len + s * n + 1);
    assert_non_null(r->body);
    memcpy(r->body + r->len, d, s * n);
    r->len += s * n;
    r->body[r->len] = 0;
    return s * n;
}

typedef struct server {
    nf_cache *cache;
    nf_binder *binder;
    nf_extender_http *http;
    CURL *curl;
    unsigned port;
    nf_fit_opts fit;
    pod_set pods;
    char **names;
    size_t n_names;
    size_t checks;
} server;

static char *post(server *S, const char *path, const char *body, size_t *len)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", S->port, path);
    resp r = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(S->curl, CURLOPT_URL, url);
    curl_easy_setopt(S->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(S->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(S->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(S->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(S->curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(S->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(S->curl, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(S->curl);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        fail_msg("POST %s: %s", path, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(S->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        fail_msg("POST %s: HTTP %ld: %s", path, status, r.body ? r.body : "");
    assert_non_null(r.body);
    *len = r.len;
    return r.body;
}

/* What the server must answer now: a fresh view per node with the current reservations
 * deducted, no memo. */
static char *expected_answer(server *S, const char *body, bool filter, size_t *len)
{
    nf_extender_args a;
    nf_err err;
    assert_int_equal(nf_extender_args_scan(body, strlen(body), NULL, &a, &err), 0);
    src_ctx c = {.cache = S->cache,
                 .mode = SRC_FRESH,
                 .resv = nf_reservations_snapshot(nf_binder_reservations(S->binder))};
    char *t = answer_text(&a, &c, &S->fit, filter, len);
    nf_resv_snapshot_release(c.resv);
    nf_extender_args_free(&a);
    return t;
}

/* Every pod, both modes, both verbs, each asked twice: the server's bodies are the expected
 * ones. Returns the expected /filter answer (NodeNames mode) of pod 0 (free it). */
static char *check_server(server *S, const char *step)
{
    char *first = NULL;
    for (size_t p = 0; p < S->pods.n; p++) {
        for (int list = 0; list < 2; list++) {
            char *body = body_of(S->pods.json[p], S->names, S->n_names, list);
            for (int filter = 1; filter >= 0; filter--) {
                size_t nw;
                char *want = expected_answer(S, body, filter, &nw);
                for (int k = 0; k < 2; k++) {
                    size_t ng;
                    char *got = post(S, filter ? "/filter" : "/prioritize", body, &ng);
                    char what[256];
                    snprintf(what, sizeof(what), "%s: %s %s %s (%s), try %d", step,
                             S->fit.align == NF_ALIGN_SOCKET ? "socket" : "numa",
                             filter ? "/filter" : "/prioritize", S->pods.label[p],
                             list ? "NodeList" : "NodeNames", k);
                    same_bytes(what, want, nw, got, ng);
                    free(got);
                    S->checks++;
                }
                if (p == 0 && !list && filter)
                    first = want;
                else
                    free(want);
            }
            free(body);
        }
    }
    return first;
}

/* Reserve on node's NUMA node numa: cpu CPUs and vf VFs (tracked), hp_gib GiB of 1Gi pages. */
static void reserve(server *S, const char *uid, const char *node, int numa, int cpu, int vf,
                    int hp_gib)
{
    nf_placed *p = calloc(3, sizeof(*p));
    assert_non_null(p);
    size_t k = 0;
    if (cpu)
        p[k++] = (nf_placed){.numa = numa, .resource = strdup("cpu"), .amount = cpu, .tracked = 1};
    if (vf)
        p[k++] = (nf_placed){.numa = numa, .resource = strdup(VF), .amount = vf, .tracked = 1};
    if (hp_gib)
        p[k++] =
            (nf_placed){.numa = numa, .resource = strdup("hugepages-1Gi"), .amount = hp_gib * GI};
    nf_reservation r = {.uid = strdup(uid),
                        .namespace_ = strdup("ran"),
                        .name = strdup(uid),
                        .node = strdup(node),
                        .placed = p,
                        .n_placed = k,
                        .numa = numa,
                        .created_ms = nf_wall_ms()};
    assert_int_equal(nf_reservations_add(nf_binder_reservations(S->binder), &r), 0);
}

static void unreserve(server *S, const char *uid)
{
    assert_true(nf_reservations_drop(nf_binder_reservations(S->binder), uid));
}

/* The nodes the server scenario watches: two NUMA nodes, one per socket (so both align modes
 * see the same zones), cpu_free of 16 CPUs, 8 of 8 GiB of pages and 4 of 4 VFs free on each;
 * pods0: numa0's pods JSON (or NULL). */
static json_t *special_doc(const char *name, const char *pods0, int cpu_free)
{
    zspec z[] = {tb_zone(0, 0, 16, cpu_free, 8, 8, 4, 4, -1),
                 tb_zone(1, 1, 16, cpu_free, 8, 8, 4, 4, -1)};
    kspec k = {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"};
    json_t *d = tb_doc(name, k, z, 2);
    if (pods0)
        json_object_set_new(json_array_get(json_object_get(d, "numaNodes"), 0), "pods",
                            tb_json(pods0));
    return d;
}

#define SRV_NODES 40

/* The pod every step watches (cpu 4, 2Gi of pages, 1 VF) and a few real specs. */
static const char *const SRV_CORPUS[] = {"nw-sriov-dpdk-base-workload-0.json",
                                         "deployment-sriov-eno4-0.json", "pod_testpmd-0.json",
                                         "edge-sidecar-init", "edge-best-effort"};

static void server_run(nf_fit_opts fit)
{
    server S = {.fit = fit};
    assert_int_equal(nf_cache_new(&S.cache), 0);
    nf_err err = {{0}};
    nf_binder_opts bo = {.ttl_ms = 0, .bind_wait_ms = -1};
    assert_int_equal(nf_binder_new(S.cache, &bo, &S.binder, &err), 0);
    publish_cluster(S.cache, SRV_NODES, 11);
    publish(S.cache, special_doc("w-many", NULL, 8));
    publish(S.cache, special_doc("w-shown",
                                 "[{'podUID':'shown-1','cpus':'2-3','resources':{'cpu':2,"
                                 "'intel.com/sriov':1}}]",
                                 8));
    publish(S.cache, special_doc("w-repub", NULL, 8));

    char *x =
        tb_sq("{'metadata':{'name':'x','namespace':'ran','uid':'ux'},'spec':{'containers':[" CT(
            "dpdk", "4", ",'hugepages-1Gi':'2Gi','intel.com/sriov':'1'") "]}}");
    pods_add(&S.pods, "x", x);
    const char *dir = NF_SOURCE_DIR "/tests/fuzz/corpus/pod_requirements";
    for (size_t i = 0; i < sizeof(SRV_CORPUS) / sizeof(SRV_CORPUS[0]); i++)
        pods_add(&S.pods, SRV_CORPUS[i], nft_read(nft_path(dir, SRV_CORPUS[i]), NULL));
    assert_int_equal(S.pods.n, 1 + sizeof(SRV_CORPUS) / sizeof(SRV_CORPUS[0]));

    size_t n;
    char **names = request_names(SRV_NODES, 3, &n);
    S.names = realloc(names, (n + 3) * sizeof(*names));
    S.names[n++] = strdup("w-many");
    S.names[n++] = strdup("w-repub");
    S.names[n++] = strdup("w-shown");
    S.n_names = n;

    nf_extender_config cfg = {
        .listen = "127.0.0.1:0", .fit = fit, .threads = 2, .binder = S.binder};
    if (nf_extender_http_start(&cfg, S.cache, &S.http, &err))
        fail_msg("start: %s", err.msg);
    S.port = nf_extender_http_port(S.http);
    S.curl = curl_easy_init();
    assert_non_null(S.curl);

    /* no reservation */
    char *base = check_server(&S, "no reservations");
    tally t = {0};
    tally_filter(&t, base);
    assert_true(t.pass > 5 && t.failed + t.unres > 5);
    assert_true(passes(base, "w-many") && passes(base, "w-repub") && passes(base, "w-shown"));

    /* answers kept in the cache's table (asked twice above): a stale mark keeps the document but
     * the node must not pass on it; fresh again (touched), it passes on the same document */
    assert_int_equal(nf_cache_mark_node_stale(S.cache, "w-shown", NULL, "exporter gone"), 0);
    char *f = check_server(&S, "stale node");
    assert_false(passes(f, "w-shown"));
    assert_non_null(strstr(f, "topology is stale: its source stopped answering"));
    assert_null(strstr(f, "exporter gone")); /* the detail is /v1/nodes/{name}'s */
    free(f);
    assert_int_equal(nf_cache_touch(S.cache, "w-shown", NULL, nf_wall_ms()), 0);
    f = check_server(&S, "touched node");
    assert_string_equal(f, base);
    free(f);

    /* reservations on every third node and both NUMA nodes of w-repub: some answers change */
    char uid[64];
    for (int i = 0; i < SRV_NODES; i += 3) {
        snprintf(uid, sizeof(uid), "r-%d", i);
        reserve(&S, uid, node_name(i), i % 2, 2 + i % 5, 1, 1 + i % 3);
    }
    reserve(&S, "rp-0", "w-repub", 0, 5, 1, 2);
    reserve(&S, "rp-1", "w-repub", 1, 5, 1, 2);
    char *with = check_server(&S, "reservations");
    assert_false(passes(with, "w-repub")); /* 3 CPUs left on each NUMA node, the pod needs 4 */
    assert_true(strcmp(with, base) != 0);

    /* some end, others come: new revision lists */
    for (int i = 0; i < SRV_NODES; i += 6) {
        snprintf(uid, sizeof(uid), "r-%d", i);
        unreserve(&S, uid);
        snprintf(uid, sizeof(uid), "s-%d", i);
        reserve(&S, uid, node_name(i + 1), (i + 1) % 2, 3, 1, 2);
    }
    unreserve(&S, "rp-1");
    char *changed = check_server(&S, "reservations changed");
    assert_true(passes(changed, "w-repub"));
    assert_true(strcmp(changed, with) != 0);
    free(with);
    free(changed);

    /* one document, more reservation lists than it keeps views for: one CPU more each time,
     * numa0 and numa1 in turn; x fits while either NUMA node keeps 4 CPUs (up to the 9th) */
    int many = 12;
    for (int k = 0; k < many; k++) {
        snprintf(uid, sizeof(uid), "m-%02d", k);
        reserve(&S, uid, "w-many", k % 2, 1, 0, 0);
        char step[64];
        snprintf(step, sizeof(step), "w-many list %d", k + 1);
        f = check_server(&S, step);
        if (passes(f, "w-many") != (k + 1 < 10))
            fail_msg("w-many with %d reservations: %s", k + 1, f);
        free(f);
    }
    assert_true(many > NF_NODE_VIEW_VARIANTS);
    /* back down: lists kept earlier are found again */
    for (int k = many - 1; k >= NF_NODE_VIEW_VARIANTS - 2; k--) {
        snprintf(uid, sizeof(uid), "m-%02d", k);
        unreserve(&S, uid);
        char step[64];
        snprintf(step, sizeof(step), "w-many back to %d", k);
        f = check_server(&S, step);
        if (passes(f, "w-many") != (k < 10))
            fail_msg("w-many with %d reservations: %s", k, f);
        free(f);
    }

    /* a reservation the document accounts for already (nothing to deduct), and one beside it */
    reserve(&S, "shown-1", "w-shown", 0, 2, 1, 0);
    f = check_server(&S, "shown reservation");
    assert_true(passes(f, "w-shown"));
    free(f);
    reserve(&S, "s-extra", "w-shown", 0, 5, 0, 0);
    reserve(&S, "s-extra2", "w-shown", 1, 5, 0, 0);
    f = check_server(&S, "shown reservation and more");
    assert_false(passes(f, "w-shown"));
    free(f);

    /* a new document: the memo and the kept views die with the old one */
    reserve(&S, "rp-1", "w-repub", 1, 1, 0, 0);
    f = check_server(&S, "before republish");
    assert_true(passes(f, "w-repub"));
    free(f);
    publish(S.cache, special_doc("w-repub", NULL, 4)); /* 4 free: 3 after the reservation */
    f = check_server(&S, "republished");
    assert_false(passes(f, "w-repub"));
    free(f);
    unreserve(&S, "rp-0");
    f = check_server(&S, "republished, one reservation less");
    assert_true(passes(f, "w-repub")); /* numa0: 4 free again */
    free(f);
    publish(S.cache, special_doc("w-repub", NULL, 0));
    f = check_server(&S, "republished empty");
    assert_false(passes(f, "w-repub"));
    free(f);

    /* every reservation gone: the answers of the documents alone */
    nf_reservation *all;
    size_t n_all;
    for (int i = 0; i < SRV_NODES + 3; i++) {
        const char *node = i < SRV_NODES        ? node_name(i)
                           : i == SRV_NODES     ? "w-many"
                           : i == SRV_NODES + 1 ? "w-shown"
                                                : "w-repub";
        assert_int_equal(
            nf_reservations_of_node(nf_binder_reservations(S.binder), node, &all, &n_all), 0);
        for (size_t k = 0; k < n_all; k++) {
            unreserve(&S, all[k].uid);
            nf_reservation_clear(&all[k]);
        }
        free(all);
    }
    assert_int_equal(nf_reservations_count(nf_binder_reservations(S.binder)), 0);
    f = check_server(&S, "no reservations again");
    assert_true(passes(f, "w-many") && passes(f, "w-shown"));
    free(f);
    assert_true(S.checks > 500);

    free(base);
    curl_easy_cleanup(S.curl);
    nf_extender_http_stop(S.http, 2000);
    nf_binder_free(S.binder);
    nf_cache_free(S.cache);
    free_names(S.names, S.n_names);
    pods_free(&S.pods);
}

static void test_server_numa(void **state)
{
    (void)state;
    server_run((nf_fit_opts){.align = NF_ALIGN_NUMA, .strategy = NF_STRATEGY_MOST_ALLOCATED});
}

static void test_server_socket(void **state)
{
    (void)state;
    server_run((nf_fit_opts){.align = NF_ALIGN_SOCKET, .strategy = NF_STRATEGY_BALANCED});
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_equals_fresh), cmocka_unit_test(test_memo_shapes_kept_apart),
        cmocka_unit_test(test_memo_full),         cmocka_unit_test(test_packed_answers),
        cmocka_unit_test(test_server_numa),       cmocka_unit_test(test_server_socket),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
