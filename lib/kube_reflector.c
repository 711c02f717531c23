/* kube_reflector.c - list + watch pods (or objects of any kind) on a thread, the way client-go's
 * reflector does (see numafit/kube.h): list, hand the whole set to on_list, then watch from the
 * list's resourceVersion; a stream the server ends normally is resumed from the newest
 * resourceVersion seen, a 410 Gone (-ESTALE) means relist, any other failure waits an exponential
 * backoff (BACKOFF_MIN_MS doubling to BACKOFF_MAX_MS, with jitter) and tries again. stop() sets a
 * flag that the list, the watch and the backoff all look at every <= 50 ms, then joins.
 */
#include "numafit/kube.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numafit/clock.h"
#include "numafit/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define WATCH_TIMEOUT_MIN_S 300 /* client-go: 5..10 minutes, so that watches spread out */

struct nf_kube_reflector {
    nf_kube *k;
    nf_kube_kind kind; /* its strings owned */
    char *field_selector;
    nf_kube_reflector_ops ops;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool synced;
    atomic_uint_fast64_t lists, watches, errors;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on synced and on stop */
    unsigned seed;
};

/* Wait ms or until stop; false when stopped. */
static bool wait_ms(nf_kube_reflector *r, int64_t ms)
{
    struct timespec ts = nf_mono_ts(nf_mono_ms() + ms);
    pthread_mutex_lock(&r->mu);
    while (!atomic_load(&r->stop) && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&r->mu);
    return !atomic_load(&r->stop);
}

static int64_t backoff_next(nf_kube_reflector *r, int64_t *backoff)
{
    int64_t d = *backoff + (int64_t)(rand_r(&r->seed) % (unsigned)(*backoff / 2 + 1));
    *backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
    return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

static int on_watch_event(void *ctx, const char *type, json_t *object)
{
    nf_kube_reflector *r = ctx;
    if (strcmp(type, "BOOKMARK") != 0 && r->ops.on_event)
        r->ops.on_event(r->ops.ctx, type, object);
    return 0;
}

static void *run(void *arg)
{
    nf_kube_reflector *r = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    const char *fs = r->field_selector;
    while (!atomic_load(&r->stop)) {
        json_t *items = NULL;
        char *rv = NULL;
        nf_err err = {{0}};
        int rc = nf_kube_list_objects_until(r->k, &r->kind, fs, &items, &rv, &r->stop, &err);
        if (rc == -ECANCELED || atomic_load(&r->stop)) {
            json_decref(items); /* a list that was complete when the stop came */
            free(rv);
            break;
        }
        if (rc) {
            atomic_fetch_add(&r->errors, 1);
            int64_t d = backoff_next(r, &backoff);
            nf_warn("kube reflector: list failed", "server=%s err=\"%s\" retry_ms=%lld",
                    nf_kube_server(r->k), err.msg, (long long)d);
            wait_ms(r, d);
            continue;
        }
        atomic_fetch_add(&r->lists, 1);
        if (r->ops.on_list)
            r->ops.on_list(r->ops.ctx, items);
        json_decref(items);
        if (!atomic_exchange(&r->synced, true)) {
            pthread_mutex_lock(&r->mu);
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
        backoff = BACKOFF_MIN_MS;
        /* Watch from rv until 410 (relist) or stop. */
        while (!atomic_load(&r->stop)) {
            atomic_fetch_add(&r->watches, 1);
            int tmo = WATCH_TIMEOUT_MIN_S + rand_r(&r->seed) % WATCH_TIMEOUT_MIN_S;
            rc = nf_kube_watch_objects(r->k, &r->kind, fs, &rv, tmo, on_watch_event, r, &r->stop,
                                       &err);
            if (rc == -ECANCELED || atomic_load(&r->stop))
                break;
            if (rc == 0) { /* the server ended the stream: resume */
                backoff = BACKOFF_MIN_MS;
                continue;
            }
            if (rc == -ESTALE) {
                nf_info("kube reflector: resourceVersion expired: relisting", "rv=%s err=\"%s\"",
                        rv ? rv : "", err.msg);
                break;
            }
            atomic_fetch_add(&r->errors, 1);
            int64_t d = backoff_next(r, &backoff);
            nf_warn("kube reflector: watch failed", "server=%s err=\"%s\" retry_ms=%lld",
                    nf_kube_server(r->k), err.msg, (long long)d);
            if (!wait_ms(r, d))
                break;
        }
        free(rv);
    }
    return NULL;
}

static void free_kind(nf_kube_kind *kind)
{
    free((char *)kind->group);
    free((char *)kind->version);
    free((char *)kind->plural);
}

int nf_kube_reflector_start(nf_kube *k, const char *field_selector,
                            const nf_kube_reflector_ops *ops, nf_kube_reflector **out, nf_err *err)
{
    static const nf_kube_kind pods = {"", "v1", "pods"};
    return nf_kube_reflector_start_kind(k, &pods, field_selector, ops, out, err);
}

int nf_kube_reflector_start_kind(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                                 const nf_kube_reflector_ops *ops, nf_kube_reflector **out,
                                 nf_err *err)
{
    *out = NULL;
    nf_kube_reflector *r = calloc(1, sizeof(*r));
    if (!r)
        return nf_errf(err, -ENOMEM, "kube reflector: out of memory");
    r->k = k;
    if (ops)
        r->ops = *ops;
    r->kind = (nf_kube_kind){strdup(kind->group ? kind->group : ""), strdup(kind->version),
                             strdup(kind->plural)};
    if ((field_selector && !(r->field_selector = strdup(field_selector))) || !r->kind.group ||
        !r->kind.version || !r->kind.plural) {
        free_kind(&r->kind);
        free(r->field_selector);
        free(r);
        return nf_errf(err, -ENOMEM, "kube reflector: out of memory");
    }
    atomic_init(&r->stop, false);
    atomic_init(&r->synced, false);
    atomic_init(&r->lists, 0);
    atomic_init(&r->watches, 0);
    atomic_init(&r->errors, 0);
    r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r;
    pthread_mutex_init(&r->mu, NULL);
    nf_mono_cond_init(&r->cv);
    int rc = pthread_create(&r->thread, NULL, run, r);
    if (rc) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free_kind(&r->kind);
        free(r->field_selector);
        free(r);
        return nf_errf(err, -rc, "kube reflector: pthread_create: %s", strerror(rc));
    }
    *out = r;
    return 0;
}

bool nf_kube_reflector_synced(nf_kube_reflector *r)
{
    return atomic_load(&r->synced);
}

bool nf_kube_reflector_wait_synced(nf_kube_reflector *r, int64_t timeout_ms)
{
    struct timespec ts = nf_mono_ts(nf_mono_ms() + timeout_ms);
    pthread_mutex_lock(&r->mu);
    while (!atomic_load(&r->synced) && !atomic_load(&r->stop) &&
           pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&r->mu);
    return atomic_load(&r->synced);
}

void nf_kube_reflector_counts(nf_kube_reflector *r, uint64_t *lists, uint64_t *watches,
                              uint64_t *errors)
{
    if (lists)
        *lists = atomic_load(&r->lists);
    if (watches)
        *watches = atomic_load(&r->watches);
    if (errors)
        *errors = atomic_load(&r->errors);
}

void nf_kube_reflector_stop(nf_kube_reflector *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free_kind(&r->kind);
    free(r->field_selector);
    free(r);
}
