/* kubelet_test_util.h - what the tests of nf_kubelet share beyond tests/testutil.h. */
#ifndef NUMAFIT_TESTS_KUBELET_TEST_UTIL_H
#define NUMAFIT_TESTS_KUBELET_TEST_UTIL_H

#include "numafit/fileio.h"
#include "testutil.h"

/* A real-data example's content (caller frees). */
static inline char *realdata(const char *name, size_t *len)
{
    return nft_read(nft_path(NF_REALDATA_DIR "/kubelet", name), len);
}

#endif
