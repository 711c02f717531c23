/* fit_memo.c - a node's fit answers remembered per pod shape (see fit_memo.h). */
#include "fit_memo.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/buf.h"
#include "numafit/hash.h"

/* ---- the shape key: fixed-size fields and length-prefixed strings, so no two shapes share
 * bytes ---- */

static int put_i64(nf_buf *b, int64_t v)
{
    return nf_buf_add(b, &v, sizeof(v));
}

static int put_str(nf_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : SIZE_MAX; /* NULL differs from "" */
    int rc = nf_buf_add(b, &n, sizeof(n));
    return rc || !s ? rc : nf_buf_add(b, s, n);
}

static int put_amounts(nf_buf *b, const nf_amount *a, size_t n)
{
    int rc = put_i64(b, (int64_t)n);
    for (size_t i = 0; i < n && !rc; i++)
        if (!(rc = put_str(b, a[i].name)))
            rc = put_i64(b, a[i].value);
    return rc;
}

int nf_fit_shape_of(const nf_pod_req *req, const nf_fit_opts *o, nf_fit_shape *out)
{
    memset(out, 0, sizeof(*out));
    nf_buf b = {0};
    int rc = put_i64(&b, req->qos);
    if (!rc)
        rc = put_i64(&b, req->aligned);
    if (!rc)
        rc = put_i64(&b, o->strategy);
    if (!rc)
        rc = put_i64(&b, o->max_steps);
    if (!rc)
        rc = put_i64(&b, (int64_t)req->n_containers);
    for (size_t i = 0; i < req->n_containers && !rc; i++) {
        const nf_container_req *c = &req->containers[i];
        if (!(rc = put_str(&b, c->name)) && !(rc = put_i64(&b, c->kind)) &&
            !(rc = put_i64(&b, c->cpu_milli)) && !(rc = put_i64(&b, c->exclusive_cpus)))
            rc = put_amounts(&b, c->amounts, c->n_amounts);
    }
    if (!rc)
        rc = put_amounts(&b, req->overhead, req->n_overhead);
    if (!rc)
        rc = put_amounts(&b, req->effective, req->n_effective);
    if (rc) {
        nf_buf_free(&b);
        return -ENOMEM;
    }
    out->key = b.p;
    out->len = b.len;
    out->hash = nf_hash_bytes(b.p, b.len);
    return 0;
}

void nf_fit_shape_free(nf_fit_shape *s)
{
    free(s->key);
    memset(s, 0, sizeof(*s));
}

/* ---- the memo ---- */

/* One allocation: the answer, then the reason text, then the key bytes. */
typedef struct remembered {
    nf_fit_answer answer; /* first: find returns its address */
    uint64_t hash;
    size_t key_len;
    const char *key;
} remembered;

struct nf_fit_memo {
    _Atomic(remembered *) slot[NF_FIT_MEMO_SHAPES];
};

int nf_fit_memo_new(nf_fit_memo **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void nf_fit_memo_free(nf_fit_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++)
        free(atomic_load_explicit(&m->slot[i], memory_order_relaxed));
    free(m);
}

static bool same_shape(const remembered *r, const nf_fit_shape *s)
{
    return r->hash == s->hash && r->key_len == s->len && memcmp(r->key, s->key, s->len) == 0;
}

const nf_fit_answer *nf_fit_memo_find(const nf_fit_memo *m, const nf_fit_shape *s)
{
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++) {
        /* the cast: atomic_load takes a non-const pointer in C11 */
        remembered *r =
            atomic_load_explicit((_Atomic(remembered *) *)&m->slot[i], memory_order_acquire);
        if (!r)
            return NULL; /* slots fill in order */
        if (same_shape(r, s))
            return &r->answer;
    }
    return NULL;
}

const nf_fit_answer *nf_fit_memo_add(nf_fit_memo *m, const nf_fit_shape *s, const nf_fit_answer *a)
{
    const char *reason = a->reason ? a->reason : "";
    size_t rlen = a->reason ? a->reason_len : 0;
    remembered *r = malloc(sizeof(*r) + rlen + 1 + s->len);
    if (!r)
        return NULL;
    char *text = (char *)(r + 1);
    memcpy(text, reason, rlen);
    text[rlen] = 0;
    memcpy(text + rlen + 1, s->key, s->len);
    r->answer = *a;
    r->answer.reason = text;
    r->answer.reason_len = rlen;
    r->hash = s->hash;
    r->key_len = s->len;
    r->key = text + rlen + 1;
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++) {
        remembered *cur = NULL;
        if (atomic_compare_exchange_strong_explicit(&m->slot[i], &cur, r, memory_order_acq_rel,
                                                    memory_order_acquire))
            return &r->answer;
        if (same_shape(cur, s)) { /* another thread was first */
            free(r);
            return &cur->answer;
        }
    }
    free(r);
    return NULL; /* full */
}
