/* puller.c - pull NodeTopology documents from exporters (see puller.h). */
#include "puller.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numafit/buf.h"
#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/secret_file.h"
#include "numafit/topology_json.h"

#define TOKEN_MAX (64u << 10)

typedef struct source {
    char *base; /* "http://10.0.0.5:9750": also the cache's source name */
    int dns;    /* index of the --exporter-dns target that found it; -1 for --exporter */
    CURL *easy;
    bool busy;
    int64_t next_at; /* monotonic ms of the next request when idle */
    int64_t started_at;
    int64_t backoff_ms;
    bool have_gen;
    uint64_t gen;
    char *node;  /* the node this exporter last published */
    nf_buf body; /* .max = max_body; .over: the document was larger */
    size_t max_body;
    char etag[32];
    bool failing;
    uint64_t pulls, errors; /* under stats_mu, like node */
    char errbuf[CURL_ERROR_SIZE];
    char url[1024];
    const char *verify_name;    /* https: the name its certificate must carry, or NULL: the host */
    struct curl_slist *hdrs;    /* of the request in flight */
    struct curl_slist *connect; /* CURLOPT_CONNECT_TO of the request in flight */
} source;

typedef struct dns_target {
    char *host, *port;
    char **pending; /* fresh resolution not yet applied by the puller thread */
    size_t n_pending;
    bool have_pending;
} dns_target;

struct nf_puller {
    nf_cache *cache;
    nf_puller_opts o;
    CURLM *multi;
    source **src;
    size_t n_src;
    dns_target *dns;
    size_t n_dns;
    pthread_t thread, resolver;
    bool started, resolver_started;
    atomic_bool stop;
    pthread_mutex_t mu; /* dns[].pending*, resolver wake-ups */
    pthread_cond_t cond;
    atomic_size_t n_exporters, n_failing;
    pthread_mutex_t stats_mu; /* src[] membership, and each source's node/pulls/errors */
    bool https_dns;           /* --exporter-dns records are https:// (a CA or client certificate) */
    nf_secret_file token;     /* read by the puller thread only, once started */
};

void nf_puller_opts_default(nf_puller_opts *o)
{
    *o = (nf_puller_opts){
        .connect_timeout_ms = 2000,
        .request_timeout_ms = 35000,
        .hold_ms = 4000,
        .hold_grace_ms = 1000,
        .backoff_min_ms = 250,
        .backoff_max_ms = 30000,
        .min_interval_ms = 1000,
        .dns_interval_ms = 30000,
        .max_body = 64u << 20,
    };
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int nf_puller_new(nf_cache *cache, const nf_puller_opts *opts, nf_puller **out)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return -EIO;
    nf_puller *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cache = cache;
    if (opts)
        p->o = *opts;
    else
        nf_puller_opts_default(&p->o);
    if (!p->o.resolve)
        p->o.resolve = nf_resolve_getaddrinfo;
    p->https_dns = p->o.ca_file || p->o.cert_file;
    if (p->o.token_file &&
        nf_secret_file_init(&p->token, p->o.token_file, TOKEN_MAX, NF_SECRET_TRIM)) {
        free(p);
        return -ENOMEM;
    }
    if (!(p->multi = curl_multi_init())) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->stats_mu, NULL);
    nf_mono_cond_init(&p->cond);
    *out = p;
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void source_free(nf_puller *p, source *s)
{
    if (!s)
        return;
    if (s->easy) {
        if (s->busy)
            curl_multi_remove_handle(p->multi, s->easy);
        curl_easy_cleanup(s->easy);
    }
    curl_slist_free_all(s->hdrs);
    curl_slist_free_all(s->connect);
    free(s->base);
    free(s->node);
    nf_buf_free(&s->body);
    free(s);
}

void nf_puller_free(nf_puller *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    curl_multi_wakeup(p->multi);
    if (p->started)
        pthread_join(p->thread, NULL);
    if (p->resolver_started)
        pthread_join(p->resolver, NULL);
    for (size_t i = 0; i < p->n_src; i++)
        source_free(p, p->src[i]);
    free(p->src);
    for (size_t i = 0; i < p->n_dns; i++) {
        free(p->dns[i].host);
        free(p->dns[i].port);
        free_strv(p->dns[i].pending, p->dns[i].n_pending);
    }
    free(p->dns);
    curl_multi_cleanup(p->multi);
    nf_secret_file_free(&p->token);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->stats_mu);
    free(p);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    source *s = ud;
    size_t n = size * nmemb;
    /* 0 aborts the transfer with CURLE_WRITE_ERROR (over max_body: s->body.over) */
    return nf_buf_add(&s->body, data, n) ? 0 : n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    source *s = ud;
    size_t n = size * nmemb;
    if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        const char *v = data + 5, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (end - v >= 2 && v[0] == 'W' && v[1] == '/')
            v += 2;
        size_t k = 0;
        for (; v < end && k + 1 < sizeof(s->etag); v++)
            if (*v != '"' && *v != '\r' && *v != '\n' && *v != ' ')
                s->etag[k++] = *v;
        s->etag[k] = 0;
    }
    return n;
}

static int source_add(nf_puller *p, const char *base, int dns, nf_err *err)
{
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    if (blen == 0 || blen > 900)
        return nf_errf(err, -EINVAL, "exporter URL \"%s\": empty or too long", base);
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return nf_errf(err, -EINVAL, "exporter URL \"%s\": expected http:// or https://", base);
    for (size_t i = 0; i < p->n_src; i++)
        if (strlen(p->src[i]->base) == blen && strncmp(p->src[i]->base, base, blen) == 0)
            return 0; /* the same exporter twice (a flag and a DNS record) is pulled once */
    pthread_mutex_lock(&p->stats_mu);
    source **v = realloc(p->src, (p->n_src + 1) * sizeof(*v));
    if (v)
        p->src = v;
    pthread_mutex_unlock(&p->stats_mu);
    if (!v)
        return nf_errf(err, -ENOMEM, "exporter %s: out of memory", base);
    source *s = calloc(1, sizeof(*s));
    if (!s || !(s->base = strndup(base, blen)) || !(s->easy = curl_easy_init())) {
        if (s)
            free(s->base);
        free(s);
        return nf_errf(err, -ENOMEM, "exporter %s: out of memory", base);
    }
    s->dns = dns;
    if (strncmp(s->base, "https://", 8) == 0)
        s->verify_name = p->o.server_name ? p->o.server_name : dns >= 0 ? p->dns[dns].host : NULL;
    s->max_body = s->body.max = p->o.max_body ? p->o.max_body : 64u << 20;
    s->backoff_ms = p->o.backoff_min_ms;
    s->next_at = nf_mono_ms();
    pthread_mutex_lock(&p->stats_mu);
    p->src[p->n_src++] = s;
    pthread_mutex_unlock(&p->stats_mu);
    atomic_store(&p->n_exporters, p->n_src);
    return 0;
}

int nf_puller_add_exporter(nf_puller *p, const char *url, nf_err *err)
{
    if (p->started)
        return nf_errf(err, -EBUSY, "exporter %s: the puller is already running", url);
    return source_add(p, url, -1, err);
}

int nf_puller_add_dns(nf_puller *p, const char *host_port, nf_err *err)
{
    if (p->started)
        return nf_errf(err, -EBUSY, "exporter DNS %s: the puller is already running", host_port);
    const char *colon = strrchr(host_port, ':');
    const char *host = host_port, *hend = colon;
    if (host_port[0] == '[') {
        const char *rb = strchr(host_port, ']');
        if (!rb || rb[1] != ':')
            return nf_errf(err, -EINVAL, "exporter DNS \"%s\": expected [IPv6]:PORT", host_port);
        host = host_port + 1;
        hend = rb;
        colon = rb + 1;
    }
    if (!colon || hend == host || !colon[1] ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
        atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535)
        return nf_errf(err, -EINVAL, "exporter DNS \"%s\": expected HOST:PORT", host_port);
    dns_target *v = realloc(p->dns, (p->n_dns + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    p->dns = v;
    dns_target *t = &p->dns[p->n_dns];
    memset(t, 0, sizeof(*t));
    if (!(t->host = strndup(host, (size_t)(hend - host))) || !(t->port = strdup(colon + 1))) {
        free(t->host);
        return -ENOMEM;
    }
    p->n_dns++;
    return 0;
}

int nf_puller_stats(nf_puller *p, nf_puller_stat **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&p->stats_mu);
    nf_puller_stat *v = calloc(p->n_src ? p->n_src : 1, sizeof(*v));
    int rc = v ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < p->n_src; i++) {
        const source *s = p->src[i];
        v[i] = (nf_puller_stat){.pulls = s->pulls, .errors = s->errors, .failing = s->failing};
        if (!(v[i].exporter = strdup(s->base)) || (s->node && !(v[i].node = strdup(s->node))))
            rc = -ENOMEM;
    }
    size_t count = p->n_src;
    pthread_mutex_unlock(&p->stats_mu);
    if (rc) {
        nf_puller_stats_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

void nf_puller_stats_free(nf_puller_stat *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        free(s[i].exporter);
        free(s[i].node);
    }
    free(s);
}

void nf_puller_counts(nf_puller *p, size_t *exporters, size_t *failing)
{
    if (exporters)
        *exporters = atomic_load(&p->n_exporters);
    if (failing)
        *failing = atomic_load(&p->n_failing);
}

/* ---- the puller thread ------------------------------------------------------------------ */

/* s->url for path; an https source checked against another name than its host gets a URL with
 * that name and a CONNECT_TO entry "name:port:host:port" that sends it to the host. */
static int request_url(source *s, const char *path)
{
    const char *auth = s->base + (s->base[4] == 's' ? 8 : 7), *end = strchr(auth, '/');
    size_t alen = end ? (size_t)(end - auth) : strlen(auth);
    if (!s->verify_name) {
        snprintf(s->url, sizeof(s->url), "%s%s", s->base, path);
        return 0;
    }
    const char *rb = memchr(auth, ']', alen), *from = rb ? rb : auth;
    const char *colon = memrchr(from, ':', alen - (size_t)(from - auth));
    size_t hlen = colon ? (size_t)(colon - auth) : alen;
    const char *port = colon ? colon + 1 : "443";
    int plen = colon ? (int)(alen - hlen - 1) : 3;
    char connect[640];
    snprintf(s->url, sizeof(s->url), "https://%s:%.*s%s%s", s->verify_name, plen, port,
             end ? end : "", path);
    snprintf(connect, sizeof(connect), "%s:%.*s:%.*s:%.*s", s->verify_name, plen, port, (int)hlen,
             auth, plen, port);
    curl_slist_free_all(s->connect);
    s->connect = curl_slist_append(NULL, connect);
    return s->connect ? 0 : -ENOMEM;
}

/* TLS options and the bearer token of an exporter request. */
static int request_auth(nf_puller *p, source *s, CURL *e)
{
    if (strncmp(s->base, "https://", 8) == 0) {
        curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        if (p->o.ca_file) {
            curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
            curl_easy_setopt(e, CURLOPT_CAINFO, p->o.ca_file);
#if LIBCURL_VERSION_NUM >= 0x075700
            curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L); /* a rotated CA file counts now */
#endif
        }
        if (p->o.cert_file) {
            curl_easy_setopt(e, CURLOPT_SSLCERT, p->o.cert_file);
            curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
            curl_easy_setopt(e, CURLOPT_SSLKEY, p->o.key_file);
            curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
        }
        if (s->connect)
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, s->connect);
    }
    curl_slist_free_all(s->hdrs);
    s->hdrs = NULL;
    if (s->have_gen) { /* a held long-poll that ends unchanged is a 304 of a few bytes */
        char inm[64];
        snprintf(inm, sizeof(inm), "If-None-Match: \"%" PRIu64 "\"", s->gen);
        if (!(s->hdrs = curl_slist_append(NULL, inm)))
            return -ENOMEM;
    }
    if (p->o.token_file) {
        nf_err err = {{0}};
        if (nf_secret_file_refresh(&p->token, &err) < 0)
            nf_debug("exporter token file unreadable: the last token read is sent", "err=\"%s\"",
                     err.msg);
        char *line = NULL;
        if (asprintf(&line, "Authorization: Bearer %s", p->token.data ? p->token.data : "") < 0)
            return -ENOMEM;
        struct curl_slist *h = curl_slist_append(s->hdrs, line);
        explicit_bzero(line, strlen(line));
        free(line);
        if (!h)
            return -ENOMEM;
        s->hdrs = h;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->hdrs);
    return 0;
}

static int start_request(nf_puller *p, source *s)
{
    char path[96];
    int64_t timeout = p->o.request_timeout_ms;
    if (s->have_gen && p->o.hold_ms > 0) {
        snprintf(path, sizeof(path),
                 "/v1/topology?waitForGeneration=%" PRIu64 "&timeout=%" PRId64 "ms", s->gen + 1,
                 p->o.hold_ms);
        if (p->o.hold_ms + p->o.hold_grace_ms < timeout)
            timeout = p->o.hold_ms + p->o.hold_grace_ms;
    } else if (s->have_gen) {
        snprintf(path, sizeof(path), "/v1/topology?waitForGeneration=%" PRIu64, s->gen + 1);
    } else {
        snprintf(path, sizeof(path), "/v1/topology");
    }
    if (request_url(s, path))
        return -ENOMEM;
    nf_buf_clear(&s->body);
    s->etag[0] = 0;
    s->errbuf[0] = 0;
    CURL *e = s->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, s->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* exporters are in-cluster: never via a proxy */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)p->o.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 10L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "numafit-extender/0.1");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    if (request_auth(p, s, e))
        return -ENOMEM;
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK)
        return -EIO;
    s->busy = true;
    s->started_at = nf_mono_ms();
    return 0;
}

static void succeeded(nf_puller *p, source *s, bool changed)
{
    pthread_mutex_lock(&p->stats_mu);
    s->pulls++;
    bool was_failing = s->failing;
    s->failing = false;
    pthread_mutex_unlock(&p->stats_mu);
    if (was_failing) {
        nf_info("exporter answers again", "exporter=%s node=%s generation=%" PRIu64, s->base,
                s->node ? s->node : "", s->gen);
        atomic_fetch_sub(&p->n_failing, 1);
    }
    s->backoff_ms = p->o.backoff_min_ms;
    int64_t now = nf_mono_ms();
    /* a changed document: long-poll for the next one at once; an unchanged answer that came
     * back early (an exporter ignoring waitForGeneration) must not turn into a busy loop */
    s->next_at = changed ? now : s->started_at + p->o.min_interval_ms;
}

static void failed(nf_puller *p, source *s, const char *why)
{
    char reason[2 * NF_ERR_LEN + 1024];
    snprintf(reason, sizeof(reason), "exporter %s: %s", s->base, why);
    pthread_mutex_lock(&p->stats_mu);
    s->errors++;
    bool was_failing = s->failing;
    s->failing = true;
    pthread_mutex_unlock(&p->stats_mu);
    if (!was_failing) {
        nf_warn("exporter failed; its nodes are stale",
                "exporter=%s node=%s retry_ms=%" PRId64 " error=\"%s\"", s->base,
                s->node ? s->node : "", s->backoff_ms, why);
        atomic_fetch_add(&p->n_failing, 1);
        nf_cache_mark_stale(p->cache, s->base, reason);
    } else {
        nf_debug("exporter still failing", "exporter=%s retry_ms=%" PRId64 " error=\"%s\"", s->base,
                 s->backoff_ms, why);
    }
    s->have_gen = false; /* after a failure start over with a plain GET */
    s->next_at = nf_mono_ms() + s->backoff_ms;
    s->backoff_ms =
        s->backoff_ms * 2 > p->o.backoff_max_ms ? p->o.backoff_max_ms : s->backoff_ms * 2;
}

static void finish(nf_puller *p, source *s, CURLcode res)
{
    curl_multi_remove_handle(p->multi, s->easy);
    s->busy = false;
    char why[NF_ERR_LEN + 64];
    long code = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    if (res != CURLE_OK) {
        if (s->body.over || res == CURLE_FILESIZE_EXCEEDED)
            snprintf(why, sizeof(why), "document larger than %zu bytes", s->max_body);
        else
            snprintf(why, sizeof(why), "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(res));
        failed(p, s, why);
        return;
    }
    if (code == 304 && s->have_gen && s->node &&
        nf_cache_touch(p->cache, s->node, s->base, nf_wall_ms()) == 0) {
        succeeded(p, s, false); /* held until the deadline, nothing changed */
        return;
    }
    if (code != 200) {
        snprintf(why, sizeof(why), "HTTP status %ld", code);
        failed(p, s, why);
        return;
    }
    /* the ETag is the generation: the same one means the cached document still holds */
    char *end = NULL;
    errno = 0;
    uint64_t etag = s->etag[0] ? strtoull(s->etag, &end, 10) : 0;
    if (s->have_gen && s->node && s->etag[0] && !errno && end && !*end && etag == s->gen &&
        nf_cache_touch(p->cache, s->node, s->base, nf_wall_ms()) == 0) {
        succeeded(p, s, false);
        return;
    }
    nf_topology t;
    nf_err err = {{0}};
    if (nf_topology_parse(s->body.p ? s->body.p : "", s->body.len, &t, &err)) {
        snprintf(why, sizeof(why), "%s", err.msg);
        failed(p, s, why);
        return;
    }
    bool changed = !s->have_gen || t.generation != s->gen;
    if (s->node && strcmp(s->node, t.node) != 0) {
        nf_warn("exporter now publishes another node", "exporter=%s old=%s new=%s", s->base,
                s->node, t.node);
        nf_cache_remove_from(p->cache, s->node, s->base);
    }
    s->gen = t.generation;
    s->have_gen = true;
    pthread_mutex_lock(&p->stats_mu);
    int set = nf_strset(&s->node, t.node);
    pthread_mutex_unlock(&p->stats_mu);
    if (set) {
        nf_topology_free(&t);
        failed(p, s, "out of memory");
        return;
    }
    nf_debug("topology received", "exporter=%s node=%s generation=%" PRIu64 " bytes=%zu", s->base,
             s->node, s->gen, s->body.len);
    int rc = nf_cache_put(p->cache, &t, s->base, nf_wall_ms());
    if (rc) {
        failed(p, s, nf_strerror(rc));
        return;
    }
    succeeded(p, s, changed);
}

static bool in_list(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Take fresh DNS answers: new records become exporters, vanished ones go stale and away. */
static void apply_dns(nf_puller *p)
{
    for (size_t t = 0; t < p->n_dns; t++) {
        pthread_mutex_lock(&p->mu);
        dns_target *d = &p->dns[t];
        char **urls = d->pending;
        size_t n = d->n_pending;
        bool have = d->have_pending;
        d->pending = NULL;
        d->n_pending = 0;
        d->have_pending = false;
        pthread_mutex_unlock(&p->mu);
        if (!have)
            continue;
        for (size_t i = 0; p->https_dns && i < n; i++) {
            char *u = NULL;
            if (strncmp(urls[i], "http://", 7) == 0 &&
                asprintf(&u, "https://%s", urls[i] + 7) > 0) {
                free(urls[i]);
                urls[i] = u;
            }
        }
        for (size_t i = 0; i < p->n_src;) {
            source *s = p->src[i];
            if (s->dns != (int)t || in_list(urls, n, s->base)) {
                i++;
                continue;
            }
            char reason[NF_ERR_LEN];
            snprintf(reason, sizeof(reason), "exporter %s is no longer listed by DNS %s", s->base,
                     d->host);
            nf_warn("exporter left DNS; its nodes are stale", "exporter=%s dns=%s node=%s", s->base,
                    d->host, s->node ? s->node : "");
            /* forget the exporter first, so that whoever sees its nodes stale also sees it gone */
            char *base = strdup(s->base);
            if (!base) /* out of memory: stale first rather than never */
                nf_cache_mark_stale(p->cache, s->base, reason);
            if (s->failing)
                atomic_fetch_sub(&p->n_failing, 1);
            pthread_mutex_lock(&p->stats_mu);
            source_free(p, s);
            p->src[i] = p->src[--p->n_src];
            pthread_mutex_unlock(&p->stats_mu);
            atomic_store(&p->n_exporters, p->n_src);
            if (base)
                nf_cache_mark_stale(p->cache, base, reason);
            free(base);
        }
        for (size_t i = 0; i < n; i++) {
            size_t before = p->n_src;
            nf_err err = {{0}};
            if (source_add(p, urls[i], (int)t, &err))
                nf_warn("cannot add exporter", "exporter=%s error=\"%s\"", urls[i], err.msg);
            else if (p->n_src > before)
                nf_info("exporter found in DNS", "exporter=%s dns=%s", urls[i], d->host);
        }
        free_strv(urls, n);
    }
}

static void *puller_main(void *arg)
{
    nf_puller *p = arg;
    while (!atomic_load(&p->stop)) {
        apply_dns(p);
        int64_t now = nf_mono_ms(), wait = 1000;
        for (size_t i = 0; i < p->n_src; i++) {
            source *s = p->src[i];
            if (s->busy)
                continue;
            if (s->next_at > now) {
                wait = s->next_at - now < wait ? s->next_at - now : wait;
                continue;
            }
            if (start_request(p, s))
                failed(p, s, "cannot start a request");
        }
        int running = 0;
        curl_multi_perform(p->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(p->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            CURLcode res = m->data.result;
            source *s = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
            finish(p, s, res);
            wait = 0;
        }
        if (wait > 0)
            curl_multi_poll(p->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

static void *resolver_main(void *arg)
{
    nf_puller *p = arg;
    while (!atomic_load(&p->stop)) {
        for (size_t t = 0; t < p->n_dns; t++) {
            char **urls = NULL;
            size_t n = 0;
            nf_err err = {{0}};
            int rc = p->o.resolve(p->o.resolve_ud, p->dns[t].host, p->dns[t].port, &urls, &n, &err);
            if (rc) {
                /* keep pulling the exporters we know: a DNS hiccup is not their failure */
                nf_warn("cannot resolve exporters", "dns=%s:%s error=\"%s\"", p->dns[t].host,
                        p->dns[t].port, err.msg);
                continue;
            }
            pthread_mutex_lock(&p->mu);
            free_strv(p->dns[t].pending, p->dns[t].n_pending);
            p->dns[t].pending = urls;
            p->dns[t].n_pending = n;
            p->dns[t].have_pending = true;
            pthread_mutex_unlock(&p->mu);
        }
        curl_multi_wakeup(p->multi);
        struct timespec until = nf_mono_ts(nf_mono_ms() + p->o.dns_interval_ms);
        pthread_mutex_lock(&p->mu);
        while (!atomic_load(&p->stop) &&
               pthread_cond_timedwait(&p->cond, &p->mu, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

int nf_puller_start(nf_puller *p, nf_err *err)
{
    if (p->started)
        return nf_errf(err, -EBUSY, "exporter puller: already started");
    if (p->o.token_file) {
        int r = nf_secret_file_refresh(&p->token, err); /* err names the file */
        if (r < 0)
            return r;
        if (!p->token.len)
            return nf_errf(err, -EINVAL, "exporter token file %s: empty", p->o.token_file);
        for (size_t i = 0; i < p->n_src; i++)
            if (strncmp(p->src[i]->base, "http://", 7) == 0)
                nf_warn("bearer token sent over plain HTTP: anyone on the path can read it",
                        "exporter=%s", p->src[i]->base);
    }
    int rc = pthread_create(&p->thread, NULL, puller_main, p);
    if (rc)
        return nf_errf(err, -rc, "exporter puller: cannot start a thread: %s", strerror(rc));
    p->started = true;
    if (p->n_dns) {
        if ((rc = pthread_create(&p->resolver, NULL, resolver_main, p)))
            return nf_errf(err, -rc, "exporter DNS: cannot start a thread: %s", strerror(rc));
        p->resolver_started = true;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nf_resolve_getaddrinfo(void *ud, const char *host, const char *port, char ***urls, size_t *n,
                           nf_err *err)
{
    (void)ud;
    *urls = NULL;
    *n = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc)
        return nf_errf(err, -ENOENT, "resolve %s: %s", host, gai_strerror(rc));
    size_t cap = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        cap++;
    char **v = calloc(cap ? cap : 1, sizeof(*v));
    if (!v) {
        freeaddrinfo(res);
        return -ENOMEM;
    }
    size_t k = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN];
        char url[INET6_ADDRSTRLEN + 32];
        if (a->ai_family == AF_INET &&
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof(ip)))
            snprintf(url, sizeof(url), "http://%s:%s", ip, port);
        else if (a->ai_family == AF_INET6 &&
                 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip,
                           sizeof(ip)))
            snprintf(url, sizeof(url), "http://[%s]:%s", ip, port);
        else
            continue;
        if (in_list(v, k, url))
            continue;
        if (!(v[k] = strdup(url))) {
            free_strv(v, k);
            freeaddrinfo(res);
            return -ENOMEM;
        }
        k++;
    }
    freeaddrinfo(res);
    qsort(v, k, sizeof(*v), cmp_str);
    *urls = v;
    *n = k;
    return 0;
}
