/* arena.h - a request arena: many allocations, freed in one go (STYLE.md: a request arena per
 * HTTP request in the servers).
 *
 *   nf_arena a;
 *   nf_arena_init(&a, pool);          pool may be NULL
 *   p = nf_arena_alloc(&a, n)         16-byte aligned, NULL when out of memory
 *   nf_arena_free(&a)                 everything at once
 *
 * Memory comes in chunks (64 KiB, then doubling; an allocation larger than that gets a chunk of
 * its own). A pool keeps the largest chunk of a freed arena for the next one, so a server whose
 * requests all fit one chunk allocates nothing per request once warm, and reuses memory that is
 * already mapped (no page faults, no zeroing by the kernel).
 *
 * Under AddressSanitizer the unused part of every chunk stays poisoned: reading or writing past
 * an allocation is reported as it would be for malloc.
 */
#ifndef NUMAFIT_ARENA_H
#define NUMAFIT_ARENA_H

#include <stddef.h>

typedef struct nf_arena_chunk nf_arena_chunk;
typedef struct nf_arena_pool nf_arena_pool;

typedef struct nf_arena {
    nf_arena_chunk *head; /* the chunk allocations come from; older ones follow */
    nf_arena_pool *pool;
    void *last;              /* the latest allocation: nf_arena_realloc grows it in place */
    nf_arena_chunk *last_in; /* its chunk */
} nf_arena;

void nf_arena_init(nf_arena *a, nf_arena_pool *pool);
void *nf_arena_alloc(nf_arena *a, size_t n);
/* n * size zeroed bytes (NULL on overflow, like calloc). */
void *nf_arena_calloc(nf_arena *a, size_t n, size_t size);
/* p (NULL, or the arena's allocation of old bytes) grown to n bytes: in place when p is the
 * latest allocation and its chunk has room, else a copy (the old bytes stay until the arena is
 * freed). NULL when out of memory; p is then unchanged. */
void *nf_arena_realloc(nf_arena *a, void *p, size_t old, size_t n);
/* Every allocation freed; the arena can be used again (its pool keeps a chunk). */
void nf_arena_free(nf_arena *a);

/* Keeps up to `keep` chunks of freed arenas, none larger than max_chunk bytes (a rare huge
 * request's memory goes back to the allocator). Thread-safe. NULL when out of memory. */
nf_arena_pool *nf_arena_pool_new(size_t keep, size_t max_chunk);
/* Frees the kept chunks; no arena may still use the pool. */
void nf_arena_pool_free(nf_arena_pool *p);

#endif
