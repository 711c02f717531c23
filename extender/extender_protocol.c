/* extender_protocol.c - kube-scheduler extender codec and per-request logic (see the header). */
#include "extender_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <string.h>
#include <strings.h>

#include "numafit/buf.h"
#include "numafit/topology_json.h"
#include "score.h"

void nf_extender_args_free(nf_extender_args *a)
{
    if (!a)
        return;
    nf_pod_req_free(&a->req);
    if (!a->arena) {
        free(a->nodes);
        free(a->names_buf);
        free(a->list_members);
    }
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}

static int node_name(json_t *node, size_t i, const char **out, nf_err *err)
{
    if (!json_is_object(node))
        return nf_errf(err, -EINVAL, "Nodes.items[%zu]: must be an object", i);
    json_t *meta = nf_json_iget(node, "metadata");
    json_t *name = nf_json_iget(meta, "name");
    if (!json_is_string(name) || !*json_string_value(name))
        return nf_errf(err, -EINVAL, "Nodes.items[%zu]: metadata.name is missing or not a string",
                       i);
    *out = json_string_value(name);
    return 0;
}

int nf_extender_args_from_json(json_t *doc, nf_extender_args *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return nf_errf(err, -EINVAL, "ExtenderArgs: the body must be a JSON object");
    json_t *pod = nf_json_iget(doc, "Pod");
    if (!pod || json_is_null(pod))
        return nf_errf(err, -EINVAL, "ExtenderArgs: Pod is missing");
    if (!json_is_object(pod))
        return nf_errf(err, -EINVAL, "ExtenderArgs: Pod must be an object");
    json_t *names = nf_json_iget(doc, "NodeNames");
    json_t *list = nf_json_iget(doc, "Nodes");
    if (names && json_is_null(names))
        names = NULL;
    if (list && json_is_null(list))
        list = NULL;
    if (!names && !list)
        return nf_errf(err, -EINVAL, "ExtenderArgs: neither Nodes nor NodeNames is given");
    json_t *items = NULL;
    size_t n;
    if (names) {
        if (!json_is_array(names))
            return nf_errf(err, -EINVAL, "ExtenderArgs: NodeNames must be an array of strings");
        n = json_array_size(names);
    } else {
        if (!json_is_object(list))
            return nf_errf(err, -EINVAL, "ExtenderArgs: Nodes must be a NodeList object");
        items = nf_json_iget(list, "items");
        if (items && json_is_null(items))
            items = NULL;
        if (items && !json_is_array(items))
            return nf_errf(err, -EINVAL, "ExtenderArgs: Nodes.items must be an array");
        n = items ? json_array_size(items) : 0;
    }
    nf_err perr;
    int rc = nf_pod_req_from_json(pod, &out->req, &perr);
    if (rc)
        return nf_errf(err, rc, "ExtenderArgs: Pod: %s", perr.msg);
    out->nodes = calloc(n ? n : 1, sizeof(*out->nodes));
    if (!out->nodes) {
        nf_extender_args_free(out);
        return nf_errf(err, -ENOMEM, "ExtenderArgs: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (names) {
            json_t *v = json_array_get(names, i);
            if (!json_is_string(v)) {
                nf_extender_args_free(out);
                return nf_errf(err, -EINVAL, "ExtenderArgs: NodeNames[%zu] must be a string", i);
            }
            out->nodes[i].name = json_string_value(v);
        } else {
            json_t *node = json_array_get(items, i);
            if ((rc = node_name(node, i, &out->nodes[i].name, err))) {
                nf_extender_args_free(out);
                return rc;
            }
            out->nodes[i].obj = node;
        }
    }
    out->n_nodes = n;
    out->names_mode = names != NULL;
    out->nodelist = names ? NULL : list;
    out->pod = pod;
    out->doc = json_incref(doc);
    return 0;
}

int nf_extender_args_decode(const char *body, size_t len, nf_extender_args *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &je);
    if (!doc)
        return nf_errf(err, -EINVAL, "ExtenderArgs: malformed JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    int rc = nf_extender_args_from_json(doc, out, err);
    json_decref(doc);
    return rc;
}

/* ---- the fast decoder ----
 *
 * kube-scheduler sends thousands of node names or a NodeList of many MB; building a jansson tree
 * of it (and freeing it) costs far more than the fit. nf_extender_args_scan validates the body in
 * one pass without building a tree, parses only the Pod with jansson, and keeps node names and
 * node objects as spans of the body. It accepts only what it is sure jansson would accept the
 * same way (strict UTF-8, no \u0000, no exponent or overlong integers, no escapes in the keys and
 * names it reads, each key it reads given once); anything else, and every error, goes to
 * nf_extender_args_decode, so answers and error messages are the same. */

typedef struct scanner {
    const char *p, *end;
    int depth;
} scanner;

static void sc_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

#ifdef __SSE2__
/* How many of the 16 bytes at p come before the first one that ends a plain ASCII run ('"', '\\',
 * a control character or a byte >= 0x80, which is negative as a signed byte): 16 when none does. */
#define PLAIN_W 16
static unsigned plain_run(const unsigned char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                               _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                            _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    return m ? (unsigned)__builtin_ctz(m) : PLAIN_W;
}
#else
/* How many of the 8 bytes at p come before the first one that ends a plain ASCII run ('"', '\\',
 * a control character or a byte >= 0x80): 8 when none does. The classic "has a zero byte" test
 * ((x - 0x01..) & ~x & 0x80..) on x with each special byte XORed away, x - 0x20 for the control
 * characters and x itself for the high bit. A borrow only flags bytes above a real hit, so the
 * lowest flagged byte is the first special one. */
static unsigned plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x) & highs;
    if (!hit)
        return 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (unsigned)__builtin_ctzll(hit) / 8;
#else
    unsigned i = 0; /* the lowest-addressed byte is not the low bits: look at the bytes */
    while (p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
#endif
}
#define PLAIN_W 8
#define plain_run plain8
#endif

/* The first byte in [p, end) that ends a plain ASCII run ('"', '\\', a control character or a
 * byte >= 0x80), or end: a word at a time, the last few bytes one by one. */
static const unsigned char *plain_end(const unsigned char *p, const unsigned char *end)
{
    unsigned k = PLAIN_W;
    while (end - p >= PLAIN_W && (k = plain_run(p)) == PLAIN_W)
        p += PLAIN_W;
    if (k < PLAIN_W)
        return p + k;
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* A string at s->p ('"'); raw, n: its bytes between the quotes; esc: it has escapes. */
static inline __attribute__((always_inline)) bool sc_string(scanner *s, const char **raw, size_t *n,
                                                            bool *esc)
{
    const unsigned char *p = (const unsigned char *)s->p + 1, *end = (const unsigned char *)s->end;
    *esc = false;
    *raw = (const char *)p;
    for (;;) {
        p = plain_end(p, end);
        if (p >= end)
            return false;
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            *esc = true;
            if (p + 1 >= end)
                return false;
            char e = (char)p[1];
            if (e == 'u') {
                if (p + 6 > end)
                    return false;
                int v = 0;
                for (int i = 2; i < 6; i++) {
                    int h = hexval((char)p[i]);
                    if (h < 0)
                        return false;
                    v = v * 16 + h;
                }
                if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
                    return false; /* NUL, surrogates: let jansson judge */
                p += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                p += 2;
            } else {
                return false;
            }
            continue;
        }
        /* multi-byte UTF-8, strictly (no overlongs, surrogates or > U+10FFFF) */
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (p + len > end || p[1] < lo || p[1] > hi)
            return false;
        for (size_t i = 2; i < len; i++)
            if (p[i] < 0x80 || p[i] > 0xBF)
                return false;
        p += len;
    }
    *n = (size_t)((const char *)p - *raw);
    s->p = (const char *)p + 1;
    return true;
}

static bool sc_number(scanner *s)
{
    const char *p = s->p;
    if (p < s->end && *p == '-')
        p++;
    const char *digits = p;
    if (p < s->end && *p == '0')
        p++;
    else if (p < s->end && *p >= '1' && *p <= '9')
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    else
        return false;
    size_t nd = (size_t)(p - digits);
    bool real = false;
    if (p < s->end && *p == '.') {
        real = true;
        p++;
        const char *f = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return false;
    }
    if (p < s->end && (*p == 'e' || *p == 'E'))
        return false; /* range questions: jansson decides */
    if (!real && nd > 18)
        return false; /* may not fit json_int_t */
    if (real && nd > 300)
        return false;
    s->p = p;
    return true;
}

static bool sc_value(scanner *s);

/* Visit an object's members: cb(ctx, key, key_len, key_esc, member_start, s) must consume the
 * member's value at s->p (sc_value, or a scan of its own); member_start points at the key's
 * quote. */
typedef bool (*member_cb)(void *ctx, const char *key, size_t klen, bool kesc, const char *mstart,
                          scanner *s);

static bool sc_object(scanner *s, member_cb cb, void *ctx)
{
    if (++s->depth > 512)
        return false;
    s->p++; /* '{' */
    sc_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        sc_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return false;
        const char *mstart = s->p, *key;
        size_t klen;
        bool kesc;
        if (!sc_string(s, &key, &klen, &kesc))
            return false;
        sc_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return false;
        s->p++;
        sc_ws(s);
        if (!(cb ? cb(ctx, key, klen, kesc, mstart, s) : sc_value(s)))
            return false;
        sc_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

/* Visit an array's elements: cb(ctx, s) must consume one value at s->p. */
typedef bool (*elem_cb)(void *ctx, scanner *s);

static bool sc_array(scanner *s, elem_cb cb, void *ctx)
{
    if (++s->depth > 512)
        return false;
    s->p++; /* '[' */
    sc_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        sc_ws(s);
        if (!(cb ? cb(ctx, s) : sc_value(s)))
            return false;
        sc_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

static bool sc_lit(scanner *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

static bool sc_value(scanner *s)
{
    if (s->p >= s->end)
        return false;
    const char *raw;
    size_t n;
    bool esc;
    switch (*s->p) {
    case '{':
        return sc_object(s, NULL, NULL);
    case '[':
        return sc_array(s, NULL, NULL);
    case '"':
        return sc_string(s, &raw, &n, &esc);
    case 't':
        return sc_lit(s, "true", 4);
    case 'f':
        return sc_lit(s, "false", 5);
    case 'n':
        return sc_lit(s, "null", 4);
    default:
        return sc_number(s);
    }
}

/* ---- picking members out (case-insensitively, each at most once) ---- */

typedef struct pick {
    const char *name; /* lower case */
    const char *v, *vend;
    int count;
} pick;

typedef struct picks {
    pick *p;
    size_t n;
    bool bad; /* a key with escapes: it could spell one of ours */
} picks;

static bool pick_cb(void *ctx, const char *key, size_t klen, bool kesc, const char *mstart,
                    scanner *s)
{
    (void)mstart;
    picks *ps = ctx;
    const char *vstart = s->p;
    if (!sc_value(s))
        return false;
    const char *vend = s->p;
    if (kesc) {
        ps->bad = true;
        return true;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (strlen(ps->p[i].name) == klen && strncasecmp(ps->p[i].name, key, klen) == 0) {
            ps->p[i].v = vstart;
            ps->p[i].vend = vend;
            ps->p[i].count++;
        }
    }
    return true;
}

static bool is_null(const char *v, const char *vend)
{
    return !v || (vend - v == 4 && memcmp(v, "null", 4) == 0);
}

typedef struct scan_ctx {
    nf_extender_args *a;
    size_t cap;
    char *names; /* the names back to back; nodes[].name is set once it stops moving */
    size_t names_len, names_cap;
    bool oom;
} scan_ctx;

/* The node table's memory: the request's arena when there is one (the table grows in place
 * there), else malloc. */
static void *scan_realloc(nf_extender_args *a, void *p, size_t old, size_t n)
{
    return a->arena ? nf_arena_realloc(a->arena, p, old, n) : realloc(p, n);
}

static bool grow_nodes(scan_ctx *c)
{
    if (c->a->n_nodes < c->cap)
        return true;
    size_t cap = c->cap ? c->cap * 2 : 256;
    nf_extender_node *n = scan_realloc(c->a, c->a->nodes, c->cap * sizeof(*n), cap * sizeof(*n));
    if (!n)
        return false;
    c->a->nodes = n;
    c->cap = cap;
    return true;
}

static bool grow_names(scan_ctx *c, size_t more)
{
    if (c->names_cap - c->names_len >= more)
        return true;
    size_t cap = c->names_cap ? c->names_cap : 4096;
    while (cap - c->names_len < more)
        cap *= 2;
    char *n = scan_realloc(c->a, c->names, c->names_cap, cap);
    if (!n)
        return false;
    c->names = c->a->names_buf = n; /* freed with the args, whatever happens next */
    c->names_cap = cap;
    return true;
}

/* The node's name goes to the end of the names; its pointer is set by names_done, when the
 * buffer no longer moves. */
static bool add_name(scan_ctx *c, const char *raw, size_t n, const char *obj, size_t obj_len)
{
    if (!grow_nodes(c) || !grow_names(c, n + 1)) {
        c->oom = true;
        return false;
    }
    char *dst = c->names + c->names_len;
    memcpy(dst, raw, n);
    dst[n] = 0;
    c->names_len += n + 1;
    c->a->nodes[c->a->n_nodes++] = (nf_extender_node){
        .name = NULL, .name_plain = n, .obj = NULL, .raw = obj, .raw_len = obj_len};
    return true;
}

/* Every node's name pointer, into the names where add_name put them one after the other. */
static void names_done(scan_ctx *c)
{
    size_t off = 0;
    for (size_t i = 0; i < c->a->n_nodes; i++) {
        c->a->nodes[i].name = c->names + off;
        off += c->a->nodes[i].name_plain + 1;
    }
    c->a->names_len = c->names_len;
}

static bool name_cb(void *ctx, scanner *s)
{
    scan_ctx *c = ctx;
    const char *raw;
    size_t n;
    bool esc;
    if (s->p >= s->end || *s->p != '"' || !sc_string(s, &raw, &n, &esc) || esc)
        return false;
    return add_name(c, raw, n, NULL, 0);
}

/* A node object's members: its metadata's name is picked while the metadata is scanned, so the
 * node is read once. */
typedef struct item_scan {
    int n_meta;
    pick name;
    picks names;
} item_scan;

static bool item_member_cb(void *ctx, const char *key, size_t klen, bool kesc, const char *mstart,
                           scanner *s)
{
    (void)mstart;
    item_scan *it = ctx;
    if (kesc) {
        it->names.bad = true; /* it could spell metadata */
        return sc_value(s);
    }
    if (klen != 8 || strncasecmp(key, "metadata", 8) != 0)
        return sc_value(s);
    it->n_meta++;
    if (s->p >= s->end || *s->p != '{')
        return false;
    return sc_object(s, pick_cb, &it->names);
}

static bool item_cb(void *ctx, scanner *is)
{
    scan_ctx *c = ctx;
    const char *raw;
    size_t n;
    bool esc;
    const char *v = is->p;
    if (v >= is->end || *v != '{')
        return false;
    item_scan it = {.name = {.name = "name"}};
    it.names = (picks){.p = &it.name, .n = 1};
    if (!sc_object(is, item_member_cb, &it) || it.names.bad || it.n_meta != 1)
        return false; /* one pass validates the node and finds its name */
    const char *vend = is->p;
    pick name = it.name;
    if (name.count != 1 || !name.v || *name.v != '"')
        return false;
    scanner s = {.p = name.v, .end = name.vend};
    if (!sc_string(&s, &raw, &n, &esc) || esc || n == 0)
        return false;
    return add_name(c, raw, n, v, (size_t)(vend - v));
}

/* The NodeList's members: items read into the node table, the others kept as spans for the
 * answer. false (the jansson decoder decides) for an escaped key, items given twice in any letter
 * case, or items neither an array nor null. */
typedef struct list_scan {
    scan_ctx *c;
    int n_items;
} list_scan;

static bool list_member_cb(void *ctx, const char *key, size_t klen, bool kesc, const char *mstart,
                           scanner *s)
{
    list_scan *ls = ctx;
    nf_extender_args *a = ls->c->a;
    if (kesc)
        return false;
    if (klen == 5 && strncasecmp(key, "items", 5) == 0) {
        if (++ls->n_items > 1 || s->p >= s->end)
            return false;
        if (*s->p == 'n')
            return sc_lit(s, "null", 4);
        return *s->p == '[' && sc_array(s, item_cb, ls->c);
    }
    if (!sc_value(s))
        return false;
    nf_extender_span *m = scan_realloc(a, a->list_members, a->n_list_members * sizeof(*m),
                                       (a->n_list_members + 1) * sizeof(*m));
    if (!m) {
        ls->c->oom = true;
        return false;
    }
    a->list_members = m;
    m[a->n_list_members++] = (nf_extender_span){.p = mstart, .n = (size_t)(s->p - mstart)};
    return true;
}

/* The request's members: Pod, NodeNames and Nodes kept as spans (each at most once, in any letter
 * case). NodeNames and Nodes are read into the node table in this same pass, Nodes unless a
 * NodeNames that is not null came before it (NodeNames wins): the names and a NodeList of many
 * MB are read once. */
typedef struct top_scan {
    pick f[3]; /* pod, nodenames, nodes */
    scan_ctx *c;
    bool nodes_read; /* the node table holds Nodes' items */
    bool names_read; /* the node table holds NodeNames */
} top_scan;

/* NodeNames' array into the node table, instead of any NodeList read before it. */
static bool scan_names(top_scan *t, scanner *s)
{
    scan_ctx *c = t->c;
    c->a->n_nodes = 0;
    c->a->n_list_members = 0;
    c->names_len = 0;
    size_t left = (size_t)(s->end - s->p); /* room for the names unless they are most of it */
    if (!grow_names(c, left < 256 * 1024 ? left + 1 : 256 * 1024)) {
        c->oom = true;
        return false;
    }
    return t->names_read = sc_array(s, name_cb, c);
}

static bool top_member_cb(void *ctx, const char *key, size_t klen, bool kesc, const char *mstart,
                          scanner *s)
{
    (void)mstart;
    top_scan *t = ctx;
    if (kesc) /* it could spell one of ours */
        return false;
    pick *f = NULL;
    for (size_t i = 0; i < 3 && !f; i++)
        if (strlen(t->f[i].name) == klen && strncasecmp(t->f[i].name, key, klen) == 0)
            f = &t->f[i];
    const char *v = s->p;
    bool ok;
    if (f == &t->f[1] && f->count == 0 && v < s->end && *v == '[') {
        ok = scan_names(t, s);
    } else if (f == &t->f[2] && f->count == 0 && v < s->end && *v == '{' &&
               (!t->f[1].count || is_null(t->f[1].v, t->f[1].vend))) {
        list_scan ls = {.c = t->c};
        ok = sc_object(s, list_member_cb, &ls);
        t->nodes_read = ok;
    } else {
        ok = sc_value(s);
    }
    if (ok && f) {
        f->v = v;
        f->vend = s->p;
        f->count++;
    }
    return ok;
}

/* 1: scanned into *out; 0: unsure (use the jansson decoder); -ENOMEM. */
static int try_scan(const char *body, size_t len, nf_extender_args *out)
{
    scanner s = {.p = body, .end = body + len};
    sc_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return 0;
    scan_ctx c = {.a = out};
    top_scan t = {.f = {{.name = "pod"}, {.name = "nodenames"}, {.name = "nodes"}}, .c = &c};
    bool ok = sc_object(&s, top_member_cb, &t);
    sc_ws(&s);
    if (!ok || s.p != s.end)
        return c.oom ? -ENOMEM : 0;
    for (size_t i = 0; i < 3; i++)
        if (t.f[i].count > 1)
            return 0;
    const char *pv = t.f[0].v, *nv = t.f[1].v, *lv = t.f[2].v;
    if (!pv || *pv != '{')
        return 0;
    bool names = !is_null(nv, t.f[1].vend);
    if (!names && is_null(lv, t.f[2].vend))
        return 0;
    if (names ? !t.names_read : !t.nodes_read)
        return 0;
    json_error_t je;
    json_t *pod = json_loadb(pv, (size_t)(t.f[0].vend - pv), 0, &je);
    if (!pod)
        return 0;
    nf_err perr;
    if (nf_pod_req_from_json(pod, &out->req, &perr)) {
        json_decref(pod);
        return 0;
    }
    out->doc = out->pod = pod;
    out->pod_raw = pv;
    out->pod_raw_len = (size_t)(t.f[0].vend - pv);
    out->names_mode = names;
    out->scanned = true;
    if (!grow_names(&c, 1) ||
        (!out->nodes && !(out->nodes = scan_realloc(out, NULL, 0, sizeof(*out->nodes)))))
        return -ENOMEM;
    names_done(&c);
    return 1;
}

int nf_extender_args_scan(const char *body, size_t len, nf_arena *arena, nf_extender_args *out,
                          nf_err *err)
{
    memset(out, 0, sizeof(*out));
    out->arena = arena;
    int rc = body ? try_scan(body, len, out) : 0;
    if (rc == 1)
        return 0;
    nf_extender_args_free(out); /* the arena's part stays there: freed with the arena */
    if (rc < 0)
        return nf_errf(err, rc, "ExtenderArgs: out of memory");
    return nf_extender_args_decode(body, len, out, err);
}

int nf_extender_args_pod_text(const nf_extender_args *a, char **out, size_t *len)
{
    if (a->pod_raw) {
        if (!(*out = malloc(a->pod_raw_len + 1)))
            return -ENOMEM;
        memcpy(*out, a->pod_raw, a->pod_raw_len);
        (*out)[a->pod_raw_len] = '\0';
        *len = a->pod_raw_len;
        return 0;
    }
    if (!(*out = json_dumps(a->pod, JSON_COMPACT)))
        return -ENOMEM;
    *len = strlen(*out);
    return 0;
}

/* ---- answers ---- */

static json_t *filter_result_new(void)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    if (json_object_set_new(r, "Nodes", json_null()) ||
        json_object_set_new(r, "NodeNames", json_null()) ||
        json_object_set_new(r, "FailedNodes", json_object()) ||
        json_object_set_new(r, "FailedAndUnresolvableNodes", json_object()) ||
        json_object_set_new(r, "Error", json_string(""))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *nf_extender_filter_error(const char *msg)
{
    json_t *r = filter_result_new();
    if (r && json_object_set_new(r, "Error", nf_json_string_lossy(msg ? msg : "error"))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Messages may quote what a client sent (a URL with %ff in it) or be cut mid-character: never
 * let that turn an error answer into "out of memory". */
json_t *nf_extender_error(const char *msg)
{
    return json_pack("{s:o}", "Error", nf_json_string_lossy(msg ? msg : "error"));
}

json_t *nf_extender_binding_result(const char *error)
{
    return json_pack("{s:o}", "Error", nf_json_string_lossy(error ? error : ""));
}

/* ---- answers as text ---- */

/* A JSON string: quotes, and escapes for '"', '\\' and control characters (UTF-8 passes as is,
 * like jansson's encoder). Plain runs are found a word at a time and copied whole. */
static void sb_strn(nf_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (nf_buf_reserve(b, len + 2)) /* enough unless something needs escaping */
        return;
    b->p[b->len++] = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    const char *run = s;
    for (;;) {
        p = plain_end(p, end);
        if (p >= end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) { /* plain_end stops at UTF-8 bytes too */
            p++;
            continue;
        }
        nf_buf_put(b, run, (size_t)((const char *)p - run));
        char e[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        default:
            memcpy(e + 1, "u00", 3);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            n = 6;
        }
        nf_buf_put(b, e, n);
        run = (const char *)++p;
    }
    nf_buf_put(b, run, (size_t)((const char *)end - run));
    nf_buf_put(b, "\"", 1);
}

static void sb_str(nf_buf *b, const char *s)
{
    sb_strn(b, s, strlen(s));
}

/* A node's name as a JSON string: a scanned name's bytes are copied as they are (the scanner
 * took only names without escapes, and those need none). */
static inline void sb_name(nf_buf *b, const nf_extender_node *n)
{
    if (!n->name_plain) {
        sb_str(b, n->name);
        return;
    }
    if (nf_buf_reserve(b, n->name_plain + 2))
        return;
    b->p[b->len++] = '"';
    memcpy(b->p + b->len, n->name, n->name_plain);
    b->len += n->name_plain;
    b->p[b->len++] = '"';
}

/* Bytes sb_name may write for n (at most: a name that was not scanned may need escapes). */
static inline size_t name_room(const nf_extender_node *n)
{
    return n->name_plain ? n->name_plain + 2 : 6 * strlen(n->name) + 2;
}

/* A decimal integer (snprintf's "%d" costs more than the rest of a /prioritize entry). */
static inline void sb_int(nf_buf *b, int v)
{
    char d[12];
    size_t i = sizeof(d);
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do
        d[--i] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        d[--i] = '-';
    nf_buf_put(b, d + i, sizeof(d) - i);
}

/* One node's answer, with the lookup. */
typedef struct node_eval {
    bool passes;
    bool unresolvable;
    int score;
    const char *reason; /* in reason_buf, or a known failure's interned text */
    size_t reason_len;
    char reason_buf[NF_FIT_REASON_LEN + 64];
} node_eval;

static void set_reason(node_eval *ev, const char *text, size_t n)
{
    static const char pre[] = "numafit: ";
    if (n > sizeof(ev->reason_buf) - sizeof(pre)) {
        n = sizeof(ev->reason_buf) - sizeof(pre);
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--; /* never half a UTF-8 character */
    }
    memcpy(ev->reason_buf, pre, sizeof(pre) - 1);
    memcpy(ev->reason_buf + sizeof(pre) - 1, text, n);
    ev->reason_buf[sizeof(pre) - 1 + n] = 0;
    ev->reason = ev->reason_buf;
    ev->reason_len = sizeof(pre) - 1 + n;
}

/* Fit (and score when `score`) the pod on t into *ans, its reason in ev (when `reasons`). */
static int fit_answer(const nf_extender_args *a, const nf_topology *t, const nf_fit_view *v,
                      const nf_fit_opts *o, bool reasons, bool score, node_eval *ev,
                      nf_fit_answer *ans)
{
    nf_fit_result fit;
    nf_fit_opts fo = *o;
    fo.no_reason = o->no_reason || !reasons;
    int rc = v ? nf_fit_node_view(&a->req, t, v, &fo, &fit) : nf_fit_node(&a->req, t, &fo, &fit);
    if (rc)
        return rc;
    *ans = (nf_fit_answer){.status = fit.status,
                           .lack = fit.lack,
                           .aligned = fit.aligned,
                           .reason = "",
                           .reason_len = 0};
    if (fit.status != NF_FIT_OK && reasons) {
        set_reason(ev, fit.reason, strlen(fit.reason));
        ans->reason = ev->reason;
        ans->reason_len = ev->reason_len;
    }
    if (score && fit.status == NF_FIT_OK) {
        int s = v ? nf_score_node_view(&a->req, t, v, o, &fit) : nf_score_node(&a->req, t, o, &fit);
        if (s < 0)
            rc = s;
        else
            ans->score = s;
    }
    nf_fit_result_free(&fit);
    return rc;
}

/* shape: the pod's shape key when the source may remember answers (NULL: it may not). */
static int eval_node(const nf_extender_args *a, const nf_topology_source *src, const nf_fit_opts *o,
                     const nf_fit_shape *shape, const char *name, bool want_score, node_eval *ev)
{
    ev->passes = ev->unresolvable = false;
    ev->reason = "";
    ev->reason_len = 0;
    ev->score = 0;
    if (!a->req.aligned) {
        ev->passes = true;
        return 0;
    }
    nf_fit_answer kn;
    if (shape && src && src->known && src->known(src->ctx, name, shape, o->align, &kn)) {
        if (src->fitted)
            src->fitted(src->ctx, name, &kn);
        ev->passes = kn.status == NF_FIT_OK;
        ev->unresolvable = kn.status == NF_FIT_UNRESOLVABLE;
        ev->score = kn.score;
        ev->reason = kn.reason; /* a known failure's text lives as long as the process */
        ev->reason_len = kn.reason_len;
        return 0;
    }
    void *handle = NULL;
    char why[256] = "";
    const nf_topology *t =
        src && src->acquire ? src->acquire(src->ctx, name, &handle, why, sizeof(why)) : NULL;
    if (!t) {
        /* --stale-policy reject: numafit knows nothing of the node, so evicting pods there
         * (what kube-scheduler tries for FailedNodes) cannot help */
        ev->passes = src && src->pass_missing;
        ev->unresolvable = !ev->passes;
        const char *w = *why ? why : "no topology for this node";
        set_reason(ev, w, strlen(w));
        return 0;
    }
    nf_fit_memo *memo = NULL;
    const nf_fit_view *v = src->view ? src->view(src->ctx, handle, t, o->align, &memo) : NULL;
    if (!shape)
        memo = NULL;
    const nf_fit_answer *ans = memo ? nf_fit_memo_find(memo, shape) : NULL;
    nf_fit_answer own;
    int rc = 0;
    if (!ans) { /* a remembered answer serves /filter and /prioritize: it has both */
        rc = fit_answer(a, t, v, o, memo || !want_score, memo || want_score, ev, &own);
        if (!rc && memo)
            ans = nf_fit_memo_add(memo, shape, &own);
        if (!ans)
            ans = &own;
    }
    if (!rc) {
        if (src->fitted)
            src->fitted(src->ctx, name, ans);
        ev->passes = ans->status == NF_FIT_OK;
        ev->unresolvable = ans->status == NF_FIT_UNRESOLVABLE;
        ev->score = ans->score;
        if (!ev->passes && ans->reason != ev->reason_buf) { /* copy: the memo dies with t */
            size_t n = ans->reason_len < sizeof(ev->reason_buf) - 1 ? ans->reason_len
                                                                    : sizeof(ev->reason_buf) - 1;
            memcpy(ev->reason_buf, ans->reason, n);
            ev->reason_buf[n] = 0;
            ev->reason = ev->reason_buf;
            ev->reason_len = n;
        }
    }
    if (src->release)
        src->release(src->ctx, handle);
    return rc;
}

/* The pod's shape key when src may remember answers; *shape zeroed otherwise. */
static int shape_for(const nf_extender_args *a, const nf_topology_source *src, const nf_fit_opts *o,
                     nf_fit_shape *shape, const nf_fit_shape **use)
{
    memset(shape, 0, sizeof(*shape));
    *use = NULL;
    if (!a->req.aligned || !src || !src->view)
        return 0;
    int rc = nf_fit_shape_of(&a->req, o, shape);
    if (!rc)
        *use = shape;
    return rc;
}

/* Drop any differently-cased duplicate of "items" copied from the request's NodeList. */
static void drop_items_dupes(json_t *list)
{
    const char *k;
    void *tmp;
    json_t *v;
    json_object_foreach_safe(list, tmp, k, v)
    {
        if (strcmp(k, "items") != 0 && strcasecmp(k, "items") == 0)
            json_object_del(list, k);
    }
}

/* What /filter decided for one node; its reason, JSON-escaped, is esc_len bytes at esc_off of
 * the request's escaped reasons. */
typedef struct verdict {
    unsigned char kind; /* V_PASS, V_FAILED, V_UNRESOLVABLE */
    uint32_t esc_len;
    size_t esc_off;
} verdict;
enum { V_PASS, V_FAILED, V_UNRESOLVABLE };

/* "Nodes": the request's NodeList with items replaced by the passing node objects. */
static int nodelist_text(const nf_extender_args *a, const verdict *v, nf_buf *b)
{
    if (a->scanned) { /* the request's own bytes */
        nf_buf_put(b, "{", 1);
        for (size_t i = 0; i < a->n_list_members; i++) {
            nf_buf_put(b, a->list_members[i].p, a->list_members[i].n);
            nf_buf_put(b, ",", 1);
        }
        NF_BUF_LIT(b, "\"items\":[");
        bool first = true;
        for (size_t i = 0; i < a->n_nodes; i++) {
            if (v[i].kind != V_PASS)
                continue;
            if (!first)
                nf_buf_put(b, ",", 1);
            first = false;
            nf_buf_put(b, a->nodes[i].raw, a->nodes[i].raw_len);
        }
        NF_BUF_LIT(b, "]}");
        return nf_buf_error(b);
    }
    json_t *list = a->nodelist ? json_copy(a->nodelist) : json_object();
    json_t *kept = json_array();
    int rc = list && kept ? 0 : -ENOMEM;
    for (size_t i = 0; i < a->n_nodes && !rc; i++)
        if (v[i].kind == V_PASS && json_array_append(kept, a->nodes[i].obj))
            rc = -ENOMEM;
    if (!rc && json_object_set(list, "items", kept))
        rc = -ENOMEM;
    if (!rc) {
        drop_items_dupes(list);
        size_t n = json_dumpb(list, NULL, 0, JSON_COMPACT);
        if (!n || nf_buf_reserve(b, n))
            rc = -ENOMEM;
        else
            b->len += json_dumpb(list, b->p + b->len, n, JSON_COMPACT);
        if (!rc)
            b->p[b->len] = 0;
    }
    json_decref(kept);
    json_decref(list);
    return rc;
}

const nf_filter_reason_count *nf_filter_class_top(const nf_filter_class *c)
{
    const nf_filter_reason_count *top = NULL;
    for (size_t i = 0; i < c->n_reasons; i++)
        if (!top || c->reasons[i].count > top->count)
            top = &c->reasons[i];
    return top;
}

/* Count n failing nodes with one reason in their class (the answer counts a run of nodes with
 * the same reason at once: in pod scope every node of a class has the same text). */
static void tally(nf_filter_class *c, const char *text, size_t len, size_t n)
{
    c->nodes += n;
    for (size_t i = 0; i < c->n_reasons; i++)
        if (c->reasons[i].len == len && memcmp(c->reasons[i].text, text, len) == 0) {
            c->reasons[i].count += n;
            return;
        }
    if (c->n_reasons == NF_FILTER_TOP || len >= sizeof(c->reasons[0].text)) {
        c->other += n;
        return;
    }
    nf_filter_reason_count *r = &c->reasons[c->n_reasons++];
    memcpy(r->text, text, len);
    r->text[len] = 0;
    r->len = len;
    r->count = n;
}

int nf_extender_filter_text(const nf_extender_args *a, const nf_topology_source *src,
                            const nf_fit_opts *o, char **out, size_t *len)
{
    return nf_extender_filter_text_sum(a, src, o, out, len, NULL);
}

/* The reasons of one /filter, each JSON-escaped once per run of nodes that share it (pod scope
 * gives every node of a class one text): the text of the last run, for the next node to compare
 * with, and the run's length for the summary. */
typedef struct reason_runs {
    nf_buf esc; /* escaped texts, back to back */
    unsigned char kind;
    char text[sizeof(((node_eval *)0)->reason_buf)];
    const char *interned; /* the text's own address when it outlives the request, else NULL */
    size_t len, run;
    size_t esc_off;
    uint32_t esc_len;
    nf_filter_summary *sum;
} reason_runs;

static void runs_flush(reason_runs *rr)
{
    if (rr->sum && rr->run)
        tally(rr->kind == V_UNRESOLVABLE ? &rr->sum->unresolvable : &rr->sum->failed, rr->text,
              rr->len, rr->run);
    rr->run = 0;
}

/* The verdict of a failing node (kind) whose reason is ev's. */
static void runs_add(reason_runs *rr, const node_eval *ev, unsigned char kind, verdict *v)
{
    size_t len = ev->reason_len;
    /* a known failure's text is interned: one address per text, no comparison */
    const char *interned = ev->reason != ev->reason_buf ? ev->reason : NULL;
    bool same_text = rr->esc.p && ((interned && interned == rr->interned) ||
                                   (rr->len == len && memcmp(rr->text, ev->reason, len) == 0));
    if (!same_text || rr->kind != kind) {
        runs_flush(rr);
        rr->kind = kind;
    }
    if (!same_text) {
        rr->interned = interned;
        if (len < sizeof(rr->text)) {
            memcpy(rr->text, ev->reason, len);
            rr->len = len;
        } else {
            rr->len = SIZE_MAX; /* matches nothing; the summary counts it as other */
        }
        rr->esc_off = rr->esc.len;
        sb_strn(&rr->esc, ev->reason, len);
        rr->esc_len = (uint32_t)(rr->esc.len - rr->esc_off);
    }
    rr->run++;
    *v = (verdict){.kind = kind, .esc_off = rr->esc_off, .esc_len = rr->esc_len};
}

/* The names of the nodes of one kind, comma-separated: as a /filter map's members
 * ("name":"reason") with their escaped reasons esc, as NodeNames' items without (esc NULL). */
static void names_of(const nf_extender_args *a, const verdict *v, const nf_buf *esc,
                     unsigned char kind, nf_buf *r)
{
    bool first = true;
    for (size_t i = 0; i < a->n_nodes; i++) {
        if (v[i].kind != kind)
            continue;
        if (!first)
            nf_buf_put(r, ",", 1);
        first = false;
        sb_name(r, &a->nodes[i]);
        if (esc) {
            nf_buf_put(r, ":", 1);
            nf_buf_put(r, esc->p + v[i].esc_off, v[i].esc_len);
        }
    }
}

/* Every node's verdict first, then the answer written once into a buffer sized for it. */
int nf_extender_filter_text_sum(const nf_extender_args *a, const nf_topology_source *src,
                                const nf_fit_opts *o, char **out, size_t *len,
                                nf_filter_summary *sum)
{
    if (sum)
        memset(sum, 0, sizeof(*sum));
    *out = NULL;
    *len = 0;
    nf_buf r = {0};
    reason_runs rr = {.sum = sum};
    verdict *v = malloc((a->n_nodes ? a->n_nodes : 1) * sizeof(*v));
    int rc = v ? 0 : -ENOMEM;
    node_eval ev;
    nf_fit_shape shape = {0};
    const nf_fit_shape *use = NULL;
    if (!rc)
        rc = shape_for(a, src, o, &shape, &use);
    size_t room = 128;
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        if ((rc = eval_node(a, src, o, use, a->nodes[i].name, false, &ev)))
            break;
        if (ev.passes) {
            v[i] = (verdict){.kind = V_PASS};
            if (sum)
                sum->passed++;
            room += a->names_mode ? name_room(&a->nodes[i]) + 1 : a->nodes[i].raw_len + 1;
        } else {
            runs_add(&rr, &ev, ev.unresolvable ? V_UNRESOLVABLE : V_FAILED, &v[i]);
            room += name_room(&a->nodes[i]) + v[i].esc_len + 2;
        }
    }
    runs_flush(&rr);
    nf_fit_shape_free(&shape);
    if (!rc && !a->names_mode)
        for (size_t i = 0; i < a->n_list_members; i++)
            room += a->list_members[i].n + 1;
    if (!rc)
        rc = nf_buf_error(&rr.esc) ?: nf_buf_reserve(&r, room);
    if (!rc) {
        NF_BUF_LIT(&r, "{\"Nodes\":");
        if (a->names_mode)
            NF_BUF_LIT(&r, "null");
        else
            rc = nodelist_text(a, v, &r);
        NF_BUF_LIT(&r, ",\"NodeNames\":");
        if (a->names_mode) {
            nf_buf_put(&r, "[", 1);
            names_of(a, v, NULL, V_PASS, &r);
            nf_buf_put(&r, "]", 1);
        } else {
            NF_BUF_LIT(&r, "null");
        }
        NF_BUF_LIT(&r, ",\"FailedNodes\":{");
        names_of(a, v, &rr.esc, V_FAILED, &r);
        NF_BUF_LIT(&r, "},\"FailedAndUnresolvableNodes\":{");
        names_of(a, v, &rr.esc, V_UNRESOLVABLE, &r);
        NF_BUF_LIT(&r, "},\"Error\":\"\"}");
    }
    free(v);
    nf_buf_free(&rr.esc);
    if (rc) {
        nf_buf_free(&r);
        return rc;
    }
    return nf_buf_take(&r, out, len);
}

int nf_extender_prioritize_text(const nf_extender_args *a, const nf_topology_source *src,
                                const nf_fit_opts *o, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    nf_buf r = {0};
    size_t room = 3;
    for (size_t i = 0; i < a->n_nodes; i++) /* {"Host":,"Score":} and a score of 3 digits */
        room += name_room(&a->nodes[i]) + 22;
    (void)nf_buf_reserve(&r, room); /* a failure shows in nf_buf_take */
    nf_buf_put(&r, "[", 1);
    node_eval ev;
    nf_fit_shape shape;
    const nf_fit_shape *use;
    int rc = shape_for(a, src, o, &shape, &use);
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        if ((rc = eval_node(a, src, o, use, a->nodes[i].name, true, &ev)))
            break;
        if (i) /* not one NF_BUF_LIT(cond ? a : b): sizeof would be a pointer's */
            NF_BUF_LIT(&r, ",");
        NF_BUF_LIT(&r, "{\"Host\":");
        sb_name(&r, &a->nodes[i]);
        NF_BUF_LIT(&r, ",\"Score\":");
        sb_int(&r, ev.passes ? ev.score : 0);
        NF_BUF_LIT(&r, "}");
    }
    nf_fit_shape_free(&shape);
    nf_buf_put(&r, "]", 1);
    if (rc) {
        nf_buf_free(&r);
        return rc;
    }
    return nf_buf_take(&r, out, len);
}

/* The json_t forms build the answer as a jansson tree (NodeList mode hands back the request's
 * own node objects); the server uses the text forms above. test_fast_paths checks they agree. */
int nf_extender_filter(const nf_extender_args *a, const nf_topology_source *src,
                       const nf_fit_opts *o, json_t **result)
{
    *result = NULL;
    json_t *r = filter_result_new();
    json_t *kept = json_array();
    json_t *failed = r ? json_object_get(r, "FailedNodes") : NULL;
    json_t *unres = r ? json_object_get(r, "FailedAndUnresolvableNodes") : NULL;
    int rc = (!r || !kept) ? -ENOMEM : 0;
    node_eval ev;
    nf_fit_shape shape = {0};
    const nf_fit_shape *use = NULL;
    if (!rc)
        rc = shape_for(a, src, o, &shape, &use);
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        if ((rc = eval_node(a, src, o, use, a->nodes[i].name, false, &ev)))
            break;
        if (ev.passes) {
            json_t *v = a->names_mode ? json_string(a->nodes[i].name)
                        : a->nodes[i].obj
                            ? json_incref(a->nodes[i].obj)
                            : json_loadb(a->nodes[i].raw, a->nodes[i].raw_len, 0, NULL);
            if (json_array_append_new(kept, v))
                rc = -ENOMEM;
        } else if (json_object_set_new(ev.unresolvable ? unres : failed, a->nodes[i].name,
                                       json_string(ev.reason))) {
            rc = -ENOMEM;
        }
    }
    nf_fit_shape_free(&shape);
    if (!rc) {
        if (a->names_mode) {
            rc = json_object_set(r, "NodeNames", kept) ? -ENOMEM : 0;
        } else {
            /* the request's NodeList with items replaced by the passing nodes */
            json_t *list = a->nodelist ? json_copy(a->nodelist) : json_object();
            if (list && !a->nodelist && a->n_list_members) {
                /* scanned: parse the members back ('"k":v' spans) */
                nf_buf b = {0};
                nf_buf_put(&b, "{", 1);
                for (size_t i = 0; i < a->n_list_members; i++) {
                    if (i)
                        nf_buf_put(&b, ",", 1);
                    nf_buf_put(&b, a->list_members[i].p, a->list_members[i].n);
                }
                nf_buf_put(&b, "}", 1);
                json_t *m = nf_buf_error(&b) ? NULL : json_loadb(b.p, b.len, 0, NULL);
                nf_buf_free(&b);
                if (!m || json_object_update(list, m))
                    rc = -ENOMEM;
                json_decref(m);
            }
            if (rc || !list || json_object_set(list, "items", kept) ||
                json_object_set_new(r, "Nodes", list)) {
                rc = -ENOMEM;
            } else {
                drop_items_dupes(list);
            }
        }
    }
    json_decref(kept);
    if (rc) {
        json_decref(r);
        return rc;
    }
    *result = r;
    return 0;
}

int nf_extender_prioritize(const nf_extender_args *a, const nf_topology_source *src,
                           const nf_fit_opts *o, json_t **result)
{
    *result = NULL;
    json_t *arr = json_array();
    int rc = arr ? 0 : -ENOMEM;
    node_eval ev;
    nf_fit_shape shape = {0};
    const nf_fit_shape *use = NULL;
    if (!rc)
        rc = shape_for(a, src, o, &shape, &use);
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        if ((rc = eval_node(a, src, o, use, a->nodes[i].name, true, &ev)))
            break;
        json_t *hp = json_pack("{s:s, s:I}", "Host", a->nodes[i].name, "Score",
                               (json_int_t)(ev.passes ? ev.score : 0));
        if (!hp || json_array_append_new(arr, hp))
            rc = -ENOMEM;
    }
    nf_fit_shape_free(&shape);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *result = arr;
    return 0;
}

/* ---- bind ---- */

void nf_extender_binding_free(nf_extender_binding *b)
{
    if (!b)
        return;
    free(b->pod_name);
    free(b->pod_namespace);
    free(b->pod_uid);
    free(b->node);
    memset(b, 0, sizeof(*b));
}

static int bind_field(const json_t *doc, const char *key, bool required, char **dst, nf_err *err)
{
    json_t *v = nf_json_iget(doc, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: %s must be a string", key);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    if (required && !*s)
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: %s is missing or empty", key);
    if (nf_strset(dst, s) < 0)
        return nf_errf(err, -ENOMEM, "ExtenderBindingArgs: out of memory");
    return 0;
}

int nf_extender_binding_decode(const char *body, size_t len, nf_extender_binding *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &je);
    if (!doc)
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: malformed JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    int rc;
    if (!json_is_object(doc))
        rc = nf_errf(err, -EINVAL, "ExtenderBindingArgs: the body must be a JSON object");
    else if (!(rc = bind_field(doc, "PodName", true, &out->pod_name, err)) &&
             !(rc = bind_field(doc, "PodNamespace", false, &out->pod_namespace, err)) &&
             !(rc = bind_field(doc, "PodUID", false, &out->pod_uid, err)))
        rc = bind_field(doc, "Node", true, &out->node, err);
    json_decref(doc);
    if (rc)
        nf_extender_binding_free(out);
    return rc;
}
