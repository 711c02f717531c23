/* kubelet's Topology Manager choice (kubelet_predict.h) on small documents decoded by the real
 * codec: policies, scopes, the Memory Manager, full-pcpus-only and deductions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_test_util.h"
#include "kubelet_predict.h"

#define SHAPE "cpu=4,hugepages-1Gi=2Gi,intel.com/sriov=1"

/* A document from zones with kubelet's policy and scope (and Memory Manager) set. */
static nf_topology *doc(const char *policy, const char *scope, const char *mm, bool fpo,
                        const zspec *z, size_t n)
{
    kspec k = {.cpu_policy = "static", .scope = scope, .mm_policy = mm, .fpo = fpo};
    json_t *d = tb_doc("w1", k, z, n);
    if (policy)
        json_object_set_new(json_object_get(d, "kubelet"), "topologyManagerPolicy",
                            json_string(policy));
    return tb_decode(d);
}

static nf_kubelet_choice predict(const nf_pod_req *p, const nf_topology *t)
{
    nf_fit_view *v;
    assert_int_equal(nf_fit_view_new(t, NF_ALIGN_NUMA, &v), 0);
    nf_kubelet_choice c;
    assert_int_equal(nf_kubelet_predict(p, t, v, &c), 0);
    nf_fit_view_free(v);
    return c;
}

/* The amount placed of resource on numa, and whether it is tracked. */
static int64_t placed(const nf_kubelet_choice *c, int numa, const char *res, bool *tracked)
{
    for (size_t i = 0; i < c->n_placed; i++)
        if (c->placed[i].numa == numa && strcmp(c->placed[i].resource, res) == 0) {
            if (tracked)
                *tracked = c->placed[i].tracked;
            return c->placed[i].amount;
        }
    return 0;
}

static void test_single_numa_lowest_fitting(void **state)
{
    (void)state;
    /* numa0 has no free VF; numa1 and numa2 hold everything: kubelet takes numa1 */
    zspec z[] = {tb_zone(0, 0, 16, 16, 8, 8, 4, 0, -1), tb_zone(1, 0, 16, 16, 8, 8, 4, 4, -1),
                 tb_zone(2, 1, 16, 16, 8, 8, 4, 4, -1)};
    nf_topology *t = doc("single-numa-node", "pod", "None", false, z, 3);
    nf_pod_req p = tb_shape(SHAPE);
    nf_kubelet_choice c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 1);
    bool tracked = false;
    assert_int_equal(placed(&c, 1, "cpu", &tracked), 4);
    assert_true(tracked);
    assert_int_equal(placed(&c, 1, VF, &tracked), 1);
    assert_true(tracked);
    /* no Memory Manager: kubelet does not track hugepages, DPDK takes them on the NIC's node */
    assert_int_equal(placed(&c, 1, "hugepages-1Gi", &tracked), 2 * GI);
    assert_false(tracked);
    assert_int_equal(c.n_placed, 3);
    nf_kubelet_choice_free(&c);
    nf_pod_req_free(&p);
    tb_free(t);
}

static void test_hugepages_not_a_hint_without_memory_manager(void **state)
{
    (void)state;
    /* numa0 has CPUs and a VF but no free 1Gi pages: without the Static Memory Manager kubelet
     * still picks numa0; with it, numa1 */
    zspec z[] = {tb_zone(0, 0, 16, 16, 8, 0, 4, 4, -1), tb_zone(1, 0, 16, 16, 8, 8, 4, 4, -1)};
    nf_pod_req p = tb_shape(SHAPE);
    nf_topology *t = doc("single-numa-node", "pod", "None", false, z, 2);
    nf_kubelet_choice c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 0);
    nf_kubelet_choice_free(&c);
    tb_free(t);

    t = doc("single-numa-node", "pod", "Static", false, z, 2);
    c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 1);
    bool tracked = false;
    assert_int_equal(placed(&c, 1, "hugepages-1Gi", &tracked), 2 * GI);
    assert_true(tracked); /* memory_manager_state accounts them */
    nf_kubelet_choice_free(&c);
    tb_free(t);
    nf_pod_req_free(&p);
}

static void test_single_numa_rejects(void **state)
{
    (void)state;
    /* numa0: CPUs but no VF; numa1: a VF but 2 CPUs */
    zspec z[] = {tb_zone(0, 0, 16, 16, 8, 8, 4, 0, -1), tb_zone(1, 0, 16, 2, 8, 8, 4, 4, -1)};
    nf_topology *t = doc("single-numa-node", "pod", "None", false, z, 2);
    nf_pod_req p = tb_shape(SHAPE);
    nf_kubelet_choice c = predict(&p, t);
    assert_false(c.admit);
    assert_int_equal(c.n_placed, 0);
    assert_non_null(strstr(c.reason, "TopologyAffinityError"));
    assert_non_null(strstr(c.reason, "cpu=4"));
    nf_kubelet_choice_free(&c);
    nf_pod_req_free(&p);
    tb_free(t);
}

static void test_restricted(void **state)
{
    (void)state;
    /* 20 CPUs on two 16-CPU NUMA nodes and one VF: the CPU manager's only hint is {0,1}
     * (preferred: an empty node needs two), the device manager's preferred hints are {0} and
     * {1}; their intersection {0} is preferred, so restricted admits with numa0 and the CPU
     * manager takes what numa0 lacks from numa1 */
    zspec z[] = {tb_zone(0, 0, 16, 16, 8, 8, 4, 4, -1), tb_zone(1, 0, 16, 16, 8, 8, 4, 4, -1)};
    nf_topology *t = doc("restricted", "pod", "None", false, z, 2);
    nf_pod_req p = tb_shape("cpu=20,intel.com/sriov=1");
    nf_kubelet_choice c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 0);
    assert_int_equal(placed(&c, 0, "cpu", NULL), 16);
    assert_int_equal(placed(&c, 1, "cpu", NULL), 4);
    assert_int_equal(placed(&c, 0, VF, NULL), 1);
    nf_kubelet_choice_free(&c);
    nf_pod_req_free(&p);
    /* 20 CPUs alone: {0,1} */
    p = tb_shape("cpu=20");
    c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, -1);
    assert_int_equal(placed(&c, 0, "cpu", NULL), 16);
    assert_int_equal(placed(&c, 1, "cpu", NULL), 4);
    nf_kubelet_choice_free(&c);
    nf_pod_req_free(&p);

    /* 8 CPUs fit one empty NUMA node, but only 6 + 6 are free: spanning two is not preferred,
     * restricted rejects */
    tb_free(t);
    zspec busy[] = {tb_zone(0, 0, 16, 6, 8, 8, 4, 4, -1), tb_zone(1, 0, 16, 6, 8, 8, 4, 4, -1)};
    t = doc("restricted", "pod", "None", false, busy, 2);
    p = tb_shape("cpu=8,intel.com/sriov=1");
    c = predict(&p, t);
    assert_false(c.admit);
    assert_non_null(strstr(c.reason, "restricted"));
    nf_kubelet_choice_free(&c);
    tb_free(t);

    /* best-effort admits the same pod: the narrowest merged hint is the VF's {0} (not
     * preferred), and the CPU manager takes the 2 CPUs numa0 lacks from numa1 */
    t = doc("best-effort", "pod", "None", false, busy, 2);
    c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 0);
    assert_int_equal(placed(&c, 0, "cpu", NULL), 6);
    assert_int_equal(placed(&c, 1, "cpu", NULL), 2);
    nf_kubelet_choice_free(&c);
    tb_free(t);

    /* policy none: no alignment at all */
    t = doc("none", "pod", "None", false, busy, 2);
    c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(placed(&c, 0, "cpu", NULL) + placed(&c, 1, "cpu", NULL), 8);
    nf_kubelet_choice_free(&c);
    tb_free(t);
    nf_pod_req_free(&p);
}

static void test_container_scope(void **state)
{
    (void)state;
    /* two containers of 4 CPUs + 1 VF: the first takes numa0, the second no longer fits there */
    zspec z[] = {tb_zone(0, 0, 16, 6, 8, 8, 4, 2, -1), tb_zone(1, 0, 16, 8, 8, 8, 4, 2, -1)};
    nf_topology *t = doc("single-numa-node", "container", "None", false, z, 2);
    nf_pod_req p = tb_pod("{'metadata':{'name':'p','uid':'u1'},'spec':{'containers':["
                          "{'name':'a','resources':{'limits':{'cpu':'4','memory':'1Gi',"
                          "'intel.com/sriov':'1'}}},"
                          "{'name':'b','resources':{'limits':{'cpu':'4','memory':'1Gi',"
                          "'intel.com/sriov':'1'}}}]}}");
    nf_kubelet_choice c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, -1); /* two NUMA nodes */
    assert_int_equal(placed(&c, 0, "cpu", NULL), 4);
    assert_int_equal(placed(&c, 1, "cpu", NULL), 4);
    assert_int_equal(placed(&c, 0, VF, NULL), 1);
    assert_int_equal(placed(&c, 1, VF, NULL), 1);
    nf_kubelet_choice_free(&c);
    tb_free(t);

    /* pod scope, same node: the pod as one unit of 8 CPUs + 2 VFs lands on numa1 */
    t = doc("single-numa-node", "pod", "None", false, z, 2);
    c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 1);
    assert_int_equal(placed(&c, 1, "cpu", NULL), 8);
    nf_kubelet_choice_free(&c);
    tb_free(t);
    nf_pod_req_free(&p);
}

static void test_full_pcpus_only_and_deductions(void **state)
{
    (void)state;
    /* full-pcpus-only: numa0 has 6 free CPUs but only 1 free full core (2 threads) */
    zspec z[] = {tb_zone(0, 0, 16, 6, 8, 8, 4, 4, -1), tb_zone(1, 0, 16, 8, 8, 8, 4, 4, -1)};
    z[0].tpc = 2;
    z[0].ffc = 1;
    z[1].tpc = 2;
    z[1].ffc = 4;
    nf_topology *t = doc("single-numa-node", "pod", "None", true, z, 2);
    nf_pod_req p = tb_shape(SHAPE);
    nf_kubelet_choice c = predict(&p, t);
    assert_true(c.admit);
    assert_int_equal(c.numa, 1);
    nf_kubelet_choice_free(&c);

    /* a reservation of 6 CPUs on numa1 leaves 2: nothing fits */
    nf_fit_view *base, *v;
    assert_int_equal(nf_fit_view_new(t, NF_ALIGN_NUMA, &base), 0);
    nf_deduction d[] = {{.numa = 1, .resource = "cpu", .amount = 6}};
    assert_int_equal(nf_fit_view_deduct(base, t, d, 1, &v), 0);
    assert_int_equal(nf_kubelet_predict(&p, t, v, &c), 0);
    assert_false(c.admit);
    nf_kubelet_choice_free(&c);
    nf_fit_view_free(v);
    /* a view for --align socket is refused */
    nf_fit_view *sv;
    assert_int_equal(nf_fit_view_new(t, NF_ALIGN_SOCKET, &sv), 0);
    assert_int_equal(nf_kubelet_predict(&p, t, sv, &c), -EINVAL);
    nf_fit_view_free(sv);
    nf_fit_view_free(base);
    nf_pod_req_free(&p);
    tb_free(t);
}

static void test_view_deduct(void **state)
{
    (void)state;
    zspec z[] = {tb_zone(0, 0, 16, 10, 8, 8, 4, 4, -1), tb_zone(1, 0, 16, 12, 8, 8, 4, 4, -1),
                 tb_zone(2, 1, 16, 16, 8, 8, 4, 4, -1)};
    nf_topology *t = doc("single-numa-node", "pod", "None", false, z, 3);
    nf_fit_view *base, *v;
    /* socket zones: NUMA deductions land on the NUMA node's socket */
    assert_int_equal(nf_fit_view_new(t, NF_ALIGN_SOCKET, &base), 0);
    nf_deduction d[] = {{.numa = 1, .resource = "cpu", .amount = 5},
                        {.numa = 0, .resource = VF, .amount = 99},    /* clamps at 0 */
                        {.numa = 7, .resource = "cpu", .amount = 3},  /* unknown: ignored */
                        {.numa = 2, .resource = "gpu", .amount = 1}}; /* not in the view */
    assert_int_equal(nf_fit_view_deduct(base, t, d, 4, &v), 0);
    int cpu = nf__fit_view_col(v, "cpu"), vf = nf__fit_view_col(v, VF);
    size_t s0 = nf__fit_view_zone_index(v, 0), s1 = nf__fit_view_zone_index(v, 1);
    assert_int_equal(nf__fit_view_get(v, s0, cpu, 0), 22 - 5);
    assert_int_equal(nf__fit_view_get(v, s0, cpu, 1), 32); /* allocatable untouched */
    assert_int_equal(nf__fit_view_get(v, s0, vf, 0), 0);
    assert_int_equal(nf__fit_view_get(v, s1, cpu, 0), 16);
    /* the base is unchanged, and the copy outlives it */
    assert_int_equal(nf__fit_view_get(base, s0, cpu, 0), 22);
    nf_fit_view_free(base);
    assert_int_equal(nf__fit_view_col(v, "cpu"), cpu);
    nf_fit_view_free(v);
    tb_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_numa_lowest_fitting),
        cmocka_unit_test(test_hugepages_not_a_hint_without_memory_manager),
        cmocka_unit_test(test_single_numa_rejects),
        cmocka_unit_test(test_restricted),
        cmocka_unit_test(test_container_scope),
        cmocka_unit_test(test_full_pcpus_only_and_deductions),
        cmocka_unit_test(test_view_deduct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
