/* puller.h - keep the topology cache in step with numafit-exporters over HTTP.
 *
 * One thread drives every exporter with libcurl's multi interface: a first
 * `GET <url>/v1/topology`, then a long-poll `GET <url>/v1/topology?waitForGeneration=<gen+1>`
 * that the exporter holds until its generation changes (at most 30 s), so a change reaches the
 * cache as soon as the exporter publishes it, with one idle connection per exporter. An answer
 * whose ETag equals the cached generation only refreshes the entry's received time.
 *
 * An exporter is asked to hold a long-poll at most hold_ms (`&timeout=`) and to answer 304 (with
 * `If-None-Match`) when nothing changed meanwhile, so a live exporter answers at least every
 * hold_ms with a few bytes, and one that stops answering (hung, SIGSTOPped, its node cut off)
 * fails its long-poll hold_ms + hold_grace_ms after it was sent: its nodes are stale within that.
 *
 * A failing exporter (refused, timeout, HTTP error, bad or oversized document) has its nodes
 * marked stale in the cache, never dropped, and is retried with exponential back-off up to a cap.
 * `--exporter-dns HOST:PORT` targets are re-resolved periodically by a second thread: each A/AAAA
 * record is an exporter at http://IP:PORT; a record that vanishes has its nodes marked stale.
 *
 * TLS (exporters serving HTTPS): ca_file verifies their certificates (else the system store),
 * cert_file/key_file is the client certificate presented to them (mutual TLS), token_file the
 * bearer token sent (re-read when it changes); TLS 1.2 at least. With a CA or a client
 * certificate, --exporter-dns records are https://IP:PORT and their certificates must name the
 * DNS host (all pods of a DaemonSet share the Service's name, not their IPs); server_name
 * replaces the name checked, for --exporter URLs too. The certificate files are read at each new
 * connection, so rotated ones are used as the long-polls reconnect.
 */
#ifndef NUMAFIT_EXTENDER_EXPORTER_PULL_H
#define NUMAFIT_EXTENDER_EXPORTER_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "numafit/error.h"

typedef struct nf_puller nf_puller;

/* Resolve host/port into exporter base URLs ("http://10.0.0.5:9750", "http://[fd00::5]:9750");
 * *urls is a heap array of heap strings the puller frees. Return 0 or a negative errno. */
typedef int (*nf_resolve_fn)(void *ud, const char *host, const char *port, char ***urls, size_t *n,
                             nf_err *err);

typedef struct nf_puller_opts {
    int64_t connect_timeout_ms; /* 2000 */
    int64_t request_timeout_ms; /* 35000: a first GET (a whole document) */
    int64_t hold_ms;            /* 4000: the long-poll hold asked for (0: the exporter's 30 s,
                                   bounded by request_timeout_ms) */
    int64_t hold_grace_ms;      /* 1000: how late a held answer may come */
    int64_t backoff_min_ms;     /* 250: first retry after a failure */
    int64_t backoff_max_ms;     /* 30000: the cap of the doubling back-off */
    int64_t min_interval_ms;    /* 1000: least time between two unchanged answers (an exporter
                                   that ignores waitForGeneration must not make us spin) */
    int64_t dns_interval_ms;    /* 30000: re-resolution period of --exporter-dns targets */
    size_t max_body;            /* 64 MiB: larger documents are an error */
    nf_resolve_fn resolve;      /* NULL: getaddrinfo (nf_resolve_getaddrinfo) */
    void *resolve_ud;
    const char *ca_file;   /* PEM CA for exporters' certificates; NULL: the system store */
    const char *cert_file; /* PEM client certificate (with key_file), or NULL */
    const char *key_file;
    const char *token_file;  /* bearer token for exporters, or NULL */
    const char *server_name; /* the name exporters' certificates must carry, or NULL */
} nf_puller_opts;

void nf_puller_opts_default(nf_puller_opts *o);

int nf_puller_new(nf_cache *cache, const nf_puller_opts *opts, nf_puller **out);
/* Before nf_puller_start: an exporter base URL ("http://host:9750", a trailing '/' is ignored). */
int nf_puller_add_exporter(nf_puller *p, const char *url, nf_err *err);
/* Before nf_puller_start: a headless Service "HOST:PORT" ("[v6]:PORT" allowed). */
int nf_puller_add_dns(nf_puller *p, const char *host_port, nf_err *err);
/* Reads the token file (an error names it when it cannot be read or is empty). */
int nf_puller_start(nf_puller *p, nf_err *err);
/* Stops the threads (at once: in-flight requests are abandoned) and frees everything. */
void nf_puller_free(nf_puller *p);

/* Exporters currently pulled (explicit + resolved) and how many are failing right now. */
void nf_puller_counts(nf_puller *p, size_t *exporters, size_t *failing);

/* Per exporter, for /metrics: a snapshot of every exporter currently pulled. */
typedef struct nf_puller_stat {
    char *exporter;  /* base URL */
    char *node;      /* the node it last published; NULL before its first document */
    uint64_t pulls;  /* answers taken (a new document or the same generation again) */
    uint64_t errors; /* failed pulls: refused, timeout, HTTP error, bad or oversized document */
    bool failing;
} nf_puller_stat;
/* Returns 0 and a heap array (free with nf_puller_stats_free), or -ENOMEM. Thread-safe. */
int nf_puller_stats(nf_puller *p, nf_puller_stat **out, size_t *n);
void nf_puller_stats_free(nf_puller_stat *s, size_t n);

/* The default resolver: every A/AAAA record of host, deduplicated and sorted. */
int nf_resolve_getaddrinfo(void *ud, const char *host, const char *port, char ***urls, size_t *n,
                           nf_err *err);

#endif
