/* kubelet_device_checkpoint.h - kubelet's Device Manager checkpoint
 * (/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint).
 *
 * Reads both forms (tests/realdata/kubelet/FORMATS.md §3): since 1.20 DeviceIDs is an object
 * NUMA id (string, "-1" = unknown) -> [device IDs]; before 1.20 a plain array. The checksum (over
 * Data only) is verified as kubelet computes it, trying the type names checkpointData /
 * PodDevicesEntry and checkpointDataV1 / PodDevicesEntryV1; 0 is not verified, a mismatch is
 * -EBADMSG. For the SR-IOV network device plugin a device ID is the VF's PCI address.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_DEVICES_H
#define NUMAFIT_EXPORTER_KUBELET_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"
#include "numafit/topology.h" /* nf_kv */

/* One allocated device. */
typedef struct nf_device_alloc {
    char *pod_uid;                  /* NULL when podresources.h built it */
    char *pod_namespace, *pod_name; /* NULL here; set when podresources.h built it */
    char *container;
    char *resource;
    int numa; /* NUMA node the checkpoint names; -1 when unknown ("-1" or pre-1.20 form) */
    char *device_id;
} nf_device_alloc;

typedef struct nf_device_checkpoint {
    int version;             /* 1: pre-1.20 DeviceIDs array, 2: per-NUMA object */
    nf_device_alloc *allocs; /* sorted by pod, container, resource, device id */
    size_t n_allocs;
    bool checksum_verified;
    char *checksum_type; /* "checkpoint.checkpointData" ...; NULL when not verified */
    /* RegisteredDevices: what the device plugins registered, key = resource name, value = a
     * device ID (for SR-IOV a VF's PCI address), in file order */
    nf_kv *registered;
    size_t n_registered;
} nf_device_checkpoint;

/* -EINVAL (JSON, types, bad base64 AllocResp, NUMA key not an integer in [-1, 1023]), -EBADMSG
 * (checksum), -ENOMEM. */
int nf_device_checkpoint_parse(const char *text, size_t len, const char *what,
                               nf_device_checkpoint *out, nf_err *err);
int nf_device_checkpoint_load(const char *path, nf_device_checkpoint *out, nf_err *err);
void nf_device_checkpoint_free(nf_device_checkpoint *c);

#endif
