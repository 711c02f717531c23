/* fit_memo.c - a node's fit answers remembered per pod shape (see fit_memo.h). */
#include "fit_memo.h"

#include <errno.h>
#include <pthread.h>
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

/* ---- shape ids ----
 *
 * Every request interns its shape once, so a node's memo compares ids (no key bytes to fetch
 * per node). The registry forgets everything when it fills up (a new id for a shape seen again
 * only costs a memo miss: ids are never reused, so no answer is ever found for the wrong shape). */

#define REGISTRY_CAP 4096 /* power of two; cleared at half full */

typedef struct known_shape {
    uint64_t hash;
    uint64_t id; /* 0: empty */
    size_t len;
    char *key;
} known_shape;

static struct {
    pthread_mutex_t mu;
    known_shape tab[REGISTRY_CAP];
    size_t n;
    uint64_t last_id;
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void registry_clear(void)
{
    for (size_t i = 0; i < REGISTRY_CAP; i++) {
        free(reg.tab[i].key);
        reg.tab[i] = (known_shape){0};
    }
    reg.n = 0;
}

static int intern(nf_fit_shape *s)
{
    uint64_t h = nf_hash_bytes(s->key, s->len);
    int rc = 0;
    pthread_mutex_lock(&reg.mu);
    if (reg.n >= REGISTRY_CAP / 2)
        registry_clear();
    size_t i = h & (REGISTRY_CAP - 1);
    for (; reg.tab[i].id; i = (i + 1) & (REGISTRY_CAP - 1))
        if (reg.tab[i].hash == h && reg.tab[i].len == s->len &&
            memcmp(reg.tab[i].key, s->key, s->len) == 0)
            break;
    if (reg.tab[i].id) {
        s->id = reg.tab[i].id;
    } else if ((reg.tab[i].key = malloc(s->len ? s->len : 1))) {
        memcpy(reg.tab[i].key, s->key, s->len);
        reg.tab[i].hash = h;
        reg.tab[i].len = s->len;
        s->id = reg.tab[i].id = ++reg.last_id;
        reg.n++;
    } else {
        rc = -ENOMEM;
    }
    pthread_mutex_unlock(&reg.mu);
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
    if (!rc) /* both change answers; a document's memo may serve servers with other options */
        rc = put_i64(&b, o->hugepages);
    if (!rc)
        rc = put_i64(&b, o->align);
    if (!rc)
        rc = put_i64(&b, o->max_steps);
    if (!rc)
        rc = put_i64(&b, o->no_reason);
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
    if ((rc = intern(out))) {
        nf_fit_shape_free(out);
        return rc;
    }
    return 0;
}

void nf_fit_shape_free(nf_fit_shape *s)
{
    free(s->key);
    memset(s, 0, sizeof(*s));
}

/* ---- failure reasons, interned: a packed failed answer names its reason by number ----
 *
 * Append-only: a number, once given, means its text for the process's life, so a reader holding
 * a word needs no lock and no reference. Bounded (REASONS_CAP texts): past it, a failure with a
 * new text is not packed and stays in the memo. Without --detail the texts are one per kind and
 * pod shape, a handful per request. */

#define REASONS_CAP 4096 /* < 1 << PACK_REASON_BITS; the lookup table twice that, power of two */
#define PACK_REASON_BITS 16

typedef struct reason_text {
    size_t len;
    char text[];
} reason_text;

static struct {
    pthread_mutex_t mu;
    _Atomic(reason_text *) by_id[REASONS_CAP]; /* id 0 unused */
    uint32_t slot[REASONS_CAP * 2];            /* hash table of ids, 0: empty */
    uint32_t n;
} reasons = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The number of text (0 when the table is full or memory ran out). A thread remembers the last
 * few it asked for: a request's failing nodes share a handful of texts, and the table's lock is
 * then taken once per text, not once per node. */
static uint32_t reason_intern(const char *text, size_t len)
{
    static _Thread_local struct {
        const reason_text *r;
        uint32_t id;
    } recent[4];
    static _Thread_local unsigned next;
    for (unsigned k = 0; k < 4; k++)
        if (recent[k].r && recent[k].r->len == len && memcmp(recent[k].r->text, text, len) == 0)
            return recent[k].id;
    uint64_t h = nf_hash_bytes(text, len);
    uint32_t id = 0;
    pthread_mutex_lock(&reasons.mu);
    size_t i = h & (REASONS_CAP * 2 - 1);
    for (; reasons.slot[i]; i = (i + 1) & (REASONS_CAP * 2 - 1)) {
        reason_text *r =
            atomic_load_explicit(&reasons.by_id[reasons.slot[i]], memory_order_relaxed);
        if (r->len == len && memcmp(r->text, text, len) == 0) {
            id = reasons.slot[i];
            break;
        }
    }
    if (!id && reasons.n + 1 < REASONS_CAP) {
        reason_text *r = malloc(sizeof(*r) + len + 1);
        if (r) {
            r->len = len;
            memcpy(r->text, text, len);
            r->text[len] = '\0';
            id = ++reasons.n;
            reasons.slot[i] = id;
            /* release: whoever reads the id from a word (stored after this) sees the text */
            atomic_store_explicit(&reasons.by_id[id], r, memory_order_release);
        }
    }
    pthread_mutex_unlock(&reasons.mu);
    if (id) {
        recent[next % 4].r = atomic_load_explicit(&reasons.by_id[id], memory_order_relaxed);
        recent[next++ % 4].id = id;
    }
    return id;
}

/* ---- packed answers: id (40 bits) | align (2) | unused (2) | lack (3) | unresolvable (1) |
 * failed (1) | OK (1) | score or reason number (16) ---- */

#define PACK_ID_SHIFT 24
#define PACK_ALIGN_SHIFT 22
#define PACK_LACK_SHIFT 19
#define PACK_UNRESOLVABLE ((uint64_t)1 << 18)
#define PACK_FAILED ((uint64_t)1 << 17)
#define PACK_OK ((uint64_t)1 << 16)

uint64_t nf_fit_pack_key(const nf_fit_shape *s, nf_align align, uint64_t *mask)
{
    *mask = ~(uint64_t)0 << PACK_ALIGN_SHIFT;
    if (!s->id || s->id >> (64 - PACK_ID_SHIFT) || (unsigned)align > 3)
        return 0;
    return s->id << PACK_ID_SHIFT | (uint64_t)align << PACK_ALIGN_SHIFT;
}

uint64_t nf_fit_answer_pack(const nf_fit_shape *s, nf_align align, const nf_fit_answer *a)
{
    uint64_t mask, key = nf_fit_pack_key(s, align, &mask);
    if (!key || !a->aligned)
        return 0;
    if (a->status == NF_FIT_OK)
        return a->score < 0 || a->score > 0xffff ? 0 : key | PACK_OK | (uint64_t)a->score;
    if ((a->status != NF_FIT_FAILED && a->status != NF_FIT_UNRESOLVABLE) ||
        (unsigned)a->lack >= 1u << (PACK_ALIGN_SHIFT - PACK_LACK_SHIFT) || !a->reason)
        return 0;
    uint32_t id = reason_intern(a->reason, a->reason_len);
    if (!id)
        return 0;
    return key | PACK_FAILED | (a->status == NF_FIT_UNRESOLVABLE ? PACK_UNRESOLVABLE : 0) |
           (uint64_t)a->lack << PACK_LACK_SHIFT | id;
}

void nf_fit_answer_unpack(uint64_t w, nf_fit_answer *a)
{
    if (w & PACK_OK) {
        *a = (nf_fit_answer){.status = NF_FIT_OK,
                             .lack = NF_LACK_NONE,
                             .aligned = true,
                             .score = (int)(w & 0xffff),
                             .reason = "",
                             .reason_len = 0};
        return;
    }
    uint32_t id = (uint32_t)(w & ((1u << PACK_REASON_BITS) - 1));
    const reason_text *r =
        id < REASONS_CAP ? atomic_load_explicit(&reasons.by_id[id], memory_order_acquire) : NULL;
    *a = (nf_fit_answer){.status = w & PACK_UNRESOLVABLE ? NF_FIT_UNRESOLVABLE : NF_FIT_FAILED,
                         .lack = (nf_fit_lack)((w >> PACK_LACK_SHIFT) &
                                               ((1u << (PACK_ALIGN_SHIFT - PACK_LACK_SHIFT)) - 1)),
                         .aligned = true,
                         .score = 0,
                         .reason = r ? r->text : "",
                         .reason_len = r ? r->len : 0};
}

/* ---- the memo ---- */

/* One allocation: the answer, then its reason text. */
struct nf_fit_remembered {
    nf_fit_answer answer; /* first: find returns its address */
    uint64_t id;
};

void nf_fit_memo_clear(nf_fit_memo *m)
{
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++) {
        free(atomic_load_explicit(&m->slot[i], memory_order_relaxed));
        atomic_store_explicit(&m->slot[i], NULL, memory_order_relaxed);
    }
}

const nf_fit_answer *nf_fit_memo_find(const nf_fit_memo *m, const nf_fit_shape *s)
{
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++) {
        /* the cast: atomic_load takes a non-const pointer in C11 */
        nf_fit_remembered *r =
            atomic_load_explicit((_Atomic(nf_fit_remembered *) *)&m->slot[i], memory_order_acquire);
        if (!r)
            return NULL; /* slots fill in order */
        if (r->id == s->id)
            return &r->answer;
    }
    return NULL;
}

const nf_fit_answer *nf_fit_memo_add(nf_fit_memo *m, const nf_fit_shape *s, const nf_fit_answer *a)
{
    const char *reason = a->reason ? a->reason : "";
    size_t rlen = a->reason ? a->reason_len : 0;
    nf_fit_remembered *r = malloc(sizeof(*r) + rlen + 1);
    if (!r)
        return NULL;
    char *text = (char *)(r + 1);
    memcpy(text, reason, rlen);
    text[rlen] = 0;
    r->answer = *a;
    r->answer.reason = text;
    r->answer.reason_len = rlen;
    r->id = s->id;
    for (size_t i = 0; i < NF_FIT_MEMO_SHAPES; i++) {
        nf_fit_remembered *cur = NULL;
        if (atomic_compare_exchange_strong_explicit(&m->slot[i], &cur, r, memory_order_acq_rel,
                                                    memory_order_acquire))
            return &r->answer;
        if (cur->id == s->id) { /* another thread was first */
            free(r);
            return &cur->answer;
        }
    }
    free(r);
    return NULL; /* full */
}
