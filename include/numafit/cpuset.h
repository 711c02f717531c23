/* cpuset.h - sets of CPU ids and their Linux list form ("0-3,8,10-11").
 *
 * An nf_cpuset grows as needed; the zero value `{0}` is a valid empty set. Ids above
 * NF_CPU_MAX are rejected as absurd rather than allocated.
 */
#ifndef NUMAFIT_CPUSET_H
#define NUMAFIT_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"

#define NF_CPU_MAX 65535 /* far above any kernel's NR_CPUS (8192) */

typedef struct nf_cpuset {
    uint64_t *words;
    size_t nwords;
} nf_cpuset;

void nf_cpuset_free(nf_cpuset *s);
void nf_cpuset_clear(nf_cpuset *s);
int nf_cpuset_copy(nf_cpuset *dst, const nf_cpuset *src);
int nf_cpuset_set(nf_cpuset *s, unsigned cpu);
int nf_cpuset_set_range(nf_cpuset *s, unsigned first, unsigned last);
bool nf_cpuset_test(const nf_cpuset *s, unsigned cpu);
size_t nf_cpuset_count(const nf_cpuset *s);
bool nf_cpuset_empty(const nf_cpuset *s);
bool nf_cpuset_equal(const nf_cpuset *a, const nf_cpuset *b);
/* Next member >= from, or -1. */
int nf_cpuset_next(const nf_cpuset *s, unsigned from);

/* dst = a & b, a | b, a & ~b. dst may alias a or b. */
int nf_cpuset_and(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b);
int nf_cpuset_or(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b);
int nf_cpuset_andnot(nf_cpuset *dst, const nf_cpuset *a, const nf_cpuset *b);

/* Parse a list ("0-3,8", "", "\n"); surrounding white space is ignored. On error *out is
 * left empty and err says which part was wrong. */
int nf_cpuset_parse(const char *list, nf_cpuset *out, nf_err *err);
/* Parse the comma-separated 32-bit hex mask form of sysfs cpumap files ("00000000,0000ff0f"). */
int nf_cpuset_parse_mask(const char *mask, nf_cpuset *out, nf_err *err);
/* Format as a list; the caller frees *out. The empty set formats as "". */
int nf_cpuset_format(const nf_cpuset *s, char **out);

#endif
