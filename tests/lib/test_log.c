/* logfmt quoting of values (nf_log_quote), lines limited per interval (nf_log_limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "numafit/log.h"

static void test_quote(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(nf_log_quote("plain text", buf, sizeof(buf)), "plain text");
    assert_string_equal(nf_log_quote("say \"hi\"\\now\nnext", buf, sizeof(buf)),
                        "say \\\"hi\\\"\\\\now next");
    assert_string_equal(nf_log_quote(NULL, buf, sizeof(buf)), "");
    /* cut to fit, never inside an escape or a UTF-8 character */
    char small[8];
    assert_string_equal(nf_log_quote("abcdefghij", small, sizeof(small)), "abcdef");
    assert_string_equal(nf_log_quote("abcd\"e", small, sizeof(small)), "abcd\\\"");
    assert_string_equal(nf_log_quote("abcd\xc3\xa9xyz", small, sizeof(small)), "abcd\xc3\xa9");
    assert_string_equal(nf_log_quote("abcde\xc3\xa9xyz", small, sizeof(small)), "abcde");
    assert_string_equal(nf_log_quote("ab\xe2\x82\xac\xe2\x82\xac", small, sizeof(small)),
                        "ab\xe2\x82\xac");
    assert_ptr_equal(nf_log_quote("x", small, 0), small);
}

static void test_limit(void **state)
{
    (void)state;
    nf_log_limit l = {0};
    unsigned unlogged = 99;
    assert_true(nf_log_limit_pass(&l, 50, 3, &unlogged)); /* the first always passes */
    assert_int_equal(unlogged, 0);
    assert_false(nf_log_limit_pass(&l, 50, 2, &unlogged));
    assert_false(nf_log_limit_pass(&l, 50, 1, &unlogged));
    usleep(60 * 1000);
    assert_true(nf_log_limit_pass(&l, 50, 1, &unlogged));
    assert_int_equal(unlogged, 3); /* the events left out since the last line */
    assert_false(nf_log_limit_pass(&l, 50, 1, &unlogged));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
