/* kube_config.c - where the API server is and who we are: a kubeconfig file (current-context ->
 * context -> cluster + user) or the in-cluster service account (see numafit/kube.h).
 *
 * What client-go does and this file follows: relative file paths in a kubeconfig resolve against
 * the kubeconfig's directory; `*-data` fields (base64) win over their file counterparts; a user
 * with both token and tokenFile keeps both (the client prefers the file while it can read it).
 * What it refuses with -EINVAL rather than half-supporting: exec and auth-provider credential
 * plugins (numafit runs in-cluster or with a token / client certificate).
 */
#include "numafit/kube.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "numafit/fileio.h"
#include "numafit/yaml_json.h"

#define KUBECONFIG_MAX (4u << 20)

void nf_kube_config_free(nf_kube_config *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->ca_file);
    free(c->ca_data);
    free(c->token);
    free(c->token_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->cert_data);
    free(c->key_data);
    free(c->source);
    memset(c, 0, sizeof(*c));
}

/* Standard base64 (RFC 4648, '=' padding optional, white space ignored) -> NUL-terminated heap
 * text. -EINVAL on a character outside the alphabet or a dangling single sextet. */
static int base64_decode(const char *in, char **out, size_t *outlen)
{
    size_t n = strlen(in);
    char *buf = malloc(n / 4 * 3 + 4);
    if (!buf)
        return -ENOMEM;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (const char *p = in; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        int v;
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+')
            v = 62;
        else if (ch == '/')
            v = 63;
        else if (ch == '=') {
            pad++;
            continue;
        } else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        else {
            free(buf);
            return -EINVAL;
        }
        if (pad) { /* data after padding */
            free(buf);
            return -EINVAL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || pad > 2) { /* one leftover sextet cannot encode a byte */
        free(buf);
        return -EINVAL;
    }
    buf[o] = '\0';
    *out = buf;
    if (outlen)
        *outlen = o;
    return 0;
}

typedef struct kc {
    const char *path;
    char *dir;
    nf_err *err;
} kc;

/* The entry of list `key` (a sequence of {name, <inner>}) named name: its <inner> mapping. */
static int find_named(const kc *c, json_t *root, const char *key, const char *inner,
                      const char *name, const char *why, json_t **out)
{
    json_t *list = json_object_get(root, key);
    if (list && !json_is_array(list) && !json_is_null(list))
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s: not a list", c->path, key);
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        json_t *n = json_object_get(it, "name");
        if (!json_is_string(n) || strcmp(json_string_value(n), name) != 0)
            continue;
        json_t *v = json_object_get(it, inner);
        if (!json_is_object(v))
            return nf_errf(c->err, -EINVAL,
                           "kubeconfig %s: %s[name=%s].%s: missing or not a mapping", c->path, key,
                           name, inner);
        *out = v;
        return 0;
    }
    return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s %s: no entry named \"%s\" in %s", c->path,
                   why, name, name, key);
}

/* A string field (absent or null: *out = NULL). */
static int get_str(const kc *c, json_t *obj, const char *where, const char *field, const char **out)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.%s: not a string", c->path, where,
                       field);
    *out = json_string_value(v);
    if (!**out)
        *out = NULL;
    return 0;
}

/* A file path field, resolved against the kubeconfig's directory. */
static int get_path(const kc *c, json_t *obj, const char *where, const char *field, char **out)
{
    const char *s;
    int rc = get_str(c, obj, where, field, &s);
    if (rc || !s)
        return rc;
    *out = s[0] == '/' ? strdup(s) : nf_path_join(c->dir, s, NULL);
    return *out ? 0 : -ENOMEM;
}

/* A base64 `-data` field, decoded. */
static int get_data(const kc *c, json_t *obj, const char *where, const char *field, char **out)
{
    const char *s;
    int rc = get_str(c, obj, where, field, &s);
    if (rc || !s)
        return rc;
    rc = base64_decode(s, out, NULL);
    if (rc == -EINVAL)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.%s: not valid base64", c->path, where,
                       field);
    return rc;
}

static int fill_cluster(const kc *c, json_t *cl, const char *name, nf_kube_config *out)
{
    char where[160];
    snprintf(where, sizeof(where), "clusters[name=%s].cluster", name);
    const char *server;
    int rc = get_str(c, cl, where, "server", &server);
    if (rc)
        return rc;
    if (!server)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.server: missing", c->path, where);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.server: \"%s\" is not an http(s):// URL",
                       c->path, where, server);
    out->server = strdup(server);
    if (!out->server)
        return -ENOMEM;
    size_t n = strlen(out->server);
    while (n > 8 && out->server[n - 1] == '/')
        out->server[--n] = '\0';
    if ((rc = get_path(c, cl, where, "certificate-authority", &out->ca_file)) ||
        (rc = get_data(c, cl, where, "certificate-authority-data", &out->ca_data)))
        return rc;
    if (out->ca_data) { /* data wins over the file, as in client-go */
        free(out->ca_file);
        out->ca_file = NULL;
    }
    json_t *insecure = json_object_get(cl, "insecure-skip-tls-verify");
    if (insecure && !json_is_boolean(insecure) && !json_is_null(insecure))
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.insecure-skip-tls-verify: not a boolean",
                       c->path, where);
    out->insecure = json_is_true(insecure);
    return 0;
}

static int fill_user(const kc *c, json_t *u, const char *name, nf_kube_config *out)
{
    char where[160];
    snprintf(where, sizeof(where), "users[name=%s].user", name);
    if (json_object_get(u, "exec") && !json_is_null(json_object_get(u, "exec")))
        return nf_errf(c->err, -EINVAL,
                       "kubeconfig %s: %s.exec: credential plugins are not supported (use a token, "
                       "tokenFile or client certificate)",
                       c->path, where);
    if (json_object_get(u, "auth-provider") && !json_is_null(json_object_get(u, "auth-provider")))
        return nf_errf(c->err, -EINVAL,
                       "kubeconfig %s: %s.auth-provider: not supported (use a token, tokenFile or "
                       "client certificate)",
                       c->path, where);
    const char *token;
    int rc = get_str(c, u, where, "token", &token);
    if (rc)
        return rc;
    if (token && !(out->token = strdup(token)))
        return -ENOMEM;
    if ((rc = get_path(c, u, where, "tokenFile", &out->token_file)) ||
        (rc = get_path(c, u, where, "client-certificate", &out->cert_file)) ||
        (rc = get_path(c, u, where, "client-key", &out->key_file)) ||
        (rc = get_data(c, u, where, "client-certificate-data", &out->cert_data)) ||
        (rc = get_data(c, u, where, "client-key-data", &out->key_data)))
        return rc;
    if (out->cert_data) {
        free(out->cert_file);
        out->cert_file = NULL;
    }
    if (out->key_data) {
        free(out->key_file);
        out->key_file = NULL;
    }
    if ((out->cert_file || out->cert_data) != (out->key_file || out->key_data))
        return nf_errf(c->err, -EINVAL,
                       "kubeconfig %s: %s: a client certificate needs both certificate and key",
                       c->path, where);
    return 0;
}

static int load_doc(const kc *c, json_t *root, nf_kube_config *out)
{
    if (!json_is_object(root))
        return nf_errf(c->err, -EINVAL,
                       "kubeconfig %s: not a kubeconfig (top level is not a mapping)", c->path);
    json_t *kind = json_object_get(root, "kind");
    if (json_is_string(kind) && strcmp(json_string_value(kind), "Config") != 0)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: kind is \"%s\", want \"Config\"", c->path,
                       json_string_value(kind));
    const char *ctx_name;
    int rc = get_str(c, root, "(top level)", "current-context", &ctx_name);
    if (rc)
        return rc;
    if (!ctx_name)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: current-context: not set", c->path);
    json_t *ctx;
    if ((rc = find_named(c, root, "contexts", "context", ctx_name, "current-context", &ctx)))
        return rc;
    char where[160];
    snprintf(where, sizeof(where), "contexts[name=%s].context", ctx_name);
    const char *cluster_name, *user_name;
    if ((rc = get_str(c, ctx, where, "cluster", &cluster_name)) ||
        (rc = get_str(c, ctx, where, "user", &user_name)))
        return rc;
    if (!cluster_name)
        return nf_errf(c->err, -EINVAL, "kubeconfig %s: %s.cluster: missing", c->path, where);
    json_t *cl, *u;
    if ((rc = find_named(c, root, "clusters", "cluster", cluster_name, "cluster", &cl)) ||
        (rc = fill_cluster(c, cl, cluster_name, out)))
        return rc;
    if (user_name) {
        if ((rc = find_named(c, root, "users", "user", user_name, "user", &u)) ||
            (rc = fill_user(c, u, user_name, out)))
            return rc;
    }
    if (asprintf(&out->source, "kubeconfig %s (context %s)", c->path, ctx_name) < 0) {
        out->source = NULL;
        return -ENOMEM;
    }
    return 0;
}

int nf_kube_config_parse(const char *text, size_t len, const char *path, nf_kube_config *out,
                         nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = NULL;
    nf_err yerr = {{0}};
    int rc = nf_yaml_load(text, len, &root, &yerr);
    if (rc) {
        json_decref(root);
        return nf_errf(err, rc == -ENOMEM ? rc : -EINVAL, "kubeconfig %s: %s", path, yerr.msg);
    }
    kc c = {.path = path, .err = err};
    const char *slash = strrchr(path, '/');
    c.dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    if (!c.dir) {
        json_decref(root);
        return nf_errf(err, -ENOMEM, "kubeconfig %s: out of memory", path);
    }
    rc = load_doc(&c, root, out);
    free(c.dir);
    json_decref(root);
    if (rc) {
        if (rc == -ENOMEM)
            nf_errf(err, rc, "kubeconfig %s: out of memory", path);
        nf_kube_config_free(out);
    }
    return rc;
}

int nf_kube_config_load(const char *path, nf_kube_config *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    char *text = NULL;
    size_t len = 0;
    nf_err rerr = {{0}};
    int rc = nf_read_file(path, KUBECONFIG_MAX, &text, &len, &rerr);
    if (rc)
        return nf_errf(err, rc == -EFBIG ? -EINVAL : rc, "kubeconfig: %s", rerr.msg);
    rc = nf_kube_config_parse(text, len, path, out, err);
    free(text);
    return rc;
}

int nf_kube_config_in_cluster(const char *sa_dir, nf_kube_config *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!sa_dir)
        sa_dir = NF_KUBE_SA_DIR;
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return nf_errf(err, -ENOENT,
                       "not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                       "must be set");
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return nf_errf(err, -EINVAL, "KUBERNETES_SERVICE_PORT=%s: not a port number", port);
    char *token = nf_path_join(sa_dir, "token", NULL);
    char *ca = nf_path_join(sa_dir, "ca.crt", NULL);
    int rc = 0;
    if (!token || !ca) {
        rc = -ENOMEM;
        goto fail;
    }
    if (access(token, R_OK) != 0) {
        rc = nf_errf(err, -ENOENT, "not in a cluster: service account token %s: %s", token,
                     strerror(errno));
        goto fail;
    }
    out->token_file = token;
    token = NULL;
    if (access(ca, R_OK) == 0) {
        out->ca_file = ca;
        ca = NULL;
    }
    bool v6 = strchr(host, ':') != NULL;
    if (asprintf(&out->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
        out->server = NULL;
    out->source = strdup("in-cluster");
    if (!out->server || !out->source) {
        rc = -ENOMEM;
        goto fail;
    }
    free(ca);
    return 0;
fail:
    free(token);
    free(ca);
    nf_kube_config_free(out);
    return rc;
}
