/* test_prom_metrics.c - the Prometheus text writer (escaping, lazy families, histograms) and the
 * exporter's per-document series for what the e2e fixture cannot show: probe results, unplaced
 * VFs, unknown numbers, problems, and a label value that needs escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exporter_metrics.h"
#include "numafit/prom.h"
#include "numafit/topology_json.h"

static char *render(void (*fn)(nf_prom *, const void *), const void *arg)
{
    nf_prom p;
    nf_prom_init(&p);
    fn(&p, arg);
    size_t len = 0;
    char *s = nf_prom_finish(&p, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static void write_escapes(nf_prom *p, const void *arg)
{
    nf_prom_family(p, "x_info", "gauge", "help with \\ and\nnewline");
    nf_prom_sample(p, "x_info", 1, "v", "a\"b\\c\nd", "w", NULL, NULL);
    nf_prom_family_lazy(p, "never_written", "gauge", "no samples");
    nf_prom_family_lazy(p, "y", "counter", "y help");
    nf_prom_sample_int(p, "y", -3, NULL);
    nf_prom_sample(p, "z", 0.25, NULL);
}

static void test_escaping(void **state)
{
    char *s = render(write_escapes, NULL);
    assert_non_null(strstr(s, "# HELP x_info help with \\\\ and\\nnewline\n# TYPE x_info gauge\n"));
    assert_non_null(strstr(s, "x_info{v=\"a\\\"b\\\\c\\nd\",w=\"\"} 1\n"));
    assert_null(strstr(s, "never_written"));
    assert_non_null(strstr(s, "# TYPE y counter\ny -3\n"));
    assert_non_null(strstr(s, "\nz 0.25\n"));
    free(s);
}

static void write_hist(nf_prom *p, const void *arg)
{
    nf_prom_hist_write(p, "lat_seconds", arg, "verb", "filter", NULL);
}

static void test_histogram(void **state)
{
    static const double bounds[] = {0.001, 0.01, 0.1};
    nf_prom_hist h;
    nf_prom_hist_init(&h, bounds, 3);
    nf_prom_hist_observe_ns(&h, 500000);     /* 0.5 ms -> le 0.001 */
    nf_prom_hist_observe_ns(&h, 1000000);    /* exactly 1 ms -> le 0.001 (upper bound inclusive) */
    nf_prom_hist_observe_ns(&h, 50000000);   /* 50 ms -> le 0.1 */
    nf_prom_hist_observe_ns(&h, 2000000000); /* 2 s -> +Inf only */
    char *s = render(write_hist, &h);
    assert_non_null(strstr(s, "lat_seconds_bucket{verb=\"filter\",le=\"0.001\"} 2\n"
                              "lat_seconds_bucket{verb=\"filter\",le=\"0.01\"} 2\n"
                              "lat_seconds_bucket{verb=\"filter\",le=\"0.1\"} 3\n"
                              "lat_seconds_bucket{verb=\"filter\",le=\"+Inf\"} 4\n"
                              "lat_seconds_sum{verb=\"filter\"} 2.0515\n"
                              "lat_seconds_count{verb=\"filter\"} 4\n"));
    free(s);
}

/* Two NUMA nodes; numa0's pool has VFs ok/failed/skipped/never probed, numa1 is memory-only
 * (no socket, no cpu); one PF is unplaced; a hugepage counter is unreadable. */
static const char DOC[] =
    "{\"apiVersion\":\"numafit.io/v1\",\"kind\":\"NodeTopology\",\"node\":\"w\\\"1\","
    "\"generation\":42,\"observedAt\":\"2026-11-25T14:00:00Z\","
    "\"kubelet\":{\"cpuManagerPolicy\":\"static\",\"stateFiles\":{\"cpuManager\":\"ok\","
    "\"memoryManager\":\"absent\",\"devicePlugins\":\"error: checksum mismatch\"}},"
    "\"sockets\":[{\"id\":0,\"numaNodes\":[0,1]}],"
    "\"numaNodes\":[{\"id\":0,\"socket\":0,"
    " \"hugepages\":{\"hugepages-1Gi\":{\"pageBytes\":1073741824,\"total\":null,\"free\":null,"
    "   \"surplus\":null,\"error\":\"error: nr_hugepages: not a number\"}},"
    " \"devices\":[{\"resource\":\"intel.com/dpdk\",\"pf\":{\"pci\":\"0000:18:00.0\"},\"vfs\":["
    "  {\"pci\":\"0000:18:01.0\",\"allocated\":false,\"probe\":{\"status\":\"ok\"}},"
    "  {\"pci\":\"0000:18:01.1\",\"allocated\":false,\"probe\":{\"status\":\"failed: no link\"}},"
    "  {\"pci\":\"0000:18:01.2\",\"allocated\":true,\"probe\":{\"status\":\"skipped: allocated\"}},"
    "  {\"pci\":\"0000:18:01.3\",\"allocated\":false,\"probe\":{\"status\":\"ok\"}},"
    "  {\"pci\":\"0000:18:01.4\",\"allocated\":false}]}],"
    " \"resources\":{\"cpu\":{\"capacity\":16,\"allocatable\":14,\"available\":6},"
    "  \"intel.com/dpdk\":{\"capacity\":5,\"allocatable\":5,\"available\":4,\"usable\":2}}},"
    " {\"id\":1,\"socket\":null,\"resources\":{\"memory\":{\"capacity\":1024,"
    "  \"allocatable\":1000,\"available\":512}}}],"
    "\"unplacedDevices\":[{\"resource\":null,\"pf\":{\"pci\":\"0000:d8:00.0\"},\"vfs\":["
    "  {\"pci\":\"0000:d8:01.0\",\"allocated\":false}]}],"
    "\"errors\":[\"something else\"]}";

static void write_doc(nf_prom *p, const void *arg)
{
    nf_exporter_metrics_write_topology(p, arg);
}

static void test_topology_series(void **state)
{
    nf_topology t;
    nf_err err = {{0}};
    int rc = nf_topology_parse(DOC, strlen(DOC), &t, &err);
    if (rc)
        fail_msg("parse: %s", err.msg);
    char *s = render(write_doc, &t);
#define HAS(line) assert_non_null(strstr(s, line "\n"))
    HAS("numafit_numa_cpus_available{node=\"w\\\"1\",numa=\"0\"} 6");
    assert_null(strstr(s, "numafit_numa_cpus_available{node=\"w\\\"1\",numa=\"1\"}"));
    HAS("numafit_numa_memory_allocatable_bytes{node=\"w\\\"1\",numa=\"1\"} 1000");
    HAS("numafit_numa_node_info{node=\"w\\\"1\",numa=\"1\",socket=\"\"} 1");
    HAS("numafit_numa_devices_usable{node=\"w\\\"1\",numa=\"0\",resource=\"intel.com/dpdk\"} 2");
    HAS("numafit_numa_vfs{node=\"w\\\"1\",numa=\"0\",resource=\"intel.com/"
        "dpdk\",allocated=\"false\","
        "probe=\"ok\"} 2");
    HAS("numafit_numa_vfs{node=\"w\\\"1\",numa=\"0\",resource=\"intel.com/"
        "dpdk\",allocated=\"false\","
        "probe=\"failed\"} 1");
    HAS("numafit_numa_vfs{node=\"w\\\"1\",numa=\"0\",resource=\"intel.com/"
        "dpdk\",allocated=\"true\","
        "probe=\"skipped\"} 1");
    HAS("numafit_numa_vfs{node=\"w\\\"1\",numa=\"0\",resource=\"intel.com/"
        "dpdk\",allocated=\"false\","
        "probe=\"none\"} 1");
    HAS("numafit_numa_vfs{node=\"w\\\"1\",numa=\"unknown\",resource=\"\",allocated=\"false\","
        "probe=\"none\"} 1");
    /* the unreadable hugepage counters are left out, not 0; so is the family */
    assert_null(strstr(s, "numafit_numa_hugepages_free_pages"));
    HAS("numafit_exporter_kubelet_state_ok{node=\"w\\\"1\",source=\"devicePlugins\"} 0");
    HAS("numafit_exporter_kubelet_state_info{node=\"w\\\"1\",source=\"devicePlugins\","
        "status=\"error: checksum mismatch\"} 1");
    HAS("numafit_exporter_topology_generation{node=\"w\\\"1\"} 42");
    HAS("numafit_exporter_topology_observed_timestamp_seconds{node=\"w\\\"1\"} 1795615200");
    HAS("numafit_exporter_topology_problems{node=\"w\\\"1\"} 2"); /* errors[] + hugepage error */
#undef HAS
    free(s);
    nf_topology_free(&t);
}

static void test_render_counts_refreshes(void **state)
{
    nf_exporter_metrics *m;
    assert_int_equal(nf_exporter_metrics_new(&m), 0);
    size_t len;
    char *s = nf_exporter_metrics_render(m, &len); /* before the first refresh: counters only */
    assert_non_null(s);
    assert_non_null(strstr(s, "numafit_exporter_refreshes_total 0\n"));
    assert_null(strstr(s, "numafit_numa_"));
    free(s);
    nf_exporter_metrics_refresh(m, 3000000, 0, DOC, strlen(DOC));
    nf_exporter_metrics_refresh(m, 1000, -EIO, NULL, 0);
    s = nf_exporter_metrics_render(m, &len);
    assert_non_null(s);
    assert_non_null(strstr(s, "numafit_exporter_refreshes_total 2\n"));
    assert_non_null(strstr(s, "numafit_exporter_refresh_errors_total 1\n"));
    assert_non_null(strstr(s, "numafit_exporter_refresh_duration_seconds_count 2\n"));
    assert_non_null(
        strstr(s, "numafit_exporter_refresh_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert_non_null(
        strstr(s, "numafit_exporter_refresh_duration_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(s, "numafit_numa_cpus_available{node=\"w\\\"1\",numa=\"0\"} 6\n"));
    assert_non_null(strstr(s, "numafit_exporter_build_info{program=\"numafit-exporter\",version="));
    free(s);
    nf_exporter_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_topology_series),
        cmocka_unit_test(test_render_counts_refreshes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
