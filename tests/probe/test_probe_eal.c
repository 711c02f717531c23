/* test_probe_eal.c - a REAL DPDK EAL in forked children: virtual devices (net_null, net_ring)
 * without hugepages and on real 2 MiB hugepages (root only; the pages are always given back),
 * a PCI address that does not exist, a hanging child killed at the timeout, a cancelled run,
 * and an allocated VF that never reaches EAL's allow-list.
 *
 * No ASAN_OPTIONS are needed: the child inherits the sanitizers and ends with _exit(), so
 * LeakSanitizer (an atexit hook) never runs in it; EAL on --no-huge and on --in-memory
 * hugepages works under ASan (NOTES.md). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>

#include <cmocka.h>

#include "dpdk_probe.h"
#include "probe_test_util.h"

static void run_vdevs(const char *const *vd, size_t n, bool huge, nf_probe_run *r)
{
    nf_probe_run_opts o = {
        .eal = {.lcore = 0, .socket = 0, .hugepages = huge, .vdevs = vd, .n_vdevs = n},
        .timeout_ms = 20000,
        .cancel_fd = -1,
    };
    nf_err err = {{0}};
    int rc = nf_probe_run_eal(&o, r, &err);
    if (rc)
        fail_msg("nf_probe_run_eal: %s", err.msg);
    assert_int_equal(r->n_results, n);
}

static void test_vdevs_nohuge(void **state)
{
    const char *vd[] = {"net_null0", "net_ring0"};
    nf_probe_run r;
    run_vdevs(vd, 2, false, &r);
    assert_null(r.eal_error);
    assert_false(r.hugepages);
    assert_string_equal(r.argv[1], "--no-shconf");
    assert_string_equal(r.argv[6], "--no-huge");
    assert_string_equal(r.results[0].device, "net_null0");
    assert_string_equal(r.results[0].status, "ok");
    assert_string_equal(r.results[0].pmd, "net_null");
    assert_non_null(r.results[0].mac);
    assert_int_equal(strlen(r.results[0].mac), 17);
    assert_string_equal(r.results[0].link, "up");
    assert_true(r.results[0].max_rx_queues >= 1);
    assert_string_equal(r.results[1].device, "net_ring0");
    assert_string_equal(r.results[1].status, "ok");
    assert_string_equal(r.results[1].pmd, "net_ring");
    assert_true(r.results[1].checked_at > 0);
    nf_probe_run_free(&r);
}

static void test_vdevs_several(void **state)
{
    const char *vd[] = {"net_null0", "net_null1", "net_null2", "net_ring0",
                        "net_null3", "net_ring1", "net_null4", "net_null5,size=128"};
    nf_probe_run r;
    run_vdevs(vd, 8, false, &r);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(r.results[i].status, "ok");
        assert_non_null(strstr(r.results[i].pmd, i == 3 || i == 5 ? "net_ring" : "net_null"));
    }
    assert_string_equal(r.results[7].device, "net_null5"); /* the name, without its args */
    nf_probe_run_free(&r);
}

static void test_vdev_bad_args(void **state)
{
    const char *vd[] = {"net_null0,bogus_key=1", "net_ring0"};
    nf_probe_run r;
    run_vdevs(vd, 2, false, &r);
    /* the broken vdev fails with EAL's words; its neighbour is unaffected */
    assert_string_equal(r.results[0].status,
                        "failed: no ethdev port for net_null0; vdev_probe(): failed to "
                        "initialize net_null0 device");
    assert_string_equal(r.results[1].status, "ok");
    nf_probe_run_free(&r);
}

/* ---- 2 MiB hugepages (root) ------------------------------------------------------------ */

#define NR_2M "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
#define FREE_2M "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"
static long saved_nr = -1; /* what to give back; -1 = nothing taken */

static long read_long(const char *p)
{
    FILE *f = fopen(p, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int write_long(const char *p, long v)
{
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    int rc = fprintf(f, "%ld\n", v) < 0;
    return fclose(f) || rc ? -1 : 0;
}

static void give_back(void)
{
    if (saved_nr >= 0) {
        write_long(NR_2M, saved_nr);
        saved_nr = -1;
    }
}

static void give_back_on_signal(int sig)
{
    /* an ASan report or a crash aborts: restore with async-signal-safe calls only */
    if (saved_nr >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%ld\n", saved_nr);
        int fd = open(NR_2M, O_WRONLY);
        if (fd >= 0) {
            if (write(fd, buf, (size_t)n) < 0) {
            }
            close(fd);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int huge_setup(void **state)
{
    long nr = read_long(NR_2M);
    if (geteuid() != 0 || nr < 0 || access(NR_2M, W_OK) != 0)
        return 0; /* the test skips */
    saved_nr = nr;
    atexit(give_back);
    signal(SIGABRT, give_back_on_signal);
    signal(SIGSEGV, give_back_on_signal);
    signal(SIGTERM, give_back_on_signal);
    if (write_long(NR_2M, nr + 64) != 0)
        give_back();
    return 0;
}

static int huge_teardown(void **state)
{
    give_back();
    return 0;
}

static void test_vdevs_hugepages(void **state)
{
    long freep = read_long(FREE_2M);
    if (saved_nr < 0 || freep < 40) {
        fprintf(stderr,
                "SKIP test_vdevs_hugepages: cannot reserve 2 MiB hugepages on node0 "
                "(need root and a writable %s; free=%ld)\n",
                NR_2M, freep);
        skip();
    }
    const char *vd[] = {"net_null0", "net_ring0"};
    nf_probe_run r;
    run_vdevs(vd, 2, true, &r);
    assert_null(r.eal_error);
    assert_true(r.hugepages);
    assert_string_equal(r.argv[1], "--in-memory");
    assert_string_equal(r.argv[6], "--socket-mem=68");
    assert_string_equal(r.results[0].status, "ok");
    assert_string_equal(r.results[0].pmd, "net_null");
    assert_string_equal(r.results[1].status, "ok");
    assert_string_equal(r.results[1].pmd, "net_ring");
    nf_probe_run_free(&r);
    /* the in-memory EAL's pages went back to the kernel with the child */
    assert_int_equal(read_long(FREE_2M), freep);
}

/* ---- failures --------------------------------------------------------------------------- */

static void test_pci_absent(void **state)
{
    const char *pci[] = {"0000:ff:1f.7"};
    const char *vd[] = {"net_null0"};
    nf_probe_run_opts o = {
        .eal = {.lcore = 0, .socket = 0, .pci = pci, .n_pci = 1, .vdevs = vd, .n_vdevs = 1},
        .timeout_ms = 20000,
        .cancel_fd = -1,
    };
    nf_probe_run r;
    assert_int_equal(nf_probe_run_eal(&o, &r, NULL), 0);
    /* only that address is allowed: -a 0000:ff:1f.7, and no --no-pci */
    assert_int_equal(r.argc, 12);
    assert_string_equal(r.argv[9], "-a");
    assert_string_equal(r.argv[10], "0000:ff:1f.7");
    assert_string_equal(r.argv[11], "--vdev=net_null0");
    for (int i = 0; i < r.argc; i++)
        assert_string_not_equal(r.argv[i], "--no-pci");
    assert_string_equal(r.results[0].device, "0000:ff:1f.7");
    /* EAL's own words */
    assert_non_null(strstr(r.results[0].status, "failed: EAL could not open 0000:ff:1f.7"));
    assert_non_null(strstr(r.results[0].status, "Cannot find device (0000:ff:1f.7)"));
    assert_string_equal(r.results[1].status, "ok");
    nf_probe_run_free(&r);
}

static void test_hang_timeout(void **state)
{
    const char *vd[] = {"net_null0", "net_ring0"};
    nf_probe_run_opts o = {
        .eal = {.lcore = 0, .socket = 0, .vdevs = vd, .n_vdevs = 2},
        .timeout_ms = 300,
        .cancel_fd = -1,
        .test_hang = true,
    };
    nf_probe_run r;
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_probe_run_eal(&o, &r, NULL), 0);
    int64_t took = nft_now_ms() - t0;
    assert_true(took >= 290 && took < 3000);
    assert_string_equal(r.results[0].status, "failed: timeout");
    assert_string_equal(r.results[1].status, "failed: timeout");
    assert_string_equal(r.eal_error, "timeout");
    nf_probe_run_free(&r);
}

static void test_cancel(void **state)
{
    int efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC); /* already readable */
    assert_true(efd >= 0);
    const char *vd[] = {"net_null0"};
    nf_probe_run_opts o = {
        .eal = {.lcore = 0, .socket = 0, .vdevs = vd, .n_vdevs = 1},
        .timeout_ms = 20000,
        .cancel_fd = efd,
        .test_hang = true,
    };
    nf_probe_run r;
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_probe_run_eal(&o, &r, NULL), 0);
    assert_true(nft_now_ms() - t0 < 3000);
    assert_string_equal(r.results[0].status, "failed: cancelled");
    nf_probe_run_free(&r);
    close(efd);
}

/* An allocated VF is never in the allow-list; a free one is, alone. */
static void test_allocated_never_allowed(void **state)
{
    char *root = nft_tmpdir("probe-test");
    assert_int_equal(pt_fake_vf(root, "0000:18:01.0", "vfio-pci", 112, 0), 0);
    assert_int_equal(pt_fake_vf(root, "0000:18:01.1", "vfio-pci", 113, 0), 0);
    nf_probe_target t[] = {
        {.device = "0000:18:01.0", .allocated = true, .numa_node = 0, .lcore = 1},
        {.device = "0000:18:01.1", .numa_node = 0, .lcore = 1},
        {.device = "net_null0", .is_vdev = true, .numa_node = 0, .lcore = 1},
    };
    nf_probe_batch_opts o = {.sysfs_root = root, .timeout_ms = 20000, .cancel_fd = -1};
    nf_probe_batch b;
    nf_err err = {{0}};
    assert_int_equal(nf_probe_targets(t, 3, &o, &b, &err), 0);
    assert_int_equal(b.n_runs, 1);
    const nf_probe_run *r = &b.runs[0];
    char want_prefix[64];
    snprintf(want_prefix, sizeof(want_prefix), "--file-prefix=nfprobe-%d-", (int)getpid());
    assert_int_equal(r->argc, 12);
    assert_string_equal(r->argv[0], "numafit-probe");
    assert_string_equal(r->argv[1], "--no-shconf");
    assert_true(strncmp(r->argv[2], want_prefix, strlen(want_prefix)) == 0);
    const char *rest[] = {
        "--no-telemetry",  "-l", "1", "--no-huge", "-m", "68", "-a", "0000:18:01.1",
        "--vdev=net_null0"};
    for (int i = 0; i < 9; i++)
        assert_string_equal(r->argv[3 + i], rest[i]);
    for (int i = 0; i < r->argc; i++)
        assert_null(strstr(r->argv[i], "18:01.0"));
    assert_string_equal(b.results[0].status, "skipped: allocated");
    /* the free VF exists only in the fake tree: the real EAL cannot find it */
    assert_non_null(strstr(b.results[1].status, "Cannot find device (0000:18:01.1)"));
    assert_string_equal(b.results[2].status, "ok");
    nf_probe_batch_free(&b);
    assert_int_equal(nft_tmpdir_free(root), 0);
}

/* Devices on two NUMA nodes (or lcores) go to two EAL runs, results in the caller's order. */
static void test_targets_grouped(void **state)
{
    nf_probe_target t[] = {
        {.device = "net_null0", .is_vdev = true, .numa_node = 0, .lcore = 0},
        {.device = "net_ring0", .is_vdev = true, .numa_node = 0, .lcore = 1},
        {.device = "net_null1", .is_vdev = true, .numa_node = 0, .lcore = 0},
    };
    nf_probe_batch_opts o = {.timeout_ms = 20000, .cancel_fd = -1};
    nf_probe_batch b;
    assert_int_equal(nf_probe_targets(t, 3, &o, &b, NULL), 0);
    assert_int_equal(b.n_runs, 2);
    assert_int_equal(b.runs[0].n_results, 2);
    assert_string_equal(b.runs[1].argv[5], "1");
    assert_string_equal(b.results[0].device, "net_null0");
    assert_string_equal(b.results[1].device, "net_ring0");
    assert_string_equal(b.results[1].pmd, "net_ring");
    assert_string_equal(b.results[2].pmd, "net_null");
    for (int i = 0; i < 3; i++)
        assert_string_equal(b.results[i].status, "ok");
    nf_probe_batch_free(&b);
}

int main(void)
{
    if (!nf_probe_have_dpdk()) {
        fprintf(stderr, "built without DPDK: nothing to run\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vdevs_nohuge),
        cmocka_unit_test(test_vdevs_several),
        cmocka_unit_test(test_vdev_bad_args),
        cmocka_unit_test_setup_teardown(test_vdevs_hugepages, huge_setup, huge_teardown),
        cmocka_unit_test(test_pci_absent),
        cmocka_unit_test(test_hang_timeout),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_allocated_never_allowed),
        cmocka_unit_test(test_targets_grouped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
