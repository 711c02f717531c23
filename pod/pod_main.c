/* pod_main.c - numafit-pod: parse options, read the container's view, judge it, print. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/buf.h"
#include "numafit/cli.h"
#include "pod_eal.h"
#include "pod_summary.h"
#include "pod_verdict.h"
#include "pod_view.h"

#define EXIT_ALIGNED 0
#define EXIT_UNREADABLE 1
#define EXIT_MISALIGNED 3

extern char **environ;

static const char usage[] =
    "usage: numafit-pod [options]\n"
    "       numafit-pod eal-args [--json] [options]\n"
    "\n"
    "Inside a DPDK container: what it got (exclusive CPUs with their NUMA node, core and SMT\n"
    "siblings; the SR-IOV VFs from PCIDEVICE_<RESOURCE> variables and the Multus network-status\n"
    "annotation; hugetlbfs mounts and the hugetlb cgroup limit per page size; the memory cgroup\n"
    "limit; RLIMIT_MEMLOCK; the IPC_LOCK, SYS_RAWIO and NET_ADMIN capabilities) and whether it\n"
    "sits on one NUMA node. eal-args prints the matching DPDK EAL arguments on one line:\n"
    "-l --main-lcore -a --huge-dir (or --in-memory) --socket-mem --file-prefix.\n"
    "\n"
    "  --json                  eal-args: the arguments and the verdict as JSON\n"
    "  --sysfs-root DIR        default /sys\n"
    "  --procfs-root DIR       default /proc (self/status, self/mountinfo, self/cgroup,\n"
    "                          self/limits, meminfo); CPUs from sched_getaffinity, or\n"
    "                          from DIR/self/status Cpus_allowed_list when DIR is not /proc\n"
    "  --cgroup-root DIR       default /sys/fs/cgroup (v2 or v1)\n"
    "  --podinfo-dir DIR       downward API volume with name, uid, annotations\n"
    "                          (default /etc/podinfo)\n"
    "  --log-level LEVEL       debug|info|warn|error (default info)\n"
    "  --help, --version\n"
    "\n"
    "Every flag can also be set as NUMAFIT_<FLAG> (e.g. NUMAFIT_PODINFO_DIR=/etc/podinfo).\n"
    "Exit codes: 0 aligned, 3 misaligned (each problem says what to change), 1 cannot read,\n"
    "2 bad usage.\n";

static const nf_cli_prog prog = {.name = "numafit-pod", .usage = usage, .see_help = true};

static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"sysfs-root", required_argument, NULL, 's'},
    {"procfs-root", required_argument, NULL, 'p'},
    {"cgroup-root", required_argument, NULL, 'c'},
    {"podinfo-dir", required_argument, NULL, 'i'},
    {"log-level", required_argument, NULL, NF_CLI_OPT_LOG_LEVEL},
    {"help", no_argument, NULL, NF_CLI_OPT_HELP},
    {"version", no_argument, NULL, NF_CLI_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* EXIT_* or NF_CLI_USAGE / NF_CLI_EXIT */
static int parse(int argc, char **argv, nf_pod_roots *r, bool *eal, bool *json)
{
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            *json = true;
            break;
        case 's':
            r->sysfs = optarg;
            break;
        case 'p':
            r->procfs = optarg;
            break;
        case 'c':
            r->cgroup = optarg;
            break;
        case 'i':
            r->podinfo = optarg;
            break;
        default:
            if ((rc = nf_cli_common_option(&prog, c, optarg)))
                return rc;
        }
    }
    if (optind < argc && strcmp(argv[optind], "eal-args") == 0) {
        *eal = true;
        optind++;
    }
    if (optind < argc)
        return nf_cli_usage_error(&prog, "unexpected argument \"%s\"", argv[optind]);
    if (*json && !*eal)
        return nf_cli_usage_error(&prog, "--json goes with eal-args");
    return 0;
}

static int run(const nf_pod_roots *r, bool eal, bool json)
{
    nf_pod_view v;
    nf_pod_verdict vd;
    nf_pod_eal e;
    nf_err err = {{0}};
    nf_buf out = {0};
    int rc = nf_pod_view_read(r, environ, &v, &err);
    if (rc) {
        fprintf(stderr, "numafit-pod: %s\n", err.msg[0] ? err.msg : nf_strerror(rc));
        return EXIT_UNREADABLE;
    }
    if ((rc = nf_pod_verdict_make(&v, &vd))) {
        nf_pod_view_free(&v);
        fprintf(stderr, "numafit-pod: %s\n", nf_strerror(rc));
        return EXIT_UNREADABLE;
    }
    if (!eal) {
        nf_pod_summary_print(stdout, r, &v, &vd);
    } else if (!(rc = nf_pod_eal_make(&v, &vd, &e))) {
        rc = json ? nf_pod_eal_json(&e, &v, &vd, &out) : nf_pod_eal_line(&e, &out);
        if (!rc)
            fputs(out.p, stdout);
        if (!json) /* the line stays clean for $(...): the verdict goes to stderr */
            for (size_t i = 0; i < vd.n_problems; i++)
                fprintf(stderr, "numafit-pod: misaligned: %s\n", vd.problems[i]);
        nf_pod_eal_free(&e);
    }
    if (rc)
        fprintf(stderr, "numafit-pod: %s\n", nf_strerror(rc));
    int code = rc ? EXIT_UNREADABLE : vd.aligned ? EXIT_ALIGNED : EXIT_MISALIGNED;
    nf_buf_free(&out);
    nf_pod_verdict_free(&vd);
    nf_pod_view_free(&v);
    return fflush(stdout) == 0 ? code : EXIT_UNREADABLE;
}

int main(int argc, char **argv)
{
    nf_pod_roots r = {
        .sysfs = "/sys", .procfs = "/proc", .cgroup = "/sys/fs/cgroup", .podinfo = "/etc/podinfo"};
    bool eal = false, json = false;
    int eargc, rc;
    char **eargv;
    if (nf_cli_env_argv(longopts, NULL, argc, argv, &eargc, &eargv)) {
        fprintf(stderr, "numafit-pod: out of memory\n");
        return EXIT_UNREADABLE;
    }
    rc = parse(eargc, eargv, &r, &eal, &json);
    if (rc == 0)
        rc = run(&r, eal, json);
    else if (rc == NF_CLI_EXIT)
        rc = 0;
    nf_cli_free_argv(eargc, eargv);
    return rc;
}
