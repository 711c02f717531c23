/* test_quantity.c - Kubernetes quantities, byte formatting, hugepage resource names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/quantity.h"

static void milli_is(const char *s, int64_t want)
{
    int64_t v = -12345;
    nf_err err = {{0}};
    int rc = nf_quantity_parse_milli(s, &v, &err);
    if (rc)
        fail_msg("\"%s\": rc %d (%s)", s, rc, err.msg);
    if (v != want)
        fail_msg("\"%s\": %lld milli, want %lld", s, (long long)v, (long long)want);
}

static void units_is(const char *s, int64_t want)
{
    int64_t v = -12345;
    nf_err err = {{0}};
    int rc = nf_quantity_parse(s, &v, &err);
    if (rc)
        fail_msg("\"%s\": rc %d (%s)", s, rc, err.msg);
    if (v != want)
        fail_msg("\"%s\": %lld, want %lld", s, (long long)v, (long long)want);
}

static void quantity_fails(const char *s, int want_rc, const char *want_msg)
{
    int64_t v = -12345;
    nf_err err = {{0}};
    int rc = nf_quantity_parse_milli(s, &v, &err);
    if (rc != want_rc)
        fail_msg("\"%s\": rc %d, want %d (%s)", s ? s : "(null)", rc, want_rc, err.msg);
    assert_int_equal(v, -12345); /* out-parameter untouched */
    if (!strstr(err.msg, want_msg))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s ? s : "(null)", err.msg, want_msg);
    /* the whole-unit form fails the same way */
    assert_int_equal(nf_quantity_parse(s, &v, NULL), want_rc);
}

static void test_quantity_forms(void **state)
{
    (void)state;
    milli_is("4", 4000);
    milli_is("4000m", 4000);
    milli_is("0.5", 500);
    milli_is("500m", 500);
    milli_is(".5", 500);
    milli_is("5.", 5000);
    milli_is("+1", 1000);
    milli_is("0", 0);
    milli_is("0m", 0);
    milli_is("000.000", 0);
    milli_is("0e5", 0);
    milli_is("2Gi", INT64_C(2147483648000));
    milli_is("1.5Gi", INT64_C(1610612736000));
    milli_is("1G", INT64_C(1000000000000));
    milli_is("1k", 1000000);
    milli_is("1Ki", 1024000);
    milli_is("100Mi", INT64_C(104857600000));
    milli_is("1Ti", INT64_C(1099511627776000));
    milli_is("1M", INT64_C(1000000000));
    milli_is("1T", INT64_C(1000000000000000));
    milli_is("1P", INT64_C(1000000000000000000));
    milli_is("8Pi", INT64_C(9007199254740992000));
    milli_is("1e3", 1000000);
    milli_is("1E3", 1000000); /* E followed by digits is an exponent, not exa */
    milli_is("1e+3", 1000000);
    milli_is("1e-3", 1);
    milli_is("25e-1", 2500);
    milli_is("0.0001", 1); /* below one milli-unit rounds up */
    milli_is("1e-100", 1);
    milli_is("1.0001m", 2);
    milli_is("0.1m", 1);
    milli_is("9223372036854775807m", INT64_MAX);
    milli_is("9223372036854775", INT64_C(9223372036854775000));
    milli_is("123456789012345.67891", INT64_C(123456789012345679)); /* 20 significant digits */
    milli_is("00000000000000000000000000001", 1000);                /* leading zeros only place */
}

static void test_quantity_units(void **state)
{
    (void)state;
    units_is("4", 4);
    units_is("4000m", 4);
    units_is("0.5", 1); /* Quantity.Value() rounds up */
    units_is("1001m", 2);
    units_is("1999m", 2);
    units_is("1m", 1);
    units_is("0", 0);
    units_is("2Gi", INT64_C(2147483648));
    units_is("1Gi", INT64_C(1073741824));
    units_is("1.5Gi", INT64_C(1610612736));
    units_is("0.0001", 1);
    units_is("9223372036854775807m", INT64_C(9223372036854776));
}

static void test_quantity_errors(void **state)
{
    (void)state;
    quantity_fails(NULL, -EINVAL, "empty");
    quantity_fails("", -EINVAL, "empty");
    quantity_fails("-1", -EINVAL, "negative");
    quantity_fails("-0.5", -EINVAL, "negative");
    quantity_fails("1Gb", -EINVAL, "unknown suffix \"Gb\"");
    quantity_fails("1ki", -EINVAL, "unknown suffix");
    quantity_fails("1Kib", -EINVAL, "unknown suffix");
    quantity_fails("1 ", -EINVAL, "unknown suffix");
    quantity_fails("Gi", -EINVAL, "no number");
    quantity_fails("1.2.3", -EINVAL, "unknown suffix");
    quantity_fails("1e", -EINVAL, "unknown suffix");
    quantity_fails("1e+", -EINVAL, "unknown suffix");
    quantity_fails("1e3x", -EINVAL, "junk after exponent");
    quantity_fails("abc", -EINVAL, "no number");
    quantity_fails(" 1", -EINVAL, "no number");
    quantity_fails(".", -EINVAL, "no number");
    quantity_fails("+", -EINVAL, "no number");
    quantity_fails("++1", -EINVAL, "no number");
    quantity_fails("1E", -ERANGE, "too large"); /* exa: 1e18 units does not fit milli-units */
    quantity_fails("12Ei", -ERANGE, "too large");
    quantity_fails("7Ei", -ERANGE, "too large");
    quantity_fails("9223372036854775807", -ERANGE, "too large");
    quantity_fails("9223372036854775808m", -ERANGE, "too large");
    quantity_fails("1e100", -ERANGE, "too large");
    quantity_fails("1e101", -ERANGE, "exponent out of range");
    quantity_fails("100000000000000000000000000000", -ERANGE, "too large");
    quantity_fails("123456789012345678901234", -ERANGE, "too many digits");
}

static void test_format_bytes(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(nf_quantity_format_bytes(0, buf, sizeof(buf)), "0");
    assert_string_equal(nf_quantity_format_bytes(1000, buf, sizeof(buf)), "1000");
    assert_string_equal(nf_quantity_format_bytes(1024, buf, sizeof(buf)), "1Ki");
    assert_string_equal(nf_quantity_format_bytes(1536, buf, sizeof(buf)), "1536");
    assert_string_equal(nf_quantity_format_bytes(512 * 1024 * 1024, buf, sizeof(buf)), "512Mi");
    assert_string_equal(nf_quantity_format_bytes(INT64_C(4) << 30, buf, sizeof(buf)), "4Gi");
    assert_string_equal(nf_quantity_format_bytes(INT64_C(3) << 40, buf, sizeof(buf)), "3Ti");
    assert_string_equal(nf_quantity_format_bytes(INT64_C(1) << 60, buf, sizeof(buf)), "1Ei");
    assert_string_equal(nf_quantity_format_bytes(INT64_C(4) << 60, buf, sizeof(buf)), "4Ei");
    assert_string_equal(nf_quantity_format_bytes(-2048, buf, sizeof(buf)), "-2Ki");
    assert_string_equal(nf_quantity_format_bytes(INT64_MIN, buf, sizeof(buf)), "-8Ei");
    assert_string_equal(nf_quantity_format_bytes(INT64_MAX, buf, sizeof(buf)),
                        "9223372036854775807");
    /* the formatted form parses back to the same number of bytes */
    int64_t v;
    nf_quantity_format_bytes(INT64_C(1610612736), buf, sizeof(buf));
    assert_string_equal(buf, "1536Mi");
    assert_int_equal(nf_quantity_parse(buf, &v, NULL), 0);
    assert_int_equal(v, INT64_C(1610612736));
}

static void test_hugepage_names(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(nf_hugepage_resource_name(2097152, buf, sizeof(buf)), "hugepages-2Mi");
    assert_string_equal(nf_hugepage_resource_name(1073741824, buf, sizeof(buf)), "hugepages-1Gi");
    assert_string_equal(nf_hugepage_resource_name(65536, buf, sizeof(buf)), "hugepages-64Ki");
    assert_string_equal(nf_hugepage_resource_name(33554432, buf, sizeof(buf)), "hugepages-32Mi");
    assert_string_equal(nf_hugepage_resource_name(16ull << 30, buf, sizeof(buf)), "hugepages-16Gi");
    assert_string_equal(nf_hugepage_resource_name(524288, buf, sizeof(buf)), "hugepages-512Ki");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantity_forms),  cmocka_unit_test(test_quantity_units),
        cmocka_unit_test(test_quantity_errors), cmocka_unit_test(test_format_bytes),
        cmocka_unit_test(test_hugepage_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
