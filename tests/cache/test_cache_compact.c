/* test_cache_compact.c - the cache keeps a compact copy of each document that encodes to the same
 * JSON as the original, and its memo slots (derived data such as fit views) live and die with the
 * document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cache.h"
#include "numafit/topology_json.h"
#include "test_docs.h"

/* A document with every optional part filled: probes, pods, kubeletReserved, errors, unplaced
 * devices, policy options. */
static json_t *rich_doc(const char *node)
{
    char *s = nf_test_doc(node, 4, 9, 6, 3);
    json_error_t je;
    json_t *doc = json_loads(s, 0, &je);
    free(s);
    assert_non_null(doc);
    json_t *numa = json_object_get(doc, "numaNodes");
    json_t *n0 = json_array_get(numa, 0);
    json_t *vfs = json_object_get(json_array_get(json_object_get(n0, "devices"), 0), "vfs");
    json_t *vf = json_array_get(vfs, 0);
    json_object_set_new(vf, "podUID", json_string("uid-1"));
    json_object_set_new(vf, "probe",
                        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "status", "ok", "pmd",
                                  "net_iavf", "mac", "02:00:00:00:00:01", "link", "up",
                                  "maxRxQueues", 16, "checkedAt", "2026-11-25T13:59:58Z"));
    json_object_set_new(n0, "pods",
                        json_pack("[{s:s, s:s, s:{s:i, s:I}}]", "podUID", "uid-1", "cpus", "2-5",
                                  "resources", "cpu", 4, "hugepages-1Gi", (json_int_t)1 << 31));
    json_object_set_new(n0, "kubeletReserved", json_pack("{s:I}", "memory", (json_int_t)1 << 30));
    json_object_set_new(doc, "errors", json_pack("[s, s]", "one problem", "one problem"));
    json_t *kub = json_object_get(doc, "kubelet");
    json_object_set_new(kub, "topologyManagerPolicyOptions",
                        json_pack("{s:s}", "prefer-closest-numa-nodes", "true"));
    json_object_set_new(kub, "reservedCpusSource", json_string("kubeletConfig"));
    json_t *unplaced = json_deep_copy(json_object_get(n0, "devices"));
    json_object_set_new(json_object_get(json_array_get(unplaced, 0), "pf"), "numaNode",
                        json_null());
    json_object_set_new(doc, "unplacedDevices", unplaced);
    return doc;
}

static int frees;
static void count_free(void *p)
{
    frees++;
    free(p);
}

static void test_compact_copy_encodes_the_same(void **state)
{
    (void)state;
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    json_t *doc = rich_doc("w1");
    nf_topology t, ref;
    nf_err err;
    if (nf_topology_from_json(doc, &t, &err) || nf_topology_from_json(doc, &ref, &err))
        fail_msg("%s", err.msg);
    json_decref(doc);
    /* the exporter's own documents (not read back from JSON) carry configFiles too */
    assert_int_equal(nf_strset(&t.kubelet.config_files, "/var/lib/kubelet/config.yaml"), 0);
    assert_int_equal(nf_strset(&ref.kubelet.config_files, "/var/lib/kubelet/config.yaml"), 0);
    assert_int_equal(nf_cache_put(c, &t, "file:/x/w1.json", 1000), 0);
    nf_cache_entry *e = nf_cache_acquire(c, "w1");
    assert_non_null(e);
    json_t *a = nf_topology_to_json(&e->topo), *b = nf_topology_to_json(&ref);
    assert_non_null(a);
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(b, JSON_SORT_KEYS);
        fail_msg("compact copy differs:\n%s\n%s", x, y);
    }
    /* repeated strings are stored once, distinct fields stay distinct */
    nf_numa_node *n0 = &e->topo.numa_nodes[0];
    assert_ptr_equal(n0->devices[0].vfs[0].vendor, n0->devices[0].vfs[1].vendor);
    assert_string_equal(n0->devices[0].vfs[0].pod_uid, "uid-1");
    assert_null(n0->devices[0].vfs[1].pod_uid);
    json_decref(a);
    json_decref(b);
    nf_cache_release(e);
    nf_topology_free(&ref);
    nf_cache_free(c);
}

static void test_memo_lives_with_the_document(void **state)
{
    (void)state;
    frees = 0;
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    for (int round = 0; round < 2; round++) {
        json_t *doc = rich_doc("w1");
        nf_topology t;
        nf_err err;
        assert_int_equal(nf_topology_from_json(doc, &t, &err), 0);
        json_decref(doc);
        assert_int_equal(nf_cache_put(c, &t, "http://a", 1000 + round), 0);
    }
    assert_int_equal(frees, 0);
    nf_cache_entry *e = nf_cache_acquire(c, "w1");
    assert_null(nf_cache_memo_get(e, 0));
    void *m1 = malloc(8), *m2 = malloc(8);
    assert_ptr_equal(nf_cache_memo_set(e, 0, m1, count_free), m1);
    /* a second setter loses: its value is freed, the first one is returned */
    assert_ptr_equal(nf_cache_memo_set(e, 0, m2, count_free), m1);
    assert_int_equal(frees, 1);
    assert_ptr_equal(nf_cache_memo_get(e, 0), m1);
    assert_null(nf_cache_memo_get(e, 1));
    assert_null(nf_cache_memo_get(e, NF_CACHE_MEMO_SLOTS)); /* out of range */
    /* touch and stale marks republish the same document: the memo stays */
    assert_int_equal(nf_cache_touch(c, "w1", "http://a", 5000), 0);
    assert_int_equal(nf_cache_mark_node_stale(c, "w1", NULL, "gone"), 0);
    nf_cache_entry *e2 = nf_cache_acquire(c, "w1");
    assert_true(e2 != e);
    assert_ptr_equal(nf_cache_memo_get(e2, 0), m1);
    nf_cache_release(e2);
    /* a new document drops it once the last reader lets go */
    json_t *doc = rich_doc("w1");
    nf_topology t;
    nf_err err;
    assert_int_equal(nf_topology_from_json(doc, &t, &err), 0);
    json_decref(doc);
    assert_int_equal(nf_cache_put(c, &t, "http://a", 6000), 0);
    assert_int_equal(frees, 1);
    nf_cache_release(e);
    assert_int_equal(frees, 2);
    e = nf_cache_acquire(c, "w1");
    assert_null(nf_cache_memo_get(e, 0));
    void *m3 = nf_cache_memo_set(e, 1, malloc(8), count_free);
    assert_non_null(m3);
    assert_ptr_equal(nf_cache_memo_get(e, 1), m3);
    nf_cache_release(e);
    nf_cache_free(c);
    assert_int_equal(frees, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_copy_encodes_the_same),
        cmocka_unit_test(test_memo_lives_with_the_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
