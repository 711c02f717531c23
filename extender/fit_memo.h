/* fit_memo.h - a node's fit answers remembered per pod shape.
 *
 * kube-scheduler asks the same question of every node again and again: a burst of one
 * Deployment is one pod shape, and a document does not change between two of its pods. The
 * answer of a fit view (fit.h) to a shape never changes either, so it is computed once and
 * kept beside the view: the next request for that shape costs a lookup and a copy.
 *
 * The shape is everything the fit and the score read from the pod (QoS, containers in kubelet
 * order with their names, kinds and amounts, overhead, the effective request) plus the options
 * that change the answer (strategy, hugepages alignment, align mode, search budget); not the
 * pod's name, namespace or UID.
 *
 * Lock-free: readers find an answer with acquire loads; the first thread to compute one installs
 * it with a compare-and-swap, a thread that loses frees its own copy and uses the winner's. A
 * full memo just stops remembering (nothing is ever evicted, so no reader can see an answer
 * freed under it); the memo dies with its view.
 */
#ifndef NUMAFIT_EXTENDER_FIT_MEMO_H
#define NUMAFIT_EXTENDER_FIT_MEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"
#include "pod_requirements.h"

/* A pod shape: its key (opaque bytes) and the id the process gave that key (one registry, one
 * short lock per request). Equal keys get equal ids until the registry fills up and forgets
 * (a shape seen again then gets a new id: a memo miss); an id never names another key, so
 * memos compare ids only. */
typedef struct nf_fit_shape {
    char *key;
    size_t len;
    uint64_t id;
} nf_fit_shape;

/* 0 or -ENOMEM; free with nf_fit_shape_free. */
int nf_fit_shape_of(const nf_pod_req *req, const nf_fit_opts *o, nf_fit_shape *out);
void nf_fit_shape_free(nf_fit_shape *s);

/* What a request needs from one node's fit. */
typedef struct nf_fit_answer {
    nf_fit_status status;
    nf_fit_lack lack;
    bool aligned;
    int score;          /* the strategy's score when status is NF_FIT_OK, else 0 */
    const char *reason; /* the FailedNodes text when status is not OK ("" otherwise) */
    size_t reason_len;
} nf_fit_answer;

/* Answers per shape: at most NF_FIT_MEMO_SHAPES of them. Embeddable (zeroed is empty) so it can
 * share a cache line with what it is kept beside. */
#define NF_FIT_MEMO_SHAPES 16
typedef struct nf_fit_remembered nf_fit_remembered;
typedef struct nf_fit_memo {
    _Atomic(nf_fit_remembered *) slot[NF_FIT_MEMO_SHAPES]; /* filled in order */
} nf_fit_memo;

void nf_fit_memo_clear(nf_fit_memo *m); /* frees the answers; no reader may hold one */

/* The remembered answer for s, or NULL. Valid as long as the memo. */
const nf_fit_answer *nf_fit_memo_find(const nf_fit_memo *m, const nf_fit_shape *s);

/* Remember a copy of a (its reason included) for s. Returns the remembered answer (another
 * thread's when it was first), or NULL when the memo is full or memory ran out: the caller
 * then goes on with its own answer. */
const nf_fit_answer *nf_fit_memo_add(nf_fit_memo *m, const nf_fit_shape *s, const nf_fit_answer *a);

/* An answer packed into one word, to keep in the cache's lookup table (cache.h
 * nf_cache_keep_word): the shape id, the alignment, and the score of an aligned fit or, for a
 * failed one, its status, lack and reason (by number: the reason texts are interned for the
 * process's life, at most a few thousand). 0 when the answer does not pack (nothing aligned,
 * score or id out of range, the reasons' table full): it stays in the memo. */
uint64_t nf_fit_answer_pack(const nf_fit_shape *s, nf_align align, const nf_fit_answer *a);
/* The key and mask selecting the packed answers of shape s under align (key 0: none). */
uint64_t nf_fit_pack_key(const nf_fit_shape *s, nf_align align, uint64_t *mask);
/* The answer in a word nf_fit_answer_pack made (a failed one's reason is the interned text:
 * valid for the process's life). */
void nf_fit_answer_unpack(uint64_t w, nf_fit_answer *a);

#endif
