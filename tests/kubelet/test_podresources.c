/* test_podresources.c - kubelet's podresources answers (protobuf, built with the same generated
 * code the exporter uses) turned into the checkpoint readers' structs, and answers kubelet would
 * never give refused with a message naming the pod and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "podresources-v1.pb-c.h"
#include "podresources.h"

/* One pod ran/du-0, container "dpdk": CPUs cpu_a and 3, a VF on NUMA node `numa`, 1 GiB of
 * 1Gi pages on NUMA 1; pod core/agent, container "a": no exclusive resource. */
typedef struct answers {
    uint8_t alloc[512], list[1024];
    size_t alloc_len, list_len;
} answers;

static void build(answers *o, int64_t cpu_a, int64_t numa, const char *name)
{
    V1__NUMANode n = V1__NUMANODE__INIT, n1 = V1__NUMANODE__INIT, n2 = V1__NUMANODE__INIT;
    n.id = numa;
    n1.id = 1;
    n2.id = 2;
    V1__NUMANode *one[] = {&n}, *mem_nodes[] = {&n1}, *two[] = {&n1, &n2};
    V1__TopologyInfo t = V1__TOPOLOGY_INFO__INIT, tm = V1__TOPOLOGY_INFO__INIT,
                     t2 = V1__TOPOLOGY_INFO__INIT;
    t.n_nodes = 1;
    t.nodes = one;
    tm.n_nodes = 1;
    tm.nodes = mem_nodes;
    t2.n_nodes = 2;
    t2.nodes = two;
    char *ids[] = {"0000:18:01.1"}, *reg_ids[] = {"0000:18:01.0", "0000:18:01.1"},
         *gpu[] = {"gpu-0"};
    V1__ContainerDevices d = V1__CONTAINER_DEVICES__INIT, reg = V1__CONTAINER_DEVICES__INIT,
                         wide = V1__CONTAINER_DEVICES__INIT;
    d.resource_name = "intel.com/sriov";
    d.n_device_ids = 1;
    d.device_ids = ids;
    d.topology = &t;
    reg = d;
    reg.n_device_ids = 2;
    reg.device_ids = reg_ids;
    wide.resource_name = "example.com/gpu";
    wide.n_device_ids = 1;
    wide.device_ids = gpu;
    wide.topology = &t2; /* a device on two NUMA nodes: no single node */
    V1__ContainerMemory m = V1__CONTAINER_MEMORY__INIT;
    m.memory_type = "hugepages-1Gi";
    m.size = 1 << 30;
    m.topology = &tm;
    int64_t cpus[] = {cpu_a, 3}, alloc_cpus[] = {1, 2, 3, 4};
    V1__ContainerDevices *devs[] = {&d, &wide}, *regs[] = {&reg};
    V1__ContainerMemory *mems[] = {&m};
    V1__ContainerResources c = V1__CONTAINER_RESOURCES__INIT, c2 = V1__CONTAINER_RESOURCES__INIT;
    c.name = "dpdk";
    c.n_cpu_ids = 2;
    c.cpu_ids = cpus;
    c.n_devices = 2;
    c.devices = devs;
    c.n_memory = 1;
    c.memory = mems;
    c2.name = "a";
    V1__ContainerResources *cs[] = {&c}, *cs2[] = {&c2};
    V1__PodResources p = V1__POD_RESOURCES__INIT, p2 = V1__POD_RESOURCES__INIT;
    p.namespace_ = "ran";
    p.name = (char *)name;
    p.n_containers = 1;
    p.containers = cs;
    p2.namespace_ = "core";
    p2.name = "agent";
    p2.n_containers = 1;
    p2.containers = cs2;
    V1__PodResources *ps[] = {&p, &p2};
    V1__ListPodResourcesResponse l = V1__LIST_POD_RESOURCES_RESPONSE__INIT;
    l.n_pod_resources = 2;
    l.pod_resources = ps;
    V1__AllocatableResourcesResponse a = V1__ALLOCATABLE_RESOURCES_RESPONSE__INIT;
    a.n_cpu_ids = 4;
    a.cpu_ids = alloc_cpus;
    a.n_devices = 1;
    a.devices = regs;
    a.n_memory = 1;
    a.memory = mems;
    assert_true(v1__list_pod_resources_response__get_packed_size(&l) <= sizeof(o->list));
    o->list_len = v1__list_pod_resources_response__pack(&l, o->list);
    o->alloc_len = v1__allocatable_resources_response__pack(&a, o->alloc);
}

static void test_decode(void **state)
{
    (void)state;
    answers a;
    build(&a, 2, 0, "du-0");
    nf_podres_state s;
    nf_err err = {{0}};
    assert_int_equal(nf_podres_state_decode(a.alloc, a.alloc_len, a.list, a.list_len, &s, &err), 0);
    assert_int_equal(s.n_pods, 2);
    assert_int_equal(s.n_containers, 2);
    assert_true(s.memory_static);
    assert_int_equal(nf_cpuset_count(&s.allocatable_cpus), 4);
    /* only the container with cpu_ids, named by namespace/name, no UID */
    assert_int_equal(s.cpus.n_assignments, 1);
    nf_cpu_assignment *c = &s.cpus.assignments[0];
    assert_null(c->pod_uid);
    assert_string_equal(c->pod_namespace, "ran");
    assert_string_equal(c->pod_name, "du-0");
    assert_string_equal(c->container, "dpdk");
    assert_true(nf_cpuset_test(&c->cpus, 2) && nf_cpuset_test(&c->cpus, 3));
    assert_int_equal(nf_cpuset_count(&c->cpus), 2);
    /* devices sorted by pod, container, resource, ID; a device on two nodes has none */
    assert_int_equal(s.devices.n_allocs, 2);
    assert_string_equal(s.devices.allocs[0].resource, "example.com/gpu");
    assert_int_equal(s.devices.allocs[0].numa, -1);
    assert_string_equal(s.devices.allocs[1].device_id, "0000:18:01.1");
    assert_int_equal(s.devices.allocs[1].numa, 0);
    assert_int_equal(s.devices.n_registered, 2);
    assert_string_equal(s.devices.registered[1].key, "intel.com/sriov");
    assert_string_equal(s.devices.registered[1].value, "0000:18:01.1");
    assert_int_equal(s.memory.n_assignments, 1);
    assert_int_equal(s.memory.assignments[0].n_blocks, 1);
    assert_string_equal(s.memory.assignments[0].blocks[0].type, "hugepages-1Gi");
    assert_int_equal(s.memory.assignments[0].blocks[0].size, 1 << 30);
    assert_int_equal(s.memory.assignments[0].blocks[0].numa[0], 1);
    nf_podres_state_free(&s);
}

static void refuses(int64_t cpu, int64_t numa, const char *name, int want_rc, const char *want)
{
    answers a;
    build(&a, cpu, numa, name);
    nf_podres_state s;
    memset(&s, 0xa5, sizeof(s));
    nf_err err = {{0}};
    assert_int_equal(nf_podres_state_decode(a.alloc, a.alloc_len, a.list, a.list_len, &s, &err),
                     want_rc);
    if (!strstr(err.msg, want))
        fail_msg("\"%s\" does not say \"%s\"", err.msg, want);
    assert_int_equal(s.n_pods, 0); /* emptied */
    assert_null(s.cpus.assignments);
}

static void test_absurd_values(void **state)
{
    (void)state;
    refuses(70000, 0, "du-0", -EINVAL, "List: pod ran/du-0 container dpdk: CPU id 70000 outside");
    refuses(-1, 0, "du-0", -EINVAL, "CPU id -1 outside");
    refuses(2, 5000, "du-0", -EINVAL, "NUMA node 5000 outside 0..1023");
    refuses(2, 0, "", -EINVAL, "pod 0 (ran/(no name)) without a namespace or a name");
}

static void test_not_a_message(void **state)
{
    (void)state;
    answers a;
    build(&a, 2, 0, "du-0");
    nf_podres_state s;
    nf_err err = {{0}};
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(nf_podres_state_decode(a.alloc, a.alloc_len, junk, sizeof(junk), &s, &err),
                     -EBADMSG);
    assert_non_null(
        strstr(err.msg, "List: the answer (4 bytes) is not a ListPodResourcesResponse"));
    assert_int_equal(nf_podres_state_decode(junk, 3, a.list, a.list_len, &s, &err), -EBADMSG);
    assert_non_null(strstr(err.msg, "GetAllocatableResources"));
    /* empty answers are valid messages: nothing allocatable, no pods */
    assert_int_equal(nf_podres_state_decode(NULL, 0, NULL, 0, &s, &err), 0);
    assert_int_equal(s.n_pods, 0);
    assert_false(s.memory_static);
    nf_podres_state_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_absurd_values),
        cmocka_unit_test(test_not_a_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
