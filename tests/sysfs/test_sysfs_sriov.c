/* test_sysfs_sriov.c - nf_sriov_scan on fixture trees: every PF/VF field, grouping per NUMA node
 * and resource, numa_node -1 PFs kept apart, garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "sriov_config.h"
#include "sysfs_machine.h"
#include "sysfs_sriov.h"
#include "sysfs_test_util.h"

#define DPDK "intel.com/intel_sriov_dpdk"
#define NETDEV "intel.com/intel_sriov_netdevice"

static nf_sriov_config *load_cfg_text(const char *text)
{
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    if (nf_sriov_config_parse(text, strlen(text), "test", &c, &err) != 0)
        fail_msg("%s", err.msg);
    return c;
}

static nf_sriov_config *load_fixture_cfg(void)
{
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    if (nf_sriov_config_load(NF_SOURCE_DIR "/tests/fixtures/sriov-config.json", &c, &err) != 0)
        fail_msg("%s", err.msg);
    return c;
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void assert_pf(const nf_pf *pf, const char *pci, const char *netdev, const char *device,
                      const char *driver, int total, int num, int numa)
{
    assert_string_equal(pf->pci, pci);
    assert_str_or_null(pf->netdev, netdev);
    assert_string_equal(pf->vendor, "8086");
    assert_string_equal(pf->device, device);
    assert_str_or_null(pf->driver, driver);
    assert_int_equal(pf->total_vfs, total);
    assert_int_equal(pf->num_vfs, num);
    assert_int_equal(pf->numa_node, numa);
}

/* VFs <bus>:01.<first..first+n-1> */
static void assert_vfs(const nf_device_group *g, const char *bus, int first, size_t n,
                       const char *device, const char *driver, int iommu_first)
{
    assert_int_equal(g->n_vfs, n);
    for (size_t i = 0; i < n; i++) {
        const nf_vf *vf = &g->vfs[i];
        char pci[32];
        snprintf(pci, sizeof(pci), "%s:01.%d", bus, first + (int)i);
        assert_string_equal(vf->pci, pci);
        assert_string_equal(vf->vendor, "8086");
        assert_string_equal(vf->device, device);
        assert_str_or_null(vf->driver, driver);
        assert_int_equal(vf->iommu_group, iommu_first + (int)i);
        assert_false(vf->allocated);
        assert_null(vf->pod_uid);
        assert_null(vf->probe.status);
        assert_null(vf->error);
    }
}

static void check_snc2(const nf_topology *t, bool with_cfg)
{
    /* node 0: ice PF 0000:18:00.0, 4 vfio-pci VFs */
    const nf_numa_node *n = &t->numa_nodes[0];
    assert_int_equal(n->n_devices, 1);
    assert_str_or_null(n->devices[0].resource, with_cfg ? DPDK : NULL);
    assert_pf(&n->devices[0].pf, "0000:18:00.0", "ens1f0", "1592", "ice", 64, 4, 0);
    assert_null(n->devices[0].pf.error);
    assert_vfs(&n->devices[0], "0000:18", 0, 4, "1889", "vfio-pci", 112);
    /* node 1: i40e PF, 2 iavf VFs */
    n = &t->numa_nodes[1];
    assert_int_equal(n->n_devices, 1);
    assert_str_or_null(n->devices[0].resource, with_cfg ? NETDEV : NULL);
    assert_pf(&n->devices[0].pf, "0000:5e:00.0", "ens2f0", "1572", "i40e", 64, 2, 1);
    assert_vfs(&n->devices[0], "0000:5e", 0, 2, "154c", "iavf", 120);
    /* node 2 */
    n = &t->numa_nodes[2];
    assert_int_equal(n->n_devices, 1);
    assert_str_or_null(n->devices[0].resource, with_cfg ? DPDK : NULL);
    assert_pf(&n->devices[0].pf, "0000:af:00.0", "ens3f0", "1592", "ice", 64, 4, 2);
    assert_vfs(&n->devices[0], "0000:af", 0, 4, "1889", "vfio-pci", 130);
    assert_int_equal(t->numa_nodes[3].n_devices, 0);
    assert_int_equal(t->numa_nodes[4].n_devices, 0);
    /* numa_node -1: published apart, not on node 0 */
    assert_int_equal(t->n_unplaced_devices, 1);
    const nf_device_group *g = &t->unplaced_devices[0];
    assert_str_or_null(g->resource, with_cfg ? DPDK : NULL);
    assert_pf(&g->pf, "0000:d8:00.0", "ens4f0", "1592", "ice", 64, 2, NF_UNKNOWN);
    assert_non_null(g->pf.error);
    assert_non_null(strstr(g->pf.error, "numa_node is -1"));
    assert_vfs(g, "0000:d8", 0, 2, "1889", "vfio-pci", 140);
}

static void test_snc2_with_config(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    nf_sriov_config *cfg = load_fixture_cfg();
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    check_snc2(&f.t, true);
    assert_int_equal(f.t.n_errors, 0);
    /* a rescan after nf_sriov_clear gives the same result, nothing doubled */
    nf_sriov_clear(&f.t);
    assert_int_equal(f.t.numa_nodes[0].n_devices, 0);
    assert_int_equal(f.t.n_unplaced_devices, 0);
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    check_snc2(&f.t, true);
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

static void test_snc2_checkpoint_names(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    nf_sriov_config *cfg = load_fixture_cfg();
    /* kubelet registered 18:01.0-1 as pool_a (the config says DPDK), 18:01.2 as DPDK (agrees),
     * AF:01.0 in upper case (PCI addresses compare without case), and a GPU-like ID */
    nf_kv reg[] = {{"intel.com/pool_a", "0000:18:01.0"},
                   {"intel.com/pool_a", "0000:18:01.1"},
                   {DPDK, "0000:18:01.2"},
                   {DPDK, "0000:AF:01.0"},
                   {"nvidia.com/gpu", "GPU-1234"}};
    nf_sriov_naming nm = {.cfg = cfg, .registered = reg, .n_registered = 5};
    nf_sriov_naming_stats st;
    assert_int_equal(nf_sriov_scan_named(f.sys, &nm, &f.t, &st), 0);
    const nf_numa_node *n = &f.t.numa_nodes[0];
    assert_int_equal(n->n_devices, 2);
    assert_string_equal(n->devices[0].resource, "intel.com/pool_a");
    assert_string_equal(n->devices[0].resource_source, "kubeletCheckpoint");
    assert_int_equal(n->devices[0].n_vfs, 2);
    /* 18:01.2 by kubelet, 18:01.3 by the config: one group, both sources */
    assert_string_equal(n->devices[1].resource, DPDK);
    assert_string_equal(n->devices[1].resource_source, "kubeletCheckpoint,sriovConfig");
    assert_int_equal(n->devices[1].n_vfs, 2);
    n = &f.t.numa_nodes[1];
    assert_string_equal(n->devices[0].resource_source, "sriovConfig");
    assert_int_equal(st.disagree, 2);
    assert_non_null(strstr(st.example, "0000:18:01.0: kubelet registered it as intel.com/pool_a"));
    assert_int_equal(st.by_checkpoint, 4);
    assert_int_equal(st.config_agrees, 2);
    /* 4 + 2 + 4 + 2 VFs the config selects */
    assert_int_equal(st.config_named, 12);
    assert_int_equal(st.by_config, 8);
    nf_sriov_clear(&f.t);
    /* without a config: only what kubelet registered is named */
    nm.cfg = NULL;
    assert_int_equal(nf_sriov_scan_named(f.sys, &nm, &f.t, &st), 0);
    assert_int_equal(st.config_named + st.by_config + st.disagree, 0);
    assert_int_equal(st.by_checkpoint, 4);
    n = &f.t.numa_nodes[2];
    assert_int_equal(n->n_devices, 2);
    assert_string_equal(n->devices[0].resource, DPDK);
    assert_int_equal(n->devices[0].n_vfs, 1);
    assert_null(n->devices[1].resource);
    assert_null(n->devices[1].resource_source);
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

static void test_snc2_without_config(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    assert_int_equal(nf_sriov_scan(f.sys, NULL, &f.t), 0);
    check_snc2(&f.t, false);
    fx_close(&f);
}

/* pfNames VF ranges, rootDevices, pciAddresses, first pool wins, resourcePrefix. */
static void test_snc2_selectors(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    nf_sriov_config *cfg = load_cfg_text(
        "{\"resourceList\": ["
        " {\"resourceName\": \"low\", \"selectors\": {\"pfNames\": [\"ens1f0#0-1\"]}},"
        " {\"resourceName\": \"one\", \"resourcePrefix\": \"acme.io\","
        "  \"selectors\": [{\"rootDevices\": [\"0000:af:00.0#3\"]},"
        "                  {\"pciAddresses\": [\"0000:d8:01.1\"]}]},"
        " {\"resourceName\": \"rest\", \"selectors\": {\"vendors\": [\"0x8086\"],"
        "  \"devices\": [\"1889\"], \"drivers\": [\"vfio-pci\"], \"linkTypes\": [\"ether\"]}},"
        " {\"resourceName\": \"never\", \"selectors\": {\"drivers\": [\"mlx5_core\"]}}"
        "]}");
    assert_int_equal(nf_sriov_config_count(cfg), 4);
    assert_string_equal(nf_sriov_config_resource(cfg, 1), "acme.io/one");
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    const nf_numa_node *n = &f.t.numa_nodes[0];
    assert_int_equal(n->n_devices, 2);
    assert_string_equal(n->devices[0].resource, "intel.com/low");
    assert_vfs(&n->devices[0], "0000:18", 0, 2, "1889", "vfio-pci", 112);
    assert_string_equal(n->devices[1].resource, "intel.com/rest");
    assert_vfs(&n->devices[1], "0000:18", 2, 2, "1889", "vfio-pci", 114);
    assert_pf(&n->devices[1].pf, "0000:18:00.0", "ens1f0", "1592", "ice", 64, 4, 0);
    /* iavf VFs match no pool: published with resource NULL */
    n = &f.t.numa_nodes[1];
    assert_int_equal(n->n_devices, 1);
    assert_null(n->devices[0].resource);
    assert_int_equal(n->devices[0].n_vfs, 2);
    /* af: VFs 0-2 rest, VF 3 one */
    n = &f.t.numa_nodes[2];
    assert_int_equal(n->n_devices, 2);
    assert_string_equal(n->devices[0].resource, "intel.com/rest");
    assert_vfs(&n->devices[0], "0000:af", 0, 3, "1889", "vfio-pci", 130);
    assert_string_equal(n->devices[1].resource, "acme.io/one");
    assert_vfs(&n->devices[1], "0000:af", 3, 1, "1889", "vfio-pci", 133);
    /* unplaced d8: VF 0 rest, VF 1 one (pciAddresses) */
    assert_int_equal(f.t.n_unplaced_devices, 2);
    assert_string_equal(f.t.unplaced_devices[0].resource, "intel.com/rest");
    assert_vfs(&f.t.unplaced_devices[0], "0000:d8", 0, 1, "1889", "vfio-pci", 140);
    assert_string_equal(f.t.unplaced_devices[1].resource, "acme.io/one");
    assert_vfs(&f.t.unplaced_devices[1], "0000:d8", 1, 1, "1889", "vfio-pci", 141);
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

static void test_single_and_socket1(void **state)
{
    (void)state;
    nf_sriov_config *cfg = load_fixture_cfg();
    fx f;
    fx_open(&f, "single", NULL);
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    assert_int_equal(f.t.numa_nodes[0].n_devices, 1);
    const nf_device_group *g = &f.t.numa_nodes[0].devices[0];
    assert_string_equal(g->resource, DPDK);
    assert_pf(&g->pf, "0000:3b:00.0", "ens1f0", "1592", "ice", 64, 4, 0);
    assert_vfs(g, "0000:3b", 0, 4, "1889", "vfio-pci", 50);
    assert_int_equal(f.t.n_unplaced_devices, 0);
    fx_close(&f);

    fx_open(&f, "vfs-socket1", NULL);
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    assert_int_equal(f.t.numa_nodes[0].n_devices, 0);
    assert_int_equal(f.t.numa_nodes[1].n_devices, 1);
    g = &f.t.numa_nodes[1].devices[0];
    assert_string_equal(g->resource, DPDK);
    assert_pf(&g->pf, "0000:86:00.0", "ens5f0", "1592", "ice", 64, 4, 1);
    assert_vfs(g, "0000:86", 0, 4, "1889", "vfio-pci", 60);
    assert_int_equal(f.t.n_unplaced_devices, 0);
    fx_close(&f);
    nf_sriov_config_free(cfg);
}

static void test_bench_vfs(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "bench", NULL);
    nf_sriov_config *cfg = load_fixture_cfg();
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    size_t vfs = 0;
    for (size_t i = 0; i < f.t.n_numa_nodes; i++) {
        assert_int_equal(f.t.numa_nodes[i].n_devices, 1);
        assert_int_equal(f.t.numa_nodes[i].devices[0].pf.numa_node, (int)i);
        vfs += f.t.numa_nodes[i].devices[0].n_vfs;
    }
    assert_int_equal(vfs, 128);
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

static void test_garbage(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "garbage", NULL);
    nf_sriov_config *cfg = load_fixture_cfg();
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    /* 18:00.0: VF0 vendor "0xZZZZ", VF3 dangling: both published with errors, no resource */
    const nf_numa_node *n = &f.t.numa_nodes[0];
    assert_int_equal(n->n_devices, 2);
    const nf_device_group *bad = &n->devices[0], *good = &n->devices[1];
    assert_null(bad->resource);
    assert_int_equal(bad->n_vfs, 2);
    assert_string_equal(bad->vfs[0].pci, "0000:18:01.0");
    assert_null(bad->vfs[0].vendor);
    assert_non_null(strstr(bad->vfs[0].error, "not a hex id"));
    assert_string_equal(bad->vfs[0].driver, "vfio-pci");
    assert_string_equal(bad->vfs[1].pci, "0000:18:01.3");
    assert_non_null(strstr(bad->vfs[1].error, "points nowhere"));
    assert_null(bad->vfs[1].vendor);
    assert_null(bad->vfs[1].driver);
    assert_int_equal(bad->vfs[1].iommu_group, NF_UNKNOWN);
    assert_string_equal(good->resource, DPDK);
    assert_vfs(good, "0000:18", 1, 2, "1889", "vfio-pci", 113);
    /* 5e:00.0: numa_node file removed, sriov_numvfs "-1" -> unplaced, unknowns */
    assert_int_equal(f.t.numa_nodes[1].n_devices, 0);
    assert_int_equal(f.t.n_unplaced_devices, 2);
    const nf_device_group *g = &f.t.unplaced_devices[0];
    assert_string_equal(g->pf.pci, "0000:5e:00.0");
    assert_int_equal(g->pf.numa_node, NF_UNKNOWN);
    assert_int_equal(g->pf.num_vfs, NF_UNKNOWN);
    assert_int_equal(g->pf.total_vfs, 64);
    assert_non_null(strstr(g->pf.error, "absent: "));
    assert_non_null(strstr(g->pf.error, "numa_node"));
    assert_string_equal(g->resource, NETDEV);
    assert_int_equal(g->n_vfs, 2);
    assert_string_equal(f.t.unplaced_devices[1].pf.pci, "0000:d8:00.0");
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

/* Hand-made worse cases: numa_node naming a node that does not exist, huge totalvfs, a PF
 * directory with no files, a tree without PCI. */
static void test_more_garbage(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "single", NULL);
    const char *pf = "sys/devices/pci0000:3b/0000:3b:00.0";
    char p[512];
    snprintf(p, sizeof(p), "%s/numa_node", pf);
    nft_write(nft_path(f.dir, p), "7\n");
    snprintf(p, sizeof(p), "%s/sriov_totalvfs", pf);
    nft_write(nft_path(f.dir, p), "18446744073709551616\n");
    assert_int_equal(nft_mkdirs(nft_path(f.dir, "sys/devices/pci0000:00/0000:00:03.0")), 0);
    nft_write(nft_path(f.dir, "sys/devices/pci0000:00/0000:00:03.0/sriov_totalvfs"), "");
    assert_int_equal(symlink("../../../devices/pci0000:00/0000:00:03.0",
                             nft_path(f.dir, "sys/bus/pci/devices/0000:00:03.0")),
                     0);
    assert_int_equal(nf_sriov_scan(f.sys, NULL, &f.t), 0);
    assert_int_equal(f.t.numa_nodes[0].n_devices, 0);
    assert_int_equal(f.t.n_unplaced_devices, 2);
    const nf_device_group *g = &f.t.unplaced_devices[0];
    assert_string_equal(g->pf.pci, "0000:00:03.0");
    assert_null(g->pf.vendor);
    assert_null(g->pf.driver);
    assert_null(g->pf.netdev);
    assert_int_equal(g->pf.total_vfs, NF_UNKNOWN);
    assert_int_equal(g->pf.numa_node, NF_UNKNOWN);
    assert_non_null(g->pf.error);
    assert_int_equal(g->n_vfs, 0);
    g = &f.t.unplaced_devices[1];
    assert_string_equal(g->pf.pci, "0000:3b:00.0");
    assert_int_equal(g->pf.numa_node, NF_UNKNOWN);
    assert_non_null(strstr(g->pf.error, "no NUMA node of this machine"));
    assert_int_equal(g->pf.total_vfs, NF_UNKNOWN);
    assert_int_equal(g->n_vfs, 4);
    nf_sriov_clear(&f.t);
    /* no bus/pci at all: no PFs, no error */
    assert_int_equal(nft_rmtree(nft_path(f.dir, "sys/bus/pci")), 0);
    assert_int_equal(nf_sriov_scan(f.sys, NULL, &f.t), 0);
    assert_int_equal(f.t.n_unplaced_devices, 0);
    assert_int_equal(f.t.n_errors, 0);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snc2_with_config),
        cmocka_unit_test(test_snc2_without_config),
        cmocka_unit_test(test_snc2_checkpoint_names),
        cmocka_unit_test(test_snc2_selectors),
        cmocka_unit_test(test_single_and_socket1),
        cmocka_unit_test(test_bench_vfs),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_more_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
