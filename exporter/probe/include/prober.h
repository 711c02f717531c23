/* prober.h - the daemon's background prober: keeps every free VF's DPDK probe result
 * fresh without ever blocking the caller (the HTTP server / refresh loop).
 *
 * One thread owns the probing. It runs nf_probe_targets() (each EAL run in a forked child with
 * a hard timeout) for the VFs that are due: new ones, those whose driver binding, IOMMU group,
 * NUMA node or allocation changed, and every VF again each interval. An allocated VF is never
 * probed: its result is "skipped: allocated" at once, and if it was being probed at that very
 * moment the running child is killed so the VF is released to its pod.
 *
 * Per run: the lcore is the first of the node's reserved CPUs (nf_numa_node.cpus.reserved),
 * else of kubelet's reserved CPUs anywhere (t->kubelet.reserved_cpus), else the node's first
 * online CPU, each limited to the CPUs this process may run on (kubelet's reserved CPUs are in
 * every non-exclusive container's cpuset); memory is hugepages on the VF's node when its free
 * hugepages (from t's nf_hugepages) hold the run's memory, else --no-huge. PFs with an unknown
 * NUMA node (t->unplaced_devices) are probed with --no-huge.
 */
#ifndef NUMAFIT_PROBE_MANAGER_H
#define NUMAFIT_PROBE_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "numafit/topology.h"

typedef struct nf_prober nf_prober;

typedef struct nf_prober_opts {
    int64_t interval_ms;    /* re-probe free VFs this often; <= 0: only when something changed */
    int64_t timeout_ms;     /* per EAL run (child killed after it); <= 0: 10 s */
    const char *sysfs_root; /* pre-checks (driver, iommu_group); NULL: "/sys" (copied) */
    int mem_mb;             /* EAL memory per run; <= 0: automatic */
    bool no_huge;           /* never use hugepages */
    /* Tests only: a VF whose `pci` is not a PCI address ("net_null0", "net_ring0") is probed
     * as a DPDK virtual device; without this it is "failed: not a PCI address". */
    bool allow_vdevs;
    bool test_hang; /* tests only: the child hangs before EAL init */
    /* TEST HOOK, never for production: "BDF=VDEV[,ARGS]" entries separated by ';' or
     * whitespace, e.g. "0000:3b:01.0=net_null0;0000:3b:01.2=net_ring0". A free VF whose PCI
     * address is listed is probed as that DPDK virtual device instead of the PCI function (which
     * cannot be opened on a machine without an IOMMU); its result is published under the VF as
     * usual. Allocated VFs are still never probed. The exporter takes it from the environment
     * variable NUMAFIT_TEST_PROBE_VDEV_MAP (collector.c) and logs a warning when it is set, so
     * that an end-to-end test can run a REAL exporter whose fixture VFs go through a real EAL.
     * Copied by nf_prober_start; a malformed entry makes it fail with -EINVAL (logged). */
    const char *test_vdev_map;
    /* Called from the prober's thread (no lock held) after new results are stored. */
    void (*on_result)(void *arg);
    void *arg;
} nf_prober_opts;

typedef struct nf_prober_stats {
    uint64_t runs;     /* nf_probe_targets() batches completed */
    uint64_t eal_runs; /* EAL children run */
    uint64_t timeouts; /* EAL children killed at the timeout */
    int64_t last_wall_ms;
    bool last_hugepages;
    bool probing;   /* a batch is running now */
    size_t known;   /* VFs tracked */
    size_t pending; /* VFs waiting for a probe */
} nf_prober_stats;

/* Start the thread; 0 or -errno (pthread/eventfd failure, -ENOMEM). */
int nf_prober_start(const nf_prober_opts *o, nf_prober **out);
/* Stop: kills a running child, joins the thread, frees everything. NULL is fine. */
void nf_prober_stop(nf_prober *p);
/* Tell the prober what exists now (copies what it needs; never blocks on a probe). 0 or -ENOMEM. */
int nf_prober_update(nf_prober *p, const nf_topology *t);
/* Copy cached results into t: every VF's `probe` (allocated VFs: "skipped: allocated"), and
 * `usable` on each device resource of each NUMA node = free VFs whose last probe is "ok"
 * (summed over the groups of that resource; stays NF_UNKNOWN while a free VF of it has never
 * been probed, and is only set on resources that already exist in t). Returns 1 when results
 * changed since the previous annotate, 0 when not, -ENOMEM. */
int nf_prober_annotate(nf_prober *p, nf_topology *t);
/* An eventfd that becomes readable when new results arrive (read 8 bytes to clear). */
int nf_prober_fd(const nf_prober *p);
void nf_prober_get_stats(nf_prober *p, nf_prober_stats *s);

#endif
