/* zone_resources.h - per-NUMA-node schedulable resources, derived from what the readers filled.
 *
 * The readers (sysfs_machine, sysfs_sriov, kubelet_view) fill raw facts: online CPUs, cores,
 * reserved and allocated CPUs, memory and hugepage counters, VFs with their allocation, pods and
 * kubelet's reservedMemory. This module turns them into the numbers the extender fits against:
 * cpus.allocatable/free/free_full_cores and the `resources` map of every NUMA node. It is the one
 * place where "available" is defined (DESIGN.md, rules):
 *
 *   cores          freeFullCores / allocatableFullCores: cores with the machine's threads per
 *                  core all online (an offline sibling disqualifies the core) and all free /
 *                  allocatable, as kubelet's full-pcpus-only counts whole cores.
 *   cpu            capacity = online CPUs; allocatable = online - reserved;
 *                  available = allocatable - allocated. With cpuManagerPolicy "none" kubelet
 *                  hands out no exclusive CPUs, so allocatable = available = 0.
 *   memory         capacity = MemTotal; allocatable = capacity - reservedMemory;
 *                  available = allocatable - what the Memory Manager assigned (Static), else
 *                  min(allocatable, MemFree).
 *   hugepages-<s>  capacity = nr_hugepages * page; allocatable = capacity - reservedMemory;
 *                  available = min(free_hugepages * page, allocatable - assigned).
 *   <device>       capacity = allocatable = VFs of that resource; available = VFs not allocated.
 *                  (usable is filled by the DPDK prober.)
 * A quantity whose inputs are unknown is left out of `resources` (never published as 0).
 *
 * Lost kubelet inputs (kubelet_view.h, nf_kubelet_unknown) make the numbers they feed unknown
 * (NF_UNKNOWN, JSON null) with the reason in the resource's `error`, never "all free": the
 * reserved CPUs -> cpu allocatable + available (and cpus.free, freeFullCores); the assigned CPUs
 * -> cpu available; reservedMemory -> memory and hugepages allocatable + available; the Static
 * Memory Manager's assignments -> memory and hugepages available; the device checkpoint (or any
 * VF whose allocation_unknown is set) -> that device resource's available.
 */
#ifndef NUMAFIT_EXPORTER_ZONE_RESOURCES_H
#define NUMAFIT_EXPORTER_ZONE_RESOURCES_H

#include "kubelet_view.h"
#include "numafit/topology.h"

int nf_zone_resources_compute(nf_topology *t); /* every kubelet input known */
int nf_zone_resources_compute_known(nf_topology *t, const nf_kubelet_unknown *u);

#endif
