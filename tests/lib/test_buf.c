/* The growable buffer (numafit/buf.h): growth, NUL termination, the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/buf.h"

static void test_grow_and_terminate(void **state)
{
    (void)state;
    nf_buf b = {0};
    assert_int_equal(nf_buf_adds(&b, "abc"), 0);
    assert_string_equal(b.p, "abc");
    char big[10000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(nf_buf_add(&b, big, sizeof(big)), 0);
    assert_int_equal(b.len, 3 + sizeof(big));
    assert_true(b.cap > b.len);
    assert_int_equal(b.p[b.len], '\0');
    assert_int_equal(nf_buf_add(&b, NULL, 0), 0); /* nothing: still fine */
    nf_buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    nf_buf_free(&b); /* twice is harmless */
}

static void test_limit(void **state)
{
    (void)state;
    nf_buf b = {.max = 5};
    assert_int_equal(nf_buf_adds(&b, "1234"), 0);
    assert_int_equal(nf_buf_adds(&b, "56"), -EMSGSIZE);
    assert_true(b.over);
    assert_string_equal(b.p, "1234"); /* nothing of the refused part */
    assert_int_equal(nf_buf_adds(&b, "5"), 0);
    assert_int_equal(nf_buf_add(&b, "x", SIZE_MAX), -EMSGSIZE); /* no overflow */
    assert_int_equal(b.len, 5);
    nf_buf_free(&b);
    assert_int_equal(b.max, 5);
}

/* The inline writers keep the limit too: the capacity never passes max + 1. */
static void test_put_and_limit(void **state)
{
    (void)state;
    nf_buf b = {.max = 6000};
    char big[5000];
    memset(big, 'y', sizeof(big));
    nf_buf_put(&b, big, sizeof(big));
    assert_int_equal(b.len, 5000);
    assert_true(b.cap <= 6001);
    NF_BUF_LIT(&b, "ab");
    assert_int_equal(nf_buf_error(&b), 0);
    nf_buf_put(&b, big, 1000); /* 6002 > 6000 */
    assert_true(b.over);
    assert_int_equal(b.len, 5002);
    assert_int_equal(nf_buf_error(&b), -EMSGSIZE);
    char *s = (char *)1;
    assert_int_equal(nf_buf_take(&b, &s, NULL), -EMSGSIZE); /* the bytes are freed */
    assert_null(b.p);
    assert_false(b.over);
}

static void test_reserve_take_clear(void **state)
{
    (void)state;
    nf_buf b = {0};
    char *s;
    size_t len = 7;
    assert_int_equal(nf_buf_take(&b, &s, &len), 0); /* nothing written: "" */
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    assert_int_equal(nf_buf_reserve(&b, 3), 0); /* a writer fills the room itself */
    memcpy(b.p + b.len, "xyz", 3);
    b.len += 3;
    NF_BUF_LIT(&b, "!");
    assert_string_equal(b.p, "xyz!");
    size_t cap = b.cap;
    nf_buf_clear(&b); /* emptied, the memory kept */
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(b.cap, cap);
    NF_BUF_LIT(&b, "q");
    assert_int_equal(nf_buf_take(&b, &s, &len), 0);
    assert_string_equal(s, "q");
    assert_int_equal(len, 1);
    assert_null(b.p);
    free(s);
}

/* What a caller accounting memory sees: the next capacity, and an exact one on demand. */
static void test_grown_cap_and_grow_to(void **state)
{
    (void)state;
    nf_buf b = {0};
    assert_int_equal(nf_buf_grown_cap(&b, 10), 4096);
    assert_int_equal(nf_buf_grow_to(&b, 100), 0);
    assert_int_equal(b.cap, 100);
    assert_int_equal(nf_buf_grown_cap(&b, 99), 100); /* room already */
    assert_int_equal(nf_buf_grown_cap(&b, 100), 200);
    assert_int_equal(nf_buf_add(&b, "abc", 3), 0);
    assert_int_equal(b.cap, 100);
    assert_int_equal(nf_buf_grow_to(&b, 50), 0); /* never shrinks */
    assert_int_equal(b.cap, 100);
    nf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_and_terminate),    cmocka_unit_test(test_limit),
        cmocka_unit_test(test_put_and_limit),         cmocka_unit_test(test_reserve_take_clear),
        cmocka_unit_test(test_grown_cap_and_grow_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
