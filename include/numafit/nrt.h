/* nrt.h - NodeTopology -> NodeResourceTopology (topology.node.k8s.io/v1alpha2), the object that
 * NFD's topology-updater writes and the scheduler-plugins NodeResourceTopologyMatch plugin reads,
 * and the pod-set fingerprint (pfp0v001) that plugin's cache resync compares.
 *
 * The object (cluster-scoped, metadata.name = the node):
 *   topologyPolicies  [one of NFD's names for kubelet's Topology Manager policy and scope:
 *                      "SingleNUMANodePodLevel", "RestrictedContainerLevel", "None", ...];
 *                      [] when the policy (or, for a policy other than none, the scope) is unknown
 *   zones             one per NUMA node: name "node-<id>", type "Node", costs (one per NUMA node,
 *                     the sysfs distance), resources [{name, capacity, allocatable, available}]
 *                     as Kubernetes quantity strings ("22", "96Gi", "17179869184")
 *   attributes        topologyManagerPolicy, topologyManagerScope (when known),
 *                     numafit.io/cpuManagerPolicy (when known: NRT has no field for it),
 *                     nodeTopologyPodsFingerprint + nodeTopologyPodsFingerprintMethod
 *                     ("with-exclusive-resources": pods[] holds what kubelet assigned exclusively)
 *
 * Unknown numbers never become a 0: a resource with any of its three amounts unknown is left out
 * of its zone, and the zone's attribute "numafit.io/omittedResources" says which and why. When
 * the fingerprint cannot be computed (a pod known by UID only, a kubelet state that is not
 * known) it is left out and the top-level attribute "numafit.io/podsFingerprintUnavailable"
 * says why; likewise "numafit.io/topologyManagerUnknown" when the policy or scope is unknown.
 */
#ifndef NUMAFIT_NRT_H
#define NUMAFIT_NRT_H

#include <jansson.h>
#include <stddef.h>

#include "numafit/error.h"
#include "numafit/topology.h"

#define NF_NRT_GROUP "topology.node.k8s.io"
#define NF_NRT_VERSION "v1alpha2"
#define NF_NRT_API_VERSION NF_NRT_GROUP "/" NF_NRT_VERSION
#define NF_NRT_KIND "NodeResourceTopology"
#define NF_NRT_PLURAL "noderesourcetopologies"
#define NF_NRT_FINGERPRINT_PREFIX "pfp0v001"
#define NF_NRT_FINGERPRINT_LEN 24 /* the prefix + 16 hex digits */

/* A pod as the fingerprint knows it. */
typedef struct nf_pod_key {
    const char *ns;
    const char *name;
} nf_pod_key;

/* The pfp0v001 fingerprint of a pod set: h = XXH64(name, seed XXH64(namespace, 0)) per pod,
 * sorted, each fed as 8 little-endian bytes into one XXH64 with seed 0; the result in 16
 * lower-case hex digits after the prefix. The caller passes each pod once. 0 or -ENOMEM. */
int nf_nrt_fingerprint(const nf_pod_key *pods, size_t n, char out[NF_NRT_FINGERPRINT_LEN + 1]);

/* NFD's topologyPolicies name for a kubelet policy and scope ("single-numa-node", "pod" ->
 * "SingleNUMANodePodLevel"; "none" -> "None"); NULL when either is unknown. */
const char *nf_nrt_policy_name(const char *policy, const char *scope);

/* The NodeResourceTopology object for t (a new reference). -ENOMEM, or -EINVAL when t has no
 * node name (err says so). */
int nf_nrt_from_topology(const nf_topology *t, json_t **out, nf_err *err);

/* The other way (the extender's --nrt: NFD's topology-updater as a source): the NodeTopology an
 * object describes, as far as it does. node = metadata.name, generation = metadata.generation;
 * one NUMA node per zone of type Node named node-<id> (other zones are ignored, and said so in
 * errors[]), its distances from the costs (none unless every zone has one), its `resources` from
 * the quantities (whole units, rounded down; a bad quantity drops that resource, said in
 * errors[]); kubelet's topologyManagerPolicy/Scope from the attributes, else from
 * topologyPolicies (NFD's names). The object does not say what kubelet's CPU manager does: its
 * policy is taken as static when the attribute numafit.io/cpuManagerPolicy is absent (per-NUMA
 * cpu counts mean exclusive CPUs, as NodeResourceTopologyMatch assumes; said in errors[]). CPU
 * lists, cores, hugepage pages, devices and pods are not in the object: left empty/unknown.
 * -EINVAL (err names the field) when it is not a v1alpha2 NodeResourceTopology with a name. */
int nf_nrt_to_topology(const json_t *nrt, nf_topology *out, nf_err *err);

#endif
