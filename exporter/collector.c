/* collector.c - one refresh of the node's NodeTopology (see collector.h). */
#include "collector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dpdk_probe.h"
#include "kubelet_device_checkpoint.h"
#include "kubelet_view.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"
#include "sriov_config.h"
#include "sysfs_machine.h"
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
    char *pub;         /* the last published text, */
    size_t pub_len;
    size_t pub_at; /* and where its observedAt value starts (0: not known) */
    uint64_t generation;
    char **watch_dirs;
    size_t n_watch_dirs;
    /* input problems as last logged (warned at start and on change, not on every refresh) */
    char *problems[NF_COLLECTOR_INPUTS];
    char sriov_problem[512]; /* "" when none */
    nf_podres_disagreement disagree;
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

    char *pr_default = nf_path_join(kdir, "pod-resources", "kubelet.sock", NULL);
    const char *pr = o->podres_socket ? o->podres_socket : pr_default;
    nf_kubelet_opts ko = {.kubelet_dir = kdir,
                          .config_path = o->kubelet_config,
                          .procfs_root = procfs,
                          .reserved_cpus = o->reserved_cpus,
                          .grace_ms = o->kubelet_grace_ms,
                          .podres_socket = pr && *pr && strcmp(pr, "none") != 0 ? pr : NULL,
                          .podres_timeout_ms = o->podres_timeout_ms,
                          .podres_interval_ms = o->podres_interval_ms};
    rc = pr_default ? nf_kubelet_view_new_err(&ko, &c->kubelet, err) : -ENOMEM;
    free(pr_default);
    if (rc)
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
                             /* test hook only (prober.h): VFs probed as vdevs */
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
    free(c->pub);
    for (size_t i = 0; i < c->n_watch_dirs; i++)
        free(c->watch_dirs[i]);
    free(c->watch_dirs);
    free(c->sriov_error);
    for (size_t i = 0; i < NF_COLLECTOR_INPUTS; i++)
        free(c->problems[i]);
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

int nf_collector_podres_fd(const nf_collector *c)
{
    return nf_kubelet_view_podres_fd(c->kubelet);
}

void nf_collector_podres_kick(nf_collector *c)
{
    nf_kubelet_view_podres_kick(c->kubelet);
}

void nf_collector_podres_disagreement(const nf_collector *c, nf_podres_disagreement *out)
{
    *out = c->disagree;
}

int nf_collector_probe_fd(const nf_collector *c)
{
    return c->prober ? nf_prober_fd(c->prober) : -1;
}

/* Timestamps are not published numbers: blank them for the generation comparison. Returns
 * whether any was set. */
static bool clear_timestamps(nf_topology *t, int64_t *saved, size_t cap, bool restore)
{
    size_t k = 0;
    bool any = false;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        for (size_t g = 0; g < n->n_devices; g++) {
            for (size_t v = 0; v < n->devices[g].n_vfs && k < cap; v++, k++) {
                int64_t *at = &n->devices[g].vfs[v].probe.checked_at;
                if (restore) {
                    *at = saved[k];
                } else {
                    saved[k] = *at;
                    any |= *at != 0;
                    *at = 0;
                }
            }
        }
    }
    return any;
}

static size_t count_vfs(const nf_topology *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        for (size_t g = 0; g < t->numa_nodes[i].n_devices; g++)
            k += t->numa_nodes[i].devices[g].n_vfs;
    return k;
}

/* The SR-IOV config against kubelet's checkpoint (judged only when the checkpoint lists
 * registered devices): a config of which kubelet registered no VF under the name the config
 * gives it is not the device plugin's own config; a config naming VFs differently from kubelet
 * lost to kubelet's names. Fills c->sriov_problem ("" when fine). */
static void check_sriov(nf_collector *c, const nf_device_checkpoint *dc,
                        const nf_sriov_naming_stats *st)
{
    c->sriov_problem[0] = '\0';
    if (!c->sriov || !dc || !dc->n_registered || !st->config_named)
        return;
    if (!st->config_agrees) {
        char kres[256] = "";
        for (size_t i = 0; i < dc->n_registered; i++) {
            const char *r = dc->registered[i].key;
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                seen = strcmp(dc->registered[k].key, r) == 0;
            size_t l = strlen(kres);
            if (!seen && l + strlen(r) + 3 < sizeof(kres))
                snprintf(kres + l, sizeof(kres) - l, "%s%s", l ? ", " : "", r);
        }
        snprintf(c->sriov_problem, sizeof(c->sriov_problem),
                 "the SR-IOV config names %zu VFs of this node, and kubelet registered none of "
                 "them under that resource name (kubelet registered %zu devices: %s): is it the "
                 "device plugin's own config?",
                 st->config_named, dc->n_registered, kres);
    } else if (st->disagree) {
        snprintf(c->sriov_problem, sizeof(c->sriov_problem),
                 "the SR-IOV config and kubelet's device checkpoint name %zu VFs differently; "
                 "kubelet's names are published (%s)",
                 st->disagree, st->example);
    }
}

/* Warn about an input problem when it appears or changes, say when it is gone; put every
 * current problem in errors[]. */
static int report_inputs(nf_collector *c, nf_topology *t)
{
    nf_kubelet_input in[NF_COLLECTOR_INPUTS];
    size_t n = nf_collector_inputs(c, in, NF_COLLECTOR_INPUTS);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *p = in[i].problem, *old = c->problems[i];
        if (p && !(old && strcmp(old, p) == 0))
            nf_warn("input problem", "input=%s problem=\"%s\"", in[i].input, p);
        else if (!p && old)
            nf_info("input problem resolved", "input=%s", in[i].input);
        if ((rc = nf_strset(&c->problems[i], p)))
            break;
        if (p)
            rc = nf_topology_add_error(t, "%s", p);
    }
    return rc;
}

size_t nf_collector_inputs(const nf_collector *c, nf_kubelet_input *out, size_t cap)
{
    nf_kubelet_input all[NF_COLLECTOR_INPUTS];
    nf_kubelet_view_inputs(c->kubelet, all);
    all[NF_KUBELET_INPUTS] = (nf_kubelet_input){.input = "sriovConfig",
                                                .problem = c->sriov_error        ? c->sriov_error
                                                           : c->sriov_problem[0] ? c->sriov_problem
                                                                                 : NULL};
    size_t n = cap < NF_COLLECTOR_INPUTS ? cap : NF_COLLECTOR_INPUTS;
    memcpy(out, all, n * sizeof(*out));
    return n;
}

static int build(nf_collector *c, nf_topology *t)
{
    int rc;
    if (!(t->node = strdup(c->node_name)))
        return -ENOMEM;
    if ((rc = nf_machine_read(c->machine, t)))
        return rc;
    /* kubelet's checkpoint names the VFs its device plugins registered; the config the rest */
    const nf_device_checkpoint *dc = nf_kubelet_view_devices(c->kubelet);
    nf_sriov_naming nm = {.cfg = c->sriov,
                          .registered = dc ? dc->registered : NULL,
                          .n_registered = dc ? dc->n_registered : 0};
    nf_sriov_naming_stats st;
    if ((rc = nf_sriov_scan_named(c->sysfs_root, &nm, t, &st)))
        return rc;
    if ((rc = nf_kubelet_view_apply(c->kubelet, t)) ||
        (rc = nf_kubelet_view_compare(c->kubelet, t, &c->disagree)))
        return rc;
    nf_kubelet_unknown u;
    nf_kubelet_view_unknown(c->kubelet, &u);
    if ((rc = nf_zone_resources_compute_known(t, &u)))
        return rc;
    check_sriov(c, dc, &st);
    if ((rc = report_inputs(c, t)))
        return rc;
    if (c->prober) {
        nf_prober_update(c->prober, t);
        nf_prober_annotate(c->prober, t);
    }
    return 0;
}

/* observedAt as nf_topology_to_json encodes it (RFC 3339 string, null for 0), as JSON text */
static const char *stamp_text(int64_t observed_at, char buf[40])
{
    if (observed_at <= 0)
        return "null";
    char when[32];
    nf_format_rfc3339(observed_at, when);
    snprintf(buf, 40, "\"%s\"", when);
    return buf;
}

/* Set the top-level generation and observedAt of an encoded document. Replacing a key keeps its
 * place. -ENOENT when the document does not have them. */
static int set_stamps(json_t *doc, uint64_t generation, int64_t observed_at)
{
    if (!json_object_get(doc, "generation") || !json_object_get(doc, "observedAt"))
        return -ENOENT;
    json_t *when = json_null();
    if (observed_at > 0) {
        char buf[32];
        nf_format_rfc3339(observed_at, buf);
        when = json_string(buf);
    }
    if (json_object_set_new(doc, "generation", json_integer((json_int_t)generation)) != 0 ||
        json_object_set_new(doc, "observedAt", when) != 0)
        return -ENOMEM;
    return 0;
}

/* Where the top-level observedAt value starts in compact text, or 0. Its key follows only
 * scalars (apiVersion, kind, node, generation), and `,"` cannot occur inside a JSON string (a
 * quote there is escaped), so the first `,"observedAt":` is the top-level one. */
static size_t find_stamp(const char *text)
{
    static const char key[] = ",\"observedAt\":";
    const char *p = strstr(text, key);
    return p ? (size_t)(p - text) + sizeof(key) - 1 : 0;
}

/* Keep the published text for the next unchanged refresh (NULL: forget it). */
static void keep_pub(nf_collector *c, const char *doc, size_t len)
{
    free(c->pub);
    c->pub = NULL;
    c->pub_len = c->pub_at = 0;
    if (doc && (c->pub = malloc(len + 1))) {
        memcpy(c->pub, doc, len + 1);
        c->pub_len = len;
        c->pub_at = find_stamp(c->pub);
    }
}

/* The previous text with a new observedAt put in place (same generation, same numbers), or
 * NULL when that cannot be done (unknown place, value of another length). */
static char *restamp_pub(nf_collector *c, int64_t observed_at)
{
    if (!c->pub || !c->pub_at)
        return NULL;
    char buf[40];
    const char *v = stamp_text(observed_at, buf);
    size_t vl = strlen(v);
    if (c->pub_at + vl > c->pub_len)
        return NULL;
    const char *old = c->pub + c->pub_at, *end = NULL;
    if (*old == '"')
        end = strchr(old + 1, '"');
    else if (strncmp(old, "null", 4) == 0)
        end = old + 3;
    if (!end || (size_t)(end - old) + 1 != vl) /* "..." or null, as long as the new value */
        return NULL;
    memcpy(c->pub + c->pub_at, v, vl);
    char *doc = malloc(c->pub_len + 1);
    if (doc)
        memcpy(doc, c->pub, c->pub_len + 1);
    return doc;
}

/* One refresh costs one encode: the document is encoded without timestamps and compared with
 * the previous one; when it is equal, the previous text is published again with the new
 * observedAt; otherwise its stamps are set and it is written out. Probe times sit inside the
 * VFs: with any of them, the document is encoded again with them. */
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
    bool probe_times = clear_timestamps(&t, saved, nvf, false);
    json_t *cmp = nf_topology_to_json(&t); /* generation 0, observedAt null */
    clear_timestamps(&t, saved, nvf, true);
    free(saved);

    *changed = !c->last || !cmp || !json_equal(cmp, c->last);
    if (*changed)
        c->generation++;
    t.generation = c->generation;
    t.observed_at = (int64_t)time(NULL);
    *doc = NULL;
    if (!*changed && !probe_times && (*doc = restamp_pub(c, t.observed_at))) {
        *len = c->pub_len;
    } else {
        if (cmp && !probe_times && set_stamps(cmp, t.generation, t.observed_at) == 0) {
            *doc = json_dumps(cmp, JSON_COMPACT);
            if (set_stamps(cmp, 0, 0) != 0) {
                json_decref(cmp); /* not a valid reference any more */
                cmp = NULL;
            }
        } else {
            json_t *pub = nf_topology_to_json(&t);
            *doc = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
            json_decref(pub);
        }
        if (*doc)
            *len = strlen(*doc);
        keep_pub(c, probe_times ? NULL : *doc, *doc ? *len : 0);
    }
    nf_topology_free(&t);
    if (*changed && cmp) {
        json_decref(c->last);
        c->last = cmp;
    } else {
        json_decref(cmp);
        if (*changed) { /* no reference: the next refresh counts as a change */
            json_decref(c->last);
            c->last = NULL;
        }
    }
    if (!*doc)
        return -ENOMEM;
    *generation = c->generation;
    return 0;
}
