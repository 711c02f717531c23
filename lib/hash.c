/* hash.c - see hash.h. */
#include "numafit/hash.h"

#include <string.h>

/* XXH3 compiled in here (libxxhash's header-only mode): a node name is hashed per name of every
 * request, and the call into the shared library cost more than the hash of a short name. */
#define XXH_INLINE_ALL
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
