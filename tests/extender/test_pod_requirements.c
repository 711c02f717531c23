/* Pod requirements: real pod specs from tests/realdata, kubelet's effective-request rules,
 * QoS, quantities in every form, mixed-case keys, shapes and every error path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extender_test_util.h"
#include "numafit/fileio.h"
#include "numafit/yaml_json.h"
#include "pod_requirements.h"

#define MI ((int64_t)1 << 20)

static int64_t eff(const nf_pod_req *r, const char *name)
{
    return nf_amount_get(r->effective, r->n_effective, name);
}

static bool has_eff(const nf_pod_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_effective; i++)
        if (strcmp(r->effective[i].name, name) == 0)
            return true;
    return false;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Load a realdata YAML file; picks the document whose kind is Pod or Deployment. */
static void load_real(const char *rel, nf_pod_req *out)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pods/%s", NF_REALDATA_DIR, rel);
    size_t len;
    char *text = slurp(path, &len);
    json_t *all;
    nf_err err;
    if (nf_yaml_load_all(text, len, &all, &err))
        fail_msg("%s: %s", rel, err.msg);
    json_t *pick = NULL;
    for (size_t i = 0; i < json_array_size(all); i++) {
        const char *k = json_string_value(json_object_get(json_array_get(all, i), "kind"));
        if (k && (strcmp(k, "Pod") == 0 || strcmp(k, "Deployment") == 0))
            pick = json_array_get(all, i);
    }
    assert_non_null(pick);
    if (nf_pod_req_from_json(pick, out, &err))
        fail_msg("%s: %s", rel, err.msg);
    json_decref(all);
    free(text);
}

static void test_realdata_pods(void **state)
{
    (void)state;
    nf_pod_req r;

    load_real("openshift-openshift-docs/modules/nw-openstack-hw-offload-testpmd-pod.extracted.yaml",
              &r);
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_string_equal(r.name, "testpmd-sriov");
    assert_string_equal(r.namespace_, "mynamespace");
    assert_int_equal(r.n_containers, 1);
    assert_int_equal(r.containers[0].exclusive_cpus, 2);
    assert_int_equal(eff(&r, "cpu"), 2);
    assert_int_equal(eff(&r, "hugepages-1Gi"), GI);
    assert_int_equal(eff(&r, "memory"), 1000 * MI);
    assert_int_equal(r.n_effective, 3);
    assert_true(r.aligned);
    nf_pod_req_free(&r);

    load_real("openshift-openshift-docs/modules/nw-sriov-dpdk-base-workload.extracted.yaml", &r);
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_string_equal(r.name, "testpmd");
    assert_int_equal(eff(&r, "cpu"), 16);
    assert_int_equal(eff(&r, "hugepages-1Gi"), 8 * GI);
    assert_int_equal(eff(&r, "memory"), 2 * GI);
    nf_pod_req_free(&r);

    load_real("openshift-examples-web/content/networking/sr-iov/deployment-sriov-eno4.md", &r);
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_string_equal(r.containers[0].name, "sriov-eno4");
    assert_int_equal(eff(&r, "cpu"), 4);
    assert_int_equal(eff(&r, "hugepages-1Gi"), GI);
    assert_int_equal(eff(&r, "memory"), GI);
    assert_int_equal(eff(&r, "openshift.io/storm5eno3"), 1);
    assert_int_equal(r.n_effective, 4);
    nf_pod_req_free(&r);

    /* memory request only, no cpu: Burstable; no exclusive cpu, memory not aligned */
    load_real("k8snetworkplumbingwg-sriov-network-device-plugin/docs/dpdk/pod_testpmd.yaml", &r);
    assert_int_equal(r.qos, NF_QOS_BURSTABLE);
    assert_false(has_eff(&r, "cpu"));
    assert_false(has_eff(&r, "memory"));
    assert_int_equal(eff(&r, "hugepages-1Gi"), 4 * GI);
    assert_int_equal(eff(&r, "intel.com/intel_x710vfio"), 2); /* a bare YAML integer */
    assert_true(r.aligned);
    nf_pod_req_free(&r);

    /* limits.memory != requests.memory: Burstable, so cpu '1' is not exclusive */
    load_real("k8snetworkplumbingwg-sriov-network-device-plugin/docs/dpdk/pod_testpmd_virt.yaml",
              &r);
    assert_int_equal(r.qos, NF_QOS_BURSTABLE);
    assert_int_equal(r.containers[0].cpu_milli, 1000);
    assert_int_equal(r.containers[0].exclusive_cpus, 0);
    assert_false(has_eff(&r, "cpu"));
    assert_int_equal(eff(&r, "hugepages-1Gi"), 2 * GI);
    assert_int_equal(eff(&r, "openshift.io/intelnics_radio_downlink"), 1);
    assert_int_equal(eff(&r, "openshift.io/intelnics_radio_uplink"), 1);
    assert_int_equal(r.n_effective, 3);
    nf_pod_req_free(&r);

    static const char *const mlnx[][2] = {
        {"k8snetworkplumbingwg-sriov-network-device-plugin/docs/dpdk/mlnx-dpdk/"
         "mlnx-pod_testpmd_connectx5.yaml",
         "mellanox.com/mlnx_connectx5"},
        {"k8snetworkplumbingwg-sriov-network-device-plugin/docs/dpdk/mlnx-dpdk/"
         "mlnx-pod_testpmd_connectx4.yaml",
         "mellanox.com/mlnx_connectx4"},
    };
    for (int i = 0; i < 2; i++) {
        load_real(mlnx[i][0], &r);
        assert_int_equal(r.qos, NF_QOS_BURSTABLE);
        assert_int_equal(eff(&r, "hugepages-1Gi"), 2 * GI);
        assert_int_equal(eff(&r, mlnx[i][1]), 2);
        assert_int_equal(r.n_effective, 2);
        nf_pod_req_free(&r);
    }

    static const struct {
        const char *file, *res;
        int64_t n;
    } be[] = {
        {"k8snetworkplumbingwg-sriov-network-device-plugin/docs/ddp/x700/pod-gtp.yaml",
         "intel.com/x700_gtp", 1},
        {"k8snetworkplumbingwg-sriov-network-device-plugin/docs/rdma/pod_mlx_rdma_test.yaml",
         "mellanox.com/mlnx_rdma", 2},
        {"k8snetworkplumbingwg-sriov-network-device-plugin/deployments/pod-tc1.yaml",
         "intel.com/intel_sriov_netdevice", 1},
        {"k8snetworkplumbingwg-sriov-network-device-plugin/deployments/pod-tc2.yaml",
         "intel.com/intel_sriov_netdevice", 1},
    };
    for (size_t i = 0; i < sizeof(be) / sizeof(be[0]); i++) {
        load_real(be[i].file, &r);
        assert_int_equal(r.qos, NF_QOS_BEST_EFFORT);
        assert_int_equal(r.n_effective, 1);
        assert_int_equal(eff(&r, be[i].res), be[i].n);
        assert_true(r.aligned);
        nf_pod_req_free(&r);
    }
}

static int parse_err(const char *text, nf_err *err)
{
    json_t *doc = tb_json(text);
    nf_pod_req r;
    memset(&r, 0xab, sizeof(r));
    int rc = nf_pod_req_from_json(doc, &r, err);
    json_decref(doc);
    assert_true(rc < 0);
    assert_null(r.containers); /* zeroed on error */
    return rc;
}

/* Guaranteed resources: the same map as requests and limits */
#define G(m) "{'requests':" m ",'limits':" m "}"

static void test_init_sidecar_overhead(void **state)
{
    (void)state;
    /* cpu: init-a 6; sidecar s 2 then init-b 5 -> 7; app 3 + 1 + sidecar 2 = 6 -> effective 7.
     * hugepages: init-a 8Gi; app 2Gi + sidecar 1Gi = 3Gi -> 8Gi, + overhead 1Gi = 9Gi.
     * memory: init-a 1Gi; s 1 + init-b 1 = 2Gi; app 2 + 1 + s 1 = 4Gi; + overhead 120Mi. */
    nf_pod_req r = tb_pod(
        "{'metadata':{'name':'p','uid':'u-1'},'spec':{"
        "'overhead':{'cpu':'250m','memory':'120Mi','hugepages-1Gi':'1Gi'},"
        "'initContainers':["
        "{'name':'init-a','resources':" G(
            "{'cpu':'6','memory':'1Gi','hugepages-1Gi':'8Gi'"
            "}") "},"
                 "{'name':'s','restartPolicy':'Always','"
                 "resources':" G(
                     "{'cpu':'2','memory':'1Gi','hugepages-"
                     "1Gi':'1Gi'}") "},"
                                    "{'name':'init-b','"
                                    "resources':" G(
                                        "{'cpu':'5','memory':"
                                        "'1Gi'}") "}],"
                                                  "'container"
                                                  "s':["
                                                  "{'name':'"
                                                  "app1','"
                                                  "resources'"
                                                  ":" G("{'cpu'"
                                                        ":'3','"
                                                        "memory"
                                                        "':'"
                                                        "2Gi','"
                                                        "hugepa"
                                                        "ges-"
                                                        "1Gi':'"
                                                        "2Gi','"
                                                        "intel."
                                                        "com/"
                                                        "sriov'"
                                                        ":'1'}") "},"
                                                                 "{'name':'app2','resources':" G(
                                                                     "{'cpu':'1000m','memory':'1Gi'"
                                                                     "}") "}]}}");
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_string_equal(r.uid, "u-1");
    assert_int_equal(r.n_containers, 5);
    assert_int_equal(r.containers[0].kind, NF_CONTAINER_INIT);
    assert_int_equal(r.containers[1].kind, NF_CONTAINER_SIDECAR);
    assert_int_equal(r.containers[2].kind, NF_CONTAINER_INIT);
    assert_int_equal(r.containers[3].kind, NF_CONTAINER_APP);
    assert_string_equal(r.containers[4].name, "app2");
    assert_int_equal(r.containers[4].exclusive_cpus, 1); /* "1000m" is an integer */
    assert_int_equal(eff(&r, "cpu"), 7);                 /* overhead cpu is never exclusive */
    assert_int_equal(eff(&r, "hugepages-1Gi"), 9 * GI);
    assert_int_equal(eff(&r, "intel.com/sriov"), 1);
    assert_int_equal(eff(&r, "memory"), 4 * GI + 120 * MI);
    assert_int_equal(r.n_overhead, 3);
    assert_int_equal(nf_amount_get(r.overhead, r.n_overhead, "cpu"), 250);
    assert_int_equal(nf_amount_get(r.overhead, r.n_overhead, "memory"), 120 * MI);
    nf_pod_req_free(&r);

    /* the init container dominates */
    r = tb_pod("{'spec':{'initContainers':[{'name':'i','resources':" G(
        "{'cpu':'8','memory':'1Gi'}") "}],'containers':[{'name':'a','resources':" G("{'cpu':'2','"
                                                                                    "memory':'1Gi'"
                                                                                    "}") "}]}}");
    assert_int_equal(eff(&r, "cpu"), 8);
    assert_int_equal(r.containers[0].exclusive_cpus, 8);
    nf_pod_req_free(&r);
}

static void test_qos(void **state)
{
    (void)state;
    /* only limits: requests default to them -> Guaranteed, exclusive */
    nf_pod_req r = tb_pod("{'spec':{'containers':[{'name':'a','resources':{'limits':"
                          "{'cpu':4,'memory':'1G','hugepages-2Mi':'64Mi'}}}]}}");
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_int_equal(eff(&r, "cpu"), 4);
    assert_int_equal(eff(&r, "memory"), 1000000000);
    assert_int_equal(eff(&r, "hugepages-2Mi"), 64 * MI);
    nf_pod_req_free(&r);

    /* fractional cpu in a Guaranteed pod: shared pool */
    r = tb_pod(
        "{'spec':{'containers':[{'name':'a','resources':" G("{'cpu':'1.5','memory':'1Gi'}") "}]}}");
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_int_equal(r.containers[0].cpu_milli, 1500);
    assert_int_equal(r.containers[0].exclusive_cpus, 0);
    assert_false(has_eff(&r, "cpu"));
    assert_int_equal(eff(&r, "memory"), GI); /* Guaranteed: memory is alignable */
    assert_true(r.aligned);
    nf_pod_req_free(&r);

    /* one container without a memory limit makes the pod Burstable: nothing exclusive */
    r = tb_pod("{'spec':{'containers':[{'name':'a','resources':" G(
        "{'cpu':'2','memory':'1Gi'}") "},{'name':'b','resources':{'limits':{'cpu':'1'}}}]}}");
    assert_int_equal(r.qos, NF_QOS_BURSTABLE);
    assert_false(has_eff(&r, "cpu"));
    assert_false(r.aligned);
    nf_pod_req_free(&r);

    /* nothing at all: BestEffort, passes untouched */
    r = tb_pod("{'spec':{'containers':[{'name':'nginx','image':'nginx'}]}}");
    assert_int_equal(r.qos, NF_QOS_BEST_EFFORT);
    assert_false(r.aligned);
    assert_int_equal(r.n_effective, 0);
    assert_string_equal(nf_qos_name(r.qos), "BestEffort");
    nf_pod_req_free(&r);

    /* an init container without limits also breaks Guaranteed */
    r = tb_pod("{'spec':{'initContainers':[{'name':'i'}],'containers':[{'name':'a','resources':" G(
        "{'cpu':'2','memory':'1Gi'}") "}]}}");
    assert_int_equal(r.qos, NF_QOS_BURSTABLE);
    nf_pod_req_free(&r);
}

static void test_quantity_forms_and_case(void **state)
{
    (void)state;
    /* every legal form; keys in any letter case (Go's decoder); resource names exact */
    nf_pod_req r = tb_pod(
        "{'METADATA':{'Name':'x'},'Spec':{'Overhead':{'memory':'1e3'},'CONTAINERS':[{'NAME':'a',"
        "'Resources':{'Requests':{'cpu':'4000m','memory':'0.5Gi','hugepages-1Gi':'2Gi',"
        "'example.com/dev':'1e1'},'LIMITS':{'cpu':'4','memory':'512Mi','hugepages-1Gi':'2Gi',"
        "'example.com/dev':10}}}]}}");
    assert_string_equal(r.name, "x");
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_int_equal(eff(&r, "cpu"), 4);
    assert_int_equal(eff(&r, "memory"), 512 * MI + 1000);
    assert_int_equal(eff(&r, "example.com/dev"), 10);
    nf_pod_req_free(&r);

    /* non-aligned resources are ignored; kubernetes.io names are not devices */
    r = tb_pod("{'spec':{'containers':[{'resources':{'requests':{'ephemeral-storage':'1Gi',"
               "'kubernetes.io/batch-cpu':'1','foo.kubernetes.io/x':'1'}}}]}}");
    assert_false(r.aligned);
    nf_pod_req_free(&r);
    assert_true(nf_resource_is_device("intel.com/sriov"));
    assert_false(nf_resource_is_device("kubernetes.io/x"));
    assert_false(nf_resource_is_device("cpu"));
    assert_false(nf_resource_is_device("/x"));
    assert_true(nf_resource_is_hugepages("hugepages-2Mi"));
    assert_false(nf_resource_is_hugepages("hugepages-"));

    /* Deployment: spec.template */
    r = tb_pod(
        "{'kind':'Deployment','spec':{'replicas':2,'template':{'metadata':{'name':'t'},"
        "'spec':{'containers':[{'name':'c','resources':{'limits':{'intel.com/sriov':'2'}}}]}}}}");
    assert_string_equal(r.name, "t");
    assert_int_equal(eff(&r, "intel.com/sriov"), 2);
    nf_pod_req_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    nf_err err;
    assert_int_equal(parse_err("[]", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "must be an object"));
    assert_int_equal(parse_err("{'metadata':{}}", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "spec is missing"));
    assert_int_equal(parse_err("{'spec':1}", &err), -EINVAL);
    assert_int_equal(parse_err("{'spec':{}}", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "spec.containers: missing"));
    assert_int_equal(parse_err("{'spec':{'containers':{}}}", &err), -EINVAL);
    assert_int_equal(parse_err("{'spec':{'containers':[],'initContainers':3}}", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "initContainers"));
    assert_int_equal(parse_err("{'spec':{'containers':[7]}}", &err), -EINVAL);
    assert_int_equal(parse_err("{'spec':{'containers':[{'name':5}]}}", &err), -EINVAL);
    assert_int_equal(parse_err("{'spec':{'containers':[{'resources':[]}]}}", &err), -EINVAL);
    assert_int_equal(parse_err("{'spec':{'containers':[{'resources':{'limits':[]}}]}}", &err),
                     -EINVAL);
    assert_int_equal(parse_err("{'metadata':[],'spec':{'containers':[]}}", &err), -EINVAL);

    /* junk quantity: names container and resource */
    assert_int_equal(parse_err("{'spec':{'containers':[{'name':'ok'},{'name':'dpdk','resources':{"
                               "'requests':{'cpu':'4x'}}}]}}",
                               &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "spec.containers[1] (dpdk).resources.requests.cpu"));
    assert_non_null(strstr(err.msg, "4x"));
    /* overflow */
    assert_int_equal(parse_err("{'spec':{'containers':[{'resources':{'limits':{'memory':"
                               "'99999999999999999999Ei'}}}]}}",
                               &err),
                     -ERANGE);
    assert_non_null(strstr(err.msg, "limits.memory"));
    assert_int_equal(
        parse_err("{'spec':{'containers':[{'resources':{'limits':{'memory':'9Ei'}}}]}}", &err),
        -ERANGE);
    /* wrong types, negative, empty */
    assert_int_equal(
        parse_err("{'spec':{'containers':[{'resources':{'limits':{'cpu':true}}}]}}", &err),
        -EINVAL);
    assert_non_null(strstr(err.msg, "string or number"));
    assert_int_equal(
        parse_err("{'spec':{'containers':[{'resources':{'limits':{'cpu':'-1'}}}]}}", &err),
        -EINVAL);
    assert_int_equal(
        parse_err("{'spec':{'containers':[{'resources':{'limits':{'cpu':''}}}]}}", &err), -EINVAL);
    /* a fractional device */
    assert_int_equal(parse_err("{'spec':{'containers':[{'name':'c','resources':{'limits':{"
                               "'intel.com/sriov':'0.5'}}}]}}",
                               &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "whole number"));
    assert_int_equal(parse_err("{'spec':{'overhead':{'memory':'x'},'containers':[]}}", &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "spec.overhead.memory"));
    assert_int_equal(parse_err("{'spec':{'containers':[{'restartPolicy':1}],'initContainers':"
                               "[{'restartPolicy':1}]}}",
                               &err),
                     -EINVAL);
    /* effective request overflow: two containers of 6Ei hugepages */
    assert_int_equal(parse_err("{'spec':{'containers':["
                               "{'resources':{'limits':{'hugepages-1Gi':'7Ei'}}},"
                               "{'resources':{'limits':{'hugepages-1Gi':'7Ei'}}}]}}",
                               &err),
                     -ERANGE);
}

static void test_shapes(void **state)
{
    (void)state;
    nf_pod_req r;
    nf_err err;
    assert_int_equal(
        nf_pod_req_from_shape(" cpu=4, hugepages-1Gi=4Gi ,intel.com/sriov=1", &r, &err), 0);
    assert_int_equal(r.qos, NF_QOS_GUARANTEED);
    assert_int_equal(r.n_containers, 1);
    assert_int_equal(r.containers[0].exclusive_cpus, 4);
    assert_int_equal(eff(&r, "cpu"), 4);
    assert_int_equal(eff(&r, "hugepages-1Gi"), 4 * GI);
    assert_int_equal(eff(&r, "intel.com/sriov"), 1);
    char buf[128];
    assert_string_equal(nf_amounts_format(r.effective, r.n_effective, buf, sizeof(buf)),
                        "cpu=4 hugepages-1Gi=4Gi intel.com/sriov=1");
    char small[12];
    nf_amounts_format(r.effective, r.n_effective, small, sizeof(small));
    assert_string_equal(small, "cpu=4 hu...");
    nf_pod_req_free(&r);

    assert_int_equal(nf_pod_req_from_shape("memory=1Gi,cpu=2000m", &r, &err), 0);
    assert_int_equal(eff(&r, "memory"), GI);
    assert_int_equal(eff(&r, "cpu"), 2);
    nf_pod_req_free(&r);

    static const struct {
        const char *shape, *msg;
    } bad[] = {
        {"", "empty"},
        {"cpu=1.5", "not a whole number"},
        {"cpu=4,,intel.com/sriov=1", "empty item"},
        {"cpu=4,cpu=2", "given twice"},
        {"cpu", "not name=quantity"},
        {"=4", "not name=quantity"},
        {"cpu=", "not name=quantity"},
        {"ephemeral-storage=1Gi", "not an aligned resource"},
        {"cpu=0", "zero"},
        {"cpu=4q", "unknown suffix"},
        {"intel.com/sriov=0.5", "whole number"},
        {"memory=99999999999Ei", "too"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0xab, sizeof(r));
        assert_true(nf_pod_req_from_shape(bad[i].shape, &r, &err) < 0);
        assert_null(r.containers);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("shape \"%s\": message \"%s\" lacks \"%s\"", bad[i].shape, err.msg,
                     bad[i].msg);
    }
    assert_true(nf_pod_req_from_shape(NULL, &r, &err) < 0);
}

static void test_json_iget(void **state)
{
    (void)state;
    json_t *o = tb_json("{'pod':1,'Pod':2,'NodeNames':3}");
    assert_int_equal(json_integer_value(nf_json_iget(o, "pod")), 2); /* the last one, as Go */
    assert_int_equal(json_integer_value(nf_json_iget(o, "Pod")), 2);
    assert_int_equal(json_integer_value(nf_json_iget(o, "nodenames")), 3);
    assert_null(nf_json_iget(o, "Nodes"));
    json_t *a = tb_json("[1]");
    assert_null(nf_json_iget(json_array_get(a, 0), "x"));
    assert_null(nf_json_iget(a, "x"));
    json_decref(a);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realdata_pods), cmocka_unit_test(test_init_sidecar_overhead),
        cmocka_unit_test(test_qos),           cmocka_unit_test(test_quantity_forms_and_case),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_json_iget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
