/* fuzz_kubelet_memory_state.c - nf_memory_state_parse (kubelet's memory_manager_state) on
 * arbitrary bytes.
 *
 * Properties: a failed parse says why and leaves *out empty; a parsed state has a version in
 * 1..3, a policy name, a checksum type exactly when verified, NUMA nodes sorted by unique id in
 * [0, 1023], table sizes >= 0 and each table found by nf_memory_state_table, blocks with NUMA ids
 * in [0, 1023] and sizes >= 0, assignments sorted by pod UID then container; a second parse of
 * the same bytes gives the same state; free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "kubelet_memory_state.h"

#define MAX_NUMA 1023

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static void check_ids(const int *ids, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        NF_FUZZ_CHECK(ids[i] >= 0 && ids[i] <= MAX_NUMA, "%s[%zu] = %d", what, i, ids[i]);
}

static bool same_state(const nf_memory_state *a, const nf_memory_state *b)
{
    if (a->version != b->version || strcmp(a->policy_name, b->policy_name) != 0 ||
        a->n_nodes != b->n_nodes || a->n_assignments != b->n_assignments ||
        a->checksum_verified != b->checksum_verified ||
        cmp_str(a->checksum_type, b->checksum_type) != 0)
        return false;
    for (size_t i = 0; i < a->n_nodes; i++) {
        const nf_memory_numa_state *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->id != y->id || x->number_of_assignments != y->number_of_assignments ||
            x->n_tables != y->n_tables || x->n_cells != y->n_cells ||
            (x->n_cells && memcmp(x->cells, y->cells, x->n_cells * sizeof(int)) != 0))
            return false;
        for (size_t t = 0; t < x->n_tables; t++) {
            const nf_memory_table *p = &x->tables[t], *q = &y->tables[t];
            if (strcmp(p->resource, q->resource) || p->total != q->total ||
                p->system_reserved != q->system_reserved || p->allocatable != q->allocatable ||
                p->reserved != q->reserved || p->free != q->free)
                return false;
        }
    }
    for (size_t i = 0; i < a->n_assignments; i++) {
        const nf_memory_assignment *x = &a->assignments[i], *y = &b->assignments[i];
        if (strcmp(x->pod_uid, y->pod_uid) || cmp_str(x->container, y->container) ||
            x->n_blocks != y->n_blocks)
            return false;
        for (size_t k = 0; k < x->n_blocks; k++) {
            const nf_memory_block *p = &x->blocks[k], *q = &y->blocks[k];
            if (strcmp(p->type, q->type) || p->size != q->size || p->n_numa != q->n_numa ||
                (p->n_numa && memcmp(p->numa, q->numa, p->n_numa * sizeof(int)) != 0))
                return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_memory_state st;
    memset(&st, 0, sizeof(st));
    nf_err err = {{0}};
    int rc = nf_memory_state_parse((const char *)data, size, "fuzz", &st, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&st, sizeof(st)), "failed parse left data behind");
        return 0;
    }
    NF_FUZZ_CHECK(st.version >= 1 && st.version <= 3, "version %d", st.version);
    NF_FUZZ_CHECK(st.policy_name != NULL, "no policy name");
    NF_FUZZ_CHECK(st.checksum_verified == (st.checksum_type != NULL),
                  "checksum_verified %d but checksum_type %s", st.checksum_verified,
                  st.checksum_type ? st.checksum_type : "(null)");
    for (size_t i = 0; i < st.n_nodes; i++) {
        const nf_memory_numa_state *n = &st.nodes[i];
        NF_FUZZ_CHECK(n->id >= 0 && n->id <= MAX_NUMA, "node id %d", n->id);
        NF_FUZZ_CHECK(i == 0 || st.nodes[i - 1].id < n->id, "nodes not sorted/unique at %zu", i);
        check_ids(n->cells, n->n_cells, "cells");
        for (size_t t = 0; t < n->n_tables; t++) {
            const nf_memory_table *tb = &n->tables[t];
            NF_FUZZ_CHECK(tb->resource != NULL, "table without a resource");
            NF_FUZZ_CHECK(tb->total >= 0 && tb->system_reserved >= 0 && tb->allocatable >= 0 &&
                              tb->reserved >= 0 && tb->free >= 0,
                          "negative size in node %d table %s", n->id, tb->resource);
            const nf_memory_table *found = nf_memory_state_table(&st, n->id, tb->resource);
            NF_FUZZ_CHECK(found != NULL && strcmp(found->resource, tb->resource) == 0,
                          "nf_memory_state_table misses node %d %s", n->id, tb->resource);
        }
    }
    for (size_t i = 0; i < st.n_assignments; i++) {
        const nf_memory_assignment *a = &st.assignments[i];
        NF_FUZZ_CHECK(a->pod_uid != NULL, "assignment without a pod UID");
        NF_FUZZ_CHECK(st.version >= 2 || a->container != NULL, "V1 pod-level assignment");
        if (i) {
            const nf_memory_assignment *p = &st.assignments[i - 1];
            int c = strcmp(p->pod_uid, a->pod_uid);
            NF_FUZZ_CHECK(c < 0 || (c == 0 && (!p->container || !a->container ||
                                               strcmp(p->container, a->container) <= 0)),
                          "assignments not sorted at %zu", i);
        }
        for (size_t k = 0; k < a->n_blocks; k++) {
            NF_FUZZ_CHECK(a->blocks[k].type != NULL, "block without a type");
            NF_FUZZ_CHECK(a->blocks[k].size >= 0, "negative block size");
            check_ids(a->blocks[k].numa, a->blocks[k].n_numa, "numaAffinity");
        }
    }
    NF_FUZZ_CHECK(nf_memory_state_table(&st, -1, "memory") == NULL, "table for NUMA -1");

    nf_memory_state again;
    rc = nf_memory_state_parse((const char *)data, size, "fuzz", &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second parse failed: %s", err.msg);
    NF_FUZZ_CHECK(same_state(&st, &again), "second parse differs");
    nf_memory_state_free(&again);
    nf_memory_state_free(&st);
    NF_FUZZ_CHECK(nf_fuzz_zero(&st, sizeof(st)), "free left data behind");
    return 0;
}
