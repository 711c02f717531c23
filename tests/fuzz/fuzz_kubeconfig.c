/* fuzz_kubeconfig.c - nf_kube_config_parse on arbitrary bytes.
 *
 * Properties: an error carries a message naming the kubeconfig and leaves the config zeroed; a
 * parsed config has an http(s):// server without a trailing '/', relative file paths anchored
 * under the kubeconfig's directory, certificate and key together, and a source naming the file;
 * parsing is deterministic. */
#include <stdint.h>

#include "fuzz_common.h"
#include "numafit/kube.h"

#define PATH "/fuzz/dir/config"

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_path(const char *p, const char *what)
{
    NF_FUZZ_CHECK(!p || p[0] == '/', "%s \"%s\" is not anchored", what, p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_kube_config c, d;
    nf_err err = {{0}}, err2 = {{0}};
    int rc = nf_kube_config_parse((const char *)data, size, PATH, &c, &err);
    int rc2 = nf_kube_config_parse((const char *)data, size, PATH, &d, &err2);
    NF_FUZZ_CHECK(rc == rc2, "rc %d then %d", rc, rc2);
    if (rc) {
        NF_FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
        NF_FUZZ_CHECK(strstr(err.msg, PATH) != NULL, "message without the path: %s", err.msg);
        NF_FUZZ_CHECK(strcmp(err.msg, err2.msg) == 0, "different messages");
        NF_FUZZ_CHECK(nf_fuzz_zero(&c, sizeof(c)), "a failed parse left something behind");
        return 0;
    }
    NF_FUZZ_CHECK(
        c.server && (strncmp(c.server, "https://", 8) == 0 || strncmp(c.server, "http://", 7) == 0),
        "server %s", c.server ? c.server : "(null)");
    size_t n = strlen(c.server);
    NF_FUZZ_CHECK(n <= 8 || c.server[n - 1] != '/', "trailing '/' in %s", c.server);
    check_path(c.ca_file, "certificate-authority");
    check_path(c.token_file, "tokenFile");
    check_path(c.cert_file, "client-certificate");
    check_path(c.key_file, "client-key");
    NF_FUZZ_CHECK(!(c.ca_file && c.ca_data), "both CA file and data");
    NF_FUZZ_CHECK((c.cert_file || c.cert_data) == (c.key_file || c.key_data),
                  "certificate without key or key without certificate");
    NF_FUZZ_CHECK(c.source && strstr(c.source, PATH), "source %s", c.source ? c.source : "(null)");
    NF_FUZZ_CHECK(same(c.server, d.server) && same(c.ca_data, d.ca_data) &&
                      same(c.token, d.token) && same(c.token_file, d.token_file) &&
                      same(c.cert_data, d.cert_data) && same(c.key_data, d.key_data) &&
                      c.insecure == d.insecure,
                  "not deterministic");
    nf_kube_config_free(&c);
    nf_kube_config_free(&d);
    return 0;
}
