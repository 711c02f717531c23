/* nrt_source.c - NodeResourceTopology objects as a cache source (see nrt_source.h). */
#include "nrt_source.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/nrt.h"
#include "numafit/strlist.h"

struct nf_nrt_source {
    nf_cache *cache;
    nf_kube_reflector *refl;
    char *source; /* "nrt:<server>" */
    pthread_mutex_t lock;
    char **known; /* nodes this source put, for a relist to drop the vanished ones */
    size_t n_known;
};

static const nf_kube_kind nrt_kind = {NF_NRT_GROUP, NF_NRT_VERSION, NF_NRT_PLURAL};

static bool known(const nf_nrt_source *s, const char *name, size_t *at)
{
    for (size_t k = 0; k < s->n_known; k++)
        if (strcmp(s->known[k], name) == 0) {
            *at = k;
            return true;
        }
    return false;
}

static void forget(nf_nrt_source *s, size_t at)
{
    free(s->known[at]);
    memmove(&s->known[at], &s->known[at + 1], (s->n_known - at - 1) * sizeof(*s->known));
    s->n_known--;
}

static const char *name_of(const json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
}

/* Convert and cache one object. */
static void put(nf_nrt_source *s, const json_t *o)
{
    nf_topology t;
    nf_err err;
    const char *name = name_of(o);
    if (nf_nrt_to_topology(o, &t, &err)) {
        nf_warn("NodeResourceTopology not used", "name=%s err=\"%s\"", name ? name : "", err.msg);
        if (name)
            nf_cache_mark_node_stale(s->cache, name, s->source, err.msg);
        return;
    }
    int64_t now = nf_wall_ms();
    t.observed_at = now / 1000;
    int rc = nf_cache_put(s->cache, &t, s->source, now);
    size_t at;
    if (rc == 0 && !known(s, name, &at))
        rc = nf_strlist_addf(&s->known, &s->n_known, "%s", name);
    if (rc)
        nf_warn("NodeResourceTopology not cached", "name=%s err=\"%s\"", name, nf_strerror(rc));
}

static void on_list(void *ctx, json_t *items)
{
    nf_nrt_source *s = ctx;
    pthread_mutex_lock(&s->lock);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) put(s, o);
    /* drop what the list no longer holds */
    for (size_t k = 0; k < s->n_known;) {
        bool listed = false;
        json_array_foreach(items, i, o)
        {
            const char *n = name_of(o);
            listed |= n && strcmp(n, s->known[k]) == 0;
        }
        if (listed) {
            k++;
            continue;
        }
        nf_cache_remove_from(s->cache, s->known[k], s->source);
        forget(s, k);
    }
    pthread_mutex_unlock(&s->lock);
    nf_info("NodeResourceTopology objects listed", "count=%zu", json_array_size(items));
}

static void on_event(void *ctx, const char *type, json_t *o)
{
    nf_nrt_source *s = ctx;
    const char *name = name_of(o);
    pthread_mutex_lock(&s->lock);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        put(s, o);
    } else if (strcmp(type, "DELETED") == 0 && name) {
        size_t at;
        nf_cache_remove_from(s->cache, name, s->source);
        if (known(s, name, &at))
            forget(s, at);
    }
    pthread_mutex_unlock(&s->lock);
}

int nf_nrt_source_start(nf_cache *cache, nf_kube *k, nf_nrt_source **out, nf_err *err)
{
    nf_nrt_source *s = calloc(1, sizeof(*s));
    if (!s || asprintf(&s->source, "nrt:%s", nf_kube_server(k)) < 0) {
        free(s);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    s->cache = cache;
    pthread_mutex_init(&s->lock, NULL);
    nf_kube_reflector_ops ops = {.on_list = on_list, .on_event = on_event, .ctx = s};
    int rc = nf_kube_reflector_start_kind(k, &nrt_kind, NULL, &ops, &s->refl, err);
    if (rc) {
        pthread_mutex_destroy(&s->lock);
        free(s->source);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

bool nf_nrt_source_wait_synced(nf_nrt_source *s, int64_t timeout_ms)
{
    return nf_kube_reflector_wait_synced(s->refl, timeout_ms);
}

void nf_nrt_source_stop(nf_nrt_source *s)
{
    if (!s)
        return;
    nf_kube_reflector_stop(s->refl); /* no callback runs after this */
    nf_strlist_free(s->known, s->n_known);
    pthread_mutex_destroy(&s->lock);
    free(s->source);
    free(s);
}
