/* standin_exporter.h - a stand-in for numafit-exporter's HTTP face, for the puller tests.
 *
 * A real libmicrohttpd server on 127.0.0.1 that serves GET /v1/topology the way the exporter
 * does (exporter/exporter_http.h): the current NodeTopology document with `ETag: "<generation>"`,
 * and `?waitForGeneration=N` held until the generation reaches N or a hold time passes (30 s in
 * the exporter, short here), then answered with the current document. Knobs let a test make it
 * misbehave: answer long-polls at once, answer an HTTP error, serve garbage.
 */
#ifndef NUMAFIT_TESTS_CACHE_STANDIN_EXPORTER_H
#define NUMAFIT_TESTS_CACHE_STANDIN_EXPORTER_H

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_docs.h"

typedef struct standin {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    char *doc;
    uint64_t gen;
    int hold_ms;      /* long-poll hold */
    bool ignore_wait; /* answer long-polls at once (a broken exporter) */
    unsigned status;  /* HTTP status to answer; 200 normally */
    bool stopping;
    atomic_int requests; /* every GET /v1/topology received */
    unsigned port;
} standin;

static enum MHD_Result standin_handler(void *cls, struct MHD_Connection *c, const char *url,
                                       const char *method, const char *version, const char *upload,
                                       size_t *upload_size, void **con_cls)
{
    standin *s = cls;
    if (strcmp(url, "/v1/topology") != 0 || strcmp(method, "GET") != 0)
        return MHD_NO;
    atomic_fetch_add(&s->requests, 1);
    const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "waitForGeneration");
    pthread_mutex_lock(&s->mu);
    if (w && !s->ignore_wait) {
        uint64_t want = strtoull(w, NULL, 10);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->hold_ms / 1000;
        until.tv_nsec += (long)(s->hold_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (s->gen < want && !s->stopping &&
               pthread_cond_timedwait(&s->cond, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    char *body = strdup(s->doc ? s->doc : "");
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%llu\"", (unsigned long long)s->gen);
    unsigned status = s->status ? s->status : 200;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "ETag", etag);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Listen on 127.0.0.1:port (0 = any free port). Returns 0 or -1. */
static inline int standin_listen(standin *s, unsigned port)
{
    s->stopping = false;
    s->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
        standin_handler, s, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET,
                                                 .sin_port = htons((uint16_t)port),
                                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
        MHD_OPTION_END);
    if (!s->d)
        return -1;
    s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

/* Publish a document of `node` (2 NUMA nodes) at generation gen. */
static inline void standin_publish(standin *s, const char *node, uint64_t gen, int cpu_free)
{
    char *doc = nf_test_doc(node, 2, gen, cpu_free, 2);
    pthread_mutex_lock(&s->mu);
    free(s->doc);
    s->doc = doc;
    s->gen = gen;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Serve raw bytes as the document (garbage tests). */
static inline void standin_publish_raw(standin *s, const char *raw, uint64_t gen)
{
    pthread_mutex_lock(&s->mu);
    free(s->doc);
    s->doc = strdup(raw);
    s->gen = gen;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static inline int standin_start(standin *s, const char *node, uint64_t gen, int hold_ms)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    s->hold_ms = hold_ms;
    if (node)
        standin_publish(s, node, gen, 10);
    return standin_listen(s, 0);
}

/* The exporter goes away: held long-polls are released, the socket closes. */
static inline void standin_close(standin *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (s->d)
        MHD_stop_daemon(s->d);
    s->d = NULL;
}

static inline void standin_free(standin *s)
{
    standin_close(s);
    free(s->doc);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

static inline void standin_url(const standin *s, char *buf, size_t len)
{
    snprintf(buf, len, "http://127.0.0.1:%u", s->port);
}

#endif
