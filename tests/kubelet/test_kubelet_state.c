/* test_kubelet_state.c - kubelet's state files: every real example in tests/realdata/kubelet,
 * checksums as kubelet computes them, both checkpoint versions, and bad input. */
#include "kubelet_test_util.h"

#include <unistd.h>

#include "kubelet_cpu_state.h"
#include "kubelet_device_checkpoint.h"
#include "kubelet_json.h"
#include "kubelet_memory_state.h"
#include "kubelet_spew.h"

static nf_cpu_state cpu_ok(const char *text, size_t len)
{
    nf_cpu_state s;
    nf_err err = {{0}};
    int rc = nf_cpu_state_parse(text, len, "test", &s, &err);
    if (rc)
        fail_msg("parse: %d %s", rc, err.msg);
    return s;
}

static nf_cpu_state cpu_real(const char *name)
{
    size_t len;
    char *text = realdata(name, &len);
    nf_cpu_state s = cpu_ok(text, len);
    free(text);
    return s;
}

static int cpu_fail(const char *text, nf_err *err)
{
    nf_cpu_state s;
    int rc = nf_cpu_state_parse(text, strlen(text), "test", &s, err);
    assert_int_not_equal(rc, 0);
    return rc;
}

static void test_fnv(void **state)
{
    (void)state;
    /* FORMATS.md: the V4 data checksum of this string is 657950972 */
    const char *s = "(string){\"policyName\":\"none\",\"defaultCPUSet\":\"4-6\"}";
    assert_int_equal(nf_fnv1a32(s, strlen(s)), 657950972u);
    assert_int_equal(nf_fnv1a32("", 0), 2166136261u);
}

static void test_cpu_examples(void **state)
{
    (void)state;
    nf_cpu_state s = cpu_real("cpu_manager_state.example-1.json");
    assert_int_equal(s.version, 2);
    assert_true(s.checksum_verified);
    assert_string_equal(s.checksum_type, "state.CPUManagerCheckpoint");
    assert_string_equal(s.policy_name, "static");
    assert_string_equal(nft_cpus_str(&s.default_cpus), "0,2-12,14-23");
    assert_int_equal(s.n_assignments, 1);
    assert_string_equal(s.assignments[0].pod_uid, "235148fe-393f-47a8-a17d-bd55bc1a836b");
    assert_string_equal(s.assignments[0].container, "cgroup1-0");
    assert_string_equal(nft_cpus_str(&s.assignments[0].cpus), "1,13");
    nf_cpu_state_free(&s);

    s = cpu_real("cpu_manager_state.example-2-v1era-none.json");
    assert_true(s.checksum_verified);
    assert_int_equal(s.version, 1); /* only the V1 struct's dump matches */
    assert_string_equal(s.policy_name, "none");
    assert_true(nf_cpuset_empty(&s.default_cpus));
    assert_int_equal(s.n_assignments, 0);
    nf_cpu_state_free(&s);

    s = cpu_real("cpu_manager_state.example-3.json");
    assert_true(s.checksum_verified);
    assert_int_equal(s.n_assignments, 2);
    assert_string_equal(s.assignments[0].pod_uid, "55784671-0e4e-49e2-b4d6-c0377ca14c81");
    assert_string_equal(nft_cpus_str(&s.assignments[0].cpus), "1-12");
    assert_string_equal(s.assignments[1].pod_uid, "6c5f3038-adfc-485d-9943-3fd5e825300d");
    assert_string_equal(nft_cpus_str(&s.assignments[1].cpus), "14-27");
    nf_cpuset all = {0};
    assert_int_equal(nf_cpu_state_allocated(&s, &all), 0);
    assert_string_equal(nft_cpus_str(&all), "1-12,14-27");
    nf_cpuset_free(&all);
    nf_cpu_state_free(&s);

    s = cpu_real("cpu_manager_state.example-4-cross-numa.json");
    assert_true(s.checksum_verified);
    assert_int_equal(s.n_assignments, 2);
    assert_string_equal(nft_cpus_str(&s.assignments[0].cpus), "1-13,17-19");
    assert_string_equal(nft_cpus_str(&s.assignments[1].cpus), "14-16");
    nf_cpu_state_free(&s);

    s = cpu_real("cpu_manager_state.example-5-no-entries.json");
    assert_true(s.checksum_verified);
    assert_int_equal(s.version, 2);
    assert_string_equal(nft_cpus_str(&s.default_cpus), "0-27");
    assert_int_equal(s.n_assignments, 0);
    nf_cpu_state_free(&s);
}

static void test_cpu_fixtures(void **state)
{
    (void)state;
    /* V1: entries keyed by container ID, "defaultCPUSet" spelled as Go's tests do */
    nf_cpu_state s = cpu_real("cpu_manager_state.fixture-v1.json");
    assert_int_equal(s.version, 1);
    assert_true(s.checksum_verified);
    assert_string_equal(nft_cpus_str(&s.default_cpus), "7-9");
    assert_int_equal(s.n_assignments, 2);
    assert_null(s.assignments[0].pod_uid);
    assert_string_equal(s.assignments[0].container, "containerID1");
    assert_string_equal(nft_cpus_str(&s.assignments[0].cpus), "4-6");
    nf_cpu_state_free(&s);

    /* V2 content whose checksum only matches the V3 struct name (with PodEntries) */
    s = cpu_real("cpu_manager_state.fixture-v2-v3name.json");
    assert_int_equal(s.version, 2);
    assert_true(s.checksum_verified);
    assert_string_equal(s.checksum_type, "state.CPUManagerCheckpointV3");
    assert_int_equal(s.n_assignments, 2);
    assert_string_equal(s.assignments[0].pod_uid, "pod");
    assert_string_equal(s.assignments[0].container, "container1");
    assert_string_equal(s.assignments[1].container, "container2");
    assert_string_equal(nft_cpus_str(&s.assignments[1].cpus), "1-3");
    nf_cpu_state_free(&s);

    /* V4: data wins over the (deliberately wrong) legacy fields */
    s = cpu_real("cpu_manager_state.fixture-v4.json");
    assert_int_equal(s.version, 4);
    assert_true(s.checksum_verified);
    assert_string_equal(s.checksum_type, "data");
    assert_string_equal(s.policy_name, "static");
    assert_string_equal(nft_cpus_str(&s.default_cpus), "1-3");
    assert_int_equal(s.n_assignments, 3);
    assert_string_equal(s.assignments[0].container, "container1");
    assert_string_equal(nft_cpus_str(&s.assignments[0].cpus), "4-6");
    assert_string_equal(s.assignments[1].container, "container2");
    assert_string_equal(nft_cpus_str(&s.assignments[1].cpus), "7-9");
    assert_null(s.assignments[2].container); /* pod-level entry */
    assert_string_equal(nft_cpus_str(&s.assignments[2].cpus), "4-10");
    nf_cpu_state_free(&s);
}

/* A V2 file with two pods, checksummed from a dump written here by hand. */
static void test_cpu_own_checksum(void **state)
{
    (void)state;
    const char *dump = "(*state.CPUManagerCheckpoint){PolicyName:(string)static "
                       "DefaultCPUSet:(string)0,5-7 Entries:(map[string]map[string]string)"
                       "map[aaa:map[c1:1 c2:2] bbb:map[x:3-4]] Checksum:(checksum.Checksum)0}";
    char json[512];
    snprintf(json, sizeof(json),
             "{\"policyName\":\"static\",\"defaultCpuSet\":\"0,5-7\",\"entries\":{\"bbb\":{\"x\":"
             "\"3-4\"},\"aaa\":{\"c2\":\"2\",\"c1\":\"1\"}},\"checksum\":%u}",
             nf_fnv1a32(dump, strlen(dump)));
    nf_cpu_state s = cpu_ok(json, strlen(json));
    assert_true(s.checksum_verified);
    assert_int_equal(s.n_assignments, 3);
    assert_string_equal(s.assignments[2].pod_uid, "bbb");
    assert_string_equal(nft_cpus_str(&s.assignments[2].cpus), "3-4");
    nf_cpu_state_free(&s);

    /* a V1 dump with the newer V1 type name also verifies */
    dump = "(*state.CPUManagerCheckpointV1){PolicyName:(string)static DefaultCPUSet:(string)0 "
           "Entries:(map[string]string)map[cid:1-3] Checksum:(checksum.Checksum)0}";
    snprintf(json, sizeof(json),
             "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"cid\":\"1-3\"},"
             "\"checksum\":%u}",
             nf_fnv1a32(dump, strlen(dump)));
    s = cpu_ok(json, strlen(json));
    assert_int_equal(s.version, 1);
    assert_string_equal(s.checksum_type, "state.CPUManagerCheckpointV1");
    nf_cpu_state_free(&s);
}

static void test_cpu_bad(void **state)
{
    (void)state;
    nf_err err = {{0}};
    /* bad checksum */
    assert_int_equal(cpu_fail("{\"policyName\":\"static\",\"defaultCpuSet\":\"0,2-12,14-23\","
                              "\"entries\":{\"235148fe-393f-47a8-a17d-bd55bc1a836b\":{\"cgroup1-"
                              "0\":\"1,13\"}},\"checksum\":1552716371}",
                              &err),
                     -EBADMSG);
    assert_non_null(strstr(err.msg, "checksum mismatch"));
    /* the real checksum, but content edited */
    assert_int_equal(cpu_fail("{\"policyName\":\"static\",\"defaultCpuSet\":\"0,2-12,14-23\","
                              "\"entries\":{\"235148fe-393f-47a8-a17d-bd55bc1a836b\":{\"cgroup1-"
                              "0\":\"1,14\"}},\"checksum\":1552716370}",
                              &err),
                     -EBADMSG);
    /* truncated mid-write */
    size_t len;
    char *text = realdata("cpu_manager_state.example-3.json", &len);
    for (size_t cut = 0; cut < len; cut += 7) {
        nf_cpu_state s;
        assert_int_not_equal(nf_cpu_state_parse(text, cut, "t", &s, &err), 0);
    }
    free(text);
    assert_int_equal(cpu_fail("{\"policyName\":\"static\",\"defaultCpuSet\":\"0-3\"", &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "invalid JSON"));
    /* absurd CPU ids, wrong types, mixed versions */
    assert_int_equal(
        cpu_fail("{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"p\":{\"c\":"
                 "\"1-99999999\"}},\"checksum\":0}",
                 &err),
        -ERANGE);
    assert_non_null(strstr(err.msg, "p/c"));
    assert_int_equal(cpu_fail("{\"defaultCpuSet\":5}", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"entries\":[1]}", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"entries\":{\"a\":\"1\",\"b\":{\"c\":\"2\"}}}", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"entries\":{\"a\":{\"c\":7}}}", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"checksum\":-4}", &err), -ERANGE);
    assert_int_equal(cpu_fail("{\"checksum\":\"12\"}", &err), -EINVAL);
    assert_int_equal(cpu_fail("[1,2]", &err), -EINVAL);
    assert_int_equal(cpu_fail("", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"data\":5}", &err), -EINVAL);
    assert_int_equal(cpu_fail("{\"data\":\"{}\",\"dataChecksum\":17}", &err), -EBADMSG);
    assert_int_equal(cpu_fail("{\"data\":\"{\\\"entries\\\":\",\"dataChecksum\":0}", &err),
                     -EINVAL);
}

static void test_cpu_lenient(void **state)
{
    (void)state;
    /* unknown fields are ignored, as Go does, and do not enter the checksum */
    const char *t = "{\"policyName\":\"static\",\"extra\":{\"x\":[1,2]},\"defaultCpuSet\":\"0-27\","
                    "\"checksum\":273146150,\"future\":true}";
    nf_cpu_state s = cpu_ok(t, strlen(t));
    assert_true(s.checksum_verified);
    nf_cpu_state_free(&s);
    /* empty entries dump like missing ones (kubelet pre-creates the map) */
    t = "{\"policyName\":\"static\",\"defaultCpuSet\":\"0-27\",\"entries\":{},"
        "\"checksum\":273146150}";
    s = cpu_ok(t, strlen(t));
    assert_true(s.checksum_verified);
    assert_int_equal(s.n_assignments, 0);
    nf_cpu_state_free(&s);
    /* checksum 0: kubelet skips verification, so do we */
    t = "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"entries\":{\"p\":{\"c\":\"1-2\"}},"
        "\"checksum\":0}";
    s = cpu_ok(t, strlen(t));
    assert_false(s.checksum_verified);
    assert_null(s.checksum_type);
    assert_int_equal(s.n_assignments, 1);
    nf_cpu_state_free(&s);
    /* podEntries (V3) whose dump is unconfirmed: accepted, marked unverified */
    t = "{\"policyName\":\"static\",\"defaultCpuSet\":\"0\",\"podEntries\":{\"p\":{\"cpuSet\":"
        "\"1-2\"}},\"checksum\":99}";
    s = cpu_ok(t, strlen(t));
    assert_int_equal(s.version, 3);
    assert_false(s.checksum_verified);
    assert_int_equal(s.n_assignments, 1);
    assert_null(s.assignments[0].container);
    nf_cpu_state_free(&s);
}

static void test_cpu_load(void **state)
{
    (void)state;
    char *dir = nft_tmpdir("kstate");
    char *path = nf_path_join(dir, "cpu_manager_state", NULL);
    nf_cpu_state s;
    nf_err err;
    assert_int_equal(nf_cpu_state_load(path, &s, &err), -ENOENT);
    /* a huge file is refused before parsing */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, (17L << 20), SEEK_SET), 0);
    fputc('}', f);
    fclose(f);
    assert_int_equal(nf_cpu_state_load(path, &s, &err), -EFBIG);
    assert_int_equal(nft_tmpdir_free(dir), 0);
    free(path);
}

/* ---- memory manager ---- */

static nf_memory_state mem_ok(const char *text, size_t len)
{
    nf_memory_state s;
    nf_err err = {{0}};
    int rc = nf_memory_state_parse(text, len, "test", &s, &err);
    if (rc)
        fail_msg("parse: %d %s", rc, err.msg);
    return s;
}

static void test_memory_fixtures(void **state)
{
    (void)state;
    size_t len;
    char *text = realdata("memory_manager_state.fixture-v1.json", &len);
    nf_memory_state s = mem_ok(text, len);
    free(text);
    assert_int_equal(s.version, 1);
    assert_true(s.checksum_verified);
    assert_string_equal(s.checksum_type, "state.MemoryManagerCheckpoint");
    assert_string_equal(s.policy_name, "static");
    assert_int_equal(s.n_nodes, 1);
    const nf_memory_table *t = nf_memory_state_table(&s, 0, "memory");
    assert_non_null(t);
    assert_int_equal(t->total, 2048);
    assert_int_equal(t->system_reserved, 512);
    assert_int_equal(t->allocatable, 1536);
    assert_int_equal(t->reserved, 512);
    assert_int_equal(t->free, 1024);
    assert_null(nf_memory_state_table(&s, 1, "memory"));
    assert_int_equal(s.n_assignments, 1);
    assert_string_equal(s.assignments[0].pod_uid, "pod");
    assert_string_equal(s.assignments[0].container, "container1");
    assert_int_equal(s.assignments[0].n_blocks, 1);
    assert_int_equal(s.assignments[0].blocks[0].n_numa, 1);
    assert_int_equal(s.assignments[0].blocks[0].numa[0], 0);
    assert_string_equal(s.assignments[0].blocks[0].type, "memory");
    assert_int_equal(s.assignments[0].blocks[0].size, 512);
    nf_memory_state_free(&s);

    text = realdata("memory_manager_state.fixture-v3.json", &len);
    s = mem_ok(text, len);
    free(text);
    assert_int_equal(s.version, 3);
    assert_true(s.checksum_verified);
    assert_string_equal(s.policy_name, "static");
    assert_int_equal(s.n_assignments, 1);
    assert_string_equal(s.assignments[0].container, "container1"); /* not the legacy containerX */
    assert_int_equal(s.assignments[0].blocks[0].size, 512);
    nf_memory_state_free(&s);
}

static void test_memory_own(void **state)
{
    (void)state;
    /* two NUMA nodes (keys sorted numerically), hugepages, a block spanning both */
    const char *dump =
        "(*state.MemoryManagerCheckpoint){PolicyName:(string)Static "
        "MachineState:(state.NUMANodeMap)map[0:<*>{NumberOfAssignments:(int)2 "
        "MemoryMap:(map[v1.ResourceName]*state.MemoryTable)map[hugepages-1Gi:<*>{TotalMemSize:"
        "(uint64)4 SystemReserved:(uint64)0 Allocatable:(uint64)4 Reserved:(uint64)2 "
        "Free:(uint64)2} memory:<*>{TotalMemSize:(uint64)100 SystemReserved:(uint64)10 "
        "Allocatable:(uint64)90 Reserved:(uint64)90 Free:(uint64)0}] Cells:([]int)[0 1]} "
        "1:<*>{NumberOfAssignments:(int)1 MemoryMap:(map[v1.ResourceName]*state.MemoryTable)"
        "map[] Cells:([]int)<nil>}] Entries:(state.ContainerMemoryAssignments)map[p1:map[c:[{"
        "NUMAAffinity:([]int)[0] Type:(v1.ResourceName)hugepages-1Gi Size:(uint64)2} {"
        "NUMAAffinity:([]int)[0 1] Type:(v1.ResourceName)memory Size:(uint64)120}]]] "
        "Checksum:(checksum.Checksum)0}";
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"policyName\":\"Static\",\"machineState\":{\"1\":{\"numberOfAssignments\":1,"
             "\"memoryMap\":{}},\"0\":{\"numberOfAssignments\":2,\"memoryMap\":{\"memory\":{"
             "\"total\":100,\"systemReserved\":10,\"allocatable\":90,\"reserved\":90,\"free\":0},"
             "\"hugepages-1Gi\":{\"total\":4,\"systemReserved\":0,\"allocatable\":4,\"reserved\":"
             "2,\"free\":2}},\"cells\":[0,1]}},\"entries\":{\"p1\":{\"c\":[{\"numaAffinity\":[0],"
             "\"type\":\"hugepages-1Gi\",\"size\":2},{\"numaAffinity\":[0,1],\"type\":\"memory\","
             "\"size\":120}]}},\"checksum\":%u}",
             nf_fnv1a32(dump, strlen(dump)));
    nf_memory_state s = mem_ok(json, strlen(json));
    assert_true(s.checksum_verified);
    assert_int_equal(s.n_nodes, 2);
    assert_int_equal(s.nodes[0].id, 0);
    assert_int_equal(s.nodes[0].n_cells, 2);
    assert_int_equal(s.nodes[1].n_cells, 0);
    assert_int_equal(s.assignments[0].n_blocks, 2);
    assert_int_equal(s.assignments[0].blocks[1].n_numa, 2);
    nf_memory_state_free(&s);

    nf_err err;
    const char *bad[] = {
        "{\"entries\":{\"p\":{\"c\":[{\"numaAffinity\":[0],\"type\":\"memory\",\"size\":-5}]}}}",
        "{\"entries\":{\"p\":{\"c\":[{\"numaAffinity\":[5000],\"type\":\"memory\",\"size\":5}]}}}",
        "{\"entries\":{\"p\":{\"c\":[{\"numaAffinity\":\"0\",\"type\":\"memory\",\"size\":5}]}}}",
        "{\"entries\":{\"p\":{\"c\":{}}}}",
        "{\"machineState\":{\"x\":{}}}",
        "{\"machineState\":{\"0\":{\"memoryMap\":{\"memory\":{\"total\":-1}}}}}",
        "{\"machineState\":{\"0\":{\"memoryMap\":{\"memory\":{\"total\":1.5}}}}}",
        "{\"policyName\":\"Static\",\"checksum\":12345}",
        "{\"policyName\":\"Static\",",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        nf_memory_state m;
        if (nf_memory_state_parse(bad[i], strlen(bad[i]), "t", &m, &err) == 0)
            fail_msg("accepted: %s", bad[i]);
    }
}

/* ---- device manager ---- */

static nf_device_checkpoint dev_ok(const char *text, size_t len)
{
    nf_device_checkpoint c;
    nf_err err = {{0}};
    int rc = nf_device_checkpoint_parse(text, len, "test", &c, &err);
    if (rc)
        fail_msg("parse: %d %s", rc, err.msg);
    return c;
}

static void test_device_examples(void **state)
{
    (void)state;
    size_t len;
    char *text = realdata("kubelet_internal_checkpoint.example-1.json", &len);
    nf_device_checkpoint c = dev_ok(text, len);
    free(text);
    assert_int_equal(c.version, 2);
    assert_true(c.checksum_verified);
    assert_string_equal(c.checksum_type, "checkpoint.checkpointData");
    assert_int_equal(c.n_allocs, 1);
    assert_string_equal(c.allocs[0].pod_uid, "513cb897-0262-4868-826f-aa943ee45a38");
    assert_string_equal(c.allocs[0].container, "app");
    assert_string_equal(c.allocs[0].resource, "nvidia.com/gpu");
    assert_int_equal(c.allocs[0].numa, 0);
    assert_string_equal(c.allocs[0].device_id, "GPU-77a702db-e37f-3a74-d46d-c5713f66058c");
    nf_device_checkpoint_free(&c);

    text = realdata("kubelet_internal_checkpoint.example-2-two-pods.json", &len);
    c = dev_ok(text, len);
    free(text);
    assert_true(c.checksum_verified);
    assert_int_equal(c.n_allocs, 3);
    assert_string_equal(c.allocs[1].pod_uid, "94283d1b-ce5a-4797-bff8-0cf0c7143b2b");
    assert_int_equal(c.allocs[1].numa, 1);
    assert_int_equal(c.allocs[2].numa, 1);
    assert_string_equal(c.allocs[1].device_id, "GPU-9b341c59-f96b-ba85-c137-78c3652fea65");
    nf_device_checkpoint_free(&c);

    text = realdata("kubelet_internal_checkpoint.example-3-nonuma.json", &len);
    c = dev_ok(text, len);
    free(text);
    assert_true(c.checksum_verified);
    assert_int_equal(c.n_allocs, 1);
    assert_int_equal(c.allocs[0].numa, -1);
    assert_string_equal(c.allocs[0].device_id, "tegra");
    nf_device_checkpoint_free(&c);
}

static void test_device_own(void **state)
{
    (void)state;
    /* pre-1.20 form: DeviceIDs is a plain array; AllocResp "CgE=" = bytes 10 1 */
    const char *dump = "(checkpoint.checkpointData){PodDeviceEntries:([]checkpoint."
                       "PodDevicesEntry)[{PodUID:(string)p1 ContainerName:(string)c "
                       "ResourceName:(string)intel.com/sriov DeviceIDs:([]string)[0000:18:01.0 "
                       "0000:18:01.1] AllocResp:([]uint8)[10 1]}] RegisteredDevices:(map[string]["
                       "]string)map[intel.com/sriov:[0000:18:01.0 0000:18:01.1 0000:18:01.2]]}";
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"p1\",\"ContainerName\":\"c\","
             "\"ResourceName\":\"intel.com/sriov\",\"DeviceIDs\":[\"0000:18:01.0\",\"0000:18:01."
             "1\"],\"AllocResp\":\"CgE=\"}],\"RegisteredDevices\":{\"intel.com/sriov\":[\"0000:18:"
             "01.0\",\"0000:18:01.1\",\"0000:18:01.2\"]}},\"Checksum\":%u}",
             nf_fnv1a32(dump, strlen(dump)));
    nf_device_checkpoint c = dev_ok(json, strlen(json));
    assert_int_equal(c.version, 1);
    assert_true(c.checksum_verified);
    assert_int_equal(c.n_allocs, 2);
    assert_int_equal(c.allocs[0].numa, -1);
    assert_string_equal(c.allocs[1].device_id, "0000:18:01.1");
    nf_device_checkpoint_free(&c);

    /* per-NUMA form with NUMA keys sorted as integers; nil AllocResp */
    dump = "(checkpoint.checkpointData){PodDeviceEntries:([]checkpoint.PodDevicesEntry)[{PodUID:("
           "string)p ContainerName:(string)c ResourceName:(string)r DeviceIDs:(checkpoint."
           "DevicesPerNUMA)map[-1:[x] 1:[a b]] AllocResp:([]uint8)<nil>}] RegisteredDevices:(map["
           "string][]string)<nil>}";
    snprintf(json, sizeof(json),
             "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"p\",\"ContainerName\":\"c\","
             "\"ResourceName\":\"r\",\"DeviceIDs\":{\"1\":[\"a\",\"b\"],\"-1\":[\"x\"]}}]},"
             "\"Checksum\":%u}",
             nf_fnv1a32(dump, strlen(dump)));
    c = dev_ok(json, strlen(json));
    assert_true(c.checksum_verified);
    assert_int_equal(c.n_allocs, 3);
    nf_device_checkpoint_free(&c);

    /* empty checkpoint (kubelet writes this on a node without device plugins) */
    const char *empty = "{\"Data\":{\"PodDeviceEntries\":null,\"RegisteredDevices\":{}},"
                        "\"Checksum\":0}";
    c = dev_ok(empty, strlen(empty));
    assert_int_equal(c.n_allocs, 0);
    nf_device_checkpoint_free(&c);

    nf_err err;
    const char *bad[] = {
        "{\"Data\":{\"PodDeviceEntries\":[{\"DeviceIDs\":{\"abc\":[\"x\"]}}]}}",
        "{\"Data\":{\"PodDeviceEntries\":[{\"DeviceIDs\":{\"99999\":[\"x\"]}}]}}",
        "{\"Data\":{\"PodDeviceEntries\":[{\"DeviceIDs\":{\"0\":[5]}}]}}",
        "{\"Data\":{\"PodDeviceEntries\":[{\"DeviceIDs\":7}]}}",
        "{\"Data\":{\"PodDeviceEntries\":[{\"AllocResp\":\"@@@@\"}]}}",
        "{\"Data\":{\"PodDeviceEntries\":[{\"AllocResp\":\"CgE\"}]}}",
        "{\"Data\":{\"PodDeviceEntries\":{}}}",
        "{\"Data\":{\"RegisteredDevices\":{\"r\":[1]}}}",
        "{\"Data\":[],\"Checksum\":0}",
        "{\"Data\":{\"PodDeviceEntries\":[]},\"Checksum\":1}",
        "{\"Data\":{\"PodDeviceEntries\":[",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        nf_device_checkpoint d;
        if (nf_device_checkpoint_parse(bad[i], strlen(bad[i]), "t", &d, &err) == 0)
            fail_msg("accepted: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv),          cmocka_unit_test(test_cpu_examples),
        cmocka_unit_test(test_cpu_fixtures), cmocka_unit_test(test_cpu_own_checksum),
        cmocka_unit_test(test_cpu_bad),      cmocka_unit_test(test_cpu_lenient),
        cmocka_unit_test(test_cpu_load),     cmocka_unit_test(test_memory_fixtures),
        cmocka_unit_test(test_memory_own),   cmocka_unit_test(test_device_examples),
        cmocka_unit_test(test_device_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
