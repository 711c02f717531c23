/* privsep.h - the exporter as two processes (--privsep-user): what each may do, and the channel
 * between them.
 *
 *   collector  keeps the identity it was started with (root in the DaemonSet: kubelet's
 *              checkpoints are 0600) minus CAP_SETUID/CAP_SETGID, reads sysfs, procfs and
 *              kubelet's files, runs the DPDK probe; cannot open an IP or packet socket nor
 *              change identity (seccomp), so a bug in a reader cannot reach the network.
 *   http       the forked child: drops to the given uid/gid with no supplementary groups and no
 *              capabilities, no_new_privs, not dumpable, dies with the collector; seccomp refuses
 *              exec, fork, ptrace, mounts, namespaces, module and BPF loading. It serves what
 *              the collector sends and can read nothing the collector can read but it cannot
 *              (kubelet's files, other pods' volumes stay out of reach of the network-facing code).
 *
 * The channel is a stream socketpair of frames, collector -> http only:
 *   NF_PRIVSEP_DOC      the NodeTopology JSON and its generation, on every change
 *   NF_PRIVSEP_METRICS  the Prometheus text, after every refresh and every heartbeat
 *   NF_PRIVSEP_HEALTH   every second: "" = healthy, else why /healthz must fail
 *   NF_PRIVSEP_STOP     stop as on SIGTERM (a collector without CAP_KILL, as the DaemonSet and
 *                       the systemd unit run it, cannot signal a process of another uid)
 * The http process fails /healthz when nothing arrived for NF_PRIVSEP_SILENT_MS, and stops
 * when the channel closes (the collector is gone).
 */
#ifndef NUMAFIT_EXPORTER_PRIVSEP_H
#define NUMAFIT_EXPORTER_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "numafit/error.h"

#define NF_PRIVSEP_SILENT_MS 5000
#define NF_PRIVSEP_SEND_TIMEOUT_MS                                                                 \
    5000                                 /* a frame the http process does not take by then breaks  \
                                          * the channel (the collector exits 1) */
#define NF_PRIVSEP_MAX_FRAME (64u << 20) /* a frame announcing more is a broken channel */

enum nf_privsep_frame {
    NF_PRIVSEP_DOC = 1,
    NF_PRIVSEP_METRICS = 2,
    NF_PRIVSEP_HEALTH = 3,
    NF_PRIVSEP_STOP = 4,
};

typedef struct nf_privsep_user {
    uid_t uid;
    gid_t gid;
} nf_privsep_user;

/* "65534", "65534:65534", "nobody" or "nobody:nogroup" (names from the passwd and group
 * databases; a bare user takes its primary group). uid 0 is refused: dropping to root is no
 * separation. */
int nf_privsep_parse_user(const char *s, nf_privsep_user *out, nf_err *err);

/* Fork the http process. In the collector returns 1 with *fd its end of the channel and *child
 * the pid; in the child returns 0 with *fd its end, after dropping to u and installing its
 * seccomp filter (the child must not return to code that needs what it gave up). Negative
 * errno on failure (in the child too: it must then exit). Call before any thread exists. */
int nf_privsep_fork(const nf_privsep_user *u, int *fd, pid_t *child, nf_err *err);

/* End the http process and close fd: graceful = a NF_PRIVSEP_STOP frame first (it finishes its
 * requests within NF_PRIVSEP_STOP_MS), otherwise close the channel first (it has nothing to
 * serve: it stops waiting for a document). Past the bound the channel closes and SIGKILL follows
 * where the collector may send it; the http process also dies with the collector
 * (PR_SET_PDEATHSIG). 0 when it exited with 0. No other thread may write fd meanwhile. */
#define NF_PRIVSEP_STOP_MS 12000
int nf_privsep_stop(int fd, pid_t pid, bool graceful);

/* The collector's confinement after the fork: CAP_SETUID/CAP_SETGID dropped, and a filter
 * refusing AF_INET, AF_INET6 and AF_PACKET sockets and every identity change (EPERM). */
int nf_privsep_confine_collector(nf_err *err);

/* One frame (blocking, whole or error; -EPIPE when the peer is gone, -ETIMEDOUT when it did not
 * read for NF_PRIVSEP_SEND_TIMEOUT_MS: after an error the stream is out of step, close it). */
int nf_privsep_send(int fd, enum nf_privsep_frame type, uint64_t gen, const void *data, size_t len);
/* The next frame; *data is malloc'd (NUL-terminated, len bytes before it), the caller frees it.
 * 0, -EPIPE at a clean end of the channel, -EPROTO for a malformed frame, -errno. */
int nf_privsep_recv(int fd, enum nf_privsep_frame *type, uint64_t *gen, char **data, size_t *len);

#endif
