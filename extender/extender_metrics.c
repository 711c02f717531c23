/* extender_metrics.c - numafit-extender's GET /metrics (see extender_metrics.h). */
#include "extender_metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/prom.h"

/* HTTP statuses counted apart; anything else is counted under its own code in "other". */
static const unsigned codes[] = {200, 304, 400, 404, 405, 413, 500, 501, 503};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))
#define N_OUTCOMES 3

struct nf_extender_metrics {
    atomic_uint_fast64_t requests[NF_VERB_COUNT][N_CODES + 1]; /* last: other codes */
    nf_prom_hist duration[NF_VERB_COUNT];
    atomic_uint_fast64_t filter[N_OUTCOMES][NF_REASON_COUNT];
    atomic_uint_fast64_t preempt_nodes[2];   /* kept, dropped */
    atomic_uint_fast64_t preempt_victims[2]; /* evicted, spared */
};

const char *nf_verb_name(nf_verb v)
{
    static const char *const names[] = {"filter",  "prioritize", "bind",    "nodes",   "report",
                                        "metrics", "health",     "preempt", "explain", "other"};
    return (unsigned)v < NF_VERB_COUNT ? names[v] : "other";
}

const char *nf_filter_reason_name(nf_filter_reason r)
{
    static const char *const names[] = {"none",   "not_aligned", "cpu",   "memory", "hugepages",
                                        "device", "policy",      "other", "stale",  "missing"};
    return (unsigned)r < NF_REASON_COUNT ? names[r] : "other";
}

nf_filter_reason nf_filter_reason_of(nf_fit_status status, bool aligned, nf_fit_lack lack)
{
    if (status == NF_FIT_OK)
        return aligned ? NF_REASON_NONE : NF_REASON_NOT_ALIGNED;
    switch (lack) {
    case NF_LACK_CPU:
        return NF_REASON_CPU;
    case NF_LACK_MEMORY:
        return NF_REASON_MEMORY;
    case NF_LACK_HUGEPAGES:
        return NF_REASON_HUGEPAGES;
    case NF_LACK_DEVICE:
        return NF_REASON_DEVICE;
    case NF_LACK_POLICY:
        return NF_REASON_POLICY;
    case NF_LACK_NONE:
    case NF_LACK_OTHER:
        break;
    }
    return NF_REASON_OTHER;
}

int nf_extender_metrics_new(nf_extender_metrics **out)
{
    nf_extender_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    for (size_t v = 0; v < NF_VERB_COUNT; v++) {
        for (size_t c = 0; c <= N_CODES; c++)
            atomic_init(&m->requests[v][c], 0);
        nf_prom_hist_init(&m->duration[v], nf_prom_latency_bounds, nf_prom_latency_n_bounds);
    }
    for (size_t o = 0; o < N_OUTCOMES; o++)
        for (size_t r = 0; r < NF_REASON_COUNT; r++)
            atomic_init(&m->filter[o][r], 0);
    *out = m;
    return 0;
}

void nf_extender_metrics_free(nf_extender_metrics *m)
{
    free(m);
}

void nf_extender_metrics_request(nf_extender_metrics *m, nf_verb v, unsigned status,
                                 uint64_t duration_ns)
{
    if (!m || (unsigned)v >= NF_VERB_COUNT)
        return;
    size_t c = 0;
    while (c < N_CODES && codes[c] != status)
        c++;
    atomic_fetch_add_explicit(&m->requests[v][c], 1, memory_order_relaxed);
    nf_prom_hist_observe_ns(&m->duration[v], duration_ns);
}

void nf_extender_metrics_filter(nf_extender_metrics *m, nf_fit_status outcome, nf_filter_reason r,
                                uint64_t n)
{
    if (!m || (unsigned)outcome >= N_OUTCOMES || (unsigned)r >= NF_REASON_COUNT)
        return;
    atomic_fetch_add_explicit(&m->filter[outcome][r], n, memory_order_relaxed);
}

void nf_extender_metrics_preempt(nf_extender_metrics *m, uint64_t nodes_in, uint64_t nodes_kept,
                                 uint64_t victims_in, uint64_t victims_kept)
{
    if (!m || nodes_kept > nodes_in || victims_kept > victims_in)
        return;
    atomic_fetch_add_explicit(&m->preempt_nodes[0], nodes_kept, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->preempt_nodes[1], nodes_in - nodes_kept, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->preempt_victims[0], victims_kept, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->preempt_victims[1], victims_in - victims_kept,
                              memory_order_relaxed);
}

/* Which (outcome, reason) pairs can happen: written from the start at 0, so rate() and the
 * dashboards see every series before the first such decision. */
static bool pair_possible(nf_fit_status o, nf_filter_reason r)
{
    switch (r) {
    case NF_REASON_NONE:
    case NF_REASON_NOT_ALIGNED:
        return o == NF_FIT_OK;
    case NF_REASON_STALE:
    case NF_REASON_MISSING:
        return o != NF_FIT_UNRESOLVABLE;
    case NF_REASON_POLICY:
        return o == NF_FIT_UNRESOLVABLE;
    default:
        return o != NF_FIT_OK;
    }
}

static void counters(nf_prom *p, nf_extender_metrics *m)
{
    nf_prom_family(p, "numafit_extender_requests_total", "counter",
                   "HTTP requests answered, by verb and status code");
    for (size_t v = 0; v < NF_VERB_COUNT; v++) {
        for (size_t c = 0; c < N_CODES; c++) {
            uint64_t n = atomic_load_explicit(&m->requests[v][c], memory_order_relaxed);
            bool core = v <= NF_VERB_BIND && codes[c] == 200;
            if (!n && !core)
                continue;
            char code[16];
            snprintf(code, sizeof(code), "%u", codes[c]);
            nf_prom_sample_int(p, "numafit_extender_requests_total", (int64_t)n, "verb",
                               nf_verb_name((nf_verb)v), "code", code, NULL);
        }
        uint64_t other = atomic_load_explicit(&m->requests[v][N_CODES], memory_order_relaxed);
        if (other)
            nf_prom_sample_int(p, "numafit_extender_requests_total", (int64_t)other, "verb",
                               nf_verb_name((nf_verb)v), "code", "other", NULL);
    }
    nf_prom_family(p, "numafit_extender_request_duration_seconds", "histogram",
                   "Time from a request's headers to its answer, by verb");
    for (size_t v = 0; v < NF_VERB_COUNT; v++)
        nf_prom_hist_write(p, "numafit_extender_request_duration_seconds", &m->duration[v], "verb",
                           nf_verb_name((nf_verb)v), NULL);
    nf_prom_family(p, "numafit_extender_filter_nodes_total", "counter",
                   "/filter decisions per node, by outcome (fit, failed, unresolvable) and reason");
    for (size_t o = 0; o < N_OUTCOMES; o++) {
        for (size_t r = 0; r < NF_REASON_COUNT; r++) {
            uint64_t n = atomic_load_explicit(&m->filter[o][r], memory_order_relaxed);
            if (!n && !pair_possible((nf_fit_status)o, (nf_filter_reason)r))
                continue;
            nf_prom_sample_int(p, "numafit_extender_filter_nodes_total", (int64_t)n, "outcome",
                               o == NF_FIT_OK ? "fit" : nf_fit_status_name((nf_fit_status)o),
                               "reason", nf_filter_reason_name((nf_filter_reason)r), NULL);
        }
    }
    static const char *const node_outcomes[] = {"kept", "dropped"};
    static const char *const victim_outcomes[] = {"evicted", "spared"};
    nf_prom_family(p, "numafit_extender_preempt_nodes_total", "counter",
                   "/preempt candidate nodes, kept or dropped (no zone for the pod even with the "
                   "proposed victims gone)");
    for (size_t i = 0; i < 2; i++)
        nf_prom_sample_int(
            p, "numafit_extender_preempt_nodes_total",
            (int64_t)atomic_load_explicit(&m->preempt_nodes[i], memory_order_relaxed), "outcome",
            node_outcomes[i], NULL);
    nf_prom_family(
        p, "numafit_extender_preempt_victims_total", "counter",
        "/preempt proposed victims, evicted or spared (not needed for room in one zone)");
    for (size_t i = 0; i < 2; i++)
        nf_prom_sample_int(
            p, "numafit_extender_preempt_victims_total",
            (int64_t)atomic_load_explicit(&m->preempt_victims[i], memory_order_relaxed), "outcome",
            victim_outcomes[i], NULL);
}

static void cache_series(nf_prom *p, nf_cache *cache, nf_entry_unusable_fn unusable, void *ctx,
                         int64_t now_ms)
{
    nf_cache_entry **v = NULL;
    size_t n = 0;
    if (nf_cache_acquire_all(cache, &v, &n)) {
        p->b.oom = true;
        return;
    }
    size_t stale = 0;
    bool *bad = calloc(n ? n : 1, sizeof(*bad));
    if (!bad) {
        nf_cache_release_all(v, n);
        p->b.oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        stale += (bad[i] = unusable ? unusable(ctx, v[i], now_ms) : v[i]->stale);

    nf_prom_family(p, "numafit_extender_cache_nodes", "gauge", "Nodes in the topology cache");
    nf_prom_sample_int(p, "numafit_extender_cache_nodes", (int64_t)n, NULL);
    nf_prom_family(p, "numafit_extender_stale_nodes", "gauge",
                   "Cached nodes whose topology is unusable now (source failing, or older than "
                   "--stale-after)");
    nf_prom_sample_int(p, "numafit_extender_stale_nodes", (int64_t)stale, NULL);
    size_t conflicts = 0;
    for (size_t i = 0; i < n; i++)
        conflicts += v[i]->conflict_with != NULL;
    nf_prom_family(p, "numafit_extender_node_conflicts", "gauge",
                   "Nodes published by two sources at once (same --node-name on two exporters, or "
                   "a file beside an exporter): rejected until one stops");
    nf_prom_sample_int(p, "numafit_extender_node_conflicts", (int64_t)conflicts, NULL);
    nf_prom_family_lazy(p, "numafit_extender_node_stale", "gauge",
                        "1 when the node's cached topology is unusable now");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_node_stale", bad[i], "node", v[i]->topo.node, NULL);
    nf_prom_family_lazy(p, "numafit_extender_node_topology_age_seconds", "gauge",
                        "Seconds since the node's topology document arrived");
    for (size_t i = 0; i < n; i++) {
        int64_t age = now_ms - v[i]->received_ms;
        nf_prom_sample(p, "numafit_extender_node_topology_age_seconds",
                       (double)(age > 0 ? age : 0) / 1000.0, "node", v[i]->topo.node, NULL);
    }
    nf_prom_family_lazy(p, "numafit_extender_node_topology_generation", "gauge",
                        "Generation of the node's cached topology document");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample(p, "numafit_extender_node_topology_generation",
                       (double)v[i]->topo.generation, "node", v[i]->topo.node, NULL);
    free(bad);
    nf_cache_release_all(v, n);
}

static void puller_series(nf_prom *p, nf_puller *puller)
{
    size_t exporters = 0, failing = 0;
    nf_puller_stat *st = NULL;
    size_t n = 0;
    if (puller) {
        nf_puller_counts(puller, &exporters, &failing);
        if (nf_puller_stats(puller, &st, &n)) {
            p->b.oom = true;
            return;
        }
    }
    nf_prom_family(p, "numafit_extender_exporters", "gauge", "numafit-exporters being pulled");
    nf_prom_sample_int(p, "numafit_extender_exporters", (int64_t)exporters, NULL);
    nf_prom_family(p, "numafit_extender_exporters_failing", "gauge",
                   "Pulled exporters failing right now (their nodes are stale)");
    nf_prom_sample_int(p, "numafit_extender_exporters_failing", (int64_t)failing, NULL);
    nf_prom_family_lazy(p, "numafit_extender_exporter_up", "gauge",
                        "1 when the exporter's last pull succeeded");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_exporter_up", !st[i].failing, "exporter",
                           st[i].exporter, NULL);
    nf_prom_family_lazy(p, "numafit_extender_exporter_pulls_total", "counter",
                        "Answers taken from the exporter (new or unchanged documents)");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_exporter_pulls_total", (int64_t)st[i].pulls,
                           "exporter", st[i].exporter, NULL);
    nf_prom_family_lazy(
        p, "numafit_extender_exporter_pull_errors_total", "counter",
        "Failed pulls from the exporter (refused, timeout, HTTP error, bad document)");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_exporter_pull_errors_total", (int64_t)st[i].errors,
                           "exporter", st[i].exporter, NULL);
    nf_puller_stats_free(st, n);
}

static void shape_series(nf_prom *p, const nf_shape_figure *s, size_t n)
{
    if (!n)
        return;
    nf_prom_family(p, "numafit_extender_shape_pods_fit", "gauge",
                   "Pods of the --shape the usable cached nodes still hold with their aligned "
                   "resources in one zone");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_shape_pods_fit", s[i].fit, "shape", s[i].name,
                           NULL);
    nf_prom_family(p, "numafit_extender_shape_pods_stranded", "gauge",
                   "Pods of the --shape the free resources would hold node by node if a pod did "
                   "not keep to one zone, minus those that fit");
    for (size_t i = 0; i < n; i++)
        nf_prom_sample_int(p, "numafit_extender_shape_pods_stranded", s[i].stranded, "shape",
                           s[i].name, NULL);
}

char *nf_extender_metrics_render(nf_extender_metrics *m, nf_cache *cache, nf_puller *puller,
                                 nf_binder *binder, nf_entry_unusable_fn unusable, void *ctx,
                                 int64_t now_ms, const nf_shape_figure *shapes, size_t n_shapes,
                                 size_t *len)
{
    nf_prom p;
    nf_prom_init(&p);
    counters(&p, m);
    shape_series(&p, shapes, n_shapes);
    if (cache)
        cache_series(&p, cache, unusable, ctx, now_ms);
    puller_series(&p, puller);
    nf_binder_metrics(binder, &p);
    nf_prom_build_info(&p, "numafit_extender_build_info", "numafit-extender");
    return nf_prom_finish(&p, len);
}
