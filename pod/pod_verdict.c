/* pod_verdict.c - alignment of CPUs, VFs and hugepages; hugepage choice (pod_verdict.h). */
#include "pod_verdict.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/quantity.h"
#include "numafit/strlist.h"

#define CHANGE_TOPOLOGY                                                                            \
    "give kubelet cpuManagerPolicy: static and topologyManagerPolicy: single-numa-node (or "       \
    "restricted) so that CPUs and VFs come from one NUMA node, or schedule with numafit-extender"

static bool limited(int64_t limit)
{
    return limit > 0 && limit != NF_POD_UNLIMITED;
}

static int cpus_verdict(const nf_pod_view *v, nf_pod_verdict *vd)
{
    const nf_pod_cpus *c = &v->cpus;
    int rc = 0;
    vd->node = c->n ? c->cpu[0].node : -1;
    for (size_t n = 0; n < c->n_nodes && !rc; n++) {
        nf_cpuset here = {0};
        char *list = NULL;
        rc = nf_cpuset_and(&here, &c->set, &c->nodes[n].cpus);
        if (!rc && !nf_cpuset_empty(&here) && c->nodes[n].id != vd->node &&
            !(rc = nf_cpuset_format(&here, &list)))
            rc = nf_strlist_addf(&vd->problems, &vd->n_problems,
                                 "CPUs %s are on NUMA node %d, CPU %u (the main lcore) on node %d: "
                                 "%s",
                                 list, c->nodes[n].id, c->cpu[0].id, vd->node, CHANGE_TOPOLOGY);
        free(list);
        nf_cpuset_free(&here);
    }
    /* one problem for all of them: an affinity may name thousands of CPUs that are not here */
    nf_cpuset absent = {0};
    size_t n_absent = 0;
    for (size_t i = 0; i < c->n && !rc; i++)
        if (c->cpu[i].node < 0 && !(rc = nf_cpuset_set(&absent, c->cpu[i].id)))
            n_absent++;
    char *list = NULL;
    if (!rc && n_absent && !(rc = nf_cpuset_format(&absent, &list)))
        rc = nf_strlist_addf(&vd->problems, &vd->n_problems,
                             "CPU%s %s %s in no NUMA node's cpulist (sysfs devices/system/node)",
                             n_absent > 1 ? "s" : "", list, n_absent > 1 ? "are" : "is");
    free(list);
    nf_cpuset_free(&absent);
    return rc;
}

static int vfs_verdict(const nf_pod_view *v, nf_pod_verdict *vd)
{
    int rc = 0;
    for (size_t i = 0; i < v->vfs.n && !rc; i++) {
        const nf_pod_vf *f = &v->vfs.vf[i];
        int numa = f->numa < 0 && v->cpus.n_nodes == 1 ? v->cpus.nodes[0].id : f->numa;
        if (numa < 0)
            rc = nf_strlist_addf(&vd->problems, &vd->n_problems,
                                 "VF %s (%s): its NUMA node is unknown (numa_node -1), so its "
                                 "alignment with the CPUs on node %d cannot be told: the BIOS "
                                 "must describe PCI locality (ACPI _PXM)",
                                 f->bdf, f->source, vd->node);
        else if (numa != vd->node)
            rc = nf_strlist_addf(&vd->problems, &vd->n_problems,
                                 "VF %s (%s) is on NUMA node %d, the CPUs on node %d: %s", f->bdf,
                                 f->source, numa, vd->node, CHANGE_TOPOLOGY);
        else if (!f->driver[0])
            rc = nf_strlist_addf(&vd->notes, &vd->n_notes,
                                 "VF %s has no driver bound: DPDK needs vfio-pci (or a "
                                 "bifurcated driver such as mlx5_core)",
                                 f->bdf);
    }
    return rc;
}

/* The writable mount of the largest page size, among sizes with a limit when any (NULL none). */
static const nf_pod_mount *pick_mount(const nf_pod_huge *h, bool need_limit)
{
    const nf_pod_mount *best = NULL;
    for (size_t i = 0; i < h->n_mounts; i++) {
        const nf_pod_mount *m = &h->mount[i];
        const nf_pod_hugesize *s = nf_pod_huge_size(h, m->page_bytes);
        if (!m->writable || (need_limit && (!s || !limited(s->limit))))
            continue;
        if (!best || m->page_bytes > best->page_bytes)
            best = m;
    }
    return best;
}

static int huge_verdict(const nf_pod_view *v, nf_pod_verdict *vd)
{
    const nf_pod_huge *h = &v->huge;
    char a[32], b[32], c[32];
    const nf_pod_hugesize *lim = NULL; /* the largest limited size */
    int rc = 0;
    for (size_t i = 0; i < h->n_sizes; i++)
        if (limited(h->size[i].limit))
            lim = &h->size[i];
    vd->socket_mem = -1;
    vd->mount = pick_mount(h, true);
    if (vd->mount) {
        vd->socket_mem = nf_pod_huge_size(h, vd->mount->page_bytes)->limit;
    } else if (lim && (vd->mount = pick_mount(h, false))) {
        /* mounted, but on a size the container may not use: DPDK finds no page it may take */
        const nf_pod_hugesize *s = nf_pod_huge_size(h, vd->mount->page_bytes);
        rc = nf_strlist_addf(
            &vd->problems, &vd->n_problems,
            "hugepages are limited on %s pages (%s allowed) but hugetlbfs at %s has %s pages "
            "(limit "
            "%s): mount an emptyDir with medium: HugePages-%s, or request hugepages-%s",
            nf_quantity_format_bytes((int64_t)lim->page_bytes, a, sizeof(a)),
            nf_quantity_format_bytes(lim->limit, b, sizeof(b)), vd->mount->path,
            nf_quantity_format_bytes((int64_t)vd->mount->page_bytes, c, sizeof(c)),
            !s || s->limit == NF_POD_UNKNOWN ? "unknown"
            : s->limit == 0                  ? "0"
                                             : "none",
            a, c);
        vd->socket_mem = s && limited(s->limit) ? s->limit : -1;
    } else if (lim) {
        vd->socket_mem = lim->limit;
        rc = nf_strlist_addf(&vd->notes, &vd->n_notes,
                             "no writable hugetlbfs mount: DPDK runs --in-memory on %s pages",
                             nf_quantity_format_bytes((int64_t)lim->page_bytes, a, sizeof(a)));
    } else {
        vd->mount = pick_mount(h, false);
        rc = nf_strlist_addf(&vd->notes, &vd->n_notes,
                             "no hugetlb cgroup limit found (%s): --socket-mem is left to DPDK",
                             h->cgroup_dir ? "none set" : "no hugetlb controller");
        if (!rc && !vd->mount)
            rc = nf_strlist_addf(&vd->notes, &vd->n_notes,
                                 "no writable hugetlbfs mount: DPDK runs --in-memory");
    }
    /* the pages must be free on the CPUs' node: kubelet does not align hugepages without the
     * Memory Manager, and DPDK asks the node for them */
    const nf_pod_hugesize *s = vd->mount ? nf_pod_huge_size(h, vd->mount->page_bytes) : lim;
    int ni = nf_pod_node_index(&v->cpus, vd->node);
    if (!rc && s && vd->socket_mem > 0 && ni >= 0 && s->node_free[ni] >= 0 &&
        (uint64_t)s->node_free[ni] * s->page_bytes < (uint64_t)vd->socket_mem)
        rc = nf_strlist_addf(&vd->notes, &vd->n_notes,
                             "NUMA node %d has %" PRId64 " free %s pages, fewer than the %s "
                             "--socket-mem asks for: rte_eal_init fails with \"Cannot allocate "
                             "memory\" unless other containers give theirs back",
                             vd->node, s->node_free[ni],
                             nf_quantity_format_bytes((int64_t)s->page_bytes, a, sizeof(a)),
                             nf_quantity_format_bytes(vd->socket_mem, b, sizeof(b)));
    return rc;
}

static int limits_verdict(const nf_pod_view *v, nf_pod_verdict *vd)
{
    const nf_pod_limits *l = &v->limits;
    char a[32], b[32];
    if (!l->caps_known || nf_pod_has_cap(l, NF_CAP_IPC_LOCK))
        return 0;
    if (l->memlock >= 0 && l->memlock != INT64_MAX && vd->socket_mem > 0 &&
        l->memlock < vd->socket_mem)
        return nf_strlist_addf(&vd->notes, &vd->n_notes,
                               "RLIMIT_MEMLOCK is %s and IPC_LOCK is not granted: vfio-pci cannot "
                               "pin %s of hugepages for DMA; add capabilities: add: [IPC_LOCK]",
                               nf_quantity_format_bytes(l->memlock, a, sizeof(a)),
                               nf_quantity_format_bytes(vd->socket_mem, b, sizeof(b)));
    return nf_strlist_addf(&vd->notes, &vd->n_notes,
                           "IPC_LOCK is not granted: DPDK cannot lock its memory beyond "
                           "RLIMIT_MEMLOCK; add capabilities: add: [IPC_LOCK]");
}

int nf_pod_verdict_make(const nf_pod_view *v, nf_pod_verdict *out)
{
    memset(out, 0, sizeof(*out));
    int rc = cpus_verdict(v, out);
    if (!rc)
        rc = vfs_verdict(v, out);
    if (!rc)
        rc = huge_verdict(v, out);
    if (!rc)
        rc = limits_verdict(v, out);
    if (rc) {
        nf_pod_verdict_free(out);
        return rc;
    }
    out->aligned = out->n_problems == 0;
    return 0;
}

void nf_pod_verdict_free(nf_pod_verdict *vd)
{
    nf_strlist_free(vd->problems, vd->n_problems);
    nf_strlist_free(vd->notes, vd->n_notes);
    memset(vd, 0, sizeof(*vd));
}
