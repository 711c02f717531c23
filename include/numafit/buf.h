/* buf.h - a growable byte buffer, always NUL-terminated, with an optional size limit.
 *
 * nf_buf b = {0};              (or .max = limit; 0: no limit but SIZE_MAX / 2)
 * nf_buf_add(&b, data, n)      0, -ENOMEM, or -EMSGSIZE (over max: nothing added, b.over set)
 * b.p, b.len                   the bytes so far (b.p NULL until something was added)
 * nf_buf_free(&b)              frees and zeroes (keeps max)
 */
#ifndef NUMAFIT_BUF_H
#define NUMAFIT_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nf_buf {
    char *p;
    size_t len, cap;
    size_t max;
    bool over;
} nf_buf;

int nf_buf_add(nf_buf *b, const void *data, size_t n);
int nf_buf_adds(nf_buf *b, const char *s); /* a C string */
void nf_buf_free(nf_buf *b);

#endif
