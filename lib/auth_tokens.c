/* auth_tokens.c - bearer tokens from a file (see numafit/auth_tokens.h). */
#include "numafit/auth_tokens.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numafit/clock.h"
#include "numafit/log.h"
#include "numafit/secret_file.h"

#define TOKENS_MAX (1u << 20)
#define DIGEST 32 /* SHA-256 */
#define CHECK_MS 1000

struct nf_auth_tokens {
    pthread_mutex_t mu;
    nf_secret_file file;
    uint8_t (*digest)[DIGEST];
    size_t n;
    int64_t next_check_ms;
};

static int sha256(const char *s, size_t len, uint8_t out[DIGEST])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, s, len, out) < 0 ? -EIO : 0;
}

/* Digests of the tokens in the file's current content. */
static int parse(const nf_secret_file *f, uint8_t (**out)[DIGEST], size_t *n)
{
    size_t cap = 1;
    for (const char *p = f->data; *p; p++)
        cap += *p == '\n';
    uint8_t(*v)[DIGEST] = calloc(cap, DIGEST);
    if (!v)
        return -ENOMEM;
    size_t k = 0;
    for (const char *line = f->data; *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *a = line, *b = end;
        while (a < b && strchr(" \t\r", *a))
            a++;
        while (b > a && strchr(" \t\r", b[-1]))
            b--;
        if (b > a && *a != '#' && sha256(a, (size_t)(b - a), v[k++]) != 0) {
            free(v);
            return -EIO;
        }
        line = *end ? end + 1 : end;
    }
    *out = v;
    *n = k;
    return 0;
}

/* Re-read the file when it changed; called with mu held. */
static int refresh(nf_auth_tokens *a, nf_err *err)
{
    int rc = nf_secret_file_refresh(&a->file, err);
    if (rc <= 0)
        return rc;
    uint8_t(*v)[DIGEST] = NULL;
    size_t n = 0;
    if ((rc = parse(&a->file, &v, &n)))
        return nf_errf(err, rc, "token file %s: %s", a->file.path, nf_strerror(rc));
    if (a->digest)
        explicit_bzero(a->digest, a->n * DIGEST);
    free(a->digest);
    a->digest = v;
    a->n = n;
    return 1;
}

int nf_auth_tokens_new(const char *path, nf_auth_tokens **out, nf_err *err)
{
    *out = NULL;
    nf_auth_tokens *a = calloc(1, sizeof(*a));
    if (!a || nf_secret_file_init(&a->file, path, TOKENS_MAX, 0)) {
        free(a);
        return nf_errf(err, -ENOMEM, "token file %s: out of memory", path);
    }
    pthread_mutex_init(&a->mu, NULL);
    int rc = refresh(a, err);
    if (rc >= 0 && a->n == 0)
        rc = nf_errf(err, -EINVAL, "token file %s: no token in it (one per line)", path);
    if (rc < 0) {
        nf_auth_tokens_free(a);
        return rc;
    }
    a->next_check_ms = nf_mono_ms() + CHECK_MS;
    *out = a;
    return 0;
}

void nf_auth_tokens_free(nf_auth_tokens *a)
{
    if (!a)
        return;
    if (a->digest)
        explicit_bzero(a->digest, a->n * DIGEST);
    free(a->digest);
    nf_secret_file_free(&a->file);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

bool nf_auth_tokens_check(nf_auth_tokens *a, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return false;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ')
        len--;
    uint8_t d[DIGEST];
    if (len == 0 || sha256(tok, len, d) != 0)
        return false;
    pthread_mutex_lock(&a->mu);
    int64_t now = nf_mono_ms();
    if (now >= a->next_check_ms) {
        a->next_check_ms = now + CHECK_MS;
        nf_err err = {{0}};
        int rc = refresh(a, &err);
        if (rc < 0)
            nf_warn("token file unreadable: keeping the tokens read before", "err=\"%s\"", err.msg);
        else if (rc > 0)
            nf_info("token file changed: re-read", "file=\"%s\" tokens=%zu", a->file.path, a->n);
    }
    /* every digest is compared whole, whichever matched */
    unsigned match = 0;
    for (size_t i = 0; i < a->n; i++) {
        unsigned diff = 0;
        for (size_t j = 0; j < DIGEST; j++)
            diff |= (unsigned)(a->digest[i][j] ^ d[j]);
        match |= (unsigned)((diff - 1) >> 8) & 1u; /* 1 when diff == 0 */
    }
    pthread_mutex_unlock(&a->mu);
    explicit_bzero(d, sizeof(d));
    return match != 0;
}
