/* fuzz_yaml.c - nf_yaml_load_all / nf_yaml_load on arbitrary bytes.
 *
 * Properties: errors carry a message; a loaded stream is a JSON array whose text form loads back
 * to an equal value (no NaN, no invalid UTF-8); nf_yaml_load agrees with nf_yaml_load_all. */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/yaml_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *all = NULL, *first = NULL;
    nf_err err = {{0}};
    int rc = nf_yaml_load_all((const char *)data, size, &all, &err);
    nf_err err1 = {{0}};
    int rc1 = nf_yaml_load((const char *)data, size, &first, &err1);
    NF_FUZZ_CHECK(rc == rc1, "load_all rc %d, load rc %d", rc, rc1);
    if (rc) {
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(strcmp(err.msg, err1.msg) == 0, "different messages");
        return 0;
    }
    NF_FUZZ_CHECK(json_is_array(all), "not an array");
    json_t *want = json_array_size(all) ? json_array_get(all, 0) : json_null();
    NF_FUZZ_CHECK(json_equal(first, want), "nf_yaml_load differs from the first document");
    char *text = json_dumps(all, JSON_COMPACT | JSON_ENCODE_ANY);
    NF_FUZZ_CHECK(text != NULL, "loaded value does not dump");
    json_error_t je;
    json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    NF_FUZZ_CHECK(back != NULL, "dumped text does not load: %s", je.text);
    NF_FUZZ_CHECK(json_equal(all, back), "dump/load changed the value");
    free(text);
    json_decref(back);
    json_decref(all);
    json_decref(first);
    return 0;
}
