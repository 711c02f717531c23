/* node_view.h - what the extender keeps with each cached document for the fit: its fit view per
 * align mode (fit.h) and that view's answers per pod shape (fit_memo.h).
 *
 * Built on a document's first fit and kept in the cache entry's memo slots (topology_cache.h),
 * so they live exactly as long as the document: a new document starts empty, a touch or a stale
 * mark keeps them. Thread-safe (the slots are installed with compare-and-swap). */
#ifndef NUMAFIT_EXTENDER_NODE_VIEW_H
#define NUMAFIT_EXTENDER_NODE_VIEW_H

#include "fit.h"
#include "fit_memo.h"
#include "topology_cache.h"

/* The view of e's document for align, and its memo in *memo; NULL (and *memo NULL) only when
 * memory ran out (the fit then builds its own view). Valid while e is held. */
const nf_fit_view *nf_node_view(nf_cache_entry *e, nf_align align, nf_fit_memo **memo);

/* The kept view for align if built already, else NULL (never builds; for prefetching). */
const void *nf_node_view_peek(const nf_cache_entry *e, nf_align align);

#endif
