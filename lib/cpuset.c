/* cpuset.c - growable CPU bitmaps and the Linux list/mask forms (see numafit/cpuset.h). */
#include "numafit/cpuset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS 64

static int grow(nf_cpuset *s, size_t nwords)
{
    if (nwords <= s->nwords)
        return 0;
    uint64_t *w = realloc(s->words, nwords * sizeof(*w));
    if (!w)
        return -ENOMEM;
    memset(w + s->nwords, 0, (nwords - s->nwords) * sizeof(*w));
    s->words = w;
    s->nwords = nwords;
    return 0;
}

void nf_cpuset_free(nf_cpuset *s)
{
    free(s->words);
    s->words = NULL;
    s->nwords = 0;
}

void nf_cpuset_clear(nf_cpuset *s)
{
    if (s->words)
        memset(s->words, 0, s->nwords * sizeof(*s->words));
}

int nf_cpuset_copy(nf_cpuset *dst, const nf_cpuset *src)
{
    if (dst == src)
        return 0;
    nf_cpuset_clear(dst);
    int rc = grow(dst, src->nwords);
    if (rc)
        return rc;
    if (src->nwords)
        memcpy(dst->words, src->words, src->nwords * sizeof(*src->words));
    return 0;
}

int nf_cpuset_set(nf_cpuset *s, unsigned cpu)
{
    return nf_cpuset_set_range(s, cpu, cpu);
}

int nf_cpuset_set_range(nf_cpuset *s, unsigned first, unsigned last)
{
    if (first > last || last > NF_CPU_MAX)
        return -ERANGE;
    int rc = grow(s, last / WORD_BITS + 1);
    if (rc)
        return rc;
    for (unsigned c = first; c <= last; c++)
        s->words[c / WORD_BITS] |= UINT64_C(1) << (c % WORD_BITS);
    return 0;
}

bool nf_cpuset_test(const nf_cpuset *s, unsigned cpu)
{
    size_t w = cpu / WORD_BITS;
    return w < s->nwords && (s->words[w] >> (cpu % WORD_BITS)) & 1;
}

size_t nf_cpuset_count(const nf_cpuset *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nwords; i++)
        n += (size_t)__builtin_popcountll(s->words[i]);
    return n;
}

bool nf_cpuset_empty(const nf_cpuset *s)
{
    for (size_t i = 0; i < s->nwords; i++)
        if (s->words[i])
            return false;
    return true;
}

bool nf_cpuset_equal(const nf_cpuset *a, const nf_cpuset *b)
{
    size_t n = a->nwords > b->nwords ? a->nwords : b->nwords;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = i < a->nwords ? a->words[i] : 0;
        uint64_t y = i < b->nwords ? b->words[i] : 0;
        if (x != y)
            return false;
    }
    return true;
}

int nf_cpuset_next(const nf_cpuset *s, unsigned from)
{
    for (size_t w = from / WORD_BITS; w < s->nwords; w++) {
        uint64_t bits = s->words[w];
        if (w == from / WORD_BITS)
            bits &= ~UINT64_C(0) << (from % WORD_BITS);
        if (bits)
            return (int)(w * WORD_BITS + (size_t)__builtin_ctzll(bits));
    }
    return -1;
}

enum op { OP_AND, OP_OR, OP_ANDNOT };

static int combine(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b, enum op op)
{
    size_t n = a->nwords > b->nwords ? a->nwords : b->nwords;
    uint64_t *w = calloc(n ? n : 1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = i < a->nwords ? a->words[i] : 0;
        uint64_t y = i < b->nwords ? b->words[i] : 0;
        w[i] = op == OP_AND ? (x & y) : op == OP_OR ? (x | y) : (x & ~y);
    }
    free(dst->words);
    dst->words = w;
    dst->nwords = n;
    return 0;
}

int nf_cpuset_and(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b)
{
    return combine(dst, a, b, OP_AND);
}

int nf_cpuset_or(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b)
{
    return combine(dst, a, b, OP_OR);
}

int nf_cpuset_andnot(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b)
{
    return combine(dst, a, b, OP_ANDNOT);
}

/* Reads a decimal CPU id; refuses signs, overflow and ids above NF_CPU_MAX. */
static int read_id(const char **p, unsigned *out)
{
    if (!isdigit((unsigned char)**p))
        return -EINVAL;
    unsigned long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (unsigned long)(**p - '0');
        if (v > NF_CPU_MAX)
            return -ERANGE;
        (*p)++;
    }
    *out = (unsigned)v;
    return 0;
}

int nf_cpuset_parse(const char *list, nf_cpuset *out, nf_err *err)
{
    nf_cpuset s = {0};
    const char *p = list;
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        unsigned first, last;
        const char *at = p;
        int rc = read_id(&p, &first);
        last = first;
        if (rc == 0 && *p == '-') {
            p++;
            rc = read_id(&p, &last);
            if (rc == 0 && last < first)
                rc = -EINVAL;
        }
        if (rc == 0)
            rc = nf_cpuset_set_range(&s, first, last);
        if (rc == 0 && *p == ',') {
            p++;
            if (!*p || isspace((unsigned char)*p))
                rc = -EINVAL;
        } else if (rc == 0 && *p && !isspace((unsigned char)*p)) {
            rc = -EINVAL;
        }
        if (rc) {
            nf_cpuset_free(&s);
            nf_cpuset_clear(out); /* the header promises an empty set on error */
            return nf_errf(err, rc, "cpu list \"%.64s\": %s at \"%.16s\"", list,
                           rc == -ERANGE ? "cpu id out of range (max "
                                           "65535)"
                                         : "syntax error",
                           at);
        }
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p) {
        nf_cpuset_free(&s);
        nf_cpuset_clear(out);
        return nf_errf(err, -EINVAL, "cpu list \"%.64s\": trailing text", list);
    }
    nf_cpuset_free(out);
    *out = s;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int nf_cpuset_parse_mask(const char *mask, nf_cpuset *out, nf_err *err)
{
    nf_cpuset s = {0};
    const char *start = mask, *end;
    while (isspace((unsigned char)*start))
        start++;
    end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    /* walk nibbles from the least significant end */
    unsigned bit = 0;
    for (const char *p = end; p > start; p--) {
        char c = p[-1];
        if (c == ',')
            continue;
        int v = hexval(c);
        if (v < 0) {
            nf_cpuset_free(&s);
            nf_cpuset_clear(out);
            return nf_errf(err, -EINVAL, "cpu mask \"%.64s\": bad character '%c'", mask, c);
        }
        for (int b = 0; b < 4; b++, bit++) {
            if (!(v >> b & 1))
                continue;
            int rc = nf_cpuset_set(&s, bit);
            if (rc) {
                nf_cpuset_free(&s);
                nf_cpuset_clear(out);
                return nf_errf(err, rc, "cpu mask \"%.64s\": cpu %u out of range", mask, bit);
            }
        }
    }
    nf_cpuset_free(out);
    *out = s;
    return 0;
}

int nf_cpuset_format(const nf_cpuset *s, char **out)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    buf[0] = '\0';
    int c = nf_cpuset_next(s, 0);
    while (c >= 0) {
        int last = c;
        while (nf_cpuset_test(s, (unsigned)last + 1))
            last++;
        char part[32];
        int n = last == c ? snprintf(part, sizeof(part), "%s%d", len ? "," : "", c)
                          : snprintf(part, sizeof(part), "%s%d-%d", len ? "," : "", c, last);
        if (len + (size_t)n + 1 > cap) {
            cap = (len + (size_t)n + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        memcpy(buf + len, part, (size_t)n + 1);
        len += (size_t)n;
        c = nf_cpuset_next(s, (unsigned)last + 1);
    }
    *out = buf;
    return 0;
}
