/* kubelet_view.h - the last good view of every kubelet source, applied to a NodeTopology.
 *
 * Sources (all read-only): the KubeletConfiguration (--kubelet-config), and under kubelet_dir
 * cpu_manager_state, memory_manager_state and device-plugins/kubelet_internal_checkpoint.
 *
 * Per source status, published in t->kubelet.stateFiles:
 *   "ok"          parsed, checksum verified (or 0, which kubelet does not verify either);
 *   "absent"      no such file: that manager is not in use (its data is dropped);
 *   "error: ..."  unreadable, truncated, corrupt or failing its checksum: the LAST GOOD data
 *                 stays in use (never zeroed, so nothing looks free that kubelet handed out).
 * A config that cannot be read sets configError ("error: ...") and keeps the last good config.
 *
 * Without any config (config_path NULL, or never read successfully): cpuManagerPolicy is taken
 * from cpu_manager_state's policyName (NULL when that is absent too), memoryManagerPolicy from
 * memory_manager_state's policyName (else NULL), topologyManagerPolicy/Scope are NULL (unknown)
 * and no options are published. With a config, omitted fields take kubelet's defaults ("none",
 * "container", "None").
 *
 * Reserved CPUs (reservedCpus + reservedCpusSource), first that applies:
 *   --reserved-cpus                            -> "flag"
 *   config reservedSystemCPUs                  -> "kubeletConfig"
 *   config policy static, kube+systemReserved  -> "computed: kubeReserved+systemReserved cpu=2"
 *        (ceil of the sum, CPUs picked as kubelet's static policy does: kubelet_cpu_reserve.h;
 *         a fractional sum is shown as "cpu=1500m (2 CPUs)")
 *   otherwise                                  -> "none", reservedCpus NULL
 *
 * Not thread-safe: one caller reloads and applies.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_VIEW_H
#define NUMAFIT_EXPORTER_KUBELET_VIEW_H

#include <stddef.h>

#include "numafit/error.h"
#include "numafit/topology.h"

typedef struct nf_kubelet_view nf_kubelet_view; /* last good view of every kubelet source */

typedef struct nf_kubelet_opts {
    const char *kubelet_dir;   /* default /var/lib/kubelet */
    const char *config_path;   /* --kubelet-config, may be NULL */
    const char *reserved_cpus; /* --reserved-cpus, may be NULL; overrides the config */
} nf_kubelet_opts;

/* Create the view and read every source once (so the first nf_kubelet_view_reload() returns 0
 * unless something changed since). -EINVAL for an unparsable reserved_cpus, -ENOMEM. A missing
 * or broken file is not an error here: it shows up in the statuses. */
int nf_kubelet_view_new(const nf_kubelet_opts *o, nf_kubelet_view **out);
/* The same, saying what was wrong in err. */
int nf_kubelet_view_new_err(const nf_kubelet_opts *o, nf_kubelet_view **out, nf_err *err);
void nf_kubelet_view_free(nf_kubelet_view *v);

/* Re-read every source. A missing file = that manager is absent ("absent"); a corrupt /
 * truncated / bad-checksum file keeps the LAST GOOD data for that source and sets its status to
 * "error: ..."; it never zeroes what is allocated. A file whose bytes did not change is not
 * parsed again. Returns 1 when anything (data or a status) changed since the last call, else 0. */
int nf_kubelet_view_reload(nf_kubelet_view *v);

/* Apply to a topology whose numa_nodes (cpus.online, cpus.cores, socket) and devices (VFs by PCI
 * address) were read from sysfs. Fills t->kubelet (every field of nf_kubelet_info) and, per NUMA
 * node, replacing what was there:
 *   cpus.reserved      reserved CPUs ∩ the node's online CPUs
 *   cpus.allocated     CPUs of cpu_manager_state entries/podEntries ∩ online
 *   pods[]             per pod UID (sorted): its exclusive CPUs on the node and amounts
 *                      "cpu" (count of those CPUs), "memory" / "hugepages-<size>" (bytes, from
 *                      memory_manager_state; a block spanning several NUMA nodes is split in
 *                      affinity order up to each node's machineState reserved), device resource
 *                      names (devices; a VF counts on the NUMA node sysfs places it on, other
 *                      devices on the NUMA node the checkpoint names, none when -1). V1 CPU
 *                      state entries (keyed by container ID) count in allocated, not in pods.
 *   kubelet_reserved   the config's reservedMemory limits for the node
 *   VFs                every VF is reset, then those in the device checkpoint get
 *                      allocated = true and pod_uid (VFs in t->unplaced_devices too).
 * Does NOT compute allocatable/free/resources. Appended to t->errors: assigned or reserved CPUs
 * not online on any node, memory blocks / reservedMemory on unknown NUMA nodes, a CPU Manager
 * policy in the state that differs from the config's, a static policy without reserved CPUs.
 * Returns 0 or -ENOMEM. */
int nf_kubelet_view_apply(const nf_kubelet_view *v, nf_topology *t);

/* The paths the exporter must watch with inotify: kubelet replaces its files by rename, so watch
 * each dir (IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE) and reload when `name`
 * changes. Owned by the view. */
typedef struct nf_kubelet_watch {
    const char *dir;  /* e.g. "/var/lib/kubelet", "/var/lib/kubelet/device-plugins" */
    const char *name; /* file name inside dir */
} nf_kubelet_watch;
const nf_kubelet_watch *nf_kubelet_view_watches(const nf_kubelet_view *v, size_t *n);

#endif
