/* reservations.c - the extender's reservations (see reservations.h). */
#include "reservations.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "numafit/hash.h"
#include "numafit/strlist.h"

struct nf_resv_snapshot {
    atomic_uint refs;
    nf_reservation *v; /* deep copies, sorted by node, then age */
    size_t n;
    /* open addressing: node name -> index of its first reservation in v; cap a power of 2 */
    size_t *slots; /* SIZE_MAX = empty */
    size_t cap;
    /* one bit per node hash: most nodes have no reservation, and a request asks about every
     * node; the 8 KiB stay in the CPU's cache where the slots would not */
    uint64_t has[1024];
};

static size_t has_bit(uint64_t h)
{
    return (size_t)(h >> 32) & (sizeof(((nf_resv_snapshot *)0)->has) * 8 - 1);
}

struct nf_reservations {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    nf_reservation *v; /* unordered */
    size_t n, cap;
    nf_resv_snapshot *snap; /* NULL when stale or there is nothing */
    atomic_size_t count;    /* n, readable without the lock */
    uint64_t totals[4];     /* added, confirmed, expired, dropped */
    nf_resv_node_fn on_change;
    void *on_change_ctx;
};

/* ---- one reservation ---- */

static void placed_free(nf_placed *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].resource);
    free(p);
}

void nf_reservation_clear(nf_reservation *r)
{
    if (!r)
        return;
    free(r->uid);
    free(r->namespace_);
    free(r->name);
    free(r->node);
    placed_free(r->placed, r->n_placed);
    memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

int nf_reservation_copy(nf_reservation *dst, const nf_reservation *src)
{
    bool oom = false;
    *dst = *src;
    dst->uid = dup_or_null(src->uid, &oom);
    dst->namespace_ = dup_or_null(src->namespace_, &oom);
    dst->name = dup_or_null(src->name, &oom);
    dst->node = dup_or_null(src->node, &oom);
    dst->placed = src->n_placed ? calloc(src->n_placed, sizeof(*dst->placed)) : NULL;
    dst->n_placed = 0;
    if (src->n_placed && !dst->placed)
        oom = true;
    for (size_t i = 0; !oom && i < src->n_placed; i++) {
        dst->placed[i] = src->placed[i];
        dst->placed[i].resource = dup_or_null(src->placed[i].resource, &oom);
        dst->n_placed = i + 1;
    }
    if (oom) {
        nf_reservation_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* ---- accounting: what a document already shows of a reservation ---- */

/* What t accounts to r's pod, per resource, summed over its NUMA nodes (the exporter lists a pod
 * under every NUMA node it holds something on, by UID from the checkpoint files and/or by
 * namespace/name from podresources). */
static int64_t accounted(const nf_topology *t, const nf_reservation *r, const char *resource)
{
    int64_t sum = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *nn = &t->numa_nodes[i];
        for (size_t p = 0; p < nn->n_pods; p++)
            if (nf_pod_usage_is(&nn->pods[p], r->uid, r->namespace_, r->name))
                sum += nf_amount_get(nn->pods[p].amounts, nn->pods[p].n_amounts, resource);
    }
    return sum;
}

/* residual[i] = what is still to subtract of r->placed[i] given t. Tracked amounts are matched
 * per resource against what t accounts to the pod, in placement order; untracked amounts stay
 * whole. Returns true when r has tracked amounts and t accounts every one of them. */
static bool residuals(const nf_reservation *r, const nf_topology *t, int64_t *residual)
{
    bool any_tracked = false, all_done = true;
    for (size_t i = 0; i < r->n_placed; i++) {
        const nf_placed *p = &r->placed[i];
        residual[i] = p->amount;
        if (!p->tracked)
            continue;
        any_tracked = true;
        /* the share of the accounted amount left after the earlier items of this resource */
        int64_t acc = accounted(t, r, p->resource);
        for (size_t j = 0; j < i && acc > 0; j++)
            if (r->placed[j].tracked && strcmp(r->placed[j].resource, p->resource) == 0)
                acc -= r->placed[j].amount < acc ? r->placed[j].amount : acc;
        residual[i] = p->amount > acc ? p->amount - acc : 0;
        if (residual[i] > 0)
            all_done = false;
    }
    return any_tracked && all_done;
}

bool nf_reservation_shown(const nf_reservation *r, const nf_topology *t)
{
    int64_t local[16], *res = r->n_placed <= 16 ? local : malloc(r->n_placed * sizeof(*res));
    bool shown = res && residuals(r, t, res);
    if (res != local)
        free(res);
    return shown;
}

/* ---- the table ---- */

int nf_reservations_new(int64_t ttl_ms, nf_reservations **out)
{
    nf_reservations *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return -ENOMEM;
    pthread_mutex_init(&rs->mu, NULL);
    rs->ttl_ms = ttl_ms;
    *out = rs;
    return 0;
}

void nf_reservations_free(nf_reservations *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        nf_reservation_clear(&rs->v[i]);
    free(rs->v);
    nf_resv_snapshot_release(rs->snap);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
}

int64_t nf_reservations_ttl_ms(const nf_reservations *rs)
{
    return rs->ttl_ms;
}

void nf_reservations_on_change(nf_reservations *rs, nf_resv_node_fn fn, void *ctx)
{
    rs->on_change = fn;
    rs->on_change_ctx = ctx;
}

/* The nodes a change touched, noted under rs->mu and told to the observer after it. */
typedef struct touched {
    char **nodes;
    size_t n;
    bool all; /* no memory to note one: tell "any node" */
} touched;

static void touch(const nf_reservations *rs, touched *t, const char *node)
{
    if (!rs->on_change || t->all)
        return;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->nodes[i], node) == 0)
            return;
    if (nf_strlist_addf(&t->nodes, &t->n, "%s", node))
        t->all = true;
}

static void tell(const nf_reservations *rs, touched *t)
{
    if (rs->on_change && t->all)
        rs->on_change(rs->on_change_ctx, NULL);
    for (size_t i = 0; rs->on_change && !t->all && i < t->n; i++)
        rs->on_change(rs->on_change_ctx, t->nodes[i]);
    nf_strlist_free(t->nodes, t->n);
    *t = (touched){0};
}

/* Under rs->mu: the table changed. */
static void changed(nf_reservations *rs)
{
    nf_resv_snapshot_release(rs->snap);
    rs->snap = NULL;
    atomic_store(&rs->count, rs->n);
}

static size_t find(const nf_reservations *rs, const char *uid)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].uid, uid) == 0)
            return i;
    return SIZE_MAX;
}

/* Under rs->mu: remove entry i (order is not kept). */
static void remove_at(nf_reservations *rs, size_t i)
{
    nf_reservation_clear(&rs->v[i]);
    rs->v[i] = rs->v[--rs->n];
    memset(&rs->v[rs->n], 0, sizeof(rs->v[rs->n]));
}

/* Process-wide, so no two tables' reservations share a revision either. */
static uint64_t next_rev(void)
{
    static _Atomic uint64_t last;
    return atomic_fetch_add_explicit(&last, 1, memory_order_relaxed) + 1;
}

int nf_reservations_add(nf_reservations *rs, nf_reservation *r)
{
    if (!r->uid || !r->node) {
        nf_reservation_clear(r);
        return -EINVAL;
    }
    touched t = {0};
    pthread_mutex_lock(&rs->mu);
    size_t i = find(rs, r->uid);
    touch(rs, &t, r->node);
    if (i != SIZE_MAX) {
        touch(rs, &t, rs->v[i].node);
        nf_reservation_clear(&rs->v[i]);
        rs->v[i] = *r;
    } else {
        if (rs->n == rs->cap) {
            size_t cap = rs->cap ? rs->cap * 2 : 64;
            nf_reservation *nv = realloc(rs->v, cap * sizeof(*nv));
            if (!nv) {
                pthread_mutex_unlock(&rs->mu);
                nf_strlist_free(t.nodes, t.n); /* nothing changed */
                nf_reservation_clear(r);
                return -ENOMEM;
            }
            rs->v = nv;
            rs->cap = cap;
        }
        rs->v[rs->n++] = *r;
    }
    rs->v[i != SIZE_MAX ? i : rs->n - 1].rev = next_rev();
    rs->totals[0]++;
    changed(rs);
    pthread_mutex_unlock(&rs->mu);
    tell(rs, &t);
    memset(r, 0, sizeof(*r));
    return 0;
}

bool nf_reservations_drop(nf_reservations *rs, const char *uid)
{
    if (!uid || atomic_load(&rs->count) == 0)
        return false;
    touched t = {0};
    pthread_mutex_lock(&rs->mu);
    size_t i = find(rs, uid);
    if (i != SIZE_MAX) {
        touch(rs, &t, rs->v[i].node);
        remove_at(rs, i);
        rs->totals[3]++;
        changed(rs);
    }
    pthread_mutex_unlock(&rs->mu);
    tell(rs, &t);
    return i != SIZE_MAX;
}

bool nf_reservations_has(nf_reservations *rs, const char *uid)
{
    if (!uid || atomic_load(&rs->count) == 0)
        return false;
    pthread_mutex_lock(&rs->mu);
    bool has = find(rs, uid) != SIZE_MAX;
    pthread_mutex_unlock(&rs->mu);
    return has;
}

void nf_reservations_set_running(nf_reservations *rs, const char *uid)
{
    if (!uid || atomic_load(&rs->count) == 0)
        return;
    pthread_mutex_lock(&rs->mu);
    size_t i = find(rs, uid);
    if (i != SIZE_MAX)
        rs->v[i].running = true;
    pthread_mutex_unlock(&rs->mu);
}

static int by_age(const void *a, const void *b)
{
    const nf_reservation *x = a, *y = b;
    if (x->created_ms != y->created_ms)
        return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

int nf_reservations_of_node(nf_reservations *rs, const char *node, nf_reservation **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&rs->mu);
    nf_reservation *v = calloc(rs->n ? rs->n : 1, sizeof(*v));
    int rc = v ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < rs->n; i++)
        if (strcmp(rs->v[i].node, node) == 0 && !(rc = nf_reservation_copy(&v[*n], &rs->v[i])))
            (*n)++;
    pthread_mutex_unlock(&rs->mu);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            nf_reservation_clear(&v[i]);
        free(v);
        *n = 0;
        return rc;
    }
    qsort(v, *n, sizeof(*v), by_age);
    *out = v;
    return 0;
}

int nf_reservations_move(nf_reservations *rs, const char *uid, nf_placed *placed, size_t n,
                         int numa)
{
    pthread_mutex_lock(&rs->mu);
    size_t i = find(rs, uid);
    if (i == SIZE_MAX) {
        pthread_mutex_unlock(&rs->mu);
        placed_free(placed, n);
        return -ENOENT;
    }
    touched t = {0};
    touch(rs, &t, rs->v[i].node);
    placed_free(rs->v[i].placed, rs->v[i].n_placed);
    rs->v[i].placed = placed;
    rs->v[i].n_placed = n;
    rs->v[i].numa = numa;
    rs->v[i].rev = next_rev();
    changed(rs);
    pthread_mutex_unlock(&rs->mu);
    tell(rs, &t);
    return 0;
}

size_t nf_reservations_count(nf_reservations *rs)
{
    return atomic_load(&rs->count);
}

void nf_reservations_totals(nf_reservations *rs, uint64_t out[4])
{
    pthread_mutex_lock(&rs->mu);
    memcpy(out, rs->totals, sizeof(rs->totals));
    pthread_mutex_unlock(&rs->mu);
}

static bool has_tracked(const nf_reservation *r)
{
    for (size_t i = 0; i < r->n_placed; i++)
        if (r->placed[i].tracked)
            return true;
    return false;
}

size_t nf_reservations_reconcile(nf_reservations *rs, const nf_topology *t, nf_resv_end_fn fn,
                                 void *ctx)
{
    if (!t->node || atomic_load(&rs->count) == 0)
        return 0;
    size_t ended = 0;
    touched tn = {0};
    pthread_mutex_lock(&rs->mu);
    for (size_t i = 0; i < rs->n;) {
        nf_reservation *r = &rs->v[i];
        if (strcmp(r->node, t->node) != 0 || !nf_reservation_shown(r, t)) {
            i++;
            continue;
        }
        if (fn)
            fn(ctx, r, NF_RESV_CONFIRMED);
        touch(rs, &tn, r->node);
        remove_at(rs, i);
        rs->totals[1]++;
        ended++;
    }
    if (ended)
        changed(rs);
    pthread_mutex_unlock(&rs->mu);
    tell(rs, &tn);
    return ended;
}

size_t nf_reservations_expire(nf_reservations *rs, int64_t now_ms, nf_resv_end_fn fn, void *ctx)
{
    if (atomic_load(&rs->count) == 0)
        return 0;
    size_t ended = 0;
    touched t = {0};
    pthread_mutex_lock(&rs->mu);
    for (size_t i = 0; i < rs->n;) {
        nf_reservation *r = &rs->v[i];
        bool old = rs->ttl_ms > 0 && now_ms - r->created_ms >= rs->ttl_ms;
        bool untracked_running = r->running && !has_tracked(r);
        if (!old && !untracked_running) {
            i++;
            continue;
        }
        if (fn)
            fn(ctx, r, old ? NF_RESV_EXPIRED : NF_RESV_CONFIRMED);
        rs->totals[old ? 2 : 1]++;
        touch(rs, &t, r->node);
        remove_at(rs, i);
        ended++;
    }
    if (ended)
        changed(rs);
    pthread_mutex_unlock(&rs->mu);
    tell(rs, &t);
    return ended;
}

/* ---- snapshots ---- */

static int by_node_then_age(const void *a, const void *b)
{
    const nf_reservation *x = a, *y = b;
    int c = strcmp(x->node, y->node);
    return c ? c : by_age(a, b);
}

static void snapshot_free(nf_resv_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        nf_reservation_clear(&s->v[i]);
    free(s->v);
    free(s->slots);
    free(s);
}

void nf_resv_snapshot_release(nf_resv_snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

/* Under rs->mu. */
static nf_resv_snapshot *snapshot_build(const nf_reservations *rs)
{
    nf_resv_snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->v = calloc(rs->n, sizeof(*s->v));
    s->cap = 16;
    while (s->cap < rs->n * 2)
        s->cap *= 2;
    s->slots = malloc(s->cap * sizeof(*s->slots));
    if (!s->v || !s->slots) {
        snapshot_free(s);
        return NULL;
    }
    for (size_t i = 0; i < rs->n; i++) {
        if (nf_reservation_copy(&s->v[i], &rs->v[i])) {
            snapshot_free(s);
            return NULL;
        }
        s->n = i + 1;
    }
    qsort(s->v, s->n, sizeof(*s->v), by_node_then_age);
    for (size_t k = 0; k < s->cap; k++)
        s->slots[k] = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++) {
        if (i && strcmp(s->v[i].node, s->v[i - 1].node) == 0)
            continue; /* the slot names the node's first reservation */
        uint64_t h = nf_hash_str(s->v[i].node);
        s->has[has_bit(h) / 64] |= 1ull << (has_bit(h) % 64);
        size_t k = h & (s->cap - 1);
        while (s->slots[k] != SIZE_MAX)
            k = (k + 1) & (s->cap - 1);
        s->slots[k] = i;
    }
    return s;
}

nf_resv_snapshot *nf_reservations_snapshot(nf_reservations *rs)
{
    if (!rs || atomic_load(&rs->count) == 0)
        return NULL;
    pthread_mutex_lock(&rs->mu);
    if (!rs->snap && rs->n)
        rs->snap = snapshot_build(rs);
    nf_resv_snapshot *s = rs->snap;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&rs->mu);
    return s;
}

/* Index of node's first reservation in s->v, or SIZE_MAX. h: nf_hash_str(node). */
static size_t first_of_hashed(const nf_resv_snapshot *s, const char *node, uint64_t h)
{
    if (!s || !node)
        return SIZE_MAX;
    if (!(s->has[has_bit(h) / 64] & (1ull << (has_bit(h) % 64))))
        return SIZE_MAX;
    for (size_t k = h & (s->cap - 1); s->slots[k] != SIZE_MAX; k = (k + 1) & (s->cap - 1))
        if (strcmp(s->v[s->slots[k]].node, node) == 0)
            return s->slots[k];
    return SIZE_MAX;
}

static size_t first_of(const nf_resv_snapshot *s, const char *node)
{
    return node ? first_of_hashed(s, node, nf_hash_str(node)) : SIZE_MAX;
}

bool nf_resv_snapshot_has_node(const nf_resv_snapshot *s, const char *node)
{
    return first_of(s, node) != SIZE_MAX;
}

int nf_resv_snapshot_deductions(const nf_resv_snapshot *s, const nf_topology *t, nf_deduction **out,
                                size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t first = first_of(s, t->node);
    if (first == SIZE_MAX)
        return 0;
    size_t cap = 0, end = first;
    for (; end < s->n && strcmp(s->v[end].node, t->node) == 0; end++)
        cap += s->v[end].n_placed;
    nf_deduction *d = malloc((cap ? cap : 1) * sizeof(*d));
    int64_t local[16];
    for (size_t i = first; d && i < end; i++) {
        const nf_reservation *r = &s->v[i];
        int64_t *res = r->n_placed <= 16 ? local : malloc(r->n_placed * sizeof(*res));
        if (!res) {
            free(d);
            return -ENOMEM;
        }
        residuals(r, t, res);
        for (size_t k = 0; k < r->n_placed; k++)
            if (res[k] > 0)
                d[(*n)++] = (nf_deduction){
                    .numa = r->placed[k].numa, .resource = r->placed[k].resource, .amount = res[k]};
        if (res != local)
            free(res);
    }
    if (!d)
        return -ENOMEM;
    if (!*n) {
        free(d);
        return 0;
    }
    *out = d;
    return 0;
}

size_t nf_resv_snapshot_node_revs(const nf_resv_snapshot *s, const char *node, uint64_t node_hash,
                                  uint64_t *revs, size_t max)
{
    size_t first = first_of_hashed(s, node, node_hash), n = 0;
    if (first == SIZE_MAX)
        return 0;
    for (size_t i = first; i < s->n && strcmp(s->v[i].node, node) == 0; i++, n++)
        if (n < max)
            revs[n] = s->v[i].rev;
    return n;
}

json_t *nf_resv_snapshot_node_json(const nf_resv_snapshot *s, const char *node, int64_t now_ms)
{
    json_t *arr = json_array();
    size_t i = first_of(s, node);
    for (; arr && i != SIZE_MAX && i < s->n && strcmp(s->v[i].node, node) == 0; i++) {
        const nf_reservation *r = &s->v[i];
        json_t *res = json_object(), *placed = json_array();
        for (size_t k = 0; res && placed && k < r->n_placed; k++) {
            const nf_placed *p = &r->placed[k];
            json_t *old = json_object_get(res, p->resource);
            json_int_t sum = (old ? json_integer_value(old) : 0) + p->amount;
            json_object_set_new(res, p->resource, json_integer(sum));
            json_array_append_new(placed, json_pack("{s:i, s:s, s:I, s:b}", "numa", p->numa,
                                                    "resource", p->resource, "amount",
                                                    (json_int_t)p->amount, "tracked", p->tracked));
        }
        char pod[512];
        snprintf(pod, sizeof(pod), "%s/%s", r->namespace_ ? r->namespace_ : "",
                 r->name ? r->name : "");
        json_t *o = json_pack("{s:s, s:s, s:o, s:o?, s:o?, s:I, s:b}", "pod", pod, "uid", r->uid,
                              "zone", r->numa >= 0 ? json_integer(r->numa) : json_null(),
                              "resources", res, "placed", placed, "ageMs",
                              (json_int_t)(now_ms - r->created_ms), "running", r->running);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
