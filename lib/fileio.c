/* fileio.c - bounded file reads (see numafit/fileio.h). */
#include "numafit/fileio.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "numafit/clock.h"

/* The file's name in messages: nf_path_join(dir, name), or name alone when dir is NULL. */
static const char *where(char buf[PATH_MAX], const char *dir, const char *name)
{
    if (!dir)
        return name;
    size_t n = strlen(dir);
    snprintf(buf, PATH_MAX, "%s%s%s", dir, n && dir[n - 1] != '/' && *name != '/' ? "/" : "", name);
    return buf;
}

static int fail_errno(nf_err *err, int e, const char *dir, const char *name)
{
    char buf[PATH_MAX];
    if (e == ELOOP)
        return nf_errf(err, -e, "%s: is a symbolic link (refused)", where(buf, dir, name));
    return nf_errf(err, -e, "%s: %s", where(buf, dir, name), strerror(e));
}

static const char *file_kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* Refuse what is not a regular file (sysfs and procfs attributes are regular files). 0, or a
 * negative errno with err filled. */
static int check_regular(int fd, const char *dir, const char *name, nf_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail_errno(err, errno, dir, name);
    if (S_ISREG(st.st_mode))
        return 0;
    char buf[PATH_MAX];
    return nf_errf(err, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
                   "%s: is %s, not a regular file (refused)", where(buf, dir, name),
                   file_kind(st.st_mode));
}

/* Open for reading without ever blocking: O_NONBLOCK, so that a FIFO (or a device) put where a
 * file should be cannot stall the caller in open() or read(). The fd, or a negative errno with
 * err filled. */
static int open_nonblock(int dirfd, const char *dir, const char *name, int flags, nf_err *err)
{
    int fd = openat(dirfd, name,
                    O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
                        ((flags & NF_READ_NOFOLLOW) ? O_NOFOLLOW : 0));
    return fd < 0 ? fail_errno(err, errno, dir, name) : fd;
}

/* open_nonblock, then refuse anything but a regular file. */
static int open_input(int dirfd, const char *dir, const char *name, int flags, nf_err *err)
{
    int fd = open_nonblock(dirfd, dir, name, flags, err);
    if (fd < 0)
        return fd;
    int rc = check_regular(fd, dir, name, err);
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

/* The general reader: read(2) until end of file (at most max bytes, within NF_READ_TIMEOUT_MS). */
static int read_all(int dirfd, const char *dir, const char *name, size_t max, int flags, char **out,
                    size_t *len, nf_err *err)
{
    char wbuf[PATH_MAX];
    int fd = open_input(dirfd, dir, name, flags, err);
    if (fd < 0)
        return fd;
    int64_t deadline = nf_mono_ms() + NF_READ_TIMEOUT_MS;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return nf_errf(err, -ENOMEM, "%s: out of memory", where(wbuf, dir, name));
    }
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = nf_errf(err, -EFBIG, "%s: larger than %zu bytes", where(wbuf, dir, name), max);
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                rc = nf_errf(err, -ENOMEM, "%s: out of memory", where(wbuf, dir, name));
                break;
            }
            buf = nb;
            cap *= 2;
        }
        if (nf_mono_ms() > deadline) { /* a file that keeps growing, or a stalling filesystem */
            rc = nf_errf(err, -ETIMEDOUT, "%s: reading took longer than %d ms",
                         where(wbuf, dir, name), NF_READ_TIMEOUT_MS);
            break;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fail_errno(err, errno, dir, name);
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
        return nf_errf(err, -EFBIG, "%s: larger than %zu bytes", where(wbuf, dir, name), max);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

/* One read() into page (NF_ATTR_PAGE bytes + NUL). 0 with *n bytes, 1 when the page filled (the
 * file may go on: the caller reads it with read_all), or a negative errno with err filled. */
static int read_page_at(int dirfd, const char *dir, const char *name, char *page, size_t *n,
                        nf_err *err)
{
    int fd = open_nonblock(dirfd, dir, name, 0, err);
    if (fd < 0)
        return fd;
    ssize_t r;
    do
        r = read(fd, page, NF_ATTR_PAGE);
    while (r < 0 && errno == EINTR);
    int e = errno;
    /* the type is checked only when the read says something is off (nothing, or an error: a
     * FIFO, a directory), so an attribute costs no extra system call; a full page goes on to
     * read_all, which checks it */
    int rc = r <= 0 ? check_regular(fd, dir, name, err) : 0;
    close(fd);
    if (rc)
        return rc;
    if (r < 0)
        return fail_errno(err, e, dir, name);
    if (r == NF_ATTR_PAGE)
        return 1;
    page[r] = '\0';
    *n = (size_t)r;
    return 0;
}

int nf_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err)
{
    return read_all(AT_FDCWD, NULL, path, max, 0, out, len, err);
}

int nf_read_file_flags(const char *path, size_t max, int flags, char **out, size_t *len,
                       nf_err *err)
{
    char *buf;
    size_t n;
    int rc = read_all(AT_FDCWD, NULL, path, max, flags, &buf, &n, err);
    if (rc)
        return rc;
    if ((flags & NF_READ_TEXT) && memchr(buf, '\0', n)) {
        free(buf);
        return nf_errf(err, -EINVAL, "%s: contains a NUL byte (not a text file)", path);
    }
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int nf_read_file_at(int dirfd, const char *dir, const char *name, size_t max, char **out,
                    size_t *len, nf_err *err)
{
    char page[NF_ATTR_PAGE + 1];
    size_t n;
    int rc = read_page_at(dirfd, dir, name, page, &n, err);
    if (rc == 1)
        return read_all(dirfd, dir, name, max, 0, out, len, err);
    if (rc)
        return rc;
    char wbuf[PATH_MAX];
    if (n > max)
        return nf_errf(err, -EFBIG, "%s: larger than %zu bytes", where(wbuf, dir, name), max);
    char *buf = malloc(n + 1);
    if (!buf)
        return nf_errf(err, -ENOMEM, "%s: out of memory", where(wbuf, dir, name));
    memcpy(buf, page, n + 1);
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

/* text (n bytes, NUL-terminated, writable) without trailing white space -> buf */
static int take_line(char *text, size_t n, char *buf, size_t len, const char *dir, const char *name,
                     nf_err *err)
{
    if (memchr(text, '\0', n)) { /* "1\0002" must not read as 1 */
        char wbuf[PATH_MAX];
        return nf_errf(err, -EINVAL, "%s: contains a NUL byte", where(wbuf, dir, name));
    }
    while (n && isspace((unsigned char)text[n - 1]))
        text[--n] = '\0';
    if (n >= len) {
        char wbuf[PATH_MAX];
        return nf_errf(err, -EFBIG, "%s: line longer than %zu bytes", where(wbuf, dir, name),
                       len - 1);
    }
    memcpy(buf, text, n + 1);
    return 0;
}

#define MAX_LINE_FILE (64 * 1024)

static int read_line_all(int dirfd, const char *dir, const char *name, char *buf, size_t len,
                         nf_err *err)
{
    char *text;
    size_t n;
    int rc = read_all(dirfd, dir, name, MAX_LINE_FILE, 0, &text, &n, err);
    if (rc)
        return rc;
    rc = take_line(text, n, buf, len, dir, name, err);
    free(text);
    return rc;
}

int nf_read_line(const char *path, char *buf, size_t len, nf_err *err)
{
    return read_line_all(AT_FDCWD, NULL, path, buf, len, err);
}

int nf_read_line_at(int dirfd, const char *dir, const char *name, char *buf, size_t len,
                    nf_err *err)
{
    char page[NF_ATTR_PAGE + 1];
    size_t n;
    int rc = read_page_at(dirfd, dir, name, page, &n, err);
    if (rc == 1)
        return read_line_all(dirfd, dir, name, buf, len, err);
    if (rc)
        return rc;
    return take_line(page, n, buf, len, dir, name, err);
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

static int take_int64(const char *buf, int64_t min, int64_t max, int64_t *out, const char *dir,
                      const char *name, nf_err *err)
{
    int rc = nf_parse_int64(buf, min, max, out);
    char wbuf[PATH_MAX];
    if (rc == -EINVAL)
        return nf_errf(err, rc, "%s: not a number: \"%.40s\"", where(wbuf, dir, name), buf);
    if (rc == -ERANGE)
        return nf_errf(err, rc, "%s: %.40s is out of range [%lld, %lld]", where(wbuf, dir, name),
                       buf, (long long)min, (long long)max);
    return 0;
}

int nf_read_int64(const char *path, int64_t min, int64_t max, int64_t *out, nf_err *err)
{
    char buf[128];
    int rc = nf_read_line(path, buf, sizeof(buf), err);
    return rc ? rc : take_int64(buf, min, max, out, NULL, path, err);
}

int nf_read_int64_at(int dirfd, const char *dir, const char *name, int64_t min, int64_t max,
                     int64_t *out, nf_err *err)
{
    char buf[128];
    int rc = nf_read_line_at(dirfd, dir, name, buf, sizeof(buf), err);
    return rc ? rc : take_int64(buf, min, max, out, dir, name, err);
}

int nf_readlink_at(int dirfd, const char *name, char *buf, size_t len)
{
    if (len == 0)
        return -ENAMETOOLONG;
    ssize_t n = readlinkat(dirfd, name, buf, len);
    if (n < 0)
        return -errno;
    if ((size_t)n >= len)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    return (int)n;
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
