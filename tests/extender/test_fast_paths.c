/* test_fast_paths.c - the extender's fast paths give the answers of the plain ones:
 * the precomputed fit view (fit.h) against nf_zones_build and a fresh fit per call, the one-pass
 * request scanner (nf_extender_args_scan) against the jansson decoder, and the text encoder's
 * escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_protocol.h"
#include "extender_test_util.h"
#include "fit.h"
#include "score.h"

static const kspec KS[] = {
    {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"},
    {.cpu_policy = "static", .scope = "container"},
    {.cpu_policy = "static", .scope = "pod", .mm_policy = "Static", .fpo = true},
    {.cpu_policy = "none", .scope = "pod"},
};

/* Four NUMA nodes on two sockets with uneven free amounts; one lacks VFs, one lacks hugepages. */
static nf_topology *topo(const char *name, kspec k, int variant)
{
    zspec z[4] = {
        {0, 0, 22, 2 + variant, 2, 1 + variant / 2, 16, 4, 4, 1, -1, 64, 20},
        {1, 0, 24, 10, 2, 5, 16, 12, -1, 0, -1, 64, 60},
        {2, 1, 24, 6, 2, 3, -1, 0, 8, 8, 8, 64, 1},
        {3, 1, 24, 24 - variant, 2, 12 - variant / 2, 8, 8, 4, 2, 1, 64, 64},
    };
    return tb_topo(name, k, z, 4);
}

#define CT(name, cpu, extra)                                                                       \
    "{'name':'" name "','resources':{'limits':{'cpu':'" cpu "','memory':'1Gi'" extra "}}}"

static const char *const PODS[] = {
    "{'spec':{'containers':[" CT("a", "4", ",'hugepages-1Gi':'4Gi','intel.com/sriov':'1'") "]}}",
    "{'spec':{'containers':[" CT("a", "8", ",'hugepages-1Gi':'2Gi'") "]}}",
    "{'spec':{'containers':[" CT("a", "6", "") "," CT("b", "6", ",'intel.com/sriov':'2'") "]}}",
    "{'spec':{'initContainers':[" CT("i", "20", "") "],'containers':[" CT("a", "3", "") "," CT(
        "b", "2", ",'hugepages-1Gi':'8Gi'") "]}}",
    "{'spec':{'containers':[" CT("a", "40", "") "]}}",
    "{'spec':{'containers':[{'name':'x','resources':{'requests':{'cpu':'1'}}}]}}",
};

static void same_fit(const nf_fit_result *a, const nf_fit_result *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->lack, b->lack);
    assert_int_equal(a->aligned, b->aligned);
    assert_int_equal(a->zone, b->zone);
    assert_int_equal(a->backtracked, b->backtracked);
    assert_string_equal(a->reason, b->reason);
    assert_int_equal(a->n_container_zones, b->n_container_zones);
    for (size_t i = 0; i < a->n_container_zones; i++)
        assert_int_equal(a->container_zones[i], b->container_zones[i]);
}

/* The view's matrix holds exactly what nf_zones_build computes, and one view reused for many
 * pods answers as a fresh fit does. */
static void test_view_matches_zones_and_fit(void **state)
{
    (void)state;
    const char *names[] = {"cpu", "memory", "hugepages-1Gi", VF, "absent.example/x"};
    for (size_t k = 0; k < sizeof(KS) / sizeof(KS[0]); k++) {
        for (int variant = 0; variant < 6; variant += 3) {
            nf_topology *t = topo("n", KS[k], variant);
            for (int al = 0; al < 2; al++) {
                nf_fit_opts o = {.align = al ? NF_ALIGN_SOCKET : NF_ALIGN_NUMA,
                                 .strategy = (nf_strategy)(variant % 3)};
                nf_zone *zones;
                size_t nz;
                assert_int_equal(nf_zones_build(t, &o, &zones, &nz), 0);
                nf_fit_view *v;
                assert_int_equal(nf_fit_view_new(t, o.align, &v), 0);
                assert_int_equal(nf_fit_view_align(v), o.align);
                assert_int_equal(nf_fit_view_zones(v), nz);
                for (size_t z = 0; z < nz; z++) {
                    assert_int_equal(nf__fit_view_zone_index(v, zones[z].id), z);
                    for (size_t r = 0; r < 5; r++)
                        for (int w = 0; w < 2; w++)
                            assert_int_equal(
                                nf__fit_view_get(v, z, nf__fit_view_col(v, names[r]), w),
                                nf_zone_get(&zones[z], names[r], w));
                }
                nf_zones_free(zones, nz);
                for (size_t p = 0; p < sizeof(PODS) / sizeof(PODS[0]); p++) {
                    nf_pod_req pod = tb_pod(PODS[p]);
                    nf_fit_result a, b, c;
                    assert_int_equal(nf_fit_node(&pod, t, &o, &a), 0);
                    assert_int_equal(nf_fit_node_view(&pod, t, v, &o, &b), 0);
                    same_fit(&a, &b);
                    assert_int_equal(nf_score_node(&pod, t, &o, &a),
                                     nf_score_node_view(&pod, t, v, &o, &b));
                    /* no_reason: same decision, no text */
                    nf_fit_opts q = o;
                    q.no_reason = true;
                    assert_int_equal(nf_fit_node_view(&pod, t, v, &q, &c), 0);
                    assert_int_equal(c.status, a.status);
                    assert_int_equal(c.zone, a.zone);
                    if (a.status == NF_FIT_OK || a.lack == NF_LACK_POLICY)
                        assert_string_equal(c.reason, a.reason);
                    else if (strstr(a.reason, "no NUMA node") || strstr(a.reason, "no socket"))
                        assert_string_equal(c.reason, "");
                    nf_fit_result_free(&a);
                    nf_fit_result_free(&b);
                    nf_fit_result_free(&c);
                    nf_pod_req_free(&pod);
                }
                nf_fit_view_free(v);
            }
            tb_free(t);
        }
    }
}

/* ---- scan vs decode ---- */

typedef struct topo_set {
    nf_topology *t[3];
    nf_fit_view *v[3];
    const char *why; /* reason for unknown nodes */
} topo_set;

static const nf_topology *acquire(void *ctx, const char *node, void **handle, char *why, size_t len)
{
    topo_set *s = ctx;
    for (int i = 0; i < 3; i++) {
        if (strcmp(s->t[i]->node, node) == 0) {
            *handle = s->v[i];
            return s->t[i];
        }
    }
    snprintf(why, len, "%s", s->why);
    return NULL;
}

static const nf_fit_view *view(void *ctx, void *handle, const nf_topology *t, nf_align align,
                               nf_fit_memo **memo)
{
    (void)ctx;
    (void)t;
    *memo = NULL;
    return align == NF_ALIGN_NUMA ? handle : NULL;
}

static json_t *answer(const nf_extender_args *a, topo_set *s, bool filter)
{
    nf_topology_source src = {.acquire = acquire, .view = view, .ctx = s};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    char *text;
    size_t len;
    int rc = filter ? nf_extender_filter_text(a, &src, &o, &text, &len)
                    : nf_extender_prioritize_text(a, &src, &o, &text, &len);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(text), len);
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j)
        fail_msg("answer is not JSON (%s): %s", je.text, text);
    /* the json_t form of the same answer agrees */
    json_t *tree;
    assert_int_equal(filter ? nf_extender_filter(a, &src, &o, &tree)
                            : nf_extender_prioritize(a, &src, &o, &tree),
                     0);
    if (!json_equal(j, tree)) {
        char *x = json_dumps(tree, 0);
        fail_msg("text and tree answers differ:\n%s\n%s", text, x);
    }
    json_decref(tree);
    free(text);
    return j;
}

#define POD                                                                                        \
    "{'metadata':{'name':'p'},'spec':{'containers':[" CT("a", "4", ",'intel.com/sriov':'1'") "]}}"
#define NODE(n, extra) "{'metadata':{'name':'" n "','labels':{'k':'v'}}" extra "}"

/* Each body; expect_scanned: 1 fast path, 0 fallback, -1 an error (both paths must agree). */
static const struct {
    const char *body;
    int expect_scanned;
} BODIES[] = {
    {"{'Pod':" POD ",'Nodes':null,'NodeNames':['n0','n1','n2','n9']}", 1},
    {" {'pod':" POD ",'nodenames':['n2','n0'],'nodes':{'items':[]}} \n", 1},
    {"{'Pod':" POD ",'Nodes':{'kind':'NodeList','metadata':{'resourceVersion':'7'},'items':[" NODE(
         "n0",
         ",'status':{'f':1.25,'n':-3,'u':'\\u00e9\xc3\xa9\\n'}") "," NODE("n1",
                                                                          "") "," NODE("n9",
                                                                                       "") "]}}",
     1},
    {"{'Pod':" POD ",'Nodes':{'Items':[" NODE("n0", "") "]}}", 1},
    {"{'Pod':" POD ",'Nodes':{'items':null}}", 1},
    {"{'Pod':" POD ",'NodeNames':['n\\u0030','n1']}", 0},                  /* escape in a name */
    {"{'Pod':" POD ",'pod':" POD ",'NodeNames':['n0']}", 0},               /* key twice */
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':1e3") "]}}", 0}, /* exponent */
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':1234567890123456789") "]}}", 0},
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':123456789012345678901") "]}}", -1},
    {"{'P\\u006fd':" POD ",'NodeNames':['n0']}", 0}, /* escaped key */
    {"{'Pod':" POD ",'NodeNames':['n0'", -1},
    {"[]", -1},
    {"{'Pod':" POD "}", -1},
    {"{'Pod':" POD ",'NodeNames':[1]}", -1},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{}}]}}", -1},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{'name':'n0'}}]}} x", -1},
    {"{'Pod':" POD ",'NodeNames':['n0\xff']}", -1},
    {"{'Pod':" POD ",'NodeNames':['n0\\u0000']}", -1},
    {"{'Pod':" POD ",'NodeNames':['n0\xed\xa0\x80']}", -1},
    {"{'Pod':{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':'4x'}}}]}},"
     "'NodeNames':['n0']}",
     -1},
};

static void test_scan_matches_decode(void **state)
{
    (void)state;
    topo_set s = {.why = "no \"topology\"\n\tfor\x01 this node"};
    const char *nn[] = {"n0", "n1", "n2"};
    for (int i = 0; i < 3; i++) {
        s.t[i] = topo(nn[i], KS[0], i * 3);
        assert_int_equal(nf_fit_view_new(s.t[i], NF_ALIGN_NUMA, &s.v[i]), 0);
    }
    for (size_t b = 0; b < sizeof(BODIES) / sizeof(BODIES[0]); b++) {
        char *body = strdup(BODIES[b].body);
        for (char *p = body; *p; p++)
            if (*p == '\'')
                *p = '"';
        size_t len = strlen(body);
        nf_extender_args fast, slow;
        nf_err e1 = {{0}}, e2 = {{0}};
        int r1 = nf_extender_args_scan(body, len, &fast, &e1);
        int r2 = nf_extender_args_decode(body, len, &slow, &e2);
        assert_int_equal(r1, r2);
        if (BODIES[b].expect_scanned < 0) {
            if (r1 == 0)
                fail_msg("body %zu was accepted: %s", b, body);
            assert_string_equal(e1.msg, e2.msg);
            free(body);
            continue;
        }
        if (r1)
            fail_msg("body %zu: %s", b, e1.msg);
        assert_int_equal(fast.scanned, BODIES[b].expect_scanned == 1);
        assert_int_equal(fast.n_nodes, slow.n_nodes);
        assert_int_equal(fast.names_mode, slow.names_mode);
        for (size_t i = 0; i < fast.n_nodes; i++)
            assert_string_equal(fast.nodes[i].name, slow.nodes[i].name);
        for (int f = 0; f < 2; f++) {
            json_t *x = answer(&fast, &s, f), *y = answer(&slow, &s, f);
            if (!json_equal(x, y)) {
                char *a = json_dumps(x, 0), *c = json_dumps(y, 0);
                fail_msg("body %zu differs:\n%s\n%s", b, a, c);
            }
            if (f) {
                /* the reason of an unknown node survives escaping */
                json_t *failed = json_object_get(x, "FailedNodes");
                json_t *r = json_object_get(failed, "n9");
                if (r)
                    assert_string_equal(json_string_value(r),
                                        "numafit: no \"topology\"\n\tfor\x01 this node");
            }
            json_decref(x);
            json_decref(y);
        }
        nf_extender_args_free(&fast);
        nf_extender_args_free(&slow);
        free(body);
    }
    for (int i = 0; i < 3; i++) {
        nf_fit_view_free(s.v[i]);
        tb_free(s.t[i]);
    }
}

/* NodeList mode through the scanner passes node objects back byte for byte. */
static void test_scan_nodes_unchanged(void **state)
{
    (void)state;
    topo_set s = {.why = "none"};
    const char *nn[] = {"n0", "n1", "n2"};
    for (int i = 0; i < 3; i++) {
        s.t[i] = topo(nn[i], KS[0], 0);
        assert_int_equal(nf_fit_view_new(s.t[i], NF_ALIGN_NUMA, &s.v[i]), 0);
    }
    const char *node = "{\"metadata\": {\"name\":\"n1\"}, \"spec\":{\"x\" : 1.50}}";
    char body[1024];
    snprintf(body, sizeof(body), "{\"Pod\":%s,\"Nodes\":{\"items\":[%s]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":"
             "\"1\",\"memory\":\"1Gi\"}}}]}}",
             node);
    nf_extender_args a;
    nf_err err;
    assert_int_equal(nf_extender_args_scan(body, strlen(body), &a, &err), 0);
    assert_true(a.scanned);
    nf_topology_source src = {.acquire = acquire, .view = view, .ctx = &s};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    char *text;
    size_t len;
    assert_int_equal(nf_extender_filter_text(&a, &src, &o, &text, &len), 0);
    assert_non_null(strstr(text, node));
    free(text);
    nf_extender_args_free(&a);
    for (int i = 0; i < 3; i++) {
        nf_fit_view_free(s.v[i]);
        tb_free(s.t[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_matches_zones_and_fit),
        cmocka_unit_test(test_scan_matches_decode),
        cmocka_unit_test(test_scan_nodes_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
