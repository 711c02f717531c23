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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exporter_http.h"
#include "exporter_metrics.h"
#include "nrt_publisher.h"
#include "numafit/clock.h"
#include "numafit/file_watch.h"
#include "numafit/log.h"
#include "numafit/prom.h"
#include "numafit/signals.h"
#include "privsep.h"

#define DIR_RETRY_MS 5000
#define NF_STUCK_MIN_MS 10000 /* /healthz: a step longer than max(this, 5 poll intervals) */
#define STOP_WAIT_MS 5000     /* after SIGTERM, how long a stuck loop is waited for */
#define HEARTBEAT_MS 1000     /* collector -> http process: health and metrics */

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
    atomic_store(&w->busy_since, nf_mono_ms());
}

static void watch_end(loop_watch *w)
{
    atomic_store(&w->busy_since, 0);
}

static bool loop_healthy(void *cls, char *reason, size_t len)
{
    loop_watch *w = cls;
    int64_t since = atomic_load(&w->busy_since), now = nf_mono_ms();
    if (!since || now - since <= w->stuck_ms)
        return true;
    snprintf(reason, len,
             "the refresh loop has been stuck for %.1f s (bound %.1f s) while %s: a read of "
             "sysfs, procfs or kubelet's files does not return",
             (double)(now - since) / 1000, (double)w->stuck_ms / 1000, atomic_load(&w->doing));
    return false;
}

/* The HTTP side of either process: TLS credentials, tokens, the server, and the
 * NodeResourceTopology made from each document — written to the API server here with
 * --publish-nrt: the HTTP process has the network, the collector of --privsep-user does not. */
typedef struct http_side {
    nf_exporter_http_opts ho;
    nf_exporter_http *h;
    bool have_nrt;
    uint64_t nrt_generation;     /* of the last one built */
    nf_nrt_publisher *publisher; /* NULL without --publish-nrt */
    nf_metrics_fn metrics;       /* the node's metrics (the collector's, maybe over the channel) */
    void *metrics_cls;
} http_side;

/* /metrics: the node's, then what this side adds (the API server writes of --publish-nrt). */
static char *http_side_metrics(void *cls, size_t *len)
{
    http_side *hs = cls;
    size_t blen = 0;
    char *base = hs->metrics(hs->metrics_cls, &blen);
    if (!base || !hs->publisher) {
        *len = blen;
        return base;
    }
    nf_nrt_publisher_stats st;
    nf_nrt_publisher_stats_get(hs->publisher, &st);
    nf_prom p;
    nf_prom_init(&p);
    nf_prom_family(&p, "numafit_exporter_nrt_writes_total", "counter",
                   "NodeResourceTopology objects created or updated in the API server");
    nf_prom_sample_int(&p, "numafit_exporter_nrt_writes_total", (int64_t)st.writes, NULL);
    nf_prom_family(&p, "numafit_exporter_nrt_conflicts_total", "counter",
                   "writes that met a newer object (409) and were retried after reading it");
    nf_prom_sample_int(&p, "numafit_exporter_nrt_conflicts_total", (int64_t)st.conflicts, NULL);
    nf_prom_family(&p, "numafit_exporter_nrt_write_errors_total", "counter",
                   "writes that failed (retried after a backoff)");
    nf_prom_sample_int(&p, "numafit_exporter_nrt_write_errors_total", (int64_t)st.errors, NULL);
    size_t alen = 0;
    char *add = nf_prom_finish(&p, &alen);
    char *all = add ? realloc(base, blen + alen + 1) : NULL;
    if (!all) {
        free(add);
        *len = blen;
        return base;
    }
    memcpy(all + blen, add, alen + 1);
    free(add);
    *len = blen + alen;
    return all;
}

static int http_side_start(const nf_exporter_daemon_opts *o, http_side *hs, nf_err *err)
{
    *hs = (http_side){.ho = {.listen = o->listen,
                             .max_long_polls = o->max_long_polls,
                             .head_timeout_ms = o->head_timeout_ms}};
    int rc;
    if ((o->tls.cert_file && (rc = nf_tls_server_new(&o->tls, &hs->ho.tls, err))) ||
        (o->auth_token_file &&
         (rc = nf_auth_tokens_new(o->auth_token_file, &hs->ho.tokens, err))) ||
        (rc = nf_exporter_http_start(&hs->ho, &hs->h, err))) {
        nf_auth_tokens_free(hs->ho.tokens);
        nf_tls_server_free(hs->ho.tls);
        return rc;
    }
    if (o->kube &&
        (rc = nf_nrt_publisher_start(o->kube, o->publish_nrt_interval_ms, &hs->publisher, err))) {
        nf_exporter_http_stop(hs->h);
        nf_auth_tokens_free(hs->ho.tokens);
        nf_tls_server_free(hs->ho.tls);
        return rc;
    }
    return 0;
}

static void http_side_stop(http_side *hs)
{
    nf_nrt_publisher_stop(hs->publisher);
    nf_exporter_http_stop(hs->h);
    nf_auth_tokens_free(hs->ho.tokens); /* after the server, which borrowed them */
    nf_tls_server_free(hs->ho.tls);
}

static void http_side_set_metrics(http_side *hs, nf_metrics_fn fn, void *cls)
{
    hs->metrics = fn;
    hs->metrics_cls = cls;
    nf_exporter_http_set_metrics(hs->h, http_side_metrics, hs);
}

/* The NodeResourceTopology beside the document: rebuilt when the generation moves (it carries no
 * timestamp, so it cannot change otherwise), from the published text itself so that both
 * endpoints always say the same thing, and handed to the API server writer when there is one. */
static char *nrt_for(http_side *hs, const char *doc, size_t len, uint64_t gen, size_t *nrt_len)
{
    if (hs->have_nrt && hs->nrt_generation == gen)
        return NULL; /* the one published stays */
    json_t *o = NULL;
    nf_err err;
    char *text = NULL;
    if (nf_nrt_of_document(doc, len, &o, &err) == 0) {
        text = json_dumps(o, JSON_COMPACT);
        if (hs->publisher)
            nf_nrt_publisher_offer(hs->publisher, o);
        json_decref(o);
    } else {
        nf_warn("no NodeResourceTopology for this document", "generation=%llu err=\"%s\"",
                (unsigned long long)gen, err.msg);
    }
    hs->have_nrt = text != NULL;
    hs->nrt_generation = gen;
    *nrt_len = text ? strlen(text) : 0;
    return text;
}

/* Takes ownership of doc. */
static int http_side_publish(http_side *hs, char *doc, size_t len, uint64_t gen)
{
    size_t nrt_len = 0;
    char *nrt = nrt_for(hs, doc, len, gen, &nrt_len);
    return nf_exporter_http_publish(hs->h, doc, len, nrt, nrt_len, gen);
}

static void log_serving(const nf_exporter_daemon_opts *o, const http_side *hs, bool separated)
{
    nf_info("serving",
            "listen=%s port=%u tls=%s client_ca=%s auth_token_file=%s privsep=%s publish_nrt=%s",
            o->listen, (unsigned)nf_exporter_http_port(hs->h), hs->ho.tls ? "on" : "off",
            o->tls.client_ca_file ? o->tls.client_ca_file : "none",
            o->auth_token_file ? o->auth_token_file : "none", separated ? "on" : "off",
            hs->publisher ? "on" : "off");
    if (hs->ho.tokens && !hs->ho.tls)
        nf_warn("bearer tokens over plain HTTP: anyone on the path can read them",
                "hint=\"add --tls-cert and --tls-key\"");
}

/* Where documents go: the HTTP server in this process, or the channel to the http process
 * (privsep.h), which also gets the metrics text and the loop's health every heartbeat. */
typedef struct outlet {
    http_side *hs;        /* NULL with a channel */
    int fd;               /* -1 without a channel */
    pthread_mutex_t lock; /* the loop and the heartbeat both send */
    nf_exporter_metrics *metrics;
    int64_t next_beat;
} outlet;

/* A frame that did not go whole leaves the stream out of step: end the channel, which the
 * loop sees (POLLHUP) and ends with. Called with ot->lock held. */
static int outlet_check(outlet *ot, int rc, const char *what)
{
    if (rc) {
        nf_error("the http process does not take the collector's frames; ending the channel",
                 "frame=%s error=\"%s\"", what, nf_strerror(rc));
        shutdown(ot->fd, SHUT_RDWR);
    }
    return rc;
}

static int outlet_send_metrics(outlet *ot)
{
    size_t len = 0;
    char *text = ot->metrics ? nf_exporter_metrics_render(ot->metrics, &len) : NULL;
    int rc = text ? nf_privsep_send(ot->fd, NF_PRIVSEP_METRICS, 0, text, len) : 0;
    free(text);
    return outlet_check(ot, rc, "metrics");
}

static int outlet_publish(outlet *ot, char *doc, size_t len, uint64_t gen)
{
    if (ot->hs)
        return http_side_publish(ot->hs, doc, len, gen);
    pthread_mutex_lock(&ot->lock);
    int rc = outlet_check(ot, nf_privsep_send(ot->fd, NF_PRIVSEP_DOC, gen, doc, len), "document");
    if (!rc)
        rc = outlet_send_metrics(ot);
    pthread_mutex_unlock(&ot->lock);
    free(doc);
    return rc;
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
    outlet *ot;
} stopper;

/* The http process hears from the collector every HEARTBEAT_MS, also while the loop is busy or
 * stuck: that is how its /healthz tells a stuck loop from a dead collector. */
static void heartbeat(stopper *s)
{
    outlet *ot = s->ot;
    if (ot->fd < 0 || nf_mono_ms() < ot->next_beat)
        return;
    ot->next_beat = nf_mono_ms() + HEARTBEAT_MS;
    char reason[512] = "";
    if (loop_healthy(s->lw, reason, sizeof(reason)))
        reason[0] = '\0';
    pthread_mutex_lock(&ot->lock);
    if (!outlet_check(ot, nf_privsep_send(ot->fd, NF_PRIVSEP_HEALTH, 0, reason, strlen(reason)),
                      "health"))
        outlet_send_metrics(ot);
    pthread_mutex_unlock(&ot->lock);
}

static void *stop_thread(void *arg)
{
    stopper *s = arg;
    sigset_t set;
    nf_stop_signals(&set);
    const struct timespec tick = {.tv_nsec = 100 * 1000000};
    int sig = -1;
    while (!atomic_load(&s->stopped) && sig <= 0) {
        heartbeat(s);
        sig = sigtimedwait(&set, NULL, &tick);
    }
    if (sig <= 0)
        return NULL;
    atomic_store(&s->signo, sig);
    uint64_t one = 1;
    if (write(s->fd, &one, sizeof(one)) < 0)
        one = 0; /* an eventfd write fails only when it is already signalled */
    for (int64_t until = nf_mono_ms() + STOP_WAIT_MS;
         !atomic_load(&s->stopped) && nf_mono_ms() < until;)
        usleep(20000);
    if (!atomic_load(&s->stopped)) {
        nf_error("stopping without a clean stop: the refresh loop is stuck",
                 "signal=%d waited_ms=%d doing=\"%s\"", sig, STOP_WAIT_MS,
                 atomic_load(&s->lw->doing));
        _exit(1);
    }
    return NULL;
}

static int refresh_and_publish(nf_collector *c, outlet *ot, nf_exporter_metrics *m, loop_watch *w)
{
    char *doc;
    size_t len;
    uint64_t gen;
    bool changed;
    uint64_t t0 = nf_mono_ns();
    watch_begin(w, "refreshing the topology");
    test_stall();
    int rc = nf_collector_refresh(c, &doc, &len, &gen, &changed);
    watch_end(w);
    nf_exporter_metrics_refresh(m, nf_mono_ns() - t0, rc, rc ? NULL : doc, rc ? 0 : len);
    nf_kubelet_input in[NF_COLLECTOR_INPUTS];
    size_t nin = nf_collector_inputs(c, in, NF_COLLECTOR_INPUTS);
    nf_exporter_metrics_inputs(m, in, nin);
    nf_podres_disagreement dis;
    nf_collector_podres_disagreement(c, &dis);
    nf_exporter_metrics_podres(m, &dis);
    if (rc) {
        nf_error("refresh failed; serving the previous document", "error=\"%s\"", nf_strerror(rc));
        return rc;
    }
    if (changed)
        nf_info("topology changed", "generation=%llu bytes=%zu", (unsigned long long)gen, len);
    return outlet_publish(ot, doc, len, gen);
}

int nf_exporter_daemon_run(nf_collector *c, const nf_exporter_daemon_opts *o, nf_err *err)
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

    outlet ot = {.fd = o->channel ? o->channel_fd : -1};
    pthread_mutex_init(&ot.lock, NULL);
    http_side hs;
    if (!o->channel && (rc = http_side_start(o, &hs, err))) {
        nf_file_watch_free(watch);
        close(sfd);
        return rc;
    }
    nf_exporter_metrics *metrics = NULL;
    if (!o->channel)
        ot.hs = &hs;
    if (nf_exporter_metrics_new(&metrics) == 0 && ot.hs)
        http_side_set_metrics(&hs, nf_exporter_metrics_render, metrics);
    ot.metrics = metrics;
    loop_watch lw = {.stuck_ms = o->poll_interval_ms * 5 > NF_STUCK_MIN_MS ? o->poll_interval_ms * 5
                                                                           : NF_STUCK_MIN_MS};
    atomic_init(&lw.busy_since, 0);
    atomic_init(&lw.doing, "idle");
    stopper st = {.fd = sfd, .lw = &lw, .ot = &ot};
    atomic_init(&st.signo, 0);
    atomic_init(&st.stopped, false);
    if ((rc = pthread_create(&st.thread, NULL, stop_thread, &st))) {
        /* without it no signal would be heard: do not serve */
        if (ot.hs)
            http_side_stop(&hs);
        nf_exporter_metrics_free(metrics);
        nf_file_watch_free(watch);
        close(sfd);
        return nf_errf(err, -rc, "signal thread: %s", strerror(rc));
    }
    if (ot.hs)
        nf_exporter_http_set_health(hs.h, loop_healthy, &lw);
    if ((stall_file = getenv("NUMAFIT_TEST_STALL_FILE")) && *stall_file)
        nf_warn("test hook: refreshes wait while this file exists", "file=\"%s\"", stall_file);
    else
        stall_file = NULL;
    /* first, so that "serving" means a document is there */
    refresh_and_publish(c, &ot, metrics, &lw);
    if (ot.hs)
        log_serving(o, &hs, false);
    else
        nf_info("collector running without network access; the http process serves", "http_pid=%d",
                (int)o->http_pid);

    int64_t next_poll = nf_mono_ms() + o->poll_interval_ms,
            next_retry = nf_mono_ms() + DIR_RETRY_MS;
    for (;;) {
        int64_t now = nf_mono_ms();
        int64_t wait = next_poll - now;
        if (next_retry - now < wait)
            wait = next_retry - now;
        /* the http process never writes: its end closing is POLLHUP; podresources answers on
         * its own thread: its fd says a new answer is there */
        struct pollfd fds[5] = {{.fd = sfd, .events = POLLIN},
                                {.fd = nf_file_watch_fd(watch), .events = POLLIN},
                                {.fd = ot.fd, .events = POLLIN},
                                {.fd = nf_collector_podres_fd(c), .events = POLLIN},
                                {.fd = nf_collector_probe_fd(c), .events = POLLIN}};
        int n = poll(fds, 5, wait < 0 ? 0 : (int)wait); /* fd -1 is skipped */
        if (n < 0 && errno != EINTR) {
            rc = nf_errf(err, -errno, "poll: %s", strerror(errno));
            break;
        }
        if (fds[0].revents & POLLIN) {
            nf_info("stopping", "signal=%d", atomic_load(&st.signo));
            rc = 0;
            break;
        }
        if (fds[2].revents) {
            rc = nf_errf(err, -EPIPE, "the http process (pid %d) ended", (int)o->http_pid);
            break;
        }
        bool kubelet = (fds[1].revents & POLLIN) && nf_file_watch_drain(watch);
        if (kubelet) /* what kubelet assigned changed: ask podresources too */
            nf_collector_podres_kick(c);
        kubelet |= n > 0 && fds[3].fd >= 0 && (fds[3].revents & POLLIN);
        bool probe = n > 0 && fds[4].fd >= 0 && (fds[4].revents & POLLIN);
        now = nf_mono_ms();
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
            if (read(fds[4].fd, &drain, sizeof(drain)) < 0)
                drain = 0;
        }
        if (kubelet || poll_due || probe)
            refresh_and_publish(c, &ot, metrics, &lw);
    }
    atomic_store(&st.stopped, true);
    pthread_join(st.thread, NULL);
    if (ot.hs)
        http_side_stop(&hs); /* before lw goes out of scope: no /healthz reads it any more */
    nf_exporter_metrics_free(metrics); /* after the server: no scrape still reads it */
    pthread_mutex_destroy(&ot.lock);
    nf_file_watch_free(watch);
    close(sfd);
    return rc;
}

/* ---- the http process (--privsep-user) ---------------------------------------------------- */

typedef struct channel {
    int fd;
    http_side hs;
    int wake; /* eventfd: the reader saw the end of the channel */
    pthread_t reader;
    pthread_mutex_t lock;
    char *metrics; /* the last text, NULL before the first */
    size_t metrics_len;
    char reason[512]; /* the collector's last health: "" = healthy */
    int64_t heard;    /* monotonic ms of the last frame */
    _Atomic int end;  /* why the reader stopped: -EPIPE = the collector closed, 1 = asked to */
} channel;

static char *channel_metrics(void *cls, size_t *len)
{
    channel *ch = cls;
    pthread_mutex_lock(&ch->lock);
    char *text = ch->metrics ? malloc(ch->metrics_len + 1) : NULL;
    if (text) {
        memcpy(text, ch->metrics, ch->metrics_len + 1);
        *len = ch->metrics_len;
    }
    pthread_mutex_unlock(&ch->lock);
    return text;
}

static bool channel_healthy(void *cls, char *reason, size_t len)
{
    channel *ch = cls;
    pthread_mutex_lock(&ch->lock);
    int64_t silent = nf_mono_ms() - ch->heard;
    bool ok = silent <= NF_PRIVSEP_SILENT_MS && !ch->reason[0];
    if (silent > NF_PRIVSEP_SILENT_MS)
        snprintf(reason, len, "the collector process sent nothing for %.1f s (bound %.1f s)",
                 (double)silent / 1000, (double)NF_PRIVSEP_SILENT_MS / 1000);
    else if (!ok)
        snprintf(reason, len, "%s", ch->reason);
    pthread_mutex_unlock(&ch->lock);
    return ok;
}

/* One frame into the server's state; the document's ownership goes to the server. */
static void channel_take(channel *ch, enum nf_privsep_frame type, uint64_t gen, char *data,
                         size_t len)
{
    pthread_mutex_lock(&ch->lock);
    ch->heard = nf_mono_ms();
    if (type == NF_PRIVSEP_METRICS) {
        free(ch->metrics);
        ch->metrics = data;
        ch->metrics_len = len;
        data = NULL;
    } else if (type == NF_PRIVSEP_HEALTH) {
        snprintf(ch->reason, sizeof(ch->reason), "%s", data);
    }
    pthread_mutex_unlock(&ch->lock);
    if (type == NF_PRIVSEP_DOC) {
        http_side_publish(&ch->hs, data, len, gen); /* one reader thread: hs's NRT state is its */
        data = NULL;
    }
    free(data);
}

static void *channel_reader(void *arg)
{
    channel *ch = arg;
    for (;;) {
        enum nf_privsep_frame type;
        uint64_t gen;
        char *data;
        size_t len;
        int rc = nf_privsep_recv(ch->fd, &type, &gen, &data, &len);
        if (!rc && type == NF_PRIVSEP_STOP) {
            free(data);
            rc = 1; /* asked to stop: not an error */
        }
        if (rc) {
            atomic_store(&ch->end, rc);
            break;
        }
        channel_take(ch, type, gen, data, len);
    }
    uint64_t one = 1;
    if (write(ch->wake, &one, sizeof(one)) < 0)
        one = 0;
    return NULL;
}

int nf_exporter_daemon_serve_channel(int fd, const nf_exporter_daemon_opts *o, nf_err *err)
{
    channel ch = {.fd = fd, .heard = nf_mono_ms()};
    atomic_init(&ch.end, 0);
    enum nf_privsep_frame type = 0;
    uint64_t gen;
    char *doc = NULL;
    size_t len;
    int rc;
    /* the collector's first document before the port opens, as without separation */
    do {
        free(doc);
        doc = NULL;
        if ((rc = nf_privsep_recv(fd, &type, &gen, &doc, &len)))
            return nf_errf(err, rc,
                           rc == -EPIPE ? "the collector ended before its first document"
                                        : "reading the collector's channel: %s",
                           nf_strerror(rc));
        if (type == NF_PRIVSEP_STOP) {
            free(doc);
            nf_info("stopping", "asked_by=collector");
            return 0;
        }
    } while (type != NF_PRIVSEP_DOC);
    if ((rc = http_side_start(o, &ch.hs, err))) {
        free(doc);
        return rc;
    }
    http_side_publish(&ch.hs, doc, len, gen);
    pthread_mutex_init(&ch.lock, NULL);
    http_side_set_metrics(&ch.hs, channel_metrics, &ch);
    nf_exporter_http_set_health(ch.hs.h, channel_healthy, &ch);
    if ((ch.wake = eventfd(0, EFD_CLOEXEC)) < 0 ||
        (rc = pthread_create(&ch.reader, NULL, channel_reader, &ch))) {
        rc = ch.wake < 0 ? -errno : -rc;
        if (ch.wake >= 0)
            close(ch.wake);
        http_side_stop(&ch.hs);
        pthread_mutex_destroy(&ch.lock);
        return nf_errf(err, rc, "channel reader: %s", nf_strerror(rc));
    }
    log_serving(o, &ch.hs, true);

    sigset_t set;
    nf_stop_signals(&set);
    const struct timespec tick = {.tv_nsec = 100 * 1000000};
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig > 0) {
            nf_info("stopping", "signal=%d", sig);
            rc = 0;
            break;
        }
        struct pollfd p = {.fd = ch.wake, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            int end = atomic_load(&ch.end);
            if (end == 1) {
                nf_info("stopping", "asked_by=collector");
                rc = 0;
                break;
            }
            rc = nf_errf(err, end,
                         end == -EPIPE ? "the collector process is gone%s"
                                       : "the collector's channel broke: %s",
                         end == -EPIPE ? "" : nf_strerror(end));
            break;
        }
    }
    shutdown(fd, SHUT_RDWR); /* ends the reader's read */
    pthread_join(ch.reader, NULL);
    http_side_stop(&ch.hs);
    close(ch.wake);
    free(ch.metrics);
    pthread_mutex_destroy(&ch.lock);
    return rc;
}
