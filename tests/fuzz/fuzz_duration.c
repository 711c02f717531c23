/* fuzz_duration.c - nf_duration_parse_ms: never negative, never above 1e15 ms, errors explained. */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = nf_fuzz_cstr(data, size);
    int64_t ms = -1;
    nf_err err = {{0}};
    int rc = nf_duration_parse_ms(in, &ms, &err);
    if (rc == 0)
        NF_FUZZ_CHECK(ms >= 0 && ms <= INT64_C(1000000000000000), "\"%.80s\" -> %lld ms", in,
                      (long long)ms);
    else
        NF_FUZZ_CHECK(err.msg[0] != '\0' && ms == -1, "\"%.80s\": rc %d", in, rc);
    free(in);
    return 0;
}
