/* fit.h - does a pod fit a node with its aligned resources in one zone, and how many would.
 *
 * Pure functions of (nf_pod_req, const nf_topology, nf_fit_opts): no I/O, no clocks, no globals.
 * Used by the extender's /filter and /prioritize (via extender_protocol.h) and by the report.
 *
 * Zones. --align numa: one zone per NUMA node (Topology Manager single-numa-node view).
 * --align socket: one zone per socket, every resource summed over the socket's NUMA nodes.
 * --align kubelet: zones are NUMA nodes, and each node is judged by its own
 * topologyManagerPolicy (and scope) as kubelet's Topology Manager admits pods:
 *   single-numa-node, or a policy the document does not know: exactly as --align numa;
 *   restricted: kubelet's hint merge (kubelet_predict.h): each provider (CPU manager, device
 *     manager, Memory Manager, and every pod's hugepages under --hugepages-alignment all) hints
 *     the NUMA sets with room for its request, preferred when no smaller set of the empty node
 *     would do; the pod fits when some intersection of preferred hints is non-empty (a 20-CPU
 *     pod on two 16-CPU NUMA nodes fits). Rejected: failed, or unresolvable when the empty node
 *     would reject it too;
 *   best-effort, none: always fits; fit->span says how many NUMA nodes the pod would use
 *     (score.h ranks fewer higher).
 * A zone's amount of resource r (matched by name in each NUMA node's `resources`):
 *   allocatable = resources[r].allocatable, available = resources[r].available;
 *   devices with `usable` (DPDK probe on): available = usable;
 *   cpu under cpuManagerPolicyOptions full-pcpus-only=true, in whole cores of T threads (T = the
 *     node's threads per core, the largest threadsPerCore of its NUMA nodes):
 *     allocatable = min(allocatable, allocatableFullCores * T), available = min(available,
 *     freeFullCores * T, allocatable), both rounded down to a multiple of T (a full-core count
 *     that is unknown does not bound); the exporter counts a core with an offline sibling in
 *     neither;
 *   absent or unknown (-1) amounts count as 0; but a pod that needs a resource whose allocatable
 *   or available is unknown (null: the exporter lost kubelet's file that feeds it) on any NUMA
 *   node does not fit, unresolvable, with the exporter's reason (nf_resource.error).
 *
 * What is checked, from the node's own kubelet section:
 *   - "cpu" (exclusive CPUs) needs cpuManagerPolicy static (none or unknown: the pod does not
 *     fit, unresolvable: kubelet would run it on shared CPUs, never pinned);
 *   - full-pcpus-only: a container whose exclusive CPU count is not a multiple of threadsPerCore
 *     does not fit (kubelet's SMTAlignmentError; unresolvable);
 *   - "memory" only when memoryManagerPolicy is Static (any case);
 *   - devices always; hugepages always under --hugepages-alignment all (the default: DPDK
 *     allocates hugepage memory on the NIC's socket, whatever the QoS), only for Guaranteed pods
 *     under --hugepages-alignment guaranteed (kubelet's rule: its Memory Manager gives hints for
 *     Guaranteed pods only). A pod that is not Guaranteed and fails while its hugepages were held
 *     to the zone says so at the end of the reason.
 * topologyManagerScope "pod": the pod's effective request (nf_pod_req.effective) in one zone,
 * the lowest-id zone that fits (the hint kubelet picks). Scope "container" (kubelet's default,
 * also when unknown): containers in kubelet order, each in one zone, different containers may use
 * different zones. Sidecars and app containers keep what they take; a regular init container only
 * needs to fit beside the sidecars started before it (its resources are reused afterwards, as
 * kubelet's CPU and device managers do). The assignment is searched depth-first, zones in
 * ascending id (so the first try is kubelet's own greedy order), with a step budget.
 *
 * Failed vs unresolvable: unresolvable when the pod could not fit even if every zone were empty
 * (allocatable instead of available), or for a policy reason (cpu manager none, SMT alignment);
 * otherwise failed (current use blocks it; preemption or time may help).
 */
#ifndef NUMAFIT_EXTENDER_FIT_H
#define NUMAFIT_EXTENDER_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"
#include "numafit/topology.h"
#include "pod_requirements.h"

typedef enum nf_align { NF_ALIGN_NUMA = 0, NF_ALIGN_SOCKET, NF_ALIGN_KUBELET } nf_align;

/* How /prioritize ranks nodes; formulas in score.h. */
typedef enum nf_strategy {
    NF_STRATEGY_MOST_ALLOCATED = 0,
    NF_STRATEGY_LEAST_ALLOCATED,
    NF_STRATEGY_BALANCED,
} nf_strategy;

/* --hugepages-alignment: whose hugepages must share the zone of the pod's CPUs and devices. */
typedef enum nf_hugepages_align {
    NF_HUGEPAGES_ALL = 0,    /* every pod's (default) */
    NF_HUGEPAGES_GUARANTEED, /* Guaranteed pods' only, as kubelet aligns them */
} nf_hugepages_align;

typedef struct nf_fit_opts {
    nf_align align;
    nf_strategy strategy;
    nf_hugepages_align hugepages;
    /* Container-scope search budget (placement attempts); 0 = NF_FIT_DEFAULT_STEPS. */
    long max_steps;
    /* Leave nf_fit_result.reason empty (and lack NF_LACK_OTHER) for nodes that do not fit when
     * nobody reads it (/prioritize): formatting reasons is most of the cost of a failing node.
     * Status, zones and scores are unchanged. */
    bool no_reason;
    /* Add the node's own numbers to a resource shortfall's reason: the zone that came closest and
     * what it lacked ("; closest numa1: cpu 6/8 free"). Off, a reason is the same for every node
     * of a class (what kube-scheduler's FailedScheduling event folds into one count): /filter
     * leaves it off, /v1/explain turns it on. Not part of a memo's shape (fit_memo.h): never set
     * it where answers are remembered. */
    bool detail;
} nf_fit_opts;

#define NF_FIT_DEFAULT_STEPS 100000
#define NF_FIT_REASON_LEN 512

/* "numa"/"socket" and the three strategy names; parsers return -EINVAL on anything else. */
const char *nf_align_name(nf_align a);
int nf_align_parse(const char *s, nf_align *out);
const char *nf_strategy_name(nf_strategy s);
int nf_strategy_parse(const char *s, nf_strategy *out);

/* "all" / "guaranteed"; the parser returns -EINVAL on anything else. */
const char *nf_hugepages_align_name(nf_hugepages_align h);
int nf_hugepages_align_parse(const char *s, nf_hugepages_align *out);

/* One resource of one zone (name borrowed from the topology, or a static string). */
typedef struct nf_zone_res {
    const char *name;
    int64_t allocatable;
    int64_t available;
} nf_zone_res;

/* A zone as the fit code sees it (rules at the top of this file). */
typedef struct nf_zone {
    int id; /* NUMA node id (--align numa) or socket id (--align socket) */
    nf_zone_res *res;
    size_t n_res;
} nf_zone;

/* Build the zones of t in ascending id order. The result borrows names from t: free it before
 * t. Returns 0 or -ENOMEM. */
int nf_zones_build(const nf_topology *t, const nf_fit_opts *o, nf_zone **out, size_t *n);
void nf_zones_free(nf_zone *z, size_t n);
/* The zone id NUMA node nn belongs to under `align` (its own id, or its socket's id); -1 when
 * its socket is unknown (such a NUMA node is in no zone). */
int nf_numa_zone_id(const nf_topology *t, const nf_numa_node *nn, nf_align align);
/* Amount of `name` in a zone (0 when absent); which = 0 available, 1 allocatable. */
int64_t nf_zone_get(const nf_zone *z, const char *name, int which);

typedef enum nf_fit_status {
    NF_FIT_OK = 0,
    NF_FIT_FAILED,       /* -> FailedNodes */
    NF_FIT_UNRESOLVABLE, /* -> FailedAndUnresolvableNodes */
} nf_fit_status;

/* What kind of thing a failing node lacked, for metrics and dashboards (the reason text says the
 * details). The class of a resource shortfall is the resource with the largest missing/needed
 * share in the closest zone (ties: cpu, memory, hugepages, devices). */
typedef enum nf_fit_lack {
    NF_LACK_NONE = 0,  /* it fits */
    NF_LACK_CPU,       /* exclusive CPUs */
    NF_LACK_MEMORY,    /* memory (Memory Manager Static) */
    NF_LACK_HUGEPAGES, /* hugepages-* */
    NF_LACK_DEVICE,    /* a device-plugin resource (SR-IOV VFs) */
    NF_LACK_POLICY,    /* cpuManagerPolicy none/unknown, full-pcpus-only SMT alignment */
    NF_LACK_OTHER,     /* no NUMA node, amounts overflow, search budget exhausted */
} nf_fit_lack;
const char *nf_fit_lack_name(nf_fit_lack l); /* "none" "cpu" "memory" "hugepages" "device" ... */

typedef struct nf_fit_result {
    nf_fit_status status;
    nf_fit_lack lack; /* NF_LACK_NONE when status is NF_FIT_OK */
    bool aligned;     /* false: the pod needs nothing aligned and passed untouched */
    bool container_scope;
    int zone; /* pod scope: the chosen zone id; container scope: the first aligned app
                 container's zone; -1 when none */
    /* Container scope: zone id per entry of nf_pod_req.containers, -1 for containers that need
     * nothing aligned. NULL in pod scope. */
    int *container_zones;
    size_t n_container_zones;
    /* --align kubelet on a restricted, best-effort or none node: the NUMA nodes (bit n = NUMA
     * node n, ids below 32) kubelet would take the pod's resources from, and their count; 0 and
     * 0 otherwise (the pod is in `zone` / `container_zones`). `zone` is the lowest of them. */
    uint32_t numa_set;
    int span;
    bool backtracked; /* container scope: the assignment needed backtracking, i.e. kubelet's
                         own greedy per-container order would NOT find it (kubelet may reject) */
    long steps;       /* placements tried by the search */
    /* When status != OK, a sentence a person can act on, the same for every node of a class:
     * "no NUMA node has cpu=8 hugepages-1Gi=4Gi intel.com/sriov=1 free", or for unresolvable
     * nodes "even when empty, no NUMA node could hold cpu=8 ...". With nf_fit_opts.detail it goes
     * on with the node's closest zone: "; closest numa1: cpu 6/8 free" (the one with the
     * smallest shortfall: the sum over requested resources of (missing / requested), ties to the
     * lower id; every resource it lacks as "<name> <free>/<needed> free", or "allocatable"). */
    char reason[NF_FIT_REASON_LEN];
} nf_fit_result;

/* Fit pod on node t. Returns 0 with *out filled (free with nf_fit_result_free), or -ENOMEM.
 * Never fails for data reasons: those become status + reason. */
int nf_fit_node(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                nf_fit_result *out);

/* ---- The fit view: what nf_fit_node needs from a node, precomputed ----
 *
 * A node's zones for one align mode as a dense matrix (zone x resource name: available,
 * allocatable, after the rules at the top of this file) plus its kubelet policy flags. Built once
 * per document (the extender keeps it beside the cached topology, cache.h memo), it makes
 * a fit cost a few comparisons instead of rebuilding zones. nf_fit_node(pod, t, o) is exactly
 * nf_fit_view_new(t, o->align) + nf_fit_node_view + nf_fit_view_free: one code path.
 * The view copies what it needs from t (it may outlive t). Immutable, so threads may share it. */
typedef struct nf_fit_view nf_fit_view;
int nf_fit_view_new(const nf_topology *t, nf_align align, nf_fit_view **out); /* 0 or -ENOMEM */
void nf_fit_view_free(nf_fit_view *v);
nf_align nf_fit_view_align(const nf_fit_view *v);
size_t nf_fit_view_zones(const nf_fit_view *v);
/* nf_fit_node with a view of t built for o->align (v may be NULL when !pod->aligned). */
int nf_fit_node_view(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                     const nf_fit_opts *o, nf_fit_result *out);
/* Internal to fit.c and score.c: column of a resource name (-1 when absent), the amount at
 * (zone index, column) (which = 0 available, 1 allocatable; 0 for column -1), the index of a zone
 * id (SIZE_MAX when absent), and nf__fit_checks from the view's flags. */
int nf__fit_view_col(const nf_fit_view *v, const char *name);
int64_t nf__fit_view_get(const nf_fit_view *v, size_t zi, int col, int which);
size_t nf__fit_view_zone_index(const nf_fit_view *v, int id);
bool nf__fit_view_checks(const nf_fit_view *v, const char *name);
/* The policy flags the view was built with, and the id of zone index zi (-1 out of range). */
void nf__fit_view_policy(const nf_fit_view *v, bool *cpu_static, bool *mm_static, bool *scope_pod);
int nf__fit_view_zone_id(const nf_fit_view *v, size_t zi);

/* An amount of a resource already spoken for on one NUMA node that the node's document does not
 * show yet (the extender's reservations, reservations.h). */
typedef struct nf_deduction {
    int numa;
    const char *resource; /* borrowed */
    int64_t amount;
} nf_deduction;

/* A copy of base (built from t) with each deduction taken from the available amount of the zone
 * holding its NUMA node (never below 0; allocatable unchanged; unknown NUMA nodes and resources
 * the view lacks are skipped). A negative amount gives back (what an evicted pod frees, preempt.h):
 * added to available, never above allocatable. Free with nf_fit_view_free. 0 or -ENOMEM. */
int nf_fit_view_deduct(const nf_fit_view *base, const nf_topology *t, const nf_deduction *d,
                       size_t n, nf_fit_view **out);

void nf_fit_result_free(nf_fit_result *r);
const char *nf_fit_status_name(nf_fit_status s); /* "fits" | "failed" | "unresolvable" */

/* ---- Counting (numafit-report, /v1/report) ----
 *
 * The pod is counted as one unit in one zone: its effective request (exact for single-container
 * shapes; for multi-container pods under container scope it is conservative). Per zone,
 *   fits(z) = min over requested resources r of floor(available_z(r) / need(r)),
 * which is what greedy packing (kubelet places each pod on the lowest-id zone that fits) reaches,
 * because a pod never spans zones. The node's fits is the sum over its zones. Policy reasons
 * (cpu manager none, SMT misalignment) make every zone 0 with limited_by naming the policy.
 * limited_by(z) = the requested resource achieving the minimum (ties: cpu, memory, hugepages,
 * devices, then name order).
 * Stranded capacity, per requested resource r:
 *   stranded(r) = sum over zones of (available_z(r) - fits(z) * need(r)),
 * i.e. what is still free after packing as many pods as fit: free amounts on zones where not even
 * one more pod of the shape fits, because the zone lacks another resource (or has less than one
 * pod's worth). free(r) = sum over zones of available_z(r), so stranded/free is the share. */
typedef struct nf_zone_count {
    int id;
    int64_t fits;
    const char *limited_by; /* a resource name (owned by the pod req) or "cpuManagerPolicy",
                               "full-pcpus-only" */
    nf_amount *free;        /* per requested resource: available_z(r) */
    size_t n_free;
    nf_amount *stranded; /* per requested resource: available_z(r) - fits * need(r) */
    size_t n_stranded;
} nf_zone_count;

typedef struct nf_node_count {
    int64_t fits;
    nf_zone_count *zones;
    size_t n_zones;
    nf_amount *free; /* sums over zones, per requested resource */
    size_t n_free;
    nf_amount *stranded;
    size_t n_stranded;
} nf_node_count;

/* -EINVAL (err says why) when the pod needs nothing aligned (it would fit without bound);
 * -ENOMEM. */
int nf_fit_count(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                 nf_node_count *out, nf_err *err);
void nf_node_count_free(nf_node_count *c);

/* Internal to nf_fit (score.c): does the fit check resource `name` on this node? (memory only
 * under memoryManagerPolicy Static.) */
bool nf__fit_checks(const nf_topology *t, const char *name);
/* Internal (score.c, report.c): does the fit hold this pod's `name` to the zone under o, node
 * aside? (false for the hugepages of a pod that is not Guaranteed under
 * --hugepages-alignment guaranteed.) */
bool nf__fit_pod_checks(const nf_pod_req *pod, const nf_fit_opts *o, const char *name);

#endif
