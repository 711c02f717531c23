/* pod_limits.c - RLIMIT_MEMLOCK and effective capabilities (pod_limits.h). */
#include "pod_limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "numafit/fileio.h"

#define PROCFILE_MAX (64 * 1024)

static int read_proc(const char *procfs, const char *name, char **text, char **path, nf_err *err)
{
    *text = NULL;
    if (!(*path = nf_path_join(procfs, name, NULL)))
        return -ENOMEM;
    return nf_read_file(*path, PROCFILE_MAX, text, NULL, err);
}

/* "Max locked memory  65536  65536  bytes" (or "unlimited") */
static int memlock(const char *procfs, int64_t *out, nf_err *err)
{
    char *text, *path;
    int rc = read_proc(procfs, "self/limits", &text, &path, err);
    if (rc == -ENOENT) {
        struct rlimit rl;
        rc = getrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
        if (rc == 0)
            *out = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT64_MAX ? INT64_MAX
                                                                           : (int64_t)rl.rlim_cur;
    } else if (rc == 0) {
        const char *p = strstr(text, "Max locked memory");
        char soft[32];
        int64_t v;
        if (!p || sscanf(p + strlen("Max locked memory"), " %31s", soft) != 1)
            rc = nf_errf(err, -EINVAL, "%s: no \"Max locked memory\" line", path);
        else if (strcmp(soft, "unlimited") == 0)
            *out = INT64_MAX;
        else if (nf_parse_int64(soft, 0, INT64_MAX, &v) == 0)
            *out = v;
        else
            rc = nf_errf(err, -EINVAL, "%s: Max locked memory \"%s\"", path, soft);
    }
    free(text);
    free(path);
    return rc;
}

static int caps(const char *procfs, nf_pod_limits *l, nf_err *err)
{
    char *text, *path;
    int rc = read_proc(procfs, "self/status", &text, &path, err);
    const char *p = rc == 0 ? strstr(text, "\nCapEff:") : NULL;
    if (rc == -ENOENT) {
        rc = 0; /* unknown, said so */
    } else if (p) {
        unsigned long long v;
        if (sscanf(p, "\nCapEff: %llx", &v) == 1) {
            l->cap_eff = v;
            l->caps_known = true;
        } else {
            rc = nf_errf(err, -EINVAL, "%s: CapEff is not a hex mask", path);
        }
    }
    free(text);
    free(path);
    return rc;
}

int nf_pod_limits_read(const nf_pod_roots *r, nf_pod_limits *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    out->memlock = -1;
    int rc = memlock(r->procfs, &out->memlock, err);
    return rc ? rc : caps(r->procfs, out, err);
}

bool nf_pod_has_cap(const nf_pod_limits *l, int cap)
{
    return l->caps_known && (l->cap_eff >> cap & 1);
}
