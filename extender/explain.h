/* explain.h - GET /v1/explain?pod=NAMESPACE/NAME: the last /filter decision on a pod, node by
 * node, for a person.
 *
 * /filter reasons are per node class (fit.h), so kube-scheduler's FailedScheduling event stays one
 * line per class; the numbers of each node (the zone that came closest, what it lacked) are here.
 * The /filter hot path only records, per request, what it already has: the pod's JSON text (one
 * copy of the request's bytes; parsed again when asked), the asked node names (one copy), the
 * counts and the top reasons per class (extender_protocol.h nf_filter_summary), under one short
 * lock. The per-node answers are computed when asked: the pod is fitted again on each node it was
 * asked about, with nf_fit_opts.detail, on the topologies (and reservations) as they are at that
 * moment, so a node's line may differ from the decision when its document changed since ("decision"
 * keeps what /filter answered).
 *
 * The table keeps the last `capacity` pods (a pod asked again replaces its record; a new pod
 * beyond capacity replaces the oldest). Thread-safe.
 *
 * Answer:
 *   {"pod": "ns/name", "uid": "...", "decidedAt": RFC 3339, "ageMs": n, "align": "numa",
 *    "shape": "cpu=8 hugepages-1Gi=4Gi intel.com/sriov=1" (the effective aligned request),
 *    "decision": {"nodes": n, "passed": n,
 *                 "failed": {"nodes": n, "reasons": [{"reason": "...", "nodes": n}], "otherNodes":
 * n}, "unresolvable": {...}}, "nodes": [{"node": "w1", "status": "fits" | "failed" |
 * "unresolvable", "zone": id (fits, the zone kubelet will use), "reason": "..." (the detailed
 * one)}]}
 */
#ifndef NUMAFIT_EXTENDER_EXPLAIN_H
#define NUMAFIT_EXTENDER_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "extender_protocol.h"
#include "fit.h"

#define NF_EXPLAIN_DEFAULT_PODS 256

typedef struct nf_explain nf_explain;

/* 0 or -ENOMEM; capacity 0 = NF_EXPLAIN_DEFAULT_PODS. */
int nf_explain_new(size_t capacity, nf_explain **out);
void nf_explain_free(nf_explain *x);

/* Keep the decision /filter made on a (a pod without a name is not kept). 0 or -ENOMEM (the
 * decision is then not kept; /filter answers all the same). */
int nf_explain_record(nf_explain *x, const nf_extender_args *a, const nf_filter_summary *sum,
                      int64_t now_ms);

/* The one info line per /filter decision: pod, uid, shape, node counts per class and each failing
 * class's top reason with its node count, e.g.
 *   msg="filter decision" pod=ran/upf-0 uid=... shape="cpu=8 intel.com/sriov=1" nodes=200
 *   passed=3 failed=180 unresolvable=17 failed_reason="numafit: no NUMA node has ... free"
 *   failed_reason_nodes=180 unresolvable_reason="..." unresolvable_reason_nodes=17 */
void nf_explain_log(const nf_extender_args *a, const nf_filter_summary *sum);

/* The answer for "NAMESPACE/NAME" (a name alone: namespace "default"), nodes fitted now through
 * src with o (detail turned on). -ENOENT when the pod is not kept (or key is malformed), -ENOMEM.
 */
int nf_explain_answer(nf_explain *x, const char *key, const nf_topology_source *src,
                      const nf_fit_opts *o, int64_t now_ms, json_t **out);

#endif
