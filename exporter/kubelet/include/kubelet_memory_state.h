/* kubelet_memory_state.h - kubelet's Memory Manager checkpoint (memory_manager_state).
 *
 * Versions (tests/realdata/kubelet/FORMATS.md §2): V1 policyName/machineState/entries/checksum;
 * V2 adds podEntries (podUID -> {"memoryBlocks": [Block]}); V3 adds "data" (JSON string of the
 * body, authoritative) + "dataChecksum". The checksum is verified like the CPU state's (go-spew
 * dump, type names MemoryManagerCheckpoint / ...V1 / ...V2); 0 is not verified; a mismatch is
 * -EBADMSG, except that a file with non-empty podEntries (dump not confirmed) is accepted with
 * checksum_verified = false.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_MEMORY_STATE_H
#define NUMAFIT_EXPORTER_KUBELET_MEMORY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"

/* One assigned block: size bytes of `type` ("memory", "hugepages-1Gi") on the NUMA nodes. */
typedef struct nf_memory_block {
    int *numa;
    size_t n_numa;
    char *type;
    int64_t size;
} nf_memory_block;

typedef struct nf_memory_assignment {
    char *pod_uid;                  /* NULL when podresources.h built it */
    char *pod_namespace, *pod_name; /* NULL here; set when podresources.h built it */
    char *container;                /* NULL for a pod-level entry (podEntries) */
    nf_memory_block *blocks;
    size_t n_blocks;
} nf_memory_assignment;

/* machineState[n].memoryMap[resource] (bytes). */
typedef struct nf_memory_table {
    char *resource;
    int64_t total, system_reserved, allocatable, reserved, free;
} nf_memory_table;

typedef struct nf_memory_numa_state {
    int id;
    int64_t number_of_assignments;
    nf_memory_table *tables;
    size_t n_tables;
    int *cells;
    size_t n_cells;
} nf_memory_numa_state;

typedef struct nf_memory_state {
    int version; /* 1, 2 (podEntries present) or 3 (data) */
    char *policy_name;
    nf_memory_numa_state *nodes; /* sorted by id */
    size_t n_nodes;
    nf_memory_assignment *assignments; /* sorted by pod UID, then container */
    size_t n_assignments;
    bool checksum_verified;
    char *checksum_type;
} nf_memory_state;

/* Parse a file's content (what = path for messages). -EINVAL (JSON, types, negative or absurd
 * sizes, NUMA ids outside [0, 1023]), -EBADMSG (checksum), -ENOMEM. */
int nf_memory_state_parse(const char *text, size_t len, const char *what, nf_memory_state *out,
                          nf_err *err);
int nf_memory_state_load(const char *path, nf_memory_state *out, nf_err *err);
void nf_memory_state_free(nf_memory_state *s);
/* machineState[numa].memoryMap[resource], or NULL. */
const nf_memory_table *nf_memory_state_table(const nf_memory_state *s, int numa,
                                             const char *resource);

#endif
