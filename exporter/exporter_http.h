/* exporter_http.h - the exporter's HTTP face: GET /v1/topology (ETag, long-poll), /healthz,
 * /readyz, /metrics. It serves whatever document was last published and knows nothing of how
 * the document is built.
 */
#ifndef NUMAFIT_EXPORTER_HTTP_H
#define NUMAFIT_EXPORTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"

#define NF_LONGPOLL_MAX_MS 30000

typedef struct nf_exporter_http nf_exporter_http;

int nf_exporter_http_start(const char *listen, nf_exporter_http **out, nf_err *err);
/* Stop accepting, answer every held long-poll, let in-flight requests finish, free. */
void nf_exporter_http_stop(nf_exporter_http *h);
uint16_t nf_exporter_http_port(nf_exporter_http *h);

/* Publish a new document (takes ownership of doc, which must come from malloc) and wake the
 * long-polls that waited for this generation. A long-poll whose ?timeout= passes is answered by
 * the server itself, with the current document. */
int nf_exporter_http_publish(nf_exporter_http *h, char *doc, size_t len, uint64_t generation);

/* /healthz asks the caller: true = healthy; false with reason filled = 503 with the reason
 * (the refresh loop is stuck). Without a function /healthz is always 200. */
typedef bool (*nf_health_fn)(void *cls, char *reason, size_t len);
void nf_exporter_http_set_health(nf_exporter_http *h, nf_health_fn fn, void *cls);

/* Prometheus text for /metrics comes from the caller (the daemon knows what to expose). */
typedef char *(*nf_metrics_fn)(void *cls, size_t *len);
void nf_exporter_http_set_metrics(nf_exporter_http *h, nf_metrics_fn fn, void *cls);

#endif
