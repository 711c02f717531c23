/* fuzz_kubelet_devices.c - nf_device_checkpoint_parse (kubelet_internal_checkpoint) on arbitrary
 * bytes.
 *
 * Properties: a failed parse says why and leaves *out empty; a parsed checkpoint has version 1 or
 * 2, a checksum type exactly when verified, every allocation with all its strings and a NUMA id
 * in [-1, 1023] (-1 only, in the pre-1.20 form), sorted by pod, container, resource, device id;
 * a second parse gives the same result; free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "kubelet_device_checkpoint.h"

static int cmp_alloc(const nf_device_alloc *a, const nf_device_alloc *b)
{
    int c;
    if ((c = strcmp(a->pod_uid, b->pod_uid)) || (c = strcmp(a->container, b->container)) ||
        (c = strcmp(a->resource, b->resource)))
        return c;
    return strcmp(a->device_id, b->device_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_device_checkpoint c;
    memset(&c, 0, sizeof(c));
    nf_err err = {{0}};
    int rc = nf_device_checkpoint_parse((const char *)data, size, "fuzz", &c, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&c, sizeof(c)), "failed parse left data behind");
        return 0;
    }
    NF_FUZZ_CHECK(c.version == 1 || c.version == 2, "version %d", c.version);
    NF_FUZZ_CHECK(c.checksum_verified == (c.checksum_type != NULL),
                  "checksum_verified %d but checksum_type %s", c.checksum_verified,
                  c.checksum_type ? c.checksum_type : "(null)");
    for (size_t i = 0; i < c.n_allocs; i++) {
        const nf_device_alloc *a = &c.allocs[i];
        NF_FUZZ_CHECK(a->pod_uid && a->container && a->resource && a->device_id,
                      "allocation %zu with a NULL string", i);
        NF_FUZZ_CHECK(a->numa >= -1 && a->numa <= 1023, "numa %d", a->numa);
        NF_FUZZ_CHECK(c.version == 2 || a->numa == -1, "pre-1.20 form with numa %d", a->numa);
        NF_FUZZ_CHECK(i == 0 || cmp_alloc(&c.allocs[i - 1], a) <= 0, "not sorted at %zu", i);
    }
    nf_device_checkpoint again;
    rc = nf_device_checkpoint_parse((const char *)data, size, "fuzz", &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second parse failed: %s", err.msg);
    NF_FUZZ_CHECK(again.version == c.version && again.n_allocs == c.n_allocs &&
                      again.checksum_verified == c.checksum_verified,
                  "second parse differs");
    for (size_t i = 0; i < c.n_allocs; i++)
        NF_FUZZ_CHECK(cmp_alloc(&c.allocs[i], &again.allocs[i]) == 0 &&
                          c.allocs[i].numa == again.allocs[i].numa,
                      "second parse differs at %zu", i);
    nf_device_checkpoint_free(&again);
    nf_device_checkpoint_free(&c);
    NF_FUZZ_CHECK(nf_fuzz_zero(&c, sizeof(c)), "free left data behind");
    return 0;
}
