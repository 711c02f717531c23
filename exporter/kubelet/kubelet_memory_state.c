/* kubelet_memory_state.c - Memory Manager checkpoint reader (see kubelet_memory_state.h). */
#include "kubelet_memory_state.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_json.h"
#include "kubelet_spew.h"
#include "numafit/fileio.h"

#define MAX_NUMA_ID 1023

typedef struct body {
    const char *policy;
    json_t *machine;     /* NULL when absent */
    json_t *entries;     /* NULL when absent */
    json_t *pod_entries; /* NULL when absent */
} body;

static void blocks_free(nf_memory_block *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].numa);
        free(b[i].type);
    }
    free(b);
}

void nf_memory_state_free(nf_memory_state *s)
{
    free(s->policy_name);
    for (size_t i = 0; i < s->n_nodes; i++) {
        for (size_t t = 0; t < s->nodes[i].n_tables; t++)
            free(s->nodes[i].tables[t].resource);
        free(s->nodes[i].tables);
        free(s->nodes[i].cells);
    }
    free(s->nodes);
    for (size_t i = 0; i < s->n_assignments; i++) {
        free(s->assignments[i].pod_uid);
        free(s->assignments[i].pod_namespace);
        free(s->assignments[i].pod_name);
        free(s->assignments[i].container);
        blocks_free(s->assignments[i].blocks, s->assignments[i].n_blocks);
    }
    free(s->assignments);
    free(s->checksum_type);
    memset(s, 0, sizeof(*s));
}

const nf_memory_table *nf_memory_state_table(const nf_memory_state *s, int numa,
                                             const char *resource)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].id != numa)
            continue;
        for (size_t t = 0; t < s->nodes[i].n_tables; t++)
            if (strcmp(s->nodes[i].tables[t].resource, resource) == 0)
                return &s->nodes[i].tables[t];
    }
    return NULL;
}

/* Integer list ([]int) with ids in [0, MAX_NUMA_ID]. */
static int int_list(const json_t *arr, const char *what, const char *field, int **out, size_t *n,
                    nf_err *err)
{
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return nf_errf(err, -EINVAL, "%s: %s: expected an array of NUMA ids", what, field);
    size_t cnt = json_array_size(arr);
    if (cnt == 0)
        return 0;
    int *v = calloc(cnt, sizeof(*v));
    if (!v)
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const json_t *e = json_array_get(arr, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) > MAX_NUMA_ID) {
            free(v);
            return nf_errf(err, -EINVAL, "%s: %s[%zu]: expected a NUMA id in [0, %d]", what, field,
                           i, MAX_NUMA_ID);
        }
        v[i] = (int)json_integer_value(e);
    }
    *out = v;
    *n = cnt;
    return 0;
}

static int check_blocks(const json_t *arr, const char *what, const char *where, nf_err *err)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return nf_errf(err, -EINVAL, "%s: %s: expected an array of blocks", what, where);
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b)
    {
        int rc;
        const char *type;
        uint64_t size;
        int *numa;
        size_t nn;
        if (!json_is_object(b))
            return nf_errf(err, -EINVAL, "%s: %s[%zu]: expected an object", what, where, i);
        if ((rc = nf__kubelet_json_string(b, "type", what, &type, err)) ||
            (rc = nf__kubelet_json_uint(b, "size", what, INT64_MAX, &size, NULL, err)) ||
            (rc = int_list(nf__kubelet_json_field(b, "numaAffinity"), what, "numaAffinity", &numa,
                           &nn, err)))
            return rc;
        free(numa);
    }
    return 0;
}

static int read_body(const json_t *root, const char *what, body *b, nf_err *err)
{
    int rc;
    memset(b, 0, sizeof(*b));
    if ((rc = nf__kubelet_json_string(root, "policyName", what, &b->policy, err)) ||
        (rc = nf__kubelet_json_object(root, "machineState", what, &b->machine, err)) ||
        (rc = nf__kubelet_json_object(root, "entries", what, &b->entries, err)) ||
        (rc = nf__kubelet_json_object(root, "podEntries", what, &b->pod_entries, err)))
        return rc;
    const char *k, *c;
    json_t *v, *cv;
    json_object_foreach(b->machine, k, v)
    {
        int64_t id;
        json_t *mm;
        if (nf_parse_int64(k, 0, MAX_NUMA_ID, &id) || strspn(k, "0123456789") != strlen(k))
            return nf_errf(err, -EINVAL, "%s: machineState key \"%.40s\": not a NUMA id", what, k);
        if (!json_is_object(v) && !json_is_null(v))
            return nf_errf(err, -EINVAL, "%s: machineState[%s]: expected an object", what, k);
        if (json_is_null(v))
            continue;
        if ((rc = nf__kubelet_json_object(v, "memoryMap", what, &mm, err)))
            return rc;
        json_object_foreach(mm, c, cv)
        {
            static const char *const fields[] = {"total", "systemReserved", "allocatable",
                                                 "reserved", "free"};
            if (!json_is_object(cv))
                return nf_errf(err, -EINVAL,
                               "%s: machineState[%s].memoryMap[%.40s]: expected an "
                               "object",
                               what, k, c);
            for (size_t f = 0; f < 5; f++) {
                uint64_t u;
                if ((rc = nf__kubelet_json_uint(cv, fields[f], what, INT64_MAX, &u, NULL, err)))
                    return rc;
            }
        }
        json_t *na = nf__kubelet_json_field(v, "numberOfAssignments");
        if (na && !json_is_null(na) && !json_is_integer(na))
            return nf_errf(err, -EINVAL,
                           "%s: machineState[%s].numberOfAssignments: expected an "
                           "integer",
                           what, k);
    }
    json_object_foreach(b->entries, k, v)
    {
        if (!json_is_object(v))
            return nf_errf(err, -EINVAL, "%s: entries[%.80s]: expected an object", what, k);
        json_object_foreach(v, c, cv)
        {
            char where[200];
            snprintf(where, sizeof(where), "entries[%.80s][%.80s]", k, c);
            if ((rc = check_blocks(cv, what, where, err)))
                return rc;
        }
    }
    json_object_foreach(b->pod_entries, k, v)
    {
        char where[200];
        snprintf(where, sizeof(where), "podEntries[%.80s].memoryBlocks", k);
        if (!json_is_object(v))
            return nf_errf(err, -EINVAL, "%s: podEntries[%.80s]: expected an object", what, k);
        if ((rc = check_blocks(nf__kubelet_json_field(v, "memoryBlocks"), what, where, err)))
            return rc;
    }
    return 0;
}

static void u64_field(nf_spew *s, const json_t *o, const char *json_name, const char *go_name)
{
    const json_t *v = nf__kubelet_json_field(o, json_name);
    nf_spew_printf(s, "%s:(uint64)%lld", go_name, json_is_integer(v) ? json_integer_value(v) : 0);
}

static void dump_int_slice(nf_spew *s, const json_t *arr)
{
    if (!arr || json_is_null(arr)) {
        nf_spew_put(s, "<nil>");
        return;
    }
    nf_spew_put(s, "[");
    for (size_t i = 0; i < json_array_size(arr); i++)
        nf_spew_printf(s, "%s%lld", i ? " " : "", json_integer_value(json_array_get(arr, i)));
    nf_spew_put(s, "]");
}

static void dump_blocks(nf_spew *s, const json_t *arr)
{
    if (!arr || json_is_null(arr)) {
        nf_spew_put(s, "<nil>");
        return;
    }
    nf_spew_put(s, "[");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *b = json_array_get(arr, i);
        const json_t *t = nf__kubelet_json_field(b, "type");
        nf_spew_put(s, i ? " {NUMAAffinity:([]int)" : "{NUMAAffinity:([]int)");
        dump_int_slice(s, nf__kubelet_json_field(b, "numaAffinity"));
        nf_spew_put(s, " Type:(v1.ResourceName)");
        nf_spew_put(s, json_is_string(t) ? json_string_value(t) : "");
        nf_spew_put(s, " ");
        u64_field(s, b, "size", "Size");
        nf_spew_put(s, "}");
    }
    nf_spew_put(s, "]");
}

static void dump_machine(nf_spew *s, const json_t *machine)
{
    int64_t *ids = NULL;
    const char *bad;
    nf_spew_put(s, " MachineState:(state.NUMANodeMap)");
    if (!machine) {
        nf_spew_put(s, "<nil>");
        return;
    }
    long n = nf_spew_sorted_int_keys(machine, &ids, &bad);
    if (n < 0) {
        s->oom = true;
        return;
    }
    nf_spew_put(s, "map[");
    for (long i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof(key), "%lld", (long long)ids[i]);
        const json_t *st = json_object_get(machine, key);
        nf_spew_printf(s, "%s%lld:", i ? " " : "", (long long)ids[i]);
        if (!st || json_is_null(st)) {
            nf_spew_put(s, "<nil>");
            continue;
        }
        const json_t *na = nf__kubelet_json_field(st, "numberOfAssignments");
        nf_spew_printf(s,
                       "<*>{NumberOfAssignments:(int)%lld MemoryMap:(map[v1.ResourceName]*"
                       "state.MemoryTable)",
                       json_is_integer(na) ? json_integer_value(na) : 0);
        const json_t *mm = nf__kubelet_json_field(st, "memoryMap");
        if (!json_is_object(mm)) {
            nf_spew_put(s, "<nil>");
        } else {
            const char **keys;
            long m = nf_spew_sorted_keys(mm, &keys);
            if (m < 0)
                s->oom = true;
            nf_spew_put(s, "map[");
            for (long j = 0; j < m; j++) {
                const json_t *t = json_object_get(mm, keys[j]);
                nf_spew_printf(s, "%s%s:<*>{", j ? " " : "", keys[j]);
                u64_field(s, t, "total", "TotalMemSize");
                nf_spew_put(s, " ");
                u64_field(s, t, "systemReserved", "SystemReserved");
                nf_spew_put(s, " ");
                u64_field(s, t, "allocatable", "Allocatable");
                nf_spew_put(s, " ");
                u64_field(s, t, "reserved", "Reserved");
                nf_spew_put(s, " ");
                u64_field(s, t, "free", "Free");
                nf_spew_put(s, "}");
            }
            nf_spew_put(s, "]");
            free(keys);
        }
        nf_spew_put(s, " Cells:([]int)");
        dump_int_slice(s, nf__kubelet_json_field(st, "cells"));
        nf_spew_put(s, "}");
    }
    nf_spew_put(s, "]");
    free(ids);
}

static void dump(nf_spew *s, const body *b, const char *type, bool pod_field)
{
    nf_spew_reset(s);
    nf_spew_printf(s, "(*state.%s){PolicyName:(string)", type);
    nf_spew_put(s, b->policy);
    dump_machine(s, b->machine);
    nf_spew_put(s, " Entries:(state.ContainerMemoryAssignments)");
    if (!b->entries) {
        nf_spew_put(s, "<nil>");
    } else {
        const char **pods;
        long n = nf_spew_sorted_keys(b->entries, &pods);
        if (n < 0)
            s->oom = true;
        nf_spew_put(s, "map[");
        for (long i = 0; i < n; i++) {
            const json_t *cont = json_object_get(b->entries, pods[i]);
            const char **cs;
            long m = nf_spew_sorted_keys(cont, &cs);
            if (m < 0)
                s->oom = true;
            nf_spew_printf(s, "%s%s:map[", i ? " " : "", pods[i]);
            for (long j = 0; j < m; j++) {
                nf_spew_printf(s, "%s%s:", j ? " " : "", cs[j]);
                dump_blocks(s, json_object_get(cont, cs[j]));
            }
            nf_spew_put(s, "]");
            free(cs);
        }
        nf_spew_put(s, "]");
        free(pods);
    }
    if (pod_field) {
        nf_spew_put(s, " PodEntries:(state.PodMemoryAssignments)");
        if (!b->pod_entries) {
            nf_spew_put(s, "<nil>");
        } else {
            const char **pods;
            long n = nf_spew_sorted_keys(b->pod_entries, &pods);
            if (n < 0)
                s->oom = true;
            nf_spew_put(s, "map[");
            for (long i = 0; i < n; i++) {
                nf_spew_printf(s, "%s%s:{MemoryBlocks:([]state.Block)", i ? " " : "", pods[i]);
                dump_blocks(s, nf__kubelet_json_field(json_object_get(b->pod_entries, pods[i]),
                                                      "memoryBlocks"));
                nf_spew_put(s, "}");
            }
            nf_spew_put(s, "]");
            free(pods);
        }
    }
    nf_spew_put(s, " Checksum:(checksum.Checksum)0}");
}

static int verify(const body *b, uint64_t stored, const char **type, uint32_t *first)
{
    static const char *const names[] = {"MemoryManagerCheckpoint", "MemoryManagerCheckpointV1",
                                        "MemoryManagerCheckpointV2"};
    nf_spew s = {0};
    int found = 0, rc = 0;
    bool has_pods = json_object_size(b->pod_entries) > 0, have_first = false;
    for (size_t i = 0; i < 3 && !found; i++) {
        for (int pf = 0; pf <= 1 && !found; pf++) {
            if (has_pods && !pf)
                continue;
            uint32_t sum;
            dump(&s, b, names[i], pf);
            if ((rc = nf_spew_sum(&s, &sum)))
                goto out;
            if (!have_first) {
                *first = sum;
                have_first = true;
            }
            if (sum == stored) {
                found = 1;
                *type = names[i];
            }
        }
    }
out:
    nf_spew_free(&s);
    return rc ? rc : found;
}

static int blocks_fill(const json_t *arr, nf_memory_block **out, size_t *n, nf_err *err)
{
    size_t cnt = json_array_size(arr);
    *out = NULL;
    *n = 0;
    if (cnt == 0)
        return 0;
    nf_memory_block *b = calloc(cnt, sizeof(*b));
    if (!b)
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const json_t *j = json_array_get(arr, i);
        const json_t *t = nf__kubelet_json_field(j, "type"),
                     *sz = nf__kubelet_json_field(j, "size");
        b[i].size = json_is_integer(sz) ? json_integer_value(sz) : 0;
        int rc = int_list(nf__kubelet_json_field(j, "numaAffinity"), "", "", &b[i].numa,
                          &b[i].n_numa, err);
        if (rc || !(b[i].type = strdup(json_is_string(t) ? json_string_value(t) : ""))) {
            blocks_free(b, i + 1);
            return rc ? rc : nf_errf(err, -ENOMEM, "out of memory");
        }
    }
    *out = b;
    *n = cnt;
    return 0;
}

static int add_assign(nf_memory_state *st, const char *pod, const char *container,
                      const json_t *blocks, nf_err *err)
{
    nf_memory_assignment *na =
        realloc(st->assignments, (st->n_assignments + 1) * sizeof(*st->assignments));
    if (!na)
        return nf_errf(err, -ENOMEM, "out of memory");
    st->assignments = na;
    nf_memory_assignment *a = &na[st->n_assignments];
    memset(a, 0, sizeof(*a));
    int rc = blocks_fill(blocks, &a->blocks, &a->n_blocks, err);
    if (rc)
        return rc;
    if (!(a->pod_uid = strdup(pod)) || (container && !(a->container = strdup(container)))) {
        free(a->pod_uid);
        blocks_free(a->blocks, a->n_blocks);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    st->n_assignments++;
    return 0;
}

static int cmp_assign(const void *pa, const void *pb)
{
    const nf_memory_assignment *a = pa, *b = pb;
    int c = strcmp(a->pod_uid, b->pod_uid);
    if (c)
        return c;
    if (!a->container || !b->container)
        return !a->container - !b->container;
    return strcmp(a->container, b->container);
}

static int cmp_node(const void *pa, const void *pb)
{
    return ((const nf_memory_numa_state *)pa)->id - ((const nf_memory_numa_state *)pb)->id;
}

static int64_t table_u(const json_t *t, const char *name)
{
    const json_t *v = nf__kubelet_json_field(t, name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int fill(nf_memory_state *st, const body *b, const char *what, nf_err *err)
{
    int rc;
    if (!(st->policy_name = strdup(b->policy)))
        return nf_errf(err, -ENOMEM, "out of memory");
    size_t nn = json_object_size(b->machine);
    if (nn && !(st->nodes = calloc(nn, sizeof(*st->nodes))))
        return nf_errf(err, -ENOMEM, "out of memory");
    const char *k, *c;
    json_t *v, *cv;
    json_object_foreach(b->machine, k, v)
    {
        nf_memory_numa_state *ns = &st->nodes[st->n_nodes++];
        ns->id = atoi(k);
        if (json_is_null(v))
            continue;
        const json_t *na = nf__kubelet_json_field(v, "numberOfAssignments");
        ns->number_of_assignments = json_is_integer(na) ? json_integer_value(na) : 0;
        if ((rc = int_list(nf__kubelet_json_field(v, "cells"), what, "cells", &ns->cells,
                           &ns->n_cells, err)))
            return rc;
        json_t *mm = nf__kubelet_json_field(v, "memoryMap");
        size_t nt = json_object_size(mm);
        if (nt && !(ns->tables = calloc(nt, sizeof(*ns->tables))))
            return nf_errf(err, -ENOMEM, "out of memory");
        json_object_foreach(mm, c, cv)
        {
            nf_memory_table *t = &ns->tables[ns->n_tables];
            if (!(t->resource = strdup(c)))
                return nf_errf(err, -ENOMEM, "out of memory");
            ns->n_tables++;
            t->total = table_u(cv, "total");
            t->system_reserved = table_u(cv, "systemReserved");
            t->allocatable = table_u(cv, "allocatable");
            t->reserved = table_u(cv, "reserved");
            t->free = table_u(cv, "free");
            if (t->total < 0 || t->system_reserved < 0 || t->allocatable < 0 || t->reserved < 0 ||
                t->free < 0)
                return nf_errf(err, -ERANGE, "%s: machineState[%s].memoryMap[%.40s]: negative size",
                               what, k, c);
        }
    }
    if (st->n_nodes)
        qsort(st->nodes, st->n_nodes, sizeof(*st->nodes), cmp_node);
    for (size_t i = 1; i < st->n_nodes; i++)
        if (st->nodes[i].id == st->nodes[i - 1].id)
            return nf_errf(err, -EINVAL, "%s: machineState: NUMA node %d twice", what,
                           st->nodes[i].id);
    json_object_foreach(b->entries, k, v)
    {
        json_object_foreach(v, c, cv)
        {
            if ((rc = add_assign(st, k, c, cv, err)))
                return rc;
        }
    }
    json_object_foreach(b->pod_entries, k, v)
    {
        if ((rc = add_assign(st, k, NULL, nf__kubelet_json_field(v, "memoryBlocks"), err)))
            return rc;
    }
    if (st->n_assignments)
        qsort(st->assignments, st->n_assignments, sizeof(*st->assignments), cmp_assign);
    return 0;
}

/* nf__kubelet_json_checkpoint's reader of a memory_manager_state. */
typedef struct reading {
    body b;
    nf_memory_state st;
} reading;

static int r_read(void *ctx, const json_t *obj, const char *what, nf_err *err)
{
    return read_body(obj, what, &((reading *)ctx)->b, err);
}

static int r_verify(void *ctx, uint64_t stored, const char **type, uint32_t *first)
{
    return verify(&((reading *)ctx)->b, stored, type, first);
}

static int r_fill(void *ctx, bool enveloped, const char *what, nf_err *err)
{
    reading *r = ctx;
    int rc = fill(&r->st, &r->b, what, err);
    if (rc)
        return rc;
    r->st.version = enveloped ? 3 : json_object_size(r->b.pod_entries) ? 2 : 1;
    return 0;
}

int nf_memory_state_parse(const char *text, size_t len, const char *what, nf_memory_state *out,
                          nf_err *err)
{
    static const nf__kubelet_json_checkpoint_ops ops = {r_read, r_verify, r_fill};
    reading r = {0};
    int rc = nf__kubelet_json_checkpoint(text, len, what, &ops, &r, &r.st.checksum_verified,
                                         &r.st.checksum_type, err);
    if (rc) {
        nf_memory_state_free(&r.st);
        return rc;
    }
    *out = r.st;
    return 0;
}

static int parse_into(const char *text, size_t len, const char *what, void *out, nf_err *err)
{
    return nf_memory_state_parse(text, len, what, out, err);
}

int nf_memory_state_load(const char *path, nf_memory_state *out, nf_err *err)
{
    return nf__kubelet_json_load(path, parse_into, out, err);
}
