/* /filter's decision summary (counts, top reasons per class) and the explain table: recorded on
 * the hot path, answered on demand with each node's detail, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "explain.h"
#include "extender_test_util.h"

typedef struct src_ctx {
    nf_topology *t[4];
    size_t n;
} src_ctx;

static const nf_topology *acq(void *ctx, const char *node, void **handle, char *why, size_t len)
{
    src_ctx *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->t[i]->node, node) == 0) {
            *handle = c->t[i];
            return c->t[i];
        }
    snprintf(why, len, "no topology for %s", node);
    return NULL;
}

/* numa0 / numa1 with the given free CPUs of `alloc` each, 8 VFs and 16Gi of 1Gi pages each */
static nf_topology *node(const char *name, int a0, int a1, int alloc)
{
    zspec z[] = {
        tb_zone(0, 0, alloc, a0, 16, 16, 8, 8, -1),
        tb_zone(1, 0, alloc, a1, 16, 16, 8, 8, -1),
    };
    return tb_topo(name, (kspec){.cpu_policy = "static", .scope = "pod"}, z, 2);
}

#define POD(name)                                                                                  \
    "{'metadata':{'name':'" name "','namespace':'ns','uid':'u-" name "'},'spec':{'containers':["   \
    "{'name':'t','resources':{'limits':{'cpu':'8','memory':'1Gi','" VF "':'1'}}}]}}"

/* scan: as the server reads a request (the names back to back, the Pod's own bytes), which
 * borrows the body: it stays in `body` until the next call. */
static void args_as(const char *pod, nf_extender_args *a, bool scan)
{
    static char body[2048];
    char *s = tb_sq(pod);
    snprintf(body, sizeof(body),
             "{\"Pod\":%s,\"NodeNames\":[\"busy1\",\"fits\",\"busy2\",\"small\",\"gone\"]}", s);
    free(s);
    nf_err err;
    if (scan ? nf_extender_args_scan(body, strlen(body), NULL, a, &err)
             : nf_extender_args_decode(body, strlen(body), a, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(a->scanned, scan);
}

static void args(const char *pod, nf_extender_args *a)
{
    args_as(pod, a, false);
}

static void test_summary_and_explain(void **state)
{
    (void)state;
    src_ctx c = {.n = 4};
    c.t[0] = node("busy1", 6, 4, 22);
    c.t[1] = node("fits", 2, 10, 22);
    c.t[2] = node("busy2", 0, 7, 22);
    c.t[3] = node("small", 6, 6, 6);
    nf_topology_source src = {.acquire = acq, .ctx = &c};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    nf_extender_args a;
    args_as(POD("p1"), &a, true);
    char *text;
    size_t len;
    nf_filter_summary sum;
    assert_int_equal(nf_extender_filter_text_sum(&a, &src, &o, &text, &len, &sum), 0);
    /* the answer carries one reason per class, and the summary counts them */
    const char *cls = "numafit: no NUMA node has cpu=8 " VF "=1 free";
    assert_non_null(strstr(text, cls));
    assert_null(strstr(text, "closest"));
    free(text);
    assert_int_equal(sum.passed, 1);
    assert_int_equal(sum.failed.nodes, 2);
    assert_int_equal(sum.failed.n_reasons, 1);
    assert_string_equal(nf_filter_class_top(&sum.failed)->text, cls);
    assert_int_equal(nf_filter_class_top(&sum.failed)->count, 2);
    assert_int_equal(sum.unresolvable.nodes, 2); /* small, gone */
    assert_int_equal(sum.unresolvable.n_reasons, 2);
    assert_int_equal(sum.unresolvable.other, 0);

    nf_explain *x;
    assert_int_equal(nf_explain_new(2, &x), 0);
    assert_int_equal(nf_explain_record(x, &a, &sum, 5000), 0);
    nf_extender_args_free(&a); /* the table keeps what it needs */
    json_t *ans;
    assert_int_equal(nf_explain_answer(x, "ns/p1", &src, &o, 7000, &ans), 0);
    assert_string_equal(json_string_value(json_object_get(ans, "uid")), "u-p1");
    assert_int_equal(json_integer_value(json_object_get(ans, "ageMs")), 2000);
    json_t *want =
        tb_json("[{'node':'busy1','status':'failed','reason':'no NUMA node has cpu=8 " VF
                "=1 free; closest numa0: cpu 6/8 free'},"
                "{'node':'fits','status':'fits','zone':1},"
                "{'node':'busy2','status':'failed','reason':'no NUMA node has cpu=8 " VF
                "=1 free; closest numa1: cpu 7/8 free'},"
                "{'node':'small','status':'unresolvable','reason':'even when empty, "
                "no NUMA node could hold cpu=8 " VF "=1; closest numa0: cpu 6/8 allocatable'},"
                "{'node':'gone','status':'unresolvable','reason':'no topology for "
                "gone'}]");
    if (!json_equal(json_object_get(ans, "nodes"), want)) {
        char *got = json_dumps(json_object_get(ans, "nodes"), JSON_INDENT(1));
        fail_msg("nodes: %s", got);
    }
    json_decref(want);
    json_t *d = json_object_get(ans, "decision");
    assert_int_equal(json_integer_value(json_object_get(d, "passed")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_object_get(d, "failed"), "reasons"), 0), "nodes")),
        2);
    json_decref(ans);

    /* unknown and malformed keys; a name alone means namespace default */
    assert_int_equal(nf_explain_answer(x, "ns/nope", &src, &o, 7000, &ans), -ENOENT);
    assert_null(ans);
    assert_int_equal(nf_explain_answer(x, "", &src, &o, 7000, &ans), -ENOENT);
    assert_int_equal(nf_explain_answer(x, "p1", &src, &o, 7000, &ans), -ENOENT);

    /* bounded: capacity 2, the oldest goes; a pod asked again replaces its own record */
    args(POD("p2"), &a);
    assert_int_equal(nf_explain_record(x, &a, &sum, 6000), 0);
    nf_extender_args_free(&a);
    args(POD("p1"), &a);
    assert_int_equal(nf_explain_record(x, &a, &sum, 6500), 0); /* p1 again: newest now */
    nf_extender_args_free(&a);
    args(POD("p3"), &a);
    assert_int_equal(nf_explain_record(x, &a, &sum, 7000), 0); /* p2 is the oldest: out */
    nf_extender_args_free(&a);
    assert_int_equal(nf_explain_answer(x, "ns/p2", &src, &o, 7000, &ans), -ENOENT);
    assert_int_equal(nf_explain_answer(x, "ns/p1", &src, &o, 7000, &ans), 0);
    assert_int_equal(json_integer_value(json_object_get(ans, "ageMs")), 500);
    json_decref(ans);
    assert_int_equal(nf_explain_answer(x, "ns/p3", &src, &o, 7000, &ans), 0);
    json_decref(ans);
    nf_explain_free(x);
    for (size_t i = 0; i < c.n; i++)
        tb_free(c.t[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_and_explain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
