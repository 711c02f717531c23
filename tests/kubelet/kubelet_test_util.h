/* kubelet_test_util.h - small helpers shared by the tests of nf_kubelet. */
#ifndef NUMAFIT_TESTS_KUBELET_TEST_UTIL_H
#define NUMAFIT_TESTS_KUBELET_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/cpuset.h"
#include "numafit/fileio.h"

/* A real-data example's content (caller frees). */
static inline char *realdata(const char *name, size_t *len)
{
    char *path = nf_path_join(NF_REALDATA_DIR, "kubelet", name, NULL);
    char *text = NULL;
    nf_err err;
    if (nf_read_file(path, 1 << 20, &text, len, &err))
        fail_msg("read %s: %s", path, err.msg);
    free(path);
    return text;
}

/* A set's list form in a rotating static buffer (tests only). */
static inline const char *cs_str(const nf_cpuset *s)
{
    static char bufs[8][256];
    static int at;
    char *txt = NULL;
    assert_int_equal(nf_cpuset_format(s, &txt), 0);
    char *b = bufs[at++ % 8];
    snprintf(b, 256, "%s", txt);
    free(txt);
    return b;
}

#endif
