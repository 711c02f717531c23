/* topology_dir.c - NodeTopology files as a cache source (see topology_dir.h). */
#include "topology_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "numafit/clock.h"
#include "numafit/file_watch.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"

typedef struct file_rec {
    char *name;   /* basename */
    char *source; /* "file:<dir>/<name>" */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    char *real;  /* a symbolic link's target inside the directory, read instead (else NULL) */
    char *node;  /* node published from this file (NULL when none yet) */
    char *error; /* last load error, NULL when good */
    bool seen;
} file_rec;

struct nf_topology_dir {
    nf_cache *cache;
    char *dir;
    char *real_dir;     /* dir with every link resolved: links may point only inside it */
    pthread_mutex_t mu; /* files, scans */
    file_rec *files;
    size_t n_files;
    pthread_t thread;
    bool watching;
    int stop_pipe[2];
    nf_file_watch *watch; /* NULL: no inotify, re-scanned every rescan_ms only */
    int64_t rescan_ms;
};

static bool is_topology_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void rec_free(file_rec *f)
{
    free(f->name);
    free(f->source);
    free(f->real);
    free(f->node);
    free(f->error);
}

static bool same_stat(const file_rec *f, const struct stat *st)
{
    return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
           f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec &&
           f->ctime.tv_sec == st->st_ctim.tv_sec && f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* A parser message without the bytes it quotes ("... near 'root'"): whatever file a link
 * pointed at, its contents never reach a log line or a FailedNodes reason. */
static void redact(char *msg)
{
    char *near = strstr(msg, " near '");
    if (near)
        *near = 0;
}

/* Load one changed file into the cache. Returns true when it is good. */
static bool load_file(nf_topology_dir *d, file_rec *f)
{
    const char *path = f->source + 5;
    char *text = NULL;
    size_t len = 0;
    nf_err err = {{0}};
    nf_topology t;
    int rc = f->real ? nf_read_file_flags(f->real, NF_TOPOLOGY_FILE_MAX, NF_READ_NOFOLLOW, &text,
                                          &len, &err)
                     : nf_read_file(path, NF_TOPOLOGY_FILE_MAX, &text, &len, &err);
    if (rc == 0 && (rc = nf_topology_parse(text, len, &t, &err)))
        redact(err.msg);
    free(text);
    if (rc) {
        if (!f->error || strcmp(f->error, err.msg) != 0)
            nf_warn("bad topology file", "file=%s error=\"%s\"", path, err.msg);
        nf_strset(&f->error, err.msg);
        if (f->node) {
            char reason[NF_ERR_LEN + 64];
            snprintf(reason, sizeof(reason), "%s: %s", path, err.msg);
            nf_cache_mark_node_stale(d->cache, f->node, f->source, reason);
        }
        return false;
    }
    if (f->node && strcmp(f->node, t.node) != 0)
        nf_cache_remove_from(d->cache, f->node, f->source);
    if (nf_strset(&f->node, t.node)) {
        nf_topology_free(&t);
        return false;
    }
    if (f->error)
        nf_info("topology file is good again", "file=%s node=%s", path, f->node);
    else
        nf_debug("topology file loaded", "file=%s node=%s", path, f->node);
    free(f->error);
    f->error = NULL;
    rc = nf_cache_put(d->cache, &t, f->source, nf_wall_ms());
    return rc == 0;
}

static file_rec *find_rec(nf_topology_dir *d, const char *name)
{
    for (size_t i = 0; i < d->n_files; i++)
        if (strcmp(d->files[i].name, name) == 0)
            return &d->files[i];
    return NULL;
}

static file_rec *add_rec(nf_topology_dir *d, const char *name)
{
    file_rec *v = realloc(d->files, (d->n_files + 1) * sizeof(*v));
    if (!v)
        return NULL;
    d->files = v;
    file_rec *f = &v[d->n_files];
    memset(f, 0, sizeof(*f));
    if (!(f->name = strdup(name)) || asprintf(&f->source, "file:%s/%s", d->dir, name) < 0) {
        free(f->name);
        return NULL;
    }
    d->n_files++;
    return f;
}

/* The target of the link name in the directory when it lies inside the directory (a ConfigMap
 * volume's files are links into its ..data), else a warning (once per link target) and -EPERM:
 * a link out of the directory is never read. */
static int link_target(nf_topology_dir *d, const char *name, char **out)
{
    char *path = NULL, *real = NULL;
    if (asprintf(&path, "%s/%s", d->dir, name) < 0)
        return -ENOMEM;
    real = realpath(path, NULL);
    size_t n = d->real_dir ? strlen(d->real_dir) : 0;
    bool inside = real && n && strncmp(real, d->real_dir, n) == 0 && real[n] == '/';
    if (!inside) {
        file_rec *f = find_rec(d, name);
        const char *why = real ? "points outside the topology directory: not read"
                               : "is a dangling symbolic link: not read";
        if (!f || !f->error || strcmp(f->error, why) != 0) {
            nf_warn("topology file skipped", "file=%s reason=\"%s\"", path, why);
            if (f || (f = add_rec(d, name)))
                nf_strset(&f->error, why);
        }
        if (f && f->node) { /* it pointed inside before: its document goes */
            nf_cache_remove_from(d->cache, f->node, f->source);
            free(f->node);
            f->node = NULL;
        }
        if (f)
            f->seen = true; /* counted as a bad file */
        free(real);
        free(path);
        return -EPERM;
    }
    free(path);
    *out = real;
    return 0;
}

static int scan_locked(nf_topology_dir *d)
{
    DIR *dh = opendir(d->dir);
    if (!dh) {
        int rc = -errno;
        nf_warn("cannot read the topology directory", "dir=%s error=\"%s\"", d->dir, strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < d->n_files; i++)
        d->files[i].seen = false;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!is_topology_file(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        char *real = NULL;
        if (S_ISLNK(st.st_mode) &&
            (link_target(d, de->d_name, &real) || fstatat(dirfd(dh), de->d_name, &st, 0) != 0)) {
            free(real);
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            free(real);
            continue;
        }
        file_rec *f = find_rec(d, de->d_name);
        if (!f && !(f = add_rec(d, de->d_name))) {
            free(real);
            continue;
        }
        f->seen = true;
        if (real && (!f->real || strcmp(real, f->real) != 0))
            f->dev = 0; /* the link points elsewhere now: load it again */
        free(f->real);
        f->real = real;
        if (same_stat(f, &st) && (f->node || f->error))
            continue;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->size = st.st_size;
        f->mtime = st.st_mtim;
        f->ctime = st.st_ctim;
        load_file(d, f);
    }
    closedir(dh);
    int bad = 0;
    for (size_t i = 0; i < d->n_files;) {
        file_rec *f = &d->files[i];
        if (f->seen) {
            bad += f->error != NULL;
            i++;
            continue;
        }
        if (f->node) {
            nf_info("topology file removed", "file=%s node=%s", f->source + 5, f->node);
            nf_cache_remove_from(d->cache, f->node, f->source);
        }
        rec_free(f);
        d->files[i] = d->files[--d->n_files];
    }
    return bad;
}

int nf_topology_dir_scan(nf_topology_dir *d)
{
    pthread_mutex_lock(&d->mu);
    int rc = scan_locked(d);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

int nf_topology_dir_open(nf_cache *cache, const char *dir, nf_topology_dir **out, nf_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return nf_errf(err, -errno, "topology dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return nf_errf(err, -ENOTDIR, "topology dir %s: not a directory", dir);
    nf_topology_dir *d = calloc(1, sizeof(*d));
    if (!d || !(d->dir = strdup(dir))) {
        free(d);
        return nf_errf(err, -ENOMEM, "topology dir %s: out of memory", dir);
    }
    size_t n = strlen(d->dir);
    while (n > 1 && d->dir[n - 1] == '/')
        d->dir[--n] = 0;
    d->real_dir = realpath(d->dir, NULL);
    d->cache = cache;
    d->stop_pipe[0] = d->stop_pipe[1] = -1;
    pthread_mutex_init(&d->mu, NULL);
    int rc = nf_topology_dir_scan(d);
    if (rc < 0) {
        nf_topology_dir_free(d);
        return nf_errf(err, rc, "topology dir %s: %s", dir, strerror(-rc));
    }
    *out = d;
    return 0;
}

static void *watch_main(void *arg)
{
    nf_topology_dir *d = arg;
    for (;;) {
        struct pollfd pf[2] = {
            {.fd = d->stop_pipe[0], .events = POLLIN},
            {.fd = d->watch ? nf_file_watch_fd(d->watch) : -1, .events = POLLIN}};
        int n = poll(pf, d->watch ? 2 : 1, (int)d->rescan_ms);
        if (n < 0 && errno != EINTR)
            break;
        if (pf[0].revents)
            break;
        if (n > 0 && pf[1].revents) {
            /* let a burst of events (a writer, a ConfigMap swap) settle, then scan once */
            do
                nf_file_watch_drain(d->watch);
            while (poll(&pf[1], 1, 20) > 0 && !(pf[1].revents & (POLLERR | POLLNVAL)));
        }
        if (d->watch)
            nf_file_watch_retry(d->watch); /* the directory removed and made again */
        nf_topology_dir_scan(d);
    }
    return NULL;
}

int nf_topology_dir_watch(nf_topology_dir *d, int64_t rescan_ms, nf_err *err)
{
    if (d->watching)
        return nf_errf(err, -EBUSY, "topology dir %s: already watched", d->dir);
    d->rescan_ms = rescan_ms > 0 ? (rescan_ms > 3600000 ? 3600000 : rescan_ms) : 10000;
    if (pipe2(d->stop_pipe, O_CLOEXEC) != 0)
        return nf_errf(err, -errno, "topology dir %s: pipe: %s", d->dir, strerror(errno));
    const char *dirs[] = {d->dir};
    int rc = nf_file_watch_new(dirs, 1, &d->watch);
    if (rc || nf_file_watch_watching(d->watch) == 0) {
        rc = rc ? rc : -errno; /* inotify_add_watch's */
        nf_warn("no inotify on the topology directory; re-scanning periodically",
                "dir=%s rescan_ms=%lld error=\"%s\"", d->dir, (long long)d->rescan_ms,
                strerror(-rc));
        nf_file_watch_free(d->watch);
        d->watch = NULL;
    }
    rc = pthread_create(&d->thread, NULL, watch_main, d);
    if (rc)
        return nf_errf(err, -rc, "topology dir %s: cannot start a thread: %s", d->dir,
                       strerror(rc));
    d->watching = true;
    return 0;
}

void nf_topology_dir_counts(nf_topology_dir *d, size_t *loaded, size_t *bad)
{
    size_t l = 0, b = 0;
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < d->n_files; i++) {
        l += d->files[i].error == NULL && d->files[i].node;
        b += d->files[i].error != NULL;
    }
    pthread_mutex_unlock(&d->mu);
    if (loaded)
        *loaded = l;
    if (bad)
        *bad = b;
}

void nf_topology_dir_free(nf_topology_dir *d)
{
    if (!d)
        return;
    if (d->watching) {
        if (write(d->stop_pipe[1], "x", 1) < 0)
            nf_warn("cannot stop the topology dir watcher", "dir=%s", d->dir);
        pthread_join(d->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (d->stop_pipe[i] >= 0)
            close(d->stop_pipe[i]);
    nf_file_watch_free(d->watch);
    for (size_t i = 0; i < d->n_files; i++)
        rec_free(&d->files[i]);
    free(d->files);
    pthread_mutex_destroy(&d->mu);
    free(d->dir);
    free(d->real_dir);
    free(d);
}
