/* sysfs_sriov.c - SR-IOV PFs and VFs from sysfs, grouped per NUMA node and resource
 * (see sysfs_sriov.h). */
#include "sysfs_sriov.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "numafit/fileio.h"
#include "numafit/strlist.h"

#define MAX_VFS 65536 /* PCIe: TotalVFs is 16 bits */

/* Keep the first problem of a device: later ones are usually consequences. */
static void set_error(char **dst, char *msg)
{
    if (*dst || !msg) {
        free(msg);
        return;
    }
    *dst = msg;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* basename of the target of the symlink dirfd/name, or NULL (errno set) */
static char *link_base(int dirfd, const char *name)
{
    char buf[PATH_MAX];
    int n = nf_readlink_at(dirfd, name, buf, sizeof(buf));
    if (n < 0) {
        errno = -n;
        return NULL;
    }
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    char *slash = strrchr(buf, '/');
    return strdup(slash ? slash + 1 : buf);
}

/* dir + "/" + name (as nf_path_join) into a fixed buffer, for messages */
static const char *at_path(char buf[PATH_MAX], const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if (snprintf(buf, PATH_MAX, "%s%s%s", dir, n && dir[n - 1] != '/' ? "/" : "", name) >= PATH_MAX)
        memcpy(buf + PATH_MAX - 4, "...", 4); /* a message only */
    return buf;
}

/* "0x8086" -> heap "8086"; NULL when it is no hex id (*junk) or memory runs out */
static char *hex_id(const char *buf, bool *junk)
{
    const char *p = buf;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    size_t n = strlen(p);
    bool ok = n > 0 && n <= 8;
    for (size_t i = 0; i < n && ok; i++)
        ok = isxdigit((unsigned char)p[i]);
    *junk = !ok;
    char *out = ok ? strdup(p) : NULL;
    for (char *c = out; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return out;
}

/* dirfd/file "0x8086\n" -> "8086"; NULL and *error on junk (dir names dirfd in messages) */
static char *read_hex_id(int dirfd, const char *dir, const char *file, char **error)
{
    char buf[64];
    nf_err e = {{0}};
    char *out = NULL;
    bool junk;
    if (nf_read_line_at(dirfd, dir, file, buf, sizeof(buf), &e) != 0) {
        set_error(error, nf_strdupf("error: %s", e.msg));
    } else if (!(out = hex_id(buf, &junk)) && junk) {
        char path[PATH_MAX];
        set_error(error,
                  nf_strdupf("error: %s: not a hex id: \"%.20s\"", at_path(path, dir, file), buf));
    }
    return out;
}

static long read_class(int dirfd, const char *name)
{
    int64_t v = -1;
    if (nf_read_int64_at(dirfd, NULL, name, 0, 0xffffff, &v, NULL) != 0)
        v = -1;
    return (long)v;
}

static int read_int_file(int dirfd, const char *dir, const char *file, int64_t min, int64_t max,
                         int *out, char **error)
{
    int64_t v;
    nf_err e = {{0}};
    int rc = nf_read_int64_at(dirfd, dir, file, min, max, &v, &e);
    if (rc == 0)
        *out = (int)v;
    else {
        char path[PATH_MAX];
        *out = NF_UNKNOWN;
        set_error(error, rc == -ENOENT ? nf_strdupf("absent: %s", at_path(path, dir, file))
                                       : nf_strdupf("error: %s", e.msg));
    }
    return rc;
}

/* opendir(dirfd/name) */
static DIR *opendir_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

static char *first_netdev(int pfd)
{
    DIR *d = opendir_at(pfd, "net");
    if (!d)
        return NULL;
    char *best = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!best || strcmp(de->d_name, best) < 0) {
            free(best);
            best = strdup(de->d_name);
        }
    }
    closedir(d);
    return best;
}

static const char *link_type_of(int pfd, const char *netdev, char *buf, size_t len)
{
    if (!netdev)
        return NULL;
    char name[PATH_MAX];
    int64_t v;
    if (snprintf(name, sizeof(name), "net/%s/type", netdev) >= (int)sizeof(name) ||
        nf_read_int64_at(pfd, NULL, name, 0, 65535, &v, NULL) != 0)
        return NULL;
    if (v == 1)
        return "ether";
    if (v == 32)
        return "infiniband";
    snprintf(buf, len, "%d", (int)v);
    return buf;
}

typedef struct vf_link {
    int index;
    char name[32];
} vf_link;

static int cmp_vf_link(const void *a, const void *b)
{
    return ((const vf_link *)a)->index - ((const vf_link *)b)->index;
}

/* the virtfnN entries of the PF directory d (not read yet), in N order */
static int list_virtfns(DIR *d, vf_link **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && *n < MAX_VFS) {
        if (strncmp(de->d_name, "virtfn", 6) != 0 || !isdigit((unsigned char)de->d_name[6]))
            continue;
        int64_t idx;
        if (nf_parse_int64(de->d_name + 6, 0, MAX_VFS - 1, &idx) != 0 || strlen(de->d_name) > 12)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            vf_link *nv = realloc(*out, cap * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            *out = nv;
        }
        (*out)[*n].index = (int)idx;
        memcpy((*out)[*n].name, de->d_name, strlen(de->d_name) + 1); /* <= 12 bytes */
        (*n)++;
    }
    if (*n)
        qsort(*out, *n, sizeof(vf_link), cmp_vf_link);
    return rc;
}

/* The common case, a VF whose link is "../NAME" as the kernel makes them: its attributes are
 * read as NAME/... relative to the PF's parent directory (parentfd), without opening the VF's
 * own directory. Returns 1, with vf's fields set so far, when anything is missing or wrong: the
 * caller then reads the VF the careful way (read_vf), which words the problems. */
static int read_vf_fast(int parentfd, const char *name, bool want_class, nf_vf *vf, long *pci_class)
{
    char path[NAME_MAX + 32], buf[64];
    bool junk;
    snprintf(path, sizeof(path), "%s/vendor", name);
    if (nf_read_line_at(parentfd, NULL, path, buf, sizeof(buf), NULL) != 0 ||
        !(vf->vendor = hex_id(buf, &junk)))
        return 1;
    snprintf(path, sizeof(path), "%s/device", name);
    if (nf_read_line_at(parentfd, NULL, path, buf, sizeof(buf), NULL) != 0 ||
        !(vf->device = hex_id(buf, &junk)))
        return 1;
    snprintf(path, sizeof(path), "%s/driver", name);
    vf->driver = link_base(parentfd, path); /* NULL: unbound */
    snprintf(path, sizeof(path), "%s/iommu_group", name);
    char *g = link_base(parentfd, path);
    if (g) {
        int64_t v;
        int rc = nf_parse_int64(g, 0, INT_MAX, &v);
        free(g);
        if (rc != 0)
            return 1;
        vf->iommu_group = (int)v;
    }
    if (want_class) {
        snprintf(path, sizeof(path), "%s/class", name);
        *pci_class = read_class(parentfd, path);
    }
    return 0;
}

/* One VF, from the PF's virtfnN link (pfd: the PF's directory, parentfd: its parent or -1). The
 * PCI class only feeds the config's deviceType selector: read only when there is a config.
 * *is_dir tells whether the link leads to a directory. */
static int read_vf(int pfd, int parentfd, const char *pfdir, const vf_link *l, bool want_class,
                   nf_vf *vf, long *pci_class, bool *is_dir)
{
    *is_dir = false;
    memset(vf, 0, sizeof(*vf));
    vf->iommu_group = NF_UNKNOWN;
    vf->probe.max_rx_queues = NF_UNKNOWN;
    *pci_class = -1;
    char target[PATH_MAX] = "?";
    int n = nf_readlink_at(pfd, l->name, target, sizeof(target));
    int e = n < 0 ? -n : 0;
    int vfd = -1;
    if (n >= 0) {
        char *t = target + n;
        while (t > target + 1 && t[-1] == '/')
            t--;
        char *slash = memrchr(target, '/', (size_t)(t - target));
        const char *base = slash ? slash + 1 : target;
        if (!(vf->pci = strndup(base, (size_t)(t - base))))
            return -ENOMEM;
        if (parentfd >= 0 && base == target + 3 && t == target + n && *base &&
            strncmp(target, "../", 3) == 0 && strcmp(base, ".") != 0 && strcmp(base, "..") != 0) {
            if (read_vf_fast(parentfd, vf->pci, want_class, vf, pci_class) == 0) {
                *is_dir = true;
                return 0;
            }
            free(vf->vendor);
            free(vf->device);
            free(vf->driver);
            vf->vendor = vf->device = vf->driver = NULL;
            vf->iommu_group = NF_UNKNOWN;
            *pci_class = -1;
        }
        vfd = openat(pfd, l->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (vfd < 0)
            e = errno;
    } else {
        strcpy(target, "?");
    }
    /* the careful way: the VF's directory opened through the link, problems worded */
    char vfdir[PATH_MAX];
    at_path(vfdir, pfdir, l->name);
    if (vfd < 0) {
        set_error(&vf->error, nf_strdupf("error: %s -> %s: points nowhere (%s)", vfdir, target,
                                         strerror(e ? e : ENOTDIR)));
        return 0;
    }
    vf->vendor = read_hex_id(vfd, vfdir, "vendor", &vf->error);
    vf->device = read_hex_id(vfd, vfdir, "device", &vf->error);
    vf->driver = link_base(vfd, "driver"); /* NULL: unbound */
    char *g = link_base(vfd, "iommu_group");
    if (g) {
        int64_t v;
        if (nf_parse_int64(g, 0, INT_MAX, &v) == 0) {
            vf->iommu_group = (int)v;
        } else {
            char p[PATH_MAX];
            set_error(&vf->error, nf_strdupf("error: %s -> %s: not an IOMMU group number",
                                             at_path(p, vfdir, "iommu_group"), g));
        }
    }
    free(g);
    if (want_class)
        *pci_class = read_class(vfd, "class");
    close(vfd);
    *is_dir = true;
    return 0;
}

static int pf_copy(nf_pf *dst, const nf_pf *src)
{
    *dst = *src;
    dst->pci = dst->netdev = dst->vendor = dst->device = dst->driver = dst->error = NULL;
    if (nf_strset(&dst->pci, src->pci) || nf_strset(&dst->netdev, src->netdev) ||
        nf_strset(&dst->vendor, src->vendor) || nf_strset(&dst->device, src->device) ||
        nf_strset(&dst->driver, src->driver) || nf_strset(&dst->error, src->error))
        return -ENOMEM;
    return 0;
}

static nf_device_group *append_group(nf_device_group **arr, size_t *n)
{
    nf_device_group *na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (!na)
        return NULL;
    *arr = na;
    memset(&na[*n], 0, sizeof(*na));
    return &na[(*n)++];
}

static bool same_name(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char SRC_CHECKPOINT[] = "kubeletCheckpoint";
static const char SRC_CONFIG[] = "sriovConfig";
static const char SRC_BOTH[] = "kubeletCheckpoint,sriovConfig"; /* some VFs by each */

/* The resource kubelet registered the device ID pci under, or NULL. */
static const char *registered_as(const nf_sriov_naming *nm, const char *pci)
{
    for (size_t i = 0; pci && i < nm->n_registered; i++)
        if (nm->registered[i].value && strcasecmp(nm->registered[i].value, pci) == 0)
            return nm->registered[i].key;
    return NULL;
}

/* Name one VF (see nf_sriov_naming): *src receives the source of the name returned. */
static const char *name_vf(const nf_sriov_naming *nm, const nf_sriov_dev *d,
                           nf_sriov_naming_stats *st, const char **src)
{
    const char *ck = registered_as(nm, d->pci);
    const char *cf = nf_sriov_config_match(nm->cfg, d);
    if (cf) {
        st->config_named++;
        if (ck && strcmp(ck, cf) == 0) {
            st->config_agrees++;
        } else if (ck) {
            if (!st->disagree++)
                snprintf(st->example, sizeof(st->example),
                         "%s: kubelet registered it as %s, the SR-IOV config names it %s", d->pci,
                         ck, cf);
        }
    }
    if (ck) {
        st->by_checkpoint++;
        *src = SRC_CHECKPOINT;
        return ck;
    }
    if (cf) {
        st->by_config++;
        *src = SRC_CONFIG;
    }
    return cf;
}

/* The sorted names of <sysfs>/bus/pci/devices; vf[i] once a scanned PF's virtfn link led to
 * names[i] (a VF has no SR-IOV capability, so it need not be probed for sriov_totalvfs). */
typedef struct pci_names {
    char **names;
    bool *vf;
    size_t n;
} pci_names;

static void mark_vf(pci_names *pn, const char *pci)
{
    char **hit = bsearch(&pci, pn->names, pn->n, sizeof(char *), cmp_str);
    if (hit)
        pn->vf[hit - pn->names] = true;
}

static int scan_pf(int devfd, const char *devdir, const char *name, const nf_sriov_naming *nm,
                   nf_sriov_naming_stats *st, nf_topology *t, pci_names *pn)
{
    const nf_sriov_config *cfg = nm->cfg;
    int rc = 0;
    char *pfdir = nf_path_join(devdir, name, NULL);
    if (!pfdir)
        return -ENOMEM;
    nf_pf pf = {0};
    vf_link *links = NULL;
    size_t n_links = 0;
    nf_vf *vfs = NULL;
    const char **res = NULL, **src = NULL;
    /* the PF directory, opened once: listed for virtfnN links and every attribute read relative
     * to it (an unreadable directory is still searched, as it was by full paths) */
    DIR *pdir = opendir_at(devfd, name);
    int pfd = pdir ? dirfd(pdir) : openat(devfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int pfd_errno = errno, parentfd = -1;
    if (!(pf.pci = strdup(name))) {
        rc = -ENOMEM;
        goto out;
    }
    if (pfd < 0) { /* gone since it was listed */
        char *numa_err = nf_strdupf("error: %s: %s", pfdir, strerror(pfd_errno));
        if (!numa_err) {
            rc = -ENOMEM;
            goto out;
        }
        set_error(&pf.error, numa_err);
        pf.numa_node = pf.total_vfs = pf.num_vfs = NF_UNKNOWN;
        nf_device_group *g = append_group(&t->unplaced_devices, &t->n_unplaced_devices);
        if (!g || pf_copy(&g->pf, &pf) != 0)
            rc = -ENOMEM;
        goto out;
    }
    pf.vendor = read_hex_id(pfd, pfdir, "vendor", &pf.error);
    pf.device = read_hex_id(pfd, pfdir, "device", &pf.error);
    pf.driver = link_base(pfd, "driver");
    pf.netdev = first_netdev(pfd);
    char *numa_err = NULL;
    int numa;
    rc = read_int_file(pfd, pfdir, "numa_node", -1, 65535, &numa, &numa_err);
    if (rc == -ENOMEM)
        goto out;
    rc = 0;
    if (numa == -1 && !numa_err)
        numa_err = nf_strdupf("unknown: %s/numa_node is -1 (firmware gives no locality)", pfdir);
    pf.numa_node = numa >= 0 ? numa : NF_UNKNOWN;
    bool placed = pf.numa_node != NF_UNKNOWN && nf_topology_numa(t, pf.numa_node);
    if (pf.numa_node != NF_UNKNOWN && !placed)
        numa_err = nf_strdupf("error: %s/numa_node is %d, which is no NUMA node of this machine",
                              pfdir, pf.numa_node);
    if (numa_err) {
        pf.numa_node = placed ? pf.numa_node : NF_UNKNOWN;
        set_error(&pf.error, numa_err);
    }

    if ((rc = read_int_file(pfd, pfdir, "sriov_totalvfs", 0, 65535, &pf.total_vfs, &pf.error)) ==
            -ENOMEM ||
        (rc = read_int_file(pfd, pfdir, "sriov_numvfs", 0, 65535, &pf.num_vfs, &pf.error)) ==
            -ENOMEM)
        goto out;
    rc = 0;
    /* the link type only feeds the config's selectors */
    char ltbuf[16];
    const char *link_type = cfg ? link_type_of(pfd, pf.netdev, ltbuf, sizeof(ltbuf)) : NULL;
    if (pdir && (rc = list_virtfns(pdir, &links, &n_links)) != 0)
        goto out;
    /* the VFs are the PF's siblings (virtfnN -> ../<VF>): read them through the parent */
    if (n_links)
        parentfd = openat(pfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (n_links) {
        vfs = calloc(n_links, sizeof(*vfs));
        res = calloc(n_links, sizeof(*res));
        src = calloc(n_links, sizeof(*src));
        if (!vfs || !res || !src) {
            rc = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n_links; i++) {
        long cls;
        bool is_dir;
        if ((rc = read_vf(pfd, parentfd, pfdir, &links[i], cfg != NULL, &vfs[i], &cls, &is_dir)) !=
            0) {
            n_links = i + 1;
            goto out;
        }
        if (is_dir)
            mark_vf(pn, vfs[i].pci);
        nf_sriov_dev d = {.pci = vfs[i].pci,
                          .vendor = vfs[i].vendor,
                          .device = vfs[i].device,
                          .driver = vfs[i].driver,
                          .pf_pci = pf.pci,
                          .pf_netdev = pf.netdev,
                          .link_type = link_type,
                          .vf_index = links[i].index,
                          .pci_class = cls};
        res[i] = vfs[i].error ? NULL : name_vf(nm, &d, st, &src[i]);
    }

    nf_device_group **arr;
    size_t *narr;
    if (placed) {
        nf_numa_node *node = nf_topology_numa(t, pf.numa_node);
        arr = &node->devices;
        narr = &node->n_devices;
    } else {
        arr = &t->unplaced_devices;
        narr = &t->n_unplaced_devices;
    }
    /* one group per distinct resource, in order of first VF; one empty group without VFs */
    size_t done = 0;
    bool *taken = n_links ? calloc(n_links, sizeof(bool)) : NULL;
    if (n_links && !taken) {
        rc = -ENOMEM;
        goto out;
    }
    do {
        size_t first = 0;
        while (first < n_links && taken[first])
            first++;
        nf_device_group *g = append_group(arr, narr);
        if (!g || pf_copy(&g->pf, &pf) != 0) {
            rc = -ENOMEM;
            break;
        }
        if (first < n_links && res[first]) {
            if (!(g->resource = strdup(res[first]))) {
                rc = -ENOMEM;
                break;
            }
            g->resource_source = src[first];
        }
        if (n_links == 0)
            break;
        size_t count = 0;
        for (size_t i = first; i < n_links; i++)
            if (!taken[i] && same_name(res[i], res[first]))
                count++;
        g->vfs = calloc(count, sizeof(nf_vf));
        if (!g->vfs) {
            rc = -ENOMEM;
            break;
        }
        for (size_t i = first; i < n_links; i++) {
            if (taken[i] || !same_name(res[i], res[first]))
                continue;
            if (g->resource_source != src[i])
                g->resource_source = SRC_BOTH;
            g->vfs[g->n_vfs++] = vfs[i]; /* moved: ownership passes to the group */
            memset(&vfs[i], 0, sizeof(vfs[i]));
            taken[i] = true;
            done++;
        }
    } while (done < n_links);
    free(taken);
out:
    for (size_t i = 0; vfs && i < n_links; i++)
        nf_vf_free(&vfs[i]); /* the VFs not moved into a group */
    free(vfs);
    free(res);
    free(src);
    free(links);
    nf_pf_free(&pf);
    if (parentfd >= 0)
        close(parentfd);
    if (pdir)
        closedir(pdir);
    else if (pfd >= 0)
        close(pfd);
    free(pfdir);
    return rc;
}

int nf_sriov_scan(const char *sysfs_root, const nf_sriov_config *cfg, nf_topology *t)
{
    nf_sriov_naming nm = {.cfg = cfg};
    return nf_sriov_scan_named(sysfs_root, &nm, t, NULL);
}

int nf_sriov_scan_named(const char *sysfs_root, const nf_sriov_naming *nm, nf_topology *t,
                        nf_sriov_naming_stats *stats)
{
    nf_sriov_naming_stats ignored;
    nf_sriov_naming_stats *st = stats ? stats : &ignored;
    memset(st, 0, sizeof(*st));
    char *devdir = nf_path_join(sysfs_root ? sysfs_root : "/sys", "bus/pci/devices", NULL);
    if (!devdir)
        return -ENOMEM;
    DIR *d = opendir(devdir);
    if (!d) {
        int e = errno;
        int rc = 0;
        if (e != ENOENT)
            rc = nf_topology_add_error(t, "SR-IOV: %s: %s", devdir, strerror(e));
        free(devdir);
        return rc == -ENOMEM ? rc : 0;
    }
    pci_names pn = {0};
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (pn.n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(pn.names, cap * sizeof(*nn));
            if (!nn) {
                rc = -ENOMEM;
                break;
            }
            pn.names = nn;
        }
        if (!(pn.names[pn.n] = strdup(de->d_name))) {
            rc = -ENOMEM;
            break;
        }
        pn.n++;
    }
    if (rc == 0 && !(pn.vf = calloc(pn.n ? pn.n : 1, sizeof(bool))))
        rc = -ENOMEM;
    if (rc == 0 && pn.n)
        qsort(pn.names, pn.n, sizeof(*pn.names), cmp_str);
    /* PFs in address order; a VF's address is above its PF's (routing ID = PF's + offset), so
     * the VFs are usually known, and skipped, before their turn comes */
    int devfd = dirfd(d);
    char probe[NAME_MAX + sizeof("/sriov_totalvfs")];
    for (size_t i = 0; i < pn.n && rc == 0; i++) {
        if (pn.vf[i] ||
            snprintf(probe, sizeof(probe), "%s/sriov_totalvfs", pn.names[i]) >= (int)sizeof(probe))
            continue;
        if (faccessat(devfd, probe, F_OK, 0) == 0)
            rc = scan_pf(devfd, devdir, pn.names[i], nm, st, t, &pn);
    }
    closedir(d);
    for (size_t i = 0; i < pn.n; i++)
        free(pn.names[i]);
    free(pn.names);
    free(pn.vf);
    free(devdir);
    return rc;
}

void nf_sriov_clear(nf_topology *t)
{
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        nf_numa_node *node = &t->numa_nodes[i];
        for (size_t g = 0; g < node->n_devices; g++)
            nf_device_group_free(&node->devices[g]);
        free(node->devices);
        node->devices = NULL;
        node->n_devices = 0;
    }
    for (size_t g = 0; g < t->n_unplaced_devices; g++)
        nf_device_group_free(&t->unplaced_devices[g]);
    free(t->unplaced_devices);
    t->unplaced_devices = NULL;
    t->n_unplaced_devices = 0;
}
