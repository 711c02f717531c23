/* kubelet_config.h - the parts of a KubeletConfiguration (kubelet.config.k8s.io/v1beta1, YAML or
 * JSON) that decide what kubelet hands out exclusively.
 *
 * Parsed with nf_yaml_load(). Fields read: cpuManagerPolicy, cpuManagerPolicyOptions,
 * reservedSystemCPUs, kubeReserved.cpu, systemReserved.cpu, topologyManagerPolicy,
 * topologyManagerScope, topologyManagerPolicyOptions, memoryManagerPolicy, reservedMemory.
 * Omitted fields take kubelet's defaults: cpuManagerPolicy "none", topologyManagerPolicy "none",
 * topologyManagerScope "container", memoryManagerPolicy "None". Unknown fields are ignored.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_CONFIG_H
#define NUMAFIT_EXPORTER_KUBELET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "numafit/cpuset.h"
#include "numafit/error.h"
#include "numafit/topology.h"

/* reservedMemory[]: {numaNode, limits: {memory: 1Gi, hugepages-1Gi: 2Gi}} in bytes. */
typedef struct nf_reserved_memory {
    int numa_node;
    nf_amount *limits;
    size_t n_limits;
} nf_reserved_memory;

typedef struct nf_kubelet_config {
    char *cpu_manager_policy;
    nf_kv *cpu_manager_policy_options; /* sorted by key; values as strings */
    size_t n_cpu_manager_policy_options;
    char *topology_manager_policy;
    char *topology_manager_scope;
    nf_kv *topology_manager_policy_options;
    size_t n_topology_manager_policy_options;
    char *memory_manager_policy;
    char *reserved_system_cpus;          /* list as written, NULL when absent or empty */
    nf_cpuset reserved_system_cpuset;    /* parsed form of the above */
    int64_t reserved_cpu_milli;          /* kubeReserved.cpu + systemReserved.cpu, milli-CPUs */
    nf_reserved_memory *reserved_memory; /* sorted by numa_node */
    size_t n_reserved_memory;
} nf_kubelet_config;

/* Parse YAML/JSON text; what names the source (path) in messages. -EINVAL with the field named
 * on a wrong type, a bad CPU list (ids > NF_CPU_MAX), a bad or negative quantity, a kind other than
 * KubeletConfiguration; -ENOMEM. */
int nf_kubelet_config_parse(const char *text, size_t len, const char *what, nf_kubelet_config *out,
                            nf_err *err);
/* Read (capped at 16 MiB) and parse. -ENOENT when the file does not exist. */
int nf_kubelet_config_load(const char *path, nf_kubelet_config *out, nf_err *err);
void nf_kubelet_config_free(nf_kubelet_config *c);

#endif
