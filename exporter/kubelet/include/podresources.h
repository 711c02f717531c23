/* podresources.h - a client of kubelet's podresources API v1 (gRPC over a unix socket).
 *
 * kubelet serves v1.PodResourcesLister on /var/lib/kubelet/pod-resources/kubelet.sock
 * (proto/ or tests/realdata/kubelet/podresources-v1.proto). One fetch is two unary calls, each
 * with its own deadline:
 *   GetAllocatableResources  the CPUs kubelet may hand out exclusively (online minus reserved
 *                            under the static CPU Manager, none otherwise), every device its
 *                            plugins registered, memory per NUMA node (Memory Manager Static)
 *   List                     per pod (namespace/name: podresources has no UID) and container:
 *                            exclusive cpu_ids, devices with their NUMA node, memory blocks
 * and the answers are turned into the structs the checkpoint readers fill (kubelet_cpu_state.h,
 * kubelet_memory_state.h, kubelet_device_checkpoint.h) with the pod named by namespace/name, so the
 * view applies either source with the same code (kubelet_view.h).
 *
 * gRPC core's C API does the transport (HTTP/2, framing, deadlines), protobuf-c the messages
 * (generated from the .proto at build time). The channel is made lazily, when the socket exists,
 * and dropped after a failed call, so a kubelet restart (socket removed and made again) is
 * picked up by the next fetch without gRPC's reconnect back-off.
 *
 * Not thread-safe: one thread fetches (podres_poller.h).
 */
#ifndef NUMAFIT_EXPORTER_PODRESOURCES_H
#define NUMAFIT_EXPORTER_PODRESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kubelet_cpu_state.h"
#include "kubelet_device_checkpoint.h"
#include "kubelet_memory_state.h"
#include "numafit/cpuset.h"
#include "numafit/error.h"

#define NF_PODRES_SOCKET_DEFAULT "/var/lib/kubelet/pod-resources/kubelet.sock"
#define NF_PODRES_TIMEOUT_DEFAULT_MS 2000
#define NF_PODRES_INTERVAL_DEFAULT_MS 10000
#define NF_PODRES_MAX_MESSAGE (16 << 20) /* kubelet's own podresources client limit */

/* What one fetch saw. Pods are named by pod_namespace/pod_name (pod_uid NULL) in every
 * assignment and alloc. */
typedef struct nf_podres_state {
    nf_cpuset allocatable_cpus;   /* GetAllocatableResources.cpu_ids */
    bool memory_static;           /* GetAllocatableResources listed memory: Memory Manager Static */
    nf_cpu_state cpus;            /* one assignment per container with cpu_ids, sorted */
    nf_memory_state memory;       /* one assignment per container with memory, its blocks */
    nf_device_checkpoint devices; /* allocs: one per device ID of a container (numa: the
                                     device's single NUMA node, else -1); registered: every
                                     allocatable device (resource -> ID) */
    size_t n_pods, n_containers;
} nf_podres_state;

void nf_podres_state_free(nf_podres_state *s);

/* Decode the two answers (protobuf bytes) into out. -EBADMSG when a message does not decode,
 * -EINVAL for values kubelet never sends: a CPU id outside [0, NF_CPU_MAX], a NUMA id outside
 * [0, 1023], an empty pod namespace / name / container name / resource name / device ID /
 * memory type, a memory size above INT64_MAX; err says which pod and field. -ENOMEM. */
int nf_podres_state_decode(const uint8_t *alloc, size_t alloc_len, const uint8_t *list,
                           size_t list_len, nf_podres_state *out, nf_err *err);

typedef struct nf_podres_client nf_podres_client;

/* socket_path: the unix socket; timeout_ms: the deadline of each call (0: the default). */
int nf_podres_client_new(const char *socket_path, int64_t timeout_ms, nf_podres_client **out);
void nf_podres_client_free(nf_podres_client *c);

/* GetAllocatableResources then List. -ENOENT: no socket at the path (kubelet not running, or
 * restarting); -ENOTSOCK: something else is there; -ETIMEDOUT: a call ran past its deadline;
 * -EIO: any other gRPC failure (err has the status and its message); the decode errors above. */
int nf_podres_fetch(nf_podres_client *c, nf_podres_state *out, nf_err *err);

#endif
