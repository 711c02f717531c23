/* fuzz_cpuset.c - nf_cpuset_parse / nf_cpuset_parse_mask / format / set algebra.
 *
 * Properties: a parsed list formats to a list that parses back to the same set; a parsed mask
 * does too; |a| + |b| == |a | b| + |a & b|; (a & ~b) & b is empty; a failed parse leaves an
 * empty set and says why. */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/cpuset.h"

static void check_roundtrip(const nf_cpuset *s, const char *what, const char *in)
{
    char *text = NULL;
    NF_FUZZ_CHECK(nf_cpuset_format(s, &text) == 0, "%s format", what);
    nf_cpuset back = {0};
    nf_err err = {{0}};
    int rc = nf_cpuset_parse(text, &back, &err);
    NF_FUZZ_CHECK(rc == 0, "%s \"%.80s\" formatted as \"%.80s\" does not parse: %s", what, in, text,
                  err.msg);
    NF_FUZZ_CHECK(nf_cpuset_equal(s, &back), "%s \"%.80s\" -> \"%.80s\" changed", what, in, text);
    NF_FUZZ_CHECK(nf_cpuset_count(s) == nf_cpuset_count(&back), "%s count", what);
    /* walking with next() visits exactly count() members */
    size_t walked = 0;
    for (int c = nf_cpuset_next(s, 0); c >= 0; c = nf_cpuset_next(s, (unsigned)c + 1)) {
        NF_FUZZ_CHECK(nf_cpuset_test(s, (unsigned)c), "next() returned a non-member %d", c);
        walked++;
    }
    NF_FUZZ_CHECK(walked == nf_cpuset_count(s), "next() walked %zu of %zu", walked,
                  nf_cpuset_count(s));
    free(text);
    nf_cpuset_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = nf_fuzz_cstr(data, size);
    nf_cpuset list = {0}, mask = {0};
    nf_err err = {{0}};

    int rl = nf_cpuset_parse(in, &list, &err);
    if (rl == 0)
        check_roundtrip(&list, "list", in);
    else
        NF_FUZZ_CHECK(nf_cpuset_empty(&list) && err.msg[0], "failed list parse: set or message");

    err.msg[0] = '\0';
    int rm = nf_cpuset_parse_mask(in, &mask, &err);
    if (rm == 0)
        check_roundtrip(&mask, "mask", in);
    else
        NF_FUZZ_CHECK(nf_cpuset_empty(&mask) && err.msg[0], "failed mask parse: set or message");

    nf_cpuset u = {0}, i = {0}, d = {0}, x = {0};
    NF_FUZZ_CHECK(nf_cpuset_or(&u, &list, &mask) == 0, "or");
    NF_FUZZ_CHECK(nf_cpuset_and(&i, &list, &mask) == 0, "and");
    NF_FUZZ_CHECK(nf_cpuset_andnot(&d, &list, &mask) == 0, "andnot");
    NF_FUZZ_CHECK(nf_cpuset_count(&list) + nf_cpuset_count(&mask) ==
                      nf_cpuset_count(&u) + nf_cpuset_count(&i),
                  "inclusion-exclusion");
    NF_FUZZ_CHECK(nf_cpuset_and(&x, &d, &mask) == 0 && nf_cpuset_empty(&x), "(a & ~b) & b");
    /* aliasing: list = list | mask must equal u */
    NF_FUZZ_CHECK(nf_cpuset_or(&list, &list, &mask) == 0 && nf_cpuset_equal(&list, &u),
                  "aliased or");
    NF_FUZZ_CHECK(nf_cpuset_copy(&x, &u) == 0 && nf_cpuset_equal(&x, &u), "copy");

    nf_cpuset_free(&list);
    nf_cpuset_free(&mask);
    nf_cpuset_free(&u);
    nf_cpuset_free(&i);
    nf_cpuset_free(&d);
    nf_cpuset_free(&x);
    free(in);
    return 0;
}
