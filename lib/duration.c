/* duration.c - "500ms", "30s", "1m30s", "24h" (see numafit/duration.h). */
#include "numafit/duration.h"

#include <ctype.h>
#include <string.h>

int nf_duration_parse_ms(const char *s, int64_t *out_ms, nf_err *err)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    if (!s || !*s)
        return nf_errf(err, -EINVAL, "duration is empty");
    const char *p = s;
    int64_t total = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return nf_errf(err, -EINVAL,
                           "duration \"%.64s\": expected a number (e.g. 500ms, 30s, 5m)", s);
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > (int64_t)1e12)
                return nf_errf(err, -ERANGE, "duration \"%.64s\": too large", s);
        }
        size_t i, k = sizeof(units) / sizeof(units[0]);
        for (i = 0; i < k; i++) {
            size_t ul = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, ul) == 0 && !isalpha((unsigned char)p[ul])) {
                p += ul;
                break;
            }
        }
        if (i == k)
            return nf_errf(err, -EINVAL,
                           "duration \"%.64s\": missing or unknown unit (ms, s, m, h)", s);
        total += n * units[i].ms;
        if (total > (int64_t)1e15)
            return nf_errf(err, -ERANGE, "duration \"%.64s\": too large", s);
    }
    *out_ms = total;
    return 0;
}
