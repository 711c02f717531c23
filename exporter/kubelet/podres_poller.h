/* podres_poller.h - asks kubelet's podresources API on a thread of its own.
 *
 * A fetch can take up to two deadlines (a hung kubelet) and a List of 500 pods some time: the
 * exporter's refresh loop must not wait for it. The poller fetches every interval_ms and when
 * kicked (kubelet's checkpoint files changed: what kubelet assigned changed), keeps the newest
 * outcome in a mailbox and makes its fd readable; the owner takes the outcome when it likes
 * (kubelet_view.h). The first fetch is done in nf_podres_poller_start itself, so a document
 * built right after start (--once) already has it.
 */
#ifndef NUMAFIT_EXPORTER_PODRES_POLLER_H
#define NUMAFIT_EXPORTER_PODRES_POLLER_H

#include <stdint.h>

#include "numafit/error.h"
#include "podresources.h"

typedef struct nf_podres_poller nf_podres_poller;

typedef struct nf_podres_outcome {
    int rc;                /* 0, or nf_podres_fetch's error */
    char msg[NF_ERR_LEN];  /* what failed ("" when rc is 0) */
    nf_podres_state state; /* when rc is 0; owned by the taker */
    int64_t started_mono;  /* nf_mono_ms() when the fetch began */
    int64_t took_ms;
} nf_podres_outcome;

typedef struct nf_podres_poller_opts {
    const char *socket_path;
    int64_t timeout_ms;  /* per call; 0: NF_PODRES_TIMEOUT_DEFAULT_MS */
    int64_t interval_ms; /* 0: NF_PODRES_INTERVAL_DEFAULT_MS */
} nf_podres_poller_opts;

/* 0, -ENOMEM, or a thread/eventfd error. */
int nf_podres_poller_start(const nf_podres_poller_opts *o, nf_podres_poller **out);
/* Stops the thread (waits for a fetch in flight: at most its deadlines) and frees. */
void nf_podres_poller_stop(nf_podres_poller *p);
/* Readable while an outcome is waiting to be taken (poll it; nf_podres_poller_take drains). */
int nf_podres_poller_fd(const nf_podres_poller *p);
/* Fetch now rather than at the next interval (a fetch in flight is followed by another). */
void nf_podres_poller_kick(nf_podres_poller *p);
/* 1 and *out filled (the newest outcome since the last take; older ones were dropped), 0 when
 * there is none. */
int nf_podres_poller_take(nf_podres_poller *p, nf_podres_outcome *out);

#endif
