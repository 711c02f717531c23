/* kubelet_cpu_state.c - CPU Manager checkpoint reader (see kubelet_cpu_state.h). */
#include "kubelet_cpu_state.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_json.h"
#include "kubelet_spew.h"

/* The parts of the JSON body the checksum and the assignments are built from. */
typedef struct body {
    const char *policy;
    const char *defset;
    json_t *entries;     /* NULL when absent */
    json_t *pod_entries; /* NULL when absent */
    int layout;          /* 1: entries values are strings, 2: objects, 0: empty */
} body;

void nf_cpu_state_free(nf_cpu_state *s)
{
    free(s->policy_name);
    nf_cpuset_free(&s->default_cpus);
    for (size_t i = 0; i < s->n_assignments; i++) {
        free(s->assignments[i].pod_uid);
        free(s->assignments[i].pod_namespace);
        free(s->assignments[i].pod_name);
        free(s->assignments[i].container);
        nf_cpuset_free(&s->assignments[i].cpus);
    }
    free(s->assignments);
    free(s->checksum_type);
    memset(s, 0, sizeof(*s));
}

static int read_body(const json_t *root, const char *what, body *b, nf_err *err)
{
    int rc;
    memset(b, 0, sizeof(*b));
    if ((rc = nf__kubelet_json_string(root, "policyName", what, &b->policy, err)) ||
        (rc = nf__kubelet_json_string(root, "defaultCpuSet", what, &b->defset, err)) ||
        (rc = nf__kubelet_json_object(root, "entries", what, &b->entries, err)) ||
        (rc = nf__kubelet_json_object(root, "podEntries", what, &b->pod_entries, err)))
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(b->entries, k, v)
    {
        int l = json_is_string(v) ? 1 : json_is_object(v) ? 2 : -1;
        if (l < 0 || (b->layout && l != b->layout))
            return nf_errf(err, -EINVAL,
                           "%s: entries[%.80s]: expected a cpuset string (v1) or an object of "
                           "container -> cpuset (v2), consistently",
                           what, k);
        b->layout = l;
        if (l == 2) {
            const char *c;
            json_t *cv;
            json_object_foreach(v, c, cv)
            {
                if (!json_is_string(cv))
                    return nf_errf(err, -EINVAL, "%s: entries[%.80s][%.80s]: expected a string",
                                   what, k, c);
            }
        }
    }
    if (b->pod_entries && b->layout == 1)
        return nf_errf(err, -EINVAL, "%s: podEntries next to v1 entries", what);
    json_object_foreach(b->pod_entries, k, v)
    {
        const char *set;
        if (!json_is_object(v))
            return nf_errf(err, -EINVAL, "%s: podEntries[%.80s]: expected an object", what, k);
        if ((rc = nf__kubelet_json_string(v, "cpuSet", what, &set, err)))
            return rc;
    }
    return 0;
}

/* go-spew dump of the Go checkpoint struct; see FORMATS.md §1 for verified examples. */
static void dump(nf_spew *s, const body *b, const char *type, int layout, bool pod_field)
{
    nf_spew_reset(s);
    nf_spew_printf(s, "(*state.%s){PolicyName:(string)", type);
    nf_spew_put(s, b->policy);
    nf_spew_put(s, " DefaultCPUSet:(string)");
    nf_spew_put(s, b->defset);
    if (layout == 1) {
        nf_spew_put(s, " Entries:(map[string]string)");
        /* kubelet pre-creates Entries, so a missing one dumps as an empty map */
        if (b->entries)
            nf_spew_string_map(s, b->entries);
        else
            nf_spew_put(s, "map[]");
    } else {
        nf_spew_put(s, " Entries:(map[string]map[string]string)map[");
        const char **keys = NULL;
        long n = b->entries ? nf_spew_sorted_keys(b->entries, &keys) : 0;
        if (n < 0)
            s->oom = true;
        for (long i = 0; i < n; i++) {
            nf_spew_printf(s, "%s%s:", i ? " " : "", keys[i]);
            nf_spew_string_map(s, json_object_get(b->entries, keys[i]));
        }
        free(keys);
        nf_spew_put(s, "]");
    }
    if (pod_field) {
        nf_spew_put(s, " PodEntries:(state.PodCPUAssignments)map[");
        const char **keys = NULL;
        long n = b->pod_entries ? nf_spew_sorted_keys(b->pod_entries, &keys) : 0;
        if (n < 0)
            s->oom = true;
        for (long i = 0; i < n; i++) {
            const char *set = "";
            json_t *f = nf__kubelet_json_field(json_object_get(b->pod_entries, keys[i]), "cpuSet");
            if (json_is_string(f))
                set = json_string_value(f);
            nf_spew_printf(s, "%s%s:{CPUSet:(string)", i ? " " : "", keys[i]);
            nf_spew_put(s, set);
            nf_spew_put(s, "}");
        }
        free(keys);
        nf_spew_put(s, "]");
    }
    nf_spew_put(s, " Checksum:(checksum.Checksum)0}");
}

/* Try every known type-name variant; 1 = a match (its name in *type), 0 = none, <0 error. */
static int verify(const body *b, uint64_t stored, const char **type, int *matched_layout,
                  uint32_t *first)
{
    static const char *const v1_names[] = {"CPUManagerCheckpoint", "CPUManagerCheckpointV1"};
    static const char *const v2_names[] = {"CPUManagerCheckpoint", "CPUManagerCheckpointV2",
                                           "CPUManagerCheckpointV3"};
    nf_spew s = {0};
    int found = 0, rc = 0;
    bool have_first = false;
    bool has_pods = json_object_size(b->pod_entries) > 0;
    for (int layout = 2; layout >= 1 && !found; layout--) {
        if (b->layout && b->layout != layout)
            continue;
        const char *const *names = layout == 1 ? v1_names : v2_names;
        size_t nn = layout == 1 ? 2 : 3;
        for (size_t i = 0; i < nn && !found; i++) {
            for (int pf = 0; pf <= (layout == 2) && !found; pf++) {
                if (has_pods && !pf)
                    continue;
                uint32_t sum;
                dump(&s, b, names[i], layout, pf);
                if ((rc = nf_spew_sum(&s, &sum)))
                    goto out;
                if (!have_first) {
                    *first = sum;
                    have_first = true;
                }
                if (sum == stored) {
                    found = 1;
                    *type = names[i];
                    *matched_layout = layout;
                }
            }
        }
    }
out:
    nf_spew_free(&s);
    return rc ? rc : found;
}

static int cmp_assign(const void *pa, const void *pb)
{
    const nf_cpu_assignment *a = pa, *b = pb;
    int c = strcmp(a->pod_uid ? a->pod_uid : "", b->pod_uid ? b->pod_uid : "");
    if (c)
        return c;
    if (!a->container || !b->container)
        return !a->container - !b->container;
    return strcmp(a->container, b->container);
}

static int add_assign(nf_cpu_state *st, const char *pod, const char *container, const char *set,
                      const char *what, nf_err *err)
{
    nf_cpu_assignment *na =
        realloc(st->assignments, (st->n_assignments + 1) * sizeof(*st->assignments));
    if (!na)
        return nf_errf(err, -ENOMEM, "out of memory");
    st->assignments = na;
    nf_cpu_assignment *a = &na[st->n_assignments];
    memset(a, 0, sizeof(*a));
    nf_err e;
    int rc = nf_cpuset_parse(set, &a->cpus, &e);
    if (rc)
        return nf_errf(err, rc, "%s: cpuset of %s%s%s: %s", what, pod ? pod : "",
                       pod && container ? "/" : "", container ? container : "(pod)", e.msg);
    if ((pod && !(a->pod_uid = strdup(pod))) ||
        (container && !(a->container = strdup(container)))) {
        free(a->pod_uid);
        nf_cpuset_free(&a->cpus);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    st->n_assignments++;
    return 0;
}

static int fill(nf_cpu_state *st, const body *b, const char *what, nf_err *err)
{
    int rc;
    nf_err e;
    if (!(st->policy_name = strdup(b->policy)))
        return nf_errf(err, -ENOMEM, "out of memory");
    if ((rc = nf_cpuset_parse(b->defset, &st->default_cpus, &e)))
        return nf_errf(err, rc, "%s: defaultCpuSet: %s", what, e.msg);
    const char *k;
    json_t *v;
    json_object_foreach(b->entries, k, v)
    {
        if (json_is_string(v)) {
            if ((rc = add_assign(st, NULL, k, json_string_value(v), what, err)))
                return rc;
            continue;
        }
        const char *c;
        json_t *cv;
        json_object_foreach(v, c, cv)
        {
            if ((rc = add_assign(st, k, c, json_string_value(cv), what, err)))
                return rc;
        }
    }
    json_object_foreach(b->pod_entries, k, v)
    {
        const char *set;
        if ((rc = nf__kubelet_json_string(v, "cpuSet", what, &set, err)) ||
            (rc = add_assign(st, k, NULL, set, what, err)))
            return rc;
    }
    if (st->n_assignments)
        qsort(st->assignments, st->n_assignments, sizeof(*st->assignments), cmp_assign);
    return 0;
}

/* nf__kubelet_json_checkpoint's reader of a cpu_manager_state. */
typedef struct reading {
    body b;
    nf_cpu_state st;
    int matched; /* the layout whose legacy checksum matched, 0 when none */
} reading;

static int r_read(void *ctx, const json_t *obj, const char *what, nf_err *err)
{
    return read_body(obj, what, &((reading *)ctx)->b, err);
}

static int r_verify(void *ctx, uint64_t stored, const char **type, uint32_t *first)
{
    reading *r = ctx;
    return verify(&r->b, stored, type, &r->matched, first);
}

static int r_fill(void *ctx, bool enveloped, const char *what, nf_err *err)
{
    reading *r = ctx;
    int rc = fill(&r->st, &r->b, what, err);
    if (rc)
        return rc;
    int layout = r->b.layout ? r->b.layout : r->matched ? r->matched : 2;
    r->st.version = enveloped ? 4 : json_object_size(r->b.pod_entries) ? 3 : layout;
    return 0;
}

int nf_cpu_state_parse(const char *text, size_t len, const char *what, nf_cpu_state *out,
                       nf_err *err)
{
    static const nf__kubelet_json_checkpoint_ops ops = {r_read, r_verify, r_fill};
    reading r = {0};
    int rc = nf__kubelet_json_checkpoint(text, len, what, &ops, &r, &r.st.checksum_verified,
                                         &r.st.checksum_type, err);
    if (rc) {
        nf_cpu_state_free(&r.st);
        return rc;
    }
    *out = r.st;
    return 0;
}

static int parse_into(const char *text, size_t len, const char *what, void *out, nf_err *err)
{
    return nf_cpu_state_parse(text, len, what, out, err);
}

int nf_cpu_state_load(const char *path, nf_cpu_state *out, nf_err *err)
{
    return nf__kubelet_json_load(path, parse_into, out, err);
}

int nf_cpu_state_allocated(const nf_cpu_state *s, nf_cpuset *out)
{
    nf_cpuset_clear(out);
    for (size_t i = 0; i < s->n_assignments; i++) {
        int rc = nf_cpuset_or(out, out, &s->assignments[i].cpus);
        if (rc)
            return rc;
    }
    return 0;
}
