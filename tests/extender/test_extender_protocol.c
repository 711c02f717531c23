/* The kube-scheduler extender codec and per-request logic: realistic ExtenderArgs (a real DPDK
 * pod from tests/realdata, full NodeLists and NodeNames, all-lower-case keys), answers in both
 * modes, and every error path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_protocol.h"
#include "extender_test_util.h"
#include "numafit/yaml_json.h"

/* ---- a topology source over an array, counting lookups ---- */

typedef struct src_ctx {
    nf_topology *t[8];
    size_t n;
    int acquired, released;
} src_ctx;

static const nf_topology *acq(void *ctx, const char *node, void **handle, char *why, size_t len)
{
    src_ctx *c = ctx;
    c->acquired++;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->t[i]->node, node) == 0) {
            *handle = c->t[i];
            return c->t[i];
        }
    }
    snprintf(why, len, "no topology from the exporter of %s", node);
    return NULL;
}

static void rel(void *ctx, void *handle)
{
    src_ctx *c = ctx;
    assert_non_null(handle);
    c->released++;
}

static void src_free(src_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        tb_free(c->t[i]);
}

/* numa0 / numa1 with the given free CPUs, 8 VFs each, 16Gi of 1Gi pages each */
static nf_topology *node(const char *name, int a0, int a1, int alloc)
{
    zspec z[] = {
        tb_zone(0, 0, alloc, a0, 16, 16, 8, 8, -1),
        tb_zone(1, 0, alloc, a1, 16, 16, 8, 8, -1),
    };
    kspec k = {.cpu_policy = "static", .scope = "pod"};
    return tb_topo(name, k, z, 2);
}

#define DPDK_POD                                                                                   \
    "{'metadata':{'name':'dpdk','namespace':'ns','uid':'u1'},'spec':{'containers':[{'name':'t',"   \
    "'resources':{'limits':{'cpu':'8','memory':'1Gi','hugepages-1Gi':'4Gi','" VF "':'1'}}}]}}"

static int decode(const char *text, nf_extender_args *a, nf_err *err)
{
    char *s = tb_sq(text);
    int rc = nf_extender_args_decode(s, strlen(s), a, err);
    free(s);
    return rc;
}

static void test_filter_names_mode(void **state)
{
    (void)state;
    src_ctx c = {.n = 3};
    c.t[0] = node("fits", 10, 2, 22);
    c.t[1] = node("busy", 6, 4, 22); /* resolvable: each NUMA node has 22 allocatable */
    c.t[2] = node("small", 6, 6, 6); /* unresolvable: 6 allocatable */
    nf_topology_source src = {.acquire = acq, .release = rel, .ctx = &c};
    nf_extender_args a;
    nf_err err;
    assert_int_equal(decode("{'Pod':" DPDK_POD ",'Nodes':null,'NodeNames':['small','fits','busy',"
                            "'gone']}",
                            &a, &err),
                     0);
    assert_true(a.names_mode);
    assert_int_equal(a.n_nodes, 4);
    assert_string_equal(a.nodes[1].name, "fits");
    assert_null(a.nodes[1].obj);
    assert_string_equal(a.req.name, "dpdk");
    assert_int_equal(nf_amount_get(a.req.effective, a.req.n_effective, "cpu"), 8);

    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    json_t *r;
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    json_t *want = tb_json(
        "{'Nodes':null,'NodeNames':['fits'],"
        /* one reason per class, no per-node numbers: kube-scheduler's event folds them */
        "'FailedNodes':{'busy':'numafit: no NUMA node has cpu=8 hugepages-1Gi=4Gi " VF "=1 free'},"
        "'FailedAndUnresolvableNodes':{'small':'numafit: even when empty, no NUMA "
        "node could hold cpu=8 hugepages-1Gi=4Gi " VF "=1',"
        /* --stale-policy reject: a node numafit knows nothing of is no place to preempt */
        "'gone':'numafit: no topology from the exporter of gone'},"
        "'Error':''}");
    if (!json_equal(r, want)) {
        char *d = json_dumps(r, JSON_SORT_KEYS);
        fail_msg("filter answer: %s", d);
    }
    json_decref(want);
    json_decref(r);
    assert_int_equal(c.acquired, 4);
    assert_int_equal(c.released, 3);

    /* --stale-policy ignore: the unknown node passes */
    src.pass_missing = true;
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    json_t *names = json_object_get(r, "NodeNames");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "fits");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "gone");
    json_decref(r);

    /* prioritize: request order, 0 for failing / unknown nodes. fits: numa0 used
     * (22-10+8)/22 cpu, (0+4)/16 hugepages, (0+1)/8 VF */
    o.strategy = NF_STRATEGY_MOST_ALLOCATED;
    assert_int_equal(nf_extender_prioritize(&a, &src, &o, &r), 0);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 4);
    json_t *want_p = tb_json("[{'Host':'small','Score':0},{'Host':'fits','Score':4},"
                             "{'Host':'busy','Score':0},{'Host':'gone','Score':0}]");
    if (!json_equal(r, want_p)) {
        char *d = json_dumps(r, 0);
        fail_msg("prioritize answer: %s", d);
    }
    json_decref(want_p);
    json_decref(r);
    nf_extender_args_free(&a);
    src_free(&c);
}

static void test_filter_nodelist_mode_lowercase(void **state)
{
    (void)state;
    src_ctx c = {.n = 2};
    c.t[0] = node("n1", 2, 2, 22);
    c.t[1] = node("n2", 9, 2, 22);
    nf_topology_source src = {.acquire = acq, .release = rel, .ctx = &c};
    /* an all-lower-case copy, as upstream's tests send; a real node object with status */
    const char *body =
        "{'pod':" DPDK_POD ",'nodes':{'kind':'NodeList','apiVersion':'v1','metadata':"
        "{'resourceVersion':'42'},'items':["
        "{'metadata':{'name':'n1','labels':{'kubernetes.io/hostname':'n1'}},'status':{"
        "'allocatable':{'cpu':'48','" VF "':'16'}}},"
        "{'metadata':{'name':'n2'},'spec':{'podCIDR':'10.0.2.0/24'}}]},'nodenames':null}";
    nf_extender_args a;
    nf_err err;
    assert_int_equal(decode(body, &a, &err), 0);
    assert_false(a.names_mode);
    assert_int_equal(a.n_nodes, 2);
    assert_non_null(a.nodes[0].obj);
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    json_t *r;
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    assert_true(json_is_null(json_object_get(r, "NodeNames")));
    json_t *nodes = json_object_get(r, "Nodes");
    assert_string_equal(json_string_value(json_object_get(nodes, "kind")), "NodeList");
    json_t *items = json_object_get(nodes, "items");
    assert_int_equal(json_array_size(items), 1);
    /* passed back unchanged: the very node object of the request */
    assert_ptr_equal(json_array_get(items, 0), a.nodes[1].obj);
    assert_true(json_equal(json_array_get(items, 0),
                           json_array_get(json_object_get(a.nodelist, "items"), 1)));
    assert_non_null(json_object_get(json_object_get(r, "FailedNodes"), "n1"));
    /* the request's NodeList is untouched */
    assert_int_equal(json_array_size(json_object_get(a.nodelist, "items")), 2);
    json_decref(r);

    /* prioritize in NodeList mode names hosts from metadata.name */
    assert_int_equal(nf_extender_prioritize(&a, &src, &o, &r), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "Host")), "n2");
    json_decref(r);
    nf_extender_args_free(&a);

    /* "ITEMS" spelled in capitals: found, and the answer uses "items" only */
    assert_int_equal(
        decode("{'POD':" DPDK_POD ",'NODES':{'ITEMS':[{'METADATA':{'NAME':'n2'}}]}}", &a, &err), 0);
    assert_string_equal(a.nodes[0].name, "n2");
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    nodes = json_object_get(r, "Nodes");
    assert_int_equal(json_object_size(nodes), 1);
    assert_int_equal(json_array_size(json_object_get(nodes, "items")), 1);
    json_decref(r);
    nf_extender_args_free(&a);
    src_free(&c);
}

static void test_unaligned_pod_needs_no_lookup(void **state)
{
    (void)state;
    src_ctx c = {.n = 0};
    nf_topology_source src = {.acquire = acq, .release = rel, .ctx = &c};
    nf_extender_args a;
    nf_err err;
    assert_int_equal(
        decode("{'Pod':{'spec':{'containers':[{'name':'web'}]}},'NodeNames':['a','b']}", &a, &err),
        0);
    assert_false(a.req.aligned);
    nf_fit_opts o = {0};
    json_t *r;
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    assert_int_equal(json_array_size(json_object_get(r, "NodeNames")), 2);
    assert_int_equal(json_object_size(json_object_get(r, "FailedNodes")), 0);
    json_decref(r);
    assert_int_equal(nf_extender_prioritize(&a, &src, &o, &r), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "Score")), 0);
    json_decref(r);
    assert_int_equal(c.acquired, 0);
    /* empty NodeNames: an empty answer */
    nf_extender_args_free(&a);
    assert_int_equal(decode("{'Pod':" DPDK_POD ",'NodeNames':[]}", &a, &err), 0);
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    assert_int_equal(json_array_size(json_object_get(r, "NodeNames")), 0);
    json_decref(r);
    nf_extender_args_free(&a);
}

static void test_realdata_pod_payload(void **state)
{
    (void)state;
    /* the OpenShift DPDK workload, converted from YAML, sent as kube-scheduler would */
    char path[1024];
    snprintf(path, sizeof(path),
             "%s/pods/openshift-openshift-docs/modules/nw-sriov-dpdk-base-workload.extracted.yaml",
             NF_REALDATA_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    json_t *docs;
    nf_err err;
    assert_int_equal(nf_yaml_load_all(buf, n, &docs, &err), 0);
    json_t *args =
        json_pack("{s:O, s:[s, s]}", "Pod", json_array_get(docs, 1), "NodeNames", "big", "tiny");
    char *body = json_dumps(args, 0);
    nf_extender_args a;
    assert_int_equal(nf_extender_args_decode(body, strlen(body), &a, &err), 0);
    assert_int_equal(nf_amount_get(a.req.effective, a.req.n_effective, "cpu"), 16);
    src_ctx c = {.n = 2};
    c.t[0] = node("big", 4, 20, 22);
    c.t[1] = node("tiny", 4, 4, 8);
    nf_topology_source src = {.acquire = acq, .release = rel, .ctx = &c};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    json_t *r;
    assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "NodeNames"), 0)),
                        "big");
    assert_non_null(json_object_get(json_object_get(r, "FailedAndUnresolvableNodes"), "tiny"));
    json_decref(r);
    nf_extender_args_free(&a);
    free(body);
    json_decref(args);
    json_decref(docs);
    src_free(&c);
}

static void expect_error(const char *body, const char *msg)
{
    nf_extender_args a;
    nf_err err;
    memset(&a, 0x5a, sizeof(a));
    int rc = decode(body, &a, &err);
    assert_int_equal(rc, -EINVAL);
    assert_null(a.doc);
    assert_null(a.nodes);
    if (!strstr(err.msg, msg))
        fail_msg("body %s: message \"%s\" lacks \"%s\"", body, err.msg, msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "malformed JSON");
    expect_error("{'Pod':", "malformed JSON at line 1");
    expect_error("[1]", "must be a JSON object");
    expect_error("{'NodeNames':['a']}", "Pod is missing");
    expect_error("{'Pod':null,'NodeNames':['a']}", "Pod is missing");
    expect_error("{'Pod':'x','NodeNames':['a']}", "Pod must be an object");
    expect_error("{'Pod':" DPDK_POD "}", "neither Nodes nor NodeNames");
    expect_error("{'Pod':" DPDK_POD ",'Nodes':null,'NodeNames':null}", "neither");
    expect_error("{'Pod':" DPDK_POD ",'NodeNames':'a'}", "NodeNames must be an array");
    expect_error("{'Pod':" DPDK_POD ",'NodeNames':['a',3]}", "NodeNames[1] must be a string");
    expect_error("{'Pod':" DPDK_POD ",'Nodes':[]}", "Nodes must be a NodeList object");
    expect_error("{'Pod':" DPDK_POD ",'Nodes':{'items':{}}}", "Nodes.items must be an array");
    expect_error("{'Pod':" DPDK_POD ",'Nodes':{'items':[1]}}", "Nodes.items[0]: must be an object");
    expect_error("{'Pod':" DPDK_POD ",'Nodes':{'items':[{'metadata':{}}]}}",
                 "Nodes.items[0]: metadata.name");
    expect_error("{'Pod':{'spec':{'containers':[{'resources':{'limits':{'cpu':'eight'}}}]}},"
                 "'NodeNames':['a']}",
                 "Pod: spec.containers[0].resources.limits.cpu");
    expect_error("{'Pod':{'metadata':{}},'NodeNames':['a']}", "spec is missing");

    /* a NodeList without items is an empty list */
    nf_extender_args a;
    nf_err err;
    assert_int_equal(decode("{'Pod':" DPDK_POD ",'Nodes':{'kind':'NodeList'}}", &a, &err), 0);
    assert_int_equal(a.n_nodes, 0);
    nf_extender_args_free(&a);
    /* NodeNames wins when both are given; later duplicate keys win as in Go */
    assert_int_equal(decode("{'Pod':" DPDK_POD ",'Nodes':{'items':[]},'NodeNames':['x'],"
                            "'NodeNames':['y']}",
                            &a, &err),
                     0);
    assert_true(a.names_mode);
    assert_string_equal(a.nodes[0].name, "y");
    nf_extender_args_free(&a);
    nf_extender_args_free(NULL);

    json_t *e = nf_extender_filter_error("ExtenderArgs: Pod is missing");
    json_t *want =
        tb_json("{'Nodes':null,'NodeNames':null,'FailedNodes':{},"
                "'FailedAndUnresolvableNodes':{},'Error':'ExtenderArgs: Pod is missing'}");
    assert_true(json_equal(e, want));
    json_decref(e);
    json_decref(want);
    e = nf_extender_error("bad");
    assert_string_equal(json_string_value(json_object_get(e, "Error")), "bad");
    assert_int_equal(json_object_size(e), 1);
    json_decref(e);
}

static void test_bind(void **state)
{
    (void)state;
    nf_extender_binding b;
    nf_err err;
    char *s = tb_sq("{'podname':'dpdk','PodNamespace':'ns','PODUID':'u1','Node':'w1'}");
    assert_int_equal(nf_extender_binding_decode(s, strlen(s), &b, &err), 0);
    free(s);
    assert_string_equal(b.pod_name, "dpdk");
    assert_string_equal(b.pod_namespace, "ns");
    assert_string_equal(b.pod_uid, "u1");
    assert_string_equal(b.node, "w1");
    nf_extender_binding_free(&b);
    s = tb_sq("{'PodName':'p','Node':'n'}");
    assert_int_equal(nf_extender_binding_decode(s, strlen(s), &b, &err), 0);
    assert_string_equal(b.pod_namespace, "");
    nf_extender_binding_free(&b);
    free(s);

    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{", "malformed JSON"},
        {"3", "must be a JSON object"},
        {"{'Node':'n'}", "PodName is missing"},
        {"{'PodName':'p'}", "Node is missing"},
        {"{'PodName':'p','Node':''}", "Node is missing"},
        {"{'PodName':1,'Node':'n'}", "PodName must be a string"},
        {"{'PodName':'p','PodUID':[],'Node':'n'}", "PodUID must be a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = tb_sq(bad[i].body);
        memset(&b, 0x5a, sizeof(b));
        assert_int_equal(nf_extender_binding_decode(s, strlen(s), &b, &err), -EINVAL);
        assert_null(b.pod_name);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("bind %s: \"%s\" lacks \"%s\"", bad[i].body, err.msg, bad[i].msg);
        free(s);
    }
    json_t *r = nf_extender_binding_result(NULL);
    char *d = json_dumps(r, 0);
    assert_string_equal(d, "{\"Error\": \"\"}");
    free(d);
    json_decref(r);
}

/* Truncations and byte flips of a real request never crash and always end in 0 or -EINVAL with a
 * message; decoded ones run through filter and prioritize. */
static void test_garbage(void **state)
{
    (void)state;
    char *body =
        tb_sq("{'Pod':{'metadata':{'name':'p'},'spec':{'initContainers':[{'name':'i',"
              "'restartPolicy':'Always','resources':{'limits':{'cpu':'2','memory':'1Gi'}}}],"
              "'overhead':{'memory':'1Mi'},'containers':[{'name':'t','resources':{'limits':"
              "{'cpu':'8','memory':'1Gi','hugepages-1Gi':'4Gi','" VF "':'1'}}}]}},"
              "'NodeNames':['n1','n2']}");
    size_t len = strlen(body);
    src_ctx c = {.n = 1};
    c.t[0] = node("n1", 10, 10, 22);
    nf_topology_source src = {.acquire = acq, .release = rel, .ctx = &c};
    nf_fit_opts o = {.align = NF_ALIGN_SOCKET};
    char *m = malloc(len + 1);
    static const char alphabet[] = "{}[]\\\",:0123456789.-eEmKiG aZ";
    unsigned seed = 12345;
    int decoded = 0;
    for (size_t i = 0; i < len + 3000; i++) {
        memcpy(m, body, len + 1);
        size_t n = len;
        if (i < len) {
            n = i; /* truncation */
        } else {
            for (int k = 0; k < 3; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                m[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
            }
        }
        nf_extender_args a;
        nf_err err;
        err.msg[0] = '\0';
        int rc = nf_extender_args_decode(m, n, &a, &err);
        if (rc) {
            assert_true(rc == -EINVAL || rc == -ERANGE);
            assert_true(err.msg[0] != '\0');
            continue;
        }
        decoded++;
        json_t *r;
        assert_int_equal(nf_extender_filter(&a, &src, &o, &r), 0);
        json_decref(r);
        assert_int_equal(nf_extender_prioritize(&a, &src, &o, &r), 0);
        json_decref(r);
        nf_extender_args_free(&a);
    }
    assert_true(decoded > 10);
    free(m);
    free(body);
    tb_free(c.t[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_names_mode),
        cmocka_unit_test(test_filter_nodelist_mode_lowercase),
        cmocka_unit_test(test_unaligned_pod_needs_no_lookup),
        cmocka_unit_test(test_realdata_pod_payload),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
