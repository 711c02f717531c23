/* score.h - /prioritize scores, 0..10 (kube-scheduler's MaxExtenderPriority), deterministic.
 *
 * Input: a pod, a node's topology and the pod's fit result on it (nf_fit_node). A node where the
 * pod does not fit, or a pod that needs nothing aligned, scores 0.
 *
 * The pod is placed as the fit chose (pod scope: its effective request in fit->zone; container
 * scope: each aligned app container and sidecar in its container_zones entry). For every zone it
 * uses and every resource r the pod places there, with alloc = the zone's allocatable amount of r
 * and avail = its available amount (fit.h rules: full-pcpus-only, usable devices):
 *   used(z, r) = (alloc - avail + placed(z, r)) / alloc        (the share in use after placing;
 *                                                             clamped to [0, 1]; alloc 0 -> 1)
 * Let U be the list of all used(z, r) values.
 *   most-allocated  : 10 * mean(U)                  bin-packing: the fullest zone wins, so whole
 *                                                   NUMA nodes stay free for big pods
 *   least-allocated : 10 * (1 - mean(U))            spreading
 *   balanced        : 10 * (1 - stddev(U))          population standard deviation; resources
 *                                                   of a zone used evenly win (kube's
 *                                                   NodeResourcesBalancedAllocation idea)
 * rounded to the nearest integer (halves up), clamped to 0..10.
 * --align kubelet on a restricted, best-effort or none node (fit->numa_set, fit.h): the pod's
 * request is placed on the NUMA set kubelet would use as if it were one zone (alloc and avail
 * summed over the set), and the score is divided by the set's size (fit->span) before rounding:
 * for the same usage, a pod on one NUMA node ranks above one spread over two.
 * Example: zone with cpu alloc 20 avail 10, pod cpu=4 -> used 0.7; hugepages-1Gi alloc 16Gi avail
 * 8Gi, pod 4Gi -> 0.75. most = round(7.25) = 7, least = round(2.75) = 3,
 * balanced = round(10 * (1 - 0.025)) = round(9.75) = 10.
 */
#ifndef NUMAFIT_EXTENDER_SCORE_H
#define NUMAFIT_EXTENDER_SCORE_H

#include "fit.h"

#define NF_SCORE_MAX 10

/* Returns the score 0..10, or -ENOMEM. */
int nf_score_node(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                  const nf_fit_result *fit);

/* Same, as a real number before rounding (for tests and the report); -1.0 on -ENOMEM. */
double nf_score_node_raw(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                         const nf_fit_result *fit);

/* The same with a prebuilt view of t for o->align (fit.h); identical results. */
int nf_score_node_view(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                       const nf_fit_opts *o, const nf_fit_result *fit);
double nf_score_node_view_raw(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                              const nf_fit_opts *o, const nf_fit_result *fit);

#endif
