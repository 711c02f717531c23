/* fileio.c - bounded file reads (see numafit/fileio.h). */
#include "numafit/fileio.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nf_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nf_errf(err, -errno, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return nf_errf(err, -ENOMEM, "%s: out of memory", path);
    }
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = nf_errf(err, -EFBIG, "%s: larger than %zu bytes", path, max);
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                rc = nf_errf(err, -ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = nf_errf(err, -errno, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (rc) {
        free(buf);
        close(fd);
        return rc;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return nf_errf(err, -EFBIG, "%s: larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int nf_read_line(const char *path, char *buf, size_t len, nf_err *err)
{
    char *text;
    size_t n;
    int rc = nf_read_file(path, 64 * 1024, &text, &n, err);
    if (rc)
        return rc;
    while (n && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    if (n >= len) {
        free(text);
        return nf_errf(err, -EFBIG, "%s: line longer than %zu bytes", path, len - 1);
    }
    memcpy(buf, text, n + 1);
    free(text);
    return 0;
}

int nf_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return -EINVAL;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16;
    else if (!isdigit((unsigned char)*s) && *s != '-')
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (end == s)
        return -EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int nf_read_int64(const char *path, int64_t min, int64_t max, int64_t *out, nf_err *err)
{
    char buf[128];
    int rc = nf_read_line(path, buf, sizeof(buf), err);
    if (rc)
        return rc;
    rc = nf_parse_int64(buf, min, max, out);
    if (rc == -EINVAL)
        return nf_errf(err, rc, "%s: not a number: \"%.40s\"", path, buf);
    if (rc == -ERANGE)
        return nf_errf(err, rc, "%s: %.40s is out of range [%lld, %lld]", path, buf, (long long)min,
                       (long long)max);
    return 0;
}

int nf_write_file_atomic(const char *path, const void *data, size_t len, nf_err *err)
{
    char *tmp;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return nf_errf(err, -ENOMEM, "%s: out of memory", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return nf_errf(err, -e, "%s: %s", path, strerror(e));
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return nf_errf(err, -e, "%s: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    fchmod(fd, 0644);
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return nf_errf(err, -e, "%s: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

char *nf_path_join(const char *first, ...)
{
    va_list ap;
    size_t len = strlen(first) + 1;
    va_start(ap, first);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *))
        len += strlen(p) + 1;
    va_end(ap);
    char *out = malloc(len);
    if (!out)
        return NULL;
    strcpy(out, first);
    va_start(ap, first);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        size_t n = strlen(out);
        if (n && out[n - 1] != '/' && *p != '/')
            strcat(out, "/");
        strcat(out, p);
    }
    va_end(ap);
    return out;
}
