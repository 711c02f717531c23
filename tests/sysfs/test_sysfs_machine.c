/* test_sysfs_machine.c - nf_machine_open/nf_machine_read on fixture trees built by
 * tests/fixtures/mkfixture.py, on garbage, on bad roots and on this machine's /sys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "sysfs_machine.h"
#include "sysfs_test_util.h"

#define KB 1024LL
#define GIB (1024LL * 1024 * 1024)
#define MIB2 (2LL * 1024 * 1024)

static void assert_distances(const nf_numa_node *n, const int *want, size_t count)
{
    assert_int_equal(n->n_distances, count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(n->distances[i], want[i]);
}

static void assert_hp(const nf_hugepages *h, const char *name, uint64_t bytes, int64_t total,
                      int64_t free_, int64_t surplus)
{
    assert_string_equal(h->name, name);
    assert_int_equal(h->page_bytes, bytes);
    assert_int_equal(h->total, total);
    assert_int_equal(h->free, free_);
    assert_int_equal(h->surplus, surplus);
    assert_null(h->error);
}

/* every core of a node is {c, c + sibling_offset} for the listed first CPUs */
static void assert_smt2_cores(const nf_numa_node *n, int first, int count, int offset)
{
    assert_int_equal(n->cpus.n_cores, (size_t)count);
    for (int i = 0; i < count; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%d,%d", first + i, first + i + offset);
        nft_assert_cpus(&n->cpus.cores[i], want);
    }
    assert_int_equal(n->cpus.threads_per_core, 2);
}

static void test_snc2(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    nf_topology *t = &f.t;
    nf_machine_info info;
    nf_machine_get_info(f.m, &info);
    assert_true(info.fake_root);
    assert_int_equal(info.packages, 2);
    assert_int_equal(info.numa_nodes, 5);
    assert_int_equal(info.pus, 62);
    nft_assert_cpus(info.online, "0-29,32-63");

    /* sockets */
    assert_int_equal(t->n_sockets, 2);
    assert_int_equal(t->sockets[0].id, 0);
    assert_int_equal(t->sockets[0].n_numa_nodes, 2);
    assert_int_equal(t->sockets[0].numa_nodes[0], 0);
    assert_int_equal(t->sockets[0].numa_nodes[1], 1);
    assert_int_equal(t->sockets[1].id, 1);
    assert_int_equal(t->sockets[1].n_numa_nodes, 2);
    assert_int_equal(t->sockets[1].numa_nodes[0], 2);
    assert_int_equal(t->sockets[1].numa_nodes[1], 3);

    /* NUMA nodes */
    assert_int_equal(t->n_numa_nodes, 5);
    static const int dist[5][5] = {{10, 11, 21, 21, 30},
                                   {11, 10, 21, 21, 30},
                                   {21, 21, 10, 11, 40},
                                   {21, 21, 11, 10, 40},
                                   {30, 30, 40, 40, 10}};
    static const char *const online[] = {"0-7,32-39", "8-15,40-47", "16-23,48-55", "24-29,56-63",
                                         ""};
    static const int socket[] = {0, 0, 1, 1, NF_UNKNOWN};
    static const int64_t mem_free_kb[] = {40000000, 50000000, 30000000, 60000000, 16000000};
    static const int64_t hp[5][6] = {{1024, 512, 0, 16, 12, 0},
                                     {512, 500, 2, 8, 8, 0},
                                     {1024, 1024, 0, 16, 4, 0},
                                     {0, 0, 0, 0, 0, 0},
                                     {0, 0, 0, 0, 0, 0}};
    for (int i = 0; i < 5; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        assert_int_equal(n->id, i);
        assert_int_equal(n->socket, socket[i]);
        assert_distances(n, dist[i], 5);
        nft_assert_cpus(&n->cpus.online, online[i]);
        assert_int_equal(n->mem_total, (i == 4 ? 16777216 : 65536000) * KB);
        assert_int_equal(n->mem_free, mem_free_kb[i] * KB);
        assert_null(n->mem_error);
        assert_int_equal(n->n_hugepages, 2);
        assert_hp(&n->hugepages[0], "hugepages-2Mi", MIB2, hp[i][0], hp[i][1], hp[i][2]);
        assert_hp(&n->hugepages[1], "hugepages-1Gi", GIB, hp[i][3], hp[i][4], hp[i][5]);
        assert_int_equal(n->n_devices, 0);
    }
    assert_smt2_cores(&t->numa_nodes[0], 0, 8, 32);
    assert_smt2_cores(&t->numa_nodes[1], 8, 8, 32);
    assert_smt2_cores(&t->numa_nodes[2], 16, 8, 32);
    /* node 3: CPUs 30-31 offline: cores {24,56}..{29,61} then {62}, {63} */
    nf_numa_node *n3 = &t->numa_nodes[3];
    assert_int_equal(n3->cpus.n_cores, 8);
    for (int i = 0; i < 6; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%d,%d", 24 + i, 56 + i);
        nft_assert_cpus(&n3->cpus.cores[i], want);
    }
    nft_assert_cpus(&n3->cpus.cores[6], "62");
    nft_assert_cpus(&n3->cpus.cores[7], "63");
    assert_int_equal(n3->cpus.threads_per_core, 2);
    /* memory-only node 4 */
    assert_int_equal(t->numa_nodes[4].cpus.n_cores, 0);
    assert_int_equal(t->numa_nodes[4].cpus.threads_per_core, NF_UNKNOWN);
    assert_int_equal(t->n_errors, 0);
    fx_close(&f);
}

static void test_single(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "single", NULL);
    nf_topology *t = &f.t;
    assert_int_equal(t->n_sockets, 1);
    assert_int_equal(t->sockets[0].id, 0);
    assert_int_equal(t->sockets[0].n_numa_nodes, 1);
    assert_int_equal(t->sockets[0].numa_nodes[0], 0);
    assert_int_equal(t->n_numa_nodes, 1);
    nf_numa_node *n = &t->numa_nodes[0];
    assert_int_equal(n->id, 0);
    assert_int_equal(n->socket, 0);
    static const int d[] = {10};
    assert_distances(n, d, 1);
    nft_assert_cpus(&n->cpus.online, "0-15");
    assert_smt2_cores(n, 0, 8, 8);
    assert_int_equal(n->mem_total, 32768000 * KB);
    assert_int_equal(n->mem_free, 20000000 * KB);
    assert_int_equal(n->n_hugepages, 1);
    assert_hp(&n->hugepages[0], "hugepages-2Mi", MIB2, 512, 256, 0);
    assert_int_equal(t->n_errors, 0);
    fx_close(&f);
}

static void test_vfs_socket1(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "vfs-socket1", NULL);
    nf_topology *t = &f.t;
    assert_int_equal(t->n_sockets, 2);
    assert_int_equal(t->n_numa_nodes, 2);
    static const char *const online[] = {"0-7,16-23", "8-15,24-31"};
    static const int d[2][2] = {{10, 21}, {21, 10}};
    for (int i = 0; i < 2; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        assert_int_equal(t->sockets[i].id, i);
        assert_int_equal(t->sockets[i].n_numa_nodes, 1);
        assert_int_equal(t->sockets[i].numa_nodes[0], i);
        assert_int_equal(n->id, i);
        assert_int_equal(n->socket, i);
        assert_distances(n, d[i], 2);
        nft_assert_cpus(&n->cpus.online, online[i]);
        assert_smt2_cores(n, 8 * i, 8, 16);
        assert_int_equal(n->mem_total, 65536000 * KB);
        assert_int_equal(n->mem_free, 40000000 * KB);
        assert_int_equal(n->n_hugepages, 2);
        assert_hp(&n->hugepages[0], "hugepages-2Mi", MIB2, 256, 256, 0);
        assert_hp(&n->hugepages[1], "hugepages-1Gi", GIB, 8, 8, 0);
    }
    fx_close(&f);
}

static void test_bench_counts(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "bench", NULL);
    nf_machine_info info;
    nf_machine_get_info(f.m, &info);
    assert_int_equal(info.packages, 2);
    assert_int_equal(info.pus, 192);
    assert_int_equal(f.t.n_numa_nodes, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(f.t.numa_nodes[i].socket, i / 4);
        assert_int_equal(nf_cpuset_count(&f.t.numa_nodes[i].cpus.online), 24);
        assert_int_equal(f.t.numa_nodes[i].cpus.n_cores, 12);
        assert_int_equal(f.t.numa_nodes[i].distances[i], 10);
    }
    fx_close(&f);
}

/* A second nf_machine_read on the same topology re-reads only the dynamic files. */
static void test_refresh_in_place(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "snc2", NULL);
    f.t.numa_nodes[0].cpus.threads_per_core = 99; /* static: must be left alone */
    nft_write(nft_path(f.dir, "sys/devices/system/node/node0/hugepages/hugepages-1048576kB/"
                              "free_hugepages"),
              "3\n");
    nft_write(nft_path(f.dir, "sys/devices/system/node/node2/meminfo"),
              "Node 2 MemTotal:       65536000 kB\nNode 2 MemFree:        1000 kB\n");
    assert_int_equal(nf_machine_read(f.m, &f.t), 0);
    assert_int_equal(f.t.numa_nodes[0].cpus.threads_per_core, 99);
    assert_int_equal(f.t.numa_nodes[0].hugepages[1].free, 3);
    assert_int_equal(f.t.numa_nodes[0].hugepages[1].total, 16);
    assert_int_equal(f.t.numa_nodes[2].mem_free, 1000 * KB);
    assert_int_equal(f.t.n_numa_nodes, 5);
    assert_int_equal(f.t.n_errors, 0);
    /* a topology of another machine is refused */
    f.t.numa_nodes[1].id = 7;
    assert_int_equal(nf_machine_read(f.m, &f.t), -EINVAL);
    f.t.numa_nodes[1].id = 1;
    fx_close(&f);
}

static bool has_error(const nf_topology *t, const char *needle)
{
    for (size_t i = 0; i < t->n_errors; i++)
        if (strstr(t->errors[i], needle))
            return true;
    return false;
}

static void test_garbage(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "garbage", NULL);
    nf_topology *t = &f.t;
    assert_int_equal(t->n_numa_nodes, 5);
    /* node0 2Mi: nr "lots", free "-5" -> unknown, with the file named */
    nf_hugepages *h = &t->numa_nodes[0].hugepages[0];
    assert_string_equal(h->name, "hugepages-2Mi");
    assert_int_equal(h->total, NF_UNKNOWN);
    assert_int_equal(h->free, NF_UNKNOWN);
    assert_int_equal(h->surplus, 0);
    assert_non_null(h->error);
    assert_non_null(strstr(h->error, "error: "));
    assert_non_null(strstr(h->error, "nr_hugepages"));
    /* the 1Gi counters of node0 are fine */
    assert_hp(&t->numa_nodes[0].hugepages[1], "hugepages-1Gi", GIB, 16, 12, 0);
    /* node1 1Gi nr is a 23-digit number */
    h = &t->numa_nodes[1].hugepages[1];
    assert_int_equal(h->total, NF_UNKNOWN);
    assert_int_equal(h->free, 8);
    assert_non_null(h->error);
    assert_non_null(strstr(h->error, "out of range"));
    /* node1 MemTotal "abc" */
    assert_int_equal(t->numa_nodes[1].mem_total, NF_UNKNOWN);
    assert_non_null(t->numa_nodes[1].mem_error);
    assert_non_null(strstr(t->numa_nodes[1].mem_error, "MemTotal"));
    /* node2 meminfo missing */
    assert_int_equal(t->numa_nodes[2].mem_total, NF_UNKNOWN);
    assert_int_equal(t->numa_nodes[2].mem_free, NF_UNKNOWN);
    assert_non_null(strstr(t->numa_nodes[2].mem_error, "node2/meminfo"));
    /* node3 is intact */
    assert_int_equal(t->numa_nodes[3].mem_total, 65536000 * KB);
    assert_null(t->numa_nodes[3].mem_error);
    /* node4: surplus file missing, distance garbage */
    h = &t->numa_nodes[4].hugepages[0];
    assert_int_equal(h->total, 0);
    assert_int_equal(h->surplus, NF_UNKNOWN);
    assert_non_null(strstr(h->error, "surplus_hugepages"));
    assert_int_equal(t->numa_nodes[4].n_distances, 0);
    assert_true(has_error(t, "NUMA node 4: distances unknown"));
    /* the rest of the topology is still whole */
    assert_int_equal(t->numa_nodes[0].n_distances, 5);
    nft_assert_cpus(&t->numa_nodes[3].cpus.online, "24-29,56-63");
    fx_close(&f);
}

/* Worse garbage written by hand: absurd sizes, a cpulist that is junk, no node directory. */
static void test_more_garbage(void **state)
{
    (void)state;
    char *dir = nft_tmpdir("sysfs");
    assert_int_equal(nft_mkfixture("single", dir, NULL), 0);
    const char *hp = "sys/devices/system/node/node0/hugepages";
    const char *sizes[] = {"hugepages-99999999999999999999kB", "hugepages-0kB", "hugepages-xkB"};
    char p[512];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", hp, sizes[i]);
        assert_int_equal(nft_mkdirs(nft_path(dir, p)), 0);
    }
    nft_write(nft_path(dir, "sys/devices/system/node/node0/cpulist"), "0-3,zzz\n");
    nft_write(nft_path(dir, "sys/devices/system/node/node0/meminfo"),
              "Node 0 MemTotal: 99999999999999999 kB\nNode 0 MemFree: 5 kB\n");
    nf_machine *m = NULL;
    nf_err err = {{0}};
    char sys[256], proc[256];
    snprintf(sys, sizeof(sys), "%s/sys", dir);
    snprintf(proc, sizeof(proc), "%s/proc", dir);
    assert_int_equal(nf_machine_open(sys, proc, &m, &err), 0);
    nf_topology t = {0};
    assert_int_equal(nf_machine_read(m, &t), 0);
    assert_int_equal(t.n_numa_nodes, 1);
    /* cpulist junk: cpumap is used instead, and the problem is said */
    nft_assert_cpus(&t.numa_nodes[0].cpus.online, "0-15");
    assert_true(has_error(&t, "cpulist"));
    /* absurd page sizes are not hugepage sizes */
    assert_int_equal(t.numa_nodes[0].n_hugepages, 1);
    /* MemTotal in kB overflows int64 bytes */
    assert_int_equal(t.numa_nodes[0].mem_total, NF_UNKNOWN);
    assert_non_null(t.numa_nodes[0].mem_error);
    nf_topology_free(&t);
    nf_machine_free(m);

    /* no NUMA directories at all: one node 0 from /proc/meminfo */
    assert_int_equal(nft_rmtree(nft_path(dir, "sys/devices/system/node")), 0);
    assert_int_equal(nf_machine_open(sys, proc, &m, &err), 0);
    memset(&t, 0, sizeof(t));
    assert_int_equal(nf_machine_read(m, &t), 0);
    assert_int_equal(t.n_numa_nodes, 1);
    assert_int_equal(t.numa_nodes[0].id, 0);
    nft_assert_cpus(&t.numa_nodes[0].cpus.online, "0-15");
    assert_int_equal(t.numa_nodes[0].mem_total, 32768000 * KB);
    assert_int_equal(t.numa_nodes[0].n_hugepages, 1);
    assert_int_equal(t.numa_nodes[0].hugepages[0].total, 512);
    assert_true(has_error(&t, "no nodeN directories"));
    nf_topology_free(&t);
    nf_machine_free(m);
    assert_int_equal(nft_tmpdir_free(dir), 0);
}

static void test_bad_roots(void **state)
{
    (void)state;
    nf_machine *m = (nf_machine *)1;
    nf_err err = {{0}};
    char *dir = nft_tmpdir("sysfs");
    char a[256], b[256];
    snprintf(a, sizeof(a), "%s/nothere/sys", dir);
    snprintf(b, sizeof(b), "%s/nothere/proc", dir);
    assert_int_equal(nf_machine_open(a, b, &m, &err), -ENOENT);
    assert_null(m);
    snprintf(a, sizeof(a), "%s/x/sys", dir);
    snprintf(b, sizeof(b), "%s/y/proc", dir);
    assert_int_equal(nft_mkdirs(a), 0);
    assert_int_equal(nft_mkdirs(b), 0);
    assert_int_equal(nf_machine_open(a, b, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "do not share one parent"));
    snprintf(a, sizeof(a), "%s/x/sysfs", dir);
    assert_int_equal(nf_machine_open(a, b, &m, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "<root>/sys and <root>/proc"));
    /* an empty root: hwloc still loads; no node dirs -> one node, said in errors */
    snprintf(a, sizeof(a), "%s/x/sys/", dir);
    snprintf(b, sizeof(b), "%s/x/proc", dir);
    assert_int_equal(nft_mkdirs(b), 0);
    assert_int_equal(nf_machine_open(a, b, &m, &err), 0);
    nf_topology t = {0};
    assert_int_equal(nf_machine_read(m, &t), 0);
    assert_int_equal(t.n_numa_nodes, 1);
    assert_true(t.n_errors > 0);
    assert_non_null(t.numa_nodes[0].mem_error);
    nf_topology_free(&t);
    nf_machine_free(m);
    /* environment restored */
    assert_null(getenv("HWLOC_FSROOT"));
    assert_null(getenv("HWLOC_COMPONENTS"));
    assert_int_equal(nft_tmpdir_free(dir), 0);
}

static void test_real_machine(void **state)
{
    (void)state;
    setenv("HWLOC_COMPONENTS", "keepme", 1);
    nf_machine *m = NULL;
    nf_err err = {{0}};
    int rc = nf_machine_open("/sys", "/proc", &m, &err);
    if (rc)
        fail_msg("real /sys: %s", err.msg);
    assert_string_equal(getenv("HWLOC_COMPONENTS"), "keepme");
    unsetenv("HWLOC_COMPONENTS");
    nf_machine_info info;
    nf_machine_get_info(m, &info);
    assert_false(info.fake_root);
    assert_string_equal(info.fsroot, "/");
    assert_true(info.packages >= 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(info.pus, ncpu);
    nf_topology t = {0};
    assert_int_equal(nf_machine_read(m, &t), 0);
    assert_true(t.n_numa_nodes >= 1);
    size_t cpus = 0;
    for (size_t i = 0; i < t.n_numa_nodes; i++) {
        cpus += nf_cpuset_count(&t.numa_nodes[i].cpus.online);
        assert_true(t.numa_nodes[i].mem_total > 0);
        assert_true(t.numa_nodes[i].mem_free >= 0);
        assert_null(t.numa_nodes[i].mem_error);
    }
    assert_int_equal(cpus, (size_t)ncpu);
    nf_topology_free(&t);
    nf_machine_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snc2),
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_vfs_socket1),
        cmocka_unit_test(test_bench_counts),
        cmocka_unit_test(test_refresh_in_place),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_more_garbage),
        cmocka_unit_test(test_bad_roots),
        cmocka_unit_test(test_real_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
