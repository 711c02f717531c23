/* log.c - logfmt lines on stderr (see numafit/log.h). */
#include "numafit/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "numafit/clock.h"

static nf_log_level min_level = NF_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

int nf_log_level_parse(const char *s, nf_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (nf_log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = NF_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

void nf_log_set_level(nf_log_level level)
{
    min_level = level;
}

const char *nf_log_quote(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    if (!len)
        return buf;
    const char *p = s ? s : "";
    for (; *p && n + 3 <= len; p++) {
        if (*p == '"' || *p == '\\')
            buf[n++] = '\\';
        buf[n++] = (unsigned char)*p < 0x20 ? ' ' : *p; /* no forged lines */
    }
    if (((unsigned char)*p & 0xC0) == 0x80) { /* cut inside a UTF-8 character: drop its start */
        while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0 && ((unsigned char)buf[n - 1] & 0x80))
            n--;
    }
    buf[n] = '\0';
    return buf;
}

/* Append s to line[*n..cap) with every control byte written as an escape (\n, \r, \t, \xNN):
 * a value that came from a request (a pod name, a path) can never start a forged line. */
static void append_escaped(char *line, int *n, int cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p && *n < cap - 4; p++) {
        if (*p >= 0x20 && *p != 0x7f) {
            line[(*n)++] = (char)*p;
            continue;
        }
        line[(*n)++] = '\\';
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            line[(*n)++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else {
            line[(*n)++] = 'x';
            line[(*n)++] = hex[*p >> 4];
            line[(*n)++] = hex[*p & 15];
        }
    }
}

void nf_log(nf_log_level level, const char *msg, const char *kv, ...)
{
    if (level < min_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level]);
    nf_log_quote(msg, line + n, sizeof(line) - (size_t)n - 3);
    n += (int)strlen(line + n);
    line[n++] = '"';
    if (kv && *kv && n < (int)sizeof(line) - 2) {
        char vals[sizeof(line)];
        va_list ap;
        va_start(ap, kv);
        int m = vsnprintf(vals, sizeof(vals), kv, ap);
        va_end(ap);
        if (m > 0) {
            line[n++] = ' ';
            append_escaped(line, &n, (int)sizeof(line) - 1, vals);
        }
    }
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}

bool nf_log_limit_pass(nf_log_limit *l, int64_t interval_ms, unsigned events, unsigned *unlogged)
{
    int64_t now = nf_mono_ms(), last = atomic_load(&l->logged_ms);
    if ((last && now - last < interval_ms) ||
        !atomic_compare_exchange_strong(&l->logged_ms, &last, now)) {
        atomic_fetch_add(&l->unlogged, events);
        return false;
    }
    *unlogged = atomic_exchange(&l->unlogged, 0);
    return true;
}
