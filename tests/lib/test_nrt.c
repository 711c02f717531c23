/* test_nrt.c - NodeTopology -> NodeResourceTopology v1alpha2 and the pfp0v001 fingerprint: the
 * vector of tests/realdata/nrt/README.md, order and duplicates, NFD's policy names, quantities,
 * costs, and the inputs that must not become a silent 0 (unknown numbers, no NUMA nodes, pods
 * known by UID only, a lost kubelet state, an unknown policy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/fileio.h"
#include "numafit/nrt.h"
#include "numafit/topology_json.h"
#include "testutil.h"

/* tests/realdata/nrt/README.md (from the NRT facts in shared/realdata/nrt/README.md) */
static const nf_pod_key readme_pods[] = {
    {"production", "jaeger-dpgjk"}, {"production", "nginx-rt684"}, {"production", "envoy-g9m22"}};
#define README_FP "pfp0v001607b76a0e9d3aeb4"

static void test_fingerprint_vector(void **state)
{
    (void)state;
    char fp[NF_NRT_FINGERPRINT_LEN + 1];
    assert_int_equal(nf_nrt_fingerprint(readme_pods, 3, fp), 0);
    assert_string_equal(fp, README_FP);
    /* the order pods come in does not matter: the hashes are sorted */
    const nf_pod_key rev[] = {readme_pods[2], readme_pods[1], readme_pods[0]};
    assert_int_equal(nf_nrt_fingerprint(rev, 3, fp), 0);
    assert_string_equal(fp, README_FP);
    /* the empty set is XXH64 of nothing with seed 0 */
    assert_int_equal(nf_nrt_fingerprint(NULL, 0, fp), 0);
    assert_string_equal(fp, "pfp0v001ef46db3751d8e999");
    /* namespace and name are not one string: "a/bc" and "ab/c" differ */
    const nf_pod_key a[] = {{"a", "bc"}}, b[] = {{"ab", "c"}};
    char fa[NF_NRT_FINGERPRINT_LEN + 1], fb[NF_NRT_FINGERPRINT_LEN + 1];
    assert_int_equal(nf_nrt_fingerprint(a, 1, fa), 0);
    assert_int_equal(nf_nrt_fingerprint(b, 1, fb), 0);
    assert_string_not_equal(fa, fb);
    assert_int_equal(strlen(fa), NF_NRT_FINGERPRINT_LEN);
}

static void test_policy_names(void **state)
{
    (void)state;
    assert_string_equal(nf_nrt_policy_name("single-numa-node", "pod"), "SingleNUMANodePodLevel");
    assert_string_equal(nf_nrt_policy_name("single-numa-node", "container"),
                        "SingleNUMANodeContainerLevel");
    assert_string_equal(nf_nrt_policy_name("restricted", "pod"), "RestrictedPodLevel");
    assert_string_equal(nf_nrt_policy_name("best-effort", "container"), "BestEffortContainerLevel");
    assert_string_equal(nf_nrt_policy_name("none", NULL), "None");
    assert_string_equal(nf_nrt_policy_name("none", "pod"), "None");
    assert_null(nf_nrt_policy_name(NULL, "pod"));
    assert_null(nf_nrt_policy_name("single-numa-node", NULL));
    assert_null(nf_nrt_policy_name("single-numa-node", "node"));
    assert_null(nf_nrt_policy_name("prefer-closest", "pod"));
}

/* The DESIGN.md example document (one NUMA node, no pods). */
static void load_example(nf_topology *t)
{
    char *text;
    size_t len;
    nf_err err = {{0}};
    assert_int_equal(nf_read_file(NF_SOURCE_DIR "/tests/lib/data/design-example.json", 1 << 20,
                                  &text, &len, &err),
                     0);
    int rc = nf_topology_parse(text, len, t, &err);
    free(text);
    if (rc)
        fail_msg("design example: %s", err.msg);
}

static json_t *encode(const nf_topology *t)
{
    json_t *o = NULL;
    nf_err err = {{0}};
    int rc = nf_nrt_from_topology(t, &o, &err);
    if (rc)
        fail_msg("nf_nrt_from_topology: %d %s", rc, err.msg);
    return o;
}

/* The value of the attribute name in list (top level or a zone's), or NULL. */
static const char *attr(const json_t *list, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
            return json_string_value(json_object_get(a, "value"));
    }
    return NULL;
}

static const json_t *resource(const json_t *zone, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(zone, "resources"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
            return r;
    }
    return NULL;
}

static void assert_amounts(const json_t *r, const char *cap, const char *alloc, const char *avail)
{
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "capacity")), cap);
    assert_string_equal(json_string_value(json_object_get(r, "allocatable")), alloc);
    assert_string_equal(json_string_value(json_object_get(r, "available")), avail);
}

static void test_design_example(void **state)
{
    (void)state;
    nf_topology t;
    load_example(&t);
    json_t *o = encode(&t);
    assert_string_equal(json_string_value(json_object_get(o, "apiVersion")),
                        "topology.node.k8s.io/v1alpha2");
    assert_string_equal(json_string_value(json_object_get(o, "kind")), "NodeResourceTopology");
    const json_t *meta = json_object_get(o, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "name")), "worker-1");
    assert_null(json_object_get(meta, "namespace")); /* cluster-scoped */
    const json_t *pol = json_object_get(o, "topologyPolicies");
    assert_int_equal(json_array_size(pol), 1);
    assert_string_equal(json_string_value(json_array_get(pol, 0)), "SingleNUMANodePodLevel");

    const json_t *attrs = json_object_get(o, "attributes");
    assert_string_equal(attr(attrs, "topologyManagerPolicy"), "single-numa-node");
    assert_string_equal(attr(attrs, "topologyManagerScope"), "pod");
    /* no pods: the empty set's fingerprint, which is a real answer (nothing holds anything) */
    assert_string_equal(attr(attrs, "nodeTopologyPodsFingerprint"), "pfp0v001ef46db3751d8e999");
    assert_string_equal(attr(attrs, "nodeTopologyPodsFingerprintMethod"),
                        "with-exclusive-resources");
    assert_null(attr(attrs, "numafit.io/podsFingerprintUnavailable"));

    const json_t *zones = json_object_get(o, "zones");
    assert_int_equal(json_array_size(zones), 1);
    const json_t *z = json_array_get(zones, 0);
    assert_string_equal(json_string_value(json_object_get(z, "name")), "node-0");
    assert_string_equal(json_string_value(json_object_get(z, "type")), "Node");
    assert_null(json_object_get(z, "attributes")); /* nothing omitted */
    /* one cost per NUMA node of the document (the example lists 4 distances for 1 node) */
    const json_t *costs = json_object_get(z, "costs");
    assert_int_equal(json_array_size(costs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(costs, 0), "name")),
                        "node-0");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(costs, 0), "value")), 10);

    assert_int_equal(json_array_size(json_object_get(z, "resources")), 4);
    assert_amounts(resource(z, "cpu"), "24", "22", "14");
    /* bytes: the short binary form only where exact */
    assert_amounts(resource(z, "memory"), "99436732Ki", "99000000000", "88011188Ki");
    assert_amounts(resource(z, "hugepages-1Gi"), "16Gi", "16Gi", "12Gi");
    assert_amounts(resource(z, "intel.com/intel_sriov_dpdk"), "8", "8", "6");
    json_decref(o);
    nf_topology_free(&t);
}

static void set_pods(nf_numa_node *n, size_t count, const char *const *triples)
{
    n->pods = calloc(count, sizeof(*n->pods));
    assert_non_null(n->pods);
    n->n_pods = count;
    for (size_t i = 0; i < count; i++) {
        const char *uid = triples[3 * i], *ns = triples[3 * i + 1], *name = triples[3 * i + 2];
        assert_int_equal(nf_strset(&n->pods[i].pod_uid, uid), 0);
        assert_int_equal(nf_strset(&n->pods[i].pod_namespace, ns), 0);
        assert_int_equal(nf_strset(&n->pods[i].pod_name, name), 0);
    }
}

static void test_pods_fingerprint(void **state)
{
    (void)state;
    nf_topology t;
    load_example(&t);
    /* a pod on two NUMA nodes counts once: a second NUMA node holding one of the three again */
    nf_numa_node *nn = realloc(t.numa_nodes, 2 * sizeof(*nn));
    assert_non_null(nn);
    t.numa_nodes = nn;
    memset(&nn[1], 0, sizeof(nn[1]));
    nn[1].id = 1;
    t.n_numa_nodes = 2;
    const char *const on0[] = {"u1", "production", "jaeger-dpgjk",
                               "u2", "production", "nginx-rt684",
                               NULL, "production", "envoy-g9m22"};
    const char *const on1[] = {"u2", "production", "nginx-rt684"};
    set_pods(&nn[0], 3, on0);
    set_pods(&nn[1], 1, on1);
    json_t *o = encode(&t);
    assert_string_equal(attr(json_object_get(o, "attributes"), "nodeTopologyPodsFingerprint"),
                        README_FP);
    assert_int_equal(json_array_size(json_object_get(o, "zones")), 2);
    json_decref(o);

    /* a pod known by its UID only (kubelet's checkpoint files): no fingerprint, and why */
    free(nn[1].pods[0].pod_name);
    nn[1].pods[0].pod_name = NULL;
    o = encode(&t);
    const json_t *attrs = json_object_get(o, "attributes");
    assert_null(attr(attrs, "nodeTopologyPodsFingerprint"));
    assert_null(attr(attrs, "nodeTopologyPodsFingerprintMethod"));
    const char *why = attr(attrs, "numafit.io/podsFingerprintUnavailable");
    assert_non_null(why);
    assert_non_null(strstr(why, "pod u2 on NUMA node 1 has no namespace/name"));
    json_decref(o);
    nf_topology_free(&t);
}

static void test_lost_state_no_fingerprint(void **state)
{
    (void)state;
    nf_topology t;
    load_example(&t);
    assert_int_equal(nf_strset(&t.kubelet.state_cpu_manager,
                               "error: cpu_manager_state: bad checksum (since T); the last good "
                               "view, read at T0, was dropped after the 60s grace period"),
                     0);
    json_t *o = encode(&t);
    const json_t *attrs = json_object_get(o, "attributes");
    assert_null(attr(attrs, "nodeTopologyPodsFingerprint"));
    const char *why = attr(attrs, "numafit.io/podsFingerprintUnavailable");
    assert_non_null(why);
    assert_non_null(strstr(why, "cpuManager"));
    json_decref(o);
    nf_topology_free(&t);
}

static void test_unknown_numbers_omitted(void **state)
{
    (void)state;
    nf_topology t;
    load_example(&t);
    nf_numa_node *n = &t.numa_nodes[0];
    nf_resource *cpu = nf_numa_resource(n, "cpu");
    cpu->available = NF_UNKNOWN;
    assert_int_equal(nf_strset(&cpu->error, "cpu_manager_state lost"), 0);
    nf_resource *dev = nf_numa_resource(n, "intel.com/intel_sriov_dpdk");
    dev->allocatable = NF_UNKNOWN;
    dev->available = NF_UNKNOWN;
    json_t *o = encode(&t);
    const json_t *z = json_array_get(json_object_get(o, "zones"), 0);
    /* never a 0 in their place: left out, and the zone says which and why */
    assert_null(resource(z, "cpu"));
    assert_null(resource(z, "intel.com/intel_sriov_dpdk"));
    assert_non_null(resource(z, "memory"));
    assert_non_null(resource(z, "hugepages-1Gi"));
    const char *om = attr(json_object_get(z, "attributes"), "numafit.io/omittedResources");
    assert_non_null(om);
    assert_string_equal(om, "cpu: available unknown: cpu_manager_state lost; "
                            "intel.com/intel_sriov_dpdk: allocatable unknown");
    json_decref(o);
    nf_topology_free(&t);
}

static void test_no_numa_nodes_unknown_policy(void **state)
{
    (void)state;
    nf_topology t;
    load_example(&t);
    for (size_t i = 0; i < t.n_numa_nodes; i++)
        nf_numa_node_free(&t.numa_nodes[i]);
    t.n_numa_nodes = 0;
    free(t.kubelet.topology_manager_policy);
    t.kubelet.topology_manager_policy = NULL;
    json_t *o = encode(&t);
    assert_true(json_is_array(json_object_get(o, "zones")));
    assert_int_equal(json_array_size(json_object_get(o, "zones")), 0);
    /* an unknown policy is no policy name at all (not "None"), and said so */
    assert_int_equal(json_array_size(json_object_get(o, "topologyPolicies")), 0);
    const json_t *attrs = json_object_get(o, "attributes");
    assert_null(attr(attrs, "topologyManagerPolicy"));
    assert_string_equal(attr(attrs, "topologyManagerScope"), "pod");
    assert_string_equal(attr(attrs, "numafit.io/topologyManagerUnknown"),
                        "kubelet's topologyManagerPolicy unknown, scope \"pod\"");
    assert_string_equal(attr(attrs, "nodeTopologyPodsFingerprint"), "pfp0v001ef46db3751d8e999");
    json_decref(o);

    /* a document without a node name has no object name */
    free(t.node);
    t.node = NULL;
    nf_err err = {{0}};
    o = (json_t *)1;
    assert_int_equal(nf_nrt_from_topology(&t, &o, &err), -EINVAL);
    assert_null(o);
    assert_non_null(strstr(err.msg, "no node"));
    nf_topology_free(&t);
}

/* ---- NodeResourceTopology -> NodeTopology (the extender's --nrt) ---- */

static bool has_error(const nf_topology *t, const char *part)
{
    for (size_t i = 0; i < t->n_errors; i++)
        if (strstr(t->errors[i], part))
            return true;
    return false;
}

static void test_round_trip(void **state)
{
    (void)state;
    nf_topology t, back;
    load_example(&t);
    json_t *o = encode(&t);
    json_object_set_new(json_object_get(o, "metadata"), "generation", json_integer(7));
    nf_err err = {{0}};
    int rc = nf_nrt_to_topology(o, &back, &err);
    if (rc)
        fail_msg("nf_nrt_to_topology: %s", err.msg);
    assert_string_equal(back.node, "worker-1");
    assert_int_equal(back.generation, 7);
    assert_string_equal(back.kubelet.topology_manager_policy, "single-numa-node");
    assert_string_equal(back.kubelet.topology_manager_scope, "pod");
    assert_string_equal(back.kubelet.cpu_manager_policy, "static"); /* from its attribute */
    assert_false(has_error(&back, "cpuManagerPolicy"));
    assert_int_equal(back.n_numa_nodes, 1);
    const nf_numa_node *n = &back.numa_nodes[0];
    assert_int_equal(n->id, 0);
    assert_int_equal(n->n_distances, 1);
    assert_int_equal(n->distances[0], 10);
    assert_int_equal(n->n_resources, t.numa_nodes[0].n_resources);
    for (size_t i = 0; i < n->n_resources; i++) {
        const nf_resource *a = &t.numa_nodes[0].resources[i];
        const nf_resource *b = nf_numa_resource(n, a->name);
        assert_non_null(b);
        assert_int_equal(b->capacity, a->capacity);
        assert_int_equal(b->allocatable, a->allocatable);
        assert_int_equal(b->available, a->available);
        assert_int_equal(b->usable, NF_UNKNOWN); /* not in the object */
    }
    assert_int_equal(n->n_pods, 0);
    assert_int_equal(n->cpus.threads_per_core, NF_UNKNOWN);
    json_decref(o);
    nf_topology_free(&t);
    nf_topology_free(&back);
}

/* As NFD's topology-updater writes one: no attributes, policies by name, zones in any order, a
 * zone that is not a NUMA node, quantities in other forms. */
static const char nfd_object[] =
    "{\"apiVersion\":\"topology.node.k8s.io/v1alpha2\",\"kind\":\"NodeResourceTopology\","
    "\"metadata\":{\"name\":\"nfd-1\",\"generation\":3},"
    "\"topologyPolicies\":[\"SingleNUMANodeContainerLevel\"],"
    "\"zones\":["
    "{\"name\":\"node-1\",\"type\":\"Node\",\"costs\":[{\"name\":\"node-0\",\"value\":21},"
    "{\"name\":\"node-1\",\"value\":10}],\"resources\":["
    "{\"name\":\"cpu\",\"capacity\":\"16\",\"allocatable\":\"15500m\",\"available\":\"8\"},"
    "{\"name\":\"memory\",\"capacity\":\"64Gi\",\"allocatable\":\"62Gi\",\"available\":\"1.5Gi\"},"
    "{\"name\":\"example.com/nic\",\"capacity\":4,\"allocatable\":4,\"available\":\"x\"}]},"
    "{\"name\":\"socket-0\",\"type\":\"Socket\"},"
    "{\"name\":\"node-0\",\"type\":\"Node\",\"costs\":[{\"name\":\"node-0\",\"value\":10},"
    "{\"name\":\"node-1\",\"value\":21}],\"resources\":["
    "{\"name\":\"hugepages-1Gi\",\"capacity\":\"8Gi\",\"allocatable\":\"8Gi\","
    "\"available\":\"4Gi\"}]}]}";

static void test_nfd_object(void **state)
{
    (void)state;
    json_t *o = json_loads(nfd_object, 0, NULL);
    assert_non_null(o);
    nf_topology t;
    nf_err err = {{0}};
    int rc = nf_nrt_to_topology(o, &t, &err);
    if (rc)
        fail_msg("nf_nrt_to_topology: %s", err.msg);
    assert_string_equal(t.node, "nfd-1");
    assert_int_equal(t.generation, 3);
    assert_string_equal(t.kubelet.topology_manager_policy, "single-numa-node");
    assert_string_equal(t.kubelet.topology_manager_scope, "container");
    /* the object cannot say: static assumed, and said */
    assert_string_equal(t.kubelet.cpu_manager_policy, "static");
    assert_true(has_error(&t, "names no cpuManagerPolicy"));
    assert_true(has_error(&t, "zone socket-0 of type Socket ignored"));
    assert_int_equal(t.n_numa_nodes, 2); /* sorted by id */
    assert_int_equal(t.numa_nodes[0].id, 0);
    assert_int_equal(t.numa_nodes[1].id, 1);
    assert_int_equal(t.numa_nodes[1].n_distances, 2);
    assert_int_equal(t.numa_nodes[1].distances[0], 21);
    assert_int_equal(t.numa_nodes[1].distances[1], 10);
    const nf_resource *cpu = nf_numa_resource(&t.numa_nodes[1], "cpu");
    assert_non_null(cpu);
    assert_int_equal(cpu->allocatable, 15); /* whole CPUs, rounded down */
    const nf_resource *mem = nf_numa_resource(&t.numa_nodes[1], "memory");
    assert_int_equal(mem->capacity, 64LL << 30);
    assert_int_equal(mem->available, 3LL << 29);
    /* a quantity that is not one drops that resource, and says so */
    assert_null(nf_numa_resource(&t.numa_nodes[1], "example.com/nic"));
    assert_true(has_error(&t, "example.com/nic: available is not a quantity"));
    assert_int_equal(nf_numa_resource(&t.numa_nodes[0], "hugepages-1Gi")->available, 4LL << 30);
    nf_topology_free(&t);

    /* not an NRT */
    json_object_set_new(o, "apiVersion", json_string("topology.node.k8s.io/v1alpha1"));
    assert_int_equal(nf_nrt_to_topology(o, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "apiVersion"));
    json_object_set_new(o, "apiVersion", json_string("topology.node.k8s.io/v1alpha2"));
    json_object_del(json_object_get(o, "metadata"), "name");
    assert_int_equal(nf_nrt_to_topology(o, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "metadata.name"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_vector),
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_pods_fingerprint),
        cmocka_unit_test(test_lost_state_no_fingerprint),
        cmocka_unit_test(test_unknown_numbers_omitted),
        cmocka_unit_test(test_no_numa_nodes_unknown_policy),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_nfd_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
