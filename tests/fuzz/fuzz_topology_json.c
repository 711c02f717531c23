/* fuzz_topology_json.c - nf_topology_parse on arbitrary bytes.
 *
 * Properties: a failed parse says why and leaves the struct zeroed; a document that decodes
 * encodes again (never NULL), that encoding decodes again, through text as well, and a second
 * encode gives the same JSON (encode o decode is idempotent after one pass). */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/topology_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_topology t1;
    nf_err err = {{0}};
    int rc = nf_topology_parse((const char *)data, size, &t1, &err);
    if (rc) {
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(t1.node == NULL && t1.n_numa_nodes == 0 && t1.numa_nodes == NULL,
                      "failed parse left data behind");
        return 0;
    }
    json_t *j1 = nf_topology_to_json(&t1);
    NF_FUZZ_CHECK(j1 != NULL, "decoded document does not encode");
    nf_topology t2;
    rc = nf_topology_from_json(j1, &t2, &err);
    NF_FUZZ_CHECK(rc == 0, "re-encoded document does not decode: %s", err.msg);
    json_t *j2 = nf_topology_to_json(&t2);
    NF_FUZZ_CHECK(j2 != NULL, "second encode failed");
    if (!json_equal(j1, j2)) {
        char *a = json_dumps(j1, JSON_SORT_KEYS | JSON_COMPACT);
        char *b = json_dumps(j2, JSON_SORT_KEYS | JSON_COMPACT);
        NF_FUZZ_CHECK(0, "encode/decode not stable:\n%s\n%s", a, b);
    }
    char *text = json_dumps(j1, JSON_COMPACT);
    NF_FUZZ_CHECK(text != NULL, "dump failed");
    nf_topology t3;
    rc = nf_topology_parse(text, strlen(text), &t3, &err);
    NF_FUZZ_CHECK(rc == 0, "dumped text does not parse: %s", err.msg);
    free(text);
    json_decref(j1);
    json_decref(j2);
    nf_topology_free(&t1);
    nf_topology_free(&t2);
    nf_topology_free(&t3);
    return 0;
}
