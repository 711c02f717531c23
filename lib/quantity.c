/* quantity.c - Kubernetes quantities, exactly, in milli-units (see numafit/quantity.h).
 *
 * Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." [digits] | "." digits
 *   suffix   ::= "" | m | k | M | G | T | P | E | Ki | Mi | Gi | Ti | Pi | Ei | (e|E) [+-] digits
 * The value is m * 2^bin * 10^exp10; a 128-bit intermediate keeps it exact, and anything that
 * does not fit int64 milli-units is an overflow error, not a wrapped number.
 */
#include "numafit/quantity.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_SIG_DIGITS 20 /* < 2^67; times 2^60 (Ei) still fits unsigned __int128 */

typedef unsigned __int128 u128;

static int parse_suffix(const char *p, int *bin, int *exp10, nf_err *err, const char *s)
{
    static const struct {
        const char *name;
        int bin, exp10;
    } suffixes[] = {
        {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0},
        {"Ei", 60, 0}, {"m", 0, -3},  {"k", 0, 3},   {"M", 0, 6},   {"G", 0, 9},
        {"T", 0, 12},  {"P", 0, 15},  {"E", 0, 18},  {"", 0, 0},
    };
    if ((*p == 'e' || *p == 'E') &&
        (isdigit((unsigned char)p[1]) ||
         ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char)p[2])))) {
        const char *q = p + 1;
        int sign = 1;
        if (*q == '+' || *q == '-')
            sign = *q++ == '-' ? -1 : 1;
        int e = 0;
        while (isdigit((unsigned char)*q)) {
            e = e * 10 + (*q++ - '0');
            if (e > 100)
                return nf_errf(err, -ERANGE, "quantity \"%.64s\": exponent out of range", s);
        }
        if (*q)
            return nf_errf(err, -EINVAL, "quantity \"%.64s\": junk after exponent", s);
        *bin = 0;
        *exp10 = sign * e;
        return 0;
    }
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcmp(p, suffixes[i].name) == 0) {
            *bin = suffixes[i].bin;
            *exp10 = suffixes[i].exp10;
            return 0;
        }
    }
    return nf_errf(err, -EINVAL, "quantity \"%.64s\": unknown suffix \"%.8s\"", s, p);
}

int nf_quantity_parse_milli(const char *s, int64_t *out_milli, nf_err *err)
{
    if (!s || !*s)
        return nf_errf(err, -EINVAL, "quantity is empty");
    const char *p = s;
    if (*p == '+')
        p++;
    else if (*p == '-')
        return nf_errf(err, -EINVAL, "quantity \"%.64s\": negative", s);

    u128 m = 0;
    int sig = 0, exp10 = 0, digits = 0;
    bool frac = false;
    for (;; p++) {
        if (*p == '.' && !frac) {
            frac = true;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        digits++;
        int d = *p - '0';
        if (sig == 0 && d == 0) { /* leading zero: no significance, only position */
            if (frac)
                exp10--;
            continue;
        }
        if (sig >= MAX_SIG_DIGITS) {
            if (d != 0)
                return nf_errf(err, -ERANGE, "quantity \"%.64s\": too many digits", s);
            if (!frac)
                exp10++; /* a trailing zero of the integer part scales */
            continue;
        }
        m = m * 10 + (u128)d;
        sig++;
        if (frac)
            exp10--;
    }
    if (digits == 0)
        return nf_errf(err, -EINVAL, "quantity \"%.64s\": no number", s);

    int bin = 0, sexp = 0;
    int rc = parse_suffix(p, &bin, &sexp, err, s);
    if (rc)
        return rc;
    exp10 += sexp + 3; /* milli-units */

    u128 v = m << bin; /* m < 10^20 < 2^67, bin <= 60: fits */
    const u128 limit = (u128)INT64_MAX;
    if (exp10 >= 0) {
        for (int i = 0; i < exp10 && v && v <= limit; i++)
            v *= 10; /* v <= 2^63 here, so no wrap */
    } else if (v) {
        u128 d = 1;
        int k = -exp10;
        if (k > 38) {
            v = 1; /* a positive amount far below one milli-unit rounds up to 1m */
        } else {
            for (int i = 0; i < k; i++)
                d *= 10;
            v = v / d + (v % d != 0); /* round up, as Quantity.MilliValue() does */
        }
    }
    if (v > limit)
        return nf_errf(err, -ERANGE, "quantity \"%.64s\": too large", s);
    *out_milli = (int64_t)v;
    return 0;
}

int nf_quantity_parse(const char *s, int64_t *out, nf_err *err)
{
    int64_t milli;
    int rc = nf_quantity_parse_milli(s, &milli, err);
    if (rc)
        return rc;
    *out = milli / 1000 + (milli % 1000 != 0);
    return 0;
}

const char *nf_quantity_format_bytes(int64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int u = -1;
    int64_t v = bytes;
    while (v != 0 && v % 1024 == 0 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%" PRId64, bytes);
    else
        snprintf(buf, len, "%" PRId64 "%s", v, units[u]);
    return buf;
}

const char *nf_hugepage_resource_name(uint64_t page_bytes, char *buf, size_t len)
{
    char q[32];
    snprintf(buf, len, "hugepages-%s", nf_quantity_format_bytes((int64_t)page_bytes, q, sizeof(q)));
    return buf;
}
