/* exporter_daemon.c - the exporter's event loop (see exporter_daemon.h). */
#include "exporter_daemon.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "exporter_http.h"
#include "exporter_metrics.h"
#include "file_watch.h"
#include "numafit/log.h"

#define DIR_RETRY_MS 5000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nf_daemon_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) ? -EINVAL : 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int refresh_and_publish(nf_collector *c, nf_exporter_http *h, nf_exporter_metrics *m)
{
    char *doc;
    size_t len;
    uint64_t gen;
    bool changed;
    uint64_t t0 = mono_ns();
    int rc = nf_collector_refresh(c, &doc, &len, &gen, &changed);
    nf_exporter_metrics_refresh(m, mono_ns() - t0, rc, rc ? NULL : doc, rc ? 0 : len);
    if (rc) {
        nf_error("refresh failed; serving the previous document", "error=\"%s\"", nf_strerror(rc));
        return rc;
    }
    if (changed)
        nf_info("topology changed", "generation=%llu bytes=%zu", (unsigned long long)gen, len);
    return nf_exporter_http_publish(h, doc, len, gen);
}

int nf_exporter_run(nf_collector *c, const nf_daemon_opts *o, nf_err *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return nf_errf(err, -errno, "signalfd: %s", strerror(errno));

    size_t ndirs;
    const char *const *dirs = nf_collector_watch_dirs(c, &ndirs);
    nf_file_watch *watch = NULL;
    int rc = nf_file_watch_new(dirs, ndirs, &watch);
    if (rc) {
        close(sfd);
        return nf_errf(err, rc, "inotify: %s", nf_strerror(rc));
    }

    nf_exporter_http_opts ho = {.listen = o->listen, .max_long_polls = o->max_long_polls};
    nf_exporter_http *h = NULL;
    if ((o->tls.cert_file && (rc = nf_tls_server_new(&o->tls, &ho.tls, err))) ||
        (o->auth_token_file && (rc = nf_auth_tokens_new(o->auth_token_file, &ho.tokens, err))) ||
        (rc = nf_exporter_http_start(&ho, &h, err))) {
        nf_auth_tokens_free(ho.tokens);
        nf_tls_server_free(ho.tls);
        nf_file_watch_free(watch);
        close(sfd);
        return rc;
    }
    nf_exporter_metrics *metrics = NULL;
    if (nf_exporter_metrics_new(&metrics) == 0)
        nf_exporter_http_set_metrics(h, nf_exporter_metrics_render, metrics);
    refresh_and_publish(c, h, metrics); /* first, so that "serving" means a document is there */
    nf_info("serving", "listen=%s port=%u tls=%s client_ca=%s auth_token_file=%s", o->listen,
            (unsigned)nf_exporter_http_port(h), ho.tls ? "on" : "off",
            o->tls.client_ca_file ? o->tls.client_ca_file : "none",
            o->auth_token_file ? o->auth_token_file : "none");
    if (ho.tokens && !ho.tls)
        nf_warn("bearer tokens over plain HTTP: anyone on the path can read them",
                "hint=\"add --tls-cert and --tls-key\"");

    int64_t next_poll = now_ms() + o->poll_interval_ms, next_retry = now_ms() + DIR_RETRY_MS;
    for (;;) {
        int64_t now = now_ms();
        int64_t wait = next_poll - now;
        int64_t lp = nf_exporter_http_expire(h);
        if (lp >= 0 && lp < wait)
            wait = lp;
        if (next_retry - now < wait)
            wait = next_retry - now;
        struct pollfd fds[4] = {{.fd = sfd, .events = POLLIN},
                                {.fd = nf_file_watch_fd(watch), .events = POLLIN},
                                {.fd = nf_exporter_http_wake_fd(h), .events = POLLIN},
                                {.fd = nf_collector_probe_fd(c), .events = POLLIN}};
        int n = poll(fds, fds[3].fd >= 0 ? 4 : 3, wait < 0 ? 0 : (int)wait);
        if (n < 0 && errno != EINTR) {
            rc = nf_errf(err, -errno, "poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) > 0)
                nf_info("stopping", "signal=%u", si.ssi_signo);
            rc = 0;
            break;
        }
        bool kubelet = (fds[1].revents & POLLIN) && nf_file_watch_drain(watch);
        bool probe = n > 0 && fds[3].fd >= 0 && (fds[3].revents & POLLIN);
        now = now_ms();
        if (now >= next_retry) {
            kubelet |= nf_file_watch_retry(watch) > 0;
            next_retry = now + DIR_RETRY_MS;
        }
        bool poll_due = now >= next_poll;
        if (poll_due)
            next_poll = now + o->poll_interval_ms;
        if (kubelet || poll_due)
            nf_collector_reload_kubelet(c);
        if (probe) {
            uint64_t drain;
            if (read(fds[3].fd, &drain, sizeof(drain)) < 0)
                drain = 0;
        }
        if (kubelet || poll_due || probe)
            refresh_and_publish(c, h, metrics);
    }
    nf_exporter_http_stop(h);
    nf_auth_tokens_free(ho.tokens); /* after the server, which borrowed them */
    nf_tls_server_free(ho.tls);
    nf_exporter_metrics_free(metrics); /* after the server: no scrape still reads it */
    nf_file_watch_free(watch);
    close(sfd);
    return rc;
}
