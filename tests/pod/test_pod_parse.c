/* test_pod_parse.c - numafit-pod's small parsers (pod_huge.h, pod_vfs.h) and the EAL line's
 * quoting and --socket-mem on a hand-built view (pod_eal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pod_eal.h"
#include "pod_huge.h"
#include "pod_vfs.h"

static void test_parse_size(void **state)
{
    uint64_t v = 0;
    assert_int_equal(nf_pod_parse_size("2M", &v), 0);
    assert_int_equal(v, 2u << 20);
    assert_int_equal(nf_pod_parse_size("1024M", &v), 0);
    assert_int_equal(v, 1u << 30);
    assert_int_equal(nf_pod_parse_size("1G", &v), 0);
    assert_int_equal(v, 1u << 30);
    assert_int_equal(nf_pod_parse_size("2048k", &v), 0);
    assert_int_equal(v, 2u << 20);
    assert_int_equal(nf_pod_parse_size("16GB", &v), 0);
    assert_int_equal(v, UINT64_C(16) << 30);
    assert_int_equal(nf_pod_parse_size("", &v), -EINVAL);
    assert_int_equal(nf_pod_parse_size("0M", &v), -EINVAL);
    assert_int_equal(nf_pod_parse_size("2X", &v), -EINVAL);
    assert_int_equal(nf_pod_parse_size("2Mx", &v), -EINVAL);
    assert_int_equal(nf_pod_parse_size("99999999999999999999G", &v), -EINVAL);
    assert_int_equal(nf_pod_parse_size("17179869184G", &v), -ERANGE);
}

static void test_hugetlb_name(void **state)
{
    char b[32];
    assert_string_equal(nf_pod_hugetlb_name(2u << 20, b, sizeof(b)), "2MB");
    assert_string_equal(nf_pod_hugetlb_name(1u << 30, b, sizeof(b)), "1GB");
    assert_string_equal(nf_pod_hugetlb_name(64u << 10, b, sizeof(b)), "64KB");
    assert_string_equal(nf_pod_hugetlb_name(UINT64_C(16) << 30, b, sizeof(b)), "16GB");
    assert_string_equal(nf_pod_hugetlb_name(32u << 20, b, sizeof(b)), "32MB");
}

static void test_annotation(void **state)
{
    const char *text = "kubernetes.io/config.seen=\"2026-12-04T10:00:00Z\"\n"
                       "k8s.v1.cni.cncf.io/network-status=\"[{\\n  \\\"name\\\": \\\"a\\\\b\\\","
                       "\\t\\x41\\u00e9\\\"\"\n"
                       "other=\"x\"\n";
    char *v = NULL;
    assert_int_equal(nf_pod_annotation(text, "k8s.v1.cni.cncf.io/network-status", &v), 0);
    assert_string_equal(v, "[{\n  \"name\": \"a\\b\",\tA?\"");
    free(v);
    assert_int_equal(nf_pod_annotation(text, "other", &v), 0);
    assert_string_equal(v, "x");
    free(v);
    assert_int_equal(nf_pod_annotation(text, "k8s.v1.cni.cncf.io/network", &v), -ENOENT);
    assert_int_equal(nf_pod_annotation("", "other", &v), -ENOENT);
    /* a value cut short (no closing quote, a trailing backslash) ends where the text does */
    assert_int_equal(nf_pod_annotation("k=\"ab\\", "k", &v), 0);
    assert_string_equal(v, "ab");
    free(v);
}

static void test_bdf(void **state)
{
    assert_true(nf_pod_bdf_valid("0000:86:01.0"));
    assert_true(nf_pod_bdf_valid("0000:AF:1f.7"));
    assert_false(nf_pod_bdf_valid("86:01.0"));
    assert_false(nf_pod_bdf_valid("0000:86:01.0 "));
    assert_false(nf_pod_bdf_valid("0000:86:01:0"));
    assert_false(nf_pod_bdf_valid("0000:8g:01.0"));
    assert_false(nf_pod_bdf_valid(""));
}

/* A view of 4 NUMA nodes (ids 0, 1, 3 online: 2 is offline), CPUs 5,7 on node 3. */
static void test_eal_line(void **state)
{
    nf_pod_node nodes[3] = {{.id = 0}, {.id = 1}, {.id = 3}};
    nf_pod_cpu cpu[2] = {{.id = 5, .node = 3}, {.id = 7, .node = 3}};
    nf_pod_mount mount = {.path = "/dev/huge pages", .page_bytes = 1u << 30, .writable = true};
    nf_pod_vf vf = {.bdf = "0000:86:01.0", .source = "PCIDEVICE_X", .numa = 3};
    nf_pod_view v = {.cpus = {.cpu = cpu, .n = 2, .nodes = nodes, .n_nodes = 3},
                     .vfs = {.vf = &vf, .n = 1},
                     .file_prefix = "pod-1"};
    assert_int_equal(nf_cpuset_parse("5,7", &v.cpus.set, NULL), 0);
    nf_pod_verdict vd = {
        .aligned = true, .node = 3, .mount = &mount, .socket_mem = INT64_C(3) << 30};
    nf_pod_eal e;
    nf_buf b = {0};
    assert_int_equal(nf_pod_eal_make(&v, &vd, &e), 0);
    assert_int_equal(nf_pod_eal_line(&e, &b), 0);
    assert_string_equal(b.p, "-l 5,7 --main-lcore 5 -a 0000:86:01.0 --huge-dir '/dev/huge pages' "
                             "--socket-mem 0,0,0,3072 --file-prefix pod-1\n");
    nf_buf_free(&b);
    assert_int_equal(nf_pod_eal_json(&e, &v, &vd, &b), 0);
    assert_non_null(strstr(b.p, "\"hugeDir\":\"/dev/huge pages\",\"inMemory\":false,"
                                "\"socketMem\":\"0,0,0,3072\""));
    nf_buf_free(&b);
    nf_pod_eal_free(&e);
    /* no mount, less than 1 MiB: --in-memory, no --socket-mem; a quote in a path is escaped */
    vd.mount = NULL;
    vd.socket_mem = 4096;
    v.file_prefix = "it's";
    assert_int_equal(nf_pod_eal_make(&v, &vd, &e), 0);
    assert_int_equal(nf_pod_eal_line(&e, &b), 0);
    assert_string_equal(b.p, "-l 5,7 --main-lcore 5 -a 0000:86:01.0 --in-memory "
                             "--file-prefix 'it'\\''s'\n");
    nf_buf_free(&b);
    nf_pod_eal_free(&e);
    nf_cpuset_free(&v.cpus.set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size), cmocka_unit_test(test_hugetlb_name),
        cmocka_unit_test(test_annotation), cmocka_unit_test(test_bdf),
        cmocka_unit_test(test_eal_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
