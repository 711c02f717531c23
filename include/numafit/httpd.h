/* httpd.h - what the exporter's and the extender's libmicrohttpd servers share: the listen address
 * form, starting a daemon with the limits that keep it serving under abuse, its connections'
 * state (TLS, request-head deadlines), and replies. Each server keeps its own routing and
 * handlers.
 */
#ifndef NUMAFIT_HTTPD_H
#define NUMAFIT_HTTPD_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "numafit/error.h"
#include "numafit/tls_server.h"

/* "0.0.0.0:9750", "127.0.0.1:0" (any free port), "[::1]:9750", ":9750" (all IPv4 addresses). */
int nf_parse_listen(const char *listen, struct sockaddr_storage *addr, nf_err *err);

/* Defaults of the limits every server gets (README "Bounded under abuse"). */
#define NF_HTTPD_HEAD_TIMEOUT_MS                                                                   \
    10000                                /* the request head (line and headers) must be in by then \
                                          */
#define NF_HTTPD_IDLE_TIMEOUT_S 120      /* libmicrohttpd's idle timeout: no byte for this long */
#define NF_HTTPD_POOL_BYTES (256u << 10) /* libmicrohttpd's memory per connection */
#define NF_HTTPD_MAX_TARGET 32768        /* request target (path + query) bytes; 414 beyond */
#define NF_HTTPD_MAX_PARAMS 1000         /* query parameters; 414 beyond */

typedef struct nf_httpd_opts {
    const char *listen; /* nf_parse_listen form */
    unsigned threads;   /* libmicrohttpd's pool (0: 1) */
    nf_tls_server *tls; /* serve HTTPS (tls_server.h); NULL: plain HTTP; outlives the server */
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed; /* may be NULL */
    void *completed_cls;
    /* The request head (its line and headers) must be in this long after the connection opened
     * (and after the request line arrived); the next head on a kept-alive connection within the
     * idle timeout. Beyond, the connection is closed (httpd.c says how). 0:
     * NF_HTTPD_HEAD_TIMEOUT_MS; < 0: no deadline (only the idle timeout). */
    int64_t head_timeout_ms;
} nf_httpd_opts;

typedef struct nf_httpd nf_httpd;

/* Start an epoll, thread-pooled daemon with suspend/resume allowed (long-polls) on o->listen,
 * with the limits above: a deadline for each request head (slow-header clients), 414 for a
 * request target over NF_HTTPD_MAX_TARGET bytes or NF_HTTPD_MAX_PARAMS parameters (431 for
 * headers over the pool, from libmicrohttpd), a connection limit from RLIMIT_NOFILE. */
int nf_httpd_start(const nf_httpd_opts *o, nf_httpd **out, nf_err *err);
/* Stop the daemon (waits for its threads: in-flight requests finish) and free. NULL: no-op. */
void nf_httpd_stop(nf_httpd *s);
/* Take no new connection (each is closed as it is accepted); those open keep being served until
 * nf_httpd_stop. Safe from any thread; never MHD_quiesce_daemon instead (httpd.c says why). */
void nf_httpd_quiesce(nf_httpd *s);
/* The port actually bound (useful with port 0). */
uint16_t nf_httpd_port(nf_httpd *s);
/* Connections closed because their request head was not in by its deadline, since the start. */
uint64_t nf_httpd_head_timeouts(nf_httpd *s);

/* Whether the client on c presented a certificate that verified against the server's client CA
 * (false on plain HTTP and without a client CA). */
bool nf_httpd_client_verified(struct MHD_Connection *c);

/* Whether a listen address is a loopback one (127.0.0.0/8, [::1]); false when it does not parse. */
bool nf_listen_is_loopback(const char *listen);

/* Reply with a copy of body. */
enum MHD_Result nf_httpd_reply(struct MHD_Connection *c, unsigned status, const char *content_type,
                               const char *body, size_t len);
/* {"error": message} (or {"Error": message} with extender_style, as kube-scheduler reads it). */
enum MHD_Result nf_httpd_reply_error(struct MHD_Connection *c, unsigned status, int extender_style,
                                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reply with a copy of a JSON body and one more header (Retry-After, Allow, Connection). */
enum MHD_Result nf_httpd_reply_json_with(struct MHD_Connection *c, unsigned status,
                                         const char *body, size_t len, const char *header,
                                         const char *value);
/* 405 with an Allow header. */
enum MHD_Result nf_httpd_reply_405(struct MHD_Connection *c, const char *allow);

#endif
