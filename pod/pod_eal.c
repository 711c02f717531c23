/* pod_eal.c - EAL arguments and their line / JSON forms (pod_eal.h). */
#include "pod_eal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/strlist.h"

#define MIB (INT64_C(1) << 20)

static int push(nf_pod_eal *e, const char *arg)
{
    return nf_strlist_addf(&e->argv, &e->argc, "%s", arg);
}

/* "0,1024": MiB on node `node`, 0 on every other node id up to the highest online one. */
static int socket_mem(const nf_pod_view *v, int node, int64_t bytes, char **out)
{
    nf_buf b = {0};
    int max = node, rc = 0;
    for (size_t i = 0; i < v->cpus.n_nodes; i++)
        if (v->cpus.nodes[i].id > max)
            max = v->cpus.nodes[i].id;
    for (int id = 0; id <= max && !rc; id++) {
        char part[32];
        snprintf(part, sizeof(part), "%s%" PRId64, id ? "," : "", id == node ? bytes / MIB : 0);
        rc = nf_buf_adds(&b, part);
    }
    if (rc) {
        nf_buf_free(&b);
        return rc;
    }
    *out = b.p;
    return 0;
}

int nf_pod_eal_make(const nf_pod_view *v, const nf_pod_verdict *vd, nf_pod_eal *out)
{
    memset(out, 0, sizeof(*out));
    char num[32];
    int rc = nf_cpuset_format(&v->cpus.set, &out->lcores);
    out->main_lcore = v->cpus.n ? v->cpus.cpu[0].id : 0;
    out->socket_mem_node = vd->node;
    snprintf(num, sizeof(num), "%u", out->main_lcore);
    if (!rc && !(rc = push(out, "-l")) && !(rc = push(out, out->lcores)) &&
        !(rc = push(out, "--main-lcore")))
        rc = push(out, num);
    for (size_t i = 0; i < v->vfs.n && !rc; i++)
        if (!(rc = push(out, "-a")))
            rc = push(out, v->vfs.vf[i].bdf);
    if (!rc && vd->mount && !(rc = push(out, "--huge-dir")))
        rc = push(out, vd->mount->path);
    else if (!rc && !vd->mount)
        rc = push(out, "--in-memory");
    if (!rc && vd->socket_mem >= MIB && vd->node >= 0 &&
        !(rc = socket_mem(v, vd->node, vd->socket_mem, &out->socket_mem)) &&
        !(rc = push(out, "--socket-mem")))
        rc = push(out, out->socket_mem);
    if (!rc && !(rc = push(out, "--file-prefix")))
        rc = push(out, v->file_prefix);
    if (rc)
        nf_pod_eal_free(out);
    return rc;
}

void nf_pod_eal_free(nf_pod_eal *e)
{
    nf_strlist_free(e->argv, e->argc);
    free(e->lcores);
    free(e->socket_mem);
    memset(e, 0, sizeof(*e));
}

static bool shell_safe(const char *s)
{
    return *s &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:,=@%+-") ==
               strlen(s);
}

int nf_pod_eal_line(const nf_pod_eal *e, nf_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < e->argc && !rc; i++) {
        if (i)
            rc = nf_buf_adds(out, " ");
        if (!rc && shell_safe(e->argv[i])) {
            rc = nf_buf_adds(out, e->argv[i]);
            continue;
        }
        rc = rc ? rc : nf_buf_adds(out, "'");
        for (const char *p = e->argv[i]; *p && !rc; p++)
            rc = *p == '\'' ? nf_buf_adds(out, "'\\''") : nf_buf_add(out, p, 1);
        rc = rc ? rc : nf_buf_adds(out, "'");
    }
    return rc ? rc : nf_buf_adds(out, "\n");
}

/* A JSON string: quotes, backslash and control characters escaped. */
static int json_str(nf_buf *b, const char *s)
{
    int rc = nf_buf_adds(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; p && *p && !rc; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof(esc), "\\%c", *p);
        else if (*p < 0x20)
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
        else
            esc[0] = (char)*p, esc[1] = '\0';
        rc = nf_buf_adds(b, esc);
    }
    return rc ? rc : nf_buf_adds(b, "\"");
}

static int json_strs(nf_buf *b, const char *key, char *const *list, size_t n)
{
    int rc = nf_buf_adds(b, key);
    rc = rc ? rc : nf_buf_adds(b, "[");
    for (size_t i = 0; i < n && !rc; i++)
        if (!(rc = i ? nf_buf_adds(b, ",") : 0))
            rc = json_str(b, list[i]);
    return rc ? rc : nf_buf_adds(b, "]");
}

int nf_pod_eal_json(const nf_pod_eal *e, const nf_pod_view *v, const nf_pod_verdict *vd,
                    nf_buf *out)
{
    char num[64];
    char **allow = calloc(v->vfs.n + 1, sizeof(*allow));
    if (!allow)
        return -ENOMEM;
    for (size_t i = 0; i < v->vfs.n; i++)
        allow[i] = (char *)v->vfs.vf[i].bdf;
    int rc = json_strs(out, "{\"args\":", e->argv, e->argc);
    rc = rc ? rc : nf_buf_adds(out, ",\"lcores\":");
    rc = rc ? rc : json_str(out, e->lcores);
    snprintf(num, sizeof(num), ",\"mainLcore\":%u", e->main_lcore);
    rc = rc ? rc : nf_buf_adds(out, num);
    rc = rc ? rc : json_strs(out, ",\"allow\":", allow, v->vfs.n);
    rc = rc ? rc : nf_buf_adds(out, ",\"hugeDir\":");
    rc = rc ? rc : (vd->mount ? json_str(out, vd->mount->path) : nf_buf_adds(out, "null"));
    snprintf(num, sizeof(num), ",\"inMemory\":%s", vd->mount ? "false" : "true");
    rc = rc ? rc : nf_buf_adds(out, num);
    rc = rc ? rc : nf_buf_adds(out, ",\"socketMem\":");
    rc = rc ? rc : (e->socket_mem ? json_str(out, e->socket_mem) : nf_buf_adds(out, "null"));
    rc = rc ? rc : nf_buf_adds(out, ",\"filePrefix\":");
    rc = rc ? rc : json_str(out, v->file_prefix);
    if (vd->node >= 0)
        snprintf(num, sizeof(num), ",\"numaNode\":%d", vd->node);
    else
        snprintf(num, sizeof(num), ",\"numaNode\":null");
    rc = rc ? rc : nf_buf_adds(out, num);
    snprintf(num, sizeof(num), ",\"aligned\":%s", vd->aligned ? "true" : "false");
    rc = rc ? rc : nf_buf_adds(out, num);
    rc = rc ? rc : json_strs(out, ",\"problems\":", vd->problems, vd->n_problems);
    rc = rc ? rc : json_strs(out, ",\"notes\":", vd->notes, vd->n_notes);
    rc = rc ? rc : nf_buf_adds(out, "}\n");
    free(allow);
    return rc;
}
