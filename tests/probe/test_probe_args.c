/* test_probe_args.c - the probe's pure parts: PCI addresses, lcore choice, sysfs pre-checks
 * on a fake tree, and the exact EAL argv (no EAL runs here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dpdk_probe.h"
#include "probe_test_util.h"

static void test_pci_canon(void **state)
{
    char out[24];
    assert_int_equal(nf_probe_pci_canon("0000:18:01.0", out), 0);
    assert_string_equal(out, "0000:18:01.0");
    assert_int_equal(nf_probe_pci_canon("18:01.7", out), 0);
    assert_string_equal(out, "0000:18:01.7");
    assert_int_equal(nf_probe_pci_canon("0000:AF:1F.3", out), 0);
    assert_string_equal(out, "0000:af:1f.3");
    assert_int_equal(nf_probe_pci_canon("10000:00:02.0", out), 0); /* VMD domain */
    assert_string_equal(out, "10000:00:02.0");
    const char *bad[] = {
        "",         "net_null0",        "0000:18:01", "0000:18:20.0", "0000:18:01.8",
        "18:01.0 ", "0000:118:01.0",    "0:0:0:0.0",  "zz:01.0",      "0000:18:01.0,x",
        ":01.0",    "123456789:00:00.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nf_probe_pci_canon(bad[i], out), -EINVAL);
    assert_int_equal(nf_probe_pci_canon(NULL, out), -EINVAL);
}

static void test_pick_lcore(void **state)
{
    nf_cpuset node_res = {0}, all_res = {0}, online = {0}, allowed = {0};
    nft_cpus(&node_res, "24");
    nft_cpus(&all_res, "0,24,48");
    nft_cpus(&online, "12-23,60-71");
    assert_int_equal(nf_probe_pick_lcore(&node_res, &all_res, &online, NULL), 24);
    assert_int_equal(nf_probe_pick_lcore(NULL, &all_res, &online, NULL), 0);
    assert_int_equal(nf_probe_pick_lcore(NULL, NULL, &online, NULL), 12);
    /* the affinity narrows every candidate set */
    nft_cpus(&allowed, "1-23,25-47,49-95");
    assert_int_equal(nf_probe_pick_lcore(&node_res, &all_res, &online, &allowed), 12);
    nf_cpuset_clear(&allowed);
    nft_cpus(&allowed, "48");
    assert_int_equal(nf_probe_pick_lcore(&node_res, &all_res, &online, &allowed), 48);
    nf_cpuset_clear(&allowed);
    nft_cpus(&allowed, "100");
    assert_int_equal(nf_probe_pick_lcore(&node_res, &all_res, &online, &allowed), -1);
    assert_int_equal(nf_probe_pick_lcore(NULL, NULL, NULL, NULL), -1);
    nf_cpuset_free(&node_res);
    nf_cpuset_free(&all_res);
    nf_cpuset_free(&online);
    nf_cpuset_free(&allowed);
}

static void test_precheck_fake_sysfs(void **state)
{
    char *root = nft_tmpdir("probe-test");
    assert_int_equal(pt_fake_vf(root, "0000:18:01.0", "vfio-pci", 112, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.1", "vfio-pci", -1, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.2", "iavf", 113, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.3", NULL, 114, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.4", "igb_uio", -1, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.5", "uio_pci_generic", -1, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:3b:00.2", "mlx5_core", -1, 0), 0);
    char why[256];
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.0", why, sizeof(why)), 0);
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.1", why, sizeof(why)), 1);
    assert_non_null(strstr(why, "skipped: bound to vfio-pci but has no IOMMU group"));
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.2", why, sizeof(why)), 1);
    assert_non_null(strstr(why, "skipped: bound to kernel driver iavf"));
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.3", why, sizeof(why)), 1);
    assert_non_null(strstr(why, "skipped: not bound to a driver"));
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.4", why, sizeof(why)), 0);
    assert_int_equal(nf_probe_precheck(root, "0000:18:01.5", why, sizeof(why)), 0);
    assert_int_equal(nf_probe_precheck(root, "0000:3b:00.2", why, sizeof(why)), 0);
    /* absent from sysfs: EAL decides (and names its reason) */
    assert_int_equal(nf_probe_precheck(root, "0000:ff:1f.7", why, sizeof(why)), 0);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

static void test_free_huge_bytes(void **state)
{
    char *root = nft_tmpdir("probe-test");
    const char *hp = nft_path(root, "devices/system/node/node1/hugepages");
    assert_int_equal(nft_mkdirs(nft_path(hp, "hugepages-2048kB")), 0);
    nft_write(nft_path(hp, "hugepages-2048kB/free_hugepages"), "10\n");
    assert_int_equal(nft_mkdirs(nft_path(hp, "hugepages-1048576kB")), 0);
    nft_write(nft_path(hp, "hugepages-1048576kB/free_hugepages"),
              "garbage\n"); /* unreadable counts as none */
    assert_int_equal(nf_probe_sysfs_free_huge_bytes(root, 1), 10 * 2048 * 1024LL);
    assert_int_equal(nf_probe_sysfs_free_huge_bytes(root, 0), 0);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

static void expect_argv(char **argv, int argc, const char *const *want)
{
    int n = 0;
    while (want[n])
        n++;
    for (int i = 0; i < argc && i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_int_equal(argc, n);
    assert_null(argv[argc]);
}

static void test_argv_hugepages_pci(void **state)
{
    const char *pci[] = {"0000:86:01.0", "0000:86:01.3"};
    nf_probe_eal_cfg c = {.file_prefix = "nfprobe-7-1",
                          .lcore = 49,
                          .socket = 2,
                          .hugepages = true,
                          .mem_mb = 128,
                          .pci = pci,
                          .n_pci = 2};
    char **argv;
    int argc;
    nf_err err = {{0}};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), 0);
    const char *want[] = {"numafit-probe",
                          "--in-memory",
                          "--file-prefix=nfprobe-7-1",
                          "--no-telemetry",
                          "-l",
                          "49",
                          "--socket-mem=0,0,128",
                          "-a",
                          "0000:86:01.0",
                          "-a",
                          "0000:86:01.3",
                          NULL};
    expect_argv(argv, argc, want);
    nf_probe_argv_free(argv);
}

static void test_argv_nohuge_vdevs(void **state)
{
    const char *vd[] = {"net_null0", "net_ring0,nodeaction=r0:0:CREATE"};
    nf_probe_eal_cfg c = {.file_prefix = "p", .lcore = 0, .socket = 0, .vdevs = vd, .n_vdevs = 2};
    char **argv;
    int argc;
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, NULL), 0);
    /* automatic memory: 64 MiB + 2 MiB per device; no PCI device -> --no-pci (never a scan) */
    const char *want[] = {"numafit-probe",
                          "--no-shconf",
                          "--file-prefix=p",
                          "--no-telemetry",
                          "-l",
                          "0",
                          "--no-huge",
                          "-m",
                          "68",
                          "--no-pci",
                          "--vdev=net_null0",
                          "--vdev=net_ring0,nodeaction=r0:0:CREATE",
                          NULL};
    expect_argv(argv, argc, want);
    nf_probe_argv_free(argv);
    /* hugepages asked for, but the socket is unknown: memory cannot be placed -> --no-huge */
    c.hugepages = true;
    c.socket = -1;
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, NULL), 0);
    assert_string_equal(argv[1], "--no-shconf");
    assert_string_equal(argv[6], "--no-huge");
    nf_probe_argv_free(argv);
}

static void test_argv_rejects(void **state)
{
    const char *pci[] = {"18:01.0"}; /* not canonical */
    const char *vd[] = {"--no-pci"};
    char **argv = (char **)1;
    int argc = 1;
    nf_err err = {{0}};
    nf_probe_eal_cfg c = {.file_prefix = "p", .lcore = 0, .pci = pci, .n_pci = 1};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), -EINVAL);
    assert_null(argv);
    assert_non_null(strstr(err.msg, "18:01.0"));
    c = (nf_probe_eal_cfg){.file_prefix = "p", .lcore = 0, .vdevs = vd, .n_vdevs = 1};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), -EINVAL);
    c = (nf_probe_eal_cfg){.file_prefix = "p", .lcore = 0};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no device"));
    c = (nf_probe_eal_cfg){.file_prefix = "../x", .lcore = 0, .vdevs = vd, .n_vdevs = 1};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), -EINVAL);
    const char *ok[] = {"net_null0"};
    c = (nf_probe_eal_cfg){.file_prefix = "p", .lcore = -1, .vdevs = ok, .n_vdevs = 1};
    assert_int_equal(nf_probe_build_eal_argv(&c, &argv, &argc, &err), -EINVAL);
}

/* Targets that never reach EAL: allocated, failing pre-checks, not an address. No run. */
static void test_targets_all_skipped(void **state)
{
    char *root = nft_tmpdir("probe-test");
    assert_int_equal(pt_fake_vf(root, "0000:18:01.0", "vfio-pci", 112, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.1", "vfio-pci", -1, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.2", "iavf", 113, 0), 0);
    nf_probe_target t[] = {
        {.device = "0000:18:01.0", .allocated = true, .numa_node = 0, .lcore = 0},
        {.device = "18:01.1", .numa_node = 0, .lcore = 0},
        {.device = "0000:18:01.2", .numa_node = 0, .lcore = 0},
        {.device = "eth0", .numa_node = 0, .lcore = 0},
    };
    nf_probe_batch_opts o = {.sysfs_root = root, .cancel_fd = -1};
    nf_probe_batch b;
    assert_int_equal(nf_probe_targets(t, 4, &o, &b, NULL), 0);
    assert_int_equal(b.n_results, 4);
    assert_int_equal(b.n_runs, 0);
    assert_string_equal(b.results[0].device, "0000:18:01.0");
    assert_string_equal(b.results[0].status, "skipped: allocated");
    assert_string_equal(b.results[1].device, "0000:18:01.1");
    assert_non_null(strstr(b.results[1].status, "no IOMMU group"));
    assert_non_null(strstr(b.results[2].status, "kernel driver iavf"));
    assert_string_equal(b.results[3].status, "failed: not a PCI address");
    assert_true(b.results[0].checked_at > 0);
    nf_probe_batch_free(&b);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pci_canon),           cmocka_unit_test(test_pick_lcore),
        cmocka_unit_test(test_precheck_fake_sysfs), cmocka_unit_test(test_free_huge_bytes),
        cmocka_unit_test(test_argv_hugepages_pci),  cmocka_unit_test(test_argv_nohuge_vdevs),
        cmocka_unit_test(test_argv_rejects),        cmocka_unit_test(test_targets_all_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
