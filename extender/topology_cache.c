/* topology_cache.c - the extender's cache of every node's NodeTopology (see topology_cache.h).
 *
 * The map is an open-addressing hash table (linear probing, power-of-two size, load <= 1/2,
 * backward-shift deletion) from node name to a refcounted entry, guarded by one rwlock. Entries
 * are immutable: a put, touch or stale mark builds a new entry and swaps the slot, and the old
 * one dies when its last reader releases it. A touch or stale mark does not copy the document:
 * the new entry carries a bitwise copy of the nf_topology and holds a reference to the entry
 * that owns its memory.
 */
#include "topology_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    nf_cache_entry pub; /* first: readers get &e->pub */
    atomic_uint refs;
    struct entry *owner; /* holds pub.topo's memory; NULL when this entry owns it */
} entry;

typedef struct slot {
    uint64_t hash;
    entry *e; /* NULL: empty */
} slot;

struct nf_cache {
    pthread_rwlock_t lock;
    slot *slots;
    size_t cap; /* power of two */
    size_t n;
    size_t n_stale;
    _Atomic uint64_t version;
};

static entry *from_pub(nf_cache_entry *p)
{
    return (entry *)p; /* pub is the first member */
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static void entry_unref(entry *e)
{
    while (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        entry *owner = e->owner;
        if (!owner)
            nf_topology_free(&e->pub.topo);
        free(e->pub.source);
        free(e->pub.stale_reason);
        free(e);
        e = owner;
    }
}

static void entry_ref(entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

/* A new entry sharing old's document; NULL on allocation failure. */
static entry *entry_derive(entry *old, int64_t received_ms, bool stale, const char *reason)
{
    entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->pub.topo = old->pub.topo;
    e->pub.received_ms = received_ms;
    e->pub.stale = stale;
    if (!(e->pub.source = strdup(old->pub.source)) ||
        (reason && !(e->pub.stale_reason = strdup(reason)))) {
        free(e->pub.source);
        free(e);
        return NULL;
    }
    e->owner = old->owner ? old->owner : old;
    entry_ref(e->owner);
    atomic_init(&e->refs, 1);
    return e;
}

int nf_cache_new(nf_cache **out)
{
    nf_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cap = 64;
    if (!(c->slots = calloc(c->cap, sizeof(*c->slots)))) {
        free(c);
        return -ENOMEM;
    }
    int rc = pthread_rwlock_init(&c->lock, NULL);
    if (rc) {
        free(c->slots);
        free(c);
        return -rc;
    }
    atomic_init(&c->version, 0);
    *out = c;
    return 0;
}

void nf_cache_free(nf_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        entry_unref(c->slots[i].e);
    free(c->slots);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* Index of the slot holding name, or of the empty slot where it would go. Lock held. */
static size_t find_slot(const nf_cache *c, const char *name, uint64_t h)
{
    size_t mask = c->cap - 1;
    size_t i = (size_t)h & mask;
    while (c->slots[i].e) {
        if (c->slots[i].hash == h && strcmp(c->slots[i].e->pub.topo.node, name) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static entry *lookup(const nf_cache *c, const char *name)
{
    slot s = c->slots[find_slot(c, name, hash_name(name))];
    return s.e;
}

static int grow(nf_cache *c)
{
    size_t ncap = c->cap * 2;
    slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].e)
            continue;
        size_t j = (size_t)c->slots[i].hash & (ncap - 1);
        while (ns[j].e)
            j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

/* Remove slot i, shifting the probe chain behind it back (no tombstones). Lock held. */
static void delete_slot(nf_cache *c, size_t i)
{
    size_t mask = c->cap - 1;
    c->slots[i].e = NULL;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!c->slots[j].e)
            break;
        size_t home = (size_t)c->slots[j].hash & mask;
        /* slot j may move to i when its home is not in (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            c->slots[i] = c->slots[j];
            c->slots[j].e = NULL;
            i = j;
        }
    }
    c->n--;
}

/* Replace slot i's entry with ne (the slot is occupied). Lock held; returns the old entry. */
static entry *swap_slot(nf_cache *c, size_t i, entry *ne)
{
    entry *old = c->slots[i].e;
    c->n_stale += (size_t)ne->pub.stale - (size_t)old->pub.stale;
    c->slots[i].e = ne;
    atomic_fetch_add(&c->version, 1);
    return old;
}

int nf_cache_put(nf_cache *c, nf_topology *topo, const char *source, int64_t now_ms)
{
    if (!topo->node || !*topo->node || !source) {
        nf_topology_free(topo);
        memset(topo, 0, sizeof(*topo));
        return -EINVAL;
    }
    entry *e = calloc(1, sizeof(*e));
    if (!e || !(e->pub.source = strdup(source))) {
        free(e);
        nf_topology_free(topo);
        memset(topo, 0, sizeof(*topo));
        return -ENOMEM;
    }
    e->pub.topo = *topo;
    memset(topo, 0, sizeof(*topo));
    e->pub.received_ms = now_ms;
    atomic_init(&e->refs, 1);

    uint64_t h = hash_name(e->pub.topo.node);
    entry *old = NULL;
    int rc = 0;
    pthread_rwlock_wrlock(&c->lock);
    if ((c->n + 1) * 2 > c->cap)
        rc = grow(c);
    if (rc == 0) {
        size_t i = find_slot(c, e->pub.topo.node, h);
        if (c->slots[i].e) {
            old = swap_slot(c, i, e);
        } else {
            c->slots[i].hash = h;
            c->slots[i].e = e;
            c->n++;
            atomic_fetch_add(&c->version, 1);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    entry_unref(rc ? e : old);
    return rc;
}

static bool same_source(const entry *e, const char *source)
{
    return !source || strcmp(e->pub.source, source) == 0;
}

int nf_cache_mark_stale(nf_cache *c, const char *source, const char *reason)
{
    int marked = 0, rc = 0;
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < c->cap; i++) {
        entry *e = c->slots[i].e;
        if (!e || e->pub.stale || !same_source(e, source))
            continue;
        entry *ne = entry_derive(e, e->pub.received_ms, true, reason ? reason : "source is stale");
        if (!ne) {
            rc = -ENOMEM;
            break;
        }
        entry_unref(swap_slot(c, i, ne)); /* readers still hold their own references */
        marked++;
    }
    pthread_rwlock_unlock(&c->lock);
    return rc ? rc : marked;
}

int nf_cache_mark_node_stale(nf_cache *c, const char *node, const char *source, const char *reason)
{
    int rc = -ENOENT;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find_slot(c, node, hash_name(node));
    entry *e = c->slots[i].e;
    if (e && same_source(e, source)) {
        rc = 0;
        if (!e->pub.stale) {
            entry *ne = entry_derive(e, e->pub.received_ms, true, reason ? reason : "stale");
            if (ne)
                entry_unref(swap_slot(c, i, ne));
            else
                rc = -ENOMEM;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int nf_cache_touch(nf_cache *c, const char *node, const char *source, int64_t now_ms)
{
    int rc = -ENOENT;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find_slot(c, node, hash_name(node));
    entry *e = c->slots[i].e;
    if (e && same_source(e, source)) {
        entry *ne = entry_derive(e, now_ms, false, NULL);
        rc = ne ? 0 : -ENOMEM;
        if (ne)
            entry_unref(swap_slot(c, i, ne));
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int nf_cache_remove_from(nf_cache *c, const char *node, const char *source)
{
    entry *old = NULL;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find_slot(c, node, hash_name(node));
    entry *e = c->slots[i].e;
    if (e && same_source(e, source)) {
        old = e;
        c->n_stale -= e->pub.stale;
        delete_slot(c, i);
        atomic_fetch_add(&c->version, 1);
    }
    pthread_rwlock_unlock(&c->lock);
    entry_unref(old);
    return old ? 0 : -ENOENT;
}

int nf_cache_remove(nf_cache *c, const char *node)
{
    return nf_cache_remove_from(c, node, NULL);
}

nf_cache_entry *nf_cache_acquire(nf_cache *c, const char *node)
{
    if (!node)
        return NULL;
    pthread_rwlock_rdlock(&c->lock);
    entry *e = lookup(c, node);
    if (e)
        entry_ref(e);
    pthread_rwlock_unlock(&c->lock);
    return e ? &e->pub : NULL;
}

void nf_cache_acquire_many(nf_cache *c, const char *const *names, size_t n, nf_cache_entry **out)
{
    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        entry *e = names[i] ? lookup(c, names[i]) : NULL;
        if (e)
            entry_ref(e);
        out[i] = e ? &e->pub : NULL;
    }
    pthread_rwlock_unlock(&c->lock);
}

void nf_cache_release(nf_cache_entry *e)
{
    if (e)
        entry_unref(from_pub(e));
}

static int by_node(const void *a, const void *b)
{
    const nf_cache_entry *x = *(nf_cache_entry *const *)a, *y = *(nf_cache_entry *const *)b;
    return strcmp(x->topo.node, y->topo.node);
}

int nf_cache_acquire_all(nf_cache *c, nf_cache_entry ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&c->lock);
    nf_cache_entry **v = malloc((c->n ? c->n : 1) * sizeof(*v));
    size_t k = 0;
    if (v) {
        for (size_t i = 0; i < c->cap; i++) {
            entry *e = c->slots[i].e;
            if (e) {
                entry_ref(e);
                v[k++] = &e->pub;
            }
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (!v)
        return -ENOMEM;
    qsort(v, k, sizeof(*v), by_node);
    *out = v;
    *n = k;
    return 0;
}

void nf_cache_release_all(nf_cache_entry **entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++)
        nf_cache_release(entries[i]);
    free(entries);
}

size_t nf_cache_size(nf_cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->n;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

size_t nf_cache_stale_count(nf_cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->n_stale;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

uint64_t nf_cache_version(nf_cache *c)
{
    return atomic_load(&c->version);
}
