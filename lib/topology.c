/* topology.c - ownership and lookups of the NodeTopology model (see numafit/topology.h). */
#include "numafit/topology.h"
#include "numafit/strlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int resource_rank(const char *name)
{
    if (strcmp(name, "cpu") == 0)
        return 0;
    if (strcmp(name, "memory") == 0)
        return 1;
    return strncmp(name, "hugepages-", 10) == 0 ? 2 : 3;
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

void nf_device_group_free(nf_device_group *g)
{
    free(g->resource);
    nf_pf_free(&g->pf);
    for (size_t i = 0; i < g->n_vfs; i++) {
        nf_vf *vf = &g->vfs[i];
        free(vf->pci);
        free(vf->vendor);
        free(vf->device);
        free(vf->driver);
        free(vf->pod_uid);
        free(vf->error);
        probe_free(&vf->probe);
    }
    free(g->vfs);
    memset(g, 0, sizeof(*g));
}

static void device_groups_free(nf_device_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nf_device_group_free(&g[i]);
    free(g);
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
    for (size_t i = 0; i < n->n_pods; i++) {
        free(n->pods[i].pod_uid);
        free(n->pods[i].pod_namespace);
        free(n->pods[i].pod_name);
        nf_cpuset_free(&n->pods[i].cpus);
        nf_amount_free_array(n->pods[i].amounts, n->pods[i].n_amounts);
    }
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
