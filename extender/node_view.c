/* node_view.c - the fit view and answer memo kept with a cached document (see node_view.h). */
#include "node_view.h"

#include <stdlib.h>

typedef struct kept_view {
    nf_fit_view *view;
    nf_fit_memo *memo;
} kept_view;

static void kept_view_free(void *p)
{
    kept_view *k = p;
    nf_fit_memo_free(k->memo);
    nf_fit_view_free(k->view);
    free(k);
}

static unsigned slot_of(nf_align align)
{
    return align == NF_ALIGN_SOCKET ? 1 : 0;
}

const nf_fit_view *nf_node_view(nf_cache_entry *e, nf_align align, nf_fit_memo **memo)
{
    *memo = NULL;
    kept_view *k = nf_cache_memo_get(e, slot_of(align));
    if (!k) {
        if (!(k = calloc(1, sizeof(*k))) || nf_fit_view_new(&e->topo, align, &k->view) ||
            nf_fit_memo_new(&k->memo)) {
            if (k)
                kept_view_free(k);
            return NULL;
        }
        k = nf_cache_memo_set(e, slot_of(align), k, kept_view_free);
    }
    *memo = k->memo;
    return k->view;
}

const void *nf_node_view_peek(const nf_cache_entry *e, nf_align align)
{
    return nf_cache_memo_get(e, slot_of(align));
}
