/* node_view.c - the fit views and answer memos kept with a cached document (see node_view.h). */
#include "node_view.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/hash.h"

/* The view with one list of reservations deducted, and its answers. view and memo are NULL
 * when the document accounts for all of them (the plain view serves). */
typedef struct variant {
    nf_fit_memo memo;
    uint64_t hash;
    size_t n;
    uint64_t *revs;
    nf_fit_view *view;
} variant;

/* One allocation, the memo first: a request reads its first line for every node. */
typedef struct kept_view {
    nf_fit_memo memo;
    nf_fit_view *view;
    _Atomic(variant *) variants[NF_NODE_VIEW_VARIANTS]; /* filled in order */
} kept_view;

static void variant_free(variant *v)
{
    if (!v)
        return;
    nf_fit_memo_clear(&v->memo);
    nf_fit_view_free(v->view);
    free(v);
}

static void kept_view_free(void *p)
{
    kept_view *k = p;
    for (size_t i = 0; i < NF_NODE_VIEW_VARIANTS; i++)
        variant_free(atomic_load_explicit(&k->variants[i], memory_order_relaxed));
    nf_fit_memo_clear(&k->memo);
    nf_fit_view_free(k->view);
    free(k);
}

static unsigned slot_of(nf_align align)
{
    return align == NF_ALIGN_SOCKET ? 1 : 0;
}

static kept_view *kept(nf_cache_entry *e, nf_align align)
{
    kept_view *k = nf_cache_memo_get(e, slot_of(align));
    if (!k) {
        if (!(k = calloc(1, sizeof(*k))) || nf_fit_view_new(&e->topo, align, &k->view)) {
            if (k)
                kept_view_free(k);
            return NULL;
        }
        k = nf_cache_memo_set(e, slot_of(align), k, kept_view_free);
    }
    return k;
}

const nf_fit_view *nf_node_view(nf_cache_entry *e, nf_align align, nf_fit_memo **memo)
{
    kept_view *k = kept(e, align);
    *memo = k ? &k->memo : NULL;
    return k ? k->view : NULL;
}

static bool same_revs(const variant *v, uint64_t hash, const uint64_t *revs, size_t n)
{
    return v->hash == hash && v->n == n && memcmp(v->revs, revs, n * sizeof(*revs)) == 0;
}

static void answer(kept_view *k, variant *v, const nf_fit_view **view, nf_fit_memo **memo)
{
    *view = v->view ? v->view : k->view;
    *memo = v->view ? &v->memo : &k->memo;
}

bool nf_node_view_find_reserved(nf_cache_entry *e, nf_align align, const uint64_t *revs, size_t n,
                                const nf_fit_view **view, nf_fit_memo **memo)
{
    kept_view *k = kept(e, align);
    if (!k)
        return false;
    uint64_t h = nf_hash_bytes(revs, n * sizeof(*revs));
    for (size_t i = 0; i < NF_NODE_VIEW_VARIANTS; i++) {
        variant *v = atomic_load_explicit(&k->variants[i], memory_order_acquire);
        if (!v)
            return false; /* filled in order */
        if (same_revs(v, h, revs, n)) {
            answer(k, v, view, memo);
            return true;
        }
    }
    return false;
}

bool nf_node_view_keep_reserved(nf_cache_entry *e, nf_align align, const uint64_t *revs, size_t n,
                                const nf_deduction *d, size_t n_d, const nf_fit_view **view,
                                nf_fit_memo **memo)
{
    kept_view *k = kept(e, align);
    variant *nv = k ? calloc(1, sizeof(*nv) + n * sizeof(*revs)) : NULL;
    if (!nv)
        return false;
    nv->revs = (uint64_t *)(nv + 1);
    memcpy(nv->revs, revs, n * sizeof(*revs));
    nv->n = n;
    nv->hash = nf_hash_bytes(revs, n * sizeof(*revs));
    if (n_d && nf_fit_view_deduct(k->view, &e->topo, d, n_d, &nv->view)) {
        variant_free(nv);
        return false;
    }
    for (size_t i = 0; i < NF_NODE_VIEW_VARIANTS; i++) {
        variant *cur = NULL;
        if (atomic_compare_exchange_strong_explicit(&k->variants[i], &cur, nv, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            answer(k, nv, view, memo);
            return true;
        }
        if (same_revs(cur, nv->hash, revs, n)) { /* another thread was first */
            variant_free(nv);
            answer(k, cur, view, memo);
            return true;
        }
    }
    variant_free(nv);
    return false;
}

const void *nf_node_view_peek(const nf_cache_entry *e, nf_align align)
{
    return nf_cache_memo_get(e, slot_of(align));
}
