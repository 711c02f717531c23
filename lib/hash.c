/* hash.c - see hash.h. */
#include "numafit/hash.h"

#include <string.h>
#include <xxhash.h>

uint64_t nf_hash_bytes(const void *p, size_t n)
{
    uint64_t h = XXH3_64bits(p, n);
    return h ? h : 1;
}

uint64_t nf_hash_str(const char *s)
{
    return nf_hash_bytes(s, strlen(s));
}
