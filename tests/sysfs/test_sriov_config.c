/* test_sriov_config.c - SR-IOV device plugin config: every real ConfigMap in
 * tests/realdata/sriov-dp, the fixture config, and bad configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sriov_config.h"
#include "testutil.h"

#define DP NF_REALDATA_DIR "/sriov-dp/k8snetworkplumbingwg-sriov-network-device-plugin/"

static nf_sriov_config *load_ok(const char *path)
{
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    if (nf_sriov_config_load(path, &c, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    return c;
}

static bool has_note(const nf_sriov_config *c, const char *needle)
{
    for (size_t i = 0; i < nf_sriov_config_note_count(c); i++)
        if (strstr(nf_sriov_config_note(c, i), needle))
            return true;
    return false;
}

static void test_deployments_configmap(void **state)
{
    (void)state;
    nf_sriov_config *c = load_ok(DP "deployments/configMap.yaml");
    assert_int_equal(nf_sriov_config_count(c), 4);
    assert_string_equal(nf_sriov_config_resource(c, 0), "intel.com/intel_sriov_netdevice");
    assert_string_equal(nf_sriov_config_resource(c, 1), "intel.com/intel_sriov_dpdk");
    assert_string_equal(nf_sriov_config_resource(c, 2), "intel.com/mlnx_sriov_rdma");
    assert_string_equal(nf_sriov_config_resource(c, 3), "intel.com/brcm_sriov_bnxt");
    assert_true(has_note(c, "isRdma"));
    nf_sriov_dev d = {.pci = "0000:18:01.0",
                      .vendor = "8086",
                      .device = "1889",
                      .driver = "iavf",
                      .pf_pci = "0000:18:00.0",
                      .pf_netdev = "enp0s0f0",
                      .vf_index = 0,
                      .pci_class = 0x020000};
    assert_string_equal(nf_sriov_config_match(c, &d), "intel.com/intel_sriov_netdevice");
    d.driver = "vfio-pci";
    assert_string_equal(nf_sriov_config_match(c, &d), "intel.com/intel_sriov_dpdk");
    d.pf_netdev = "ens1f0"; /* not in pfNames */
    assert_null(nf_sriov_config_match(c, &d));
    d.pf_netdev = NULL;
    assert_null(nf_sriov_config_match(c, &d));
    nf_sriov_dev bnxt = {
        .vendor = "14e4", .device = "1750", .driver = "bnxt_en", .vf_index = 2, .pci_class = -1};
    assert_string_equal(nf_sriov_config_match(c, &bnxt), "intel.com/brcm_sriov_bnxt");
    nf_sriov_dev qat = bnxt;
    qat.pci_class = 0x0b4000; /* a co-processor VF is no netDevice */
    assert_null(nf_sriov_config_match(c, &qat));
    nf_sriov_config_free(c);
}

static void test_every_real_configmap(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int pools;
        const char *first;
        const char *note; /* NULL: no note expected */
    } cases[] = {
        {"docs/dpdk/configMap.yaml", 1, "intel.com/intel_x710vfio", NULL},
        {"docs/dpdk/mlnx-dpdk/configMap.yaml", 2, "mellanox.com/mlnx_connectx4", "isRdma"},
        {"docs/dpdk/configMap-all-nics.yaml", 1, "dpdk.org/nic", "isRdma"},
        {"docs/ddp/e800/configMap.yaml", 2, "intel.com/e800_default", "ddpProfiles"},
        {"docs/ddp/x700/configMap.yaml", 2, "intel.com/x700_gtp", "ddpProfiles"},
        {"docs/rdma/configMap.yaml", 2, "mellanox.com/mlnx_rdma", "isRdma"},
        {"deployments/configMap.yaml", 4, "intel.com/intel_sriov_netdevice", "isRdma"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), DP "%s", cases[i].file);
        nf_sriov_config *c = load_ok(path);
        assert_int_equal(nf_sriov_config_count(c), (size_t)cases[i].pools);
        assert_string_equal(nf_sriov_config_resource(c, 0), cases[i].first);
        if (cases[i].note)
            assert_true(has_note(c, cases[i].note));
        else
            assert_int_equal(nf_sriov_config_note_count(c), 0);
        nf_sriov_config_free(c);
    }
    /* all-nics: selectors as a list = OR of the objects */
    nf_sriov_config *c = load_ok(DP "docs/dpdk/configMap-all-nics.yaml");
    nf_sriov_dev mlx = {.vendor = "15b3",
                        .device = "1018",
                        .driver = "mlx5_core",
                        .vf_index = 0,
                        .pci_class = 0x020000};
    nf_sriov_dev x710 = {.vendor = "8086",
                         .device = "154c",
                         .driver = "vfio-pci",
                         .vf_index = 0,
                         .pci_class = 0x020000};
    assert_string_equal(nf_sriov_config_match(c, &mlx), "dpdk.org/nic");
    assert_string_equal(nf_sriov_config_match(c, &x710), "dpdk.org/nic");
    x710.driver = "iavf";
    assert_null(nf_sriov_config_match(c, &x710));
    nf_sriov_config_free(c);
}

/* configMap-virt.yaml upstream has trailing commas inside config.json: Go's json.Unmarshal in
 * the device plugin refuses it, so do we, naming the place. */
static void test_virt_configmap_refused(void **state)
{
    (void)state;
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_sriov_config_load(DP "docs/dpdk/configMap-virt.yaml", &c, &err), -EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "configMap-virt.yaml: data.config.json: line"));
}

static void test_fixture_config(void **state)
{
    (void)state;
    nf_sriov_config *c = load_ok(NF_SOURCE_DIR "/tests/fixtures/sriov-config.json");
    assert_int_equal(nf_sriov_config_count(c), 2);
    assert_string_equal(nf_sriov_config_resource(c, 0), "intel.com/intel_sriov_dpdk");
    assert_string_equal(nf_sriov_config_resource(c, 1), "intel.com/intel_sriov_netdevice");
    assert_int_equal(nf_sriov_config_note_count(c), 0);
    nf_sriov_config_free(c);
}

static void test_yaml_config_and_extras(void **state)
{
    (void)state;
    const char *yaml = "resourceList:\n"
                       "- resourceName: vf_a\n"
                       "  excludeTopology: true\n"
                       "  deviceType: accelerator\n"
                       "  selectors:\n"
                       "    vendors: ['8086']\n"
                       "    devices: ['37c9']\n"
                       "    acpiIndexes: ['1']\n"
                       "    frobnicate: [x]\n"
                       "- resourceName: aux\n"
                       "  deviceType: auxNetDevice\n";
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_sriov_config_parse(yaml, strlen(yaml), "inline", &c, &err), 0);
    assert_int_equal(nf_sriov_config_count(c), 2);
    assert_true(has_note(c, "excludeTopology"));
    assert_true(has_note(c, "acpiIndexes"));
    assert_true(has_note(c, "frobnicate: unknown selector"));
    assert_true(has_note(c, "auxNetDevice"));
    nf_sriov_dev qat = {.vendor = "8086",
                        .device = "37c9",
                        .driver = "vfio-pci",
                        .vf_index = 0,
                        .pci_class = 0x0b4000};
    assert_string_equal(nf_sriov_config_match(c, &qat), "intel.com/vf_a");
    qat.pci_class = 0x020000;
    assert_null(nf_sriov_config_match(c, &qat));
    nf_sriov_config_free(c);
}

static void test_bad_configs(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        {"", -EINVAL, "resourceList"},
        {"{", -EINVAL, "line 1"},
        {"{\"resourceList\": [{\"resourceName\": \"a\",}]}", -EINVAL, "line 1"},
        {"{\"resourceList\": {}}", -EINVAL, "resourceList: required, must be a list"},
        {"[1,2]", -EINVAL, "JSON object"},
        {"{\"resourceList\": [42]}", -EINVAL, "resourceList[0]: must be an object"},
        {"{\"resourceList\": [{}]}", -EINVAL, "resourceName: required"},
        {"{\"resourceList\": [{\"resourceName\": \"a/b\"}]}", -EINVAL, "resourceName"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"resourcePrefix\": \"x y\"}]}", -EINVAL,
         "resourcePrefix"},
        {"{\"resourceList\": [{\"resourceName\": \"a\"}, {\"resourceName\": \"a\"}]}", -EINVAL,
         "used twice"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": 5}]}", -EINVAL,
         "selectors: must be an object or a list"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": [5]}]}", -EINVAL,
         "selectors[0]: a selector must be an object"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"vendors\": \"8086\"}}]}",
         -EINVAL, "vendors: must be a list of strings"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"drivers\": [1]}}]}",
         -EINVAL, "drivers[0]: must be a string"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"pfNames\": "
         "[\"ens1#x\"]}}]}",
         -EINVAL, "VF ranges"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"pfNames\": "
         "[\"ens1#\"]}}]}",
         -EINVAL, "VF ranges"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"pfNames\": "
         "[\"#1\"]}}]}",
         -EINVAL, "empty name"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"pfNames\": "
         "[\"e#99999999\"]}}]}",
         -EINVAL, "VF ranges"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"deviceType\": \"gpu\"}]}", -EINVAL,
         "deviceType"},
        {"{\"resourceList\": [{\"resourceName\": \"a\", \"selectors\": {\"isRdma\": 3}}]}", -EINVAL,
         "isRdma: must be true or false"},
        {"kind: ConfigMap\ndata:\n  other.json: '{}'\n", -EINVAL, "config.json"},
        {"kind: ConfigMap\ndata:\n  config.json: '{\"resourceList\": 3'\n", -EINVAL,
         "data.config.json: line"},
        {"a: [b\n", -EINVAL, "neither JSON nor YAML"},
        {"a: &x 1\nb: *x\n", -EINVAL, "neither JSON nor YAML"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_sriov_config *c = (nf_sriov_config *)1;
        nf_err err = {{0}};
        int rc = nf_sriov_config_parse(cases[i].text, strlen(cases[i].text), "bad", &c, &err);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d msg \"%s\", want %d \"%s\"", i, rc, err.msg, cases[i].rc,
                     cases[i].msg);
        assert_null(c);
    }
    /* unreadable, oversized */
    nf_sriov_config *c = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_sriov_config_load("/nonexistent/config.json", &c, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/config.json"));
    char *dir = nft_tmpdir("sriov-config");
    const char *big = nft_path(dir, "big.json");
    char *spaces = malloc(1200000);
    assert_non_null(spaces);
    memset(spaces, ' ', 1200000);
    nft_write_bytes(big, spaces, 1200000);
    free(spaces);
    assert_int_equal(nf_sriov_config_load(big, &c, &err), -EFBIG);
    assert_null(c);
    assert_int_equal(nft_tmpdir_free(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deployments_configmap),  cmocka_unit_test(test_every_real_configmap),
        cmocka_unit_test(test_virt_configmap_refused), cmocka_unit_test(test_fixture_config),
        cmocka_unit_test(test_yaml_config_and_extras), cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
