/* httpd.c - shared libmicrohttpd plumbing (see numafit/httpd.h). */
#include "numafit/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "numafit/clock.h"
#include "numafit/fileio.h"
#include "numafit/log.h"

#define RESERVED_FDS 256            /* files, pipes, outgoing sockets: not for clients */
#define MHD_LOG_MS 1000             /* libmicrohttpd's messages: at most one line this often */
#define NF_HTTPD_LIMIT_LOG_MS 10000 /* a limit hit: at most one line this often */

/* libmicrohttpd's own messages (a refused connection, a failed handshake, ...) as logfmt lines,
 * at most one a second with a count of those left out: a flood of clients must not become a
 * flood of log lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    static nf_log_limit limit;
    unsigned unlogged;
    (void)cls;
    if (!nf_log_limit_pass(&limit, MHD_LOG_MS, 1, &unlogged))
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    for (char *p = msg; *p; p++)
        if (*p == '"' || *p == '\\')
            *p = '\'';
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
        msg[--n] = '\0';
    nf_warn("libmicrohttpd", "detail=\"%s\" unlogged_before=%u", msg, unlogged);
}

int nf_parse_listen(const char *listen, struct sockaddr_storage *addr, nf_err *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    memset(addr, 0, sizeof(*addr));
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return nf_errf(err, -EINVAL, "listen address \"%.64s\": expected ADDR:PORT", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    int64_t port;
    const char *p = colon + 1;
    if (!*p || strspn(p, "0123456789") != strlen(p) || nf_parse_int64(p, 0, 65535, &port) != 0)
        return nf_errf(err, -EINVAL, "listen address \"%.64s\": bad port", listen);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return nf_errf(err, -EINVAL, "listen address \"%.64s\": bad IPv6 address", listen);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (!*host)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return nf_errf(err, -EINVAL, "listen address \"%.64s\": bad IPv4 address", listen);
    return 0;
}

/* The listening socket, made here so that a clash fails with the kernel's reason: SO_REUSEADDR
 * (restart over TIME_WAIT) but never SO_REUSEPORT, with which a second server on the same
 * address would start "fine" and take half of the connections. */
static int listen_socket(const char *where, const struct sockaddr_storage *addr, nf_err *err)
{
    socklen_t alen =
        addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0)
        return nf_errf(err, -errno, "cannot listen on %s: socket: %s", where, strerror(errno));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (addr->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (const struct sockaddr *)addr, alen) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        return nf_errf(err, -e, "cannot listen on %s: %s%s", where, strerror(e),
                       e == EADDRINUSE ? " (is another instance running there?)" : "");
    }
    return fd;
}

/* ---- connections and their request-head deadlines -----------------------------------------
 *
 * libmicrohttpd has one timeout per connection, an idle one that any byte resets: a client
 * sending one header byte every few seconds holds its connection for ever. So each connection
 * also gets a deadline for its request head, kept here:
 *   - a new connection: opened + head timeout;
 *   - its request line is in (the URI callback): at most that + head timeout;
 *   - its head is complete (the access handler's first call): none while the request runs (its
 *     body and answer are bounded elsewhere: --max-body, the idle timeout, long-poll holds);
 *   - a request completed on a kept-alive connection: + the idle timeout (a client may keep an
 *     idle connection as long as libmicrohttpd lets it, but not dribble a head for ever).
 * A sweeper thread shuts down (shutdown(2), from outside libmicrohttpd's threads) the sockets
 * past their deadline whose bytes libmicrohttpd has all read (unread bytes mean the server is
 * behind, not the client: those are looked at again a second later): libmicrohttpd sees the end of
 * the stream and closes the connection. The socket cannot have been closed and its number reused
 * meanwhile: libmicrohttpd tells us (MHD_CONNECTION_NOTIFY_CLOSED, which unlinks it under the same
 * lock) before closing it. */

typedef struct hconn {
    nf_httpd *s;
    nf_tls_conn *tls;
    int fd;
    bool linked;      /* in s->armed, under s->mu */
    bool head_wait;   /* its next request's head is awaited (the connection's own thread) */
    bool too_long;    /* its request target is over the limits: answered 414 (own thread) */
    int64_t deadline; /* nf_mono_ms; under s->mu */
    struct hconn *prev, *next;
} hconn;

struct nf_httpd {
    struct MHD_Daemon *d;
    nf_tls_server *tls;
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    int64_t head_ms; /* < 0: no deadline */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    hconn *armed;        /* connections with a deadline, under mu */
    bool stopping;
    pthread_t sweeper;
    bool sweeper_started;
    _Atomic uint64_t head_timeouts;
    atomic_bool quiesced; /* new connections are closed as they are accepted */
    nf_log_limit head_log, target_log;
};

static void arm(nf_httpd *s, hconn *hc, int64_t deadline, bool only_earlier)
{
    if (s->head_ms < 0)
        return;
    pthread_mutex_lock(&s->mu);
    if (!hc->linked) {
        hc->prev = NULL;
        hc->next = s->armed;
        if (s->armed)
            s->armed->prev = hc;
        s->armed = hc;
        hc->linked = true;
        hc->deadline = deadline;
    } else if (!only_earlier || deadline < hc->deadline) {
        hc->deadline = deadline;
    }
    pthread_mutex_unlock(&s->mu);
}

static void unlink_locked(nf_httpd *s, hconn *hc)
{
    if (!hc->linked)
        return;
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        s->armed = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    hc->linked = false;
}

static void disarm(nf_httpd *s, hconn *hc)
{
    pthread_mutex_lock(&s->mu);
    unlink_locked(s, hc);
    pthread_mutex_unlock(&s->mu);
}

static hconn *hconn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    nf_httpd *s = cls;
    hconn *hc = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (hc) {
            disarm(s, hc);
            nf_tls_conn_close(s->tls, hc->tls);
            free(hc);
            *socket_context = NULL;
        }
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!(hc = calloc(1, sizeof(*hc)))) {
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR); /* no state, no deadline: not served */
        return;
    }
    hc->s = s;
    hc->fd = ci ? ci->connect_fd : -1;
    if (s->tls)
        hc->tls = nf_tls_conn_open(s->tls, c);
    hc->head_wait = true;
    *socket_context = hc;
    arm(s, hc, nf_mono_ms() + s->head_ms, false);
}

/* libmicrohttpd's MHD_quiesce_daemon takes the listening socket out of each pool thread's epoll
 * set from the caller's thread while that pool thread may be taking it out itself (0.9.75: one
 * of the two fails with ENOENT and libmicrohttpd aborts the process, "Failed to remove listen FD
 * from epoll set"), and leaves the socket open after the stop. A quiesced server instead closes
 * each new connection as it is accepted: the client learns at once, as it would from a stopped
 * server, and the socket stays libmicrohttpd's to close. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    nf_httpd *s = cls;
    (void)addr;
    (void)len;
    return atomic_load(&s->quiesced) ? MHD_NO : MHD_YES;
}

/* The request line is in (called before libmicrohttpd splits the query into parameters). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    nf_httpd *s = cls;
    hconn *hc = hconn_of(c);
    if (!hc)
        return NULL;
    arm(s, hc, nf_mono_ms() + s->head_ms, true);
    size_t len = strlen(uri), params = 0;
    char *q = strchr(uri, '?');
    for (const char *p = q; p && *p; p++)
        params += *p == '&';
    hc->too_long = len > NF_HTTPD_MAX_TARGET || (q && params + 1 > NF_HTTPD_MAX_PARAMS);
    /* libmicrohttpd 0.9.75 keeps every parameter in the connection's memory pool and, when
     * they do not fit, logs a 431 that it never sends: the connection hangs. An answer of 414
     * follows anyway, so the parameters are cut off here, where the line is still ours to
     * read: it then splits an empty query. (The line lives in libmicrohttpd's read buffer,
     * writable memory; the URI it hands out is const only by its prototype.) */
    if (hc->too_long && q)
        q[1] = '\0';
    return NULL;
}

static enum MHD_Result reply_414(nf_httpd *s, struct MHD_Connection *c)
{
    unsigned unlogged;
    if (nf_log_limit_pass(&s->target_log, NF_HTTPD_LIMIT_LOG_MS, 1, &unlogged))
        nf_warn("request target over the limit: answering 414",
                "max_target_bytes=%d max_params=%d unlogged_before=%u", NF_HTTPD_MAX_TARGET,
                NF_HTTPD_MAX_PARAMS, unlogged);
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":\"request target over %d bytes or %d query parameters\"}",
                     NF_HTTPD_MAX_TARGET, NF_HTTPD_MAX_PARAMS);
    return nf_httpd_reply_json_with(c, MHD_HTTP_URI_TOO_LONG, body, (size_t)n,
                                    MHD_HTTP_HEADER_CONNECTION, "close");
}

/* The server's handler, once the head is complete: the deadline is lifted at its first call. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    nf_httpd *s = cls;
    hconn *hc = hconn_of(c);
    if (hc && hc->head_wait) {
        hc->head_wait = false;
        disarm(s, hc);
        if (hc->too_long) {
            hc->too_long = false;
            return reply_414(s, c);
        }
    }
    return s->handler(s->handler_cls, c, url, method, version, upload, upload_size, con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    nf_httpd *s = cls;
    if (s->completed)
        s->completed(s->completed_cls, c, con_cls, toe);
    hconn *hc = hconn_of(c);
    if (hc && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) { /* kept alive for the next one */
        hc->head_wait = true;
        arm(s, hc, nf_mono_ms() + NF_HTTPD_IDLE_TIMEOUT_S * 1000, false);
    }
}

/* Close the connections whose head is late; sleep until the next deadline (at most a second:
 * new connections arrive with later deadlines than those already armed). */
static void *sweep_loop(void *arg)
{
    nf_httpd *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        int64_t now = nf_mono_ms(), next = now + 1000;
        unsigned closed = 0;
        for (hconn *hc = s->armed, *nx; hc; hc = nx) {
            nx = hc->next;
            int unread = 0;
            if (hc->deadline <= now && hc->fd >= 0 && ioctl(hc->fd, FIONREAD, &unread) == 0 &&
                unread > 0) {
                /* the client sent more than libmicrohttpd has read yet: the server is behind
                 * (its threads busy), not the client; looked at again in a second */
                hc->deadline = now + 1000;
            }
            if (hc->deadline <= now) {
                unlink_locked(s, hc);
                if (hc->fd >= 0)
                    shutdown(hc->fd, SHUT_RDWR);
                closed++;
            } else if (hc->deadline < next) {
                next = hc->deadline;
            }
        }
        if (closed) {
            atomic_fetch_add(&s->head_timeouts, closed);
            unsigned unlogged;
            if (nf_log_limit_pass(&s->head_log, NF_HTTPD_LIMIT_LOG_MS, closed, &unlogged))
                nf_warn("request head not complete in time: connections closed",
                        "head_timeout_ms=%" PRId64 " closed=%u closed_unlogged_before=%u",
                        s->head_ms, closed, unlogged);
        }
        struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
        pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int nf_httpd_start(const nf_httpd_opts *o, nf_httpd **out, nf_err *err)
{
    struct sockaddr_storage addr;
    int rc = nf_parse_listen(o->listen, &addr, err);
    if (rc)
        return rc;
    nf_httpd *s = calloc(1, sizeof(*s));
    if (!s)
        return nf_errf(err, -ENOMEM, "cannot serve on %s: out of memory", o->listen);
    s->tls = o->tls;
    s->handler = o->handler;
    s->handler_cls = o->handler_cls;
    s->completed = o->completed;
    s->completed_cls = o->completed_cls;
    s->head_ms = o->head_timeout_ms ? o->head_timeout_ms : NF_HTTPD_HEAD_TIMEOUT_MS;
    pthread_mutex_init(&s->mu, NULL);
    nf_mono_cond_init(&s->wake);
    int lfd = listen_socket(o->listen, &addr, err);
    if (lfd < 0) {
        nf_httpd_stop(s);
        return lfd;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    /* libmicrohttpd's default connection limit is FD_SETSIZE - 4 whatever the file limit: a
     * thousand idle clients would lock everyone else out. Allow what the file limit leaves. */
    struct rlimit rl;
    rlim_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
    limit = limit > 65536 + RESERVED_FDS ? 65536
            : limit > 2 * RESERVED_FDS   ? limit - RESERVED_FDS
                                         : 64;
    struct MHD_OptionItem extra[8] = {{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
                                      {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)limit, NULL}};
    size_t k = 2;
    for (const struct MHD_OptionItem *t = s->tls ? nf_tls_server_mhd_options(s->tls, &flags) : NULL;
         t && t->option != MHD_OPTION_END && k < 7; t++)
        extra[k++] = *t;
    extra[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, 0, on_accept, s, on_access, s, MHD_OPTION_ARRAY, extra /* the logger first */,
        MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_THREAD_POOL_SIZE, o->threads ? o->threads : 1,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)NF_HTTPD_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)NF_HTTPD_POOL_BYTES, MHD_OPTION_END);
    if (!s->d) {
        close(lfd);
        nf_httpd_stop(s);
        return nf_errf(err, -EIO, "cannot serve on %s: libmicrohttpd did not start", o->listen);
    }
    if (s->head_ms > 0) {
        if ((rc = pthread_create(&s->sweeper, NULL, sweep_loop, s)) != 0) {
            nf_httpd_stop(s);
            return nf_errf(err, -rc, "cannot serve on %s: request-head thread: %s", o->listen,
                           strerror(rc));
        }
        s->sweeper_started = true;
    }
    *out = s;
    return 0;
}

void nf_httpd_stop(nf_httpd *s)
{
    if (!s)
        return;
    if (s->sweeper_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->sweeper, NULL);
    }
    if (s->d)
        MHD_stop_daemon(s->d); /* closes every connection: their states are freed */
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void nf_httpd_quiesce(nf_httpd *s)
{
    atomic_store(&s->quiesced, true);
}

uint16_t nf_httpd_port(nf_httpd *s)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

uint64_t nf_httpd_head_timeouts(nf_httpd *s)
{
    return atomic_load(&s->head_timeouts);
}

bool nf_httpd_client_verified(struct MHD_Connection *c)
{
    hconn *hc = hconn_of(c);
    return hc && nf_tls_conn_verified(hc->tls, c);
}

bool nf_listen_is_loopback(const char *listen)
{
    struct sockaddr_storage addr;
    nf_err err;
    if (nf_parse_listen(listen, &addr, &err))
        return false;
    if (addr.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
}

enum MHD_Result nf_httpd_reply(struct MHD_Connection *c, unsigned status, const char *content_type,
                               const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result nf_httpd_reply_error(struct MHD_Connection *c, unsigned status, int extender_style,
                                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s}", extender_style ? "Error" : "error", msg);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    enum MHD_Result ret =
        nf_httpd_reply(c, status, "application/json", body ? body : "{}", body ? strlen(body) : 2);
    free(body);
    return ret;
}

enum MHD_Result nf_httpd_reply_json_with(struct MHD_Connection *c, unsigned status,
                                         const char *body, size_t len, const char *header,
                                         const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, header, value);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result nf_httpd_reply_405(struct MHD_Connection *c, const char *allow)
{
    static const char body[] = "{\"error\":\"method not allowed\"}";
    return nf_httpd_reply_json_with(c, MHD_HTTP_METHOD_NOT_ALLOWED, body, sizeof(body) - 1,
                                    MHD_HTTP_HEADER_ALLOW, allow);
}
