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
    /* other names: a name of length n is node n % 3's when n % 4 != 3, else unknown (so names
     * with any bytes pass and fail) */
    bool by_length;
} topo_set;

/* n0, n1, n2: the topology of variant i * step; with container scope on n2 when mixed. */
static void nodes_new(topo_set *s, bool mixed, int step)
{
    const char *nn[] = {"n0", "n1", "n2"};
    for (int i = 0; i < 3; i++) {
        s->t[i] = topo(nn[i], KS[mixed && i == 2 ? 1 : 0], i * step);
        assert_int_equal(nf_fit_view_new(s->t[i], NF_ALIGN_NUMA, &s->v[i]), 0);
    }
}

static void nodes_free(topo_set *s)
{
    for (int i = 0; i < 3; i++) {
        nf_fit_view_free(s->v[i]);
        tb_free(s->t[i]);
    }
}

static const nf_topology *acquire(void *ctx, const char *node, void **handle, char *why, size_t len)
{
    topo_set *s = ctx;
    for (int i = 0; i < 3; i++) {
        if (strcmp(s->t[i]->node, node) == 0) {
            *handle = s->v[i];
            return s->t[i];
        }
    }
    size_t n = strlen(node);
    if (s->by_length && n % 4 != 3) {
        *handle = s->v[n % 3];
        return s->t[n % 3];
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

#define ITEMS(...) "{'Pod':" POD ",'Nodes':{'items':[" __VA_ARGS__ "]}}"

/* Each body; expect_scanned: 1 fast path, 0 fallback, -1 an error (both paths must agree);
 * name0: the first node's name (NULL: not checked). */
static const struct {
    const char *body;
    int expect_scanned;
    const char *name0;
} BODIES[] = {
    {"{'Pod':" POD ",'Nodes':null,'NodeNames':['n0','n1','n2','n9']}", 1, NULL},
    {" {'pod':" POD ",'nodenames':['n2','n0'],'nodes':{'items':[]}} \n", 1, NULL},
    {"{'Pod':" POD ",'Nodes':{'kind':'NodeList','metadata':{'resourceVersion':'7'},'items':[" NODE(
         "n0",
         ",'status':{'f':1.25,'n':-3,'u':'\\u00e9\xc3\xa9\\n'}") "," NODE("n1",
                                                                          "") "," NODE("n9",
                                                                                       "") "]}}",
     1, NULL},
    {"{'Pod':" POD ",'Nodes':{'Items':[" NODE("n0", "") "]}}", 1, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':null}}", 1, NULL},
    {"{'Pod':" POD ",'NodeNames':['n\\u0030','n1']}", 0, NULL},    /* escape in a name */
    {"{'Pod':" POD ",'pod':" POD ",'NodeNames':['n0']}", 0, NULL}, /* key twice */
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':1e3") "]}}", 0, NULL}, /* exponent */
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':1234567890123456789") "]}}", 0, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n0", ",'x':123456789012345678901") "]}}", -1, NULL},
    {"{'P\\u006fd':" POD ",'NodeNames':['n0']}", 0, NULL}, /* escaped key */
    {"{'Pod':" POD ",'NodeNames':['n0'", -1, NULL},
    {"[]", -1, NULL},
    {"{'Pod':" POD "}", -1, NULL},
    {"{'Pod':" POD ",'NodeNames':[1]}", -1, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{}}]}}", -1, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{'name':'n0'}}]}} x", -1, NULL},
    {"{'Pod':" POD ",'NodeNames':['n0\xff']}", -1, NULL},
    {"{'Pod':" POD ",'NodeNames':['n0\\u0000']}", -1, NULL},
    {"{'Pod':" POD ",'NodeNames':['n0\xed\xa0\x80']}", -1, NULL},
    {"{'Pod':{'spec':{'containers':[{'name':'a','resources':{'limits':{'cpu':'4x'}}}]}},"
     "'NodeNames':['n0']}",
     -1, NULL},
    /* a node's metadata, as the one-pass node scan reads it */
    {ITEMS("{'metadata':{'name':'n9'},'metadata':{'name':'n0'}}"), 0, "n0"}, /* given twice */
    {ITEMS("{'metadata':{'name':'n9'},'Metadata':{'name':'n1'}}"), 0, "n1"}, /* in two cases */
    {ITEMS("{'metadata':{'name':'n2'},'metadata':{'name':'n2'}}"), 0, "n2"},
    {ITEMS("{'metadata':{'name':'n0'},'metadata':{}}"), -1, NULL}, /* the last has no name */
    {ITEMS("{'metadata':{'name':'n0'},'metadata':{'labels':{}}}"), -1, NULL},
    {ITEMS("{'Metadata':{'name':'n1'},'metadata':{'x':1}}"), -1, NULL},
    {ITEMS("{'metadata':'n0'}"), -1, NULL}, /* not an object */
    {ITEMS("{'metadata':['n0']}"), -1, NULL},
    {ITEMS("{'metadata':null}"), -1, NULL},
    {ITEMS("{'metadata':{'name':'n0'}},{'metadata':7}"), -1, NULL},
    {ITEMS("{'m\\u0065tadata':{'name':'n0'}}"), 0, "n0"}, /* an escaped key spelling it */
    {ITEMS("{'metadata':{'name':'n9'},'m\\u0065tadata':{'name':'n1'}}"), 0, "n1"},
    {ITEMS("{'m\\u0065tadata':{'name':'n1'},'metadata':{'name':'n2'}}"), 0, "n2"},
    {ITEMS("{'metadata':{'name':'n0'},'sp\\u0065c':{}}"), 0, "n0"}, /* another escaped key */
    {ITEMS("{'metadata':{'n\\u0061me':'n1'}}"), 0, "n1"},
    {ITEMS("{'metadata':{'name':'n9','n\\u0061me':'n2'}}"), 0, "n2"},
    {ITEMS("{'metadata':{'name':'n9','name':'n0'}}"), 0, "n0"}, /* name twice */
    {ITEMS("{'metadata':{'name':'n9','Name':'n1'}}"), 0, "n1"},
    {ITEMS("{'metadata':{'NAME':'n2'}}"), 1, "n2"},
    {ITEMS("{'metadata':{'name':5}}"), -1, NULL},
    {ITEMS("{'metadata':{'name':''}}"), -1, NULL},
    {ITEMS("{'metadata':{'name':null}}"), -1, NULL},
    {ITEMS("{'metadata':{'labels':{'name':'n9'}}}"), -1, NULL},
    {ITEMS("{'spec':{}}"), -1, NULL}, /* no metadata */
    {ITEMS("'n0'"), -1, NULL},
    {ITEMS("null"), -1, NULL},
    /* metadata nested inside other fields is not the node's */
    {ITEMS("{'spec':{'metadata':{'name':'n9'}},'metadata':{'name':'n0'}}"), 1, "n0"},
    {ITEMS("{'metadata':{'name':'n1','annotations':{'metadata':{'name':'n9'},'name':'n9'}}}"), 1,
     "n1"},
    {ITEMS("{'metadata':{'labels':{'name':'n9'},'name':'n2'},'status':{'metadata':{'name':'n9'}"
           "}}"),
     1, "n2"},
    {ITEMS("{'metadata':{'metadata':{'name':'n9'},'name':'n0'}}"), 1, "n0"},
    {ITEMS("{'x':[{'metadata':{'name':'n9'}}],'metadata':{'name':'n1'},'y':{'metadata':1}}"), 1,
     "n1"},
    /* escapes below the node's metadata members are fine */
    {ITEMS("{'metadata':{'name':'n0','labels':{'a\\u0062':'\\'x\\u00e9'}}}"), 1, "n0"},
    {ITEMS("{'metadata':{'name':'n1'},'status':{'k\\'':'\\ud83d\\ude00'}}"), 0, "n1"},
    /* the NodeList's own members */
    {"{'Pod':" POD ",'Nodes':{'k\\u0069nd':'NodeList','items':[{'metadata':{'name':'n0'}}]}}", 0,
     "n0"},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{'name':'n0'}}],'Items':[]}}", 0, NULL},
    {"{'Pod':" POD ",'Nodes':{'metadata':{'x':'\\'\\n'},'items':[{'metadata':{'name':'n2'}}]}}", 1,
     "n2"},
    /* the one pass reads Nodes and NodeNames as it goes: NodeNames after Nodes still wins, before
     * it Nodes is only checked */
    {"{'NodeNames':['n1','n0'],'Pod':" POD "}", 1, "n1"},
    {"{'Pod':" POD ",'NodeNames':[],'Nodes':{'items':[" NODE("n0", "") "]}}", 1, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n9", "") "," NODE("n0", "") "]},'NodeNames':[]}", 1,
     NULL},
    {"{'Pod':" POD ",'NodeNames':['n0'],'nodeNames':['n1']}", 0, NULL}, /* given twice */
    {"{'Pod':" POD ",'NodeNames':['n0','n1',null]}", -1, NULL},
    {"{'Pod':" POD ",'Nodes':{'items':[" NODE("n9", "") "]},'NodeNames':['n1','n2']}", 1, "n1"},
    {"{'Pod':" POD ",'NodeNames':['n2'],'Nodes':{'items':[" NODE("n9", "") "]}}", 1, "n2"},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{'name':'n1'}}]},'NodeNames':null}", 1, "n1"},
    {"{'Pod':" POD ",'NodeNames':['n0'],'Nodes':{'k\\u0069nd':'x','items':7}}", 1, "n0"},
    {"{'Pod':" POD ",'Nodes':{'items':7},'NodeNames':['n0']}", 0, "n0"},
    {"{'Pod':" POD ",'Nodes':{'k\\u0069nd':'x'},'NodeNames':['n2']}", 0, "n2"},
    {"{'Pod':" POD ",'Nodes':{'items':[{'metadata':{'name':'n1'}}]},'nodes':{'items':[]}}", 0,
     NULL},
};

static void test_scan_matches_decode(void **state)
{
    (void)state;
    topo_set s = {.why = "no \"topology\"\n\tfor\x01 this node"};
    nodes_new(&s, false, 3);
    for (size_t b = 0; b < sizeof(BODIES) / sizeof(BODIES[0]); b++) {
        char *body = strdup(BODIES[b].body);
        for (char *p = body; *p; p++)
            if (*p == '\'')
                *p = '"';
        size_t len = strlen(body);
        nf_extender_args fast, slow;
        nf_err e1 = {{0}}, e2 = {{0}};
        nf_arena arena; /* as the server scans: the node table in the request's arena */
        nf_arena_init(&arena, NULL);
        int r1 = nf_extender_args_scan(body, len, &arena, &fast, &e1);
        int r2 = nf_extender_args_decode(body, len, &slow, &e2);
        assert_int_equal(r1, r2);
        if (BODIES[b].expect_scanned < 0) {
            if (r1 == 0)
                fail_msg("body %zu was accepted: %s", b, body);
            assert_string_equal(e1.msg, e2.msg);
            nf_arena_free(&arena);
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
        if (BODIES[b].name0) {
            assert_true(slow.n_nodes > 0);
            assert_string_equal(slow.nodes[0].name, BODIES[b].name0);
        }
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
        nf_arena_free(&arena);
        nf_extender_args_free(&slow);
        free(body);
    }
    nodes_free(&s);
}

/* ---- strings with one special character at every position ---- */

typedef struct special {
    const char *json;  /* as written in the body */
    const char *bytes; /* what it decodes to (NULL: the body is not JSON) */
    /* 1: the scanner takes a body with it in a node name or a node object's key, 0: it leaves
     * that body to the decoder, -1: both reject it */
    int in_name;
    int nested;   /* the same, as a value or key deeper in a node object or the NodeList */
    bool primary; /* checked at every position of every length */
} special;

static const special SPECIALS[] = {
    {"\\\"", "\"", 0, 1, true},
    {"\\\\", "\\", 0, 1, true},
    {"\\/", "/", 0, 1, false},
    {"\\n", "\n", 0, 1, true},
    {"\\t", "\t", 0, 1, false},
    {"\\b", "\b", 0, 1, false},
    {"\\f", "\f", 0, 1, false},
    {"\\r", "\r", 0, 1, false},
    {"\\u0001", "\x01", 0, 1, false},
    {"\\u001F", "\x1f", 0, 1, false},
    {"\\u00e9", "\xc3\xa9", 0, 1, true},
    {"\\u20AC", "\xe2\x82\xac", 0, 1, false},
    {"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 0, 0, false}, /* surrogates: jansson judges */
    {"\xc3\xa9", "\xc3\xa9", 1, 1, true},
    {"\xe2\x82\xac", "\xe2\x82\xac", 1, 1, false},
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", 1, 1, true},
    {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 1, 1, false},
    {"\x7f", "\x7f", 1, 1, true},
    {"\x01", NULL, -1, -1, true}, /* raw control bytes */
    {"\n", NULL, -1, -1, false},
    {"\t", NULL, -1, -1, false},
    {"\x1f", NULL, -1, -1, false},
    {"\xc3", NULL, -1, -1, true},              /* a lead byte without its continuation */
    {"\xa9", NULL, -1, -1, false},             /* a continuation byte alone */
    {"\xc0\xaf", NULL, -1, -1, false},         /* overlong */
    {"\xed\xa0\x80", NULL, -1, -1, false},     /* a surrogate in UTF-8 */
    {"\xf4\x90\x80\x80", NULL, -1, -1, false}, /* above U+10FFFF */
    {"\xff", NULL, -1, -1, false},
    {"\\ud800", NULL, -1, -1, false}, /* a lone surrogate */
    {"\\x", NULL, -1, -1, false},     /* no such escape */
    {"\\u12z", NULL, -1, -1, false},
};

/* A string of len characters (letters, and special sp at pos) as written in JSON and as decoded
 * (NUL-terminated; decoded is empty when sp is invalid). */
static void special_string(const special *sp, size_t len, size_t pos, char *json, char *bytes)
{
    char *j = json, *d = bytes;
    for (size_t i = 0; i < len; i++) {
        if (i == pos) {
            j += sprintf(j, "%s", sp->json);
            if (sp->bytes)
                d += sprintf(d, "%s", sp->bytes);
        } else {
            *j++ = (char)('a' + i % 26);
            *d++ = (char)('a' + i % 26);
        }
    }
    *j = *d = 0;
}

enum {
    IN_NAMES,
    IN_ITEM_NAME,
    IN_ITEM_KEY,
    IN_ITEM_FIELD,
    IN_LIST_KEY,
    IN_LIST_FIELD,
    IN_POD,
    N_PLACES
};

/* A body with the string (as JSON) in one place; *scanned: what the scanner should do. */
static char *special_body(int place, const special *sp, const char *js, const char *bytes,
                          int *scanned)
{
#define PODJ                                                                                       \
    "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"a\","                    \
    "\"resources\":{\"limits\":{\"cpu\":\"4\",\"memory\":\"1Gi\",\"intel.com/sriov\":\"1\"}}}]}}"
    char *b = NULL;
    int rc = -1;
    switch (place) {
    case IN_NAMES:
        rc = asprintf(&b, "{\"Pod\":" PODJ ",\"NodeNames\":[\"n0\",\"%s\",\"n1\"]}", js);
        *scanned = sp->in_name;
        break;
    case IN_ITEM_NAME:
        rc = asprintf(&b,
                      "{\"Pod\":" PODJ ",\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"n0\"}},"
                      "{\"metadata\":{\"labels\":{\"k\":\"v\"},\"name\":\"%s\"},\"spec\":{}}]}}",
                      js);
        *scanned = sp->bytes && !*bytes ? -1 : sp->in_name; /* an empty name is refused */
        break;
    case IN_ITEM_KEY:
        rc = asprintf(&b,
                      "{\"Pod\":" PODJ ",\"Nodes\":{\"items\":[{\"%s\":1,\"metadata\":{\"name\":"
                      "\"n1\"}},{\"metadata\":{\"name\":\"n2\"}}]}}",
                      js);
        *scanned = sp->in_name;
        break;
    case IN_ITEM_FIELD:
        rc = asprintf(&b,
                      "{\"Pod\":" PODJ ",\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"n2\","
                      "\"labels\":{\"%s\":\"%s\"}},\"status\":{\"s\":\"%s\",\"a\":[\"%s\",1]}}]}}",
                      js, js, js, js);
        *scanned = sp->nested;
        break;
    case IN_LIST_KEY:
        rc =
            asprintf(&b,
                     "{\"Pod\":" PODJ ",\"Nodes\":{\"%s\":\"x\",\"items\":[{\"metadata\":{\"name\":"
                     "\"n0\"}}]}}",
                     js);
        *scanned = sp->in_name;
        break;
    case IN_LIST_FIELD:
        rc = asprintf(&b,
                      "{\"Pod\":" PODJ ",\"Nodes\":{\"metadata\":{\"x\":\"%s\"},\"items\":[{"
                      "\"metadata\":{\"name\":\"n0\"}}]}}",
                      js);
        *scanned = sp->nested;
        break;
    default: /* a device named with it: the reasons of failing nodes carry it */
        rc =
            asprintf(&b,
                     "{\"Pod\":{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":"
                     "\"a\",\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"1Gi\","
                     "\"ex.com/%s\":\"1\"}}}]}},\"NodeNames\":[\"n0\",\"n1\",\"%s\"]}",
                     js, js, js);
        *scanned = sp->in_name;
        break;
    }
#undef PODJ
    assert_true(rc > 0);
    return b;
}

/* Which bodies the per-position check takes, to keep the test fast under the sanitizers: the
 * characters the scanner and the encoder each treat their own way (primary) at every position of
 * names (NodeNames) of every length, the others at every position up to 17 bytes (one SSE2 block
 * and the tail); in node objects the primary ones at every position up to 17 bytes and at every
 * eighth beyond, the others at every fourth up to 17; the other places at every twelfth position
 * of odd lengths. */
static bool per_position(const special *sp, int place, size_t len, size_t pos)
{
    switch (place) {
    case IN_NAMES:
        return sp->primary || len <= 17;
    case IN_ITEM_NAME:
    case IN_ITEM_FIELD:
        if (sp->primary)
            return len <= 17 || (len <= 40 && pos % 8 == 0);
        return len <= 17 && pos % 4 == 0;
    default:
        return sp->bytes && len <= 40 && len % 2 && pos % 12 == 0;
    }
}

static const size_t LENS[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                              16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                              31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 63, 64, 65};
#define N_LENS (sizeof(LENS) / sizeof(LENS[0]))
#define N_SPECIALS (sizeof(SPECIALS) / sizeof(SPECIALS[0]))

/* Scan and decode one body; fails unless they agree with each other and with want. Returns
 * whether it was accepted (then *fast and *slow hold it). */
static bool scan_both(const char *body, int want, nf_extender_args *fast, nf_extender_args *slow,
                      const char *what)
{
    size_t blen = strlen(body);
    nf_err e1 = {{0}}, e2 = {{0}};
    int r1 = nf_extender_args_scan(body, blen, NULL, fast, &e1);
    int r2 = nf_extender_args_decode(body, blen, slow, &e2);
    if (r1 != r2 || (r1 == 0) != (want >= 0) || (r1 == 0 && fast->scanned != (want == 1)))
        fail_msg("%s: scan %d (scanned %d) decode %d, want %d: %s / %s\n%.2000s", what, r1,
                 r1 ? -1 : fast->scanned, r2, want, e1.msg, e2.msg, body);
    if (r1) {
        assert_string_equal(e1.msg, e2.msg);
        return false;
    }
    assert_int_equal(fast->n_nodes, slow->n_nodes);
    assert_int_equal(fast->names_mode, slow->names_mode);
    for (size_t i = 0; i < fast->n_nodes; i++)
        assert_string_equal(fast->nodes[i].name, slow->nodes[i].name);
    return true;
}

/* The answers of both decodings agree (and answer() checks each text against its tree);
 * scanned NodeList answers carry the passing node objects as sent. Counts passing and failing
 * nodes. */
static void same_answers(const nf_extender_args *fast, const nf_extender_args *slow, topo_set *s,
                         size_t *passed, size_t *failed, const char *what)
{
    for (int f = 0; f < 2; f++) {
        json_t *x = answer(fast, s, f), *y = answer(slow, s, f);
        if (!json_equal(x, y)) {
            char *a = json_dumps(x, 0), *c = json_dumps(y, 0);
            fail_msg("%s: answers differ:\n%.3000s\n%.3000s", what, a, c);
        }
        if (f) {
            /* every name came back as it was asked, passing or failing */
            json_t *failed_m = json_object_get(x, "FailedNodes");
            json_t *unres_m = json_object_get(x, "FailedAndUnresolvableNodes");
            size_t out = json_object_size(failed_m) + json_object_size(unres_m);
            char *text = NULL;
            size_t tl = 0;
            if (fast->scanned && !fast->names_mode) {
                nf_topology_source src = {.acquire = acquire, .view = view, .ctx = s};
                nf_fit_opts o = {.align = NF_ALIGN_NUMA};
                assert_int_equal(nf_extender_filter_text(fast, &src, &o, &text, &tl), 0);
            }
            /* passing node objects as sent, and passing names, in request order */
            json_t *names = json_object_get(x, "NodeNames");
            json_t *items = json_object_get(json_object_get(x, "Nodes"), "items");
            assert_int_equal(json_array_size(names) + json_array_size(items) + out, fast->n_nodes);
            const char *cur = text;
            size_t next_name = 0;
            for (size_t i = 0; i < fast->n_nodes; i++) {
                const char *nm = fast->nodes[i].name;
                if (json_object_get(failed_m, nm) || json_object_get(unres_m, nm))
                    continue;
                if (fast->names_mode) {
                    const char *got = json_string_value(json_array_get(names, next_name++));
                    if (!got || strcmp(got, nm) != 0)
                        fail_msg("%s: passing name %zu is not %s", what, next_name - 1, nm);
                }
                if (!text)
                    continue;
                const char *at = memmem(cur, (size_t)(text + tl - cur), fast->nodes[i].raw,
                                        fast->nodes[i].raw_len);
                if (!at)
                    fail_msg("%s: node object %.*s is not in the answer as sent", what,
                             (int)fast->nodes[i].raw_len, fast->nodes[i].raw);
                cur = at + fast->nodes[i].raw_len;
            }
            free(text);
            *failed += out;
            *passed += fast->n_nodes - out;
        }
        json_decref(x);
        json_decref(y);
    }
}

/* Strings of length 1..40 (and around 64) with a special character at every position, as node
 * names (NodeNames), node object names, keys and fields, NodeList members and in a device name
 * (the reasons of failing nodes carry it): the scanner takes what it can, leaves escapes in names
 * and keys to the decoder, both reject what is not JSON with the same message and read the same
 * names; the text answers (which escape names and reasons again) are the jansson tree answers,
 * and scanned node objects come back byte for byte. */
static void test_special_strings(void **state)
{
    (void)state;
    topo_set s = {.why = "none", .by_length = true};
    nodes_new(&s, true, 3);
    size_t counts[3] = {0}, passed = 0, failed = 0;
    char js[512], bytes[512], what[128];
    /* 1. each position on its own: the scanner must notice the character wherever it is */
    for (size_t k = 0; k < N_SPECIALS; k++) {
        const special *sp = &SPECIALS[k];
        for (size_t li = 0; li < N_LENS; li++) {
            size_t len = LENS[li];
            for (size_t pos = 0; pos < len; pos++) {
                special_string(sp, len, pos, js, bytes);
                for (int place = 0; place < N_PLACES; place++) {
                    if (!per_position(sp, place, len, pos))
                        continue;
                    int want;
                    char *body = special_body(place, sp, js, bytes, &want);
                    snprintf(what, sizeof(what), "special %zu at %zu of %zu in place %d", k, pos,
                             len, place);
                    nf_extender_args fast, slow;
                    counts[want + 1]++;
                    if (scan_both(body, want, &fast, &slow, what)) {
                        if (place == IN_NAMES || place == IN_ITEM_NAME)
                            assert_string_equal(slow.nodes[1].name, bytes);
                        if (place == IN_POD) { /* the reasons name the device */
                            assert_string_equal(slow.nodes[2].name, bytes);
                            same_answers(&fast, &slow, &s, &passed, &failed, what);
                        }
                        nf_extender_args_free(&fast);
                        nf_extender_args_free(&slow);
                    }
                    free(body);
                }
            }
        }
    }
    assert_true(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);

    /* 2. every position at once, for the answers: one body per character with a name for each
     * length and position (NodeNames; for the primary ones also node objects with the string in
     * a field too) */
    for (size_t k = 0; k < N_SPECIALS; k++) {
        const special *sp = &SPECIALS[k];
        if (!sp->bytes)
            continue;
        char why[64];
        snprintf(why, sizeof(why), "why%snot", sp->bytes);
        s.why = why; /* the reason of unknown nodes carries it too */
        for (int list = 0; list < (sp->primary ? 2 : 1); list++) {
            size_t cap = 1 << 20, n = 0;
            char *body = malloc(cap);
            assert_non_null(body);
            n += (size_t)snprintf(body + n, cap - n, "{\"Pod\":%s,%s",
                                  "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{"
                                  "\"limits\":{\"cpu\":\"4\",\"memory\":\"1Gi\",\"intel.com/"
                                  "sriov\":\"1\"}}}]}}",
                                  list ? "\"Nodes\":{\"items\":[" : "\"NodeNames\":[");
            size_t n_names = 0;
            for (size_t li = 0; li < N_LENS && LENS[li] <= 40; li++) {
                for (size_t pos = 0; pos < LENS[li]; pos++) {
                    special_string(sp, LENS[li], pos, js, bytes);
                    if (list)
                        n += (size_t)snprintf(body + n, cap - n,
                                              "%s{\"metadata\":{\"name\":\"%s\"},\"status\":{"
                                              "\"s\":\"%s\"}}",
                                              n_names ? "," : "", js, js);
                    else
                        n +=
                            (size_t)snprintf(body + n, cap - n, "%s\"%s\"", n_names ? "," : "", js);
                    n_names++;
                    assert_true(n < cap - 64);
                }
            }
            snprintf(body + n, cap - n, "%s",
                     list ? ",{\"metadata\":{\"name\":\"n0\"}}]}}" : ",\"n0\",\"n1\"]}");
            snprintf(what, sizeof(what), "special %zu, all positions, %s", k,
                     list ? "NodeList" : "NodeNames");
            nf_extender_args fast, slow;
            assert_true(scan_both(body, sp->in_name, &fast, &slow, what));
            assert_int_equal(fast.n_nodes, n_names + (list ? 1 : 2));
            same_answers(&fast, &slow, &s, &passed, &failed, what);
            nf_extender_args_free(&fast);
            nf_extender_args_free(&slow);
            free(body);
        }
    }
    /* special names both passed and failed */
    assert_true(passed > 1000 && failed > 1000);
    nodes_free(&s);
}

/* NodeList mode through the scanner passes node objects back byte for byte. */
static void test_scan_nodes_unchanged(void **state)
{
    (void)state;
    topo_set s = {.why = "none"};
    nodes_new(&s, false, 0);
    const char *node = "{\"metadata\": {\"name\":\"n1\"}, \"spec\":{\"x\" : 1.50}}";
    char body[1024];
    snprintf(body, sizeof(body), "{\"Pod\":%s,\"Nodes\":{\"items\":[%s]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":"
             "\"1\",\"memory\":\"1Gi\"}}}]}}",
             node);
    nf_extender_args a;
    nf_err err;
    assert_int_equal(nf_extender_args_scan(body, strlen(body), NULL, &a, &err), 0);
    assert_true(a.scanned);
    nf_topology_source src = {.acquire = acquire, .view = view, .ctx = &s};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    char *text;
    size_t len;
    assert_int_equal(nf_extender_filter_text(&a, &src, &o, &text, &len), 0);
    assert_non_null(strstr(text, node));
    free(text);
    nf_extender_args_free(&a);
    nodes_free(&s);
}

/* The text answers are written node verdicts first, each reason escaped once per run of nodes
 * that share it: runs of every length, reasons alternating between kinds and texts, unknown nodes
 * whose reason needs escapes. Byte for byte what jansson writes for the tree answer (both keep
 * request order), from either decoding, and the summary counts what the answer holds. */
static void test_answer_reasons(void **state)
{
    (void)state;
    topo_set s = {.why = "gone \"away\"\n\x01\\ for now", .by_length = true};
    nodes_new(&s, true, 3);
    static const int runs[] = {1, 3, 1, 2, 5, 1, 1, 4, 2, 1, 7, 1};
    size_t cap = 1 << 16, n = 0, id = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    n += (size_t)snprintf(body, cap,
                          "{\"Pod\":{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{"
                          "\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"20\",\"memory\":"
                          "\"1Gi\",\"hugepages-1Gi\":\"4Gi\",\"intel.com/sriov\":\"1\"}}}]}},"
                          "\"NodeNames\":[");
    for (int round = 0; round < 12; round++) {
        for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
            int len = 4 + (int)((r * 7 + (size_t)round) % 12); /* which node, or unknown */
            for (int k = 0; k < runs[r]; k++)
                n += (size_t)snprintf(body + n, cap - n, "%s\"%0*zu\"", id ? "," : "", len, id),
                    id++;
        }
    }
    snprintf(body + n, cap - n, "]}");
    assert_true(n < cap - 8);
    nf_extender_args fast, slow;
    assert_true(scan_both(body, 1, &fast, &slow, "reason runs"));
    assert_int_equal(fast.n_nodes, id);
    nf_topology_source src = {.acquire = acquire, .view = view, .ctx = &s};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    for (int f = 0; f < 2; f++) {
        json_t *tree;
        assert_int_equal(f ? nf_extender_filter(&slow, &src, &o, &tree)
                           : nf_extender_prioritize(&slow, &src, &o, &tree),
                         0);
        char *want = json_dumps(tree, JSON_COMPACT);
        assert_non_null(want);
        for (int d = 0; d < 2; d++) {
            char *text;
            size_t len;
            nf_filter_summary sum;
            const nf_extender_args *a = d ? &slow : &fast;
            assert_int_equal(f ? nf_extender_filter_text_sum(a, &src, &o, &text, &len, &sum)
                               : nf_extender_prioritize_text(a, &src, &o, &text, &len),
                             0);
            if (strcmp(text, want) != 0)
                fail_msg("%s text differs from jansson's:\n%s\n%s", f ? "filter" : "prioritize",
                         text, want);
            assert_int_equal(strlen(text), len);
            free(text);
            if (!f)
                continue;
            /* the summary: per class its node count and its reasons' counts */
            assert_int_equal(sum.passed, json_array_size(json_object_get(tree, "NodeNames")));
            const char *maps[] = {"FailedNodes", "FailedAndUnresolvableNodes"};
            for (int m = 0; m < 2; m++) {
                const nf_filter_class *c = m ? &sum.unresolvable : &sum.failed;
                json_t *map = json_object_get(tree, maps[m]);
                assert_int_equal(c->nodes, json_object_size(map));
                size_t in_reasons = c->other;
                for (size_t i = 0; i < c->n_reasons; i++) {
                    size_t count = 0;
                    const char *k;
                    json_t *v;
                    json_object_foreach(map, k, v) count +=
                        strcmp(json_string_value(v), c->reasons[i].text) == 0;
                    assert_int_equal(c->reasons[i].count, count);
                    in_reasons += count;
                }
                assert_int_equal(in_reasons, c->nodes);
                if (c->n_reasons < 1) /* runs alternate between the two classes */
                    fail_msg("no %s in %s", maps[m], want);
            }
            assert_int_equal(sum.passed + sum.failed.nodes + sum.unresolvable.nodes, id);
            assert_true(sum.passed > 0);
        }
        free(want);
        json_decref(tree);
    }
    nf_extender_args_free(&fast);
    nf_extender_args_free(&slow);
    free(body);
    nodes_free(&s);
}

/* NodeNames past the scanner's first guess of their room (and the node table's): 20,000 names,
 * 300 KB, read in the one pass, each name as sent. */
static void test_scan_many_names(void **state)
{
    (void)state;
    const size_t count = 20000;
    size_t cap = count * 20 + 1024, n = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    n += (size_t)snprintf(body, cap, "{\"NodeNames\":[");
    for (size_t i = 0; i < count; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s\"worker-%09zu\"", i ? "," : "", i);
    n += (size_t)snprintf(body + n, cap - n,
                          "],\"Pod\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"resources\":{"
                          "\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}}}");
    nf_arena arena;
    nf_arena_init(&arena, NULL);
    nf_extender_args a;
    nf_err err;
    assert_int_equal(nf_extender_args_scan(body, n, &arena, &a, &err), 0);
    assert_true(a.scanned && a.names_mode);
    assert_int_equal(a.n_nodes, count);
    char want[32];
    for (size_t i = 0; i < count; i++) {
        snprintf(want, sizeof(want), "worker-%09zu", i);
        assert_string_equal(a.nodes[i].name, want);
        assert_int_equal(a.nodes[i].name_plain, strlen(want));
    }
    nf_extender_args_free(&a);
    nf_arena_free(&arena);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_matches_zones_and_fit),
        cmocka_unit_test(test_scan_matches_decode),
        cmocka_unit_test(test_scan_nodes_unchanged),
        cmocka_unit_test(test_special_strings),
        cmocka_unit_test(test_answer_reasons),
        cmocka_unit_test(test_scan_many_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
