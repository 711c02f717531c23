/* fuzz_podresources.c - nf_podres_state_decode (kubelet's podresources answers) on arbitrary
 * bytes: the first byte is the length of the GetAllocatableResources answer, the rest the List
 * answer.
 *
 * Properties: a failed decode says why and leaves *out empty; a decoded state names every pod by
 * a non-empty namespace/name (never a UID) and every container, device and memory type; device
 * NUMA ids are in [-1, 1023], memory block ids in [0, 1023], sizes non-negative; assignments and
 * allocations are sorted; a second decode gives the same counts; free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "podresources.h"

static bool named(const char *uid, const char *ns, const char *name, const char *container)
{
    return !uid && ns && *ns && name && *name && container && *container;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t alen = data[0] < size - 1 ? data[0] : size - 1;
    const uint8_t *alloc = data + 1, *list = data + 1 + alen;
    size_t llen = size - 1 - alen;
    nf_podres_state s;
    nf_err err = {{0}};
    int rc = nf_podres_state_decode(alloc, alen, list, llen, &s, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&s, sizeof(s)), "failed decode left data behind");
        return 0;
    }
    for (size_t i = 0; i < s.cpus.n_assignments; i++) {
        const nf_cpu_assignment *a = &s.cpus.assignments[i];
        NF_FUZZ_CHECK(named(a->pod_uid, a->pod_namespace, a->pod_name, a->container),
                      "cpu assignment %zu not named", i);
        NF_FUZZ_CHECK(!nf_cpuset_empty(&a->cpus), "cpu assignment %zu without CPUs", i);
        NF_FUZZ_CHECK(i == 0 ||
                          strcmp(s.cpus.assignments[i - 1].pod_namespace, a->pod_namespace) <= 0,
                      "cpu assignments not sorted at %zu", i);
    }
    for (size_t i = 0; i < s.memory.n_assignments; i++) {
        const nf_memory_assignment *a = &s.memory.assignments[i];
        NF_FUZZ_CHECK(named(a->pod_uid, a->pod_namespace, a->pod_name, a->container),
                      "memory assignment %zu not named", i);
        for (size_t b = 0; b < a->n_blocks; b++) {
            NF_FUZZ_CHECK(a->blocks[b].type && *a->blocks[b].type && a->blocks[b].size >= 0,
                          "memory block %zu/%zu", i, b);
            for (size_t k = 0; k < a->blocks[b].n_numa; k++)
                NF_FUZZ_CHECK(a->blocks[b].numa[k] >= 0 && a->blocks[b].numa[k] <= 1023,
                              "memory numa %d", a->blocks[b].numa[k]);
        }
    }
    for (size_t i = 0; i < s.devices.n_allocs; i++) {
        const nf_device_alloc *a = &s.devices.allocs[i];
        NF_FUZZ_CHECK(named(a->pod_uid, a->pod_namespace, a->pod_name, a->container) &&
                          a->resource && *a->resource && a->device_id && *a->device_id,
                      "device alloc %zu not named", i);
        NF_FUZZ_CHECK(a->numa >= -1 && a->numa <= 1023, "device numa %d", a->numa);
    }
    for (size_t i = 0; i < s.devices.n_registered; i++)
        NF_FUZZ_CHECK(*s.devices.registered[i].key && *s.devices.registered[i].value,
                      "registered device %zu empty", i);
    NF_FUZZ_CHECK(s.n_containers >= s.cpus.n_assignments &&
                      s.n_containers >= s.memory.n_assignments,
                  "more assignments than containers");
    nf_podres_state again;
    rc = nf_podres_state_decode(alloc, alen, list, llen, &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second decode failed: %s", err.msg);
    NF_FUZZ_CHECK(again.n_pods == s.n_pods && again.n_containers == s.n_containers &&
                      again.cpus.n_assignments == s.cpus.n_assignments &&
                      again.devices.n_allocs == s.devices.n_allocs &&
                      again.memory.n_assignments == s.memory.n_assignments &&
                      nf_cpuset_equal(&again.allocatable_cpus, &s.allocatable_cpus),
                  "second decode differs");
    nf_podres_state_free(&again);
    nf_podres_state_free(&s);
    NF_FUZZ_CHECK(nf_fuzz_zero(&s, sizeof(s)), "free left data behind");
    return 0;
}
