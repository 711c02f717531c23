/* prom.c - Prometheus text exposition writer (see prom.h). */
#include "numafit/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NUMAFIT_VERSION
#define NUMAFIT_VERSION "unknown"
#endif

const double nf_prom_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const size_t nf_prom_latency_n_bounds =
    sizeof(nf_prom_latency_bounds) / sizeof(nf_prom_latency_bounds[0]);

void nf_prom_init(nf_prom *p)
{
    memset(p, 0, sizeof(*p));
}

void nf_prom_discard(nf_prom *p)
{
    nf_buf_free(&p->b);
    memset(p, 0, sizeof(*p));
}

char *nf_prom_finish(nf_prom *p, size_t *len)
{
    char *s = NULL;
    if (nf_buf_take(&p->b, &s, len))
        s = NULL; /* memory ran out */
    nf_prom_discard(p);
    return s;
}

static void put(nf_prom *p, const char *s, size_t n)
{
    nf_buf_put(&p->b, s, n);
}

static void puts_(nf_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

/* Escape backslash and newline (and the double quote inside label values). */
static void put_escaped(nf_prom *p, const char *s, bool quote)
{
    for (const char *c = s ? s : ""; *c; c++) {
        if (*c == '\\')
            put(p, "\\\\", 2);
        else if (*c == '\n')
            put(p, "\\n", 2);
        else if (quote && *c == '"')
            put(p, "\\\"", 2);
        else
            put(p, c, 1);
    }
}

void nf_prom_family(nf_prom *p, const char *name, const char *type, const char *help)
{
    p->pend_name = NULL;
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    put_escaped(p, help, false);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, type);
    puts_(p, "\n");
}

void nf_prom_family_lazy(nf_prom *p, const char *name, const char *type, const char *help)
{
    p->pend_name = name;
    p->pend_type = type;
    p->pend_help = help;
}

/* name{labels[,le="x"]} with the labels taken from ap. */
static void put_series(nf_prom *p, const char *name, const char *suffix, va_list ap, const char *le)
{
    if (p->pend_name)
        nf_prom_family(p, p->pend_name, p->pend_type, p->pend_help);
    puts_(p, name);
    if (suffix)
        puts_(p, suffix);
    bool any = false;
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        puts_(p, any ? "," : "{");
        any = true;
        puts_(p, k);
        puts_(p, "=\"");
        put_escaped(p, v, true);
        puts_(p, "\"");
    }
    if (le) {
        puts_(p, any ? "," : "{");
        any = true;
        puts_(p, "le=\"");
        puts_(p, le);
        puts_(p, "\"");
    }
    if (any)
        puts_(p, "}");
}

static void put_double(nf_prom *p, double v)
{
    char num[64];
    if (isnan(v))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(v))
        snprintf(num, sizeof(num), "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        snprintf(num, sizeof(num), "%" PRId64, (int64_t)v);
    else {
        /* the shortest form that reads back as the same double */
        snprintf(num, sizeof(num), "%.15g", v);
        if (strtod(num, NULL) != v)
            snprintf(num, sizeof(num), "%.17g", v);
    }
    puts_(p, num);
}

void nf_prom_sample(nf_prom *p, const char *name, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    put_series(p, name, NULL, ap, NULL);
    va_end(ap);
    puts_(p, " ");
    put_double(p, value);
    puts_(p, "\n");
}

void nf_prom_sample_int(nf_prom *p, const char *name, int64_t value, ...)
{
    va_list ap;
    va_start(ap, value);
    put_series(p, name, NULL, ap, NULL);
    va_end(ap);
    char num[32];
    snprintf(num, sizeof(num), " %" PRId64 "\n", value);
    puts_(p, num);
}

void nf_prom_build_info(nf_prom *p, const char *name, const char *program)
{
    nf_prom_family(p, name, "gauge",
                   "Always 1; the labels say which numafit build runs (version, C compiler).");
#ifdef __VERSION__
    const char *cc = __VERSION__;
#else
    const char *cc = "unknown";
#endif
    nf_prom_sample(p, name, 1, "program", program, "version", NUMAFIT_VERSION, "compiler", cc,
                   NULL);
}

void nf_prom_hist_init(nf_prom_hist *h, const double *bounds, size_t n_bounds)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n_bounds = n_bounds > NF_PROM_MAX_BUCKETS ? NF_PROM_MAX_BUCKETS : n_bounds;
    for (size_t i = 0; i <= NF_PROM_MAX_BUCKETS; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum_ns, 0);
}

void nf_prom_hist_observe_ns(nf_prom_hist *h, uint64_t ns)
{
    double s = (double)ns / 1e9;
    size_t i = 0;
    while (i < h->n_bounds && s > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void nf_prom_hist_write(nf_prom *p, const char *name, const nf_prom_hist *h, ...)
{
    uint64_t cum = 0;
    char le[32], num[48];
    va_list ap;
    for (size_t i = 0; i <= h->n_bounds; i++) {
        cum += atomic_load_explicit(&((nf_prom_hist *)h)->counts[i], memory_order_relaxed);
        if (i < h->n_bounds)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        va_start(ap, h);
        put_series(p, name, "_bucket", ap, le);
        va_end(ap);
        snprintf(num, sizeof(num), " %" PRIu64 "\n", cum);
        puts_(p, num);
    }
    uint64_t sum_ns = atomic_load_explicit(&((nf_prom_hist *)h)->sum_ns, memory_order_relaxed);
    va_start(ap, h);
    put_series(p, name, "_sum", ap, NULL);
    va_end(ap);
    puts_(p, " ");
    put_double(p, (double)sum_ns / 1e9);
    puts_(p, "\n");
    va_start(ap, h);
    put_series(p, name, "_count", ap, NULL);
    va_end(ap);
    snprintf(num, sizeof(num), " %" PRIu64 "\n", cum); /* = the +Inf bucket, consistently */
    puts_(p, num);
}
