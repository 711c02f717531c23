/* pod_huge.c - hugetlbfs mounts, hugetlb and memory cgroup limits (pod_huge.h). */
#include "pod_huge.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "numafit/fileio.h"

#define PROCFILE_MAX (1024 * 1024)
/* cgroup v1 writes "no limit" as the largest page-aligned long: anything this big is none */
#define V1_NO_LIMIT (INT64_C(1) << 62)

int nf_pod_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || v == 0)
        return -EINVAL;
    unsigned shift = 0;
    switch (tolower((unsigned char)*end)) {
    case 'k':
        shift = 10;
        break;
    case 'm':
        shift = 20;
        break;
    case 'g':
        shift = 30;
        break;
    case '\0':
        break;
    default:
        return -EINVAL;
    }
    if (*end && end[1] && strcasecmp(end + 1, "b") != 0)
        return -EINVAL;
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

const char *nf_pod_hugetlb_name(uint64_t page_bytes, char *buf, size_t len)
{
    if (page_bytes >= (UINT64_C(1) << 30))
        snprintf(buf, len, "%" PRIu64 "GB", page_bytes >> 30);
    else if (page_bytes >= (UINT64_C(1) << 20))
        snprintf(buf, len, "%" PRIu64 "MB", page_bytes >> 20);
    else
        snprintf(buf, len, "%" PRIu64 "KB", page_bytes >> 10);
    return buf;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static bool has_option(const char *opts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = opts; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static int default_page_size(const char *procfs, uint64_t *out)
{
    char *path = nf_path_join(procfs, "meminfo", NULL), *text = NULL;
    int rc = path ? nf_read_file(path, PROCFILE_MAX, &text, NULL, NULL) : -ENOMEM;
    const char *p = rc == 0 ? strstr(text, "Hugepagesize:") : NULL;
    unsigned long long kb;
    rc = p && sscanf(p, "Hugepagesize: %llu kB", &kb) == 1 && kb ? 0 : -ENOENT;
    if (rc == 0)
        *out = (uint64_t)kb << 10;
    free(text);
    free(path);
    return rc;
}

/* mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
static int parse_mountinfo(const char *procfs, nf_pod_huge *h, nf_err *err)
{
    char *path = nf_path_join(procfs, "self/mountinfo", NULL), *text = NULL, *save = NULL;
    if (!path)
        return -ENOMEM;
    int rc = nf_read_file(path, PROCFILE_MAX, &text, NULL, err);
    uint64_t dflt = 0;
    bool have_dflt = false;
    for (char *line = rc ? NULL : strtok_r(text, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[64], *fs = NULL;
        int nf = 0;
        for (char *tok, *s2 = NULL, *l = line; nf < 64 && (tok = strtok_r(l, " ", &s2)); l = NULL)
            f[nf++] = tok;
        int dash = -1;
        for (int i = 6; i < nf; i++)
            if (strcmp(f[i], "-") == 0) {
                dash = i;
                break;
            }
        if (nf < 6 || dash < 0 || dash + 3 >= nf) { /* FSTYPE SOURCE SUPER after the dash */
            rc = nf_errf(err, -EINVAL, "%s: malformed line \"%.80s\"", path, line);
            break;
        }
        fs = f[dash + 1];
        if (strcmp(fs, "hugetlbfs") != 0)
            continue;
        const char *super = f[dash + 3];
        uint64_t page = 0;
        const char *ps = strstr(super, "pagesize=");
        if (ps) {
            char val[32];
            snprintf(val, sizeof(val), "%.*s", (int)strcspn(ps + 9, ","), ps + 9);
            if (nf_pod_parse_size(val, &page)) {
                rc = nf_errf(err, -EINVAL, "%s: %s: pagesize \"%s\"", path, f[4], val);
                break;
            }
        } else {
            if (!have_dflt && default_page_size(procfs, &dflt) == 0)
                have_dflt = true;
            page = have_dflt ? dflt : 0;
        }
        nf_pod_mount *grown = realloc(h->mount, (h->n_mounts + 1) * sizeof(*grown));
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        h->mount = grown;
        nf_pod_mount *m = &h->mount[h->n_mounts++];
        unescape_octal(f[4]);
        m->path = strdup(f[4]);
        m->page_bytes = page;
        m->writable = has_option(f[5], "rw") && m->path && access(m->path, W_OK) == 0;
        if (!m->path)
            rc = -ENOMEM;
    }
    free(text);
    free(path);
    return rc;
}

/* Page sizes the kernel offers, ascending, with their free pages per node. */
static int read_sizes(const char *sysfs, const nf_pod_cpus *cpus, nf_pod_huge *h)
{
    char *dir = nf_path_join(sysfs, "kernel/mm/hugepages", NULL);
    if (!dir)
        return -ENOMEM;
    DIR *d = opendir(dir);
    int rc = 0;
    struct dirent *e;
    while (d && rc == 0 && (e = readdir(d))) {
        unsigned long long kb;
        char tail[8];
        if (sscanf(e->d_name, "hugepages-%llukB%7s", &kb, tail) != 1 || !kb)
            continue;
        nf_pod_hugesize *grown = realloc(h->size, (h->n_sizes + 1) * sizeof(*grown));
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        h->size = grown;
        size_t i = h->n_sizes++;
        while (i > 0 && h->size[i - 1].page_bytes > ((uint64_t)kb << 10)) {
            h->size[i] = h->size[i - 1];
            i--;
        }
        nf_pod_hugesize *s = &h->size[i];
        s->page_bytes = (uint64_t)kb << 10;
        s->limit = NF_POD_UNKNOWN;
        s->node_free = calloc(cpus->n_nodes + 1, sizeof(*s->node_free));
        if (!s->node_free)
            rc = -ENOMEM;
        for (size_t n = 0; rc == 0 && n < cpus->n_nodes; n++) {
            char rel[512];
            snprintf(rel, sizeof(rel), "devices/system/node/node%d/hugepages/%s/free_hugepages",
                     cpus->nodes[n].id, e->d_name);
            char *p = nf_path_join(sysfs, rel, NULL);
            int64_t v;
            s->node_free[n] =
                p && nf_read_int64(p, 0, INT64_MAX, &v, NULL) == 0 ? v : NF_POD_UNKNOWN;
            free(p);
        }
    }
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

/* The cgroup path of `controller` in self/cgroup ("" for the v2 line); "/" when not listed. */
static int cgroup_path(const char *procfs, const char *controller, char **out)
{
    char *path = nf_path_join(procfs, "self/cgroup", NULL), *text = NULL, *save = NULL;
    if (!path)
        return -ENOMEM;
    *out = NULL;
    if (nf_read_file(path, PROCFILE_MAX, &text, NULL, NULL) == 0) {
        for (char *l = strtok_r(text, "\n", &save); l && !*out; l = strtok_r(NULL, "\n", &save)) {
            char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = '\0';
            bool match = *controller ? has_option(c1 + 1, controller) : c1[1] == '\0';
            if (match && !(*out = strdup(c2 + 1))) {
                free(text);
                free(path);
                return -ENOMEM;
            }
        }
    }
    free(text);
    free(path);
    if (!*out && !(*out = strdup("/")))
        return -ENOMEM;
    return 0;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The directory of this container's cgroup under base: base + path when it exists, else base
 * itself (a cgroup namespace shows the container's own cgroup at the root). */
static char *cgroup_dir(const char *base, const char *path)
{
    char *full = nf_path_join(base, path, NULL);
    if (is_dir(full) && strcmp(path, "/") != 0)
        return full;
    free(full);
    return is_dir(base) ? strdup(base) : NULL;
}

/* A limit file: "max" or a number; v1's huge no-limit value counts as none. -ENOENT absent. */
static int read_limit(const char *dir, const char *name, int64_t *out, nf_err *err)
{
    char *p = nf_path_join(dir, name, NULL), line[64];
    if (!p)
        return -ENOMEM;
    int rc = nf_read_line(p, line, sizeof(line), err);
    if (rc == 0) {
        int64_t v;
        if (strcmp(line, "max") == 0)
            *out = NF_POD_UNLIMITED;
        else if (nf_parse_int64(line, 0, INT64_MAX, &v) == 0)
            *out = v >= V1_NO_LIMIT ? NF_POD_UNLIMITED : v;
        else
            rc = nf_errf(err, -EINVAL, "%s: \"%s\" is not a limit", p, line);
    }
    free(p);
    return rc;
}

static int read_cgroup(const nf_pod_roots *r, nf_pod_huge *h, nf_err *err)
{
    char *base = NULL, *path = NULL, *mem = NULL;
    int rc = 0;
    h->memory_limit = NF_POD_UNKNOWN;
    char *probe = nf_path_join(r->cgroup, "cgroup.controllers", NULL);
    bool v2 = probe && access(probe, F_OK) == 0;
    free(probe);
    if (v2) {
        if ((rc = cgroup_path(r->procfs, "", &path)) == 0) {
            h->cgroup_dir = cgroup_dir(r->cgroup, path);
            mem = h->cgroup_dir ? strdup(h->cgroup_dir) : NULL;
        }
    } else {
        if ((rc = cgroup_path(r->procfs, "hugetlb", &path)) == 0 &&
            (base = nf_path_join(r->cgroup, "hugetlb", NULL)))
            h->cgroup_dir = cgroup_dir(base, path);
        free(base);
        free(path);
        path = NULL;
        if (rc == 0 && (rc = cgroup_path(r->procfs, "memory", &path)) == 0 &&
            (base = nf_path_join(r->cgroup, "memory", NULL)))
            mem = cgroup_dir(base, path);
        free(base);
    }
    if (h->cgroup_dir || mem)
        h->cgroup_version = v2 ? 2 : 1;
    for (size_t i = 0; rc == 0 && h->cgroup_dir && i < h->n_sizes; i++) {
        char name[96], size[32];
        nf_pod_hugetlb_name(h->size[i].page_bytes, size, sizeof(size));
        snprintf(name, sizeof(name), v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", size);
        rc = read_limit(h->cgroup_dir, name, &h->size[i].limit, err);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc == 0 && mem) {
        rc = read_limit(mem, v2 ? "memory.max" : "memory.limit_in_bytes", &h->memory_limit, err);
        if (rc == -ENOENT)
            rc = 0;
    }
    free(mem);
    free(path);
    return rc;
}

int nf_pod_huge_read(const nf_pod_roots *r, const nf_pod_cpus *cpus, nf_pod_huge *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = parse_mountinfo(r->procfs, out, err);
    if (rc == 0)
        rc = read_sizes(r->sysfs, cpus, out);
    if (rc == 0)
        rc = read_cgroup(r, out, err);
    if (rc)
        nf_pod_huge_free(out);
    return rc;
}

const nf_pod_hugesize *nf_pod_huge_size(const nf_pod_huge *h, uint64_t page_bytes)
{
    for (size_t i = 0; i < h->n_sizes; i++)
        if (h->size[i].page_bytes == page_bytes)
            return &h->size[i];
    return NULL;
}

void nf_pod_huge_free(nf_pod_huge *h)
{
    for (size_t i = 0; i < h->n_mounts; i++)
        free(h->mount[i].path);
    for (size_t i = 0; i < h->n_sizes; i++)
        free(h->size[i].node_free);
    free(h->mount);
    free(h->size);
    free(h->cgroup_dir);
    memset(h, 0, sizeof(*h));
}
