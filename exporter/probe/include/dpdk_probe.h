/* dpdk_probe.h - the embedded DPDK probe: proves that a free VF can be opened by a poll-mode
 * driver, by running DPDK's EAL in a forked child process.
 *
 * Layers, each usable on its own:
 *   1. pure helpers: PCI address parsing, lcore choice, sysfs pre-checks, the EAL argv builder;
 *   2. nf_probe_run_eal(): one forked child, one EAL, one NUMA node's devices, a hard timeout;
 *   3. nf_probe_targets(): a list of devices (PCI VFs and, for tests, vdevs) -> pre-checks, one
 *      nf_probe_run_eal() per (NUMA node, lcore, memory mode), results in the caller's order.
 * The CLI (probe_cli.h) and the daemon's prober (prober.h) are both built on layer 3.
 *
 * Safety rules every EAL run obeys (the child must never disturb what runs on the node):
 *   no shared config and no IPC socket (--in-memory on hugepages; --no-shconf with --no-huge,
 *   because EAL refuses --in-memory there), a unique --file-prefix whose runtime directory the
 *   parent removes afterwards, --no-telemetry (no socket), one lcore (-l N), memory on one NUMA
 *   socket (--socket-mem) or no hugepages at all (--no-huge -m), and an explicit
 *   allow-list (-a BDF) of the devices to open; with no PCI device at all the run gets --no-pci,
 *   so EAL never scans and opens every DPDK-bound device of the machine.
 *
 * The child reports back over a pipe, one JSON object per line. Built without DPDK
 * (NF_HAVE_DPDK undefined), every function still works and each device that would have been
 * opened is reported NF_PROBE_NO_DPDK.
 */
#ifndef NUMAFIT_DPDK_PROBE_H
#define NUMAFIT_DPDK_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/cpuset.h"
#include "numafit/error.h"
#include "numafit/topology.h"

#define NF_PROBE_NO_DPDK "skipped: exporter built without DPDK"
#define NF_PROBE_ALLOCATED "skipped: allocated"
#define NF_PROBE_TIMEOUT "failed: timeout"
#define NF_PROBE_DEFAULT_TIMEOUT_MS 10000
#define NF_PROBE_MIN_MEM_MB 64

/* true when this build embeds DPDK. */
bool nf_probe_have_dpdk(void);

/* ---- 1. pure helpers ------------------------------------------------------------------- */

/* Parse "0000:18:01.0" or the short "18:01.0" into the canonical lower-case domain form
 * (domain up to 8 hex digits). -EINVAL when s is not a PCI address. */
int nf_probe_pci_canon(const char *s, char out[24]);

/* The lcore a probe of NUMA node devices runs on: the first CPU of node_reserved (kubelet's
 * reserved CPUs on that node), else of all_reserved (kubelet's reserved CPUs anywhere), else the
 * first CPU of node_online; each candidate set is first narrowed to `allowed` (the process's
 * affinity) when allowed is non-NULL and non-empty. Any set may be NULL. -1 when none fits. */
int nf_probe_pick_lcore(const nf_cpuset *node_reserved, const nf_cpuset *all_reserved,
                        const nf_cpuset *node_online, const nf_cpuset *allowed);

/* Sysfs pre-check of one PCI function under sysfs_root (e.g. "/sys"). Returns 0 when the device
 * may be given to EAL, 1 when it must be skipped (reason = "skipped: ..."). A device absent from
 * sysfs is NOT skipped: EAL is the judge and reports its own reason. Rules: unbound -> skipped;
 * vfio-pci needs an iommu_group link; igb_uio and uio_pci_generic pass; mlx5_core passes
 * (bifurcated: the mlx5 PMD drives it beside the kernel); any other kernel driver -> skipped. */
int nf_probe_precheck(const char *sysfs_root, const char *pci, char *reason, size_t len);

/* Free bytes of hugepages (any size) on NUMA node `node`, read from sysfs_root's
 * devices/system/node/nodeN/hugepages; 0 when none or unreadable. */
int64_t nf_probe_sysfs_free_huge_bytes(const char *sysfs_root, int node);

/* Everything that decides one EAL command line. */
typedef struct nf_probe_eal_cfg {
    const char *file_prefix; /* unique per run; required */
    int lcore;               /* -l N */
    int socket;              /* NUMA node of the devices' memory; -1 when unknown */
    bool hugepages;          /* --socket-mem on `socket` (socket >= 0), else --no-huge -m */
    int mem_mb;              /* <= 0: NF_PROBE_MIN_MEM_MB + 2 MiB per device */
    const char *const *pci;  /* canonical addresses, each becomes "-a BDF" */
    size_t n_pci;
    const char *const *vdevs; /* "net_null0" or "net_ring0,ARGS", each "--vdev=..." */
    size_t n_vdevs;
} nf_probe_eal_cfg;

/* Build the exact EAL argv (argv[0] = "numafit-probe", NULL-terminated) for c:
 *   numafit-probe --in-memory --file-prefix=P --no-telemetry -l N --socket-mem=0,..,M (hugepages)
 *   numafit-probe --no-shconf --file-prefix=P --no-telemetry -l N --no-huge -m M          (else)
 *   followed by [--no-pci] [-a BDF]... [--vdev=V]...
 * hugepages with socket < 0 falls back to --no-huge (memory cannot be placed). The caller frees
 * with nf_probe_argv_free(). -EINVAL (bad lcore, no prefix, nothing to probe), -ENOMEM. */
int nf_probe_build_eal_argv(const nf_probe_eal_cfg *c, char ***argv, int *argc, nf_err *err);
void nf_probe_argv_free(char **argv);

/* ---- 2. one EAL run in a forked child -------------------------------------------------- */

typedef struct nf_probe_dev_result {
    char *device;       /* "0000:18:01.0" or "net_null0" */
    char *status;       /* "ok" | "failed: ..." | "skipped: ..." */
    char *pmd;          /* driver_name of rte_eth_dev_info ("net_iavf"); NULL when unknown */
    char *mac;          /* "02:00:00:00:00:00" */
    char *link;         /* "up" | "down" | "unknown" */
    int max_rx_queues;  /* NF_UNKNOWN when unknown */
    int64_t checked_at; /* unix seconds */
} nf_probe_dev_result;

typedef struct nf_probe_run_opts {
    nf_probe_eal_cfg eal;
    int64_t timeout_ms; /* <= 0: NF_PROBE_DEFAULT_TIMEOUT_MS */
    int cancel_fd;      /* when >= 0 and readable, the child is killed ("failed: cancelled") */
    bool test_hang;     /* tests only: the child sleeps before EAL init (to test the timeout) */
} nf_probe_run_opts;

typedef struct nf_probe_run {
    nf_probe_dev_result *results; /* the pci devices, then the vdevs, in cfg order */
    size_t n_results;
    char **argv; /* the EAL argv used (NULL-terminated) */
    int argc;
    bool hugepages;  /* EAL ran on hugepages (false: --no-huge) */
    char *eal_error; /* NULL, or why the whole run failed ("rte_eal_init: ...", "timeout") */
    int64_t wall_ms; /* fork to reap */
} nf_probe_run;

/* Fork a child, run EAL with the argv built from o->eal, probe every device, collect results.
 * Never fails for a device problem (that is a device result); returns -EINVAL on a bad cfg,
 * -ENOMEM, or -errno when pipe/fork fails. A device with no result when the child dies or is
 * killed is "failed: timeout" / "failed: cancelled" / "failed: probe child ...". */
int nf_probe_run_eal(const nf_probe_run_opts *o, nf_probe_run *out, nf_err *err);
void nf_probe_run_free(nf_probe_run *r);
void nf_probe_dev_result_free(nf_probe_dev_result *r);

/* ---- 3. a list of devices -------------------------------------------------------------- */

typedef struct nf_probe_target {
    const char *device; /* PCI address, or a vdev spec ("net_null0[,args]") when is_vdev */
    bool is_vdev;
    bool allocated; /* -> NF_PROBE_ALLOCATED, never handed to EAL */
    int numa_node;  /* memory socket; -1 unknown */
    int lcore;      /* from nf_probe_pick_lcore(); -1 -> the probe uses CPU 0 */
    bool hugepages; /* free hugepages exist on numa_node (caller decides; see the prober) */
} nf_probe_target;

typedef struct nf_probe_batch_opts {
    const char *sysfs_root; /* for nf_probe_precheck(); NULL: "/sys" */
    int64_t timeout_ms;     /* per EAL run */
    int mem_mb;             /* per EAL run; <= 0 automatic */
    int cancel_fd;
    bool test_hang;
} nf_probe_batch_opts;

typedef struct nf_probe_batch {
    nf_probe_dev_result *results; /* one per target, same order; device = canonical name */
    size_t n_results;
    nf_probe_run *runs; /* the EAL runs made (0 when everything was skipped) */
    size_t n_runs;
} nf_probe_batch;

/* Pre-check and probe targets: allocated -> skipped, failing pre-check -> skipped, the rest
 * grouped by (numa_node, lcore, hugepages) into one EAL run each, run one after another.
 * A name that is neither a PCI address nor a vdev -> "failed: not a PCI address". */
int nf_probe_targets(const nf_probe_target *t, size_t n, const nf_probe_batch_opts *o,
                     nf_probe_batch *out, nf_err *err);
void nf_probe_batch_free(nf_probe_batch *b);

/* Internal, shared with probe_eal.c (the only file that includes DPDK headers). */
typedef struct nf__probe_child_req {
    const char *const *pci;
    size_t n_pci;
    const char *const *vdevs; /* names only (before ',') */
    size_t n_vdevs;
    bool hugepages;
} nf__probe_child_req;
/* The probe child is the running program re-executed with this variable set to
 * "h=<0|1> pci=<a,b,...> vdev=<x,y,...>" and its EAL arguments as argv; a constructor in
 * probe_eal.c runs nf__probe_child_main() before main() and exits with its status. */
#define NF_PROBE_CHILD_ENV "NUMAFIT_PROBE_CHILD"
/* "NUMAFIT_PROBE_CHILD=..." for req (heap string); the constructor parses the same form. */
int nf__probe_child_spec(const nf__probe_child_req *req, char **out);
/* Runs in the child: EAL init, probe, one JSON line per device on out_fd, then {"done":true}.
 * Returns the child's exit status. */
int nf__probe_child_main(int argc, char **argv, const nf__probe_child_req *req, int out_fd);

/* The daemon's background prober (nf_prober_*) is declared in prober.h; included here
 * so that one #include "dpdk_probe.h" gives the whole probe API. */
#include "prober.h"

#endif
