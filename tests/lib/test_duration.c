/* test_duration.c - command-line durations ("500ms", "30s", "1m30s"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/duration.h"

static void duration_is(const char *s, int64_t want)
{
    int64_t v = -1;
    nf_err err = {{0}};
    int rc = nf_duration_parse_ms(s, &v, &err);
    if (rc)
        fail_msg("\"%s\": rc %d (%s)", s, rc, err.msg);
    if (v != want)
        fail_msg("\"%s\": %lld ms, want %lld", s, (long long)v, (long long)want);
}

static void duration_fails(const char *s, int want_rc, const char *want_msg)
{
    int64_t v = -12345;
    nf_err err = {{0}};
    int rc = nf_duration_parse_ms(s, &v, &err);
    if (rc != want_rc)
        fail_msg("\"%s\": rc %d, want %d (%s)", s ? s : "(null)", rc, want_rc, err.msg);
    assert_int_equal(v, -12345);
    if (!strstr(err.msg, want_msg))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s ? s : "(null)", err.msg, want_msg);
}

static void test_duration(void **state)
{
    (void)state;
    duration_is("500ms", 500);
    duration_is("0ms", 0);
    duration_is("0s", 0);
    duration_is("30s", 30000);
    duration_is("5m", 300000);
    duration_is("24h", 86400000);
    duration_is("1m30s", 90000);
    duration_is("1h2m3s4ms", 3723004);
    duration_is("1s500ms", 1500);
    duration_is("1000000000000ms", INT64_C(1000000000000));
    duration_is("277777h", INT64_C(999997200000));

    duration_fails(NULL, -EINVAL, "empty");
    duration_fails("", -EINVAL, "empty");
    duration_fails("5", -EINVAL, "unit");
    duration_fails("5x", -EINVAL, "unknown unit");
    duration_fails("5sec", -EINVAL, "unknown unit");
    duration_fails("5mss", -EINVAL, "unknown unit");
    duration_fails("ms", -EINVAL, "expected a number");
    duration_fails("-1s", -EINVAL, "expected a number");
    duration_fails(" 1s", -EINVAL, "expected a number");
    duration_fails("1s ", -EINVAL, "expected a number");
    duration_fails("1.5s", -EINVAL, "unknown unit");
    duration_fails("1m30", -EINVAL, "unit");
    duration_fails("10000000000000ms", -ERANGE, "too large");
    duration_fails("99999999999999999999999999s", -ERANGE, "too large");
    duration_fails("1000000000000h", -ERANGE, "too large");
    duration_fails("999999999999h999999999999h", -ERANGE, "too large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
