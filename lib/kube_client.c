/* kube_client.c - the Kubernetes API calls numafit makes, over libcurl (see numafit/kube.h).
 *
 * Every call runs on its own easy handle driven by a private multi handle polled every
 * POLL_MS, so that a stop flag (watch, reflector list) is seen within POLL_MS however quiet the
 * connection is. Handles share DNS and TLS sessions (not connections: sharing libcurl's
 * connection cache between threads is not something to rely on), so a repeated HTTPS call
 * resumes its TLS session instead of a full handshake.
 *
 * Retries: 429 and 5xx answers and transport failures (refused, reset, timed out, nothing
 * received) are retried up to opts.retries times, after Retry-After when the server sent one
 * (capped at MAX_RETRY_AFTER_MS) or else after an exponential backoff with jitter (capped at
 * MAX_BACKOFF_MS). A write that may have reached the server before it failed (5xx, reset) makes
 * the next attempt's "already done" answer a success: delete -> 404. A binding is idempotent
 * whatever made it: 409 "already assigned to node <the same node>" is a success (an earlier
 * attempt, or an earlier call whose answer was lost to its caller).
 */
#include "numafit/clock.h"
#include "numafit/kube.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "numafit/buf.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "numafit/secret_file.h"

#ifndef NUMAFIT_VERSION
#define NUMAFIT_VERSION "0"
#endif

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 3
#define DEFAULT_BACKOFF_MS 100
#define MAX_BACKOFF_MS 10000
#define MAX_RETRY_AFTER_MS 10000
#define MAX_BODY (256u << 20)      /* one answer (a list page) */
#define MAX_ERROR_BODY (64u << 10) /* the part of an error answer kept for the message */
#define DEFAULT_PAGE 500
#define DEFAULT_MAX_EVENT (16u << 20) /* one watch event line */
#define TOKEN_MAX (64u << 10)
#define POLL_MS 50

struct nf_kube {
    nf_kube_config c; /* a deep copy */
    int64_t timeout_ms;
    int retries;
    int64_t backoff_ms;
    char *user_agent;
    int page_size;
    size_t max_event;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t tok_mu; /* guards the token re-read from token_file */
    nf_secret_file tok;
    atomic_uint seed;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small helpers ---- */

/* Percent-encode everything but RFC 3986 unreserved characters. */
static char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* A pod's API path, name components escaped; NULL on ENOMEM. */
static char *pod_path(const char *ns, const char *name, const char *sub)
{
    char *ens = url_escape(ns), *ename = url_escape(name), *out = NULL;
    if (ens && ename &&
        asprintf(&out, "/api/v1/namespaces/%s/pods/%s%s", ens, ename, sub ? sub : "") < 0)
        out = NULL;
    free(ens);
    free(ename);
    return out;
}

/* Sleep ms, in POLL_MS steps so that *stop (may be NULL) ends it early; false when stopped. */
static bool sleep_ms(int64_t ms, atomic_bool *stop)
{
    int64_t end = nf_mono_ms() + ms;
    for (;;) {
        if (stop && atomic_load(stop))
            return false;
        int64_t left = end - nf_mono_ms();
        if (left <= 0)
            return true;
        if (left > POLL_MS)
            left = POLL_MS;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* backoff plus up to half of it again (xorshift jitter: no global rand() state). */
static int64_t jitter(nf_kube *k, int64_t backoff)
{
    unsigned s = atomic_load(&k->seed), n;
    do {
        n = s;
        n ^= n << 13;
        n ^= n >> 17;
        n ^= n << 5;
    } while (!atomic_compare_exchange_weak(&k->seed, &s, n));
    return backoff + (backoff > 1 ? (int64_t)(n % (unsigned)(backoff / 2 + 1)) : 0);
}

/* ---- credentials ---- */

/* The bearer token for the next request (heap string, or NULL for none). The token file is
 * re-read when it changed (bound service-account tokens rotate: kubelet swaps the file); while it
 * cannot be read the last good token (else the static one) is used. */
static int current_token(nf_kube *k, char **out, nf_err *err)
{
    *out = NULL;
    const char *use = k->c.token;
    int rc = 0;
    pthread_mutex_lock(&k->tok_mu);
    if (k->c.token_file) {
        bool had = k->tok.data != NULL;
        nf_err rerr = {{0}};
        int r = nf_secret_file_refresh(&k->tok, &rerr);
        if (r > 0 && had)
            nf_info("kube token file changed: re-read", "file=\"%s\"", k->c.token_file);
        else if (r < 0)
            nf_log(had ? NF_LOG_DEBUG : NF_LOG_WARN, "kube token file unreadable", "err=\"%s\"",
                   rerr.msg);
        if (k->tok.data && *k->tok.data)
            use = k->tok.data;
        else if (!use)
            rc = nf_errf(err, -EACCES, "kube token file %s: unreadable or empty", k->c.token_file);
    }
    if (!rc && use && !(*out = strdup(use)))
        rc = -ENOMEM;
    pthread_mutex_unlock(&k->tok_mu);
    return rc;
}

/* ---- one HTTP exchange ---- */

typedef struct xfer {
    CURL *e;
    nf_buf body;
    int64_t retry_after_ms; /* -1: none */
    char errbuf[CURL_ERROR_SIZE];
    struct watch *w; /* a watch stream: lines go there */
} xfer;

static size_t on_header(char *d, size_t size, size_t nmemb, void *p)
{
    xfer *x = p;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(d, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t m = n - 12 < sizeof(tmp) - 1 ? n - 12 : sizeof(tmp) - 1;
        memcpy(tmp, d + 12, m);
        tmp[m] = '\0';
        char *end;
        long s = strtol(tmp, &end, 10);
        if (end != tmp && s >= 0) /* an HTTP-date form is ignored: backoff applies */
            x->retry_after_ms = s > MAX_RETRY_AFTER_MS / 1000 ? MAX_RETRY_AFTER_MS : s * 1000;
    }
    return n;
}

static size_t on_body(char *d, size_t size, size_t nmemb, void *p)
{
    xfer *x = p;
    size_t n = size * nmemb;
    return nf_buf_add(&x->body, d, n) == 0 ? n : 0;
}

/* Run one transfer on a private multi handle, checking *stop every POLL_MS. */
static CURLcode perform(CURL *e, atomic_bool *stop, bool *cancelled)
{
    *cancelled = false;
    CURLM *m = curl_multi_init();
    if (!m)
        return CURLE_OUT_OF_MEMORY;
    if (curl_multi_add_handle(m, e) != CURLM_OK) {
        curl_multi_cleanup(m);
        return CURLE_FAILED_INIT;
    }
    CURLcode res = CURLE_OK;
    int running = 1;
    for (;;) {
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (stop && atomic_load(stop)) {
            *cancelled = true;
            res = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
    }
    if (!running) {
        CURLMsg *msg;
        int q;
        while ((msg = curl_multi_info_read(m, &q)))
            if (msg->msg == CURLMSG_DONE)
                res = msg->data.result;
    }
    curl_multi_remove_handle(m, e);
    curl_multi_cleanup(m);
    return res;
}

static int setup(nf_kube *k, xfer *x, const char *method, const char *path, const char *body,
                 const char *ctype, const char *token, int64_t total_ms, struct curl_slist **hdrs)
{
    CURL *e = x->e;
    char *url = NULL;
    if (asprintf(&url, "%s%s", k->c.server, path) < 0)
        return -ENOMEM;
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* libcurl copies string options */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SHARE, k->share);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)k->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)total_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, k->user_agent);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    /* TLS: a given CA replaces the system store, as in client-go. */
    if (k->c.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (k->c.ca_data) {
        struct curl_blob b = {k->c.ca_data, strlen(k->c.ca_data), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    } else if (k->c.ca_file) {
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_CAINFO, k->c.ca_file);
    }
    if (k->c.cert_data) {
        struct curl_blob b = {k->c.cert_data, strlen(k->c.cert_data), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (k->c.cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, k->c.cert_file);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (k->c.key_data) {
        struct curl_blob b = {k->c.key_data, strlen(k->c.key_data), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (k->c.key_file) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, k->c.key_file);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    struct curl_slist *h = NULL, *t;
#define ADD_HDR(s)                                                                                 \
    do {                                                                                           \
        if (!(t = curl_slist_append(h, (s)))) {                                                    \
            curl_slist_free_all(h);                                                                \
            return -ENOMEM;                                                                        \
        }                                                                                          \
        h = t;                                                                                     \
    } while (0)
    ADD_HDR("Accept: application/json");
    ADD_HDR("Expect:"); /* no 100-continue round trip for bodies */
    if (ctype) {
        char line[128];
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        ADD_HDR(line);
    }
    if (token) {
        char *line = NULL;
        if (asprintf(&line, "Authorization: Bearer %s", token) < 0) {
            curl_slist_free_all(h);
            return -ENOMEM;
        }
        t = curl_slist_append(h, line);
        explicit_bzero(line, strlen(line));
        free(line);
        if (!t) {
            curl_slist_free_all(h);
            return -ENOMEM;
        }
        h = t;
    }
#undef ADD_HDR
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    *hdrs = h;
    return 0;
}

/* ---- errors ---- */

static int status_code_rc(long st)
{
    switch (st) {
    case 401:
    case 403:
        return -EACCES;
    case 404:
        return -ENOENT;
    case 409:
        return -EEXIST;
    case 410:
        return -ESTALE;
    case 400:
    case 422:
        return -EINVAL;
    case 408:
    case 504:
        return -ETIMEDOUT;
    default:
        return st == 429 || st >= 500 ? -EIO : -EPROTO;
    }
}

/* err <- "kube METHOD PATH: HTTP 409 Conflict: <message>" from a Status object (or raw text). */
static int status_error(const char *method, const char *path, long st, json_t *status,
                        const char *raw, nf_err *err)
{
    const char *reason = json_string_value(json_object_get(status, "reason"));
    const char *msg = json_string_value(json_object_get(status, "message"));
    int plen = (int)strcspn(path, "?");
    char snippet[120] = "";
    if (!msg && raw) {
        size_t i = 0;
        for (; raw[i] && i < sizeof(snippet) - 1; i++)
            snippet[i] = raw[i] == '\n' || raw[i] == '\r' ? ' ' : raw[i];
        snippet[i] = '\0';
        msg = snippet;
    }
    return nf_errf(err, status_code_rc(st), "kube %s %.*s: HTTP %ld %s: %s", method, plen, path, st,
                   reason ? reason : "", msg && *msg ? msg : "(no message)");
}

static int transport_rc(CURLcode r)
{
    switch (r) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static bool transport_retryable(CURLcode r)
{
    switch (r) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

/* ---- a call with retries ---- */

typedef struct call {
    const char *method;
    const char *path; /* with query */
    const char *body; /* or NULL */
    const char *ctype;
    atomic_bool *stop;  /* or NULL */
    json_t **out;       /* the parsed 2xx answer, or NULL */
    long status;        /* the last HTTP status, 0 when none arrived */
    bool ambiguous;     /* an earlier attempt may have been applied by the server */
    json_t *err_status; /* the last error answer's Status (owned), or NULL */
} call;

static int do_call(nf_kube *k, call *c, nf_err *err)
{
    int64_t backoff = k->backoff_ms;
    int rc = -EIO;
    for (int attempt = 0;; attempt++) {
        bool last = attempt >= k->retries;
        char *token = NULL;
        if ((rc = current_token(k, &token, err)))
            return rc;
        xfer x = {.e = curl_easy_init(), .retry_after_ms = -1, .body = {.max = MAX_BODY}};
        struct curl_slist *hdrs = NULL;
        if (!x.e) {
            free(token);
            return nf_errf(err, -ENOMEM, "kube %s: curl_easy_init failed", c->method);
        }
        rc = setup(k, &x, c->method, c->path, c->body, c->ctype, token, k->timeout_ms, &hdrs);
        if (token) {
            explicit_bzero(token, strlen(token));
            free(token);
        }
        if (rc) {
            curl_easy_cleanup(x.e);
            return nf_errf(err, rc, "kube %s: out of memory", c->method);
        }
        bool cancelled;
        CURLcode r = perform(x.e, c->stop, &cancelled);
        long st = 0;
        curl_easy_getinfo(x.e, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_cleanup(x.e);
        curl_slist_free_all(hdrs);
        c->status = st;
        int64_t delay = -1;
        if (cancelled) {
            rc = nf_errf(err, -ECANCELED, "kube %s %s: cancelled", c->method, c->path);
        } else if (r != CURLE_OK) {
            if (x.body.over)
                rc = nf_errf(err, -EPROTO, "kube %s %s: answer larger than %u bytes", c->method,
                             c->path, MAX_BODY);
            else
                rc = nf_errf(err, transport_rc(r), "kube %s %s%s: %s", c->method, k->c.server,
                             c->path, x.errbuf[0] ? x.errbuf : curl_easy_strerror(r));
            if (!x.body.over && transport_retryable(r)) {
                delay = jitter(k, backoff);
                if (r != CURLE_COULDNT_CONNECT && r != CURLE_COULDNT_RESOLVE_HOST)
                    c->ambiguous = true;
            }
        } else if (st >= 200 && st < 300) {
            rc = 0;
            if (c->out) {
                json_error_t je;
                *c->out = json_loadb(x.body.p ? x.body.p : "", x.body.len, 0, &je);
                if (!*c->out)
                    rc = nf_errf(err, -EPROTO, "kube %s %s: answer is not JSON: %s", c->method,
                                 c->path, je.text);
            }
        } else {
            json_decref(c->err_status);
            c->err_status = x.body.p ? json_loadb(x.body.p, x.body.len, 0, NULL) : NULL;
            rc = status_error(c->method, c->path, st, c->err_status, x.body.p, err);
            if (st == 429 || st >= 500) {
                delay = x.retry_after_ms >= 0 ? x.retry_after_ms : jitter(k, backoff);
                if (st >= 500)
                    c->ambiguous = true;
            }
        }
        nf_buf_free(&x.body);
        if (delay < 0 || last)
            return rc;
        nf_warn("kube request failed: retrying",
                "method=%s path=\"%.*s\" status=%ld delay_ms=%lld "
                "err=\"%s\"",
                c->method, (int)strcspn(c->path, "?"), c->path, st, (long long)delay,
                err ? err->msg : "");
        if (!sleep_ms(delay, c->stop))
            return nf_errf(err, -ECANCELED, "kube %s %s: cancelled", c->method, c->path);
        backoff = backoff * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff * 2;
    }
}

/* ---- client ---- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    nf_kube *k = u;
    pthread_mutex_lock(&k->share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
    nf_kube *k = u;
    pthread_mutex_unlock(&k->share_mu[d]);
}

static int dup_field(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    return (*dst = strdup(src)) ? 0 : -ENOMEM;
}

int nf_kube_new(const nf_kube_config *cfg, const nf_kube_opts *o, nf_kube **out, nf_err *err)
{
    *out = NULL;
    if (!cfg || !cfg->server)
        return nf_errf(err, -EINVAL, "kube: no API server configured");
    if (strncmp(cfg->server, "https://", 8) != 0 && strncmp(cfg->server, "http://", 7) != 0)
        return nf_errf(err, -EINVAL, "kube: server \"%s\" is not an http(s):// URL", cfg->server);
    const char *files[] = {cfg->ca_data ? NULL : cfg->ca_file,
                           cfg->cert_data ? NULL : cfg->cert_file,
                           cfg->key_data ? NULL : cfg->key_file};
    const char *what[] = {"CA file", "client certificate", "client key"};
    for (size_t i = 0; i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            return nf_errf(err, errno == ENOENT ? -ENOENT : -EACCES, "kube: %s %s: %s", what[i],
                           files[i], strerror(errno));
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return nf_errf(err, -EIO, "kube: curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    nf_kube *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    int rc = 0;
    if ((rc = dup_field(&k->c.server, cfg->server)) ||
        (rc = dup_field(&k->c.ca_file, cfg->ca_file)) ||
        (rc = dup_field(&k->c.ca_data, cfg->ca_data)) ||
        (rc = dup_field(&k->c.token, cfg->token)) ||
        (rc = dup_field(&k->c.token_file, cfg->token_file)) ||
        (rc = dup_field(&k->c.cert_file, cfg->cert_file)) ||
        (rc = dup_field(&k->c.key_file, cfg->key_file)) ||
        (rc = dup_field(&k->c.cert_data, cfg->cert_data)) ||
        (rc = dup_field(&k->c.key_data, cfg->key_data)) ||
        (rc = dup_field(&k->c.source, cfg->source))) {
        nf_kube_config_free(&k->c);
        free(k);
        return nf_errf(err, rc, "kube: out of memory");
    }
    k->c.insecure = cfg->insecure;
    size_t n = strlen(k->c.server);
    while (n > 8 && k->c.server[n - 1] == '/')
        k->c.server[--n] = '\0';
    k->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    k->retries = !o || o->retries == 0 ? DEFAULT_RETRIES : o->retries < 0 ? 0 : o->retries;
    k->backoff_ms = o && o->backoff_ms > 0 ? o->backoff_ms : DEFAULT_BACKOFF_MS;
    k->page_size = DEFAULT_PAGE;
    k->max_event = DEFAULT_MAX_EVENT;
    if (o && o->user_agent)
        k->user_agent = strdup(o->user_agent);
    else
        k->user_agent = strdup("numafit/" NUMAFIT_VERSION);
    atomic_init(&k->seed, (unsigned)nf_mono_ms() ^ (unsigned)getpid() ^ 0x9e3779b9u);
    pthread_mutex_init(&k->tok_mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&k->share_mu[i], NULL);
    k->share = curl_share_init();
    if (!k->user_agent || !k->share) {
        nf_kube_free(k);
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    }
    curl_share_setopt(k->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(k->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(k->share, CURLSHOPT_USERDATA, k);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    /* Read the token file once now, so that a missing token is said at start. */
    char *tok = NULL;
    if (k->c.token_file &&
        nf_secret_file_init(&k->tok, k->c.token_file, TOKEN_MAX, NF_SECRET_TRIM)) {
        nf_kube_free(k);
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    }
    if (k->c.token_file && (rc = current_token(k, &tok, err))) {
        nf_kube_free(k);
        return rc;
    }
    free(tok);
    *out = k;
    return 0;
}

int nf_kube_open(const char *kubeconfig, nf_kube **out, nf_err *err)
{
    *out = NULL;
    nf_kube_config kc = {0};
    int rc = kubeconfig ? nf_kube_config_load(kubeconfig, &kc, err)
                        : nf_kube_config_in_cluster(NULL, &kc, err);
    if (rc == -ENOENT && !kubeconfig)
        return 0; /* not in a cluster */
    if (rc)
        return rc;
    if ((rc = nf_kube_new(&kc, NULL, out, err)) == 0)
        nf_info("API server client", "server=%s from=\"%s\"", kc.server, kc.source);
    nf_kube_config_free(&kc);
    return rc;
}

void nf_kube_free(nf_kube *k)
{
    if (!k)
        return;
    if (k->share)
        curl_share_cleanup(k->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&k->share_mu[i]);
    pthread_mutex_destroy(&k->tok_mu);
    nf_secret_file_free(&k->tok);
    if (k->c.token)
        explicit_bzero(k->c.token, strlen(k->c.token));
    nf_kube_config_free(&k->c);
    free(k->user_agent);
    free(k);
}

const char *nf_kube_server(const nf_kube *k)
{
    return k->c.server;
}

void nf_kube_set_page_size(nf_kube *k, int n)
{
    k->page_size = n > 0 ? n : DEFAULT_PAGE;
}

void nf_kube_set_max_event_bytes(nf_kube *k, size_t n)
{
    k->max_event = n > 0 ? n : DEFAULT_MAX_EVENT;
}

/* ---- the calls ---- */

int nf_kube_get_pod(nf_kube *k, const char *ns, const char *name, json_t **pod, nf_err *err)
{
    *pod = NULL;
    char *path = pod_path(ns, name, NULL);
    if (!path)
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    call c = {.method = "GET", .path = path, .out = pod};
    int rc = do_call(k, &c, err);
    json_decref(c.err_status);
    free(path);
    if (rc == 0 && !json_is_object(*pod)) {
        json_decref(*pod);
        *pod = NULL;
        rc = nf_errf(err, -EPROTO, "kube GET pod %s/%s: answer is not an object", ns, name);
    }
    return rc;
}

static char *list_path(const char *prefix, int limit, const char *fs, const char *cont)
{
    char *efs = fs && *fs ? url_escape(fs) : NULL, *econt = cont ? url_escape(cont) : NULL;
    char *out = NULL;
    if ((fs && *fs && !efs) || (cont && !econt) ||
        asprintf(&out, "%s?limit=%d%s%s%s%s", prefix, limit, efs ? "&fieldSelector=" : "",
                 efs ? efs : "", econt ? "&continue=" : "", econt ? econt : "") < 0)
        out = NULL;
    free(efs);
    free(econt);
    return out;
}

static char *object_path(const nf_kube_kind *r, const char *name);

/* GET prefix (a collection) page by page, as nf_kube_list_pods_until says. */
static int list_until(nf_kube *k, const char *prefix, const char *field_selector, json_t **items,
                      char **resource_version, atomic_bool *stop, nf_err *err)
{
    *items = NULL;
    *resource_version = NULL;
    json_t *all = json_array();
    char *cont = NULL, *rv = NULL;
    int rc = all ? 0 : -ENOMEM;
    for (int page = 0; rc == 0; page++) {
        char *path = list_path(prefix, k->page_size, field_selector, cont);
        if (!path) {
            rc = nf_errf(err, -ENOMEM, "kube: out of memory");
            break;
        }
        json_t *ans = NULL;
        call c = {.method = "GET", .path = path, .out = &ans, .stop = stop};
        rc = do_call(k, &c, err);
        json_decref(c.err_status);
        free(path);
        if (rc)
            break;
        json_t *meta = json_object_get(ans, "metadata");
        json_t *list = json_object_get(ans, "items");
        const char *prv = json_string_value(json_object_get(meta, "resourceVersion"));
        const char *pc = json_string_value(json_object_get(meta, "continue"));
        if (!json_is_object(ans) || (!json_is_array(list) && !json_is_null(list)) || !prv) {
            rc = nf_errf(err, -EPROTO,
                         "kube GET %s: answer is not a list with metadata.resourceVersion", prefix);
        } else {
            if (json_is_array(list) && json_array_extend(all, list) != 0)
                rc = -ENOMEM;
            if (!rv && !(rv = strdup(prv)))
                rc = -ENOMEM;
            free(cont);
            cont = pc && *pc && rc == 0 ? strdup(pc) : NULL;
            if (pc && *pc && !cont)
                rc = -ENOMEM;
        }
        json_decref(ans);
        if (rc == 0 && !cont)
            break;
        if (page > 1000000)
            rc = nf_errf(err, -EPROTO, "kube GET %s: endless continue chain", prefix);
    }
    free(cont);
    if (rc) {
        json_decref(all);
        free(rv);
        return rc;
    }
    *items = all;
    *resource_version = rv;
    return 0;
}

int nf_kube_list_pods_until(nf_kube *k, const char *field_selector, json_t **items,
                            char **resource_version, atomic_bool *stop, nf_err *err)
{
    return list_until(k, "/api/v1/pods", field_selector, items, resource_version, stop, err);
}

int nf_kube_list_objects_until(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                               json_t **items, char **resource_version, atomic_bool *stop,
                               nf_err *err)
{
    char *prefix = object_path(kind, NULL);
    *items = NULL;
    *resource_version = NULL;
    if (!prefix)
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    int rc = list_until(k, prefix, field_selector, items, resource_version, stop, err);
    free(prefix);
    return rc;
}

int nf_kube_list_pods(nf_kube *k, const char *field_selector, json_t **items,
                      char **resource_version, nf_err *err)
{
    return nf_kube_list_pods_until(k, field_selector, items, resource_version, NULL, err);
}

int nf_kube_bind_pod(nf_kube *k, const char *ns, const char *name, const char *uid,
                     const char *node, long *http_status, nf_err *err)
{
    if (http_status)
        *http_status = 0;
    json_t *meta = json_pack("{s:s, s:s}", "name", name, "namespace", ns);
    if (meta && uid)
        json_object_set_new(meta, "uid", json_string(uid));
    json_t *b = meta ? json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
                                 "Binding", "metadata", meta, "target", "apiVersion", "v1", "kind",
                                 "Node", "name", node)
                     : NULL;
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    char *path = pod_path(ns, name, "/binding");
    if (!body || !path) {
        free(body);
        free(path);
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    }
    call c = {.method = "POST", .path = path, .body = body, .ctype = "application/json"};
    int rc = do_call(k, &c, err);
    if (rc == -EEXIST) {
        /* Bound to this very node already (the uid precondition is checked before this): an
         * earlier attempt or call did it. */
        const char *msg = json_string_value(json_object_get(c.err_status, "message"));
        char want[300];
        snprintf(want, sizeof(want), "already assigned to node \"%s\"", node);
        if (msg && strstr(msg, want)) {
            nf_info("kube bind: an earlier attempt had bound the pod", "pod=%s/%s node=%s", ns,
                    name, node);
            rc = 0;
        }
    }
    if (http_status)
        *http_status = c.status;
    json_decref(c.err_status);
    free(body);
    free(path);
    return rc;
}

int nf_kube_delete_pod(nf_kube *k, const char *ns, const char *name, const char *uid, nf_err *err)
{
    json_t *o = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
    if (o && uid)
        json_object_set_new(o, "preconditions", json_pack("{s:s}", "uid", uid));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *path = pod_path(ns, name, NULL);
    if (!body || !path) {
        free(body);
        free(path);
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    }
    call c = {.method = "DELETE", .path = path, .body = body, .ctype = "application/json"};
    int rc = do_call(k, &c, err);
    if (rc == -ENOENT && c.ambiguous) {
        nf_info("kube delete: an earlier attempt had deleted the pod", "pod=%s/%s", ns, name);
        rc = 0;
    }
    json_decref(c.err_status);
    free(body);
    free(path);
    return rc;
}

/* ---- cluster-scoped objects of any kind ---- */

/* /apis/{group}/{version}/{plural}[/{name}] (/api/v1/... for the core group ""); NULL on
 * ENOMEM. */
static char *object_path(const nf_kube_kind *r, const char *name)
{
    char *ename = name ? url_escape(name) : NULL, *out = NULL;
    bool core = !r->group || !*r->group;
    if ((!name || ename) &&
        asprintf(&out, "%s%s/%s/%s%s%s", core ? "/api" : "/apis/", core ? "" : r->group, r->version,
                 r->plural, ename ? "/" : "", ename ? ename : "") < 0)
        out = NULL;
    free(ename);
    return out;
}

/* One call on an object: METHOD path (of name, or of the collection when name is NULL) with
 * obj as the JSON body (may be NULL); *ans (may be NULL) receives the answer, an object. */
static int object_call(nf_kube *k, const char *method, const nf_kube_kind *r, const char *name,
                       const json_t *obj, json_t **ans, atomic_bool *stop, nf_err *err)
{
    json_t *got = NULL;
    char *path = object_path(r, name);
    char *body = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (ans)
        *ans = NULL;
    if (!path || (obj && !body)) {
        free(path);
        free(body);
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    }
    call c = {.method = method,
              .path = path,
              .body = body,
              .ctype = body ? "application/json" : NULL,
              .stop = stop,
              .out = &got};
    int rc = do_call(k, &c, err);
    json_decref(c.err_status);
    if (rc == 0 && !json_is_object(got))
        rc = nf_errf(err, -EPROTO, "kube %s %s: answer is not an object", method, path);
    free(path);
    free(body);
    if (rc == 0 && ans)
        *ans = got;
    else
        json_decref(got);
    return rc;
}

int nf_kube_get_object(nf_kube *k, const nf_kube_kind *r, const char *name, json_t **obj,
                       atomic_bool *stop, nf_err *err)
{
    return object_call(k, "GET", r, name, NULL, obj, stop, err);
}

int nf_kube_create_object(nf_kube *k, const nf_kube_kind *r, const json_t *obj, json_t **created,
                          atomic_bool *stop, nf_err *err)
{
    return object_call(k, "POST", r, NULL, obj, created, stop, err);
}

int nf_kube_update_object(nf_kube *k, const nf_kube_kind *r, const json_t *obj, json_t **updated,
                          atomic_bool *stop, nf_err *err)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (!name || !*name)
        return nf_errf(err, -EINVAL, "kube PUT %s: the object has no metadata.name", r->plural);
    return object_call(k, "PUT", r, name, obj, updated, stop, err);
}

/* ---- watch ---- */

typedef struct watch {
    nf_kube *k;
    CURL *e;
    const char *path;
    nf_buf line;
    long status; /* HTTP status, read when the first body bytes arrive */
    nf_kube_watch_fn fn;
    void *ctx;
    char **rv;
    int rc; /* why the stream was aborted */
    nf_err *err;
    nf_buf errbody;
} watch;

static int watch_event(watch *w)
{
    const char *s = w->line.p;
    size_t n = w->line.len;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 0;
    json_error_t je;
    json_t *ev = json_loadb(s, n, 0, &je);
    if (!ev)
        return nf_errf(w->err, -EPROTO, "kube watch: event is not JSON: %s", je.text);
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    int rc = 0;
    if (!type || !json_is_object(obj)) {
        rc = nf_errf(w->err, -EPROTO, "kube watch: event without type or object");
    } else if (strcmp(type, "ERROR") == 0) {
        json_t *code = json_object_get(obj, "code");
        long st = json_is_integer(code) ? (long)json_integer_value(code) : 500;
        rc = status_error("WATCH", w->path, st, obj, NULL, w->err);
        if (rc == -EIO) /* an ERROR event that is not a 410: say so, do not look like transport */
            rc = -EPROTO;
    } else if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") && strcmp(type, "DELETED") &&
               strcmp(type, "BOOKMARK")) {
        rc = nf_errf(w->err, -EPROTO, "kube watch: unknown event type \"%.40s\"", type);
    } else {
        const char *rv =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        rc = w->fn ? w->fn(w->ctx, type, obj) : 0;
        if (rc == 0 && rv && *rv) {
            char *dup = strdup(rv);
            if (!dup) {
                rc = -ENOMEM;
            } else {
                free(*w->rv);
                *w->rv = dup;
            }
        }
    }
    json_decref(ev);
    return rc;
}

static size_t on_watch_data(char *d, size_t size, size_t nmemb, void *p)
{
    xfer *x = p;
    watch *w = x->w;
    size_t n = size * nmemb;
    if (w->status == 0)
        curl_easy_getinfo(w->e, CURLINFO_RESPONSE_CODE, &w->status);
    if (w->status != 200) {
        nf_buf_add(&w->errbody, d, n); /* the part that fits is enough for a message */
        return n;
    }
    const char *s = d, *end = d + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t take = nl ? (size_t)(nl - s) : (size_t)(end - s);
        int rc = nf_buf_add(&w->line, s, take);
        if (rc) {
            w->rc = rc == -EMSGSIZE ? nf_errf(w->err, -EMSGSIZE,
                                              "kube watch: an event line is longer than %zu "
                                              "bytes",
                                              w->k->max_event)
                                    : rc;
            return 0;
        }
        if (!nl)
            break;
        s = nl + 1;
        rc = watch_event(w);
        w->line.len = 0;
        if (rc) {
            w->rc = rc;
            return 0;
        }
    }
    return n;
}

/* Watch the collection at prefix, as nf_kube_watch_pods says. */
static int watch_until(nf_kube *k, const char *prefix, const char *field_selector,
                       char **resource_version, int timeout_s, nf_kube_watch_fn fn, void *ctx,
                       atomic_bool *stop, nf_err *err)
{
    char *efs = field_selector && *field_selector ? url_escape(field_selector) : NULL;
    const char *rv0 = resource_version && *resource_version ? *resource_version : NULL;
    char *erv = rv0 ? url_escape(rv0) : NULL;
    char *path = NULL, tmo[32] = "";
    if (timeout_s > 0)
        snprintf(tmo, sizeof(tmo), "&timeoutSeconds=%d", timeout_s);
    if ((field_selector && *field_selector && !efs) || (rv0 && !erv) ||
        asprintf(&path, "%s?watch=1&allowWatchBookmarks=true%s%s%s%s%s", prefix,
                 erv ? "&resourceVersion=" : "", erv ? erv : "", tmo, efs ? "&fieldSelector=" : "",
                 efs ? efs : "") < 0)
        path = NULL;
    free(efs);
    free(erv);
    if (!path)
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    char *token = NULL;
    int rc = current_token(k, &token, err);
    if (rc) {
        free(path);
        return rc;
    }
    char *rv_local = NULL;
    watch w = {.k = k,
               .path = path,
               .line = {.max = k->max_event},
               .fn = fn,
               .ctx = ctx,
               .rv = resource_version ? resource_version : &rv_local,
               .err = err,
               .errbody = {.max = MAX_ERROR_BODY}};
    xfer x = {.e = curl_easy_init(), .retry_after_ms = -1, .w = &w};
    w.e = x.e;
    struct curl_slist *hdrs = NULL;
    /* The server ends the stream after timeout_s; the client gives it timeout_ms more. */
    int64_t total = timeout_s > 0 ? (int64_t)timeout_s * 1000 + k->timeout_ms : 0;
    rc = x.e ? setup(k, &x, "GET", path, NULL, NULL, token, total, &hdrs) : -ENOMEM;
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    if (rc) {
        if (x.e)
            curl_easy_cleanup(x.e);
        free(path);
        return nf_errf(err, rc, "kube watch: out of memory");
    }
    curl_easy_setopt(x.e, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_setopt(x.e, CURLOPT_WRITEDATA, &x);
    bool cancelled;
    CURLcode r = perform(x.e, stop, &cancelled);
    long st = 0;
    curl_easy_getinfo(x.e, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(x.e);
    curl_slist_free_all(hdrs);
    if (w.rc) {
        rc = w.rc;
    } else if (cancelled) {
        rc = nf_errf(err, -ECANCELED, "kube watch: stopped");
    } else if (r != CURLE_OK) {
        rc = nf_errf(err, transport_rc(r), "kube watch %s%.*s: %s", k->c.server,
                     (int)strcspn(path, "?"), path, x.errbuf[0] ? x.errbuf : curl_easy_strerror(r));
    } else if (st != 200) {
        json_t *status = w.errbody.p ? json_loadb(w.errbody.p, w.errbody.len, 0, NULL) : NULL;
        rc = status_error("WATCH", path, st, status, w.errbody.p, err);
        json_decref(status);
    } else {
        rc = w.line.len ? watch_event(&w) : 0; /* a last line without '\n' */
    }
    nf_buf_free(&w.line);
    nf_buf_free(&w.errbody);
    free(rv_local);
    free(path);
    return rc;
}

int nf_kube_watch_pods(nf_kube *k, const char *field_selector, char **resource_version,
                       int timeout_s, nf_kube_watch_fn fn, void *ctx, atomic_bool *stop,
                       nf_err *err)
{
    return watch_until(k, "/api/v1/pods", field_selector, resource_version, timeout_s, fn, ctx,
                       stop, err);
}

int nf_kube_watch_objects(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                          char **resource_version, int timeout_s, nf_kube_watch_fn fn, void *ctx,
                          atomic_bool *stop, nf_err *err)
{
    char *prefix = object_path(kind, NULL);
    if (!prefix)
        return nf_errf(err, -ENOMEM, "kube: out of memory");
    int rc =
        watch_until(k, prefix, field_selector, resource_version, timeout_s, fn, ctx, stop, err);
    free(prefix);
    return rc;
}
