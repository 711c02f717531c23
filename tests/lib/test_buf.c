/* The growable buffer (numafit/buf.h): growth, NUL termination, the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_and_terminate),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
