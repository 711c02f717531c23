/* probe_cli.c - `numafit-exporter probe` (see probe_cli.h). */
#include "probe_cli.h"

#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/cli.h"
#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/topology_json.h"

static const char usage[] =
    "usage: numafit-exporter probe [--pci BDF]... [--vdev NAME[,ARGS]]... [--timeout DUR] "
    "[--no-huge]\n"
    "                              [--lcore N] [--socket N] [--mem MB] [--sysfs-root DIR]\n"
    "\n"
    "Runs one DPDK probe of the devices now and prints the result as JSON.\n"
    "\n"
    "  --pci BDF               a PCI device (VF); repeatable\n"
    "  --vdev NAME[,ARGS]      a DPDK virtual device (net_null0, net_ring0, ...); repeatable\n"
    "  --timeout DUR           kill an EAL run after this long (default 10s)\n"
    "  --no-huge               never use hugepages\n"
    "  --lcore N               the EAL lcore (default: the first CPU of the device's node this\n"
    "                          process may run on)\n"
    "  --socket N              NUMA node of the vdevs (default 0)\n"
    "  --mem MB                EAL memory per run (default 64 + 2 per device)\n"
    "  --sysfs-root DIR        default /sys\n"
    "  --log-level LEVEL       debug|info|warn|error (default info)\n"
    "  --help, --version\n"
    "\n"
    "Every flag can also be set as NUMAFIT_<FLAG> (NUMAFIT_PCI and NUMAFIT_VDEV take a\n"
    "whitespace-separated list). Exit codes: 0 every device ok, 1 any not, 2 bad usage.\n";

static const nf_cli_prog prog = {.name = "numafit-exporter probe", .usage = usage};

static const struct option longopts[] = {
    {"pci", required_argument, NULL, 'p'},
    {"vdev", required_argument, NULL, 'v'},
    {"timeout", required_argument, NULL, 't'},
    {"no-huge", no_argument, NULL, 'n'},
    {"lcore", required_argument, NULL, 'l'},
    {"socket", required_argument, NULL, 's'},
    {"mem", required_argument, NULL, 'm'},
    {"sysfs-root", required_argument, NULL, 'r'},
    {"log-level", required_argument, NULL, NF_CLI_OPT_LOG_LEVEL},
    {"help", no_argument, NULL, NF_CLI_OPT_HELP},
    {"version", no_argument, NULL, NF_CLI_OPT_VERSION},
    {NULL, 0, NULL, 0},
};
static const char *const repeatable[] = {"pci", "vdev", NULL};

typedef struct options {
    const char *sysfs;
    int64_t timeout_ms;
    bool no_huge;
    int lcore, vsocket, mem_mb;
    const char **pci, **vdev; /* borrowed from argv */
    size_t np, nv;
} options;

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

static int parse_int(const char *s, const char *what, int min, int max, int *out)
{
    int64_t v;
    if (nf_parse_int64(s, min, max, &v) != 0)
        return nf_cli_usage_error(&prog, "%s '%s' is not a number in [%d, %d]", what, s, min, max);
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

/* 0, NF_CLI_EXIT (--help, --version) or NF_CLI_USAGE (the message is on stderr). */
static int parse(int argc, char **argv, options *o)
{
    int c, rc = 0;
    nf_err e = {{0}};
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->pci[o->np++] = optarg;
            break;
        case 'v':
            o->vdev[o->nv++] = optarg;
            break;
        case 't':
            if (nf_duration_parse_ms(optarg, &o->timeout_ms, &e) != 0 || o->timeout_ms <= 0)
                rc = nf_cli_usage_error(&prog, "--timeout %s: %s", optarg,
                                        e.msg[0] ? e.msg : "must be positive");
            break;
        case 'n':
            o->no_huge = true;
            break;
        case 'l':
            rc = parse_int(optarg, "--lcore", 0, NF_CPU_MAX, &o->lcore);
            break;
        case 's':
            rc = parse_int(optarg, "--socket", 0, 1023, &o->vsocket);
            break;
        case 'm':
            rc = parse_int(optarg, "--mem", 16, 1 << 20, &o->mem_mb);
            break;
        case 'r':
            o->sysfs = optarg;
            break;
        default: /* --log-level, --help, --version; the usage on stderr when bad */
            if ((rc = nf_cli_common_option(&prog, c, optarg)))
                return rc;
        }
    }
    if (!rc && optind < argc)
        rc = nf_cli_usage_error(&prog, "unexpected argument '%s'", argv[optind]);
    if (!rc && o->np + o->nv == 0)
        rc = nf_cli_usage_error(&prog, "give at least one --pci or --vdev");
    for (size_t i = 0; !rc && i < o->np; i++) {
        char canon[24];
        if (nf_probe_pci_canon(o->pci[i], canon) != 0)
            rc = nf_cli_usage_error(&prog, "--pci '%s' is not a PCI address", o->pci[i]);
    }
    if (rc)
        fputs(usage, stderr);
    return rc;
}

static int run(const options *o)
{
    size_t n = o->np + o->nv, np = o->np;
    nf_probe_target *t = calloc(n, sizeof(*t));
    if (!t) {
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        return 1;
    }
    int planned_mb = o->mem_mb > 0 ? o->mem_mb : NF_PROBE_MIN_MEM_MB + 2 * (int)n;
    for (size_t i = 0; i < n; i++) {
        bool is_v = i >= np;
        t[i].device = is_v ? o->vdev[i - np] : o->pci[i];
        t[i].is_vdev = is_v;
        t[i].numa_node = is_v ? o->vsocket : pci_numa_node(o->sysfs, o->pci[i]);
        t[i].lcore = o->lcore >= 0 ? o->lcore : lcore_for(o->sysfs, t[i].numa_node);
        t[i].hugepages =
            !o->no_huge && t[i].numa_node >= 0 &&
            nf_probe_sysfs_free_huge_bytes(o->sysfs, t[i].numa_node) >= (int64_t)planned_mb << 20;
    }
    nf_probe_batch_opts bo = {
        .sysfs_root = o->sysfs, .timeout_ms = o->timeout_ms, .mem_mb = o->mem_mb, .cancel_fd = -1};
    nf_probe_batch b;
    nf_err err = {{0}};
    int rc = nf_probe_targets(t, n, &bo, &b, &err);
    free(t);
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

int nf_probe_cli_main(int argc, char **argv)
{
    int eargc, rc;
    char **eargv;
    if (nf_cli_env_argv(longopts, repeatable, argc, argv, &eargc, &eargv)) {
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        return 1;
    }
    /* every device flag may repeat: at most one per argument */
    options o = {.sysfs = "/sys",
                 .timeout_ms = NF_PROBE_DEFAULT_TIMEOUT_MS,
                 .lcore = -1,
                 .pci = calloc((size_t)eargc + 1, sizeof(char *)),
                 .vdev = calloc((size_t)eargc + 1, sizeof(char *))};
    if (!o.pci || !o.vdev) {
        fprintf(stderr, "numafit-exporter probe: out of memory\n");
        rc = 1;
    } else if ((rc = parse(eargc, eargv, &o)) == NF_CLI_EXIT) {
        rc = 0;
    } else if (rc == 0) {
        rc = run(&o);
    }
    free(o.pci);
    free(o.vdev);
    nf_cli_free_argv(eargc, eargv);
    return rc;
}
