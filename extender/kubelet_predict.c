/* kubelet_predict.c - kubelet's Topology Manager choice for a bound pod (see kubelet_predict.h). */
#include "kubelet_predict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hint merging enumerates NUMA sets: kubelet itself refuses more than 8 NUMA nodes without
 * max-allowable-numa-nodes, and so do we (more: the narrowest single node, else all). */
#define MAX_MERGE_ZONES 8

typedef enum policy { P_NONE = 0, P_SINGLE, P_RESTRICTED, P_BEST_EFFORT } policy;

static policy policy_of(const nf_topology *t)
{
    const char *p = t->kubelet.topology_manager_policy;
    if (!p)
        return P_NONE;
    if (strcmp(p, "single-numa-node") == 0)
        return P_SINGLE;
    if (strcmp(p, "restricted") == 0)
        return P_RESTRICTED;
    if (strcmp(p, "best-effort") == 0)
        return P_BEST_EFFORT;
    return P_NONE;
}

/* Is `name` aligned by a hint provider for this pod (and so accounted per pod by kubelet)?
 * hugepages_all: numafit holds every pod's hugepages to the merged set as if the Memory Manager
 * hinted them (--align kubelet with --hugepages-alignment all). */
static bool provider(bool cpu_static, bool mm_static, bool hugepages_all, const nf_pod_req *pod,
                     const char *name)
{
    if (strcmp(name, "cpu") == 0)
        return cpu_static;
    if (nf_resource_is_device(name))
        return true;
    if (hugepages_all && nf_resource_is_hugepages(name))
        return true;
    if (strcmp(name, "memory") == 0 || nf_resource_is_hugepages(name))
        return mm_static && pod->qos == NF_QOS_GUARANTEED;
    return false;
}

/* The prediction's working state: resources as columns, zones as rows. */
typedef struct state {
    const nf_fit_view *v;
    size_t nz, nr;
    const char **res; /* [nr] names (borrowed from the pod req) */
    int *group;       /* [nr] hint provider: 0 CPU manager, 1 Memory Manager, 2.. one per
                         device resource; -1 none (placed with the rest, not tracked) */
    int max_group;
    int64_t *have;  /* [nz * nr] available, mutated as units take */
    int64_t *alloc; /* [nz * nr] allocatable */
    int64_t *need;  /* [nr] the current unit's need */
    nf_kubelet_choice *out;
} state;

void nf_kubelet_choice_free(nf_kubelet_choice *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_placed; i++)
        free(c->placed[i].resource);
    free(c->placed);
    c->placed = NULL;
    c->n_placed = 0;
}

static int place(state *s, int numa, size_t r, int64_t amount)
{
    nf_kubelet_choice *c = s->out;
    for (size_t i = 0; i < c->n_placed; i++) {
        if (c->placed[i].numa == numa && strcmp(c->placed[i].resource, s->res[r]) == 0) {
            c->placed[i].amount += amount;
            return 0;
        }
    }
    nf_placed *np = realloc(c->placed, (c->n_placed + 1) * sizeof(*np));
    if (!np)
        return -ENOMEM;
    c->placed = np;
    char *name = strdup(s->res[r]);
    if (!name)
        return -ENOMEM;
    np[c->n_placed++] =
        (nf_placed){.numa = numa, .resource = name, .amount = amount, .tracked = s->group[r] >= 0};
    return 0;
}

/* Does NUMA set `mask` (bits = zone indexes) hold the needs of the resources of provider group
 * g (every resource when g < 0), from `m` (have or alloc)? */
static bool mask_fits(const state *s, unsigned mask, const int64_t *m, int g)
{
    for (size_t r = 0; r < s->nr; r++) {
        if (s->need[r] <= 0 || (g >= 0 && s->group[r] != g))
            continue;
        int64_t sum = 0;
        for (size_t z = 0; z < s->nz; z++)
            if (mask & (1u << z))
                sum += m[z * s->nr + r];
        if (sum < s->need[r])
            return false;
    }
    return true;
}

/* kubelet's bitmask order: fewer NUMA nodes first, then the lower number (IsNarrowerThan). */
static bool narrower(unsigned a, unsigned b)
{
    int ca = __builtin_popcount(a), cb = __builtin_popcount(b);
    return ca != cb ? ca < cb : a < b;
}

/* The Topology Manager's merge over the providers' hints (restricted, best-effort): each
 * provider group hints every NUMA set with room for its request, preferred when no smaller set
 * of an empty node would do; the merged hint of one hint per provider is their intersection,
 * preferred when all are. Kept per merged set: whether some combination makes it preferred
 * (the only thing that later merges and the final choice look at). Returns the best merged set
 * (preferred first, then narrowest), 0 when none, with *preferred. */
static unsigned merge_hints(const state *s, bool *preferred)
{
    size_t nz = s->nz, nm = (size_t)1 << (nz < MAX_MERGE_ZONES ? nz : MAX_MERGE_ZONES);
    unsigned all = (unsigned)(nm - 1);
    signed char *st = malloc(nm), *next = malloc(nm); /* -1 absent, 0 reachable, 1 preferred */
    unsigned best = 0;
    *preferred = false;
    if (nz > MAX_MERGE_ZONES) {
        free(st);
        free(next);
        for (size_t z = 0; z < nz; z++) {
            if (mask_fits(s, 1u << z, s->have, -1)) {
                *preferred = true;
                return 1u << z;
            }
        }
        return (1u << nz) - 1;
    }
    if (!st || !next)
        goto out;
    memset(st, -1, nm);
    st[all] = 1;
    for (int g = 0; g <= s->max_group; g++) {
        bool used = false;
        for (size_t r = 0; r < s->nr; r++)
            used |= s->group[r] == g && s->need[r] > 0;
        if (!used)
            continue; /* no request: a "don't care" hint */
        int min = (int)nz + 1;
        for (unsigned m = 1; m <= all; m++)
            if (__builtin_popcount(m) < min && mask_fits(s, m, s->alloc, g))
                min = __builtin_popcount(m);
        memset(next, -1, nm);
        bool any_hint = false;
        for (unsigned h = 1; h <= all; h++) {
            if (!mask_fits(s, h, s->have, g))
                continue;
            any_hint = true;
            signed char hp = __builtin_popcount(h) == min;
            for (unsigned m = 1; m <= all; m++) {
                unsigned r = m & h;
                if (st[m] < 0 || !r)
                    continue;
                signed char p = st[m] && hp;
                if (p > next[r])
                    next[r] = p;
            }
        }
        if (!any_hint) /* no room anywhere: one non-preferred "any NUMA" hint */
            for (unsigned m = 1; m <= all; m++)
                next[m] = st[m] < 0 ? -1 : 0;
        signed char *t = st;
        st = next;
        next = t;
    }
    for (unsigned m = 1; m <= all; m++) {
        if (st[m] < 0)
            continue;
        bool p = st[m] == 1;
        if (!best || (p && !*preferred) || (p == *preferred && narrower(m, best))) {
            best = m;
            *preferred = p;
        }
    }
out:
    free(st);
    free(next);
    return best;
}

static void need_text(const state *s, bool providers_only, char *buf, size_t len)
{
    nf_amount a[32];
    size_t n = 0;
    for (size_t r = 0; r < s->nr && n < 32; r++)
        if (s->need[r] > 0 && (!providers_only || s->group[r] >= 0))
            a[n++] = (nf_amount){.name = (char *)s->res[r], .value = s->need[r]};
    nf_amounts_format(a, n, buf, len);
}

/* Take resource r's need: from the NUMA nodes of mask first (ascending), then, as kubelet's
 * managers do when the aligned nodes run short, from the others. */
static int take(state *s, unsigned mask, size_t r)
{
    int64_t left = s->need[r];
    for (int pass = 0; pass < 2 && left > 0; pass++) {
        for (size_t z = 0; z < s->nz && left > 0; z++) {
            bool in = (mask >> z) & 1u;
            if (in != (pass == 0))
                continue;
            int64_t *h = &s->have[z * s->nr + r];
            int64_t got = *h < left ? (*h > 0 ? *h : 0) : left;
            if (got > 0) {
                *h -= got;
                left -= got;
                if (place(s, nf__fit_view_zone_id(s->v, z), r, got))
                    return -ENOMEM;
            }
        }
    }
    if (left > 0) { /* more than is free anywhere: noted where the pod is aligned */
        size_t first = (size_t)__builtin_ctz(mask);
        s->have[first * s->nr + r] -= left;
        if (place(s, nf__fit_view_zone_id(s->v, first), r, left))
            return -ENOMEM;
    }
    return 0;
}

/* Place one unit (the pod, or one container). Returns 0, -ENOMEM, or 1 when kubelet rejects. */
static int place_unit(state *s, policy pol, bool transient, int *unit_numa)
{
    size_t nz = s->nz;
    unsigned all = (1u << nz) - 1, mask = 0;
    bool any_prov = false;
    for (size_t r = 0; r < s->nr; r++)
        any_prov |= s->need[r] > 0 && s->group[r] >= 0;
    *unit_numa = -1;
    char need[256];
    if (!any_prov || pol == P_NONE) {
        /* no hint (nothing aligned, or no Topology Manager): lowest NUMA node with room, else
         * wherever there is some */
        for (size_t z = 0; z < nz && !mask; z++)
            if (mask_fits(s, 1u << z, s->have, -1))
                mask = 1u << z;
        if (!mask)
            mask = all;
    } else if (pol == P_SINGLE) {
        /* only single-NUMA preferred hints survive: the lowest NUMA node every provider fits */
        for (size_t z = 0; z < nz && !mask; z++) {
            bool ok = true;
            for (int g = 0; g <= s->max_group && ok; g++)
                ok = mask_fits(s, 1u << z, s->have, g);
            if (ok)
                mask = 1u << z;
        }
        if (!mask) {
            need_text(s, true, need, sizeof(need));
            snprintf(s->out->reason, sizeof(s->out->reason),
                     "kubelet would reject it (TopologyAffinityError, single-numa-node): no NUMA "
                     "node has %s free",
                     need);
            return 1;
        }
    } else {
        bool preferred;
        mask = merge_hints(s, &preferred);
        if (pol == P_RESTRICTED && (!mask || !preferred)) {
            need_text(s, true, need, sizeof(need));
            snprintf(s->out->reason, sizeof(s->out->reason),
                     "kubelet would reject it (TopologyAffinityError, restricted): no preferred "
                     "NUMA set has %s free",
                     need);
            return 1;
        }
        if (!mask)
            mask = all; /* best-effort admits anyway */
    }
    if (__builtin_popcount(mask) == 1)
        *unit_numa = nf__fit_view_zone_id(s->v, (size_t)__builtin_ctz(mask));
    if (transient)
        return 0; /* a regular init container's resources are handed on: nothing stays taken */
    for (size_t r = 0; r < s->nr; r++)
        if (s->need[r] > 0 && take(s, mask, r))
            return -ENOMEM;
    return 0;
}

static void load_need(state *s, const nf_amount *a, size_t n)
{
    for (size_t r = 0; r < s->nr; r++)
        s->need[r] = nf_amount_get(a, n, s->res[r]);
}

int nf_kubelet_predict(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *numa_view,
                       nf_kubelet_choice *out)
{
    return nf_kubelet_predict_opts(pod, t, numa_view, NULL, out);
}

int nf_kubelet_predict_opts(const nf_pod_req *pod, const nf_topology *t,
                            const nf_fit_view *numa_view, const nf_fit_opts *o,
                            nf_kubelet_choice *out)
{
    bool hugepages_all = o && o->hugepages == NF_HUGEPAGES_ALL;
    memset(out, 0, sizeof(*out));
    out->numa = -1;
    if (nf_fit_view_align(numa_view) != NF_ALIGN_NUMA)
        return -EINVAL;
    bool cpu_static, mm_static, scope_pod;
    nf__fit_view_policy(numa_view, &cpu_static, &mm_static, &scope_pod);
    state s = {.v = numa_view, .nz = nf_fit_view_zones(numa_view), .max_group = 1, .out = out};
    if (s.nz > 31)
        s.nz = 31; /* NUMA sets are 32-bit masks */
    size_t cap = pod->n_effective + 1;
    s.res = calloc(cap, sizeof(*s.res));
    s.group = calloc(cap, sizeof(*s.group));
    s.need = calloc(cap, sizeof(*s.need));
    s.have = calloc((s.nz + 1) * cap, sizeof(*s.have));
    s.alloc = calloc((s.nz + 1) * cap, sizeof(*s.alloc));
    int rc = 0;
    if (!s.res || !s.group || !s.need || !s.have || !s.alloc) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < pod->n_effective; i++) {
        const char *name = pod->effective[i].name;
        if (pod->effective[i].value <= 0 || !nf__fit_view_checks(numa_view, name) ||
            (o && !nf__fit_pod_checks(pod, o, name)))
            continue;
        if (strcmp(name, "cpu") == 0 && !cpu_static)
            continue; /* never pinned: nothing to place */
        int g = -1;
        if (provider(cpu_static, mm_static, hugepages_all, pod, name))
            g = strcmp(name, "cpu") == 0 ? 0 : nf_resource_is_device(name) ? ++s.max_group : 1;
        s.group[s.nr] = g;
        s.res[s.nr++] = name;
    }
    for (size_t z = 0; z < s.nz; z++)
        for (size_t r = 0; r < s.nr; r++) {
            int col = nf__fit_view_col(numa_view, s.res[r]);
            s.have[z * s.nr + r] = nf__fit_view_get(numa_view, z, col, 0);
            s.alloc[z * s.nr + r] = nf__fit_view_get(numa_view, z, col, 1);
        }
    out->admit = true;
    if (s.nr == 0)
        goto done; /* nothing aligned: kubelet admits, nothing to place */
    if (s.nz == 0) {
        out->admit = false;
        snprintf(out->reason, sizeof(out->reason), "the node's topology lists no NUMA node");
        goto done;
    }
    policy pol = policy_of(t);
    bool one = true;
    size_t units = scope_pod ? 1 : pod->n_containers;
    for (size_t u = 0; u < units && out->admit; u++) {
        bool transient = false;
        if (scope_pod) {
            load_need(&s, pod->effective, pod->n_effective);
        } else {
            load_need(&s, pod->containers[u].amounts, pod->containers[u].n_amounts);
            transient = pod->containers[u].kind == NF_CONTAINER_INIT;
        }
        bool any = false;
        for (size_t r = 0; r < s.nr; r++)
            any |= s.need[r] > 0;
        if (!any)
            continue;
        int numa;
        rc = place_unit(&s, pol, transient, &numa);
        if (rc == 1) {
            out->admit = false;
            rc = 0;
        } else if (rc) {
            break;
        } else if (!transient) {
            if (numa < 0 || (out->numa >= 0 && out->numa != numa))
                one = false;
            else
                out->numa = numa;
        }
    }
    if (!one)
        out->numa = -1;
done:
    free(s.res);
    free(s.group);
    free(s.need);
    free(s.have);
    free(s.alloc);
    if (rc || !out->admit) {
        nf_kubelet_choice_free(out);
        out->numa = -1;
    }
    return rc;
}

int nf_kubelet_placed_on(const nf_pod_req *pod, const nf_fit_view *numa_view, int numa,
                         nf_kubelet_choice *out)
{
    memset(out, 0, sizeof(*out));
    out->admit = true;
    out->numa = numa;
    bool cpu_static, mm_static, scope_pod;
    nf__fit_view_policy(numa_view, &cpu_static, &mm_static, &scope_pod);
    for (size_t i = 0; i < pod->n_effective; i++) {
        const char *name = pod->effective[i].name;
        if (pod->effective[i].value <= 0 || !nf__fit_view_checks(numa_view, name) ||
            (strcmp(name, "cpu") == 0 && !cpu_static))
            continue;
        nf_placed *np = realloc(out->placed, (out->n_placed + 1) * sizeof(*np));
        char *r = strdup(name);
        if (np)
            out->placed = np;
        if (!np || !r) {
            free(r);
            nf_kubelet_choice_free(out);
            return -ENOMEM;
        }
        np[out->n_placed++] =
            (nf_placed){.numa = numa,
                        .resource = r,
                        .amount = pod->effective[i].value,
                        .tracked = provider(cpu_static, mm_static, false, pod, name)};
    }
    return 0;
}
