/* pod_vfs.c - VFs from the device plugin's variables and Multus' network-status (pod_vfs.h). */
#include "pod_vfs.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "numafit/fileio.h"
#include "numafit/strlist.h"

#define ANNOTATIONS_MAX (1024 * 1024)
#define ENV_PREFIX "PCIDEVICE_"

bool nf_pod_bdf_valid(const char *s)
{
    static const char form[] = "hhhh:hh:hh.h";
    if (strlen(s) != sizeof(form) - 1)
        return false;
    for (size_t i = 0; form[i]; i++)
        if (form[i] == 'h' ? !isxdigit((unsigned char)s[i]) : s[i] != form[i])
            return false;
    return true;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* Undo Go's strconv.Quote (what the downward API writes): \" \\ \n \t \r \xNN \uNNNN; any
 * other escape keeps its character. p points after the opening quote. */
static int unquote(const char *p, char **out)
{
    size_t cap = strlen(p) + 1, n = 0;
    char *s = malloc(cap);
    if (!s)
        return -ENOMEM;
    for (; *p && *p != '"'; p++) {
        if (*p != '\\') {
            s[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            s[n++] = '\n';
            break;
        case 't':
            s[n++] = '\t';
            break;
        case 'r':
            s[n++] = '\r';
            break;
        case 'x':
            if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                s[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
                p += 2;
            }
            break;
        case 'u': /* non-ASCII text in the annotation: names only, keep a placeholder */
            for (int k = 0; k < 4 && isxdigit((unsigned char)p[1]); k++)
                p++;
            s[n++] = '?';
            break;
        case '\0':
            p--;
            break;
        default:
            s[n++] = *p;
        }
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

int nf_pod_annotation(const char *text, const char *key, char **out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == '=' && line[klen + 1] == '"')
            return unquote(line + klen + 2, out);
    return -ENOENT;
}

/* The string value after `"key"` + optional white space + ':' at p, copied into buf. */
static const char *json_string_after(const char *p, const char *key, char *buf, size_t len)
{
    const char *k = strstr(p, key);
    if (!k)
        return NULL;
    const char *v = k + strlen(key);
    while (isspace((unsigned char)*v))
        v++;
    if (*v++ != ':')
        return json_string_after(k + 1, key, buf, len);
    while (isspace((unsigned char)*v))
        v++;
    if (*v++ != '"')
        return json_string_after(k + 1, key, buf, len);
    size_t n = strcspn(v, "\"");
    if (n >= len)
        n = len - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return k;
}

static nf_pod_vf *find(nf_pod_vfs *v, const char *bdf)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcasecmp(v->vf[i].bdf, bdf) == 0)
            return &v->vf[i];
    return NULL;
}

static int add(nf_pod_vfs *v, const char *bdf, const char *source, const char *network)
{
    nf_pod_vf *vf = find(v, bdf);
    if (!vf) {
        nf_pod_vf *grown = realloc(v->vf, (v->n + 1) * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        v->vf = grown;
        vf = memset(&v->vf[v->n++], 0, sizeof(*vf));
        snprintf(vf->bdf, sizeof(vf->bdf), "%s", bdf);
        for (char *c = vf->bdf; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (!(vf->source = strdup(source)))
            return -ENOMEM;
    }
    if (network && !vf->network && !(vf->network = strdup(network)))
        return -ENOMEM;
    return 0;
}

static int from_env(nf_pod_vfs *v, char *const *envp, nf_err *err)
{
    for (char *const *e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t nlen = eq ? (size_t)(eq - *e) : 0;
        /* PCIDEVICE_<RESOURCE>_INFO (newer device plugins) holds JSON details, not addresses */
        if (!eq || strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 ||
            (nlen > 5 && strncmp(eq - 5, "_INFO", 5) == 0))
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)nlen, *e);
        char *list = strdup(eq + 1), *save = NULL;
        int rc = list ? 0 : -ENOMEM;
        for (char *tok = list ? strtok_r(list, ", \t", &save) : NULL; tok && !rc;
             tok = strtok_r(NULL, ", \t", &save)) {
            if (!nf_pod_bdf_valid(tok))
                rc = nf_errf(err, -EINVAL, "%s: \"%s\" is not a PCI address (DDDD:BB:DD.F)", name,
                             tok);
            else
                rc = add(v, tok, name, NULL);
        }
        free(list);
        if (rc)
            return rc;
    }
    return 0;
}

/* Multus' network-status: every entry with device-info.pci.pci-address is a VF of the pod; the
 * entry's "name" is the last one before its address. */
static int from_network_status(nf_pod_vfs *v, const char *podinfo, nf_err *err)
{
    char *path = nf_path_join(podinfo, "annotations", NULL), *text = NULL, *status = NULL;
    if (!path)
        return -ENOMEM;
    int rc = nf_read_file(path, ANNOTATIONS_MAX, &text, NULL, err);
    if (rc == -ENOENT || rc == -ENOTDIR) {
        free(path);
        return 0; /* not mounted */
    }
    if (rc == 0 && nf_pod_annotation(text, "k8s.v1.cni.cncf.io/network-status", &status) == 0) {
        v->network_status = true;
        char bdf[64], name[256] = "";
        const char *p = status, *at;
        while (rc == 0 && (at = json_string_after(p, "\"pci-address\"", bdf, sizeof(bdf)))) {
            const char *n = status;
            char cand[256];
            name[0] = '\0';
            while ((n = json_string_after(n, "\"name\"", cand, sizeof(cand))) && n < at) {
                memcpy(name, cand, sizeof(name));
                n++;
            }
            if (!nf_pod_bdf_valid(bdf))
                rc = nf_errf(err, -EINVAL,
                             "%s: network-status: pci-address \"%s\" is not a PCI "
                             "address",
                             path, bdf);
            else
                rc = add(v, bdf, "network-status", name[0] ? name : NULL);
            p = at + 1;
        }
    }
    free(status);
    free(text);
    free(path);
    return rc;
}

static int read_sysfs(const char *sysfs, nf_pod_vf *vf, nf_err *err)
{
    char *dir = nf_path_join(sysfs, "bus/pci/devices", vf->bdf, NULL), link[4096];
    if (!dir)
        return -ENOMEM;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        int rc = nf_errf(err, -e, "VF %s (%s): %s: %s", vf->bdf, vf->source, dir, strerror(e));
        free(dir);
        return rc;
    }
    int64_t numa;
    vf->numa =
        nf_read_int64_at(dfd, dir, "numa_node", -1, 65535, &numa, NULL) == 0 ? (int)numa : -1;
    vf->driver[0] = '\0';
    if (nf_readlink_at(dfd, "driver", link, sizeof(link)) > 0) {
        const char *b = strrchr(link, '/');
        snprintf(vf->driver, sizeof(vf->driver), "%.63s", b ? b + 1 : link);
    }
    vf->iommu_group = -1;
    if (nf_readlink_at(dfd, "iommu_group", link, sizeof(link)) > 0) {
        const char *b = strrchr(link, '/');
        int64_t g;
        if (nf_parse_int64(b ? b + 1 : link, 0, 1 << 30, &g) == 0)
            vf->iommu_group = (int)g;
    }
    close(dfd);
    free(dir);
    return 0;
}

int nf_pod_vfs_read(const nf_pod_roots *r, char *const *envp, nf_pod_vfs *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = from_env(out, envp, err);
    if (rc == 0)
        rc = from_network_status(out, r->podinfo, err);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        rc = read_sysfs(r->sysfs, &out->vf[i], err);
    if (rc)
        nf_pod_vfs_free(out);
    return rc;
}

void nf_pod_vfs_free(nf_pod_vfs *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->vf[i].source);
        free(v->vf[i].network);
    }
    free(v->vf);
    memset(v, 0, sizeof(*v));
}
