/* test_cpuset.c - nf_cpuset: list and mask parsing, formatting and set algebra. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/cpuset.h"
#include "testutil.h"

/* Parse list, format it again and compare with want. */
static void roundtrip(const char *list, const char *want, size_t count)
{
    nf_cpuset s = {0};
    nf_err err = {{0}};
    int rc = nf_cpuset_parse(list, &s, &err);
    if (rc)
        fail_msg("parse \"%s\": %d %s", list, rc, err.msg);
    assert_int_equal(nf_cpuset_count(&s), count);
    char *out = NULL;
    assert_int_equal(nf_cpuset_format(&s, &out), 0);
    assert_string_equal(out, want);
    /* and the formatted text parses back to the same set */
    nf_cpuset again = {0};
    assert_int_equal(nf_cpuset_parse(out, &again, &err), 0);
    assert_true(nf_cpuset_equal(&s, &again));
    free(out);
    nf_cpuset_free(&again);
    nf_cpuset_free(&s);
}

static void test_parse_format(void **state)
{
    (void)state;
    roundtrip("", "", 0);
    roundtrip("\n", "", 0);
    roundtrip("   ", "", 0);
    roundtrip("0", "0", 1);
    roundtrip("0-3,8,10-11", "0-3,8,10-11", 7);
    roundtrip("0-3,8,10-11\n", "0-3,8,10-11", 7);
    roundtrip("  1,2,3 \n", "1-3", 3);
    roundtrip("5,4,3", "3-5", 3);
    roundtrip("0-3,2-5", "0-5", 6);
    roundtrip("7-7", "7", 1);
    roundtrip("63,64", "63-64", 2);
    roundtrip("0-127", "0-127", 128);
    roundtrip("65535", "65535", 1);
    roundtrip("65534-65535", "65534-65535", 2);
    roundtrip("007", "7", 1);
    roundtrip("1,3,5,7", "1,3,5,7", 4);
}

static void parse_fails(const char *list, int want_rc, const char *want_msg)
{
    nf_cpuset s = {0};
    nf_err err = {{0}};
    int rc = nf_cpuset_parse(list, &s, &err);
    if (rc != want_rc)
        fail_msg("parse \"%s\": rc %d, want %d (%s)", list, rc, want_rc, err.msg);
    assert_true(nf_cpuset_empty(&s));
    assert_non_null(strstr(err.msg, want_msg));
    nf_cpuset_free(&s);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_fails("junk", -EINVAL, "syntax error");
    parse_fails("0-3,x", -EINVAL, "at \"x\"");
    parse_fails("3-1", -EINVAL, "\"3-1\"");
    parse_fails("1,", -EINVAL, "syntax error");
    parse_fails(",1", -EINVAL, "syntax error");
    parse_fails("-1", -EINVAL, "syntax error");
    parse_fails("1--2", -EINVAL, "syntax error");
    parse_fails("1-", -EINVAL, "syntax error");
    parse_fails("1,,2", -EINVAL, "syntax error");
    parse_fails("1;2", -EINVAL, "syntax error");
    parse_fails("0x1", -EINVAL, "syntax error");
    parse_fails("1 2", -EINVAL, "trailing text");
    parse_fails("1, 2", -EINVAL, "syntax error");
    parse_fails("+1", -EINVAL, "syntax error");
    parse_fails("65536", -ERANGE, "out of range");
    parse_fails("0-65536", -ERANGE, "out of range");
    parse_fails("99999999999999999999999999", -ERANGE, "out of range");
    parse_fails("1-18446744073709551617", -ERANGE, "out of range");
}

static void test_parse_error_leaves_out_empty(void **state)
{
    (void)state;
    nf_cpuset s = {0};
    nf_err err;
    assert_int_equal(nf_cpuset_parse("1-3", &s, &err), 0);
    assert_int_equal(nf_cpuset_count(&s), 3);
    assert_int_equal(nf_cpuset_parse("1-3,x", &s, &err), -EINVAL);
    assert_true(nf_cpuset_empty(&s)); /* the header promises an empty set on error */
    assert_int_equal(nf_cpuset_parse("0-1", &s, NULL), 0); /* err may be NULL */
    assert_int_equal(nf_cpuset_count(&s), 2);
    assert_int_equal(nf_cpuset_parse("bad", &s, NULL), -EINVAL);
    nf_cpuset_free(&s);
}

static void mask_is(const char *mask, const char *want_list)
{
    nf_cpuset s = {0};
    nf_err err = {{0}};
    int rc = nf_cpuset_parse_mask(mask, &s, &err);
    if (rc)
        fail_msg("mask \"%s\": %d %s", mask, rc, err.msg);
    char *out;
    assert_int_equal(nf_cpuset_format(&s, &out), 0);
    if (strcmp(out, want_list) != 0)
        fail_msg("mask \"%s\" -> \"%s\", want \"%s\"", mask, out, want_list);
    free(out);
    nf_cpuset_free(&s);
}

static void test_mask(void **state)
{
    (void)state;
    mask_is("00000000,0000ff0f", "0-3,8-15");
    mask_is("00000000,0000ff0f\n", "0-3,8-15");
    mask_is("1", "0");
    mask_is("f0f", "0-3,8-11");         /* odd length */
    mask_is("8", "3");                  /* one nibble */
    mask_is("00000001,00000000", "32"); /* second 32-bit group */
    mask_is("80000000,00000000,00000000", "95");
    mask_is("FFff", "0-15"); /* either case */
    mask_is("", "");
    mask_is("00000000,00000000", "");
    mask_is(" \t\n", "");

    nf_cpuset s = {0};
    nf_err err = {{0}};
    assert_int_equal(nf_cpuset_parse_mask("0000zz00", &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bad character 'z'"));
    assert_true(nf_cpuset_empty(&s));
    assert_int_equal(nf_cpuset_parse_mask("0x10", &s, &err), -EINVAL);
    assert_int_equal(nf_cpuset_parse_mask("ff ff", &s, &err), -EINVAL);
    assert_int_equal(nf_cpuset_parse_mask("-1", &s, &err), -EINVAL);
    /* 16385 hex digits: bit 65536 is out of range */
    char *big = malloc(16386);
    assert_non_null(big);
    big[0] = '1';
    memset(big + 1, '0', 16384);
    big[16385] = '\0';
    assert_int_equal(nf_cpuset_parse_mask(big, &s, &err), -ERANGE);
    assert_non_null(strstr(err.msg, "out of range"));
    big[1] = '8'; /* 16384 digits with the top bit set: cpu 65535, the maximum */
    assert_int_equal(nf_cpuset_parse_mask(big + 1, &s, &err), 0);
    assert_int_equal(nf_cpuset_count(&s), 1);
    assert_true(nf_cpuset_test(&s, 65535));
    free(big);
    nf_cpuset_free(&s);
}

static void set_of(nf_cpuset *s, const char *list)
{
    nf_cpuset_free(s);
    nft_cpus(s, list);
}

static void test_algebra(void **state)
{
    (void)state;
    nf_cpuset a = {0}, b = {0}, d = {0};
    set_of(&a, "0-7,100");
    set_of(&b, "4-11");
    assert_int_equal(nf_cpuset_and(&d, &a, &b), 0);
    nft_assert_cpus(&d, "4-7");
    assert_int_equal(nf_cpuset_or(&d, &a, &b), 0);
    nft_assert_cpus(&d, "0-11,100");
    assert_int_equal(nf_cpuset_andnot(&d, &a, &b), 0);
    nft_assert_cpus(&d, "0-3,100");
    assert_int_equal(nf_cpuset_andnot(&d, &b, &a), 0);
    nft_assert_cpus(&d, "8-11");

    /* aliasing: dst == a, dst == b, all three the same */
    assert_int_equal(nf_cpuset_or(&a, &a, &b), 0);
    nft_assert_cpus(&a, "0-11,100");
    assert_int_equal(nf_cpuset_andnot(&b, &a, &b), 0);
    nft_assert_cpus(&b, "0-3,100");
    assert_int_equal(nf_cpuset_and(&a, &a, &b), 0);
    nft_assert_cpus(&a, "0-3,100");
    assert_int_equal(nf_cpuset_andnot(&a, &a, &a), 0);
    nft_assert_cpus(&a, "");
    assert_true(nf_cpuset_empty(&a));

    /* the zero value is a valid empty operand */
    nf_cpuset z = {0}, z2 = {0};
    assert_int_equal(nf_cpuset_or(&d, &z, &b), 0);
    nft_assert_cpus(&d, "0-3,100");
    assert_int_equal(nf_cpuset_and(&d, &z, &b), 0);
    assert_true(nf_cpuset_empty(&d));
    assert_int_equal(nf_cpuset_or(&z2, &z, &z), 0);
    assert_true(nf_cpuset_empty(&z2));
    nf_cpuset_free(&z2);
    nf_cpuset_free(&a);
    nf_cpuset_free(&b);
    nf_cpuset_free(&d);
}

static void test_queries(void **state)
{
    (void)state;
    nf_cpuset s = {0}, t = {0};
    assert_true(nf_cpuset_empty(&s));
    assert_int_equal(nf_cpuset_count(&s), 0);
    assert_int_equal(nf_cpuset_next(&s, 0), -1);
    assert_false(nf_cpuset_test(&s, 0));
    assert_false(nf_cpuset_test(&s, 65535));

    assert_int_equal(nf_cpuset_set(&s, 3), 0);
    assert_int_equal(nf_cpuset_set_range(&s, 62, 66), 0);
    assert_int_equal(nf_cpuset_set(&s, 1000), 0);
    assert_int_equal(nf_cpuset_set(&s, NF_CPU_MAX + 1), -ERANGE);
    assert_int_equal(nf_cpuset_set_range(&s, 5, 4), -ERANGE);
    assert_int_equal(nf_cpuset_set_range(&s, 0, 70000), -ERANGE);
    assert_int_equal(nf_cpuset_count(&s), 7);
    assert_false(nf_cpuset_empty(&s));
    assert_true(nf_cpuset_test(&s, 64));
    assert_false(nf_cpuset_test(&s, 67));
    assert_false(nf_cpuset_test(&s, 100000));

    assert_int_equal(nf_cpuset_next(&s, 0), 3);
    assert_int_equal(nf_cpuset_next(&s, 3), 3);
    assert_int_equal(nf_cpuset_next(&s, 4), 62);
    assert_int_equal(nf_cpuset_next(&s, 63), 63);
    assert_int_equal(nf_cpuset_next(&s, 64), 64);
    assert_int_equal(nf_cpuset_next(&s, 67), 1000);
    assert_int_equal(nf_cpuset_next(&s, 1001), -1);
    assert_int_equal(nf_cpuset_next(&s, 4000000000u), -1);

    /* equal ignores how many (zero) words each set carries */
    assert_int_equal(nf_cpuset_set(&t, 3), 0);
    assert_false(nf_cpuset_equal(&s, &t));
    assert_int_equal(nf_cpuset_copy(&t, &s), 0);
    assert_true(nf_cpuset_equal(&s, &t));
    assert_true(nf_cpuset_equal(&t, &s));
    nft_assert_cpus(&t, "3,62-66,1000");
    nf_cpuset small = {0};
    assert_int_equal(nf_cpuset_set(&small, 1), 0);
    nf_cpuset wide = {0};
    assert_int_equal(nf_cpuset_set(&wide, 5000), 0);
    nf_cpuset_clear(&wide);
    assert_true(nf_cpuset_empty(&wide));
    assert_int_equal(nf_cpuset_set(&wide, 1), 0);
    assert_true(nf_cpuset_equal(&small, &wide));
    assert_true(nf_cpuset_equal(&wide, &small));

    /* copy over a wider set clears its upper words; copy onto itself is a no-op */
    assert_int_equal(nf_cpuset_set(&wide, 4000), 0);
    assert_int_equal(nf_cpuset_copy(&wide, &small), 0);
    nft_assert_cpus(&wide, "1");
    assert_int_equal(nf_cpuset_copy(&wide, &wide), 0);
    nft_assert_cpus(&wide, "1");
    nf_cpuset empty = {0};
    assert_int_equal(nf_cpuset_copy(&wide, &empty), 0);
    assert_true(nf_cpuset_empty(&wide));

    nf_cpuset_clear(&s);
    assert_true(nf_cpuset_empty(&s));
    assert_int_equal(nf_cpuset_count(&s), 0);
    nf_cpuset_free(&s);
    assert_null(s.words);
    assert_int_equal(s.nwords, 0);
    nf_cpuset_free(&s); /* twice is harmless */
    nf_cpuset_free(&t);
    nf_cpuset_free(&small);
    nf_cpuset_free(&wide);
}

static void test_format_large(void **state)
{
    (void)state;
    /* every other cpu up to 65535: a long string that must grow its buffer */
    nf_cpuset s = {0};
    for (unsigned c = 0; c <= NF_CPU_MAX; c += 2)
        assert_int_equal(nf_cpuset_set(&s, c), 0);
    char *out;
    assert_int_equal(nf_cpuset_format(&s, &out), 0);
    assert_int_equal(strncmp(out, "0,2,4,6,", 8), 0);
    const char *tail = ",65530,65532,65534";
    assert_string_equal(out + strlen(out) - strlen(tail), tail);
    nf_cpuset back = {0};
    assert_int_equal(nf_cpuset_parse(out, &back, NULL), 0);
    assert_true(nf_cpuset_equal(&s, &back));
    assert_int_equal(nf_cpuset_count(&back), 32768);
    free(out);
    nf_cpuset_free(&s);
    nf_cpuset_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_error_leaves_out_empty),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_algebra),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_format_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
