/* test_kubelet_config.c - KubeletConfiguration parsing (the YAML fixtures in
 * tests/fixtures/kubelet) and the reserved CPUs kubelet's static policy computes (takeByTopology)
 * on hand-built topologies. */
#include "kubelet_test_util.h"

#include "kubelet_config.h"
#include "kubelet_take_by_topology.h"
#include "numafit/topology.h"

static nf_kubelet_config load_fixture(const char *name)
{
    char *path = nf_path_join(NF_SOURCE_DIR, "tests", "fixtures", "kubelet", name, NULL);
    nf_kubelet_config c;
    nf_err err = {{0}};
    int rc = nf_kubelet_config_load(path, &c, &err);
    if (rc)
        fail_msg("%s: %d %s", path, rc, err.msg);
    free(path);
    return c;
}

static void test_config_reserved_list(void **state)
{
    (void)state;
    nf_kubelet_config c = load_fixture("kubelet-config-reserved-list.yaml");
    assert_string_equal(c.cpu_manager_policy, "static");
    assert_int_equal(c.n_cpu_manager_policy_options, 2);
    assert_string_equal(c.cpu_manager_policy_options[0].key, "distribute-cpus-across-numa");
    assert_string_equal(c.cpu_manager_policy_options[0].value, "false");
    assert_string_equal(nf_kv_get(c.cpu_manager_policy_options, 2, "full-pcpus-only"), "true");
    assert_string_equal(c.reserved_system_cpus, "0,8");
    assert_string_equal(nft_cpus_str(&c.reserved_system_cpuset), "0,8");
    assert_int_equal(c.reserved_cpu_milli, 1500);
    assert_string_equal(c.topology_manager_policy, "single-numa-node");
    assert_string_equal(c.topology_manager_scope, "pod");
    assert_int_equal(c.n_topology_manager_policy_options, 1);
    assert_string_equal(c.topology_manager_policy_options[0].key, "prefer-closest-numa-nodes");
    assert_string_equal(c.memory_manager_policy, "Static");
    assert_int_equal(c.n_reserved_memory, 2);
    assert_int_equal(c.reserved_memory[0].numa_node, 0);
    assert_int_equal(
        nf_amount_get(c.reserved_memory[0].limits, c.reserved_memory[0].n_limits, "memory"),
        1124LL << 20);
    assert_int_equal(
        nf_amount_get(c.reserved_memory[0].limits, c.reserved_memory[0].n_limits, "hugepages-1Gi"),
        1LL << 30);
    assert_int_equal(c.reserved_memory[1].numa_node, 1);
    assert_int_equal(c.reserved_memory[1].n_limits, 1);
    nf_kubelet_config_free(&c);
}

static void test_config_defaults(void **state)
{
    (void)state;
    nf_kubelet_config c = load_fixture("kubelet-config-none.yaml");
    assert_string_equal(c.cpu_manager_policy, "none");
    assert_string_equal(c.topology_manager_policy, "none");
    assert_string_equal(c.topology_manager_scope, "container");
    assert_string_equal(c.memory_manager_policy, "None");
    assert_null(c.reserved_system_cpus);
    assert_int_equal(c.reserved_cpu_milli, 200);
    assert_int_equal(c.n_cpu_manager_policy_options, 0);
    assert_int_equal(c.n_reserved_memory, 0);
    nf_kubelet_config_free(&c);

    c = load_fixture("kubelet-config-computed.yaml");
    assert_string_equal(c.cpu_manager_policy, "static");
    assert_string_equal(c.topology_manager_policy, "restricted");
    assert_int_equal(c.reserved_cpu_milli, 1500); /* YAML integer 1 + "500m" */
    nf_kubelet_config_free(&c);

    nf_err err;
    assert_int_equal(nf_kubelet_config_parse("", 0, "empty", &c, &err), 0);
    assert_string_equal(c.cpu_manager_policy, "none");
    nf_kubelet_config_free(&c);
    /* JSON is YAML too; unquoted option values become strings */
    const char *j = "{\"kind\":\"KubeletConfiguration\",\"cpuManagerPolicy\":\"static\","
                    "\"cpuManagerPolicyOptions\":{\"full-pcpus-only\":true},\"reservedSystemCPUs\":"
                    "\"\",\"kubeReserved\":{\"cpu\":0.5}}";
    assert_int_equal(nf_kubelet_config_parse(j, strlen(j), "json", &c, &err), 0);
    assert_string_equal(c.cpu_manager_policy_options[0].value, "true");
    assert_null(c.reserved_system_cpus);
    assert_int_equal(c.reserved_cpu_milli, 500);
    nf_kubelet_config_free(&c);
}

static void test_config_bad(void **state)
{
    (void)state;
    const char *bad[] = {
        "kind: Pod\n",
        "- a\n- b\n",
        "cpuManagerPolicy: [static]\n",
        "reservedSystemCPUs: 0-99999999\n",
        "reservedSystemCPUs: {a: 1}\n",
        "kubeReserved:\n  cpu: -1\n",
        "kubeReserved:\n  cpu: lots\n",
        "systemReserved: 3\n",
        "cpuManagerPolicyOptions: [a]\n",
        "cpuManagerPolicyOptions:\n  a: {b: c}\n",
        "reservedMemory: {numaNode: 0}\n",
        "reservedMemory:\n  - numaNode: -1\n    limits: {memory: 1Gi}\n",
        "reservedMemory:\n  - numaNode: 0\n    limits: {memory: -1Gi}\n",
        "reservedMemory:\n  - numaNode: 0\n  - numaNode: 0\n",
        "a: &x 1\nb: *x\n",
        "cpuManagerPolicy: \"static\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        nf_kubelet_config c;
        nf_err err = {{0}};
        if (nf_kubelet_config_parse(bad[i], strlen(bad[i]), "t.yaml", &c, &err) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.msg, "t.yaml"));
    }
}

/* ---- takeByTopology on hand-built machines ---- */

/* n_numa NUMA nodes, socket of node i = sock[i]; cores_per_node cores of `threads` threads.
 * CPU numbering as Linux does on Intel: core k of the machine has threads k, k + ncores, ... */
static void build(nf_topology *t, int n_numa, const int *sock, int cores_per_node, int threads)
{
    memset(t, 0, sizeof(*t));
    t->numa_nodes = calloc((size_t)n_numa, sizeof(*t->numa_nodes));
    t->n_numa_nodes = (size_t)n_numa;
    int ncores = n_numa * cores_per_node;
    for (int i = 0; i < n_numa; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        n->id = i;
        n->socket = sock[i];
        n->cpus.cores = calloc((size_t)cores_per_node, sizeof(nf_cpuset));
        n->cpus.n_cores = (size_t)cores_per_node;
        for (int k = 0; k < cores_per_node; k++) {
            int core = i * cores_per_node + k;
            for (int th = 0; th < threads; th++) {
                nf_cpuset_set(&n->cpus.cores[k], (unsigned)(core + th * ncores));
                nf_cpuset_set(&n->cpus.online, (unsigned)(core + th * ncores));
            }
        }
    }
}

static const char *take(const nf_topology *t, const nf_cpuset *avail, int n)
{
    nf_cpuset out = {0};
    nf_err err = {{0}};
    int rc = nf_kubelet_take_by_topology(t, avail, n, &out, &err);
    if (rc)
        fail_msg("take %d: %d %s", n, rc, err.msg);
    const char *s = nft_cpus_str(&out);
    nf_cpuset_free(&out);
    return s;
}

static void test_take_two_sockets_ht(void **state)
{
    (void)state;
    /* 2 sockets = 2 NUMA nodes, 4 cores each, HT: node0 = 0-3,8-11, node1 = 4-7,12-15 */
    nf_topology t;
    int sock[] = {0, 1};
    build(&t, 2, sock, 4, 2);
    assert_string_equal(take(&t, NULL, 1), "0");        /* one thread of the lowest core */
    assert_string_equal(take(&t, NULL, 2), "0,8");      /* a whole core (kubelet: {0,4} on 8) */
    assert_string_equal(take(&t, NULL, 3), "0-1,8");    /* core 0, then the next lowest thread */
    assert_string_equal(take(&t, NULL, 4), "0-1,8-9");  /* two whole cores */
    assert_string_equal(take(&t, NULL, 8), "0-3,8-11"); /* a whole NUMA node */
    assert_string_equal(take(&t, NULL, 9), "0-4,8-11"); /* + the lowest thread on the other node */
    assert_string_equal(take(&t, NULL, 16), "0-15");
    /* with CPUs 0,8 taken, the partly used node 0 is preferred (fewest free first) */
    nf_cpuset avail = {0};
    nf_cpuset_set_range(&avail, 1, 7);
    nf_cpuset_set_range(&avail, 9, 15);
    assert_string_equal(take(&t, &avail, 2), "1,9");
    nf_cpuset_clear(&avail);
    nf_cpuset_set_range(&avail, 1, 3); /* node 0: only single threads of cores 1-3 left */
    nf_cpuset_set_range(&avail, 4, 7);
    nf_cpuset_set_range(&avail, 12, 15);
    assert_string_equal(take(&t, &avail, 2), "4,12"); /* whole cores first, from node 1 */
    assert_string_equal(take(&t, &avail, 1), "1");    /* a lone thread: node 0 has fewest free */
    nf_cpuset out = {0};
    nf_err err;
    assert_int_equal(nf_kubelet_take_by_topology(&t, &avail, 12, &out, &err), -ENOSPC);
    nf_cpuset_free(&out);
    nf_cpuset_free(&avail);
    nf_topology_free(&t);
}

static void test_take_sockets_first(void **state)
{
    (void)state;
    /* one socket split in 2 NUMA nodes (SNC): sockets < NUMA nodes -> sockets first */
    nf_topology t;
    int sock[] = {0, 0};
    build(&t, 2, sock, 2, 2); /* node0 = 0-1,4-5; node1 = 2-3,6-7 */
    assert_string_equal(take(&t, NULL, 2), "0,4");
    assert_string_equal(take(&t, NULL, 4), "0-1,4-5"); /* whole NUMA node 0 */
    assert_string_equal(take(&t, NULL, 5), "0-2,4-5");
    nf_topology_free(&t);

    /* no SMT, CPUs without core lists count as their own cores */
    build(&t, 1, sock, 4, 1);
    for (size_t k = 0; k < t.numa_nodes[0].cpus.n_cores; k++)
        nf_cpuset_free(&t.numa_nodes[0].cpus.cores[k]);
    t.numa_nodes[0].cpus.n_cores = 0;
    assert_string_equal(take(&t, NULL, 3), "0-2");
    nf_topology_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_reserved_list), cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_bad),           cmocka_unit_test(test_take_two_sockets_ht),
        cmocka_unit_test(test_take_sockets_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
