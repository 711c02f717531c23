/* extender_metrics.h - numafit-extender's GET /metrics (Prometheus text format 0.0.4).
 *
 * Request threads count into lock-free counters and histograms; a scrape renders them with the
 * cache's and the pullers' current state. Series (base units, counters end in _total):
 *
 *   numafit_extender_requests_total{verb,code}             HTTP requests answered; verb: filter,
 *                        prioritize, bind, nodes, report, metrics, health, preempt, explain,
 *                        other; code: HTTP status
 *   numafit_extender_request_duration_seconds{verb}        histogram (nf_prom latency bounds)
 *   numafit_extender_filter_nodes_total{outcome,reason}    /filter decisions per node; outcome:
 *                        fit | failed | unresolvable; reason: none (fits), not_aligned (the pod
 *                        needs nothing aligned), cpu | memory | hugepages | device (the resource
 *                        the closest zone lacked most), policy (cpuManagerPolicy, SMT alignment),
 *                        other, stale | missing (no usable topology: unresolvable, or fit
 *                        under --stale-policy ignore)
 *   numafit_extender_preempt_nodes_total{outcome}           /preempt candidates: kept | dropped
 *                        (evicting the proposed victims leaves no zone for the pod)
 *   numafit_extender_preempt_victims_total{outcome}         proposed victims: evicted | spared
 *                        (not needed to make room in one zone)
 *   numafit_extender_shape_pods_fit{shape}                  --shape NAME=REQUESTS: pods of it the
 *                        usable cached nodes still hold, aligned (reservations deducted)
 *   numafit_extender_shape_pods_stranded{shape}             pods of it their free resources
 *                        would hold node by node if a pod did not keep to one zone, minus those
 *                        that fit: what alignment strands (report.h)
 *   numafit_extender_cache_nodes                            nodes in the topology cache
 *   numafit_extender_stale_nodes                            cached nodes unusable now (stale)
 *   numafit_extender_node_stale{node}                       1 when the node's topology is unusable
 *   numafit_extender_node_topology_age_seconds{node}        since its document arrived
 *   numafit_extender_node_topology_generation{node}         the cached document's generation
 *   numafit_extender_exporters, numafit_extender_exporters_failing      pulled exporters
 *   numafit_extender_exporter_up{exporter}                  0 while the exporter is failing
 *   numafit_extender_exporter_pulls_total{exporter}         answers taken
 *   numafit_extender_exporter_pull_errors_total{exporter}   failed pulls
 *   numafit_extender_reservations                           live reservations (binder.h)
 *   numafit_extender_reservations_total{outcome}            added | confirmed | expired | dropped
 *   numafit_extender_reservations_restored_total            rebuilt from the API server
 *   numafit_extender_binds_total{result}                    bound | refused | failed
 *   numafit_extender_filter_holds_total, ..._filter_hold_seconds_total,
 *   numafit_extender_filter_hold_timeouts_total             /filter held for an earlier /bind
 *   numafit_extender_requeued_pods_total                    rejected pods deleted for requeue
 *   numafit_extender_apiserver_{lists,watches,errors}_total the pod reflector
 *   (the binding series appear only with an API server: --kubeconfig or in-cluster)
 *   numafit_extender_build_info{program,version,compiler}    1
 */
#ifndef NUMAFIT_EXTENDER_METRICS_H
#define NUMAFIT_EXTENDER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binder.h"
#include "cache.h"
#include "fit.h"
#include "puller.h"

typedef enum nf_verb {
    NF_VERB_FILTER = 0,
    NF_VERB_PRIORITIZE,
    NF_VERB_BIND,
    NF_VERB_NODES,
    NF_VERB_REPORT,
    NF_VERB_METRICS,
    NF_VERB_HEALTH,
    NF_VERB_PREEMPT,
    NF_VERB_EXPLAIN,
    NF_VERB_OTHER,
    NF_VERB_COUNT
} nf_verb;

typedef enum nf_filter_reason {
    NF_REASON_NONE = 0,
    NF_REASON_NOT_ALIGNED,
    NF_REASON_CPU,
    NF_REASON_MEMORY,
    NF_REASON_HUGEPAGES,
    NF_REASON_DEVICE,
    NF_REASON_POLICY,
    NF_REASON_OTHER,
    NF_REASON_STALE,
    NF_REASON_MISSING,
    NF_REASON_COUNT
} nf_filter_reason;

const char *nf_verb_name(nf_verb v);
const char *nf_filter_reason_name(nf_filter_reason r);
/* The reason of a fit result (NF_REASON_NONE when it fits). */
nf_filter_reason nf_filter_reason_of(nf_fit_status status, bool aligned, nf_fit_lack lack);

typedef struct nf_extender_metrics nf_extender_metrics;

int nf_extender_metrics_new(nf_extender_metrics **out);
void nf_extender_metrics_free(nf_extender_metrics *m);

/* One answered request (any thread). */
void nf_extender_metrics_request(nf_extender_metrics *m, nf_verb v, unsigned status,
                                 uint64_t duration_ns);
/* n nodes of one /filter request decided this way (any thread). */
void nf_extender_metrics_filter(nf_extender_metrics *m, nf_fit_status outcome, nf_filter_reason r,
                                uint64_t n);

/* One /preempt request: candidate nodes in and kept, victims in and kept (any thread). */
void nf_extender_metrics_preempt(nf_extender_metrics *m, uint64_t nodes_in, uint64_t nodes_kept,
                                 uint64_t victims_in, uint64_t victims_kept);

/* Whether a cached entry is unusable now (the server's staleness rule). */
typedef bool (*nf_entry_unusable_fn)(void *ctx, const nf_cache_entry *e, int64_t now_ms);

/* One --shape's figures at this scrape. */
typedef struct nf_shape_figure {
    const char *name;
    int64_t fit, stranded;
} nf_shape_figure;

/* The /metrics body: counters + the cache (and the puller when not NULL) + the shapes. NULL on
 * out of memory. now_ms is CLOCK_REALTIME ms (entries' received_ms clock). */
char *nf_extender_metrics_render(nf_extender_metrics *m, nf_cache *cache, nf_puller *puller,
                                 nf_binder *binder, nf_entry_unusable_fn unusable, void *ctx,
                                 int64_t now_ms, const nf_shape_figure *shapes, size_t n_shapes,
                                 size_t *len);

#endif
