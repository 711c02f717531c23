/* extender_main.c - numafit-extender: parse options, build the cache, its sources and the HTTP
 * server, serve until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binder.h"
#include "cache.h"
#include "extender_http.h"
#include "fit_cli.h"
#include "nrt_source.h"
#include "numafit/cli.h"
#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/kube.h"
#include "numafit/log.h"
#include "numafit/quantity.h"
#include "numafit/signals.h"
#include "puller.h"
#include "report.h"
#include "topology_dir.h"

#define EXIT_USAGE NF_CLI_USAGE

static const char usage[] =
    "usage: numafit-extender [options]\n"
    "\n"
    "kube-scheduler HTTP extender: filter and prioritize pods whose exclusive CPUs, hugepages and\n"
    "SR-IOV VFs must share one NUMA node (or socket), from numafit-exporter topologies.\n"
    "\n"
    "  --listen ADDR:PORT        serve HTTP here (default 0.0.0.0:9751; 127.0.0.1:9751 when\n"
    "                            binding is enabled: the extender runs beside its scheduler)\n"
    "  --exporter URL            pull this exporter, e.g. http://10.0.0.5:9750 (repeatable)\n"
    "  --exporter-dns HOST:PORT  headless Service: every A/AAAA record is an exporter "
    "(repeatable)\n"
    "  --exporter-hold DUR       exporters answer a long-poll at least this often (default 4s);\n"
    "                            one silent for this + 1s is failing: its nodes are stale\n"
    "  --topology-dir DIR        read NodeTopology *.json files (watched for changes)\n"
    "  --nrt                     read NodeResourceTopology objects (topology.node.k8s.io/\n"
    "                            v1alpha2, NFD's or numafit-exporter --publish-nrt) from the API\n"
    "                            server (list + watch; --kubeconfig or in-cluster)\n"
    "  --align numa|socket|kubelet  one zone per NUMA node or per socket (default numa); kubelet:\n"
    "                            each node by its own Topology Manager policy, as kubelet admits\n"
    "  --strategy S              most-allocated|least-allocated|balanced (default most-allocated)\n"
    "  --hugepages-alignment H   all|guaranteed: hold the hugepages of every pod to the zone of "
    "its\n"
    "                            CPUs and VFs (default all: DPDK allocates them on the NIC's\n"
    "                            socket), or only of Guaranteed pods, as kubelet does\n"
    "  --stale-after DUR         exporter documents older than this are stale (default 60s; 0s: "
    "never)\n"
    "  --stale-policy P          reject|ignore: a node without fresh topology fails with a reason\n"
    "                            (and a /bind to it is refused) or passes untouched (and is bound\n"
    "                            without a reservation) (default reject)\n"
    "  --shape NAME=REQUESTS     export numafit_extender_shape_pods_fit{shape=NAME} and\n"
    "                            ..._stranded for this pod shape, e.g.\n"
    "                            upf=cpu=8,hugepages-1Gi=8Gi,intel.com/sriov=2 (repeatable)\n"
    "  --max-body SIZE           largest request body, e.g. 64Mi (default 64Mi)\n"
    "  --body-budget SIZE        all request bodies held at once, e.g. 192Mi (default); 503\n"
    "                            beyond it\n"
    "  --threads N               HTTP worker threads (default: CPU count, at least 2)\n"
    "  --admin-workers N         threads of their own for /v1/report, /v1/nodes, /v1/explain\n"
    "                            and /metrics, below the scheduler's verbs in priority\n"
    "                            (default 1; 0: on the HTTP threads, with /filter)\n"
    "  --admin-queue N           of those, waiting at most (default 16); 503 beyond\n"
    "  --head-timeout DUR        a request's line and headers must be in by then, or the\n"
    "                            connection is closed (default 10s; 0s: only the idle timeout)\n"
    "\n"
    "TLS (certificate files are re-read when they change; TLS 1.2 at least):\n"
    "  --tls-cert FILE           serve HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE            ... and this PEM key\n"
    "  --client-ca FILE          /filter, /prioritize and /bind need a client\n"
    "                            certificate signed by this CA (mutual TLS); without it, /bind is\n"
    "                            refused on a listener beyond loopback\n"
    "  --exporter-ca FILE        verify exporters' HTTPS certificates with this CA\n"
    "  --exporter-cert FILE      client certificate presented to exporters ...\n"
    "  --exporter-key FILE       ... and its key\n"
    "  --exporter-token-file F   bearer token sent to exporters (re-read when it changes)\n"
    "  --exporter-server-name N  name exporters' certificates carry (default: the URL's host;\n"
    "                            the DNS name for --exporter-dns, whose records are https:// once\n"
    "                            --exporter-ca or --exporter-cert is given)\n"
    "\n"
    "Binding (bindVerb: bind): reserve what each bound pod takes on the NUMA node kubelet will\n"
    "use, create the Binding through the API server, keep reservations until kubelet's state\n"
    "shows the pod:\n"
    "  --kubeconfig FILE         API server access from a kubeconfig; default: in-cluster\n"
    "                            (KUBERNETES_SERVICE_HOST/PORT + service account) when there;\n"
    "                            'none': no API server, /bind refuses\n"
    "  --reservation-ttl DUR     a reservation nothing confirmed ends then (default 2m)\n"
    "  --bind-wait DUR           hold an aligned pod's /filter at most this long for the\n"
    "                            previous pod's /bind (default 200ms; 0s: never hold)\n"
    "  --requeue-rejected-pods   delete controller-owned pods kubelet rejected at admission\n"
    "                            (TopologyAffinityError, SMTAlignmentError,\n"
    "                            UnexpectedAdmissionError) so that they are recreated\n"
    "  --log-level LEVEL         debug|info|warn|error (default info)\n"
    "  --help, --version\n"
    "\n"
    "Every flag can also be set as NUMAFIT_<FLAG> (e.g. NUMAFIT_ALIGN=socket); repeatable flags\n"
    "take a whitespace-separated list (NUMAFIT_EXPORTER=\"http://a:9750 http://b:9750\").\n"
    "Exit codes: 0 clean stop, 1 runtime failure, 2 bad usage.\n";

static const struct option longopts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"exporter", required_argument, NULL, 'e'},
    {"exporter-dns", required_argument, NULL, 'd'},
    {"topology-dir", required_argument, NULL, 't'},
    {"nrt", no_argument, NULL, 'n'},
    {"align", required_argument, NULL, 'a'},
    {"strategy", required_argument, NULL, 's'},
    {"hugepages-alignment", required_argument, NULL, 'H'},
    {"stale-after", required_argument, NULL, 'A'},
    {"stale-policy", required_argument, NULL, 'P'},
    {"max-body", required_argument, NULL, 'm'},
    {"threads", required_argument, NULL, 'T'},
    {"kubeconfig", required_argument, NULL, 'k'},
    {"reservation-ttl", required_argument, NULL, 'R'},
    {"bind-wait", required_argument, NULL, 'W'},
    {"requeue-rejected-pods", no_argument, NULL, 'Q'},
    {"shape", required_argument, NULL, 'S'},
    {"tls-cert", required_argument, NULL, 'C'},
    {"tls-key", required_argument, NULL, 'K'},
    {"client-ca", required_argument, NULL, 'Z'},
    {"exporter-ca", required_argument, NULL, 'E'},
    {"exporter-cert", required_argument, NULL, 'c'},
    {"exporter-key", required_argument, NULL, 'y'},
    {"exporter-token-file", required_argument, NULL, 'O'},
    {"exporter-server-name", required_argument, NULL, 'N'},
    {"exporter-hold", required_argument, NULL, 'o'},
    {"body-budget", required_argument, NULL, 'B'},
    {"head-timeout", required_argument, NULL, 'D'},
    {"admin-workers", required_argument, NULL, 'w'},
    {"admin-queue", required_argument, NULL, 'q'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
static const char *const repeatable[] = {"exporter", "exporter-dns", "shape", NULL};
static const nf_cli_prog prog = {.name = "numafit-extender", .usage = usage, .see_help = true};

typedef struct options {
    nf_extender_config http;
    const char **exporters, **dns, **shapes; /* borrowed from argv */
    size_t n_exporters, n_dns, n_shapes;
    const char *dir;
    bool nrt;               /* --nrt */
    const char *kubeconfig; /* NULL: in-cluster when there; "none": no API server */
    bool listen_given;
    nf_binder_opts bind;
    nf_tls_server_opts tls; /* cert_file NULL: plain HTTP */
    nf_puller_opts pull;    /* with the TLS client options for exporters */
} options;

static int append(const char ***v, size_t *n, const char *s)
{
    const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return 1;
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

/* --shape NAME=REQUESTS: checked now (the server parses it again at every scrape). */
static int add_shape(options *o, const char *arg)
{
    char name[64], other[64];
    nf_pod_req req;
    nf_err e = {{0}};
    int rc = nf_report_named_shape_parse(arg, name, sizeof(name), &req, &e);
    if (rc == -ENOMEM)
        return 1;
    if (rc)
        return nf_cli_usage_error(&prog, "--shape %s", e.msg);
    bool aligned = req.aligned;
    nf_pod_req_free(&req);
    if (!aligned)
        return nf_cli_usage_error(&prog,
                                  "--shape %s: needs nothing aligned (give cpu, hugepages "
                                  "or a device)",
                                  name);
    for (size_t i = 0; i < o->n_shapes; i++)
        if (!nf_report_named_shape_parse(o->shapes[i], other, sizeof(other), &req, &e)) {
            nf_pod_req_free(&req);
            if (strcmp(other, name) == 0)
                return nf_cli_usage_error(&prog, "--shape %s is given twice", name);
        }
    return append(&o->shapes, &o->n_shapes, arg);
}

static int parse_option(options *o, int c, const char *arg)
{
    nf_err e = {{0}};
    int64_t v;
    switch (c) {
    case 'l':
        o->http.listen = arg;
        o->listen_given = true;
        return 0;
    case 'e':
        return append(&o->exporters, &o->n_exporters, arg);
    case 'd':
        return append(&o->dns, &o->n_dns, arg);
    case 't':
        o->dir = arg;
        return 0;
    case 'n':
        o->nrt = true;
        return 0;
    case 'a':
        return nf_fit_cli_option(&prog, "align", arg, &o->http.fit);
    case 's':
        return nf_fit_cli_option(&prog, "strategy", arg, &o->http.fit);
    case 'H':
        return nf_fit_cli_option(&prog, "hugepages-alignment", arg, &o->http.fit);
    case 'w':
        if (nf_parse_int64(arg, 0, 64, &v))
            return nf_cli_usage_error(&prog, "--admin-workers takes 0..64");
        o->http.admin_workers = v ? (int)v : -1;
        return 0;
    case 'q':
        if (nf_parse_int64(arg, 1, 100000, &v))
            return nf_cli_usage_error(&prog, "--admin-queue takes 1..100000");
        o->http.admin_queue = (unsigned)v;
        return 0;
    case 'D':
        if (nf_duration_parse_ms(arg, &v, &e) || v < 0)
            return nf_cli_usage_error(&prog, "--head-timeout: %s",
                                      e.msg[0] ? e.msg : "must not be negative");
        o->http.head_timeout_ms = v ? v : -1;
        return 0;
    case 'A':
        if (nf_duration_parse_ms(arg, &v, &e) || v < 0)
            return nf_cli_usage_error(&prog, "--stale-after: %s",
                                      e.msg[0] ? e.msg : "must not be negative");
        o->http.stale_after_ms = v;
        return 0;
    case 'P':
        if (strcmp(arg, "reject") && strcmp(arg, "ignore"))
            return nf_cli_usage_error(&prog, "--stale-policy takes reject or ignore, not \"%s\"",
                                      arg);
        o->http.pass_missing = strcmp(arg, "ignore") == 0;
        return 0;
    case 'm':
        if (nf_quantity_parse(arg, &v, &e) || v <= 0 || (uint64_t)v > SIZE_MAX / 2)
            return nf_cli_usage_error(&prog, "--max-body: %s",
                                      e.msg[0] ? e.msg : "must be positive");
        o->http.max_body = (size_t)v;
        return 0;
    case 'T':
        if (nf_quantity_parse(arg, &v, &e) || v <= 0 || v > 256)
            return nf_cli_usage_error(&prog, "--threads takes 1..256, not \"%s\"", arg);
        o->http.threads = (unsigned)v;
        return 0;
    case 'k':
        o->kubeconfig = arg;
        return 0;
    case 'R':
        if (nf_duration_parse_ms(arg, &v, &e) || v <= 0)
            return nf_cli_usage_error(&prog, "--reservation-ttl: %s",
                                      e.msg[0] ? e.msg : "must be positive");
        o->bind.ttl_ms = v;
        return 0;
    case 'W':
        if (nf_duration_parse_ms(arg, &v, &e) || v < 0)
            return nf_cli_usage_error(&prog, "--bind-wait: %s",
                                      e.msg[0] ? e.msg : "must not be negative");
        o->bind.bind_wait_ms = v ? v : -1;
        return 0;
    case 'Q':
        o->bind.requeue_rejected = true;
        return 0;
    case 'S':
        return add_shape(o, arg);
    case 'C':
        o->tls.cert_file = arg;
        return 0;
    case 'K':
        o->tls.key_file = arg;
        return 0;
    case 'Z':
        o->tls.client_ca_file = arg;
        return 0;
    case 'E':
        o->pull.ca_file = arg;
        return 0;
    case 'c':
        o->pull.cert_file = arg;
        return 0;
    case 'y':
        o->pull.key_file = arg;
        return 0;
    case 'O':
        o->pull.token_file = arg;
        return 0;
    case 'N':
        o->pull.server_name = arg;
        return 0;
    case 'B':
        if (nf_quantity_parse(arg, &v, &e) || v <= 0 || (uint64_t)v > SIZE_MAX / 2)
            return nf_cli_usage_error(&prog, "--body-budget: %s",
                                      e.msg[0] ? e.msg : "must be positive");
        o->http.body_budget = (size_t)v;
        return 0;
    case 'o':
        if (nf_duration_parse_ms(arg, &v, &e) || v <= 0 || v > 30000)
            return nf_cli_usage_error(&prog, "--exporter-hold: %s",
                                      e.msg[0] ? e.msg : "takes 1ms..30s");
        o->pull.hold_ms = v;
        return 0;
    default: /* --log-level, --help, --version, unknown */
        return nf_cli_common_option(&prog, c, arg);
    }
}

static int parse_args(int argc, char **argv, options *o)
{
    int c, rc;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
        if ((rc = parse_option(o, c, optarg)))
            return rc;
    if (optind < argc)
        return nf_cli_usage_error(&prog, "unexpected argument \"%s\"", argv[optind]);
    if (!o->tls.cert_file != !o->tls.key_file)
        return nf_cli_usage_error(&prog, "--tls-cert and --tls-key go together");
    if (o->tls.client_ca_file && !o->tls.cert_file)
        return nf_cli_usage_error(&prog, "--client-ca needs --tls-cert and --tls-key (HTTPS)");
    if (!o->pull.cert_file != !o->pull.key_file)
        return nf_cli_usage_error(&prog, "--exporter-cert and --exporter-key go together");
    if (!o->n_exporters && !o->n_dns && !o->dir && !o->nrt)
        return nf_cli_usage_error(&prog, "no topology source: give --exporter, --exporter-dns, "
                                         "--topology-dir or --nrt");
    if (o->nrt && o->kubeconfig && strcmp(o->kubeconfig, "none") == 0)
        return nf_cli_usage_error(&prog, "--nrt reads the API server: not with --kubeconfig none");
    return 0;
}

typedef struct parts {
    nf_cache *cache;
    nf_topology_dir *dir;
    nf_nrt_source *nrt;
    nf_puller *pull;
    nf_kube *kube;
    nf_binder *binder;
    nf_tls_server *tls;
    nf_extender_http *http;
} parts;

/* The API server client: --kubeconfig FILE, else in-cluster when there, else none (*out NULL).
 * Returns 0, 1 (runtime) or 2 (bad usage). */
static int api_client(const options *o, nf_kube **out, nf_err *err)
{
    *out = NULL;
    if (o->kubeconfig && strcmp(o->kubeconfig, "none") == 0)
        return 0;
    int rc = nf_kube_open(o->kubeconfig, out, err); /* not in a cluster: /bind refuses */
    if (rc)
        return rc == -ENOENT || rc == -EINVAL ? EXIT_USAGE : 1;
    return 0;
}

/* Build the cache, its sources and the server. Returns 0, 1 (runtime) or 2 (bad usage). */
static int build(options *o, parts *p, nf_err *err)
{
    int rc;
    if ((rc = nf_cache_new(&p->cache)))
        return nf_errf(err, 1, "topology cache: %s", nf_strerror(rc));
    /* a source silent for --stale-after no longer conflicts with the one that replaced it */
    nf_cache_set_conflict_window(p->cache, o->http.stale_after_ms);
    if ((rc = api_client(o, &p->kube, err)))
        return rc;
    nf_extender_config cfg = o->http;
    cfg.shapes = o->shapes;
    cfg.n_shapes = o->n_shapes;
    if (p->kube) {
        /* before any document arrives: the binder observes every put (nf_cache_on_put) */
        nf_binder_opts bo = o->bind;
        bo.kube = p->kube;
        bo.stale_after_ms = o->http.stale_after_ms;
        bo.bind_unusable = o->http.pass_missing;
        if (nf_binder_new(p->cache, &bo, &p->binder, err))
            return 1;
        cfg.binder = p->binder;
        if (!o->listen_given)
            cfg.listen = o->http.listen = NF_EXTENDER_BINDING_LISTEN;
    }
    if (o->dir && (nf_topology_dir_open(p->cache, o->dir, &p->dir, err) ||
                   nf_topology_dir_watch(p->dir, 10000, err)))
        return 1;
    if (o->nrt && !p->kube)
        return nf_errf(err, EXIT_USAGE,
                       "--nrt needs the API server: --kubeconfig FILE outside a cluster");
    if (o->nrt && nf_nrt_source_start(p->cache, p->kube, &p->nrt, err))
        return 1;
    if (o->n_exporters || o->n_dns) {
        if ((rc = nf_puller_new(p->cache, &o->pull, &p->pull)))
            return nf_errf(err, 1, "exporter puller: %s", nf_strerror(rc));
        for (size_t i = 0; i < o->n_exporters; i++)
            if ((rc = nf_puller_add_exporter(p->pull, o->exporters[i], err)))
                return rc == -EINVAL ? EXIT_USAGE : 1;
        for (size_t i = 0; i < o->n_dns; i++)
            if ((rc = nf_puller_add_dns(p->pull, o->dns[i], err)))
                return rc == -EINVAL ? EXIT_USAGE : 1;
        if (nf_puller_start(p->pull, err))
            return 1;
    }
    cfg.puller = p->pull; /* per-exporter pull counters in /metrics */
    if (p->binder && nf_binder_start(p->binder, err))
        return 1;
    if (o->tls.cert_file && nf_tls_server_new(&o->tls, &p->tls, err))
        return 1;
    cfg.tls = p->tls;
    if ((rc = nf_extender_http_start(&cfg, p->cache, &p->http, err)))
        return rc == -EINVAL ? EXIT_USAGE : 1;
    return 0;
}

static void teardown(parts *p)
{
    nf_extender_http_stop(p->http, 10000); /* in-flight requests finish first */
    nf_tls_server_free(p->tls);
    nf_puller_free(p->pull); /* the writers stop before the binder that observes their puts */
    nf_topology_dir_free(p->dir);
    nf_nrt_source_stop(p->nrt);
    nf_binder_free(p->binder);
    nf_kube_free(p->kube);
    nf_cache_free(p->cache);
}

int main(int argc, char **argv)
{
    options o = {.http = {.listen = NF_EXTENDER_DEFAULT_LISTEN, .stale_after_ms = 60000}};
    nf_puller_opts_default(&o.pull);
    int eargc, sig, rc;
    char **eargv;
    if (nf_cli_env_argv(longopts, repeatable, argc, argv, &eargc, &eargv))
        return 1;
    if ((rc = parse_args(eargc, eargv, &o)) == 0) {
        sigset_t stop;
        nf_block_stop_signals(&stop); /* before any thread exists: sigwait gets them */
        nf_cli_raise_nofile();        /* thousands of exporters: thousands of long-poll sockets */
        nf_extender_http_tune_malloc();
        parts p = {0};
        nf_err err = {{0}};
        if ((rc = build(&o, &p, &err)) != 0) {
            fprintf(stderr, "numafit-extender: %s\n", err.msg);
        } else {
            nf_info("numafit-extender serving",
                    "listen=%s port=%u align=%s strategy=%s hugepages_alignment=%s "
                    "stale_after_ms=%lld stale_policy=%s exporters=%zu exporter_dns=%zu "
                    "topology_dir=%s nrt=%s binding=%s shapes=%zu tls=%s client_ca=%s",
                    o.http.listen, nf_extender_http_port(p.http), nf_align_name(o.http.fit.align),
                    nf_strategy_name(o.http.fit.strategy),
                    nf_hugepages_align_name(o.http.fit.hugepages), (long long)o.http.stale_after_ms,
                    o.http.pass_missing ? "ignore" : "reject", o.n_exporters, o.n_dns,
                    o.dir ? o.dir : "none", p.nrt ? "on" : "off", p.binder ? "on" : "off",
                    o.n_shapes, p.tls ? "on" : "off",
                    o.tls.client_ca_file ? o.tls.client_ca_file : "none");
            sigwait(&stop, &sig);
            nf_info("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        }
        teardown(&p);
    }
    free(o.exporters);
    free(o.dns);
    free(o.shapes);
    nf_cli_free_argv(eargc, eargv);
    return rc == NF_CLI_EXIT ? 0 : rc;
}
