/* extender_http.h - numafit-extender's HTTP server (libmicrohttpd), thin glue between the wire
 * and extender_protocol.h / cache.h.
 *
 *   POST /filter, /prioritize    kube-scheduler extender protocol (extender_protocol.h)
 *   POST /bind                   with a binder (an API server client): reserve where kubelet will
 *                                put the pod and create the Binding (binder.h); without one,
 *                                {"Error": "..."}: leave bindVerb unset
 *                                /filter of an aligned pod waits for the previous pod's /bind
 *                                (bounded), and every fit subtracts the live reservations
 *   POST /preempt                ExtenderPreemptionArgs -> ExtenderPreemptionResult (preempt.h):
 *                                the candidates where evicting frees room in one zone, each with
 *                                the victims that room needs
 *   GET  /v1/explain?pod=NS/NAME the last /filter decision on that pod, node by node (explain.h);
 *                                /filter itself logs one info line per decision
 *   GET  /v1/nodes               {"apiVersion", "kind": "NodeTopologyList", "items": [doc...]}
 *   GET  /v1/nodes/{name}        one NodeTopology document (+ "reservations" with a binder)
 *                                every document carries an extra "cache" object:
 *                                {"source", "receivedAt", "ageMs", "stale", "staleReason"}
 *   GET  /healthz                200 while serving; /readyz 200 once the cache holds a node,
 *                                else 503
 *   GET  /metrics                Prometheus text (extender_metrics.h)
 *   GET  /v1/report?shape=S[&shape=S][&format=json|csv|html|table][&align=numa|socket]
 *        [&addPods=N]            the capacity report (report.h, report_render.h) on the usable
 *                                cached nodes; 400 on a bad shape or parameter
 * Access: with a client CA (tls_server.h), /filter, /prioritize and /bind need a verified
 * client certificate (403 without one). /bind is refused (403) on a listener beyond loopback
 * without a client CA: anyone who reached it could move pods (a warning at start says so).
 * Errors are JSON {"Error": "..."}: 400 malformed request, 404 unknown path or node, 405 wrong
 * method (with Allow), 413 body over max_body (from Content-Length, or while streaming).
 *
 * Staleness: a node's topology is unusable when the cache has none, when its source went stale
 * (exporter failing, file turned bad), or when it came from an exporter more than stale_after_ms
 * ago (file sources do not age: the directory watcher keeps them current). Unusable nodes go to
 * FailedAndUnresolvableNodes with the reason (preempting pods on a node numafit knows nothing of
 * cannot help), or pass untouched when pass_missing (--stale-policy ignore).
 *
 * Threads: an internal pool of `threads` libmicrohttpd workers (default: the CPU count, at least
 * 2). Requests are short and CPU-bound (decode, fit thousands of nodes, encode), so a pool the size
 * of the machine gives the throughput, with no thread per connection however many connections
 * kube-scheduler or a load generator opens. Reports, /v1/nodes, /v1/explain and /metrics run on
 * admin workers of their own (admin_workers, nice 10, admin_queue waiting at most: 503 with
 * Retry-After beyond; scrapes ahead of the rest), so that a report on thousands of nodes never
 * holds a thread /filter needs.
 */
#ifndef NUMAFIT_EXTENDER_HTTP_H
#define NUMAFIT_EXTENDER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "binder.h"
#include "cache.h"
#include "fit.h"
#include "numafit/error.h"
#include "numafit/tls_server.h"
#include "puller.h"

#define NF_EXTENDER_DEFAULT_LISTEN "0.0.0.0:9751"
/* With binding enabled /bind can move pods: by default only the scheduler beside it may call. */
#define NF_EXTENDER_BINDING_LISTEN "127.0.0.1:9751"
#define NF_EXTENDER_DEFAULT_MAX_BODY (64u << 20)
/* All request bodies held at once (the shipped Deployment's limit is 512 MiB, the cache of 5,000
 * nodes ~70 MiB): a body that would go over it gets 503 (Content-Length) or a closed connection
 * (a chunked body growing past it). */
#define NF_EXTENDER_DEFAULT_BODY_BUDGET (192u << 20)
/* Admin requests (reports, node lists, explains, scrapes): one worker, at a lower priority than
 * the scheduler's verbs (nice 10), 16 waiting at most. */
#define NF_EXTENDER_DEFAULT_ADMIN_WORKERS 1
#define NF_EXTENDER_DEFAULT_ADMIN_QUEUE 16
#define NF_EXTENDER_ADMIN_NICE 10

/* Process-wide allocator policy for the server (call once, before threads start): memory of the
 * size of a request (a 13 MB NodeList, a 250 KB answer) stays mapped between requests instead
 * of going back to the kernel at every free and faulting in again, page by page, at the next
 * request (measured: a third of a NodeNames /filter went to page faults). No-op off glibc. */
void nf_extender_http_tune_malloc(void);

typedef struct nf_extender_config {
    const char *listen;      /* nf_parse_listen form: "ADDR:PORT", "[v6]:PORT", ":PORT" (port 0:
                                any free port) */
    nf_fit_opts fit;         /* align, strategy, hugepages alignment */
    bool pass_missing;       /* --stale-policy ignore (nf_topology_source.pass_missing) */
    int64_t stale_after_ms;  /* 0: exporter documents never age out */
    size_t max_body;         /* 0: NF_EXTENDER_DEFAULT_MAX_BODY */
    size_t body_budget;      /* 0: NF_EXTENDER_DEFAULT_BODY_BUDGET */
    int64_t head_timeout_ms; /* request head deadline (httpd.h); 0: default, < 0: none */
    /* /v1/report, /v1/nodes, /v1/explain, /metrics run on admin_workers threads of their own
     * (http_offload.h), at most admin_queue waiting (503 beyond). 0: the defaults; workers < 0:
     * none, on the server's threads with the scheduler's verbs (for measurements) */
    int admin_workers;
    unsigned admin_queue;
    unsigned threads;  /* 0: CPU count, at least 2 */
    nf_puller *puller; /* optional: its per-exporter counters appear in /metrics */
    nf_binder *binder; /* optional: /bind, reservations (binder.h); NULL: /bind refuses */
    /* --shape NAME=REQUESTS (report.h nf_report_named_shape_parse, checked by the caller):
     * numafit_extender_shape_pods_{fit,stranded}{shape} at every scrape; borrowed */
    const char *const *shapes;
    size_t n_shapes;
    nf_tls_server *tls; /* optional: serve HTTPS (tls_server.h); borrowed, outlives the server */
} nf_extender_config;

typedef struct nf_extender_http nf_extender_http;

/* Listen and serve in background threads. The cache is borrowed and must outlive the server. */
int nf_extender_http_start(const nf_extender_config *cfg, nf_cache *cache, nf_extender_http **out,
                           nf_err *err);
/* The port actually bound (useful with port 0). */
unsigned nf_extender_http_port(const nf_extender_http *h);
/* Stop accepting, let in-flight requests finish (at most grace_ms), then stop and free. */
void nf_extender_http_stop(nf_extender_http *h, int64_t grace_ms);

#endif
