/* kubelet_view.h - the last good view of every kubelet source, applied to a NodeTopology.
 *
 * Sources (all read-only): the KubeletConfiguration (--kubelet-config, else found and merged with
 * its drop-ins as kubelet_config_find.h says, once at creation; the files of the good view are
 * published as kubelet.configFiles and logged when they change), under kubelet_dir
 * cpu_manager_state, memory_manager_state and device-plugins/kubelet_internal_checkpoint, and
 * kubelet's podresources API (podresources.h, asked on a thread of its own: podres_poller.h)
 * when a socket path is given, published as stateFiles.podResources.
 *
 * Precedence: what podresources says (exclusive CPUs, devices, Memory Manager blocks of each
 * pod) replaces what the checkpoint files say while podresources has a good view; the files
 * feed what podresources cannot give (policies, checkpoint-only state such as machineState,
 * the pods' UIDs: a pod podresources names is given the UID of the checkpoint entry holding
 * the same exclusive CPU or device) and take over when podresources is lost. Where both have a
 * good view, nf_kubelet_view_compare() reports where they differ. Its statuses are the files'
 * ("absent": no socket and never a good answer, so kubelet is not running here or the socket
 * is not mounted; "error: ... keeping the last good view ..." past a failed call).
 *
 * Per source status, published in t->kubelet.stateFiles (and configError for the config):
 *   "ok"          parsed, checksum verified (or 0, which kubelet does not verify either);
 *   "absent"      no such file, and there never was a good one: that manager is not in use;
 *   "error: ..."  never read well: unreadable (also a FIFO, a link, a NUL byte), empty, corrupt
 *                 or failing its checksum; what the source feeds is UNKNOWN;
 *   "error: ... (since T); keeping the last good view, read at T0, for the Ns grace period"
 *                 a source that was good disappeared, emptied or stopped parsing: its LAST GOOD
 *                 view stays in use for the grace period (kubelet rewrites its files when it
 *                 restarts; an editor truncates a file before it writes it);
 *   "error: ... (since T); the last good view, read at T0, was dropped after the Ns grace
 *    period: what it fed is unknown"
 *                 past the grace period: what it fed is UNKNOWN until a good file is back.
 * UNKNOWN is never "all free" nor kubelet's defaults: apply marks it (nf_zone_cpus
 * reserved_unknown / allocated_unknown, nf_vf allocation_unknown) and nf_kubelet_view_unknown()
 * says which numbers cannot be derived and why. A config path that was given but has no good
 * view is UNKNOWN in the same way (reserved CPUs and reservedMemory; --reserved-cpus still wins).
 * What a checkpoint file and podresources both feed is UNKNOWN only when neither has a good view
 * and one of them lost it or never read well (both merely absent: nothing is assigned).
 *
 * Without any config (config_path NULL, or never read successfully): cpuManagerPolicy is taken
 * from cpu_manager_state's policyName (else "static" when podresources lists allocatable CPUs,
 * else NULL), memoryManagerPolicy from memory_manager_state's policyName (else "Static" when
 * podresources lists allocatable memory, else NULL), topologyManagerPolicy/Scope are NULL (unknown)
 * and no options are published. With a config, omitted fields take kubelet's defaults ("none",
 * "container", "None").
 *
 * Reserved CPUs (reservedCpus + reservedCpusSource), first that applies:
 *   --reserved-cpus                            -> "flag"
 *   config reservedSystemCPUs                  -> "kubeletConfig"
 *   config policy static, kube+systemReserved  -> "computed: kubeReserved+systemReserved cpu=2"
 *        (ceil of the sum, CPUs picked as kubelet's static policy does: kubelet_take_by_topology.h;
 *         a fractional sum is shown as "cpu=1500m (2 CPUs)")
 *   no config, podresources lists allocatable CPUs -> "podResources" (online minus those)
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

#define NF_KUBELET_GRACE_DEFAULT_MS 60000

typedef struct nf_kubelet_opts {
    const char *kubelet_dir;    /* default /var/lib/kubelet */
    const char *config_path;    /* --kubelet-config, may be NULL: then found as
                                 * kubelet_config_find.h says */
    const char *procfs_root;    /* where the kubelet process is looked for; default /proc */
    const char *reserved_cpus;  /* --reserved-cpus, may be NULL; overrides the config */
    int64_t grace_ms;           /* --kubelet-grace; 0 = NF_KUBELET_GRACE_DEFAULT_MS */
    const char *podres_socket;  /* --podresources-socket; NULL: podresources not used */
    int64_t podres_timeout_ms;  /* deadline of each call; 0: the default (2 s) */
    int64_t podres_interval_ms; /* poll period; 0: the default (10 s) */
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
/* The same at a given time (monotonic ms for the grace period, wall seconds for the statuses):
 * tests step the clock with it. */
int nf__kubelet_view_reload_at(nf_kubelet_view *v, int64_t now_mono_ms, int64_t now_wall_s);

/* Which derived numbers are unknown, and why (NULL: known). The strings are owned by the view
 * and stay valid until the next reload. */
typedef struct nf_kubelet_unknown {
    const char *reserved_cpus;   /* kubelet config lost: cpu allocatable and available */
    const char *reserved_memory; /* kubelet config lost: memory and hugepages (reservedMemory) */
    const char *cpu_assigned;    /* cpu_manager_state lost: cpu available */
    const char *memory_assigned; /* memory_manager_state lost under the Static Memory Manager:
                                    memory and hugepages available */
    const char *devices;         /* device checkpoint lost: device resources available */
} nf_kubelet_unknown;
void nf_kubelet_view_unknown(const nf_kubelet_view *v, nf_kubelet_unknown *u);

/* The device checkpoint in use (the last good one), or NULL. */
const struct nf_device_checkpoint *nf_kubelet_view_devices(const nf_kubelet_view *v);

/* Problems with the inputs themselves, for the exporter's warnings, errors[] and metrics. One
 * entry per input, problem NULL when there is none. */
typedef struct nf_kubelet_input {
    const char *input;   /* "kubeletDir", "kubeletConfig", "cpuManagerState",
                            "memoryManagerState", "deviceCheckpoint", "podResources" */
    const char *problem; /* owned by the view, valid until the next reload */
} nf_kubelet_input;
#define NF_KUBELET_INPUTS 6
void nf_kubelet_view_inputs(const nf_kubelet_view *v, nf_kubelet_input out[NF_KUBELET_INPUTS]);

/* Apply to a topology whose numa_nodes (cpus.online, cpus.cores, socket) and devices (VFs by PCI
 * address) were read from sysfs. Fills t->kubelet (every field of nf_kubelet_info) and, per NUMA
 * node, replacing what was there:
 *   cpus.reserved      reserved CPUs ∩ the node's online CPUs
 *   cpus.allocated     CPUs of cpu_manager_state entries/podEntries ∩ online
 *   pods[]             per pod (UID and/or namespace/name, sorted): its exclusive CPUs on the
 *                      node and amounts
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

/* Where podresources and the checkpoint files, both with a good view, disagree: one errors[]
 * entry per kind in t, and how many items differ per kind (CPUs, devices, memory types, reserved
 * CPUs). Judged only on a podresources answer asked after the files' last change (kubelet
 * writes a file and updates what podresources answers at about the same time). Call after
 * nf_kubelet_view_apply. 0 or -ENOMEM. */
typedef struct nf_podres_disagreement {
    size_t cpus, devices, memory, reserved_cpus;
} nf_podres_disagreement;
int nf_kubelet_view_compare(const nf_kubelet_view *v, nf_topology *t, nf_podres_disagreement *d);

/* The fd that becomes readable when podresources answered (reload then), or -1 without it. */
int nf_kubelet_view_podres_fd(const nf_kubelet_view *v);
/* Ask podresources again now (the checkpoint files changed). */
void nf_kubelet_view_podres_kick(nf_kubelet_view *v);

/* The paths the exporter must watch with inotify: kubelet replaces its files by rename, so watch
 * each dir (IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE) and reload when `name`
 * changes. Owned by the view. */
typedef struct nf_kubelet_watch {
    const char *dir;  /* e.g. "/var/lib/kubelet", "/var/lib/kubelet/device-plugins" */
    const char *name; /* file name inside dir */
} nf_kubelet_watch;
const nf_kubelet_watch *nf_kubelet_view_watches(const nf_kubelet_view *v, size_t *n);

#endif
