/* exporter_http.c - GET /v1/topology with ETag and ?waitForGeneration= long-polls, and the same
 * generation as a NodeResourceTopology at GET /v1/noderesourcetopology.
 *
 * The published document lives in one refcounted MHD response, shared by every request until
 * the next publish, so a GET costs no JSON encoding and no copy. A long-poll suspends its
 * connection (MHD_suspend_connection) and sits in `waiters` until a publish reaches its
 * generation or its deadline passes; it holds no thread while it waits. Deadlines are kept by
 * one thread of this module (expire_loop), so they hold whatever the refresh loop is doing.
 */
#include "exporter_http.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "numafit/clock.h"
#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/httpd.h"
#include "numafit/log.h"

#define DEFAULT_MAX_LONG_POLLS 128
#define LIMIT_LOG_MS 10000 /* a limit hit is logged at most this often */
#define GONE_CHECK_MS 1000 /* held long-polls are checked for a departed client this often */

typedef struct waiter {
    struct MHD_Connection *conn;
    uint64_t want;
    int64_t deadline_ms;
    bool queued; /* still in h->waiters */
    struct waiter *next;
} waiter;

struct nf_exporter_http {
    nf_httpd *server;
    pthread_mutex_t lock;
    struct MHD_Response *doc; /* NULL until the first publish */
    struct MHD_Response *nrt; /* the same generation as NodeResourceTopology, or NULL */
    uint64_t generation;
    char etag[32];
    waiter *waiters;
    bool stopping;
    nf_metrics_fn metrics;
    void *metrics_cls;
    nf_health_fn health;
    void *health_cls;
    /* Long-poll deadlines are kept by a thread of this module, not by the daemon's loop: a
     * ?timeout= answers on time even while a refresh is stuck. */
    pthread_t expirer;
    bool expirer_started;
    pthread_cond_t wake; /* CLOCK_MONOTONIC: a waiter arrived, or stop */
    bool client_ca;
    nf_auth_tokens *tokens;
    unsigned max_long_polls, n_waiters; /* n_waiters: queued ones, under lock */
    int64_t limit_logged_ms;            /* under lock */
    unsigned limit_unlogged;
};

/* Marks a request that has already been handled once (the first call of a GET). */
static int first_call_marker;

/* The path as a person can read it and JSON can carry it: printable ASCII as is, every other
 * byte (libmicrohttpd has decoded %XX already: "/%ff" arrives as byte 0xff) as %XX again, at
 * most 200 bytes of the path. */
static const char *quote_path(const char *url, char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; url[i] && i < 200 && o + 4 < len; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch > 0x20 && ch < 0x7f && ch != '%')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, len - o, "%%%02X", ch);
    }
    buf[o] = '\0';
    return buf;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return nf_httpd_reply(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* Queue r (the current document of its kind), or 304 when the client already has this
 * generation; 503 with `missing` when there is none yet. Called with the lock held; unlocks. */
static enum MHD_Result reply_doc(nf_exporter_http *h, struct MHD_Connection *c,
                                 struct MHD_Response *r, const char *missing)
{
    char etag[32];
    memcpy(etag, h->etag, sizeof(etag));
    if (!r) {
        pthread_mutex_unlock(&h->lock);
        return nf_httpd_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, 0, "%s", missing);
    }
    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strcmp(inm, etag) == 0) {
        pthread_mutex_unlock(&h->lock);
        struct MHD_Response *nm = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (!nm)
            return MHD_NO;
        MHD_add_response_header(nm, MHD_HTTP_HEADER_ETAG, etag);
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, nm);
        MHD_destroy_response(nm);
        return ret;
    }
    /* MHD refcounts responses: queueing takes a reference, so publish may drop ours safely. */
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    pthread_mutex_unlock(&h->lock);
    return ret;
}

static enum MHD_Result reply_topology(nf_exporter_http *h, struct MHD_Connection *c)
{
    pthread_mutex_lock(&h->lock);
    return reply_doc(h, c, h->doc, "no topology yet: the first scan has not finished");
}

/* waitForGeneration=N[&timeout=DUR] (capped at NF_LONGPOLL_MAX_MS). */
static int parse_wait(struct MHD_Connection *c, uint64_t *want, int64_t *timeout_ms, nf_err *err)
{
    const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "waitForGeneration");
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
    *want = 0;
    *timeout_ms = NF_LONGPOLL_MAX_MS;
    if (w) {
        int64_t v;
        if (!*w || strspn(w, "0123456789") != strlen(w) || nf_parse_int64(w, 0, INT64_MAX, &v)) {
            return nf_errf(err, -EINVAL,
                           "waitForGeneration must be a non-negative integer, got \"%.32s\"", w);
        }
        *want = (uint64_t)v;
    }
    if (t) {
        if (nf_duration_parse_ms(t, timeout_ms, err))
            return -EINVAL;
        if (*timeout_ms > NF_LONGPOLL_MAX_MS)
            *timeout_ms = NF_LONGPOLL_MAX_MS;
    }
    return 0;
}

static const char busy[] = "{\"error\":\"too many long-polls held: retry\"}";

static enum MHD_Result handle_topology(nf_exporter_http *h, struct MHD_Connection *c, void **ctx)
{
    if (*ctx && *ctx != &first_call_marker) /* resumed after a long-poll: 304 when the hold
                                                 ended with the client's generation current */
        return reply_topology(h, c);

    uint64_t want;
    int64_t timeout_ms;
    nf_err err;
    if (parse_wait(c, &want, &timeout_ms, &err))
        return nf_httpd_reply_error(c, MHD_HTTP_BAD_REQUEST, 0, "%s", err.msg);

    pthread_mutex_lock(&h->lock);
    bool wait = want > 0 && (!h->doc || h->generation < want) && !h->stopping && timeout_ms > 0;
    if (wait && h->n_waiters >= h->max_long_polls) {
        int64_t now = nf_mono_ms();
        unsigned unlogged = ++h->limit_unlogged;
        bool say = now - h->limit_logged_ms >= LIMIT_LOG_MS;
        if (say) {
            h->limit_logged_ms = now;
            h->limit_unlogged = 0;
        }
        pthread_mutex_unlock(&h->lock);
        if (say)
            nf_warn("long-poll limit reached: answering 503", "max_long_polls=%u refused=%u",
                    h->max_long_polls, unlogged);
        return nf_httpd_reply_json_with(c, MHD_HTTP_SERVICE_UNAVAILABLE, busy, sizeof(busy) - 1,
                                        MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    if (wait) {
        waiter *w = calloc(1, sizeof(*w));
        if (!w) {
            pthread_mutex_unlock(&h->lock);
            return MHD_NO;
        }
        w->conn = c;
        w->want = want;
        w->deadline_ms = nf_mono_ms() + timeout_ms;
        w->queued = true;
        w->next = h->waiters;
        h->waiters = w;
        h->n_waiters++;
        *ctx = w;
        MHD_suspend_connection(c);
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->lock);
        return MHD_YES;
    }
    pthread_mutex_unlock(&h->lock);
    return reply_topology(h, c);
}

/* Whether the client may read more than the probes; if not, *ret is the refusal queued. */
static bool allowed(nf_exporter_http *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
    if (h->client_ca && !nf_httpd_client_verified(c)) {
        *ret = nf_httpd_reply_error(c, MHD_HTTP_FORBIDDEN, 0,
                                    "a client certificate signed by the client CA is required");
        return false;
    }
    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h->tokens && !nf_auth_tokens_check(h->tokens, auth)) {
        static const char body[] = "{\"error\":\"a valid bearer token is required\"}";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
        *ret = MHD_NO;
        if (r) {
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
            MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    "Bearer realm=\"numafit-exporter\"");
            *ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
            MHD_destroy_response(r);
        }
        return false;
    }
    return true;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **ctx)
{
    nf_exporter_http *h = cls;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (get && !*ctx) {
        /* Answer on the next call, once the request is complete: libmicrohttpd 0.9.7x closes a
         * connection answered in the first call, so every GET would cost a new connection. */
        *ctx = &first_call_marker;
        return MHD_YES;
    }
    bool probe = strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
    bool resumed = *ctx && *ctx != &first_call_marker; /* a long-poll let in before */
    enum MHD_Result refused;
    if (!probe && !resumed && !allowed(h, c, &refused))
        return refused;

    if (strcmp(url, "/v1/topology") == 0) {
        if (!get)
            return nf_httpd_reply_405(c, "GET, HEAD");
        enum MHD_Result r = handle_topology(h, c, ctx);
        if (!*ctx)
            *ctx = &first_call_marker;
        return r;
    }
    if (strcmp(url, "/v1/noderesourcetopology") == 0) {
        if (!get)
            return nf_httpd_reply_405(c, "GET, HEAD");
        pthread_mutex_lock(&h->lock);
        return reply_doc(h, c, h->nrt,
                         h->doc ? "no NodeResourceTopology: this document could not be encoded "
                                  "as one (see the log)"
                                : "no topology yet: the first scan has not finished");
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
        strcmp(url, "/metrics") == 0) {
        if (!get)
            return nf_httpd_reply_405(c, "GET, HEAD");
        if (strcmp(url, "/healthz") == 0) {
            pthread_mutex_lock(&h->lock);
            nf_health_fn hf = h->health;
            void *hcls = h->health_cls;
            pthread_mutex_unlock(&h->lock);
            char why[400], text[440];
            if (!hf || hf(hcls, why, sizeof(why)))
                return reply_text(c, MHD_HTTP_OK, "ok\n");
            snprintf(text, sizeof(text), "unhealthy: %s\n", why);
            return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, text);
        }
        pthread_mutex_lock(&h->lock);
        bool ready = h->doc != NULL;
        nf_metrics_fn fn = h->metrics;
        void *fcls = h->metrics_cls;
        pthread_mutex_unlock(&h->lock);
        if (strcmp(url, "/readyz") == 0)
            return ready ? reply_text(c, MHD_HTTP_OK, "ok\n")
                         : reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: no scan yet\n");
        if (!fn)
            return reply_text(c, MHD_HTTP_NOT_FOUND, "metrics are not enabled\n");
        size_t len;
        char *text = fn(fcls, &len);
        if (!text)
            return MHD_NO;
        enum MHD_Result r =
            nf_httpd_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
        free(text);
        return r;
    }
    char shown[200 * 3 + 1];
    return nf_httpd_reply_error(
        c, MHD_HTTP_NOT_FOUND, 0,
        "no such path: %s (try /v1/topology, /v1/noderesourcetopology, /metrics, /healthz, "
        "/readyz)",
        quote_path(url, shown, sizeof(shown)));
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    nf_exporter_http *h = cls;
    if (!*ctx || *ctx == &first_call_marker)
        return;
    waiter *w = *ctx;
    pthread_mutex_lock(&h->lock);
    if (w->queued) { /* closed while held: unlink */
        for (waiter **p = &h->waiters; *p; p = &(*p)->next) {
            if (*p == w) {
                *p = w->next;
                h->n_waiters--;
                break;
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    free(w);
    *ctx = NULL;
}

static void resume_where(nf_exporter_http *h, bool all, int64_t now);

/* Mark for resumption the held long-polls whose socket is readable, closed or in error: a
 * waiting client sends nothing, so that is a client gone (or misbehaving). Lock held. */
static void find_gone(nf_exporter_http *h)
{
    struct pollfd fds[256];
    waiter *ws[256];
    waiter *w = h->waiters;
    while (w) {
        nfds_t n = 0;
        for (; w && n < 256; w = w->next) {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(w->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
            if (!ci)
                continue;
            fds[n] = (struct pollfd){.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
            ws[n++] = w;
        }
        if (poll(fds, n, 0) <= 0)
            continue;
        for (nfds_t i = 0; i < n; i++)
            if (fds[i].revents)
                ws[i]->deadline_ms = 0; /* resume_where answers it; the write then fails */
    }
}

/* Answer long-polls whose deadline passed or whose client left (checked every GONE_CHECK_MS
 * while some are held: libmicrohttpd does not watch a suspended connection), sleeping until the
 * next one is due. */
static void *expire_loop(void *arg)
{
    nf_exporter_http *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int64_t now = nf_mono_ms(), next = -1;
        find_gone(h);
        resume_where(h, false, now);
        for (waiter *w = h->waiters; w; w = w->next)
            if (next < 0 || w->deadline_ms < next)
                next = w->deadline_ms;
        if (next > now + GONE_CHECK_MS)
            next = now + GONE_CHECK_MS;
        if (next < 0) {
            pthread_cond_wait(&h->wake, &h->lock);
            continue;
        }
        struct timespec ts = nf_mono_ts(next);
        pthread_cond_timedwait(&h->wake, &h->lock, &ts);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int nf_exporter_http_start(const nf_exporter_http_opts *o, nf_exporter_http **out, nf_err *err)
{
    nf_exporter_http *h = calloc(1, sizeof(*h));
    if (!h)
        return nf_errf(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    nf_mono_cond_init(&h->wake);
    h->client_ca = nf_tls_server_has_client_ca(o->tls);
    h->tokens = o->tokens;
    h->max_long_polls = o->max_long_polls ? o->max_long_polls : DEFAULT_MAX_LONG_POLLS;
    nf_httpd_opts so = {.listen = o->listen,
                        .threads = 2,
                        .tls = o->tls,
                        .handler = handle,
                        .handler_cls = h,
                        .completed = completed,
                        .completed_cls = h,
                        .head_timeout_ms = o->head_timeout_ms};
    int rc = nf_httpd_start(&so, &h->server, err);
    if (!rc && (rc = -pthread_create(&h->expirer, NULL, expire_loop, h)) != 0) {
        nf_errf(err, rc, "long-poll thread: %s", strerror(-rc));
        nf_httpd_stop(h->server);
    }
    if (rc) {
        pthread_cond_destroy(&h->wake);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    h->expirer_started = true;
    *out = h;
    return 0;
}

uint16_t nf_exporter_http_port(nf_exporter_http *h)
{
    return nf_httpd_port(h->server);
}

/* Resume every waiter (all), or those whose generation arrived or whose deadline passed; called
 * with the lock held. */
static void resume_where(nf_exporter_http *h, bool all, int64_t now)
{
    for (waiter **p = &h->waiters; *p;) {
        waiter *w = *p;
        bool go = all || (h->doc && h->generation >= w->want) || now >= w->deadline_ms;
        if (go) {
            *p = w->next;
            w->queued = false;
            h->n_waiters--;
            MHD_resume_connection(w->conn);
        } else {
            p = &w->next;
        }
    }
}

/* A JSON response owning doc (freed with it), or NULL (doc freed). */
static struct MHD_Response *json_response(char *doc, size_t len, const char *etag)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, doc, free);
    if (!r) {
        free(doc);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return r;
}

int nf_exporter_http_publish(nf_exporter_http *h, char *doc, size_t len, char *nrt, size_t nrt_len,
                             uint64_t generation)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%" PRIu64 "\"", generation);
    struct MHD_Response *r = json_response(doc, len, etag);
    struct MHD_Response *rn = nrt ? json_response(nrt, nrt_len, etag) : NULL;
    if (!r || (nrt && !rn)) {
        if (r)
            MHD_destroy_response(r);
        if (rn)
            MHD_destroy_response(rn);
        return -ENOMEM;
    }

    pthread_mutex_lock(&h->lock);
    struct MHD_Response *old = h->doc, *old_nrt = NULL;
    if (rn || !h->doc || h->generation != generation) { /* else the NRT of this generation stays */
        old_nrt = h->nrt;
        h->nrt = rn;
    }
    h->doc = r;
    h->generation = generation;
    memcpy(h->etag, etag, sizeof(etag));
    resume_where(h, false, nf_mono_ms());
    pthread_mutex_unlock(&h->lock);
    if (old)
        MHD_destroy_response(old);
    if (old_nrt)
        MHD_destroy_response(old_nrt);
    return 0;
}

void nf_exporter_http_set_health(nf_exporter_http *h, nf_health_fn fn, void *cls)
{
    pthread_mutex_lock(&h->lock);
    h->health = fn;
    h->health_cls = cls;
    pthread_mutex_unlock(&h->lock);
}

void nf_exporter_http_set_metrics(nf_exporter_http *h, nf_metrics_fn fn, void *cls)
{
    pthread_mutex_lock(&h->lock);
    h->metrics = fn;
    h->metrics_cls = cls;
    pthread_mutex_unlock(&h->lock);
}

void nf_exporter_http_stop(nf_exporter_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    resume_where(h, true, nf_mono_ms());
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (h->expirer_started)
        pthread_join(h->expirer, NULL);
    nf_httpd_quiesce(h->server);
    nf_httpd_stop(h->server); /* waits for the pool threads, so in-flight requests finish */
    if (h->doc)
        MHD_destroy_response(h->doc);
    if (h->nrt)
        MHD_destroy_response(h->nrt);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
