/* test_zone_resources.c - the derived per-NUMA numbers (exporter/zone_resources.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/topology.h"
#include "zone_resources.h"

#define GIB (INT64_C(1) << 30)
#define MIB (INT64_C(1) << 20)

/* numa0: CPUs 0-3 + 8-11 as 4 cores of 2 threads (0/8, 1/9, 2/10, 3/11); 16 GiB. */
static void build(nf_topology *t)
{
    memset(t, 0, sizeof(*t));
    t->numa_nodes = calloc(1, sizeof(*t->numa_nodes));
    t->n_numa_nodes = 1;
    nf_numa_node *n = &t->numa_nodes[0];
    n->mem_total = 16 * GIB;
    n->mem_free = 10 * GIB;
    assert_int_equal(nf_cpuset_parse("0-3,8-11", &n->cpus.online, NULL), 0);
    n->cpus.cores = calloc(4, sizeof(nf_cpuset));
    n->cpus.n_cores = 4;
    for (unsigned i = 0; i < 4; i++) {
        nf_cpuset_set(&n->cpus.cores[i], i);
        nf_cpuset_set(&n->cpus.cores[i], i + 8);
    }
    n->cpus.threads_per_core = 2;
    n->hugepages = calloc(2, sizeof(*n->hugepages));
    n->n_hugepages = 2;
    n->hugepages[0] = (nf_hugepages){
        .name = strdup("hugepages-1Gi"), .page_bytes = GIB, .total = 8, .free = 6, .surplus = 0};
    n->hugepages[1] = (nf_hugepages){.name = strdup("hugepages-2Mi"),
                                     .page_bytes = 2 * MIB,
                                     .total = NF_UNKNOWN,
                                     .free = NF_UNKNOWN,
                                     .error = strdup("error: unreadable")};
    n->devices = calloc(2, sizeof(*n->devices));
    n->n_devices = 2;
    n->devices[0].resource = strdup("intel.com/dpdk");
    n->devices[0].vfs = calloc(3, sizeof(nf_vf));
    n->devices[0].n_vfs = 3;
    n->devices[0].vfs[1].allocated = true;
    n->devices[1].resource = NULL; /* no pool: not schedulable */
    n->devices[1].vfs = calloc(2, sizeof(nf_vf));
    n->devices[1].n_vfs = 2;
}

static const nf_resource *res(const nf_topology *t, const char *name)
{
    return nf_numa_resource(&t->numa_nodes[0], name);
}

static void test_cpus_reserved_allocated(void **state)
{
    nf_topology t;
    build(&t);
    nf_numa_node *n = &t.numa_nodes[0];
    nf_cpuset_parse("0,8", &n->cpus.reserved, NULL);
    nf_cpuset_parse("1", &n->cpus.allocated, NULL);
    assert_int_equal(nf_zone_resources_compute(&t), 0);

    char *s;
    nf_cpuset_format(&n->cpus.allocatable, &s);
    assert_string_equal(s, "1-3,9-11");
    free(s);
    nf_cpuset_format(&n->cpus.free, &s);
    assert_string_equal(s, "2-3,9-11");
    free(s);
    /* core 0 reserved, core 1 half used: cores 2 and 3 are whole */
    assert_int_equal(n->cpus.free_full_cores, 2);
    assert_int_equal(n->cpus.allocatable_full_cores, 3);
    assert_int_equal(res(&t, "cpu")->capacity, 8);
    assert_int_equal(res(&t, "cpu")->allocatable, 6);
    assert_int_equal(res(&t, "cpu")->available, 5);
    nf_topology_free(&t);
}

/* Issue 12: a core whose sibling is offline lists one thread; it is no whole core for
 * full-pcpus-only, whether free or not. The machine's threads per core decides, so a NUMA node
 * where every core lost its sibling has no whole cores at all. */
static void test_full_cores_offline_sibling(void **state)
{
    nf_topology t;
    build(&t);
    nf_numa_node *n = &t.numa_nodes[0];
    /* CPU 11 offline: core 3 is CPU 3 alone */
    nf_cpuset_free(&n->cpus.online);
    assert_int_equal(nf_cpuset_parse("0-3,8-10", &n->cpus.online, NULL), 0);
    nf_cpuset_free(&n->cpus.cores[3]);
    nf_cpuset_set(&n->cpus.cores[3], 3);
    nf_cpuset_parse("0,8", &n->cpus.reserved, NULL);
    /* a second NUMA node with one core that lost its sibling: threadsPerCore 1 there */
    t.numa_nodes = realloc(t.numa_nodes, 2 * sizeof(*t.numa_nodes));
    t.n_numa_nodes = 2;
    nf_numa_node *m = &t.numa_nodes[1];
    memset(m, 0, sizeof(*m));
    m->id = 1;
    m->mem_total = m->mem_free = NF_UNKNOWN;
    nf_cpuset_parse("4", &m->cpus.online, NULL);
    m->cpus.cores = calloc(1, sizeof(nf_cpuset));
    m->cpus.n_cores = 1;
    nf_cpuset_set(&m->cpus.cores[0], 4);
    m->cpus.threads_per_core = 1;
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    n = &t.numa_nodes[0];
    /* cores 1 and 2 whole; core 0 reserved, core 3 half offline */
    assert_int_equal(n->cpus.free_full_cores, 2);
    assert_int_equal(n->cpus.allocatable_full_cores, 2);
    assert_int_equal(nf_numa_resource(n, "cpu")->available, 5);
    assert_int_equal(t.numa_nodes[1].cpus.free_full_cores, 0);
    assert_int_equal(t.numa_nodes[1].cpus.allocatable_full_cores, 0);
    nf_topology_free(&t);
}

static void test_cpu_policy_none_has_no_exclusive_cpus(void **state)
{
    nf_topology t;
    build(&t);
    t.kubelet.cpu_manager_policy = strdup("none");
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    assert_int_equal(res(&t, "cpu")->capacity, 8);
    assert_int_equal(res(&t, "cpu")->allocatable, 0);
    assert_int_equal(res(&t, "cpu")->available, 0);
    nf_topology_free(&t);
}

static void test_memory_and_hugepages(void **state)
{
    nf_topology t;
    build(&t);
    nf_numa_node *n = &t.numa_nodes[0];
    nf_amount_add(&n->kubelet_reserved, &n->n_kubelet_reserved, "memory", 1 * GIB);
    nf_amount_add(&n->kubelet_reserved, &n->n_kubelet_reserved, "hugepages-1Gi", 1 * GIB);
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    /* without the Memory Manager, memory available is what the kernel has free */
    assert_int_equal(res(&t, "memory")->capacity, 16 * GIB);
    assert_int_equal(res(&t, "memory")->allocatable, 15 * GIB);
    assert_int_equal(res(&t, "memory")->available, 10 * GIB);
    assert_int_equal(res(&t, "hugepages-1Gi")->capacity, 8 * GIB);
    assert_int_equal(res(&t, "hugepages-1Gi")->allocatable, 7 * GIB);
    assert_int_equal(res(&t, "hugepages-1Gi")->available, 6 * GIB);
    /* unreadable counters are not published as zero */
    assert_null(res(&t, "hugepages-2Mi"));
    nf_topology_free(&t);
}

static void test_memory_manager_static_subtracts_assignments(void **state)
{
    nf_topology t;
    build(&t);
    nf_numa_node *n = &t.numa_nodes[0];
    t.kubelet.memory_manager_policy = strdup("Static");
    n->pods = calloc(1, sizeof(*n->pods));
    n->n_pods = 1;
    n->pods[0].pod_uid = strdup("uid-1");
    nf_amount_add(&n->pods[0].amounts, &n->pods[0].n_amounts, "memory", 4 * GIB);
    nf_amount_add(&n->pods[0].amounts, &n->pods[0].n_amounts, "hugepages-1Gi", 4 * GIB);
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    assert_int_equal(res(&t, "memory")->available, 12 * GIB);
    /* 8 pages - 4 assigned = 4 left, although 6 are still untouched in the kernel */
    assert_int_equal(res(&t, "hugepages-1Gi")->available, 4 * GIB);
    nf_topology_free(&t);
}

static void test_devices(void **state)
{
    nf_topology t;
    build(&t);
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    const nf_resource *r = res(&t, "intel.com/dpdk");
    assert_non_null(r);
    assert_int_equal(r->capacity, 3);
    assert_int_equal(r->allocatable, 3);
    assert_int_equal(r->available, 2);
    assert_int_equal(r->usable, NF_UNKNOWN);
    assert_int_equal(t.numa_nodes[0].n_resources, 4); /* cpu, memory, hugepages-1Gi, dpdk */
    /* a second computation gives the same numbers, not doubled ones */
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    assert_int_equal(res(&t, "intel.com/dpdk")->capacity, 3);
    nf_topology_free(&t);
}

static void test_memory_only_node_has_no_cpu(void **state)
{
    nf_topology t;
    build(&t);
    nf_cpuset_clear(&t.numa_nodes[0].cpus.online);
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    assert_null(res(&t, "cpu"));
    assert_non_null(res(&t, "memory"));
    nf_topology_free(&t);
}

/* Lost kubelet inputs: the numbers they feed are unknown with the reason, never all free. */
static void test_unknown_inputs(void **state)
{
    (void)state;
    nf_topology t;
    build(&t);
    t.kubelet.memory_manager_policy = strdup("Static");
    nf_numa_node *n = &t.numa_nodes[0];
    nf_cpuset_parse("0,8", &n->cpus.reserved, NULL);
    n->cpus.allocated_unknown = true;
    n->devices[0].vfs[0].allocation_unknown = true;
    nf_kubelet_unknown u = {.cpu_assigned = "cpu_manager_state lost: gone",
                            .memory_assigned = "memory_manager_state lost: gone"};
    assert_int_equal(nf_zone_resources_compute_known(&t, &u), 0);
    const nf_resource *cpu = res(&t, "cpu");
    assert_int_equal(cpu->capacity, 8);
    assert_int_equal(cpu->allocatable, 6);
    assert_int_equal(cpu->available, NF_UNKNOWN);
    assert_string_equal(cpu->error, "cpu_manager_state lost: gone");
    assert_int_equal(n->cpus.free_full_cores, NF_UNKNOWN);
    const nf_resource *mem = res(&t, "memory"), *hp = res(&t, "hugepages-1Gi");
    assert_int_equal(mem->allocatable, 16 * GIB);
    assert_int_equal(mem->available, NF_UNKNOWN);
    assert_int_equal(hp->allocatable, 8 * GIB);
    assert_int_equal(hp->available, NF_UNKNOWN);
    assert_string_equal(hp->error, "memory_manager_state lost: gone");
    const nf_resource *dev = res(&t, "intel.com/dpdk");
    assert_int_equal(dev->capacity, 3);
    assert_int_equal(dev->available, NF_UNKNOWN);
    assert_non_null(dev->error);

    /* the config lost: allocatable unknown too; everything known again clears the reasons */
    n->cpus.allocated_unknown = false;
    n->cpus.reserved_unknown = true;
    u = (nf_kubelet_unknown){.reserved_cpus = "kubelet config lost: gone",
                             .reserved_memory = "kubelet config lost: gone"};
    assert_int_equal(nf_zone_resources_compute_known(&t, &u), 0);
    assert_int_equal(res(&t, "cpu")->allocatable, NF_UNKNOWN);
    assert_int_equal(res(&t, "memory")->allocatable, NF_UNKNOWN);
    assert_int_equal(res(&t, "hugepages-1Gi")->allocatable, NF_UNKNOWN);
    n->cpus.reserved_unknown = false;
    n->devices[0].vfs[0].allocation_unknown = false;
    assert_int_equal(nf_zone_resources_compute(&t), 0);
    assert_int_equal(res(&t, "cpu")->available, 6);
    assert_null(res(&t, "cpu")->error);
    assert_int_equal(res(&t, "intel.com/dpdk")->available, 2);
    assert_null(res(&t, "intel.com/dpdk")->error);
    nf_topology_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_cores_offline_sibling),
        cmocka_unit_test(test_cpus_reserved_allocated),
        cmocka_unit_test(test_cpu_policy_none_has_no_exclusive_cpus),
        cmocka_unit_test(test_memory_and_hugepages),
        cmocka_unit_test(test_memory_manager_static_subtracts_assignments),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_memory_only_node_has_no_cpu),
        cmocka_unit_test(test_unknown_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
