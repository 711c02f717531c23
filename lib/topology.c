/* topology.c - ownership and lookups of the NodeTopology model (see numafit/topology.h). */
#include "numafit/topology.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/hash.h"
#include "numafit/strlist.h"

int nf_strset(char **dst, const char *src)
{
    char *c = NULL;
    if (src && !(c = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

void nf_kv_free_array(nf_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void nf_amount_free_array(nf_amount *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].name);
    free(a);
}

int nf_amount_add(nf_amount **a, size_t *n, const char *name, int64_t value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*a)[i].name, name) == 0) {
            if (__builtin_add_overflow((*a)[i].value, value, &(*a)[i].value))
                return -ERANGE;
            return 0;
        }
    }
    nf_amount *na = realloc(*a, (*n + 1) * sizeof(*na));
    if (!na)
        return -ENOMEM;
    *a = na;
    if (!(na[*n].name = strdup(name)))
        return -ENOMEM;
    na[*n].value = value;
    (*n)++;
    return 0;
}

int64_t nf_amount_get(const nf_amount *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return a[i].value;
    return 0;
}

bool nf_resource_is_hugepages(const char *name)
{
    return strncmp(name, "hugepages-", 10) == 0 && name[10] != '\0';
}

bool nf_resource_is_bytes(const char *name)
{
    return strcmp(name, "memory") == 0 || nf_resource_is_hugepages(name);
}

bool nf_resource_is_device(const char *name)
{
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || slash[1] == '\0')
        return false;
    size_t dlen = (size_t)(slash - name);
    /* kubernetes.io and *.kubernetes.io are native resources, never device-plugin ones */
    static const char k8s[] = "kubernetes.io";
    size_t klen = sizeof(k8s) - 1;
    if (dlen == klen && strncmp(name, k8s, klen) == 0)
        return false;
    if (dlen > klen && strncmp(slash - klen, k8s, klen) == 0 && slash[-(long)klen - 1] == '.')
        return false;
    if (strncmp(name, "requests.", 9) == 0)
        return false;
    return true;
}

static int resource_rank(const char *name)
{
    if (strcmp(name, "cpu") == 0)
        return 0;
    if (strcmp(name, "memory") == 0)
        return 1;
    return nf_resource_is_hugepages(name) ? 2 : 3;
}

int nf_resource_name_cmp(const char *a, const char *b)
{
    int d = resource_rank(a) - resource_rank(b);
    return d ? d : strcmp(a, b);
}

int nf_amount_cmp(const void *a, const void *b)
{
    return nf_resource_name_cmp(((const nf_amount *)a)->name, ((const nf_amount *)b)->name);
}

const char *nf_kv_get(const nf_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

static void probe_free(nf_probe_result *p)
{
    free(p->status);
    free(p->pmd);
    free(p->mac);
    free(p->link);
}

void nf_pf_free(nf_pf *pf)
{
    free(pf->pci);
    free(pf->netdev);
    free(pf->vendor);
    free(pf->device);
    free(pf->driver);
    free(pf->error);
    memset(pf, 0, sizeof(*pf));
}

void nf_vf_free(nf_vf *vf)
{
    free(vf->pci);
    free(vf->vendor);
    free(vf->device);
    free(vf->driver);
    free(vf->pod_uid);
    free(vf->error);
    probe_free(&vf->probe);
    memset(vf, 0, sizeof(*vf));
}

void nf_device_group_free(nf_device_group *g)
{
    free(g->resource);
    nf_pf_free(&g->pf);
    for (size_t i = 0; i < g->n_vfs; i++)
        nf_vf_free(&g->vfs[i]);
    free(g->vfs);
    memset(g, 0, sizeof(*g));
}

static void device_groups_free(nf_device_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nf_device_group_free(&g[i]);
    free(g);
}

void nf_pod_usage_free(nf_pod_usage *p)
{
    free(p->pod_uid);
    free(p->pod_namespace);
    free(p->pod_name);
    nf_cpuset_free(&p->cpus);
    nf_amount_free_array(p->amounts, p->n_amounts);
    memset(p, 0, sizeof(*p));
}

void nf_numa_node_free(nf_numa_node *n)
{
    free(n->distances);
    nf_cpuset_free(&n->cpus.online);
    nf_cpuset_free(&n->cpus.reserved);
    nf_cpuset_free(&n->cpus.allocatable);
    nf_cpuset_free(&n->cpus.allocated);
    nf_cpuset_free(&n->cpus.free);
    for (size_t i = 0; i < n->cpus.n_cores; i++)
        nf_cpuset_free(&n->cpus.cores[i]);
    free(n->cpus.cores);
    nf_amount_free_array(n->kubelet_reserved, n->n_kubelet_reserved);
    free(n->mem_error);
    for (size_t i = 0; i < n->n_hugepages; i++) {
        free(n->hugepages[i].name);
        free(n->hugepages[i].error);
    }
    free(n->hugepages);
    device_groups_free(n->devices, n->n_devices);
    for (size_t i = 0; i < n->n_resources; i++) {
        free(n->resources[i].name);
        free(n->resources[i].error);
    }
    free(n->resources);
    for (size_t i = 0; i < n->n_pods; i++)
        nf_pod_usage_free(&n->pods[i]);
    free(n->pods);
    memset(n, 0, sizeof(*n));
}

void nf_kubelet_info_free(nf_kubelet_info *k)
{
    free(k->cpu_manager_policy);
    nf_kv_free_array(k->cpu_manager_policy_options, k->n_cpu_manager_policy_options);
    free(k->topology_manager_policy);
    free(k->topology_manager_scope);
    nf_kv_free_array(k->topology_manager_policy_options, k->n_topology_manager_policy_options);
    free(k->memory_manager_policy);
    free(k->reserved_cpus);
    free(k->reserved_cpus_source);
    free(k->state_cpu_manager);
    free(k->state_memory_manager);
    free(k->state_device_plugins);
    free(k->state_pod_resources);
    free(k->config_error);
    free(k->config_files);
    memset(k, 0, sizeof(*k));
}

void nf_topology_free(nf_topology *t)
{
    if (!t)
        return;
    free(t->node);
    nf_kubelet_info_free(&t->kubelet);
    for (size_t i = 0; i < t->n_sockets; i++)
        free(t->sockets[i].numa_nodes);
    free(t->sockets);
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        nf_numa_node_free(&t->numa_nodes[i]);
    free(t->numa_nodes);
    device_groups_free(t->unplaced_devices, t->n_unplaced_devices);
    for (size_t i = 0; i < t->n_errors; i++)
        free(t->errors[i]);
    free(t->errors);
    memset(t, 0, sizeof(*t));
}

nf_numa_node *nf_topology_numa(const nf_topology *t, int id)
{
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        if (t->numa_nodes[i].id == id)
            return &t->numa_nodes[i];
    return NULL;
}

nf_resource *nf_numa_resource(const nf_numa_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_resources; i++)
        if (strcmp(n->resources[i].name, name) == 0)
            return &n->resources[i];
    return NULL;
}

nf_resource *nf_numa_resource_add(nf_numa_node *n, const char *name)
{
    nf_resource *r = nf_numa_resource(n, name);
    if (r)
        return r;
    r = realloc(n->resources, (n->n_resources + 1) * sizeof(*r));
    if (!r)
        return NULL;
    n->resources = r;
    r = &n->resources[n->n_resources];
    memset(r, 0, sizeof(*r));
    r->usable = NF_UNKNOWN;
    if (!(r->name = strdup(name)))
        return NULL;
    n->n_resources++;
    return r;
}

int nf_topology_add_error(nf_topology *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nf_strlist_vaddf(&t->errors, &t->n_errors, fmt, ap);
    va_end(ap);
    return rc;
}

bool nf_pod_usage_is(const nf_pod_usage *p, const char *uid, const char *ns, const char *name)
{
    if (uid && p->pod_uid && strcmp(p->pod_uid, uid) == 0)
        return true;
    return ns && name && p->pod_namespace && p->pod_name && strcmp(p->pod_namespace, ns) == 0 &&
           strcmp(p->pod_name, name) == 0;
}

/* ---- the compact copy ----
 *
 * A document copied into one allocation (the extender's cache keeps thousands): every struct
 * array, cpuset word and string of the nf_topology, with repeated strings ("8086", "vfio-pci",
 * "ok", resource names...) stored once. That saves the per-allocation overhead of thousands of
 * small mallocs and keeps a node's data together for the fit loop. Pass 1 measures, pass 2
 * copies; a struct is first copied bitwise, then its pointers are redirected into the block.
 * A new pointer member of the model is copied here, next to its free above (the cache tests
 * compare the compact copy's JSON with the original's). */

typedef struct istr {
    uint64_t h;
    const char *src;
    char *dst;
} istr;

typedef struct arena {
    char *base; /* NULL while measuring */
    size_t off;
    istr *tab; /* string intern table, power-of-two size; NULL: no dedup */
    size_t tab_cap, tab_n;
} arena;

static void *ar_mem(arena *a, const void *src, size_t n, size_t align)
{
    a->off = (a->off + align - 1) & ~(align - 1);
    char *p = a->base ? a->base + a->off : NULL;
    if (p && n)
        memcpy(p, src, n);
    a->off += n;
    return n ? p : NULL;
}

/* a copy of n elements of array ptr (void *: assign it to the element type) */
#define AR_ARRAY(a, ptr, n) ar_mem((a), (ptr), (n) * sizeof(*(ptr)), _Alignof(__typeof__(*(ptr))))

static char *ar_str(arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    istr *hit = NULL;
    if (a->tab && a->tab_n * 2 < a->tab_cap) {
        uint64_t h = nf_hash_str(s);
        size_t i = (size_t)h & (a->tab_cap - 1);
        while (a->tab[i].src) {
            if (a->tab[i].h == h && strcmp(a->tab[i].src, s) == 0)
                return a->tab[i].dst;
            i = (i + 1) & (a->tab_cap - 1);
        }
        hit = &a->tab[i];
        hit->h = h;
        hit->src = s;
        a->tab_n++;
    }
    char *p = ar_mem(a, s, len + 1, 1);
    if (hit)
        hit->dst = p;
    return p;
}

/* dst may be NULL (measuring): every helper still walks to count. */
#define PUT(dst, field, val)                                                                       \
    do {                                                                                           \
        __typeof__((dst)->field) v_ = (val);                                                       \
        if (dst)                                                                                   \
            (dst)->field = v_;                                                                     \
    } while (0)

static void ar_cpuset(arena *a, nf_cpuset *dst, const nf_cpuset *src)
{
    PUT(dst, words, AR_ARRAY(a, src->words, src->nwords));
}

static void ar_kv(arena *a, nf_kv *dst, const nf_kv *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PUT(dst ? &dst[i] : NULL, key, ar_str(a, src[i].key));
        PUT(dst ? &dst[i] : NULL, value, ar_str(a, src[i].value));
    }
}

static nf_amount *ar_amounts(arena *a, const nf_amount *src, size_t n)
{
    nf_amount *d = AR_ARRAY(a, src, n);
    for (size_t i = 0; i < n; i++)
        PUT(d ? &d[i] : NULL, name, ar_str(a, src[i].name));
    return d;
}

static void ar_group(arena *a, nf_device_group *d, const nf_device_group *g)
{
    PUT(d, resource, ar_str(a, g->resource));
    PUT(d, pf.pci, ar_str(a, g->pf.pci));
    PUT(d, pf.netdev, ar_str(a, g->pf.netdev));
    PUT(d, pf.vendor, ar_str(a, g->pf.vendor));
    PUT(d, pf.device, ar_str(a, g->pf.device));
    PUT(d, pf.driver, ar_str(a, g->pf.driver));
    PUT(d, pf.error, ar_str(a, g->pf.error));
    nf_vf *vfs = AR_ARRAY(a, g->vfs, g->n_vfs);
    PUT(d, vfs, vfs);
    for (size_t i = 0; i < g->n_vfs; i++) {
        const nf_vf *s = &g->vfs[i];
        nf_vf *v = vfs ? &vfs[i] : NULL;
        PUT(v, pci, ar_str(a, s->pci));
        PUT(v, vendor, ar_str(a, s->vendor));
        PUT(v, device, ar_str(a, s->device));
        PUT(v, driver, ar_str(a, s->driver));
        PUT(v, pod_uid, ar_str(a, s->pod_uid));
        PUT(v, probe.status, ar_str(a, s->probe.status));
        PUT(v, probe.pmd, ar_str(a, s->probe.pmd));
        PUT(v, probe.mac, ar_str(a, s->probe.mac));
        PUT(v, probe.link, ar_str(a, s->probe.link));
        PUT(v, error, ar_str(a, s->error));
    }
}

static nf_device_group *ar_groups(arena *a, const nf_device_group *g, size_t n)
{
    nf_device_group *d = AR_ARRAY(a, g, n);
    for (size_t i = 0; i < n; i++)
        ar_group(a, d ? &d[i] : NULL, &g[i]);
    return d;
}

static void ar_numa(arena *a, nf_numa_node *d, const nf_numa_node *s)
{
    PUT(d, distances, AR_ARRAY(a, s->distances, s->n_distances));
    ar_cpuset(a, d ? &d->cpus.online : NULL, &s->cpus.online);
    ar_cpuset(a, d ? &d->cpus.reserved : NULL, &s->cpus.reserved);
    ar_cpuset(a, d ? &d->cpus.allocatable : NULL, &s->cpus.allocatable);
    ar_cpuset(a, d ? &d->cpus.allocated : NULL, &s->cpus.allocated);
    ar_cpuset(a, d ? &d->cpus.free : NULL, &s->cpus.free);
    nf_cpuset *cores = AR_ARRAY(a, s->cpus.cores, s->cpus.n_cores);
    PUT(d, cpus.cores, cores);
    for (size_t i = 0; i < s->cpus.n_cores; i++)
        ar_cpuset(a, cores ? &cores[i] : NULL, &s->cpus.cores[i]);
    PUT(d, mem_error, ar_str(a, s->mem_error));
    nf_hugepages *hp = AR_ARRAY(a, s->hugepages, s->n_hugepages);
    PUT(d, hugepages, hp);
    for (size_t i = 0; i < s->n_hugepages; i++) {
        PUT(hp ? &hp[i] : NULL, name, ar_str(a, s->hugepages[i].name));
        PUT(hp ? &hp[i] : NULL, error, ar_str(a, s->hugepages[i].error));
    }
    PUT(d, devices, ar_groups(a, s->devices, s->n_devices));
    nf_resource *res = AR_ARRAY(a, s->resources, s->n_resources);
    PUT(d, resources, res);
    for (size_t i = 0; i < s->n_resources; i++) {
        PUT(res ? &res[i] : NULL, name, ar_str(a, s->resources[i].name));
        PUT(res ? &res[i] : NULL, error, ar_str(a, s->resources[i].error));
    }
    nf_pod_usage *pods = AR_ARRAY(a, s->pods, s->n_pods);
    PUT(d, pods, pods);
    for (size_t i = 0; i < s->n_pods; i++) {
        nf_pod_usage *p = pods ? &pods[i] : NULL;
        PUT(p, pod_uid, ar_str(a, s->pods[i].pod_uid));
        PUT(p, pod_namespace, ar_str(a, s->pods[i].pod_namespace));
        PUT(p, pod_name, ar_str(a, s->pods[i].pod_name));
        ar_cpuset(a, p ? &p->cpus : NULL, &s->pods[i].cpus);
        PUT(p, amounts, ar_amounts(a, s->pods[i].amounts, s->pods[i].n_amounts));
    }
    PUT(d, kubelet_reserved, ar_amounts(a, s->kubelet_reserved, s->n_kubelet_reserved));
}

static void ar_topology(arena *a, nf_topology *d, const nf_topology *s)
{
    if (d)
        *d = *s;
    PUT(d, node, ar_str(a, s->node));
    const nf_kubelet_info *k = &s->kubelet;
    nf_kubelet_info *dk = d ? &d->kubelet : NULL;
    PUT(dk, cpu_manager_policy, ar_str(a, k->cpu_manager_policy));
    nf_kv *kv = AR_ARRAY(a, k->cpu_manager_policy_options, k->n_cpu_manager_policy_options);
    ar_kv(a, kv, k->cpu_manager_policy_options, k->n_cpu_manager_policy_options);
    PUT(dk, cpu_manager_policy_options, kv);
    PUT(dk, topology_manager_policy, ar_str(a, k->topology_manager_policy));
    PUT(dk, topology_manager_scope, ar_str(a, k->topology_manager_scope));
    kv = AR_ARRAY(a, k->topology_manager_policy_options, k->n_topology_manager_policy_options);
    ar_kv(a, kv, k->topology_manager_policy_options, k->n_topology_manager_policy_options);
    PUT(dk, topology_manager_policy_options, kv);
    PUT(dk, memory_manager_policy, ar_str(a, k->memory_manager_policy));
    PUT(dk, reserved_cpus, ar_str(a, k->reserved_cpus));
    PUT(dk, reserved_cpus_source, ar_str(a, k->reserved_cpus_source));
    PUT(dk, state_cpu_manager, ar_str(a, k->state_cpu_manager));
    PUT(dk, state_memory_manager, ar_str(a, k->state_memory_manager));
    PUT(dk, state_device_plugins, ar_str(a, k->state_device_plugins));
    PUT(dk, state_pod_resources, ar_str(a, k->state_pod_resources));
    PUT(dk, config_error, ar_str(a, k->config_error));
    PUT(dk, config_files, ar_str(a, k->config_files));
    nf_socket *so = AR_ARRAY(a, s->sockets, s->n_sockets);
    PUT(d, sockets, so);
    for (size_t i = 0; i < s->n_sockets; i++)
        PUT(so ? &so[i] : NULL, numa_nodes,
            AR_ARRAY(a, s->sockets[i].numa_nodes, s->sockets[i].n_numa_nodes));
    nf_numa_node *nn = AR_ARRAY(a, s->numa_nodes, s->n_numa_nodes);
    PUT(d, numa_nodes, nn);
    for (size_t i = 0; i < s->n_numa_nodes; i++)
        ar_numa(a, nn ? &nn[i] : NULL, &s->numa_nodes[i]);
    PUT(d, unplaced_devices, ar_groups(a, s->unplaced_devices, s->n_unplaced_devices));
    char **errs = AR_ARRAY(a, s->errors, s->n_errors);
    PUT(d, errors, errs);
    for (size_t i = 0; i < s->n_errors; i++) {
        char *e = ar_str(a, s->errors[i]);
        if (errs)
            errs[i] = e;
    }
}

void *nf_topology_compact(const nf_topology *t, size_t header, nf_topology *copy)
{
    istr local[512];
    arena a = {.base = NULL, .off = header, .tab = local, .tab_cap = 512};
    memset(local, 0, sizeof(local));
    ar_topology(&a, NULL, t);
    char *block = calloc(1, a.off);
    if (!block)
        return NULL;
    memset(local, 0, sizeof(local));
    a = (arena){.base = block, .off = header, .tab = local, .tab_cap = 512};
    ar_topology(&a, copy, t);
    return block;
}
