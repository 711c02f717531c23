/* sysfs_machine.h - sockets, NUMA nodes, cores, memory and hugepages of one machine.
 *
 * Two steps, so that the exporter's refresh loop stays cheap:
 *   nf_machine_open()  discovers the static topology once: hwloc (packages, cores, online PUs)
 *                      plus sysfs (the NUMA node list, node cpulists, distances).
 *   nf_machine_read()  copies that into an nf_topology and re-reads only the dynamic files
 *                      (nodeN/meminfo,
 * nodeN/hugepages/hugepages-<kB>kB/{nr,free,surplus}_hugepages).
 *
 * Where each published number comes from:
 *   sockets[].id              hwloc Package os_index (= cpuN/topology/physical_package_id)
 *   numa_nodes[].id           every /sys/devices/system/node/nodeN directory, as kubelet/cadvisor
 *                             see them: memory-only nodes (GPU/HBM/CXL/DAX) are kept, with empty
 *                             cpus, even where hwloc hides them; CPU-only nodes (MemTotal 0) too.
 *                             A kernel without NUMA (no node directories) gives one node 0 with
 *                             every online CPU, /proc/meminfo and sys/kernel/mm/hugepages.
 *   numa_nodes[].socket       the one package holding the node's online CPUs; for a CPU-less node
 *                             the one socket of its HMAT initiators (nodeN/access0/initiators);
 *                             NF_UNKNOWN otherwise (never guessed from distances, as hwloc does
 *                             when it attaches a CPU-less node to the nearest CPU node).
 *   numa_nodes[].distances    nodeN/distance, indexed like numa_nodes[]; empty (n_distances 0,
 *                             with a t->errors line) when the file is missing, garbage or does
 *                             not have one entry per node.
 *   cpus.online               nodeN/cpulist (else nodeN/cpumap) intersected with the PUs hwloc
 *                             found online (HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED: the exporter's
 *                             own cgroup does not hide CPUs kubelet hands out).
 *   cpus.cores[]              the node's online CPUs grouped by hwloc Core, ordered by lowest CPU.
 *   cpus.threads_per_core     the largest number of online threads of any core of the node (so an
 *                             offline sibling does not make an SMT-2 machine look SMT-1);
 *                             NF_UNKNOWN for a CPU-less node or when core topology is missing
 *                             (then cores[] is empty).
 *   mem_total / mem_free      nodeN/meminfo "MemTotal"/"MemFree" (kB -> bytes); NF_UNKNOWN with
 *                             mem_error "error: <file>: ..." when unreadable or absurd.
 *   hugepages[]               one entry per nodeN/hugepages/hugepages-<kB>kB directory, sorted by
 *                             page size, named as kubelet names the resource ("hugepages-2Mi");
 *                             a counter that cannot be read is NF_UNKNOWN and error says which.
 *
 * hwloc 2 reads another root only through the HWLOC_FSROOT environment variable, so --sysfs-root
 * and --procfs-root must be <root>/sys and <root>/proc of one <root>. nf_machine_open() sets
 * HWLOC_FSROOT (and, for a root other than "/", HWLOC_COMPONENTS=-x86 so that the CPUID backend
 * does not mix the real CPU into a fake tree; HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES=1 so GPU memory
 * nodes stay) and restores the previous environment before returning. It takes a process-wide
 * lock, but other threads calling getenv() meanwhile are not protected: open the machine before
 * starting threads.
 */
#ifndef NUMAFIT_SYSFS_NUMA_H
#define NUMAFIT_SYSFS_NUMA_H

#include <stdbool.h>
#include <stddef.h>

#include "numafit/cpuset.h"
#include "numafit/error.h"
#include "numafit/topology.h"

typedef struct nf_machine nf_machine; /* static topology, discovered once with hwloc */

/* Discover the machine under sysfs_root/procfs_root ("/sys", "/proc" for the real one).
 * -EINVAL (with a message) when the two roots are not <root>/sys and <root>/proc,
 * -ENOENT when the root does not exist, -EIO when hwloc cannot load it, -ENOMEM. Problems in
 * single files do not fail the open: they are kept and published through nf_machine_read(). */
int nf_machine_open(const char *sysfs_root, const char *procfs_root, nf_machine **out, nf_err *err);
void nf_machine_free(nf_machine *m);

/* Fill t. When t has no numa_nodes yet, sockets[] and numa_nodes[] (id, socket, distances,
 * cpus.online, cpus.cores, cpus.threads_per_core) are built from the static topology and the
 * static problems are appended to t->errors. When t was filled before by this machine (same
 * node ids in the same order), only mem_total/mem_free/mem_error and hugepages[] are replaced;
 * every other field (devices, resources, pods, reserved/allocated cpus, ...) is left alone.
 * Returns 0 (file problems go into the per-field error strings), -EINVAL when t holds another
 * machine's nodes, -ENOMEM. */
int nf_machine_read(const nf_machine *m, nf_topology *t);

/* What nf_machine_open() found, for logs and tests. Pointers live as long as m. */
typedef struct nf_machine_info {
    const char *fsroot;      /* the HWLOC_FSROOT used ("/" for the real machine) */
    bool fake_root;          /* fsroot is not "/" (x86 CPUID backend was disabled) */
    int packages;            /* hwloc Package objects */
    int hwloc_numa_nodes;    /* hwloc NUMANode objects (may hide CPU-only nodes) */
    int numa_nodes;          /* NUMA nodes published (sysfs node directories) */
    int pus;                 /* online PUs hwloc found (including cgroup-disallowed ones) */
    const nf_cpuset *online; /* their ids */
} nf_machine_info;
void nf_machine_get_info(const nf_machine *m, nf_machine_info *out);

#endif
