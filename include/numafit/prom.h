/* prom.h - a small writer for the Prometheus text exposition format (version 0.0.4), shared by
 * the exporter's and the extender's GET /metrics.
 *
 * One nf_prom is one response body: families (HELP + TYPE) then their samples, label values
 * escaped (backslash, double quote, newline). The writer never fails half-way: an allocation
 * failure is remembered and nf_prom_finish() returns NULL.
 *
 * Histograms (nf_prom_hist) have fixed bucket bounds in seconds and lock-free counters, so request
 * threads observe while a scrape renders; the rendered buckets are cumulative and the +Inf bucket
 * equals _count.
 */
#ifndef NUMAFIT_PROM_H
#define NUMAFIT_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/buf.h"

typedef struct nf_prom {
    nf_buf b;
    const char *pend_name, *pend_type, *pend_help; /* nf_prom_family_lazy */
} nf_prom;

void nf_prom_init(nf_prom *p);
/* The text (caller frees) and its length, or NULL when memory ran out (the buffer is freed). */
char *nf_prom_finish(nf_prom *p, size_t *len);
void nf_prom_discard(nf_prom *p);

/* "# HELP name help" and "# TYPE name type" (type: gauge, counter, histogram, untyped). */
void nf_prom_family(nf_prom *p, const char *name, const char *type, const char *help);
/* The same, written just before the next sample (strings borrowed until then), so that a family
 * with no sample at all (e.g. no NUMA node has devices) is not written. */
void nf_prom_family_lazy(nf_prom *p, const char *name, const char *type, const char *help);

/* One sample: name{k1="v1",...} value. The labels are (key, value) string pairs ending with a NULL
 * key; a NULL value is written as "". */
void nf_prom_sample(nf_prom *p, const char *name, double value, ...) __attribute__((sentinel));
void nf_prom_sample_int(nf_prom *p, const char *name, int64_t value, ...) __attribute__((sentinel));

/* "name_info{version=...} 1" with the family lines: the program's build. */
void nf_prom_build_info(nf_prom *p, const char *name, const char *program);

#define NF_PROM_MAX_BUCKETS 24

typedef struct nf_prom_hist {
    const double *bounds; /* upper bounds in seconds, ascending, at most NF_PROM_MAX_BUCKETS */
    size_t n_bounds;
    atomic_uint_fast64_t
        counts[NF_PROM_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    atomic_uint_fast64_t sum_ns;
} nf_prom_hist;

/* Latency buckets for HTTP handlers and refreshes: 100 us .. 10 s. */
extern const double nf_prom_latency_bounds[];
extern const size_t nf_prom_latency_n_bounds;

void nf_prom_hist_init(nf_prom_hist *h, const double *bounds, size_t n_bounds);
void nf_prom_hist_observe_ns(nf_prom_hist *h, uint64_t ns);
/* The _bucket, _sum and _count samples (no family lines) with the given labels (pairs, NULL key
 * last; "le" is added). */
void nf_prom_hist_write(nf_prom *p, const char *name, const nf_prom_hist *h, ...)
    __attribute__((sentinel));

#endif
