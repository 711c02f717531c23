/* test_yaml_json.c - YAML -> jansson: core-schema scalars, nesting, streams, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/yaml_json.h"

/* Load text (all documents) and compare with the JSON text want (compared as values). */
static void loads_as(const char *yaml, const char *want_json)
{
    json_t *got = NULL;
    nf_err err = {{0}};
    int rc = nf_yaml_load_all(yaml, strlen(yaml), &got, &err);
    if (rc)
        fail_msg("YAML <<%s>>: rc %d (%s)", yaml, rc, err.msg);
    json_error_t je;
    json_t *want = json_loads(want_json, JSON_DECODE_ANY, &je);
    if (!want)
        fail_msg("bad expectation %s: %s", want_json, je.text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("YAML <<%s>> -> %s, want %s", yaml, g, want_json);
    }
    json_decref(got);
    json_decref(want);
}

/* Value of a one-document stream whose root is `v: <scalar>`. */
static json_t *scalar_of(const char *scalar)
{
    char *doc;
    assert_true(asprintf(&doc, "v: %s\n", scalar) > 0);
    json_t *root = NULL;
    nf_err err = {{0}};
    int rc = nf_yaml_load(doc, strlen(doc), &root, &err);
    if (rc)
        fail_msg("scalar %s: rc %d (%s)", scalar, rc, err.msg);
    free(doc);
    json_t *v = json_incref(json_object_get(root, "v"));
    assert_non_null(v);
    json_decref(root);
    return v;
}

static void scalar_is_string(const char *scalar, const char *want)
{
    json_t *v = scalar_of(scalar);
    if (!json_is_string(v))
        fail_msg("scalar %s: not a string (type %d)", scalar, json_typeof(v));
    assert_string_equal(json_string_value(v), want);
    json_decref(v);
}

static void scalar_is_int(const char *scalar, json_int_t want)
{
    json_t *v = scalar_of(scalar);
    if (!json_is_integer(v))
        fail_msg("scalar %s: not an integer (type %d)", scalar, json_typeof(v));
    assert_int_equal(json_integer_value(v), want);
    json_decref(v);
}

static void scalar_is_real(const char *scalar, double want)
{
    json_t *v = scalar_of(scalar);
    if (!json_is_real(v))
        fail_msg("scalar %s: not a real (type %d)", scalar, json_typeof(v));
    assert_true(json_real_value(v) == want);
    json_decref(v);
}

static void scalar_is(const char *scalar, json_type type)
{
    json_t *v = scalar_of(scalar);
    if (json_typeof(v) != type)
        fail_msg("scalar %s: type %d, want %d", scalar, json_typeof(v), type);
    json_decref(v);
}

static void test_scalars(void **state)
{
    (void)state;
    scalar_is("true", JSON_TRUE);
    scalar_is("True", JSON_TRUE);
    scalar_is("TRUE", JSON_TRUE);
    scalar_is("false", JSON_FALSE);
    scalar_is("False", JSON_FALSE);
    scalar_is("null", JSON_NULL);
    scalar_is("Null", JSON_NULL);
    scalar_is("~", JSON_NULL);
    scalar_is("", JSON_NULL);
    scalar_is_int("0", 0);
    scalar_is_int("42", 42);
    scalar_is_int("-7", -7);
    scalar_is_int("0x1F", 31);
    scalar_is_int("9223372036854775807", INT64_MAX);
    scalar_is_real("1.5", 1.5);
    scalar_is_real("-0.25", -0.25);
    scalar_is_real("1e3", 1000.0);
    scalar_is_real(".5", 0.5);
    /* YAML 1.1 words are strings in the core schema */
    scalar_is_string("yes", "yes");
    scalar_is_string("no", "no");
    scalar_is_string("on", "on");
    scalar_is_string("tRue", "tRue");
    /* quoted scalars are always strings */
    scalar_is_string("\"42\"", "42");
    scalar_is_string("'true'", "true");
    scalar_is_string("\"null\"", "null");
    scalar_is_string("''", "");
    scalar_is_string("\"0x10\"", "0x10");
    /* things that look numeric but are not numbers */
    scalar_is_string("0755", "0755");
    scalar_is_string("00", "00");
    scalar_is_string("1_000", "1_000");
    scalar_is_string("1.2.3", "1.2.3");
    scalar_is_string("0-3,8", "0-3,8");
    scalar_is_string("2Gi", "2Gi");
    scalar_is_string("500ms", "500ms");
    scalar_is_string("inf", "inf");
    scalar_is_string("nan", "nan");
    scalar_is_string("1e", "1e");
    scalar_is_string("+", "+");
    scalar_is_string("-x", "-x");
    scalar_is_string("99999999999999999999", "99999999999999999999");
    /* a number too large for a double is kept as text, not lost */
    scalar_is_string("1e999", "1e999");
    scalar_is_string("\"caf\\u00e9\"", "caf\xc3\xa9");
    scalar_is_string("static", "static");
}

static void test_structures(void **state)
{
    (void)state;
    loads_as("a: 1\nb: [x, 2, true]\nc:\n  d: {e: null}\n  f:\n  - g: h\n  - 3.5\n",
             "[{\"a\": 1, \"b\": [\"x\", 2, true], \"c\": {\"d\": {\"e\": null}, "
             "\"f\": [{\"g\": \"h\"}, 3.5]}}]");
    loads_as("- 1\n- - 2\n  - - 3\n", "[[1, [2, [3]]]]");
    loads_as("{}", "[{}]");
    loads_as("[]", "[[]]");
    loads_as("key: |\n  line1\n  line2\n", "[{\"key\": \"line1\\nline2\\n\"}]");
    loads_as("key: >-\n  folded\n  text\n", "[{\"key\": \"folded text\"}]");
    loads_as("# only a comment\nx: 1 # trailing\n", "[{\"x\": 1}]");
    loads_as("a: 1\na: 2\n", "[{\"a\": 2}]"); /* last duplicate wins */
    loads_as("42", "[42]");
    /* a KubeletConfiguration-like document */
    loads_as("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
             "cpuManagerPolicy: static\ncpuManagerPolicyOptions:\n  full-pcpus-only: \"true\"\n"
             "reservedSystemCPUs: \"0,48\"\nreservedMemory:\n- numaNode: 0\n  limits:\n"
             "    memory: 1Gi\n",
             "[{\"apiVersion\": \"kubelet.config.k8s.io/v1beta1\", \"kind\": "
             "\"KubeletConfiguration\", \"cpuManagerPolicy\": \"static\", "
             "\"cpuManagerPolicyOptions\": {\"full-pcpus-only\": \"true\"}, "
             "\"reservedSystemCPUs\": \"0,48\", \"reservedMemory\": [{\"numaNode\": 0, "
             "\"limits\": {\"memory\": \"1Gi\"}}]}]");
}

static void test_streams(void **state)
{
    (void)state;
    loads_as("", "[]");
    loads_as("# nothing\n", "[]");
    loads_as("a: 1\n---\nb: 2\n", "[{\"a\": 1}, {\"b\": 2}]");
    loads_as("---\na: 1\n...\n---\nb: 2\n...\n", "[{\"a\": 1}, {\"b\": 2}]");
    loads_as("---\n---\nx: 1\n", "[null, {\"x\": 1}]");
    loads_as("--- 1\n--- two\n--- [3]\n", "[1, \"two\", [3]]");

    json_t *doc = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_yaml_load("a: 1\n---\nb: 2\n", 14, &doc, &err), 0);
    assert_true(json_is_object(doc));
    assert_int_equal(json_integer_value(json_object_get(doc, "a")), 1);
    assert_null(json_object_get(doc, "b"));
    json_decref(doc);
    assert_int_equal(nf_yaml_load("", 0, &doc, &err), 0);
    assert_true(json_is_null(doc));
    json_decref(doc);
    /* len, not the NUL, ends the input */
    assert_int_equal(nf_yaml_load("a: 1\nb: 2\n", 5, &doc, &err), 0);
    assert_int_equal(json_object_size(doc), 1);
    json_decref(doc);
}

static void load_fails(const char *yaml, const char *want_msg)
{
    json_t *out = (json_t *)0x1;
    nf_err err = {{0}};
    int rc = nf_yaml_load_all(yaml, strlen(yaml), &out, &err);
    if (rc != -EINVAL)
        fail_msg("YAML <<%s>>: rc %d, want -EINVAL", yaml, rc);
    assert_ptr_equal(out, (json_t *)0x1); /* untouched */
    if (!strstr(err.msg, want_msg))
        fail_msg("YAML <<%s>>: message \"%s\" lacks \"%s\"", yaml, err.msg, want_msg);
    json_t *one = (json_t *)0x1;
    assert_int_equal(nf_yaml_load(yaml, strlen(yaml), &one, NULL), -EINVAL);
    assert_ptr_equal(one, (json_t *)0x1);
}

static void test_refusals(void **state)
{
    (void)state;
    load_fails("a: &x 1\nb: *x\n", "line 1: anchors are not supported");
    load_fails("a: &x {b: 1}\n", "line 1: anchors are not supported");
    load_fails("a: &x [1]\n", "line 1: anchors are not supported");
    load_fails("a: 1\nb: *x\n", "line 2");
    load_fails("? [a, b]\n: 1\n", "only scalar mapping keys");
    load_fails("a: 1\nb: [1, 2\nc: 3\n", "YAML line ");
    load_fails("a: 1\n  b: 2\n", "YAML line 2");
    load_fails("x: \"unterminated\n", "YAML line ");
    load_fails("a: 1\n---\nb: [\n", "YAML line ");
    load_fails("key: value\n\tbad: tab\n", "YAML line 2");
    /* later documents' errors fail the whole stream */
    load_fails("ok: 1\n---\nbad: *alias\n", "line 3");

    /* depth: 64 nested lists load, 100 do not */
    char deep[256];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    json_t *out = NULL;
    nf_err err;
    assert_int_equal(nf_yaml_load_all(deep, strlen(deep), &out, &err), 0);
    json_decref(out);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    load_fails(deep, "nested deeper than 64 levels");
    /* and the same with block mappings */
    char *nested = calloc(1, 200 * 110);
    assert_non_null(nested);
    for (int i = 0; i < 100; i++) {
        memset(nested + strlen(nested), ' ', (size_t)i);
        strcat(nested, "k:\n");
    }
    load_fails(nested, "nested deeper than 64 levels");
    free(nested);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_structures),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
