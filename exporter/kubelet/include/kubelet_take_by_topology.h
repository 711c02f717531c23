/* kubelet_take_by_topology.h - which CPUs kubelet's static CPU Manager policy picks.
 *
 * Without reservedSystemCPUs, the static policy reserves ceil(kubeReserved.cpu +
 * systemReserved.cpu) CPUs chosen by takeByTopology() over all online CPUs
 * (pkg/kubelet/cm/cpumanager/policy_static.go NewStaticPolicy, cpu_assignment.go
 * takeByTopologyNUMAPacked): whole NUMA nodes / sockets when the request covers one, then whole
 * cores, then single threads; NUMA nodes, sockets and cores ordered by fewest available CPUs, ties
 * by lowest id; a core's id is its lowest CPU id. "NUMA first" when sockets >= NUMA nodes, else
 * "sockets first". The distribute-cpus-across-numa/-cores and uncore-cache options are not
 * modelled (they change nothing for the usual small reservation on an empty machine only in
 * special layouts).
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_CPU_RESERVE_H
#define NUMAFIT_EXPORTER_KUBELET_CPU_RESERVE_H

#include "numafit/cpuset.h"
#include "numafit/error.h"
#include "numafit/topology.h"

/* Take n CPUs from available (NULL = every online CPU of t) as takeByTopologyNUMAPacked does,
 * using t's NUMA nodes (cpus.online, cpus.cores, socket). -ENOSPC when fewer than n are
 * available; -ENOMEM. */
int nf_kubelet_take_by_topology(const nf_topology *t, const nf_cpuset *available, int n,
                                nf_cpuset *out, nf_err *err);

#endif
