/* exporter_main.c - numafit-exporter: parse options, build the collector, run. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "exporter_daemon.h"
#include "nrt_publisher.h"
#include "numafit/cli.h"
#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/signals.h"
#include "privsep.h"
#include "probe_cli.h"

#define EXIT_USAGE NF_CLI_USAGE

static const char usage[] =
    "usage: numafit-exporter [options]\n"
    "       numafit-exporter probe [--pci BDF]... [--vdev NAME[,ARGS]]... [--timeout DUR] "
    "[--no-huge]\n"
    "       numafit-exporter nrt FILE   print the NodeResourceTopology of a saved NodeTopology\n"
    "                                   document (what GET /v1/noderesourcetopology serves)\n"
    "\n"
    "Publishes this node's per-NUMA free exclusive CPUs, hugepages, memory and SR-IOV VFs\n"
    "(numafit.io/v1 NodeTopology) for numafit-extender.\n"
    "\n"
    "  --listen ADDR:PORT      serve HTTP here (default 0.0.0.0:9750)\n"
    "  --once                  print one NodeTopology JSON to stdout and exit\n"
    "  --node-name NAME        default $NODE_NAME, else the hostname\n"
    "  --sysfs-root DIR        default /sys\n"
    "  --procfs-root DIR       default /proc\n"
    "  --kubelet-dir DIR       default /var/lib/kubelet\n"
    "  --kubelet-config FILE   KubeletConfiguration YAML (reservedSystemCPUs, policies);\n"
    "                          default: the running kubelet's --config and --config-dir\n"
    "                          drop-ins (from --procfs-root), else KUBELET-DIR/config.yaml\n"
    "  --kubelet-grace DUR     keep the last good view of a kubelet file that disappears,\n"
    "                          empties or stops parsing this long, then publish its numbers\n"
    "                          as unknown (null) (default 60s)\n"
    "  --podresources-socket PATH  kubelet's podresources API (gRPC); what it says wins over\n"
    "                          the checkpoint files (default KUBELET-DIR/pod-resources/\n"
    "                          kubelet.sock, asked while it exists; '' or none: not used)\n"
    "  --podresources-timeout DUR  deadline of each podresources call (default 2s)\n"
    "  --podresources-interval DUR  podresources poll period (default 10s; also asked when\n"
    "                          kubelet's checkpoint files change)\n"
    "  --reserved-cpus LIST    kubelet-reserved CPUs, e.g. 0,48 (overrides the config)\n"
    "  --sriov-config FILE     SR-IOV network device plugin config.json (or its ConfigMap):\n"
    "                          names the VFs kubelet's device checkpoint does not list\n"
    "  --poll-interval DUR     sysfs re-read period (default 1s); kubelet files are watched\n"
    "  --probe off|on          embedded DPDK probe of free VFs (default off)\n"
    "  --probe-interval DUR    re-probe period (default 5m)\n"
    "  --probe-timeout DUR     kill a probe after this long (default 10s)\n"
    "  --tls-cert FILE         serve HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE          ... and this PEM key; both re-read when they change\n"
    "  --client-ca FILE        require client certificates signed by this CA (mutual TLS) for\n"
    "                          everything but /healthz and /readyz; re-read when it changes\n"
    "  --max-long-polls N      held long-polls (?waitForGeneration) at most; 503 beyond\n"
    "                          (default 128)\n"
    "  --head-timeout DUR      a request's line and headers must be in by then, or the\n"
    "                          connection is closed (default 10s; 0s: only the idle timeout)\n"
    "  --auth-token-file FILE  require \"Authorization: Bearer <token>\" with one of this file's\n"
    "                          tokens (one per line) for everything but /healthz and /readyz\n"
    "  --privsep-user USER[:GROUP]\n"
    "                          two processes: a collector keeping the starting identity with\n"
    "                          no network, and the HTTP server as USER (e.g. 65534:65534),\n"
    "                          both under seccomp; needs root to start (README: Security);\n"
    "                          '' or none: one process (the default)\n"
    "  --publish-nrt           write this node's NodeResourceTopology (topology.node.k8s.io/\n"
    "                          v1alpha2, also at GET /v1/noderesourcetopology) to the API server\n"
    "                          whenever it changes\n"
    "  --publish-nrt-interval DUR  at most one write per this long (default 5s, at least 1s)\n"
    "  --kubeconfig FILE       API server access for --publish-nrt (default: in-cluster)\n"
    "  --log-level LEVEL       debug|info|warn|error (default info)\n"
    "  --help, --version\n"
    "\n"
    "Every flag can also be set as NUMAFIT_<FLAG> (e.g. NUMAFIT_LISTEN=127.0.0.1:9750).\n"
    "Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage.\n";

static const struct option longopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"once", no_argument, NULL, 'o'},
    {"node-name", required_argument, NULL, 'n'},
    {"sysfs-root", required_argument, NULL, 's'},
    {"procfs-root", required_argument, NULL, 'p'},
    {"kubelet-dir", required_argument, NULL, 'k'},
    {"kubelet-config", required_argument, NULL, 'c'},
    {"kubelet-grace", required_argument, NULL, 'g'},
    {"reserved-cpus", required_argument, NULL, 'r'},
    {"podresources-socket", required_argument, NULL, 'R'},
    {"podresources-timeout", required_argument, NULL, 'D'},
    {"podresources-interval", required_argument, NULL, 'E'},
    {"sriov-config", required_argument, NULL, 'S'},
    {"poll-interval", required_argument, NULL, 'i'},
    {"probe", required_argument, NULL, 'P'},
    {"probe-interval", required_argument, NULL, 'I'},
    {"probe-timeout", required_argument, NULL, 'T'},
    {"tls-cert", required_argument, NULL, 'C'},
    {"tls-key", required_argument, NULL, 'K'},
    {"client-ca", required_argument, NULL, 'A'},
    {"auth-token-file", required_argument, NULL, 'a'},
    {"max-long-polls", required_argument, NULL, 'M'},
    {"privsep-user", required_argument, NULL, 'u'},
    {"publish-nrt", no_argument, NULL, 'N'},
    {"publish-nrt-interval", required_argument, NULL, 'Q'},
    {"kubeconfig", required_argument, NULL, 'U'},
    {"head-timeout", required_argument, NULL, 'H'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
static const nf_cli_prog prog = {.name = "numafit-exporter", .usage = usage};

static int parse_duration(const char *flag, const char *v, int64_t *out)
{
    nf_err e;
    if (nf_duration_parse_ms(v, out, &e) == 0 && *out > 0)
        return 0;
    nf_cli_usage_error(&prog, "--%s: %s", flag, *out <= 0 ? "must be positive" : e.msg);
    return -EINVAL;
}

typedef struct nrt_opts {
    bool publish;
    const char *kubeconfig;
} nrt_opts;

static int parse_args(int argc, char **argv, nf_collector_opts *co, nf_exporter_daemon_opts *d,
                      int *once, nrt_opts *no, const char **privsep)
{
    int c, rc;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            d->listen = optarg;
            break;
        case 'o':
            *once = 1;
            break;
        case 'n':
            co->node_name = optarg;
            break;
        case 's':
            co->sysfs_root = optarg;
            break;
        case 'p':
            co->procfs_root = optarg;
            break;
        case 'k':
            co->kubelet_dir = optarg;
            break;
        case 'c':
            co->kubelet_config = optarg;
            break;
        case 'g':
            if (parse_duration("kubelet-grace", optarg, &co->kubelet_grace_ms))
                return EXIT_USAGE;
            break;
        case 'r':
            co->reserved_cpus = optarg;
            break;
        case 'R':
            co->podres_socket = optarg;
            break;
        case 'D':
            if (parse_duration("podresources-timeout", optarg, &co->podres_timeout_ms))
                return EXIT_USAGE;
            break;
        case 'E':
            if (parse_duration("podresources-interval", optarg, &co->podres_interval_ms))
                return EXIT_USAGE;
            break;
        case 'S':
            co->sriov_config = optarg;
            break;
        case 'i':
            if (parse_duration("poll-interval", optarg, &d->poll_interval_ms))
                return EXIT_USAGE;
            break;
        case 'P':
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return nf_cli_usage_error(&prog, "--probe takes on or off");
            co->probe = strcmp(optarg, "on") == 0;
            break;
        case 'I':
            if (parse_duration("probe-interval", optarg, &co->probe_interval_ms))
                return EXIT_USAGE;
            break;
        case 'T':
            if (parse_duration("probe-timeout", optarg, &co->probe_timeout_ms))
                return EXIT_USAGE;
            break;
        case 'C':
            d->tls.cert_file = optarg;
            break;
        case 'K':
            d->tls.key_file = optarg;
            break;
        case 'A':
            d->tls.client_ca_file = optarg;
            break;
        case 'a':
            d->auth_token_file = optarg;
            break;
        case 'M': {
            int64_t n;
            if (nf_parse_int64(optarg, 1, 1000000, &n))
                return nf_cli_usage_error(&prog, "--max-long-polls takes 1..1000000");
            d->max_long_polls = (unsigned)n;
            break;
        }
        case 'u':
            *privsep = *optarg && strcmp(optarg, "none") ? optarg : NULL; /* '' or none: off */
            break;
        case 'N':
            no->publish = true;
            break;
        case 'Q':
            if (parse_duration("publish-nrt-interval", optarg, &d->publish_nrt_interval_ms))
                return EXIT_USAGE;
            if (d->publish_nrt_interval_ms < 1000)
                return nf_cli_usage_error(&prog, "--publish-nrt-interval must be at least 1s");
            break;
        case 'U':
            no->kubeconfig = optarg;
            break;
        case 'H': {
            int64_t ms;
            nf_err e = {{0}};
            if (nf_duration_parse_ms(optarg, &ms, &e) || ms < 0)
                return nf_cli_usage_error(&prog, "--head-timeout: %s",
                                          e.msg[0] ? e.msg : "must not be negative");
            d->head_timeout_ms = ms ? ms : -1;
            break;
        }
        default: /* --log-level, --help, --version, unknown */
            if ((rc = nf_cli_common_option(&prog, c, optarg)))
                return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "numafit-exporter: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    if (!d->tls.cert_file != !d->tls.key_file)
        return nf_cli_usage_error(&prog, "--tls-cert and --tls-key go together");
    if (d->tls.client_ca_file && !d->tls.cert_file)
        return nf_cli_usage_error(&prog, "--client-ca needs --tls-cert and --tls-key (HTTPS)");
    if (no->kubeconfig && !no->publish)
        return nf_cli_usage_error(&prog, "--kubeconfig is for --publish-nrt");
    if (no->publish && *once)
        return nf_cli_usage_error(&prog, "--publish-nrt runs with the server, not with --once");
    return 0;
}

/* --publish-nrt's API client. Returns 0, 1 (runtime) or 2 (bad usage). */
static int nrt_client(const nrt_opts *no, nf_kube **out)
{
    nf_err err;
    int rc = nf_kube_open(no->kubeconfig, out, &err);
    if (rc == 0 && !*out)
        return nf_cli_usage_error(&prog, "--publish-nrt needs --kubeconfig FILE outside a cluster "
                                         "(no KUBERNETES_SERVICE_HOST or service account token)");
    if (rc == -ENOENT || rc == -EINVAL)
        return nf_cli_usage_error(&prog, "--kubeconfig: %s", err.msg);
    if (rc) {
        fprintf(stderr, "numafit-exporter: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int print_once(nf_collector *c)
{
    char *doc;
    size_t len;
    uint64_t gen;
    bool changed;
    int rc = nf_collector_refresh(c, &doc, &len, &gen, &changed);
    if (rc) {
        fprintf(stderr, "numafit-exporter: %s\n", nf_strerror(rc));
        return 1;
    }
    json_error_t je; /* pretty-print for people; the server sends it compact */
    json_t *j = json_loadb(doc, len, 0, &je);
    char *pretty = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    puts(pretty ? pretty : doc);
    free(pretty);
    json_decref(j);
    free(doc);
    return 0;
}

/* --privsep-user: fork the http process before any thread exists. Returns 1 in the collector
 * (d->channel set), 0 in the http process after it served (*rc its exit code), <0 on failure. */
static int separate(const nf_privsep_user *u, nf_exporter_daemon_opts *d, int *rc)
{
    nf_err err;
    int fd;
    pid_t child = -1;
    int f = nf_privsep_fork(u, &fd, &child, &err);
    if (f == 0 || (f < 0 && child == 0)) { /* the http process */
        if (f == 0 && nf_exporter_daemon_serve_channel(fd, d, &err) == 0) {
            *rc = 0;
        } else {
            fprintf(stderr, "numafit-exporter (http process): %s\n", err.msg);
            *rc = 1;
        }
        if (f == 0)
            close(fd);
        return 0;
    }
    if (f < 0 || nf_privsep_confine_collector(&err)) {
        fprintf(stderr, "numafit-exporter: %s\n", err.msg);
        if (f > 0)
            nf_privsep_stop(fd, child, false);
        return -1;
    }
    d->channel = true;
    d->channel_fd = fd;
    d->http_pid = child;
    return 1;
}

/* numafit-exporter nrt FILE: the same conversion the server makes, for a saved document. */
static int nrt_main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return nf_cli_usage_error(&prog, "nrt takes one FILE (a NodeTopology JSON document)");
    char *text;
    size_t len;
    json_t *o = NULL;
    nf_err err;
    if (nf_read_file(argv[1], 64u << 20, &text, &len, &err)) {
        fprintf(stderr, "numafit-exporter: %s\n", err.msg);
        return 1;
    }
    int rc = nf_nrt_of_document(text, len, &o, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "numafit-exporter: %s: %s\n", argv[1], err.msg);
        return 1;
    }
    char *out = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!out)
        return 1;
    puts(out);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "probe") == 0)
        return nf_probe_cli_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "nrt") == 0)
        return nrt_main(argc - 1, argv + 1);

    nf_collector_opts co = {
        .probe_interval_ms = 300000, .probe_timeout_ms = 10000, .kubelet_grace_ms = 60000};
    nf_exporter_daemon_opts d = {.listen = "0.0.0.0:9750",
                                 .poll_interval_ms = 1000,
                                 .publish_nrt_interval_ms = 5000,
                                 .channel_fd = -1};
    nrt_opts no = {0};
    int once = 0, eargc, rc;
    char **eargv;
    const char *privsep = NULL;
    nf_privsep_user pu;
    nf_err err;
    if (nf_cli_env_argv(longopts, NULL, argc, argv, &eargc, &eargv))
        return 1;
    if ((rc = parse_args(eargc, eargv, &co, &d, &once, &no, &privsep)) == 0 && privsep && !once &&
        nf_privsep_parse_user(privsep, &pu, &err))
        rc = nf_cli_usage_error(&prog, "%s", err.msg);
    if (rc == 0 && (!no.publish || (rc = nrt_client(&no, &d.kube)) == 0)) {
        nf_collector *c = NULL;
        int role = 1;
        if (!once)
            nf_cli_raise_nofile(); /* a socket per client: every long-poll holds one */
        if (!once && nf_block_stop_signals(NULL)) /* before any thread exists */
            rc = 1;
        else if (privsep && !once && (role = separate(&pu, &d, &rc)) <= 0)
            rc = role < 0 ? 1 : rc; /* the http process served, or the split failed */
        else if (nf_collector_new(&co, &c, &err)) {
            fprintf(stderr, "numafit-exporter: %s\n", err.msg);
            rc = 1;
        } else if (once) {
            rc = print_once(c);
        } else if (nf_exporter_daemon_run(c, &d, &err)) {
            fprintf(stderr, "numafit-exporter: %s\n", err.msg);
            rc = 1;
        }
        /* without a collector the http process still waits for its first document */
        if (d.channel && nf_privsep_stop(d.channel_fd, d.http_pid, c != NULL) && rc == 0)
            rc = 1;
        nf_collector_free(c);
    }
    nf_kube_free(d.kube); /* after the daemon, whose publisher borrowed it */
    nf_cli_free_argv(eargc, eargv);
    return rc == NF_CLI_EXIT ? 0 : rc;
}
