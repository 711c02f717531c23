/* fuzz_extender_args.c - the /filter and /prioritize request path on arbitrary bytes:
 * nf_extender_args_decode and its fast path nf_extender_args_scan, then the answers
 * nf_extender_filter_text / nf_extender_prioritize_text against two fixed node topologies.
 *
 * Properties: decode and scan agree on every input (the header promises scan takes the decode
 * path for anything unusual and every error): same return code and message, and on success the
 * same mode, node count and names, and the same filter and prioritize answers as JSON values
 * (scan passes node objects back byte for byte, so compared after loading); a failure says why
 * and leaves *out zeroed; the answers are valid JSON of the documented shape naming only nodes
 * that were asked about (a filter answer accounts for every distinct asked node once, a
 * prioritize answer has one entry per asked node in request order with Score 0..10); every
 * topology the answers acquire is released. */
#include <stdbool.h>
#include <stdint.h>

#include "extender_protocol.h"
#include "fuzz_common.h"
#include "numafit/topology_json.h"

static const char topo_text[] =
    "{\"apiVersion\":\"numafit.io/v1\",\"kind\":\"NodeTopology\",\"node\":\"%s\",\"generation\":1,"
    "\"kubelet\":{\"cpuManagerPolicy\":\"static\",\"topologyManagerPolicy\":\"single-numa-node\","
    "\"topologyManagerScope\":\"%s\",\"memoryManagerPolicy\":\"Static\"},"
    "\"sockets\":[{\"id\":0,\"numaNodes\":[0,1]}],\"numaNodes\":["
    "{\"id\":0,\"socket\":0,\"resources\":{\"cpu\":{\"capacity\":24,\"allocatable\":22,"
    "\"available\":%d},\"memory\":{\"capacity\":68719476736,\"allocatable\":64424509440,"
    "\"available\":32212254720},\"hugepages-1Gi\":{\"capacity\":17179869184,\"allocatable\":"
    "17179869184,\"available\":12884901888},\"intel.com/intel_sriov_dpdk\":{\"capacity\":8,"
    "\"allocatable\":8,\"available\":6,\"usable\":5}}},"
    "{\"id\":1,\"socket\":0,\"resources\":{\"cpu\":{\"capacity\":24,\"allocatable\":24,"
    "\"available\":4},\"hugepages-2Mi\":{\"capacity\":1073741824,\"allocatable\":1073741824,"
    "\"available\":1073741824},\"intel.com/sriov\":{\"capacity\":4,\"allocatable\":4,"
    "\"available\":4}}}]}";

static nf_topology topos[2];
static int n_topos;

typedef struct ctx {
    int acquired, released;
} ctx;

static void init_topologies(void)
{
    if (n_topos)
        return;
    static const struct {
        const char *name, *scope;
        int cpu;
    } spec[] = {{"worker-1", "pod", 14}, {"worker-2", "container", 2}};
    for (int i = 0; i < 2; i++) {
        char buf[sizeof(topo_text) + 64];
        int n = snprintf(buf, sizeof(buf), topo_text, spec[i].name, spec[i].scope, spec[i].cpu);
        nf_err err;
        if (nf_topology_parse(buf, (size_t)n, &topos[i], &err)) {
            fprintf(stderr, "fuzz_extender_args: fixed topology: %s\n", err.msg);
            abort();
        }
    }
    n_topos = 2;
}

static const nf_topology *acq(void *c, const char *node, void **handle, char *why, size_t len)
{
    for (int i = 0; i < n_topos; i++) {
        if (strcmp(topos[i].node, node) == 0) {
            ((ctx *)c)->acquired++;
            *handle = &topos[i];
            return &topos[i];
        }
    }
    snprintf(why, len, "no topology for this node");
    return NULL;
}

static void rel(void *c, void *handle)
{
    NF_FUZZ_CHECK(handle != NULL, "release of a NULL handle");
    ((ctx *)c)->released++;
}

static bool asked(const nf_extender_args *a, const char *name)
{
    for (size_t i = 0; i < a->n_nodes; i++)
        if (strcmp(a->nodes[i].name, name) == 0)
            return true;
    return false;
}

static bool distinct(const nf_extender_args *a)
{
    for (size_t i = 0; i < a->n_nodes; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->nodes[i].name, a->nodes[j].name) == 0)
                return false;
    return true;
}

static const char *item_name(const json_t *node)
{
    return json_string_value(nf_json_iget(nf_json_iget(node, "metadata"), "name"));
}

/* Filter answer, checked for shape; returned loaded. */
static json_t *filter(const nf_extender_args *a, const nf_fit_opts *o, bool pass_missing)
{
    ctx c = {0};
    nf_topology_source src = {
        .acquire = acq, .release = rel, .ctx = &c, .pass_missing = pass_missing};
    char *text = NULL;
    size_t len = 0;
    NF_FUZZ_CHECK(nf_extender_filter_text(a, &src, o, &text, &len) == 0, "filter failed");
    NF_FUZZ_CHECK(c.acquired == c.released, "filter: %d acquired, %d released", c.acquired,
                  c.released);
    NF_FUZZ_CHECK(text && strlen(text) == len, "filter: length %zu for %zu bytes", len,
                  text ? strlen(text) : 0);
    json_error_t je;
    json_t *r = json_loadb(text, len, 0, &je);
    NF_FUZZ_CHECK(r != NULL, "filter answer is not JSON (%s): %s", je.text, text);
    json_t *names = json_object_get(r, "NodeNames"), *nodes = json_object_get(r, "Nodes");
    json_t *failed = json_object_get(r, "FailedNodes");
    json_t *unres = json_object_get(r, "FailedAndUnresolvableNodes");
    json_t *error = json_object_get(r, "Error");
    NF_FUZZ_CHECK(json_is_object(failed) && json_is_object(unres) && json_is_string(error) &&
                      names && nodes,
                  "filter answer shape: %s", text);
    size_t passed = 0;
    json_t *v;
    size_t i;
    if (a->names_mode) {
        NF_FUZZ_CHECK(json_is_array(names) && json_is_null(nodes), "names mode answer: %s", text);
        json_array_foreach(names, i, v)
            NF_FUZZ_CHECK(json_is_string(v) && asked(a, json_string_value(v)),
                          "answer names a node not asked about: %s", text);
        passed = json_array_size(names);
    } else {
        json_t *items = json_object_get(nodes, "items");
        NF_FUZZ_CHECK(json_is_null(names) && json_is_array(items), "NodeList mode answer: %s",
                      text);
        json_array_foreach(items, i, v) NF_FUZZ_CHECK(
            item_name(v) && asked(a, item_name(v)), "answer has a node not asked about: %s", text);
        passed = json_array_size(items);
    }
    const char *k;
    json_object_foreach(failed, k, v)
        NF_FUZZ_CHECK(asked(a, k) && json_is_string(v), "FailedNodes: %s", text);
    json_object_foreach(unres, k, v)
        NF_FUZZ_CHECK(asked(a, k) && json_is_string(v), "FailedAndUnresolvableNodes: %s", text);
    if (distinct(a))
        NF_FUZZ_CHECK(passed + json_object_size(failed) + json_object_size(unres) == a->n_nodes,
                      "%zu nodes asked, answer accounts for %zu+%zu+%zu: %s", a->n_nodes, passed,
                      json_object_size(failed), json_object_size(unres), text);
    free(text);
    return r;
}

static json_t *prioritize(const nf_extender_args *a, const nf_fit_opts *o, bool pass_missing)
{
    ctx c = {0};
    nf_topology_source src = {
        .acquire = acq, .release = rel, .ctx = &c, .pass_missing = pass_missing};
    char *text = NULL;
    size_t len = 0;
    NF_FUZZ_CHECK(nf_extender_prioritize_text(a, &src, o, &text, &len) == 0, "prioritize failed");
    NF_FUZZ_CHECK(c.acquired == c.released, "prioritize: %d acquired, %d released", c.acquired,
                  c.released);
    NF_FUZZ_CHECK(text && strlen(text) == len, "prioritize: bad length");
    json_error_t je;
    json_t *r = json_loadb(text, len, 0, &je);
    NF_FUZZ_CHECK(r != NULL, "prioritize answer is not JSON (%s): %s", je.text, text);
    NF_FUZZ_CHECK(json_is_array(r) && json_array_size(r) == a->n_nodes,
                  "prioritize: %zu nodes asked: %s", a->n_nodes, text);
    for (size_t i = 0; i < a->n_nodes; i++) {
        json_t *e = json_array_get(r, i);
        json_t *host = json_object_get(e, "Host"), *score = json_object_get(e, "Score");
        NF_FUZZ_CHECK(json_is_string(host) &&
                          strcmp(json_string_value(host), a->nodes[i].name) == 0,
                      "prioritize entry %zu is not node %s: %s", i, a->nodes[i].name, text);
        NF_FUZZ_CHECK(json_is_integer(score) && json_integer_value(score) >= 0 &&
                          json_integer_value(score) <= 10,
                      "prioritize score out of 0..10: %s", text);
    }
    free(text);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_topologies();
    const char *body = (const char *)data;
    nf_extender_args d, s;
    nf_err derr = {{0}}, serr = {{0}};
    int drc = nf_extender_args_decode(body, size, &d, &derr);
    nf_arena arena; /* as the server scans (and ASan still sees overflows inside it) */
    nf_arena_init(&arena, NULL);
    int src = nf_extender_args_scan(body, size, &arena, &s, &serr);
    NF_FUZZ_CHECK(drc == src, "decode rc %d (%s), scan rc %d (%s)", drc, derr.msg, src, serr.msg);
    if (drc) {
        NF_FUZZ_CHECK(drc < 0 && derr.msg[0], "decode rc %d without a message", drc);
        NF_FUZZ_CHECK(strcmp(derr.msg, serr.msg) == 0, "messages differ:\n%s\n%s", derr.msg,
                      serr.msg);
        NF_FUZZ_CHECK(nf_fuzz_zero(&d, sizeof(d)) && nf_fuzz_zero(&s, sizeof(s)),
                      "failed decode left data behind");
        nf_arena_free(&arena);
        return 0;
    }
    NF_FUZZ_CHECK(d.names_mode == s.names_mode && d.n_nodes == s.n_nodes,
                  "decode: names_mode %d, %zu nodes; scan: names_mode %d, %zu nodes", d.names_mode,
                  d.n_nodes, s.names_mode, s.n_nodes);
    for (size_t i = 0; i < d.n_nodes; i++)
        NF_FUZZ_CHECK(strcmp(d.nodes[i].name, s.nodes[i].name) == 0, "node %zu: %s vs %s", i,
                      d.nodes[i].name, s.nodes[i].name);
    NF_FUZZ_CHECK(d.req.aligned == s.req.aligned && d.req.qos == s.req.qos,
                  "decode and scan read the pod differently");

    nf_fit_opts o = {.align = size & 1 ? NF_ALIGN_SOCKET : NF_ALIGN_NUMA,
                     .strategy = (nf_strategy)(size % 3)};
    bool pass_missing = (size & 2) != 0;
    json_t *fd = filter(&d, &o, pass_missing), *fs = filter(&s, &o, pass_missing);
    if (!json_equal(fd, fs)) {
        char *a = json_dumps(fd, JSON_COMPACT), *b = json_dumps(fs, JSON_COMPACT);
        NF_FUZZ_CHECK(0, "filter answers differ:\ndecode %s\nscan   %s", a, b);
    }
    json_t *pd = prioritize(&d, &o, pass_missing), *ps = prioritize(&s, &o, pass_missing);
    NF_FUZZ_CHECK(json_equal(pd, ps), "prioritize answers differ");
    json_decref(fd);
    json_decref(fs);
    json_decref(pd);
    json_decref(ps);
    nf_extender_args_free(&d);
    nf_extender_args_free(&s);
    NF_FUZZ_CHECK(nf_fuzz_zero(&d, sizeof(d)) && nf_fuzz_zero(&s, sizeof(s)),
                  "free left data behind");
    nf_arena_free(&arena);
    return 0;
}
