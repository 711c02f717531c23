/* http_offload.h - slow requests served off a libmicrohttpd server's own threads.
 *
 * A request that may take long (a capacity report over thousands of nodes, a scrape) is handed
 * to a small pool of workers of its own: its connection is suspended, a worker runs the job
 * (which leaves its answer in the request's state) and resumes the connection; libmicrohttpd
 * then calls the access handler again, which queues that answer. The server's threads stay
 * free for the requests that must be fast (kube-scheduler's verbs), and the pool is bounded:
 * beyond max_queued jobs waiting, nf_offload_submit refuses (the caller answers 503).
 *
 * The job may read the request's values (MHD_lookup_connection_value, ...) from its worker:
 * a suspended connection is left alone by libmicrohttpd, its request stays as parsed. It must
 * not queue a response itself (MHD_queue_response belongs to the access handler).
 */
#ifndef NUMAFIT_HTTP_OFFLOAD_H
#define NUMAFIT_HTTP_OFFLOAD_H

#include <microhttpd.h>
#include <stdbool.h>

#include "numafit/error.h"

typedef struct nf_offload_job {
    void (*run)(struct nf_offload_job *job); /* on a worker */
    struct MHD_Connection *conn;
    bool urgent; /* queued ahead of the jobs that are not (a scrape before reports) */
    /* set before the connection is resumed: the job ran, or was dropped at a stop */
    bool ran, cancelled;
    struct nf_offload_job *next; /* the queue's */
} nf_offload_job;

typedef struct nf_offload nf_offload;

/* workers threads (>= 1) at nice `nice` (0: the process's; > 0 yields the CPU to the server's
 * threads), at most max_queued jobs waiting. */
int nf_offload_new(unsigned workers, unsigned max_queued, int nice, nf_offload **out, nf_err *err);
/* From the access handler: suspend job->conn and queue the job. 0; -EBUSY when max_queued jobs
 * wait already, -ESHUTDOWN once stopping (the connection is then not suspended). */
int nf_offload_submit(nf_offload *o, nf_offload_job *job);
/* Jobs waiting and running now. */
unsigned nf_offload_pending(nf_offload *o);
/* Drop the jobs still waiting (cancelled, their connections resumed), wait for those running,
 * stop the workers and free. Before the daemon stops. NULL: no-op. */
void nf_offload_free(nf_offload *o);

#endif
