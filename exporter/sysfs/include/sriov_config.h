/* sriov_config.h - the SR-IOV network device plugin's config.json (k8snetworkplumbingwg/
 * sriov-network-device-plugin): which VF feeds which Kubernetes resource.
 *
 * Accepted input: the config.json itself, the same document written as YAML, or the whole
 * ConfigMap YAML (its data."config.json" string is parsed). The JSON is parsed strictly, as the
 * plugin's Go json.Unmarshal does: a config with trailing commas is refused (the plugin would
 * refuse it too and advertise nothing).
 *
 * Semantics followed (as the plugin applies them):
 *  - resource name = resourcePrefix ("intel.com" when absent, the plugin's CLI default) + "/" +
 *    resourceName; resourceName must match ^[a-zA-Z0-9_]+$; a full name used twice is an error.
 *  - "selectors" is one object or a list of objects; a device joins the pool when ANY object
 *    matches, and an object matches when EVERY key it sets matches (an empty list = no filter).
 *  - vendors / devices: VF PCI vendor / device id, hex without 0x ("8086", "1889").
 *    drivers: the VF's bound driver. pciAddresses: the VF address.
 *    pfNames: the PF's netdev, "ens1f0" (all VFs) or "ens1f0#0-3,7" (VF indexes, 0-based).
 *    rootDevices: the PF's PCI address (same optional "#ranges").
 *    linkTypes: the PF netdev's link type ("ether", "infiniband"; from net/<if>/type).
 *  - a VF matched by several pools belongs to the first one in resourceList order (the plugin
 *    excludes devices already allocated to an earlier pool).
 *  - deviceType "netDevice" (default) selects network-class VFs (PCI class 0x02), "accelerator"
 *    the others; "auxNetDevice" pools (subfunctions, not VFs) never match and get a note.
 *  - Not read from the machine, so ignored with a note (nf_sriov_config_note): isRdma,
 *    ddpProfiles, needVhostNet, vdpaType, pKeys, acpiIndexes, auxTypes, unknown selector keys.
 *    A pool using ddpProfiles therefore matches every VF its other selectors match.
 * PFs themselves are never matched (the plugin skips PFs that have VFs; numafit only publishes
 * VFs as devices).
 */
#ifndef NUMAFIT_SRIOV_CONFIG_H
#define NUMAFIT_SRIOV_CONFIG_H

#include <stddef.h>

#include "numafit/error.h"

typedef struct nf_sriov_config nf_sriov_config;

/* Load a file (at most 1 MiB). -ENOENT/-EACCES when unreadable, -EINVAL with a message naming
 * the file and the field when it is not a valid config. */
int nf_sriov_config_load(const char *path, nf_sriov_config **out, nf_err *err);
/* The same from memory; origin names the source in messages. */
int nf_sriov_config_parse(const char *text, size_t len, const char *origin, nf_sriov_config **out,
                          nf_err *err);
void nf_sriov_config_free(nf_sriov_config *c);

/* Pools in resourceList order, by full resource name ("intel.com/intel_sriov_dpdk"). */
size_t nf_sriov_config_count(const nf_sriov_config *c);
const char *nf_sriov_config_resource(const nf_sriov_config *c, size_t i);
/* Notes about what was ignored ("resourceList[2] (mellanox.com/x): selectors[0].isRdma ignored:
 * ...") */
size_t nf_sriov_config_note_count(const nf_sriov_config *c);
const char *nf_sriov_config_note(const nf_sriov_config *c, size_t i);

/* What a selector looks at, for one VF. Any string may be NULL (unknown): a selector that needs
 * it then does not match. */
typedef struct nf_sriov_dev {
    const char *pci;       /* VF address */
    const char *vendor;    /* "8086" */
    const char *device;    /* "1889" */
    const char *driver;    /* "vfio-pci" */
    const char *pf_pci;    /* PF address (rootDevices) */
    const char *pf_netdev; /* PF netdev (pfNames) */
    const char *link_type; /* "ether", "infiniband" */
    int vf_index;          /* N of the PF's virtfnN link; -1 when unknown */
    long pci_class;        /* 0x020000...; -1 when unknown (treated as network) */
} nf_sriov_dev;

/* Full resource name of the first pool that selects d, or NULL. */
const char *nf_sriov_config_match(const nf_sriov_config *c, const nf_sriov_dev *d);

#endif
