/* pod_vfs.h - the VFs the SR-IOV device plugin gave this container, and where each sits.
 *
 * The device plugin sets PCIDEVICE_<RESOURCE>=BDF[,BDF...] (resource name upper-cased, "." and
 * "/" as "_"); Multus writes the k8s.v1.cni.cncf.io/network-status annotation, which the
 * downward API puts in <podinfo>/annotations when the pod mounts it. A VF named by both is
 * listed once. Each VF's driver, numa_node and IOMMU group come from sysfs bus/pci/devices/BDF.
 */
#ifndef NUMAFIT_POD_VFS_H
#define NUMAFIT_POD_VFS_H

#include <stdbool.h>
#include <stddef.h>

#include "numafit/error.h"
#include "pod_roots.h"

typedef struct nf_pod_vf {
    char bdf[16];    /* 0000:86:01.0 */
    char *source;    /* "PCIDEVICE_INTEL_COM_SRIOV" or "network-status" */
    char *network;   /* Multus network name, or NULL */
    char driver[64]; /* "" when no driver is bound */
    int numa;        /* numa_node; -1 as the kernel says it (unknown) */
    int iommu_group; /* -1 when none */
} nf_pod_vf;

typedef struct nf_pod_vfs {
    nf_pod_vf *vf;
    size_t n;
    bool network_status; /* the annotation was found */
} nf_pod_vfs;

int nf_pod_vfs_read(const nf_pod_roots *r, char *const *envp, nf_pod_vfs *out, nf_err *err);
void nf_pod_vfs_free(nf_pod_vfs *v);

/* Exposed for unit tests: the value of `key` in a downward API annotations file (lines
 * key="Go-quoted value"), unquoted into a heap string; -ENOENT when absent. */
int nf_pod_annotation(const char *text, const char *key, char **out);
/* The BDF is a full PCI address, DDDD:BB:DD.F, hex digits (as the device plugin writes it). */
bool nf_pod_bdf_valid(const char *s);

#endif
