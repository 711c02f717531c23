/* prober.c - the daemon's background prober (see prober.h). */
#include "prober.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dpdk_probe.h"
#include "numafit/clock.h"
#include "numafit/log.h"

/* A VF a pod may hold: allocated, or its allocation is unknown (kubelet's device checkpoint is
 * lost). The probe never touches one. */
static bool held(const nf_vf *vf)
{
    return vf->allocated || vf->allocation_unknown;
}

typedef struct entry {
    char *pci; /* key, as the topology spells it */
    char *driver;
    int iommu_group;
    int numa_node;
    bool allocated;
    bool present; /* seen by the latest update */
    bool dirty;   /* must be probed */
    int lcore;
    bool hugepages;
    uint64_t seq;          /* bumped when the state above changes */
    int64_t last_probe_ms; /* monotonic; 0 = never */
    bool has_res;
    nf_probe_dev_result res;
} entry;

struct nf_prober {
    nf_prober_opts o;
    char *sysfs_root;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool changed; /* results changed since the last annotate */
    int event_fd;
    int cancel_fd;
    bool cancel_requested; /* by an update (an allocation), not by stop */
    entry *e;
    size_t n, cap;
    char **running; /* pci keys of the batch in flight */
    size_t n_running;
    nf_prober_stats st;
    char **vdev_pci, **vdev_spec; /* the test hook's map (opts.test_vdev_map), parsed */
    size_t n_vdev;
};

static void entry_free(entry *e)
{
    free(e->pci);
    free(e->driver);
    nf_probe_dev_result_free(&e->res);
}

static entry *find(nf_prober *p, const char *pci)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].pci, pci) == 0)
            return &p->e[i];
    return NULL;
}

static bool streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int set_result(nf_probe_dev_result *dst, const char *status, const nf_probe_dev_result *src,
                      int64_t when)
{
    nf_probe_dev_result r = {.max_rx_queues = NF_UNKNOWN, .checked_at = when};
    int rc = nf_strset(&r.status, status);
    if (!rc && src) {
        r.max_rx_queues = src->max_rx_queues;
        r.checked_at = src->checked_at;
        rc = nf_strset(&r.pmd, src->pmd) || nf_strset(&r.mac, src->mac) ||
                     nf_strset(&r.link, src->link)
                 ? -ENOMEM
                 : 0;
    }
    if (rc) {
        nf_probe_dev_result_free(&r);
        return -ENOMEM;
    }
    r.device = dst->device;
    dst->device = NULL;
    nf_probe_dev_result_free(dst);
    *dst = r;
    return 0;
}

static void notify(nf_prober *p)
{
    uint64_t one = 1;
    if (write(p->event_fd, &one, sizeof(one)) < 0) {
        /* counter saturated: it is readable anyway */
    }
    if (p->o.on_result)
        p->o.on_result(p->o.arg);
}

/* ---- the test hook: PCI address -> vdev (prober.h, test_vdev_map) ------------------ */

static void vdev_map_free(nf_prober *p)
{
    for (size_t i = 0; i < p->n_vdev; i++) {
        free(p->vdev_pci[i]);
        free(p->vdev_spec[i]);
    }
    free(p->vdev_pci);
    free(p->vdev_spec);
}

static int vdev_map_parse(nf_prober *p, const char *map)
{
    size_t cap = 1;
    for (const char *c = map; *c; c++)
        cap += *c == ';' || *c == ' ' || *c == '\t' || *c == '\n';
    p->vdev_pci = calloc(cap, sizeof(char *));
    p->vdev_spec = calloc(cap, sizeof(char *));
    char *copy = strdup(map), *save = NULL;
    int rc = !p->vdev_pci || !p->vdev_spec || !copy ? -ENOMEM : 0;
    for (char *tok = copy ? strtok_r(copy, "; \t\n", &save) : NULL; tok && !rc;
         tok = strtok_r(NULL, "; \t\n", &save)) {
        char *eq = strchr(tok, '='), canon[24];
        if (eq)
            *eq = '\0';
        if (!eq || !eq[1] || eq[1] == ',' || nf_probe_pci_canon(tok, canon)) {
            nf_error("NUMAFIT_TEST_PROBE_VDEV_MAP: entries are BDF=VDEV[,ARGS]", "entry=\"%s\"",
                     tok);
            rc = -EINVAL;
        } else {
            size_t i = p->n_vdev++; /* counted first: vdev_map_free frees what was made */
            if (!(p->vdev_pci[i] = strdup(canon)) || !(p->vdev_spec[i] = strdup(eq + 1)))
                rc = -ENOMEM;
        }
    }
    free(copy);
    return rc;
}

/* The vdev spec standing in for this VF, or NULL. */
static const char *vdev_for(const nf_prober *p, const char *pci)
{
    char canon[24];
    if (!p->n_vdev || nf_probe_pci_canon(pci, canon))
        return NULL;
    for (size_t i = 0; i < p->n_vdev; i++)
        if (strcmp(p->vdev_pci[i], canon) == 0)
            return p->vdev_spec[i];
    return NULL;
}

/* ---- the thread ------------------------------------------------------------------------ */

static bool due(const nf_prober *p, const entry *e, int64_t now)
{
    if (!e->present || e->allocated)
        return false;
    if (e->dirty)
        return true;
    return p->o.interval_ms > 0 && now - e->last_probe_ms >= p->o.interval_ms;
}

static void run_batch(nf_prober *p)
{
    /* called with p->mu held; releases it while probing */
    int64_t now = nf_mono_ms();
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += due(p, &p->e[i], now);
    nf_probe_target *t = calloc(n ? n : 1, sizeof(*t));
    char **keys = calloc(n ? n : 1, sizeof(char *));
    uint64_t *seqs = calloc(n ? n : 1, sizeof(uint64_t));
    size_t k = 0;
    bool oom = !t || !keys || !seqs;
    for (size_t i = 0; i < p->n && !oom; i++) {
        entry *e = &p->e[i];
        if (!due(p, e, now))
            continue;
        char canon[24];
        if (!(keys[k] = strdup(e->pci))) {
            oom = true;
            break;
        }
        const char *vdev = vdev_for(p, e->pci);
        t[k] = (nf_probe_target){
            .device = vdev ? vdev : keys[k],
            .is_vdev = vdev || (p->o.allow_vdevs && nf_probe_pci_canon(e->pci, canon) != 0),
            .numa_node = e->numa_node,
            .lcore = e->lcore,
            .hugepages = e->hugepages,
        };
        seqs[k] = e->seq;
        e->dirty = false;
        k++;
    }
    if (oom) {
        for (size_t i = 0; i < k; i++)
            free(keys[i]);
        free(t);
        free(keys);
        free(seqs);
        /* retry later rather than spin (the condition variable is on CLOCK_MONOTONIC) */
        struct timespec ts = nf_mono_ts(nf_mono_ms() + 1000);
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        return;
    }
    p->running = keys;
    p->n_running = k;
    p->cancel_requested = false;
    p->st.probing = true;
    nf_probe_batch_opts bo = {
        .sysfs_root = p->sysfs_root,
        .timeout_ms = p->o.timeout_ms,
        .mem_mb = p->o.mem_mb,
        .cancel_fd = p->cancel_fd,
        .test_hang = p->o.test_hang,
    };
    pthread_mutex_unlock(&p->mu);

    nf_probe_batch b;
    nf_err err = {{0}};
    int rc = nf_probe_targets(t, k, &bo, &b, &err);
    if (rc)
        nf_warn("dpdk probe could not run", "error=\"%s\"", err.msg);
    else
        for (size_t i = 0; i < b.n_runs; i++)
            nf_info("dpdk probe run", "devices=%zu hugepages=%s wall_ms=%lld error=\"%s\"",
                    b.runs[i].n_results, b.runs[i].hugepages ? "true" : "false",
                    (long long)b.runs[i].wall_ms, b.runs[i].eal_error ? b.runs[i].eal_error : "");

    pthread_mutex_lock(&p->mu);
    uint64_t drain;
    while (read(p->cancel_fd, &drain, sizeof(drain)) > 0)
        ;
    bool cancelled = p->cancel_requested || p->stop;
    p->running = NULL;
    p->n_running = 0;
    p->st.probing = false;
    p->st.runs++;
    if (!rc) {
        p->st.eal_runs += b.n_runs;
        for (size_t i = 0; i < b.n_runs; i++) {
            p->st.last_wall_ms = b.runs[i].wall_ms;
            p->st.last_hugepages = b.runs[i].hugepages;
            if (b.runs[i].eal_error && strcmp(b.runs[i].eal_error, "timeout") == 0)
                p->st.timeouts++;
        }
    }
    int64_t done_ms = nf_mono_ms();
    int64_t wall = (int64_t)time(NULL);
    for (size_t i = 0; i < k; i++) {
        entry *e = find(p, keys[i]);
        if (!e || e->seq != seqs[i] || e->allocated)
            continue; /* changed while probing: the update re-marked it */
        const nf_probe_dev_result *r = rc ? NULL : &b.results[i];
        if (cancelled && r && r->status && strcmp(r->status, "failed: cancelled") == 0) {
            e->dirty = true; /* a victim of someone else's allocation: probe it again */
            continue;
        }
        char msg[NF_ERR_LEN + 32];
        snprintf(msg, sizeof(msg), "failed: probe could not run: %s", err.msg);
        if (set_result(&e->res, r ? r->status : msg, r, wall) == 0) {
            e->has_res = true;
            p->changed = true;
        }
        e->last_probe_ms = done_ms;
    }
    if (!rc)
        nf_probe_batch_free(&b);
    for (size_t i = 0; i < k; i++)
        free(keys[i]);
    free(keys);
    free(t);
    free(seqs);
    if (p->changed && !p->stop) {
        pthread_mutex_unlock(&p->mu);
        notify(p);
        pthread_mutex_lock(&p->mu);
    }
}

static void *thread_main(void *arg)
{
    nf_prober *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = nf_mono_ms();
        bool any = false;
        int64_t next = -1;
        for (size_t i = 0; i < p->n; i++) {
            entry *e = &p->e[i];
            if (due(p, e, now))
                any = true;
            else if (e->present && !e->allocated && p->o.interval_ms > 0) {
                int64_t at = e->last_probe_ms + p->o.interval_ms;
                if (next < 0 || at < next)
                    next = at;
            }
        }
        if (any) {
            run_batch(p);
            continue;
        }
        if (next < 0) {
            pthread_cond_wait(&p->cv, &p->mu);
        } else {
            struct timespec ts = nf_mono_ts(nf_mono_ms() + (next - now));
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- public API ------------------------------------------------------------------------ */

/* Everything nf_prober_start made, once its thread is gone (or was never started). */
static void prober_free(nf_prober *p)
{
    for (size_t i = 0; i < p->n; i++)
        entry_free(&p->e[i]);
    free(p->e);
    if (p->event_fd >= 0)
        close(p->event_fd);
    if (p->cancel_fd >= 0)
        close(p->cancel_fd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    vdev_map_free(p);
    free(p->sysfs_root);
    free(p);
}

int nf_prober_start(const nf_prober_opts *o, nf_prober **out)
{
    *out = NULL;
    nf_prober *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->o = *o;
    p->event_fd = p->cancel_fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    nf_mono_cond_init(&p->cv);
    if (!(p->sysfs_root = strdup(o->sysfs_root ? o->sysfs_root : "/sys"))) {
        prober_free(p);
        return -ENOMEM;
    }
    p->o.sysfs_root = p->sysfs_root;
    p->o.test_vdev_map = NULL; /* parsed below; the caller's string is not kept */
    int rc = o->test_vdev_map && *o->test_vdev_map ? vdev_map_parse(p, o->test_vdev_map) : 0;
    if (rc) {
        prober_free(p);
        return rc;
    }
    if (p->n_vdev)
        nf_warn("TEST HOOK active: VFs are probed as DPDK virtual devices",
                "variable=NUMAFIT_TEST_PROBE_VDEV_MAP entries=%zu", p->n_vdev);
    p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->cancel_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->event_fd < 0 || p->cancel_fd < 0)
        rc = -errno;
    if (!rc && (rc = -pthread_create(&p->thread, NULL, thread_main, p)) == 0) {
        *out = p;
        return 0;
    }
    prober_free(p);
    return rc;
}

void nf_prober_stop(nf_prober *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    uint64_t one = 1;
    if (write(p->cancel_fd, &one, sizeof(one)) < 0) {
        /* already readable */
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    prober_free(p);
}

int nf_prober_fd(const nf_prober *p)
{
    return p->event_fd;
}

void nf_prober_get_stats(nf_prober *p, nf_prober_stats *s)
{
    pthread_mutex_lock(&p->mu);
    *s = p->st;
    s->known = p->n;
    s->pending = 0;
    int64_t now = nf_mono_ms();
    for (size_t i = 0; i < p->n; i++)
        s->pending += due(p, &p->e[i], now) && p->e[i].dirty;
    pthread_mutex_unlock(&p->mu);
}

static void affinity(nf_cpuset *s)
{
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof(cs), &cs) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &cs))
                nf_cpuset_set(s, c);
}

static int64_t free_huge_bytes(const nf_numa_node *n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n->n_hugepages; i++) {
        const nf_hugepages *h = &n->hugepages[i];
        if (h->free > 0 && h->page_bytes > 0 && h->page_bytes < (1ULL << 40) &&
            h->free < (INT64_C(1) << 20))
            total += h->free * (int64_t)h->page_bytes;
    }
    return total;
}

static int track_group(nf_prober *p, const nf_device_group *g, int node, int lcore, bool huge,
                       bool *cancel)
{
    for (size_t i = 0; i < g->n_vfs; i++) {
        const nf_vf *vf = &g->vfs[i];
        if (!vf->pci)
            continue;
        entry *e = find(p, vf->pci);
        bool fresh = false;
        if (!e) {
            if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 16;
                entry *ne = realloc(p->e, cap * sizeof(*ne));
                if (!ne)
                    return -ENOMEM;
                p->e = ne;
                p->cap = cap;
            }
            e = &p->e[p->n];
            memset(e, 0, sizeof(*e));
            e->res.max_rx_queues = NF_UNKNOWN;
            if (!(e->pci = strdup(vf->pci)))
                return -ENOMEM;
            p->n++;
            fresh = true;
        }
        e->present = true;
        bool changed = fresh || !streq(e->driver, vf->driver) ||
                       e->iommu_group != vf->iommu_group || e->numa_node != node ||
                       e->allocated != held(vf);
        e->lcore = lcore;
        e->hugepages = huge;
        if (!changed)
            continue;
        if (nf_strset(&e->driver, vf->driver))
            return -ENOMEM;
        e->iommu_group = vf->iommu_group;
        e->numa_node = node;
        e->seq++;
        bool now_allocated = held(vf) && (!e->allocated || fresh);
        e->allocated = held(vf);
        if (held(vf)) {
            e->dirty = false;
            if (now_allocated || !e->has_res) {
                if (set_result(&e->res, NF_PROBE_ALLOCATED, NULL, (int64_t)time(NULL)))
                    return -ENOMEM;
                e->has_res = true;
                p->changed = true;
            }
            for (size_t r = 0; r < p->n_running; r++)
                if (strcmp(p->running[r], e->pci) == 0)
                    *cancel = true;
        } else {
            e->dirty = true;
            /* the old result no longer describes this VF (rebound, freed, moved): say so
             * until the probe that is now due has run; it does not count as usable */
            if (e->has_res) {
                if (set_result(&e->res, "skipped: probe pending", NULL, (int64_t)time(NULL)))
                    return -ENOMEM;
                p->changed = true;
            }
        }
    }
    return 0;
}

int nf_prober_update(nf_prober *p, const nf_topology *t)
{
    nf_cpuset all_reserved = {0}, allowed = {0};
    if (t->kubelet.reserved_cpus)
        nf_cpuset_parse(t->kubelet.reserved_cpus, &all_reserved, NULL);
    affinity(&allowed);
    int mb = p->o.mem_mb > 0 ? p->o.mem_mb : NF_PROBE_MIN_MEM_MB;
    int rc = 0;
    bool cancel = false;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        p->e[i].present = false;
    for (size_t z = 0; z < t->n_numa_nodes && !rc; z++) {
        const nf_numa_node *n = &t->numa_nodes[z];
        int lcore =
            nf_probe_pick_lcore(&n->cpus.reserved, &all_reserved, &n->cpus.online, &allowed);
        if (lcore < 0)
            lcore = nf_cpuset_next(&allowed, 0);
        /* the automatic size grows by 2 MiB per device: leave room for a few dozen VFs */
        bool huge = !p->o.no_huge && free_huge_bytes(n) >= ((int64_t)mb + 64) << 20;
        for (size_t g = 0; g < n->n_devices && !rc; g++)
            rc = track_group(p, &n->devices[g], n->id, lcore, huge, &cancel);
    }
    int lcore = nf_probe_pick_lcore(NULL, &all_reserved, NULL, &allowed);
    if (lcore < 0)
        lcore = nf_cpuset_next(&allowed, 0);
    for (size_t g = 0; g < t->n_unplaced_devices && !rc; g++)
        rc = track_group(p, &t->unplaced_devices[g], -1, lcore, false, &cancel);
    if (!rc) {
        size_t w = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->e[i].present)
                p->e[w++] = p->e[i];
            else
                entry_free(&p->e[i]);
        }
        p->n = w;
    }
    if (cancel) {
        p->cancel_requested = true;
        uint64_t one = 1;
        if (write(p->cancel_fd, &one, sizeof(one)) < 0) {
            /* already readable */
        }
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    nf_cpuset_free(&all_reserved);
    nf_cpuset_free(&allowed);
    return rc;
}

static int copy_probe(nf_probe_result *dst, const nf_probe_dev_result *src)
{
    nf_probe_result r = {.max_rx_queues = src->max_rx_queues, .checked_at = src->checked_at};
    if (nf_strset(&r.status, src->status) || nf_strset(&r.pmd, src->pmd) ||
        nf_strset(&r.mac, src->mac) || nf_strset(&r.link, src->link)) {
        free(r.status);
        free(r.pmd);
        free(r.mac);
        free(r.link);
        return -ENOMEM;
    }
    free(dst->status);
    free(dst->pmd);
    free(dst->mac);
    free(dst->link);
    *dst = r;
    return 0;
}

static int annotate_group(nf_prober *p, nf_device_group *g)
{
    for (size_t i = 0; i < g->n_vfs; i++) {
        nf_vf *vf = &g->vfs[i];
        entry *e = vf->pci ? find(p, vf->pci) : NULL;
        nf_probe_dev_result allocated = {.status = (char *)NF_PROBE_ALLOCATED,
                                         .max_rx_queues = NF_UNKNOWN,
                                         .checked_at = (int64_t)time(NULL)};
        const nf_probe_dev_result *src = NULL;
        if (held(vf))
            src = e && e->has_res && e->allocated ? &e->res : &allocated;
        else if (e && e->has_res && !e->allocated)
            src = &e->res;
        if (src && copy_probe(&vf->probe, src))
            return -ENOMEM;
    }
    return 0;
}

int nf_prober_annotate(nf_prober *p, nf_topology *t)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t z = 0; z < t->n_numa_nodes && !rc; z++) {
        nf_numa_node *n = &t->numa_nodes[z];
        for (size_t g = 0; g < n->n_devices && !rc; g++)
            rc = annotate_group(p, &n->devices[g]);
        /* usable per resource, summed over every group of that resource on this node */
        for (size_t g = 0; g < n->n_devices && !rc; g++) {
            const char *name = n->devices[g].resource;
            bool seen = false;
            for (size_t h = 0; name && h < g && !seen; h++)
                seen = streq(n->devices[h].resource, name);
            nf_resource *r = name && !seen ? nf_numa_resource(n, name) : NULL;
            if (!r)
                continue;
            int64_t ok = 0;
            bool unknown = false;
            for (size_t h = g; h < n->n_devices; h++) {
                const nf_device_group *dg = &n->devices[h];
                if (!streq(dg->resource, name))
                    continue;
                for (size_t i = 0; i < dg->n_vfs; i++) {
                    const nf_vf *vf = &dg->vfs[i];
                    unknown |= vf->allocation_unknown;
                    if (held(vf))
                        continue;
                    const entry *e = vf->pci ? find(p, vf->pci) : NULL;
                    if (!e || !e->has_res || e->allocated)
                        unknown = true;
                    else if (e->res.status && strcmp(e->res.status, "ok") == 0)
                        ok++;
                }
            }
            /* without DPDK nothing is ever probed: `usable` stays absent (DESIGN.md) */
            r->usable = unknown || !nf_probe_have_dpdk() ? NF_UNKNOWN : ok;
        }
    }
    for (size_t g = 0; g < t->n_unplaced_devices && !rc; g++)
        rc = annotate_group(p, &t->unplaced_devices[g]);
    int changed = p->changed;
    if (!rc)
        p->changed = false;
    pthread_mutex_unlock(&p->mu);
    return rc ? rc : changed;
}
