/* buf.c - see buf.h. */
#include "numafit/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define FIRST_CAP 4096

size_t nf_buf_grown_cap(const nf_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return b->cap;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < b->len + n + 1)
        cap *= 2;
    /* never past max + 1, so that room in the buffer means room under max (nf_buf_reserve) */
    return b->max && cap > b->max + 1 && b->len + n + 1 <= b->max + 1 ? b->max + 1 : cap;
}

int nf_buf_grow_to(nf_buf *b, size_t cap)
{
    if (cap <= b->cap)
        return 0;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0'; /* a new buffer's first byte */
    return 0;
}

int nf_buf__grow(nf_buf *b, size_t n)
{
    size_t max = b->max ? b->max : SIZE_MAX / 2;
    if (n > max || b->len > max - n) {
        b->over = true;
        return -EMSGSIZE;
    }
    if (b->oom)
        return -ENOMEM; /* what was lost stays lost: the bytes are wrong from here on */
    return nf_buf_grow_to(b, nf_buf_grown_cap(b, n));
}

int nf_buf_add(nf_buf *b, const void *data, size_t n)
{
    int rc = nf_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int nf_buf_adds(nf_buf *b, const char *s)
{
    return nf_buf_add(b, s, strlen(s));
}

int nf_buf_error(const nf_buf *b)
{
    return b->oom ? -ENOMEM : b->over ? -EMSGSIZE : 0;
}

int nf_buf_take(nf_buf *b, char **out, size_t *len)
{
    int rc = nf_buf_error(b);
    if (!rc)
        rc = nf_buf_reserve(b, 0); /* an empty buffer gets its "" */
    if (rc) {
        nf_buf_free(b);
        return rc;
    }
    *out = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return 0;
}

void nf_buf_clear(nf_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    b->over = b->oom = false;
}

void nf_buf_free(nf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->over = b->oom = false;
}
