/* tls_server.c - HTTPS credentials for libmicrohttpd, read again when their files change (see
 * numafit/tls_server.h).
 *
 * libmicrohttpd builds one GnuTLS session per connection with the daemon's credentials and then
 * tells httpd.c (MHD_CONNECTION_NOTIFY_STARTED) before the handshake starts: there
 * nf_tls_conn_open replaces the session's credentials by the current ones, which the connection
 * holds until it closes. The
 * daemon's own credentials carry no certificate (only a retrieval callback that refuses), so a
 * connection that did not get ours fails its handshake instead of going out unauthenticated.
 */
#include "numafit/tls_server.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/secret_file.h"

#define PEM_MAX (1u << 20)
#define REFUSAL_LOG_MS 1000 /* at most one "client certificate refused" line per second */

typedef struct creds {
    gnutls_certificate_credentials_t x509;
    bool client_ca;
    unsigned refs; /* under nf_tls_server.mu: the server's own one plus one per connection */
} creds;

/* A connection's TLS state (httpd.c keeps it with the connection). */
struct nf_tls_conn {
    creds *cr;
    int verified; /* -1: not asked yet, 0: no verified client certificate, 1: verified */
};

struct nf_tls_server {
    nf_secret_file cert, key, ca;
    bool have_ca;
    int64_t interval_ms;
    _Atomic int64_t next_check_ms;
    pthread_mutex_t reload_mu; /* one reload at a time; new connections never wait for one */
    pthread_mutex_t mu;        /* cur and every creds' refs */
    creds *cur;
    struct MHD_OptionItem opts[3];
};

/* ---- credentials -------------------------------------------------------------------------- */

static void creds_free(creds *cr)
{
    if (!cr)
        return;
    if (cr->x509)
        gnutls_certificate_free_credentials(cr->x509);
    free(cr);
}

static void creds_unref(nf_tls_server *t, creds *cr)
{
    pthread_mutex_lock(&t->mu);
    bool last = --cr->refs == 0;
    pthread_mutex_unlock(&t->mu);
    if (last)
        creds_free(cr);
}

static gnutls_datum_t datum(const nf_secret_file *f)
{
    return (gnutls_datum_t){(unsigned char *)f->data, (unsigned)f->len};
}

static int creds_build(nf_tls_server *t, creds **out, nf_err *err)
{
    creds *cr = calloc(1, sizeof(*cr));
    int g = cr ? gnutls_certificate_allocate_credentials(&cr->x509) : GNUTLS_E_MEMORY_ERROR;
    if (g < 0) {
        free(cr);
        return nf_errf(err, -ENOMEM, "TLS credentials: %s", gnutls_strerror(g));
    }
    gnutls_datum_t c = datum(&t->cert), k = datum(&t->key);
    g = gnutls_certificate_set_x509_key_mem2(cr->x509, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        creds_free(cr);
        return nf_errf(err, -EINVAL, "TLS certificate %s with key %s: %s", t->cert.path,
                       t->key.path, gnutls_strerror(g));
    }
    if (t->have_ca) {
        gnutls_datum_t a = datum(&t->ca);
        g = gnutls_certificate_set_x509_trust_mem(cr->x509, &a, GNUTLS_X509_FMT_PEM);
        if (g <= 0) {
            creds_free(cr);
            return nf_errf(err, -EINVAL, "client CA %s: %s", t->ca.path,
                           g < 0 ? gnutls_strerror(g) : "no PEM certificate in it");
        }
        cr->client_ca = true;
    }
    cr->refs = 1;
    *out = cr;
    return 0;
}

/* s with anything that would break a logfmt quoted value replaced by '?'. */
static void log_safe(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Say which certificate is served now, and warn when it is not valid at this moment. */
static void describe(const nf_tls_server *t, bool first)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t c = datum(&t->cert), dn = {NULL, 0};
    if (gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM) == 0) {
        time_t from = gnutls_x509_crt_get_activation_time(crt);
        time_t until = gnutls_x509_crt_get_expiration_time(crt);
        char subject[256] = "", after[32] = "";
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0)
            snprintf(subject, sizeof(subject), "%.*s", (int)dn.size, (const char *)dn.data);
        gnutls_free(dn.data);
        log_safe(subject);
        struct tm tm;
        if (gmtime_r(&until, &tm))
            strftime(after, sizeof(after), "%Y-%m-%dT%H:%M:%SZ", &tm);
        time_t now = time(NULL);
        nf_log(now < from || now > until ? NF_LOG_WARN : NF_LOG_INFO,
               now > until  ? "TLS certificate loaded, but it has expired"
               : now < from ? "TLS certificate loaded, but it is not valid yet"
               : first      ? "TLS certificate loaded"
                            : "TLS certificate changed: new connections use it",
               "cert=\"%s\" subject=\"%s\" not_after=%s client_ca=%s", t->cert.path, subject, after,
               t->have_ca ? t->ca.path : "none");
    }
    gnutls_x509_crt_deinit(crt);
}

/* Read the files that changed and load them: 1 new credentials, 0 nothing changed, < 0 error. */
static int reload_locked(nf_tls_server *t, nf_err *err)
{
    nf_secret_file *files[3] = {&t->cert, &t->key, t->have_ca ? &t->ca : NULL};
    int changed = 0, rc;
    for (size_t i = 0; i < 3; i++) {
        if (!files[i])
            continue;
        if ((rc = nf_secret_file_refresh(files[i], err)) < 0)
            return rc;
        changed |= rc;
    }
    if (!changed && t->cur)
        return 0;
    creds *cr = NULL;
    if ((rc = creds_build(t, &cr, err)))
        return rc;
    describe(t, t->cur == NULL);
    pthread_mutex_lock(&t->mu);
    creds *old = t->cur;
    t->cur = cr;
    pthread_mutex_unlock(&t->mu);
    if (old)
        creds_unref(t, old); /* freed when the last connection that uses it closes */
    return 1;
}

int nf_tls_server_reload(nf_tls_server *t, nf_err *err)
{
    pthread_mutex_lock(&t->reload_mu);
    int rc = reload_locked(t, err);
    atomic_store(&t->next_check_ms, nf_mono_ms() + t->interval_ms);
    pthread_mutex_unlock(&t->reload_mu);
    return rc;
}

/* On a new connection: check the files when the interval has passed and nobody else is. */
static void maybe_reload(nf_tls_server *t)
{
    int64_t now = nf_mono_ms();
    if (now < atomic_load(&t->next_check_ms) || pthread_mutex_trylock(&t->reload_mu) != 0)
        return;
    atomic_store(&t->next_check_ms, now + t->interval_ms);
    nf_err err = {{0}};
    if (reload_locked(t, &err) < 0)
        nf_warn("TLS files changed but do not load: new connections keep the previous certificate",
                "err=\"%s\"", err.msg);
    pthread_mutex_unlock(&t->reload_mu);
}

/* ---- per connection ------------------------------------------------------------------------ */

static int verify_peer(gnutls_session_t s, unsigned *status)
{
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    return gnutls_certificate_verify_peers(s, &purpose, 1, status);
}

static void log_refusal(int g, unsigned status)
{
    static nf_log_limit limit;
    unsigned unlogged;
    if (!nf_log_limit_pass(&limit, REFUSAL_LOG_MS, 1, &unlogged))
        return;
    char why[256] = "";
    gnutls_datum_t out = {NULL, 0};
    if (g < 0)
        snprintf(why, sizeof(why), "%s", gnutls_strerror(g));
    else if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0)
        snprintf(why, sizeof(why), "%.*s", (int)out.size, (const char *)out.data);
    gnutls_free(out.data);
    for (size_t n = strlen(why); n && why[n - 1] == ' '; n--)
        why[n - 1] = '\0';
    log_safe(why);
    nf_warn("client certificate refused: handshake failed", "reason=\"%s\" refused_unlogged=%u",
            why, unlogged);
}

/* During the handshake, once the client's certificate arrived (or it sent none). */
static int verify_client(gnutls_session_t s)
{
    unsigned n = 0, status = 0;
    if (!gnutls_certificate_get_peers(s, &n) || n == 0)
        return 0; /* none: the routes that need one refuse the requests */
    int g = verify_peer(s, &status);
    if (g == 0 && status == 0)
        return 0;
    log_refusal(g, status);
    return -1;
}

/* The daemon's own credentials: no certificate (see the top of the file). */
static int no_certificate(gnutls_session_t s, const gnutls_datum_t *req_ca_rdn, int nreqs,
                          const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                          gnutls_pcert_st **pcert, unsigned int *pcert_length,
                          gnutls_privkey_t *privkey)
{
    (void)s, (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    (void)pcert, (void)privkey;
    *pcert_length = 0;
    return -1;
}

static gnutls_session_t session_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return ci ? (gnutls_session_t)ci->tls_session : NULL;
}

nf_tls_conn *nf_tls_conn_open(nf_tls_server *t, struct MHD_Connection *c)
{
    maybe_reload(t);
    gnutls_session_t s = session_of(c);
    nf_tls_conn *cs = s ? calloc(1, sizeof(*cs)) : NULL;
    if (!cs)
        return NULL; /* its handshake fails: the daemon's credentials have no certificate */
    cs->verified = -1;
    pthread_mutex_lock(&t->mu);
    cs->cr = t->cur;
    cs->cr->refs++;
    pthread_mutex_unlock(&t->mu);
    if (gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cs->cr->x509) < 0) {
        creds_unref(t, cs->cr);
        free(cs);
        return NULL;
    }
    gnutls_certificate_server_set_request(s, cs->cr->client_ca ? GNUTLS_CERT_REQUEST
                                                               : GNUTLS_CERT_IGNORE);
    if (cs->cr->client_ca)
        gnutls_session_set_verify_function(s, verify_client);
    return cs;
}

void nf_tls_conn_close(nf_tls_server *t, nf_tls_conn *cs)
{
    if (!cs)
        return;
    creds_unref(t, cs->cr);
    free(cs);
}

bool nf_tls_conn_verified(nf_tls_conn *cs, struct MHD_Connection *c)
{
    if (!cs || !cs->cr->client_ca)
        return false;
    if (cs->verified < 0) {
        /* the handshake already refused a bad certificate; checked again here so that the
         * answer never rests on that callback alone */
        gnutls_session_t s = session_of(c);
        unsigned n = 0, status = 1;
        cs->verified = s && gnutls_certificate_get_peers(s, &n) && n > 0 &&
                       verify_peer(s, &status) == 0 && status == 0;
    }
    return cs->verified == 1;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

int nf_tls_server_new(const nf_tls_server_opts *o, nf_tls_server **out, nf_err *err)
{
    *out = NULL;
    if (!o->cert_file || !o->key_file)
        return nf_errf(err, -EINVAL, "TLS needs both a certificate and a key file");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
        MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES)
        return nf_errf(err, -ENOTSUP,
                       "this libmicrohttpd is built without TLS (or without certificate "
                       "callbacks): cannot serve HTTPS");
    nf_tls_server *t = calloc(1, sizeof(*t));
    if (!t)
        return nf_errf(err, -ENOMEM, "TLS: out of memory");
    pthread_mutex_init(&t->reload_mu, NULL);
    pthread_mutex_init(&t->mu, NULL);
    t->interval_ms = o->check_interval_ms > 0 ? o->check_interval_ms : 1000;
    t->have_ca = o->client_ca_file != NULL;
    int rc = 0;
    if (nf_secret_file_init(&t->cert, o->cert_file, PEM_MAX, 0) ||
        nf_secret_file_init(&t->key, o->key_file, PEM_MAX, 0) ||
        (t->have_ca && nf_secret_file_init(&t->ca, o->client_ca_file, PEM_MAX, 0)))
        rc = nf_errf(err, -ENOMEM, "TLS: out of memory");
    if (!rc && (rc = nf_tls_server_reload(t, err)) > 0)
        rc = 0;
    if (rc) {
        nf_tls_server_free(t);
        return rc;
    }
    t->opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)NF_TLS_PRIORITIES};
    t->opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)no_certificate};
    t->opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    *out = t;
    return 0;
}

void nf_tls_server_free(nf_tls_server *t)
{
    if (!t)
        return;
    if (t->cur)
        creds_unref(t, t->cur);
    nf_secret_file_free(&t->cert);
    nf_secret_file_free(&t->key);
    nf_secret_file_free(&t->ca);
    pthread_mutex_destroy(&t->reload_mu);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

const struct MHD_OptionItem *nf_tls_server_mhd_options(nf_tls_server *t, unsigned *flags)
{
    *flags |= MHD_USE_TLS;
    return t->opts;
}

bool nf_tls_server_has_client_ca(const nf_tls_server *t)
{
    return t && t->have_ca;
}
