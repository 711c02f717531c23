/* sysfs_sriov.h - SR-IOV physical functions and their virtual functions, from sysfs.
 *
 * A PF is every <sysfs>/bus/pci/devices/<BDF> with an sriov_totalvfs file, except the VFs of PFs
 * scanned before (a VF has no SR-IOV capability; PFs are scanned in address order and a VF's
 * address is above its PF's, so the VFs need not be probed). Per PF (nf_pf):
 *   pci, vendor/device (hex without 0x, from the vendor/device files), driver (basename of the
 *   driver link; NULL when unbound), netdev (first entry of net/; NULL when none),
 *   total_vfs/num_vfs (sriov_totalvfs/sriov_numvfs, 0..65535, NF_UNKNOWN when unreadable),
 *   numa_node (the numa_node file; NF_UNKNOWN when -1, absent or garbage, with pf.error saying
 *   which: "unknown: numa_node is -1", "absent: ...numa_node", "error: ...").
 * Per VF (nf_vf, from the PF's virtfnN links, in N order): pci (link target's name), vendor,
 *   device, driver (NULL when unbound), iommu_group (iommu_group link's name; NF_UNKNOWN when
 *   there is none); error when the link points nowhere ("error: virtfn3 -> ../0000:18:01.3:
 *   No such file or directory") - such a VF is published with what could be read.
 *   allocated=false, pod_uid=NULL, probe never run (the kubelet and probe readers fill those).
 *
 * Cost: every directory is opened once and its files read relative to it (openat/readlinkat,
 * one read() per attribute); a VF's files are read as <VF>/... relative to the PF's parent
 * directory when its link is "../<VF>" as the kernel makes it, else (and to word any problem)
 * through its virtfnN link.
 *
 * Grouping: the VFs of one PF are split into one nf_device_group per resource name (in order
 * of first VF), resource from kubelet's checkpoint, else nf_sriov_config_match()
 * (see nf_sriov_naming). A PF with no VF gives one group with no VFs
 * (so PFs with sriov_numvfs=0 still show). A group goes to the NUMA node named by its PF's
 * numa_node, or to t->unplaced_devices when that is unknown or names no node of t (never
 * guessed onto node 0).
 *
 * For VFs neither kubelet's checkpoint nor a config names, resource is NULL: the VFs are
 * published under their PF for people to see (driver, IOMMU group, ...) but are not a
 * schedulable resource, because no device plugin advertises them under a name numafit knows.
 */
#ifndef NUMAFIT_SYSFS_SRIOV_H
#define NUMAFIT_SYSFS_SRIOV_H

#include "numafit/topology.h"
#include "sriov_config.h"

/* Who names the VFs. kubelet's device checkpoint (RegisteredDevices: resource -> device ID, for
 * the SR-IOV device plugin a VF's PCI address) says what the device plugin really advertises, so
 * a VF it lists is named from it; the SR-IOV config names the others (a fallback). A VF both name
 * differently keeps kubelet's name, and the disagreement is counted. Group resource_source says
 * which source named a group's VFs: "kubeletCheckpoint", "sriovConfig", or
 * "kubeletCheckpoint,sriovConfig" when some VFs were named by each. */
typedef struct nf_sriov_naming {
    const nf_sriov_config *cfg; /* may be NULL */
    const nf_kv *registered;    /* kubelet's RegisteredDevices; may be NULL */
    size_t n_registered;
} nf_sriov_naming;

/* What the naming did, over one scan. */
typedef struct nf_sriov_naming_stats {
    size_t by_checkpoint; /* VFs named from kubelet's checkpoint */
    size_t by_config;     /* VFs named from the SR-IOV config (kubelet lists them under no name) */
    size_t config_named;  /* VFs the config selects */
    size_t config_agrees; /* of those, VFs kubelet registered under the same name */
    size_t disagree;      /* VFs the config and kubelet name differently */
    char example[256];    /* the first disagreement, "" when none */
} nf_sriov_naming_stats;

/* nf_sriov_scan with both naming sources; stats may be NULL. */
int nf_sriov_scan_named(const char *sysfs_root, const nf_sriov_naming *nm, nf_topology *t,
                        nf_sriov_naming_stats *stats);

/* Append the PFs/VFs under sysfs_root ("/sys") to t, whose numa_nodes must already be filled
 * (nf_machine_read). Returns 0; problems go into pf.error / vf.error, or t->errors when the PCI
 * device directory exists but cannot be listed; no PCI directory at all is not an error (no
 * PFs). -ENOMEM on allocation failure (t stays valid for nf_topology_free). */
int nf_sriov_scan(const char *sysfs_root, const nf_sriov_config *cfg, nf_topology *t);

/* Free every device group of t (numa_nodes[].devices and unplaced_devices), so that a refresh
 * can rescan into a topology filled before. */
void nf_sriov_clear(nf_topology *t);

#endif
