/* reservations.h - what the extender has bound to a node but the node's document does not show
 * yet.
 *
 * Between kube-scheduler's bind and kubelet writing its state files (which the exporter publishes)
 * a pod's CPUs, devices and hugepages are invisible: a burst of pods would all see the same NUMA
 * node free. A reservation holds the pod's amounts on the NUMA node(s) kubelet will use
 * (kubelet_predict.h) from /bind until one of:
 *   - the node's document accounts for the pod: numaNodes[].pods[] lists its uid with every
 *     tracked amount (nf_placed.tracked; kubelet's files are not updated in one step, so a partial
 *     listing keeps the rest reserved);
 *   - the API server says the pod is gone or terminal (nf_reservations_drop);
 *   - a reservation with no tracked amount (hugepages without the Static Memory Manager): the pod
 *     is running (nf_reservations_set_running);
 *   - ttl_ms passed (logged by the caller as a warning).
 * Readers never count a pod twice: the amount subtracted is the reservation minus what the
 * document they hold already accounts to that pod (nf_resv_snapshot_deductions).
 *
 * Thread-safe. Readers take an immutable snapshot (one lock, refcounted) per request; writers
 * (bind, reconcile, expiry) replace it.
 */
#ifndef NUMAFIT_EXTENDER_RESERVATIONS_H
#define NUMAFIT_EXTENDER_RESERVATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "kubelet_predict.h"

typedef struct nf_reservation {
    char *uid, *namespace_, *name, *node;
    nf_placed *placed; /* where kubelet will put what */
    size_t n_placed;
    int numa; /* the single NUMA node, or -1 */
    int64_t created_ms;
    uint64_t seq; /* orders reservations made in the same millisecond (bind order) */
    uint64_t rev; /* set by the table: new on every add and move, unique in the process */
    bool running; /* the API server reports the pod running */
} nf_reservation;

void nf_reservation_clear(nf_reservation *r); /* frees the fields, zeroes r */
int nf_reservation_copy(nf_reservation *dst, const nf_reservation *src); /* deep; 0 or -ENOMEM */
/* Does t (a document of r's node) account every tracked amount of r to its pod? (false when r
 * tracks nothing) */
bool nf_reservation_shown(const nf_reservation *r, const nf_topology *t);

typedef struct nf_reservations nf_reservations;

int nf_reservations_new(int64_t ttl_ms, nf_reservations **out);
void nf_reservations_free(nf_reservations *rs);
int64_t nf_reservations_ttl_ms(const nf_reservations *rs);

/* Add r, taking its fields (r is zeroed, also on error); replaces a reservation of the same uid.
 * 0 or -ENOMEM / -EINVAL (no uid or node). */
int nf_reservations_add(nf_reservations *rs, nf_reservation *r);
/* End uid's reservation; true when there was one. */
bool nf_reservations_drop(nf_reservations *rs, const char *uid);
bool nf_reservations_has(nf_reservations *rs, const char *uid);
void nf_reservations_set_running(nf_reservations *rs, const char *uid);
/* Copies of node's reservations in bind order (created_ms, then seq); free each with
 * nf_reservation_clear and the array with free(). 0 or -ENOMEM. */
int nf_reservations_of_node(nf_reservations *rs, const char *node, nf_reservation **out, size_t *n);
/* Move uid's reservation: its placement becomes placed[n] (taken, also on error) on NUMA node
 * numa. -ENOENT when uid has no reservation (any more). */
int nf_reservations_move(nf_reservations *rs, const char *uid, nf_placed *placed, size_t n,
                         int numa);
size_t nf_reservations_count(nf_reservations *rs);
/* Told after the reservations of a node changed (add, move, drop, reconcile, expiry), on the
 * writer's thread, outside the table's lock; node NULL: any node may have changed (no memory to
 * say which). Set before any writer starts. (The extender forgets the answers it kept for the
 * node: cache.h nf_cache_forget_word.) */
typedef void (*nf_resv_node_fn)(void *ctx, const char *node);
void nf_reservations_on_change(nf_reservations *rs, nf_resv_node_fn fn, void *ctx);

/* Why a reservation ended, for the caller's log line and metrics. */
typedef enum nf_resv_end {
    NF_RESV_CONFIRMED = 0, /* the document accounts for the pod */
    NF_RESV_EXPIRED,       /* ttl */
    NF_RESV_DROPPED,       /* pod gone, terminal, or bind failed */
} nf_resv_end;
typedef void (*nf_resv_end_fn)(void *ctx, const nf_reservation *r, nf_resv_end why);

/* t is a new document of its node: end the reservations it accounts for. Returns how many. */
size_t nf_reservations_reconcile(nf_reservations *rs, const nf_topology *t, nf_resv_end_fn fn,
                                 void *ctx);
/* End the reservations older than the ttl (and those with nothing tracked whose pod runs).
 * Returns how many. */
size_t nf_reservations_expire(nf_reservations *rs, int64_t now_ms, nf_resv_end_fn fn, void *ctx);
/* Lifetime counters: added, confirmed, expired, dropped. */
void nf_reservations_totals(nf_reservations *rs, uint64_t out[4]);

/* ---- readers ---- */
typedef struct nf_resv_snapshot nf_resv_snapshot;
/* NULL when there is no reservation at all (the common case costs one atomic load), or rs is
 * NULL. Every function below takes a NULL snapshot as "no reservation". */
nf_resv_snapshot *nf_reservations_snapshot(nf_reservations *rs);
void nf_resv_snapshot_release(nf_resv_snapshot *s);
/* Does the snapshot hold reservations on `node`? */
bool nf_resv_snapshot_has_node(const nf_resv_snapshot *s, const char *node);
/* What to subtract from t's numbers for t->node: each reservation's amounts minus what t already
 * accounts to that pod. *out (free()) borrows resource names from s; *n = 0 and *out = NULL when
 * nothing is left to subtract. 0 or -ENOMEM. */
int nf_resv_snapshot_deductions(const nf_resv_snapshot *s, const nf_topology *t, nf_deduction **out,
                                size_t *n);
/* The revisions of node's reservations in s, in bind order: the list changes whenever one of
 * them is added, moved or ended, so, with a given document of the node, it determines the
 * deductions (node_view.h keys its deducted views by it). node_hash: nf_hash_str(node) (a
 * request asks this of every node it fits; the cache has the hash already). Writes at most max;
 * returns how many there are (0: none; more than max: nothing was written). */
size_t nf_resv_snapshot_node_revs(const nf_resv_snapshot *s, const char *node, uint64_t node_hash,
                                  uint64_t *revs, size_t max);
/* JSON array of node's reservations: [{pod, uid, zone, resources, ageMs}]. */
json_t *nf_resv_snapshot_node_json(const nf_resv_snapshot *s, const char *node, int64_t now_ms);

#endif
