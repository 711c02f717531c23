/* report_main.c - numafit-report: read topologies (files, a directory, an extender, exporters)
 * into a topology cache, count the shapes with report.h, write one format of report_render.h. */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "fit_cli.h"
#include "numafit/buf.h"
#include "numafit/cli.h"
#include "numafit/clock.h"
#include "numafit/duration.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/topology_json.h"
#include "numafit/yaml_json.h"
#include "report.h"
#include "report_render.h"
#include "topology_dir.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE NF_CLI_USAGE
#define EXTENDER_MAX_BODY ((size_t)2 << 30)

static const char usage[] =
    "usage: numafit-report (--shape SHAPE | --pod FILE)... [source...] [options] [FILE...]\n"
    "\n"
    "Capacity planning: how many more pods of a shape fit with their exclusive CPUs, hugepages\n"
    "and SR-IOV VFs on one NUMA node (or socket), per zone, per node and cluster-wide, what\n"
    "limits each zone, and what free capacity is stranded.\n"
    "\n"
    "  --shape SHAPE           e.g. 'cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1' (repeatable)\n"
    "  --pod FILE              a Pod (or Deployment, ...) YAML/JSON file as the shape; in a\n"
    "                          multi-document file every pod is one (repeatable)\n"
    "sources (any mix; a node read twice counts once, as first read in the order\n"
    "--topology-dir, FILE..., --extender, --exporter; the repeat is listed as skipped):\n"
    "  FILE...                 NodeTopology JSON files\n"
    "  --topology-dir DIR      every *.json NodeTopology file in DIR\n"
    "  --extender URL          a numafit-extender: GET URL/v1/nodes (stale nodes are skipped)\n"
    "  --exporter URL          a numafit-exporter: GET URL/v1/topology (repeatable, fetched in\n"
    "                          parallel)\n"
    "options:\n"
    "  --align numa|socket|kubelet  one zone per NUMA node or per socket (default numa;\n"
    "                          kubelet: counted per NUMA node)\n"
    "  --hugepages-alignment H all|guaranteed: whose hugepages share the zone (default all;\n"
    "                          guaranteed: only Guaranteed pods', as kubelet aligns them)\n"
    "  --format F              table|csv|json|html (default table)\n"
    "  -o, --output FILE       write the report here (default standard output)\n"
    "  --add-pods N            what-if: first place N pods of every shape, each where the\n"
    "                          extender would steer it and kubelet would pin it, then report\n"
    "  --strategy S            how the what-if ranks nodes: most-allocated|least-allocated|\n"
    "                          balanced (default most-allocated)\n"
    "  --timeout DUR           per HTTP request (default 10s)\n"
    "  --progress WHEN         auto|always|never: a progress line on stderr once reading the\n"
    "                          extender/exporters takes over a second (auto: when stderr is a\n"
    "                          terminal; default auto)\n"
    "  --log-level LEVEL       debug|info|warn|error (default warn)\n"
    "  --help, --version\n"
    "\n"
    "Every flag can also be set as NUMAFIT_<FLAG> (NUMAFIT_FORMAT=json); repeatable flags take a\n"
    "whitespace-separated list (NUMAFIT_EXPORTER=\"http://a:9750 http://b:9750\").\n"
    "Exit codes: 0 report written (unreachable exporters are listed as skipped), 1 an input\n"
    "could not be read (file, pod file, extender, every exporter) or the output not written,\n"
    "2 bad usage (unknown flag, bad value or shape, no shape, no source).\n";

static const struct option longopts[] = {
    {"shape", required_argument, NULL, 's'},
    {"pod", required_argument, NULL, 'p'},
    {"topology-dir", required_argument, NULL, 'd'},
    {"extender", required_argument, NULL, 'x'},
    {"exporter", required_argument, NULL, 'e'},
    {"align", required_argument, NULL, 'a'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"add-pods", required_argument, NULL, 'n'},
    {"strategy", required_argument, NULL, 'S'},
    {"hugepages-alignment", required_argument, NULL, 'H'},
    {"timeout", required_argument, NULL, 't'},
    {"progress", required_argument, NULL, 'P'},
    {"log-level", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};
static const char *const repeatable[] = {"shape", "pod", "exporter", NULL};
static const nf_cli_prog prog = {.name = "numafit-report", .usage = usage, .see_help = true};

typedef enum progress_mode { PROGRESS_AUTO = 0, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_mode;

typedef struct strv {
    const char **v; /* borrowed from argv */
    size_t n;
} strv;

typedef struct options {
    strv shapes, pods, exporters, files;
    const char *dir, *extender, *output;
    nf_report_opts report;
    nf_report_format format;
    int64_t timeout_ms;
    progress_mode progress;
} options;

static int strv_add(strv *s, const char *v)
{
    const char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (!nv)
        return EXIT_RUNTIME;
    nv[s->n++] = v;
    s->v = nv;
    return 0;
}

static int parse_option(options *o, int c, const char *arg)
{
    nf_err e = {{0}};
    int64_t v;
    switch (c) {
    case 's':
        return strv_add(&o->shapes, arg);
    case 'p':
        return strv_add(&o->pods, arg);
    case 'e':
        return strv_add(&o->exporters, arg);
    case 'd':
        o->dir = arg;
        return 0;
    case 'x':
        o->extender = arg;
        return 0;
    case 'o':
        o->output = arg;
        return 0;
    case 'a':
        return nf_fit_cli_option(&prog, "align", arg, &o->report.fit);
    case 'S':
        return nf_fit_cli_option(&prog, "strategy", arg, &o->report.fit);
    case 'H':
        return nf_fit_cli_option(&prog, "hugepages-alignment", arg, &o->report.fit);
    case 'f':
        return nf_report_format_parse(arg, &o->format)
                   ? nf_cli_usage_error(&prog,
                                        "--format takes table, csv, json or html, not \"%s\"", arg)
                   : 0;
    case 'n':
        if (nf_parse_int64(arg, 0, NF_REPORT_MAX_ADD_PODS, &v))
            return nf_cli_usage_error(
                &prog, "--add-pods takes a whole number 0..1000000, not \"%s\"", arg);
        o->report.add_pods = v;
        return 0;
    case 't':
        if (nf_duration_parse_ms(arg, &v, &e) || v <= 0)
            return nf_cli_usage_error(&prog, "--timeout: %s",
                                      e.msg[0] ? e.msg : "must be positive");
        o->timeout_ms = v;
        return 0;
    case 'P':
        if (strcmp(arg, "auto") == 0)
            o->progress = PROGRESS_AUTO;
        else if (strcmp(arg, "always") == 0)
            o->progress = PROGRESS_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            o->progress = PROGRESS_NEVER;
        else
            return nf_cli_usage_error(&prog, "--progress takes auto, always or never, not \"%s\"",
                                      arg);
        return 0;
    default: /* --log-level, --help, --version, unknown */
        return nf_cli_common_option(&prog, c, arg);
    }
}

static int parse_args(int argc, char **argv, options *o)
{
    int c, rc;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1)
        if ((rc = parse_option(o, c, optarg)))
            return rc;
    for (int i = optind; i < argc; i++)
        if ((rc = strv_add(&o->files, argv[i])))
            return rc;
    if (!o->shapes.n && !o->pods.n)
        return nf_cli_usage_error(
            &prog, "no shape: give --shape 'cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1' "
                   "or --pod FILE");
    if (!o->files.n && !o->dir && !o->extender && !o->exporters.n)
        return nf_cli_usage_error(&prog,
                                  "no topology source: give FILE..., --topology-dir, --extender or "
                                  "--exporter");
    return 0;
}

/* ---- shapes ------------------------------------------------------------------------------ */

/* A document that holds a pod spec (a Pod, a workload with spec.template, a bare template):
 * manifests often put the Namespace, ConfigMaps or Services beside it. */
static bool holds_pod(const json_t *doc)
{
    json_t *spec = nf_json_iget(doc, "spec");
    return json_is_object(spec) &&
           (nf_json_iget(spec, "containers") || nf_json_iget(spec, "template"));
}

static int add_pod_doc(nf_report *r, const char *path, const json_t *doc, nf_err *err)
{
    nf_pod_req pod;
    int rc = nf_pod_req_from_json(doc, &pod, err);
    if (rc) {
        nf_err e = *err;
        return nf_errf(err, rc, "pod file %s: %s", path, e.msg);
    }
    char label[600];
    if (pod.name)
        snprintf(label, sizeof(label), "pod %s%s%s", pod.namespace_ ? pod.namespace_ : "",
                 pod.namespace_ ? "/" : "", pod.name);
    else
        snprintf(label, sizeof(label), "pod %s", path);
    return nf_report_add_shape(r, label, &pod, err);
}

/* Every pod-bearing document of the file is a shape; the others (Namespace, ...) are skipped. */
static int add_pod_file(nf_report *r, const char *path, nf_err *err)
{
    char *text;
    size_t len;
    json_t *docs = NULL;
    int rc = nf_read_file(path, 16u << 20, &text, &len, err);
    if (rc)
        return rc;
    rc = nf_yaml_load_all(text, len, &docs, err);
    free(text);
    if (rc) {
        nf_err e = *err;
        return nf_errf(err, rc, "pod file %s: %s", path, e.msg);
    }
    size_t i, used = 0;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        if (rc || !holds_pod(doc))
            continue;
        rc = add_pod_doc(r, path, doc, err);
        used++;
    }
    if (!rc && !used) /* say what the one document lacks, or that none holds a pod */
        rc = json_array_size(docs) == 1
                 ? add_pod_doc(r, path, json_array_get(docs, 0), err)
                 : nf_errf(err, -EINVAL, "pod file %s: none of its %zu documents holds a pod spec",
                           path, json_array_size(docs));
    json_decref(docs);
    return rc;
}

/* ---- HTTP: one-shot parallel GETs with a progress line ----------------------------------- */

typedef struct fetch {
    char *url;
    const char *what; /* the source as the user gave it */
    CURL *easy;
    nf_buf body; /* .max: the largest answer taken; .over: it was larger */
    bool done;
    char errbuf[CURL_ERROR_SIZE];
    char error[CURL_ERROR_SIZE + 64]; /* empty when the body is a 200 answer */
} fetch;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    fetch *f = ud;
    size_t n = size * nmemb;
    return nf_buf_add(&f->body, data, n) ? 0 : n; /* 0 aborts the transfer */
}

static void fetch_done(fetch *f, CURLcode res)
{
    long code = 0;
    f->done = true;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
    if (res != CURLE_OK)
        snprintf(f->error, sizeof(f->error), "%s",
                 f->body.over   ? "answer too large"
                 : f->errbuf[0] ? f->errbuf
                                : curl_easy_strerror(res));
    else if (code != 200)
        snprintf(f->error, sizeof(f->error), "HTTP status %ld", code);
}

/* GET every url at once (at most 64 connections); a progress line on stderr once it takes more
 * than a second, when `show`. Returns 0 or -ENOMEM; per-fetch failures are in f[i].error. */
static int fetch_all(fetch *f, size_t n, int64_t timeout_ms, bool show)
{
    CURLM *m = curl_multi_init();
    if (!m)
        return -ENOMEM;
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 64L);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        CURL *e = f[i].easy = curl_easy_init();
        if (!e) {
            rc = -ENOMEM;
            break;
        }
        curl_easy_setopt(e, CURLOPT_URL, f[i].url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &f[i]);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "numafit-report/" NUMAFIT_VERSION);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f[i].errbuf);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &f[i]);
        if (curl_multi_add_handle(m, e) != CURLM_OK)
            rc = -ENOMEM;
    }
    int64_t start = nf_mono_ms(), shown = 0;
    size_t done = 0, failed = 0;
    while (!rc && done < n) {
        int running = 0, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            fetch *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            fetch_done(x, msg->data.result);
            done++;
            failed += x->error[0] != 0;
        }
        int64_t now = nf_mono_ms();
        if (show && now - start >= 1000 && (now - shown >= 200 || done == n)) {
            fprintf(stderr,
                    "\rnumafit-report: read %zu of %zu topology sources (%zu failed), %.1fs", done,
                    n, failed, (double)(now - start) / 1000);
            shown = now;
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    if (shown)
        fputc('\n', stderr);
    for (size_t i = 0; i < n; i++) {
        if (f[i].easy) {
            curl_multi_remove_handle(m, f[i].easy);
            curl_easy_cleanup(f[i].easy);
            f[i].easy = NULL;
        }
    }
    curl_multi_cleanup(m);
    return rc;
}

static void fetch_free(fetch *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].url);
        nf_buf_free(&f[i].body);
    }
    free(f);
}

/* ---- sources ----------------------------------------------------------------------------- */

typedef struct inputs {
    nf_cache *cache;
    nf_report *report;
    size_t read; /* documents put into the cache */
} inputs;

/* Put a decoded document into the cache unless its node was read already. */
static int put_topology(inputs *in, nf_topology *t, const char *source)
{
    nf_cache_entry *e = nf_cache_acquire(in->cache, t->node);
    if (e) {
        char *why;
        int rc = -ENOMEM;
        if (asprintf(&why, "duplicate node: read from %s, again from %s", e->source, source) >= 0) {
            rc = nf_report_add_skipped(in->report, t->node, why);
            free(why);
        }
        nf_cache_release(e);
        nf_topology_free(t);
        return rc;
    }
    int rc = nf_cache_put(in->cache, t, source, 0);
    in->read += rc == 0;
    return rc;
}

static int read_file(inputs *in, const char *path, nf_err *err)
{
    char *text, *source = NULL;
    size_t len;
    nf_topology t;
    int rc = nf_read_file(path, NF_TOPOLOGY_FILE_MAX, &text, &len, err);
    if (rc)
        return rc;
    rc = nf_topology_parse(text, len, &t, err);
    free(text);
    if (rc) {
        nf_err e = *err;
        return nf_errf(err, rc, "%s: %s", path, e.msg);
    }
    if (asprintf(&source, "file:%s", path) < 0) {
        nf_topology_free(&t);
        return nf_errf(err, -ENOMEM, "%s: out of memory", path);
    }
    rc = put_topology(in, &t, source);
    free(source);
    if (rc)
        return nf_errf(err, rc, "%s: %s", path, nf_strerror(rc));
    return 0;
}

static int read_dir(inputs *in, const char *dir, nf_err *err)
{
    nf_topology_dir *d;
    int rc = nf_topology_dir_open(in->cache, dir, &d, err);
    if (rc)
        return rc;
    size_t loaded = 0, bad = 0;
    nf_topology_dir_counts(d, &loaded, &bad);
    nf_topology_dir_free(d);
    in->read += loaded;
    if (bad) {
        char why[600];
        snprintf(why, sizeof(why), "%zu bad files in %s (the warnings above name them)", bad, dir);
        return nf_report_add_skipped(in->report, dir, why) ? -ENOMEM : 0;
    }
    return 0;
}

/* The extender's GET /v1/nodes: {"kind": "NodeTopologyList", "items": [doc + "cache"]}. */
static int read_extender_list(inputs *in, const fetch *f, nf_err *err)
{
    json_error_t je;
    json_t *doc = json_loadb(f->body.p ? f->body.p : "", f->body.len, 0, &je);
    json_t *items = json_object_get(doc, "items");
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    if (!doc || !json_is_array(items) || !kind || strcmp(kind, "NodeTopologyList") != 0) {
        json_decref(doc);
        return nf_errf(err, -EINVAL, "extender %s: /v1/nodes: %s", f->what,
                       doc ? "not a NodeTopologyList with items[]" : je.text);
    }
    int rc = 0;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *node = json_string_value(json_object_get(item, "node"));
        json_t *cache = json_object_get(item, "cache");
        char why[NF_ERR_LEN + 64];
        if (json_is_true(json_object_get(cache, "stale"))) {
            const char *r = json_string_value(json_object_get(cache, "staleReason"));
            snprintf(why, sizeof(why), "stale in the extender: %s", r ? r : "no reason given");
            rc = nf_report_add_skipped(in->report, node, why);
        } else {
            nf_topology t;
            nf_err te = {{0}};
            if (nf_topology_from_json(item, &t, &te)) {
                snprintf(why, sizeof(why), "items[%zu]: %s", i, te.msg);
                rc = nf_report_add_skipped(in->report, node ? node : "?", why);
            } else {
                rc = put_topology(in, &t, f->what);
            }
        }
        if (rc)
            break;
    }
    json_decref(doc);
    return rc ? nf_errf(err, rc, "extender %s: %s", f->what, nf_strerror(rc)) : 0;
}

/* url without its trailing slashes, then path; NULL when out of memory. */
static char *base_url(const char *url, const char *path)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    char *out = NULL;
    return asprintf(&out, "%.*s%s", (int)n, url, path) < 0 ? NULL : out;
}

/* --extender and every --exporter, fetched together. */
static int read_http(inputs *in, const options *o, nf_err *err)
{
    size_t n = o->exporters.n + (o->extender ? 1 : 0);
    if (!n)
        return 0;
    fetch *f = calloc(n, sizeof(*f));
    if (!f)
        return nf_errf(err, -ENOMEM, "out of memory");
    bool oom = false;
    for (size_t i = 0; i < o->exporters.n; i++) {
        oom |= !(f[i].url = base_url(o->exporters.v[i], "/v1/topology"));
        f[i].what = o->exporters.v[i];
        f[i].body.max = NF_TOPOLOGY_FILE_MAX;
    }
    if (o->extender) {
        oom |= !(f[n - 1].url = base_url(o->extender, "/v1/nodes"));
        f[n - 1].what = o->extender;
        f[n - 1].body.max = EXTENDER_MAX_BODY;
    }
    if (oom) {
        fetch_free(f, n);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    bool show =
        o->progress == PROGRESS_ALWAYS || (o->progress == PROGRESS_AUTO && isatty(STDERR_FILENO));
    int rc = fetch_all(f, n, o->timeout_ms, show);
    if (rc) {
        fetch_free(f, n);
        return nf_errf(err, rc, "HTTP: %s", nf_strerror(rc));
    }
    size_t good = 0;
    for (size_t i = 0; i < o->exporters.n && !rc; i++) {
        nf_topology t;
        nf_err te = {{0}};
        char why[sizeof(f[i].error) + NF_ERR_LEN];
        if (f[i].error[0])
            snprintf(why, sizeof(why), "exporter %s: %s", f[i].what, f[i].error);
        else if (nf_topology_parse(f[i].body.p ? f[i].body.p : "", f[i].body.len, &t, &te))
            snprintf(why, sizeof(why), "exporter %s: %s", f[i].what, te.msg);
        else {
            rc = put_topology(in, &t, f[i].what);
            good++;
            continue;
        }
        fprintf(stderr, "numafit-report: warning: %s\n", why);
        rc = nf_report_add_skipped(in->report, f[i].what, why);
    }
    if (!rc && o->exporters.n && !good)
        rc = nf_errf(err, -EIO, "no exporter answered (%zu tried; the warnings above say why)",
                     o->exporters.n);
    else if (rc)
        nf_errf(err, rc, "%s", nf_strerror(rc));
    if (!rc && o->extender) {
        const fetch *x = &f[n - 1];
        if (x->error[0])
            rc = nf_errf(err, -EIO, "extender %s: %s", x->what, x->error);
        else
            rc = read_extender_list(in, x, err);
    }
    fetch_free(f, n);
    return rc;
}

/* ---- main -------------------------------------------------------------------------------- */

static int write_output(const char *path, const char *buf, size_t len, nf_err *err)
{
    if (path && strcmp(path, "-") != 0)
        return nf_write_file_atomic(path, buf, len, err);
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
        return nf_errf(err, -EIO, "cannot write the report to standard output");
    return 0;
}

/* Everything after the command line. Returns an exit code. */
static int run(const options *o, nf_err *err)
{
    inputs in = {0};
    nf_cache_entry **entries = NULL;
    size_t n = 0;
    char *out = NULL;
    size_t len = 0;
    int code = EXIT_USAGE, rc;
    if ((rc = nf_report_new(&o->report, &in.report)) || (rc = nf_cache_new(&in.cache))) {
        nf_errf(err, rc, "out of memory");
        code = EXIT_RUNTIME;
        goto done;
    }
    for (size_t i = 0; i < o->shapes.n; i++)
        if (nf_report_add_shape_text(in.report, o->shapes.v[i], err))
            goto done; /* a bad shape is bad usage */
    code = EXIT_RUNTIME;
    for (size_t i = 0; i < o->pods.n; i++)
        if (add_pod_file(in.report, o->pods.v[i], err))
            goto done;
    /* the directory first: its loader replaces a cached node; the others skip repeats */
    if (o->dir && read_dir(&in, o->dir, err))
        goto done;
    for (size_t i = 0; i < o->files.n; i++)
        if (read_file(&in, o->files.v[i], err))
            goto done;
    if (read_http(&in, o, err))
        goto done;
    if ((rc = nf_cache_acquire_all(in.cache, &entries, &n))) {
        nf_errf(err, rc, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = nf_report_add_node(in.report, &entries[i]->topo))) {
            nf_errf(err, rc, "out of memory");
            goto done;
        }
    if (nf_report_compute(in.report, err))
        goto done;
    if ((rc = nf_report_render(in.report, o->format, &out, &len))) {
        nf_errf(err, rc, "rendering the report: %s", nf_strerror(rc));
        goto done;
    }
    if (write_output(o->output, out, len, err))
        goto done;
    code = 0;
done:
    free(out);
    nf_report_free(in.report); /* before the entries it borrows */
    nf_cache_release_all(entries, n);
    nf_cache_free(in.cache);
    return code;
}

int main(int argc, char **argv)
{
    options o = {.timeout_ms = 10000};
    int eargc, rc;
    char **eargv;
    nf_log_set_level(NF_LOG_WARN);
    if (nf_cli_env_argv(longopts, repeatable, argc, argv, &eargc, &eargv))
        return EXIT_RUNTIME;
    if ((rc = parse_args(eargc, eargv, &o)) == 0) {
        nf_err err = {{0}};
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err.msg, sizeof(err.msg), "cannot initialise libcurl");
            rc = EXIT_RUNTIME;
        } else {
            rc = run(&o, &err);
            curl_global_cleanup();
        }
        if (rc)
            fprintf(stderr, "numafit-report: %s\n", err.msg);
    }
    free(o.shapes.v);
    free(o.pods.v);
    free(o.exporters.v);
    free(o.files.v);
    nf_cli_free_argv(eargc, eargv);
    return rc == NF_CLI_EXIT ? 0 : rc;
}
