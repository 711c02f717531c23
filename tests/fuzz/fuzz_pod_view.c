/* fuzz_pod_view.c - numafit-pod's readers on a container view made of the input.
 *
 * The input is split at "\n--\n" into: the downward API annotations file (Multus'
 * network-status inside), self/mountinfo, the cgroup v2 hugetlb.1GB.max, self/limits, the value
 * of PCIDEVICE_FUZZ and self/status; they are written as files next to a fixed sysfs tree (two
 * NUMA nodes, VFs 0000:18:01.0 on node 0 and 0000:86:01.0 on node 1).
 *
 * Properties: reading the view either succeeds or fails with a message; on success the verdict
 * and the EAL arguments are made, every VF is a valid PCI address, the --huge-dir mount is a
 * writable hugetlbfs of the view, aligned means no problem, and both output forms are written. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "numafit/fileio.h"
#include "pod_eal.h"

/* On tmpfs when there is one: on ext4 each rewrite of a file (truncate + close) starts block
 * writeback, which held this target to ~1,100 inputs/s. */
static char root[64];

static void put(const char *rel, const char *text, size_t len)
{
    char *p = nf_path_join(root, rel, NULL);
    for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f))
        abort();
    free(p);
}

static void puts_file(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static void cleanup(void)
{
    char cmd[sizeof(root) + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd)) {
    }
}

static void make_sysfs(void)
{
    struct stat st;
    snprintf(root, sizeof(root), "%s/nf-fuzz-pod-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(root))
        abort();
    atexit(cleanup);
    puts_file("sys/devices/system/node/online", "0-1\n");
    puts_file("sys/devices/system/node/node0/cpulist", "0-1,4-5\n");
    puts_file("sys/devices/system/node/node1/cpulist", "2-3,6-7\n");
    puts_file("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
    puts_file("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "4\n");
    puts_file("sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages", "2\n");
    puts_file("sys/bus/pci/devices/0000:18:01.0/numa_node", "0\n");
    puts_file("sys/bus/pci/devices/0000:86:01.0/numa_node", "1\n");
    puts_file("cgroup/cgroup.controllers", "hugetlb memory\n");
    puts_file("proc/self/cgroup", "0::/\n");
    puts_file("proc/meminfo", "Hugepagesize:       2048 kB\n");
    char *m = nf_path_join(root, "mnt", NULL);
    mkdir(m, 0755);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const files[] = {"podinfo/annotations",
                                        "proc/self/mountinfo",
                                        "cgroup/hugetlb.1GB.max",
                                        "proc/self/limits",
                                        NULL,
                                        "proc/self/status"};
    if (!root[0])
        make_sysfs();
    char *in = nf_fuzz_cstr(data, size), *part = in, env_var[4096] = "PCIDEVICE_FUZZ=";
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *end = part ? strstr(part, "\n--\n") : NULL;
        if (end)
            *end = '\0';
        const char *text = part ? part : "";
        if (files[i])
            puts_file(files[i], text);
        else
            snprintf(env_var + strlen(env_var), sizeof(env_var) - strlen(env_var), "%s", text);
        part = end ? end + 4 : NULL;
    }
    char *sys = nf_path_join(root, "sys", NULL), *proc = nf_path_join(root, "proc", NULL);
    char *cg = nf_path_join(root, "cgroup", NULL), *pi = nf_path_join(root, "podinfo", NULL);
    nf_pod_roots r = {.sysfs = sys, .procfs = proc, .cgroup = cg, .podinfo = pi};
    char *envp[] = {env_var, NULL};
    nf_pod_view v;
    nf_err err = {{0}};
    int rc = nf_pod_view_read(&r, envp, &v, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc == -ENOMEM || err.msg[0], "failed read (%d) says why", rc);
    } else {
        for (size_t i = 0; i < v.vfs.n; i++)
            NF_FUZZ_CHECK(nf_pod_bdf_valid(v.vfs.vf[i].bdf), "VF \"%s\"", v.vfs.vf[i].bdf);
        nf_pod_verdict vd;
        NF_FUZZ_CHECK(nf_pod_verdict_make(&v, &vd) == 0, "verdict");
        NF_FUZZ_CHECK(vd.aligned == (vd.n_problems == 0), "aligned = no problem");
        if (vd.mount) {
            bool found = false;
            for (size_t i = 0; i < v.huge.n_mounts; i++)
                found |= vd.mount == &v.huge.mount[i];
            NF_FUZZ_CHECK(found && vd.mount->writable, "--huge-dir is a writable mount");
        }
        nf_pod_eal e;
        nf_buf line = {0}, json = {0};
        NF_FUZZ_CHECK(nf_pod_eal_make(&v, &vd, &e) == 0, "eal-args");
        NF_FUZZ_CHECK(nf_pod_eal_line(&e, &line) == 0 && line.len > 0, "line");
        NF_FUZZ_CHECK(nf_pod_eal_json(&e, &v, &vd, &json) == 0 && json.p[0] == '{', "json");
        nf_buf_free(&line);
        nf_buf_free(&json);
        nf_pod_eal_free(&e);
        nf_pod_verdict_free(&vd);
        nf_pod_view_free(&v);
    }
    free(sys);
    free(proc);
    free(cg);
    free(pi);
    free(in);
    return 0;
}
