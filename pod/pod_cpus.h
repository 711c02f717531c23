/* pod_cpus.h - the CPUs this container may run on, and where each sits (NUMA node, socket, core,
 * SMT siblings), read from the procfs root's self/status or sched_getaffinity() and from sysfs.
 */
#ifndef NUMAFIT_POD_CPUS_H
#define NUMAFIT_POD_CPUS_H

#include <stdbool.h>
#include <stddef.h>

#include "numafit/cpuset.h"
#include "numafit/error.h"
#include "pod_roots.h"

typedef struct nf_pod_node {
    int id;
    nf_cpuset cpus; /* nodeN/cpulist */
} nf_pod_node;

typedef struct nf_pod_cpu {
    unsigned id;
    int node;          /* -1: in no node's cpulist */
    int socket;        /* physical_package_id, -1 unknown */
    int core;          /* core_id, -1 unknown */
    char siblings[64]; /* thread_siblings_list, "" unknown */
} nf_pod_cpu;

typedef struct nf_pod_cpus {
    nf_cpuset set;
    bool from_status; /* Cpus_allowed_list of self/status; else sched_getaffinity() */
    nf_pod_cpu *cpu;  /* one per member of set, ascending */
    size_t n;
    nf_pod_node *nodes; /* online NUMA nodes, ascending id */
    size_t n_nodes;
} nf_pod_cpus;

int nf_pod_cpus_read(const nf_pod_roots *r, nf_pod_cpus *out, nf_err *err);
void nf_pod_cpus_free(nf_pod_cpus *c);
/* Index into c->nodes of NUMA node id, or -1. */
int nf_pod_node_index(const nf_pod_cpus *c, int id);

#endif
