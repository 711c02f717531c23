/* fuzz_kubelet_cpu_state.c - nf_cpu_state_parse (kubelet's cpu_manager_state) on arbitrary bytes.
 *
 * Properties: a failed parse says why and leaves *out empty; a parsed state has a version in
 * 1..4, a policy name, a checksum type exactly when verified, assignments sorted by pod UID then
 * container (V1: no pod UIDs) with CPU ids <= NF_CPU_MAX; nf_cpu_state_allocated is the union of
 * the assignments; parsing the same bytes again gives the same state; free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "kubelet_cpu_state.h"

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static bool same_state(const nf_cpu_state *a, const nf_cpu_state *b)
{
    if (a->version != b->version || strcmp(a->policy_name, b->policy_name) != 0 ||
        !nf_cpuset_equal(&a->default_cpus, &b->default_cpus) ||
        a->n_assignments != b->n_assignments || a->checksum_verified != b->checksum_verified ||
        cmp_str(a->checksum_type, b->checksum_type) != 0)
        return false;
    for (size_t i = 0; i < a->n_assignments; i++) {
        const nf_cpu_assignment *x = &a->assignments[i], *y = &b->assignments[i];
        if (cmp_str(x->pod_uid, y->pod_uid) || cmp_str(x->container, y->container) ||
            !nf_cpuset_equal(&x->cpus, &y->cpus))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_cpu_state st;
    memset(&st, 0, sizeof(st));
    nf_err err = {{0}};
    int rc = nf_cpu_state_parse((const char *)data, size, "fuzz", &st, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&st, sizeof(st)), "failed parse left data behind");
        return 0;
    }
    NF_FUZZ_CHECK(st.version >= 1 && st.version <= 4, "version %d", st.version);
    NF_FUZZ_CHECK(st.policy_name != NULL, "no policy name");
    NF_FUZZ_CHECK(st.checksum_verified == (st.checksum_type != NULL),
                  "checksum_verified %d but checksum_type %s", st.checksum_verified,
                  st.checksum_type ? st.checksum_type : "(null)");
    NF_FUZZ_CHECK(nf_cpuset_next(&st.default_cpus, NF_CPU_MAX + 1u) < 0,
                  "defaultCpuSet id above NF_CPU_MAX");
    nf_cpuset all = {0};
    size_t sum = 0;
    for (size_t i = 0; i < st.n_assignments; i++) {
        const nf_cpu_assignment *a = &st.assignments[i];
        NF_FUZZ_CHECK(st.version != 1 || a->pod_uid == NULL, "V1 assignment with a pod UID");
        NF_FUZZ_CHECK(a->pod_uid || a->container, "assignment %zu names nothing", i);
        NF_FUZZ_CHECK(nf_cpuset_next(&a->cpus, NF_CPU_MAX + 1u) < 0, "cpu id above NF_CPU_MAX");
        if (i) {
            const nf_cpu_assignment *p = &st.assignments[i - 1];
            int c = cmp_str(p->pod_uid, a->pod_uid);
            NF_FUZZ_CHECK(c < 0 || (c == 0 && (!p->container || !a->container ||
                                               strcmp(p->container, a->container) <= 0)),
                          "assignments not sorted at %zu", i);
        }
        sum += nf_cpuset_count(&a->cpus);
        NF_FUZZ_CHECK(nf_cpuset_or(&all, &all, &a->cpus) == 0, "or failed");
    }
    nf_cpuset alloc = {0};
    NF_FUZZ_CHECK(nf_cpu_state_allocated(&st, &alloc) == 0, "allocated failed");
    NF_FUZZ_CHECK(nf_cpuset_equal(&alloc, &all), "allocated is not the union of assignments");
    NF_FUZZ_CHECK(nf_cpuset_count(&alloc) <= sum, "allocated larger than the assignments");
    nf_cpuset_free(&alloc);
    nf_cpuset_free(&all);

    nf_cpu_state again;
    rc = nf_cpu_state_parse((const char *)data, size, "fuzz", &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second parse failed: %s", err.msg);
    NF_FUZZ_CHECK(same_state(&st, &again), "second parse differs");
    nf_cpu_state_free(&again);
    nf_cpu_state_free(&st);
    NF_FUZZ_CHECK(st.assignments == NULL && st.n_assignments == 0 && st.policy_name == NULL,
                  "free left data behind");
    return 0;
}
