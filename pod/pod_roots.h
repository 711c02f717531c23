/* pod_roots.h - the directories numafit-pod reads a container's view from.
 *
 * Inside a container they are the real ones; tests (and an operator on the host looking at a
 * container) point them at other trees. The CPUs come from sched_getaffinity() of numafit-pod
 * itself, unless the procfs root is not /proc and its self/status has Cpus_allowed_list.
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
