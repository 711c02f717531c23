/* pod_verdict.h - is this container aligned? Its CPUs, VFs and hugepages on one NUMA node, and
 * which hugetlbfs mount and how much memory per node DPDK should take (a pure function of the
 * view: no file is read here).
 *
 * Problems make the container misaligned (exit 3) and each says what to change; notes are
 * worth knowing but do not (a missing capability, few free pages on the node, no limit found).
 */
#ifndef NUMAFIT_POD_VERDICT_H
#define NUMAFIT_POD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pod_view.h"

typedef struct nf_pod_verdict {
    bool aligned;              /* no problem */
    int node;                  /* NUMA node of the first CPU (DPDK's main lcore); -1 unknown */
    const nf_pod_mount *mount; /* --huge-dir, or NULL (--in-memory) */
    int64_t socket_mem;        /* bytes to put on `node`; -1: no limit known, leave it to DPDK */
    char **problems;
    size_t n_problems;
    char **notes;
    size_t n_notes;
} nf_pod_verdict;

int nf_pod_verdict_make(const nf_pod_view *v, nf_pod_verdict *out);
void nf_pod_verdict_free(nf_pod_verdict *vd);

#endif
