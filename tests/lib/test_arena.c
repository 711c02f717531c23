/* The request arena (numafit/arena.h): alignment, growth, in-place realloc, the pool's reuse
 * across arenas and threads, and (under AddressSanitizer) that a write past an allocation is
 * still caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "numafit/arena.h"

static void test_alloc_aligned_distinct(void **state)
{
    (void)state;
    nf_arena a;
    nf_arena_init(&a, NULL);
    unsigned char *prev = NULL;
    for (size_t i = 0; i < 20000; i++) { /* several chunks */
        size_t n = 1 + i % 37;
        unsigned char *p = nf_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, (int)(i & 0xff), n);
        if (prev)
            assert_int_equal(prev[0], (unsigned char)((i - 1) & 0xff)); /* not overwritten */
        prev = p;
    }
    unsigned char *big = nf_arena_alloc(&a, 5u << 20); /* larger than any chunk so far */
    assert_non_null(big);
    memset(big, 7, 5u << 20);
    unsigned char *small = nf_arena_alloc(&a, 8); /* still from the chunk before the big one */
    assert_non_null(small);
    assert_true(small < big || small >= big + (5u << 20));
    assert_non_null(nf_arena_alloc(&a, 0)); /* a distinct pointer, like malloc(0) may give */
    nf_arena_free(&a);
    assert_null(a.head);
    nf_arena_free(&a); /* twice is harmless */
}

static void test_zeroed(void **state)
{
    (void)state;
    nf_arena a;
    nf_arena_init(&a, NULL);
    unsigned char *p = nf_arena_alloc(&a, 100);
    memset(p, 0xff, 100);
    nf_arena_free(&a);
    uint64_t *z = nf_arena_calloc(&a, 1000, sizeof(*z));
    assert_non_null(z);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(z[i], 0);
    assert_null(nf_arena_calloc(&a, SIZE_MAX / 2, 4)); /* n * size overflows */
    assert_null(nf_arena_alloc(&a, SIZE_MAX - 8));
    nf_arena_free(&a);
}

static void test_grow(void **state)
{
    (void)state;
    nf_arena a;
    nf_arena_init(&a, NULL);
    char *p = nf_arena_realloc(&a, NULL, 0, 10);
    assert_non_null(p);
    memcpy(p, "0123456789", 10);
    char *q = nf_arena_realloc(&a, p, 10, 1000); /* the latest: grows in place */
    assert_ptr_equal(q, p);
    assert_memory_equal(q, "0123456789", 10);
    char *other = nf_arena_alloc(&a, 16);
    char *r = nf_arena_realloc(&a, q, 1000, 2000); /* not the latest any more: a copy */
    assert_ptr_not_equal(r, q);
    assert_ptr_not_equal(r, other);
    assert_memory_equal(r, "0123456789", 10);
    char *s = nf_arena_realloc(&a, r, 2000, 1u << 20); /* past the chunk: a copy */
    assert_non_null(s);
    assert_memory_equal(s, "0123456789", 10);
    char *t = nf_arena_realloc(&a, s, 1u << 20, 5); /* shrinking the latest: in place */
    assert_ptr_equal(t, s);
    nf_arena_free(&a);
}

static void test_pool_reuses_chunks(void **state)
{
    (void)state;
    nf_arena_pool *pool = nf_arena_pool_new(1, 1u << 20);
    assert_non_null(pool);
    nf_arena a;
    nf_arena_init(&a, pool);
    void *first = nf_arena_alloc(&a, 1000);
    for (int i = 0; i < 100; i++)
        assert_non_null(nf_arena_alloc(&a, 4000)); /* a second, larger chunk */
    void *in_large = nf_arena_alloc(&a, 8);
    nf_arena_free(&a);
    /* the next arena starts in the larger chunk the pool kept: the same memory again */
    nf_arena_init(&a, pool);
    void *again = nf_arena_alloc(&a, 1000);
    assert_ptr_not_equal(again, first);
    assert_true((char *)again <= (char *)in_large && (char *)in_large - (char *)again < (1 << 20));
    nf_arena_free(&a);
    nf_arena_init(&a, pool);
    assert_ptr_equal(nf_arena_alloc(&a, 1000), again); /* steady state: no allocation */
    nf_arena_free(&a);
    /* a chunk over the pool's bound is not kept: the kept one stays */
    nf_arena_init(&a, pool);
    char *huge = nf_arena_alloc(&a, 2u << 20);
    assert_non_null(huge);
    nf_arena_free(&a);
    nf_arena_init(&a, pool);
    assert_ptr_equal(nf_arena_alloc(&a, 1000), again);
    nf_arena_free(&a);
    nf_arena_pool_free(pool);
}

static void *churn(void *pool)
{
    for (int i = 0; i < 2000; i++) {
        nf_arena a;
        nf_arena_init(&a, pool);
        for (int j = 0; j < 50; j++) {
            char *p = nf_arena_alloc(&a, (size_t)(1 + (i * j) % 3000));
            if (!p)
                return (void *)1;
            p[0] = (char)j;
        }
        nf_arena_free(&a);
    }
    return NULL;
}

static void test_pool_threads(void **state)
{
    (void)state;
    nf_arena_pool *pool = nf_arena_pool_new(2, 1u << 20);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, pool), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    nf_arena_pool_free(pool);
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_ON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_ON 1
#endif
#endif

/* An arena must not hide overflows from AddressSanitizer: writing one byte past an allocation
 * (into the same chunk) is reported in a child process. */
static void test_overflow_caught(void **state)
{
    (void)state;
#ifdef ASAN_ON
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(2); /* the report is expected */
        nf_arena a;
        nf_arena_init(&a, NULL);
        volatile char *p = nf_arena_alloc(&a, 13);
        (void)nf_arena_alloc(&a, 13);
        p[13] = 'x';
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_distinct),
        cmocka_unit_test(test_zeroed),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_pool_reuses_chunks),
        cmocka_unit_test(test_pool_threads),
        cmocka_unit_test(test_overflow_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
