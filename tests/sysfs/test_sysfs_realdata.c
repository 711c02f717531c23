/* test_sysfs_realdata.c - nf_machine_open/read and nf_sriov_scan on every real machine tree in
 * tests/realdata/hwloc-linux: no crash, and the package / NUMA node / PU counts hwloc's own
 * expected output (.console or .xml beside the tarball) gives, except where numafit's view
 * differs from hwloc's on purpose (see `why` below and the realdata README table). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "numafit/fileio.h"
#include "sysfs_machine.h"
#include "sysfs_sriov.h"
#include "testutil.h"

#define HW NF_REALDATA_DIR "/hwloc-linux/"

typedef struct counts {
    int packages, numa, pus;
} counts;

/* Counts from hwloc's expected output: the "depth N: COUNT Type" summary of a .console, or the
 * <object type="Type" elements of an .xml. */
static counts expected_counts(const char *file)
{
    counts c = {-1, -1, -1};
    char *text = nft_read(nft_path(HW, file), NULL);
    bool xml = strstr(file, ".xml") != NULL;
    static const char *const types[] = {"Package", "NUMANode", "PU"};
    int *dst[] = {&c.packages, &c.numa, &c.pus};
    for (int k = 0; k < 3; k++) {
        if (xml) {
            char needle[64];
            snprintf(needle, sizeof(needle), "<object type=\"%s\"", types[k]);
            int n = 0;
            for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
                n++;
            *dst[k] = n;
            continue;
        }
        for (char *line = text; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            const char *d = strstr(line, "depth ");
            int depth_count;
            char type[32];
            const char *colon = d ? strchr(d, ':') : NULL;
            if (colon && sscanf(colon + 1, "%d %31s", &depth_count, type) == 2 &&
                strcmp(type, types[k]) == 0)
                *dst[k] = depth_count;
            if (nl)
                *nl = '\n';
            line = nl ? nl + 1 : NULL;
        }
    }
    free(text);
    return c;
}

typedef struct rcase {
    const char *tarball;
    const char *expected; /* hwloc's expected output file */
    counts override;      /* -1: take the expected file's number */
    const char *why;
} rcase;

static const rcase cases[] = {
    {"128arm-2pa2n8cluster4co.tar.bz2", "128arm-2pa2n8cluster4co.console", {-1, -1, -1}, NULL},
    {"128ia64-17n4s2c.tar.bz2", "128ia64-17n4s2c.console", {-1, -1, -1}, NULL},
    /* hwloc's expected output is restricted by the captured cgroup (3 packages, 2 nodes, 4 PUs);
     * numafit loads with HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED because kubelet hands out CPUs
     * of the whole machine, not of the exporter's cgroup: raw sysfs 4 / 4 / 16. */
    {"16amd64-4n4c-cgroup-distance-merge.tar.bz2",
     "16amd64-4n4c-cgroup-distance-merge.console",
     {4, 4, 16},
     "cgroup restriction ignored on purpose"},
    {"20em64t-hybrid-1p6c2t+2ca4co1t.tar.bz2",
     "20em64t-hybrid-1p6c2t+2ca4co1t.console",
     {-1, -1, -1},
     NULL},
    {"2pa-pcidomain32bits.tar.bz2", "2pa-pcidomain32bits.console", {-1, -1, -1}, NULL},
    {"32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2",
     "32em64t-2n8c+dax+nvme+mic+dimms.xml",
     {-1, -1, -1},
     NULL},
    {"32intel64-2p8co2t+8ve.tar.bz2", "32intel64-2p8co2t+8ve.console", {-1, -1, -1}, NULL},
    /* the .test sets HWLOC_PCI_LOCALITY: it only moves PCI objects, which numafit does not load */
    {"40intel64-2g2n4c+pcilocality.tar.bz2",
     "40intel64-2g2n4c+pcilocality.xml",
     {-1, -1, -1},
     NULL},
    {"48amd64-4pa2n6c-sparse.tar.bz2", "48amd64-4pa2n6c-sparse.console", {-1, -1, -1}, NULL},
    {"64amd64-4s2n4ca2co.tar.bz2", "64amd64-4s2n4ca2co.console", {-1, -1, -1}, NULL},
    {"fakeheteromemtiers.tar.bz2", "fakeheteromemtiers.console", {-1, -1, -1}, NULL},
    /* hwloc hides the 4 CPU-only nodes (MemTotal 0) and the generic-initiator node 4 and shows 6
     * memory nodes; kubelet/cadvisor see all 11 node directories and put the CPUs on nodes 0-3,
     * so numafit publishes 11. */
    {"fakememinitiators-1np2c+1npp+gi.tar.bz2",
     "fakememinitiators-1np2c+1npp+gi.console",
     {-1, 11, -1},
     "CPU-only and generic-initiator nodes kept"},
    {"memorysidecaches.tar.bz2", "memorysidecaches.console", {-1, -1, -1}, NULL},
    /* numafit keeps GPU memory nodes (HWLOC_KEEP_NVIDIA_GPU_NUMA_NODES=1): compare with the
     * "-kept" expectation (8 nodes), not with nvidiagpunumanodes.console (2). */
    {"nvidiagpunumanodes.tar.bz2", "nvidiagpunumanodes-kept.console", {-1, -1, -1}, NULL},
    {"offline-cpu0-node0.tar.bz2", "offline-cpu0-node0.console", {-1, -1, -1}, NULL},
};

static char *unpack(const char *tarball, char **top)
{
    char *dir = nft_tmpdir("sysfs");
    assert_int_equal(nft_sh("tar -xjf '" HW "%s' -C '%s'", tarball, dir), 0);
    /* the one top-level directory (its name is not always the tarball's) */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    *top = NULL;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            assert_null(*top);
            assert_true(asprintf(top, "%s/%s", dir, de->d_name) > 0);
        }
    closedir(d);
    assert_non_null(*top);
    return dir;
}

static void run_case(const rcase *rc)
{
    counts want = expected_counts(rc->expected);
    if (rc->override.packages >= 0)
        want.packages = rc->override.packages;
    if (rc->override.numa >= 0)
        want.numa = rc->override.numa;
    if (rc->override.pus >= 0)
        want.pus = rc->override.pus;
    assert_true(want.packages > 0 && want.numa > 0 && want.pus > 0);

    char *top = NULL;
    char *dir = unpack(rc->tarball, &top);
    char sys[1024], proc[1024];
    snprintf(sys, sizeof(sys), "%s/sys", top);
    snprintf(proc, sizeof(proc), "%s/proc", top);
    nf_machine *m = NULL;
    nf_err err = {{0}};
    if (nf_machine_open(sys, proc, &m, &err) != 0)
        fail_msg("%s: %s", rc->tarball, err.msg);
    nf_machine_info info;
    nf_machine_get_info(m, &info);
    nf_topology t = {0};
    assert_int_equal(nf_machine_read(m, &t), 0);
    assert_int_equal(nf_sriov_scan(sys, NULL, &t), 0);
    if (info.packages != want.packages || (int)t.n_numa_nodes != want.numa || info.pus != want.pus)
        fail_msg("%s: got packages/NUMA/PUs %d/%zu/%d, want %d/%d/%d (%s)", rc->tarball,
                 info.packages, t.n_numa_nodes, info.pus, want.packages, want.numa, want.pus,
                 rc->why ? rc->why : rc->expected);
    assert_int_equal(info.numa_nodes, (int)t.n_numa_nodes);
    assert_int_equal((int)t.n_sockets, want.packages);
    /* every online PU is on exactly one NUMA node, as kubelet sees it */
    nf_cpuset all = {0};
    size_t sum = 0;
    for (size_t i = 0; i < t.n_numa_nodes; i++) {
        const nf_numa_node *n = &t.numa_nodes[i];
        sum += nf_cpuset_count(&n->cpus.online);
        assert_int_equal(nf_cpuset_or(&all, &all, &n->cpus.online), 0);
        if (!nf_cpuset_empty(&n->cpus.online)) {
            if (n->cpus.threads_per_core < 1)
                fail_msg("%s: node %d: threadsPerCore %d", rc->tarball, n->id,
                         n->cpus.threads_per_core);
            /* a node spanning several packages (the IA64 Superdome: 4 per node) has no one
             * socket: unknown, and said */
            if (n->socket < 0) {
                char needle[96];
                snprintf(needle, sizeof(needle), "NUMA node %d: its CPUs belong to several", n->id);
                bool said = false;
                for (size_t e = 0; e < t.n_errors; e++)
                    said |= strstr(t.errors[e], needle) != NULL;
                if (!said)
                    fail_msg("%s: node %d: socket unknown without a reason", rc->tarball, n->id);
            }
        }
        /* sizes in the hugepage list are sorted and named */
        for (size_t h = 0; h < n->n_hugepages; h++) {
            assert_non_null(strstr(n->hugepages[h].name, "hugepages-"));
            if (h)
                assert_true(n->hugepages[h].page_bytes > n->hugepages[h - 1].page_bytes);
        }
    }
    if (strcmp(rc->tarball, "offline-cpu0-node0.tar.bz2") == 0) {
        /* hwloc devs took node0 offline but left 9 of its CPUs online: no node lists them */
        assert_int_equal(sum, 8);
        bool said = false;
        for (size_t e = 0; e < t.n_errors; e++)
            said |= strstr(t.errors[e], "are in no NUMA node directory") != NULL;
        assert_true(said);
    } else {
        assert_int_equal(sum, (size_t)want.pus);
        assert_true(nf_cpuset_equal(&all, info.online));
    }
    nf_cpuset_free(&all);

    if (strcmp(rc->tarball, "32intel64-2p8co2t+8ve.tar.bz2") == 0) {
        /* the one capture with SR-IOV PFs: two X722 ports on node 0, no VF enabled */
        assert_int_equal(t.numa_nodes[0].n_devices, 2);
        static const char *const pci[] = {"0000:60:00.0", "0000:60:00.1"};
        static const char *const netdev[] = {"enp96s0f0", "enp96s0f1"};
        for (int i = 0; i < 2; i++) {
            const nf_device_group *g = &t.numa_nodes[0].devices[i];
            assert_string_equal(g->pf.pci, pci[i]);
            assert_string_equal(g->pf.netdev, netdev[i]);
            assert_string_equal(g->pf.vendor, "8086");
            assert_string_equal(g->pf.device, "37d2");
            assert_string_equal(g->pf.driver, "i40e");
            assert_int_equal(g->pf.total_vfs, 64);
            assert_int_equal(g->pf.num_vfs, 0);
            assert_int_equal(g->pf.numa_node, 0);
            assert_int_equal(g->n_vfs, 0);
            assert_null(g->resource);
        }
        /* 2048 x 2M hugepages on each node */
        assert_string_equal(t.numa_nodes[0].hugepages[0].name, "hugepages-2Mi");
        assert_int_equal(t.numa_nodes[0].hugepages[0].total, 2048);
        assert_int_equal(t.numa_nodes[1].hugepages[0].total, 2048);
    }
    if (strcmp(rc->tarball, "128arm-2pa2n8cluster4co.tar.bz2") == 0) {
        /* four page sizes, named as kubelet names them */
        const nf_numa_node *n = &t.numa_nodes[0];
        assert_int_equal(n->n_hugepages, 4);
        assert_string_equal(n->hugepages[0].name, "hugepages-64Ki");
        assert_string_equal(n->hugepages[1].name, "hugepages-2Mi");
        assert_string_equal(n->hugepages[2].name, "hugepages-32Mi");
        assert_string_equal(n->hugepages[3].name, "hugepages-1Gi");
    }
    nf_topology_free(&t);
    nf_machine_free(m);
    free(top);
    assert_int_equal(nft_tmpdir_free(dir), 0);
}

static void test_every_tree(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    /* every tarball of the folder is covered */
    DIR *d = opendir(HW);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".tar.bz2"))
            continue;
        bool found = false;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            found |= strcmp(cases[i].tarball, de->d_name) == 0;
        if (!found)
            fail_msg("%s has no case in test_sysfs_realdata.c", de->d_name);
    }
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
