/* test_kube_client.c - the Kubernetes API client (numafit/kube.h): kubeconfig and in-cluster
 * configuration, then every call against a FAKE kube-apiserver (tests/fakes/fake_apiserver.py,
 * started as a child process on 127.0.0.1; no real kube-apiserver can run here). Test names that
 * start with fake_apiserver_ talk to that fake over loopback and drive it through its /fake/
 * control endpoints (create pods, inject errors and delays, compact, rotate tokens, end watches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "numafit/kube.h"
#include "testutil.h"

/* ---- the fake kube-apiserver as a child process ---- */

typedef struct fake {
    pid_t pid;
    int port;
    char *dir; /* temp dir: the fake's log, certificates, kubeconfigs */
    char url[64];
    const char *ca; /* CA file for control calls when the fake serves HTTPS */
} fake;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Start the fake with extra command-line args (a shell fragment); fills f->port and f->url. */
static void fake_start_in(fake *f, const char *dir, const char *args, bool tls)
{
    memset(f, 0, sizeof(*f));
    f->dir = strdup(dir);
    const char *log = nft_path(dir, "fake.log");
    char *cmd = NULL;
    assert_true(asprintf(&cmd,
                         "exec python3 '%s/tests/fakes/fake_apiserver.py' --listen 127.0.0.1:0 %s",
                         NF_SOURCE_DIR, args) > 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0)
            _exit(127);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    free(cmd);
    f->pid = pid;
    int64_t t0 = nft_now_ms();
    while (nft_now_ms() - t0 < 15000) {
        FILE *fp = fopen(log, "r");
        char line[512];
        while (fp && fgets(line, sizeof(line), fp)) {
            const char *p = strstr(line, "msg=\"fake kube-apiserver serving\"");
            if (p && (p = strstr(p, " port=")))
                f->port = atoi(p + 6);
        }
        if (fp)
            fclose(fp);
        if (f->port > 0)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            f->pid = 0;
            fail_msg("fake kube-apiserver exited before serving: %s", nft_read(log, NULL));
        }
        sleep_ms(20);
    }
    if (f->port <= 0)
        fail_msg("fake kube-apiserver did not log its port within 15 s");
    snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d", tls ? "https" : "http", f->port);
}

static void fake_stop(fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        int st;
        int64_t t0 = nft_now_ms();
        while (waitpid(f->pid, &st, WNOHANG) == 0) {
            if (nft_now_ms() - t0 > 5000) {
                kill(f->pid, SIGKILL);
                waitpid(f->pid, &st, 0);
                break;
            }
            sleep_ms(10);
        }
        f->pid = 0;
    }
    free(f->dir);
    f->dir = NULL;
}

static size_t collect(char *d, size_t size, size_t n, void *p)
{
    char **s = p;
    size_t old = *s ? strlen(*s) : 0;
    char *t = realloc(*s, old + size * n + 1);
    assert_non_null(t);
    memcpy(t + old, d, size * n);
    t[old + size * n] = '\0';
    *s = t;
    return size * n;
}

/* A control (or raw) request to the fake; the HTTP status, *out the parsed answer (may be NULL). */
static long ctl(fake *f, const char *method, const char *path, const char *body, json_t **out)
{
    CURL *e = curl_easy_init();
    assert_non_null(e);
    char url[512];
    snprintf(url, sizeof(url), "%s%s", f->url, path);
    char *answer = NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
    if (f->ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, f->ca);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    CURLcode r = curl_easy_perform(e);
    long st = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    if (r != CURLE_OK)
        fail_msg("control %s %s: %s", method, path, curl_easy_strerror(r));
    if (out)
        *out = answer ? json_loads(answer, JSON_DECODE_ANY, NULL) : NULL;
    free(answer);
    return st;
}

/* ctl with a printf-built body that must answer 2xx. */
static void ctlf(fake *f, const char *method, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ctlf(fake *f, const char *method, const char *path, const char *fmt, ...)
{
    char *body = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&body, fmt, ap) >= 0);
        va_end(ap);
    }
    long st = ctl(f, method, path, body, NULL);
    if (st < 200 || st >= 300)
        fail_msg("control %s %s %s -> HTTP %ld", method, path, body ? body : "", st);
    free(body);
}

/* Create ns/name with scheduler sched (NULL: default) via the control endpoint; returns its uid
 * (static buffer). */
static const char *mkpod(fake *f, const char *ns, const char *name, const char *sched)
{
    static char uid[64];
    char body[512];
    snprintf(body, sizeof(body),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":{\"schedulerName\":"
             "\"%s\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}",
             name, ns, sched ? sched : "default-scheduler");
    json_t *pod = NULL;
    assert_int_equal(ctl(f, "POST", "/fake/pods", body, &pod), 201);
    const char *u = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
    assert_non_null(u);
    snprintf(uid, sizeof(uid), "%s", u);
    json_decref(pod);
    return uid;
}

static void inject(fake *f, const char *method, const char *path, int status, int count,
                   const char *extra)
{
    ctlf(f, "POST", "/fake/inject",
         "{\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"count\":%d%s}", method, path, status,
         count, extra ? extra : "");
}

/* Requests the fake saw with this method whose path equals path. */
static int count_requests(fake *f, const char *method, const char *path)
{
    json_t *reqs = NULL;
    assert_int_equal(ctl(f, "GET", "/fake/requests", NULL, &reqs), 200);
    size_t i;
    json_t *r;
    int n = 0;
    json_array_foreach(reqs, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "method")), method) == 0 &&
            strcmp(json_string_value(json_object_get(r, "path")), path) == 0)
            n++;
    }
    json_decref(reqs);
    return n;
}

static json_t *requests(fake *f)
{
    json_t *reqs = NULL;
    assert_int_equal(ctl(f, "GET", "/fake/requests", NULL, &reqs), 200);
    return reqs;
}

static char *fake_rv(fake *f)
{
    json_t *a = NULL;
    assert_int_equal(ctl(f, "GET", "/fake/pods", NULL, &a), 200);
    char *rv = strdup(json_string_value(json_object_get(a, "resourceVersion")));
    json_decref(a);
    return rv;
}

/* A client of server with a static token (may be NULL) and fast retries. */
static nf_kube *client(const char *server, const char *token, int retries)
{
    nf_kube_config c = {.server = (char *)server, .token = (char *)token};
    nf_kube_opts o = {.timeout_ms = 5000, .retries = retries, .backoff_ms = 20};
    nf_kube *k = NULL;
    nf_err err = {{0}};
    int rc = nf_kube_new(&c, &o, &k, &err);
    if (rc)
        fail_msg("nf_kube_new: %s", err.msg);
    return k;
}

/* Per-test fixture: a fake with token t1. */
static int fake_setup(void **state)
{
    fake *f = calloc(1, sizeof(*f));
    char *dir = nft_tmpdir("kube");
    fake_start_in(f, dir, "--token t1", false);
    free(dir);
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    fake *f = *state;
    char *dir = f->dir ? strdup(f->dir) : NULL;
    fake_stop(f);
    nft_tmpdir_free(dir);
    free(f);
    return 0;
}

/* ---- kubeconfig and in-cluster configuration ---- */

/* base64("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n") */
#define CA_PEM "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClFVSkQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

static void kubeconfig_token_and_ca_data(void **state)
{
    char *dir = nft_tmpdir("kubecfg");
    const char *path = nft_path(dir, "config");
    nft_write(path, "apiVersion: v1\n"
                    "kind: Config\n"
                    "current-context: ctx-b\n"
                    "clusters:\n"
                    "- name: c-a\n"
                    "  cluster: {server: \"https://a.example:6443\"}\n"
                    "- name: c-b\n"
                    "  cluster:\n"
                    "    server: https://10.1.2.3:6443/\n"
                    "    certificate-authority-data: " CA_B64 "\n"
                    "contexts:\n"
                    "- name: ctx-a\n"
                    "  context: {cluster: c-a, user: u-a}\n"
                    "- name: ctx-b\n"
                    "  context: {cluster: c-b, user: u-b, namespace: kube-system}\n"
                    "users:\n"
                    "- name: u-a\n"
                    "  user: {token: wrong}\n"
                    "- name: u-b\n"
                    "  user:\n"
                    "    token: sekret-b\n");
    nf_kube_config c;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_config_load(path, &c, &err), 0);
    assert_string_equal(c.server, "https://10.1.2.3:6443");
    assert_string_equal(c.ca_data, CA_PEM);
    assert_null(c.ca_file);
    assert_string_equal(c.token, "sekret-b");
    assert_null(c.token_file);
    assert_null(c.cert_data);
    assert_false(c.insecure);
    assert_non_null(strstr(c.source, "ctx-b"));
    assert_non_null(strstr(c.source, path));
    nf_kube_config_free(&c);
    nft_tmpdir_free(dir);
}

static void kubeconfig_relative_paths_and_client_cert(void **state)
{
    char *dir = nft_tmpdir("kubecfg");
    assert_int_equal(nft_mkdirs(nft_path(dir, "sub")), 0);
    const char *path = nft_path(dir, "sub/config");
    /* base64("CERT\n") = Q0VSVAo=, base64("KEY\n") = S0VZCg== */
    nft_write(path,
              "current-context: x\n"
              "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1', "
              "certificate-authority: ca.pem, insecure-skip-tls-verify: true}}]\n"
              "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
              "users: [{name: u, user: {tokenFile: ../tok, client-certificate-data: Q0VSVAo=,\n"
              "  client-key-data: S0VZCg==}}]\n");
    nf_kube_config c;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_config_load(path, &c, &err), 0);
    char want[4200];
    snprintf(want, sizeof(want), "%s/sub/ca.pem", dir);
    assert_string_equal(c.ca_file, want);
    snprintf(want, sizeof(want), "%s/sub/../tok", dir);
    assert_string_equal(c.token_file, want);
    assert_null(c.token);
    assert_string_equal(c.cert_data, "CERT\n");
    assert_string_equal(c.key_data, "KEY\n");
    assert_true(c.insecure);
    nf_kube_config_free(&c);

    /* client certificate files: one relative, one absolute */
    nft_write(path, "current-context: x\n"
                    "clusters: [{name: c, cluster: {server: 'https://h:6443'}}]\n"
                    "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                    "users: [{name: u, user: {client-certificate: certs/c.pem, "
                    "client-key: /abs/k.pem}}]\n");
    assert_int_equal(nf_kube_config_load(path, &c, &err), 0);
    snprintf(want, sizeof(want), "%s/sub/certs/c.pem", dir);
    assert_string_equal(c.cert_file, want);
    assert_string_equal(c.key_file, "/abs/k.pem");
    assert_null(c.ca_file);
    nf_kube_config_free(&c);
    nft_tmpdir_free(dir);
}

static void kubeconfig_errors_say_what_and_where(void **state)
{
    static const struct {
        const char *yaml;
        int rc;
        const char *says;
    } cases[] = {
        {"", -EINVAL, "not a kubeconfig"},
        {"clusters: [\n  {name: x\n", -EINVAL, "YAML line"},
        {"- a\n- b\n", -EINVAL, "top level is not a mapping"},
        {"clusters: []\n", -EINVAL, "current-context: not set"},
        {"current-context: nope\ncontexts: []\n", -EINVAL, "no entry named \"nope\" in contexts"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h'}}]\n",
         -EINVAL, "in users"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: '10.0.0.1:6443'}}]\n",
         -EINVAL, "not an http(s):// URL"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: "
         "'!!notbase64'}}]\n",
         -EINVAL, "certificate-authority-data: not valid base64"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {exec: {command: aws}}}]\n",
         -EINVAL, "credential plugins are not supported"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {client-certificate: c.pem}}]\n",
         -EINVAL, "needs both certificate and key"},
        {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
         "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
         "users: [{name: u, user: {token: [1, 2]}}]\n",
         -EINVAL, "users[name=u].user.token: not a string"},
    };
    char *dir = nft_tmpdir("kubecfg");
    const char *path = nft_path(dir, "config");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nft_write(path, cases[i].yaml);
        nf_kube_config c;
        nf_err err = {{0}};
        int rc = nf_kube_config_load(path, &c, &err);
        if (rc != cases[i].rc || !strstr(err.msg, cases[i].says) || !strstr(err.msg, path))
            fail_msg("case %zu: rc %d (want %d), message \"%s\" (want \"%s\" and the path)", i, rc,
                     cases[i].rc, err.msg, cases[i].says);
        assert_null(c.server); /* a failed load leaves nothing behind */
    }
    nf_kube_config c;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_config_load(nft_path(dir, "missing"), &c, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing"));
    nft_tmpdir_free(dir);
}

static void in_cluster_config_from_sa_dir_and_env(void **state)
{
    char *dir = nft_tmpdir("sa");
    nft_write(nft_path(dir, "token"), "sa-token\n");
    nft_write(nft_path(dir, "ca.crt"), CA_PEM);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    nf_kube_config c;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_config_in_cluster(dir, &c, &err), 0);
    assert_string_equal(c.server, "https://10.96.0.1:443");
    assert_string_equal(c.token_file, nft_path(dir, "token"));
    assert_string_equal(c.ca_file, nft_path(dir, "ca.crt"));
    assert_null(c.token);
    assert_string_equal(c.source, "in-cluster");
    nf_kube_config_free(&c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(nf_kube_config_in_cluster(dir, &c, &err), 0);
    assert_string_equal(c.server, "https://[fd00::1]:443");
    nf_kube_config_free(&c);

    unlink(nft_path(dir, "token"));
    assert_int_equal(nf_kube_config_in_cluster(dir, &c, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "token"));
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(nf_kube_config_in_cluster(dir, &c, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));
    unsetenv("KUBERNETES_SERVICE_PORT");
    nft_tmpdir_free(dir);
}

/* ---- calls against the fake ---- */

static void fake_apiserver_get_pod_and_404(void **state)
{
    fake *f = *state;
    const char *uid = mkpod(f, "ns1", "web-0", "numafit");
    char want_uid[64];
    snprintf(want_uid, sizeof(want_uid), "%s", uid);
    nf_kube *k = client(f->url, "t1", 0);
    assert_string_equal(nf_kube_server(k), f->url);
    json_t *pod = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_get_pod(k, "ns1", "web-0", &pod, &err), 0);
    json_t *meta = json_object_get(pod, "metadata");
    assert_string_equal(json_string_value(json_object_get(pod, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(meta, "uid")), want_uid);
    assert_string_equal(json_string_value(json_object_get(json_object_get(pod, "status"), "phase")),
                        "Pending");
    json_decref(pod);
    assert_int_equal(nf_kube_get_pod(k, "ns1", "nope", &pod, &err), -ENOENT);
    assert_null(pod);
    assert_non_null(strstr(err.msg, "404"));
    assert_non_null(strstr(err.msg, "pods \"nope\" not found"));
    /* the fake saw the bearer token */
    json_t *reqs = requests(f);
    assert_int_equal(json_array_size(reqs), 2);
    assert_true(json_is_true(json_object_get(json_array_get(reqs, 0), "auth")));
    json_decref(reqs);
    nf_kube_free(k);
}

static void fake_apiserver_unauthorized_is_eacces(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    nf_err err = {{0}};
    json_t *pod = NULL;
    nf_kube *k = client(f->url, "wrong", 3);
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), -EACCES);
    assert_non_null(strstr(err.msg, "401"));
    assert_non_null(strstr(err.msg, "Unauthorized"));
    assert_int_equal(count_requests(f, "GET", "/api/v1/namespaces/default/pods/p"),
                     1); /* no retry */
    nf_kube_free(k);
    k = client(f->url, NULL, 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), -EACCES);
    nf_kube_free(k);
}

static void fake_apiserver_token_file_rotation(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    const char *tok = nft_path(f->dir, "tok");
    nft_write(tok, "t1\n");
    const char *cfg = nft_path(f->dir, "config");
    char text[1024];
    snprintf(text, sizeof(text),
             "current-context: fake\n"
             "clusters: [{name: c, cluster: {server: '%s'}}]\n"
             "contexts: [{name: fake, context: {cluster: c, user: u}}]\n"
             "users: [{name: u, user: {tokenFile: tok}}]\n",
             f->url);
    nft_write(cfg, text);
    nf_kube_config c;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_config_load(cfg, &c, &err), 0);
    nf_kube *k = NULL;
    nf_kube_opts o = {.timeout_ms = 5000, .retries = -1};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    nf_kube_config_free(&c);
    json_t *pod = NULL;
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    json_decref(pod);
    /* the server now wants the rotated token: the old file fails */
    ctlf(f, "POST", "/fake/tokens", "{\"tokens\":[\"t2-rotated\"]}");
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), -EACCES);
    /* kubelet swaps the file (new inode); the very next call reads it */
    nft_write(nft_path(f->dir, "tok.new"), "t2-rotated\n");
    assert_int_equal(rename(nft_path(f->dir, "tok.new"), tok), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    json_decref(pod);
    /* rewritten in place (same inode, other size) works too */
    ctlf(f, "POST", "/fake/tokens", "{\"tokens\":[\"t3\"]}");
    nft_write(tok, "t3");
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);
}

static void fake_apiserver_list_field_selector_and_paging(void **state)
{
    fake *f = *state;
    const char *names[] = {"a/p0", "a/p1", "b/p2", "b/p3", "c/p4"};
    for (int i = 0; i < 5; i++) {
        char ns[8], name[8];
        sscanf(names[i], "%7[^/]/%7s", ns, name);
        mkpod(f, ns, name, "numafit");
    }
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "other-%d", i);
        mkpod(f, "a", name, NULL);
    }
    ctlf(f, "PATCH", "/fake/pods/a/p1/status", "{\"phase\":\"Running\"}");
    nf_kube *k = client(f->url, "t1", 0);
    nf_kube_set_page_size(k, 2);
    ctl(f, "DELETE", "/fake/requests", NULL, NULL);
    json_t *items = NULL;
    char *rv = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_list_pods(k, "spec.schedulerName=numafit", &items, &rv, &err), 0);
    assert_int_equal(json_array_size(items), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *m = json_object_get(json_array_get(items, i), "metadata");
        char got[40];
        snprintf(got, sizeof(got), "%s/%s", json_string_value(json_object_get(m, "namespace")),
                 json_string_value(json_object_get(m, "name")));
        assert_string_equal(got, names[i]);
    }
    char *now = fake_rv(f);
    assert_string_equal(rv, now);
    free(now);
    /* 5 items at limit=2: three pages, the later ones with continue */
    json_t *reqs = requests(f);
    assert_int_equal(json_array_size(reqs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *q = json_object_get(json_array_get(reqs, i), "query");
        assert_string_equal(json_string_value(json_object_get(q, "limit")), "2");
        assert_string_equal(json_string_value(json_object_get(q, "fieldSelector")),
                            "spec.schedulerName=numafit");
        assert_int_equal(json_object_get(q, "continue") != NULL, i > 0);
    }
    json_decref(reqs);
    json_decref(items);
    free(rv);
    /* AND of two terms, != operator */
    assert_int_equal(
        nf_kube_list_pods(k, "spec.schedulerName=numafit,status.phase!=Running", &items, &rv, &err),
        0);
    assert_int_equal(json_array_size(items), 4);
    json_decref(items);
    free(rv);
    assert_int_equal(nf_kube_list_pods(k, NULL, &items, &rv, &err), 0);
    assert_int_equal(json_array_size(items), 8);
    json_decref(items);
    free(rv);
    /* an unknown field label is a 400 */
    assert_int_equal(nf_kube_list_pods(k, "spec.bogus=1", &items, &rv, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "field label not supported"));
    assert_null(items);
    nf_kube_free(k);
}

static const char *node_of(nf_kube *k, const char *ns, const char *name)
{
    static char node[64];
    json_t *pod = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_get_pod(k, ns, name, &pod, &err), 0);
    const char *n = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    snprintf(node, sizeof(node), "%s", n ? n : "");
    json_decref(pod);
    return node;
}

static void fake_apiserver_bind_201_409_404(void **state)
{
    fake *f = *state;
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", mkpod(f, "ns", "dpdk-0", "numafit"));
    mkpod(f, "ns", "dpdk-1", "numafit");
    nf_kube *k = client(f->url, "t1", 0);
    nf_err err = {{0}};
    long st = 0;
    assert_int_equal(nf_kube_bind_pod(k, "ns", "dpdk-0", uid, "node-1", &st, &err), 0);
    assert_int_equal(st, 201);
    assert_string_equal(node_of(k, "ns", "dpdk-0"), "node-1");
    json_t *pod = NULL;
    assert_int_equal(nf_kube_get_pod(k, "ns", "dpdk-0", &pod, &err), 0);
    json_t *cond = json_array_get(json_object_get(json_object_get(pod, "status"), "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(cond, "type")), "PodScheduled");
    json_decref(pod);

    assert_int_equal(nf_kube_bind_pod(k, "ns", "dpdk-0", uid, "node-2", &st, &err), -EEXIST);
    assert_int_equal(st, 409);
    assert_non_null(strstr(err.msg, "already assigned to node \"node-1\""));
    assert_string_equal(node_of(k, "ns", "dpdk-0"), "node-1");

    assert_int_equal(nf_kube_bind_pod(k, "ns", "gone", NULL, "node-1", &st, &err), -ENOENT);
    assert_int_equal(st, 404);

    /* a uid that is not the pod's (the pod was recreated): 409, and nothing bound */
    assert_int_equal(nf_kube_bind_pod(k, "ns", "dpdk-1", uid, "node-1", &st, &err), -EEXIST);
    assert_int_equal(st, 409);
    assert_non_null(strstr(err.msg, "Precondition failed"));
    assert_string_equal(node_of(k, "ns", "dpdk-1"), "");
    nf_kube_free(k);
}

/* A cluster-scoped custom object (NodeResourceTopology): 404, 201, 409 AlreadyExists, PUT with
 * the current resourceVersion, 409 Conflict on a stale one, 404 on PUT of a missing one. */
static void fake_apiserver_cluster_object_create_update_conflict(void **state)
{
    fake *f = *state;
    const nf_kube_kind nrt = {"topology.node.k8s.io", "v1alpha2", "noderesourcetopologies"};
    nf_kube *k = client(f->url, "t1", 0);
    nf_err err = {{0}};
    json_t *got = NULL;
    assert_int_equal(nf_kube_get_object(k, &nrt, "w1", &got, NULL, &err), -ENOENT);
    assert_null(got);
    assert_non_null(strstr(err.msg, "404"));

    json_t *obj = json_pack("{s:s,s:s,s:{s:s},s:[],s:[]}", "apiVersion",
                            "topology.node.k8s.io/v1alpha2", "kind", "NodeResourceTopology",
                            "metadata", "name", "w1", "topologyPolicies", "zones");
    assert_int_equal(nf_kube_create_object(k, &nrt, obj, &got, NULL, &err), 0);
    const char *rv1 =
        json_string_value(json_object_get(json_object_get(got, "metadata"), "resourceVersion"));
    assert_non_null(rv1);
    char rv[32];
    snprintf(rv, sizeof(rv), "%s", rv1);
    json_decref(got);
    assert_int_equal(
        count_requests(f, "POST", "/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies"), 1);

    /* the same name again: AlreadyExists */
    assert_int_equal(nf_kube_create_object(k, &nrt, obj, NULL, NULL, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "AlreadyExists"));

    /* PUT over the current resourceVersion: a new one */
    json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(rv));
    json_array_append_new(json_object_get(obj, "topologyPolicies"), json_string("None"));
    assert_int_equal(nf_kube_update_object(k, &nrt, obj, &got, NULL, &err), 0);
    const char *rv2 =
        json_string_value(json_object_get(json_object_get(got, "metadata"), "resourceVersion"));
    assert_non_null(rv2);
    assert_string_not_equal(rv2, rv);
    json_decref(got);
    assert_int_equal(nf_kube_get_object(k, &nrt, "w1", &got, NULL, &err), 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(got, "topologyPolicies"), 0)), "None");
    json_decref(got);

    /* PUT over the old one: Conflict, and nothing changed */
    json_array_clear(json_object_get(obj, "topologyPolicies"));
    assert_int_equal(nf_kube_update_object(k, &nrt, obj, NULL, NULL, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "Conflict"));
    assert_non_null(strstr(err.msg, "the object has been modified"));
    assert_int_equal(nf_kube_get_object(k, &nrt, "w1", &got, NULL, &err), 0);
    assert_int_equal(json_array_size(json_object_get(got, "topologyPolicies")), 1);
    json_decref(got);

    /* PUT of one that does not exist: 404 (no create on update); no name: refused here */
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string("w2"));
    assert_int_equal(nf_kube_update_object(k, &nrt, obj, NULL, NULL, &err), -ENOENT);
    json_object_del(json_object_get(obj, "metadata"), "name");
    assert_int_equal(nf_kube_update_object(k, &nrt, obj, NULL, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "metadata.name"));
    json_decref(obj);

    /* the core group's path */
    const nf_kube_kind nodes = {"", "v1", "nodes"};
    assert_int_equal(nf_kube_get_object(k, &nodes, "w1", &got, NULL, &err), -ENOENT);
    assert_int_equal(count_requests(f, "GET", "/api/v1/nodes/w1"), 1);
    nf_kube_free(k);
}

static void fake_apiserver_lost_answers_of_writes(void **state)
{
    fake *f = *state;
    mkpod(f, "ns", "lost-0", "numafit");
    mkpod(f, "ns", "lost-1", "numafit");
    mkpod(f, "ns", "taken", "numafit");
    nf_kube *k = client(f->url, "t1", 3);
    nf_err err = {{0}};
    long st = 0;
    /* the binding is done but its answer is a 500: the retry's 409 for the same node is success */
    inject(f, "POST", "/pods/lost-0/binding$", 500, 1, ",\"after\":true");
    assert_int_equal(nf_kube_bind_pod(k, "ns", "lost-0", NULL, "node-1", &st, &err), 0);
    assert_int_equal(st, 409);
    assert_int_equal(count_requests(f, "POST", "/api/v1/namespaces/ns/pods/lost-0/binding"), 2);
    assert_string_equal(node_of(k, "ns", "lost-0"), "node-1");
    /* the connection drops after the binding was done: the same */
    inject(f, "POST", "/pods/lost-1/binding$", 0, 1, ",\"after\":true,\"close\":true");
    assert_int_equal(nf_kube_bind_pod(k, "ns", "lost-1", NULL, "node-2", &st, &err), 0);
    assert_string_equal(node_of(k, "ns", "lost-1"), "node-2");
    /* but a pod someone else bound elsewhere stays a conflict */
    assert_int_equal(nf_kube_bind_pod(k, "ns", "taken", NULL, "node-9", &st, &err), 0);
    inject(f, "POST", "/pods/taken/binding$", 503, 1, NULL);
    assert_int_equal(nf_kube_bind_pod(k, "ns", "taken", NULL, "node-1", &st, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "node-9"));
    /* a delete whose answer was lost: the retry's 404 is success */
    inject(f, "DELETE", "/pods/lost-0$", 503, 1, ",\"after\":true");
    assert_int_equal(nf_kube_delete_pod(k, "ns", "lost-0", NULL, &err), 0);
    assert_int_equal(count_requests(f, "DELETE", "/api/v1/namespaces/ns/pods/lost-0"), 2);
    /* without a lost answer a 404 is a 404 */
    assert_int_equal(nf_kube_delete_pod(k, "ns", "lost-0", NULL, &err), -ENOENT);
    nf_kube_free(k);
}

static void fake_apiserver_delete_uid_precondition(void **state)
{
    fake *f = *state;
    char uid[64];
    snprintf(uid, sizeof(uid), "%s", mkpod(f, "ns", "victim", NULL));
    nf_kube *k = client(f->url, "t1", 0);
    nf_err err = {{0}};
    assert_int_equal(
        nf_kube_delete_pod(k, "ns", "victim", "00000000-0000-0000-0000-000000000000", &err),
        -EEXIST);
    assert_non_null(strstr(err.msg, "Precondition failed"));
    assert_int_equal(ctl(f, "GET", "/fake/pods/ns/victim", NULL, NULL), 200); /* still there */
    assert_int_equal(nf_kube_delete_pod(k, "ns", "victim", uid, &err), 0);
    assert_int_equal(ctl(f, "GET", "/fake/pods/ns/victim", NULL, NULL), 404);
    json_t *pod = NULL;
    assert_int_equal(nf_kube_get_pod(k, "ns", "victim", &pod, &err), -ENOENT);
    assert_int_equal(nf_kube_delete_pod(k, "ns", "victim", NULL, &err), -ENOENT);
    nf_kube_free(k);
}

static void fake_apiserver_retry_500_then_success(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    inject(f, "GET", "/pods/p$", 500, 2, NULL);
    nf_kube *k = client(f->url, "t1", 3);
    json_t *pod = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    assert_non_null(pod);
    json_decref(pod);
    assert_int_equal(count_requests(f, "GET", "/api/v1/namespaces/default/pods/p"), 3);
    nf_kube_free(k);
}

static void fake_apiserver_retry_429_honours_retry_after(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    inject(f, "GET", "/pods/p$", 429, 1, ",\"retryAfter\":1");
    nf_kube *k = client(f->url, "t1", 3); /* backoff 20 ms: only Retry-After explains 1 s */
    json_t *pod = NULL;
    nf_err err = {{0}};
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    int64_t took = nft_now_ms() - t0;
    json_decref(pod);
    if (took < 950 || took > 5000)
        fail_msg("Retry-After: 1 -> the retry came after %lld ms", (long long)took);
    assert_int_equal(count_requests(f, "GET", "/api/v1/namespaces/default/pods/p"), 2);
    nf_kube_free(k);
}

static void fake_apiserver_gives_up_after_retries(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    inject(f, "POST", "/binding$", 503, 100, NULL);
    nf_kube *k = client(f->url, "t1", 2);
    nf_err err = {{0}};
    long st = 0;
    assert_int_equal(nf_kube_bind_pod(k, "default", "p", NULL, "n1", &st, &err), -EIO);
    assert_int_equal(st, 503);
    assert_non_null(strstr(err.msg, "503"));
    assert_int_equal(count_requests(f, "POST", "/api/v1/namespaces/default/pods/p/binding"), 3);
    nf_kube_free(k);
    k = client(f->url, "t1", -1); /* no retries at all */
    assert_int_equal(nf_kube_bind_pod(k, "default", "p", NULL, "n1", &st, &err), -EIO);
    assert_int_equal(count_requests(f, "POST", "/api/v1/namespaces/default/pods/p/binding"), 4);
    nf_kube_free(k);
}

static void fake_apiserver_connection_dropped_and_refused(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "p", NULL);
    /* the connection closes without an answer once: retried */
    inject(f, "GET", "/pods/p$", 0, 1, ",\"close\":true");
    nf_kube *k = client(f->url, "t1", 2);
    json_t *pod = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), 0);
    json_decref(pod);
    assert_int_equal(count_requests(f, "GET", "/api/v1/namespaces/default/pods/p"), 2);
    nf_kube_free(k);
    /* nobody listens: -ECONNREFUSED after the retries */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    k = client(url, "t1", 2);
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_kube_get_pod(k, "default", "p", &pod, &err), -ECONNREFUSED);
    assert_true(nft_now_ms() - t0 < 3000);
    assert_non_null(strstr(err.msg, url));
    nf_kube_free(k);
}

/* ---- watch ---- */

typedef struct events {
    char log[64][80];
    int n;
    int fail_at; /* return 7 at this event (1-based), 0: never */
} events;

static int record(void *ctx, const char *type, json_t *obj)
{
    events *ev = ctx;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (ev->n < 64)
        snprintf(ev->log[ev->n], sizeof(ev->log[0]), "%s %s", type, name ? name : "-");
    ev->n++;
    return ev->fail_at && ev->n == ev->fail_at ? 7 : 0;
}

static void fake_apiserver_watch_events_in_order_and_resume(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "w0", NULL);
    nf_kube *k = client(f->url, "t1", 0);
    json_t *items = NULL;
    char *rv = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_list_pods(k, NULL, &items, &rv, &err), 0);
    json_decref(items);
    char *rv0 = strdup(rv);
    mkpod(f, "default", "w1", NULL);
    ctlf(f, "PATCH", "/fake/pods/default/w1/status", "{\"phase\":\"Running\"}");
    ctlf(f, "DELETE", "/fake/pods/default/w1", NULL);
    events ev = {0};
    int64_t t0 = nft_now_ms();
    /* timeoutSeconds=1: the server ends the stream (after a bookmark) and the call returns 0 */
    assert_int_equal(nf_kube_watch_pods(k, NULL, &rv, 1, record, &ev, NULL, &err), 0);
    int64_t took = nft_now_ms() - t0;
    assert_true(took >= 900 && took < 5000);
    assert_int_equal(ev.n, 4);
    assert_string_equal(ev.log[0], "ADDED w1");
    assert_string_equal(ev.log[1], "MODIFIED w1");
    assert_string_equal(ev.log[2], "DELETED w1");
    assert_string_equal(ev.log[3], "BOOKMARK -");
    char *now = fake_rv(f);
    assert_string_equal(rv, now);
    free(now);
    /* resume from the newest resourceVersion: only what happened since */
    mkpod(f, "default", "w2", NULL);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(nf_kube_watch_pods(k, NULL, &rv, 1, record, &ev, NULL, &err), 0);
    assert_int_equal(ev.n, 2);
    assert_string_equal(ev.log[0], "ADDED w2");
    assert_string_equal(ev.log[1], "BOOKMARK -");
    /* the callback's non-zero return ends the watch, the resourceVersion stays before that event */
    memset(&ev, 0, sizeof(ev));
    ev.fail_at = 2;
    char *rv1 = strdup(rv0);
    assert_int_equal(nf_kube_watch_pods(k, NULL, &rv1, 5, record, &ev, NULL, &err), 7);
    assert_int_equal(ev.n, 2);
    assert_int_not_equal(strcmp(rv1, rv0), 0);    /* moved past ADDED w1 ... */
    assert_int_equal(atoll(rv1), atoll(rv0) + 1); /* ... but not past MODIFIED w1 */
    free(rv1);
    free(rv0);
    free(rv);
    nf_kube_free(k);
}

static void fake_apiserver_watch_field_selector_transitions(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "u0", "numafit");
    char *rv = fake_rv(f);
    nf_kube *k = client(f->url, "t1", 0);
    nf_err err = {{0}};
    long st;
    /* binding u0 takes it out of "unassigned": the watch says DELETED, as the real server does */
    assert_int_equal(nf_kube_bind_pod(k, "default", "u0", NULL, "n1", &st, &err), 0);
    mkpod(f, "default", "u1", "numafit");
    events ev = {0};
    assert_int_equal(nf_kube_watch_pods(k, "spec.nodeName=,spec.schedulerName=numafit", &rv, 1,
                                        record, &ev, NULL, &err),
                     0);
    assert_true(ev.n >= 2);
    assert_string_equal(ev.log[0], "DELETED u0");
    assert_string_equal(ev.log[1], "ADDED u1");
    free(rv);
    nf_kube_free(k);
}

static void fake_apiserver_watch_expired_rv_is_estale(void **state)
{
    fake *f = *state;
    char *rv = fake_rv(f);
    char *old = strdup(rv);
    mkpod(f, "default", "x", NULL);
    ctlf(f, "POST", "/fake/compact", NULL);
    nf_kube *k = client(f->url, "t1", 0);
    nf_err err = {{0}};
    events ev = {0};
    assert_int_equal(nf_kube_watch_pods(k, NULL, &rv, 5, record, &ev, NULL, &err), -ESTALE);
    assert_non_null(strstr(err.msg, "too old resource version"));
    assert_non_null(strstr(err.msg, "410"));
    assert_int_equal(ev.n, 0);
    assert_string_equal(rv, old);
    free(old);
    free(rv);
    nf_kube_free(k);
}

typedef struct list_job {
    nf_kube *k;
    int rc;
    nf_err err;
} list_job;

static void *list_thread(void *p)
{
    list_job *j = p;
    json_t *items = NULL;
    char *rv = NULL;
    j->rc = nf_kube_list_pods(j->k, NULL, &items, &rv, &j->err);
    json_decref(items);
    free(rv);
    return NULL;
}

static void fake_apiserver_list_continue_expired_is_estale(void **state)
{
    fake *f = *state;
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "p%d", i);
        mkpod(f, "default", name, NULL);
    }
    /* hold the second page (the request with continue=) while the store is compacted */
    inject(f, "GET", "^/api/v1/pods$", 0, 1, ",\"query\":\"continue=\",\"delayMs\":1500");
    ctl(f, "DELETE", "/fake/requests", NULL, NULL);
    list_job j = {.k = client(f->url, "t1", 0)};
    nf_kube_set_page_size(j.k, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, list_thread, &j), 0);
    int64_t t0 = nft_now_ms();
    while (count_requests(f, "GET", "/api/v1/pods") < 2 && nft_now_ms() - t0 < 5000)
        sleep_ms(20);
    mkpod(f, "default", "late", NULL);
    ctlf(f, "POST", "/fake/compact", NULL);
    pthread_join(t, NULL);
    assert_int_equal(j.rc, -ESTALE);
    assert_non_null(strstr(j.err.msg, "410"));
    assert_non_null(strstr(j.err.msg, "continue"));
    nf_kube_free(j.k);
}

typedef struct watch_job {
    nf_kube *k;
    atomic_bool stop;
    int rc;
    int64_t ended;
    events ev;
    nf_err err;
} watch_job;

static void *watch_thread(void *p)
{
    watch_job *j = p;
    char *rv = NULL;
    j->rc = nf_kube_watch_pods(j->k, NULL, &rv, 0, record, &j->ev, &j->stop, &j->err);
    j->ended = nft_now_ms();
    free(rv);
    return NULL;
}

static void fake_apiserver_watch_stop_flag_within_500ms(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "s0", NULL);
    watch_job j = {.k = client(f->url, "t1", 0)};
    atomic_init(&j.stop, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watch_thread, &j), 0);
    sleep_ms(400);
    int64_t t0 = nft_now_ms();
    atomic_store(&j.stop, true);
    pthread_join(t, NULL);
    int64_t took = j.ended - t0;
    assert_int_equal(j.rc, -ECANCELED);
    if (took > 500)
        fail_msg("the watch ended %lld ms after stop", (long long)took);
    assert_int_equal(j.ev.n, 1); /* no resourceVersion: the server's current state first */
    assert_string_equal(j.ev.log[0], "ADDED s0");
    nf_kube_free(j.k);
}

static void fake_apiserver_watch_event_line_cap(void **state)
{
    fake *f = *state;
    char *big = malloc(8001);
    memset(big, 'x', 8000);
    big[8000] = '\0';
    ctlf(f, "POST", "/fake/pods",
         "{\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"%s\"}}}", big);
    free(big);
    nf_kube *k = client(f->url, "t1", 0);
    nf_kube_set_max_event_bytes(k, 4096);
    char *rv = NULL;
    nf_err err = {{0}};
    events ev = {0};
    assert_int_equal(nf_kube_watch_pods(k, NULL, &rv, 2, record, &ev, NULL, &err), -EMSGSIZE);
    assert_non_null(strstr(err.msg, "longer than 4096"));
    assert_int_equal(ev.n, 0);
    free(rv);
    nf_kube_free(k);
}

/* ---- reflector ---- */

typedef struct seen {
    pthread_mutex_t mu;
    int lists;
    size_t last_list;
    char log[64][80];
    int n;
} seen;

static void on_list(void *ctx, json_t *items)
{
    seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->lists++;
    s->last_list = json_array_size(items);
    pthread_mutex_unlock(&s->mu);
}

static void on_event(void *ctx, const char *type, json_t *obj)
{
    seen *s = ctx;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    pthread_mutex_lock(&s->mu);
    if (s->n < 64)
        snprintf(s->log[s->n], sizeof(s->log[0]), "%s %s", type, name ? name : "-");
    s->n++;
    pthread_mutex_unlock(&s->mu);
}

static bool saw(seen *s, const char *what, int64_t limit_ms)
{
    int64_t t0 = nft_now_ms();
    do {
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->n && i < 64; i++)
            if (strcmp(s->log[i], what) == 0) {
                pthread_mutex_unlock(&s->mu);
                return true;
            }
        pthread_mutex_unlock(&s->mu);
        sleep_ms(10);
    } while (nft_now_ms() - t0 < limit_ms);
    return false;
}

static uint64_t count_of(nf_kube_reflector *r, int which)
{
    uint64_t c[3];
    nf_kube_reflector_counts(r, &c[0], &c[1], &c[2]);
    return c[which];
}

static bool wait_count(nf_kube_reflector *r, int which, uint64_t want, int64_t limit_ms)
{
    int64_t t0 = nft_now_ms();
    while (count_of(r, which) < want) {
        if (nft_now_ms() - t0 > limit_ms)
            return false;
        sleep_ms(10);
    }
    return true;
}

static void fake_apiserver_reflector_resumes_relists_and_stops(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "r1", "numafit");
    mkpod(f, "default", "r2", "numafit");
    nf_kube *k = client(f->url, "t1", 0);
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    nf_kube_reflector_ops ops = {.on_list = on_list, .on_event = on_event, .ctx = &s};
    nf_kube_reflector *r = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_kube_reflector_start(k, "spec.schedulerName=numafit", &ops, &r, &err), 0);
    assert_true(nf_kube_reflector_wait_synced(r, 5000));
    assert_true(nf_kube_reflector_synced(r));
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.lists, 1);
    assert_int_equal(s.last_list, 2);
    pthread_mutex_unlock(&s.mu);
    mkpod(f, "default", "r3", "numafit");
    assert_true(saw(&s, "ADDED r3", 5000));

    /* the server ends the stream: the reflector watches again from where it was, no relist */
    assert_true(wait_count(r, 1, 1, 2000));
    ctlf(f, "POST", "/fake/end-watches", NULL);
    assert_true(wait_count(r, 1, 2, 5000));
    ctlf(f, "PATCH", "/fake/pods/default/r1/status", "{\"phase\":\"Running\"}");
    assert_true(saw(&s, "MODIFIED r1", 5000));
    assert_int_equal(count_of(r, 0), 1);

    /* events the reflector does not see (other scheduler) move the store on; a compaction then
     * makes its resourceVersion too old: the next watch gets 410 and it relists */
    mkpod(f, "default", "other-1", NULL);
    mkpod(f, "default", "other-2", NULL);
    ctlf(f, "POST", "/fake/compact", NULL);
    ctlf(f, "POST", "/fake/end-watches", NULL);
    assert_true(wait_count(r, 0, 2, 5000));
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.lists, 2);
    assert_int_equal(s.last_list, 3);
    pthread_mutex_unlock(&s.mu);
    mkpod(f, "default", "r4", "numafit");
    assert_true(saw(&s, "ADDED r4", 5000));
    assert_int_equal(count_of(r, 2), 0); /* a 410 is not an error */
    assert_false(saw(&s, "ADDED other-1", 0));

    int64_t t0 = nft_now_ms();
    nf_kube_reflector_stop(r);
    int64_t took = nft_now_ms() - t0;
    if (took > 300)
        fail_msg("nf_kube_reflector_stop took %lld ms", (long long)took);
    nf_kube_free(k);
}

static void fake_apiserver_reflector_backs_off_and_recovers(void **state)
{
    fake *f = *state;
    mkpod(f, "default", "b1", NULL);
    inject(f, "GET", "^/api/v1/pods$", 500, 3, NULL);
    nf_kube *k = client(f->url, "t1", -1);
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    nf_kube_reflector_ops ops = {.on_list = on_list, .on_event = on_event, .ctx = &s};
    nf_kube_reflector *r = NULL;
    nf_err err = {{0}};
    int64_t t0 = nft_now_ms();
    assert_int_equal(nf_kube_reflector_start(k, NULL, &ops, &r, &err), 0);
    assert_false(nf_kube_reflector_wait_synced(r, 50));
    assert_true(nf_kube_reflector_wait_synced(r, 8000));
    int64_t took = nft_now_ms() - t0;
    assert_int_equal(count_of(r, 2), 3);
    assert_true(took >= 100 + 200 + 400); /* three doubling backoffs from 100 ms */
    nf_kube_reflector_stop(r);
    nf_kube_free(k);
}

/* ---- HTTPS with a CA made here ---- */

static void fake_apiserver_https_with_test_ca(void **state)
{
    char *dir = nft_tmpdir("kubetls");
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    int rc =
        nft_sh("cd '%s' && "
               "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=nf-test-ca "
               ">/dev/null 2>&1 && "
               "openssl req %s -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 >/dev/null 2>&1 "
               "&& printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > srv.ext && "
               "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "-out srv.pem -days 2 -extfile srv.ext >/dev/null 2>&1 && "
               "openssl req %s -keyout cli.key -out cli.csr -subj /CN=numafit >/dev/null 2>&1 "
               "&& printf 'extendedKeyUsage=clientAuth\\n' > cli.ext && "
               "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "-out cli.pem -days 2 -extfile cli.ext >/dev/null 2>&1",
               dir, ec, ec, ec);
    assert_int_equal(rc, 0);
    char args[1024];
    snprintf(args, sizeof(args),
             "--token t1 --tls-cert '%s/srv.pem' --tls-key '%s/srv.key' "
             "--client-ca '%s/ca.pem'",
             dir, dir, dir);
    fake f;
    fake_start_in(&f, dir, args, true);
    char ca[4200];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    f.ca = ca;
    mkpod(&f, "default", "tls", NULL);
    nf_err err = {{0}};
    json_t *pod = NULL;
    nf_kube_opts o = {.timeout_ms = 5000, .retries = -1};
    nf_kube *k = NULL;

    /* ca_file + token */
    nf_kube_config c = {.server = f.url, .token = "t1", .ca_file = ca};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);

    /* no CA: the system store does not know this CA */
    c = (nf_kube_config){.server = f.url, .token = "t1"};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), -EIO);
    assert_non_null(strstr(err.msg, "certificate"));
    nf_kube_free(k);

    /* insecure-skip-tls-verify */
    c = (nf_kube_config){.server = f.url, .token = "t1", .insecure = true};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);

    /* CA and client certificate as data (as decoded from a kubeconfig), no token */
    char *ca_data = nft_read(ca, NULL);
    char *cert = nft_read(nft_path(dir, "cli.pem"), NULL);
    char *key = nft_read(nft_path(dir, "cli.key"), NULL);
    c = (nf_kube_config){.server = f.url, .ca_data = ca_data, .cert_data = cert, .key_data = key};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);
    /* the same without the client certificate is not authenticated */
    c = (nf_kube_config){.server = f.url, .ca_data = ca_data};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), -EACCES);
    nf_kube_free(k);
    /* client certificate files */
    char cf[4200], kf[4200];
    snprintf(cf, sizeof(cf), "%s/cli.pem", dir);
    snprintf(kf, sizeof(kf), "%s/cli.key", dir);
    c = (nf_kube_config){.server = f.url, .ca_file = ca, .cert_file = cf, .key_file = kf};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), 0);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);
    free(ca_data);
    free(cert);
    free(key);

    /* a CA file that does not exist is said at nf_kube_new */
    c = (nf_kube_config){.server = f.url, .ca_file = "/nonexistent/ca.pem"};
    assert_int_equal(nf_kube_new(&c, &o, &k, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));

    /* in-cluster: service account dir + env, the same server */
    assert_int_equal(nft_mkdirs(nft_path(dir, "sa")), 0);
    nft_write(nft_path(dir, "sa/token"), "t1\n");
    char *pem = nft_read(ca, NULL);
    nft_write(nft_path(dir, "sa/ca.crt"), pem);
    free(pem);
    char port[16];
    snprintf(port, sizeof(port), "%d", f.port);
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    nf_kube_config ic;
    assert_int_equal(nf_kube_config_in_cluster(nft_path(dir, "sa"), &ic, &err), 0);
    assert_int_equal(nf_kube_new(&ic, &o, &k, &err), 0);
    nf_kube_config_free(&ic);
    assert_int_equal(nf_kube_get_pod(k, "default", "tls", &pod, &err), 0);
    json_decref(pod);
    nf_kube_free(k);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");

    fake_stop(&f);
    nft_tmpdir_free(dir);
}

int main(void)
{
    /* loopback only: a proxy from the environment must not be used */
    static const char *proxies[] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                    "all_proxy",  "ALL_PROXY",   "no_proxy",   "NO_PROXY"};
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        unsetenv(proxies[i]);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define FAKE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kubeconfig_token_and_ca_data),
        cmocka_unit_test(kubeconfig_relative_paths_and_client_cert),
        cmocka_unit_test(kubeconfig_errors_say_what_and_where),
        cmocka_unit_test(in_cluster_config_from_sa_dir_and_env),
        FAKE_TEST(fake_apiserver_get_pod_and_404),
        FAKE_TEST(fake_apiserver_unauthorized_is_eacces),
        FAKE_TEST(fake_apiserver_token_file_rotation),
        FAKE_TEST(fake_apiserver_list_field_selector_and_paging),
        FAKE_TEST(fake_apiserver_bind_201_409_404),
        FAKE_TEST(fake_apiserver_lost_answers_of_writes),
        FAKE_TEST(fake_apiserver_cluster_object_create_update_conflict),
        FAKE_TEST(fake_apiserver_delete_uid_precondition),
        FAKE_TEST(fake_apiserver_retry_500_then_success),
        FAKE_TEST(fake_apiserver_retry_429_honours_retry_after),
        FAKE_TEST(fake_apiserver_gives_up_after_retries),
        FAKE_TEST(fake_apiserver_connection_dropped_and_refused),
        FAKE_TEST(fake_apiserver_watch_events_in_order_and_resume),
        FAKE_TEST(fake_apiserver_watch_field_selector_transitions),
        FAKE_TEST(fake_apiserver_watch_expired_rv_is_estale),
        FAKE_TEST(fake_apiserver_list_continue_expired_is_estale),
        FAKE_TEST(fake_apiserver_watch_stop_flag_within_500ms),
        FAKE_TEST(fake_apiserver_watch_event_line_cap),
        FAKE_TEST(fake_apiserver_reflector_resumes_relists_and_stops),
        FAKE_TEST(fake_apiserver_reflector_backs_off_and_recovers),
        cmocka_unit_test(fake_apiserver_https_with_test_ca),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
