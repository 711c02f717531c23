/* httpd.c - shared libmicrohttpd plumbing (see numafit/httpd.h). */
#include "numafit/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "numafit/fileio.h"

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

int nf_httpd_start(const char *listen, unsigned threads, MHD_AccessHandlerCallback handler,
                   void *handler_cls, MHD_RequestCompletedCallback completed, void *completed_cls,
                   struct MHD_Daemon **out, nf_err *err)
{
    struct sockaddr_storage addr;
    int rc = nf_parse_listen(listen, &addr, err);
    if (rc)
        return rc;
    int lfd = listen_socket(listen, &addr, err);
    if (lfd < 0)
        return lfd;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, handler_cls, MHD_OPTION_LISTEN_SOCKET, lfd,
        MHD_OPTION_THREAD_POOL_SIZE, threads ? threads : 1, MHD_OPTION_NOTIFY_COMPLETED, completed,
        completed_cls, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!d) {
        close(lfd);
        return nf_errf(err, -EIO, "cannot serve on %s: libmicrohttpd did not start", listen);
    }
    *out = d;
    return 0;
}

uint16_t nf_httpd_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
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

enum MHD_Result nf_httpd_reply_405(struct MHD_Connection *c, const char *allow)
{
    static const char body[] = "{\"error\":\"method not allowed\"}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return ret;
}
