/* test_collector.c - nf_collector_refresh over several refreshes of a fixture tree: the
 * generation moves only when a published number changes, an unchanged refresh publishes the
 * same document with a new observedAt, and every published text is the document a fresh
 * encoding gives. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector.h"
#include "testutil.h"

typedef struct fixture {
    char *dir;
    char sys[512], proc[512];
    nf_collector *c;
} fixture;

static nf_collector *open_collector(fixture *f)
{
    nf_collector_opts o = {.node_name = "n1",
                           .sysfs_root = f->sys,
                           .procfs_root = f->proc,
                           .kubelet_dir = nft_path(f->dir, "no-kubelet")};
    nf_collector *c = NULL;
    nf_err err = {{0}};
    if (nf_collector_new(&o, &c, &err) != 0)
        fail_msg("nf_collector_new: %s", err.msg);
    return c;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = nft_tmpdir("collector");
    assert_int_equal(nft_mkfixture("snc2", f->dir, NULL), 0);
    snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
    snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
    f->c = open_collector(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nf_collector_free(f->c);
    int rc = nft_tmpdir_free(f->dir);
    free(f);
    return rc;
}

typedef struct result {
    json_t *doc;
    uint64_t generation;
    bool changed;
    char observed[32];
} result;

static result refresh(nf_collector *c)
{
    result r = {0};
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(nf_collector_refresh(c, &text, &len, &r.generation, &r.changed), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    json_error_t je;
    r.doc = json_loadb(text, len, 0, &je);
    if (!r.doc)
        fail_msg("published text is not JSON: %s", je.text);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(r.doc, "generation")), r.generation);
    const char *when = json_string_value(json_object_get(r.doc, "observedAt"));
    assert_non_null(when);
    assert_int_equal(strlen(when), 20); /* 2026-11-25T14:00:00Z */
    strcpy(r.observed, when);
    return r;
}

/* a and b without generation and observedAt */
static bool same_numbers(json_t *a, json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    assert_non_null(x);
    assert_non_null(y);
    static const char *const stamps[] = {"generation", "observedAt"};
    for (int i = 0; i < 2; i++) {
        json_object_del(x, stamps[i]);
        json_object_del(y, stamps[i]);
    }
    bool eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

/* What a new collector publishes for the same tree now (its first, freshly encoded document). */
static json_t *fresh(fixture *f)
{
    nf_collector *c = open_collector(f);
    result r = refresh(c);
    nf_collector_free(c);
    return r.doc;
}

static int64_t hugepages_free(json_t *doc, size_t node)
{
    json_t *n = json_array_get(json_object_get(doc, "numaNodes"), node);
    json_t *h = json_object_get(json_object_get(n, "hugepages"), "hugepages-2Mi");
    return json_integer_value(json_object_get(h, "free"));
}

/* doc has the numbers a new collector publishes now */
static void assert_fresh(fixture *f, json_t *doc)
{
    json_t *now = fresh(f);
    assert_true(same_numbers(doc, now));
    json_decref(now);
}

static void set_free_2mi(fixture *f, const char *count)
{
    nft_write(
        nft_path(f->sys, "devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"),
        count);
}

static void bind_vf0(fixture *f, const char *driver)
{
    assert_int_equal(nft_sh("ln -sfn ../../../bus/pci/drivers/%s '%s'", driver,
                            nft_path(f->sys, "devices/pci0000:18/0000:18:01.0/driver")),
                     0);
}

static void test_generations(void **state)
{
    fixture *f = *state;
    result r1 = refresh(f->c);
    assert_true(r1.changed);
    assert_int_equal(r1.generation, 1);

    result r2 = refresh(f->c);
    assert_false(r2.changed);
    assert_int_equal(r2.generation, 1);
    assert_true(same_numbers(r2.doc, r1.doc));

    /* a second later the same document carries the new time */
    int64_t t0 = nft_now_ms();
    while (nft_now_ms() - t0 < 1100)
        usleep(50 * 1000);
    result r3 = refresh(f->c);
    assert_false(r3.changed);
    assert_int_equal(r3.generation, 1);
    assert_true(strcmp(r3.observed, r1.observed) > 0);
    assert_true(same_numbers(r3.doc, r1.doc));
    assert_fresh(f, r3.doc);

    /* a published number changes: the generation moves once, and the next unchanged refresh
     * keeps the new number */
    assert_int_equal(hugepages_free(r3.doc, 0), 512);
    set_free_2mi(f, "100\n");
    result r4 = refresh(f->c);
    assert_true(r4.changed);
    assert_int_equal(r4.generation, 2);
    assert_int_equal(hugepages_free(r4.doc, 0), 100);
    result r5 = refresh(f->c);
    assert_false(r5.changed);
    assert_int_equal(r5.generation, 2);
    assert_int_equal(hugepages_free(r5.doc, 0), 100);
    assert_true(same_numbers(r5.doc, r4.doc));
    assert_fresh(f, r5.doc);

    /* a VF binding changes */
    bind_vf0(f, "iavf");
    result r6 = refresh(f->c);
    assert_true(r6.changed);
    assert_int_equal(r6.generation, 3);
    assert_false(same_numbers(r6.doc, r5.doc));
    assert_fresh(f, r6.doc);

    /* and back: a new generation again, with the first numbers */
    set_free_2mi(f, "512\n");
    bind_vf0(f, "vfio-pci");
    result r7 = refresh(f->c);
    assert_true(r7.changed);
    assert_int_equal(r7.generation, 4);
    assert_true(same_numbers(r7.doc, r1.doc));

    result *all[] = {&r1, &r2, &r3, &r4, &r5, &r6, &r7};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        json_decref(all[i]->doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
