/* kubelet_spew.c - FNV-1a-32 and go-spew text building (see kubelet_spew.h). */
#include "kubelet_spew.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/fileio.h"

uint32_t nf_fnv1a32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

void nf_spew_reset(nf_spew *s)
{
    s->len = 0;
    s->oom = false;
    if (s->buf)
        s->buf[0] = '\0';
}

void nf_spew_free(nf_spew *s)
{
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

void nf_spew_putn(nf_spew *s, const char *text, size_t n)
{
    if (s->oom)
        return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) {
            s->oom = true;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

void nf_spew_put(nf_spew *s, const char *text)
{
    nf_spew_putn(s, text, strlen(text));
}

void nf_spew_printf(nf_spew *s, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->oom = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        nf_spew_putn(s, small, (size_t)n);
        return;
    }
    char *big = NULL;
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->oom = true;
        return;
    }
    nf_spew_putn(s, big, (size_t)n);
    free(big);
}

int nf_spew_sum(const nf_spew *s, uint32_t *out)
{
    if (s->oom)
        return -ENOMEM;
    *out = nf_fnv1a32(s->buf ? s->buf : "", s->len);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

long nf_spew_sorted_keys(const json_t *obj, const char ***keys)
{
    size_t n = json_object_size(obj), i = 0;
    *keys = NULL;
    if (n == 0)
        return 0;
    const char **k = malloc(n * sizeof(*k));
    if (!k)
        return -ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        (void)v;
        k[i++] = key;
    }
    qsort(k, n, sizeof(*k), cmp_str);
    *keys = k;
    return (long)n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

long nf_spew_sorted_int_keys(const json_t *obj, int64_t **vals, const char **bad)
{
    size_t n = json_object_size(obj), i = 0;
    *vals = NULL;
    if (n == 0)
        return 0;
    int64_t *v = malloc(n * sizeof(*v));
    if (!v)
        return -ENOMEM;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        /* Go's strconv.ParseInt: optional sign, decimal digits only. */
        const char *p = key + (key[0] == '-' || key[0] == '+');
        if (!*p || strspn(p, "0123456789") != strlen(p) ||
            nf_parse_int64(key, INT64_MIN, INT64_MAX, &v[i]) != 0) {
            *bad = key;
            free(v);
            return -EINVAL;
        }
        i++;
    }
    qsort(v, n, sizeof(*v), cmp_i64);
    *vals = v;
    return (long)n;
}

void nf_spew_string_slice(nf_spew *s, const json_t *arr)
{
    if (!arr || json_is_null(arr)) {
        nf_spew_put(s, "<nil>");
        return;
    }
    nf_spew_put(s, "[");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (i)
            nf_spew_put(s, " ");
        const json_t *e = json_array_get(arr, i);
        nf_spew_putn(s, json_string_value(e) ? json_string_value(e) : "",
                     json_string_value(e) ? json_string_length(e) : 0);
    }
    nf_spew_put(s, "]");
}

void nf_spew_string_map(nf_spew *s, const json_t *obj)
{
    if (!obj || json_is_null(obj)) {
        nf_spew_put(s, "<nil>");
        return;
    }
    const char **keys;
    long n = nf_spew_sorted_keys(obj, &keys);
    if (n < 0) {
        s->oom = true;
        return;
    }
    nf_spew_put(s, "map[");
    for (long i = 0; i < n; i++) {
        if (i)
            nf_spew_put(s, " ");
        const json_t *v = json_object_get(obj, keys[i]);
        nf_spew_put(s, keys[i]);
        nf_spew_put(s, ":");
        nf_spew_putn(s, json_string_value(v) ? json_string_value(v) : "",
                     json_string_value(v) ? json_string_length(v) : 0);
    }
    nf_spew_put(s, "]");
    free(keys);
}
