/* log.h - logfmt logging to stderr: `ts=... level=info msg="..." key=value ...`. */
#ifndef NUMAFIT_LOG_H
#define NUMAFIT_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nf_log_level {
    NF_LOG_DEBUG = 0,
    NF_LOG_INFO,
    NF_LOG_WARN,
    NF_LOG_ERROR,
} nf_log_level;

/* Parse "debug|info|warn|error"; returns 0 or -EINVAL. */
int nf_log_level_parse(const char *s, nf_log_level *out);
void nf_log_set_level(nf_log_level level);

/* kv is printf-style and must already be logfmt (`key=value key2="quoted value"`), or NULL. */
void nf_log(nf_log_level level, const char *msg, const char *kv, ...)
    __attribute__((format(printf, 3, 4)));

/* s as the inside of a logfmt quoted value (`key="%s"`): backslash and double quote escaped,
 * newlines as spaces, cut to fit len bytes (NUL-terminated; nothing when len is 0). Returns buf. */
const char *nf_log_quote(const char *s, char *buf, size_t len);

/* At most one line per interval for something that can repeat a thousand times a second (a limit
 * hit, a refused handshake): nf_log_limit_pass, told that `events` happened, says whether to
 * log them now and how many events were left out since the last line (*unlogged). Zero-
 * initialised; thread-safe. */
typedef struct nf_log_limit {
    _Atomic int64_t logged_ms; /* CLOCK_MONOTONIC */
    atomic_uint unlogged;
} nf_log_limit;
bool nf_log_limit_pass(nf_log_limit *l, int64_t interval_ms, unsigned events, unsigned *unlogged);

#define nf_debug(msg, ...) nf_log(NF_LOG_DEBUG, msg, __VA_ARGS__)
#define nf_info(msg, ...) nf_log(NF_LOG_INFO, msg, __VA_ARGS__)
#define nf_warn(msg, ...) nf_log(NF_LOG_WARN, msg, __VA_ARGS__)
#define nf_error(msg, ...) nf_log(NF_LOG_ERROR, msg, __VA_ARGS__)

#endif
