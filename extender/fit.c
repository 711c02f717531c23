/* fit.c - aligned fit of a pod on a node's zones, and counting (see fit.h). */
#include "fit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kubelet_predict.h"
#include "numafit/quantity.h"

const char *nf_align_name(nf_align a)
{
    return a == NF_ALIGN_SOCKET ? "socket" : a == NF_ALIGN_KUBELET ? "kubelet" : "numa";
}

int nf_align_parse(const char *s, nf_align *out)
{
    if (s && strcmp(s, "numa") == 0)
        *out = NF_ALIGN_NUMA;
    else if (s && strcmp(s, "socket") == 0)
        *out = NF_ALIGN_SOCKET;
    else if (s && strcmp(s, "kubelet") == 0)
        *out = NF_ALIGN_KUBELET;
    else
        return -EINVAL;
    return 0;
}

const char *nf_strategy_name(nf_strategy s)
{
    switch (s) {
    case NF_STRATEGY_LEAST_ALLOCATED:
        return "least-allocated";
    case NF_STRATEGY_BALANCED:
        return "balanced";
    default:
        return "most-allocated";
    }
}

int nf_strategy_parse(const char *s, nf_strategy *out)
{
    static const nf_strategy all[] = {NF_STRATEGY_MOST_ALLOCATED, NF_STRATEGY_LEAST_ALLOCATED,
                                      NF_STRATEGY_BALANCED};
    for (size_t i = 0; s && i < 3; i++) {
        if (strcmp(s, nf_strategy_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

const char *nf_hugepages_align_name(nf_hugepages_align h)
{
    return h == NF_HUGEPAGES_GUARANTEED ? "guaranteed" : "all";
}

int nf_hugepages_align_parse(const char *s, nf_hugepages_align *out)
{
    if (s && strcmp(s, "all") == 0)
        *out = NF_HUGEPAGES_ALL;
    else if (s && strcmp(s, "guaranteed") == 0)
        *out = NF_HUGEPAGES_GUARANTEED;
    else
        return -EINVAL;
    return 0;
}

const char *nf_fit_status_name(nf_fit_status s)
{
    switch (s) {
    case NF_FIT_OK:
        return "fits";
    case NF_FIT_FAILED:
        return "failed";
    default:
        return "unresolvable";
    }
}

/* ---- node policy ---- */

static bool full_pcpus_only(const nf_topology *t)
{
    const char *v = nf_kv_get(t->kubelet.cpu_manager_policy_options,
                              t->kubelet.n_cpu_manager_policy_options, "full-pcpus-only");
    return v && strcasecmp(v, "true") == 0;
}

static bool cpu_static(const nf_topology *t)
{
    return t->kubelet.cpu_manager_policy &&
           strcasecmp(t->kubelet.cpu_manager_policy, "static") == 0;
}

static bool mm_static(const nf_topology *t)
{
    return t->kubelet.memory_manager_policy &&
           strcasecmp(t->kubelet.memory_manager_policy, "Static") == 0;
}

/* --align kubelet judges the node as kubelet's Topology Manager would, unless its policy is
 * single-numa-node or unknown (then as --align numa). */
static bool kubelet_merges(const nf_topology *t)
{
    const char *p = t->kubelet.topology_manager_policy;
    return p && (strcmp(p, "restricted") == 0 || strcmp(p, "best-effort") == 0 ||
                 strcmp(p, "none") == 0);
}

static bool scope_pod(const nf_topology *t)
{
    return t->kubelet.topology_manager_scope &&
           strcasecmp(t->kubelet.topology_manager_scope, "pod") == 0;
}

bool nf__fit_checks(const nf_topology *t, const char *name)
{
    return strcmp(name, "memory") != 0 || mm_static(t);
}

bool nf__fit_pod_checks(const nf_pod_req *pod, const nf_fit_opts *o, const char *name)
{
    return o->hugepages != NF_HUGEPAGES_GUARANTEED || pod->qos == NF_QOS_GUARANTEED ||
           !nf_resource_is_hugepages(name);
}

/* Threads per core known for the whole node (the largest a NUMA node reports), else 0. */
static int node_threads_per_core(const nf_topology *t)
{
    int tpc = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        if (t->numa_nodes[i].cpus.threads_per_core > tpc)
            tpc = t->numa_nodes[i].cpus.threads_per_core;
    return tpc;
}

/* ---- zones ---- */

/* Add into a zone whose res array has room (nf_zones_build sizes it). */
static int zone_add(nf_zone *z, const char *name, int64_t alloc, int64_t avail, bool merge)
{
    if (alloc < 0)
        alloc = 0;
    if (avail < 0)
        avail = 0;
    for (size_t i = 0; merge && i < z->n_res; i++) {
        if (strcmp(z->res[i].name, name) == 0) {
            if (__builtin_add_overflow(z->res[i].allocatable, alloc, &z->res[i].allocatable) ||
                __builtin_add_overflow(z->res[i].available, avail, &z->res[i].available))
                return -ERANGE;
            return 0;
        }
    }
    z->res[z->n_res++] = (nf_zone_res){.name = name, .allocatable = alloc, .available = avail};
    return 0;
}

/* merge: the zone already holds another NUMA node's resources (socket zones); a NUMA node's own
 * resource names are unique. fpo_tpc: the node's threads per core under full-pcpus-only, else 0:
 * CPUs then count in whole cores, never more than the CPUs free (a document from an exporter
 * that counted cores with an offline sibling) and allocatable. */
static int zone_add_numa(nf_zone *z, const nf_numa_node *n, int fpo_tpc, bool merge)
{
    for (size_t i = 0; i < n->n_resources; i++) {
        const nf_resource *r = &n->resources[i];
        int64_t alloc = r->allocatable, avail = r->available;
        if (r->usable >= 0 && r->usable < avail && nf_resource_is_device(r->name))
            avail = r->usable;
        if (fpo_tpc > 0 && n->cpus.threads_per_core > 0 && strcmp(r->name, "cpu") == 0) {
            int64_t tpc = fpo_tpc;
            if (n->cpus.allocatable_full_cores >= 0 && n->cpus.allocatable_full_cores * tpc < alloc)
                alloc = n->cpus.allocatable_full_cores * tpc;
            if (n->cpus.free_full_cores >= 0 && n->cpus.free_full_cores * tpc < avail)
                avail = n->cpus.free_full_cores * tpc;
            if (avail > alloc)
                avail = alloc;
            alloc = alloc / tpc * tpc;
            avail = avail / tpc * tpc;
        }
        int rc = zone_add(z, r->name, alloc, avail, merge);
        if (rc)
            return rc;
    }
    return 0;
}

static int zone_id_cmp(const void *a, const void *b)
{
    const nf_zone *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* The zone id a NUMA node belongs to (-1: a socket nobody names). */
static int zone_of(const nf_topology *t, const nf_numa_node *nn, nf_align align)
{
    if (align != NF_ALIGN_SOCKET)
        return nn->id; /* numa, and kubelet: its zones are NUMA nodes too */
    for (size_t s = 0; s < t->n_sockets; s++)
        for (size_t k = 0; k < t->sockets[s].n_numa_nodes; k++)
            if (t->sockets[s].numa_nodes[k] == nn->id)
                return t->sockets[s].id;
    return nn->socket; /* sockets not published: the NUMA node's own field */
}

int nf_numa_zone_id(const nf_topology *t, const nf_numa_node *nn, nf_align align)
{
    return zone_of(t, nn, align);
}

/* One allocation: the zones, then every zone's res slice. nf_zones_free frees it. */
int nf_zones_build(const nf_topology *t, const nf_fit_opts *o, nf_zone **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int fpo_tpc = full_pcpus_only(t) ? node_threads_per_core(t) : 0;
    size_t nn = t->n_numa_nodes, total = 0;
    for (size_t i = 0; i < nn; i++)
        total += t->numa_nodes[i].n_resources;
    size_t zcap = nn ? nn : 1;
    nf_zone *z = calloc(1, zcap * sizeof(*z) + (total ? total : 1) * sizeof(nf_zone_res));
    int *zid = malloc(zcap * sizeof(int));
    if (!z || !zid) {
        free(z);
        free(zid);
        return -ENOMEM;
    }
    /* pass 1: zone ids and slice sizes */
    size_t nz = 0;
    for (size_t i = 0; i < nn; i++) {
        int id = zone_of(t, &t->numa_nodes[i], o->align);
        zid[i] = id;
        if (id < 0)
            continue; /* never guessed onto a socket */
        size_t j = 0;
        while (j < nz && z[j].id != id)
            j++;
        if (j == nz)
            z[nz++].id = id;
        z[j].n_res += t->numa_nodes[i].n_resources; /* capacity for now */
    }
    nf_zone_res *pool = (nf_zone_res *)(z + zcap);
    for (size_t j = 0; j < nz; j++) {
        z[j].res = pool;
        pool += z[j].n_res;
        z[j].n_res = 0;
    }
    /* pass 2: fill */
    int rc = 0;
    for (size_t i = 0; i < nn && !rc; i++) {
        if (zid[i] < 0)
            continue;
        size_t j = 0;
        while (z[j].id != zid[i])
            j++;
        rc = zone_add_numa(&z[j], &t->numa_nodes[i], fpo_tpc, z[j].n_res > 0);
    }
    free(zid);
    if (rc) {
        free(z);
        return rc;
    }
    bool sorted = true;
    for (size_t j = 1; j < nz; j++)
        if (z[j - 1].id > z[j].id)
            sorted = false;
    if (!sorted)
        qsort(z, nz, sizeof(*z), zone_id_cmp); /* slices move with their zone */
    *out = z;
    *n = nz;
    return 0;
}

void nf_zones_free(nf_zone *z, size_t n)
{
    (void)n;
    free(z);
}

int64_t nf_zone_get(const nf_zone *z, const char *name, int which)
{
    for (size_t i = 0; i < z->n_res; i++)
        if (strcmp(z->res[i].name, name) == 0)
            return which ? z->res[i].allocatable : z->res[i].available;
    return 0;
}

/* ---- the fit view: a node's zones as a dense matrix, built once per document ---- */

struct nf_fit_view {
    nf_align align;
    int build_rc; /* 0, or -ERANGE: amounts overflow when summed per zone (no zones then) */
    bool cpu_static, fpo, mm_static, scope_pod;
    bool has_unknown;   /* some resource's allocatable or available is unknown (null) */
    int tpc;            /* node_threads_per_core */
    size_t size;        /* of the one allocation (nf_fit_view_deduct copies it) */
    size_t n_zones;     /* ascending id */
    size_t n_names;     /* distinct resource names over all zones */
    int *zone_ids;      /* [n_zones] */
    const char **names; /* [n_names], copied into this block */
    int64_t *amt;       /* [n_zones][n_names][2]: available, allocatable (0 when absent) */
};

int nf_fit_view_new(const nf_topology *t, nf_align align, nf_fit_view **out)
{
    *out = NULL;
    nf_zone *zones = NULL;
    size_t nz = 0, nres = 0;
    int rc = nf_zones_build(t, &(nf_fit_opts){.align = align}, &zones, &nz);
    if (rc && rc != -ERANGE)
        return rc;
    for (size_t z = 0; z < nz; z++)
        nres += zones[z].n_res;
    /* distinct names first, so that the matrix is as small as it can be */
    const char *local[64], **tmp = nres <= 64 ? local : malloc(nres * sizeof(*tmp));
    size_t nn = 0;
    for (size_t z = 0; tmp && z < nz; z++)
        for (size_t i = 0; i < zones[z].n_res; i++) {
            size_t k = 0;
            while (k < nn && strcmp(tmp[k], zones[z].res[i].name) != 0)
                k++;
            if (k == nn)
                tmp[nn++] = zones[z].res[i].name;
        }
    /* one allocation: the struct, amounts (int64 first for alignment), names, ids, and the name
     * strings themselves (a fit then reads this block only, not the topology's scattered heap) */
    size_t chars = 0;
    for (size_t k = 0; tmp && k < nn; k++)
        chars += strlen(tmp[k]) + 1;
    size_t sz = sizeof(nf_fit_view) + nz * nn * 2 * sizeof(int64_t) + nn * sizeof(char *) +
                nz * sizeof(int) + chars;
    nf_fit_view *v = tmp ? calloc(1, sz) : NULL;
    if (!v) {
        if (tmp != local)
            free(tmp);
        nf_zones_free(zones, nz);
        return -ENOMEM;
    }
    v->size = sz;
    v->align = align == NF_ALIGN_KUBELET ? NF_ALIGN_NUMA : align; /* the same zones */
    v->build_rc = rc;
    v->cpu_static = cpu_static(t);
    v->fpo = full_pcpus_only(t);
    v->mm_static = mm_static(t);
    v->scope_pod = scope_pod(t);
    v->tpc = node_threads_per_core(t);
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        for (size_t r = 0; r < t->numa_nodes[i].n_resources; r++)
            v->has_unknown |= t->numa_nodes[i].resources[r].allocatable < 0 ||
                              t->numa_nodes[i].resources[r].available < 0;
    v->amt = (int64_t *)(v + 1);
    v->names = (const char **)(v->amt + nz * nn * 2);
    v->zone_ids = (int *)(v->names + nn);
    char *str = (char *)(v->zone_ids + nz);
    for (size_t k = 0; k < nn; k++) {
        size_t l = strlen(tmp[k]) + 1;
        v->names[k] = memcpy(str, tmp[k], l);
        str += l;
    }
    v->n_names = nn;
    if (tmp != local)
        free(tmp);
    v->n_zones = nz;
    for (size_t z = 0; z < nz; z++) {
        v->zone_ids[z] = zones[z].id;
        for (size_t i = 0; i < zones[z].n_res; i++) {
            size_t k = 0;
            while (strcmp(v->names[k], zones[z].res[i].name) != 0)
                k++;
            v->amt[(z * v->n_names + k) * 2] = zones[z].res[i].available;
            v->amt[(z * v->n_names + k) * 2 + 1] = zones[z].res[i].allocatable;
        }
    }
    nf_zones_free(zones, nz);
    *out = v;
    return 0;
}

void nf_fit_view_free(nf_fit_view *v)
{
    free(v);
}

int nf_fit_view_deduct(const nf_fit_view *base, const nf_topology *t, const nf_deduction *d,
                       size_t n, nf_fit_view **out)
{
    nf_fit_view *v = malloc(base->size);
    if (!v) {
        *out = NULL;
        return -ENOMEM;
    }
    memcpy(v, base, base->size);
    /* the copy's inner pointers still point into base: move them by the same offset */
    ptrdiff_t off = (char *)v - (const char *)base;
    v->amt = (int64_t *)((char *)base->amt + off);
    v->names = (const char **)((char *)base->names + off);
    v->zone_ids = (int *)((char *)base->zone_ids + off);
    for (size_t k = 0; k < v->n_names; k++)
        v->names[k] = base->names[k] + off;
    for (size_t i = 0; i < n; i++) {
        int zid = d[i].numa;
        if (v->align != NF_ALIGN_NUMA) {
            const nf_numa_node *nn = NULL;
            for (size_t k = 0; k < t->n_numa_nodes && !nn; k++)
                if (t->numa_nodes[k].id == d[i].numa)
                    nn = &t->numa_nodes[k];
            zid = nn ? nf_numa_zone_id(t, nn, v->align) : -1;
        }
        size_t zi = nf__fit_view_zone_index(v, zid);
        int col = nf__fit_view_col(v, d[i].resource);
        if (zi == SIZE_MAX || col < 0 || d[i].amount == 0)
            continue;
        int64_t *avail = &v->amt[(zi * v->n_names + (size_t)col) * 2];
        int64_t alloc = avail[1];
        if (d[i].amount > 0)
            *avail = *avail > d[i].amount ? *avail - d[i].amount : 0;
        else if (*avail < alloc) /* given back (an evicted pod's): never above allocatable */
            *avail = alloc - *avail > -d[i].amount ? *avail - d[i].amount : alloc;
    }
    *out = v;
    return 0;
}

void nf__fit_view_policy(const nf_fit_view *v, bool *cpu_static, bool *mm_static, bool *scope_pod)
{
    *cpu_static = v->cpu_static;
    *mm_static = v->mm_static;
    *scope_pod = v->scope_pod;
}

int nf__fit_view_zone_id(const nf_fit_view *v, size_t zi)
{
    return zi < v->n_zones ? v->zone_ids[zi] : -1;
}

nf_align nf_fit_view_align(const nf_fit_view *v)
{
    return v->align;
}

size_t nf_fit_view_zones(const nf_fit_view *v)
{
    return v->n_zones;
}

int nf__fit_view_col(const nf_fit_view *v, const char *name)
{
    for (size_t k = 0; k < v->n_names; k++)
        if (strcmp(v->names[k], name) == 0)
            return (int)k;
    return -1;
}

int64_t nf__fit_view_get(const nf_fit_view *v, size_t zi, int col, int which)
{
    return col < 0 ? 0 : v->amt[(zi * v->n_names + (size_t)col) * 2 + (which ? 1 : 0)];
}

size_t nf__fit_view_zone_index(const nf_fit_view *v, int id)
{
    for (size_t z = 0; z < v->n_zones; z++)
        if (v->zone_ids[z] == id)
            return z;
    return SIZE_MAX;
}

bool nf__fit_view_checks(const nf_fit_view *v, const char *name)
{
    return v->mm_static || strcmp(name, "memory") != 0;
}

/* ---- the search state: a dense matrix zones x resources ---- */

typedef struct item {
    size_t container; /* index into pod->containers, or SIZE_MAX for the pod as a whole */
    bool transient;   /* regular init container */
    int64_t *need;    /* [n_res] */
} item;

typedef struct search {
    const nf_pod_req *pod;
    const nf_fit_view *v;
    const int *zone_ids; /* [n_zones] */
    size_t n_zones;
    const char **res; /* resource names (borrowed from the pod req) */
    int *col;         /* [n_res] column in the view, -1 when the node lacks it */
    size_t n_res;
    item *items;
    size_t n_items;
    int64_t *have; /* [n_zones * n_res], mutated by the search */
    int *choice;   /* [n_items] zone index */
    long steps, budget;
    bool backtracked, gave_up;
    size_t fail_depth; /* deepest item that found no zone */
    bool have_fail;
    int64_t *fail_have; /* snapshot of `have` at fail_depth */
    void *block;        /* the one allocation behind res, items, needs, have, fail_have, choice
                           (NULL when it fits the caller's stack buffer) */
} search;

static bool fits_at(const search *s, size_t zi, const int64_t *need)
{
    const int64_t *h = s->have + zi * s->n_res;
    for (size_t r = 0; r < s->n_res; r++)
        if (need[r] > h[r])
            return false;
    return true;
}

static void take(search *s, size_t zi, const int64_t *need, int sign)
{
    int64_t *h = s->have + zi * s->n_res;
    for (size_t r = 0; r < s->n_res; r++)
        h[r] -= sign * need[r];
}

static void note_fail(search *s, size_t depth)
{
    if (!s->have_fail || depth > s->fail_depth) {
        s->have_fail = true;
        s->fail_depth = depth;
        memcpy(s->fail_have, s->have, s->n_zones * s->n_res * sizeof(int64_t));
    }
}

static bool same_need(const search *s, size_t a, size_t b)
{
    return memcmp(s->items[a].need, s->items[b].need, s->n_res * sizeof(int64_t)) == 0;
}

static bool dfs(search *s, size_t i)
{
    if (i == s->n_items)
        return true;
    if (++s->steps > s->budget) {
        s->gave_up = true;
        return false;
    }
    item *it = &s->items[i];
    if (it->transient) {
        for (size_t z = 0; z < s->n_zones; z++) {
            if (fits_at(s, z, it->need)) {
                s->choice[i] = (int)z;
                return dfs(s, i + 1);
            }
        }
        note_fail(s, i);
        return false;
    }
    size_t start = 0;
    /* identical held containers side by side: only non-decreasing zone choices (symmetry) */
    if (i > 0 && !s->items[i - 1].transient && same_need(s, i - 1, i))
        start = (size_t)s->choice[i - 1];
    bool any = false;
    for (size_t z = start; z < s->n_zones; z++) {
        if (!fits_at(s, z, it->need))
            continue;
        if (any)
            s->backtracked = true;
        any = true;
        take(s, z, it->need, 1);
        s->choice[i] = (int)z;
        if (dfs(s, i + 1))
            return true;
        take(s, z, it->need, -1);
        if (s->gave_up)
            return false;
    }
    if (!any)
        note_fail(s, i);
    return false;
}

static void search_free(search *s)
{
    free(s->block);
}

static int res_index(search *s, const char *name)
{
    for (size_t r = 0; r < s->n_res; r++)
        if (strcmp(s->res[r], name) == 0)
            return (int)r;
    return -1;
}

/* Build the items (pod scope: one; container scope: every container with a checked need). */
static int search_init(search *s, const nf_pod_req *pod, const nf_fit_view *v, const nf_fit_opts *o,
                       bool pod_scope, long budget, void *stack, size_t stack_len)
{
    memset(s, 0, sizeof(*s));
    s->pod = pod;
    s->v = v;
    s->zone_ids = v->zone_ids;
    s->n_zones = v->n_zones;
    s->budget = budget;
    size_t n_zones = v->n_zones;
    size_t cap = pod->n_effective + 1; /* columns: the effective request names a superset */
    size_t nit = pod->n_containers + 1, cells = (n_zones ? n_zones : 1) * cap;
    size_t sz = cap * sizeof(*s->res) + nit * sizeof(*s->items) +
                (nit * cap + 2 * cells) * sizeof(int64_t) + (nit + cap) * sizeof(int);
    char *blk = stack;
    if (sz <= stack_len) {
        memset(blk, 0, sz);
    } else {
        if (!(blk = calloc(1, sz)))
            return -ENOMEM;
        s->block = blk;
    }
    /* int64 arrays first for alignment, then pointers, then ints */
    int64_t *needs = (int64_t *)blk;
    s->have = needs + nit * cap;
    s->fail_have = s->have + cells;
    s->items = (item *)(s->fail_have + cells);
    s->res = (const char **)(s->items + nit);
    s->choice = (int *)(s->res + cap);
    s->col = s->choice + nit;
    /* resource columns: every checked name in the effective request (a superset of the
     * containers' names) */
    for (size_t i = 0; i < pod->n_effective; i++)
        if (pod->effective[i].value > 0 && nf__fit_view_checks(v, pod->effective[i].name) &&
            nf__fit_pod_checks(pod, o, pod->effective[i].name) &&
            res_index(s, pod->effective[i].name) < 0)
            s->res[s->n_res++] = pod->effective[i].name;
    for (size_t r = 0; r < s->n_res; r++)
        s->col[r] = nf__fit_view_col(v, s->res[r]);
    size_t nitems = pod_scope ? 1 : pod->n_containers;
    for (size_t k = 0; k < nitems; k++) {
        const nf_amount *a = pod_scope ? pod->effective : pod->containers[k].amounts;
        size_t na = pod_scope ? pod->n_effective : pod->containers[k].n_amounts;
        int64_t *need = needs + s->n_items * cap;
        bool anyneed = false;
        for (size_t j = 0; j < na; j++) {
            int r = res_index(s, a[j].name);
            if (r >= 0 && a[j].value > 0) {
                need[r] = a[j].value;
                anyneed = true;
            }
        }
        if (!anyneed) {
            memset(need, 0, cap * sizeof(*need));
            continue;
        }
        s->items[s->n_items++] = (item){
            .container = pod_scope ? SIZE_MAX : k,
            .transient = !pod_scope && pod->containers[k].kind == NF_CONTAINER_INIT,
            .need = need,
        };
    }
    return 0;
}

static void search_load(search *s, int which)
{
    for (size_t z = 0; z < s->n_zones; z++)
        for (size_t r = 0; r < s->n_res; r++)
            s->have[z * s->n_res + r] = nf__fit_view_get(s->v, z, s->col[r], which);
    s->steps = 0;
    s->backtracked = s->gave_up = s->have_fail = false;
    s->fail_depth = 0;
}

/* ---- reasons ---- */

static void fmt_amount(const char *name, int64_t v, char *buf, size_t len)
{
    if (nf_resource_is_bytes(name))
        nf_quantity_format_bytes(v, buf, len);
    else
        snprintf(buf, len, "%" PRId64, v);
}

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

const char *nf_fit_lack_name(nf_fit_lack l)
{
    static const char *const names[] = {"none",   "cpu",    "memory", "hugepages",
                                        "device", "policy", "other"};
    return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : "other";
}

static nf_fit_lack lack_of(const char *name)
{
    if (strcmp(name, "cpu") == 0)
        return NF_LACK_CPU;
    if (strcmp(name, "memory") == 0)
        return NF_LACK_MEMORY;
    return nf_resource_is_hugepages(name) ? NF_LACK_HUGEPAGES : NF_LACK_DEVICE;
}

/* append(buf, len, "%s%s...", a, b, ...) without the format machinery (reasons are formatted for
 * every failing node of a request): the strings up to NULL, truncated like snprintf. */
static void append_s(char *buf, size_t len, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, len);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t n = strlen(s);
        if (used + 1 >= len)
            break;
        if (n > len - 1 - used)
            n = len - 1 - used;
        memcpy(buf + used, s, n);
        used += n;
    }
    buf[used] = '\0';
    va_end(ap);
}

static const char *int_text(int64_t v, char *buf, size_t len)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    size_t i = 0;
    while (n && i + 1 < len)
        buf[i++] = tmp[--n];
    buf[i] = '\0';
    return buf;
}

/* Closest zone for `need` given have[] (smallest sum of missing/needed; ties to lower id), its
 * index (SIZE_MAX when there are no zones), and *lack: the class of the resource with the largest
 * missing/needed share there (ties: the lower nf_fit_lack). */
static size_t closest_zone(const search *s, const int64_t *have, const int64_t *need,
                           nf_fit_lack *lack)
{
    size_t best = SIZE_MAX;
    double best_short = 0;
    for (size_t z = 0; z < s->n_zones; z++) {
        double sh = 0;
        for (size_t r = 0; r < s->n_res; r++) {
            int64_t h = have[z * s->n_res + r];
            if (need[r] > h)
                sh += (double)(need[r] - (h > 0 ? h : 0)) / (double)need[r];
        }
        if (best == SIZE_MAX || sh < best_short) {
            best = z;
            best_short = sh;
        }
    }
    double worst = 0;
    for (size_t r = 0; best != SIZE_MAX && r < s->n_res; r++) {
        int64_t h = have[best * s->n_res + r];
        if (need[r] <= h)
            continue;
        double share = (double)(need[r] - (h > 0 ? h : 0)) / (double)need[r];
        nf_fit_lack l = lack_of(s->res[r]);
        if (share > worst || (share == worst && l < *lack)) {
            worst = share;
            *lack = l;
        }
    }
    return best;
}

/* "; closest numa1: cpu 6/8 free" for zone index best: every resource it lacks. */
static void append_closest(char *buf, size_t len, const search *s, size_t best, const int64_t *have,
                           const int64_t *need, const char *zkind, const char *word)
{
    char id[24];
    append_s(buf, len, "; closest ", zkind, int_text(s->zone_ids[best], id, sizeof(id)), ":",
             (char *)NULL);
    bool first = true;
    for (size_t r = 0; r < s->n_res; r++) {
        int64_t h = have[best * s->n_res + r];
        if (need[r] <= h)
            continue;
        char a[40], b[40];
        fmt_amount(s->res[r], h > 0 ? h : 0, a, sizeof(a));
        fmt_amount(s->res[r], need[r], b, sizeof(b));
        append_s(buf, len, first ? " " : ", ", s->res[r], " ", a, "/", b, " ", word, (char *)NULL);
        first = false;
    }
}

/* The last need text this thread formatted: in pod scope every failing node of a request needs
 * the same text. Keyed by content (names and amounts), so it never answers for another pod. */
typedef struct need_memo {
    size_t n;
    const char *name[8];
    int64_t value[8];
    char names[256];
    char text[200];
    bool valid;
} need_memo;
static _Thread_local need_memo last_need;

static void need_text(const search *s, const int64_t *need, char *buf, size_t len)
{
    need_memo *m = &last_need;
    size_t n = 0;
    bool hit = m->valid && len <= sizeof(m->text) && s->n_res <= 8;
    for (size_t r = 0; hit && r < s->n_res; r++) {
        if (need[r] <= 0)
            continue;
        if (n >= m->n || m->value[n] != need[r] || strcmp(m->name[n], s->res[r]) != 0)
            hit = false;
        n++;
    }
    if (hit && n == m->n) {
        memcpy(buf, m->text, len);
        buf[len - 1] = '\0';
        return;
    }
    m->valid = false;
    buf[0] = '\0';
    nf_amount tmp[64] = {{0}};
    n = 0;
    for (size_t r = 0; r < s->n_res && n < 64; r++)
        if (need[r] > 0)
            tmp[n++] = (nf_amount){.name = (char *)s->res[r], .value = need[r]};
    nf_amounts_format(tmp, n, buf, len);
    /* remember it, names copied (the pod they come from may be gone by the next call) */
    size_t used = 0;
    for (size_t i = 0; i < n && n <= 8; i++) {
        size_t l = strlen(tmp[i].name) + 1;
        if (used + l > sizeof(m->names))
            return;
        m->name[i] = memcpy(m->names + used, tmp[i].name, l);
        m->value[i] = tmp[i].value;
        used += l;
    }
    if (n > 8 || len > sizeof(m->text))
        return;
    memcpy(m->text, buf, len);
    m->n = n;
    m->valid = true;
}

static void container_label(const nf_pod_req *pod, const item *it, char *buf, size_t len)
{
    const nf_container_req *c = &pod->containers[it->container];
    snprintf(buf, len, "%s %s", c->kind == NF_CONTAINER_APP ? "container" : "init container",
             c->name && *c->name ? c->name : "(unnamed)");
}

static void build_reason(search *s, const nf_fit_opts *o, bool unresolvable, char *out, size_t len,
                         nf_fit_lack *lack)
{
    *lack = NF_LACK_OTHER;
    const char *zkind = o->align == NF_ALIGN_SOCKET ? "socket" : "numa";
    const char *zword = o->align == NF_ALIGN_SOCKET ? "socket" : "NUMA node";
    const item *it = &s->items[s->fail_depth < s->n_items ? s->fail_depth : 0];
    char need[200], label[120] = "";
    need_text(s, it->need, need, sizeof(need));
    size_t aligned_items = s->n_items;
    out[0] = '\0';
    append_s(out, len, unresolvable ? "even when empty, no " : "no ", zword,
             unresolvable ? " could hold " : " has ", need, unresolvable ? "" : " free",
             (char *)NULL);
    if (it->container != SIZE_MAX && aligned_items > 1) {
        container_label(s->pod, it, label, sizeof(label));
        append(out, len, " for %s beside the pod's other containers", label);
    }
    size_t best = closest_zone(s, s->fail_have, it->need, lack);
    if (o->detail && best != SIZE_MAX)
        append_closest(out, len, s, best, s->fail_have, it->need, zkind,
                       unresolvable ? "allocatable" : "free");
}

/* A pod that is not Guaranteed whose hugepages were held to the zone: kubelet would not hold
 * them there, so the reason says numafit does, and how to follow kubelet instead. */
static void note_hugepages(const search *s, const nf_fit_opts *o, char *out, size_t len)
{
    if (o->hugepages != NF_HUGEPAGES_ALL || s->pod->qos == NF_QOS_GUARANTEED)
        return;
    for (size_t r = 0; r < s->n_res; r++)
        if (nf_resource_is_hugepages(s->res[r])) {
            append_s(out, len, " (", nf_qos_name(s->pod->qos),
                     " pod: numafit aligns hugepages for all pods, kubelet only for Guaranteed "
                     "ones; --hugepages-alignment guaranteed follows kubelet)",
                     (char *)NULL);
            return;
        }
}

/* ---- fit ---- */

void nf_fit_result_free(nf_fit_result *r)
{
    if (!r)
        return;
    free(r->container_zones);
    r->container_zones = NULL;
    r->n_container_zones = 0;
}

static int policy_check(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                        char *reason, size_t len)
{
    int64_t cpus = nf_amount_get(pod->effective, pod->n_effective, "cpu");
    if (cpus <= 0)
        return 0;
    if (!v->cpu_static) {
        snprintf(reason, len,
                 "cpuManagerPolicy is %s: kubelet never pins exclusive CPUs here, the pod asks "
                 "cpu=%" PRId64 " exclusive",
                 t->kubelet.cpu_manager_policy ? t->kubelet.cpu_manager_policy : "unknown", cpus);
        return -1;
    }
    int tpc = v->tpc;
    if (v->fpo && tpc > 1) {
        for (size_t i = 0; i < pod->n_containers; i++) {
            const nf_container_req *c = &pod->containers[i];
            if (c->exclusive_cpus > 0 && c->exclusive_cpus % tpc != 0) {
                snprintf(reason, len,
                         "full-pcpus-only: container %s asks cpu=%" PRId64
                         ", not a multiple of %d threads per core (kubelet: SMTAlignmentError)",
                         c->name, c->exclusive_cpus, tpc);
                return -2;
            }
        }
    }
    return 0;
}

/* A copy of v with every zone empty (available = allocatable). 0 or -ENOMEM. */
static int view_emptied(const nf_fit_view *v, nf_fit_view **out)
{
    int rc = nf_fit_view_deduct(v, NULL, NULL, 0, out);
    for (size_t k = 0; !rc && k < v->n_zones * v->n_names; k++)
        (*out)->amt[k * 2] = (*out)->amt[k * 2 + 1];
    return rc;
}

/* --align kubelet on a node whose Topology Manager merges hints (restricted, best-effort, none):
 * kubelet's own admission (kubelet_predict.h) on v, and on the empty node when it rejects. */
static int fit_kubelet(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                       const nf_fit_opts *o, nf_fit_result *out)
{
    nf_kubelet_choice c;
    int rc = nf_kubelet_predict_opts(pod, t, v, o, &c);
    if (rc)
        return rc;
    if (c.admit) {
        for (size_t i = 0; i < c.n_placed; i++) {
            int id = c.placed[i].numa;
            if (c.placed[i].amount > 0 && id >= 0 && id < 32)
                out->numa_set |= 1u << id;
        }
        out->span = __builtin_popcount(out->numa_set);
        out->zone = out->numa_set ? __builtin_ctz(out->numa_set) : -1;
        out->aligned = out->numa_set != 0;
        nf_kubelet_choice_free(&c);
        return 0;
    }
    char why[NF_FIT_REASON_LEN];
    memcpy(why, c.reason, sizeof(why));
    nf_kubelet_choice_free(&c);
    nf_fit_view *empty;
    if ((rc = view_emptied(v, &empty)))
        return rc;
    rc = nf_kubelet_predict_opts(pod, t, empty, o, &c);
    nf_fit_view_free(empty);
    if (rc)
        return rc;
    out->status = c.admit ? NF_FIT_FAILED : NF_FIT_UNRESOLVABLE;
    out->lack = NF_LACK_POLICY;
    if (!o->no_reason)
        snprintf(out->reason, sizeof(out->reason), "%s%s", c.admit ? "" : "even when empty, ", why);
    nf_kubelet_choice_free(&c);
    return 0;
}

/* A resource the pod needs whose amount the node's exporter does not know (null: it lost one of
 * kubelet's files): the node cannot be judged, so it does not fit, and preempting pods there
 * would not help either. -1 with the reason, else 0. */
static int unknown_check(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                         char *reason, size_t len)
{
    for (size_t k = 0; k < pod->n_effective; k++) {
        const char *name = pod->effective[k].name;
        if (pod->effective[k].value <= 0 || !nf__fit_view_checks(v, name))
            continue;
        for (size_t i = 0; i < t->n_numa_nodes; i++) {
            const nf_resource *r = nf_numa_resource(&t->numa_nodes[i], name);
            if (r && (r->available < 0 || r->allocatable < 0)) {
                snprintf(reason, len, "%s %s on NUMA node %d is unknown to the node's exporter: %s",
                         name, r->allocatable < 0 ? "allocatable" : "available",
                         t->numa_nodes[i].id, r->error ? r->error : "no reason given");
                return -1;
            }
        }
    }
    return 0;
}

int nf_fit_node(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                nf_fit_result *out)
{
    if (!pod->aligned)
        return nf_fit_node_view(pod, t, NULL, o, out); /* needs no view */
    nf_fit_view *v;
    int rc = nf_fit_view_new(t, o->align, &v);
    if (rc) {
        memset(out, 0, sizeof(*out));
        out->zone = -1;
        return rc;
    }
    rc = nf_fit_node_view(pod, t, v, o, out);
    nf_fit_view_free(v);
    return rc;
}

int nf_fit_node_view(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                     const nf_fit_opts *o, nf_fit_result *out)
{
    memset(out, 0, sizeof(*out));
    out->zone = -1;
    out->status = NF_FIT_OK;
    if (!pod->aligned)
        return 0;
    out->aligned = true;
    if (v->has_unknown && unknown_check(pod, t, v, out->reason, sizeof(out->reason))) {
        out->status = NF_FIT_UNRESOLVABLE;
        out->lack = NF_LACK_OTHER;
        return 0;
    }
    if (policy_check(pod, t, v, out->reason, sizeof(out->reason))) {
        out->status = NF_FIT_UNRESOLVABLE;
        out->lack = NF_LACK_POLICY;
        return 0;
    }
    bool pod_scope = v->scope_pod;
    out->container_scope = !pod_scope;
    size_t nz = v->n_zones;
    int rc = v->build_rc;
    if (rc == -ERANGE) {
        out->status = NF_FIT_FAILED;
        out->lack = NF_LACK_OTHER;
        snprintf(out->reason, sizeof(out->reason),
                 "node topology amounts overflow when summed per %s", nf_align_name(o->align));
        return 0;
    }
    search s;
    _Alignas(max_align_t) char stack[2048];
    if ((rc = search_init(&s, pod, v, o, pod_scope,
                          o->max_steps > 0 ? o->max_steps : NF_FIT_DEFAULT_STEPS, stack,
                          sizeof(stack))))
        return rc;
    if (s.n_items == 0) {
        /* e.g. only memory, and this node's Memory Manager does not align it */
        out->aligned = false;
        goto done;
    }
    if (nz == 0) {
        out->status = NF_FIT_UNRESOLVABLE;
        out->lack = NF_LACK_OTHER;
        snprintf(out->reason, sizeof(out->reason), "node topology lists no %s",
                 o->align == NF_ALIGN_SOCKET ? "socket" : "NUMA node");
        goto done;
    }
    if (o->align == NF_ALIGN_KUBELET && kubelet_merges(t)) {
        rc = fit_kubelet(pod, t, v, o, out);
        goto done;
    }
    if (!pod_scope) {
        out->container_zones = malloc(pod->n_containers * sizeof(int));
        if (!out->container_zones) {
            rc = -ENOMEM;
            goto done;
        }
        out->n_container_zones = pod->n_containers;
        for (size_t i = 0; i < pod->n_containers; i++)
            out->container_zones[i] = -1;
    }
    search_load(&s, 0);
    bool ok = dfs(&s, 0);
    out->steps = s.steps;
    out->backtracked = s.backtracked;
    if (ok) {
        for (size_t i = 0; i < s.n_items; i++) {
            int zid = v->zone_ids[s.choice[i]];
            if (pod_scope) {
                out->zone = zid;
            } else {
                out->container_zones[s.items[i].container] = zid;
                if (out->zone < 0 && pod->containers[s.items[i].container].kind == NF_CONTAINER_APP)
                    out->zone = zid;
            }
        }
        if (out->zone < 0 && s.n_items)
            out->zone = v->zone_ids[s.choice[0]];
        goto done;
    }
    if (s.gave_up) {
        out->status = NF_FIT_FAILED;
        out->lack = NF_LACK_OTHER;
        snprintf(out->reason, sizeof(out->reason),
                 "placement search for %zu containers over %zu zones gave up after %ld steps",
                 s.n_items, nz, s.budget);
        goto done;
    }
    /* failed: would it fit on empty zones? */
    char now[NF_FIT_REASON_LEN];
    nf_fit_lack now_lack;
    now[0] = 0;
    now_lack = NF_LACK_OTHER;
    if (!o->no_reason) {
        build_reason(&s, o, false, now, sizeof(now), &now_lack);
        note_hugepages(&s, o, now, sizeof(now));
    }
    search_load(&s, 1);
    bool empty_ok = dfs(&s, 0);
    if (empty_ok || s.gave_up) {
        out->status = NF_FIT_FAILED;
        out->lack = now_lack;
        memcpy(out->reason, now, sizeof(now));
    } else {
        out->status = NF_FIT_UNRESOLVABLE;
        if (!o->no_reason) {
            build_reason(&s, o, true, out->reason, sizeof(out->reason), &out->lack);
            note_hugepages(&s, o, out->reason, sizeof(out->reason));
        } else
            out->lack = NF_LACK_OTHER;
    }
    if (out->container_zones)
        for (size_t i = 0; i < out->n_container_zones; i++)
            out->container_zones[i] = -1;
done:
    search_free(&s);
    if (rc)
        nf_fit_result_free(out);
    return rc;
}

/* ---- counting ---- */

void nf_node_count_free(nf_node_count *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_zones; i++) {
        nf_amount_free_array(c->zones[i].free, c->zones[i].n_free);
        nf_amount_free_array(c->zones[i].stranded, c->zones[i].n_stranded);
    }
    free(c->zones);
    nf_amount_free_array(c->free, c->n_free);
    nf_amount_free_array(c->stranded, c->n_stranded);
    memset(c, 0, sizeof(*c));
}

static int need_cmp(const void *a, const void *b)
{
    const nf_amount *x = *(const nf_amount *const *)a, *y = *(const nf_amount *const *)b;
    return nf_resource_name_cmp(x->name, y->name);
}

int nf_fit_count(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                 nf_node_count *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t nn = 0;
    const nf_amount **need = calloc(pod->n_effective + 1, sizeof(*need));
    if (!need)
        return nf_errf(err, -ENOMEM, "count: out of memory");
    for (size_t i = 0; i < pod->n_effective; i++)
        if (pod->effective[i].value > 0 && nf__fit_checks(t, pod->effective[i].name) &&
            nf__fit_pod_checks(pod, o, pod->effective[i].name))
            need[nn++] = &pod->effective[i];
    if (nn == 0) {
        free(need);
        return nf_errf(err, -EINVAL,
                       "the pod needs no aligned resource on node %s: any number would fit",
                       t->node ? t->node : "?");
    }
    qsort(need, nn, sizeof(*need), need_cmp);
    char why[NF_FIT_REASON_LEN];
    nf_fit_view flags = {
        .cpu_static = cpu_static(t), .fpo = full_pcpus_only(t), .tpc = node_threads_per_core(t)};
    int pol = policy_check(pod, t, &flags, why, sizeof(why));
    const char *policy_limit = pol == -1   ? "cpuManagerPolicy"
                               : pol == -2 ? "full-pcpus-only"
                                           : NULL;
    nf_zone *zones;
    size_t nz;
    int rc = nf_zones_build(t, o, &zones, &nz);
    if (rc) {
        free(need);
        return nf_errf(err, rc, "node %s: %s", t->node ? t->node : "?", nf_strerror(rc));
    }
    out->zones = calloc(nz ? nz : 1, sizeof(*out->zones));
    if (!out->zones)
        rc = -ENOMEM;
    for (size_t z = 0; z < nz && !rc; z++) {
        nf_zone_count *zc = &out->zones[out->n_zones++];
        zc->id = zones[z].id;
        int64_t fits = INT64_MAX;
        for (size_t k = 0; k < nn; k++) {
            int64_t f = nf_zone_get(&zones[z], need[k]->name, 0) / need[k]->value;
            if (f < fits) {
                fits = f;
                zc->limited_by = need[k]->name;
            }
        }
        if (policy_limit) {
            fits = 0;
            zc->limited_by = policy_limit;
        }
        zc->fits = fits;
        if (__builtin_add_overflow(out->fits, fits, &out->fits))
            out->fits = INT64_MAX; /* absurd amounts: saturate rather than wrap */
        for (size_t k = 0; k < nn && !rc; k++) {
            int64_t avail = nf_zone_get(&zones[z], need[k]->name, 0);
            int64_t left = avail - fits * need[k]->value;
            if ((rc = nf_amount_add(&zc->free, &zc->n_free, need[k]->name, avail)) ||
                (rc = nf_amount_add(&zc->stranded, &zc->n_stranded, need[k]->name, left)) ||
                (rc = nf_amount_add(&out->free, &out->n_free, need[k]->name, avail)) ||
                (rc = nf_amount_add(&out->stranded, &out->n_stranded, need[k]->name, left)))
                break;
        }
    }
    if (!rc && nz == 0) {
        for (size_t k = 0; k < nn && !rc; k++)
            if (!(rc = nf_amount_add(&out->free, &out->n_free, need[k]->name, 0)))
                rc = nf_amount_add(&out->stranded, &out->n_stranded, need[k]->name, 0);
    }
    nf_zones_free(zones, nz);
    free(need);
    if (rc) {
        nf_node_count_free(out);
        return nf_errf(err, rc, "count on node %s: %s", t->node ? t->node : "?", nf_strerror(rc));
    }
    return 0;
}
