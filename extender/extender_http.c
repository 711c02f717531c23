/* extender_http.c - numafit-extender's HTTP glue (see extender_http.h). */
#include "extender_http.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <microhttpd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binder.h"
#include "explain.h"
#include "extender_metrics.h"
#include "extender_protocol.h"
#include "node_view.h"
#include "numafit/arena.h"
#include "numafit/buf.h"
#include "numafit/clock.h"
#include "numafit/fileio.h"
#include "numafit/http_offload.h"
#include "numafit/httpd.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"
#include "preempt.h"
#include "report_render.h"

struct nf_extender_http {
    nf_httpd *server;
    nf_cache *cache;
    nf_extender_config cfg;
    unsigned port;
    atomic_int inflight;
    atomic_bool closing;
    nf_extender_metrics *metrics;
    nf_explain *explain;      /* the last /filter decisions, for /v1/explain */
    atomic_size_t body_bytes; /* held by request bodies now, against cfg.body_budget */
    bool client_ca;           /* the scheduler's verbs need a verified client certificate */
    bool bind_refused;        /* beyond loopback without a client CA */
    nf_offload *admin;        /* reports, /v1/nodes, /v1/explain, /metrics; NULL: inline */
    nf_log_limit busy_log;
    nf_arena_pool *arenas; /* the requests' arenas keep their memory here between requests */
};

typedef enum route {
    R_NONE = 0,
    R_FILTER,
    R_PRIORITIZE,
    R_BIND,
    R_NODES,
    R_NODE,
    R_HEALTHZ,
    R_READYZ,
    R_METRICS,
    R_REPORT,
    R_PREEMPT,
    R_EXPLAIN,
} route;

/* One request: its route and body. */
typedef struct req {
    route r;
    const char *node; /* R_NODE: points into the URL, which MHD keeps for the request */
    nf_buf body;
    size_t discarded; /* bytes dropped after the body went over max_body */
    size_t held;      /* of h->body_bytes */
    bool too_big;
    uint64_t start_ns; /* nf_mono_ns() */
    unsigned status;   /* of the answer queued, 0 before */
    /* /filter and /prioritize: the decoded request, kept while a /filter is held (suspended)
     * until the previous pod's /bind is in (binder.h) */
    nf_extender_args args;
    bool have_args;
    struct MHD_Connection *conn;
    nf_bind_waiter waiter;
    /* an admin request served by h->admin: the job, and the answer it left */
    nf_offload_job job;
    bool submitted;
    nf_extender_http *h;
    struct MHD_Response *answer;
    unsigned answer_status;
    nf_arena arena; /* what the request needs until it ends: the node table, the lookups */
} req;

/* ?addPods= at most: each placed pod is tried on every node, and a report runs on a worker that
 * the scheduler's verbs share (1,000 pods on 5,000 nodes: ~0.3 s; a million: seconds). */
#define HTTP_MAX_ADD_PODS 1000

/* The status of the answer send_buf queued during the current handler call (see on_request). */
static _Thread_local unsigned tls_status;
/* On an admin worker: the request whose answer send_buf keeps (it is queued when the
 * connection resumes: MHD_queue_response belongs to the access handler). */
static _Thread_local req *tls_keep;

/* ---- responses ---------------------------------------------------------------------------- */

static enum MHD_Result send_buf(nf_extender_http *h, struct MHD_Connection *c, unsigned status,
                                const char *type, char *buf, size_t len, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, buf ? buf : (char *)"", buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (atomic_load(&h->closing))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (tls_keep) {
        tls_keep->answer = resp;
        tls_keep->answer_status = status;
        return MHD_YES;
    }
    tls_status = status;
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Send a JSON document (reference stolen). */
static enum MHD_Result send_json(nf_extender_http *h, struct MHD_Connection *c, unsigned status,
                                 json_t *j, const char *allow)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        static const char oom[] = "{\"Error\":\"numafit-extender: out of memory\"}";
        return send_buf(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", strdup(oom),
                        sizeof(oom) - 1, NULL);
    }
    return send_buf(h, c, status, "application/json", s, strlen(s), allow);
}

static enum MHD_Result send_error(nf_extender_http *h, struct MHD_Connection *c, unsigned status,
                                  const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result send_error(nf_extender_http *h, struct MHD_Connection *c, unsigned status,
                                  const char *allow, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return send_json(h, c, status, nf_extender_error(msg), allow);
}

static enum MHD_Result send_text(nf_extender_http *h, struct MHD_Connection *c, unsigned status,
                                 const char *text)
{
    return send_buf(h, c, status, "text/plain; charset=utf-8", strdup(text), strlen(text), NULL);
}

/* ---- node topologies for the protocol module -------------------------------------------- */

/* Why the entry cannot be used now (written into why), or false when it is fresh. */
static bool entry_unusable(const nf_extender_http *h, const nf_cache_entry *e, int64_t now,
                           char *why, size_t len)
{
    return nf_cache_entry_unusable(e, now, h->cfg.stale_after_ms, why, len);
}

typedef struct lookup {
    nf_extender_http *h;
    nf_arena *arena; /* the request's */
    int64_t now;
    bool filter; /* count per-node decisions in the metrics */
    /* The asked nodes, looked up a chunk at a time just ahead of the fit loop (one lock per
     * chunk, and the CPU overlaps the cache misses of independent lookups); known and acquire
     * take them in request order. A node whose answer is kept in the cache's table comes
     * back as that word, without an entry. */
    nf_cache_peek *pre;
    const char **pre_names;
    size_t *pre_lens; /* strlen of pre_names[i], as the scanner found it */
    size_t n_pre, n_looked, cur;
    const nf_fit_shape *shape; /* the request's, once known asked (valid during the fit loop) */
    uint64_t key, mask;        /* its kept words (key 0: none) */
    /* the node being fitted: its entry, and whether its answer came from a memo (it then carries
     * its score and may be kept in the cache's table) */
    nf_cache_entry *cur_entry;
    bool cur_memo;
    /* per-node filter decisions, added to the shared metrics once per request (thousands of
     * atomic adds on one cache line would make the worker threads contend) */
    uint64_t counts[NF_FIT_UNRESOLVABLE + 1][NF_REASON_COUNT];
    size_t n_fit; /* nodes the pod fits (aligned fits only) */
    /* The reservations when the request started (taken before any document, so a reservation a
     * newer document confirmed is either still here or that document is what we read), and the
     * fit views with them deducted, freed at the end of the request. */
    nf_resv_snapshot *resv;
    nf_fit_view **adjusted;
    size_t n_adjusted, cap_adjusted;
} lookup;

static void count_filter(lookup *l, nf_fit_status outcome, nf_filter_reason r)
{
    if ((unsigned)outcome <= NF_FIT_UNRESOLVABLE && (unsigned)r < NF_REASON_COUNT)
        l->counts[outcome][r]++;
}

static void flush_counts(lookup *l)
{
    for (unsigned o = 0; o <= NF_FIT_UNRESOLVABLE; o++)
        for (unsigned r = 0; r < NF_REASON_COUNT; r++)
            if (l->counts[o][r])
                nf_extender_metrics_filter(l->h->metrics, (nf_fit_status)o, (nf_filter_reason)r,
                                           l->counts[o][r]);
}

/* A lookup for request r; with_resv: against the reservations of this moment (a pod that
 * needs alignment, with a binder). */
static void lookup_begin(lookup *l, nf_extender_http *h, req *r, bool with_resv)
{
    *l = (lookup){.h = h, .arena = &r->arena, .now = nf_wall_ms()};
    if (h->cfg.binder && with_resv)
        l->resv = nf_reservations_snapshot(nf_binder_reservations(h->cfg.binder));
}

/* The views deducted for this request and the reservations' snapshot go; the rest of its memory
 * is the request's arena's. */
static void lookup_end(lookup *l)
{
    for (size_t i = 0; i < l->n_adjusted; i++)
        nf_fit_view_free(l->adjusted[i]);
    nf_resv_snapshot_release(l->resv);
}

/* Names looked up at a time, just before the fit loop reaches them: their slots and entries
 * are still in the CPU's caches when the loop reads them (all 5,000 at once were not). */
#define LOOKUP_CHUNK 256

/* The lookup of node when it is the next one asked (it always is: the protocol asks in request
 * order), else NULL. Looks the next chunk up when needed; warms the caches for the entries a few
 * nodes ahead. */
static nf_cache_peek *next_looked_up(lookup *l, const char *node)
{
    if (!l->pre || l->cur >= l->n_pre || l->pre_names[l->cur] != node)
        return NULL;
    if (l->cur == l->n_looked) {
        size_t k = l->n_pre - l->cur < LOOKUP_CHUNK ? l->n_pre - l->cur : LOOKUP_CHUNK;
        nf_cache_peek_many(l->h->cache, l->pre_names + l->cur, l->pre_lens + l->cur, k, l->key,
                           l->mask, l->now, l->h->cfg.stale_after_ms, l->pre + l->cur);
        l->n_looked += k;
    }
    if (l->cur + 4 < l->n_looked && l->pre[l->cur + 4].e)
        __builtin_prefetch(l->pre[l->cur + 4].e);
    if (l->cur + 2 < l->n_looked && l->pre[l->cur + 2].e) {
        const void *v = nf_node_view_peek(l->pre[l->cur + 2].e, l->h->cfg.fit.align);
        if (v)
            __builtin_prefetch(v);
    }
    return &l->pre[l->cur];
}

static bool topo_known(void *ctx, const char *node, const nf_fit_shape *s, nf_align align,
                       nf_fit_answer *answer)
{
    lookup *l = ctx;
    if (!l->shape) { /* the first node: every node is asked for the same shape */
        l->key = nf_fit_pack_key(s, align, &l->mask);
        l->shape = s;
    }
    nf_cache_peek *p = next_looked_up(l, node);
    if (!p || !p->word)
        return false;
    /* true with the node's reservations too: a change of them forgets it (binder.c) */
    nf_fit_answer_unpack(p->word, answer);
    p->word = 0;
    l->cur++;
    return true;
}

static const nf_topology *topo_acquire(void *ctx, const char *node, void **handle, char *why,
                                       size_t len)
{
    lookup *l = ctx;
    nf_cache_peek *p = next_looked_up(l, node);
    nf_cache_entry *e;
    if (p) {
        e = p->e;
        p->e = NULL;
        l->cur++;
    } else {
        e = nf_cache_acquire(l->h->cache, node);
    }
    nf_fit_status outcome = l->h->cfg.pass_missing ? NF_FIT_OK : NF_FIT_UNRESOLVABLE;
    if (!e) {
        snprintf(why, len, "no topology for this node (no exporter or file has published it)");
        if (l->filter)
            count_filter(l, outcome, NF_REASON_MISSING);
        return NULL;
    }
    /* one reason per kind, so kube-scheduler folds them (the details: /v1/nodes/{name}) */
    if (nf_cache_entry_unusable_kind(e, l->now, l->h->cfg.stale_after_ms, why, len)) {
        nf_cache_release(e);
        if (l->filter)
            count_filter(l, outcome, NF_REASON_STALE);
        return NULL;
    }
    *handle = e;
    l->cur_entry = e;
    l->cur_memo = false;
    return &e->topo;
}

static void topo_release(void *ctx, void *handle)
{
    lookup *l = ctx;
    l->cur_entry = NULL;
    nf_cache_release(handle);
}

/* The view of e with the node's reservations deducted, or NULL when the snapshot has none on it.
 * Kept with the document under the reservations' revisions (with its memo in *memo), or, when
 * the document keeps enough lists already, deducted for this request alone (*memo NULL; freed
 * when the request ends). */
static const nf_fit_view *reserved_view(lookup *l, nf_cache_entry *e, const nf_fit_view *base,
                                        nf_align align, nf_fit_memo **memo)
{
    uint64_t revs[32];
    const size_t max_revs = sizeof(revs) / sizeof(revs[0]);
    size_t n_revs = nf_resv_snapshot_node_revs(l->resv, e->topo.node, e->node_hash, revs, max_revs);
    bool keyed = n_revs <= max_revs; /* else deducted for this request alone */
    const nf_fit_view *v = NULL;
    if (!n_revs)
        return NULL;
    if (keyed && nf_node_view_find_reserved(e, align, revs, n_revs, &v, memo))
        return v;
    nf_deduction *d;
    size_t n;
    if (nf_resv_snapshot_deductions(l->resv, &e->topo, &d, &n))
        return NULL;
    if (keyed && nf_node_view_keep_reserved(e, align, revs, n_revs, d, n, &v, memo)) {
        free(d);
        return v;
    }
    *memo = NULL;
    nf_fit_view *own = NULL;
    if (!n)
        return base; /* the document accounts for every reservation */
    if (l->n_adjusted == l->cap_adjusted) {
        size_t cap = l->cap_adjusted ? l->cap_adjusted * 2 : 16;
        nf_fit_view **na = nf_arena_realloc(l->arena, l->adjusted, l->cap_adjusted * sizeof(*na),
                                            cap * sizeof(*na));
        if (!na) {
            free(d);
            return NULL;
        }
        l->adjusted = na;
        l->cap_adjusted = cap;
    }
    if (nf_fit_view_deduct(base, &e->topo, d, n, &own) == 0)
        l->adjusted[l->n_adjusted++] = own;
    free(d);
    return own;
}

static const nf_fit_view *topo_view(void *ctx, void *handle, const nf_topology *t, nf_align align,
                                    nf_fit_memo **memo)
{
    lookup *l = ctx;
    (void)t; /* the handle's document */
    const nf_fit_view *v = nf_node_view(handle, align, memo);
    l->cur_memo = v && *memo;
    if (!v || !l->resv)
        return v;
    nf_fit_memo *rmemo = NULL;
    const nf_fit_view *adj = reserved_view(l, handle, v, align, &rmemo);
    if (!adj)
        return v; /* no reservation on the node (or no memory to deduct: as before) */
    l->cur_memo = rmemo != NULL;
    *memo = rmemo;
    return adj;
}

/* Does the table hold the reservations of e's node this request deducted? (under the cache's
 * read lock: a change after this answer forgets the word, see binder.c) */
static bool resv_unchanged(void *ctx, const nf_cache_entry *e)
{
    lookup *l = ctx;
    nf_resv_snapshot *now = nf_reservations_snapshot(nf_binder_reservations(l->h->cfg.binder));
    bool same = now == l->resv;
    if (!same) {
        uint64_t a[32], b[32];
        size_t na = nf_resv_snapshot_node_revs(l->resv, e->topo.node, e->node_hash, a, 32);
        size_t nb = nf_resv_snapshot_node_revs(now, e->topo.node, e->node_hash, b, 32);
        same = na == nb && na <= 32 && memcmp(a, b, na * sizeof(*a)) == 0;
    }
    nf_resv_snapshot_release(now);
    return same;
}

static void topo_fitted(void *ctx, const char *node, const nf_fit_answer *a)
{
    lookup *l = ctx;
    if (a->status == NF_FIT_OK && a->aligned)
        l->n_fit++;
    if (l->cur_entry && l->cur_memo && l->shape) { /* the next request may skip the document */
        uint64_t w = nf_fit_answer_pack(l->shape, l->h->cfg.fit.align, a);
        if (w)
            nf_cache_keep_word(l->h->cache, l->cur_entry, w,
                               l->h->cfg.binder ? resv_unchanged : NULL, l);
    }
    if (l->filter)
        count_filter(l, a->status, nf_filter_reason_of(a->status, a->aligned, a->lack));
}

/* ---- handlers ----------------------------------------------------------------------------- */

static void held_suspend(void *arg)
{
    req *r = arg;
    MHD_suspend_connection(r->conn);
}

static void held_wake(void *arg)
{
    req *r = arg;
    MHD_resume_connection(r->conn);
}

static enum MHD_Result do_extender(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    nf_err err = {{0}};
    nf_binder *b = h->cfg.binder;
    int rc;
    if (!r->have_args) {
        rc = nf_extender_args_scan(r->body.p ? r->body.p : "", r->body.len, &r->arena, &r->args,
                                   &err);
        if (rc) {
            nf_debug("bad extender request", "path=%s error=\"%s\"",
                     r->r == R_FILTER ? "/filter" : "/prioritize", err.msg);
            json_t *e =
                r->r == R_FILTER ? nf_extender_filter_error(err.msg) : nf_extender_error(err.msg);
            return send_json(h, c, rc == -ENOMEM ? 500 : MHD_HTTP_BAD_REQUEST, e, NULL);
        }
        r->have_args = true;
        const char *why = NULL;
        if (b && r->args.req.aligned && !nf_binder_ready(b, &why)) {
            /* before the reservations are back a fit would overbook: kube-scheduler retries */
            json_t *e = r->r == R_FILTER ? nf_extender_filter_error(why) : nf_extender_error(why);
            return send_json(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, e, NULL);
        }
        if (b && r->args.req.aligned) {
            char *pod;
            size_t len;
            if (nf_extender_args_pod_text(&r->args, &pod, &len) == 0)
                nf_binder_remember(b, &r->args.req, pod, len);
            /* wait (suspended, no thread blocked) until the previous pod's /bind is in */
            r->conn = c;
            r->waiter = (nf_bind_waiter){.suspend = held_suspend, .wake = held_wake, .arg = r};
            if (r->r == R_FILTER && nf_binder_hold(b, r->args.req.uid, &r->waiter))
                return MHD_YES; /* called again when resumed */
        }
    }
    nf_extender_args a = r->args; /* freed with the request */
    lookup l;
    lookup_begin(&l, h, r, a.req.aligned);
    l.filter = r->r == R_FILTER;
    nf_topology_source src = {.acquire = topo_acquire,
                              .release = topo_release,
                              .fitted = topo_fitted,
                              .view = topo_view,
                              .known = topo_known,
                              .ctx = &l,
                              .pass_missing = h->cfg.pass_missing};
    if (l.filter && !a.req.aligned) /* every node passes without a lookup */
        nf_extender_metrics_filter(h->metrics, NF_FIT_OK, NF_REASON_NOT_ALIGNED, a.n_nodes);
    if (a.req.aligned && a.n_nodes) {
        /* NULL entries: nothing to release */
        l.pre = nf_arena_calloc(&r->arena, a.n_nodes, sizeof(*l.pre));
        l.pre_names = nf_arena_alloc(&r->arena, a.n_nodes * sizeof(*l.pre_names));
        l.pre_lens = nf_arena_alloc(&r->arena, a.n_nodes * sizeof(*l.pre_lens));
        if (l.pre && l.pre_names && l.pre_lens) {
            for (size_t i = 0; i < a.n_nodes; i++) {
                const nf_extender_node *n = &a.nodes[i];
                l.pre_names[i] = n->name;
                l.pre_lens[i] = n->name_plain ? n->name_plain : strlen(n->name);
            }
            l.n_pre = a.n_nodes;
        } else {
            l.pre = NULL; /* fall back to one lookup per node */
        }
    }
    char *text = NULL;
    size_t len = 0;
    nf_filter_summary sum;
    if (r->r == R_FILTER)
        rc = nf_extender_filter_text_sum(&a, &src, &h->cfg.fit, &text, &len, &sum);
    else
        rc = nf_extender_prioritize_text(&a, &src, &h->cfg.fit, &text, &len);
    for (size_t i = 0; i < l.n_looked; i++) /* what was not taken */
        nf_cache_release(l.pre[i].e);
    lookup_end(&l);
    if (b && !rc && l.filter && l.n_fit > 0)
        nf_binder_expect(b, a.req.uid);
    flush_counts(&l);
    if (!rc && l.filter) { /* what a person reads: one log line, /v1/explain */
        nf_explain_log(&a, &sum);
        nf_explain_record(h->explain, &a, &sum, l.now);
    }
    if (rc)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "numafit-extender: %s",
                          nf_strerror(rc));
    return send_buf(h, c, MHD_HTTP_OK, "application/json", text, len, NULL);
}

static enum MHD_Result do_bind(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    nf_extender_binding b;
    nf_err err = {{0}};
    int rc = nf_extender_binding_decode(r->body.p ? r->body.p : "", r->body.len, &b, &err);
    if (rc)
        return send_json(h, c, rc == -ENOMEM ? 500 : MHD_HTTP_BAD_REQUEST,
                         nf_extender_error(err.msg), NULL);
    if (!h->cfg.binder)
        nf_info("bind refused: numafit does not bind", "pod=%s/%s node=%s", b.pod_namespace,
                b.pod_name, b.node);
    rc = nf_binder_bind(h->cfg.binder, b.pod_namespace, b.pod_name, b.pod_uid, b.node, &err);
    nf_extender_binding_free(&b);
    /* kube-scheduler reads Error from a 200 answer: a failed bind is not an HTTP error */
    return send_json(h, c, MHD_HTTP_OK, nf_extender_binding_result(rc ? err.msg : NULL), NULL);
}

/* POST /preempt: kube-scheduler's candidates kept where evicting frees room in one zone, each
 * with the fewest victims that do (preempt.h). Topologies and reservations as for /filter. */
static enum MHD_Result do_preempt(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    nf_preempt_args a;
    nf_err err = {{0}};
    int rc = nf_preempt_args_decode(r->body.p ? r->body.p : "", r->body.len, &a, &err);
    if (rc) {
        nf_debug("bad extender request", "path=/preempt error=\"%s\"", err.msg);
        return send_json(h, c, rc == -ENOMEM ? 500 : MHD_HTTP_BAD_REQUEST,
                         nf_extender_error(err.msg), NULL);
    }
    lookup l;
    lookup_begin(&l, h, r, a.req.aligned);
    nf_topology_source src = {.acquire = topo_acquire,
                              .release = topo_release,
                              .view = topo_view,
                              .ctx = &l,
                              .pass_missing = h->cfg.pass_missing};
    json_t *result = NULL;
    nf_preempt_summary sum;
    rc = nf_preempt(&a, &src, &h->cfg.fit, &result, &sum);
    lookup_end(&l);
    if (!rc) {
        nf_extender_metrics_preempt(h->metrics, sum.nodes_in, sum.nodes_kept, sum.victims_in,
                                    sum.victims_kept);
        nf_info("preempt", "pod=%s/%s uid=%s form=%s nodes=%zu kept=%zu victims=%zu evicted=%zu",
                a.req.namespace_ ? a.req.namespace_ : "", a.req.name ? a.req.name : "",
                a.req.uid ? a.req.uid : "", a.meta ? "meta" : "pods", sum.nodes_in, sum.nodes_kept,
                sum.victims_in, sum.victims_kept);
    }
    nf_preempt_args_free(&a);
    if (rc)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "numafit-extender: %s",
                          nf_strerror(rc));
    return send_json(h, c, MHD_HTTP_OK, result, NULL);
}

/* GET /v1/explain?pod=NAMESPACE/NAME: the last /filter decision on that pod, each node fitted
 * again now with its detail (explain.h). */
static enum MHD_Result do_explain(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    const char *pod = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pod");
    if (!pod || !*pod)
        return send_error(h, c, MHD_HTTP_BAD_REQUEST, NULL,
                          "/v1/explain: give the pod, e.g. ?pod=NAMESPACE/NAME");
    lookup l;
    lookup_begin(&l, h, r, true);
    nf_topology_source src = {.acquire = topo_acquire,
                              .release = topo_release,
                              .view = topo_view,
                              .ctx = &l,
                              .pass_missing = h->cfg.pass_missing};
    json_t *ans = NULL;
    int rc = nf_explain_answer(h->explain, pod, &src, &h->cfg.fit, l.now, &ans);
    lookup_end(&l);
    if (rc == -ENOENT)
        return send_error(h, c, MHD_HTTP_NOT_FOUND, NULL,
                          "/v1/explain: no /filter decision kept for pod \"%.300s\" (the last "
                          "%d pods asked about are kept)",
                          pod, NF_EXPLAIN_DEFAULT_PODS);
    if (rc)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "numafit-extender: %s",
                          nf_strerror(rc));
    return send_json(h, c, MHD_HTTP_OK, ans, NULL);
}

/* The cached document with its "cache" metadata. */
static json_t *entry_json(const nf_extender_http *h, const nf_cache_entry *e, int64_t now)
{
    json_t *doc = nf_topology_to_json(&e->topo);
    if (!doc)
        return NULL;
    char why[512], when[32];
    bool unusable = entry_unusable(h, e, now, why, sizeof(why));
    nf_format_rfc3339(e->received_ms / 1000, when);
    json_t *meta = json_pack("{s:s, s:s, s:I, s:b, s:s?}", "source", e->source, "receivedAt", when,
                             "ageMs", (json_int_t)(now - e->received_ms), "stale", unusable,
                             "staleReason", unusable ? why : NULL);
    if (!meta || json_object_set_new(doc, "cache", meta)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static enum MHD_Result do_nodes(nf_extender_http *h, struct MHD_Connection *c)
{
    nf_cache_entry **v;
    size_t n;
    if (nf_cache_acquire_all(h->cache, &v, &n))
        return send_error(h, c, 500, NULL, "numafit-extender: out of memory");
    int64_t now = nf_wall_ms();
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        if (json_array_append_new(items, entry_json(h, v[i], now))) {
            json_decref(items);
            items = NULL;
        }
    }
    nf_cache_release_all(v, n);
    if (!items)
        return send_error(h, c, 500, NULL, "numafit-extender: out of memory");
    return send_json(h, c, MHD_HTTP_OK,
                     json_pack("{s:s, s:s, s:o}", "apiVersion", NF_API_VERSION, "kind",
                               "NodeTopologyList", "items", items),
                     NULL);
}

static enum MHD_Result do_node(nf_extender_http *h, struct MHD_Connection *c, const char *node)
{
    nf_resv_snapshot *resv = nf_reservations_snapshot(nf_binder_reservations(h->cfg.binder));
    nf_cache_entry *e = nf_cache_acquire(h->cache, node);
    if (!e) {
        nf_resv_snapshot_release(resv);
        return send_error(h, c, MHD_HTTP_NOT_FOUND, NULL, "no topology cached for node \"%.200s\"",
                          node);
    }
    int64_t now = nf_wall_ms();
    json_t *doc = entry_json(h, e, now);
    nf_cache_release(e);
    if (doc && h->cfg.binder &&
        json_object_set_new(doc, "reservations", nf_resv_snapshot_node_json(resv, node, now))) {
        json_decref(doc);
        doc = NULL;
    }
    nf_resv_snapshot_release(resv);
    return send_json(h, c, MHD_HTTP_OK, doc, NULL);
}

static bool metrics_unusable(void *ctx, const nf_cache_entry *e, int64_t now_ms)
{
    char why[512];
    return entry_unusable(ctx, e, now_ms, why, sizeof(why));
}

/* Every usable cached node into rep, less its reservations; stale ones as skipped. The entries
 * stay acquired in *v until the caller has freed rep (it borrows them). 0 or -ENOMEM. */
static int report_add_cache(nf_extender_http *h, nf_report *rep, nf_cache_entry ***v, size_t *n)
{
    *v = NULL;
    *n = 0;
    nf_resv_snapshot *resv = nf_reservations_snapshot(nf_binder_reservations(h->cfg.binder));
    int rc = nf_cache_acquire_all(h->cache, v, n);
    int64_t now = nf_wall_ms();
    for (size_t i = 0; !rc && i < *n; i++) {
        char why[512];
        nf_deduction *d = NULL;
        size_t nd = 0;
        nf_cache_entry *e = (*v)[i];
        if (entry_unusable(h, e, now, why, sizeof(why)))
            rc = nf_report_add_skipped(rep, e->topo.node, why);
        else if (!(rc = nf_resv_snapshot_deductions(resv, &e->topo, &d, &nd)))
            rc = nf_report_add_node_deducted(rep, &e->topo, d, nd);
        free(d);
    }
    nf_resv_snapshot_release(resv);
    return rc;
}

/* The --shape figures now, into fig (cfg.n_shapes entries). 0, or an error (logged by the
 * caller; the scrape then goes without them). */
static int shape_figures(nf_extender_http *h, nf_shape_figure *fig, char (*names)[64])
{
    nf_report *rep = NULL;
    nf_err err = {{0}};
    nf_report_opts o = {.fit = h->cfg.fit};
    int rc = nf_report_new(&o, &rep);
    for (size_t i = 0; !rc && i < h->cfg.n_shapes; i++) {
        nf_pod_req pod;
        if (!(rc = nf_report_named_shape_parse(h->cfg.shapes[i], names[i], sizeof(names[i]), &pod,
                                               &err)))
            rc = nf_report_add_shape(rep, names[i], &pod, &err);
    }
    nf_cache_entry **v = NULL;
    size_t n = 0;
    if (!rc)
        rc = report_add_cache(h, rep, &v, &n);
    if (!rc)
        rc = nf_report_compute(rep, &err);
    for (size_t i = 0; !rc && i < h->cfg.n_shapes; i++)
        fig[i] = (nf_shape_figure){.name = names[i],
                                   .fit = rep->shapes[i].total,
                                   .stranded = nf_report_shape_stranded_pods(rep, i)};
    if (rc)
        nf_warn("shape metrics left out", "error=\"%s\"", err.msg[0] ? err.msg : nf_strerror(rc));
    nf_report_free(rep); /* before the entries it borrows */
    nf_cache_release_all(v, n);
    return rc;
}

static enum MHD_Result do_metrics(nf_extender_http *h, struct MHD_Connection *c)
{
    size_t len = 0, n_fig = h->cfg.n_shapes;
    nf_shape_figure *fig = n_fig ? calloc(n_fig, sizeof(*fig)) : NULL;
    char(*names)[64] = n_fig ? calloc(n_fig, sizeof(*names)) : NULL;
    if (n_fig && (!fig || !names || shape_figures(h, fig, names)))
        n_fig = 0;
    char *text = nf_extender_metrics_render(h->metrics, h->cache, h->cfg.puller, h->cfg.binder,
                                            metrics_unusable, h, nf_wall_ms(), fig, n_fig, &len);
    free(fig);
    free(names);
    if (!text)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                          "numafit-extender: out of memory");
    return send_buf(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
}

static enum MHD_Result do_readyz(nf_extender_http *h, struct MHD_Connection *c)
{
    size_t n = nf_cache_size(h->cache), stale = nf_cache_stale_count(h->cache);
    char text[128];
    const char *why = NULL;
    if (n == 0)
        return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "not ready: no node topology cached yet\n");
    if (!nf_binder_ready(h->cfg.binder, &why)) {
        snprintf(text, sizeof(text), "%s\n", why);
        return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, text);
    }
    snprintf(text, sizeof(text), "ready: %zu nodes cached, %zu stale\n", n, stale);
    return send_text(h, c, MHD_HTTP_OK, text);
}

/* GET /v1/report?shape=S[&shape=S...][&format=json|csv|html|table][&align=numa|socket]
 * [&addPods=N]: the capacity report (report.h) on the usable cached nodes (stale ones are listed
 * as skipped), by the same code and in the same forms as numafit-report. */
typedef struct report_args {
    const char *shapes[64];
    size_t n_shapes;
    const char *format, *align, *add_pods;
    char bad[160];
} report_args;

static enum MHD_Result report_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    report_args *a = cls;
    if (!value)
        value = "";
    if (strcmp(key, "shape") == 0 && a->n_shapes < 64)
        a->shapes[a->n_shapes++] = value;
    else if (strcmp(key, "shape") == 0)
        snprintf(a->bad, sizeof(a->bad), "at most 64 shape parameters");
    else if (strcmp(key, "format") == 0)
        a->format = value;
    else if (strcmp(key, "align") == 0)
        a->align = value;
    else if (strcmp(key, "addPods") == 0)
        a->add_pods = value;
    else
        snprintf(a->bad, sizeof(a->bad),
                 "unknown parameter \"%.60s\" (known: shape, format, align, addPods)", key);
    return a->bad[0] ? MHD_NO : MHD_YES;
}

static enum MHD_Result do_report(nf_extender_http *h, struct MHD_Connection *c)
{
    report_args a = {.n_shapes = 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, report_arg, &a);
    nf_report_opts o = {.fit = h->cfg.fit};
    nf_report_format fmt = NF_REPORT_JSON;
    if (!a.bad[0] && a.format && nf_report_format_parse(a.format, &fmt))
        snprintf(a.bad, sizeof(a.bad), "format takes json, csv, html or table, not \"%.40s\"",
                 a.format);
    if (!a.bad[0] && a.align && nf_align_parse(a.align, &o.fit.align))
        snprintf(a.bad, sizeof(a.bad), "align takes numa, socket or kubelet, not \"%.40s\"",
                 a.align);
    if (!a.bad[0] && a.add_pods && nf_parse_int64(a.add_pods, 0, HTTP_MAX_ADD_PODS, &o.add_pods))
        snprintf(a.bad, sizeof(a.bad),
                 "addPods takes a whole number 0..%d over HTTP (numafit-report --add-pods "
                 "takes more), not \"%.40s\"",
                 HTTP_MAX_ADD_PODS, a.add_pods);
    if (!a.bad[0] && !a.n_shapes)
        snprintf(a.bad, sizeof(a.bad),
                 "give at least one shape, e.g. ?shape=cpu=4,hugepages-1Gi=2Gi,intel.com/sriov=1");
    if (a.bad[0])
        return send_error(h, c, MHD_HTTP_BAD_REQUEST, NULL, "/v1/report: %s", a.bad);
    nf_report *rep;
    nf_err err = {{0}};
    if (nf_report_new(&o, &rep))
        return send_error(h, c, 500, NULL, "numafit-extender: out of memory");
    for (size_t i = 0; i < a.n_shapes; i++) {
        int rc = nf_report_add_shape_text(rep, a.shapes[i], &err);
        if (rc) {
            nf_report_free(rep);
            return send_error(h, c, rc == -ENOMEM ? 500 : MHD_HTTP_BAD_REQUEST, NULL,
                              "/v1/report: %s", err.msg);
        }
    }
    nf_cache_entry **v = NULL;
    size_t n = 0;
    int rc = report_add_cache(h, rep, &v, &n);
    char *out = NULL;
    size_t len = 0;
    if (rc)
        nf_errf(&err, rc, "numafit-extender: %s", nf_strerror(rc));
    else if (!(rc = nf_report_compute(rep, &err)) && (rc = nf_report_render(rep, fmt, &out, &len)))
        nf_errf(&err, rc, "numafit-extender: rendering the report: %s", nf_strerror(rc));
    nf_report_free(rep); /* before the entries it borrows */
    nf_cache_release_all(v, n);
    if (rc)
        return send_error(h, c, rc == -EINVAL ? MHD_HTTP_BAD_REQUEST : 500, NULL, "%s", err.msg);
    return send_buf(h, c, MHD_HTTP_OK, nf_report_content_type(fmt), out, len, NULL);
}

/* ---- routing and the request state machine -------------------------------------------- */

static route route_of(const char *url, const char **node, const char **allow)
{
    static const struct {
        const char *path;
        route r;
        const char *allow;
    } routes[] = {
        {"/filter", R_FILTER, "POST"},
        {"/prioritize", R_PRIORITIZE, "POST"},
        {"/bind", R_BIND, "POST"},
        {"/preempt", R_PREEMPT, "POST"},
        {"/v1/nodes", R_NODES, "GET, HEAD"},
        {"/healthz", R_HEALTHZ, "GET, HEAD"},
        {"/readyz", R_READYZ, "GET, HEAD"},
        {"/metrics", R_METRICS, "GET, HEAD"},
        {"/v1/report", R_REPORT, "GET, HEAD"},
        {"/v1/explain", R_EXPLAIN, "GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(url, routes[i].path) == 0) {
            *allow = routes[i].allow;
            return routes[i].r;
        }
    }
    if (strncmp(url, "/v1/nodes/", 10) == 0 && url[10] && !strchr(url + 10, '/')) {
        *node = url + 10;
        *allow = "GET, HEAD";
        return R_NODE;
    }
    return R_NONE;
}

static bool method_ok(route r, const char *method)
{
    bool post = r == R_FILTER || r == R_PRIORITIZE || r == R_BIND || r == R_PREEMPT;
    if (post)
        return strcmp(method, "POST") == 0;
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static enum MHD_Result dispatch_now(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    switch (r->r) {
    case R_FILTER:
    case R_PRIORITIZE:
        return do_extender(h, c, r);
    case R_BIND:
        return do_bind(h, c, r);
    case R_PREEMPT:
        return do_preempt(h, c, r);
    case R_NODES:
        return do_nodes(h, c);
    case R_NODE:
        return do_node(h, c, r->node);
    case R_HEALTHZ:
        return send_text(h, c, MHD_HTTP_OK, "ok\n");
    case R_READYZ:
        return do_readyz(h, c);
    case R_METRICS:
        return do_metrics(h, c);
    case R_REPORT:
        return do_report(h, c);
    case R_EXPLAIN:
        return do_explain(h, c, r);
    case R_NONE:
        break;
    }
    return MHD_NO;
}

/* ---- admin requests on workers of their own (http_offload.h) ------------------------------ */

/* What may take long (a report fits pods on every node; /v1/nodes encodes every document; a
 * scrape with --shape runs reports) and is not kube-scheduler's: never on the server's threads,
 * where it would make /filter wait. */
static bool is_admin(route r)
{
    return r == R_REPORT || r == R_NODES || r == R_EXPLAIN || r == R_METRICS;
}

static void run_admin(nf_offload_job *job)
{
    req *r = (req *)((char *)job - offsetof(req, job));
    tls_keep = r;
    dispatch_now(r->h, job->conn, r); /* no answer kept: the connection is closed on resuming */
    tls_keep = NULL;
}

static enum MHD_Result busy(nf_extender_http *h, struct MHD_Connection *c)
{
    unsigned unlogged;
    if (nf_log_limit_pass(&h->busy_log, 10000, 1, &unlogged))
        nf_warn("admin requests over the queue bound: answering 503",
                "admin_queue=%u unlogged_before=%u", h->cfg.admin_queue, unlogged);
    static const char body[] = "{\"Error\":\"busy: too many reports, node lists, explains and "
                               "scrapes waiting (--admin-queue); retry\"}";
    tls_status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return nf_httpd_reply_json_with(c, MHD_HTTP_SERVICE_UNAVAILABLE, body, sizeof(body) - 1,
                                    MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

static enum MHD_Result dispatch(nf_extender_http *h, struct MHD_Connection *c, req *r)
{
    if (!h->admin || !is_admin(r->r))
        return dispatch_now(h, c, r);
    if (!r->submitted) {
        r->h = h;
        r->job = (nf_offload_job){.run = run_admin, .conn = c, .urgent = r->r == R_METRICS};
        int rc = nf_offload_submit(h->admin, &r->job);
        if (rc == -EBUSY)
            return busy(h, c);
        if (rc)
            return send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "shutting down");
        r->submitted = true;
        return MHD_YES; /* suspended: called again once a worker has run it */
    }
    if (r->job.cancelled)
        return send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "shutting down");
    if (!r->answer)
        return MHD_NO;
    tls_status = r->answer_status;
    enum MHD_Result rc = MHD_queue_response(c, r->answer_status, r->answer);
    MHD_destroy_response(r->answer);
    r->answer = NULL;
    return rc;
}

/* Make r hold bytes of the body budget (more or fewer); false when that would go over it. */
static bool budget_hold(nf_extender_http *h, req *r, size_t bytes)
{
    if (bytes > r->held) {
        size_t more = bytes - r->held;
        if (atomic_fetch_add(&h->body_bytes, more) + more > h->cfg.body_budget) {
            atomic_fetch_sub(&h->body_bytes, more);
            return false;
        }
    } else {
        atomic_fetch_sub(&h->body_bytes, r->held - bytes);
    }
    r->held = bytes;
    return true;
}

/* First call for a request: only headers are known. Answers at once what needs no body. */
static enum MHD_Result on_headers(nf_extender_http *h, struct MHD_Connection *c, const char *url,
                                  const char *method, req *r)
{
    const char *allow = NULL;
    r->r = route_of(url, &r->node, &allow);
    if (r->r == R_NONE)
        return send_error(h, c, MHD_HTTP_NOT_FOUND, NULL, "no such path: %.200s", url);
    if (!method_ok(r->r, method))
        return send_error(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, allow, "%s: method %.20s not allowed",
                          url, method);
    bool verb = r->r == R_FILTER || r->r == R_PRIORITIZE || r->r == R_BIND || r->r == R_PREEMPT;
    if (verb && h->client_ca && !nf_httpd_client_verified(c))
        return send_error(h, c, MHD_HTTP_FORBIDDEN, NULL,
                          "%s needs a client certificate signed by the client CA (--client-ca)",
                          url);
    if (r->r == R_BIND && h->bind_refused)
        return send_error(h, c, MHD_HTTP_FORBIDDEN, NULL,
                          "/bind refused: this extender listens beyond loopback without "
                          "--client-ca, so anyone reaching it could bind pods (listen on "
                          "127.0.0.1, or set --tls-cert, --tls-key and --client-ca)");
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > h->cfg.max_body)
            return send_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                              "request body of %s bytes is over the limit of %zu bytes "
                              "(--max-body)",
                              cl, h->cfg.max_body);
        if (n && !budget_hold(h, r, n + 1))
            return send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                              "busy: request bodies in flight are at the budget of %zu bytes "
                              "(--body-budget); retry",
                              h->cfg.body_budget);
        if (n && nf_buf_grow_to(&r->body, n + 1))
            nf_buf_free(&r->body); /* out of memory: the first append tries again */
    }
    return MHD_YES;
}

static bool body_append(nf_extender_http *h, req *r, const char *data, size_t n)
{
    size_t cap = nf_buf_grown_cap(&r->body, n);
    if (cap > r->body.cap && !budget_hold(h, r, cap))
        return false; /* a chunked body past the budget: hang up */
    return nf_buf_add(&r->body, data, n) == 0;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version, const char *upload,
                                      size_t *upload_size, void **con_cls)
{
    nf_extender_http *h = cls;
    req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        nf_arena_init(&r->arena, h->arenas);
        r->start_ns = nf_mono_ns();
        *con_cls = r;
        atomic_fetch_add(&h->inflight, 1);
        return on_headers(h, c, url, method, r);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (!r->too_big && r->body.len + n > h->cfg.max_body) {
            /* a chunked body went over the limit: stop keeping it, answer 413 at its end */
            r->too_big = true;
            nf_buf_free(&r->body);
            budget_hold(h, r, 0);
        }
        if (r->too_big) {
            r->discarded += n;
            /* read on (up to another max_body, at least 1 MiB) to answer 413; hang up on an
             * endless stream */
            size_t limit = h->cfg.max_body > (1u << 20) ? h->cfg.max_body : 1u << 20;
            return r->discarded > limit ? MHD_NO : MHD_YES;
        }
        return body_append(h, r, upload, n) ? MHD_YES : MHD_NO;
    }
    if (r->too_big)
        return send_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                          "request body is over the limit of %zu bytes (--max-body)",
                          h->cfg.max_body);
    return dispatch(h, c, r);
}

/* handle_request, noting the status of the answer it queued (for the metrics). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    tls_status = 0;
    enum MHD_Result rc = handle_request(cls, c, url, method, version, upload, upload_size, con_cls);
    req *r = *con_cls;
    if (r && tls_status)
        r->status = tls_status;
    return rc;
}

static nf_verb verb_of(route r)
{
    switch (r) {
    case R_FILTER:
        return NF_VERB_FILTER;
    case R_PRIORITIZE:
        return NF_VERB_PRIORITIZE;
    case R_BIND:
        return NF_VERB_BIND;
    case R_PREEMPT:
        return NF_VERB_PREEMPT;
    case R_EXPLAIN:
        return NF_VERB_EXPLAIN;
    case R_NODES:
    case R_NODE:
        return NF_VERB_NODES;
    case R_REPORT:
        return NF_VERB_REPORT;
    case R_METRICS:
        return NF_VERB_METRICS;
    case R_HEALTHZ:
    case R_READYZ:
        return NF_VERB_HEALTH;
    case R_NONE:
        break;
    }
    return NF_VERB_OTHER;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    nf_extender_http *h = cls;
    req *r = *con_cls;
    if (!r)
        return;
    uint64_t ns = nf_mono_ns() - r->start_ns;
    nf_debug("request done", "route=%d bytes=%zu duration_us=%ld terminated=%d", (int)r->r,
             r->body.len, (long)(ns / 1000), (int)toe);
    nf_extender_metrics_request(h->metrics, verb_of(r->r), r->status, ns);
    if (r->have_args)
        nf_extender_args_free(&r->args);
    if (r->answer)
        MHD_destroy_response(r->answer);
    nf_arena_free(&r->arena);
    budget_hold(h, r, 0);
    nf_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->inflight, 1);
}

/* ---- life cycle --------------------------------------------------------------------------- */

void nf_extender_http_tune_malloc(void)
{
#ifdef __GLIBC__
    /* fixed thresholds (glibc's dynamic ones trim an arena back as soon as a big request is
     * freed): blocks up to 32 MiB (glibc's maximum) come from the arenas, which keep up to
     * 256 MiB of free memory */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

/* What nf_extender_http_start made, once the server is stopped (or was never started). */
static void http_free(nf_extender_http *h)
{
    nf_offload_free(h->admin);
    nf_extender_metrics_free(h->metrics);
    nf_explain_free(h->explain);
    nf_arena_pool_free(h->arenas);
    free(h);
}

int nf_extender_http_start(const nf_extender_config *cfg, nf_cache *cache, nf_extender_http **out,
                           nf_err *err)
{
    nf_extender_http *h = calloc(1, sizeof(*h));
    if (!h)
        return nf_errf(err, -ENOMEM, "extender HTTP: out of memory");
    h->cache = cache;
    h->cfg = *cfg;
    h->cfg.listen = NULL; /* not kept */
    unsigned threads = cfg->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 2 ? 2 : n > 64 ? 64 : (unsigned)n;
    }
    /* a chunk per server thread (each serves one request at a time), at most 4 MiB each: what a
     * 5,000-node request takes is about 1 MiB */
    if (nf_extender_metrics_new(&h->metrics) || nf_explain_new(0, &h->explain) ||
        !(h->arenas = nf_arena_pool_new(threads, 4u << 20))) {
        http_free(h);
        return nf_errf(err, -ENOMEM, "extender HTTP: out of memory");
    }
    if (!h->cfg.max_body)
        h->cfg.max_body = NF_EXTENDER_DEFAULT_MAX_BODY;
    if (!h->cfg.body_budget)
        h->cfg.body_budget = NF_EXTENDER_DEFAULT_BODY_BUDGET;
    if (!h->cfg.admin_workers)
        h->cfg.admin_workers = NF_EXTENDER_DEFAULT_ADMIN_WORKERS;
    if (!h->cfg.admin_queue)
        h->cfg.admin_queue = NF_EXTENDER_DEFAULT_ADMIN_QUEUE;
    const char *listen = cfg->listen ? cfg->listen : NF_EXTENDER_DEFAULT_LISTEN;
    h->client_ca = nf_tls_server_has_client_ca(cfg->tls);
    h->bind_refused = !h->client_ca && !nf_listen_is_loopback(listen);
    if (h->bind_refused && cfg->binder)
        nf_warn("/bind is refused: listening beyond loopback without --client-ca",
                "listen=%s hint=\"listen on 127.0.0.1, or set --tls-cert, --tls-key and "
                "--client-ca\"",
                listen);
    nf_httpd_opts so = {.listen = listen,
                        .threads = threads,
                        .tls = cfg->tls,
                        .handler = on_request,
                        .handler_cls = h,
                        .completed = on_completed,
                        .completed_cls = h,
                        .head_timeout_ms = cfg->head_timeout_ms};
    /* the workers exist before the first request can reach dispatch() */
    int rc = 0;
    if (h->cfg.admin_workers > 0 && (rc = nf_offload_new(h->cfg.admin_workers, h->cfg.admin_queue,
                                                         NF_EXTENDER_ADMIN_NICE, &h->admin, err))) {
        http_free(h);
        return rc;
    }
    if ((rc = nf_httpd_start(&so, &h->server, err))) {
        http_free(h);
        return rc;
    }
    h->port = nf_httpd_port(h->server);
    *out = h;
    return 0;
}

unsigned nf_extender_http_port(const nf_extender_http *h)
{
    return h->port;
}

void nf_extender_http_stop(nf_extender_http *h, int64_t grace_ms)
{
    if (!h)
        return;
    atomic_store(&h->closing, true);
    nf_binder_shutdown(h->cfg.binder); /* held /filters answer now */
    nf_httpd_quiesce(h->server);
    for (int64_t waited = 0; atomic_load(&h->inflight) > 0 && waited < grace_ms; waited += 10)
        usleep(10000);
    nf_offload_free(h->admin); /* what still waits: 503 */
    h->admin = NULL;
    nf_httpd_stop(h->server);
    http_free(h);
}
