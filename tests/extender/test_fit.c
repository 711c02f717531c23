/* Fit, counting and scores on small NodeTopology documents decoded by the real codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "extender_test_util.h"
#include "fit.h"
#include "score.h"

static const nf_fit_opts NUMA = {.align = NF_ALIGN_NUMA};
static const nf_fit_opts SOCKET = {.align = NF_ALIGN_SOCKET};
static const kspec POD_SCOPE = {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"};
static const kspec CONTAINER_SCOPE = {.cpu_policy = "static", .scope = "container"};

#define SHAPE "cpu=8,hugepages-1Gi=4Gi,intel.com/sriov=1"

#define GC(name, cpu, extra)                                                                       \
    "{'name':'" name "','resources':{'limits':{'cpu':'" cpu "','memory':'1Gi'" extra "}}}"

static nf_fit_result fit(const nf_pod_req *p, const nf_topology *t, const nf_fit_opts *o)
{
    nf_fit_result r;
    assert_int_equal(nf_fit_node(p, t, o, &r), 0);
    return r;
}

/* numa0: cpu 22/avail0, hp 16/12, vf 8/6; numa1: cpu 22/avail1, hp 16/16, vf 8/8; one socket */
static nf_topology *two_numa(kspec k, int avail0, int avail1)
{
    zspec z[] = {
        tb_zone(0, 0, 22, avail0, 16, 12, 8, 6, -1),
        tb_zone(1, 0, 22, avail1, 16, 16, 8, 8, -1),
    };
    return tb_topo("w1", k, z, 2);
}

static void test_pod_scope_reasons(void **state)
{
    (void)state;
    nf_pod_req p = tb_shape(SHAPE);
    nf_topology *t = two_numa(POD_SCOPE, 14, 6);
    nf_fit_result r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_true(r.aligned);
    assert_false(r.container_scope);
    assert_int_equal(r.zone, 0);
    assert_null(r.container_zones);
    nf_fit_result_free(&r);
    tb_free(t);

    /* both too busy: FailedNodes, closest = smallest relative shortfall */
    t = two_numa(POD_SCOPE, 4, 6);
    r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_string_equal(r.reason, "no NUMA node fits cpu=8 hugepages-1Gi=4Gi intel.com/sriov=1; "
                                  "closest numa1: cpu 6/8 free");
    assert_int_equal(r.zone, -1);
    nf_fit_result_free(&r);
    /* the same node fits on a socket (4 + 6 CPUs) */
    r = fit(&p, t, &SOCKET);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);
    tb_free(t);

    /* too big for any empty NUMA node: unresolvable; ties go to the lower id */
    nf_pod_req big = tb_shape("cpu=30,hugepages-1Gi=4Gi,intel.com/sriov=1");
    t = two_numa(POD_SCOPE, 22, 22);
    r = fit(&big, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "even when empty, no NUMA node could hold cpu=30 "
                                  "hugepages-1Gi=4Gi intel.com/sriov=1; closest numa0: cpu 22/30 "
                                  "allocatable");
    nf_fit_result_free(&r);
    /* ... but a socket (44 CPUs) could: with 22+22 free it fits */
    r = fit(&big, t, &SOCKET);
    assert_int_equal(r.status, NF_FIT_OK);
    nf_fit_result_free(&r);
    tb_free(t);
    t = two_numa(POD_SCOPE, 20, 5);
    r = fit(&big, t, &SOCKET);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_string_equal(r.reason, "no socket fits cpu=30 hugepages-1Gi=4Gi intel.com/sriov=1; "
                                  "closest socket0: cpu 25/30 free");
    nf_fit_result_free(&r);
    tb_free(t);

    /* several lacking resources, bytes in short form */
    nf_pod_req p2 = tb_shape("cpu=8,hugepages-1Gi=20Gi,intel.com/sriov=9");
    t = two_numa(POD_SCOPE, 4, 6);
    r = fit(&p2, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "even when empty, no NUMA node could hold cpu=8 "
                                  "hugepages-1Gi=20Gi intel.com/sriov=9; closest numa0: "
                                  "hugepages-1Gi 16Gi/20Gi allocatable, intel.com/sriov 8/9 "
                                  "allocatable");
    nf_fit_result_free(&r);
    tb_free(t);
    nf_pod_req_free(&p);
    nf_pod_req_free(&big);
    nf_pod_req_free(&p2);
}

static void test_cpu_policy(void **state)
{
    (void)state;
    nf_pod_req p = tb_shape(SHAPE);
    nf_pod_req hp = tb_shape("hugepages-1Gi=4Gi,intel.com/sriov=1");
    hp.qos = NF_QOS_BURSTABLE;
    kspec none = {.cpu_policy = "none", .scope = "pod"};
    nf_topology *t = two_numa(none, 14, 14);
    nf_fit_result r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "cpuManagerPolicy is none"));
    assert_non_null(strstr(r.reason, "cpu=8"));
    nf_fit_result_free(&r);
    /* a pod without exclusive CPUs is not affected by the policy */
    r = fit(&hp, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);
    tb_free(t);

    kspec unknown = {.scope = "pod"};
    t = two_numa(unknown, 14, 14);
    r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "cpuManagerPolicy is unknown"));
    nf_fit_result_free(&r);
    tb_free(t);
    nf_pod_req_free(&p);
    nf_pod_req_free(&hp);
}

static void test_full_pcpus_only(void **state)
{
    (void)state;
    /* numa0: 14 free CPUs but only 3 whole cores (6 CPUs); numa1: 12 free, 6 whole cores */
    zspec z[] = {tb_zone(0, 0, 22, 14, -1, 0, -1, 0, 0), tb_zone(1, 0, 22, 12, -1, 0, -1, 0, 0)};
    z[0].tpc = z[1].tpc = 2;
    z[0].ffc = 3;
    z[1].ffc = 6;
    kspec fpo = {.cpu_policy = "static", .scope = "pod", .fpo = true};
    nf_topology *t = tb_topo("smt", fpo, z, 2);
    nf_topology *plain = tb_topo("nosmt", POD_SCOPE, z, 2);
    nf_pod_req p8 = tb_shape("cpu=8"), p3 = tb_shape("cpu=3"), p6 = tb_shape("cpu=6");

    nf_fit_result r = fit(&p8, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 1); /* numa0 has only 6 CPUs in whole cores */
    nf_fit_result_free(&r);
    r = fit(&p8, plain, &NUMA);
    assert_int_equal(r.zone, 0); /* without the option 14 free CPUs count */
    nf_fit_result_free(&r);
    r = fit(&p6, t, &NUMA);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);

    /* odd CPU count: SMTAlignmentError, unresolvable; fine without the option */
    r = fit(&p3, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "full-pcpus-only: container shape asks cpu=3, not a multiple of "
                                  "2 threads per core (kubelet: SMTAlignmentError)");
    nf_fit_result_free(&r);
    r = fit(&p3, plain, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    nf_fit_result_free(&r);

    /* whole cores only: 14 needs 7 free cores, neither zone has them */
    nf_pod_req p14 = tb_shape("cpu=14");
    r = fit(&p14, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_non_null(strstr(r.reason, "closest numa1: cpu 12/14 free"));
    nf_fit_result_free(&r);
    nf_pod_req p24 = tb_shape("cpu=24");
    r = fit(&p24, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "cpu 22/24 allocatable"));
    nf_fit_result_free(&r);

    tb_free(t);
    tb_free(plain);
    nf_pod_req_free(&p8);
    nf_pod_req_free(&p3);
    nf_pod_req_free(&p6);
    nf_pod_req_free(&p14);
    nf_pod_req_free(&p24);
}

/* Issue 12: snc2's numa3 has 14 online CPUs, but CPUs 30 and 31 are offline, so cores 30/62 and
 * 31/63 have one thread: 6 whole cores. A cpu=16 pod never fits there, and nothing counts more
 * CPUs than are free, even from an exporter that counted the half cores (freeFullCores 8). */
static void test_full_pcpus_offline_sibling(void **state)
{
    (void)state;
    kspec fpo = {.cpu_policy = "static", .scope = "pod", .fpo = true};
    zspec z = tb_zone(3, 1, 14, 14, -1, 0, -1, 0, 0);
    z.tpc = 2;
    z.ffc = 6;
    nf_topology *now = tb_topo("snc2", fpo, &z, 1);
    now->numa_nodes[0].cpus.allocatable_full_cores = 6;
    z.ffc = 8; /* the exporter before the fix, without allocatableFullCores */
    nf_topology *old = tb_topo("snc2-old", fpo, &z, 1);
    assert_int_equal(old->numa_nodes[0].cpus.allocatable_full_cores, NF_UNKNOWN);
    nf_pod_req p16 = tb_shape("cpu=16"), p14 = tb_shape("cpu=14"), p12 = tb_shape("cpu=12"),
               p2 = tb_shape("cpu=2");

    nf_fit_result r = fit(&p16, now, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "closest numa3: cpu 12/16 allocatable"));
    nf_fit_result_free(&r);
    r = fit(&p14, now, &NUMA); /* 14 online, but only 12 in whole cores, even when empty */
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    nf_fit_result_free(&r);
    r = fit(&p12, now, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 3);
    nf_fit_result_free(&r);
    r = fit(&p16, old, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "cpu 14/16 allocatable"));
    nf_fit_result_free(&r);

    /* the report and its heatmap read the same zones: never more free than allocatable */
    nf_zone *zones;
    size_t nz;
    assert_int_equal(nf_zones_build(now, &NUMA, &zones, &nz), 0);
    assert_int_equal(nf_zone_get(&zones[0], "cpu", 0), 12);
    assert_int_equal(nf_zone_get(&zones[0], "cpu", 1), 12);
    nf_zones_free(zones, nz);
    assert_int_equal(nf_zones_build(old, &NUMA, &zones, &nz), 0);
    assert_int_equal(nf_zone_get(&zones[0], "cpu", 0), 14);
    assert_int_equal(nf_zone_get(&zones[0], "cpu", 1), 14);
    nf_zones_free(zones, nz);
    nf_node_count c;
    nf_err err;
    assert_int_equal(nf_fit_count(&p2, now, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 6);
    nf_node_count_free(&c);
    assert_int_equal(nf_fit_count(&p16, now, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 0);
    nf_node_count_free(&c);

    tb_free(now);
    tb_free(old);
    nf_pod_req_free(&p16);
    nf_pod_req_free(&p14);
    nf_pod_req_free(&p12);
    nf_pod_req_free(&p2);
}

/* Issue 12: a Burstable pod with 1Gi pages (only numa0 has them) and a VF (only numa1 has
 * them). kubelet admits it (its Memory Manager aligns Guaranteed pods only); numafit holds the
 * pages to the VF's zone by default and says so, and follows kubelet under
 * --hugepages-alignment guaranteed. */
static void test_hugepages_alignment(void **state)
{
    (void)state;
    zspec z[] = {tb_zone(0, 0, 22, 22, 16, 16, 0, 0, -1), tb_zone(1, 0, 22, 22, 0, 0, 8, 8, -1)};
    nf_topology *t = tb_topo("split", POD_SCOPE, z, 2);
    nf_pod_req burst = tb_pod(
        "{'spec':{'containers':[{'name':'dpdk','resources':{"
        "'requests':{'cpu':'1','memory':'1Gi','hugepages-1Gi':'2Gi','intel.com/sriov':'1'},"
        "'limits':{'cpu':'2','memory':'2Gi','hugepages-1Gi':'2Gi','intel.com/sriov':'1'}}}]}}");
    nf_pod_req guar = tb_shape("cpu=2,hugepages-1Gi=2Gi,intel.com/sriov=1");
    assert_int_equal(burst.qos, NF_QOS_BURSTABLE);
    nf_fit_opts all = NUMA, kub = NUMA;
    kub.hugepages = NF_HUGEPAGES_GUARANTEED;

    nf_fit_result r = fit(&burst, t, &all);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "even when empty, no NUMA node could hold hugepages-1Gi=2Gi"));
    assert_non_null(strstr(r.reason, " (Burstable pod: numafit aligns hugepages for all pods, "
                                     "kubelet only for Guaranteed ones; --hugepages-alignment "
                                     "guaranteed follows kubelet)"));
    nf_fit_result_free(&r);
    r = fit(&burst, t, &kub);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 1); /* the VF's zone; the pages are not held to it */
    assert_true(nf_score_node(&burst, t, &kub, &r) >= 0);
    nf_fit_result_free(&r);
    /* a Guaranteed pod is held to kubelet's rule either way, without the note */
    r = fit(&guar, t, &kub);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_null(strstr(r.reason, "Burstable"));
    assert_null(strstr(r.reason, "--hugepages-alignment"));
    nf_fit_result_free(&r);

    /* the report counts the same way: the pages do not limit a Burstable pod under guaranteed */
    nf_node_count c;
    nf_err err;
    assert_int_equal(nf_fit_count(&burst, t, &kub, &c, &err), 0);
    assert_int_equal(c.fits, 8); /* the 8 VFs of numa1 */
    nf_node_count_free(&c);
    assert_int_equal(nf_fit_count(&burst, t, &all, &c, &err), 0);
    assert_int_equal(c.fits, 0);
    nf_node_count_free(&c);

    nf_hugepages_align h;
    assert_int_equal(nf_hugepages_align_parse("guaranteed", &h), 0);
    assert_int_equal(h, NF_HUGEPAGES_GUARANTEED);
    assert_int_equal(nf_hugepages_align_parse("Guaranteed", &h), -EINVAL);
    assert_string_equal(nf_hugepages_align_name(NF_HUGEPAGES_ALL), "all");
    tb_free(t);
    nf_pod_req_free(&burst);
    nf_pod_req_free(&guar);
}

/* A two-NUMA node (16 CPUs each, free as given) with its own Topology Manager policy. */
static nf_topology *tm_node(const char *policy, int free0, int free1)
{
    zspec z[] = {tb_zone(0, 0, 16, free0, -1, 0, -1, 0, 0),
                 tb_zone(1, 0, 16, free1, -1, 0, -1, 0, 0)};
    nf_topology *t = tb_topo(policy, POD_SCOPE, z, 2);
    t->kubelet.topology_manager_policy = strdup(policy);
    return t;
}

static nf_fit_status status_of(const nf_pod_req *p, const nf_topology *t, const nf_fit_opts *o,
                               int *span)
{
    nf_fit_result r = fit(p, t, o);
    nf_fit_status st = r.status;
    *span = r.span;
    if (st == NF_FIT_OK && r.span > 1)
        assert_int_equal(r.numa_set, 3u);
    nf_fit_result_free(&r);
    return st;
}

/* Issue 12: --align kubelet judges each node by its own topologyManagerPolicy; numa and socket
 * are unchanged. */
static void test_align_kubelet(void **state)
{
    (void)state;
    nf_fit_opts kub = {.align = NF_ALIGN_KUBELET};
    nf_pod_req p20 = tb_shape("cpu=20"), p8 = tb_shape("cpu=8");
    int span;

    /* restricted: the narrowest set that holds it; 20 CPUs need both NUMA nodes */
    nf_topology *r = tm_node("restricted", 16, 16);
    assert_int_equal(status_of(&p20, r, &kub, &span), NF_FIT_OK);
    assert_int_equal(span, 2);
    assert_int_equal(status_of(&p20, r, &NUMA, &span), NF_FIT_UNRESOLVABLE); /* unchanged */
    assert_int_equal(status_of(&p8, r, &kub, &span), NF_FIT_OK);
    assert_int_equal(span, 1);
    tb_free(r);
    r = tm_node("restricted", 16, 4); /* 20 free over both: still the narrowest feasible set */
    assert_int_equal(status_of(&p20, r, &kub, &span), NF_FIT_OK);
    tb_free(r);
    /* 8 CPUs need one NUMA node on the empty node: 6 + 6 free is not a preferred hint */
    r = tm_node("restricted", 6, 6);
    nf_fit_result res = fit(&p8, r, &kub);
    assert_int_equal(res.status, NF_FIT_FAILED);
    assert_non_null(strstr(res.reason, "TopologyAffinityError, restricted"));
    nf_fit_result_free(&res);
    assert_int_equal(status_of(&p20, r, &kub, &span), NF_FIT_FAILED);
    nf_pod_req p40 = tb_shape("cpu=40");
    res = fit(&p40, r, &kub);
    assert_int_equal(res.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(res.reason, "even when empty, kubelet would reject it"));
    nf_fit_result_free(&res);
    tb_free(r);

    /* single-numa-node: one NUMA node, as --align numa */
    nf_topology *s = tm_node("single-numa-node", 16, 16);
    assert_int_equal(status_of(&p20, s, &kub, &span), NF_FIT_UNRESOLVABLE);
    assert_int_equal(status_of(&p8, s, &kub, &span), NF_FIT_OK);
    tb_free(s);

    /* best-effort and none never reject; a pod on one NUMA node scores above one on two */
    nf_fit_opts kub_most = kub;
    kub_most.strategy = NF_STRATEGY_MOST_ALLOCATED;
    nf_topology *be = tm_node("best-effort", 10, 10), *none = tm_node("none", 4, 4);
    assert_int_equal(status_of(&p20, be, &kub, &span), NF_FIT_OK);
    assert_int_equal(span, 2);
    assert_int_equal(status_of(&p40, none, &kub, &span), NF_FIT_OK);
    nf_fit_result one = fit(&p8, be, &kub_most), two = fit(&p20, be, &kub_most);
    assert_int_equal(one.span, 1);
    assert_int_equal(two.span, 2);
    /* one: numa0 (16 - 10 + 8) / 16 = 0.875 -> 8.75; two: (32 - 20 + 20) / 32 = 1 -> 10 / 2 */
    assert_true(fabs(nf_score_node_raw(&p8, be, &kub_most, &one) - 8.75) < 1e-9);
    assert_true(fabs(nf_score_node_raw(&p20, be, &kub_most, &two) - 5.0) < 1e-9);
    nf_fit_result_free(&one);
    nf_fit_result_free(&two);
    tb_free(be);
    tb_free(none);

    /* a policy the document does not name: judged as single-numa-node */
    nf_topology *unknown = tm_node("restricted", 16, 16);
    free(unknown->kubelet.topology_manager_policy);
    unknown->kubelet.topology_manager_policy = NULL;
    assert_int_equal(status_of(&p20, unknown, &kub, &span), NF_FIT_UNRESOLVABLE);
    tb_free(unknown);

    nf_align a;
    assert_int_equal(nf_align_parse("kubelet", &a), 0);
    assert_int_equal(a, NF_ALIGN_KUBELET);
    assert_string_equal(nf_align_name(a), "kubelet");
    nf_pod_req_free(&p20);
    nf_pod_req_free(&p8);
    nf_pod_req_free(&p40);
}

static void test_memory_manager(void **state)
{
    (void)state;
    zspec z[] = {tb_zone(0, 0, 22, 14, -1, 0, -1, 0, 0), tb_zone(1, 0, 22, 14, -1, 0, -1, 0, 0)};
    z[0].mem_alloc = z[1].mem_alloc = 96;
    z[0].mem_avail = 32;
    z[1].mem_avail = 40;
    kspec st = {.cpu_policy = "static", .scope = "pod", .mm_policy = "Static"};
    kspec none = {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"};
    nf_topology *ts = tb_topo("mm", st, z, 2), *tn = tb_topo("nomm", none, z, 2);
    nf_pod_req p = tb_shape("cpu=2,memory=36Gi");
    nf_fit_result r = fit(&p, ts, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 1);
    nf_fit_result_free(&r);
    nf_pod_req p2 = tb_shape("cpu=2,memory=64Gi");
    r = fit(&p2, ts, &NUMA);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_string_equal(
        r.reason, "no NUMA node fits cpu=2 memory=64Gi; closest numa1: memory 40Gi/64Gi free");
    nf_fit_result_free(&r);
    r = fit(&p2, tn, &NUMA); /* memory is not aligned without the Static Memory Manager */
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);
    /* memory alone: aligned only where the Memory Manager is Static */
    nf_pod_req m = tb_shape("memory=8Gi");
    r = fit(&m, tn, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_false(r.aligned);
    nf_fit_result_free(&r);
    r = fit(&m, ts, &NUMA);
    assert_true(r.aligned);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);
    tb_free(ts);
    tb_free(tn);
    nf_pod_req_free(&p);
    nf_pod_req_free(&p2);
    nf_pod_req_free(&m);
}

static void test_unaligned_pod(void **state)
{
    (void)state;
    nf_pod_req p =
        tb_pod("{'spec':{'containers':[{'name':'web','resources':{'requests':{'cpu':'1'}}}]}}");
    assert_false(p.aligned);
    nf_topology *t = two_numa(POD_SCOPE, 0, 0);
    nf_fit_result r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_false(r.aligned);
    assert_int_equal(nf_score_node(&p, t, &NUMA, &r), 0);
    nf_node_count c;
    nf_err err;
    assert_int_equal(nf_fit_count(&p, t, &NUMA, &c, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no aligned resource"));
    nf_fit_result_free(&r);
    tb_free(t);
    nf_pod_req_free(&p);
}

static nf_topology *cpu_zones_alloc(kspec k, int alloc, int a0, int a1)
{
    zspec z[] = {
        tb_zone(0, 0, alloc, a0, -1, 0, -1, 0, 0),
        tb_zone(1, 0, alloc, a1, -1, 0, -1, 0, 0),
    };
    return tb_topo("c", k, z, 2);
}

static nf_topology *cpu_zones(kspec k, int a0, int a1)
{
    return cpu_zones_alloc(k, 10, a0, a1);
}

static void test_container_scope(void **state)
{
    (void)state;
    /* two 8-CPU containers, 10 free per NUMA node: container scope places them apart, pod scope
     * needs 16 in one node */
    nf_pod_req p = tb_pod("{'spec':{'containers':[" GC("a", "8", "") "," GC("b", "8", "") "]}}");
    nf_topology *tc = cpu_zones(CONTAINER_SCOPE, 10, 10);
    nf_topology *tp = cpu_zones(POD_SCOPE, 10, 10);
    nf_fit_result r = fit(&p, tc, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_true(r.container_scope);
    assert_int_equal(r.n_container_zones, 2);
    assert_int_equal(r.container_zones[0], 0);
    assert_int_equal(r.container_zones[1], 1);
    assert_int_equal(r.zone, 0);
    assert_false(r.backtracked);
    /* score: each zone 8/10 used -> most-allocated 8 */
    assert_int_equal(nf_score_node(&p, tc, &NUMA, &r), 8);
    nf_fit_result_free(&r);
    r = fit(&p, tp, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "even when empty, no NUMA node could hold cpu=16; closest numa0: "
                                  "cpu 10/16 allocatable");
    nf_fit_result_free(&r);

    /* unknown scope = kubelet's default, container */
    kspec dflt = {.cpu_policy = "static"};
    nf_topology *td = cpu_zones(dflt, 10, 10);
    r = fit(&p, td, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_true(r.container_scope);
    nf_fit_result_free(&r);
    tb_free(td);

    /* a third container that does not fit beside the others names itself */
    nf_pod_req p3 = tb_pod(
        "{'spec':{'containers':[" GC("a", "8", "") "," GC("b", "8", "") "," GC("c", "4", "") "]}}");
    nf_topology *t12 = cpu_zones_alloc(CONTAINER_SCOPE, 12, 10, 10);
    r = fit(&p3, tc, &NUMA); /* 10 + 10 allocatable: could never hold 8 + 8 + 4 */
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    nf_fit_result_free(&r);
    r = fit(&p3, t12, &NUMA); /* 12 + 12 allocatable: only current use blocks it */
    assert_int_equal(r.status, NF_FIT_FAILED);
    tb_free(t12);
    assert_string_equal(r.reason, "no NUMA node fits cpu=4 for container c beside the pod's other "
                                  "containers; closest numa0: cpu 2/4 free");
    assert_int_equal(r.container_zones[0], -1);
    nf_fit_result_free(&r);

    /* init container of 10 runs first and is reused: fits in container scope; pod scope needs
     * max(10, 16) */
    nf_pod_req pi = tb_pod("{'spec':{'initContainers':[" GC("init", "10", "") "],'containers':[" GC(
        "a", "8", "") "," GC("b", "8", "") "]}}");
    r = fit(&pi, tc, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.container_zones[0], 0); /* where it runs before the app containers */
    assert_int_equal(r.container_zones[1], 0);
    assert_int_equal(r.container_zones[2], 1);
    /* the init container's CPUs are handed back: score sees only the app containers */
    assert_int_equal(nf_score_node(&pi, tc, &NUMA, &r), 8);
    nf_fit_result_free(&r);
    /* an init container bigger than any zone */
    nf_pod_req pbig = tb_pod("{'spec':{'initContainers':[" GC(
        "prep", "11", "") "],'containers':[" GC("a", "1", "") "]}}");
    r = fit(&pbig, tc, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "even when empty, no NUMA node could hold cpu=11 for init "
                                  "container prep beside the pod's other containers; closest "
                                  "numa0: cpu 10/11 allocatable");
    nf_fit_result_free(&r);

    /* a sidecar keeps its CPUs: the init container after it must fit beside it */
    nf_pod_req ps = tb_pod("{'spec':{'initContainers':[{'name':'side','restartPolicy':'Always',"
                           "'resources':{'limits':{'cpu':'4','memory':'1Gi'}}}," GC(
                               "init", "8", "") "],'containers':[" GC("a", "6", "") "]}}");
    r = fit(&ps, tc, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.container_zones[0], 0); /* side: numa0, 6 left */
    assert_int_equal(r.container_zones[1], 1); /* init 8: only numa1 */
    assert_int_equal(r.container_zones[2], 0); /* a 6: numa0 */
    nf_fit_result_free(&r);
    nf_topology *t8 = cpu_zones(CONTAINER_SCOPE, 7, 7);
    r = fit(&ps, t8, &NUMA); /* wherever side goes, init 8 fits nowhere */
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_non_null(strstr(r.reason, "init container init"));
    nf_fit_result_free(&r);
    tb_free(t8);

    tb_free(tc);
    tb_free(tp);
    nf_pod_req_free(&p);
    nf_pod_req_free(&p3);
    nf_pod_req_free(&pi);
    nf_pod_req_free(&pbig);
    nf_pod_req_free(&ps);
}

static void test_backtracking(void **state)
{
    (void)state;
    /* numa0: 8 CPUs, no VF; numa1: 8 CPUs, 1 VF. Containers 2, 8, 1+VF. Kubelet's greedy order
     * puts a (2) on numa0, b (8) on numa1, then c finds no CPU beside the VF; the search moves a
     * to numa1. */
    zspec z[] = {
        tb_zone(0, 0, 8, 8, -1, 0, 0, 0, -1),
        tb_zone(1, 0, 8, 8, -1, 0, 1, 1, -1),
    };
    nf_topology *t = tb_topo("bt", CONTAINER_SCOPE, z, 2);
    nf_pod_req p = tb_pod("{'spec':{'containers':[" GC("a", "2", "") "," GC("b", "8", "") "," GC(
        "c", "1", ",'intel.com/sriov':'1'") "]}}");
    nf_fit_result r = fit(&p, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_true(r.backtracked);
    assert_int_equal(r.container_zones[0], 1);
    assert_int_equal(r.container_zones[1], 0);
    assert_int_equal(r.container_zones[2], 1);
    assert_true(r.steps > 3);
    nf_fit_result_free(&r);

    nf_fit_opts tight = NUMA;
    tight.max_steps = 2;
    r = fit(&p, t, &tight);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_non_null(strstr(r.reason, "gave up after 2 steps"));
    nf_fit_result_free(&r);

    /* eight identical containers over eight zones: the symmetry rule keeps the search small */
    zspec z8[8];
    for (int i = 0; i < 8; i++)
        z8[i] = (zspec){.id = i,
                        .socket = i / 2,
                        .cpu_alloc = 4,
                        .cpu_avail = 4,
                        .hp_alloc = -1,
                        .vf_alloc = -1,
                        .mem_alloc = -1};
    nf_topology *t8 = tb_topo("eight", CONTAINER_SCOPE, z8, 8);
    nf_pod_req p9 = tb_pod(
        "{'spec':{'containers':[" GC("a", "3", "") "," GC("b", "3", "") "," GC("c", "3", "") "," GC(
            "d", "3", "") "," GC("e", "3", "") "," GC("f", "3",
                                                      "") "," GC("g", "3",
                                                                 "") "," GC("h", "3",
                                                                            "") "," GC("i", "3",
                                                                                       "") "]}}");
    r = fit(&p9, t8, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_true(r.steps < 1000);
    nf_fit_result_free(&r);
    r = fit(&p9, t8, &SOCKET); /* 4 sockets of 8 CPUs: two 3-CPU containers each, 8 of 9 */
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    nf_fit_result_free(&r);
    r = fit(&p9, t8, &NUMA); /* same answer twice: pure */
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    nf_fit_result_free(&r);
    tb_free(t8);

    tb_free(t);
    nf_pod_req_free(&p);
    nf_pod_req_free(&p9);
}

static void test_usable_devices(void **state)
{
    (void)state;
    zspec z[] = {
        tb_zone(0, 0, 8, 8, -1, 0, 4, 2, 0),
        tb_zone(1, 0, 8, 8, -1, 0, 4, 1, 1),
    };
    nf_topology *t = tb_topo("probe", POD_SCOPE, z, 2);
    nf_pod_req p = tb_shape("cpu=1,intel.com/sriov=1");
    nf_fit_result r = fit(&p, t, &NUMA);
    assert_int_equal(r.zone, 1); /* numa0's free VFs failed their probe */
    nf_fit_result_free(&r);
    nf_pod_req p2 = tb_shape("cpu=1,intel.com/sriov=2");
    r = fit(&p2, t, &NUMA);
    assert_int_equal(r.status, NF_FIT_FAILED);
    assert_string_equal(r.reason, "no NUMA node fits cpu=1 intel.com/sriov=2; closest numa1: "
                                  "intel.com/sriov 1/2 free");
    nf_fit_result_free(&r);
    nf_zone *zones;
    size_t nz;
    assert_int_equal(nf_zones_build(t, &NUMA, &zones, &nz), 0);
    assert_int_equal(nz, 2);
    assert_int_equal(nf_zone_get(&zones[0], VF, 0), 0);
    assert_int_equal(nf_zone_get(&zones[0], VF, 1), 4);
    assert_int_equal(nf_zone_get(&zones[0], "nothing", 0), 0);
    nf_zones_free(zones, nz);
    tb_free(t);
    nf_pod_req_free(&p);
    nf_pod_req_free(&p2);

    /* a node without NUMA nodes */
    nf_topology *empty = tb_topo("empty", POD_SCOPE, NULL, 0);
    nf_pod_req p3 = tb_shape("cpu=1");
    r = fit(&p3, empty, &NUMA);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_string_equal(r.reason, "node topology lists no NUMA node");
    nf_fit_result_free(&r);
    tb_free(empty);
    nf_pod_req_free(&p3);
}

static const nf_amount *find(const nf_amount *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return &a[i];
    fail_msg("no %s", name);
    return NULL;
}

static void test_count(void **state)
{
    (void)state;
    /* numa0: 14 CPUs, 12Gi, 6 VFs -> min(3, 3, 6) = 3 (cpu before hugepages on a tie);
     * numa1: 20 CPUs, 16Gi, 0 VFs -> 0, limited by the VF */
    zspec z[] = {
        tb_zone(0, 0, 22, 14, 16, 12, 8, 6, -1),
        tb_zone(1, 0, 22, 20, 16, 16, 0, 0, -1),
    };
    nf_topology *t = tb_topo("count", POD_SCOPE, z, 2);
    nf_pod_req p = tb_shape("cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1");
    nf_node_count c;
    nf_err err;
    assert_int_equal(nf_fit_count(&p, t, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 3);
    assert_int_equal(c.n_zones, 2);
    assert_int_equal(c.zones[0].id, 0);
    assert_int_equal(c.zones[0].fits, 3);
    assert_string_equal(c.zones[0].limited_by, "cpu");
    assert_int_equal(c.zones[1].fits, 0);
    assert_string_equal(c.zones[1].limited_by, VF);
    assert_int_equal(find(c.stranded, c.n_stranded, "cpu")->value, 2 + 20);
    assert_int_equal(find(c.stranded, c.n_stranded, "hugepages-1Gi")->value, 16 * GI);
    assert_int_equal(find(c.stranded, c.n_stranded, VF)->value, 3);
    assert_int_equal(find(c.free, c.n_free, "cpu")->value, 34);
    assert_int_equal(find(c.zones[1].stranded, c.zones[1].n_stranded, "cpu")->value, 20);
    assert_int_equal(find(c.zones[0].free, c.zones[0].n_free, VF)->value, 6);
    nf_node_count_free(&c);

    /* socket: one zone of 34 CPUs, 28Gi, 6 VFs -> min(8, 7, 6) = 6, limited by the VF */
    assert_int_equal(nf_fit_count(&p, t, &SOCKET, &c, &err), 0);
    assert_int_equal(c.fits, 6);
    assert_int_equal(c.n_zones, 1);
    assert_string_equal(c.zones[0].limited_by, VF);
    assert_int_equal(find(c.stranded, c.n_stranded, "cpu")->value, 10);
    assert_int_equal(find(c.stranded, c.n_stranded, "hugepages-1Gi")->value, 4 * GI);
    assert_int_equal(find(c.stranded, c.n_stranded, VF)->value, 0);
    nf_node_count_free(&c);
    tb_free(t);

    /* cpu manager none: nothing fits, the policy is the limit */
    kspec none = {.cpu_policy = "none"};
    t = tb_topo("none", none, z, 2);
    assert_int_equal(nf_fit_count(&p, t, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 0);
    assert_string_equal(c.zones[0].limited_by, "cpuManagerPolicy");
    assert_int_equal(find(c.stranded, c.n_stranded, "cpu")->value, 34);
    nf_node_count_free(&c);
    tb_free(t);
    nf_pod_req_free(&p);

    /* SMT misalignment */
    zspec s[] = {tb_zone(0, 0, 8, 8, -1, 0, -1, 0, 0)};
    s[0].tpc = 2;
    s[0].ffc = 4;
    kspec fpo = {.cpu_policy = "static", .fpo = true};
    t = tb_topo("smt", fpo, s, 1);
    nf_pod_req p3 = tb_shape("cpu=3");
    assert_int_equal(nf_fit_count(&p3, t, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 0);
    assert_string_equal(c.zones[0].limited_by, "full-pcpus-only");
    nf_node_count_free(&c);
    nf_pod_req p2 = tb_shape("cpu=2");
    assert_int_equal(nf_fit_count(&p2, t, &NUMA, &c, &err), 0);
    assert_int_equal(c.fits, 4);
    nf_node_count_free(&c);
    tb_free(t);
    nf_pod_req_free(&p3);
    nf_pod_req_free(&p2);
}

static void test_scores(void **state)
{
    (void)state;
    /* the example of score.h: cpu alloc 20 avail 10, hugepages alloc 16Gi avail 8Gi, cpu=4 + 4Gi:
     * used 0.7 and 0.75 */
    zspec busy[] = {tb_zone(0, 0, 20, 10, 16, 8, -1, 0, 0)};
    zspec idle[] = {tb_zone(0, 0, 20, 20, 16, 16, -1, 0, 0)};
    nf_topology *tb = tb_topo("busy", POD_SCOPE, busy, 1),
                *ti = tb_topo("idle", POD_SCOPE, idle, 1);
    nf_pod_req p = tb_shape("cpu=4,hugepages-1Gi=4Gi");
    nf_fit_result rb = fit(&p, tb, &NUMA), ri = fit(&p, ti, &NUMA);
    nf_fit_opts o = NUMA;
    o.strategy = NF_STRATEGY_MOST_ALLOCATED;
    assert_true(fabs(nf_score_node_raw(&p, tb, &o, &rb) - 7.25) < 1e-9);
    assert_int_equal(nf_score_node(&p, tb, &o, &rb), 7);
    assert_int_equal(nf_score_node(&p, ti, &o, &ri), 2); /* 0.2, 0.25 -> 2.25 */
    o.strategy = NF_STRATEGY_LEAST_ALLOCATED;
    assert_true(fabs(nf_score_node_raw(&p, tb, &o, &rb) - 2.75) < 1e-9);
    assert_int_equal(nf_score_node(&p, tb, &o, &rb), 3);
    assert_int_equal(nf_score_node(&p, ti, &o, &ri), 8); /* 7.75 */
    o.strategy = NF_STRATEGY_BALANCED;
    assert_true(fabs(nf_score_node_raw(&p, tb, &o, &rb) - 9.75) < 1e-9);
    assert_int_equal(nf_score_node(&p, tb, &o, &rb), 10);
    nf_pod_req pc = tb_shape("cpu=10,hugepages-1Gi=1Gi"); /* idle: 0.5 and 1/16 -> sd 0.21875 */
    nf_fit_result rc = fit(&pc, ti, &NUMA);
    assert_true(fabs(nf_score_node_raw(&pc, ti, &o, &rc) - 7.8125) < 1e-9);
    assert_int_equal(nf_score_node(&pc, ti, &o, &rc), 8);
    nf_fit_result_free(&rc);

    /* a failed fit scores 0 */
    nf_pod_req huge = tb_shape("cpu=40");
    nf_fit_result rf = fit(&huge, tb, &NUMA);
    assert_int_equal(rf.status, NF_FIT_UNRESOLVABLE);
    o.strategy = NF_STRATEGY_LEAST_ALLOCATED;
    assert_int_equal(nf_score_node(&huge, tb, &o, &rf), 0);
    nf_fit_result_free(&rf);

    /* clamp: available above allocatable (a stale document) never scores below 0 */
    zspec odd[] = {tb_zone(0, 0, 4, 40, -1, 0, -1, 0, 0)};
    nf_topology *to = tb_topo("odd", POD_SCOPE, odd, 1);
    nf_pod_req p1 = tb_shape("cpu=1");
    nf_fit_result ro = fit(&p1, to, &NUMA);
    o.strategy = NF_STRATEGY_MOST_ALLOCATED;
    assert_int_equal(nf_score_node(&p1, to, &o, &ro), 0);
    o.strategy = NF_STRATEGY_LEAST_ALLOCATED;
    assert_int_equal(nf_score_node(&p1, to, &o, &ro), 10);
    nf_fit_result_free(&ro);
    tb_free(to);
    nf_pod_req_free(&p1);

    nf_fit_result_free(&rb);
    nf_fit_result_free(&ri);
    tb_free(tb);
    tb_free(ti);
    nf_pod_req_free(&p);
    nf_pod_req_free(&pc);
    nf_pod_req_free(&huge);
}

static void test_names(void **state)
{
    (void)state;
    nf_align a;
    nf_strategy s;
    assert_int_equal(nf_align_parse("socket", &a), 0);
    assert_int_equal(a, NF_ALIGN_SOCKET);
    assert_string_equal(nf_align_name(a), "socket");
    assert_int_equal(nf_align_parse("Socket", &a), -EINVAL);
    assert_int_equal(nf_align_parse(NULL, &a), -EINVAL);
    assert_int_equal(nf_strategy_parse("balanced", &s), 0);
    assert_int_equal(s, NF_STRATEGY_BALANCED);
    assert_int_equal(nf_strategy_parse("least-allocated", &s), 0);
    assert_string_equal(nf_strategy_name(s), "least-allocated");
    assert_int_equal(nf_strategy_parse("most", &s), -EINVAL);
    assert_string_equal(nf_fit_status_name(NF_FIT_UNRESOLVABLE), "unresolvable");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_scope_reasons),
        cmocka_unit_test(test_cpu_policy),
        cmocka_unit_test(test_full_pcpus_only),
        cmocka_unit_test(test_full_pcpus_offline_sibling),
        cmocka_unit_test(test_hugepages_alignment),
        cmocka_unit_test(test_align_kubelet),
        cmocka_unit_test(test_memory_manager),
        cmocka_unit_test(test_unaligned_pod),
        cmocka_unit_test(test_container_scope),
        cmocka_unit_test(test_backtracking),
        cmocka_unit_test(test_usable_devices),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_scores),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
