/* preempt.h - the extender's preemptVerb: which of kube-scheduler's preemption candidates
 * really free room for the pod in one zone, and which victims that takes.
 *
 * Wire format (k8s.io/kube-scheduler/extender/v1, Go field names, input keys in any case):
 *   ExtenderPreemptionArgs   {"Pod": v1.Pod,
 *                             "NodeNameToVictims": {node: {"Pods": [v1.Pod...], "NumPDBViolations":
 * n}}, "NodeNameToMetaVictims": {node: {"Pods": [{"UID": "..."}...], "NumPDBViolations": n}}}
 *                            (nodeCacheCapable: true sends the meta form only)
 *   ExtenderPreemptionResult {"NodeNameToMetaVictims": {node: {"Pods": [{"UID"}],
 * "NumPDBViolations"}}} a node left out is no longer a candidate.
 *
 * kube-scheduler picks victims by node totals: on a NUMA-aligned pod it may evict pods whose CPUs
 * are on numa0 while the pod can only use numa1. Per candidate node:
 *   - what a victim frees is what the node's document lists for its UID in numaNodes[].pods[]
 *     (exclusive CPUs, hugepages, devices, memory), on that NUMA node; a victim the document
 *     does not list holds nothing aligned that numafit sees and is kept as proposed (the
 *     scheduler chose it for its own reasons: node totals, ports, affinity);
 *   - victims holding aligned resources are taken lowest priority first (spec.priority, 0 when
 *     absent; the meta form carries no priority: the scheduler lists more important pods first,
 *     so the later one goes first, and the same tie-break applies to equal priorities) until the
 *     pod fits in one zone (the extender's --align, live reservations deducted); then each taken
 *     victim, most important first, is given back when the pod still fits without it (the
 *     scheduler's own reprieve), so no victim is evicted for nothing;
 *   - a node where even every proposed victim gone leaves no zone for the pod is dropped, as is a
 *     node without a usable topology (unless --stale-policy ignore: then kept as proposed);
 *   - a pod that needs nothing aligned keeps every candidate as proposed.
 * NumPDBViolations is passed on, at most the number of victims kept (which victims violate a
 * PodDisruptionBudget is not in the request).
 */
#ifndef NUMAFIT_EXTENDER_PREEMPT_H
#define NUMAFIT_EXTENDER_PREEMPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extender_protocol.h"
#include "fit.h"
#include "numafit/error.h"
#include "numafit/topology.h"
#include "pod_requirements.h"

typedef struct nf_preempt_victim {
    const char *uid;  /* borrowed from the request document */
    int64_t priority; /* spec.priority (0 when absent or meta form) */
} nf_preempt_victim;

typedef struct nf_preempt_node {
    const char *name; /* borrowed */
    nf_preempt_victim *victims;
    size_t n_victims;
    int64_t num_pdb_violations;
} nf_preempt_node;

typedef struct nf_preempt_args {
    json_t *doc;    /* owned */
    nf_pod_req req; /* the preemptor */
    bool meta;      /* victims came as NodeNameToMetaVictims */
    nf_preempt_node *nodes;
    size_t n_nodes;
} nf_preempt_args;

/* Decode an ExtenderPreemptionArgs body. -EINVAL (err says what and where): not JSON, not an
 * object, Pod missing or rejected by nf_pod_req_from_json, a victims map that is not an object,
 * a victim set that is not an object, Pods not an array, a victim without a UID
 * (metadata.uid / UID), a priority that is not an integer. NodeNameToVictims wins when both are
 * given; neither is an empty request. -ENOMEM. On error *out is zeroed. */
int nf_preempt_args_decode(const char *body, size_t len, nf_preempt_args *out, nf_err *err);
void nf_preempt_args_free(nf_preempt_args *a);

/* The decision for one node whose topology is t; base is t's fit view for o->align (live
 * reservations deducted; NULL: built here). *keep false: drop the node. Else kept[i] says
 * whether victim i is still evicted (kept has n->n_victims entries, caller's). *freed_any: some
 * victim held aligned resources. 0, or -ENOMEM. */
int nf_preempt_node_decide(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *base,
                           const nf_fit_opts *o, const nf_preempt_node *n, bool *kept, bool *keep);

/* Counts of one request, for the log and the metrics. */
typedef struct nf_preempt_summary {
    size_t nodes_in, nodes_kept;
    size_t victims_in, victims_kept;
} nf_preempt_summary;

/* The ExtenderPreemptionResult for a (topologies lent by src, as for /filter; src->known and the
 * memo are not used). 0 and *result (caller owns), or -ENOMEM. summary may be NULL. */
int nf_preempt(const nf_preempt_args *a, const nf_topology_source *src, const nf_fit_opts *o,
               json_t **result, nf_preempt_summary *summary);

#endif
