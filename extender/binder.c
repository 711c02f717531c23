/* binder.c - /bind, reservations and the pod follower (see binder.h). */
#include "binder.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubelet_predict.h"
#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"

#define MEMO_CAP 4096  /* pods remembered from /filter and /prioritize */
#define PENDING_CAP 64 /* binds expected at once */
#define RESTORE_GRACE_MS 10000

typedef struct memo_entry {
    char *uid;
    char *pod; /* its JSON text: immutable, so a copy is a memcpy under the lock */
    size_t pod_len;
} memo_entry;

typedef struct pending {
    char *uid;
    int64_t since_ms; /* monotonic */
} pending;

/* A bound, not terminal pod that needs aligned resources, as the API server shows it. */
typedef struct bound_pod {
    char *uid, *ns, *name, *node;
    int64_t bound_ms; /* wall clock: PodScheduled, else creation (whole seconds) */
    uint64_t rv;      /* metadata.resourceVersion: orders binds within a second */
    nf_pod_req req;
} bound_pod;

struct nf_binder {
    nf_cache *cache;
    nf_binder_opts o;
    nf_reservations *rs;
    int64_t started_ms; /* monotonic */

    pthread_mutex_t memo_mu;
    memo_entry memo[MEMO_CAP];
    size_t memo_next;

    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv; /* CLOCK_MONOTONIC; signalled when the gate's state changes */
    pending pend[PENDING_CAP];
    size_t n_pend;
    nf_bind_waiter *waiters; /* held /filters */
    pthread_t gate;
    bool gate_running;

    /* one prediction + reservation at a time, and no reconciliation beside it: a prediction
     * sees the node's document and the reservations of one moment */
    pthread_mutex_t bind_mu;

    pthread_mutex_t pods_mu;
    bound_pod *pods;
    size_t n_pods, cap_pods;
    nf_kube_reflector *refl;
    atomic_bool listed;   /* the first pod list is in */
    atomic_bool restored; /* and every reservation it implies is back */

    pthread_t sweeper;
    bool sweeper_running;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop;

    atomic_uint_fast64_t seq; /* bind order of reservations made here */
    atomic_uint_fast64_t binds_ok, binds_refused, binds_failed, holds, hold_ms, hold_timeouts,
        requeued, restores;
};

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *str_at(const json_t *obj, const char *a, const char *b)
{
    const json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* ---- remembered pods ---- */

void nf_binder_remember(nf_binder *b, const nf_pod_req *req, char *pod, size_t len)
{
    char *uid = b && b->o.kube && req->uid && pod ? strdup(req->uid) : NULL;
    if (!uid) {
        free(pod);
        return;
    }
    pthread_mutex_lock(&b->memo_mu);
    memo_entry *e = &b->memo[b->memo_next];
    b->memo_next = (b->memo_next + 1) % MEMO_CAP;
    char *old_uid = e->uid, *old_pod = e->pod;
    e->uid = uid;
    e->pod = pod;
    e->pod_len = len;
    pthread_mutex_unlock(&b->memo_mu);
    free(old_uid);
    free(old_pod);
}

/* The newest remembered object of uid, parsed (the caller's alone), or NULL. */
static json_t *memo_get(nf_binder *b, const char *uid)
{
    char *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&b->memo_mu);
    for (size_t k = 1; k <= MEMO_CAP; k++) {
        memo_entry *e = &b->memo[(b->memo_next + MEMO_CAP - k) % MEMO_CAP];
        if (!e->uid)
            break;
        if (strcmp(e->uid, uid) == 0) {
            /* copied under the lock (a remember may replace it), parsed outside */
            if ((text = malloc(e->pod_len + 1)))
                memcpy(text, e->pod, (len = e->pod_len) + 1);
            break;
        }
    }
    pthread_mutex_unlock(&b->memo_mu);
    json_t *pod = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    return pod;
}

/* ---- the hold between a /filter and the /bind it leads to ----
 * A held /filter never blocks an HTTP worker thread (the /bind it waits for may need that very
 * thread): the HTTP glue suspends the connection and the gate wakes it. The gate thread sleeps
 * until the next deadline (of an expected bind, or of a held /filter). */

static void pend_remove_at(nf_binder *b, size_t i)
{
    free(b->pend[i].uid);
    b->pend[i] = b->pend[--b->n_pend];
}

/* Under gate_mu: forget the expected binds that did not come in time. */
static void expire_late(nf_binder *b, int64_t now)
{
    for (size_t i = 0; i < b->n_pend;) {
        if (b->pend[i].since_ms + b->o.bind_wait_ms <= now) {
            pend_remove_at(b, i);
            atomic_fetch_add(&b->hold_timeouts, 1);
        } else {
            i++;
        }
    }
}

/* Under gate_mu, after expire_late: must a /filter of uid wait now? */
static bool must_wait(const nf_binder *b, const char *uid)
{
    for (size_t i = 0; i < b->n_pend; i++)
        if (!uid || strcmp(b->pend[i].uid, uid) != 0)
            return true;
    return false;
}

/* Under gate_mu: wake the held /filters that may go on. */
static void wake_free(nf_binder *b, int64_t now)
{
    expire_late(b, now); /* also when nobody waits: a late bind must not keep the gate awake */
    for (nf_bind_waiter **p = &b->waiters; *p;) {
        nf_bind_waiter *w = *p;
        if (b->stop || now >= w->deadline_ms || !must_wait(b, w->uid)) {
            *p = w->next;
            w->queued = false;
            atomic_fetch_add(&b->hold_ms, (uint64_t)(now - w->since_ms));
            w->wake(w->arg);
        } else {
            p = &w->next;
        }
    }
}

static void *gate_main(void *arg)
{
    nf_binder *b = arg;
    pthread_mutex_lock(&b->gate_mu);
    while (!b->stop) {
        int64_t now = nf_mono_ms(), next = now + 1000;
        wake_free(b, now);
        for (size_t i = 0; i < b->n_pend; i++)
            if (b->pend[i].since_ms + b->o.bind_wait_ms < next)
                next = b->pend[i].since_ms + b->o.bind_wait_ms;
        for (nf_bind_waiter *w = b->waiters; w; w = w->next)
            if (w->deadline_ms < next)
                next = w->deadline_ms;
        struct timespec ts = nf_mono_ts(next);
        pthread_cond_timedwait(&b->gate_cv, &b->gate_mu, &ts);
    }
    wake_free(b, nf_mono_ms()); /* stopping: every held /filter goes on */
    pthread_mutex_unlock(&b->gate_mu);
    return NULL;
}

void nf_binder_expect(nf_binder *b, const char *uid)
{
    if (!b || !b->o.kube || b->o.bind_wait_ms < 0 || !uid)
        return;
    char *u = strdup(uid);
    if (!u)
        return;
    int64_t now = nf_mono_ms();
    pthread_mutex_lock(&b->gate_mu);
    for (size_t i = 0; i < b->n_pend; i++) {
        if (strcmp(b->pend[i].uid, uid) == 0) {
            pend_remove_at(b, i);
            break;
        }
    }
    if (b->n_pend == PENDING_CAP) { /* forget the oldest */
        size_t oldest = 0;
        for (size_t i = 1; i < b->n_pend; i++)
            if (b->pend[i].since_ms < b->pend[oldest].since_ms)
                oldest = i;
        pend_remove_at(b, oldest);
    }
    b->pend[b->n_pend++] = (pending){.uid = u, .since_ms = now};
    pthread_cond_broadcast(&b->gate_cv);
    pthread_mutex_unlock(&b->gate_mu);
}

static void pend_done(nf_binder *b, const char *uid)
{
    pthread_mutex_lock(&b->gate_mu);
    for (size_t i = 0; i < b->n_pend; i++) {
        if (strcmp(b->pend[i].uid, uid) == 0) {
            pend_remove_at(b, i);
            wake_free(b, nf_mono_ms());
            break;
        }
    }
    pthread_mutex_unlock(&b->gate_mu);
}

bool nf_binder_hold(nf_binder *b, const char *uid, nf_bind_waiter *w)
{
    w->queued = false;
    if (!b || !b->o.kube || b->o.bind_wait_ms < 0 || !b->gate_running)
        return false;
    int64_t now = nf_mono_ms();
    pthread_mutex_lock(&b->gate_mu);
    expire_late(b, now);
    bool wait = !b->stop && must_wait(b, uid);
    if (wait) {
        w->uid = uid;
        w->since_ms = now;
        w->deadline_ms = now + b->o.bind_wait_ms;
        w->suspend(w->arg); /* before any wake can come: wakes happen under this lock */
        w->queued = true;
        w->next = b->waiters;
        b->waiters = w;
        atomic_fetch_add(&b->holds, 1);
        pthread_cond_broadcast(&b->gate_cv);
    }
    pthread_mutex_unlock(&b->gate_mu);
    return wait;
}

/* ---- prediction + reservation ---- */

/* Is the node's document (e, NULL when there is none) usable for a prediction now? (the HTTP
 * glue's staleness rule) If not, why says why, unless e is NULL (why is left as it was). */
static bool doc_usable(const nf_binder *b, const nf_cache_entry *e, char *why, size_t len)
{
    return e && !nf_cache_entry_unusable(e, nf_wall_ms(), b->o.stale_after_ms, why, len);
}

/* The first NUMA node t lists the pod on (kubelet's choice, seen), or -1. The document names a
 * pod by UID (checkpoint files) and/or namespace/name (podresources). */
static int doc_numa_of(const nf_topology *t, const char *uid, const char *ns, const char *name)
{
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        for (size_t p = 0; p < t->numa_nodes[i].n_pods; p++)
            if (nf_pod_usage_is(&t->numa_nodes[i].pods[p], uid, ns, name))
                return t->numa_nodes[i].id;
    return -1;
}

/* Under bind_mu: predict kubelet's choice for req on t minus the current reservations (or take
 * the NUMA node t already shows part of the pod on: known >= 0), and reserve it unless t shows
 * all of it already. Returns 0 (*added says whether anything was reserved), 1 when kubelet would
 * reject (err says why), or a negative errno. */
static int reserve(nf_binder *b, const nf_pod_req *req, const nf_topology *t, const char *ns,
                   const char *name, const char *uid, int64_t created_ms, uint64_t seq, int known,
                   int *numa, bool *added, nf_err *err)
{
    *numa = -1;
    *added = false;
    nf_fit_view *base = NULL, *view = NULL;
    nf_deduction *d = NULL;
    size_t nd = 0;
    nf_kubelet_choice c;
    memset(&c, 0, sizeof(c));
    nf_resv_snapshot *snap = nf_reservations_snapshot(b->rs);
    int rc = nf_fit_view_new(t, NF_ALIGN_NUMA, &base);
    if (!rc)
        rc = nf_resv_snapshot_deductions(snap, t, &d, &nd);
    if (!rc)
        rc = nd ? nf_fit_view_deduct(base, t, d, nd, &view) : 0;
    if (!rc)
        rc = known >= 0 ? nf_kubelet_placed_on(req, base, known, &c)
                        : nf_kubelet_predict(req, t, view ? view : base, &c);
    free(d);
    nf_resv_snapshot_release(snap);
    nf_fit_view_free(view);
    nf_fit_view_free(base);
    if (rc)
        return nf_errf(err, rc, "numafit: predicting kubelet's choice on node %s: %s", t->node,
                       nf_strerror(rc));
    if (!c.admit) {
        nf_errf(err, 1, "numafit: node %s cannot take pod %s/%s now: %s", t->node, ns, name,
                c.reason);
        nf_kubelet_choice_free(&c);
        return 1;
    }
    *numa = c.numa;
    if (!c.n_placed)
        return 0;
    nf_reservation r = {.uid = xstrdup(uid),
                        .namespace_ = xstrdup(ns),
                        .name = xstrdup(name),
                        .node = xstrdup(t->node),
                        .placed = c.placed,
                        .n_placed = c.n_placed,
                        .numa = c.numa,
                        .created_ms = created_ms,
                        .seq = seq};
    c.placed = NULL;
    c.n_placed = 0;
    if (!r.uid || !r.node || (ns && !r.namespace_) || (name && !r.name)) {
        nf_reservation_clear(&r);
        return nf_errf(err, -ENOMEM, "numafit: out of memory");
    }
    if (known >= 0 && nf_reservation_shown(&r, t)) {
        nf_reservation_clear(&r); /* kubelet's files show all of it: nothing to hold */
        return 0;
    }
    if ((rc = nf_reservations_add(b->rs, &r)))
        return nf_errf(err, rc, "numafit: reserving: %s", nf_strerror(rc));
    *added = true;
    return 0;
}

/* The pod's requirements: from /filter's copy, else from the API server. */
static int pod_req_of(nf_binder *b, const char *ns, const char *name, const char *uid,
                      nf_pod_req *req, nf_err *err)
{
    json_t *pod = uid && *uid ? memo_get(b, uid) : NULL;
    if (!pod) {
        nf_err e = {{0}};
        int rc = nf_kube_get_pod(b->o.kube, ns, name, &pod, &e);
        if (rc)
            return nf_errf(err, rc, "numafit: reading pod %s/%s from the API server: %s", ns, name,
                           e.msg);
        const char *got = str_at(pod, "metadata", "uid");
        if (uid && *uid && (!got || strcmp(got, uid) != 0)) {
            json_decref(pod);
            return nf_errf(err, -ENOENT, "numafit: pod %s/%s now has uid %s, not %s", ns, name,
                           got ? got : "(none)", uid);
        }
    }
    nf_err e = {{0}};
    int rc = nf_pod_req_from_json(pod, req, &e);
    json_decref(pod);
    if (rc)
        return nf_errf(err, rc, "numafit: pod %s/%s: %s", ns, name, e.msg);
    return 0;
}

int nf_binder_bind(nf_binder *b, const char *ns, const char *name, const char *uid,
                   const char *node, nf_err *err)
{
    if (!b || !b->o.kube)
        return nf_errf(err, -ENOTSUP,
                       "numafit-extender does not bind pods: remove bindVerb from the scheduler's "
                       "extender configuration so that kube-scheduler binds, or give "
                       "numafit-extender --kubeconfig (or run it in the cluster)");
    const char *why = NULL;
    if (!nf_binder_ready(b, &why)) { /* a prediction without the old reservations overbooks */
        if (uid)
            pend_done(b, uid);
        atomic_fetch_add(&b->binds_refused, 1);
        return nf_errf(err, -EAGAIN, "%s", why);
    }
    nf_pod_req req;
    int rc = pod_req_of(b, ns, name, uid, &req, err);
    if (rc) {
        if (uid)
            pend_done(b, uid);
        atomic_fetch_add(&b->binds_failed, 1);
        return rc;
    }
    const char *puid = uid && *uid ? uid : req.uid;
    int numa = -1;
    bool reserved = false;
    if (req.aligned && puid) {
        /* the document is taken under bind_mu, like the reconciliation that ends reservations
         * (on_put): one taken before could be older than a reservation ended meanwhile, and the
         * pod that reservation stood for would be in neither */
        pthread_mutex_lock(&b->bind_mu);
        nf_cache_entry *e = nf_cache_acquire(b->cache, node);
        char unusable[160] = "no topology for this node";
        bool usable = doc_usable(b, e, unusable, sizeof(unusable));
        if (!usable && !b->o.bind_unusable) {
            /* nothing to reserve against: a bind now could overbook the node the next pod's
             * /filter sees as it was (--stale-policy reject fails it there too) */
            rc = nf_errf(err, 1,
                         "node %s: %s: not bound, so that kube-scheduler places the pod again",
                         node, unusable);
        } else if (usable) {
            /* a retried bind: the pod must not be predicted against its own reservation */
            nf_reservations_drop(b->rs, puid);
            rc = reserve(b, &req, &e->topo, ns, name, puid, nf_wall_ms(),
                         atomic_fetch_add(&b->seq, 1), -1, &numa, &reserved, err);
        }
        pthread_mutex_unlock(&b->bind_mu);
        if (!usable && b->o.bind_unusable)
            nf_warn("binding without a reservation: no usable topology for the node",
                    "pod=%s/%s uid=%s node=%s why=\"%s\"", ns, name, puid, node, unusable);
        nf_cache_release(e);
    }
    if (puid)
        pend_done(b, puid); /* the reservation is in: the next pod's /filter may go on */
    if (rc) {
        nf_pod_req_free(&req);
        atomic_fetch_add(rc == 1 ? &b->binds_refused : &b->binds_failed, 1);
        nf_info("bind refused", "pod=%s/%s uid=%s node=%s reason=\"%s\"", ns, name,
                puid ? puid : "", node, err->msg);
        return rc < 0 ? rc : -EAGAIN;
    }
    nf_err e = {{0}};
    long http = 0;
    /* bound to this node already (a retried bind whose answer was lost) is a success there */
    rc = nf_kube_bind_pod(b->o.kube, ns, name, puid, node, &http, &e);
    if (rc) {
        if (reserved)
            nf_reservations_drop(b->rs, puid);
        atomic_fetch_add(&b->binds_failed, 1);
        nf_pod_req_free(&req);
        nf_warn("bind failed", "pod=%s/%s uid=%s node=%s http_status=%ld error=\"%s\"", ns, name,
                puid ? puid : "", node, http, e.msg);
        return nf_errf(err, rc, "numafit: binding pod %s/%s to node %s: %s", ns, name, node, e.msg);
    }
    atomic_fetch_add(&b->binds_ok, 1);
    char shape[256];
    nf_amounts_format(req.effective, req.n_effective, shape, sizeof(shape));
    if (numa >= 0)
        nf_info("pod bound", "pod=%s/%s uid=%s node=%s numa=%d reserved=%s requests=\"%s\"", ns,
                name, puid ? puid : "", node, numa, reserved ? "true" : "false", shape);
    else
        nf_info("pod bound", "pod=%s/%s uid=%s node=%s numa=none reserved=%s requests=\"%s\"", ns,
                name, puid ? puid : "", node, reserved ? "true" : "false", shape);
    nf_pod_req_free(&req);
    return 0;
}

/* ---- following pods through the API server ---- */

static void bound_pod_clear(bound_pod *p)
{
    free(p->uid);
    free(p->ns);
    free(p->name);
    free(p->node);
    nf_pod_req_free(&p->req);
    memset(p, 0, sizeof(*p));
}

/* Under pods_mu. */
static size_t pods_find(nf_binder *b, const char *uid)
{
    for (size_t i = 0; i < b->n_pods; i++)
        if (strcmp(b->pods[i].uid, uid) == 0)
            return i;
    return SIZE_MAX;
}

/* Under pods_mu: room for one more; false when memory ran out. */
static bool pods_reserve(nf_binder *b)
{
    if (b->n_pods < b->cap_pods)
        return true;
    size_t cap = b->cap_pods ? b->cap_pods * 2 : 256;
    bound_pod *np = realloc(b->pods, cap * sizeof(*np));
    if (!np)
        return false;
    b->pods = np;
    b->cap_pods = cap;
    return true;
}

static void pods_remove(nf_binder *b, const char *uid)
{
    pthread_mutex_lock(&b->pods_mu);
    size_t i = pods_find(b, uid);
    if (i != SIZE_MAX) {
        bound_pod_clear(&b->pods[i]);
        b->pods[i] = b->pods[--b->n_pods];
    }
    pthread_mutex_unlock(&b->pods_mu);
}

static int64_t bound_time_ms(const json_t *pod)
{
    const json_t *conds = json_object_get(json_object_get(pod, "status"), "conditions");
    size_t i;
    const json_t *c;
    int64_t s;
    json_array_foreach(conds, i, c)
    {
        const char *type = str_at(c, "type", NULL), *t = str_at(c, "lastTransitionTime", NULL);
        if (type && strcmp(type, "PodScheduled") == 0 && t && nf_parse_rfc3339(t, &s) == 0)
            return s * 1000;
    }
    const char *created = str_at(pod, "metadata", "creationTimestamp");
    if (created && nf_parse_rfc3339(created, &s) == 0)
        return s * 1000;
    return nf_wall_ms();
}

static bool owned_by_controller(const json_t *pod)
{
    const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
    size_t i;
    const json_t *r;
    json_array_foreach(refs, i, r)
    {
        if (json_is_true(json_object_get(r, "controller")))
            return true;
    }
    return false;
}

static bool rejected_at_admission(const char *reason)
{
    static const char *const reasons[] = {"TopologyAffinityError", "SMTAlignmentError",
                                          "UnexpectedAdmissionError"};
    for (size_t i = 0; reason && i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(reason, reasons[i]) == 0)
            return true;
    return false;
}

static void requeue(nf_binder *b, const json_t *pod, const char *ns, const char *name,
                    const char *uid, const char *reason)
{
    if (!owned_by_controller(pod)) {
        nf_info("rejected pod left alone: no controller owns it", "pod=%s/%s uid=%s reason=%s", ns,
                name, uid, reason);
        return;
    }
    nf_err e = {{0}};
    int rc = nf_kube_delete_pod(b->o.kube, ns, name, uid, &e);
    if (rc == 0 || rc == -ENOENT) {
        if (rc == 0)
            atomic_fetch_add(&b->requeued, 1);
        nf_info("deleted a pod kubelet rejected, so that its controller recreates it",
                "pod=%s/%s uid=%s reason=%s", ns, name, uid, reason);
    } else {
        nf_warn("could not delete a rejected pod", "pod=%s/%s uid=%s reason=%s error=\"%s\"", ns,
                name, uid, reason, e.msg);
    }
}

/* One pod as the API server shows it now. */
static void pod_seen(nf_binder *b, json_t *pod)
{
    const char *uid = str_at(pod, "metadata", "uid");
    const char *ns = str_at(pod, "metadata", "namespace");
    const char *name = str_at(pod, "metadata", "name");
    const char *node = str_at(pod, "spec", "nodeName");
    const char *phase = str_at(pod, "status", "phase");
    if (!uid || !name)
        return;
    if (!ns)
        ns = "default";
    bool terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
    bool deleting = json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") != NULL;
    if (terminal || deleting) {
        pods_remove(b, uid);
        if (nf_reservations_drop(b->rs, uid))
            nf_info("reservation ended: pod is terminal or being deleted",
                    "pod=%s/%s uid=%s phase=%s", ns, name, uid, phase ? phase : "");
        const char *reason = str_at(pod, "status", "reason");
        if (b->o.requeue_rejected && !deleting && phase && strcmp(phase, "Failed") == 0 &&
            rejected_at_admission(reason))
            requeue(b, pod, ns, name, uid, reason);
        return;
    }
    if (phase && strcmp(phase, "Running") == 0)
        nf_reservations_set_running(b->rs, uid);
    if (!node || !*node)
        return;
    pthread_mutex_lock(&b->pods_mu);
    size_t i = pods_find(b, uid);
    bool known = i != SIZE_MAX && strcmp(b->pods[i].node, node) == 0;
    pthread_mutex_unlock(&b->pods_mu);
    if (known)
        return;
    bound_pod p = {0};
    if (nf_pod_req_from_json(pod, &p.req, &(nf_err){{0}}) || !p.req.aligned) {
        nf_pod_req_free(&p.req);
        return;
    }
    p.uid = strdup(uid);
    p.ns = strdup(ns);
    p.name = strdup(name);
    p.node = strdup(node);
    p.bound_ms = bound_time_ms(pod);
    const char *rv = str_at(pod, "metadata", "resourceVersion");
    p.rv = rv ? strtoull(rv, NULL, 10) : 0;
    if (!p.uid || !p.ns || !p.name || !p.node) {
        bound_pod_clear(&p);
        return;
    }
    pthread_mutex_lock(&b->pods_mu);
    i = pods_find(b, uid);
    if (i != SIZE_MAX) {
        bound_pod_clear(&b->pods[i]);
        b->pods[i] = p;
    } else if (pods_reserve(b)) {
        b->pods[b->n_pods++] = p;
    } else {
        bound_pod_clear(&p);
    }
    pthread_mutex_unlock(&b->pods_mu);
}

/* Let the sweeper run a pass now. */
static void sweep_now(nf_binder *b)
{
    pthread_mutex_lock(&b->stop_mu);
    pthread_cond_broadcast(&b->stop_cv);
    pthread_mutex_unlock(&b->stop_mu);
}

static void on_list(void *ctx, json_t *items)
{
    nf_binder *b = ctx;
    pthread_mutex_lock(&b->pods_mu);
    for (size_t i = 0; i < b->n_pods; i++)
        bound_pod_clear(&b->pods[i]);
    b->n_pods = 0;
    pthread_mutex_unlock(&b->pods_mu);
    size_t i;
    json_t *pod;
    json_array_foreach(items, i, pod) pod_seen(b, pod);
    atomic_store(&b->listed, true);
    sweep_now(b); /* restore now rather than at the next sweep */
}

static void on_event(void *ctx, const char *type, json_t *pod)
{
    nf_binder *b = ctx;
    nf_debug("pod event", "type=%s pod=%s/%s node=%s phase=%s", type,
             str_at(pod, "metadata", "namespace"), str_at(pod, "metadata", "name"),
             str_at(pod, "spec", "nodeName"), str_at(pod, "status", "phase"));
    if (strcmp(type, "DELETED") == 0) {
        const char *uid = str_at(pod, "metadata", "uid");
        if (!uid)
            return;
        pods_remove(b, uid);
        if (nf_reservations_drop(b->rs, uid))
            nf_info("reservation ended: pod deleted", "pod=%s/%s uid=%s",
                    str_at(pod, "metadata", "namespace"), str_at(pod, "metadata", "name"), uid);
        return;
    }
    pod_seen(b, pod);
}

/* ---- reconciliation, expiry and restore ---- */

static void log_end(void *ctx, const nf_reservation *r, nf_resv_end why)
{
    (void)ctx;
    int64_t age = nf_wall_ms() - r->created_ms;
    if (why == NF_RESV_EXPIRED)
        nf_warn("reservation expired: nothing confirmed the pod within --reservation-ttl",
                "pod=%s/%s uid=%s node=%s age_ms=%" PRId64, r->namespace_ ? r->namespace_ : "",
                r->name ? r->name : "", r->uid, r->node, age);
    else
        nf_debug("reservation confirmed", "pod=%s/%s uid=%s node=%s age_ms=%" PRId64,
                 r->namespace_ ? r->namespace_ : "", r->name ? r->name : "", r->uid, r->node, age);
}

/* The pod scope request a reservation stands for (its amounts as one Guaranteed container, or
 * Burstable when the Memory Manager tracks none of its hugepages). */
static int req_of_reservation(const nf_reservation *r, const nf_fit_view *v, nf_pod_req *out)
{
    memset(out, 0, sizeof(*out));
    bool cpu_static, mm_static, scope_pod, untracked_pages = false;
    nf__fit_view_policy(v, &cpu_static, &mm_static, &scope_pod);
    int rc = 0;
    for (size_t i = 0; !rc && i < r->n_placed; i++) { /* nf_amount_add sums per name */
        const nf_placed *p = &r->placed[i];
        rc = nf_amount_add(&out->effective, &out->n_effective, p->resource, p->amount);
        untracked_pages |= nf_resource_is_hugepages(p->resource) && !p->tracked;
    }
    out->qos = mm_static && untracked_pages ? NF_QOS_BURSTABLE : NF_QOS_GUARANTEED;
    out->aligned = true;
    nf_container_req *c = calloc(1, sizeof(*c));
    if (c) {
        out->containers = c;
        out->n_containers = 1;
        c->kind = NF_CONTAINER_APP;
        c->exclusive_cpus = nf_amount_get(out->effective, out->n_effective, "cpu");
        if (!(c->name = strdup("reservation")))
            rc = -ENOMEM;
        for (size_t k = 0; !rc && k < out->n_effective; k++)
            rc = nf_amount_add(&c->amounts, &c->n_amounts, out->effective[k].name,
                               out->effective[k].value);
    }
    if (rc || !c) {
        nf_pod_req_free(out);
        return -ENOMEM;
    }
    return 0;
}

/* Does t show a reserved pod on a NUMA node its reservation holds no tracked amount on? */
static bool mispredicted(const nf_reservation *v, size_t n, const nf_topology *t)
{
    for (size_t i = 0; i < n; i++) {
        int at = doc_numa_of(t, v[i].uid, v[i].namespace_, v[i].name);
        bool there = at < 0;
        for (size_t k = 0; !there && k < v[i].n_placed; k++)
            there = v[i].placed[k].tracked && v[i].placed[k].numa == at;
        if (!there)
            return true;
    }
    return false;
}

/* kubelet put a pod elsewhere than predicted (after a restart the bind order is only known to
 * the second): the node's later reservations were predicted on a wrong picture. Place them all
 * again in bind order: where the document shows them, else where kubelet will put them on the
 * document minus the ones before. Under bind_mu: a bind placed between the list and the moves
 * would be missing from the picture. */
static void replan(nf_binder *b, const nf_topology *t)
{
    nf_reservation *v;
    size_t n;
    if (nf_reservations_count(b->rs) == 0 || nf_reservations_of_node(b->rs, t->node, &v, &n))
        return;
    nf_reservations *seen = NULL;
    nf_fit_view *base = NULL;
    if (!n || !mispredicted(v, n, t) || nf_reservations_new(0, &seen) ||
        nf_fit_view_new(t, NF_ALIGN_NUMA, &base))
        goto out;
    for (size_t i = 0; i < n; i++) {
        nf_pod_req req;
        nf_kubelet_choice c;
        memset(&c, 0, sizeof(c));
        nf_deduction *d = NULL;
        size_t nd = 0;
        nf_fit_view *view = NULL;
        int known = doc_numa_of(t, v[i].uid, v[i].namespace_, v[i].name);
        nf_resv_snapshot *snap = nf_reservations_snapshot(seen);
        int rc = req_of_reservation(&v[i], base, &req);
        if (!rc && known < 0 && !(rc = nf_resv_snapshot_deductions(snap, t, &d, &nd)) && nd)
            rc = nf_fit_view_deduct(base, t, d, nd, &view);
        if (!rc)
            rc = known >= 0 ? nf_kubelet_placed_on(&req, base, known, &c)
                            : nf_kubelet_predict(&req, t, view ? view : base, &c);
        free(d);
        nf_fit_view_free(view);
        nf_resv_snapshot_release(snap);
        nf_reservation mine; /* what the later ones are predicted against */
        if (!rc && c.admit && c.n_placed) {
            nf_reservation moved = v[i];
            moved.placed = c.placed;
            moved.n_placed = c.n_placed;
            if (nf_reservation_copy(&mine, &moved) == 0)
                nf_reservations_add(seen, &mine);
            if (c.numa != v[i].numa)
                nf_debug("reservation moved", "pod=%s/%s node=%s numa=%d->%d",
                         v[i].namespace_ ? v[i].namespace_ : "", v[i].name ? v[i].name : "",
                         t->node, v[i].numa, c.numa);
            nf_reservations_move(b->rs, v[i].uid, c.placed, c.n_placed, c.numa);
            c.placed = NULL;
            c.n_placed = 0;
        } else if (nf_reservation_copy(&mine, &v[i]) == 0) { /* kept as it was */
            nf_reservations_add(seen, &mine);
        }
        nf_kubelet_choice_free(&c);
        nf_pod_req_free(&req);
    }
out:
    nf_fit_view_free(base);
    nf_reservations_free(seen);
    for (size_t i = 0; i < n; i++)
        nf_reservation_clear(&v[i]);
    free(v);
}

static void on_put(void *ctx, const nf_topology *t)
{
    nf_binder *b = ctx;
    /* most documents are of nodes without reservations: one hash lookup, not a scan of all */
    nf_resv_snapshot *snap = nf_reservations_snapshot(b->rs);
    bool mine = nf_resv_snapshot_has_node(snap, t->node);
    nf_resv_snapshot_release(snap);
    if (mine) { /* under bind_mu: see nf_binder_bind */
        pthread_mutex_lock(&b->bind_mu);
        nf_reservations_reconcile(b->rs, t, log_end, b);
        replan(b, t);
        pthread_mutex_unlock(&b->bind_mu);
    }
    if (!atomic_load(&b->restored) && atomic_load(&b->listed))
        sweep_now(b); /* a node the restore waits for may have arrived */
}

static int by_bound_time(const void *x, const void *y)
{
    const bound_pod *a = x, *c = y;
    if (a->bound_ms != c->bound_ms)
        return (a->bound_ms > c->bound_ms) - (a->bound_ms < c->bound_ms);
    /* the binding is usually a bound pending pod's last change: etcd's revision orders it (a
     * resourceVersion is opaque by contract; here it only breaks ties) */
    return (a->rv > c->rv) - (a->rv < c->rv);
}

/* Give back the reservations of bound pods that their node's document does not account for yet
 * (after a restart, or pods bound by someone else). Returns true when every such pod's node was
 * known. */
static bool restore(nf_binder *b)
{
    int64_t now = nf_wall_ms();
    bool complete = true;
    pthread_mutex_lock(&b->pods_mu);
    if (b->n_pods) /* kubelet admits in bind order */
        qsort(b->pods, b->n_pods, sizeof(*b->pods), by_bound_time);
    for (size_t i = 0; i < b->n_pods; i++) {
        bound_pod *p = &b->pods[i];
        if (now - p->bound_ms >= nf_reservations_ttl_ms(b->rs) ||
            nf_reservations_has(b->rs, p->uid))
            continue;
        pthread_mutex_lock(&b->bind_mu); /* the document too: see nf_binder_bind */
        nf_cache_entry *e = nf_cache_acquire(b->cache, p->node);
        char why[8]; /* not reported: the pass only retries later */
        if (!doc_usable(b, e, why, sizeof(why))) {
            pthread_mutex_unlock(&b->bind_mu);
            complete = false;
            nf_cache_release(e);
            continue;
        }
        /* a pod the document lists in part (kubelet writes its files one by one) keeps the
         * rest reserved where kubelet put it; reconciliation drops what is fully shown */
        nf_err err = {{0}};
        int numa = -1, known = doc_numa_of(&e->topo, p->uid, p->ns, p->name);
        bool added = false;
        int rc = reserve(b, &p->req, &e->topo, p->ns, p->name, p->uid, p->bound_ms, p->rv, known,
                         &numa, &added, &err);
        pthread_mutex_unlock(&b->bind_mu);
        nf_debug("restore", "pod=%s/%s node=%s known=%d rc=%d added=%d numa=%d", p->ns, p->name,
                 p->node, known, rc, (int)added, numa);
        if (added) {
            atomic_fetch_add(&b->restores, 1);
            nf_info("reservation restored for a bound pod its node does not show (all) yet",
                    "pod=%s/%s uid=%s node=%s numa=%d", p->ns, p->name, p->uid, p->node, numa);
        } else if (rc && !atomic_load(&b->restored)) { /* once, not every sweep */
            nf_warn("no reservation for a bound pod", "pod=%s/%s uid=%s node=%s reason=\"%s\"",
                    p->ns, p->name, p->uid, p->node, err.msg);
        }
        nf_cache_release(e);
    }
    pthread_mutex_unlock(&b->pods_mu);
    return complete;
}

static void *sweeper_main(void *arg)
{
    nf_binder *b = arg;
    pthread_mutex_lock(&b->stop_mu);
    while (!b->stop) {
        pthread_mutex_unlock(&b->stop_mu);
        nf_reservations_expire(b->rs, nf_wall_ms(), log_end, b);
        if (atomic_load(&b->listed)) {
            bool complete = restore(b);
            if (!atomic_load(&b->restored) && ((complete && nf_cache_size(b->cache) > 0) ||
                                               nf_mono_ms() - b->started_ms > RESTORE_GRACE_MS)) {
                atomic_store(&b->restored, true);
                nf_info("reservations restored from the API server", "reservations=%zu",
                        nf_reservations_count(b->rs));
            }
        }
        int64_t wake = nf_mono_ms() + b->o.sweep_ms;
        struct timespec ts = nf_mono_ts(wake);
        pthread_mutex_lock(&b->stop_mu);
        if (!b->stop)
            pthread_cond_timedwait(&b->stop_cv, &b->stop_mu, &ts);
    }
    pthread_mutex_unlock(&b->stop_mu);
    return NULL;
}

/* ---- life cycle ---- */

static void mono_cond_init(pthread_cond_t *cv)
{
    nf_mono_cond_init(cv);
}

/* A node's reservations changed: the answers the extender kept for it (computed with the old
 * ones) are no longer true. */
static void forget_word(void *ctx, const char *node)
{
    nf_cache_forget_word(ctx, node);
}

int nf_binder_new(nf_cache *cache, const nf_binder_opts *o, nf_binder **out, nf_err *err)
{
    nf_binder *b = calloc(1, sizeof(*b));
    if (!b)
        return nf_errf(err, -ENOMEM, "binder: out of memory");
    b->cache = cache;
    b->o = *o;
    if (!b->o.ttl_ms)
        b->o.ttl_ms = NF_BINDER_DEFAULT_TTL_MS;
    if (!b->o.bind_wait_ms)
        b->o.bind_wait_ms = NF_BINDER_DEFAULT_BIND_WAIT_MS;
    if (b->o.sweep_ms <= 0)
        b->o.sweep_ms = 500;
    if (nf_reservations_new(b->o.ttl_ms, &b->rs)) {
        free(b);
        return nf_errf(err, -ENOMEM, "binder: out of memory");
    }
    pthread_mutex_init(&b->memo_mu, NULL);
    pthread_mutex_init(&b->gate_mu, NULL);
    mono_cond_init(&b->gate_cv);
    pthread_mutex_init(&b->bind_mu, NULL);
    pthread_mutex_init(&b->pods_mu, NULL);
    pthread_mutex_init(&b->stop_mu, NULL);
    mono_cond_init(&b->stop_cv);
    b->started_ms = nf_mono_ms();
    atomic_store(&b->restored, !o->kube);
    nf_cache_on_put(cache, on_put, b);
    nf_reservations_on_change(b->rs, forget_word, cache);
    *out = b;
    return 0;
}

int nf_binder_start(nf_binder *b, nf_err *err)
{
    if (b->o.kube) {
        nf_kube_reflector_ops ops = {.on_list = on_list, .on_event = on_event, .ctx = b};
        int rc = nf_kube_reflector_start(b->o.kube, "spec.nodeName!=", &ops, &b->refl, err);
        if (rc)
            return rc;
    }
    if (pthread_create(&b->sweeper, NULL, sweeper_main, b))
        return nf_errf(err, -EAGAIN, "binder: cannot start its thread");
    b->sweeper_running = true;
    if (b->o.kube && b->o.bind_wait_ms > 0) {
        if (pthread_create(&b->gate, NULL, gate_main, b))
            return nf_errf(err, -EAGAIN, "binder: cannot start its thread");
        b->gate_running = true;
    }
    return 0;
}

void nf_binder_shutdown(nf_binder *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->stop_mu);
    pthread_mutex_lock(&b->gate_mu);
    b->stop = true;
    wake_free(b, nf_mono_ms()); /* every held /filter goes on */
    pthread_cond_broadcast(&b->gate_cv);
    pthread_mutex_unlock(&b->gate_mu);
    pthread_cond_broadcast(&b->stop_cv);
    pthread_mutex_unlock(&b->stop_mu);
}

void nf_binder_free(nf_binder *b)
{
    if (!b)
        return;
    nf_cache_on_put(b->cache, NULL, NULL);
    nf_binder_shutdown(b);
    if (b->sweeper_running)
        pthread_join(b->sweeper, NULL);
    if (b->gate_running)
        pthread_join(b->gate, NULL);
    nf_kube_reflector_stop(b->refl);
    for (size_t i = 0; i < MEMO_CAP; i++) {
        free(b->memo[i].uid);
        free(b->memo[i].pod);
    }
    for (size_t i = 0; i < b->n_pend; i++)
        free(b->pend[i].uid);
    for (size_t i = 0; i < b->n_pods; i++)
        bound_pod_clear(&b->pods[i]);
    free(b->pods);
    nf_reservations_free(b->rs);
    pthread_mutex_destroy(&b->memo_mu);
    pthread_mutex_destroy(&b->gate_mu);
    pthread_cond_destroy(&b->gate_cv);
    pthread_mutex_destroy(&b->bind_mu);
    pthread_mutex_destroy(&b->pods_mu);
    pthread_mutex_destroy(&b->stop_mu);
    pthread_cond_destroy(&b->stop_cv);
    free(b);
}

bool nf_binder_ready(nf_binder *b, const char **why)
{
    if (!b || !b->o.kube || atomic_load(&b->restored))
        return true;
    *why = atomic_load(&b->listed)
               ? "numafit-extender is not ready: restoring the reservations of bound pods"
               : "numafit-extender is not ready: waiting for the API server's pod list";
    return false;
}

nf_reservations *nf_binder_reservations(nf_binder *b)
{
    return b ? b->rs : NULL;
}

void nf_binder_metrics(nf_binder *b, nf_prom *p)
{
    if (!b)
        return;
    nf_prom_family(p, "numafit_extender_reservations", "gauge",
                   "Pods bound by numafit whose node's document does not account for them yet.");
    nf_prom_sample_int(p, "numafit_extender_reservations", (int64_t)nf_reservations_count(b->rs),
                       NULL);
    uint64_t t[4];
    nf_reservations_totals(b->rs, t);
    static const char *const outcome[] = {"added", "confirmed", "expired", "dropped"};
    nf_prom_family(p, "numafit_extender_reservations_total", "counter",
                   "Reservations by what happened to them: added at bind or restore, confirmed "
                   "by the node's document, expired (ttl), dropped (pod gone, bind failed).");
    for (int i = 0; i < 4; i++)
        nf_prom_sample_int(p, "numafit_extender_reservations_total", (int64_t)t[i], "outcome",
                           outcome[i], NULL);
    nf_prom_family(p, "numafit_extender_binds_total", "counter",
                   "POST /bind outcomes: bound, refused (kubelet would reject the pod there, or "
                   "the node has no usable document), failed (API server or pod lookup).");
    nf_prom_sample_int(p, "numafit_extender_binds_total", (int64_t)atomic_load(&b->binds_ok),
                       "result", "bound", NULL);
    nf_prom_sample_int(p, "numafit_extender_binds_total", (int64_t)atomic_load(&b->binds_refused),
                       "result", "refused", NULL);
    nf_prom_sample_int(p, "numafit_extender_binds_total", (int64_t)atomic_load(&b->binds_failed),
                       "result", "failed", NULL);
    nf_prom_family(p, "numafit_extender_filter_holds_total", "counter",
                   "/filter calls held until an earlier pod's /bind arrived.");
    nf_prom_sample_int(p, "numafit_extender_filter_holds_total", (int64_t)atomic_load(&b->holds),
                       NULL);
    nf_prom_family(p, "numafit_extender_filter_hold_seconds_total", "counter",
                   "Time /filter calls spent held.");
    nf_prom_sample(p, "numafit_extender_filter_hold_seconds_total",
                   (double)atomic_load(&b->hold_ms) / 1000.0, NULL);
    nf_prom_family(p, "numafit_extender_filter_hold_timeouts_total", "counter",
                   "Expected binds that did not arrive within the hold (--bind-wait).");
    nf_prom_sample_int(p, "numafit_extender_filter_hold_timeouts_total",
                       (int64_t)atomic_load(&b->hold_timeouts), NULL);
    nf_prom_family(p, "numafit_extender_reservations_restored_total", "counter",
                   "Reservations rebuilt for bound pods their node does not show yet.");
    nf_prom_sample_int(p, "numafit_extender_reservations_restored_total",
                       (int64_t)atomic_load(&b->restores), NULL);
    nf_prom_family(p, "numafit_extender_requeued_pods_total", "counter",
                   "Controller-owned pods deleted after kubelet rejected them at admission "
                   "(--requeue-rejected-pods).");
    nf_prom_sample_int(p, "numafit_extender_requeued_pods_total",
                       (int64_t)atomic_load(&b->requeued), NULL);
    if (b->refl) {
        uint64_t lists, watches, errors;
        nf_kube_reflector_counts(b->refl, &lists, &watches, &errors);
        nf_prom_family(p, "numafit_extender_apiserver_lists_total", "counter",
                       "Pod lists read from the API server.");
        nf_prom_sample_int(p, "numafit_extender_apiserver_lists_total", (int64_t)lists, NULL);
        nf_prom_family(p, "numafit_extender_apiserver_watches_total", "counter",
                       "Pod watches started.");
        nf_prom_sample_int(p, "numafit_extender_apiserver_watches_total", (int64_t)watches, NULL);
        nf_prom_family(p, "numafit_extender_apiserver_errors_total", "counter",
                       "Failed pod lists and watches.");
        nf_prom_sample_int(p, "numafit_extender_apiserver_errors_total", (int64_t)errors, NULL);
    }
}
