/* exporter_metrics.c - numafit-exporter's GET /metrics (see exporter_metrics.h). */
#include "exporter_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/log.h"
#include "numafit/topology_json.h"

struct nf_exporter_metrics {
    pthread_mutex_t lock; /* doc, len */
    char *doc;            /* the last published document */
    size_t len;
    atomic_uint_fast64_t refreshes, refresh_errors;
    /* input problems of the last refresh (under lock): names are static strings */
    const char *input_names[8];
    bool input_bad[8];
    size_t n_inputs;
    nf_podres_disagreement disagree; /* under lock */
    nf_prom_hist refresh_duration;
};

int nf_exporter_metrics_new(nf_exporter_metrics **out)
{
    nf_exporter_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->refreshes, 0);
    atomic_init(&m->refresh_errors, 0);
    nf_prom_hist_init(&m->refresh_duration, nf_prom_latency_bounds, nf_prom_latency_n_bounds);
    *out = m;
    return 0;
}

void nf_exporter_metrics_free(nf_exporter_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->doc);
    free(m);
}

void nf_exporter_metrics_refresh(nf_exporter_metrics *m, uint64_t duration_ns, int rc,
                                 const char *doc, size_t len)
{
    if (!m)
        return;
    atomic_fetch_add(&m->refreshes, 1);
    nf_prom_hist_observe_ns(&m->refresh_duration, duration_ns);
    if (rc || !doc) {
        atomic_fetch_add(&m->refresh_errors, 1);
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy) { /* keep serving the previous document's numbers */
        atomic_fetch_add(&m->refresh_errors, 1);
        return;
    }
    memcpy(copy, doc, len);
    copy[len] = '\0';
    pthread_mutex_lock(&m->lock);
    char *old = m->doc;
    m->doc = copy;
    m->len = len;
    pthread_mutex_unlock(&m->lock);
    free(old);
}

void nf_exporter_metrics_podres(nf_exporter_metrics *m, const nf_podres_disagreement *d)
{
    pthread_mutex_lock(&m->lock);
    m->disagree = *d;
    pthread_mutex_unlock(&m->lock);
}

void nf_exporter_metrics_inputs(nf_exporter_metrics *m, const nf_kubelet_input *in, size_t n)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->n_inputs = n < 8 ? n : 8;
    for (size_t i = 0; i < m->n_inputs; i++) {
        m->input_names[i] = in[i].input;
        m->input_bad[i] = in[i].problem != NULL;
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---- per-document series ----------------------------------------------------------------- */

typedef char label[32];

static const char *numa_label(int id, label buf)
{
    if (id < 0)
        snprintf(buf, sizeof(label), "unknown");
    else
        snprintf(buf, sizeof(label), "%d", id);
    return buf;
}

static bool is_device(const char *name)
{
    return strcmp(name, "cpu") != 0 && strcmp(name, "memory") != 0 &&
           !nf_resource_is_hugepages(name);
}

enum field { F_CAPACITY, F_ALLOCATABLE, F_AVAILABLE, F_USABLE };

static int64_t field_of(const nf_resource *r, enum field f)
{
    switch (f) {
    case F_CAPACITY:
        return r->capacity;
    case F_ALLOCATABLE:
        return r->allocatable;
    case F_AVAILABLE:
        return r->available;
    case F_USABLE:
        return r->usable;
    }
    return NF_UNKNOWN;
}

/* One gauge over every NUMA node's resource(s) selected by `want` (cpu/memory: by name;
 * hugepages/devices: by class, with the extra label). */
typedef enum rclass { RC_CPU, RC_MEMORY, RC_HUGEPAGES, RC_DEVICES } rclass;

static bool in_class(const char *name, rclass c)
{
    switch (c) {
    case RC_CPU:
        return strcmp(name, "cpu") == 0;
    case RC_MEMORY:
        return strcmp(name, "memory") == 0;
    case RC_HUGEPAGES:
        return nf_resource_is_hugepages(name);
    case RC_DEVICES:
        return is_device(name);
    }
    return false;
}

static void resource_gauge(nf_prom *p, const nf_topology *t, rclass c, enum field f,
                           const char *name, const char *help)
{
    nf_prom_family_lazy(p, name, "gauge", help);
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *n = &t->numa_nodes[i];
        label id;
        numa_label(n->id, id);
        for (size_t r = 0; r < n->n_resources; r++) {
            const nf_resource *res = &n->resources[r];
            int64_t v = field_of(res, f);
            if (!in_class(res->name, c) || v < 0)
                continue;
            if (c == RC_HUGEPAGES)
                nf_prom_sample_int(p, name, v, "node", t->node, "numa", id, "page_size",
                                   res->name + 10, NULL);
            else if (c == RC_DEVICES)
                nf_prom_sample_int(p, name, v, "node", t->node, "numa", id, "resource", res->name,
                                   NULL);
            else
                nf_prom_sample_int(p, name, v, "node", t->node, "numa", id, NULL);
        }
    }
}

enum hpfield { HP_TOTAL, HP_FREE, HP_SURPLUS };

static void hugepage_counter(nf_prom *p, const nf_topology *t, enum hpfield f, const char *name,
                             const char *help)
{
    nf_prom_family_lazy(p, name, "gauge", help);
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *n = &t->numa_nodes[i];
        label id;
        numa_label(n->id, id);
        for (size_t h = 0; h < n->n_hugepages; h++) {
            const nf_hugepages *hp = &n->hugepages[h];
            int64_t v = f == HP_TOTAL ? hp->total : f == HP_FREE ? hp->free : hp->surplus;
            if (v < 0 || !hp->name || !nf_resource_is_hugepages(hp->name))
                continue;
            nf_prom_sample_int(p, name, v, "node", t->node, "numa", id, "page_size", hp->name + 10,
                               NULL);
        }
    }
}

static const char *probe_class(const char *status)
{
    if (!status)
        return "none";
    if (strcmp(status, "ok") == 0)
        return "ok";
    if (strncmp(status, "failed", 6) == 0)
        return "failed";
    if (strncmp(status, "skipped", 7) == 0)
        return "skipped";
    return "other";
}

typedef struct vf_count {
    int numa;
    const char *resource; /* borrowed from t; "" when none */
    bool allocated;
    const char *probe;
    int64_t n;
} vf_count;

typedef struct vf_counts {
    vf_count *v;
    size_t n, cap;
    bool oom;
} vf_counts;

static void vf_add(vf_counts *c, int numa, const char *resource, bool allocated, const char *probe)
{
    for (size_t i = 0; i < c->n; i++) {
        vf_count *e = &c->v[i];
        if (e->numa == numa && e->allocated == allocated && strcmp(e->resource, resource) == 0 &&
            strcmp(e->probe, probe) == 0) {
            e->n++;
            return;
        }
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        vf_count *v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = (vf_count){numa, resource, allocated, probe, 1};
}

static void vf_add_groups(vf_counts *c, int numa, const nf_device_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < g[i].n_vfs; v++)
            vf_add(c, numa, g[i].resource ? g[i].resource : "", g[i].vfs[v].allocated,
                   probe_class(g[i].vfs[v].probe.status));
}

static void vf_series(nf_prom *p, const nf_topology *t)
{
    vf_counts c = {0};
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        vf_add_groups(&c, t->numa_nodes[i].id, t->numa_nodes[i].devices,
                      t->numa_nodes[i].n_devices);
    vf_add_groups(&c, NF_UNKNOWN, t->unplaced_devices, t->n_unplaced_devices);
    if (c.oom)
        p->b.oom = true;
    nf_prom_family_lazy(p, "numafit_numa_vfs", "gauge",
                        "SR-IOV VFs by NUMA node, device-plugin resource (\"\" when none), "
                        "allocation and last DPDK probe result (ok, failed, skipped, none)");
    for (size_t i = 0; i < c.n; i++) {
        label id;
        numa_label(c.v[i].numa, id);
        nf_prom_sample_int(p, "numafit_numa_vfs", c.v[i].n, "node", t->node, "numa", id, "resource",
                           c.v[i].resource, "allocated", c.v[i].allocated ? "true" : "false",
                           "probe", c.v[i].probe, NULL);
    }
    free(c.v);
}

static size_t count_problems(const nf_topology *t)
{
    size_t n = t->n_errors + (t->kubelet.config_error != NULL);
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *z = &t->numa_nodes[i];
        n += z->mem_error != NULL;
        for (size_t h = 0; h < z->n_hugepages; h++)
            n += z->hugepages[h].error != NULL;
        for (size_t g = 0; g < z->n_devices; g++) {
            n += z->devices[g].pf.error != NULL;
            for (size_t v = 0; v < z->devices[g].n_vfs; v++)
                n += z->devices[g].vfs[v].error != NULL;
        }
    }
    for (size_t g = 0; g < t->n_unplaced_devices; g++) {
        n += t->unplaced_devices[g].pf.error != NULL;
        for (size_t v = 0; v < t->unplaced_devices[g].n_vfs; v++)
            n += t->unplaced_devices[g].vfs[v].error != NULL;
    }
    return n;
}

static void kubelet_series(nf_prom *p, const nf_topology *t)
{
    const nf_kubelet_info *k = &t->kubelet;
    const struct {
        const char *source, *status;
    } src[] = {{"cpuManager", k->state_cpu_manager},
               {"memoryManager", k->state_memory_manager},
               {"devicePlugins", k->state_device_plugins},
               {"podResources", k->state_pod_resources}};
    /* podResources only when the exporter uses it (a status is published) */
    const size_t ns = sizeof(src) / sizeof(src[0]) - !k->state_pod_resources;
    nf_prom_family(p, "numafit_exporter_kubelet_state_ok", "gauge",
                   "1 when the kubelet state file was read and verified (status \"ok\"), else 0");
    for (size_t i = 0; i < ns; i++)
        nf_prom_sample_int(p, "numafit_exporter_kubelet_state_ok",
                           src[i].status && strcmp(src[i].status, "ok") == 0, "node", t->node,
                           "source", src[i].source, NULL);
    nf_prom_family(p, "numafit_exporter_kubelet_state_info", "gauge",
                   "Always 1; status is the kubelet state file's published status (ok, absent, "
                   "error: ..., not read: ...)");
    for (size_t i = 0; i < ns; i++) {
        char status[160];
        snprintf(status, sizeof(status), "%s", src[i].status ? src[i].status : "unknown");
        nf_prom_sample_int(p, "numafit_exporter_kubelet_state_info", 1, "node", t->node, "source",
                           src[i].source, "status", status, NULL);
    }
    nf_prom_family(p, "numafit_kubelet_policy_info", "gauge",
                   "Always 1; the kubelet policies the exporter read (\"\" when unknown)");
    nf_prom_sample_int(p, "numafit_kubelet_policy_info", 1, "node", t->node, "cpu_manager_policy",
                       k->cpu_manager_policy, "topology_manager_policy", k->topology_manager_policy,
                       "topology_manager_scope", k->topology_manager_scope, "memory_manager_policy",
                       k->memory_manager_policy, NULL);
}

/* Every gauge read from a NUMA node's `resources` and `hugepages` maps. */
static const struct {
    rclass c;
    enum field f;
    const char *name, *help;
} resource_gauges[] = {
    {RC_CPU, F_CAPACITY, "numafit_numa_cpus_capacity", "Online CPUs of the NUMA node"},
    {RC_CPU, F_ALLOCATABLE, "numafit_numa_cpus_allocatable",
     "CPUs kubelet may hand out exclusively (online minus reserved)"},
    {RC_CPU, F_AVAILABLE, "numafit_numa_cpus_available",
     "Exclusive CPUs a Guaranteed pod can still get on the NUMA node"},
    {RC_MEMORY, F_CAPACITY, "numafit_numa_memory_capacity_bytes",
     "Memory of the NUMA node (MemTotal)"},
    {RC_MEMORY, F_ALLOCATABLE, "numafit_numa_memory_allocatable_bytes",
     "Memory of the NUMA node minus kubelet's reservedMemory"},
    {RC_MEMORY, F_AVAILABLE, "numafit_numa_memory_available_bytes",
     "Memory a pod can still get on the NUMA node"},
    {RC_HUGEPAGES, F_CAPACITY, "numafit_numa_hugepages_capacity_bytes",
     "Hugepages of one page size on the NUMA node (nr_hugepages x page size)"},
    {RC_HUGEPAGES, F_ALLOCATABLE, "numafit_numa_hugepages_allocatable_bytes",
     "Hugepage bytes minus kubelet's reservedMemory"},
    {RC_HUGEPAGES, F_AVAILABLE, "numafit_numa_hugepages_available_bytes",
     "Hugepage bytes a pod can still get on the NUMA node"},
    {RC_DEVICES, F_CAPACITY, "numafit_numa_devices_capacity",
     "Devices (SR-IOV VFs) of a device-plugin resource on the NUMA node"},
    {RC_DEVICES, F_ALLOCATABLE, "numafit_numa_devices_allocatable",
     "Devices of the resource kubelet may hand out"},
    {RC_DEVICES, F_AVAILABLE, "numafit_numa_devices_available",
     "Devices of the resource not allocated to a pod"},
    {RC_DEVICES, F_USABLE, "numafit_numa_devices_usable",
     "Free devices whose last DPDK probe passed (only with --probe on)"},
};

static const struct {
    enum hpfield f;
    const char *name, *help;
} hugepage_gauges[] = {
    {HP_TOTAL, "numafit_numa_hugepages_pages", "nr_hugepages of the NUMA node (sysfs)"},
    {HP_FREE, "numafit_numa_hugepages_free_pages", "free_hugepages of the NUMA node (sysfs)"},
    {HP_SURPLUS, "numafit_numa_hugepages_surplus_pages",
     "surplus_hugepages of the NUMA node (sysfs)"},
};

void nf_exporter_metrics_write_topology(nf_prom *p, const nf_topology *t)
{
    nf_prom_family_lazy(p, "numafit_numa_node_info", "gauge",
                        "Always 1; socket is the NUMA node's socket id (\"\" for a CPU-less node)");
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        label id, sock = "";
        numa_label(t->numa_nodes[i].id, id);
        if (t->numa_nodes[i].socket >= 0)
            snprintf(sock, sizeof(sock), "%d", t->numa_nodes[i].socket);
        nf_prom_sample_int(p, "numafit_numa_node_info", 1, "node", t->node, "numa", id, "socket",
                           sock, NULL);
    }

    for (size_t i = 0; i < sizeof(resource_gauges) / sizeof(resource_gauges[0]); i++)
        resource_gauge(p, t, resource_gauges[i].c, resource_gauges[i].f, resource_gauges[i].name,
                       resource_gauges[i].help);
    for (size_t i = 0; i < sizeof(hugepage_gauges) / sizeof(hugepage_gauges[0]); i++)
        hugepage_counter(p, t, hugepage_gauges[i].f, hugepage_gauges[i].name,
                         hugepage_gauges[i].help);
    nf_prom_family_lazy(p, "numafit_numa_cpus_free_full_cores", "gauge",
                        "Physical cores of the NUMA node whose every online thread is free");
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *n = &t->numa_nodes[i];
        label id;
        if (n->cpus.free_full_cores >= 0 && nf_numa_resource(n, "cpu"))
            nf_prom_sample_int(p, "numafit_numa_cpus_free_full_cores", n->cpus.free_full_cores,
                               "node", t->node, "numa", numa_label(n->id, id), NULL);
    }

    vf_series(p, t);

    kubelet_series(p, t);
    nf_prom_family(p, "numafit_exporter_topology_generation", "gauge",
                   "Generation of the published NodeTopology (grows when a number changes)");
    nf_prom_sample(p, "numafit_exporter_topology_generation", (double)t->generation, "node",
                   t->node, NULL);
    if (t->observed_at > 0) {
        nf_prom_family(p, "numafit_exporter_topology_observed_timestamp_seconds", "gauge",
                       "Unix time of the scan behind the published document (observedAt)");
        nf_prom_sample_int(p, "numafit_exporter_topology_observed_timestamp_seconds",
                           t->observed_at, "node", t->node, NULL);
    }
    nf_prom_family(p, "numafit_exporter_topology_problems", "gauge",
                   "Problems published in the document (errors[] and every field \"error\")");
    nf_prom_sample_int(p, "numafit_exporter_topology_problems", (int64_t)count_problems(t), "node",
                       t->node, NULL);
}

char *nf_exporter_metrics_render(void *cls, size_t *len)
{
    nf_exporter_metrics *m = cls;
    nf_prom p;
    nf_prom_init(&p);

    pthread_mutex_lock(&m->lock);
    char *doc = m->doc ? strdup(m->doc) : NULL;
    size_t dlen = m->len;
    bool had = m->doc != NULL;
    const char *in_names[8];
    bool in_bad[8];
    size_t n_in = m->n_inputs;
    memcpy(in_names, m->input_names, sizeof(in_names));
    memcpy(in_bad, m->input_bad, sizeof(in_bad));
    nf_podres_disagreement dis = m->disagree;
    pthread_mutex_unlock(&m->lock);
    if (had && !doc)
        return NULL;
    if (doc) {
        nf_topology t;
        nf_err err = {{0}};
        if (nf_topology_parse(doc, dlen, &t, &err) == 0) {
            nf_exporter_metrics_write_topology(&p, &t);
            nf_topology_free(&t);
        } else {
            /* cannot happen with our own encoder; say so rather than serve nothing */
            nf_error("metrics: cannot decode the published document", "error=\"%s\"", err.msg);
        }
        free(doc);
    }

    if (n_in) {
        nf_prom_family(&p, "numafit_exporter_input_errors", "gauge",
                       "1 while an input of the exporter has a problem (also logged as a warning "
                       "and listed in the document's errors[]), else 0");
        for (size_t i = 0; i < n_in; i++)
            nf_prom_sample_int(&p, "numafit_exporter_input_errors", in_bad[i], "input", in_names[i],
                               NULL);
    }
    nf_prom_family(&p, "numafit_exporter_podresources_disagreements", "gauge",
                   "Items kubelet's podresources API and its checkpoint files disagree on in the "
                   "last refresh (podresources is published; the errors[] entry says which)");
    const struct {
        const char *kind;
        size_t n;
    } dk[] = {{"cpus", dis.cpus},
              {"devices", dis.devices},
              {"memory", dis.memory},
              {"reservedCpus", dis.reserved_cpus}};
    for (size_t i = 0; i < sizeof(dk) / sizeof(dk[0]); i++)
        nf_prom_sample_int(&p, "numafit_exporter_podresources_disagreements", (int64_t)dk[i].n,
                           "what", dk[i].kind, NULL);
    nf_prom_family(&p, "numafit_exporter_refreshes_total", "counter",
                   "Refreshes of the node's topology (sysfs, kubelet files, probe results)");
    nf_prom_sample_int(&p, "numafit_exporter_refreshes_total", (int64_t)atomic_load(&m->refreshes),
                       NULL);
    nf_prom_family(&p, "numafit_exporter_refresh_errors_total", "counter",
                   "Refreshes that failed (the previous document stayed published)");
    nf_prom_sample_int(&p, "numafit_exporter_refresh_errors_total",
                       (int64_t)atomic_load(&m->refresh_errors), NULL);
    nf_prom_family(&p, "numafit_exporter_refresh_duration_seconds", "histogram",
                   "Time one refresh took: read, derive, encode");
    nf_prom_hist_write(&p, "numafit_exporter_refresh_duration_seconds", &m->refresh_duration, NULL);
    nf_prom_build_info(&p, "numafit_exporter_build_info", "numafit-exporter");
    return nf_prom_finish(&p, len);
}
