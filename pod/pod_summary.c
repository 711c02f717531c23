/* pod_summary.c - the human summary (pod_summary.h). */
#include "pod_summary.h"

#include <inttypes.h>
#include <stdlib.h>

#include "numafit/quantity.h"

static const char *bytes(int64_t v, char *buf, size_t len)
{
    if (v == NF_POD_UNLIMITED)
        return "unlimited";
    if (v < 0)
        return "unknown";
    return nf_quantity_format_bytes(v, buf, len);
}

static void cpus(FILE *f, const nf_pod_cpus *c)
{
    char *list = NULL;
    nf_cpuset_format(&c->set, &list);
    fprintf(f, "CPUs %s (%zu, from %s)\n", list ? list : "?", c->n,
            c->from_status ? "self/status Cpus_allowed_list" : "sched_getaffinity");
    free(list);
    for (size_t i = 0; i < c->n; i++) {
        const nf_pod_cpu *p = &c->cpu[i];
        fprintf(f, "  cpu %-4u numa node %-3d socket %-3d core %-4d siblings %s\n", p->id, p->node,
                p->socket, p->core, p->siblings[0] ? p->siblings : "unknown");
    }
}

static void vfs(FILE *f, const nf_pod_vfs *v)
{
    fprintf(f, "VFs %zu (PCIDEVICE_* variables%s)\n", v->n,
            v->network_status ? ", network-status annotation" : "");
    for (size_t i = 0; i < v->n; i++) {
        const nf_pod_vf *p = &v->vf[i];
        fprintf(f, "  %s  %s%s%s  driver %s  numa node %d  iommu group %d\n", p->bdf, p->source,
                p->network ? " network " : "", p->network ? p->network : "",
                p->driver[0] ? p->driver : "none", p->numa, p->iommu_group);
    }
}

static void huge(FILE *f, const nf_pod_huge *h, const nf_pod_cpus *c)
{
    char a[32], b[32];
    fprintf(f, "hugetlbfs mounts %zu\n", h->n_mounts);
    for (size_t i = 0; i < h->n_mounts; i++) {
        const nf_pod_mount *m = &h->mount[i];
        const nf_pod_hugesize *s = nf_pod_huge_size(h, m->page_bytes);
        fprintf(f, "  %s  pagesize %s  %s  limit %s\n", m->path,
                nf_quantity_format_bytes((int64_t)m->page_bytes, a, sizeof(a)),
                m->writable ? "writable" : "read-only",
                s ? bytes(s->limit, b, sizeof(b)) : "unknown");
    }
    fprintf(f, "hugetlb cgroup (v%d, %s)\n", h->cgroup_version,
            h->cgroup_dir ? h->cgroup_dir : "not found");
    for (size_t i = 0; i < h->n_sizes; i++) {
        const nf_pod_hugesize *s = &h->size[i];
        fprintf(f, "  %s pages: limit %s, free per numa node",
                nf_quantity_format_bytes((int64_t)s->page_bytes, a, sizeof(a)),
                bytes(s->limit, b, sizeof(b)));
        for (size_t n = 0; n < c->n_nodes; n++)
            fprintf(f, " %d:%" PRId64, c->nodes[n].id, s->node_free[n]);
        fputc('\n', f);
    }
    fprintf(f, "memory cgroup limit %s\n", bytes(h->memory_limit, a, sizeof(a)));
}

static void limits(FILE *f, const nf_pod_limits *l)
{
    char a[32];
    fprintf(f, "RLIMIT_MEMLOCK %s\n", bytes(l->memlock, a, sizeof(a)));
    if (!l->caps_known) {
        fprintf(f, "capabilities unknown (no CapEff)\n");
        return;
    }
    fprintf(f, "capabilities IPC_LOCK %s, SYS_RAWIO %s, NET_ADMIN %s\n",
            nf_pod_has_cap(l, NF_CAP_IPC_LOCK) ? "yes" : "no",
            nf_pod_has_cap(l, NF_CAP_SYS_RAWIO) ? "yes" : "no",
            nf_pod_has_cap(l, NF_CAP_NET_ADMIN) ? "yes" : "no");
}

void nf_pod_summary_print(FILE *f, const nf_pod_roots *r, const nf_pod_view *v,
                          const nf_pod_verdict *vd)
{
    fprintf(f, "numafit-pod: sysfs %s, procfs %s, cgroup %s, podinfo %s\n", r->sysfs, r->procfs,
            r->cgroup, r->podinfo);
    cpus(f, &v->cpus);
    vfs(f, &v->vfs);
    huge(f, &v->huge, &v->cpus);
    limits(f, &v->limits);
    fprintf(f, "file prefix %s\n", v->file_prefix);
    for (size_t i = 0; i < vd->n_notes; i++)
        fprintf(f, "note: %s\n", vd->notes[i]);
    for (size_t i = 0; i < vd->n_problems; i++)
        fprintf(f, "problem: %s\n", vd->problems[i]);
    if (vd->aligned)
        fprintf(f, "verdict: aligned on NUMA node %d\n", vd->node);
    else
        fprintf(f, "verdict: misaligned (%zu problem%s above)\n", vd->n_problems,
                vd->n_problems == 1 ? "" : "s");
}
