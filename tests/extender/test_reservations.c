/* Reservations (reservations.h): what is deducted against which document, reconciliation with
 * partial kubelet updates, expiry, drops, snapshots and the node JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_test_util.h"
#include "reservations.h"

/* numa0 and numa1 of node w1; pods: JSON array per NUMA node (may be NULL). */
static nf_topology *doc_with_pods(const char *pods0, const char *pods1)
{
    zspec z[] = {tb_zone(0, 0, 16, 16, 8, 8, 4, 4, -1), tb_zone(1, 0, 16, 16, 8, 8, 4, 4, -1)};
    kspec k = {.cpu_policy = "static", .scope = "pod", .mm_policy = "None"};
    json_t *d = tb_doc("w1", k, z, 2);
    const char *pods[] = {pods0, pods1};
    for (int i = 0; i < 2; i++)
        if (pods[i])
            json_object_set_new(json_array_get(json_object_get(d, "numaNodes"), (size_t)i), "pods",
                                tb_json(pods[i]));
    return tb_decode(d);
}

/* Reservation of pod uid on w1: 4 CPUs + 1 VF (tracked) and 2Gi of pages (untracked) on numa. */
static void add(nf_reservations *rs, const char *uid, int numa, int64_t created_ms)
{
    nf_placed *p = calloc(3, sizeof(*p));
    p[0] = (nf_placed){.numa = numa, .resource = strdup("cpu"), .amount = 4, .tracked = true};
    p[1] = (nf_placed){.numa = numa, .resource = strdup(VF), .amount = 1, .tracked = true};
    p[2] = (nf_placed){.numa = numa, .resource = strdup("hugepages-1Gi"), .amount = 2 * GI};
    nf_reservation r = {.uid = strdup(uid),
                        .namespace_ = strdup("ran"),
                        .name = strdup(uid),
                        .node = strdup("w1"),
                        .placed = p,
                        .n_placed = 3,
                        .numa = numa,
                        .created_ms = created_ms};
    assert_int_equal(nf_reservations_add(rs, &r), 0);
    assert_null(r.uid); /* taken */
}

static int64_t deducted(nf_reservations *rs, const nf_topology *t, int numa, const char *res)
{
    nf_resv_snapshot *s = nf_reservations_snapshot(rs);
    nf_deduction *d;
    size_t n;
    assert_int_equal(nf_resv_snapshot_deductions(s, t, &d, &n), 0);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i].numa == numa && strcmp(d[i].resource, res) == 0)
            sum += d[i].amount;
    free(d);
    nf_resv_snapshot_release(s);
    return sum;
}

static int ended[3];
static void on_end(void *ctx, const nf_reservation *r, nf_resv_end why)
{
    (void)ctx;
    (void)r;
    ended[why]++;
}

static void test_deduct_until_accounted(void **state)
{
    (void)state;
    nf_reservations *rs;
    assert_int_equal(nf_reservations_new(120000, &rs), 0);
    assert_null(nf_reservations_snapshot(rs)); /* nothing reserved: no snapshot at all */
    add(rs, "p1", 1, 1000);
    add(rs, "p2", 1, 1001);
    assert_int_equal(nf_reservations_count(rs), 2);

    nf_topology *empty = doc_with_pods(NULL, NULL);
    assert_int_equal(deducted(rs, empty, 1, "cpu"), 8);
    assert_int_equal(deducted(rs, empty, 1, VF), 2);
    assert_int_equal(deducted(rs, empty, 1, "hugepages-1Gi"), 4 * GI);
    assert_int_equal(deducted(rs, empty, 0, "cpu"), 0);

    /* kubelet wrote cpu_manager_state for p1 but not yet its device checkpoint: only the VF is
     * left to deduct for p1, and the reservation stays */
    nf_topology *cpu_only =
        doc_with_pods(NULL, "[{'podUID':'p1','cpus':'2-5','resources':{'cpu':4}}]");
    assert_int_equal(deducted(rs, cpu_only, 1, "cpu"), 4);
    assert_int_equal(deducted(rs, cpu_only, 1, VF), 2);
    memset(ended, 0, sizeof(ended));
    assert_int_equal(nf_reservations_reconcile(rs, cpu_only, on_end, NULL), 0);
    assert_int_equal(nf_reservations_count(rs), 2);

    /* both files written, on numa0 rather than the predicted numa1: p1 is confirmed */
    nf_topology *both = doc_with_pods(
        "[{'podUID':'p1','cpus':'2-5','resources':{'cpu':4,'intel.com/sriov':1}}]", NULL);
    assert_int_equal(deducted(rs, both, 1, "cpu"), 4);
    assert_int_equal(deducted(rs, both, 1, VF), 1);
    /* another node's document confirms nothing */
    free(both->node);
    both->node = strdup("w2");
    assert_int_equal(nf_reservations_reconcile(rs, both, on_end, NULL), 0);
    free(both->node);
    both->node = strdup("w1");
    assert_int_equal(nf_reservations_reconcile(rs, both, on_end, NULL), 1);
    assert_int_equal(ended[NF_RESV_CONFIRMED], 1);
    assert_int_equal(nf_reservations_count(rs), 1);
    assert_false(nf_reservations_has(rs, "p1"));
    assert_true(nf_reservations_has(rs, "p2"));
    uint64_t totals[4];
    nf_reservations_totals(rs, totals);
    assert_int_equal(totals[0], 2);
    assert_int_equal(totals[1], 1);

    tb_free(empty);
    tb_free(cpu_only);
    tb_free(both);
    nf_reservations_free(rs);
}

/* podresources names pods by namespace/name, with no UID: a document from it confirms the
 * reservation all the same, and a pod of the same name in another namespace does not. */
static void test_accounted_by_name(void **state)
{
    (void)state;
    nf_reservations *rs;
    assert_int_equal(nf_reservations_new(120000, &rs), 0);
    add(rs, "p1", 0, 1000);
    add(rs, "p2", 0, 1001);
    nf_topology *other_ns =
        doc_with_pods("[{'podUID':null,'namespace':'core','name':'p1','cpus':'2-5',"
                      "'resources':{'cpu':4,'intel.com/sriov':1}}]",
                      NULL);
    assert_int_equal(deducted(rs, other_ns, 0, "cpu"), 8);
    assert_int_equal(nf_reservations_reconcile(rs, other_ns, on_end, NULL), 0);

    nf_topology *named = doc_with_pods(
        "[{'namespace':'ran','name':'p1','cpus':'2-5','resources':{'cpu':4,'intel.com/sriov':1}},"
        "{'podUID':'p2','namespace':'ran','name':'p2','cpus':'6-7','resources':{'cpu':2}}]",
        NULL);
    assert_non_null(named);
    assert_null(named->numa_nodes[0].pods[0].pod_uid);
    assert_string_equal(named->numa_nodes[0].pods[0].pod_name, "p1");
    /* p1 fully shown by name; p2 half shown (by UID and name): 2 of its 4 CPUs still deducted */
    assert_int_equal(deducted(rs, named, 0, "cpu"), 2);
    assert_int_equal(deducted(rs, named, 0, VF), 1);
    memset(ended, 0, sizeof(ended));
    assert_int_equal(nf_reservations_reconcile(rs, named, on_end, NULL), 1);
    assert_int_equal(ended[NF_RESV_CONFIRMED], 1);
    assert_false(nf_reservations_has(rs, "p1"));
    assert_true(nf_reservations_has(rs, "p2"));
    tb_free(other_ns);
    tb_free(named);
    nf_reservations_free(rs);
}

static void test_expire_drop_replace(void **state)
{
    (void)state;
    nf_reservations *rs;
    assert_int_equal(nf_reservations_new(2000, &rs), 0);
    add(rs, "old", 0, 1000);
    add(rs, "new", 0, 2500);
    memset(ended, 0, sizeof(ended));
    assert_int_equal(nf_reservations_expire(rs, 2999, on_end, NULL), 0);
    assert_int_equal(nf_reservations_expire(rs, 3000, on_end, NULL), 1);
    assert_int_equal(ended[NF_RESV_EXPIRED], 1);
    assert_false(nf_reservations_has(rs, "old"));

    /* the same uid again replaces (a retried bind), it does not add */
    add(rs, "new", 1, 2600);
    assert_int_equal(nf_reservations_count(rs), 1);
    nf_topology *t = doc_with_pods(NULL, NULL);
    assert_int_equal(deducted(rs, t, 0, "cpu"), 0);
    assert_int_equal(deducted(rs, t, 1, "cpu"), 4);

    /* a snapshot keeps what it saw after a drop */
    nf_resv_snapshot *s = nf_reservations_snapshot(rs);
    assert_true(nf_reservations_drop(rs, "new"));
    assert_false(nf_reservations_drop(rs, "new"));
    assert_true(nf_resv_snapshot_has_node(s, "w1"));
    assert_false(nf_resv_snapshot_has_node(s, "w2"));
    nf_resv_snapshot_release(s);
    assert_null(nf_reservations_snapshot(rs));
    assert_int_equal(deducted(rs, t, 1, "cpu"), 0);

    /* nothing tracked (hugepages only): ends once the pod runs */
    nf_placed *p = calloc(1, sizeof(*p));
    p[0] = (nf_placed){.numa = 0, .resource = strdup("hugepages-1Gi"), .amount = GI};
    nf_reservation r = {.uid = strdup("hp"),
                        .node = strdup("w1"),
                        .placed = p,
                        .n_placed = 1,
                        .numa = 0,
                        .created_ms = 2700};
    assert_int_equal(nf_reservations_add(rs, &r), 0);
    assert_int_equal(nf_reservations_reconcile(rs, t, NULL, NULL), 0); /* no tracked amount */
    assert_int_equal(nf_reservations_expire(rs, 2800, NULL, NULL), 0);
    nf_reservations_set_running(rs, "hp");
    assert_int_equal(nf_reservations_expire(rs, 2800, NULL, NULL), 1);
    assert_int_equal(nf_reservations_count(rs), 0);

    /* no uid or node: refused, fields freed */
    nf_reservation bad = {.uid = strdup("x")};
    assert_int_equal(nf_reservations_add(rs, &bad), -EINVAL);
    assert_null(bad.uid);
    tb_free(t);
    nf_reservations_free(rs);
}

static void test_node_json(void **state)
{
    (void)state;
    nf_reservations *rs;
    assert_int_equal(nf_reservations_new(0, &rs), 0);
    add(rs, "p1", 1, 1000);
    nf_resv_snapshot *s = nf_reservations_snapshot(rs);
    json_t *a = nf_resv_snapshot_node_json(s, "w1", 1500);
    assert_int_equal(json_array_size(a), 1);
    json_t *o = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(o, "pod")), "ran/p1");
    assert_string_equal(json_string_value(json_object_get(o, "uid")), "p1");
    assert_int_equal(json_integer_value(json_object_get(o, "zone")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "ageMs")), 500);
    json_t *res = json_object_get(o, "resources");
    assert_int_equal(json_integer_value(json_object_get(res, "cpu")), 4);
    assert_int_equal(json_integer_value(json_object_get(res, "hugepages-1Gi")), 2 * GI);
    json_decref(a);
    a = nf_resv_snapshot_node_json(s, "w9", 1500);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    a = nf_resv_snapshot_node_json(NULL, "w1", 1500);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    nf_resv_snapshot_release(s);
    /* ttl 0: never expires */
    assert_int_equal(nf_reservations_expire(rs, INT64_MAX / 2, NULL, NULL), 0);
    nf_reservations_free(rs);
}

/* The nodes told to the observer after each change (joined by ","), reset by each read. */
static char told[256];
static void on_change(void *ctx, const char *node)
{
    (void)ctx;
    size_t n = strlen(told);
    snprintf(told + n, sizeof(told) - n, "%s%s", n ? "," : "", node ? node : "*");
}

static const char *told_since(void)
{
    static char copy[256];
    memcpy(copy, told, sizeof(copy));
    told[0] = 0;
    return copy;
}

/* Every change tells the nodes whose reservations changed (the extender forgets the answers it
 * kept for them), once each; reads and no-ops tell nothing. */
static void test_change_observer(void **state)
{
    (void)state;
    nf_reservations *rs;
    assert_int_equal(nf_reservations_new(2000, &rs), 0);
    nf_reservations_on_change(rs, on_change, NULL);
    told[0] = 0;
    add(rs, "a", 0, 1000);
    assert_string_equal(told_since(), "w1");
    add(rs, "b", 1, 1100);
    assert_string_equal(told_since(), "w1");
    assert_true(nf_reservations_has(rs, "a"));
    nf_resv_snapshot_release(nf_reservations_snapshot(rs));
    assert_false(nf_reservations_drop(rs, "nope"));
    assert_string_equal(told_since(), "");

    nf_placed *p = calloc(1, sizeof(*p));
    p[0] = (nf_placed){.numa = 1, .resource = strdup("cpu"), .amount = 4, .tracked = true};
    assert_int_equal(nf_reservations_move(rs, "a", p, 1, 1), 0);
    assert_string_equal(told_since(), "w1");

    /* the same uid bound again on another node: both nodes changed */
    nf_reservation r = {.uid = strdup("b"), .node = strdup("w2"), .numa = 0, .created_ms = 1200};
    assert_int_equal(nf_reservations_add(rs, &r), 0);
    assert_string_equal(told_since(), "w2,w1");

    /* the document accounts for a's CPUs on numa1: reconciled; then b expires */
    nf_topology *t = doc_with_pods(NULL, "[{'podUID':'a','cpus':'0-3','resources':{'cpu':4}}]");
    assert_int_equal(nf_reservations_reconcile(rs, t, NULL, NULL), 1);
    assert_string_equal(told_since(), "w1");
    assert_int_equal(nf_reservations_reconcile(rs, t, NULL, NULL), 0);
    assert_int_equal(nf_reservations_expire(rs, 2000, NULL, NULL), 0);
    assert_string_equal(told_since(), "");
    assert_int_equal(nf_reservations_expire(rs, 5000, NULL, NULL), 1);
    assert_string_equal(told_since(), "w2");
    assert_true(nf_reservations_drop(rs, "a") == false);
    assert_string_equal(told_since(), "");
    tb_free(t);
    nf_reservations_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deduct_until_accounted), cmocka_unit_test(test_accounted_by_name),
        cmocka_unit_test(test_expire_drop_replace),    cmocka_unit_test(test_node_json),
        cmocka_unit_test(test_change_observer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
