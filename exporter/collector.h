/* collector.h - builds the node's NodeTopology from every reader, and numbers its generations.
 *
 * One refresh = sysfs (hwloc's static topology is discovered once; counters and VF bindings are
 * re-read) + SR-IOV scan + kubelet's last good state + derived resources + DPDK probe results.
 * `generation` grows when, and only when, a published number differs from the previous refresh
 * (timestamps such as observedAt and probe.checkedAt do not count).
 */
#ifndef NUMAFIT_EXPORTER_COLLECTOR_H
#define NUMAFIT_EXPORTER_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "kubelet_view.h"
#include "numafit/error.h"
#include "numafit/topology.h"

typedef struct nf_collector_opts {
    const char *node_name;
    const char *sysfs_root;  /* default /sys */
    const char *procfs_root; /* default /proc */
    const char *kubelet_dir; /* default /var/lib/kubelet */
    const char *kubelet_config;
    const char *reserved_cpus;
    const char *sriov_config;
    int64_t kubelet_grace_ms; /* how long a lost kubelet file's last good view is kept */
    /* kubelet's podresources socket: NULL = KUBELET-DIR/pod-resources/kubelet.sock (asked while
     * it exists), "" or "none" = not used */
    const char *podres_socket;
    int64_t podres_timeout_ms;  /* per call; 0: 2 s */
    int64_t podres_interval_ms; /* 0: 10 s */
    bool probe;
    int64_t probe_interval_ms;
    int64_t probe_timeout_ms;
} nf_collector_opts;

typedef struct nf_collector nf_collector;

/* Fails only when the machine itself cannot be read (no sysfs at the root given); every other
 * problem is published inside the document. */
int nf_collector_new(const nf_collector_opts *o, nf_collector **out, nf_err *err);
void nf_collector_free(nf_collector *c);

/* Re-read kubelet's files (call when the watcher saw a change, and now and then). */
void nf_collector_reload_kubelet(nf_collector *c);

/* Build a fresh document. *doc receives the published JSON text (caller frees) and *generation
 * its generation; *changed tells whether the generation moved. */
int nf_collector_refresh(nf_collector *c, char **doc, size_t *len, uint64_t *generation,
                         bool *changed);

/* The files whose change must trigger nf_collector_reload_kubelet (directories to watch). */
const char *const *nf_collector_watch_dirs(const nf_collector *c, size_t *n);

/* Problems with the inputs (kubelet_view.h's five, then "sriovConfig"), as of the last refresh:
 * up to cap entries into out (strings owned by the collector, valid until the next refresh);
 * returns how many. Each problem is also in the document's errors[] and was logged as a warning
 * when it appeared. */
#define NF_COLLECTOR_INPUTS (NF_KUBELET_INPUTS + 1)
size_t nf_collector_inputs(const nf_collector *c, nf_kubelet_input *out, size_t cap);

/* fd that becomes readable when podresources answered (reload kubelet then), or -1. */
int nf_collector_podres_fd(const nf_collector *c);
/* Ask podresources again now (the watcher saw kubelet's files change). */
void nf_collector_podres_kick(nf_collector *c);
/* Where podresources and the checkpoint files disagreed, as of the last refresh. */
void nf_collector_podres_disagreement(const nf_collector *c, nf_podres_disagreement *out);

/* fd that becomes readable when new probe results are ready, or -1. */
int nf_collector_probe_fd(const nf_collector *c);

#endif
