/* bench_report.c - the capacity report for a large cluster, single thread: 5,000 nodes x 8 NUMA
 * nodes (2 sockets), 3 shapes; time of the count (nf_report_compute) and of each format, and RSS.
 * usage: bench_report [NODES] [ADD_PODS] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "numafit/clock.h"
#include "numafit/topology_json.h"
#include "report.h"
#include "report_render.h"

#define GI ((json_int_t)1 << 30)

static double now_ms(void)
{
    return (double)nf_mono_ns() / 1e6;
}

static long rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0)
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* A node as the exporter publishes it (resources per NUMA node, CPU core counts), with a
 * deterministic spread of use so that counts, limits and stranded amounts vary. */
static json_t *node_doc(int i)
{
    json_t *numa = json_array(), *sockets = json_array();
    for (int s = 0; s < 2; s++)
        json_array_append_new(sockets, json_pack("{s:i, s:[iiii]}", "id", s, "numaNodes", 4 * s,
                                                 4 * s + 1, 4 * s + 2, 4 * s + 3));
    for (int z = 0; z < 8; z++) {
        int used = (i * 7 + z * 3) % 11;
        json_t *res = json_pack(
            "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "cpu",
            "capacity", (json_int_t)24, "allocatable", (json_int_t)22, "available",
            (json_int_t)(22 - 2 * used), "memory", "capacity", 64 * GI, "allocatable", 62 * GI,
            "available", (json_int_t)(62 - 3 * used) * GI, "hugepages-1Gi", "capacity", 16 * GI,
            "allocatable", 16 * GI, "available", (json_int_t)(16 - used) * GI, "hugepages-2Mi",
            "capacity", 2 * GI, "allocatable", 2 * GI, "available", 2 * GI);
        if ((i + z) % 4)
            json_object_set_new(res, "intel.com/sriov",
                                json_pack("{s:I, s:I, s:I}", "capacity", (json_int_t)16,
                                          "allocatable", (json_int_t)16, "available",
                                          (json_int_t)(16 - used)));
        char online[64];
        snprintf(online, sizeof(online), "%d-%d,%d-%d", z * 12, z * 12 + 11, 96 + z * 12,
                 96 + z * 12 + 11);
        json_array_append_new(numa,
                              json_pack("{s:i, s:i, s:{s:s, s:i, s:i}, s:o}", "id", z, "socket",
                                        z / 4, "cpus", "online", online, "threadsPerCore", 2,
                                        "freeFullCores", 11 - used, "resources", res));
    }
    char name[32];
    snprintf(name, sizeof(name), "worker-%05d", i);
    return json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:s, s:s}, s:o, s:o}", "apiVersion",
                     NF_API_VERSION, "kind", NF_KIND, "node", name, "generation", 1, "kubelet",
                     "cpuManagerPolicy", "static", "topologyManagerPolicy", "single-numa-node",
                     "topologyManagerScope", "pod", "sockets", sockets, "numaNodes", numa);
}

int main(int argc, char **argv)
{
    int nodes = argc > 1 ? atoi(argv[1]) : 5000;
    int64_t add = argc > 2 ? atoll(argv[2]) : 0;
    static const char *const shapes[] = {"cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1",
                                         "cpu=8,hugepages-1Gi=8Gi,intel.com/sriov=2",
                                         "cpu=2,hugepages-2Mi=512Mi"};
    nf_topology *t = calloc((size_t)nodes, sizeof(*t));
    if (!t || nodes <= 0)
        return 1;
    double t0 = now_ms();
    for (int i = 0; i < nodes; i++) {
        json_t *doc = node_doc(i);
        nf_err err = {{0}};
        if (nf_topology_from_json(doc, &t[i], &err)) {
            fprintf(stderr, "bench_report: %s\n", err.msg);
            return 1;
        }
        json_decref(doc);
    }
    double t1 = now_ms();
    long rss_loaded = rss_kb("VmRSS:");

    nf_report *r;
    nf_report_opts o = {.fit = {.align = NF_ALIGN_NUMA}, .add_pods = add};
    nf_err err = {{0}};
    double c0 = now_ms();
    if (nf_report_new(&o, &r))
        return 1;
    for (size_t k = 0; k < 3; k++)
        if (nf_report_add_shape_text(r, shapes[k], &err)) {
            fprintf(stderr, "bench_report: %s\n", err.msg);
            return 1;
        }
    for (int i = 0; i < nodes; i++)
        nf_report_add_node(r, &t[i]);
    if (nf_report_compute(r, &err)) {
        fprintf(stderr, "bench_report: %s\n", err.msg);
        return 1;
    }
    double c1 = now_ms();
    printf("report: %d nodes x 8 NUMA nodes, 3 shapes, add-pods %" PRId64 ", single thread\n",
           nodes, add);
    printf("  decode %d NodeTopology documents (input, not the report): %.0f ms\n", nodes, t1 - t0);
    printf("  count (nf_report_compute): %.1f ms; totals %" PRId64 " / %" PRId64 " / %" PRId64
           " pods\n",
           c1 - c0, r->shapes[0].total, r->shapes[1].total, r->shapes[2].total);
    double json_ms = 0;
    for (int f = NF_REPORT_TABLE; f <= NF_REPORT_HTML; f++) {
        char *out;
        size_t len;
        double a = now_ms();
        if (nf_report_render(r, (nf_report_format)f, &out, &len))
            return 1;
        double b = now_ms();
        if (f == NF_REPORT_JSON)
            json_ms = b - a;
        printf("  render %-5s: %7.1f ms, %6.1f MiB\n", nf_report_format_name((nf_report_format)f),
               b - a, (double)len / (1 << 20));
        free(out);
    }
    printf("  count + JSON: %.1f ms (target <= 1000 ms)\n", c1 - c0 + json_ms);
    nf_report_free(r);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("  RSS: %.1f MiB with the topologies loaded, peak %.1f MiB\n", (double)rss_loaded / 1024,
           (double)ru.ru_maxrss / 1024);
    for (int i = 0; i < nodes; i++)
        nf_topology_free(&t[i]);
    free(t);
    return 0;
}
