/* fuzz_sriov_config.c - nf_sriov_config_parse (SR-IOV network device plugin config.json, as JSON,
 * YAML or a whole ConfigMap) on arbitrary bytes, then nf_sriov_config_match.
 *
 * Properties: a failed parse says why and leaves *out NULL; a parsed config names each pool
 * "<prefix>/<resourceName>" with resourceName matching [a-zA-Z0-9_]+, no name twice, notes are
 * strings; nf_sriov_config_match on fixed devices returns NULL or one of the pool names (the
 * pointer the config hands out); a pool that takes a device nothing is known about (every field
 * unknown) has no selector that needs information, so a fully described network VF is taken by
 * some pool too; a second parse gives the same names, notes and matches. */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "sriov_config.h"

static const nf_sriov_dev devs[] = {
    {"0000:18:01.0", "8086", "1889", "vfio-pci", "0000:18:00.0", "ens1f0", "ether", 0, 0x020000},
    {"0000:18:01.3", "8086", "154c", "iavf", "0000:18:00.0", "ens1f0", "ether", 3, 0x020000},
    {"0000:3b:00.2", "15b3", "1018", "mlx5_core", "0000:3b:00.0", "ens2f0", "infiniband", 7,
     0x020700},
    {"0000:af:02.0", "8086", "37c9", "vfio-pci", "0000:af:00.0", NULL, NULL, 1, 0x0b4000},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, -1, -1},
};
#define N_DEVS (sizeof(devs) / sizeof(devs[0]))
#define UNKNOWN_DEV (N_DEVS - 1)

static bool valid_name(const char *r)
{
    const char *slash = strrchr(r, '/');
    if (!slash || !slash[1])
        return false;
    for (const char *p = slash + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_sriov_config *c = (nf_sriov_config *)&c; /* any non-NULL value: parse must reset it */
    nf_err err = {{0}};
    int rc = nf_sriov_config_parse((const char *)data, size, "fuzz", &c, &err);
    if (rc) {
        NF_FUZZ_CHECK(rc < 0, "rc %d is not a negative errno", rc);
        NF_FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a message", rc);
        NF_FUZZ_CHECK(c == NULL, "failed parse left *out set");
        return 0;
    }
    NF_FUZZ_CHECK(c != NULL, "success without a config");
    size_t n = nf_sriov_config_count(c);
    for (size_t i = 0; i < n; i++) {
        const char *r = nf_sriov_config_resource(c, i);
        NF_FUZZ_CHECK(r != NULL, "pool %zu without a name", i);
        NF_FUZZ_CHECK(valid_name(r), "pool %zu name \"%s\" is not <prefix>/[a-zA-Z0-9_]+", i, r);
        for (size_t j = 0; j < i; j++)
            NF_FUZZ_CHECK(strcmp(r, nf_sriov_config_resource(c, j)) != 0, "\"%s\" twice", r);
    }
    size_t nn = nf_sriov_config_note_count(c);
    for (size_t i = 0; i < nn; i++)
        NF_FUZZ_CHECK(nf_sriov_config_note(c, i) != NULL, "note %zu is NULL", i);
    const char *m[N_DEVS];
    for (size_t d = 0; d < N_DEVS; d++) {
        m[d] = nf_sriov_config_match(c, &devs[d]);
        bool known = m[d] == NULL;
        for (size_t i = 0; i < n && !known; i++)
            known = m[d] == nf_sriov_config_resource(c, i);
        NF_FUZZ_CHECK(known, "match returned \"%s\", not a pool name", m[d]);
    }
    if (m[UNKNOWN_DEV])
        NF_FUZZ_CHECK(m[0] != NULL, "a pool takes an unknown device (%s) but not a known VF",
                      m[UNKNOWN_DEV]);

    nf_sriov_config *again = NULL;
    rc = nf_sriov_config_parse((const char *)data, size, "fuzz", &again, &err);
    NF_FUZZ_CHECK(rc == 0, "second parse failed: %s", err.msg);
    NF_FUZZ_CHECK(nf_sriov_config_count(again) == n && nf_sriov_config_note_count(again) == nn,
                  "second parse differs in counts");
    for (size_t i = 0; i < n; i++)
        NF_FUZZ_CHECK(strcmp(nf_sriov_config_resource(c, i), nf_sriov_config_resource(again, i)) ==
                          0,
                      "second parse differs in pool %zu", i);
    for (size_t i = 0; i < nn; i++)
        NF_FUZZ_CHECK(strcmp(nf_sriov_config_note(c, i), nf_sriov_config_note(again, i)) == 0,
                      "second parse differs in note %zu", i);
    for (size_t d = 0; d < N_DEVS; d++) {
        const char *m2 = nf_sriov_config_match(again, &devs[d]);
        NF_FUZZ_CHECK((m[d] == NULL) == (m2 == NULL) && (!m2 || strcmp(m[d], m2) == 0),
                      "second parse matches device %zu differently", d);
    }
    nf_sriov_config_free(again);
    nf_sriov_config_free(c);
    return 0;
}
