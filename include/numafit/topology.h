/* topology.h - NodeTopology, the one data model of numafit (apiVersion numafit.io/v1).
 *
 * The exporter fills it from sysfs, procfs and kubelet's files; the extender and the report
 * read it back from JSON (topology_json.h) and fit pods against each NUMA node's `resources`.
 * Every string is heap-owned by the struct that holds it; nf_topology_free() releases all.
 *
 * Unknown numbers are -1 (never a silent 0); a field that could not be read carries an
 * `error` string ("error: ..." / "absent") beside it.
 *
 * The model owns its fields: a new member is freed and copied (nf_topology_compact) in
 * lib/topology.c and encoded in lib/topology_json.c, nowhere else (tests/cache/
 * test_cache_compact.c compares the compact copy's JSON with the original's).
 */
#ifndef NUMAFIT_TOPOLOGY_H
#define NUMAFIT_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/cpuset.h"

#define NF_API_VERSION "numafit.io/v1"
#define NF_KIND "NodeTopology"
#define NF_UNKNOWN (-1)

typedef struct nf_kv {
    char *key;
    char *value;
} nf_kv;

/* An integer amount of a named resource (whole CPUs, bytes, devices). */
typedef struct nf_amount {
    char *name;
    int64_t value;
} nf_amount;

/* One schedulable resource of a zone, keyed by its Kubernetes name ("cpu", "memory",
 * "hugepages-1Gi", "intel.com/intel_sriov_dpdk"). Units: whole CPUs, bytes, devices.
 * allocatable and available are NF_UNKNOWN (JSON null) when an input they depend on is lost
 * (e.g. kubelet's state file gone past its grace period); error then says why. */
typedef struct nf_resource {
    char *name;
    int64_t capacity;
    int64_t allocatable;
    int64_t available;
    int64_t usable; /* devices whose last DPDK probe passed; NF_UNKNOWN when not probed */
    char *error;    /* NULL, or why a number above is unknown */
} nf_resource;

typedef struct nf_hugepages {
    char *name; /* kubelet's resource name: "hugepages-2Mi" */
    uint64_t page_bytes;
    int64_t total; /* nr_hugepages; NF_UNKNOWN when unreadable */
    int64_t free;
    int64_t surplus;
    char *error; /* NULL, or "error: ..." naming the file that failed */
} nf_hugepages;

typedef struct nf_probe_result {
    char *status; /* "ok" | "failed: ..." | "skipped: ..."; NULL when never probed */
    char *pmd;
    char *mac;
    char *link;         /* "up" | "down" | "unknown" */
    int max_rx_queues;  /* NF_UNKNOWN when not known */
    int64_t checked_at; /* unix seconds; 0 when never probed */
} nf_probe_result;

typedef struct nf_vf {
    char *pci; /* "0000:18:01.0" */
    char *vendor;
    char *device;
    char *driver;    /* NULL when unbound */
    int iommu_group; /* NF_UNKNOWN when there is none */
    bool allocated;
    bool allocation_unknown; /* kubelet's device checkpoint is lost: allocated means nothing
                                (JSON null); never probe such a VF */
    char *pod_uid;           /* when allocated and kubelet's checkpoint names the pod */
    nf_probe_result probe;
    char *error; /* e.g. a virtfn link that points nowhere */
} nf_vf;

typedef struct nf_pf {
    char *pci;
    char *netdev; /* NULL when the PF has no net/ entry */
    char *vendor;
    char *device;
    char *driver;
    int total_vfs;
    int num_vfs;
    int numa_node; /* NF_UNKNOWN when numa_node is -1, absent or garbage */
    char *error;
} nf_pf;

/* The VFs of one PF that map to one device-plugin resource (a PF may appear twice when its VF
 * ranges feed two resources). resource is NULL when no SR-IOV config names these VFs. */
typedef struct nf_device_group {
    char *resource;
    /* which source named resource: "kubeletCheckpoint" (RegisteredDevices lists the VFs),
     * "sriovConfig", or both ("kubeletCheckpoint,sriovConfig"); a static string, NULL when
     * resource is NULL or the source is not known */
    const char *resource_source;
    nf_pf pf;
    nf_vf *vfs;
    size_t n_vfs;
} nf_device_group;

typedef struct nf_zone_cpus {
    nf_cpuset online;
    nf_cpuset reserved;
    nf_cpuset allocatable; /* online - reserved */
    nf_cpuset allocated;   /* assigned exclusively by kubelet's CPU Manager */
    nf_cpuset free;        /* allocatable - allocated */
    int threads_per_core;  /* NF_UNKNOWN when topology files are missing */
    /* Whole cores as kubelet's full-pcpus-only hands them out: cores with as many online threads
     * as the machine's threads per core (a core with an offline sibling never counts) and every
     * thread free (resp. allocatable). NF_UNKNOWN without core topology or when the CPUs they
     * count are unknown. */
    int free_full_cores;
    int allocatable_full_cores;
    /* Inputs lost (JSON null): the reserved CPUs (kubelet config) -> reserved, allocatable and
     * free unknown; the assigned CPUs (cpu_manager_state) -> allocated and free unknown. */
    bool reserved_unknown;
    bool allocated_unknown;
    /* Online threads grouped by physical core (not published; feeds free_full_cores and
     * kubelet's full-pcpus-only view). */
    nf_cpuset *cores;
    size_t n_cores;
} nf_zone_cpus;

/* What one pod holds exclusively on a NUMA node (from kubelet's state files or its podresources
 * API). The checkpoint files name a pod by UID, podresources by namespace and name: either may be
 * NULL, never all three. */
typedef struct nf_pod_usage {
    char *pod_uid;
    char *pod_namespace;
    char *pod_name;
    nf_cpuset cpus;
    nf_amount *amounts; /* "cpu" -> 4, "hugepages-1Gi" -> bytes, "intel.com/x" -> 1 */
    size_t n_amounts;
} nf_pod_usage;

typedef struct nf_numa_node {
    int id;
    int socket;     /* NF_UNKNOWN for a CPU-less node hwloc cannot place */
    int *distances; /* indexed like nf_topology.numa_nodes */
    size_t n_distances;
    nf_zone_cpus cpus;
    int64_t mem_total; /* bytes; NF_UNKNOWN when unreadable */
    int64_t mem_free;
    char *mem_error;
    nf_hugepages *hugepages;
    size_t n_hugepages;
    nf_device_group *devices;
    size_t n_devices;
    nf_resource *resources;
    size_t n_resources;
    nf_pod_usage *pods;
    size_t n_pods;
    /* kubelet's reservedMemory for this NUMA node ("memory", "hugepages-1Gi" -> bytes). */
    nf_amount *kubelet_reserved;
    size_t n_kubelet_reserved;
} nf_numa_node;

typedef struct nf_socket {
    int id;
    int *numa_nodes;
    size_t n_numa_nodes;
} nf_socket;

typedef struct nf_kubelet_info {
    char *cpu_manager_policy; /* "static" | "none" | NULL (unknown) */
    nf_kv *cpu_manager_policy_options;
    size_t n_cpu_manager_policy_options;
    char *topology_manager_policy;
    char *topology_manager_scope;
    nf_kv *topology_manager_policy_options;
    size_t n_topology_manager_policy_options;
    char *memory_manager_policy;
    char *reserved_cpus;        /* list form; NULL when none */
    char *reserved_cpus_source; /* "flag", "kubeletConfig", "computed: ...", "none" */
    char *state_cpu_manager;    /* "ok" | "absent" | "error: ..." | "not read: ..." */
    char *state_memory_manager;
    char *state_device_plugins;
    char *state_pod_resources; /* kubelet's podresources API; NULL when not used (not published) */
    char *config_error;        /* the KubeletConfiguration could not be read */
    char *
        config_files; /* the KubeletConfiguration files read, in merge order ("a, b"); NULL: none */
} nf_kubelet_info;

typedef struct nf_topology {
    char *node;
    uint64_t generation;
    int64_t observed_at; /* unix seconds */
    nf_kubelet_info kubelet;
    nf_socket *sockets;
    size_t n_sockets;
    nf_numa_node *numa_nodes;
    size_t n_numa_nodes;
    /* PFs whose numa_node is unknown: published apart, never guessed onto a NUMA node. */
    nf_device_group *unplaced_devices;
    size_t n_unplaced_devices;
    char **errors; /* problems that belong to no single field */
    size_t n_errors;
} nf_topology;

void nf_topology_free(nf_topology *t);
void nf_numa_node_free(nf_numa_node *n);
void nf_device_group_free(nf_device_group *g);
void nf_pf_free(nf_pf *pf); /* the strings of one PF; the struct is zeroed */
void nf_kubelet_info_free(nf_kubelet_info *k);
void nf_kv_free_array(nf_kv *kv, size_t n);
void nf_amount_free_array(nf_amount *a, size_t n);
void nf_vf_free(nf_vf *vf);              /* the strings of one VF; the struct is zeroed */
void nf_pod_usage_free(nf_pod_usage *p); /* the same for one pod's usage */

/* A copy of *t in one heap block, returned: `header` zeroed bytes for the caller's bookkeeping
 * first, then every array, cpuset word and string of the document (repeated strings stored
 * once), which *copy's pointers point into. free(block) releases it all (never
 * nf_topology_free(copy)). What the extender's cache keeps of each node. NULL when out of
 * memory. */
void *nf_topology_compact(const nf_topology *t, size_t header, nf_topology *copy);

/* Resource classes by Kubernetes name: hugepages-<size>; a device-plugin (extended) resource
 * "<domain>/<name>" outside kubernetes.io; counted in bytes (memory, hugepages-*). */
bool nf_resource_is_hugepages(const char *name);
bool nf_resource_is_device(const char *name);
bool nf_resource_is_bytes(const char *name);
/* Add value to the named amount (appending it when new); -ENOMEM or -ERANGE on overflow. */
int nf_amount_add(nf_amount **a, size_t *n, const char *name, int64_t value);
int64_t nf_amount_get(const nf_amount *a, size_t n, const char *name); /* 0 when absent */

/* The order numafit lists resources in everywhere (JSON, reasons, reports): cpu, memory,
 * hugepages-*, then devices; by name within a group. */
int nf_resource_name_cmp(const char *a, const char *b);
int nf_amount_cmp(const void *a, const void *b); /* qsort over nf_amount[] in that order */

/* Is p the pod with this uid, or with this namespace and name? Either key may be NULL (not
 * known to the caller); a key p lacks never matches. */
bool nf_pod_usage_is(const nf_pod_usage *p, const char *uid, const char *ns, const char *name);

/* Lookups; NULL when absent. */
nf_numa_node *nf_topology_numa(const nf_topology *t, int id);
nf_resource *nf_numa_resource(const nf_numa_node *n, const char *name);
const char *nf_kv_get(const nf_kv *kv, size_t n, const char *key);

/* Append a resource (name copied) or return the existing one; NULL on allocation failure. */
nf_resource *nf_numa_resource_add(nf_numa_node *n, const char *name);
/* Append a message to t->errors (copied). */
int nf_topology_add_error(nf_topology *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replace *dst with a copy of src (NULL allowed); -ENOMEM on failure. */
int nf_strset(char **dst, const char *src);

#endif
