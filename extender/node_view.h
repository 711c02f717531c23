/* node_view.h - what the extender keeps with each cached document for the fit: its fit view per
 * align mode (fit.h), that view's answers per pod shape (fit_memo.h), and the same for the view
 * with a node's reservations deducted, per set of deductions.
 *
 * Built on a document's first fit and kept in the cache entry's memo slots (cache.h),
 * so they live exactly as long as the document: a new document starts empty, a touch or a stale
 * mark keeps them. A burst of pods changes a node's reservations a few times between two of its
 * documents, so a handful of deducted views per document serve every request in between.
 * Thread-safe (everything is installed with compare-and-swap and never removed before the
 * document dies). */
#ifndef NUMAFIT_EXTENDER_NODE_VIEW_H
#define NUMAFIT_EXTENDER_NODE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "fit.h"
#include "fit_memo.h"

/* Deducted views kept per document and align mode; more sets are deducted per request. */
#define NF_NODE_VIEW_VARIANTS 8

/* The view of e's document for align, and its memo in *memo; NULL (and *memo NULL) only when
 * memory ran out (the fit then builds its own view). Valid while e is held. */
const nf_fit_view *nf_node_view(nf_cache_entry *e, nf_align align, nf_fit_memo **memo);

/* The view with a node's reservations deducted, kept under their revisions revs[n]
 * (nf_resv_snapshot_node_revs), which with this document determine the deductions. find: true
 * and *view, *memo when kept (*view is the plain view when the document accounts for every
 * reservation already). keep: deduct d[n_d] (n_d may be 0) and keep it under revs; false (and
 * nothing set) when NF_NODE_VIEW_VARIANTS other lists are kept already or memory ran out: the
 * caller then deducts for itself. Valid while e is held. */
bool nf_node_view_find_reserved(nf_cache_entry *e, nf_align align, const uint64_t *revs, size_t n,
                                const nf_fit_view **view, nf_fit_memo **memo);
bool nf_node_view_keep_reserved(nf_cache_entry *e, nf_align align, const uint64_t *revs, size_t n,
                                const nf_deduction *d, size_t n_d, const nf_fit_view **view,
                                nf_fit_memo **memo);

/* The kept view for align if built already, else NULL (never builds; for prefetching). */
const void *nf_node_view_peek(const nf_cache_entry *e, nf_align align);

#endif
