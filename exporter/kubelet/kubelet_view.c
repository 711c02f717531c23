/* kubelet_view.c - last good view of kubelet's files, applied to a topology (see kubelet_view.h).
 */
#include "kubelet_view.h"

#include <ctype.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "kubelet_config.h"
#include "kubelet_config_find.h"
#include "kubelet_cpu_state.h"
#include "kubelet_device_checkpoint.h"
#include "kubelet_json.h"
#include "kubelet_memory_state.h"
#include "kubelet_take_by_topology.h"
#include "numafit/clock.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/topology_json.h" /* nf_format_rfc3339 */
#include "podres_poller.h"

typedef int (*parse_fn)(const char *text, size_t len, const char *what, void *out, nf_err *err);
typedef void (*free_fn)(void *data);

/* kubelet writes its state files itself, as regular files: refuse a link in their place */
#define STATE_READ (NF_READ_NOFOLLOW | NF_READ_TEXT)

/* One file and its last good parsed content. */
typedef struct source {
    char *path;
    const char *label; /* "kubelet config", "cpu_manager_state", ... (messages) */
    int read_flags;    /* nf_read_file_flags */
    char *status;      /* "ok" | "absent" | "error: ..." */
    char *last_read;   /* bytes of the last successful read, NULL when there was none */
    size_t last_len;
    bool have_good;    /* data holds a parsed good view, in use */
    bool dropped;      /* a good view was lost and its grace ran out: the numbers are unknown */
    char *problem;     /* why the file cannot be used now (NULL when it can) */
    bool missing;      /* the problem is that the file does not exist */
    int64_t good_at;   /* wall seconds of the read that gave the good view */
    int64_t good_mono; /* the same on the monotonic clock (when its data last changed) */
    int64_t lost_at;   /* wall seconds of the first read that failed while a good view existed */
    int64_t lost_mono; /* the same on the monotonic clock (the grace period runs on it) */
    void *data;        /* the parsed struct (owned, fixed size) */
    size_t data_size;
    parse_fn parse;
    free_fn free;
    /* the kubelet config only: drop-ins merged over path (NULL: none), path itself a drop-in
     * directory when kubelet runs with --config-dir but no --config; the files of the last good
     * read, in merge order */
    char *dropin_dir;
    bool no_main;
    char *files;
} source;

struct nf_kubelet_view {
    char *kubelet_dir;
    bool has_flag;
    nf_cpuset flag_cpus;
    int64_t grace_ms;
    bool dir_missing; /* --kubelet-dir is not a directory */
    source cfg, cpu, mem, dev, pr;
    nf_kubelet_config config;
    nf_cpu_state cpu_state;
    nf_memory_state mem_state;
    nf_device_checkpoint dev_state;
    nf_podres_state pr_state;
    nf_podres_poller *poller; /* NULL: podresources not used */
    int64_t pr_asked_mono;    /* when the fetch of the good podresources view began */
    char *watch_dirs[4];
    nf_kubelet_watch watches[5];
    size_t n_watches;
    bool mem_static; /* the last good memory_manager_state said policyName Static */
    char *why[5];    /* nf_kubelet_unknown, in its order */
    char *problems[NF_KUBELET_INPUTS];
};

static int parse_cfg(const char *t, size_t l, const char *w, void *o, nf_err *e)
{
    return nf_kubelet_config_parse(t, l, w, o, e);
}
static int parse_cpu(const char *t, size_t l, const char *w, void *o, nf_err *e)
{
    return nf_cpu_state_parse(t, l, w, o, e);
}
static int parse_mem(const char *t, size_t l, const char *w, void *o, nf_err *e)
{
    return nf_memory_state_parse(t, l, w, o, e);
}
static int parse_dev(const char *t, size_t l, const char *w, void *o, nf_err *e)
{
    return nf_device_checkpoint_parse(t, l, w, o, e);
}
static void free_cfg(void *d)
{
    nf_kubelet_config_free(d);
}
static void free_cpu(void *d)
{
    nf_cpu_state_free(d);
}
static void free_mem(void *d)
{
    nf_memory_state_free(d);
}
static void free_dev(void *d)
{
    nf_device_checkpoint_free(d);
}
static void free_pr(void *d)
{
    nf_podres_state_free(d);
}

static void source_free(source *s)
{
    if (s->have_good)
        s->free(s->data);
    free(s->path);
    free(s->status);
    free(s->problem);
    free(s->last_read);
    free(s->dropin_dir);
    free(s->files);
}

/* Set the status; returns 1 when it changed, -ENOMEM on failure. */
static int set_status(source *s, const char *status)
{
    if (s->status && strcmp(s->status, status) == 0)
        return 0;
    int rc = nf_strset(&s->status, status);
    return rc ? rc : 1;
}

static void drop_good(source *s)
{
    if (s->have_good)
        s->free(s->data);
    s->have_good = false;
}

/* The status that says what the source is now (statuses in kubelet_view.h). Only event times
 * appear in it, never a running age, so it stays the same from one refresh to the next. */
static int update_status(source *s, int64_t grace_ms)
{
    char good[32], lost[32], msg[NF_ERR_LEN + 256];
    if (!s->problem)
        return set_status(s, "ok");
    if (!s->have_good && !s->dropped) { /* never had a good view */
        if (s->missing)
            return set_status(s, "absent");
        snprintf(msg, sizeof(msg), "error: %s", s->problem);
        return set_status(s, msg);
    }
    nf_format_rfc3339(s->good_at, good);
    nf_format_rfc3339(s->lost_at, lost);
    if (s->have_good)
        snprintf(msg, sizeof(msg),
                 "error: %s (since %s); keeping the last good view, read at %s, for the %llds "
                 "grace period",
                 s->problem, lost, good, (long long)(grace_ms / 1000));
    else
        snprintf(msg, sizeof(msg),
                 "error: %s (since %s); the last good view, read at %s, was dropped after the "
                 "%llds grace period: what it fed is unknown",
                 s->problem, lost, good, (long long)(grace_ms / 1000));
    return set_status(s, msg);
}

/* A problem with the file (NULL: none). Returns 1 when the problem text changed. */
static int set_problem(source *s, const char *problem, bool missing, int64_t now_mono,
                       int64_t now_wall)
{
    if (problem && s->have_good && !s->problem) {
        s->lost_at = now_wall;
        s->lost_mono = now_mono;
    }
    s->missing = problem && missing;
    if (!problem) {
        bool was = s->problem != NULL;
        free(s->problem);
        s->problem = NULL;
        return was;
    }
    if (s->problem && strcmp(s->problem, problem) == 0)
        return 0;
    char *copy = strdup(problem);
    if (!copy)
        return -ENOMEM;
    free(s->problem);
    s->problem = copy;
    return 1;
}

static bool blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]))
            return false;
    return true;
}

/* After a read: drop a lost view past its grace period, update the status. Returns changed, or
 * 1 when the status changed, or -ENOMEM. */
static int source_settle(source *s, int changed, int64_t grace_ms, int64_t now_mono)
{
    if (s->problem && s->have_good && now_mono - s->lost_mono >= grace_ms) {
        drop_good(s);
        s->dropped = true;
        changed = 1;
    }
    int rc = update_status(s, grace_ms);
    return rc < 0 ? rc : (changed | rc);
}

/* data (s->data_size bytes, taken) becomes the good view: 1, or -ENOMEM. */
static int source_adopt(source *s, const void *data, int64_t now_mono, int64_t now_wall)
{
    drop_good(s);
    memcpy(s->data, data, s->data_size);
    s->have_good = true;
    s->dropped = false;
    s->good_at = now_wall;
    s->good_mono = now_mono;
    int rc = set_problem(s, NULL, false, now_mono, now_wall);
    return rc < 0 ? rc : 1;
}

/* Re-read one source; 1 = changed, 0 = not, -ENOMEM.
 *
 * A file that was readable and disappears, empties or stops parsing keeps its last good view
 * for grace_ms (kubelet rewrites its files on restart, an editor truncates before it writes);
 * after that the view is dropped and what it fed becomes unknown, never "all free". */
static int source_reload(source *s, int64_t grace_ms, int64_t now_mono, int64_t now_wall)
{
    char *text = NULL, msg[NF_ERR_LEN + 64];
    size_t len = 0;
    nf_err e = {{0}};
    int changed = 0, rc;
    bool missing = false, failed = true;
    char *files = NULL;
    if (s->dropin_dir)
        rc = nf_kubelet_config_read(s->no_main ? NULL : s->path, s->dropin_dir, NF_KUBELET_MAX_FILE,
                                    &text, &len, &files, &e);
    else
        rc = nf_read_file_flags(s->path, NF_KUBELET_MAX_FILE, s->read_flags, &text, &len, &e);
    if (rc == -ENOMEM)
        return rc;
    if (rc) {
        free(s->last_read);
        s->last_read = NULL;
        missing = rc == -ENOENT || rc == -ENOTDIR;
    } else if (s->last_read && len == s->last_len && memcmp(text, s->last_read, len) == 0) {
        free(text); /* the same bytes: the same outcome as last time */
        failed = false;
    } else {
        free(s->last_read);
        s->last_read = text;
        s->last_len = len;
        void *tmp = calloc(1, s->data_size);
        if (!tmp)
            return -ENOMEM;
        rc = blank(text, len) ? -ENODATA : s->parse(text, len, s->path, tmp, &e);
        if (rc) {
            free(tmp);
            if (rc == -ENOMEM)
                return rc;
        } else {
            rc = source_adopt(s, tmp, now_mono, now_wall);
            free(tmp);
            if (rc < 0)
                return rc;
            failed = false;
            if (files && !(s->files && strcmp(s->files, files) == 0)) {
                nf_info("kubelet config files", "files=\"%s\"", files);
                free(s->files);
                s->files = files;
                files = NULL;
            }
            changed = 1; /* new data */
        }
    }
    if (failed) {
        if (missing)
            snprintf(msg, sizeof(msg), "%s: no such file", s->path);
        else if (rc == -ENODATA)
            snprintf(msg, sizeof(msg), "%s: empty file", s->path);
        else
            snprintf(msg, sizeof(msg), "%s", e.msg);
        if ((rc = set_problem(s, msg, missing, now_mono, now_wall)) < 0)
            return rc;
        changed |= rc;
    }
    free(files);
    return source_settle(s, changed, grace_ms, now_mono);
}

static int source_init(source *s, char *path, const char *label, int read_flags, void *data,
                       size_t size, parse_fn p, free_fn f)
{
    s->path = path;
    s->label = label;
    s->read_flags = read_flags;
    s->data = data;
    s->data_size = size;
    s->parse = p;
    s->free = f;
    return path ? 0 : -ENOMEM;
}

void nf_kubelet_view_free(nf_kubelet_view *v)
{
    if (!v)
        return;
    source_free(&v->cfg);
    source_free(&v->cpu);
    source_free(&v->mem);
    source_free(&v->dev);
    nf_podres_poller_stop(v->poller); /* before its source: the thread is gone */
    source_free(&v->pr);
    nf_cpuset_free(&v->flag_cpus);
    for (size_t i = 0; i < 4; i++)
        free(v->watch_dirs[i]);
    for (size_t i = 0; i < 5; i++)
        free(v->why[i]);
    for (size_t i = 0; i < NF_KUBELET_INPUTS; i++)
        free(v->problems[i]);
    free(v->kubelet_dir);
    free(v);
}

int nf_kubelet_view_new_err(const nf_kubelet_opts *o, nf_kubelet_view **out, nf_err *err)
{
    nf_kubelet_view *v = calloc(1, sizeof(*v));
    if (!v)
        return nf_errf(err, -ENOMEM, "out of memory");
    const char *dir = o->kubelet_dir ? o->kubelet_dir : "/var/lib/kubelet";
    int rc = -ENOMEM;
    v->grace_ms = o->grace_ms > 0 ? o->grace_ms : NF_KUBELET_GRACE_DEFAULT_MS;
    if (o->reserved_cpus) {
        nf_err e;
        if ((rc = nf_cpuset_parse(o->reserved_cpus, &v->flag_cpus, &e))) {
            nf_errf(err, rc, "--reserved-cpus: %s", e.msg);
            nf_kubelet_view_free(v);
            return rc;
        }
        v->has_flag = true;
        rc = -ENOMEM;
    }
    if (!(v->kubelet_dir = strdup(dir)) ||
        source_init(&v->cpu, nf_path_join(dir, "cpu_manager_state", NULL), "cpu_manager_state",
                    STATE_READ, &v->cpu_state, sizeof(v->cpu_state), parse_cpu, free_cpu) ||
        source_init(&v->mem, nf_path_join(dir, "memory_manager_state", NULL),
                    "memory_manager_state", STATE_READ, &v->mem_state, sizeof(v->mem_state),
                    parse_mem, free_mem) ||
        source_init(&v->dev,
                    nf_path_join(dir, "device-plugins", "kubelet_internal_checkpoint", NULL),
                    "device checkpoint", STATE_READ, &v->dev_state, sizeof(v->dev_state), parse_dev,
                    free_dev) ||
        !(v->watch_dirs[0] = strdup(dir)) ||
        !(v->watch_dirs[1] = nf_path_join(dir, "device-plugins", NULL)))
        goto fail;
    v->watches[0] = (nf_kubelet_watch){v->watch_dirs[0], "cpu_manager_state"};
    v->watches[1] = (nf_kubelet_watch){v->watch_dirs[0], "memory_manager_state"};
    v->watches[2] = (nf_kubelet_watch){v->watch_dirs[1], "kubelet_internal_checkpoint"};
    v->n_watches = 3;
    nf_kubelet_config_where where;
    if (nf_kubelet_config_find(o->config_path, o->procfs_root, dir, &where)) {
        nf_kubelet_config_where_free(&where);
        goto fail;
    }
    if (!where.main && !where.dropin_dir)
        nf_info("no kubelet config found",
                "looked_at=\"--kubelet-config, the kubelet process under %s, %s/config.yaml\"",
                o->procfs_root ? o->procfs_root : "/proc", dir);
    else
        nf_info("kubelet config", "origin=\"%s\" config=\"%s\" config_dir=\"%s\"", where.origin,
                where.main ? where.main : "", where.dropin_dir ? where.dropin_dir : "");
    if (where.main || where.dropin_dir) {
        v->cfg.no_main = !where.main;
        char *main = where.main ? where.main : strdup(where.dropin_dir);
        where.main = NULL;
        v->cfg.dropin_dir = where.dropin_dir;
        where.dropin_dir = NULL;
        /* an operator's file: a symbolic link is fine (not NF_READ_NOFOLLOW) */
        char *copy = source_init(&v->cfg, main, "kubelet config", NF_READ_TEXT, &v->config,
                                 sizeof(v->config), parse_cfg, free_cfg) == 0
                         ? strdup(main)
                         : NULL;
        if (!copy) {
            nf_kubelet_config_where_free(&where);
            goto fail;
        }
        /* the name part stays inside v->cfg.path, the dir part is a copy */
        char *d = v->cfg.no_main ? copy : dirname(copy);
        v->watch_dirs[2] = strdup(d);
        free(copy);
        if (!v->watch_dirs[2])
            goto fail;
        const char *slash = strrchr(v->cfg.path, '/');
        v->watches[3] = (nf_kubelet_watch){v->watch_dirs[2], slash ? slash + 1 : v->cfg.path};
        v->n_watches = 4;
        if (v->cfg.dropin_dir && !v->cfg.no_main) {
            if (!(v->watch_dirs[3] = strdup(v->cfg.dropin_dir)))
                goto fail;
            v->watches[4] = (nf_kubelet_watch){v->watch_dirs[3], "*.conf"};
            v->n_watches = 5;
        }
    }
    nf_kubelet_config_where_free(&where); /* the origin: what is kept was moved out */
    /* the files first: the first podresources answer is then asked after them (comparable) */
    if ((rc = nf_kubelet_view_reload(v)) < 0)
        goto fail;
    if (o->podres_socket) {
        nf_podres_poller_opts po = {.socket_path = o->podres_socket,
                                    .timeout_ms = o->podres_timeout_ms,
                                    .interval_ms = o->podres_interval_ms};
        if ((rc = source_init(&v->pr, strdup(o->podres_socket), "podresources", 0, &v->pr_state,
                              sizeof(v->pr_state), NULL, free_pr)))
            goto fail;
        if ((rc = nf_podres_poller_start(&po, &v->poller))) {
            nf_kubelet_view_free(v);
            return nf_errf(err, rc, "podresources: %s", nf_strerror(rc));
        }
        nf_info(
            "podresources", "socket=\"%s\" timeout_ms=%lld interval_ms=%lld", o->podres_socket,
            (long long)(o->podres_timeout_ms ? o->podres_timeout_ms : NF_PODRES_TIMEOUT_DEFAULT_MS),
            (long long)(o->podres_interval_ms ? o->podres_interval_ms
                                              : NF_PODRES_INTERVAL_DEFAULT_MS));
    }
    if ((rc = nf_kubelet_view_reload(v)) < 0)
        goto fail;
    *out = v;
    return 0;
fail:
    nf_kubelet_view_free(v);
    return nf_errf(err, rc, "out of memory");
}

int nf_kubelet_view_new(const nf_kubelet_opts *o, nf_kubelet_view **out)
{
    return nf_kubelet_view_new_err(o, out, NULL);
}

/* A source without a good view that still feeds numbers: never read well, or lost past its
 * grace period. Absent from the start means "that manager is not in use", not unknown. */
static bool src_unknown(const source *s)
{
    return s->path && !s->have_good && s->problem && !(s->missing && !s->dropped);
}

/* What checkpoint source s feeds (assigned CPUs, Memory Manager blocks, devices) is unknown:
 * podresources has no good view either, and one of the two lost its view or never read well. */
static bool kind_unknown(const nf_kubelet_view *v, const source *s)
{
    return !v->pr.have_good && !s->have_good && (src_unknown(s) || src_unknown(&v->pr));
}

/* The source to blame for kind_unknown. */
static const source *kind_culprit(const nf_kubelet_view *v, const source *s)
{
    return src_unknown(s) ? s : &v->pr;
}

static bool cfg_unknown(const nf_kubelet_view *v)
{
    return v->cfg.path && !v->cfg.have_good;
}

static bool policy_is(const char *have, const char *want)
{
    return have && strcasecmp(have, want) == 0;
}

/* *dst = text (NULL allowed); 1 when it changed, -ENOMEM. */
static int set_text(char **dst, const char *text)
{
    if ((!*dst && !text) || (*dst && text && strcmp(*dst, text) == 0))
        return 0;
    int rc = nf_strset(dst, text);
    return rc ? rc : 1;
}

/* Why a source's numbers are unknown, as "<what>: <problem>[ (past the grace period)]". */
static int why_text(char **dst, const source *s, bool unknown)
{
    if (!unknown)
        return set_text(dst, NULL);
    char msg[NF_ERR_LEN + 160];
    if (!s->problem) /* config path given, never read */
        snprintf(msg, sizeof(msg), "%s: not read", s->label);
    else if (s->dropped)
        snprintf(msg, sizeof(msg), "%s lost: %s (last good view dropped after the grace period)",
                 s->label, s->problem);
    else
        snprintf(msg, sizeof(msg), "%s unreadable: %s", s->label, s->problem);
    return set_text(dst, msg);
}

/* Recompute the unknown reasons and the input problems; 1 when any changed. */
static int derive(nf_kubelet_view *v)
{
    const nf_kubelet_config *c = v->cfg.have_good ? &v->config : NULL;
    bool cfg_u = cfg_unknown(v);
    bool mm_static = c ? policy_is(c->memory_manager_policy, "Static")
                       : v->mem_static || (v->pr.have_good && v->pr_state.memory_static);
    int changed = 0, rc;
    char msg[NF_ERR_LEN + 256];
#define UPD(expr)                                                                                  \
    do {                                                                                           \
        if ((rc = (expr)) < 0)                                                                     \
            return rc;                                                                             \
        changed |= rc;                                                                             \
    } while (0)
    UPD(why_text(&v->why[0], &v->cfg, cfg_u && !v->has_flag));
    UPD(why_text(&v->why[1], &v->cfg, cfg_u));
    UPD(why_text(&v->why[2], kind_culprit(v, &v->cpu), kind_unknown(v, &v->cpu)));
    UPD(why_text(&v->why[3], kind_culprit(v, &v->mem), mm_static && kind_unknown(v, &v->mem)));
    UPD(why_text(&v->why[4], kind_culprit(v, &v->dev), kind_unknown(v, &v->dev)));

    /* input problems (warnings, errors[], metrics) */
    const char *p = NULL;
    if (v->dir_missing) {
        snprintf(msg, sizeof(msg),
                 "--kubelet-dir %s is not a directory: no kubelet state can be read (is it "
                 "kubelet's --root-dir?)",
                 v->kubelet_dir);
        p = msg;
    }
    UPD(set_text(&v->problems[0], p));
    p = NULL;
    if (v->cfg.path && v->cfg.problem) { /* a config that was given is never just "absent" */
        if (strcmp(v->cfg.status, "absent") == 0)
            snprintf(msg, sizeof(msg), "kubelet config error: %s", v->cfg.problem);
        else
            snprintf(msg, sizeof(msg), "kubelet config %s", v->cfg.status);
        p = msg;
    }
    UPD(set_text(&v->problems[1], p));
    /* a manager the config turns on writes its state file: without it, what is hidden */
    static const struct {
        const char *key, *want, *hides;
    } needs[3] = {
        {"cpuManagerPolicy", "static",
         "CPUs kubelet assigned cannot be seen, every allocatable CPU is published as free"},
        {"memoryManagerPolicy", "Static",
         "memory is published as allocatable minus nothing, not as kubelet's Memory Manager "
         "sees it"},
        {NULL, NULL, NULL},
    };
    const source *st[3] = {&v->cpu, &v->mem, &v->dev};
    const char *policy[3] = {c ? c->cpu_manager_policy : NULL, c ? c->memory_manager_policy : NULL,
                             NULL};
    for (size_t i = 0; i < 3; i++) {
        const source *s = st[i];
        p = NULL;
        if (s->problem && !(s->missing && !s->dropped)) {
            snprintf(msg, sizeof(msg), "%s %s", s->label, s->status);
            p = msg;
        } else if (s->missing && !v->dir_missing && !v->pr.have_good && needs[i].key &&
                   policy_is(policy[i], needs[i].want)) {
            snprintf(msg, sizeof(msg), "%s is %s but %s does not exist: %s", needs[i].key,
                     needs[i].want, s->path, needs[i].hides);
            p = msg;
        }
        UPD(set_text(&v->problems[i + 2], p));
    }
    p = NULL;
    if (v->pr.path && v->pr.problem && !(v->pr.missing && !v->pr.dropped)) {
        snprintf(msg, sizeof(msg), "podresources %s", v->pr.status);
        p = msg;
    }
    UPD(set_text(&v->problems[5], p));
#undef UPD
    return changed;
}

void nf_kubelet_view_unknown(const nf_kubelet_view *v, nf_kubelet_unknown *u)
{
    *u = (nf_kubelet_unknown){.reserved_cpus = v->why[0],
                              .reserved_memory = v->why[1],
                              .cpu_assigned = v->why[2],
                              .memory_assigned = v->why[3],
                              .devices = v->why[4]};
}

const struct nf_device_checkpoint *nf_kubelet_view_devices(const nf_kubelet_view *v)
{
    return v->pr.have_good ? &v->pr_state.devices : v->dev.have_good ? &v->dev_state : NULL;
}

void nf_kubelet_view_inputs(const nf_kubelet_view *v, nf_kubelet_input out[NF_KUBELET_INPUTS])
{
    static const char *const names[NF_KUBELET_INPUTS] = {"kubeletDir",       "kubeletConfig",
                                                         "cpuManagerState",  "memoryManagerState",
                                                         "deviceCheckpoint", "podResources"};
    for (size_t i = 0; i < NF_KUBELET_INPUTS; i++)
        out[i] = (nf_kubelet_input){.input = names[i], .problem = v->problems[i]};
}

/* Take podresources' newest answer (when there is one) as a file read is taken. */
static int podres_reload(nf_kubelet_view *v, int64_t now_mono, int64_t now_wall)
{
    source *s = &v->pr;
    nf_podres_outcome o;
    int changed = 0, rc;
    if (nf_podres_poller_take(v->poller, &o)) {
        if (o.rc == 0) {
            if ((rc = source_adopt(s, &o.state, now_mono, now_wall)) < 0)
                return rc;
            v->pr_asked_mono = o.started_mono;
            changed = 1;
            nf_debug("podresources answered", "pods=%zu containers=%zu took_ms=%lld",
                     o.state.n_pods, o.state.n_containers, (long long)o.took_ms);
        } else {
            if ((rc = set_problem(s, o.msg, o.rc == -ENOENT, now_mono, now_wall)) < 0)
                return rc;
            changed = rc;
        }
    }
    return source_settle(s, changed, v->grace_ms, now_mono);
}

int nf__kubelet_view_reload_at(nf_kubelet_view *v, int64_t now_mono_ms, int64_t now_wall_s)
{
    int changed = 0;
    source *srcs[] = {&v->cfg, &v->cpu, &v->mem, &v->dev};
    struct stat st;
    bool dir_missing = stat(v->kubelet_dir, &st) != 0 || !S_ISDIR(st.st_mode);
    changed |= dir_missing != v->dir_missing;
    v->dir_missing = dir_missing;
    for (size_t i = 0; i < 4; i++) {
        if (!srcs[i]->path)
            continue;
        int rc = source_reload(srcs[i], v->grace_ms, now_mono_ms, now_wall_s);
        if (rc < 0)
            return rc;
        changed |= rc;
    }
    if (v->poller) {
        int rc = podres_reload(v, now_mono_ms, now_wall_s);
        if (rc < 0)
            return rc;
        changed |= rc;
    }
    if (v->mem.have_good)
        v->mem_static = policy_is(v->mem_state.policy_name, "Static");
    int rc = derive(v);
    return rc < 0 ? rc : changed | rc;
}

int nf_kubelet_view_reload(nf_kubelet_view *v)
{
    return nf__kubelet_view_reload_at(v, nf_mono_ms(), nf_wall_ms() / 1000);
}

const nf_kubelet_watch *nf_kubelet_view_watches(const nf_kubelet_view *v, size_t *n)
{
    *n = v->n_watches;
    return v->watches;
}

/* ---- apply ------------------------------------------------------------------------------- */

static int copy_kv(nf_kv **dst, size_t *dn, const nf_kv *src, size_t n)
{
    nf_kv_free_array(*dst, *dn);
    *dst = NULL;
    *dn = 0;
    if (!n)
        return 0;
    nf_kv *kv = calloc(n, sizeof(*kv));
    if (!kv)
        return -ENOMEM;
    *dst = kv;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = strdup(src[i].key);
        kv[i].value = strdup(src[i].value);
        *dn = i + 1;
        if (!kv[i].key || !kv[i].value)
            return -ENOMEM;
    }
    return 0;
}

static int set_cpuset_text(char **dst, const nf_cpuset *s)
{
    char *txt = NULL;
    int rc = nf_cpuset_format(s, &txt);
    if (rc)
        return rc;
    free(*dst);
    *dst = txt;
    return 0;
}

/* The reserved CPU set and its source text; *set stays empty when there is none. */
static int reserved_cpus(const nf_kubelet_view *v, nf_topology *t, nf_cpuset *set,
                         char **source_text)
{
    const nf_kubelet_config *c = v->cfg.have_good ? &v->config : NULL;
    if (v->has_flag) {
        *source_text = strdup("flag");
        return *source_text ? nf_cpuset_copy(set, &v->flag_cpus) : -ENOMEM;
    }
    if (cfg_unknown(v)) { /* never the defaults: which CPUs kubelet keeps is not known */
        if (asprintf(source_text, "unknown: %s", v->why[0] ? v->why[0] : "no kubelet config") < 0)
            *source_text = NULL;
        return *source_text ? 0 : -ENOMEM;
    }
    if (c && c->reserved_system_cpus) {
        *source_text = strdup("kubeletConfig");
        return *source_text ? nf_cpuset_copy(set, &c->reserved_system_cpuset) : -ENOMEM;
    }
    if (c && strcmp(c->cpu_manager_policy, "static") == 0) {
        int64_t milli = c->reserved_cpu_milli;
        if (milli <= 0) {
            *source_text = strdup("none");
            if (!*source_text)
                return -ENOMEM;
            return nf_topology_add_error(t, "%s",
                                         "cpuManagerPolicy static without reservedSystemCPUs "
                                         "and with kubeReserved.cpu + systemReserved.cpu = 0: "
                                         "kubelet refuses to start like this");
        }
        int64_t n64 = milli / 1000 + (milli % 1000 != 0);
        int n = n64 > NF_CPU_MAX + 1 ? NF_CPU_MAX + 1 : (int)n64;
        char q[48];
        if (milli % 1000)
            snprintf(q, sizeof(q), "%lldm (%d CPUs)", (long long)milli, n);
        else
            snprintf(q, sizeof(q), "%d", n);
        nf_err e;
        int rc = nf_kubelet_take_by_topology(t, NULL, n, set, &e);
        if (rc == -ENOMEM)
            return rc;
        if (rc) {
            nf_cpuset_clear(set);
            if (asprintf(source_text, "computed: kubeReserved+systemReserved cpu=%s: %s", q,
                         e.msg) < 0)
                *source_text = NULL;
        } else if (asprintf(source_text, "computed: kubeReserved+systemReserved cpu=%s", q) < 0) {
            *source_text = NULL;
        }
        return *source_text ? 0 : -ENOMEM;
    }
    if (!c && v->pr.have_good && !nf_cpuset_empty(&v->pr_state.allocatable_cpus)) {
        /* no config: kubelet's static policy hands out every online CPU but the reserved ones */
        int rc = 0;
        for (size_t i = 0; i < t->n_numa_nodes && !rc; i++)
            rc = nf_cpuset_or(set, set, &t->numa_nodes[i].cpus.online);
        if (rc || (rc = nf_cpuset_andnot(set, set, &v->pr_state.allocatable_cpus)))
            return rc;
        *source_text = strdup("podResources");
        return *source_text ? 0 : -ENOMEM;
    }
    *source_text = strdup("none");
    return *source_text ? 0 : -ENOMEM;
}

/* A pod as a source names it: by UID (checkpoint files) or namespace/name (podresources, with
 * the UID of the checkpoint entry holding the same CPU or device when there is one). */
typedef struct pod_id {
    const char *uid, *ns, *name;
} pod_id;

/* The UID the checkpoint files give the pod podresources calls ns/name: the entry holding one
 * of its exclusive CPUs or devices (exclusive: no other pod has them). NULL when none does. */
static const char *uid_of(const nf_kubelet_view *v, const char *ns, const char *name)
{
    if (!v->pr.have_good)
        return NULL;
    const nf_cpu_state *pc = &v->pr_state.cpus;
    const nf_cpu_state *cs = v->cpu.have_good ? &v->cpu_state : NULL;
    for (size_t i = 0; cs && i < pc->n_assignments; i++) {
        const nf_cpu_assignment *a = &pc->assignments[i];
        if (strcmp(a->pod_namespace, ns) != 0 || strcmp(a->pod_name, name) != 0)
            continue;
        int cpu = nf_cpuset_next(&a->cpus, 0);
        for (size_t k = 0; cpu >= 0 && k < cs->n_assignments; k++)
            if (cs->assignments[k].pod_uid &&
                nf_cpuset_test(&cs->assignments[k].cpus, (unsigned)cpu))
                return cs->assignments[k].pod_uid;
    }
    const nf_device_checkpoint *pd = &v->pr_state.devices;
    const nf_device_checkpoint *dc = v->dev.have_good ? &v->dev_state : NULL;
    for (size_t i = 0; dc && i < pd->n_allocs; i++) {
        const nf_device_alloc *a = &pd->allocs[i];
        if (strcmp(a->pod_namespace, ns) != 0 || strcmp(a->pod_name, name) != 0)
            continue;
        for (size_t k = 0; k < dc->n_allocs; k++)
            if (strcmp(dc->allocs[k].device_id, a->device_id) == 0 &&
                strcmp(dc->allocs[k].resource, a->resource) == 0)
                return dc->allocs[k].pod_uid;
    }
    return NULL;
}

static pod_id ident(const nf_kubelet_view *v, const char *uid, const char *ns, const char *name)
{
    if (ns && name && !uid)
        uid = uid_of(v, ns, name);
    return (pod_id){uid, ns, name};
}

static const char *id_text(pod_id id, char *buf, size_t len)
{
    if (id.ns && id.name)
        snprintf(buf, len, "%s/%s", id.ns, id.name);
    else
        snprintf(buf, len, "%s", id.uid ? id.uid : "?");
    return buf;
}

static nf_pod_usage *pod_get(nf_numa_node *n, pod_id id)
{
    for (size_t i = 0; i < n->n_pods; i++)
        if (id.ns && id.name ? nf_pod_usage_is(&n->pods[i], NULL, id.ns, id.name)
                             : nf_pod_usage_is(&n->pods[i], id.uid, NULL, NULL))
            return &n->pods[i];
    nf_pod_usage *np = realloc(n->pods, (n->n_pods + 1) * sizeof(*np));
    if (!np)
        return NULL;
    n->pods = np;
    nf_pod_usage *p = &np[n->n_pods];
    memset(p, 0, sizeof(*p));
    n->n_pods++;
    if (nf_strset(&p->pod_uid, id.uid) || nf_strset(&p->pod_namespace, id.ns) ||
        nf_strset(&p->pod_name, id.name))
        return NULL;
    return p;
}

static int pod_add(nf_numa_node *n, pod_id id, const char *name, int64_t value)
{
    nf_pod_usage *p = pod_get(n, id);
    if (!p)
        return -ENOMEM;
    return nf_amount_add(&p->amounts, &p->n_amounts, name, value);
}

static void reset_node(nf_numa_node *n)
{
    for (size_t i = 0; i < n->n_pods; i++)
        nf_pod_usage_free(&n->pods[i]);
    free(n->pods);
    n->pods = NULL;
    n->n_pods = 0;
    nf_amount_free_array(n->kubelet_reserved, n->n_kubelet_reserved);
    n->kubelet_reserved = NULL;
    n->n_kubelet_reserved = 0;
}

static void reset_vfs(nf_device_group *g, size_t n, bool unknown)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < g[i].n_vfs; k++) {
            g[i].vfs[k].allocated = false;
            g[i].vfs[k].allocation_unknown = unknown;
            free(g[i].vfs[k].pod_uid);
            g[i].vfs[k].pod_uid = NULL;
        }
    }
}

static nf_vf *find_vf(nf_device_group *g, size_t n, const char *pci)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < g[i].n_vfs; k++)
            if (g[i].vfs[k].pci && strcasecmp(g[i].vfs[k].pci, pci) == 0)
                return &g[i].vfs[k];
    return NULL;
}

static int apply_cpus(const nf_kubelet_view *v, const nf_cpu_state *cs, nf_topology *t)
{
    int rc = 0;
    nf_cpuset tmp = {0};
    for (size_t a = 0; a < cs->n_assignments && !rc; a++) {
        const nf_cpu_assignment *as = &cs->assignments[a];
        if (!as->pod_uid && !as->pod_name)
            continue; /* V1: keyed by container ID, no pod to name */
        pod_id id = ident(v, as->pod_uid, as->pod_namespace, as->pod_name);
        for (size_t i = 0; i < t->n_numa_nodes && !rc; i++) {
            nf_numa_node *n = &t->numa_nodes[i];
            if ((rc = nf_cpuset_and(&tmp, &as->cpus, &n->cpus.online)) || nf_cpuset_empty(&tmp))
                continue;
            nf_pod_usage *p = pod_get(n, id);
            rc = p ? nf_cpuset_or(&p->cpus, &p->cpus, &tmp) : -ENOMEM;
        }
    }
    nf_cpuset_free(&tmp);
    for (size_t i = 0; i < t->n_numa_nodes && !rc; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        for (size_t p = 0; p < n->n_pods && !rc; p++)
            rc = nf_amount_add(&n->pods[p].amounts, &n->pods[p].n_amounts, "cpu",
                               (int64_t)nf_cpuset_count(&n->pods[p].cpus));
    }
    return rc;
}

/* ms: the blocks (memory_manager_state or podresources); tables: memory_manager_state's
 * machineState, which splits a block spanning several NUMA nodes (NULL: all on the first). */
static int apply_memory(const nf_kubelet_view *v, const nf_memory_state *ms,
                        const nf_memory_state *tables, nf_topology *t)
{
    char who[320];
    int rc = 0;
    /* what single-NUMA blocks took per node and type, to split the multi-NUMA ones */
    nf_amount **used = calloc(t->n_numa_nodes ? t->n_numa_nodes : 1, sizeof(*used));
    size_t *n_used = calloc(t->n_numa_nodes ? t->n_numa_nodes : 1, sizeof(*n_used));
    if (!used || !n_used) {
        rc = -ENOMEM;
        goto out;
    }
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (size_t a = 0; a < ms->n_assignments && !rc; a++) {
            const nf_memory_assignment *as = &ms->assignments[a];
            pod_id id = ident(v, as->pod_uid, as->pod_namespace, as->pod_name);
            for (size_t b = 0; b < as->n_blocks && !rc; b++) {
                const nf_memory_block *bl = &as->blocks[b];
                if (bl->n_numa == 0 || (pass == 0) != (bl->n_numa == 1) || bl->size <= 0)
                    continue;
                int64_t remaining = bl->size;
                for (size_t k = 0; k < bl->n_numa && !rc; k++) {
                    nf_numa_node *n = nf_topology_numa(t, bl->numa[k]);
                    if (!n) {
                        rc = nf_topology_add_error(
                            t,
                            "%s: pod %s holds %s on NUMA node %d, which this machine does not have",
                            ms == tables ? "memory_manager_state" : "podresources",
                            id_text(id, who, sizeof(who)), bl->type, bl->numa[k]);
                        continue;
                    }
                    size_t idx = (size_t)(n - t->numa_nodes);
                    int64_t take = remaining;
                    const nf_memory_table *tb =
                        tables ? nf_memory_state_table(tables, n->id, bl->type) : NULL;
                    if (k + 1 < bl->n_numa && tb) {
                        int64_t room =
                            tb->reserved - nf_amount_get(used[idx], n_used[idx], bl->type);
                        take = room < 0 ? 0 : room < remaining ? room : remaining;
                    }
                    if (take == 0)
                        continue;
                    remaining -= take;
                    if (!(rc = nf_amount_add(&used[idx], &n_used[idx], bl->type, take)))
                        rc = pod_add(n, id, bl->type, take);
                }
            }
        }
    }
out:
    for (size_t i = 0; used && i < t->n_numa_nodes; i++)
        nf_amount_free_array(used[i], n_used[i]);
    free(used);
    free(n_used);
    return rc;
}

static int apply_devices(const nf_kubelet_view *v, const nf_device_checkpoint *dc, nf_topology *t)
{
    int rc = 0;
    char who[320];
    for (size_t a = 0; a < dc->n_allocs && !rc; a++) {
        const nf_device_alloc *d = &dc->allocs[a];
        pod_id id = ident(v, d->pod_uid, d->pod_namespace, d->pod_name);
        nf_numa_node *owner = NULL;
        nf_vf *vf = NULL;
        for (size_t i = 0; i < t->n_numa_nodes && !vf; i++) {
            nf_numa_node *n = &t->numa_nodes[i];
            if ((vf = find_vf(n->devices, n->n_devices, d->device_id)))
                owner = n;
        }
        if (!vf)
            vf = find_vf(t->unplaced_devices, t->n_unplaced_devices, d->device_id);
        if (vf) {
            vf->allocated = true;
            if ((rc = nf_strset(&vf->pod_uid, id.uid)))
                break;
        } else if (d->numa >= 0) {
            owner = nf_topology_numa(t, d->numa);
            if (!owner && d->pod_name)
                rc = nf_topology_add_error(t,
                                           "podresources: pod %s holds %s %s on NUMA node %d, "
                                           "which this machine does not have",
                                           id_text(id, who, sizeof(who)), d->resource, d->device_id,
                                           d->numa);
        }
        if (owner)
            rc = pod_add(owner, id, d->resource, 1);
    }
    return rc;
}

static int cmp_opt(const char *a, const char *b) /* NULL last */
{
    if (a && b)
        return strcmp(a, b);
    return a ? -1 : b ? 1 : 0;
}

/* by UID (pods without one last), then namespace/name */
static int cmp_pod(const void *pa, const void *pb)
{
    const nf_pod_usage *a = pa, *b = pb;
    int c = cmp_opt(a->pod_uid, b->pod_uid);
    if (!c)
        c = cmp_opt(a->pod_namespace, b->pod_namespace);
    return c ? c : cmp_opt(a->pod_name, b->pod_name);
}

static int report_offline(nf_topology *t, const nf_cpuset *set, const nf_cpuset *online,
                          const char *what)
{
    nf_cpuset miss = {0};
    char *txt = NULL;
    int rc = nf_cpuset_andnot(&miss, set, online);
    if (!rc && !nf_cpuset_empty(&miss) && !(rc = nf_cpuset_format(&miss, &txt)))
        rc = nf_topology_add_error(t, "%s CPUs %s that are not online on any NUMA node", what, txt);
    free(txt);
    nf_cpuset_free(&miss);
    return rc;
}

static int apply_info(const nf_kubelet_view *v, nf_topology *t)
{
    nf_kubelet_info *k = &t->kubelet;
    const nf_kubelet_config *c = v->cfg.have_good ? &v->config : NULL;
    const nf_cpu_state *cs = v->cpu.have_good ? &v->cpu_state : NULL;
    const nf_memory_state *ms = v->mem.have_good ? &v->mem_state : NULL;
    int rc;
    if (c) {
        if ((rc = nf_strset(&k->cpu_manager_policy, c->cpu_manager_policy)) ||
            (rc = nf_strset(&k->topology_manager_policy, c->topology_manager_policy)) ||
            (rc = nf_strset(&k->topology_manager_scope, c->topology_manager_scope)) ||
            (rc = nf_strset(&k->memory_manager_policy, c->memory_manager_policy)) ||
            (rc = copy_kv(&k->cpu_manager_policy_options, &k->n_cpu_manager_policy_options,
                          c->cpu_manager_policy_options, c->n_cpu_manager_policy_options)) ||
            (rc =
                 copy_kv(&k->topology_manager_policy_options, &k->n_topology_manager_policy_options,
                         c->topology_manager_policy_options, c->n_topology_manager_policy_options)))
            return rc;
    } else {
        /* podresources hands out CPUs (Memory Manager blocks) only under the static policies */
        const nf_podres_state *pr = v->pr.have_good ? &v->pr_state : NULL;
        const char *cpu_policy = cs && cs->policy_name[0]                        ? cs->policy_name
                                 : pr && !nf_cpuset_empty(&pr->allocatable_cpus) ? "static"
                                                                                 : NULL;
        const char *mem_policy = ms && ms->policy_name[0]  ? ms->policy_name
                                 : pr && pr->memory_static ? "Static"
                                                           : NULL;
        if ((rc = nf_strset(&k->cpu_manager_policy, cpu_policy)) ||
            (rc = nf_strset(&k->topology_manager_policy, NULL)) ||
            (rc = nf_strset(&k->topology_manager_scope, NULL)) ||
            (rc = nf_strset(&k->memory_manager_policy, mem_policy)) ||
            (rc = copy_kv(&k->cpu_manager_policy_options, &k->n_cpu_manager_policy_options, NULL,
                          0)) ||
            (rc = copy_kv(&k->topology_manager_policy_options,
                          &k->n_topology_manager_policy_options, NULL, 0)))
            return rc;
    }
    if ((rc = nf_strset(&k->state_cpu_manager, v->cpu.status)) ||
        (rc = nf_strset(&k->state_memory_manager, v->mem.status)) ||
        (rc = nf_strset(&k->state_device_plugins, v->dev.status)) ||
        (rc = nf_strset(&k->state_pod_resources, v->pr.path ? v->pr.status : NULL)))
        return rc;
    if ((rc = nf_strset(&k->config_files, !v->cfg.have_good ? NULL
                                          : v->cfg.files    ? v->cfg.files
                                                            : v->cfg.path)))
        return rc;
    if (!v->cfg.path || (v->cfg.status && strcmp(v->cfg.status, "ok") == 0)) {
        rc = nf_strset(&k->config_error, NULL);
    } else if (v->cfg.status && strcmp(v->cfg.status, "absent") == 0) {
        char *msg;
        if (asprintf(&msg, "error: %s: no such file", v->cfg.path) < 0)
            return -ENOMEM;
        free(k->config_error);
        k->config_error = msg;
        rc = 0;
    } else {
        rc = nf_strset(&k->config_error, v->cfg.status);
    }
    if (rc)
        return rc;
    if (c && cs && cs->policy_name[0] && strcasecmp(c->cpu_manager_policy, cs->policy_name) != 0)
        rc = nf_topology_add_error(t,
                                   "cpu_manager_state policyName \"%s\" differs from the "
                                   "KubeletConfiguration's cpuManagerPolicy \"%s\" (kubelet "
                                   "refuses to start until the state file is removed)",
                                   cs->policy_name, c->cpu_manager_policy);
    return rc;
}

int nf_kubelet_view_apply(const nf_kubelet_view *v, nf_topology *t)
{
    const nf_kubelet_config *c = v->cfg.have_good ? &v->config : NULL;
    /* podresources wins where it has a good view (kubelet_view.h) */
    const nf_podres_state *pr = v->pr.have_good ? &v->pr_state : NULL;
    const nf_cpu_state *cs = pr ? &pr->cpus : v->cpu.have_good ? &v->cpu_state : NULL;
    const nf_memory_state *ms = pr ? &pr->memory : v->mem.have_good ? &v->mem_state : NULL;
    const nf_device_checkpoint *dc = pr ? &pr->devices : v->dev.have_good ? &v->dev_state : NULL;
    nf_cpuset reserved = {0}, alloc = {0}, online = {0};
    char *src = NULL;
    int rc = apply_info(v, t);
    if (!rc)
        rc = reserved_cpus(v, t, &reserved, &src);
    if (rc)
        goto out;
    free(t->kubelet.reserved_cpus_source);
    t->kubelet.reserved_cpus_source = src;
    src = NULL;
    if (nf_cpuset_empty(&reserved))
        rc = nf_strset(&t->kubelet.reserved_cpus, NULL);
    else
        rc = set_cpuset_text(&t->kubelet.reserved_cpus, &reserved);
    if (!rc && cs)
        rc = nf_cpu_state_allocated(cs, &alloc);
    for (size_t i = 0; i < t->n_numa_nodes && !rc; i++)
        rc = nf_cpuset_or(&online, &online, &t->numa_nodes[i].cpus.online);
    if (!rc)
        rc = report_offline(t, &alloc, &online,
                            pr ? "podresources assigns" : "cpu_manager_state assigns");
    if (!rc)
        rc = report_offline(t, &reserved, &online, "the reserved CPU list names");
    bool res_unknown = cfg_unknown(v) && !v->has_flag, dev_unknown = kind_unknown(v, &v->dev);
    for (size_t i = 0; i < t->n_numa_nodes && !rc; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        reset_node(n);
        reset_vfs(n->devices, n->n_devices, dev_unknown);
        n->cpus.reserved_unknown = res_unknown;
        n->cpus.allocated_unknown = kind_unknown(v, &v->cpu);
        if (!(rc = nf_cpuset_and(&n->cpus.reserved, &reserved, &n->cpus.online)))
            rc = nf_cpuset_and(&n->cpus.allocated, &alloc, &n->cpus.online);
    }
    reset_vfs(t->unplaced_devices, t->n_unplaced_devices, dev_unknown);
    if (!rc && cs)
        rc = apply_cpus(v, cs, t);
    if (!rc && ms)
        rc = apply_memory(v, ms, v->mem.have_good ? &v->mem_state : NULL, t);
    if (!rc && dc)
        rc = apply_devices(v, dc, t);
    for (size_t r = 0; c && r < c->n_reserved_memory && !rc; r++) {
        const nf_reserved_memory *rm = &c->reserved_memory[r];
        nf_numa_node *n = nf_topology_numa(t, rm->numa_node);
        if (!n) {
            rc = nf_topology_add_error(t,
                                       "KubeletConfiguration reservedMemory names NUMA node %d, "
                                       "which this machine does not have",
                                       rm->numa_node);
            continue;
        }
        for (size_t l = 0; l < rm->n_limits && !rc; l++)
            rc = nf_amount_add(&n->kubelet_reserved, &n->n_kubelet_reserved, rm->limits[l].name,
                               rm->limits[l].value);
    }
    for (size_t i = 0; i < t->n_numa_nodes && !rc; i++) {
        nf_numa_node *n = &t->numa_nodes[i];
        for (size_t p = 0; p < n->n_pods; p++)
            qsort(n->pods[p].amounts, n->pods[p].n_amounts, sizeof(nf_amount), nf_amount_cmp);
        if (n->n_pods)
            qsort(n->pods, n->n_pods, sizeof(*n->pods), cmp_pod);
    }
out:
    free(src);
    nf_cpuset_free(&reserved);
    nf_cpuset_free(&alloc);
    nf_cpuset_free(&online);
    return rc;
}

/* ---- podresources against the checkpoint files ---------------------------------------------- */

int nf_kubelet_view_podres_fd(const nf_kubelet_view *v)
{
    return v->poller ? nf_podres_poller_fd(v->poller) : -1;
}

void nf_kubelet_view_podres_kick(nf_kubelet_view *v)
{
    if (v->poller)
        nf_podres_poller_kick(v->poller);
}

/* A podresources answer asked after file s last changed, and s good: the two can be compared. */
static bool comparable(const nf_kubelet_view *v, const source *s)
{
    return v->pr.have_good && s->have_good && v->pr_asked_mono >= s->good_mono;
}

static int cpus_of_state(const nf_cpu_state *s, nf_cpuset *out)
{
    int rc = 0;
    for (size_t i = 0; i < s->n_assignments && !rc; i++)
        rc = nf_cpuset_or(out, out, &s->assignments[i].cpus);
    return rc;
}

/* "only podresources: X; only <file>: Y" into t->errors when a and b differ; *n = how many CPUs
 * differ. */
static int cpus_differ(nf_topology *t, const char *what, const char *file, const nf_cpuset *pr,
                       const nf_cpuset *ck, size_t *n)
{
    nf_cpuset a = {0}, b = {0};
    char *ta = NULL, *tb = NULL;
    int rc = nf_cpuset_andnot(&a, pr, ck);
    if (!rc)
        rc = nf_cpuset_andnot(&b, ck, pr);
    *n = nf_cpuset_count(&a) + nf_cpuset_count(&b);
    if (!rc && *n && !(rc = nf_cpuset_format(&a, &ta)) && !(rc = nf_cpuset_format(&b, &tb)))
        rc = nf_topology_add_error(t,
                                   "podresources and %s disagree on %s: podresources only \"%s\", "
                                   "%s only \"%s\" (podresources is published)",
                                   file, what, ta, file, tb);
    free(ta);
    free(tb);
    nf_cpuset_free(&a);
    nf_cpuset_free(&b);
    return rc;
}

static int cmp_alloc_ptr(const void *pa, const void *pb)
{
    const nf_device_alloc *a = *(const nf_device_alloc *const *)pa;
    const nf_device_alloc *b = *(const nf_device_alloc *const *)pb;
    int c = strcmp(a->resource, b->resource);
    return c ? c : strcmp(a->device_id, b->device_id);
}

static const nf_device_alloc **sorted_allocs(const nf_device_checkpoint *dc)
{
    const nf_device_alloc **p = malloc((dc->n_allocs ? dc->n_allocs : 1) * sizeof(*p));
    for (size_t i = 0; p && i < dc->n_allocs; i++)
        p[i] = &dc->allocs[i];
    if (p && dc->n_allocs)
        qsort(p, dc->n_allocs, sizeof(*p), cmp_alloc_ptr);
    return p;
}

/* Allocated devices: a merge of both sorted by resource and ID. */
static int devices_differ(nf_topology *t, const nf_device_checkpoint *pr,
                          const nf_device_checkpoint *ck, size_t *n)
{
    const nf_device_alloc **a = sorted_allocs(pr), **b = sorted_allocs(ck);
    const nf_device_alloc *ex_a = NULL, *ex_b = NULL;
    size_t i = 0, k = 0, na = 0, nb = 0;
    int rc = 0;
    *n = 0;
    if (!a || !b) {
        rc = -ENOMEM;
        goto out;
    }
    while (i < pr->n_allocs || k < ck->n_allocs) {
        int c = i == pr->n_allocs ? 1 : k == ck->n_allocs ? -1 : cmp_alloc_ptr(&a[i], &b[k]);
        if (c < 0) {
            ex_a = ex_a ? ex_a : a[i];
            na++;
            i++;
        } else if (c > 0) {
            ex_b = ex_b ? ex_b : b[k];
            nb++;
            k++;
        } else {
            i++;
            k++;
        }
    }
    *n = na + nb;
    if (*n)
        rc = nf_topology_add_error(t,
                                   "podresources and the device checkpoint disagree on allocated "
                                   "devices: %zu allocated by podresources only%s%s%s%s, %zu by "
                                   "the checkpoint only%s%s%s%s (podresources is published)",
                                   na, ex_a ? " (e.g. " : "", ex_a ? ex_a->resource : "",
                                   ex_a ? " " : "", ex_a ? ex_a->device_id : "", nb,
                                   ex_b ? " (e.g. " : "", ex_b ? ex_b->resource : "",
                                   ex_b ? " " : "", ex_b ? ex_b->device_id : "");
out:
    free(a);
    free(b);
    return rc;
}

static int memory_totals(const nf_memory_state *s, nf_amount **out, size_t *n)
{
    int rc = 0;
    for (size_t i = 0; i < s->n_assignments && !rc; i++)
        for (size_t b = 0; b < s->assignments[i].n_blocks && !rc; b++)
            rc = nf_amount_add(out, n, s->assignments[i].blocks[b].type,
                               s->assignments[i].blocks[b].size);
    return rc;
}

static int memory_differ(nf_topology *t, const nf_memory_state *pr, const nf_memory_state *ck,
                         size_t *n)
{
    nf_amount *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    char list[512] = "";
    *n = 0;
    int rc = memory_totals(pr, &a, &na);
    if (!rc)
        rc = memory_totals(ck, &b, &nb);
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const nf_amount *x = pass ? b : a, *y = pass ? a : b;
        size_t nx = pass ? nb : na, ny = pass ? na : nb;
        for (size_t i = 0; i < nx; i++) {
            int64_t other = nf_amount_get(y, ny, x[i].name);
            bool seen = pass && nf_amount_get(a, na, x[i].name) != 0; /* told in pass 0 */
            if (other == x[i].value || seen)
                continue;
            (*n)++;
            size_t l = strlen(list);
            int64_t p = pass ? other : x[i].value, c = pass ? x[i].value : other;
            snprintf(list + l, sizeof(list) - l, "%s%s %lld vs %lld bytes", l ? ", " : "",
                     x[i].name, (long long)p, (long long)c);
        }
    }
    if (!rc && *n)
        rc = nf_topology_add_error(t,
                                   "podresources and memory_manager_state disagree on assigned "
                                   "memory (podresources vs the file): %s (podresources is "
                                   "published)",
                                   list);
    nf_amount_free_array(a, na);
    nf_amount_free_array(b, nb);
    return rc;
}

int nf_kubelet_view_compare(const nf_kubelet_view *v, nf_topology *t, nf_podres_disagreement *d)
{
    memset(d, 0, sizeof(*d));
    if (!v->pr.have_good)
        return 0;
    const nf_podres_state *pr = &v->pr_state;
    nf_cpuset a = {0}, b = {0};
    int rc = 0;
    if (comparable(v, &v->cpu) && !(rc = cpus_of_state(&pr->cpus, &a)) &&
        !(rc = cpus_of_state(&v->cpu_state, &b)))
        rc = cpus_differ(t, "exclusive CPUs", "cpu_manager_state", &a, &b, &d->cpus);
    if (!rc && comparable(v, &v->dev))
        rc = devices_differ(t, &pr->devices, &v->dev_state, &d->devices);
    if (!rc && comparable(v, &v->mem))
        rc = memory_differ(t, &pr->memory, &v->mem_state, &d->memory);
    /* the reserved CPUs the exporter publishes against the CPUs kubelet says it may hand out */
    const char *src = t->kubelet.reserved_cpus_source;
    if (!rc && !nf_cpuset_empty(&pr->allocatable_cpus) && src && strcmp(src, "podResources") != 0 &&
        strncmp(src, "unknown", 7) != 0) {
        nf_cpuset_clear(&a);
        nf_cpuset_clear(&b);
        nf_err e;
        for (size_t i = 0; i < t->n_numa_nodes && !rc; i++)
            rc = nf_cpuset_or(&a, &a, &t->numa_nodes[i].cpus.online);
        if (!rc && t->kubelet.reserved_cpus)
            rc = nf_cpuset_parse(t->kubelet.reserved_cpus, &b, &e);
        if (!rc && !(rc = nf_cpuset_andnot(&a, &a, &b)))
            rc = cpus_differ(t, "the CPUs kubelet may hand out exclusively (online minus reserved)",
                             "the reserved CPUs published", &pr->allocatable_cpus, &a,
                             &d->reserved_cpus);
    }
    nf_cpuset_free(&a);
    nf_cpuset_free(&b);
    return rc == -ENOMEM ? rc : 0;
}
