/* bench_refresh.c - median/p99 time of one exporter refresh (collector) on a fixture tree, and
 * of the NodeResourceTopology the exporter makes from each new document (decode + encode, as
 * GET /v1/noderesourcetopology and --publish-nrt need it).
 * usage: bench_refresh ROOT [KUBELET_DIR] [ITERATIONS] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "nrt_publisher.h"
#include "numafit/clock.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_refresh ROOT [KUBELET_DIR] [ITERATIONS]\n");
        return 2;
    }
    char sys[4096], proc[4096];
    snprintf(sys, sizeof(sys), "%s/sys", argv[1]);
    snprintf(proc, sizeof(proc), "%s/proc", argv[1]);
    int iters = argc > 3 ? atoi(argv[3]) : 500;
    nf_collector_opts o = {.node_name = "bench",
                           .sysfs_root = sys,
                           .procfs_root = proc,
                           .kubelet_dir = argc > 2 ? argv[2] : "/nonexistent"};
    nf_collector *c;
    nf_err err;
    if (nf_collector_new(&o, &c, &err)) {
        fprintf(stderr, "bench_refresh: %s\n", err.msg);
        return 1;
    }
    double *ms = calloc((size_t)iters, sizeof(*ms));
    size_t bytes = 0;
    char *last = NULL;
    for (int i = 0; i < iters; i++) {
        uint64_t a, b;
        char *doc;
        size_t len;
        uint64_t gen;
        bool changed;
        a = nf_mono_ns();
        nf_collector_reload_kubelet(c);
        if (nf_collector_refresh(c, &doc, &len, &gen, &changed))
            return 1;
        b = nf_mono_ns();
        free(last);
        last = doc;
        bytes = len;
        ms[i] = (double)(b - a) / 1e6;
    }
    qsort(ms, (size_t)iters, sizeof(*ms), cmp);
    printf("refresh (kubelet reload + sysfs + sriov + encode): n=%d median=%.3f ms p99=%.3f ms "
           "max=%.3f ms document=%zu bytes\n",
           iters, ms[iters / 2], ms[iters * 99 / 100], ms[iters - 1], bytes);
    size_t nrt_bytes = 0;
    for (int i = 0; i < iters; i++) {
        uint64_t a, b;
        json_t *nrt;
        a = nf_mono_ns();
        if (nf_nrt_of_document(last, bytes, &nrt, &err)) {
            fprintf(stderr, "bench_refresh: nrt: %s\n", err.msg);
            return 1;
        }
        char *text = json_dumps(nrt, JSON_COMPACT);
        b = nf_mono_ns();
        nrt_bytes = text ? strlen(text) : 0;
        free(text);
        json_decref(nrt);
        ms[i] = (double)(b - a) / 1e6;
    }
    qsort(ms, (size_t)iters, sizeof(*ms), cmp);
    printf("NodeResourceTopology of that document (decode + build + encode): n=%d median=%.3f ms "
           "p99=%.3f ms object=%zu bytes\n",
           iters, ms[iters / 2], ms[iters * 99 / 100], nrt_bytes);
    free(last);
    free(ms);
    nf_collector_free(c);
    return 0;
}
