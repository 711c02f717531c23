/* kubelet_config_find.c - locate and read kubelet's configuration (see kubelet_config_find.h). */
#include "kubelet_config_find.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "numafit/buf.h"
#include "numafit/fileio.h"
#include "numafit/strlist.h"
#include "numafit/yaml_json.h"

#define CMDLINE_MAX (256u << 10)

void nf_kubelet_config_where_free(nf_kubelet_config_where *w)
{
    free(w->main);
    free(w->dropin_dir);
    free(w->origin);
    *w = (nf_kubelet_config_where){0};
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* The value of --name in a NUL-separated argv ("--name X" or "--name=X"; the last one wins). */
static int flag_value(const char *argv, size_t len, const char *name, char **out)
{
    size_t nl = strlen(name);
    const char *end = argv + len;
    for (const char *a = argv; a < end; a += strlen(a) + 1) {
        const char *v = NULL;
        if (strncmp(a, name, nl) != 0)
            continue;
        if (a[nl] == '=')
            v = a + nl + 1;
        else if (a[nl] == '\0' && a + nl + 1 < end)
            v = a + nl + 1;
        if (!v)
            continue;
        char *copy = strdup(v);
        if (!copy)
            return -ENOMEM;
        free(*out);
        *out = copy;
    }
    return 0;
}

int nf_kubelet_process_find(const char *procfs_root, int *pid, char **config, char **config_dir)
{
    *pid = 0;
    *config = *config_dir = NULL;
    const char *root = procfs_root ? procfs_root : "/proc";
    DIR *d = opendir(root);
    if (!d)
        return 0;
    long best = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!all_digits(de->d_name) || strlen(de->d_name) > 9)
            continue;
        long p = strtol(de->d_name, NULL, 10);
        if (best && p >= best)
            continue;
        char comm[64], path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s/comm", root, de->d_name);
        if (nf_read_line(path, comm, sizeof(comm), NULL) == 0 && strcmp(comm, "kubelet") == 0)
            best = p;
    }
    closedir(d);
    if (!best)
        return 0;
    char path[PATH_MAX], *argv = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%ld/cmdline", root, best);
    int rc = nf_read_file(path, CMDLINE_MAX, &argv, &len, NULL);
    if (rc == -ENOMEM)
        return rc;
    *pid = (int)best;
    if (rc) /* it exited in between: a kubelet without flags to go by */
        return 0;
    if ((rc = flag_value(argv, len, "--config", config)) == 0)
        rc = flag_value(argv, len, "--config-dir", config_dir);
    free(argv);
    if (rc) {
        free(*config);
        free(*config_dir);
        *config = *config_dir = NULL;
    }
    return rc;
}

int nf_kubelet_config_find(const char *flag, const char *procfs_root, const char *kubelet_dir,
                           nf_kubelet_config_where *w)
{
    *w = (nf_kubelet_config_where){0};
    if (flag) {
        w->main = strdup(flag);
        w->origin = strdup("flag");
        return w->main && w->origin ? 0 : -ENOMEM;
    }
    int pid, rc;
    if ((rc = nf_kubelet_process_find(procfs_root, &pid, &w->main, &w->dropin_dir)))
        return rc;
    if (w->main || w->dropin_dir) {
        w->origin = nf_strdupf("kubelet process %d (%s/%d/cmdline)", pid,
                               procfs_root ? procfs_root : "/proc", pid);
        return w->origin ? 0 : -ENOMEM;
    }
    char *def = nf_path_join(kubelet_dir ? kubelet_dir : "/var/lib/kubelet", "config.yaml", NULL);
    struct stat st;
    if (!def)
        return -ENOMEM;
    if (stat(def, &st) == 0) {
        w->main = def;
        w->origin = strdup("kubeadm default");
        return w->origin ? 0 : -ENOMEM;
    }
    free(def);
    return 0;
}

/* kubelet's merge: objects key by key, recursively; anything else replaces; null deletes. */
static int merge(json_t *dst, json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        json_t *old = json_object_get(dst, k);
        if (json_is_null(v)) {
            json_object_del(dst, k);
        } else if (json_is_object(v) && json_is_object(old)) {
            int rc = merge(old, v);
            if (rc)
                return rc;
        } else if (json_object_set(dst, k, v) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin(const char *name)
{
    size_t l = strlen(name);
    return name[0] != '.' && l > 5 && strcmp(name + l - 5, ".conf") == 0;
}

/* The sorted *.conf names of dir (none when it does not exist). */
static int list_dropins(const char *dir, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && !rc)
        if (is_dropin(de->d_name))
            rc = nf_strlist_addf(names, n, "%s", de->d_name);
    closedir(d);
    if (rc) {
        nf_strlist_free(*names, *n);
        *names = NULL;
        *n = 0;
        return -ENOMEM;
    }
    if (*n)
        qsort(*names, *n, sizeof(**names), cmp_str);
    return 0;
}

/* Read and parse one file of the merge into *doc (an object). */
static int load_part(const char *path, size_t max, json_t **doc, nf_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = nf_read_file_flags(path, max, NF_READ_TEXT, &text, &len, err);
    if (rc)
        return rc;
    nf_err e;
    rc = nf_yaml_load(text, len, doc, &e);
    free(text);
    if (rc)
        return nf_errf(err, rc == -ENOMEM ? rc : -EINVAL, "%s: %s", path, e.msg);
    if (json_is_null(*doc)) { /* an empty drop-in changes nothing */
        json_decref(*doc);
        *doc = json_object();
        return *doc ? 0 : nf_errf(err, -ENOMEM, "out of memory");
    }
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return nf_errf(err, -EINVAL, "%s: not a KubeletConfiguration object", path);
    }
    return 0;
}

static int add_file(nf_buf *files, const char *path)
{
    int rc = files->len ? nf_buf_adds(files, ", ") : 0;
    return rc ? rc : nf_buf_adds(files, path);
}

int nf_kubelet_config_read(const char *main, const char *dropin_dir, size_t max, char **text,
                           size_t *len, char **files, nf_err *err)
{
    *text = *files = NULL;
    *len = 0;
    char **names = NULL;
    size_t n = 0;
    int rc = dropin_dir ? list_dropins(dropin_dir, &names, &n) : 0;
    if (rc)
        return nf_errf(err, rc, "out of memory");
    if (!n) { /* the main file as it is */
        if (!main) {
            rc = nf_errf(err, -ENOENT, "%s: no drop-in (*.conf) files and no --config",
                         dropin_dir ? dropin_dir : "kubelet");
        } else if ((rc = nf_read_file_flags(main, max, NF_READ_TEXT, text, len, err)) == 0 &&
                   !(*files = strdup(main))) {
            free(*text);
            *text = NULL;
            rc = nf_errf(err, -ENOMEM, "out of memory");
        }
        nf_strlist_free(names, n);
        return rc;
    }
    nf_buf fl = {0};
    json_t *doc = NULL;
    if (main) {
        if ((rc = load_part(main, max, &doc, err)) == 0 && (rc = add_file(&fl, main)))
            nf_errf(err, rc, "out of memory");
    } else if (!(doc = json_object())) {
        rc = nf_errf(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        char *path = nf_path_join(dropin_dir, names[i], NULL);
        json_t *part = NULL;
        if (!path) {
            rc = nf_errf(err, -ENOMEM, "out of memory");
        } else if ((rc = load_part(path, max, &part, err)) == 0) {
            if ((rc = merge(doc, part)) || (rc = add_file(&fl, path)))
                nf_errf(err, rc, "out of memory");
        } else if (rc == -ENOENT) { /* removed since it was listed */
            rc = 0;
        }
        json_decref(part);
        free(path);
    }
    if (!rc) {
        *text = fl.p ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!fl.p) {
            rc = nf_errf(err, -ENOENT, "%s: no file could be read", dropin_dir);
        } else if (!*text) {
            rc = nf_errf(err, -ENOMEM, "out of memory");
        } else {
            *len = strlen(*text);
            *files = fl.p;
            fl.p = NULL;
        }
    }
    json_decref(doc);
    nf_buf_free(&fl);
    nf_strlist_free(names, n);
    return rc;
}
