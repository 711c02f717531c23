/* binder.h - the extender's binding cycle: /bind, reservations kept in step with kubelet and the
 * API server, and the hold that closes the window between two scheduling cycles.
 *
 * kube-scheduler runs a pod's binding cycle beside the next pod's scheduling cycle, so /filter
 * of pod N+1 can arrive before /bind of pod N, and kubelet admits pod N only later still. Without
 * help, a burst sees the same NUMA node free again and again and kubelet rejects the surplus with
 * TopologyAffinityError. The binder:
 *   - remembers each aligned pod's object from /filter and /prioritize (by UID, bounded);
 *   - holds an aligned pod's /filter while another aligned pod passed /filter but its /bind has
 *     not arrived yet (at most bind_wait_ms; a pod that never binds costs that once);
 *   - on /bind: predicts the NUMA node(s) kubelet will use (kubelet_predict.h) on the node's
 *     document minus the current reservations, refuses when kubelet would reject the pod
 *     (kube-scheduler then retries it), reserves (reservations.h), creates the Binding through the
 *     API server and drops the reservation if that fails;
 *   - follows bound pods through the API server (list + watch): a deleted or terminal pod's
 *     reservation ends, a running pod's untracked one too; after a restart, bound pods that their
 *     node's document does not account for yet get their reservations back before ready();
 *   - reconciles with every new document (nf_cache_on_put) and expires reservations after the ttl;
 *   - optionally (requeue_rejected) deletes controller-owned pods that kubelet rejected at
 *     admission, so that their controller recreates them.
 * Without an API client (kube == NULL) /bind answers an error saying that numafit does not bind.
 */
#ifndef NUMAFIT_EXTENDER_BINDER_H
#define NUMAFIT_EXTENDER_BINDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "numafit/error.h"
#include "numafit/kube.h"
#include "numafit/prom.h"
#include "pod_requirements.h"
#include "reservations.h"

#define NF_BINDER_DEFAULT_TTL_MS 120000
#define NF_BINDER_DEFAULT_BIND_WAIT_MS 200

typedef struct nf_binder_opts {
    nf_kube *kube;          /* borrowed; NULL: binding disabled */
    int64_t ttl_ms;         /* 0: NF_BINDER_DEFAULT_TTL_MS */
    int64_t bind_wait_ms;   /* 0: NF_BINDER_DEFAULT_BIND_WAIT_MS; < 0: no hold */
    int64_t stale_after_ms; /* documents older than this are not predicted on (0: never old) */
    bool bind_unusable;     /* --stale-policy ignore: bind (without a reservation) to a node whose
                               document is stale or missing; else such a bind is refused */
    bool requeue_rejected;  /* delete controller-owned pods kubelet rejected at admission */
    int64_t sweep_ms;       /* expiry / restore period; 0: 500 */
} nf_binder_opts;

typedef struct nf_binder nf_binder;

/* Registers itself as the cache's put observer. The cache must outlive the binder. */
int nf_binder_new(nf_cache *cache, const nf_binder_opts *o, nf_binder **out, nf_err *err);
/* Start following pods (with an API client) and the sweeper thread. */
int nf_binder_start(nf_binder *b, nf_err *err);
/* Stop holding /filters (wakes every held one) and stop the threads; the HTTP server calls it
 * before it stops. nf_binder_free does it too. */
void nf_binder_shutdown(nf_binder *b);
void nf_binder_free(nf_binder *b);

/* Binding disabled, or the pod list was read and reservations restored. why: what is missing. */
bool nf_binder_ready(nf_binder *b, const char **why);
nf_reservations *nf_binder_reservations(nf_binder *b);

/* ---- the scheduling cycle (called by the HTTP glue) ---- */
/* /filter or /prioritize of an aligned pod: keep its object for its /bind, as JSON text of len
 * bytes (malloc'd, NUL-terminated; taken, freed when not kept). Text, not a tree: one allocation
 * per request instead of one per value, and a copy for another thread is a memcpy. */
void nf_binder_remember(nf_binder *b, const nf_pod_req *req, char *pod, size_t len);
/* A /filter held until an earlier pod's /bind arrives (the HTTP glue's connection). */
typedef struct nf_bind_waiter {
    void (*suspend)(void *arg); /* called once, under the gate's lock, before any wake */
    void (*wake)(void *arg);    /* called once, later, from another thread */
    void *arg;
    /* the gate's */
    const char *uid;
    int64_t since_ms, deadline_ms;
    bool queued;
    struct nf_bind_waiter *next;
} nf_bind_waiter;
/* Before /filter of an aligned pod (uid borrowed until woken): true when it must wait for
 * another pod's /bind; then w is queued and w->wake comes when that bind arrived, or at most
 * bind_wait_ms later. w must stay valid until woken (nf_binder_free wakes every waiter). */
bool nf_binder_hold(nf_binder *b, const char *uid, nf_bind_waiter *w);
/* After /filter passed at least one node for an aligned pod: its bind is now expected. */
void nf_binder_expect(nf_binder *b, const char *uid);

/* POST /bind. 0 when bound; otherwise a message in err (the ExtenderBindingResult's Error). */
int nf_binder_bind(nf_binder *b, const char *ns, const char *name, const char *uid,
                   const char *node, nf_err *err);

/* Series for /metrics (documented in extender_metrics.h). */
void nf_binder_metrics(nf_binder *b, nf_prom *p);

#endif
