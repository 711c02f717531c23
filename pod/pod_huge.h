/* pod_huge.h - hugepages as this container sees them: its hugetlbfs mounts (self/mountinfo), the
 * page sizes the kernel has (sysfs kernel/mm/hugepages), the container's hugetlb cgroup limit of
 * each size and its memory cgroup limit (cgroup v2 or v1), and each size's free pages per NUMA
 * node (sysfs devices/system/node/nodeN/hugepages).
 */
#ifndef NUMAFIT_POD_HUGE_H
#define NUMAFIT_POD_HUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"
#include "pod_cpus.h"
#include "pod_roots.h"

#define NF_POD_UNLIMITED INT64_MAX /* a limit of "max" (v2) or the v1 no-limit value */
#define NF_POD_UNKNOWN (-1)

typedef struct nf_pod_mount {
    char *path;
    uint64_t page_bytes; /* pagesize= option, else the default Hugepagesize */
    bool writable;       /* mounted rw and writable by this process */
} nf_pod_mount;

typedef struct nf_pod_hugesize {
    uint64_t page_bytes;
    int64_t limit;      /* bytes; NF_POD_UNLIMITED; NF_POD_UNKNOWN when no cgroup file */
    int64_t *node_free; /* free pages per node, in nf_pod_cpus.nodes order; NF_POD_UNKNOWN */
} nf_pod_hugesize;

typedef struct nf_pod_huge {
    nf_pod_mount *mount;
    size_t n_mounts;
    nf_pod_hugesize *size; /* ascending page size */
    size_t n_sizes;
    int cgroup_version;   /* 2, 1, or 0 when no hugetlb/memory controller was found */
    char *cgroup_dir;     /* where the hugetlb limits were read (NULL: none) */
    int64_t memory_limit; /* bytes; NF_POD_UNLIMITED; NF_POD_UNKNOWN */
} nf_pod_huge;

int nf_pod_huge_read(const nf_pod_roots *r, const nf_pod_cpus *cpus, nf_pod_huge *out, nf_err *err);
void nf_pod_huge_free(nf_pod_huge *h);
/* The size entry of page_bytes, or NULL. */
const nf_pod_hugesize *nf_pod_huge_size(const nf_pod_huge *h, uint64_t page_bytes);
/* The kernel's name of a hugetlb cgroup size: "2MB", "1GB", "64KB". */
const char *nf_pod_hugetlb_name(uint64_t page_bytes, char *buf, size_t len);
/* "2M", "1G", "1024M", "2048k" (mount option pagesize=, Hugepagesize) to bytes; -EINVAL. */
int nf_pod_parse_size(const char *s, uint64_t *out);

#endif
