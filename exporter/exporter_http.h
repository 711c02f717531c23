/* exporter_http.h - the exporter's HTTP face: GET /v1/topology (ETag, long-poll),
 * GET /v1/noderesourcetopology (the same generation as topology.node.k8s.io/v1alpha2), /healthz,
 * /readyz, /metrics. It serves whatever document was last published and knows nothing of how
 * the document is built.
 *
 * Access: over HTTPS with a client CA (tls_server.h), every path but the probes (/healthz,
 * /readyz) needs a verified client certificate (403 without one); with tokens (auth_tokens.h),
 * it needs `Authorization: Bearer <token>` (401 without a valid one). Both apply when both are
 * set. A refusal carries nothing of the document.
 *
 * Long-polls are bounded (max_long_polls, 503 beyond, logged at most every 10 s), and a held one
 * whose client closed its connection frees its slot within a second.
 */
#ifndef NUMAFIT_EXPORTER_HTTP_H
#define NUMAFIT_EXPORTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/auth_tokens.h"
#include "numafit/error.h"
#include "numafit/tls_server.h"

#define NF_LONGPOLL_MAX_MS 30000

typedef struct nf_exporter_http nf_exporter_http;

typedef struct nf_exporter_http_opts {
    const char *listen;
    nf_tls_server *tls;      /* NULL: plain HTTP; borrowed, must outlive the server */
    nf_auth_tokens *tokens;  /* NULL: no token asked for; borrowed */
    unsigned max_long_polls; /* held long-polls at most; beyond, 503 + Retry-After. 0: 128 */
    int64_t head_timeout_ms; /* request head deadline (httpd.h); 0: default, < 0: none */
} nf_exporter_http_opts;

int nf_exporter_http_start(const nf_exporter_http_opts *o, nf_exporter_http **out, nf_err *err);
/* Stop accepting, answer every held long-poll, let in-flight requests finish, free. */
void nf_exporter_http_stop(nf_exporter_http *h);
uint16_t nf_exporter_http_port(nf_exporter_http *h);

/* Publish a new document (takes ownership of doc, which must come from malloc) and wake the
 * long-polls that waited for this generation. A long-poll whose ?timeout= passes is answered by
 * the server itself, with the current document. nrt (may be NULL; owned likewise) is the same
 * generation as a NodeResourceTopology, served at /v1/noderesourcetopology: without one, the
 * previous one stays while the generation is the same and is dropped (503) when it moved. Both
 * change together: no request sees one document's generation beside the other's. */
int nf_exporter_http_publish(nf_exporter_http *h, char *doc, size_t len, char *nrt, size_t nrt_len,
                             uint64_t generation);

/* /healthz asks the caller: true = healthy; false with reason filled = 503 with the reason
 * (the refresh loop is stuck). Without a function /healthz is always 200. */
typedef bool (*nf_health_fn)(void *cls, char *reason, size_t len);
void nf_exporter_http_set_health(nf_exporter_http *h, nf_health_fn fn, void *cls);

/* Prometheus text for /metrics comes from the caller (the daemon knows what to expose). */
typedef char *(*nf_metrics_fn)(void *cls, size_t *len);
void nf_exporter_http_set_metrics(nf_exporter_http *h, nf_metrics_fn fn, void *cls);

#endif
