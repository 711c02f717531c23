/* fuzz_extender_binding.c - nf_extender_binding_decode (/bind's ExtenderBindingArgs) on arbitrary
 * bytes.
 *
 * Properties: a failure says why and leaves *out zeroed; on success PodName and Node are
 * non-empty strings, PodNamespace and PodUID strings (maybe empty), each equal to the member
 * Go's decoder would pick (last key in any letter case, nf_json_iget) of the same document;
 * free leaves it zeroed. */
#include <stdbool.h>
#include <stdint.h>

#include "extender_protocol.h"
#include "fuzz_common.h"

static void check_field(const json_t *doc, const char *key, const char *got)
{
    json_t *v = nf_json_iget(doc, key);
    const char *want = json_is_string(v) ? json_string_value(v) : "";
    NF_FUZZ_CHECK(got && strcmp(got, want) == 0, "%s = \"%s\", document has \"%s\"", key,
                  got ? got : "(null)", want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_extender_binding b;
    nf_err err = {{0}};
    int rc = nf_extender_binding_decode((const char *)data, size, &b, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(nf_fuzz_zero(&b, sizeof(b)), "failed decode left data behind");
        return 0;
    }
    NF_FUZZ_CHECK(b.pod_name && b.pod_name[0] && b.node && b.node[0], "PodName or Node empty");
    NF_FUZZ_CHECK(b.pod_namespace && b.pod_uid, "PodNamespace or PodUID NULL");
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    NF_FUZZ_CHECK(json_is_object(doc), "decoded a body that is not a JSON object");
    check_field(doc, "PodName", b.pod_name);
    check_field(doc, "PodNamespace", b.pod_namespace);
    check_field(doc, "PodUID", b.pod_uid);
    check_field(doc, "Node", b.node);
    json_decref(doc);
    nf_extender_binding_free(&b);
    NF_FUZZ_CHECK(nf_fuzz_zero(&b, sizeof(b)), "free left data behind");
    return 0;
}
