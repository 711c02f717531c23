/* kubelet_take_by_topology.c - kubelet's takeByTopologyNUMAPacked (see kubelet_take_by_topology.h).
 */
#include "kubelet_take_by_topology.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { K_NUMA, K_SOCKET, K_CORE };

typedef struct cpu_info {
    int cpu;
    int id[3]; /* NUMA node, socket, core */
    bool avail;
} cpu_info;

typedef struct acc {
    cpu_info *c;
    size_t n;
    int needed;
    nf_cpuset result;
    bool numa_first;
    int cpus_per_core, cpus_per_socket;
    int rc;
} acc;

typedef struct ids {
    int *v;
    size_t n;
} ids;

static int count(const acc *a, int kind, int id, bool only_avail)
{
    int k = 0;
    for (size_t i = 0; i < a->n; i++)
        k += a->c[i].id[kind] == id && (!only_avail || a->c[i].avail);
    return k;
}

static void push(acc *a, ids *l, int v)
{
    int *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (!nv) {
        a->rc = -ENOMEM;
        return;
    }
    l->v = nv;
    l->v[l->n++] = v;
}

/* Distinct ids of `kind` among available CPUs, optionally within parent kind == pid. */
static ids distinct(acc *a, int kind, int pkind, int pid)
{
    ids l = {0};
    for (size_t i = 0; i < a->n; i++) {
        if (!a->c[i].avail || (pkind >= 0 && a->c[i].id[pkind] != pid))
            continue;
        bool seen = false;
        for (size_t j = 0; j < l.n && !seen; j++)
            seen = l.v[j] == a->c[i].id[kind];
        if (!seen)
            push(a, &l, a->c[i].id[kind]);
    }
    return l;
}

/* acc.sort(): by available CPUs ascending, then id ascending. */
static void sort_ids(acc *a, int kind, ids *l)
{
    int *cnt = l->n ? malloc(l->n * sizeof(*cnt)) : NULL;
    if (l->n && !cnt) {
        a->rc = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < l->n; i++)
        cnt[i] = count(a, kind, l->v[i], true);
    for (size_t i = 1; i < l->n; i++) {
        for (size_t j = i; j > 0; j--) {
            int x = l->v[j - 1], y = l->v[j], cx = cnt[j - 1], cy = cnt[j];
            if (cx < cy || (cx == cy && x < y))
                break;
            l->v[j - 1] = y;
            l->v[j] = x;
            cnt[j - 1] = cy;
            cnt[j] = cx;
        }
    }
    free(cnt);
}

/* Children of every parent in `parents` (in that order), each group sorted. */
static ids expand(acc *a, const ids *parents, int pkind, int kind)
{
    ids out = {0};
    for (size_t i = 0; i < parents->n; i++) {
        ids ch = distinct(a, kind, pkind, parents->v[i]);
        sort_ids(a, kind, &ch);
        for (size_t j = 0; j < ch.n; j++)
            push(a, &out, ch.v[j]);
        free(ch.v);
    }
    return out;
}

static ids sorted_top(acc *a, int kind)
{
    ids l = distinct(a, kind, -1, 0);
    sort_ids(a, kind, &l);
    return l;
}

static ids sorted_numa(acc *a)
{
    if (a->numa_first)
        return sorted_top(a, K_NUMA);
    ids s = sorted_top(a, K_SOCKET);
    ids r = expand(a, &s, K_SOCKET, K_NUMA);
    free(s.v);
    return r;
}

static ids sorted_sockets(acc *a)
{
    if (!a->numa_first)
        return sorted_top(a, K_SOCKET);
    ids m = sorted_top(a, K_NUMA);
    ids r = expand(a, &m, K_NUMA, K_SOCKET);
    free(m.v);
    return r;
}

static ids sorted_cores(acc *a)
{
    ids p = a->numa_first ? sorted_sockets(a) : sorted_numa(a);
    ids r = expand(a, &p, a->numa_first ? K_SOCKET : K_NUMA, K_CORE);
    free(p.v);
    return r;
}

static void take_group(acc *a, int kind, int id)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->c[i].id[kind] != id)
            continue;
        if (a->c[i].avail) {
            a->c[i].avail = false;
            a->needed--;
        }
        if (nf_cpuset_set(&a->result, (unsigned)a->c[i].cpu))
            a->rc = -ENOMEM;
    }
}

static bool is_free(const acc *a, int kind, int id)
{
    int have = count(a, kind, id, true);
    if (kind == K_NUMA)
        return have == count(a, K_NUMA, id, false);
    return have == (kind == K_SOCKET ? a->cpus_per_socket : a->cpus_per_core);
}

/* takeFullNUMANodes / takeFullSockets / takeFullCores. */
static void take_full(acc *a, int kind)
{
    ids l = kind == K_NUMA     ? sorted_numa(a)
            : kind == K_SOCKET ? sorted_sockets(a)
                               : sorted_cores(a);
    ids fr = {0};
    for (size_t i = 0; i < l.n; i++)
        if (is_free(a, kind, l.v[i]))
            push(a, &fr, l.v[i]);
    for (size_t i = 0; i < fr.n && !a->rc; i++) {
        int size = count(a, kind, fr.v[i], false);
        if (a->needed >= size)
            take_group(a, kind, fr.v[i]);
    }
    free(l.v);
    free(fr.v);
}

static int cmp_int(const void *x, const void *y)
{
    return *(const int *)x - *(const int *)y;
}

static void take_remaining(acc *a)
{
    ids cores = sorted_cores(a);
    for (size_t i = 0; i < cores.n && a->needed > 0 && !a->rc; i++) {
        int cpus[64];
        size_t k = 0;
        for (size_t j = 0; j < a->n && k < 64; j++)
            if (a->c[j].avail && a->c[j].id[K_CORE] == cores.v[i])
                cpus[k++] = a->c[j].cpu;
        qsort(cpus, k, sizeof(int), cmp_int);
        for (size_t j = 0; j < k && a->needed > 0; j++) {
            for (size_t m = 0; m < a->n; m++) {
                if (a->c[m].cpu == cpus[j]) {
                    a->c[m].avail = false;
                    a->needed--;
                    if (nf_cpuset_set(&a->result, (unsigned)cpus[j]))
                        a->rc = -ENOMEM;
                }
            }
        }
    }
    free(cores.v);
}

static int add_cpu(acc *a, size_t *cap, int cpu, int numa, int socket, int core)
{
    if (a->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        cpu_info *c = realloc(a->c, nc * sizeof(*c));
        if (!c)
            return -ENOMEM;
        a->c = c;
        *cap = nc;
    }
    a->c[a->n++] = (cpu_info){.cpu = cpu, .id = {numa, socket, core}};
    return 0;
}

static int distinct_count(acc *a, int kind)
{
    for (size_t i = 0; i < a->n; i++)
        a->c[i].avail = true;
    ids l = distinct(a, kind, -1, 0);
    int n = (int)l.n;
    free(l.v);
    return n;
}

int nf_kubelet_take_by_topology(const nf_topology *t, const nf_cpuset *available, int n,
                                nf_cpuset *out, nf_err *err)
{
    acc a = {.needed = n};
    size_t cap = 0;
    int rc = 0;
    /* kubelet's CPUDetails: every online CPU with its NUMA node, socket and core (lowest id). */
    for (size_t i = 0; i < t->n_numa_nodes && !rc; i++) {
        const nf_numa_node *nn = &t->numa_nodes[i];
        int socket = nn->socket >= 0 ? nn->socket : INT_MAX / 2 + nn->id;
        nf_cpuset seen = {0};
        for (size_t c = 0; c < nn->cpus.n_cores && !rc; c++) {
            int core = -1;
            for (int cpu = nf_cpuset_next(&nn->cpus.cores[c], 0); cpu >= 0;
                 cpu = nf_cpuset_next(&nn->cpus.cores[c], (unsigned)cpu + 1)) {
                if (!nf_cpuset_test(&nn->cpus.online, (unsigned)cpu) ||
                    nf_cpuset_test(&seen, (unsigned)cpu))
                    continue;
                if (core < 0)
                    core = cpu;
                if ((rc = nf_cpuset_set(&seen, (unsigned)cpu)) ||
                    (rc = add_cpu(&a, &cap, cpu, nn->id, socket, core)))
                    break;
            }
        }
        /* online CPUs no core lists: each its own core */
        for (int cpu = nf_cpuset_next(&nn->cpus.online, 0); cpu >= 0 && !rc;
             cpu = nf_cpuset_next(&nn->cpus.online, (unsigned)cpu + 1))
            if (!nf_cpuset_test(&seen, (unsigned)cpu))
                rc = add_cpu(&a, &cap, cpu, nn->id, socket, cpu);
        nf_cpuset_free(&seen);
    }
    if (rc)
        goto out;
    int n_sockets = distinct_count(&a, K_SOCKET), n_numa = distinct_count(&a, K_NUMA),
        n_cores = distinct_count(&a, K_CORE);
    a.numa_first = n_sockets >= n_numa;
    a.cpus_per_core = n_cores ? (int)a.n / n_cores : 0;
    a.cpus_per_socket = n_sockets ? (int)a.n / n_sockets : 0;
    int n_avail = 0;
    for (size_t i = 0; i < a.n; i++) {
        a.c[i].avail = !available || nf_cpuset_test(available, (unsigned)a.c[i].cpu);
        n_avail += a.c[i].avail;
    }
    if (n <= 0)
        goto out;
    if (n > n_avail) {
        rc = nf_errf(err, -ENOSPC, "cannot take %d CPUs: only %d available", n, n_avail);
        goto out;
    }
    if (a.numa_first) {
        take_full(&a, K_NUMA);
        if (a.needed > 0)
            take_full(&a, K_SOCKET);
    } else {
        take_full(&a, K_SOCKET);
        if (a.needed > 0)
            take_full(&a, K_NUMA);
    }
    if (a.needed > 0)
        take_full(&a, K_CORE);
    if (a.needed > 0)
        take_remaining(&a);
    rc = a.rc;
    if (!rc && a.needed > 0)
        rc = nf_errf(err, -ENOSPC, "cannot take %d CPUs", n);
out:
    if (rc == -ENOMEM)
        nf_errf(err, rc, "out of memory");
    if (!rc)
        rc = nf_cpuset_copy(out, &a.result);
    nf_cpuset_free(&a.result);
    free(a.c);
    return rc;
}
