/* fuzz_quantity.c - nf_quantity_parse_milli / nf_quantity_parse / nf_quantity_format_bytes.
 *
 * Properties: milli and whole-unit parses agree (units = milli rounded up to whole units), values
 * are never negative, and formatting a byte count parses back to the same count. */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = nf_fuzz_cstr(data, size);
    int64_t milli = -1, units = -1;
    nf_err err = {{0}};
    int rm = nf_quantity_parse_milli(in, &milli, &err);
    if (rm != 0)
        NF_FUZZ_CHECK(err.msg[0] != '\0', "error without a message");
    int ru = nf_quantity_parse(in, &units, NULL);
    NF_FUZZ_CHECK(rm == ru, "\"%.80s\": milli rc %d, units rc %d", in, rm, ru);
    if (rm == 0) {
        NF_FUZZ_CHECK(milli >= 0 && units >= 0, "\"%.80s\": negative", in);
        NF_FUZZ_CHECK(units == milli / 1000 + (milli % 1000 != 0), "\"%.80s\": %lld vs %lld m", in,
                      (long long)units, (long long)milli);
    }
    /* Whole units of an amount near the top of the range (e.g. "9223372036854775807m" rounds up
     * to 9223372036854776) need not fit milli-units again, so the byte round trip is checked
     * below that. */
    if (rm == 0 && units <= INT64_MAX / 1000) {
        char buf[32], name[64];
        nf_quantity_format_bytes(units, buf, sizeof(buf));
        int64_t back = -1;
        int rb = nf_quantity_parse(buf, &back, &err);
        NF_FUZZ_CHECK(rb == 0 && back == units, "\"%.80s\": %lld bytes formatted as \"%s\" -> %lld",
                      in, (long long)units, buf, (long long)back);
        nf_hugepage_resource_name((uint64_t)units, name, sizeof(name));
        NF_FUZZ_CHECK(strncmp(name, "hugepages-", 10) == 0 && strcmp(name + 10, buf) == 0,
                      "hugepage name %s", name);
    }
    free(in);
    return 0;
}
