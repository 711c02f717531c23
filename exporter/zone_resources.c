/* zone_resources.c - derive per-NUMA resources from raw facts (see zone_resources.h). */
#include "zone_resources.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int64_t assigned(const nf_numa_node *n, const char *name)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n->n_pods; i++)
        sum += nf_amount_get(n->pods[i].amounts, n->pods[i].n_amounts, name);
    return sum;
}

static int64_t clamp0(int64_t v)
{
    return v < 0 ? 0 : v;
}

/* why: NULL when every number is known; otherwise alloc_unknown says whether allocatable (and
 * so available) or only available is unknown, and why is published beside them. */
static int set_u(nf_numa_node *n, const char *name, int64_t cap, int64_t alloc, int64_t avail,
                 const char *why, bool alloc_unknown)
{
    nf_resource *r = nf_numa_resource_add(n, name);
    if (!r)
        return -ENOMEM;
    r->capacity = clamp0(cap);
    r->allocatable = clamp0(alloc);
    r->available = clamp0(avail < r->allocatable ? avail : r->allocatable);
    if (why) {
        if (alloc_unknown)
            r->allocatable = NF_UNKNOWN;
        r->available = NF_UNKNOWN;
    }
    return nf_strset(&r->error, why);
}

static int set(nf_numa_node *n, const char *name, int64_t cap, int64_t alloc, int64_t avail)
{
    return set_u(n, name, cap, alloc, avail, NULL, false);
}

static const nf_kubelet_unknown known;

/* Does every thread of core lie in set? */
static bool core_within(const nf_cpuset *core, const nf_cpuset *set)
{
    for (int cpu = nf_cpuset_next(core, 0); cpu >= 0; cpu = nf_cpuset_next(core, (unsigned)cpu + 1))
        if (!nf_cpuset_test(set, (unsigned)cpu))
            return false;
    return true;
}

/* tpc: the machine's threads per core (kubelet's CPUsPerCore). A core lists only its online
 * threads, so one with fewer than tpc has an offline sibling: kubelet's full-pcpus-only never
 * hands it out as a whole core. */
static int compute_cpus(nf_numa_node *n, bool exclusive, int tpc, const nf_kubelet_unknown *u)
{
    nf_zone_cpus *c = &n->cpus;
    int rc = nf_cpuset_andnot(&c->allocatable, &c->online, &c->reserved);
    if (!rc)
        rc = nf_cpuset_andnot(&c->free, &c->allocatable, &c->allocated);
    if (rc)
        return rc;
    /* without core topology, whole cores cannot be told: unknown, not 0 */
    c->free_full_cores = c->n_cores || nf_cpuset_empty(&c->online) ? 0 : NF_UNKNOWN;
    c->allocatable_full_cores = c->free_full_cores;
    for (size_t i = 0; i < c->n_cores; i++) {
        const nf_cpuset *core = &c->cores[i];
        if (nf_cpuset_empty(core) || (int)nf_cpuset_count(core) < tpc)
            continue;
        c->allocatable_full_cores += core_within(core, &c->allocatable);
        c->free_full_cores += core_within(core, &c->free);
    }
    /* reserved or assigned CPUs unknown: so are free and the whole cores among them */
    const char *why = c->reserved_unknown ? u->reserved_cpus : NULL;
    if (!why && c->allocated_unknown)
        why = u->cpu_assigned;
    if (why || c->reserved_unknown || c->allocated_unknown)
        c->free_full_cores = NF_UNKNOWN;
    if (c->reserved_unknown)
        c->allocatable_full_cores = NF_UNKNOWN;
    if (nf_cpuset_empty(&c->online))
        return 0; /* memory-only node: no cpu resource at all */
    int64_t cap = (int64_t)nf_cpuset_count(&c->online);
    if (!exclusive)
        return set(n, "cpu", cap, 0, 0);
    if (!why && (c->reserved_unknown || c->allocated_unknown))
        why = "kubelet's CPU state is unknown";
    return set_u(n, "cpu", cap, (int64_t)nf_cpuset_count(&c->allocatable),
                 (int64_t)nf_cpuset_count(&c->free), why, c->reserved_unknown);
}

static int compute_memory(nf_numa_node *n, bool mm_static, const nf_kubelet_unknown *u)
{
    if (n->mem_total == NF_UNKNOWN)
        return 0;
    int64_t alloc =
        n->mem_total - nf_amount_get(n->kubelet_reserved, n->n_kubelet_reserved, "memory");
    int64_t avail;
    if (mm_static)
        avail = alloc - assigned(n, "memory");
    else if (n->mem_free != NF_UNKNOWN)
        avail = n->mem_free;
    else
        return 0;
    const char *why = u->reserved_memory ? u->reserved_memory
                      : mm_static        ? u->memory_assigned
                                         : NULL;
    return set_u(n, "memory", n->mem_total, alloc, avail, why, u->reserved_memory != NULL);
}

static int compute_hugepages(nf_numa_node *n, const nf_kubelet_unknown *u)
{
    for (size_t i = 0; i < n->n_hugepages; i++) {
        const nf_hugepages *h = &n->hugepages[i];
        if (h->total == NF_UNKNOWN || h->free == NF_UNKNOWN)
            continue;
        int64_t page = (int64_t)h->page_bytes, cap, free, alloc;
        if (__builtin_mul_overflow(h->total, page, &cap) ||
            __builtin_mul_overflow(h->free, page, &free))
            continue; /* absurd counters are reported by the reader, not published */
        alloc = cap - nf_amount_get(n->kubelet_reserved, n->n_kubelet_reserved, h->name);
        int64_t left = alloc - assigned(n, h->name);
        const char *why = u->reserved_memory ? u->reserved_memory : u->memory_assigned;
        int rc = set_u(n, h->name, cap, alloc, free < left ? free : left, why,
                       u->reserved_memory != NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int compute_devices(nf_numa_node *n, const nf_kubelet_unknown *u)
{
    for (size_t i = 0; i < n->n_devices; i++) {
        const nf_device_group *g = &n->devices[i];
        if (!g->resource)
            continue; /* no device plugin pool names these VFs: nothing a pod can request */
        nf_resource *r = nf_numa_resource(n, g->resource);
        if (!r && !(r = nf_numa_resource_add(n, g->resource)))
            return -ENOMEM;
        bool unknown = u->devices != NULL;
        for (size_t k = 0; k < g->n_vfs; k++) {
            r->capacity++;
            r->allocatable++;
            r->available += !g->vfs[k].allocated;
            unknown |= g->vfs[k].allocation_unknown;
        }
        if (unknown) { /* which VFs pods hold is not known */
            r->available = NF_UNKNOWN;
            int rc = nf_strset(&r->error, u->devices ? u->devices
                                                     : "kubelet's device allocations are unknown");
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void reset_resources(nf_numa_node *n)
{
    for (size_t i = 0; i < n->n_resources; i++) {
        nf_resource *r = &n->resources[i];
        r->capacity = r->allocatable = r->available = 0;
        r->usable = NF_UNKNOWN;
        free(r->error);
        r->error = NULL;
    }
}

int nf_zone_resources_compute(nf_topology *t)
{
    return nf_zone_resources_compute_known(t, NULL);
}

int nf_zone_resources_compute_known(nf_topology *t, const nf_kubelet_unknown *u)
{
    if (!u)
        u = &known;
    const char *cpu_policy = t->kubelet.cpu_manager_policy;
    const char *mm_policy = t->kubelet.memory_manager_policy;
    bool exclusive = !cpu_policy || strcasecmp(cpu_policy, "none") != 0;
    bool mm_static = mm_policy && strcasecmp(mm_policy, "Static") == 0;
    int tpc = 0; /* the machine's: a NUMA node whose every core lost a sibling still has 1 */
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        if (t->numa_nodes[i].cpus.threads_per_core > tpc)
            tpc = t->numa_nodes[i].cpus.threads_per_core;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        reset_resources(n);
        int rc = compute_cpus(n, exclusive, tpc, u);
        if (!rc)
            rc = compute_memory(n, mm_static, u);
        if (!rc)
            rc = compute_hugepages(n, u);
        if (!rc)
            rc = compute_devices(n, u);
        if (rc)
            return rc;
    }
    return 0;
}
