/* preemptVerb: victims that free room in one zone, on documents decoded by the real codec, and the
 * ExtenderPreemptionArgs codec on payloads shaped as kube-scheduler sends them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_test_util.h"
#include "preempt.h"

static const nf_fit_opts NUMA = {.align = NF_ALIGN_NUMA};
static const kspec POD_SCOPE = {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"};

/* A pod on NUMA node index z of doc holding cpu exclusive CPUs and vf VFs. */
static void add_pod(json_t *doc, size_t z, const char *uid, int cpu, int vf)
{
    json_t *nn = json_array_get(json_object_get(doc, "numaNodes"), z);
    json_t *pods = json_object_get(nn, "pods");
    if (!pods) {
        pods = json_array();
        json_object_set_new(nn, "pods", pods);
    }
    json_t *res = json_pack("{s:i}", "cpu", cpu);
    if (vf)
        json_object_set_new(res, VF, json_integer(vf));
    json_array_append_new(
        pods, json_pack("{s:s, s:s, s:o}", "podUID", uid, "cpus", "", "resources", res));
}

/* numa0: 8 CPUs all held by a (4) and b (4), no VFs; numa1: 8 CPUs, 2 free, c1 and c2 hold 3
 * each, 2 VFs, 1 free (c1 holds one). Pods wanting cpu=6 + a VF can only use numa1. */
static nf_topology *node_w1(void)
{
    zspec z[] = {
        tb_zone(0, 0, 8, 0, -1, 0, -1, 0, -1),
        tb_zone(1, 0, 8, 2, -1, 0, 2, 1, -1),
    };
    json_t *doc = tb_doc("w1", POD_SCOPE, z, 2);
    add_pod(doc, 0, "a", 4, 0);
    add_pod(doc, 0, "b", 4, 0);
    add_pod(doc, 1, "c1", 3, 1);
    add_pod(doc, 1, "c2", 3, 0);
    return tb_decode(doc);
}

static nf_preempt_node victims(nf_preempt_victim *v, size_t n, int64_t pdb)
{
    return (nf_preempt_node){.name = "w1", .victims = v, .n_victims = n, .num_pdb_violations = pdb};
}

static void decide(const nf_pod_req *p, const nf_topology *t, nf_preempt_node *n, bool *keep,
                   bool *kept)
{
    assert_int_equal(nf_preempt_node_decide(p, t, NULL, &NUMA, n, kept, keep), 0);
}

static void test_wrong_numa_dropped(void **state)
{
    (void)state;
    nf_pod_req p = tb_shape("cpu=6,intel.com/sriov=1");
    nf_topology *t = node_w1();
    /* kube-scheduler's totals: evicting a and b frees 8 CPUs, but on numa0, which has no VF */
    nf_preempt_victim v[] = {{"a", 1}, {"b", 2}};
    nf_preempt_node n = victims(v, 2, 0);
    bool keep = true, kept[2];
    decide(&p, t, &n, &keep, kept);
    assert_false(keep);
    tb_free(t);
    nf_pod_req_free(&p);
}

static void test_trimmed_lowest_priority_first(void **state)
{
    (void)state;
    nf_pod_req p = tb_shape("cpu=6,intel.com/sriov=1");
    nf_topology *t = node_w1();
    /* tried a (numa0: no help), then c2 (numa1: 2 + 3 = 5 CPUs, not 6), then c1 (8): fits; a is
     * given back, c2 and c1 are both needed; b (highest priority) is never tried */
    nf_preempt_victim v[] = {{"c1", 7}, {"b", 9}, {"a", 1}, {"c2", 3}};
    nf_preempt_node n = victims(v, 4, 0);
    bool keep = false, kept[4];
    decide(&p, t, &n, &keep, kept);
    assert_true(keep);
    assert_true(kept[0]);  /* c1: needed */
    assert_false(kept[1]); /* b: numa0, no help */
    assert_false(kept[2]); /* a: numa0, tried first, given back */
    assert_true(kept[3]);  /* c2: needed */
    tb_free(t);
    nf_pod_req_free(&p);

    /* cpu=5: 2 free + one 3-CPU pod is enough: the lower priority one goes (c2 at 3, not c1) */
    p = tb_shape("cpu=5");
    t = node_w1();
    decide(&p, t, &n, &keep, kept);
    assert_true(keep);
    assert_false(kept[0]);
    assert_false(kept[1]);
    assert_false(kept[2]);
    assert_true(kept[3]);
    /* equal priorities: the later one in the list goes first (the scheduler lists the more
     * important first) */
    nf_preempt_victim eq[] = {{"c2", 0}, {"c1", 0}};
    n = victims(eq, 2, 0);
    decide(&p, t, &n, &keep, kept);
    assert_true(keep);
    assert_false(kept[0]);
    assert_true(kept[1]);
    tb_free(t);
    nf_pod_req_free(&p);
}

static void test_unknown_victims_kept(void **state)
{
    (void)state;
    nf_pod_req p = tb_shape("cpu=2");
    nf_topology *t = node_w1();
    /* the pod fits numa1 as it is: victims numafit sees are spared, one it does not see (it
     * holds nothing aligned: the scheduler's own reason) stays */
    nf_preempt_victim v[] = {{"c1", 0}, {"shared-pool-pod", 0}, {"a", 0}};
    nf_preempt_node n = victims(v, 3, 0);
    bool keep = false, kept[3];
    decide(&p, t, &n, &keep, kept);
    assert_true(keep);
    assert_false(kept[0]);
    assert_true(kept[1]);
    assert_false(kept[2]);
    tb_free(t);
    nf_pod_req_free(&p);
}

/* A source lending one topology by name. */
static const nf_topology *one_acquire(void *ctx, const char *node, void **handle, char *why,
                                      size_t len)
{
    const nf_topology *t = ctx;
    *handle = NULL;
    if (strcmp(node, t->node) == 0)
        return t;
    snprintf(why, len, "no topology for this node");
    return NULL;
}

/* pass_missing: --stale-policy ignore */
static json_t *run_policy(const char *body, nf_fit_opts o, bool pass_missing,
                          nf_preempt_summary *sum)
{
    nf_topology *t = node_w1();
    nf_topology_source src = {.acquire = one_acquire, .ctx = t, .pass_missing = pass_missing};
    char *b = tb_sq(body);
    nf_preempt_args a;
    nf_err err = {{0}};
    if (nf_preempt_args_decode(b, strlen(b), &a, &err))
        fail_msg("%s", err.msg);
    json_t *res = NULL;
    assert_int_equal(nf_preempt(&a, &src, &o, &res, sum), 0);
    nf_preempt_args_free(&a);
    free(b);
    tb_free(t);
    return res;
}

static json_t *run(const char *body, nf_fit_opts o, nf_preempt_summary *sum)
{
    return run_policy(body, o, false, sum);
}

#define DPDK_POD                                                                                   \
    "{'metadata':{'name':'upf-0','namespace':'telco','uid':'u-upf'},'spec':{'priority':1000,"      \
    "'containers':[{'name':'dpdk','resources':{'limits':{'cpu':'6','memory':'1Gi',"                \
    "'intel.com/sriov':'1'}}}]}}"
#define VPOD(uid, prio)                                                                            \
    "{'metadata':{'name':'" uid "','namespace':'batch','uid':'" uid "'},'spec':{'priority':" prio  \
    ",'containers':[{'name':'x'}]},'status':{'phase':'Running'}}"

static void test_full_pods_form(void **state)
{
    (void)state;
    nf_preempt_summary sum;
    /* w1: c1 and c2 needed; w9: no topology (dropped under --stale-policy reject) */
    json_t *res =
        run("{'Pod':" DPDK_POD ",'NodeNameToVictims':{"
            "'w1':{'Pods':[" VPOD("a", "1") "," VPOD("c1", "7") "," VPOD(
                "c2", "3") "],"
                           "'NumPDBViolations':3},"
                           "'w9':{'Pods':[" VPOD("z", "1") "],'NumPDBViolations':0}},"
                                                           "'NodeNameToMetaVictims':null}",
            NUMA, &sum);
    json_t *want = tb_json("{'NodeNameToMetaVictims':{'w1':{'Pods':[{'UID':'c1'},{'UID':'c2'}],"
                           "'NumPDBViolations':2}}}");
    assert_true(json_equal(res, want));
    assert_int_equal(sum.nodes_in, 2);
    assert_int_equal(sum.nodes_kept, 1);
    assert_int_equal(sum.victims_in, 4);
    assert_int_equal(sum.victims_kept, 2);
    json_decref(res);
    json_decref(want);

    /* --stale-policy ignore: the node numafit knows nothing of stays as proposed */
    res =
        run_policy("{'Pod':" DPDK_POD ",'NodeNameToVictims':{'w9':{'Pods':[" VPOD("z", "1") "]}}}",
                   NUMA, true, &sum);
    want = tb_json("{'NodeNameToMetaVictims':{'w9':{'Pods':[{'UID':'z'}],'NumPDBViolations':0}}}");
    assert_true(json_equal(res, want));
    json_decref(res);
    json_decref(want);
}

static void test_meta_form(void **state)
{
    (void)state;
    /* nodeCacheCapable: UIDs only, keys in the scheduler's spelling, and in lower case (Go's
     * decoder takes both) */
    json_t *res =
        run("{'Pod':" DPDK_POD ",'NodeNameToVictims':null,'NodeNameToMetaVictims':{"
            "'w1':{'Pods':[{'UID':'c1'},{'UID':'b'},{'UID':'c2'}],'NumPDBViolations':0}}}",
            NUMA, NULL);
    json_t *want = tb_json("{'NodeNameToMetaVictims':{'w1':{'Pods':[{'UID':'c1'},{'UID':'c2'}],'"
                           "NumPDBViolations':0}}}");
    assert_true(json_equal(res, want));
    json_decref(res);
    res = run("{'pod':" DPDK_POD ",'nodenametometavictims':{'w1':{'pods':[{'uid':'a'}]}}}", NUMA,
              NULL);
    json_decref(want);
    want = tb_json("{'NodeNameToMetaVictims':{}}");
    assert_true(json_equal(res, want)); /* evicting a frees numa0: no help, w1 dropped */
    json_decref(res);
    json_decref(want);

    /* a pod that needs nothing aligned: the scheduler's choice stands */
    res = run("{'Pod':{'metadata':{'name':'web'},'spec':{'containers':[{'name':'w'}]}},"
              "'NodeNameToMetaVictims':{'w1':{'Pods':[{'UID':'a'}],'NumPDBViolations':1}}}",
              NUMA, NULL);
    want = tb_json("{'NodeNameToMetaVictims':{'w1':{'Pods':[{'UID':'a'}],'NumPDBViolations':1}}}");
    assert_true(json_equal(res, want));
    json_decref(res);
    json_decref(want);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{", "malformed JSON"},
        {"[]", "must be a JSON object"},
        {"{'NodeNameToMetaVictims':{}}", "Pod is missing"},
        {"{'Pod':" DPDK_POD ",'NodeNameToMetaVictims':[]}",
         "NodeNameToMetaVictims must be an object"},
        {"{'Pod':" DPDK_POD ",'NodeNameToMetaVictims':{'w1':{'Pods':{}}}}",
         "NodeNameToMetaVictims[\"w1\"].Pods must be an array"},
        {"{'Pod':" DPDK_POD ",'NodeNameToMetaVictims':{'w1':{'Pods':[{'uid':7}]}}}",
         "Pods[0]: UID is missing"},
        {"{'Pod':" DPDK_POD ",'NodeNameToVictims':{'w1':{'Pods':[{'metadata':{}}]}}}",
         "Pods[0]: metadata.uid is missing"},
        {"{'Pod':" DPDK_POD ",'NodeNameToVictims':{'w1':{'Pods':[{'metadata':{'uid':'x'},"
         "'spec':{'priority':'high'}}]}}}",
         "spec.priority must be an integer"},
        {"{'Pod':" DPDK_POD ",'NodeNameToVictims':{'w1':{'NumPDBViolations':'1'}}}",
         "NumPDBViolations must be an integer"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b = tb_sq(bad[i].body);
        nf_preempt_args a;
        nf_err err = {{0}};
        assert_int_equal(nf_preempt_args_decode(b, strlen(b), &a, &err), -EINVAL);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, bad[i].msg);
        assert_null(a.nodes);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_numa_dropped),
        cmocka_unit_test(test_trimmed_lowest_priority_first),
        cmocka_unit_test(test_unknown_victims_kept),
        cmocka_unit_test(test_full_pods_form),
        cmocka_unit_test(test_meta_form),
        cmocka_unit_test(test_decode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
