/* buf.h - a growable byte buffer, always NUL-terminated, with an optional size limit: the one
 * every encoder, HTTP body and text answer in numafit grows into.
 *
 * nf_buf b = {0};              (or .max = limit; 0: no limit but SIZE_MAX / 2)
 * nf_buf_add(&b, data, n)      0, -ENOMEM, or -EMSGSIZE (over max: nothing added, b.over set)
 * b.p, b.len                   the bytes so far (b.p NULL until something was added)
 * nf_buf_free(&b)              frees and zeroes (keeps max)
 *
 * For serializers on a hot path (the extender's answers, /metrics): nf_buf_put and NF_BUF_LIT
 * copy inline without a call while there is room and return nothing; the first failure stays
 * (b.oom, b.over) and nf_buf_error() / nf_buf_take() report it once at the end. A writer that
 * fills bytes itself asks nf_buf_reserve() for room at b.p + b.len and then moves b.len.
 */
#ifndef NUMAFIT_BUF_H
#define NUMAFIT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct nf_buf {
    char *p;
    size_t len, cap;
    size_t max;
    bool over; /* an add went past max */
    bool oom;  /* an allocation failed */
} nf_buf;

int nf_buf_add(nf_buf *b, const void *data, size_t n);
int nf_buf_adds(nf_buf *b, const char *s); /* a C string */
/* The capacity nf_buf_reserve(b, n) grows to (b->cap when there is room already): for a caller
 * that accounts the memory before it is taken. */
size_t nf_buf_grown_cap(const nf_buf *b, size_t n);
/* Exactly cap bytes of room (cap > b->len; a buffer never shrinks): 0 or -ENOMEM. */
int nf_buf_grow_to(nf_buf *b, size_t cap);
/* The first failure of the adds so far: -ENOMEM, -EMSGSIZE, or 0. */
int nf_buf_error(const nf_buf *b);
/* Hands the bytes over (*out NUL-terminated, never NULL; the caller frees it) and empties the
 * buffer; on an earlier failure frees them and returns nf_buf_error(). */
int nf_buf_take(nf_buf *b, char **out, size_t *len);
/* Empties the buffer and forgets failures, keeping its memory for the next use. */
void nf_buf_clear(nf_buf *b);
void nf_buf_free(nf_buf *b);

int nf_buf__grow(nf_buf *b, size_t n); /* nf_buf_reserve when there is no room */

/* Room for n more bytes and the NUL: 0, -ENOMEM (b->oom set) or -EMSGSIZE (b->over set). Inline:
 * the encoders ask for every name they copy, and a call each time costs more than the copy. */
static inline int nf_buf_reserve(nf_buf *b, size_t n)
{
    /* cap > len always (the NUL), so no overflow; and cap never passes max + 1 */
    return b->cap - b->len > n ? 0 : nf_buf__grow(b, n);
}

static inline void nf_buf_put(nf_buf *b, const void *data, size_t n)
{
    if (nf_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A string literal (not a pointer: sizeof counts its bytes). */
#define NF_BUF_LIT(b, lit) nf_buf_put((b), (lit), sizeof(lit) - 1)

#endif
