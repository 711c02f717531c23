/* pod_roots.h - the directories numafit-pod reads a container's view from.
 *
 * Inside a container they are the real ones; tests (and an operator on the host looking at a
 * container) point them at other trees. With the procfs root's self/status lacking
 * Cpus_allowed_list, the CPUs come from sched_getaffinity() of numafit-pod itself.
 */
#ifndef NUMAFIT_POD_ROOTS_H
#define NUMAFIT_POD_ROOTS_H

typedef struct nf_pod_roots {
    const char *sysfs;   /* /sys */
    const char *procfs;  /* /proc: self/status, self/mountinfo, self/cgroup, self/limits, meminfo */
    const char *cgroup;  /* /sys/fs/cgroup */
    const char *podinfo; /* downward API volume: name, uid, annotations (/etc/podinfo) */
} nf_pod_roots;

#endif
