/* http_offload.c - a bounded pool of workers for slow requests (see numafit/http_offload.h). */
#include "numafit/http_offload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "numafit/log.h"

struct nf_offload {
    pthread_mutex_t mu;
    pthread_cond_t work;
    nf_offload_job *head, *tail, *last_urgent; /* the queue: urgent jobs first, each in order */
    unsigned queued, running, max_queued;
    bool stopping;
    int nice;
    unsigned n_threads;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    nf_offload *o = arg;
    /* per thread on Linux: the server's own threads keep their priority */
    if (o->nice && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), o->nice) != 0)
        nf_debug("offload worker keeps its priority", "nice=%d", o->nice);
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->head && !o->stopping)
            pthread_cond_wait(&o->work, &o->mu);
        if (!o->head)
            break; /* stopping, nothing left to run */
        nf_offload_job *j = o->head;
        if (!(o->head = j->next))
            o->tail = NULL;
        if (o->last_urgent == j)
            o->last_urgent = NULL;
        o->queued--;
        o->running++;
        pthread_mutex_unlock(&o->mu);
        j->run(j);
        j->ran = true;
        struct MHD_Connection *c = j->conn;
        pthread_mutex_lock(&o->mu);
        o->running--;
        MHD_resume_connection(c); /* the job may be freed from here on */
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int nf_offload_new(unsigned workers, unsigned max_queued, int nice, nf_offload **out, nf_err *err)
{
    nf_offload *o = calloc(1, sizeof(*o));
    if (!o || !(o->threads = calloc(workers ? workers : 1, sizeof(pthread_t)))) {
        free(o);
        return nf_errf(err, -ENOMEM, "offload workers: out of memory");
    }
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->work, NULL);
    o->max_queued = max_queued;
    o->nice = nice;
    for (unsigned i = 0; i < (workers ? workers : 1); i++) {
        int rc = pthread_create(&o->threads[i], NULL, worker, o);
        if (rc) {
            nf_offload_free(o);
            return nf_errf(err, -rc, "offload workers: %s", strerror(rc));
        }
        o->n_threads++;
    }
    *out = o;
    return 0;
}

int nf_offload_submit(nf_offload *o, nf_offload_job *job)
{
    pthread_mutex_lock(&o->mu);
    int rc = o->stopping ? -ESHUTDOWN : o->queued >= o->max_queued ? -EBUSY : 0;
    if (!rc) {
        job->ran = job->cancelled = false;
        MHD_suspend_connection(job->conn); /* before a worker can see it (and resume it) */
        nf_offload_job **at = job->urgent ? (o->last_urgent ? &o->last_urgent->next : &o->head)
                                          : (o->tail ? &o->tail->next : &o->head);
        job->next = *at;
        *at = job;
        if (!job->next)
            o->tail = job;
        if (job->urgent)
            o->last_urgent = job;
        o->queued++;
        pthread_cond_signal(&o->work);
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

unsigned nf_offload_pending(nf_offload *o)
{
    pthread_mutex_lock(&o->mu);
    unsigned n = o->queued + o->running;
    pthread_mutex_unlock(&o->mu);
    return n;
}

void nf_offload_free(nf_offload *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    for (nf_offload_job *j = o->head, *next; j; j = next) {
        next = j->next;
        j->cancelled = true;
        MHD_resume_connection(j->conn);
    }
    o->head = o->tail = o->last_urgent = NULL;
    o->queued = 0;
    pthread_cond_broadcast(&o->work);
    pthread_mutex_unlock(&o->mu);
    for (unsigned i = 0; i < o->n_threads; i++)
        pthread_join(o->threads[i], NULL);
    pthread_cond_destroy(&o->work);
    pthread_mutex_destroy(&o->mu);
    free(o->threads);
    free(o);
}
