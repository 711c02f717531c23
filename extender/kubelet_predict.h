/* kubelet_predict.h - on which NUMA node(s) kubelet will put a pod that is bound to a node.
 *
 * The extender reserves what it places (reservations.h) where kubelet's Topology Manager will
 * put it, so this follows kubelet's admission, from the node's own kubelet section:
 *   - hint providers: the CPU manager (policy static, exclusive "cpu"), the device manager (every
 *     device resource), the Memory Manager (policy Static, Guaranteed pods: "memory" and
 *     "hugepages-*"). A resource no provider covers (hugepages without the Static Memory Manager)
 *     goes where the pod's aligned resources go (DPDK allocates its pages on the NIC's node).
 *   - a provider hint for a NUMA set M says M has room for its request; the merged hint is the
 *     narrowest set every provider accepts, ties to the lowest NUMA ids.
 *   - topologyManagerPolicy single-numa-node: one NUMA node or reject (TopologyAffinityError);
 *     restricted: the narrowest set, rejected unless its size is the smallest an empty node
 *     would need for every provider; best-effort: the narrowest set that fits, else all;
 *     none / unknown: no alignment, amounts taken from the lowest NUMA ids.
 *   - scope pod: the pod's effective request as one unit; container (kubelet's default): each
 *     container in kubelet order, on what the earlier ones left; regular init containers must
 *     fit but keep nothing (kubelet hands their resources on).
 * Amounts come from a NUMA-aligned fit view (fit.h: available, with full-pcpus-only and device
 * `usable` already applied), usually one with the node's reservations deducted. Pure function.
 */
#ifndef NUMAFIT_EXTENDER_KUBELET_PREDICT_H
#define NUMAFIT_EXTENDER_KUBELET_PREDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "pod_requirements.h"

/* An amount of a resource kubelet will hand out on one NUMA node. */
typedef struct nf_placed {
    int numa;
    char *resource;
    int64_t amount;
    /* The exporter's document will account it to the pod (numaNodes[].pods[]): CPU manager
     * (static) CPUs, devices, Memory Manager (Static) memory and hugepages. */
    bool tracked;
} nf_placed;

typedef struct nf_kubelet_choice {
    bool admit;        /* false: kubelet would reject the pod (reason says why) */
    int numa;          /* the one NUMA node every aligned container lands on; -1 when several */
    nf_placed *placed; /* what is taken where (containers merged per NUMA node and resource) */
    size_t n_placed;
    char reason[NF_FIT_REASON_LEN];
} nf_kubelet_choice;

/* Predict kubelet's choice for pod on t, from `numa_view` (built from t with NF_ALIGN_NUMA, e.g.
 * by nf_fit_view_deduct). 0 with *out filled (free with nf_kubelet_choice_free), -EINVAL when the
 * view is not NUMA-aligned, -ENOMEM. */
int nf_kubelet_predict(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *numa_view,
                       nf_kubelet_choice *out);
/* The same as numafit judges a node under --align kubelet (fit.c): with o (may be NULL: the
 * plain prediction) the hugepages of a pod that --hugepages-alignment does not align are left
 * out, and under NF_HUGEPAGES_ALL every pod's hugepages join the Memory Manager's hint. */
int nf_kubelet_predict_opts(const nf_pod_req *pod, const nf_topology *t,
                            const nf_fit_view *numa_view, const nf_fit_opts *o,
                            nf_kubelet_choice *out);
void nf_kubelet_choice_free(nf_kubelet_choice *c);

/* The pod's aligned amounts as kubelet holds them once it chose NUMA node numa (known from the
 * node's document, which lists part of the pod there): the same resources and tracked flags as
 * nf_kubelet_predict, all on numa. 0 or -ENOMEM. */
int nf_kubelet_placed_on(const nf_pod_req *pod, const nf_fit_view *numa_view, int numa,
                         nf_kubelet_choice *out);

#endif
