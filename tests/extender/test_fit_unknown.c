/* test_fit_unknown.c - a node whose exporter lost one of kubelet's files publishes null numbers
 * with a reason; the fit never treats them as room (nor the codec as a broken document). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "extender_test_util.h"
#include "fit.h"

/* Two NUMA nodes; numa0's cpu is "unknown" as the exporter publishes it when cpu_manager_state
 * was lost past its grace period (allocatable known, available null, error = why). */
static const char DOC[] =
    "{\"apiVersion\":\"numafit.io/v1\",\"kind\":\"NodeTopology\",\"node\":\"w1\","
    "\"kubelet\":{\"cpuManagerPolicy\":\"static\",\"topologyManagerScope\":\"pod\","
    "\"memoryManagerPolicy\":\"None\"},"
    "\"numaNodes\":["
    "{\"id\":0,\"socket\":0,\"cpus\":{\"online\":\"0-7\",\"allocatable\":\"1-7\","
    "\"allocated\":null,\"free\":null,\"freeFullCores\":null},"
    "\"resources\":{\"cpu\":{\"capacity\":8,\"allocatable\":7,\"available\":null,"
    "\"error\":\"cpu_manager_state lost: no such file\"},"
    "\"intel.com/sriov\":{\"capacity\":4,\"allocatable\":4,\"available\":4}},"
    "\"devices\":[{\"resource\":\"intel.com/sriov\",\"pf\":{\"pci\":\"0000:18:00.0\"},"
    "\"vfs\":[{\"pci\":\"0000:18:01.0\",\"allocated\":null}]}]},"
    "{\"id\":1,\"socket\":0,\"resources\":{\"cpu\":{\"capacity\":8,\"allocatable\":8,"
    "\"available\":8}}}]}";

static void test_unknown_is_no_room(void **state)
{
    (void)state;
    nf_topology t = {0};
    nf_err err = {{0}};
    assert_int_equal(nf_topology_parse(DOC, sizeof(DOC) - 1, &t, &err), 0);
    const nf_resource *cpu = nf_numa_resource(&t.numa_nodes[0], "cpu");
    assert_int_equal(cpu->available, NF_UNKNOWN);
    assert_int_equal(cpu->allocatable, 7);
    assert_string_equal(cpu->error, "cpu_manager_state lost: no such file");
    assert_true(t.numa_nodes[0].cpus.allocated_unknown);
    assert_true(t.numa_nodes[0].devices[0].vfs[0].allocation_unknown);

    /* a CPU pod: numa1 has 8 free, but numa0's state is unknown: the node is not judged */
    nf_pod_req p = tb_shape("cpu=2");
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    nf_fit_result r;
    assert_int_equal(nf_fit_node(&p, &t, &o, &r), 0);
    assert_int_equal(r.status, NF_FIT_UNRESOLVABLE);
    assert_non_null(strstr(r.reason, "cpu available on NUMA node 0 is unknown to the node's "
                                     "exporter: cpu_manager_state lost: no such file"));
    nf_fit_result_free(&r);
    nf_pod_req_free(&p);

    /* a pod that needs only what is known still fits */
    p = tb_shape("intel.com/sriov=1");
    assert_int_equal(nf_fit_node(&p, &t, &o, &r), 0);
    assert_int_equal(r.status, NF_FIT_OK);
    assert_int_equal(r.zone, 0);
    nf_fit_result_free(&r);
    nf_pod_req_free(&p);

    /* the encoder writes null back, with the reason */
    json_t *j = nf_topology_to_json(&t);
    json_t *n0 = json_array_get(json_object_get(j, "numaNodes"), 0);
    json_t *jc = json_object_get(json_object_get(n0, "resources"), "cpu");
    assert_true(json_is_null(json_object_get(jc, "available")));
    assert_string_equal(json_string_value(json_object_get(jc, "error")),
                        "cpu_manager_state lost: no such file");
    assert_true(json_is_null(json_object_get(json_object_get(n0, "cpus"), "free")));
    json_t *vf = json_array_get(
        json_object_get(json_array_get(json_object_get(n0, "devices"), 0), "vfs"), 0);
    assert_true(json_is_null(json_object_get(vf, "allocated")));
    json_decref(j);
    nf_topology_free(&t);

    /* a missing key stays a broken document (only null means unknown) */
    static const char BAD[] =
        "{\"apiVersion\":\"numafit.io/v1\",\"kind\":\"NodeTopology\",\"node\":\"w1\","
        "\"numaNodes\":[{\"id\":0,\"resources\":{\"cpu\":{\"capacity\":8,\"allocatable\":7}}}]}";
    memset(&t, 0, sizeof(t));
    assert_int_equal(nf_topology_parse(BAD, sizeof(BAD) - 1, &t, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "required"));
    nf_topology_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_is_no_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
