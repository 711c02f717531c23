/* cache.h - the extender's cache of every node's NodeTopology.
 *
 * Writers (the exporter pullers, the --topology-dir loader) put whole documents; readers (the
 * HTTP handlers: filter, prioritize, /v1/nodes, /v1/report) take refcounted, immutable entries, so
 * a request never sees a document change under it and never blocks a writer for long. Thread-safe.
 */
#ifndef NUMAFIT_EXTENDER_TOPOLOGY_CACHE_H
#define NUMAFIT_EXTENDER_TOPOLOGY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/topology.h"

typedef struct nf_cache nf_cache;

/* One cached document. Immutable once published; hold it between acquire and release. What a
 * request reads of every node comes first (one cache line with the entry's own header). */
typedef struct nf_cache_entry {
    int64_t received_ms; /* CLOCK_REALTIME ms when the document arrived */
    bool stale;          /* its source stopped answering; the document is the last one seen */
    bool from_file;      /* source is a file: or nrt: (a watcher keeps it current) */
    uint64_t node_hash;  /* nf_hash_str(topo.node), for other tables keyed by node name */
    nf_topology topo;
    char *source; /* "http://10.0.0.5:9750", "file:/path/worker-1.json" */
    char *stale_reason;
    /* Another source published this node too, recently (two exporters given the same
     * --node-name, or a file beside an exporter): the node cannot be trusted, so it is unusable
     * until that source has been silent for the conflict window (a file: until it is removed). */
    char *conflict_with;
    int64_t conflict_seen_ms; /* when it last published (INT64_MAX: a file that still exists) */
} nf_cache_entry;

int nf_cache_new(nf_cache **out);
void nf_cache_free(nf_cache *c);
/* How long a source's document still counts as current for conflict detection (default 60 s;
 * the extender sets its --stale-after). Set before any writer starts. */
void nf_cache_set_conflict_window(nf_cache *c, int64_t ms);

/* Publish a document; takes ownership of *topo (zeroed on return, success or not). */
int nf_cache_put(nf_cache *c, nf_topology *topo, const char *source, int64_t now_ms);
/* Observer of new documents (the extender's reservations reconcile against them): called after
 * every successful nf_cache_put, on the writer's thread, outside the cache's lock, with the
 * document now cached (borrowed for the call). Set it before any writer starts. */
typedef void (*nf_cache_put_fn)(void *ctx, const nf_topology *t);
void nf_cache_on_put(nf_cache *c, nf_cache_put_fn fn, void *ctx);
/* Mark every node from `source` stale (its exporter went away); entries stay readable. Returns
 * the number of entries newly marked, or a negative errno. */
int nf_cache_mark_stale(nf_cache *c, const char *source, const char *reason);
/* Drop a node (e.g. its file was removed). */
int nf_cache_remove(nf_cache *c, const char *node);

/* Readers. acquire returns NULL when the node is unknown; every non-NULL entry must be released. */
nf_cache_entry *nf_cache_acquire(nf_cache *c, const char *node);
void nf_cache_release(nf_cache_entry *e);
/* All entries sorted by node name; release with nf_cache_release_all. */
int nf_cache_acquire_all(nf_cache *c, nf_cache_entry ***out, size_t *n);
void nf_cache_release_all(nf_cache_entry **entries, size_t n);

/* Words kept in the lookup table. A reader may keep one 64-bit word with a node's document in
 * the table itself (the extender keeps its last fit answer there), so a request that needs only
 * that word reads one cache line per node and takes no reference. The word survives a touch or a
 * stale mark (same document) and is dropped when another document replaces it; 0 is none. */
typedef struct nf_cache_peek {
    nf_cache_entry *e;  /* acquired (release it), or NULL: unknown node, or the word answered */
    uint64_t word;      /* the kept word when it answered (e NULL), else 0 */
    uint64_t node_hash; /* nf_hash_bytes of the name (= nf_hash_str) */
} nf_cache_peek;
/* Look up n names under one lock; name i is the lens[i] bytes at names[i] (no terminator needed).
 * For a node whose entry is usable at now_ms (the staleness rule below) and whose kept word w has
 * (w & mask) == key (key != 0), out[i].word = w and no reference is taken; otherwise out[i].e is
 * the acquired entry (NULL when unknown). */
void nf_cache_peek_many(nf_cache *c, const char *const *names, const size_t *lens, size_t n,
                        uint64_t key, uint64_t mask, int64_t now_ms, int64_t stale_after_ms,
                        nf_cache_peek *out);
/* Keep word with e's document, if the node still has that document and still(ctx, e) says the
 * word is still true (still may be NULL; it runs under the table's read lock, so a forget
 * cannot come between its answer and the store). */
void nf_cache_keep_word(nf_cache *c, const nf_cache_entry *e, uint64_t word,
                        bool (*still)(void *ctx, const nf_cache_entry *e), void *ctx);
/* Drop the word kept for node (NULL: for every node): what it said is no longer true. */
void nf_cache_forget_word(nf_cache *c, const char *node);

/* The node's exporter answered again with the same generation: republish the cached document with
 * a new received time and no stale mark. -ENOENT unless the node is cached from `source`. */
int nf_cache_touch(nf_cache *c, const char *node, const char *source, int64_t now_ms);
/* Mark one node stale, only if its entry came from `source` (NULL: any source). -ENOENT when
 * it did not. */
int nf_cache_mark_node_stale(nf_cache *c, const char *node, const char *source, const char *reason);
/* Drop a node only if its entry came from `source` (a removed file must not drop the document an
 * exporter published under the same name). -ENOENT when it did not. */
int nf_cache_remove_from(nf_cache *c, const char *node, const char *source);

/* The extender's staleness rule: an entry is unusable when its source went stale, when another
 * source publishes the node too (conflict_with), or when it came from an exporter more than
 * stale_after_ms (> 0) before now_ms (file sources do not age: their watcher keeps them current).
 * Writes why (NUL-terminated, at most len bytes) when unusable. */
bool nf_cache_entry_unusable(const nf_cache_entry *e, int64_t now_ms, int64_t stale_after_ms,
                             char *why, size_t len);
/* The same rule with one reason per kind (two sources, stale, too old) and nothing of the node
 * in it: kube-scheduler folds equal reasons in its FailedScheduling event, and the details stay
 * in the one above (GET /v1/nodes/{name}). */
bool nf_cache_entry_unusable_kind(const nf_cache_entry *e, int64_t now_ms, int64_t stale_after_ms,
                                  char *why, size_t len);

/* Derived data kept with a document, e.g. the extender's precomputed fit views (fit.h): a few
 * slots per document, shared by every entry carrying the same document (touch and stale marks keep
 * it), freed with the document. Readers fill them lazily: get returns NULL until set; set installs
 * v unless another thread did first, in which case it calls free_fn(v) and returns the installed
 * value. free_fn must be the same for a slot. The memo must not outlive the document it was built
 * from (it is freed first). */
#define NF_CACHE_MEMO_SLOTS 2
void *nf_cache_memo_get(const nf_cache_entry *e, unsigned slot);
void *nf_cache_memo_set(nf_cache_entry *e, unsigned slot, void *v, void (*free_fn)(void *));

size_t nf_cache_size(nf_cache *c);
size_t nf_cache_stale_count(nf_cache *c);
/* Grows on every put (and every touch, stale mark and removal), so a long-poll reader (/v1/report)
 * can tell that something changed. */
uint64_t nf_cache_version(nf_cache *c);

#endif
