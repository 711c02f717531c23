/* probe_cli.c - `numafit-exporter probe` (see probe_cli.h). */
#include "probe_cli.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/topology_json.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: numafit-exporter probe [--pci BDF]... [--vdev NAME[,ARGS]]... "
               "[--timeout DUR] [--no-huge]\n"
               "                              [--lcore N] [--socket N] [--mem MB] "
               "[--sysfs-root DIR]\n");
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *nf_probe_batch_to_json(const nf_probe_batch *b)
{
    json_t *doc = json_object(), *res = json_array(), *runs = json_array();
    if (!doc || !res || !runs) {
        json_decref(doc);
        json_decref(res);
        json_decref(runs);
        return NULL;
    }
    bool all_huge = b->n_runs > 0;
    for (size_t i = 0; i < b->n_results; i++) {
        const nf_probe_dev_result *r = &b->results[i];
        char when[32];
        nf_format_rfc3339(r->checked_at, when);
        json_array_append_new(
            res, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "device", jstr(r->device), "status",
                           jstr(r->status), "pmd", jstr(r->pmd), "mac", jstr(r->mac), "link",
                           jstr(r->link), "maxRxQueues",
                           r->max_rx_queues >= 0 ? json_integer(r->max_rx_queues) : json_null(),
                           "checkedAt", when));
    }
    for (size_t i = 0; i < b->n_runs; i++) {
        const nf_probe_run *r = &b->runs[i];
        json_t *args = json_array();
        for (int a = 0; args && a < r->argc; a++)
            json_array_append_new(args, json_string(r->argv[a]));
        all_huge = all_huge && r->hugepages;
        json_array_append_new(runs, json_pack("{s:b,s:o,s:I,s:o}", "hugepages", r->hugepages,
                                              "args", args ? args : json_null(), "wallMs",
                                              (json_int_t)r->wall_ms, "error", jstr(r->eal_error)));
    }
    json_object_set_new(doc, "results", res);
    json_object_set_new(doc, "eal", json_pack("{s:b,s:o}", "hugepages", all_huge, "runs", runs));
    return doc;
}

/* "--name VALUE" or "--name=VALUE"; advances *i. */
static const char *optval(int argc, char **argv, int *i, const char *name, bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "numafit-exporter probe: %s needs a value\n", name);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_int(const char *s, const char *what, int min, int max, int *out)
{
    int64_t v;
    if (nf_parse_int64(s, min, max, &v) != 0) {
        fprintf(stderr, "numafit-exporter probe: %s '%s' is not a number in [%d, %d]\n", what, s,
                min, max);
        return -EINVAL;
    }
    *out = (int)v;
    return 0;
}

static int pci_numa_node(const char *sysfs, const char *pci)
{
    char canon[24];
    if (nf_probe_pci_canon(pci, canon) != 0)
        return -1;
    char *p = nf_path_join(sysfs, "bus/pci/devices", canon, "numa_node", NULL);
    int64_t v = -1;
    if (!p || nf_read_int64(p, -1, 1023, &v, NULL) != 0)
        v = -1;
    free(p);
    return (int)v;
}

static int lcore_for(const char *sysfs, int node)
{
    nf_cpuset allowed = {0}, online = {0};
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof(cs), &cs) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &cs))
                nf_cpuset_set(&allowed, c);
    if (node >= 0) {
        char rel[64];
        snprintf(rel, sizeof(rel), "devices/system/node/node%d/cpulist", node);
        char *p = nf_path_join(sysfs, rel, NULL);
        char *txt = NULL;
        if (p && nf_read_file(p, 1 << 16, &txt, NULL, NULL) == 0)
            nf_cpuset_parse(txt, &online, NULL);
        free(txt);
        free(p);
    }
    int c = nf_probe_pick_lcore(NULL, NULL, &online, &allowed);
    if (c < 0)
        c = nf_cpuset_next(&allowed, 0);
    nf_cpuset_free(&allowed);
    nf_cpuset_free(&online);
    return c < 0 ? 0 : c;
}

int nf_probe_cli_main(int argc, char **argv)
{
    const char *sysfs = "/sys";
    int64_t timeout_ms = NF_PROBE_DEFAULT_TIMEOUT_MS;
    bool no_huge = false, bad = false;
    int lcore = -1, vsocket = 0, mem_mb = 0;
    const char **pci = calloc((size_t)argc + 1, sizeof(char *));
    const char **vdev = calloc((size_t)argc + 1, sizeof(char *));
    size_t np = 0, nv = 0;
    if (!pci || !vdev) {
        free(pci);
        free(vdev);
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc && !bad; i++) {
        const char *v;
        nf_err e = {{0}};
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            free(pci);
            free(vdev);
            return 0;
        } else if (strcmp(argv[i], "--no-huge") == 0) {
            no_huge = true;
        } else if ((v = optval(argc, argv, &i, "--pci", &bad))) {
            pci[np++] = v;
        } else if ((v = optval(argc, argv, &i, "--vdev", &bad))) {
            vdev[nv++] = v;
        } else if ((v = optval(argc, argv, &i, "--timeout", &bad))) {
            if (nf_duration_parse_ms(v, &timeout_ms, &e) != 0 || timeout_ms <= 0) {
                fprintf(stderr, "numafit-exporter probe: --timeout %s: %s\n", v,
                        e.msg[0] ? e.msg : "must be positive");
                bad = true;
            }
        } else if ((v = optval(argc, argv, &i, "--lcore", &bad))) {
            bad = parse_int(v, "--lcore", 0, NF_CPU_MAX, &lcore) != 0;
        } else if ((v = optval(argc, argv, &i, "--socket", &bad))) {
            bad = parse_int(v, "--socket", 0, 1023, &vsocket) != 0;
        } else if ((v = optval(argc, argv, &i, "--mem", &bad))) {
            bad = parse_int(v, "--mem", 16, 1 << 20, &mem_mb) != 0;
        } else if ((v = optval(argc, argv, &i, "--sysfs-root", &bad))) {
            sysfs = v;
        } else if (!bad) {
            fprintf(stderr, "numafit-exporter probe: unknown argument '%s'\n", argv[i]);
            bad = true;
        }
    }
    if (!bad && np + nv == 0) {
        fprintf(stderr, "numafit-exporter probe: give at least one --pci or --vdev\n");
        bad = true;
    }
    for (size_t i = 0; !bad && i < np; i++) {
        char canon[24];
        if (nf_probe_pci_canon(pci[i], canon) != 0) {
            fprintf(stderr, "numafit-exporter probe: --pci '%s' is not a PCI address\n", pci[i]);
            bad = true;
        }
    }
    if (bad) {
        usage(stderr);
        free(pci);
        free(vdev);
        return 2;
    }
    size_t n = np + nv;
    nf_probe_target *t = calloc(n, sizeof(*t));
    if (!t) {
        free(pci);
        free(vdev);
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        return 1;
    }
    int planned_mb = mem_mb > 0 ? mem_mb : NF_PROBE_MIN_MEM_MB + 2 * (int)n;
    for (size_t i = 0; i < n; i++) {
        bool is_v = i >= np;
        t[i].device = is_v ? vdev[i - np] : pci[i];
        t[i].is_vdev = is_v;
        t[i].numa_node = is_v ? vsocket : pci_numa_node(sysfs, pci[i]);
        t[i].lcore = lcore >= 0 ? lcore : lcore_for(sysfs, t[i].numa_node);
        t[i].hugepages =
            !no_huge && t[i].numa_node >= 0 &&
            nf_probe_sysfs_free_huge_bytes(sysfs, t[i].numa_node) >= (int64_t)planned_mb << 20;
    }
    nf_probe_batch_opts bo = {
        .sysfs_root = sysfs, .timeout_ms = timeout_ms, .mem_mb = mem_mb, .cancel_fd = -1};
    nf_probe_batch b;
    nf_err err = {{0}};
    int rc = nf_probe_targets(t, n, &bo, &b, &err);
    free(t);
    free(pci);
    free(vdev);
    if (rc) {
        fprintf(stderr, "numafit-exporter probe: %s\n", err.msg[0] ? err.msg : nf_strerror(rc));
        return 1;
    }
    json_t *doc = nf_probe_batch_to_json(&b);
    char *s = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    int status = 0;
    for (size_t i = 0; i < b.n_results; i++)
        if (!b.results[i].status || strcmp(b.results[i].status, "ok") != 0)
            status = 1;
    nf_probe_batch_free(&b);
    if (!s) {
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        return 1;
    }
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    return status;
}
