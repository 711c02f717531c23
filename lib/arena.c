/* arena.c - see numafit/arena.h. */
#include "numafit/arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define NF_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NF_ARENA_ASAN 1
#endif
#endif
#ifdef NF_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16
#define FIRST_CHUNK (64u << 10)

struct nf_arena_chunk {
    nf_arena_chunk *next;
    size_t size; /* bytes of data[] */
    size_t used;
    _Alignas(ALIGN) unsigned char data[];
};

struct nf_arena_pool {
    pthread_mutex_t lock;
    size_t keep, n, max_chunk;
    nf_arena_chunk *kept[];
};

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

static nf_arena_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(nf_arena_chunk))
        return NULL;
    nf_arena_chunk *c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    POISON(c->data, size);
    return c;
}

/* A kept chunk of at least `min` bytes from the pool, else NULL. */
static nf_arena_chunk *pool_take(nf_arena_pool *p, size_t min)
{
    nf_arena_chunk *c = NULL;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n; i++)
        if (p->kept[i]->size >= min) {
            c = p->kept[i];
            p->kept[i] = p->kept[--p->n];
            break;
        }
    pthread_mutex_unlock(&p->lock);
    return c;
}

/* Keeps c when there is room (or when it is larger than a kept one); frees what is not kept. */
static void pool_give(nf_arena_pool *p, nf_arena_chunk *c)
{
    c->used = 0;
    c->next = NULL;
    POISON(c->data, c->size);
    pthread_mutex_lock(&p->lock);
    if (p->n < p->keep) {
        p->kept[p->n++] = c;
        c = NULL;
    } else {
        for (size_t i = 0; i < p->n; i++)
            if (p->kept[i]->size < c->size) {
                nf_arena_chunk *smaller = p->kept[i];
                p->kept[i] = c;
                c = smaller;
                break;
            }
    }
    pthread_mutex_unlock(&p->lock);
    free(c);
}

void nf_arena_init(nf_arena *a, nf_arena_pool *pool)
{
    *a = (nf_arena){.pool = pool};
}

void *nf_arena_alloc(nf_arena *a, size_t n)
{
    size_t need = round_up(n ? n : 1);
    if (need < n)
        return NULL;
    nf_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = c && c->size < (SIZE_MAX >> 2) ? c->size * 2 : FIRST_CHUNK;
        if (size < need)
            size = need;
        nf_arena_chunk *nc = a->pool ? pool_take(a->pool, need) : NULL;
        if (!nc && !(nc = chunk_new(size)))
            return NULL;
        /* a chunk taken for one big allocation goes behind the current one, which still has
         * room for small ones */
        if (c && need > FIRST_CHUNK && c->size - c->used >= FIRST_CHUNK / 4) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    UNPOISON(p, n);
    a->last = p;
    a->last_in = c;
    return p;
}

void *nf_arena_calloc(nf_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = nf_arena_alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *nf_arena_realloc(nf_arena *a, void *p, size_t old, size_t n)
{
    nf_arena_chunk *c = p && p == a->last ? a->last_in : NULL;
    if (c) {
        size_t start = (size_t)((unsigned char *)p - c->data), need = round_up(n ? n : 1);
        if (need >= n && need <= c->size - start) {
            c->used = start + need;
            POISON(c->data + start, c->size - start);
            UNPOISON(p, n);
            return p;
        }
    }
    void *np = nf_arena_alloc(a, n);
    if (np && p)
        memcpy(np, p, old < n ? old : n);
    return np;
}

void nf_arena_free(nf_arena *a)
{
    nf_arena_chunk *keep = NULL;
    for (nf_arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        if (a->pool && c->size <= a->pool->max_chunk && (!keep || c->size > keep->size)) {
            nf_arena_chunk *t = keep;
            keep = c;
            c = t;
        }
        free(c);
    }
    if (keep)
        pool_give(a->pool, keep);
    nf_arena_init(a, a->pool);
}

nf_arena_pool *nf_arena_pool_new(size_t keep, size_t max_chunk)
{
    nf_arena_pool *p = calloc(1, sizeof(*p) + keep * sizeof(p->kept[0]));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->keep = keep;
    p->max_chunk = max_chunk;
    return p;
}

void nf_arena_pool_free(nf_arena_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->kept[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
