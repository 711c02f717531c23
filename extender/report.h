/* report.h - capacity planning: how many more pods of a shape fit, per zone, per node and
 * cluster-wide, what limits each zone, and what capacity is stranded. Used by numafit-report and
 * the extender's GET /v1/report; rendered by report_render.h.
 *
 * Every number comes from the fit code (fit.h): nf_fit_count for the counts, limits and stranded
 * amounts (its definitions hold here word for word), nf_zones_build for the free shares, and for
 * the what-if placement nf_fit_node (the zone kubelet would pick) ranked by nf_score_node_raw (the
 * node the extender would steer kube-scheduler to). There is no second fit rule in this module.
 *
 * What-if (--add-pods N, ?addPods=N): before counting, N pods of every shape are placed, shapes in
 * the order given, each pod on the node with the highest raw /prioritize score under
 * opts.fit.strategy (ties: node name order) and within it on the zone nf_fit_node chooses; what a
 * placed pod takes is subtracted from a private copy of that node's resources (the inputs are never
 * changed). Under --align socket a pod's amounts are taken from the socket's NUMA nodes in id
 * order, under --align kubelet from the NUMA set kubelet would use (nf_fit_result.numa_set) in
 * id order. Exclusive CPUs also use up free full cores (ceil(cpu / threadsPerCore)), devices also
 * their `usable` count. Placement stops early, with a note, when no node fits the next pod. Every
 * shape is then counted on the resulting cluster.
 *
 * JSON keys (report_render.c; stable, numafit.io/v1 kind CapacityReport). Amount objects map a
 * resource name to an integer (whole CPUs, bytes, devices), listed cpu, memory, hugepages-*,
 * devices, each group by name:
 *   apiVersion, kind          "numafit.io/v1", "CapacityReport"
 *   align                     "numa" | "socket"
 *   addPods                   N of the what-if (0: none)
 *   nodeCount, numaNodeCount  nodes counted, and NUMA nodes over them
 *   totals                    every resource of every NUMA node, summed over the cluster:
 *                             {name: {"allocatable", "free", "freeShare"}} (fit view: usable VFs,
 *                             full-pcpus-only cores; freeShare = free/allocatable, null when 0)
 *   skipped[]                 {"node", "reason"}: inputs not counted (stale, duplicate, unreadable)
 *   shapes[]:
 *     shape                   the shape as given, or "pod NAMESPACE/NAME" for --pod
 *     requests                the aligned request of one pod (amount object)
 *     total                   pods of the shape that still fit in the cluster
 *     nodesWithRoom           nodes where at least one more fits
 *     free, stranded          cluster sums per requested resource (fit.h definitions)
 *     strandedShare           stranded/free per requested resource, null when free is 0
 *     unboundedNodes          nodes where the shape needs nothing aligned (not counted)
 *     added                   only with addPods > 0: {"requested", "placed", "note",
 *                             "placements": [{"node", "zone"}]}
 *     nodes[]: node, fits (null when unbounded, with "error"), free, stranded,
 *              zones[]: {"id", "fits", "limitedBy", "limits", "free", "stranded"}
 *                limitedBy: the first limiting resource (fit.h's tie order); limits: what
 *                nf_report_zone_limits says (every resource of a tie, or "no CPUs")
 *   zones[].id is a NUMA node id under align numa, a socket id under align socket.
 */
#ifndef NUMAFIT_EXTENDER_REPORT_H
#define NUMAFIT_EXTENDER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "numafit/error.h"
#include "numafit/topology.h"
#include "pod_requirements.h"

#define NF_REPORT_KIND "CapacityReport"
#define NF_REPORT_MAX_ADD_PODS 1000000
/* The largest amount a node may publish and be counted (2^53: beyond what JSON readers keep
 * exact, and 8 PiB of bytes); cluster sums saturate at INT64_MAX instead of failing. */
#define NF_REPORT_MAX_AMOUNT ((int64_t)1 << 53)

typedef struct nf_report_opts {
    nf_fit_opts fit;  /* align; strategy ranks nodes for the what-if */
    int64_t add_pods; /* what-if: place this many pods of every shape first (0: none) */
} nf_report_opts;

typedef struct nf_report_placement {
    size_t node; /* index into nf_report.nodes */
    int zone;
} nf_report_placement;

typedef struct nf_report_shape {
    char *label;
    nf_pod_req req;
    nf_amount *request; /* the aligned request of one pod, canonical order */
    size_t n_request;
    int64_t total;
    size_t nodes_with_room;
    size_t unbounded_nodes;
    nf_node_count *nodes; /* [nf_report.n_nodes], from nf_fit_count */
    char **node_error;    /* [nf_report.n_nodes]: NULL, or why the node has no count */
    nf_amount *free;      /* cluster sums, same order as request */
    nf_amount *stranded;
    size_t n_free;
    /* what-if */
    int64_t placed;
    nf_report_placement *placements;
    size_t n_placements;
    char *note; /* why placement stopped early; NULL when every pod was placed */
} nf_report_shape;

typedef struct nf_report_node {
    const char *name;
    const nf_topology *input; /* borrowed: must outlive the report */
    nf_topology *view;        /* what-if copy (shares strings with input), NULL until a pod lands */
    nf_zone *numa;            /* per NUMA node, fit view (nf_zones_build, align numa) */
    size_t n_numa;
} nf_report_node;

typedef struct nf_report_skip {
    char *node;
    char *reason;
} nf_report_skip;

typedef struct nf_report_total {
    char *name;
    int64_t allocatable, free;
} nf_report_total;

typedef struct nf_report {
    nf_report_opts opts;
    nf_report_shape *shapes;
    size_t n_shapes;
    nf_report_node *nodes; /* sorted by name once computed */
    size_t n_nodes;
    nf_report_skip *skipped;
    size_t n_skipped;
    nf_report_total *totals; /* canonical order */
    size_t n_totals;
    size_t n_numa;          /* NUMA nodes over all nodes */
    const char **resources; /* union of the shapes' requests, canonical order (borrowed) */
    size_t n_resources;
    bool computed;
} nf_report;

int nf_report_new(const nf_report_opts *o, nf_report **out);
void nf_report_free(nf_report *r);

/* Add a shape; takes *req (zeroed on return, success or not). -EINVAL when the pod needs no
 * aligned resource at all (any number would fit). */
int nf_report_add_shape(nf_report *r, const char *label, nf_pod_req *req, nf_err *err);
/* Parse "cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1" (nf_pod_req_from_shape) and add it. */
int nf_report_add_shape_text(nf_report *r, const char *shape, nf_err *err);
/* "NAME=REQUESTS" (numafit-extender --shape): NAME ([A-Za-z0-9_.-], at most name_len - 1
 * characters) into name, REQUESTS as nf_pod_req_from_shape. -EINVAL (err says what), -ENOMEM. */
int nf_report_named_shape_parse(const char *arg, char *name, size_t name_len, nf_pod_req *req,
                                nf_err *err);

/* Pods of shape s the counted nodes would still hold if a pod did not have to keep to one zone
 * (per node: the fewest pods any requested resource's node-wide free amount holds) minus those
 * that fit aligned (total): what NUMA alignment strands, in pods. After nf_report_compute. */
int64_t nf_report_shape_stranded_pods(const nf_report *r, size_t s);

/* Add a node's topology (borrowed until nf_report_free). A node name seen before is skipped
 * ("duplicate node"), the first one counts. A node with an amount over NF_REPORT_MAX_AMOUNT is
 * skipped with the reason naming it. 0 or -ENOMEM. */
int nf_report_add_node(nf_report *r, const nf_topology *t);
/* Record an input that is not counted. */
/* The same, less what is already spoken for on its NUMA nodes (the extender's reservations,
 * reservations.h): the report counts what is still free. */
int nf_report_add_node_deducted(nf_report *r, const nf_topology *t, const nf_deduction *d,
                                size_t n);
int nf_report_add_skipped(nf_report *r, const char *node, const char *reason);

/* Place the what-if pods, count every shape on every node, sum. Call once, after the adds.
 * -EINVAL without shapes; -ENOMEM. */
int nf_report_compute(nf_report *r, nf_err *err);

/* The topology a node is counted on (the what-if copy when there is one). */
const nf_topology *nf_report_node_topology(const nf_report_node *n);
/* What limits zone z of node i for shape si, for people, into buf: "no CPUs" when the shape needs
 * CPUs and the zone has none (a memory-only NUMA node); else every requested resource that
 * reaches the zone's count (a tie names them all, "cpu, intel.com/sriov"), or the policy that
 * zeroes the zone ("cpuManagerPolicy"). After nf_report_compute; returns buf. */
const char *nf_report_zone_limits(const nf_report *r, size_t si, size_t i, size_t z, char *buf,
                                  size_t len);
/* Index of a resource in amounts (name match), or -1. */
int nf_report_amount_index(const nf_amount *a, size_t n, const char *name);

#endif
