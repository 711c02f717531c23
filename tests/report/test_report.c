/* The capacity report on the hand-checked fixtures of tests/report/data (README.md there shows
 * every number worked out): counts, limits, stranded amounts, socket alignment, the what-if,
 * and the table / CSV / JSON forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/fileio.h"
#include "numafit/topology_json.h"
#include "report.h"
#include "report_render.h"
#include "testutil.h"

#define GI ((int64_t)1 << 30)
#define SHAPE "cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1"
#define VF "intel.com/sriov"

static nf_topology topo_a, topo_b, topo_c;

static void load(const char *name, nf_topology *t)
{
    const char *path = nft_path(NF_SOURCE_DIR "/tests/report/data", name);
    size_t len;
    nf_err err = {{0}};
    char *text = nft_read(path, &len);
    if (nf_topology_parse(text, len, t, &err))
        fail_msg("%s: %s", path, err.msg);
    free(text);
}

static int setup(void **state)
{
    load("worker-a.json", &topo_a);
    load("worker-b.json", &topo_b);
    load("worker-c-nopolicy.json", &topo_c);
    return 0;
}

static int teardown(void **state)
{
    nf_topology_free(&topo_a);
    nf_topology_free(&topo_b);
    nf_topology_free(&topo_c);
    return 0;
}

static char *render(const nf_report *r, nf_report_format f);

/* A computed report over the given nodes (added in this order) with one shape. */
static nf_report *report(nf_align align, int64_t add, const char *shape, const nf_topology **t,
                         size_t n)
{
    nf_report *r;
    nf_report_opts o = {.fit = {.align = align}, .add_pods = add};
    nf_err err = {{0}};
    assert_int_equal(nf_report_new(&o, &r), 0);
    if (nf_report_add_shape_text(r, shape, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(nf_report_add_node(r, t[i]), 0);
    if (nf_report_compute(r, &err))
        fail_msg("%s", err.msg);
    return r;
}

static int64_t amount(const nf_amount *a, size_t n, const char *name)
{
    int i = nf_report_amount_index(a, n, name);
    if (i < 0)
        fail_msg("no amount %s", name);
    return a[i].value;
}

static const nf_node_count *node(const nf_report *r, size_t shape, const char *name)
{
    for (size_t i = 0; i < r->n_nodes; i++)
        if (strcmp(r->nodes[i].name, name) == 0)
            return &r->shapes[shape].nodes[i];
    fail_msg("no node %s", name);
    return NULL;
}

static void test_numa_counts(void **state)
{
    const nf_topology *in[] = {&topo_b, &topo_a}; /* sorted by name in the report */
    nf_report *r = report(NF_ALIGN_NUMA, 0, SHAPE, in, 2);
    assert_int_equal(r->n_nodes, 2);
    assert_string_equal(r->nodes[0].name, "worker-a");
    assert_int_equal(r->n_numa, 4);
    const nf_report_shape *s = &r->shapes[0];
    assert_string_equal(s->label, SHAPE);
    assert_int_equal(s->n_request, 3);
    assert_string_equal(s->request[0].name, "cpu");
    assert_string_equal(s->request[1].name, "hugepages-1Gi");
    assert_string_equal(s->request[2].name, VF);

    /* worker-a: numa0 fits 3 (cpu 14/4, hugepages 12Gi/4Gi, VFs 6: ties go to cpu), numa1 fits
     * 0 because it has no VF; its 20 free CPUs and 8Gi of hugepages are stranded */
    const nf_node_count *a = node(r, 0, "worker-a");
    assert_int_equal(a->fits, 3);
    assert_int_equal(a->n_zones, 2);
    assert_int_equal(a->zones[0].id, 0);
    assert_int_equal(a->zones[0].fits, 3);
    assert_string_equal(a->zones[0].limited_by, "cpu");
    assert_int_equal(a->zones[1].id, 1);
    assert_int_equal(a->zones[1].fits, 0);
    assert_string_equal(a->zones[1].limited_by, VF);
    assert_int_equal(amount(a->zones[1].stranded, a->zones[1].n_stranded, "cpu"), 20);
    assert_int_equal(amount(a->zones[1].stranded, a->zones[1].n_stranded, "hugepages-1Gi"), 8 * GI);
    assert_int_equal(amount(a->zones[1].stranded, a->zones[1].n_stranded, VF), 0);
    assert_int_equal(amount(a->stranded, a->n_stranded, "cpu"), 22);        /* 2 + 20 */
    assert_int_equal(amount(a->stranded, a->n_stranded, VF), 3);            /* 6 - 3 */
    assert_int_equal(amount(a->free, a->n_free, "cpu"), 34);                /* 14 + 20 */
    assert_int_equal(amount(a->free, a->n_free, "hugepages-1Gi"), 20 * GI); /* 12 + 8 */

    /* worker-b: numa0 has no free VF, numa1 only 2 CPUs */
    const nf_node_count *b = node(r, 0, "worker-b");
    assert_int_equal(b->fits, 0);
    assert_string_equal(b->zones[0].limited_by, VF);
    assert_string_equal(b->zones[1].limited_by, "cpu");

    /* cluster */
    assert_int_equal(s->total, 3);
    assert_int_equal(s->nodes_with_room, 1);
    assert_int_equal(amount(s->free, s->n_free, "cpu"), 42);
    assert_int_equal(amount(s->stranded, s->n_free, "cpu"), 30);
    assert_int_equal(amount(s->stranded, s->n_free, "hugepages-1Gi"), 20 * GI);
    assert_int_equal(amount(s->stranded, s->n_free, VF), 5);
    assert_int_equal(amount(s->free, s->n_free, VF), 8);

    /* totals: every resource of every NUMA node, memory too */
    assert_int_equal(r->n_totals, 4);
    assert_string_equal(r->totals[0].name, "cpu");
    assert_int_equal(r->totals[0].allocatable, 22 + 24 + 8 + 8);
    assert_int_equal(r->totals[0].free, 42);
    assert_string_equal(r->totals[1].name, "memory");
    assert_int_equal(r->totals[1].free, 90 * GI);
    nf_report_free(r);
}

static void test_socket_alignment(void **state)
{
    const nf_topology *in[] = {&topo_a, &topo_b};
    nf_report *r = report(NF_ALIGN_SOCKET, 0, SHAPE, in, 2);
    /* worker-b's socket 0 sums its NUMA nodes: cpu 8 -> 2, hugepages 12Gi -> 3, VFs 2 -> 2 */
    const nf_node_count *b = node(r, 0, "worker-b");
    assert_int_equal(b->n_zones, 1);
    assert_int_equal(b->zones[0].id, 0);
    assert_int_equal(b->zones[0].fits, 2);
    assert_string_equal(b->zones[0].limited_by, "cpu");
    assert_int_equal(amount(b->stranded, b->n_stranded, "hugepages-1Gi"), 4 * GI);
    assert_int_equal(amount(b->stranded, b->n_stranded, "cpu"), 0);
    /* worker-a has one NUMA node per socket: the same as with numa */
    assert_int_equal(node(r, 0, "worker-a")->fits, 3);
    assert_int_equal(r->shapes[0].total, 5);
    assert_int_equal(r->shapes[0].nodes_with_room, 2);
    /* the heatmap stays per NUMA node */
    assert_int_equal(r->n_numa, 4);
    nf_report_free(r);
}

static void test_policy_and_duplicates(void **state)
{
    const nf_topology *in[] = {&topo_c, &topo_a, &topo_c};
    nf_report *r = report(NF_ALIGN_NUMA, 0, SHAPE, in, 3);
    assert_int_equal(r->n_nodes, 2);
    assert_int_equal(r->n_skipped, 1);
    assert_string_equal(r->skipped[0].node, "worker-c");
    const nf_node_count *c = node(r, 0, "worker-c");
    assert_int_equal(c->fits, 0);
    assert_string_equal(c->zones[0].limited_by, "cpuManagerPolicy");
    assert_int_equal(amount(c->stranded, c->n_stranded, "cpu"), 8);
    assert_int_equal(r->shapes[0].total, 3);
    nf_report_free(r);
}

static void test_add_pods(void **state)
{
    const nf_topology *in[] = {&topo_a, &topo_b};
    /* only worker-a numa0 holds a pod under numa alignment: 2 placed there leave 1 */
    nf_report *r = report(NF_ALIGN_NUMA, 2, SHAPE, in, 2);
    const nf_report_shape *s = &r->shapes[0];
    assert_int_equal(s->placed, 2);
    assert_null(s->note);
    assert_int_equal(s->n_placements, 2);
    assert_string_equal(r->nodes[s->placements[0].node].name, "worker-a");
    assert_int_equal(s->placements[1].zone, 0);
    assert_int_equal(s->total, 1);
    const nf_node_count *a = node(r, 0, "worker-a");
    assert_int_equal(amount(a->zones[0].free, a->zones[0].n_free, "cpu"), 6);
    assert_int_equal(amount(a->zones[0].free, a->zones[0].n_free, VF), 4);
    /* the inputs are untouched */
    assert_int_equal(nf_numa_resource(&topo_a.numa_nodes[0], "cpu")->available, 14);
    assert_int_equal(topo_a.numa_nodes[0].cpus.free_full_cores, 14);
    /* the heatmap sees the what-if: worker-a numa0 has 6 of 22 CPUs left */
    assert_int_equal(nf_zone_get(&r->nodes[0].numa[0], "cpu", 0), 6);
    nf_report_free(r);

    /* 5 asked, 3 fit: a note says so */
    r = report(NF_ALIGN_NUMA, 5, SHAPE, in, 2);
    s = &r->shapes[0];
    assert_int_equal(s->placed, 3);
    assert_non_null(s->note);
    assert_non_null(strstr(s->note, "no node fits pod 4 of the shape"));
    assert_null(strstr(s->note, "placed")); /* the table says "placed 3 of 5" once, not twice */
    assert_int_equal(s->total, 0);
    char *text = render(r, NF_REPORT_TABLE);
    const char *first = strstr(text, "placed 3 of 5");
    assert_non_null(first);
    assert_null(strstr(first + 1, "placed 3 of 5"));
    free(text);
    nf_report_free(r);

    /* per socket: 3 on worker-a and 2 on worker-b, taken from worker-b's NUMA nodes in order */
    r = report(NF_ALIGN_SOCKET, 5, SHAPE, in, 2);
    s = &r->shapes[0];
    assert_int_equal(s->placed, 5);
    assert_int_equal(s->total, 0);
    const nf_report_node *b = &r->nodes[1];
    assert_string_equal(b->name, "worker-b");
    assert_int_equal(nf_zone_get(&b->numa[0], "cpu", 0), 0);
    assert_int_equal(nf_zone_get(&b->numa[1], "cpu", 0), 0);
    assert_int_equal(nf_zone_get(&b->numa[0], "hugepages-1Gi", 0), 0);
    assert_int_equal(nf_zone_get(&b->numa[1], "hugepages-1Gi", 0), 4 * GI);
    assert_int_equal(nf_zone_get(&b->numa[1], VF, 0), 0);
    nf_report_free(r);
}

static void test_bad_inputs(void **state)
{
    nf_report *r;
    nf_err err = {{0}};
    assert_int_equal(nf_report_new(NULL, &r), 0);
    assert_int_equal(nf_report_add_shape_text(r, "cpu=4,,intel.com/sriov=1", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "empty item"));
    assert_int_equal(nf_report_add_shape_text(r, "cpu=four", &err), -EINVAL);
    assert_int_equal(nf_report_add_shape_text(r, "ephemeral-storage=1Gi", &err), -EINVAL);
    assert_int_equal(nf_report_compute(r, &err), -EINVAL); /* no shape */
    assert_non_null(strstr(err.msg, "no shape"));
    nf_report_free(r);
    /* not computed: nothing to render */
    char *out;
    size_t len;
    assert_int_equal(nf_report_new(NULL, &r), 0);
    assert_int_equal(nf_report_render(r, NF_REPORT_JSON, &out, &len), -EINVAL);
    nf_report_free(r);
    nf_report_format f;
    assert_int_equal(nf_report_format_parse("yaml", &f), -EINVAL);
    assert_int_equal(nf_report_format_parse("csv", &f), 0);
    assert_int_equal(f, NF_REPORT_CSV);
}

/* noinline: inlined, GCC 12 (-O2) takes the text for a pointer to the local `out` and warns
 * -Wdangling-pointer on every strstr into it */
static __attribute__((noinline)) char *render(const nf_report *r, nf_report_format f)
{
    char *out = NULL;
    size_t len;
    assert_int_equal(nf_report_render(r, f, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

static void test_json(void **state)
{
    const nf_topology *in[] = {&topo_a, &topo_b};
    nf_report *r = report(NF_ALIGN_NUMA, 1, SHAPE, in, 2);
    char *text = render(r, NF_REPORT_JSON);
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "align")), "numa");
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "CapacityReport");
    assert_int_equal(json_integer_value(json_object_get(doc, "nodeCount")), 2);
    assert_int_equal(json_integer_value(json_object_get(doc, "addPods")), 1);
    json_t *cpu = json_object_get(json_object_get(doc, "totals"), "cpu");
    assert_int_equal(json_integer_value(json_object_get(cpu, "allocatable")), 62);
    assert_int_equal(json_integer_value(json_object_get(cpu, "free")), 38); /* 42 - 4 */
    json_t *s = json_array_get(json_object_get(doc, "shapes"), 0);
    assert_string_equal(json_string_value(json_object_get(s, "shape")), SHAPE);
    assert_int_equal(json_integer_value(json_object_get(s, "total")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(s, "requests"), "hugepages-1Gi")),
        4 * GI);
    json_t *stranded = json_object_get(s, "stranded");
    assert_int_equal(json_integer_value(json_object_get(stranded, "cpu")), 30);
    /* strandedShare: 30 of 38 free CPUs */
    double share = json_real_value(json_object_get(json_object_get(s, "strandedShare"), "cpu"));
    assert_true(share > 0.789 && share < 0.790);
    json_t *added = json_object_get(s, "added");
    assert_int_equal(json_integer_value(json_object_get(added, "placed")), 1);
    json_t *p0 = json_array_get(json_object_get(added, "placements"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "node")), "worker-a");
    json_t *n0 = json_array_get(json_object_get(s, "nodes"), 0);
    assert_string_equal(json_string_value(json_object_get(n0, "node")), "worker-a");
    assert_int_equal(json_integer_value(json_object_get(n0, "fits")), 2);
    json_t *z1 = json_array_get(json_object_get(n0, "zones"), 1);
    assert_int_equal(json_integer_value(json_object_get(z1, "id")), 1);
    assert_int_equal(json_integer_value(json_object_get(z1, "fits")), 0);
    assert_string_equal(json_string_value(json_object_get(z1, "limitedBy")), VF);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(z1, "stranded"), "cpu")),
                     20);
    json_decref(doc);
    free(text);
    nf_report_free(r);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Issue 12: a node publishing INT64_MAX is skipped with a reason naming the amount; big but
 * believable amounts over many nodes saturate the cluster sums instead of failing the report. */
static void test_absurd_amounts(void **state)
{
    (void)state;
    char *text = nft_read(nft_path(NF_SOURCE_DIR "/tests/report/data", "worker-b.json"), NULL);
    nf_err err = {{0}};
    enum { N = 1030 }; /* 1030 * 2^53 > INT64_MAX */
    nf_topology *t = calloc(N + 1, sizeof(*t));
    const nf_topology **in = calloc(N + 1, sizeof(*in));
    for (size_t i = 0; i <= N; i++) {
        if (nf_topology_parse(text, strlen(text), &t[i], &err))
            fail_msg("%s", err.msg);
        free(t[i].node);
        assert_true(asprintf(&t[i].node, "worker-%04zu", i) > 0);
        nf_resource *hp = nf_numa_resource(&t[i].numa_nodes[1], "hugepages-1Gi");
        hp->capacity = hp->allocatable = hp->available = NF_REPORT_MAX_AMOUNT;
        in[i] = &t[i];
    }
    nf_resource *cpu = nf_numa_resource(&t[N].numa_nodes[0], "cpu");
    cpu->available = INT64_MAX;

    nf_report *r = report(NF_ALIGN_NUMA, 0, "cpu=2,hugepages-1Gi=1Gi", in, N + 1);
    assert_int_equal(r->n_nodes, N);
    assert_int_equal(r->n_skipped, 1);
    assert_string_equal(r->skipped[0].node, "worker-1030");
    assert_string_equal(r->skipped[0].reason,
                        "numa0 resources[cpu].available = 9223372036854775807 is not a believable "
                        "amount (over 2^53): node not counted");
    const nf_report_shape *s = &r->shapes[0];
    assert_int_equal(amount(s->free, s->n_free, "hugepages-1Gi"), INT64_MAX);
    assert_int_equal(s->total, (int64_t)N * 4); /* worker-b: 3 on numa0 (6 CPUs), 1 on numa1 */
    bool saw = false;
    for (size_t i = 0; i < r->n_totals; i++)
        if (strcmp(r->totals[i].name, "hugepages-1Gi") == 0) {
            assert_int_equal(r->totals[i].allocatable, INT64_MAX);
            saw = true;
        }
    assert_true(saw);
    char *out = render(r, NF_REPORT_JSON);
    assert_non_null(strstr(out, "not a believable amount"));
    free(out);
    nf_report_free(r);
    for (size_t i = 0; i <= N; i++)
        nf_topology_free(&t[i]);
    free(t);
    free(in);
    free(text);
}

/* --align kubelet on a best-effort node: a what-if pod that spans both NUMA nodes takes from
 * both, lowest id first (worker-b: 6 and 2 CPUs free). */
static void test_kubelet_what_if(void **state)
{
    (void)state;
    char *text = nft_read(nft_path(NF_SOURCE_DIR "/tests/report/data", "worker-b.json"), NULL);
    nf_topology t;
    nf_err err = {{0}};
    if (nf_topology_parse(text, strlen(text), &t, &err))
        fail_msg("%s", err.msg);
    free(text);
    assert_int_equal(nf_strset(&t.kubelet.topology_manager_policy, "best-effort"), 0);
    const nf_topology *in[] = {&t};
    nf_report *r = report(NF_ALIGN_KUBELET, 1, "cpu=7", in, 1);
    const nf_report_shape *s = &r->shapes[0];
    assert_int_equal(s->placed, 1);
    assert_int_equal(s->placements[0].zone, 0);
    const nf_node_count *c = &s->nodes[0];
    assert_int_equal(c->n_zones, 2);
    assert_int_equal(amount(c->zones[0].free, c->zones[0].n_free, "cpu"), 0);
    assert_int_equal(amount(c->zones[1].free, c->zones[1].n_free, "cpu"), 1);
    nf_report_free(r);
    nf_topology_free(&t);
}

static void test_csv(void **state)
{
    const nf_topology *in[] = {&topo_a, &topo_b};
    nf_report *r;
    nf_report_opts o = {.fit = {.align = NF_ALIGN_NUMA}};
    nf_err err = {{0}};
    assert_int_equal(nf_report_new(&o, &r), 0);
    assert_int_equal(nf_report_add_shape_text(r, SHAPE, &err), 0);
    assert_int_equal(nf_report_add_shape_text(r, "cpu=2, memory=1Gi", &err), 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(nf_report_add_node(r, in[i]), 0);
    assert_int_equal(nf_report_compute(r, &err), 0);
    char *text = render(r, NF_REPORT_CSV);
    /* header + 2 shapes x (2 + 2 zones); memory is not aligned on these nodes (Memory Manager
     * None), so "cpu=2,memory=1Gi" counts cpu only */
    assert_int_equal(count_lines(text), 1 + 2 * 4);
    const char *header = "shape,node,zone,fits,limited_by,free:cpu,stranded:cpu,free:memory,"
                         "stranded:memory,free:hugepages-1Gi,stranded:hugepages-1Gi,"
                         "free:intel.com/sriov,stranded:intel.com/sriov\r\n";
    assert_memory_equal(text, header, strlen(header));
    /* a tie names every resource that limits the zone (cpu 14/4 = hugepages 12Gi/4Gi = 3) */
    assert_non_null(strstr(
        text, "\"" SHAPE "\",worker-a,0,3,\"cpu, hugepages-1Gi\",14,2,,,12884901888,0,6,3\r\n"));
    assert_non_null(strstr(
        text, "\"" SHAPE "\",worker-a,1,0,intel.com/sriov,20,20,,,8589934592,8589934592,0,0\r\n"));
    assert_non_null(strstr(text, "\"cpu=2,memory=1Gi\",worker-b,1,1,cpu,2,0,,,,,,\r\n"));
    free(text);

    text = render(r, NF_REPORT_TABLE);
    assert_non_null(strstr(text, "numafit capacity report: 2 nodes, 4 NUMA nodes, align numa"));
    const char *hdr = strstr(text, "NODE");
    assert_non_null(hdr);
    /* the columns of the header line, in order, and aligned with the rows below */
    const char *cols[] = {"ZONE", "FITS", "LIMITED BY", "FREE", "STRANDED"};
    const char *p = hdr;
    for (size_t k = 0; k < 5; k++) {
        const char *q = strstr(p, cols[k]);
        assert_non_null(q);
        assert_true(q < strchr(hdr, '\n'));
        p = q;
    }
    size_t zone_col = (size_t)(strstr(hdr, "ZONE") - hdr);
    const char *row = strstr(text, "worker-a");
    assert_non_null(row);
    assert_memory_equal(row + zone_col, "numa0", 5);
    assert_non_null(strstr(text, "cpu=20 hugepages-1Gi=8Gi intel.com/sriov=0"));
    assert_non_null(strstr(text, "3  cpu, hugepages-1Gi  cpu=14"));
    assert_non_null(strstr(text, "total: 3 pods fit on 1 of 2 nodes"));
    assert_non_null(strstr(text, "cpu 30 of 42 free (71.4%)"));
    free(text);
    nf_report_free(r);
}

/* Issue 12's report nits: a memory-only NUMA node says "no CPUs", memory in binary units, and
 * the JSON keeps limitedBy (the first) beside limits (all of a tie). */
static void test_nits(void **state)
{
    nf_topology d;
    load("worker-d-memonly.json", &d);
    const nf_topology *in[] = {&d, &topo_a};
    nf_report *r = report(NF_ALIGN_NUMA, 0, "cpu=2,memory=1Gi", in, 2);
    const nf_report_shape *s = &r->shapes[0];
    assert_string_equal(r->nodes[1].name, "worker-d");
    const nf_node_count *c = &s->nodes[1];
    assert_int_equal(c->n_zones, 2);
    assert_int_equal(c->zones[0].fits, 7);
    assert_int_equal(c->zones[1].fits, 0);
    char lim[128];
    assert_string_equal(nf_report_zone_limits(r, 0, 1, 0, lim, sizeof(lim)), "cpu");
    assert_string_equal(nf_report_zone_limits(r, 0, 1, 1, lim, sizeof(lim)), "no CPUs");
    char *text = render(r, NF_REPORT_TABLE);
    assert_non_null(strstr(text, "no CPUs"));
    assert_null(strstr(text, "limited by cpu"));
    assert_non_null(strstr(text, "memory=980Gi"));
    assert_null(strstr(text, "1027532504Ki"));
    assert_non_null(strstr(text, "memory=64Gi")); /* exact amounts stay exact */
    free(text);
    text = render(r, NF_REPORT_JSON);
    assert_non_null(strstr(text, "\"limitedBy\":\"cpu\",\"limits\":\"no CPUs\""));
    free(text);
    nf_report_free(r);
    /* the HTML bar of a node that holds none says why, zone by zone */
    r = report(NF_ALIGN_NUMA, 0, "cpu=16,memory=1Gi", in, 2);
    text = render(r, NF_REPORT_HTML);
    assert_non_null(strstr(text, "0: numa0 limited by cpu; numa1 no CPUs"));
    free(text);
    nf_report_free(r);
    nf_topology_free(&d);

    const nf_topology *a[] = {&topo_a};
    r = report(NF_ALIGN_NUMA, 0, SHAPE, a, 1);
    assert_string_equal(r->shapes[0].nodes[0].zones[0].limited_by, "cpu");
    assert_string_equal(nf_report_zone_limits(r, 0, 0, 0, lim, sizeof(lim)), "cpu, hugepages-1Gi");
    text = render(r, NF_REPORT_JSON);
    assert_non_null(strstr(text, "\"limitedBy\":\"cpu\",\"limits\":\"cpu, hugepages-1Gi\""));
    free(text);
    nf_report_free(r);
}

/* An unknown resource name in a shape is an error that says what was probably meant. */
static void test_shape_suggestions(void **state)
{
    static const struct {
        const char *shape, *want;
    } cases[] = {
        {"cpu=4,hugepages-1G=4Gi", "unknown resource hugepages-1G (did you mean hugepages-1Gi?)"},
        {"cpu=4,hugepages-2M=4Mi", "did you mean hugepages-2Mi?"},
        {"cpu=4,hugepages-1073741824=1Gi", "did you mean hugepages-1Gi?"},
        {"cpu=4,hugepages-big=1Gi", "did you mean hugepages-2Mi or hugepages-1Gi?"},
        {"cpus=4", "unknown resource cpus (did you mean cpu?)"},
        {" cpu=4 , mem=1Gi", "did you mean memory?"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_report *r;
        nf_err err = {{0}};
        assert_int_equal(nf_report_new(NULL, &r), 0);
        assert_int_equal(nf_report_add_shape_text(r, cases[i].shape, &err), -EINVAL);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("%s: %s", cases[i].shape, err.msg);
        nf_report_free(r);
    }
    char name[32];
    nf_pod_req req;
    nf_err err = {{0}};
    assert_int_equal(
        nf_report_named_shape_parse("upf=cpu=2,hugepages-1G=1Gi", name, sizeof(name), &req, &err),
        -EINVAL);
    assert_non_null(strstr(err.msg, "did you mean hugepages-1Gi?"));
    /* known names still parse: devices, both hugepage sizes */
    assert_int_equal(nf_report_named_shape_parse(
                         "upf=cpu=2,hugepages-2Mi=4Mi,hugepages-1Gi=1Gi,intel.com/sriov=1", name,
                         sizeof(name), &req, &err),
                     0);
    nf_pod_req_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numa_counts),
        cmocka_unit_test(test_socket_alignment),
        cmocka_unit_test(test_policy_and_duplicates),
        cmocka_unit_test(test_add_pods),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_absurd_amounts),
        cmocka_unit_test(test_kubelet_what_if),
        cmocka_unit_test(test_nits),
        cmocka_unit_test(test_shape_suggestions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
