/* pod_view.c - read every part of the container's view (pod_view.h). */
#include "pod_view.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numafit/fileio.h"
#include "numafit/strlist.h"

/* One downward API file (name, uid), "" when absent. */
static void podinfo(const char *dir, const char *name, char *buf, size_t len)
{
    char *p = nf_path_join(dir, name, NULL);
    if (!p || nf_read_line(p, buf, len, NULL) != 0)
        buf[0] = '\0';
    free(p);
}

/* A --file-prefix unique on the node (DPDK names its files in the hugetlbfs mount and /var/run
 * after it): "<pod name>-<first 8 of the pod UID>", the name or UID alone, else the hostname (a
 * pod's hostname is its name). Only [A-Za-z0-9._-] is kept. */
static int file_prefix(const char *dir, char **out)
{
    char name[256], uid[64], host[256];
    podinfo(dir, "name", name, sizeof(name));
    podinfo(dir, "uid", uid, sizeof(uid));
    uid[8] = '\0'; /* the first 8 of the UID keep the prefix short and unique enough */
    if (!name[0] && !uid[0] && gethostname(host, sizeof(host)) == 0)
        host[sizeof(host) - 1] = '\0';
    else
        host[0] = '\0';
    char *p = name[0] && uid[0] ? nf_strdupf("%s-%s", name, uid)
                                : nf_strdupf("%s", name[0]   ? name
                                                   : uid[0]  ? uid
                                                   : host[0] ? host
                                                             : "numafit-pod");
    if (!p)
        return -ENOMEM;
    for (char *c = p; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
            *c = '-';
    *out = p;
    return 0;
}

int nf_pod_view_read(const nf_pod_roots *r, char *const *envp, nf_pod_view *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = nf_pod_cpus_read(r, &out->cpus, err);
    if (!rc)
        rc = nf_pod_vfs_read(r, envp, &out->vfs, err);
    if (!rc)
        rc = nf_pod_huge_read(r, &out->cpus, &out->huge, err);
    if (!rc)
        rc = nf_pod_limits_read(r, &out->limits, err);
    if (!rc)
        rc = file_prefix(r->podinfo, &out->file_prefix);
    if (rc)
        nf_pod_view_free(out);
    return rc;
}

void nf_pod_view_free(nf_pod_view *v)
{
    nf_pod_cpus_free(&v->cpus);
    nf_pod_vfs_free(&v->vfs);
    nf_pod_huge_free(&v->huge);
    free(v->file_prefix);
    memset(v, 0, sizeof(*v));
}
