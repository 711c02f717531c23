/* test_prober.c - the daemon's background prober on an nf_topology built here. Real VFs cannot
 * exist on this machine, so the VFs of the test's device group are named after DPDK virtual
 * devices ("net_null0", "net_ring0") and the prober runs with allow_vdevs: the same path from
 * nf_prober_update() to a real EAL child to nf_prober_annotate() as a real VF takes. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "dpdk_probe.h"
#include "numafit/topology.h"
#include "probe_test_util.h"
#include "prober.h"

#define RES "numafit.io/test_vdev"

/* One NUMA node (CPUs 0-1, reserved 0), one device group of `n` VFs named names[i]. */
static void build(nf_topology *t, const char *const *names, const bool *allocated, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->node = strdup("test");
    t->kubelet.reserved_cpus = strdup("0");
    t->numa_nodes = calloc(1, sizeof(nf_numa_node));
    assert_non_null(t->numa_nodes);
    t->n_numa_nodes = 1;
    nf_numa_node *z = &t->numa_nodes[0];
    assert_int_equal(nf_cpuset_parse("0-1", &z->cpus.online, NULL), 0);
    assert_int_equal(nf_cpuset_parse("0", &z->cpus.reserved, NULL), 0);
    z->devices = calloc(1, sizeof(nf_device_group));
    z->n_devices = 1;
    nf_device_group *g = &z->devices[0];
    g->resource = strdup(RES);
    g->pf.pci = strdup("0000:18:00.0");
    g->vfs = calloc(n, sizeof(nf_vf));
    g->n_vfs = n;
    int64_t avail = 0;
    for (size_t i = 0; i < n; i++) {
        g->vfs[i].pci = strdup(names[i]);
        g->vfs[i].driver = strdup("vfio-pci");
        g->vfs[i].iommu_group = (int)i;
        g->vfs[i].allocated = allocated[i];
        g->vfs[i].probe.max_rx_queues = NF_UNKNOWN;
        avail += !allocated[i];
    }
    nf_resource *r = nf_numa_resource_add(z, RES);
    assert_non_null(r);
    r->capacity = r->allocatable = (int64_t)n;
    r->available = avail;
}

static nf_vf *vf(nf_topology *t, size_t i)
{
    return &t->numa_nodes[0].devices[0].vfs[i];
}

/* Annotate until every VF has a status other than `not_this`, or the deadline passes. */
static void wait_results(nf_prober *p, nf_topology *t, const char *not_this, int64_t ms)
{
    int64_t deadline = nft_now_ms() + ms;
    for (;;) {
        assert_true(nf_prober_annotate(p, t) >= 0);
        bool all = true;
        nf_device_group *g = &t->numa_nodes[0].devices[0];
        for (size_t i = 0; i < g->n_vfs; i++)
            all = all && g->vfs[i].probe.status &&
                  (!not_this || strcmp(g->vfs[i].probe.status, not_this) != 0);
        if (all)
            return;
        int64_t left = deadline - nft_now_ms();
        if (left <= 0)
            fail_msg("no probe result within %lld ms", (long long)ms);
        struct pollfd pf = {.fd = nf_prober_fd(p), .events = POLLIN};
        if (poll(&pf, 1, (int)(left < 200 ? left : 200)) > 0) {
            uint64_t v;
            if (read(pf.fd, &v, sizeof(v)) < 0) {
            }
        }
    }
}

static void test_prober_results_reach_topology(void **state)
{
    /* an empty fake sysfs: no hugepage info, vdevs need no pre-check */
    char *root = nft_tmpdir("probe-test");
    const char *names[] = {"net_null0", "net_ring0", "0000:18:01.2"};
    bool alloc[] = {false, false, true};
    nf_topology t;
    build(&t, names, alloc, 3);
    nf_prober_opts o = {
        .interval_ms = 0, .timeout_ms = 20000, .sysfs_root = root, .allow_vdevs = true};
    nf_prober *p;
    assert_int_equal(nf_prober_start(&o, &p), 0);
    assert_int_equal(nf_prober_update(p, &t), 0);
    /* before any result: usable is unknown, not 0 */
    nf_prober_annotate(p, &t);
    wait_results(p, &t, NULL, 20000);
    assert_string_equal(vf(&t, 0)->probe.status, "ok");
    assert_string_equal(vf(&t, 0)->probe.pmd, "net_null");
    assert_string_equal(vf(&t, 0)->probe.link, "up");
    assert_true(vf(&t, 0)->probe.checked_at > 0);
    assert_string_equal(vf(&t, 1)->probe.status, "ok");
    assert_string_equal(vf(&t, 1)->probe.pmd, "net_ring");
    assert_string_equal(vf(&t, 2)->probe.status, "skipped: allocated");
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, 2);
    /* nothing new since: 0 */
    assert_int_equal(nf_prober_annotate(p, &t), 0);
    nf_prober_stats st;
    nf_prober_get_stats(p, &st);
    assert_int_equal(st.known, 3);
    assert_int_equal(st.eal_runs, 1);
    assert_false(st.last_hugepages);

    /* a pod takes net_ring0: skipped at once, never probed again, usable drops */
    nf_topology t2;
    bool alloc2[] = {false, true, true};
    build(&t2, names, alloc2, 3);
    assert_int_equal(nf_prober_update(p, &t2), 0);
    assert_int_equal(nf_prober_annotate(p, &t2), 1);
    assert_string_equal(vf(&t2, 1)->probe.status, "skipped: allocated");
    assert_string_equal(vf(&t2, 0)->probe.status, "ok");
    assert_int_equal(nf_numa_resource(&t2.numa_nodes[0], RES)->usable, 1);

    /* it is freed again: pending (not usable) until its new probe passes */
    assert_int_equal(nf_prober_update(p, &t), 0);
    nf_topology_free(&t);
    build(&t, names, alloc, 3);
    wait_results(p, &t, "skipped: probe pending", 20000);
    assert_string_equal(vf(&t, 1)->probe.status, "ok");
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, 2);
    nf_prober_get_stats(p, &st);
    assert_int_equal(st.eal_runs, 2);
    nf_prober_stop(p);
    nf_topology_free(&t);
    nf_topology_free(&t2);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

/* kubelet's device checkpoint lost: which VFs pods hold is unknown, so none is touched (it
 * could be a running DPDK pod's) and usable is unknown, not a count. */
static void test_prober_allocation_unknown_is_never_probed(void **state)
{
    (void)state;
    char *root = nft_tmpdir("probe-test");
    const char *names[] = {"net_null0", "net_ring0"};
    bool alloc[] = {false, false};
    nf_topology t;
    build(&t, names, alloc, 2);
    vf(&t, 0)->allocation_unknown = vf(&t, 1)->allocation_unknown = true;
    nf_prober_opts o = {
        .interval_ms = 0, .timeout_ms = 20000, .sysfs_root = root, .allow_vdevs = true};
    nf_prober *p;
    assert_int_equal(nf_prober_start(&o, &p), 0);
    assert_int_equal(nf_prober_update(p, &t), 0);
    wait_results(p, &t, NULL, 5000);
    assert_string_equal(vf(&t, 0)->probe.status, "skipped: allocated");
    assert_string_equal(vf(&t, 1)->probe.status, "skipped: allocated");
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, NF_UNKNOWN);
    nf_prober_stats st;
    nf_prober_get_stats(p, &st);
    assert_int_equal(st.eal_runs, 0);
    nf_prober_stop(p);
    nf_topology_free(&t);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

static void test_prober_usable_unknown_then_failed(void **state)
{
    /* without allow_vdevs a name that is not a PCI address fails; usable is 0, not unknown */
    const char *names[] = {"net_null0"};
    bool alloc[] = {false};
    nf_topology t;
    build(&t, names, alloc, 1);
    nf_prober_opts o = {.timeout_ms = 5000};
    nf_prober *p;
    assert_int_equal(nf_prober_start(&o, &p), 0);
    assert_int_equal(nf_prober_annotate(p, &t), 0);
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, NF_UNKNOWN);
    assert_null(vf(&t, 0)->probe.status);
    assert_int_equal(nf_prober_update(p, &t), 0);
    wait_results(p, &t, NULL, 10000);
    assert_string_equal(vf(&t, 0)->probe.status, "failed: not a PCI address");
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, 0);
    nf_prober_stop(p);
    nf_topology_free(&t);
}

static void test_prober_timeout_and_interval(void **state)
{
    const char *names[] = {"net_null0"};
    bool alloc[] = {false};
    nf_topology t;
    build(&t, names, alloc, 1);
    nf_prober_opts o = {
        .interval_ms = 100, .timeout_ms = 200, .allow_vdevs = true, .test_hang = true};
    nf_prober *p;
    assert_int_equal(nf_prober_start(&o, &p), 0);
    assert_int_equal(nf_prober_update(p, &t), 0);
    wait_results(p, &t, NULL, 10000);
    assert_string_equal(vf(&t, 0)->probe.status, "failed: timeout");
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], RES)->usable, 0);
    /* the interval brings it back again and again */
    int64_t deadline = nft_now_ms() + 5000;
    nf_prober_stats st;
    do {
        nf_prober_get_stats(p, &st);
        if (st.timeouts >= 2)
            break;
        usleep(20000);
    } while (nft_now_ms() < deadline);
    assert_true(st.timeouts >= 2);
    nf_prober_stop(p);
    nf_topology_free(&t);
}

/* A prober whose EAL child hangs (60 s timeout), started on t and seen probing (within 5 s). */
static nf_prober *hanging_prober(const nf_topology *t)
{
    nf_prober_opts o = {.timeout_ms = 60000, .allow_vdevs = true, .test_hang = true};
    nf_prober *p;
    assert_int_equal(nf_prober_start(&o, &p), 0);
    assert_int_equal(nf_prober_update(p, t), 0);
    int64_t deadline = nft_now_ms() + 5000;
    nf_prober_stats st;
    do {
        nf_prober_get_stats(p, &st);
        usleep(10000);
    } while (!st.probing && nft_now_ms() < deadline);
    assert_true(st.probing);
    return p;
}

static void test_prober_stop_kills_child(void **state)
{
    const char *names[] = {"net_null0"};
    bool alloc[] = {false};
    nf_topology t;
    build(&t, names, alloc, 1);
    nf_prober *p = hanging_prober(&t);
    int64_t t0 = nft_now_ms();
    nf_prober_stop(p); /* would take 60 s if the child were not killed */
    assert_true(nft_now_ms() - t0 < 3000);
    nf_topology_free(&t);
}

static void test_prober_allocation_cancels_running_probe(void **state)
{
    const char *names[] = {"net_null0", "net_null1"};
    bool alloc[] = {false, false};
    nf_topology t;
    build(&t, names, alloc, 2);
    nf_prober *p = hanging_prober(&t);
    /* a pod gets net_null0 while it is being probed: the child is killed within moments */
    nf_topology t2;
    bool alloc2[] = {true, false};
    build(&t2, names, alloc2, 2);
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_prober_update(p, &t2), 0);
    nf_prober_stats st;
    do {
        nf_prober_get_stats(p, &st);
        usleep(10000);
    } while (st.runs < 1 && nft_now_ms() - t0 < 5000);
    assert_true(st.runs >= 1);
    assert_true(nft_now_ms() - t0 < 3000);
    nf_prober_annotate(p, &t2);
    assert_string_equal(vf(&t2, 0)->probe.status, "skipped: allocated");
    /* the other VF was a bystander: not "cancelled", just probed again (and hangs again) */
    assert_true(vf(&t2, 1)->probe.status == NULL ||
                strcmp(vf(&t2, 1)->probe.status, "failed: cancelled") != 0);
    nf_prober_stop(p);
    nf_topology_free(&t);
    nf_topology_free(&t2);
}

int main(void)
{
    if (!nf_probe_have_dpdk()) {
        fprintf(stderr, "built without DPDK: nothing to run\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prober_results_reach_topology),
        cmocka_unit_test(test_prober_usable_unknown_then_failed),
        cmocka_unit_test(test_prober_allocation_unknown_is_never_probed),
        cmocka_unit_test(test_prober_timeout_and_interval),
        cmocka_unit_test(test_prober_stop_kills_child),
        cmocka_unit_test(test_prober_allocation_cancels_running_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
