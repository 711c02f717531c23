/* nrt_publisher.c - NodeResourceTopology from the document, and its writer (see nrt_publisher.h).
 */
#include "nrt_publisher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/nrt.h"
#include "numafit/topology_json.h"

#define MAX_BACKOFF_MS 30000
#define MAX_ATTEMPTS 5 /* conflicts in a row before a write counts as failed */

int nf_nrt_of_document(const char *doc, size_t len, json_t **out, nf_err *err)
{
    nf_topology t = {0};
    int rc = nf_topology_parse(doc, len, &t, err);
    if (rc == 0)
        rc = nf_nrt_from_topology(&t, out, err);
    nf_topology_free(&t);
    return rc;
}

static const nf_kube_kind nrt_kind = {NF_NRT_GROUP, NF_NRT_VERSION, NF_NRT_PLURAL};

struct nf_nrt_publisher {
    nf_kube *k;
    int64_t min_interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC: an offer, or stop */
    json_t *pending;     /* newest object not yet written, or NULL */
    bool stopping;
    atomic_bool stop; /* ends an API call in flight */
    nf_nrt_publisher_stats stats;
    /* the publisher thread's own */
    json_t *written;    /* the last object written, as offered */
    char *rv;           /* the resourceVersion seen last, or NULL: read it first */
    int64_t backoff_ms; /* after a failure */
    int64_t not_before; /* monotonic ms: no write before */
};

static const char *name_of(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
}

/* Keep the resourceVersion of an answer (o), or forget it (NULL). */
static void remember_rv(nf_nrt_publisher *p, const json_t *o)
{
    const char *rv =
        o ? json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"))
          : NULL;
    free(p->rv);
    p->rv = rv ? strdup(rv) : NULL;
}

/* Create or update the object; 0 when the server holds it. */
static int write_object(nf_nrt_publisher *p, const json_t *obj, uint64_t *conflicts, nf_err *err)
{
    const char *name = name_of(obj);
    int rc = -EEXIST;
    for (int attempt = 0; attempt < MAX_ATTEMPTS && rc == -EEXIST; attempt++) {
        json_t *ans = NULL;
        if (!p->rv) {
            rc = nf_kube_get_object(p->k, &nrt_kind, name, &ans, &p->stop, err);
            if (rc == -ENOENT) {
                rc = nf_kube_create_object(p->k, &nrt_kind, obj, &ans, &p->stop, err);
                if (rc == 0)
                    nf_info("NodeResourceTopology created", "name=%s", name);
                else if (rc == -EEXIST) /* created meanwhile (or by our earlier attempt) */
                    (*conflicts)++;
                remember_rv(p, rc == 0 ? ans : NULL);
                json_decref(ans);
                continue; /* done, or -EEXIST: read it and update */
            }
            if (rc)
                break;
            remember_rv(p, ans);
            json_decref(ans);
            ans = NULL;
            if (!p->rv) {
                rc = nf_errf(err, -EPROTO, "kube GET %s: the answer has no resourceVersion", name);
                break;
            }
        }
        json_t *put = json_deep_copy(obj);
        json_t *meta = put ? json_object_get(put, "metadata") : NULL;
        if (!meta || json_object_set_new(meta, "resourceVersion", json_string(p->rv))) {
            json_decref(put);
            return nf_errf(err, -ENOMEM, "out of memory");
        }
        rc = nf_kube_update_object(p->k, &nrt_kind, put, &ans, &p->stop, err);
        json_decref(put);
        if (rc == -EEXIST || rc == -ENOENT) { /* changed by someone else, or deleted: read again */
            (*conflicts)++;
            remember_rv(p, NULL);
            rc = -EEXIST;
        } else if (rc == 0) {
            remember_rv(p, ans);
        }
        json_decref(ans);
    }
    return rc;
}

static void *publish_loop(void *arg)
{
    nf_nrt_publisher *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        int64_t now = nf_mono_ms();
        if (!p->pending || now < p->not_before) {
            if (!p->pending) {
                pthread_cond_wait(&p->wake, &p->lock);
            } else {
                struct timespec ts = {.tv_sec = p->not_before / 1000,
                                      .tv_nsec = (p->not_before % 1000) * 1000000};
                pthread_cond_timedwait(&p->wake, &p->lock, &ts);
            }
            continue;
        }
        json_t *obj = p->pending;
        p->pending = NULL;
        if (p->written && json_equal(obj, p->written)) { /* nothing new for the API server */
            json_decref(obj);
            continue;
        }
        pthread_mutex_unlock(&p->lock);

        nf_err err = {{0}};
        int64_t t0 = nf_mono_ms();
        uint64_t conflicts = 0;
        int rc = write_object(p, obj, &conflicts, &err);
        int64_t took = nf_mono_ms() - t0;

        pthread_mutex_lock(&p->lock);
        p->stats.conflicts += conflicts;
        if (rc == 0) {
            p->stats.writes++;
            json_decref(p->written);
            p->written = obj;
            p->backoff_ms = 0;
            p->not_before = nf_mono_ms() + p->min_interval_ms;
            nf_debug("NodeResourceTopology written", "name=%s resource_version=%s took_ms=%lld",
                     name_of(obj), p->rv ? p->rv : "", (long long)took);
            continue;
        }
        if (rc == -ECANCELED) {
            json_decref(obj);
            break;
        }
        p->stats.errors++;
        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : p->min_interval_ms;
        if (p->backoff_ms > MAX_BACKOFF_MS)
            p->backoff_ms = MAX_BACKOFF_MS;
        p->not_before = nf_mono_ms() + p->backoff_ms;
        if (!p->pending) /* retry this one, unless a newer one came */
            p->pending = obj;
        else
            json_decref(obj);
        nf_warn("NodeResourceTopology not written: retrying", "err=\"%s\" retry_ms=%lld", err.msg,
                (long long)p->backoff_ms);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int nf_nrt_publisher_start(nf_kube *k, int64_t min_interval_ms, nf_nrt_publisher **out, nf_err *err)
{
    nf_nrt_publisher *p = calloc(1, sizeof(*p));
    if (!p)
        return nf_errf(err, -ENOMEM, "out of memory");
    p->k = k;
    p->min_interval_ms = min_interval_ms > 0 ? min_interval_ms : 1;
    atomic_init(&p->stop, false);
    pthread_mutex_init(&p->lock, NULL);
    nf_mono_cond_init(&p->wake);
    int rc = pthread_create(&p->thread, NULL, publish_loop, p);
    if (rc) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return nf_errf(err, -rc, "NodeResourceTopology publisher thread: %s", strerror(rc));
    }
    *out = p;
    return 0;
}

void nf_nrt_publisher_offer(nf_nrt_publisher *p, json_t *nrt)
{
    pthread_mutex_lock(&p->lock);
    json_decref(p->pending);
    p->pending = json_incref(nrt);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void nf_nrt_publisher_stats_get(nf_nrt_publisher *p, nf_nrt_publisher_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

void nf_nrt_publisher_stop(nf_nrt_publisher *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    atomic_store(&p->stop, true);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    json_decref(p->pending);
    json_decref(p->written);
    free(p->rv);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
