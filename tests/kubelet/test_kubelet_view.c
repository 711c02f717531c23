/* test_kubelet_view.c - the last good view: reload semantics (absent / error keeps last good /
 * recovery) and every field nf_kubelet_view_apply() sets, on hand-built topologies with cores and
 * SR-IOV VFs, with files in a temporary kubelet dir written as kubelet does (temp + rename). */
#include "kubelet_test_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include "kubelet_view.h"
#include "numafit/topology.h"

#define GI (1LL << 30)
#define MI (1LL << 20)

typedef struct fx {
    char *dir;
    char *kdir;
} fx;

static void put(const char *dir, const char *name, const char *text)
{
    char *path = nf_path_join(dir, name, NULL);
    nf_err err;
    if (nf_write_file_atomic(path, text, strlen(text), &err))
        fail_msg("write %s: %s", path, err.msg);
    free(path);
}

static void del(const char *dir, const char *name)
{
    char *path = nf_path_join(dir, name, NULL);
    unlink(path);
    free(path);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = nft_tmpdir("kview");
    f->kdir = nf_path_join(f->dir, "kubelet", NULL);
    assert_int_equal(nft_mkdirs(nft_path(f->kdir, "device-plugins")), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    assert_int_equal(nft_tmpdir_free(f->dir), 0);
    free(f->kdir);
    free(f);
    return 0;
}

static void add_group(nf_numa_node *n, nf_device_group **groups, size_t *ng, const char *res,
                      const char *const *vfs, size_t nvf)
{
    (void)n;
    *groups = realloc(*groups, (*ng + 1) * sizeof(**groups));
    nf_device_group *g = &(*groups)[(*ng)++];
    memset(g, 0, sizeof(*g));
    g->resource = strdup(res);
    g->vfs = calloc(nvf, sizeof(*g->vfs));
    g->n_vfs = nvf;
    for (size_t i = 0; i < nvf; i++) {
        g->vfs[i].pci = strdup(vfs[i]);
        g->vfs[i].iommu_group = NF_UNKNOWN;
    }
}

/* 2 sockets = 2 NUMA nodes, 4 HT cores each: node0 = 0-3,8-11, node1 = 4-7,12-15; VFs
 * 0000:18:01.0-2 on node 0, 0000:af:01.0 on node 1, 0000:3b:01.0 unplaced (numa_node -1). */
static void build(nf_topology *t)
{
    memset(t, 0, sizeof(*t));
    t->n_numa_nodes = 2;
    t->numa_nodes = calloc(2, sizeof(*t->numa_nodes));
    for (int i = 0; i < 2; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        n->id = i;
        n->socket = i;
        n->cpus.n_cores = 4;
        n->cpus.cores = calloc(4, sizeof(nf_cpuset));
        for (int k = 0; k < 4; k++) {
            int core = i * 4 + k;
            nf_cpuset_set(&n->cpus.cores[k], (unsigned)core);
            nf_cpuset_set(&n->cpus.cores[k], (unsigned)core + 8);
            nf_cpuset_set(&n->cpus.online, (unsigned)core);
            nf_cpuset_set(&n->cpus.online, (unsigned)core + 8);
        }
    }
    static const char *const vf0[] = {"0000:18:01.0", "0000:18:01.1", "0000:18:01.2"};
    static const char *const vf1[] = {"0000:af:01.0"};
    static const char *const vfu[] = {"0000:3b:01.0"};
    add_group(&t->numa_nodes[0], &t->numa_nodes[0].devices, &t->numa_nodes[0].n_devices,
              "intel.com/sriov", vf0, 3);
    add_group(&t->numa_nodes[1], &t->numa_nodes[1].devices, &t->numa_nodes[1].n_devices,
              "intel.com/sriov", vf1, 1);
    add_group(NULL, &t->unplaced_devices, &t->n_unplaced_devices, "intel.com/sriov", vfu, 1);
    /* stale values apply must replace */
    t->numa_nodes[0].devices[0].vfs[2].allocated = true;
    t->numa_nodes[0].devices[0].vfs[2].pod_uid = strdup("stale");
    nf_cpuset_set(&t->numa_nodes[0].cpus.allocated, 11);
}

static const char *const CPU_STATE =
    "{\"policyName\":\"static\",\"defaultCpuSet\":\"0,6,8,11,14-15\",\"entries\":{"
    "\"pod-a\":{\"app\":\"1-2,9-10\"},\"pod-b\":{\"c1\":\"4,12\",\"c2\":\"5,13\"},"
    "\"pod-c\":{\"app\":\"3,7\"}},\"checksum\":0}";

static const char *const MEM_STATE =
    "{\"policyName\":\"Static\",\"machineState\":{"
    "\"0\":{\"numberOfAssignments\":3,\"memoryMap\":{\"memory\":{\"total\":17179869184,"
    "\"systemReserved\":1178599424,\"allocatable\":16001269760,\"reserved\":3221225472,\"free\":"
    "12780044288},\"hugepages-1Gi\":{\"total\":4294967296,\"systemReserved\":0,\"allocatable\":"
    "4294967296,\"reserved\":2147483648,\"free\":2147483648}},\"cells\":[0,1]},"
    "\"1\":{\"numberOfAssignments\":1,\"memoryMap\":{\"memory\":{\"total\":17179869184,"
    "\"systemReserved\":1073741824,\"allocatable\":16106127360,\"reserved\":2147483648,\"free\":"
    "13958643712}},\"cells\":[0,1]}},"
    "\"entries\":{\"pod-a\":{\"app\":[{\"numaAffinity\":[0],\"type\":\"hugepages-1Gi\",\"size\":"
    "2147483648},{\"numaAffinity\":[0],\"type\":\"memory\",\"size\":1073741824}]},"
    "\"pod-b\":{\"c1\":[{\"numaAffinity\":[0,1],\"type\":\"memory\",\"size\":4294967296}]}},"
    "\"checksum\":0}";

static const char *const DEV_STATE =
    "{\"Data\":{\"PodDeviceEntries\":["
    "{\"PodUID\":\"pod-a\",\"ContainerName\":\"app\",\"ResourceName\":\"intel.com/sriov\","
    "\"DeviceIDs\":{\"0\":[\"0000:18:01.0\",\"0000:18:01.1\"]},\"AllocResp\":\"\"},"
    "{\"PodUID\":\"pod-b\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov\","
    "\"DeviceIDs\":{\"1\":[\"0000:AF:01.0\"]},\"AllocResp\":\"\"},"
    "{\"PodUID\":\"pod-c\",\"ContainerName\":\"app\",\"ResourceName\":\"intel.com/sriov\","
    "\"DeviceIDs\":{\"-1\":[\"0000:3b:01.0\"]},\"AllocResp\":\"\"},"
    "{\"PodUID\":\"pod-d\",\"ContainerName\":\"g\",\"ResourceName\":\"nvidia.com/gpu\","
    "\"DeviceIDs\":{\"1\":[\"GPU-1\"]},\"AllocResp\":\"\"},"
    "{\"PodUID\":\"pod-e\",\"ContainerName\":\"g\",\"ResourceName\":\"nvidia.com/gpu\","
    "\"DeviceIDs\":{\"-1\":[\"GPU-2\"]},\"AllocResp\":\"\"}],"
    "\"RegisteredDevices\":{}},\"Checksum\":0}";

static char *fixture(const char *name)
{
    return nf_path_join(NF_SOURCE_DIR, "tests", "fixtures", "kubelet", name, NULL);
}

static nf_kubelet_view *view(const fx *f, const char *config, const char *flag)
{
    char *cfg = config ? fixture(config) : NULL;
    nf_kubelet_opts o = {.kubelet_dir = f->kdir, .config_path = cfg, .reserved_cpus = flag};
    nf_kubelet_view *v = NULL;
    nf_err err = {{0}};
    int rc = nf_kubelet_view_new_err(&o, &v, &err);
    if (rc)
        fail_msg("view: %d %s", rc, err.msg);
    free(cfg);
    return v;
}

static nf_topology applied(const nf_kubelet_view *v)
{
    nf_topology t;
    build(&t);
    assert_int_equal(nf_kubelet_view_apply(v, &t), 0);
    return t;
}

static const nf_pod_usage *pod(const nf_numa_node *n, size_t i, const char *uid)
{
    assert_true(i < n->n_pods);
    assert_string_equal(n->pods[i].pod_uid, uid);
    return &n->pods[i];
}

static void amount(const nf_pod_usage *p, size_t i, const char *name, int64_t value)
{
    assert_true(i < p->n_amounts);
    assert_string_equal(p->amounts[i].name, name);
    assert_int_equal(p->amounts[i].value, value);
}

static bool has_error(const nf_topology *t, const char *needle)
{
    for (size_t i = 0; i < t->n_errors; i++)
        if (strstr(t->errors[i], needle))
            return true;
    return false;
}

static void test_nothing(void **state)
{
    fx *f = *state;
    nf_kubelet_view *v = view(f, NULL, NULL);
    assert_int_equal(nf_kubelet_view_reload(v), 0);
    nf_topology t = applied(v);
    const nf_kubelet_info *k = &t.kubelet;
    assert_null(k->cpu_manager_policy);
    assert_null(k->topology_manager_policy);
    assert_null(k->topology_manager_scope);
    assert_null(k->memory_manager_policy);
    assert_int_equal(k->n_cpu_manager_policy_options, 0);
    assert_null(k->reserved_cpus);
    assert_string_equal(k->reserved_cpus_source, "none");
    assert_string_equal(k->state_cpu_manager, "absent");
    assert_string_equal(k->state_memory_manager, "absent");
    assert_string_equal(k->state_device_plugins, "absent");
    assert_null(k->config_error);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(t.numa_nodes[i].n_pods, 0);
        assert_true(nf_cpuset_empty(&t.numa_nodes[i].cpus.allocated));
        assert_true(nf_cpuset_empty(&t.numa_nodes[i].cpus.reserved));
        assert_int_equal(t.numa_nodes[i].n_kubelet_reserved, 0);
    }
    assert_false(t.numa_nodes[0].devices[0].vfs[2].allocated);
    assert_null(t.numa_nodes[0].devices[0].vfs[2].pod_uid);
    assert_int_equal(t.n_errors, 0);

    size_t nw;
    const nf_kubelet_watch *w = nf_kubelet_view_watches(v, &nw);
    assert_int_equal(nw, 3);
    assert_string_equal(w[0].dir, f->kdir);
    assert_string_equal(w[0].name, "cpu_manager_state");
    assert_string_equal(w[1].name, "memory_manager_state");
    assert_non_null(strstr(w[2].dir, "/kubelet/device-plugins"));
    assert_string_equal(w[2].name, "kubelet_internal_checkpoint");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);

    /* policies known from the state files alone */
    put(f->kdir, "cpu_manager_state",
        "{\"policyName\":\"none\",\"defaultCpuSet\":\"\","
        "\"checksum\":3242152201}");
    v = view(f, NULL, NULL);
    t = applied(v);
    assert_string_equal(t.kubelet.cpu_manager_policy, "none");
    assert_string_equal(t.kubelet.state_cpu_manager, "ok");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
}

static void test_full(void **state)
{
    fx *f = *state;
    put(f->kdir, "cpu_manager_state", CPU_STATE);
    put(f->kdir, "memory_manager_state", MEM_STATE);
    put(f->kdir, "device-plugins/kubelet_internal_checkpoint", DEV_STATE);
    nf_kubelet_view *v = view(f, "kubelet-config-reserved-list.yaml", NULL);
    nf_topology t = applied(v);
    const nf_kubelet_info *k = &t.kubelet;
    assert_string_equal(k->cpu_manager_policy, "static");
    assert_int_equal(k->n_cpu_manager_policy_options, 2);
    assert_string_equal(nf_kv_get(k->cpu_manager_policy_options, 2, "full-pcpus-only"), "true");
    assert_string_equal(k->topology_manager_policy, "single-numa-node");
    assert_string_equal(k->topology_manager_scope, "pod");
    assert_int_equal(k->n_topology_manager_policy_options, 1);
    assert_string_equal(k->topology_manager_policy_options[0].value, "true");
    assert_string_equal(k->memory_manager_policy, "Static");
    assert_string_equal(k->reserved_cpus, "0,8");
    assert_string_equal(k->reserved_cpus_source, "kubeletConfig");
    assert_string_equal(k->state_cpu_manager, "ok");
    assert_string_equal(k->state_memory_manager, "ok");
    assert_string_equal(k->state_device_plugins, "ok");
    assert_null(k->config_error);
    if (t.n_errors)
        fail_msg("unexpected error: %s", t.errors[0]);

    const nf_numa_node *n0 = &t.numa_nodes[0], *n1 = &t.numa_nodes[1];
    assert_string_equal(nft_cpus_str(&n0->cpus.reserved), "0,8");
    assert_string_equal(nft_cpus_str(&n1->cpus.reserved), "");
    assert_string_equal(nft_cpus_str(&n0->cpus.allocated), "1-3,9-10"); /* stale 11 replaced */
    assert_string_equal(nft_cpus_str(&n1->cpus.allocated), "4-5,7,12-13");

    assert_int_equal(n0->n_pods, 3);
    const nf_pod_usage *p = pod(n0, 0, "pod-a");
    assert_string_equal(nft_cpus_str(&p->cpus), "1-2,9-10");
    assert_int_equal(p->n_amounts, 4);
    amount(p, 0, "cpu", 4);
    amount(p, 1, "memory", 1 * GI);
    amount(p, 2, "hugepages-1Gi", 2 * GI);
    amount(p, 3, "intel.com/sriov", 2);
    /* pod-b's 4Gi block spans nodes 0 and 1: node 0 takes up to its reserved 3Gi (1Gi is pod-a's)
     */
    p = pod(n0, 1, "pod-b");
    assert_true(nf_cpuset_empty(&p->cpus));
    assert_int_equal(p->n_amounts, 1);
    amount(p, 0, "memory", 2 * GI);
    p = pod(n0, 2, "pod-c");
    assert_string_equal(nft_cpus_str(&p->cpus), "3");
    assert_int_equal(p->n_amounts, 1);
    amount(p, 0, "cpu", 1);

    assert_int_equal(n1->n_pods, 3);
    p = pod(n1, 0, "pod-b");
    assert_string_equal(nft_cpus_str(&p->cpus), "4-5,12-13");
    assert_int_equal(p->n_amounts, 3);
    amount(p, 0, "cpu", 4);
    amount(p, 1, "memory", 2 * GI);
    amount(p, 2, "intel.com/sriov", 1);
    p = pod(n1, 1, "pod-c");
    assert_string_equal(nft_cpus_str(&p->cpus), "7");
    amount(p, 0, "cpu", 1);
    assert_int_equal(p->n_amounts, 1); /* its VF is unplaced: not counted on a node */
    p = pod(n1, 2, "pod-d");
    assert_true(nf_cpuset_empty(&p->cpus));
    assert_int_equal(p->n_amounts, 1);
    amount(p, 0, "nvidia.com/gpu", 1); /* non-VF device: the checkpoint's NUMA node */

    const nf_vf *vf = n0->devices[0].vfs;
    assert_true(vf[0].allocated);
    assert_string_equal(vf[0].pod_uid, "pod-a");
    assert_true(vf[1].allocated);
    assert_string_equal(vf[1].pod_uid, "pod-a");
    assert_false(vf[2].allocated); /* stale flag reset */
    assert_null(vf[2].pod_uid);
    assert_true(n1->devices[0].vfs[0].allocated); /* PCI address matched case-insensitively */
    assert_string_equal(n1->devices[0].vfs[0].pod_uid, "pod-b");
    assert_true(t.unplaced_devices[0].vfs[0].allocated);
    assert_string_equal(t.unplaced_devices[0].vfs[0].pod_uid, "pod-c");

    assert_int_equal(n0->n_kubelet_reserved, 2);
    assert_int_equal(nf_amount_get(n0->kubelet_reserved, 2, "memory"), 1124 * MI);
    assert_int_equal(nf_amount_get(n0->kubelet_reserved, 2, "hugepages-1Gi"), GI);
    assert_int_equal(n1->n_kubelet_reserved, 1);
    assert_int_equal(nf_amount_get(n1->kubelet_reserved, 1, "memory"), GI);

    /* apply is idempotent on the same topology */
    assert_int_equal(nf_kubelet_view_apply(v, &t), 0);
    assert_int_equal(t.numa_nodes[0].n_pods, 3);
    assert_int_equal(t.numa_nodes[0].pods[0].n_amounts, 4);
    assert_int_equal(t.numa_nodes[0].n_kubelet_reserved, 2);
    nf_topology_free(&t);

    size_t nw;
    const nf_kubelet_watch *w = nf_kubelet_view_watches(v, &nw);
    assert_int_equal(nw, 4);
    assert_string_equal(w[3].name, "kubelet-config-reserved-list.yaml");
    assert_non_null(strstr(w[3].dir, "tests/fixtures/kubelet"));
    nf_kubelet_view_free(v);
}

static void test_last_good(void **state)
{
    fx *f = *state;
    put(f->kdir, "cpu_manager_state", CPU_STATE);
    put(f->kdir, "device-plugins/kubelet_internal_checkpoint", DEV_STATE);
    nf_kubelet_view *v = view(f, NULL, NULL);
    assert_int_equal(nf_kubelet_view_reload(v), 0); /* nothing changed since new() */

    /* truncated mid-write: error, the allocation stays */
    char half[64];
    snprintf(half, sizeof(half), "%.40s", CPU_STATE);
    put(f->kdir, "cpu_manager_state", half);
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    assert_int_equal(nf_kubelet_view_reload(v), 0); /* same bytes: no change */
    nf_topology t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "error: "));
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "invalid JSON"));
    assert_string_equal(t.kubelet.cpu_manager_policy, "static"); /* from the last good state */
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.allocated), "1-3,9-10");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[1].cpus.allocated), "4-5,7,12-13");
    assert_int_equal(t.numa_nodes[0].n_pods, 2);
    nf_topology_free(&t);

    /* bad checksum: error, still the last good data */
    put(f->kdir, "cpu_manager_state",
        "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-15\",\"checksum\":1234}");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "checksum mismatch"));
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.allocated), "1-3,9-10");
    nf_topology_free(&t);

    /* corrupt device checkpoint: VFs stay allocated */
    put(f->kdir, "device-plugins/kubelet_internal_checkpoint",
        "{\"Data\":{\"PodDeviceEntries\":7}}");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.state_device_plugins, "error: "));
    assert_true(t.numa_nodes[0].devices[0].vfs[0].allocated);
    nf_topology_free(&t);

    /* a good new state: ok, new numbers */
    put(f->kdir, "cpu_manager_state",
        "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-5,7-15\",\"entries\":{\"pod-z\":{\"x\":"
        "\"6\"}},\"checksum\":0}");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_string_equal(t.kubelet.state_cpu_manager, "ok");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.allocated), "");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[1].cpus.allocated), "6");
    assert_int_equal(t.numa_nodes[1].n_pods, 3); /* pod-b (VF), pod-d (GPU), pod-z */
    assert_string_equal(t.numa_nodes[1].pods[2].pod_uid, "pod-z");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[1].pods[2].cpus), "6");
    nf_topology_free(&t);

    /* removed after a good read: the last good view stays for the grace period (test_grace) */
    del(f->kdir, "cpu_manager_state");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    assert_int_equal(nf_kubelet_view_reload(v), 0);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "no such file"));
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "keeping the last good view"));
    assert_string_equal(t.kubelet.cpu_manager_policy, "static");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[1].cpus.allocated), "6");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
}

static int64_t t_mono = 1000000, t_wall = 1764842400; /* 2025-12-04T10:00:00Z */

static int reload_after(nf_kubelet_view *v, int64_t ms)
{
    t_mono += ms;
    t_wall += ms / 1000;
    return nf__kubelet_view_reload_at(v, t_mono, t_wall);
}

/* Inputs lost as operators and kubelet lose them: a deleted state file, a config truncated by an
 * editor, a deleted device checkpoint. The last good view holds through the grace period, then
 * the numbers it fed are unknown, never "all free" and never the defaults. */
static void test_grace(void **state)
{
    fx *f = *state;
    put(f->kdir, "cpu_manager_state", CPU_STATE);
    put(f->kdir, "device-plugins/kubelet_internal_checkpoint", DEV_STATE);
    put(f->dir, "k.yaml",
        "kind: KubeletConfiguration\ncpuManagerPolicy: static\n"
        "reservedSystemCPUs: \"0,8\"\ntopologyManagerPolicy: restricted\n");
    char *cfg = nf_path_join(f->dir, "k.yaml", NULL);
    nf_kubelet_opts o = {.kubelet_dir = f->kdir, .config_path = cfg, .grace_ms = 60000};
    nf_kubelet_view *v = NULL;
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    assert_int_equal(reload_after(v, 0), 0);

    /* cpu_manager_state deleted: kept 59 s, marked with when it was read and lost */
    del(f->kdir, "cpu_manager_state");
    assert_int_equal(reload_after(v, 1000), 1);
    assert_int_equal(reload_after(v, 59000), 0); /* same status text: the generation stays */
    nf_topology t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "no such file (since 2025-12-04T10:00"));
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "keeping the last good view, read at "));
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "for the 60s grace period"));
    assert_false(t.numa_nodes[0].cpus.allocated_unknown);
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.allocated), "1-3,9-10");
    nf_kubelet_unknown u;
    nf_kubelet_view_unknown(v, &u);
    assert_null(u.cpu_assigned);
    nf_topology_free(&t);

    /* past the grace period: unknown, with the reason */
    assert_int_equal(reload_after(v, 1000), 1);
    assert_int_equal(reload_after(v, 0), 0);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "was dropped after the 60s grace"));
    assert_true(t.numa_nodes[0].cpus.allocated_unknown);
    assert_true(t.numa_nodes[1].cpus.allocated_unknown);
    assert_int_equal(t.numa_nodes[0].n_pods, 1); /* pod-a's VFs only, no CPU entries */
    assert_string_equal(t.kubelet.cpu_manager_policy, "static"); /* from the config */
    nf_kubelet_view_unknown(v, &u);
    assert_non_null(u.cpu_assigned);
    assert_non_null(strstr(u.cpu_assigned, "cpu_manager_state lost"));
    assert_null(u.reserved_cpus);
    assert_null(u.devices);
    nf_kubelet_input in[NF_KUBELET_INPUTS];
    nf_kubelet_view_inputs(v, in);
    assert_string_equal(in[2].input, "cpuManagerState");
    assert_non_null(in[2].problem);
    assert_null(in[0].problem);
    assert_null(in[1].problem);
    nf_topology_free(&t);

    /* kubelet writes it again: known again */
    put(f->kdir, "cpu_manager_state", CPU_STATE);
    assert_int_equal(reload_after(v, 100), 1);
    t = applied(v);
    assert_string_equal(t.kubelet.state_cpu_manager, "ok");
    assert_false(t.numa_nodes[0].cpus.allocated_unknown);
    nf_kubelet_view_unknown(v, &u);
    assert_null(u.cpu_assigned);
    nf_topology_free(&t);

    /* an editor's save: truncated to nothing, then written. Never kubelet's defaults. */
    put(f->dir, "k.yaml", "");
    assert_int_equal(reload_after(v, 100), 1);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.config_error, "empty file"));
    assert_string_equal(t.kubelet.cpu_manager_policy, "static");
    assert_string_equal(t.kubelet.topology_manager_policy, "restricted");
    assert_string_equal(t.kubelet.reserved_cpus, "0,8");
    nf_topology_free(&t);
    put(f->dir, "k.yaml",
        "kind: KubeletConfiguration\ncpuManagerPolicy: static\n"
        "reservedSystemCPUs: \"0-1,8\"\ntopologyManagerPolicy: restricted\n");
    assert_int_equal(reload_after(v, 100), 1);
    t = applied(v);
    assert_null(t.kubelet.config_error);
    assert_string_equal(t.kubelet.reserved_cpus, "0-1,8");
    nf_topology_free(&t);

    /* the config deleted for good: the reserved CPUs become unknown, not "none" */
    del(f->dir, "k.yaml");
    assert_int_equal(reload_after(v, 100), 1);
    t = applied(v);
    assert_string_equal(t.kubelet.reserved_cpus, "0-1,8");
    assert_false(t.numa_nodes[0].cpus.reserved_unknown);
    nf_topology_free(&t);
    assert_int_equal(reload_after(v, 60000), 1);
    t = applied(v);
    assert_true(t.numa_nodes[0].cpus.reserved_unknown);
    assert_null(t.kubelet.reserved_cpus);
    assert_non_null(strstr(t.kubelet.reserved_cpus_source, "unknown: kubelet config lost"));
    nf_kubelet_view_unknown(v, &u);
    assert_non_null(u.reserved_cpus);
    assert_non_null(u.reserved_memory);
    nf_topology_free(&t);

    /* the device checkpoint deleted: VFs keep their pods, then their allocation is unknown */
    del(f->kdir, "device-plugins/kubelet_internal_checkpoint");
    assert_int_equal(reload_after(v, 100), 1);
    t = applied(v);
    assert_true(t.numa_nodes[0].devices[0].vfs[0].allocated);
    assert_false(t.numa_nodes[0].devices[0].vfs[0].allocation_unknown);
    nf_topology_free(&t);
    assert_int_equal(reload_after(v, 60000), 1);
    t = applied(v);
    assert_false(t.numa_nodes[0].devices[0].vfs[0].allocated);
    assert_true(t.numa_nodes[0].devices[0].vfs[0].allocation_unknown);
    assert_true(t.unplaced_devices[0].vfs[0].allocation_unknown);
    nf_kubelet_view_unknown(v, &u);
    assert_non_null(strstr(u.devices, "device checkpoint lost"));
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
    free(cfg);
}

/* Misconfigurations that used to be silent: each is an input problem (warned, errors[],
 * metric). */
static void test_input_problems(void **state)
{
    fx *f = *state;
    put(f->dir, "k.yaml",
        "kind: KubeletConfiguration\ncpuManagerPolicy: static\n"
        "reservedSystemCPUs: \"0\"\nmemoryManagerPolicy: Static\n");
    char *cfg = nf_path_join(f->dir, "k.yaml", NULL);
    nf_kubelet_opts o = {.kubelet_dir = f->kdir, .config_path = cfg};
    nf_kubelet_view *v = NULL;
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    nf_kubelet_input in[NF_KUBELET_INPUTS];
    nf_kubelet_view_inputs(v, in);
    assert_null(in[0].problem);
    assert_null(in[1].problem);
    assert_non_null(strstr(in[2].problem, "cpuManagerPolicy is static but"));
    assert_non_null(strstr(in[3].problem, "memoryManagerPolicy is Static but"));
    assert_null(in[4].problem); /* no device plugins: nothing to say */
    nf_kubelet_view_free(v);

    /* a config that does not parse, from the start: a problem, and the reserved CPUs unknown */
    put(f->dir, "k.yaml", "cpuManagerPolicy: [");
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    nf_kubelet_view_inputs(v, in);
    assert_non_null(strstr(in[1].problem, "kubelet config error: "));
    nf_topology t = applied(v);
    assert_true(t.numa_nodes[0].cpus.reserved_unknown);
    nf_topology_free(&t);
    nf_kubelet_view_free(v);

    /* a config path that does not exist */
    unlink(cfg);
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    nf_kubelet_view_inputs(v, in);
    assert_non_null(strstr(in[1].problem, "kubelet config error: "));
    assert_non_null(strstr(in[1].problem, "k.yaml: no such file"));
    nf_kubelet_view_free(v);

    /* a kubelet dir that does not exist */
    o = (nf_kubelet_opts){.kubelet_dir = "/nonexistent/kubelet"};
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    nf_kubelet_view_inputs(v, in);
    assert_string_equal(in[0].input, "kubeletDir");
    assert_non_null(strstr(in[0].problem, "--kubelet-dir /nonexistent/kubelet is not a directory"));
    nf_kubelet_view_free(v);

    /* a FIFO in place of a state file: refused at once, never a blocked read */
    char *fifo = nf_path_join(f->kdir, "cpu_manager_state", NULL);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    o = (nf_kubelet_opts){.kubelet_dir = f->kdir};
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.state_cpu_manager, "is a FIFO, not a regular file"));
    assert_true(t.numa_nodes[0].cpus.allocated_unknown);
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
    unlink(fifo);
    free(fifo);
    free(cfg);
}

static void test_reserved_sources(void **state)
{
    fx *f = *state;
    /* kubeReserved 1 + systemReserved 500m -> 2 CPUs picked as the static policy does: core 0 */
    nf_kubelet_view *v = view(f, "kubelet-config-computed.yaml", NULL);
    nf_topology t = applied(v);
    assert_string_equal(t.kubelet.reserved_cpus, "0,8");
    assert_string_equal(t.kubelet.reserved_cpus_source,
                        "computed: kubeReserved+systemReserved cpu=1500m (2 CPUs)");
    assert_string_equal(t.kubelet.topology_manager_policy, "restricted");
    assert_string_equal(t.kubelet.topology_manager_scope, "container");
    assert_string_equal(t.kubelet.memory_manager_policy, "None");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.reserved), "0,8");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[1].cpus.reserved), "");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);

    /* a whole number, written by the test as kubelet's config would be */
    put(f->dir, "k.yaml",
        "kind: KubeletConfiguration\ncpuManagerPolicy: static\n"
        "kubeReserved: {cpu: \"2\"}\nsystemReserved: {cpu: 1}\n");
    char *cfg = nf_path_join(f->dir, "k.yaml", NULL);
    nf_kubelet_opts o = {.kubelet_dir = f->kdir, .config_path = cfg};
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    t = applied(v);
    assert_string_equal(t.kubelet.reserved_cpus, "0-1,8"); /* core 0, then thread 1 */
    assert_string_equal(t.kubelet.reserved_cpus_source,
                        "computed: kubeReserved+systemReserved cpu=3");
    nf_topology_free(&t);

    /* a broken config keeps the last good one and says so */
    put(f->dir, "k.yaml", "cpuManagerPolicy: [");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_non_null(t.kubelet.config_error);
    assert_non_null(strstr(t.kubelet.config_error, "error: "));
    assert_string_equal(t.kubelet.reserved_cpus, "0-1,8");
    nf_topology_free(&t);

    /* static without any reserved CPU: flagged, none reserved */
    put(f->dir, "k.yaml", "cpuManagerPolicy: static\n");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_null(t.kubelet.config_error);
    assert_null(t.kubelet.reserved_cpus);
    assert_string_equal(t.kubelet.reserved_cpus_source, "none");
    assert_true(has_error(&t, "kubeReserved.cpu + systemReserved.cpu = 0"));
    nf_topology_free(&t);

    /* policy none: no computed reservation */
    put(f->dir, "k.yaml", "cpuManagerPolicy: none\nsystemReserved: {cpu: 2}\n");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_string_equal(t.kubelet.cpu_manager_policy, "none");
    assert_null(t.kubelet.reserved_cpus);
    assert_string_equal(t.kubelet.reserved_cpus_source, "none");
    nf_topology_free(&t);

    /* missing config file */
    del(f->dir, "k.yaml");
    assert_int_equal(nf_kubelet_view_reload(v), 1);
    t = applied(v);
    assert_non_null(strstr(t.kubelet.config_error, "no such file"));
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
    free(cfg);

    /* the flag wins over the config */
    v = view(f, "kubelet-config-reserved-list.yaml", "1-2");
    t = applied(v);
    assert_string_equal(t.kubelet.reserved_cpus, "1-2");
    assert_string_equal(t.kubelet.reserved_cpus_source, "flag");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.reserved), "1-2");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);

    nf_err err = {{0}};
    o = (nf_kubelet_opts){.kubelet_dir = f->kdir, .reserved_cpus = "0-999999"};
    assert_int_equal(nf_kubelet_view_new_err(&o, &v, &err), -ERANGE);
    assert_non_null(strstr(err.msg, "--reserved-cpus"));
}

static void test_inconsistent(void **state)
{
    fx *f = *state;
    /* CPUs that are not online, a policy that differs from the config, memory and reservedMemory
     * on a NUMA node the machine does not have */
    put(f->kdir, "cpu_manager_state",
        "{\"policyName\":\"none\",\"defaultCpuSet\":\"0\",\"entries\":{\"p\":{\"c\":\"3,40-41\"}},"
        "\"checksum\":0}");
    put(f->kdir, "memory_manager_state",
        "{\"policyName\":\"Static\",\"entries\":{\"p\":{\"c\":[{\"numaAffinity\":[7],\"type\":"
        "\"memory\",\"size\":5}]}},\"checksum\":0}");
    put(f->dir, "k.yaml",
        "cpuManagerPolicy: static\nreservedSystemCPUs: 0,99\n"
        "reservedMemory:\n  - numaNode: 3\n    limits: {memory: 1Gi}\n");
    char *cfg = nf_path_join(f->dir, "k.yaml", NULL);
    nf_kubelet_opts o = {.kubelet_dir = f->kdir, .config_path = cfg};
    nf_kubelet_view *v;
    assert_int_equal(nf_kubelet_view_new(&o, &v), 0);
    nf_topology t = applied(v);
    assert_true(has_error(&t, "cpu_manager_state assigns CPUs 40-41"));
    assert_true(has_error(&t, "reserved CPU list names CPUs 99"));
    assert_true(has_error(&t, "differs from the KubeletConfiguration"));
    assert_true(has_error(&t, "NUMA node 7"));
    assert_true(has_error(&t, "reservedMemory names NUMA node 3"));
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.allocated), "3");
    assert_string_equal(nft_cpus_str(&t.numa_nodes[0].cpus.reserved), "0");
    nf_topology_free(&t);
    nf_kubelet_view_free(v);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inconsistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_problems, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
