/* pod_view.h - what numafit-pod reads about the container it runs in, and where it reads it.
 *
 * nf_pod_view_read() fills every part (CPUs, VFs, hugepages + cgroup, limits + capabilities) from
 * the roots; each part is read by its own module (pod_cpus, pod_vfs, pod_huge, pod_limits). A part
 * that cannot be read makes the whole read fail with a message naming the file: the program exits
 * 1 then. Parts that are merely unknown (a cgroup file absent, numa_node -1) are kept as unknown
 * and said so by the verdict.
 */
#ifndef NUMAFIT_POD_VIEW_H
#define NUMAFIT_POD_VIEW_H

#include "numafit/error.h"
#include "pod_cpus.h"
#include "pod_huge.h"
#include "pod_limits.h"
#include "pod_vfs.h"

typedef struct nf_pod_view {
    nf_pod_cpus cpus;
    nf_pod_vfs vfs;
    nf_pod_huge huge;
    nf_pod_limits limits;
    char *file_prefix; /* pod name + UID prefix from the downward API, else the hostname */
} nf_pod_view;

/* envp: the environment to take PCIDEVICE_* from (environ in the program). */
int nf_pod_view_read(const nf_pod_roots *r, char *const *envp, nf_pod_view *out, nf_err *err);
void nf_pod_view_free(nf_pod_view *v);

#endif
