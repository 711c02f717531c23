/* collector.c - one refresh of the node's NodeTopology (see collector.h). */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dpdk_probe.h"
#include "kubelet_view.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"
#include "sriov_config.h"
#include "sysfs_numa.h"
#include "sysfs_sriov.h"
#include "zone_resources.h"

struct nf_collector {
    char *node_name;
    char *sysfs_root;
    nf_machine *machine;
    nf_sriov_config *sriov; /* NULL: no config, or it could not be read (see sriov_error) */
    char *sriov_error;
    nf_kubelet_view *kubelet;
    nf_prober *prober; /* NULL when the probe is off */
    json_t *last;      /* the previous document without its timestamps */
    uint64_t generation;
    char **watch_dirs;
    size_t n_watch_dirs;
};

static char *default_node_name(void)
{
    const char *env = getenv("NODE_NAME");
    if (env && *env)
        return strdup(env);
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
        strcpy(host, "unknown");
    return strdup(host);
}

static int add_watch_dir(nf_collector *c, const char *dir)
{
    char **d = realloc(c->watch_dirs, (c->n_watch_dirs + 1) * sizeof(*d));
    if (!d)
        return -ENOMEM;
    c->watch_dirs = d;
    if (!(d[c->n_watch_dirs] = strdup(dir)))
        return -ENOMEM;
    c->n_watch_dirs++;
    return 0;
}

int nf_collector_new(const nf_collector_opts *o, nf_collector **out, nf_err *err)
{
    nf_collector *c = calloc(1, sizeof(*c));
    if (!c)
        return nf_errf(err, -ENOMEM, "out of memory");
    const char *sysfs = o->sysfs_root ? o->sysfs_root : "/sys";
    const char *procfs = o->procfs_root ? o->procfs_root : "/proc";
    const char *kdir = o->kubelet_dir ? o->kubelet_dir : "/var/lib/kubelet";
    int rc = -ENOMEM;
    c->node_name = o->node_name ? strdup(o->node_name) : default_node_name();
    c->sysfs_root = strdup(sysfs);
    if (!c->node_name || !c->sysfs_root)
        goto fail;
    if ((rc = nf_machine_open(sysfs, procfs, &c->machine, err)))
        goto fail;

    if (o->sriov_config) {
        nf_err e;
        if (nf_sriov_config_load(o->sriov_config, &c->sriov, &e)) {
            /* A broken ConfigMap must not take the node's whole topology down: publish it. */
            nf_error("cannot read the SR-IOV config; VFs are published without resource names",
                     "path=\"%s\" error=\"%s\"", o->sriov_config, e.msg);
            if (asprintf(&c->sriov_error, "sriov config: error: %s", e.msg) < 0)
                c->sriov_error = NULL;
        }
    }

    nf_kubelet_opts ko = {
        .kubelet_dir = kdir, .config_path = o->kubelet_config, .reserved_cpus = o->reserved_cpus};
    if ((rc = nf_kubelet_view_new_err(&ko, &c->kubelet, err)))
        goto fail;

    /* watch the directories of kubelet's files (it replaces them by rename) */
    size_t nw;
    const nf_kubelet_watch *w = nf_kubelet_view_watches(c->kubelet, &nw);
    for (size_t i = 0; i < nw && !rc; i++) {
        bool seen = false;
        for (size_t k = 0; k < c->n_watch_dirs; k++)
            seen |= strcmp(c->watch_dirs[k], w[i].dir) == 0;
        if (!seen)
            rc = add_watch_dir(c, w[i].dir);
    }
    if (rc)
        goto fail;

    if (o->probe) {
        nf_prober_opts po = {.interval_ms = o->probe_interval_ms,
                             .timeout_ms = o->probe_timeout_ms,
                             .sysfs_root = sysfs,
                             /* test hook only (probe_manager.h): VFs probed as vdevs */
                             .test_vdev_map = getenv("NUMAFIT_TEST_PROBE_VDEV_MAP")};
        if ((rc = nf_prober_start(&po, &c->prober))) {
            nf_errf(err, rc, "DPDK probe: %s", nf_strerror(rc));
            goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    if (rc == -ENOMEM)
        nf_errf(err, rc, "out of memory");
    nf_collector_free(c);
    return rc;
}

void nf_collector_free(nf_collector *c)
{
    if (!c)
        return;
    if (c->prober)
        nf_prober_stop(c->prober);
    nf_kubelet_view_free(c->kubelet);
    nf_sriov_config_free(c->sriov);
    nf_machine_free(c->machine);
    json_decref(c->last);
    for (size_t i = 0; i < c->n_watch_dirs; i++)
        free(c->watch_dirs[i]);
    free(c->watch_dirs);
    free(c->sriov_error);
    free(c->sysfs_root);
    free(c->node_name);
    free(c);
}

void nf_collector_reload_kubelet(nf_collector *c)
{
    nf_kubelet_view_reload(c->kubelet);
}

const char *const *nf_collector_watch_dirs(const nf_collector *c, size_t *n)
{
    *n = c->n_watch_dirs;
    return (const char *const *)c->watch_dirs;
}

int nf_collector_probe_fd(const nf_collector *c)
{
    return c->prober ? nf_prober_fd(c->prober) : -1;
}

/* Timestamps are not published numbers: blank them for the generation comparison. */
static void clear_timestamps(nf_topology *t, int64_t *saved, size_t cap, bool restore)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        for (size_t g = 0; g < n->n_devices; g++) {
            for (size_t v = 0; v < n->devices[g].n_vfs && k < cap; v++, k++) {
                int64_t *at = &n->devices[g].vfs[v].probe.checked_at;
                if (restore) {
                    *at = saved[k];
                } else {
                    saved[k] = *at;
                    *at = 0;
                }
            }
        }
    }
}

static size_t count_vfs(const nf_topology *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        for (size_t g = 0; g < t->numa_nodes[i].n_devices; g++)
            k += t->numa_nodes[i].devices[g].n_vfs;
    return k;
}

static int build(nf_collector *c, nf_topology *t)
{
    int rc;
    if (!(t->node = strdup(c->node_name)))
        return -ENOMEM;
    if ((rc = nf_machine_read(c->machine, t)))
        return rc;
    if ((rc = nf_sriov_scan(c->sysfs_root, c->sriov, t)))
        return rc;
    if (c->sriov_error && (rc = nf_topology_add_error(t, "%s", c->sriov_error)))
        return rc;
    if ((rc = nf_kubelet_view_apply(c->kubelet, t)))
        return rc;
    if ((rc = nf_zone_resources_compute(t)))
        return rc;
    if (c->prober) {
        nf_prober_update(c->prober, t);
        nf_prober_annotate(c->prober, t);
    }
    return 0;
}

int nf_collector_refresh(nf_collector *c, char **doc, size_t *len, uint64_t *generation,
                         bool *changed)
{
    nf_topology t = {0};
    int rc = build(c, &t);
    if (rc) {
        nf_topology_free(&t);
        return rc;
    }

    size_t nvf = count_vfs(&t);
    int64_t *saved = calloc(nvf ? nvf : 1, sizeof(*saved));
    if (!saved) {
        nf_topology_free(&t);
        return -ENOMEM;
    }
    clear_timestamps(&t, saved, nvf, false);
    json_t *cmp = nf_topology_to_json(&t);
    clear_timestamps(&t, saved, nvf, true);
    free(saved);

    *changed = !c->last || !cmp || !json_equal(cmp, c->last);
    if (*changed) {
        c->generation++;
        json_decref(c->last);
        c->last = cmp;
    } else {
        json_decref(cmp);
    }
    t.generation = c->generation;
    t.observed_at = (int64_t)time(NULL);
    json_t *pub = nf_topology_to_json(&t);
    nf_topology_free(&t);
    if (!pub)
        return -ENOMEM;
    *doc = json_dumps(pub, JSON_COMPACT);
    json_decref(pub);
    if (!*doc)
        return -ENOMEM;
    *len = strlen(*doc);
    *generation = c->generation;
    return 0;
}
