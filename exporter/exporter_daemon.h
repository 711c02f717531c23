/* exporter_daemon.h - the exporter's event loop: refresh on kubelet file changes (inotify), on
 * the sysfs poll interval and on new probe results; publish to the HTTP server; stop on
 * SIGTERM/SIGINT after in-flight requests finish. A loop stuck in one step (a read that does not
 * return) fails /healthz after max(10 s, 5 poll intervals) and, on SIGTERM, ends the process with
 * exit code 1 after 5 s instead of ignoring the signal.
 */
#ifndef NUMAFIT_EXPORTER_DAEMON_H
#define NUMAFIT_EXPORTER_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collector.h"
#include "numafit/error.h"
#include "numafit/kube.h"
#include "numafit/tls_server.h"

typedef struct nf_exporter_daemon_opts {
    const char *listen;
    int64_t poll_interval_ms;        /* sysfs re-read period */
    nf_tls_server_opts tls;          /* cert_file NULL: plain HTTP */
    const char *auth_token_file;     /* NULL: no bearer token asked for */
    unsigned max_long_polls;         /* 0: the HTTP server's default */
    nf_kube *kube;                   /* --publish-nrt: write NodeResourceTopology here (borrowed) */
    int64_t publish_nrt_interval_ms; /* at most one write per this long */
    /* --privsep-user: the collector sends to the http process over channel_fd (privsep.h) */
    bool channel;
    int channel_fd;
    pid_t http_pid;
    int64_t head_timeout_ms; /* 0: the HTTP server's default; < 0: no deadline */
} nf_exporter_daemon_opts;

/* Runs until SIGTERM/SIGINT. The caller must have blocked those signals in every thread
 * (nf_block_stop_signals before creating any). Returns 0 on a clean stop. */
int nf_exporter_daemon_run(nf_collector *c, const nf_exporter_daemon_opts *o, nf_err *err);

/* The http process of --privsep-user: serves what arrives on fd (the collector's end of the
 * channel, privsep.h) until SIGTERM/SIGINT (0) or until the collector is gone (-EPIPE). */
int nf_exporter_daemon_serve_channel(int fd, const nf_exporter_daemon_opts *o, nf_err *err);

#endif
