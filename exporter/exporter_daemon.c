/* exporter_daemon.c - the exporter's event loop (see exporter_daemon.h). */
#include "exporter_daemon.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "exporter_http.h"
#include "exporter_metrics.h"
#include "file_watch.h"
#include "numafit/log.h"

#define DIR_RETRY_MS 5000
#define NF_STUCK_MIN_MS 10000 /* /healthz: a step longer than max(this, 5 poll intervals) */
#define STOP_WAIT_MS 5000     /* after SIGTERM, how long a stuck loop is waited for */

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

/* The refresh loop's watchdog: what the loop is doing and since when (monotonic ms, 0 = idle,
 * waiting in poll). /healthz fails when one step takes longer than stuck_ms: a read that never
 * returns (a hung filesystem) stalls the loop, and a liveness probe should restart it. */
typedef struct loop_watch {
    _Atomic int64_t busy_since;
    _Atomic(const char *) doing; /* a static string */
    int64_t stuck_ms;
} loop_watch;

static void watch_begin(loop_watch *w, const char *doing)
{
    atomic_store(&w->doing, doing);
    atomic_store(&w->busy_since, now_ms());
}

static void watch_end(loop_watch *w)
{
    atomic_store(&w->busy_since, 0);
}

static bool loop_healthy(void *cls, char *reason, size_t len)
{
    loop_watch *w = cls;
    int64_t since = atomic_load(&w->busy_since), now = now_ms();
    if (!since || now - since <= w->stuck_ms)
        return true;
    snprintf(reason, len,
             "the refresh loop has been stuck for %.1f s (bound %.1f s) while %s: a read of "
             "sysfs, procfs or kubelet's files does not return",
             (double)(now - since) / 1000, (double)w->stuck_ms / 1000, atomic_load(&w->doing));
    return false;
}

/* Test hook (NUMAFIT_TEST_STALL_FILE, logged when set): while that file exists, a refresh
 * waits, as one stuck in a read of a hung filesystem would. Lets the tests see the watchdog. */
static const char *stall_file;

static void test_stall(void)
{
    while (stall_file && access(stall_file, F_OK) == 0)
        usleep(20000);
}

/* SIGTERM/SIGINT are taken by a thread of their own: it wakes the loop (fd), and when the loop
 * is stuck in a step that does not return, it ends the process after STOP_WAIT_MS instead of
 * letting the signal go unheard. */
typedef struct stopper {
    pthread_t thread;
    int fd;               /* eventfd the loop polls */
    _Atomic int signo;    /* the signal received, 0 before */
    _Atomic bool stopped; /* the loop has left: the thread returns */
    loop_watch *lw;
} stopper;

static void *stop_thread(void *arg)
{
    stopper *s = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    const struct timespec tick = {.tv_nsec = 100 * 1000000};
    int sig = -1;
    while (!atomic_load(&s->stopped) && sig <= 0)
        sig = sigtimedwait(&set, NULL, &tick);
    if (sig <= 0)
        return NULL;
    atomic_store(&s->signo, sig);
    uint64_t one = 1;
    if (write(s->fd, &one, sizeof(one)) < 0)
        one = 0; /* an eventfd write fails only when it is already signalled */
    for (int64_t until = now_ms() + STOP_WAIT_MS; !atomic_load(&s->stopped) && now_ms() < until;)
        usleep(20000);
    if (!atomic_load(&s->stopped)) {
        nf_error("stopping without a clean stop: the refresh loop is stuck",
                 "signal=%d waited_ms=%d doing=\"%s\"", sig, STOP_WAIT_MS,
                 atomic_load(&s->lw->doing));
        _exit(1);
    }
    return NULL;
}

static int refresh_and_publish(nf_collector *c, nf_exporter_http *h, nf_exporter_metrics *m,
                               loop_watch *w)
{
    char *doc;
    size_t len;
    uint64_t gen;
    bool changed;
    uint64_t t0 = mono_ns();
    watch_begin(w, "refreshing the topology");
    test_stall();
    int rc = nf_collector_refresh(c, &doc, &len, &gen, &changed);
    watch_end(w);
    nf_exporter_metrics_refresh(m, mono_ns() - t0, rc, rc ? NULL : doc, rc ? 0 : len);
    nf_kubelet_input in[NF_COLLECTOR_INPUTS];
    size_t nin = nf_collector_inputs(c, in, NF_COLLECTOR_INPUTS);
    nf_exporter_metrics_inputs(m, in, nin);
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
    int sfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* written by the stop thread */
    if (sfd < 0)
        return nf_errf(err, -errno, "eventfd: %s", strerror(errno));

    size_t ndirs;
    const char *const *dirs = nf_collector_watch_dirs(c, &ndirs);
    nf_file_watch *watch = NULL;
    int rc = nf_file_watch_new(dirs, ndirs, &watch);
    if (rc) {
        close(sfd);
        return nf_errf(err, rc, "inotify: %s", nf_strerror(rc));
    }

    nf_exporter_http *h = NULL;
    nf_exporter_http_opts ho = {.listen = o->listen,
                                .max_long_polls = o->max_long_polls,
                                .head_timeout_ms = o->head_timeout_ms};
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
    loop_watch lw = {.stuck_ms = o->poll_interval_ms * 5 > NF_STUCK_MIN_MS ? o->poll_interval_ms * 5
                                                                           : NF_STUCK_MIN_MS};
    atomic_init(&lw.busy_since, 0);
    atomic_init(&lw.doing, "idle");
    stopper st = {.fd = sfd, .lw = &lw};
    atomic_init(&st.signo, 0);
    atomic_init(&st.stopped, false);
    if ((rc = pthread_create(&st.thread, NULL, stop_thread, &st))) {
        /* without it no signal would be heard: do not serve */
        nf_exporter_http_stop(h);
        nf_exporter_metrics_free(metrics);
        nf_file_watch_free(watch);
        close(sfd);
        return nf_errf(err, -rc, "signal thread: %s", strerror(rc));
    }
    nf_exporter_http_set_health(h, loop_healthy, &lw);
    if ((stall_file = getenv("NUMAFIT_TEST_STALL_FILE")) && *stall_file)
        nf_warn("test hook: refreshes wait while this file exists", "file=\"%s\"", stall_file);
    else
        stall_file = NULL;
    /* first, so that "serving" means a document is there */
    refresh_and_publish(c, h, metrics, &lw);
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
        if (next_retry - now < wait)
            wait = next_retry - now;
        struct pollfd fds[3] = {{.fd = sfd, .events = POLLIN},
                                {.fd = nf_file_watch_fd(watch), .events = POLLIN},
                                {.fd = nf_collector_probe_fd(c), .events = POLLIN}};
        int n = poll(fds, fds[2].fd >= 0 ? 3 : 2, wait < 0 ? 0 : (int)wait);
        if (n < 0 && errno != EINTR) {
            rc = nf_errf(err, -errno, "poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents & POLLIN) {
            nf_info("stopping", "signal=%d", atomic_load(&st.signo));
            rc = 0;
            break;
        }
        bool kubelet = (fds[1].revents & POLLIN) && nf_file_watch_drain(watch);
        bool probe = n > 0 && fds[2].fd >= 0 && (fds[2].revents & POLLIN);
        now = now_ms();
        if (now >= next_retry) {
            kubelet |= nf_file_watch_retry(watch) > 0;
            next_retry = now + DIR_RETRY_MS;
        }
        bool poll_due = now >= next_poll;
        if (poll_due)
            next_poll = now + o->poll_interval_ms;
        if (kubelet || poll_due) {
            watch_begin(&lw, "reading kubelet's files");
            nf_collector_reload_kubelet(c);
            watch_end(&lw);
        }
        if (probe) {
            uint64_t drain;
            if (read(fds[2].fd, &drain, sizeof(drain)) < 0)
                drain = 0;
        }
        if (kubelet || poll_due || probe)
            refresh_and_publish(c, h, metrics, &lw);
    }
    atomic_store(&st.stopped, true);
    pthread_join(st.thread, NULL);
    nf_exporter_http_stop(h);       /* before lw goes out of scope: no /healthz reads it any more */
    nf_auth_tokens_free(ho.tokens); /* after the server, which borrowed them */
    nf_tls_server_free(ho.tls);
    nf_exporter_metrics_free(metrics); /* after the server: no scrape still reads it */
    nf_file_watch_free(watch);
    close(sfd);
    return rc;
}
