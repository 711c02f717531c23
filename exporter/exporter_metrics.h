/* exporter_metrics.h - numafit-exporter's GET /metrics (Prometheus text format 0.0.4).
 *
 * Rendered on each scrape from the last published NodeTopology document (kept as a copy of its
 * JSON text and decoded per scrape: scrapes come every 15-30 s, refreshes far more often, and a
 * decode of a 4-NUMA, 128-VF document costs well under a millisecond) plus the refresh counters.
 *
 * Naming: one gauge per quantity (never a "kind" label: capacity + available must not be summed),
 * base units (bytes, seconds), labels node (the document's node) and numa (NUMA node id, or
 * "unknown" for devices whose PF has no NUMA node). Series:
 *
 *   numafit_numa_node_info{node,numa,socket}                    1 (socket "" when none)
 *   numafit_numa_cpus_capacity|allocatable|available{node,numa}   exclusive CPUs (resources.cpu)
 *   numafit_numa_cpus_free_full_cores{node,numa}                 cores with every thread free
 *   numafit_numa_memory_capacity|allocatable|available_bytes{node,numa}   resources.memory
 *   numafit_numa_hugepages_capacity|allocatable|available_bytes{node,numa,page_size}
 *                                                                resources.hugepages-<page_size>
 *   numafit_numa_hugepages_pages|free_pages|surplus_pages{node,numa,page_size}  raw sysfs counters
 *   numafit_numa_devices_capacity|allocatable|available|usable{node,numa,resource}
 *                                 device-plugin resources (SR-IOV VF pools); usable only when
 * probed numafit_numa_vfs{node,numa,resource,allocated,probe}         VFs by probe status: probe is
 *                                 "ok" | "failed" | "skipped" | "none" (never probed); resource
 *                                 "" when no SR-IOV config names the VF
 *   numafit_exporter_kubelet_state_ok{node,source}               1 when the state file read "ok"
 *   numafit_exporter_kubelet_state_info{node,source,status}      1, status = the published text
 *                                 (source: cpuManager | memoryManager | devicePlugins |
 *                                 podResources, the last only when podresources is used)
 *   numafit_kubelet_policy_info{node,cpu_manager_policy,topology_manager_policy,
 *                               topology_manager_scope,memory_manager_policy}   1
 *   numafit_exporter_topology_generation{node}                   the document's generation
 *   numafit_exporter_topology_observed_timestamp_seconds{node}   the document's observedAt
 *   numafit_exporter_topology_problems{node}                     errors[] + field "error"s
 *   numafit_exporter_input_errors{input}                         1 while an input has a problem
 *                                 (kubeletDir, kubeletConfig, cpuManagerState,
 *                                 memoryManagerState, deviceCheckpoint, podResources,
 *                                 sriovConfig), else 0
 *   numafit_exporter_podresources_disagreements{what}            items podresources and the
 *                                 checkpoint files disagree on in the last refresh (what: cpus,
 *                                 devices, memory (types), reservedCpus); 0 when they agree or
 *                                 only one source is there
 *   numafit_exporter_refreshes_total, numafit_exporter_refresh_errors_total   counters
 *   numafit_exporter_refresh_duration_seconds                    histogram (nf_prom latency bounds)
 *   numafit_exporter_build_info{program,version,compiler}         1
 * Series whose number is unknown in the document (null) are left out, never published as 0.
 */
#ifndef NUMAFIT_EXPORTER_METRICS_H
#define NUMAFIT_EXPORTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "kubelet_view.h"
#include "numafit/prom.h"
#include "numafit/topology.h"

typedef struct nf_exporter_metrics nf_exporter_metrics;

int nf_exporter_metrics_new(nf_exporter_metrics **out);
void nf_exporter_metrics_free(nf_exporter_metrics *m);

/* Record one refresh (from the daemon's thread): how long it took, its result (0 or a negative
 * errno), and on success the published JSON document (copied). */
void nf_exporter_metrics_refresh(nf_exporter_metrics *m, uint64_t duration_ns, int rc,
                                 const char *doc, size_t len);

/* Record the input problems of the last refresh (nf_collector_inputs; copied). */
void nf_exporter_metrics_inputs(nf_exporter_metrics *m, const nf_kubelet_input *in, size_t n);

/* Record where podresources and the checkpoint files disagreed in the last refresh (copied). */
void nf_exporter_metrics_podres(nf_exporter_metrics *m, const nf_podres_disagreement *d);

/* The /metrics body (nf_metrics_fn; cls is the nf_exporter_metrics). NULL on out of memory. */
char *nf_exporter_metrics_render(void *cls, size_t *len);

/* The per-document series of t (no process counters, no family lines twice): used by render
 * and by tests. */
void nf_exporter_metrics_write_topology(nf_prom *p, const nf_topology *t);

#endif
