/* pod_requirements.h - what a v1.Pod needs on one NUMA node (or socket), as kubelet sees it.
 *
 * Input is the pod object exactly as kube-scheduler sends it inside ExtenderArgs (jansson). Field
 * names are matched in any letter case (Go's decoder does so); resource names are map keys and
 * match exactly. Quantities take every Kubernetes form ("4", "4000m", "2Gi", "1e3", "0.5", and
 * bare JSON numbers); junk and overflow are errors naming the container and resource.
 *
 * Only the resources numafit aligns are kept:
 *   "cpu"          whole CPUs, and only when kubelet hands them out exclusively: the pod is
 *                  Guaranteed and the container's cpu request is an integer (kubelet's
 *                  guaranteedCPUs()); otherwise the container runs on the shared pool (cpu_milli
 *                  still records its request).
 *   "memory"       bytes; only for Guaranteed pods (the Memory Manager ignores others). The fit
 *                  code checks it only on nodes whose memoryManagerPolicy is Static.
 *   "hugepages-*"  bytes, by page size, any QoS.
 *   devices        extended resources ("intel.com/sriov", "openshift.io/x"): a name with a '/'
 *                  outside the kubernetes.io/ namespaces, in units (a fraction is an error).
 * Zero amounts are not stored. Requests default to limits when only limits are given.
 */
#ifndef NUMAFIT_EXTENDER_POD_REQUIREMENTS_H
#define NUMAFIT_EXTENDER_POD_REQUIREMENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"
#include "numafit/topology.h"

typedef enum nf_qos { NF_QOS_BEST_EFFORT = 0, NF_QOS_BURSTABLE, NF_QOS_GUARANTEED } nf_qos;

typedef enum nf_container_kind {
    NF_CONTAINER_INIT = 0, /* regular init container: runs to completion before the next */
    NF_CONTAINER_SIDECAR,  /* init container with restartPolicy Always: keeps running */
    NF_CONTAINER_APP,
} nf_container_kind;

typedef struct nf_container_req {
    char *name;
    nf_container_kind kind;
    int64_t cpu_milli;      /* cpu request in milli-CPUs (0 when none) */
    int64_t exclusive_cpus; /* whole CPUs kubelet pins for it; 0 when it runs on the shared pool */
    nf_amount *amounts;     /* aligned needs, see above ("cpu" = exclusive_cpus when > 0) */
    size_t n_amounts;
} nf_container_req;

typedef struct nf_pod_req {
    char *name; /* metadata.name / namespace / uid; NULL when absent */
    char *namespace_;
    char *uid;
    nf_qos qos; /* computed as kubelet's GetPodQOS (cpu and memory of every container) */
    /* Kubelet order: init containers (regular and sidecar) as listed, then app containers. */
    nf_container_req *containers;
    size_t n_containers;
    /* spec.overhead, every resource as given (cpu in milli-CPUs, others in units/bytes). */
    nf_amount *overhead;
    size_t n_overhead;
    /* The pod's effective aligned request, kubelet's rule per resource r:
     *   sidecars = sum of r over sidecars; init_peak = max over regular init containers of
     *   (r + sum of r over the sidecars listed before it); effective = max(init_peak,
     *   sum of r over app containers + sidecars) + overhead[r].
     * Overhead is added to memory, hugepages and devices, not to "cpu": overhead CPU time runs on
     * the shared pool, never on exclusive CPUs (kubelet's podGuaranteedCPUs ignores it). */
    nf_amount *effective;
    size_t n_effective;
    /* true when the pod needs at least one aligned resource; false: it passes every node untouched.
     */
    bool aligned;
} nf_pod_req;

/* Case-insensitive object member lookup, as Go's encoding/json fills struct fields: every member
 * whose key equals `key` ignoring ASCII case is assigned in document order, so the last one wins
 * ({"pod": A, "Pod": B} -> B). NULL when obj is not an object or has no such member. The result
 * is borrowed. Resource names are map keys in Go and are matched exactly elsewhere. */
json_t *nf_json_iget(const json_t *obj, const char *key);

/* Parse a v1.Pod object. Also accepts a Deployment/StatefulSet/DaemonSet/Job/ReplicaSet (uses
 * spec.template) and a bare PodSpec-bearing template ({"spec": {...}}). On error *out is zeroed
 * and err names the field (e.g. "spec.containers[1] (dpdk).resources.requests.cpu: quantity
 * \"4x\": unknown suffix \"x\""). -EINVAL for malformed input, -ERANGE for overflow, -ENOMEM. */
int nf_pod_req_from_json(const json_t *pod, nf_pod_req *out, nf_err *err);

/* Parse a shape "cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1[,memory=1Gi]": a Guaranteed pod with
 * one container ("shape") and those requests; cpu must be a whole number (exclusive CPUs).
 * Separators: ',' between items (spaces around items ignored), '=' between name and quantity.
 * Duplicate names, empty items, names with characters a Kubernetes resource name cannot have,
 * unknown non-aligned names (e.g. "ephemeral-storage") and zero or missing amounts are errors. */
int nf_pod_req_from_shape(const char *shape, nf_pod_req *out, nf_err *err);

void nf_pod_req_free(nf_pod_req *r);

/* Format amounts as "cpu=8 hugepages-1Gi=4Gi intel.com/sriov=1" (bytes in the short Kubernetes
 * form; cpu first, then memory, hugepages, devices, each group sorted by name). Always
 * NUL-terminates buf; truncates with "..." when too small. Returns buf. */
const char *nf_amounts_format(const nf_amount *a, size_t n, char *buf, size_t len);

/* "Guaranteed" / "Burstable" / "BestEffort". */
const char *nf_qos_name(nf_qos q);

#endif
