/* cache.c - the extender's cache of every node's NodeTopology (see cache.h).
 *
 * The map is an open-addressing hash table (linear probing, power-of-two size, load <= 1/2,
 * backward-shift deletion) from node name to a refcounted entry, guarded by one rwlock. Entries
 * are immutable: a put, touch or stale mark builds a new entry and swaps the slot, and the old
 * one dies when its last reader releases it. A touch or stale mark does not copy the document:
 * the new entry carries a bitwise copy of the nf_topology and holds a reference to the entry
 * that owns its memory.
 */
#include "cache.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/hash.h"
#include "numafit/log.h"

typedef struct entry {
    /* what a request touches, with pub's first fields, in the first cache line */
    atomic_uint refs;
    bool compact;        /* pub.topo lives in this entry's own allocation (entry_compact) */
    struct entry *owner; /* holds pub.topo's memory; NULL when this entry owns it */
    _Atomic(void *) own_memo[NF_CACHE_MEMO_SLOTS]; /* used on the owner only (memo_of) */
    nf_cache_entry pub;                            /* readers get &e->pub */
    void (*_Atomic memo_free[NF_CACHE_MEMO_SLOTS])(void *);
} entry;

/* One cache line: what a lookup compares and what nf_cache_peek_many answers from, so a node
 * whose kept word answers costs this line alone (no entry, no reference). */
typedef struct slot {
    uint64_t hash;
    entry *e;              /* NULL: empty */
    _Atomic uint64_t word; /* kept for e's document by a reader (nf_cache_keep_word); 0: none */
    int64_t received_ms;   /* e's staleness fields, copied */
    bool stale, from_file;
    char name[30]; /* the node name when it fits, else "": compared without touching the entry */
} slot;
_Static_assert(sizeof(slot) == 64, "a slot is one cache line");

struct nf_cache {
    pthread_rwlock_t lock;
    slot *slots;
    size_t cap; /* power of two */
    size_t n;
    size_t n_stale;
    _Atomic uint64_t version;
    int64_t conflict_window_ms;
    nf_cache_put_fn on_put; /* set before any writer starts */
    void *on_put_ctx;
};

static entry *from_pub(nf_cache_entry *p)
{
    return (entry *)(void *)((char *)p - offsetof(entry, pub));
}

static void entry_unref(entry *e)
{
    while (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        entry *owner = e->owner;
        if (!owner) {
            for (unsigned i = 0; i < NF_CACHE_MEMO_SLOTS; i++) {
                void *m = atomic_load(&e->own_memo[i]);
                void (*fn)(void *) = atomic_load(&e->memo_free[i]);
                if (m && fn)
                    fn(m);
            }
            if (!e->compact)
                nf_topology_free(&e->pub.topo);
        }
        free(e->pub.source);
        free(e->pub.stale_reason);
        free(e->pub.conflict_with);
        free(e);
        e = owner;
    }
}

static void entry_ref(entry *e)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

/* A new entry (refs 1) whose document is a compact copy of *t (nf_topology_compact), right
 * behind the entry in the same allocation; NULL on allocation failure. */
static entry *entry_compact(const nf_topology *t)
{
    nf_topology copy;
    entry *e = nf_topology_compact(t, sizeof(entry), &copy);
    if (!e)
        return NULL;
    e->pub.topo = copy;
    e->compact = true;
    atomic_init(&e->refs, 1);
    return e;
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
    e->pub.from_file = old->pub.from_file;
    e->pub.node_hash = old->pub.node_hash;
    e->pub.conflict_seen_ms = old->pub.conflict_seen_ms;
    if (!(e->pub.source = strdup(old->pub.source)) ||
        (reason && !(e->pub.stale_reason = strdup(reason))) ||
        (old->pub.conflict_with && !(e->pub.conflict_with = strdup(old->pub.conflict_with)))) {
        free(e->pub.source);
        free(e->pub.stale_reason);
        free(e);
        return NULL;
    }
    e->owner = old->owner ? old->owner : old;
    entry_ref(e->owner);
    atomic_init(&e->refs, 1);
    return e;
}

static slot *slots_new(size_t cap)
{
    slot *s = aligned_alloc(64, cap * sizeof(slot));
    if (s)
        memset(s, 0, cap * sizeof(slot));
    return s;
}

int nf_cache_new(nf_cache **out)
{
    nf_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cap = 64;
    if (!(c->slots = slots_new(c->cap))) {
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
    c->conflict_window_ms = 60000;
    *out = c;
    return 0;
}

void nf_cache_set_conflict_window(nf_cache *c, int64_t ms)
{
    c->conflict_window_ms = ms > 0 ? ms : 60000;
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

/* memcmp(a, b, n) == 0 inline: names are short and almost always equal once their hashes are
 * (the call into libc's memcmp was a tenth of a /filter) */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
    for (; n >= 8; a += 8, b += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
    }
    while (n--)
        if (*a++ != *b++)
            return false;
    return true;
}

/* Does slot s (not empty) hold the len bytes at name? The slot's own copy of a short name
 * answers without touching the entry. */
static inline bool slot_is(const slot *s, const char *name, size_t len)
{
    if (s->name[0])
        return len < sizeof(s->name) && s->name[len] == 0 && same_bytes(s->name, name, len);
    const char *node = s->e->pub.topo.node;
    return strncmp(node, name, len) == 0 && node[len] == 0;
}

/* Index of the slot holding the len bytes at name, or of the empty slot where they would go.
 * h: nf_hash_bytes(name, len). Lock held. */
static size_t find_slot_n(const nf_cache *c, const char *name, size_t len, uint64_t h)
{
    size_t mask = c->cap - 1;
    size_t i = (size_t)h & mask;
    while (c->slots[i].e) {
        const slot *s = &c->slots[i];
        if (s->hash == h && slot_is(s, name, len))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* find_slot_n of a C string. */
static size_t find_slot(const nf_cache *c, const char *name, uint64_t h)
{
    return find_slot_n(c, name, strlen(name), h);
}

static entry *lookup(const nf_cache *c, const char *name)
{
    return c->slots[find_slot(c, name, nf_hash_str(name))].e; /* not a copy: readers store words */
}

static int grow(nf_cache *c)
{
    size_t ncap = c->cap * 2;
    slot *ns = slots_new(ncap);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].e)
            continue;
        size_t j = (size_t)c->slots[i].hash & (ncap - 1);
        while (ns[j].e)
            j = (j + 1) & (ncap - 1);
        memcpy(&ns[j], &c->slots[i], sizeof(slot)); /* write lock held: no reader */
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
            memcpy(&c->slots[i], &c->slots[j], sizeof(slot)); /* write lock held */
            c->slots[j].e = NULL;
            i = j;
        }
    }
    c->n--;
}

/* The entry owning e's document (touch and stale marks share it). */
static const entry *doc_of(const entry *e)
{
    return e->owner ? e->owner : e;
}

/* Point a slot at e, dropping a word kept for another document. Write lock held. */
static void set_slot(slot *s, entry *e)
{
    if (!s->e || doc_of(s->e) != doc_of(e))
        atomic_store_explicit(&s->word, 0, memory_order_relaxed);
    s->e = e;
    s->received_ms = e->pub.received_ms;
    s->stale = e->pub.stale || e->pub.conflict_with; /* the fast path must not answer either */
    s->from_file = e->pub.from_file;
}

/* Replace slot i's entry with ne (the slot is occupied). Lock held; returns the old entry. */
static entry *swap_slot(nf_cache *c, size_t i, entry *ne)
{
    entry *old = c->slots[i].e;
    c->n_stale += (size_t)ne->pub.stale - (size_t)old->pub.stale;
    set_slot(&c->slots[i], ne);
    atomic_fetch_add(&c->version, 1);
    return old;
}

/* cur is the node's current entry, e the one replacing it from e->source at now: another
 * source published the node recently (a file: as long as it exists), or the conflict cur carries
 * has not ended yet. Lock held; 0 or -ENOMEM. */
static int note_conflict(const nf_cache *c, const nf_cache_entry *cur, nf_cache_entry *e,
                         int64_t now)
{
    const char *other = NULL;
    int64_t seen = 0;
    if (strcmp(cur->source, e->source) != 0) {
        if (!cur->stale && (cur->from_file || now - cur->received_ms <= c->conflict_window_ms)) {
            other = cur->source;
            seen = cur->from_file ? INT64_MAX : cur->received_ms;
        }
    } else if (cur->conflict_with && (cur->conflict_seen_ms == INT64_MAX ||
                                      now - cur->conflict_seen_ms <= c->conflict_window_ms)) {
        other = cur->conflict_with;
        seen = cur->conflict_seen_ms;
    }
    if (!other)
        return 0;
    if (!(e->conflict_with = strdup(other)))
        return -ENOMEM;
    e->conflict_seen_ms = seen;
    return 0;
}

int nf_cache_put(nf_cache *c, nf_topology *topo, const char *source, int64_t now_ms)
{
    if (!topo->node || !*topo->node || !source) {
        nf_topology_free(topo);
        memset(topo, 0, sizeof(*topo));
        return -EINVAL;
    }
    entry *e = entry_compact(topo);
    if (e) {
        nf_topology_free(topo); /* the entry holds a compact copy */
        memset(topo, 0, sizeof(*topo));
    } else if ((e = calloc(1, sizeof(*e)))) {
        e->pub.topo = *topo; /* no memory for a copy: keep the document as it is */
        atomic_init(&e->refs, 1);
    }
    if (!e || !(e->pub.source = strdup(source))) {
        if (e && !e->compact)
            *topo = e->pub.topo;
        free(e);
        nf_topology_free(topo);
        memset(topo, 0, sizeof(*topo));
        return -ENOMEM;
    }
    memset(topo, 0, sizeof(*topo));
    e->pub.received_ms = now_ms;
    /* a file's watcher, or a watch of NodeResourceTopology objects, keeps it current */
    e->pub.from_file = strncmp(source, "file:", 5) == 0 || strncmp(source, "nrt:", 4) == 0;

    uint64_t h = nf_hash_str(e->pub.topo.node);
    e->pub.node_hash = h;
    entry *old = NULL;
    int rc = 0;
    bool was_conflict = false;
    pthread_rwlock_wrlock(&c->lock);
    if ((c->n + 1) * 2 > c->cap)
        rc = grow(c);
    if (rc == 0) {
        size_t i = find_slot(c, e->pub.topo.node, h);
        if (c->slots[i].e) {
            was_conflict = c->slots[i].e->pub.conflict_with != NULL;
            rc = note_conflict(c, &c->slots[i].e->pub, &e->pub, now_ms);
        }
        if (rc == 0 && c->slots[i].e) {
            old = swap_slot(c, i, e);
        } else if (rc == 0) {
            c->slots[i].hash = h;
            size_t nl = strlen(e->pub.topo.node);
            if (nl < sizeof(c->slots[i].name))
                memcpy(c->slots[i].name, e->pub.topo.node, nl + 1);
            else
                c->slots[i].name[0] = 0;
            set_slot(&c->slots[i], e);
            c->n++;
            atomic_fetch_add(&c->version, 1);
        }
    }
    if (rc == 0 && c->on_put)
        atomic_fetch_add(&e->refs, 1); /* kept alive for the observer */
    pthread_rwlock_unlock(&c->lock);
    if (rc == 0 && e->pub.conflict_with && !was_conflict)
        nf_warn("node published by two sources: rejected until one stops",
                "node=%s sources=\"%s %s\"", e->pub.topo.node, e->pub.conflict_with, e->pub.source);
    else if (rc == 0 && !e->pub.conflict_with && was_conflict)
        nf_info("node published by one source again", "node=%s source=%s", e->pub.topo.node,
                e->pub.source);
    entry_unref(rc ? e : old);
    if (rc == 0 && c->on_put) {
        c->on_put(c->on_put_ctx, &e->pub.topo);
        entry_unref(e);
    }
    return rc;
}

/* The staleness rule, on an entry's fields (a slot keeps a copy of them). */
static bool too_old(bool stale, bool from_file, int64_t received_ms, int64_t now_ms,
                    int64_t stale_after_ms)
{
    return stale || (stale_after_ms > 0 && !from_file && now_ms - received_ms > stale_after_ms);
}

bool nf_cache_entry_unusable(const nf_cache_entry *e, int64_t now_ms, int64_t stale_after_ms,
                             char *why, size_t len)
{
    if (e->conflict_with) {
        snprintf(why, len,
                 "two sources publish this node: %s and %s (give each exporter its own "
                 "--node-name); rejected until only one does",
                 e->conflict_with, e->source);
        return true;
    }
    if (!too_old(e->stale, e->from_file, e->received_ms, now_ms, stale_after_ms))
        return false;
    if (e->stale)
        snprintf(why, len, "topology is stale: %s",
                 e->stale_reason ? e->stale_reason : "its source stopped answering");
    else
        snprintf(why, len, "topology is %" PRId64 "s old (--stale-after %" PRId64 "s) from %s",
                 (now_ms - e->received_ms) / 1000, stale_after_ms / 1000, e->source);
    return true;
}

bool nf_cache_entry_unusable_kind(const nf_cache_entry *e, int64_t now_ms, int64_t stale_after_ms,
                                  char *why, size_t len)
{
    if (e->conflict_with)
        snprintf(why, len,
                 "two sources publish this node: give each exporter its own --node-name "
                 "(GET /v1/nodes/NODE names them)");
    else if (e->stale)
        snprintf(why, len,
                 "topology is stale: its source stopped answering (GET /v1/nodes/NODE "
                 "says why)");
    else if (too_old(false, e->from_file, e->received_ms, now_ms, stale_after_ms))
        snprintf(why, len, "topology is older than --stale-after %" PRId64 "s",
                 stale_after_ms / 1000);
    else
        return false;
    return true;
}

void nf_cache_on_put(nf_cache *c, nf_cache_put_fn fn, void *ctx)
{
    c->on_put = fn;
    c->on_put_ctx = ctx;
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
    size_t i = find_slot(c, node, nf_hash_str(node));
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
    size_t i = find_slot(c, node, nf_hash_str(node));
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
    size_t i = find_slot(c, node, nf_hash_str(node));
    entry *e = c->slots[i].e;
    int rc = -ENOENT;
    if (e && same_source(e, source)) {
        old = e;
        c->n_stale -= e->pub.stale;
        delete_slot(c, i);
        atomic_fetch_add(&c->version, 1);
        rc = 0;
    } else if (e && source && e->pub.conflict_with && strcmp(e->pub.conflict_with, source) == 0) {
        /* the other publisher is gone: the node is its current source's alone again */
        entry *ne = entry_derive(e, e->pub.received_ms, e->pub.stale, e->pub.stale_reason);
        if (ne) {
            free(ne->pub.conflict_with);
            ne->pub.conflict_with = NULL;
            old = swap_slot(c, i, ne);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    entry_unref(old);
    return rc;
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

/* How far ahead a batched lookup loads: the slot of name i + AHEAD and the entry of
 * name i + AHEAD / 2 are on their way while name i is compared, so the cache misses of
 * independent lookups overlap instead of following each other. */
#define AHEAD 8

void nf_cache_peek_many(nf_cache *c, const char *const *names, const size_t *lens, size_t n,
                        uint64_t key, uint64_t mask, int64_t now_ms, int64_t stale_after_ms,
                        nf_cache_peek *out)
{
    uint64_t ring[AHEAD]; /* the hash of name j at ring[j % AHEAD], for j in (i, i + AHEAD] */
    for (size_t j = 0; j < AHEAD && j < n; j++)
        ring[j] = names[j] ? nf_hash_bytes(names[j], lens[j]) : 0;
    pthread_rwlock_rdlock(&c->lock);
    size_t cmask = c->cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ring[i % AHEAD];
        if (i + AHEAD < n) {
            uint64_t next = names[i + AHEAD] ? nf_hash_bytes(names[i + AHEAD], lens[i + AHEAD]) : 0;
            ring[i % AHEAD] = next;
            __builtin_prefetch(&c->slots[next & cmask]);
        }
        if (i + AHEAD / 2 < n) { /* the entry, unless its word will answer */
            const slot *ahead = &c->slots[ring[(i + AHEAD / 2) % AHEAD] & cmask];
            if (ahead->e &&
                (!key || (atomic_load_explicit(&ahead->word, memory_order_relaxed) & mask) != key))
                __builtin_prefetch(ahead->e);
        }
        out[i] = (nf_cache_peek){.node_hash = h};
        const slot *s = names[i] ? &c->slots[find_slot_n(c, names[i], lens[i], h)] : NULL;
        if (!s || !s->e)
            continue;
        uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
        if (key && (w & mask) == key &&
            !too_old(s->stale, s->from_file, s->received_ms, now_ms, stale_after_ms)) {
            out[i].word = w;
            continue;
        }
        entry_ref(s->e);
        out[i].e = &s->e->pub;
    }
    pthread_rwlock_unlock(&c->lock);
}

void nf_cache_keep_word(nf_cache *c, const nf_cache_entry *e, uint64_t word,
                        bool (*still)(void *ctx, const nf_cache_entry *e), void *ctx)
{
    if (!e || !e->topo.node)
        return;
    const entry *doc = doc_of(from_pub((nf_cache_entry *)e));
    pthread_rwlock_rdlock(&c->lock);
    slot *s = &c->slots[find_slot(c, e->topo.node, e->node_hash)];
    /* still the document the word was computed from, and whatever else it depends on */
    if (s->e && doc_of(s->e) == doc && (!still || still(ctx, e)))
        atomic_store_explicit(&s->word, word, memory_order_relaxed);
    pthread_rwlock_unlock(&c->lock);
}

void nf_cache_forget_word(nf_cache *c, const char *node)
{
    pthread_rwlock_wrlock(&c->lock); /* no keep_word between its check and its store */
    if (!node) {
        for (size_t i = 0; i < c->cap; i++)
            atomic_store_explicit(&c->slots[i].word, 0, memory_order_relaxed);
    } else {
        slot *s = &c->slots[find_slot(c, node, nf_hash_str(node))];
        if (s->e)
            atomic_store_explicit(&s->word, 0, memory_order_relaxed);
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

/* The entry holding e's memo slots: the one that owns its document. */
static entry *memo_of(const nf_cache_entry *p)
{
    entry *e = from_pub((nf_cache_entry *)p);
    return e->owner ? e->owner : e;
}

void *nf_cache_memo_get(const nf_cache_entry *e, unsigned k)
{
    if (!e || k >= NF_CACHE_MEMO_SLOTS)
        return NULL;
    return atomic_load_explicit(&memo_of(e)->own_memo[k], memory_order_acquire);
}

void *nf_cache_memo_set(nf_cache_entry *e, unsigned k, void *v, void (*free_fn)(void *))
{
    if (!e || k >= NF_CACHE_MEMO_SLOTS) {
        if (v && free_fn)
            free_fn(v);
        return NULL;
    }
    entry *o = memo_of(e);
    atomic_store(&o->memo_free[k], free_fn);
    void *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&o->own_memo[k], &expected, v, memory_order_acq_rel,
                                                memory_order_acquire))
        return v;
    if (v && free_fn)
        free_fn(v);
    return expected;
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
