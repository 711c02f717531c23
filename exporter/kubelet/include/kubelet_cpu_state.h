/* kubelet_cpu_state.h - kubelet's CPU Manager checkpoint (/var/lib/kubelet/cpu_manager_state).
 *
 * Reads every checkpoint version (tests/realdata/kubelet/FORMATS.md §1):
 *   V1  entries: containerID -> cpuset                       (kubelet <= 1.17)
 *   V2  entries: podUID -> containerName -> cpuset           (1.18 .. current)
 *   V3  V2 + podEntries: podUID -> {"cpuSet": cpuset}        (PodLevelResourceManagers gate)
 *   V4  legacy fields + "data" (JSON string of the V3 body) + "dataChecksum"; data wins.
 * and verifies the checksum as kubelet does: FNV-1a-32 of the go-spew dump of the Go struct,
 * trying the type names of several kubelet versions (CPUManagerCheckpoint, ...V1, ...V2, ...V3,
 * with and without the PodEntries field). A stored checksum of 0 is not verified (kubelet skips it
 * too). A mismatch is an error (-EBADMSG), as it is for kubelet ("checkpoint is corrupted").
 * The dump of a non-empty podEntries is not confirmed against a real kubelet, so a file with
 * podEntries whose checksum matches no variant is accepted with checksum_verified = false.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_CPU_STATE_H
#define NUMAFIT_EXPORTER_KUBELET_CPU_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "numafit/cpuset.h"
#include "numafit/error.h"

typedef struct nf_cpu_assignment {
    char *pod_uid; /* NULL in a V1 file (entries are keyed by container ID there) */
    char *pod_namespace, *pod_name; /* NULL here; set when podresources.h built it */
    char *container; /* container name (V2+), container ID (V1); NULL for a pod-level entry */
    nf_cpuset cpus;  /* exclusive CPUs */
} nf_cpu_assignment;

typedef struct nf_cpu_state {
    int version;            /* 1, 2, 3 or 4 as above */
    char *policy_name;      /* "static" | "none" | whatever the file says ("" when missing) */
    nf_cpuset default_cpus; /* the shared pool */
    nf_cpu_assignment *assignments; /* sorted by pod UID, then container */
    size_t n_assignments;
    bool checksum_verified; /* false: stored checksum 0, or podEntries dump unconfirmed */
    char *checksum_type;    /* Go type whose dump matched ("state.CPUManagerCheckpointV3",
                               "data" for V4); NULL when not verified */
} nf_cpu_state;

/* Parse a file's content; what names it in messages (the path). On error *out is empty and err
 * says what and where: -EINVAL (bad JSON, wrong types, bad cpuset incl. ids > NF_CPU_MAX),
 * -EBADMSG (checksum mismatch), -ENOMEM. */
int nf_cpu_state_parse(const char *text, size_t len, const char *what, nf_cpu_state *out,
                       nf_err *err);
/* Read (capped at NF_KUBELET_MAX_FILE) and parse path; -ENOENT when it does not exist. */
int nf_cpu_state_load(const char *path, nf_cpu_state *out, nf_err *err);
void nf_cpu_state_free(nf_cpu_state *s);
/* Union of every assignment's CPUs. */
int nf_cpu_state_allocated(const nf_cpu_state *s, nf_cpuset *out);

#endif
