/* test_cache.c - the extender's topology cache: ownership, lookups, stale marks,
 * concurrency (a writer replacing documents while readers hold them), memory per node. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "numafit/topology_json.h"
#include "test_docs.h"

static nf_topology doc(const char *node, uint64_t gen, int cpu_free)
{
    char *s = nf_test_doc(node, 2, gen, cpu_free, 2);
    nf_topology t;
    nf_err err = {{0}};
    int rc = nf_topology_parse(s, strlen(s), &t, &err);
    if (rc)
        fail_msg("test document: %s", err.msg);
    free(s);
    return t;
}

static nf_topology bare(const char *node, uint64_t gen)
{
    nf_topology t = {0};
    t.node = strdup(node);
    t.generation = gen;
    return t;
}

/* nf_cache_peek_many of C strings. */
static void peek(nf_cache *c, const char *const *names, size_t n, uint64_t key, uint64_t mask,
                 int64_t now_ms, int64_t stale_after_ms, nf_cache_peek *out)
{
    size_t lens[128];
    assert_true(n <= 128);
    for (size_t i = 0; i < n; i++)
        lens[i] = names[i] ? strlen(names[i]) : 0;
    nf_cache_peek_many(c, names, lens, n, key, mask, now_ms, stale_after_ms, out);
}

/* The batched lookup without a key: every known node's entry acquired (out[i] NULL when
 * unknown). lens NULL: the names are C strings. */
static void acquire_many_n(nf_cache *c, const char *const *names, const size_t *lens, size_t n,
                           nf_cache_entry **out)
{
    nf_cache_peek p[128];
    assert_true(n <= 128);
    if (lens)
        nf_cache_peek_many(c, names, lens, n, 0, 0, 0, 0, p);
    else
        peek(c, names, n, 0, 0, 0, 0, p);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(p[i].word, 0);
        out[i] = p[i].e;
    }
}

static void acquire_many(nf_cache *c, const char *const *names, size_t n, nf_cache_entry **out)
{
    acquire_many_n(c, names, NULL, n, out);
}

static void put_get_replace(void **state)
{
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    assert_null(nf_cache_acquire(c, "w1"));
    uint64_t v0 = nf_cache_version(c);

    nf_topology t = doc("w1", 1, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://10.0.0.1:9750", 1000), 0);
    assert_null(t.node); /* ownership taken, struct zeroed */
    assert_true(nf_cache_version(c) > v0);
    assert_int_equal(nf_cache_size(c), 1);

    nf_cache_entry *e = nf_cache_acquire(c, "w1");
    assert_non_null(e);
    assert_string_equal(e->topo.node, "w1");
    assert_int_equal(e->topo.generation, 1);
    assert_string_equal(e->source, "http://10.0.0.1:9750");
    assert_int_equal(e->received_ms, 1000);
    assert_false(e->stale);

    /* replace while e is held: e stays valid and unchanged */
    t = doc("w1", 2, 4);
    assert_int_equal(nf_cache_put(c, &t, "http://10.0.0.1:9750", 2000), 0);
    assert_int_equal(e->topo.generation, 1);
    assert_int_equal(e->topo.n_numa_nodes, 2);
    nf_cache_entry *e2 = nf_cache_acquire(c, "w1");
    assert_int_equal(e2->topo.generation, 2);
    assert_int_equal(nf_cache_size(c), 1);
    nf_cache_release(e);
    nf_cache_release(e2);

    /* a document without a node name is refused, and still consumed */
    nf_topology nameless = {0};
    nameless.generation = 3;
    assert_int_equal(nf_cache_put(c, &nameless, "x", 0), -EINVAL);
    nf_cache_free(c);
}

static void stale_touch_remove(void **state)
{
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    const char *a = "http://a:9750", *b = "http://b:9750";
    nf_topology t = bare("n1", 5);
    nf_cache_put(c, &t, a, 100);
    t = bare("n2", 6);
    nf_cache_put(c, &t, a, 100);
    t = bare("n3", 7);
    nf_cache_put(c, &t, b, 100);

    nf_cache_entry *held = nf_cache_acquire(c, "n1");
    uint64_t v = nf_cache_version(c);
    assert_int_equal(nf_cache_mark_stale(c, a, "exporter a: connection refused"), 2);
    assert_true(nf_cache_version(c) > v);
    assert_int_equal(nf_cache_mark_stale(c, a, "again"), 0); /* already stale */
    assert_int_equal(nf_cache_stale_count(c), 2);
    assert_false(held->stale); /* what a reader holds never changes */
    nf_cache_entry *e = nf_cache_acquire(c, "n1");
    assert_true(e->stale);
    assert_string_equal(e->stale_reason, "exporter a: connection refused");
    assert_int_equal(e->topo.generation, 5);         /* the last document stays readable */
    assert_ptr_equal(e->topo.node, held->topo.node); /* shared, not copied */
    nf_cache_release(held);
    nf_cache_entry *n3 = nf_cache_acquire(c, "n3");
    assert_false(n3->stale);
    nf_cache_release(n3);

    /* touch: same document, new time, fresh again; only from its own source */
    assert_int_equal(nf_cache_touch(c, "n1", b, 900), -ENOENT);
    assert_int_equal(nf_cache_touch(c, "n1", a, 900), 0);
    nf_cache_entry *t1 = nf_cache_acquire(c, "n1");
    assert_false(t1->stale);
    assert_int_equal(t1->received_ms, 900);
    assert_int_equal(t1->topo.generation, 5);
    assert_int_equal(nf_cache_stale_count(c), 1);
    /* the entry e (stale, derived) and t1 share the document with the original: release in any
     * order */
    nf_cache_release(t1);
    assert_string_equal(e->topo.node, "n1");
    nf_cache_release(e);

    assert_int_equal(nf_cache_mark_node_stale(c, "n3", a, "x"), -ENOENT);
    assert_int_equal(nf_cache_mark_node_stale(c, "n3", b, "file went bad"), 0);
    assert_int_equal(nf_cache_stale_count(c), 2);

    assert_int_equal(nf_cache_remove_from(c, "n3", a), -ENOENT);
    assert_int_equal(nf_cache_remove_from(c, "n3", b), 0);
    assert_int_equal(nf_cache_remove(c, "n2"), 0);
    assert_int_equal(nf_cache_remove(c, "n2"), -ENOENT);
    assert_int_equal(nf_cache_size(c), 1);
    assert_int_equal(nf_cache_stale_count(c), 0);
    nf_cache_free(c);
}

static void many_nodes_and_lists(void **state)
{
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    enum { N = 3000 };
    char name[32];
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof(name), "node-%05d", i);
        nf_topology t = bare(name, (uint64_t)i);
        assert_int_equal(nf_cache_put(c, &t, "file:x", i), 0);
    }
    assert_int_equal(nf_cache_size(c), N);
    /* remove every third, so backward-shift deletion runs through probe chains */
    for (int i = 0; i < N; i += 3) {
        snprintf(name, sizeof(name), "node-%05d", i);
        assert_int_equal(nf_cache_remove(c, name), 0);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "node-%05d", i);
        nf_cache_entry *e = nf_cache_acquire(c, name);
        if (i % 3 == 0) {
            assert_null(e);
        } else {
            assert_non_null(e);
            assert_int_equal(e->topo.generation, i);
            nf_cache_release(e);
        }
    }
    nf_cache_entry **all;
    size_t n;
    assert_int_equal(nf_cache_acquire_all(c, &all, &n), 0);
    assert_int_equal(n, N - (N + 2) / 3);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(all[i - 1]->topo.node, all[i]->topo.node) < 0);
    nf_cache_release_all(all, n);

    const char *names[] = {"node-00001", "nope", NULL, "node-00003", "node-02999"};
    nf_cache_entry *got[5];
    acquire_many(c, names, 5, got);
    assert_non_null(got[0]);
    assert_null(got[1]);
    assert_null(got[2]);
    assert_null(got[3]);
    assert_non_null(got[4]);
    assert_string_equal(got[4]->topo.node, "node-02999");
    for (int i = 0; i < 5; i++)
        nf_cache_release(got[i]);
    nf_cache_free(c);
}

/* Names short enough to be kept in the table's slots and longer ones, names that are prefixes of
 * each other, across growth and backward-shift deletion; single and batched lookups agree. */
static void names_of_every_length(void **state)
{
    (void)state;
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    enum { MAXLEN = 64 };
    char names[MAXLEN][MAXLEN + 1];
    const char *ptrs[MAXLEN + 2];
    for (int len = 1; len <= MAXLEN; len++) { /* "a", "ab", "abc", ... each a prefix of the next */
        for (int k = 0; k < len; k++)
            names[len - 1][k] = (char)('a' + k % 26);
        names[len - 1][len] = 0;
        nf_topology t = bare(names[len - 1], (uint64_t)len);
        assert_int_equal(nf_cache_put(c, &t, "file:x", len), 0);
        ptrs[len - 1] = names[len - 1];
    }
    char longer[MAXLEN + 2];
    memcpy(longer, names[MAXLEN - 1], MAXLEN);
    longer[MAXLEN] = 'z';
    longer[MAXLEN + 1] = 0;
    ptrs[MAXLEN] = longer; /* unknown: one more byte than the longest */
    ptrs[MAXLEN + 1] = "";
    for (int round = 0; round < 2; round++) {
        nf_cache_entry *got[MAXLEN + 2];
        acquire_many(c, ptrs, MAXLEN + 2, got);
        for (int len = 1; len <= MAXLEN; len++) {
            bool removed = round && len % 3 == 0;
            nf_cache_entry *one = nf_cache_acquire(c, names[len - 1]);
            if (removed) {
                assert_null(got[len - 1]);
                assert_null(one);
                continue;
            }
            assert_non_null(got[len - 1]);
            assert_ptr_equal(got[len - 1], one);
            assert_string_equal(one->topo.node, names[len - 1]);
            assert_int_equal(one->topo.generation, len);
            nf_cache_release(one);
        }
        assert_null(got[MAXLEN]);
        assert_null(got[MAXLEN + 1]);
        for (int i = 0; i < MAXLEN + 2; i++)
            nf_cache_release(got[i]);
        /* by length: every name is a prefix of `longer`, which is not cut after it (a request's
         * names are spans of its body); one byte more than the longest is unknown */
        size_t lens[MAXLEN + 1];
        const char *same[MAXLEN + 1];
        for (int len = 1; len <= MAXLEN + 1; len++) {
            same[len - 1] = longer;
            lens[len - 1] = (size_t)len;
        }
        acquire_many_n(c, same, lens, MAXLEN + 1, got);
        got[MAXLEN + 1] = NULL;
        for (int len = 1; len <= MAXLEN; len++) {
            if (round && len % 3 == 0) {
                assert_null(got[len - 1]);
                continue;
            }
            assert_non_null(got[len - 1]);
            assert_string_equal(got[len - 1]->topo.node, names[len - 1]);
        }
        assert_null(got[MAXLEN]);
        for (int i = 0; i < MAXLEN + 2; i++)
            nf_cache_release(got[i]);
        for (int len = 3; len <= MAXLEN && !round; len += 3)
            assert_int_equal(nf_cache_remove(c, names[len - 1]), 0);
    }
    nf_cache_free(c);
}

static bool no_longer_true(void *ctx, const nf_cache_entry *e)
{
    (void)e;
    *(bool *)ctx = true;
    return false;
}

/* Words kept in the table: answered without a reference while the node keeps its document and
 * is fresh; kept across a touch, dropped by a new document, not answered once stale or too old;
 * a keep for a document already replaced is ignored; words survive growth and deletions. */
static void kept_words(void **state)
{
    (void)state;
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    const uint64_t mask = ~(uint64_t)0xff, key = 0x4200;
    nf_topology t = doc("w1", 1, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://e:1", 1000), 0);
    t = doc("w2", 1, 10);
    assert_int_equal(nf_cache_put(c, &t, "file:/d/w2.json", 1000), 0);
    const char *names[] = {"w1", "w2", "nope"};
    nf_cache_peek p[3];

    /* nothing kept: entries come back with references */
    peek(c, names, 3, key, mask, 1500, 10000, p);
    assert_non_null(p[0].e);
    assert_non_null(p[1].e);
    assert_null(p[2].e);
    assert_int_equal(p[0].word, 0);
    nf_cache_keep_word(c, p[0].e, key | 7, NULL, NULL);
    nf_cache_keep_word(c, p[1].e, key | 9, NULL, NULL);
    nf_cache_entry *old_w1 = p[0].e; /* held: its document is replaced below */
    nf_cache_release(p[1].e);

    peek(c, names, 3, key, mask, 1500, 10000, p);
    assert_null(p[0].e);
    assert_int_equal(p[0].word, key | 7);
    assert_int_equal(p[1].word, key | 9);
    assert_null(p[2].e);
    assert_int_equal(p[2].word, 0);
    /* another key: the words do not answer */
    peek(c, names, 2, key + 0x100, mask, 1500, 10000, p);
    assert_non_null(p[0].e);
    assert_int_equal(p[0].word, 0);
    nf_cache_release(p[0].e);
    nf_cache_release(p[1].e);
    /* key 0 never answers from a word */
    nf_cache_entry *got[2];
    acquire_many(c, names, 2, got);
    assert_non_null(got[0]);
    assert_non_null(got[1]);
    nf_cache_release(got[0]);
    nf_cache_release(got[1]);

    /* too old for an exporter's document (the file's does not age), then touched: same document,
     * the word answers again */
    peek(c, names, 2, key, mask, 20000, 10000, p);
    assert_non_null(p[0].e);
    assert_int_equal(p[1].word, key | 9);
    nf_cache_release(p[0].e);
    assert_int_equal(nf_cache_touch(c, "w1", "http://e:1", 19000), 0);
    peek(c, names, 1, key, mask, 20000, 10000, p);
    assert_int_equal(p[0].word, key | 7);

    /* a stale mark keeps the document but the node is not fresh: entry, no word */
    assert_int_equal(nf_cache_mark_node_stale(c, "w2", NULL, "gone"), 0);
    peek(c, names, 2, key, mask, 20000, 10000, p);
    assert_int_equal(p[0].word, key | 7);
    assert_non_null(p[1].e);
    assert_true(p[1].e->stale);
    nf_cache_release(p[1].e);

    /* a new document drops the word; a late keep for the old document is ignored */
    t = doc("w1", 2, 3);
    assert_int_equal(nf_cache_put(c, &t, "http://e:1", 19500), 0);
    nf_cache_keep_word(c, old_w1, key | 8, NULL, NULL);
    nf_cache_release(old_w1);
    peek(c, names, 1, key, mask, 20000, 10000, p);
    assert_non_null(p[0].e);
    assert_int_equal(p[0].e->topo.generation, 2);
    bool asked = false;
    nf_cache_keep_word(c, p[0].e, key | 6, no_longer_true, &asked); /* refused by its check */
    assert_true(asked);
    peek(c, names, 1, key, mask, 20000, 10000, &p[1]);
    assert_non_null(p[1].e);
    nf_cache_release(p[1].e);
    nf_cache_keep_word(c, p[0].e, key | 5, NULL, NULL);
    nf_cache_release(p[0].e);
    /* forgotten (what it said changed), then kept again; forgetting every node */
    nf_cache_forget_word(c, "w1");
    peek(c, names, 1, key, mask, 20000, 10000, p);
    assert_non_null(p[0].e);
    nf_cache_keep_word(c, p[0].e, key | 5, NULL, NULL);
    nf_cache_release(p[0].e);
    nf_cache_forget_word(c, NULL);
    peek(c, names, 1, key, mask, 20000, 10000, p);
    assert_non_null(p[0].e);
    nf_cache_keep_word(c, p[0].e, key | 5, NULL, NULL);
    nf_cache_release(p[0].e);

    /* growth and backward-shift deletions move slots with their words */
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "grow-%03d", i);
        t = bare(name, 1);
        assert_int_equal(nf_cache_put(c, &t, "file:g", 19600), 0);
    }
    for (int i = 0; i < 300; i += 2) {
        snprintf(name, sizeof(name), "grow-%03d", i);
        assert_int_equal(nf_cache_remove(c, name), 0);
    }
    peek(c, names, 1, key, mask, 20000, 10000, p);
    assert_int_equal(p[0].word, key | 5);
    nf_cache_free(c);
}

/* Two sources publishing one node (two exporters with the same --node-name, a file beside an
 * exporter): the node is unusable, with both sources in the reason, until the other has been
 * silent for the conflict window (a file: until it is removed); a stale source does not count. */
static void source_conflicts(void **state)
{
    (void)state;
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    nf_cache_set_conflict_window(c, 10000);
    char why[256];
    nf_topology t = doc("w1", 1, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://a:9750", 1000), 0);
    t = doc("w1", 7, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://b:9750", 2000), 0);
    nf_cache_entry *e = nf_cache_acquire(c, "w1");
    assert_non_null(e->conflict_with);
    assert_true(nf_cache_entry_unusable(e, 2000, 60000, why, sizeof(why)));
    assert_non_null(strstr(why, "http://a:9750"));
    assert_non_null(strstr(why, "http://b:9750"));
    /* the reason /filter gives: one text for every such node */
    assert_true(nf_cache_entry_unusable_kind(e, 2000, 60000, why, sizeof(why)));
    assert_null(strstr(why, "http://"));
    assert_non_null(strstr(why, "two sources publish this node"));
    nf_cache_release(e);
    /* the kept-answer fast path does not answer for it either */
    const char *names[] = {"w1"};
    nf_cache_peek p;
    peek(c, names, 1, 0x100, ~(uint64_t)0xff, 2000, 60000, &p);
    nf_cache_keep_word(c, p.e, 0x101, NULL, NULL);
    nf_cache_release(p.e);
    peek(c, names, 1, 0x100, ~(uint64_t)0xff, 2000, 60000, &p);
    assert_non_null(p.e);
    nf_cache_release(p.e);

    /* b alone: still a conflict within the window after a's last document, then resolved */
    t = doc("w1", 8, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://b:9750", 9000), 0);
    e = nf_cache_acquire(c, "w1");
    assert_non_null(e->conflict_with);
    nf_cache_release(e);
    assert_int_equal(nf_cache_touch(c, "w1", "http://b:9750", 10500), 0); /* a touch keeps it */
    e = nf_cache_acquire(c, "w1");
    assert_non_null(e->conflict_with);
    nf_cache_release(e);
    t = doc("w1", 9, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://b:9750", 11500), 0);
    e = nf_cache_acquire(c, "w1");
    assert_null(e->conflict_with);
    assert_false(nf_cache_entry_unusable(e, 11500, 60000, why, sizeof(why)));
    assert_false(nf_cache_entry_unusable_kind(e, 11500, 60000, why, sizeof(why)));
    assert_true(nf_cache_entry_unusable_kind(e, 80000, 60000, why, sizeof(why))); /* too old */
    assert_string_equal(why, "topology is older than --stale-after 60s");
    nf_cache_release(e);

    /* a stale source (its exporter went away) is replaced without a conflict */
    assert_int_equal(nf_cache_mark_stale(c, "http://b:9750", "gone"), 1);
    t = doc("w1", 10, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://c:9750", 12000), 0);
    e = nf_cache_acquire(c, "w1");
    assert_null(e->conflict_with);
    nf_cache_release(e);

    /* a file does not age: an exporter's document after it conflicts however late, until the
     * file is removed */
    t = doc("w2", 1, 10);
    assert_int_equal(nf_cache_put(c, &t, "file:/d/w2.json", 1000), 0);
    t = doc("w2", 2, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://e:9750", 900000), 0);
    t = doc("w2", 3, 10);
    assert_int_equal(nf_cache_put(c, &t, "http://e:9750", 990000), 0);
    e = nf_cache_acquire(c, "w2");
    assert_string_equal(e->conflict_with, "file:/d/w2.json");
    nf_cache_release(e);
    assert_int_equal(nf_cache_remove_from(c, "w2", "file:/d/w2.json"), -ENOENT);
    e = nf_cache_acquire(c, "w2");
    assert_null(e->conflict_with);
    assert_int_equal(e->topo.generation, 3);
    nf_cache_release(e);
    nf_cache_free(c);
}

/* ---- concurrency ---- */

typedef struct shared {
    nf_cache *c;
    atomic_bool stop;
    atomic_long reads;
} shared;

static void *writer(void *arg)
{
    shared *s = arg;
    char name[16];
    for (uint64_t gen = 1; gen <= 60; gen++) {
        for (int n = 0; n < 8; n++) {
            snprintf(name, sizeof(name), "w%d", n);
            nf_topology t = doc(name, gen, (int)(gen % 20));
            nf_cache_put(s->c, &t, n % 2 ? "http://odd" : "http://even", (int64_t)gen);
        }
        if (gen % 20 == 0)
            nf_cache_mark_stale(s->c, "http://odd", "odd exporters went away");
        if (gen % 25 == 0)
            nf_cache_remove(s->c, "w7");
        if (gen % 15 == 0)
            nf_cache_touch(s->c, "w0", "http://even", (int64_t)gen);
    }
    atomic_store(&s->stop, true);
    return NULL;
}

static void *reader(void *arg)
{
    shared *s = arg;
    char name[16];
    unsigned i = 0;
    while (!atomic_load(&s->stop)) {
        snprintf(name, sizeof(name), "w%u", i++ % 8);
        nf_cache_entry *e = nf_cache_acquire(s->c, name);
        if (e) {
            /* the document is whole and consistent while held */
            if (strcmp(e->topo.node, name) != 0 || e->topo.n_numa_nodes != 2 ||
                e->topo.numa_nodes[1].n_resources != 4 ||
                e->topo.numa_nodes[0].devices[0].n_vfs != 2)
                abort();
            atomic_fetch_add(&s->reads, 1);
            nf_cache_release(e);
        }
        if (i % 64 == 0) {
            nf_cache_entry **all;
            size_t n;
            if (nf_cache_acquire_all(s->c, &all, &n) == 0) {
                for (size_t k = 0; k < n; k++)
                    if (!all[k]->topo.node)
                        abort();
                nf_cache_release_all(all, n);
            }
        }
    }
    return NULL;
}

static void concurrent_readers_and_writer(void **state)
{
    shared s = {0};
    assert_int_equal(nf_cache_new(&s.c), 0);
    pthread_t w, r[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader, &s), 0);
    assert_int_equal(pthread_create(&w, NULL, writer, &s), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(r[i], NULL);
    assert_true(atomic_load(&s.reads) > 0);
    nf_cache_entry *e = nf_cache_acquire(s.c, "w0");
    assert_non_null(e);
    assert_int_equal(e->topo.generation, 60);
    nf_cache_release(e);
    nf_cache_free(s.c);
}

/* ---- memory: the benchmark holds 5,000 nodes x 8 NUMA nodes; target <= 16 KiB per node ---- */

/* Heap bytes per cached node for documents with 8 NUMA nodes and vfs VFs per NUMA node; 0 when
 * the allocator cannot tell (under ASan mallinfo2 does not see the sanitizer's heap). */
static double bytes_per_node(int vfs, size_t *doc_bytes)
{
    enum { N = 200 };
    char *text[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "worker-%04d", i);
        text[i] = nf_test_doc(name, 8, 1, 10, vfs);
    }
    *doc_bytes = strlen(text[0]);
    nf_cache *c;
    assert_int_equal(nf_cache_new(&c), 0);
    malloc_trim(0);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < N; i++) {
        nf_topology t;
        nf_err err;
        assert_int_equal(nf_topology_parse(text[i], strlen(text[i]), &t, &err), 0);
        assert_int_equal(nf_cache_put(c, &t, "http://10.1.2.3:9750", 0), 0);
    }
    struct mallinfo2 after = mallinfo2();
    for (int i = 0; i < N; i++)
        free(text[i]);
    nf_cache_free(c);
    return after.uordblks > before.uordblks ? (double)(after.uordblks - before.uordblks) / N : 0;
}

static void memory_per_node(void **state)
{
#ifdef __SANITIZE_ADDRESS__
    skip(); /* mallinfo2 cannot see ASan's heap: measured in a plain build */
#endif
    size_t d0, d4, d8;
    double b0 = bytes_per_node(0, &d0), b4 = bytes_per_node(4, &d4), b8 = bytes_per_node(8, &d8);
    printf("# cache memory per node (8 NUMA nodes): no VFs %.0f B (JSON %zu B); 32 VFs %.0f B "
           "(JSON %zu B); 64 VFs %.0f B (JSON %zu B)\n",
           b0, d0, b4, d4, b8, d8);
    /* regression guard, not the 16 KiB goal (which 32+ VFs per node miss: see the report) */
    if (b0 > 0) {
        assert_true(b0 <= 16384);
        assert_true(b4 <= 24576);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace),
        cmocka_unit_test(stale_touch_remove),
        cmocka_unit_test(many_nodes_and_lists),
        cmocka_unit_test(names_of_every_length),
        cmocka_unit_test(kept_words),
        cmocka_unit_test(source_conflicts),
        cmocka_unit_test(concurrent_readers_and_writer),
        cmocka_unit_test(memory_per_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
