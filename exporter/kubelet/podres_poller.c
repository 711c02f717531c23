/* podres_poller.c - podresources fetches on their own thread (podres_poller.h). */
#include "podres_poller.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "numafit/clock.h"
#include "numafit/log.h"

struct nf_podres_poller {
    nf_podres_client *client; /* used by the thread only (after the first fetch) */
    int64_t interval_ms;
    int fd;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop, kicked;
    bool have; /* box holds an outcome not taken yet */
    nf_podres_outcome box;
};

static void fetch(nf_podres_poller *p)
{
    nf_podres_outcome o;
    memset(&o, 0, sizeof(o));
    nf_err err = {{0}};
    o.started_mono = nf_mono_ms();
    o.rc = nf_podres_fetch(p->client, &o.state, &err);
    o.took_ms = nf_mono_ms() - o.started_mono;
    if (o.rc)
        snprintf(o.msg, sizeof(o.msg), "%s", err.msg);
    pthread_mutex_lock(&p->mu);
    if (p->have)
        nf_podres_state_free(&p->box.state);
    p->box = o;
    p->have = true;
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    if (write(p->fd, &one, sizeof(one)) < 0)
        one = 0; /* only when the counter is full: it is readable anyway */
}

static void *run(void *arg)
{
    nf_podres_poller *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec ts = nf_mono_ts(nf_mono_ms() + p->interval_ms);
        while (!p->stop && !p->kicked)
            if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
                break;
        if (p->stop)
            break;
        p->kicked = false;
        pthread_mutex_unlock(&p->mu);
        fetch(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int nf_podres_poller_start(const nf_podres_poller_opts *o, nf_podres_poller **out)
{
    nf_podres_poller *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->interval_ms = o->interval_ms > 0 ? o->interval_ms : NF_PODRES_INTERVAL_DEFAULT_MS;
    p->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&p->mu, NULL);
    nf_mono_cond_init(&p->cv);
    int rc = p->fd < 0 ? -errno : nf_podres_client_new(o->socket_path, o->timeout_ms, &p->client);
    if (!rc) {
        fetch(p); /* the first outcome is there before the first document */
        rc = -pthread_create(&p->thread, NULL, run, p);
        p->started = rc == 0;
    }
    if (rc) {
        nf_podres_poller_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

void nf_podres_poller_stop(nf_podres_poller *p)
{
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    if (p->have)
        nf_podres_state_free(&p->box.state);
    nf_podres_client_free(p->client);
    if (p->fd >= 0)
        close(p->fd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int nf_podres_poller_fd(const nf_podres_poller *p)
{
    return p->fd;
}

void nf_podres_poller_kick(nf_podres_poller *p)
{
    pthread_mutex_lock(&p->mu);
    p->kicked = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int nf_podres_poller_take(nf_podres_poller *p, nf_podres_outcome *out)
{
    uint64_t drain;
    if (read(p->fd, &drain, sizeof(drain)) < 0)
        drain = 0; /* EAGAIN: nothing signalled */
    pthread_mutex_lock(&p->mu);
    bool have = p->have;
    if (have) {
        *out = p->box;
        memset(&p->box, 0, sizeof(p->box));
        p->have = false;
    }
    pthread_mutex_unlock(&p->mu);
    return have;
}
