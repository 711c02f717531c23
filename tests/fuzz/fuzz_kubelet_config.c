/* fuzz_kubelet_config.c - nf_kubelet_config_parse (KubeletConfiguration YAML/JSON) on arbitrary
 * bytes.
 *
 * Properties: a failed parse says why and leaves *out empty; a parsed config has every policy
 * string (defaults filled in), option lists sorted by key with non-NULL values,
 * reserved_cpu_milli >= 0, reserved_system_cpus set exactly when the parsed set is non-empty and
 * parsing it again gives the same set, reservedMemory sorted by unique NUMA node in [0, 1023]
 * with limits >= 0; a second parse gives the same config; free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "kubelet_config.h"

static void check_kv(const nf_kv *kv, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        NF_FUZZ_CHECK(kv[i].key && kv[i].value, "%s[%zu] with a NULL key or value", what, i);
        NF_FUZZ_CHECK(i == 0 || strcmp(kv[i - 1].key, kv[i].key) <= 0, "%s not sorted at %zu", what,
                      i);
    }
}

static bool same_kv(const nf_kv *a, size_t na, const nf_kv *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value))
            return false;
    return true;
}

static bool same_config(const nf_kubelet_config *a, const nf_kubelet_config *b)
{
    if (strcmp(a->cpu_manager_policy, b->cpu_manager_policy) ||
        strcmp(a->topology_manager_policy, b->topology_manager_policy) ||
        strcmp(a->topology_manager_scope, b->topology_manager_scope) ||
        strcmp(a->memory_manager_policy, b->memory_manager_policy) ||
        strcmp(a->reserved_system_cpus ? a->reserved_system_cpus : "",
               b->reserved_system_cpus ? b->reserved_system_cpus : "") ||
        !nf_cpuset_equal(&a->reserved_system_cpuset, &b->reserved_system_cpuset) ||
        a->reserved_cpu_milli != b->reserved_cpu_milli ||
        a->n_reserved_memory != b->n_reserved_memory ||
        !same_kv(a->cpu_manager_policy_options, a->n_cpu_manager_policy_options,
                 b->cpu_manager_policy_options, b->n_cpu_manager_policy_options) ||
        !same_kv(a->topology_manager_policy_options, a->n_topology_manager_policy_options,
                 b->topology_manager_policy_options, b->n_topology_manager_policy_options))
        return false;
    for (size_t i = 0; i < a->n_reserved_memory; i++) {
        const nf_reserved_memory *x = &a->reserved_memory[i], *y = &b->reserved_memory[i];
        if (x->numa_node != y->numa_node || x->n_limits != y->n_limits)
            return false;
        for (size_t k = 0; k < x->n_limits; k++)
            if (strcmp(x->limits[k].name, y->limits[k].name) ||
                x->limits[k].value != y->limits[k].value)
                return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_kubelet_config c;
    memset(&c, 0, sizeof(c));
    nf_err err = {{0}};
    int rc = nf_kubelet_config_parse((const char *)data, size, "fuzz", &c, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&c, sizeof(c)), "failed parse left data behind");
        return 0;
    }
    NF_FUZZ_CHECK(c.cpu_manager_policy && c.topology_manager_policy && c.topology_manager_scope &&
                      c.memory_manager_policy,
                  "a policy is NULL (no default)");
    NF_FUZZ_CHECK(c.cpu_manager_policy[0] && c.topology_manager_policy[0] &&
                      c.topology_manager_scope[0] && c.memory_manager_policy[0],
                  "a policy is empty (no default)");
    check_kv(c.cpu_manager_policy_options, c.n_cpu_manager_policy_options,
             "cpuManagerPolicyOptions");
    check_kv(c.topology_manager_policy_options, c.n_topology_manager_policy_options,
             "topologyManagerPolicyOptions");
    NF_FUZZ_CHECK(c.reserved_cpu_milli >= 0, "reserved_cpu_milli %lld",
                  (long long)c.reserved_cpu_milli);
    NF_FUZZ_CHECK((c.reserved_system_cpus != NULL) == !nf_cpuset_empty(&c.reserved_system_cpuset),
                  "reserved_system_cpus %s but the set is %sempty",
                  c.reserved_system_cpus ? c.reserved_system_cpus : "(null)",
                  nf_cpuset_empty(&c.reserved_system_cpuset) ? "" : "not ");
    NF_FUZZ_CHECK(nf_cpuset_next(&c.reserved_system_cpuset, NF_CPU_MAX + 1u) < 0,
                  "reserved cpu above NF_CPU_MAX");
    if (c.reserved_system_cpus) {
        nf_cpuset again = {0};
        nf_err e;
        NF_FUZZ_CHECK(nf_cpuset_parse(c.reserved_system_cpus, &again, &e) == 0 &&
                          nf_cpuset_equal(&again, &c.reserved_system_cpuset),
                      "reserved_system_cpus \"%s\" does not parse to the same set",
                      c.reserved_system_cpus);
        nf_cpuset_free(&again);
    }
    for (size_t i = 0; i < c.n_reserved_memory; i++) {
        const nf_reserved_memory *m = &c.reserved_memory[i];
        NF_FUZZ_CHECK(m->numa_node >= 0 && m->numa_node <= 1023, "numaNode %d", m->numa_node);
        NF_FUZZ_CHECK(i == 0 || c.reserved_memory[i - 1].numa_node < m->numa_node,
                      "reservedMemory not sorted/unique at %zu", i);
        for (size_t k = 0; k < m->n_limits; k++)
            NF_FUZZ_CHECK(m->limits[k].name && m->limits[k].value >= 0, "limit %s = %lld",
                          m->limits[k].name ? m->limits[k].name : "(null)",
                          (long long)m->limits[k].value);
    }
    nf_kubelet_config again;
    rc = nf_kubelet_config_parse((const char *)data, size, "fuzz", &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second parse failed: %s", err.msg);
    NF_FUZZ_CHECK(same_config(&c, &again), "second parse differs");
    nf_kubelet_config_free(&again);
    nf_kubelet_config_free(&c);
    NF_FUZZ_CHECK(nf_fuzz_zero(&c, sizeof(c)), "free left data behind");
    return 0;
}
