/* buf.c - see buf.h. */
#include "numafit/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int nf_buf_add(nf_buf *b, const void *data, size_t n)
{
    size_t max = b->max ? b->max : SIZE_MAX / 2;
    if (n > max || b->len > max - n) {
        b->over = true;
        return -EMSGSIZE;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
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

void nf_buf_free(nf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->over = false;
}
