/* test_topology_json.c - NodeTopology <-> JSON: round trips, the DESIGN.md example, and every
 * decoder error naming its JSON path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/fileio.h"
#include "numafit/topology_json.h"
#include "testutil.h"

static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

static nf_kv *kvs(size_t n, ...)
{
    nf_kv *kv = calloc(n, sizeof(*kv));
    assert_non_null(kv);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = xstrdup(va_arg(ap, const char *));
        kv[i].value = xstrdup(va_arg(ap, const char *));
    }
    va_end(ap);
    return kv;
}

static int *ints(size_t n, ...)
{
    int *a = calloc(n, sizeof(int));
    assert_non_null(a);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        a[i] = va_arg(ap, int);
    va_end(ap);
    return a;
}

static void resource(nf_numa_node *n, const char *name, int64_t cap, int64_t alloc, int64_t avail,
                     int64_t usable)
{
    nf_resource *r = nf_numa_resource_add(n, name);
    assert_non_null(r);
    assert_int_equal(r->usable, NF_UNKNOWN); /* a new resource starts "not probed" */
    r->capacity = cap;
    r->allocatable = alloc;
    r->available = avail;
    r->usable = usable;
}

static void fill_pf(nf_pf *pf, const char *pci, int numa)
{
    pf->pci = xstrdup(pci);
    pf->netdev = xstrdup("ens1f0");
    pf->vendor = xstrdup("8086");
    pf->device = xstrdup("1592");
    pf->driver = xstrdup("ice");
    pf->total_vfs = 64;
    pf->num_vfs = 2;
    pf->numa_node = numa;
}

/* A topology with every field set, unknown values included. */
static void build(nf_topology *t)
{
    memset(t, 0, sizeof(*t));
    t->node = xstrdup("worker-1");
    t->generation = 17;
    t->observed_at = 1795615200;
    nf_kubelet_info *k = &t->kubelet;
    k->cpu_manager_policy = xstrdup("static");
    k->cpu_manager_policy_options = kvs(2, "full-pcpus-only", "true", "align-by-socket", "false");
    k->n_cpu_manager_policy_options = 2;
    k->topology_manager_policy = xstrdup("single-numa-node");
    k->topology_manager_scope = xstrdup("pod");
    k->topology_manager_policy_options = kvs(1, "prefer-closest-numa-nodes", "true");
    k->n_topology_manager_policy_options = 1;
    k->memory_manager_policy = xstrdup("None");
    k->reserved_cpus = xstrdup("0,48");
    k->reserved_cpus_source = xstrdup("kubeletConfig");
    k->state_cpu_manager = xstrdup("ok");
    k->state_memory_manager = xstrdup("absent");
    k->state_device_plugins = xstrdup("error: checksum mismatch");
    k->config_error = xstrdup("error: /etc/kubelet.yaml: line 3");

    t->n_sockets = 2;
    t->sockets = calloc(2, sizeof(*t->sockets));
    assert_non_null(t->sockets);
    t->sockets[0].id = 0;
    t->sockets[0].numa_nodes = ints(1, 0);
    t->sockets[0].n_numa_nodes = 1;
    t->sockets[1].id = 1;
    t->sockets[1].numa_nodes = ints(1, 1);
    t->sockets[1].n_numa_nodes = 1;

    t->n_numa_nodes = 2;
    t->numa_nodes = calloc(2, sizeof(*t->numa_nodes));
    assert_non_null(t->numa_nodes);

    nf_numa_node *n = &t->numa_nodes[0];
    n->id = 0;
    n->socket = 0;
    n->distances = ints(2, 10, 21);
    n->n_distances = 2;
    nft_cpus(&n->cpus.online, "0-11,48-59");
    nft_cpus(&n->cpus.reserved, "0,48");
    nft_cpus(&n->cpus.allocatable, "1-11,49-59");
    nft_cpus(&n->cpus.allocated, "2-5,50-53");
    nft_cpus(&n->cpus.free, "1,6-11,49,54-59");
    n->cpus.threads_per_core = 2;
    n->cpus.free_full_cores = 7;
    n->cpus.allocatable_full_cores = 11;
    n->mem_total = INT64_C(101823213568);
    n->mem_free = INT64_C(90123456512);
    n->n_hugepages = 2;
    n->hugepages = calloc(2, sizeof(*n->hugepages));
    assert_non_null(n->hugepages);
    n->hugepages[0] = (nf_hugepages){xstrdup("hugepages-1Gi"), 1073741824, 16, 12, 0, NULL};
    n->hugepages[1] = (nf_hugepages){xstrdup("hugepages-2Mi"),
                                     2097152,
                                     NF_UNKNOWN,
                                     NF_UNKNOWN,
                                     NF_UNKNOWN,
                                     xstrdup("error: nr_hugepages: Permission denied")};
    n->n_devices = 1;
    n->devices = calloc(1, sizeof(*n->devices));
    assert_non_null(n->devices);
    nf_device_group *g = &n->devices[0];
    g->resource = xstrdup("intel.com/intel_sriov_dpdk");
    fill_pf(&g->pf, "0000:18:00.0", 0);
    g->n_vfs = 2;
    g->vfs = calloc(2, sizeof(*g->vfs));
    assert_non_null(g->vfs);
    g->vfs[0] = (nf_vf){.pci = xstrdup("0000:18:01.0"),
                        .vendor = xstrdup("8086"),
                        .device = xstrdup("1889"),
                        .driver = xstrdup("vfio-pci"),
                        .iommu_group = 112,
                        .allocated = true,
                        .pod_uid = xstrdup("6f1c2f7e-0000-4000-8000-000000000001"),
                        .probe = {xstrdup("ok"), xstrdup("net_iavf"), xstrdup("02:00:00:00:00:01"),
                                  xstrdup("up"), 16, 1795615198}};
    g->vfs[1] = (nf_vf){.pci = xstrdup("0000:18:01.1"),
                        .vendor = xstrdup("8086"),
                        .device = xstrdup("1889"),
                        .driver = NULL,
                        .iommu_group = NF_UNKNOWN,
                        .allocated = false,
                        .probe = {xstrdup("failed: no driver"), NULL, NULL, xstrdup("unknown"),
                                  NF_UNKNOWN, 1795615198},
                        .error = xstrdup("error: no iommu_group link")};
    resource(n, "cpu", 24, 22, 14, NF_UNKNOWN);
    resource(n, "memory", INT64_C(101823213568), INT64_C(99000000000), INT64_C(90123456512),
             NF_UNKNOWN);
    resource(n, "hugepages-1Gi", INT64_C(17179869184), INT64_C(17179869184), INT64_C(12884901888),
             NF_UNKNOWN);
    resource(n, "intel.com/intel_sriov_dpdk", 2, 2, 1, 0);
    n->n_pods = 2;
    n->pods = calloc(2, sizeof(*n->pods));
    assert_non_null(n->pods);
    n->pods[0].pod_uid = xstrdup("6f1c2f7e-0000-4000-8000-000000000001");
    /* a pod podresources named: namespace/name, no UID */
    n->pods[1].pod_namespace = xstrdup("ran");
    n->pods[1].pod_name = xstrdup("du-0");
    nft_cpus(&n->pods[1].cpus, "6");
    assert_int_equal(nf_amount_add(&n->pods[1].amounts, &n->pods[1].n_amounts, "cpu", 1), 0);
    nft_cpus(&n->pods[0].cpus, "2-5,50-53");
    assert_int_equal(nf_amount_add(&n->pods[0].amounts, &n->pods[0].n_amounts, "cpu", 8), 0);
    assert_int_equal(nf_amount_add(&n->pods[0].amounts, &n->pods[0].n_amounts, "hugepages-1Gi",
                                   INT64_C(4294967296)),
                     0);
    assert_int_equal(
        nf_amount_add(&n->pods[0].amounts, &n->pods[0].n_amounts, "intel.com/intel_sriov_dpdk", 1),
        0);
    assert_int_equal(
        nf_amount_add(&n->kubelet_reserved, &n->n_kubelet_reserved, "memory", 1073741824), 0);
    assert_int_equal(
        nf_amount_add(&n->kubelet_reserved, &n->n_kubelet_reserved, "hugepages-1Gi", 1073741824),
        0);

    /* node 1: everything unknown or failed */
    n = &t->numa_nodes[1];
    n->id = 1;
    n->socket = NF_UNKNOWN;
    n->distances = ints(2, 21, 10);
    n->n_distances = 2;
    n->cpus.threads_per_core = NF_UNKNOWN;
    n->mem_total = NF_UNKNOWN;
    n->mem_free = NF_UNKNOWN;
    n->mem_error = xstrdup("error: node1/meminfo: No such file or directory");
    resource(n, "cpu", 0, 0, 0, NF_UNKNOWN);

    t->n_unplaced_devices = 1;
    t->unplaced_devices = calloc(1, sizeof(*t->unplaced_devices));
    assert_non_null(t->unplaced_devices);
    g = &t->unplaced_devices[0];
    fill_pf(&g->pf, "0000:af:00.0", NF_UNKNOWN);
    g->pf.total_vfs = NF_UNKNOWN;
    g->pf.num_vfs = NF_UNKNOWN;
    g->pf.error = xstrdup("numa_node is -1: not placed");
    free(g->pf.netdev);
    g->pf.netdev = NULL;

    assert_int_equal(nf_topology_add_error(t, "kubelet %s: %d", "pod-resources", 14), 0);
    assert_int_equal(nf_topology_add_error(t, "second problem"), 0);
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
    assert_non_null(s);
    return s;
}

static void test_roundtrip(void **state)
{
    (void)state;
    nf_topology t;
    build(&t);
    json_t *j1 = nf_topology_to_json(&t);
    assert_non_null(j1);

    nf_topology back;
    nf_err err = {{0}};
    int rc = nf_topology_from_json(j1, &back, &err);
    if (rc)
        fail_msg("decode: %d %s", rc, err.msg);
    json_t *j2 = nf_topology_to_json(&back);
    assert_non_null(j2);
    assert_int_equal(back.numa_nodes[0].cpus.allocatable_full_cores, 11);
    if (!json_equal(j1, j2)) {
        char *a = dump(j1), *b = dump(j2);
        fail_msg("round trip differs:\n%s\n---\n%s", a, b);
    }

    /* and through text */
    char *text = json_dumps(j1, JSON_COMPACT);
    assert_non_null(text);
    nf_topology back2;
    assert_int_equal(nf_topology_parse(text, strlen(text), &back2, &err), 0);
    json_t *j3 = nf_topology_to_json(&back2);
    assert_true(json_equal(j1, j3));
    free(text);
    json_decref(j3);
    nf_topology_free(&back2);

    /* spot checks on the decoded struct: unknowns stay unknown, strings survive */
    assert_string_equal(back.node, "worker-1");
    assert_int_equal(back.generation, 17);
    assert_int_equal(back.observed_at, 1795615200);
    assert_string_equal(nf_kv_get(back.kubelet.cpu_manager_policy_options,
                                  back.kubelet.n_cpu_manager_policy_options, "align-by-socket"),
                        "false");
    assert_string_equal(back.kubelet.config_error, "error: /etc/kubelet.yaml: line 3");
    assert_string_equal(back.kubelet.state_device_plugins, "error: checksum mismatch");
    assert_int_equal(back.n_numa_nodes, 2);
    nf_numa_node *n1 = nf_topology_numa(&back, 1);
    assert_non_null(n1);
    assert_int_equal(n1->socket, NF_UNKNOWN);
    assert_int_equal(n1->mem_total, NF_UNKNOWN);
    assert_int_equal(n1->cpus.threads_per_core, NF_UNKNOWN);
    assert_string_equal(n1->mem_error, "error: node1/meminfo: No such file or directory");
    nf_numa_node *n0 = nf_topology_numa(&back, 0);
    assert_non_null(n0);
    assert_null(nf_topology_numa(&back, 2));
    assert_int_equal(n0->n_hugepages, 2);
    for (size_t i = 0; i < n0->n_hugepages; i++) {
        if (strcmp(n0->hugepages[i].name, "hugepages-2Mi") == 0) {
            assert_int_equal(n0->hugepages[i].total, NF_UNKNOWN);
            assert_int_equal(n0->hugepages[i].page_bytes, 2097152);
            assert_string_equal(n0->hugepages[i].error, "error: nr_hugepages: Permission denied");
        } else {
            assert_int_equal(n0->hugepages[i].free, 12);
        }
    }
    assert_int_equal(nf_numa_resource(n0, "cpu")->usable, NF_UNKNOWN);
    assert_int_equal(nf_numa_resource(n0, "intel.com/intel_sriov_dpdk")->usable, 0);
    assert_int_equal(nf_numa_resource(n0, "memory")->allocatable, INT64_C(99000000000));
    assert_null(nf_numa_resource(n0, "nope"));
    nf_vf *vf = &n0->devices[0].vfs[1];
    assert_null(vf->driver);
    assert_int_equal(vf->iommu_group, NF_UNKNOWN);
    assert_int_equal(vf->probe.max_rx_queues, NF_UNKNOWN);
    assert_string_equal(vf->probe.status, "failed: no driver");
    assert_string_equal(vf->error, "error: no iommu_group link");
    vf = &n0->devices[0].vfs[0];
    assert_true(vf->allocated);
    assert_int_equal(vf->probe.checked_at, 1795615198);
    assert_int_equal(vf->probe.max_rx_queues, 16);
    assert_int_equal(n0->pods[0].n_amounts, 3);
    assert_int_equal(nf_amount_get(n0->pods[0].amounts, n0->pods[0].n_amounts, "hugepages-1Gi"),
                     INT64_C(4294967296));
    assert_int_equal(nf_amount_get(n0->kubelet_reserved, n0->n_kubelet_reserved, "memory"),
                     1073741824);
    assert_int_equal(nf_cpuset_count(&n0->pods[0].cpus), 8);
    assert_null(n0->pods[0].pod_name);
    assert_int_equal(n0->n_pods, 2);
    assert_null(n0->pods[1].pod_uid);
    assert_string_equal(n0->pods[1].pod_namespace, "ran");
    assert_string_equal(n0->pods[1].pod_name, "du-0");
    assert_int_equal(back.n_unplaced_devices, 1);
    assert_int_equal(back.unplaced_devices[0].pf.numa_node, NF_UNKNOWN);
    assert_int_equal(back.unplaced_devices[0].pf.total_vfs, NF_UNKNOWN);
    assert_null(back.unplaced_devices[0].pf.netdev);
    assert_null(back.unplaced_devices[0].resource);
    assert_int_equal(back.n_errors, 2);
    assert_string_equal(back.errors[0], "kubelet pod-resources: 14");

    /* unknown numbers are JSON null, never a number */
    json_t *jn1 = json_array_get(json_object_get(j1, "numaNodes"), 1);
    assert_true(json_is_null(json_object_get(jn1, "socket")));
    assert_true(json_is_null(json_object_get(json_object_get(jn1, "memory"), "totalBytes")));
    json_t *jr = json_object_get(json_object_get(jn1, "resources"), "cpu");
    assert_null(json_object_get(jr, "usable")); /* absent when not probed */

    json_decref(j1);
    json_decref(j2);
    nf_topology_free(&back);
    nf_topology_free(&t);
    nf_topology_free(&t); /* freeing twice is harmless */
    nf_topology_free(NULL);
}

static void test_empty_topology(void **state)
{
    (void)state;
    nf_topology t = {0};
    t.node = xstrdup("n");
    json_t *j = nf_topology_to_json(&t);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "observedAt")));
    nf_topology back;
    nf_err err = {{0}};
    assert_int_equal(nf_topology_from_json(j, &back, &err), 0);
    json_t *j2 = nf_topology_to_json(&back);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    nf_topology_free(&back);
    nf_topology_free(&t);
}

/* Strings read from sysfs or kubelet files may hold any bytes; the encoder must still produce a
 * valid document rather than fail. */
static void test_invalid_utf8_strings(void **state)
{
    (void)state;
    nf_topology t;
    build(&t);
    free(t.numa_nodes[0].devices[0].pf.netdev);
    t.numa_nodes[0].devices[0].pf.netdev = xstrdup("eth\xff\xfe");
    nf_topology_add_error(&t, "error: junk \xc3(");
    free(t.numa_nodes[0].devices[0].vfs[0].probe.status);
    t.numa_nodes[0].devices[0].vfs[0].probe.status = xstrdup("failed: \x80");
    json_t *j = nf_topology_to_json(&t);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    nf_topology back;
    nf_err err = {{0}};
    assert_int_equal(nf_topology_parse(text, strlen(text), &back, &err), 0);
    assert_int_equal(strncmp(back.numa_nodes[0].devices[0].pf.netdev, "eth", 3), 0);
    assert_int_equal(strncmp(back.errors[2], "error: junk ", 12), 0);
    assert_int_equal(strncmp(back.numa_nodes[0].devices[0].vfs[0].probe.status, "failed: ", 8), 0);
    free(text);
    json_decref(j);
    nf_topology_free(&back);
    nf_topology_free(&t);
}

static void test_design_example(void **state)
{
    (void)state;
    char *text;
    size_t len;
    nf_err err = {{0}};
    assert_int_equal(nf_read_file(NF_SOURCE_DIR "/tests/lib/data/design-example.json", 1 << 20,
                                  &text, &len, &err),
                     0);
    nf_topology t;
    int rc = nf_topology_parse(text, len, &t, &err);
    if (rc)
        fail_msg("DESIGN example: %d %s", rc, err.msg);
    free(text);
    assert_string_equal(t.node, "worker-1");
    assert_int_equal(t.generation, 17);
    assert_int_equal(t.observed_at, 1795615200);
    assert_string_equal(t.kubelet.cpu_manager_policy, "static");
    assert_string_equal(nf_kv_get(t.kubelet.cpu_manager_policy_options,
                                  t.kubelet.n_cpu_manager_policy_options, "full-pcpus-only"),
                        "true");
    assert_string_equal(t.kubelet.topology_manager_policy, "single-numa-node");
    assert_string_equal(t.kubelet.topology_manager_scope, "pod");
    assert_string_equal(t.kubelet.memory_manager_policy, "None");
    assert_string_equal(t.kubelet.reserved_cpus, "0,48");
    assert_string_equal(t.kubelet.state_cpu_manager, "ok");
    assert_string_equal(t.kubelet.state_memory_manager, "absent");
    assert_string_equal(t.kubelet.state_device_plugins, "ok");
    assert_null(t.kubelet.config_error);
    assert_int_equal(t.n_sockets, 2);
    assert_int_equal(t.sockets[1].id, 1);
    assert_int_equal(t.sockets[1].n_numa_nodes, 2);
    assert_int_equal(t.sockets[1].numa_nodes[1], 3);
    assert_int_equal(t.n_numa_nodes, 1);

    nf_numa_node *n = nf_topology_numa(&t, 0);
    assert_non_null(n);
    assert_int_equal(n->socket, 0);
    assert_int_equal(n->n_distances, 4);
    assert_int_equal(n->distances[1], 11);
    assert_int_equal(n->distances[3], 21);
    char *list;
    assert_int_equal(nf_cpuset_format(&n->cpus.free, &list), 0);
    assert_string_equal(list, "1,6-11,49,54-59");
    free(list);
    assert_int_equal(nf_cpuset_count(&n->cpus.online), 24);
    assert_int_equal(nf_cpuset_count(&n->cpus.allocatable), 22);
    assert_int_equal(nf_cpuset_count(&n->cpus.allocated), 8);
    assert_int_equal(nf_cpuset_count(&n->cpus.free), 14);
    assert_true(nf_cpuset_test(&n->cpus.reserved, 48));
    assert_int_equal(n->cpus.threads_per_core, 2);
    assert_int_equal(n->cpus.free_full_cores, 7);
    /* not in the example: unknown, as from an exporter before the key existed */
    assert_int_equal(n->cpus.allocatable_full_cores, NF_UNKNOWN);
    assert_int_equal(n->mem_total, INT64_C(101823213568));
    assert_int_equal(n->mem_free, INT64_C(90123456512));
    assert_null(n->mem_error);
    assert_int_equal(n->n_hugepages, 2);
    const nf_hugepages *h1g = NULL;
    for (size_t i = 0; i < n->n_hugepages; i++)
        if (strcmp(n->hugepages[i].name, "hugepages-1Gi") == 0)
            h1g = &n->hugepages[i];
    assert_non_null(h1g);
    assert_int_equal(h1g->page_bytes, 1073741824);
    assert_int_equal(h1g->total, 16);
    assert_int_equal(h1g->free, 12);
    assert_int_equal(h1g->surplus, 0);

    assert_int_equal(n->n_devices, 1);
    nf_device_group *g = &n->devices[0];
    assert_string_equal(g->resource, "intel.com/intel_sriov_dpdk");
    assert_string_equal(g->pf.pci, "0000:18:00.0");
    assert_string_equal(g->pf.netdev, "ens1f0");
    assert_string_equal(g->pf.driver, "ice");
    assert_int_equal(g->pf.total_vfs, 64);
    assert_int_equal(g->pf.num_vfs, 8);
    assert_int_equal(g->pf.numa_node, NF_UNKNOWN); /* the example omits it */
    assert_int_equal(g->n_vfs, 1);
    assert_string_equal(g->vfs[0].pci, "0000:18:01.0");
    assert_string_equal(g->vfs[0].driver, "vfio-pci");
    assert_int_equal(g->vfs[0].iommu_group, 112);
    assert_false(g->vfs[0].allocated);
    assert_null(g->vfs[0].pod_uid);
    assert_string_equal(g->vfs[0].probe.status, "ok");
    assert_string_equal(g->vfs[0].probe.pmd, "net_iavf");
    assert_string_equal(g->vfs[0].probe.link, "up");
    assert_int_equal(g->vfs[0].probe.checked_at, 1795615198);

    assert_int_equal(n->n_resources, 4);
    nf_resource *r = nf_numa_resource(n, "cpu");
    assert_non_null(r);
    assert_int_equal(r->capacity, 24);
    assert_int_equal(r->allocatable, 22);
    assert_int_equal(r->available, 14);
    assert_int_equal(r->usable, NF_UNKNOWN);
    r = nf_numa_resource(n, "hugepages-1Gi");
    assert_int_equal(r->available, INT64_C(12884901888));
    r = nf_numa_resource(n, "intel.com/intel_sriov_dpdk");
    assert_int_equal(r->available, 6);
    assert_int_equal(r->usable, 5);
    assert_int_equal(n->n_pods, 0);
    assert_int_equal(t.n_unplaced_devices, 0);
    assert_int_equal(t.n_errors, 0);

    /* encoding it again keeps every key of the example with its value */
    json_t *j = nf_topology_to_json(&t);
    assert_non_null(j);
    json_t *cpu = json_object_get(
        json_object_get(json_array_get(json_object_get(j, "numaNodes"), 0), "cpus"), "allocated");
    assert_string_equal(json_string_value(cpu), "2-5,50-53");
    assert_string_equal(json_string_value(json_object_get(j, "observedAt")),
                        "2026-11-25T14:00:00Z");
    json_decref(j);
    nf_topology_free(&t);
}

static const char *BASE = "{\"apiVersion\": \"numafit.io/v1\", \"kind\": \"NodeTopology\", "
                          "\"node\": \"n1\"}";

/* Decode BASE with the keys of patch (a JSON object) put over it; expect -EINVAL and a message
 * holding want. */
static void rejects(const char *patch, const char *want)
{
    json_t *doc = json_loads(BASE, 0, NULL);
    json_error_t je;
    json_t *p = json_loads(patch, 0, &je);
    if (!p)
        fail_msg("bad patch %s: %s", patch, je.text);
    assert_int_equal(json_object_update(doc, p), 0);
    json_decref(p);
    nf_topology t;
    memset(&t, 0xa5, sizeof(t));
    nf_err err = {{0}};
    int rc = nf_topology_from_json(doc, &t, &err);
    if (rc != -EINVAL)
        fail_msg("patch %s: rc %d, want -EINVAL (%s)", patch, rc, err.msg);
    if (!strstr(err.msg, want))
        fail_msg("patch %s: message \"%s\" lacks \"%s\"", patch, err.msg, want);
    /* *out is left zeroed */
    assert_null(t.node);
    assert_null(t.numa_nodes);
    assert_int_equal(t.n_numa_nodes, 0);
    assert_int_equal(t.n_errors, 0);
    json_decref(doc);
}

static void test_decode_errors(void **state)
{
    (void)state;
    rejects("{\"apiVersion\": \"numafit.io/v2\"}", "NodeTopology apiVersion: expected");
    rejects("{\"apiVersion\": null}", "apiVersion");
    rejects("{\"kind\": \"Pod\"}", "NodeTopology kind: expected \"NodeTopology\"");
    rejects("{\"node\": null}", "NodeTopology node: required");
    rejects("{\"node\": \"\"}", "NodeTopology node: required");
    rejects("{\"node\": 5}", "NodeTopology node: expected a string");
    rejects("{\"generation\": -1}", "generation: expected a non-negative integer");
    rejects("{\"generation\": \"17\"}", "generation");
    rejects("{\"observedAt\": \"yesterday\"}", "observedAt: not an RFC 3339");
    rejects("{\"observedAt\": \"2026-11-25T14:00:00+01:00\"}", "observedAt");
    rejects("{\"observedAt\": \"2026-11-25 14:00:00Z\"}", "observedAt");
    rejects("{\"observedAt\": 1795615200}", "observedAt: expected a string");

    rejects("{\"kubelet\": 5}", "NodeTopology kubelet: expected an object");
    rejects("{\"kubelet\": {\"cpuManagerPolicy\": 3}}",
            "kubelet.cpuManagerPolicy: expected a string");
    rejects("{\"kubelet\": {\"cpuManagerPolicyOptions\": []}}",
            "kubelet.cpuManagerPolicyOptions: expected an object");
    rejects("{\"kubelet\": {\"topologyManagerPolicyOptions\": {\"a\": [1]}}}",
            "kubelet.topologyManagerPolicyOptions: values must be strings");
    rejects("{\"kubelet\": {\"stateFiles\": {\"cpuManager\": 1}}}",
            "kubelet.stateFiles.cpuManager: expected a string");

    rejects("{\"sockets\": {}}", "NodeTopology sockets: expected an array");
    rejects("{\"sockets\": [5]}", "sockets[0].id: expected a socket id");
    rejects("{\"sockets\": [{\"id\": 0}, {\"id\": -1}]}", "sockets[1].id");
    rejects("{\"sockets\": [{\"id\": 0, \"numaNodes\": [0, -1]}]}",
            "sockets[0].numaNodes: expected NUMA node ids");
    rejects("{\"sockets\": [{\"id\": 0, \"numaNodes\": 0}]}",
            "sockets[0].numaNodes: expected an array");

    rejects("{\"numaNodes\": {}}", "NodeTopology numaNodes: expected an array");
    rejects("{\"numaNodes\": [5]}", "NodeTopology numaNodes[0]: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0}, {\"id\": \"1\"}]}",
            "numaNodes[1].id: expected a NUMA node id");
    rejects("{\"numaNodes\": [{\"id\": -1}]}", "numaNodes[0].id");
    rejects("{\"numaNodes\": [{\"id\": 0, \"socket\": -2}]}", "numaNodes[0].socket: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"socket\": 4294967296}]}",
            "numaNodes[0].socket: out of range");
    rejects("{\"numaNodes\": [{\"id\": 0, \"distances\": [10, \"x\"]}]}",
            "numaNodes[0].distances: expected integers");
    rejects("{\"numaNodes\": [{\"id\": 0, \"distances\": [10, -5]}]}", "numaNodes[0].distances");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": \"0-3\"}]}",
            "numaNodes[0].cpus: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"free\": \"1-\"}}]}",
            "numaNodes[0].cpus.free: cpu list");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"online\": \"0-99999\"}}]}",
            "numaNodes[0].cpus.online: cpu list \"0-99999\": cpu id out of range");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"free\": 5}}]}",
            "numaNodes[0].cpus.free: expected a cpu list string");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"threadsPerCore\": 1099511627776}}]}",
            "numaNodes[0].cpus.threadsPerCore: out of range");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"freeFullCores\": -5}}]}",
            "numaNodes[0].cpus.freeFullCores: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"cpus\": {\"freeFullCores\": 1099511627776}}]}",
            "numaNodes[0].cpus.freeFullCores: out of range");
    rejects("{\"numaNodes\": [{\"id\": 0, \"memory\": {\"totalBytes\": -2}}]}",
            "numaNodes[0].memory.totalBytes: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"memory\": {\"freeBytes\": 1.5}}]}",
            "numaNodes[0].memory.freeBytes: expected an integer");
    rejects("{\"numaNodes\": [{\"id\": 0, \"memory\": []}]}",
            "numaNodes[0].memory: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"hugepages\": []}]}",
            "numaNodes[0].hugepages: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"hugepages\": {\"hugepages-2Mi\": 5}}]}",
            "numaNodes[0].hugepages.hugepages-2Mi: expected an object");
    rejects(
        "{\"numaNodes\": [{\"id\": 0, \"hugepages\": {\"hugepages-2Mi\": {\"pageBytes\": 0}}}]}",
        "numaNodes[0].hugepages.hugepages-2Mi.pageBytes: expected a positive integer");
    rejects("{\"numaNodes\": [{\"id\": 0, \"hugepages\": {\"hugepages-2Mi\": {\"pageBytes\": "
            "2097152, \"total\": -3}}}]}",
            "numaNodes[0].hugepages.hugepages-2Mi.total: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": 1}]}",
            "numaNodes[0].devices: expected an array");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [1]}]}",
            "numaNodes[0].devices[0]: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": 1}]}]}",
            "numaNodes[0].devices[0].pf: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {\"totalVfs\": -4}}]}]}",
            "numaNodes[0].devices[0].pf.totalVfs: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"resource\": 7, \"pf\": {}}]}]}",
            "numaNodes[0].devices[0].resource: expected a string");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {}, \"vfs\": {}}]}]}",
            "numaNodes[0].devices[0].vfs: expected an array");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {}, \"vfs\": [{}, "
            "{\"allocated\": \"yes\"}]}]}]}",
            "numaNodes[0].devices[0].vfs[1].allocated: expected a boolean");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {}, \"vfs\": [{\"iommuGroup\": "
            "-9}]}]}]}",
            "numaNodes[0].devices[0].vfs[0].iommuGroup: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {}, \"vfs\": [{\"probe\": "
            "{\"status\": \"ok\", \"checkedAt\": \"soon\"}}]}]}]}",
            "numaNodes[0].devices[0].vfs[0].probe.checkedAt: not an RFC 3339");
    rejects("{\"numaNodes\": [{\"id\": 0, \"devices\": [{\"pf\": {}, \"vfs\": [{\"probe\": "
            "{\"status\": 1}}]}]}]}",
            "numaNodes[0].devices[0].vfs[0].probe.status: expected a string");
    rejects("{\"numaNodes\": [{\"id\": 0, \"resources\": []}]}",
            "numaNodes[0].resources: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"resources\": {\"cpu\": 4}}]}",
            "numaNodes[0].resources.cpu: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"resources\": {\"cpu\": {\"capacity\": 1}}}]}",
            "numaNodes[0].resources.cpu: capacity, allocatable and available are required");
    rejects("{\"numaNodes\": [{\"id\": 0, \"resources\": {\"cpu\": {\"capacity\": -5, "
            "\"allocatable\": 1, \"available\": 1}}}]}",
            "numaNodes[0].resources.cpu.capacity: negative");
    rejects("{\"numaNodes\": [{\"id\": 0, \"resources\": {\"cpu\": {\"capacity\": 1, "
            "\"allocatable\": 1, \"available\": \"1\"}}}]}",
            "numaNodes[0].resources.cpu.available: expected an integer");
    rejects("{\"numaNodes\": [{\"id\": 0, \"kubeletReserved\": {\"memory\": -1}}]}",
            "numaNodes[0].kubeletReserved: values must be non-negative integers");
    rejects("{\"numaNodes\": [{\"id\": 0, \"kubeletReserved\": [1]}]}",
            "numaNodes[0].kubeletReserved: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": {}}]}", "numaNodes[0].pods: expected an array");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": [3]}]}",
            "numaNodes[0].pods[0]: expected an object");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": [{\"cpus\": \"1\"}]}]}",
            "numaNodes[0].pods[0].podUID: required unless namespace and name are given");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": [{\"podUID\": null, \"name\": \"a\"}]}]}",
            "numaNodes[0].pods[0].namespace: required with the other");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": [{\"podUID\": \"u\", \"cpus\": \"z\"}]}]}",
            "numaNodes[0].pods[0].cpus: cpu list \"z\"");
    rejects("{\"numaNodes\": [{\"id\": 0, \"pods\": [{\"podUID\": \"u\", \"resources\": "
            "{\"cpu\": \"4\"}}]}]}",
            "numaNodes[0].pods[0].resources: values must be non-negative integers");
    rejects("{\"unplacedDevices\": [{\"pf\": {\"numaNode\": \"x\"}}]}",
            "unplacedDevices[0].pf.numaNode: expected an integer");
    rejects("{\"unplacedDevices\": 3}", "unplacedDevices: expected an array");
    rejects("{\"errors\": \"x\"}", "NodeTopology errors: expected an array");

    /* a second NUMA node's error names its own index */
    rejects("{\"numaNodes\": [{\"id\": 0}, {\"id\": 1, \"cpus\": {\"allocated\": \"3-1\"}}]}",
            "numaNodes[1].cpus.allocated");

    /* too many NUMA nodes */
    json_t *doc = json_loads(BASE, 0, NULL);
    json_t *arr = json_array();
    for (int i = 0; i < 4097; i++)
        json_array_append_new(arr, json_pack("{s:i}", "id", i));
    json_object_set_new(doc, "numaNodes", arr);
    nf_topology t;
    nf_err err = {{0}};
    assert_int_equal(nf_topology_from_json(doc, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "more than 4096 NUMA nodes"));
    json_decref(doc);

    /* not an object at all */
    doc = json_array();
    assert_int_equal(nf_topology_from_json(doc, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "expected a JSON object"));
    json_decref(doc);
}

static void parse_rejects(const char *text, const char *want)
{
    nf_topology t;
    nf_err err = {{0}};
    int rc = nf_topology_parse(text, strlen(text), &t, &err);
    if (rc != -EINVAL)
        fail_msg("<<%s>>: rc %d, want -EINVAL (%s)", text, rc, err.msg);
    if (!strstr(err.msg, want))
        fail_msg("<<%s>>: message \"%s\" lacks \"%s\"", text, err.msg, want);
    assert_null(t.node);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_rejects("", "invalid JSON");
    parse_rejects("{", "invalid JSON at line 1");
    parse_rejects("{\"apiVersion\": \"numafit.io/v1\",\n\"kind\": ", "invalid JSON at line 2");
    parse_rejects("{\"node\": \"a\", \"node\": \"b\"}", "duplicate");
    parse_rejects("[]", "expected a JSON object");
    parse_rejects("null", "invalid JSON"); /* jansson refuses a bare scalar by default */
    parse_rejects("{\"apiVersion\": \"numafit.io/v1\", \"kind\": \"NodeTopology\"}",
                  "node: required");
    /* minimal document is fine; len bounds the input */
    const char *ok = "{\"apiVersion\": \"numafit.io/v1\", \"kind\": \"NodeTopology\", "
                     "\"node\": \"x\"}garbage";
    nf_topology t;
    nf_err err = {{0}};
    assert_int_equal(nf_topology_parse(ok, strlen(ok) - 7, &t, &err), 0);
    assert_string_equal(t.node, "x");
    assert_int_equal(t.n_numa_nodes, 0);
    assert_int_equal(t.observed_at, 0);
    nf_topology_free(&t);
    parse_rejects(ok, "invalid JSON");
}

static void test_rfc3339(void **state)
{
    (void)state;
    char buf[32];
    nf_format_rfc3339(1795615200, buf);
    assert_string_equal(buf, "2026-11-25T14:00:00Z");
    nf_format_rfc3339(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    int64_t v = -5;
    assert_int_equal(nf_parse_rfc3339("2026-11-25T14:00:00Z", &v), 0);
    assert_int_equal(v, 1795615200);
    assert_int_equal(nf_parse_rfc3339("2026-11-25T14:00:00.123456Z", &v), 0);
    assert_int_equal(v, 1795615200);
    assert_int_equal(nf_parse_rfc3339("2024-02-29T23:59:59Z", &v), 0);
    assert_int_equal(v, 1709251199);
    v = -5;
    assert_int_equal(nf_parse_rfc3339("", &v), -EINVAL);
    assert_int_equal(nf_parse_rfc3339("2026-11-25T14:00:00", &v), -EINVAL);
    assert_int_equal(nf_parse_rfc3339("2026-11-25T14:00:00+00:00", &v), -EINVAL);
    assert_int_equal(nf_parse_rfc3339("2026-11-25T14:00:00Zjunk", &v), -EINVAL);
    assert_int_equal(nf_parse_rfc3339("2026-13-25T14:00:00Z", &v), -EINVAL);
    assert_int_equal(nf_parse_rfc3339("2026-11-25", &v), -EINVAL);
    assert_int_equal(v, -5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_topology),
        cmocka_unit_test(test_invalid_utf8_strings),
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
