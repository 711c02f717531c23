/* fuzz_common.h - helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c). */
#ifndef NUMAFIT_FUZZ_COMMON_H
#define NUMAFIT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input as a NUL-terminated heap string (an embedded NUL simply ends it early). */
static inline char *nf_fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* True when the n bytes at p are all zero (a struct a failed parse must leave untouched/empty). */
static inline int nf_fuzz_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* A property that must hold for every input: report it and abort, so both libFuzzer and the
 * replay driver stop on the input that broke it. */
#define NF_FUZZ_CHECK(cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz property failed: %s: ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
