/* httpd.h - what the exporter's and the extender's libmicrohttpd servers share: the listen address
 * form, starting a daemon, and replies. Each server keeps its own routing and handlers.
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

/* Start an epoll, thread-pooled daemon with suspend/resume allowed (long-polls) on `listen`. */
int nf_httpd_start(const char *listen, unsigned threads, MHD_AccessHandlerCallback handler,
                   void *handler_cls, MHD_RequestCompletedCallback completed, void *completed_cls,
                   struct MHD_Daemon **out, nf_err *err);
/* The same serving HTTPS with tls (tls_server.h; NULL: plain HTTP), which must outlive the daemon.
 */
int nf_httpd_start_tls(const char *listen, unsigned threads, nf_tls_server *tls,
                       MHD_AccessHandlerCallback handler, void *handler_cls,
                       MHD_RequestCompletedCallback completed, void *completed_cls,
                       struct MHD_Daemon **out, nf_err *err);
/* Whether a listen address is a loopback one (127.0.0.0/8, [::1]); false when it does not parse. */
bool nf_listen_is_loopback(const char *listen);
/* The port actually bound (useful with port 0). */
uint16_t nf_httpd_port(struct MHD_Daemon *d);

/* Reply with a copy of body. */
enum MHD_Result nf_httpd_reply(struct MHD_Connection *c, unsigned status, const char *content_type,
                               const char *body, size_t len);
/* {"error": message} (or {"Error": message} with extender_style, as kube-scheduler reads it). */
enum MHD_Result nf_httpd_reply_error(struct MHD_Connection *c, unsigned status, int extender_style,
                                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 405 with an Allow header. */
enum MHD_Result nf_httpd_reply_405(struct MHD_Connection *c, const char *allow);

#endif
