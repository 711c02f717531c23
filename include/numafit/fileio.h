/* fileio.h - small, bounded reads of sysfs/procfs/kubelet files.
 *
 * Every reader caps what it reads, so a garbage or endless file cannot exhaust memory, and
 * reports the path in its error.
 */
#ifndef NUMAFIT_FILEIO_H
#define NUMAFIT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"

/* Every reader opens with O_NONBLOCK and refuses what is not a regular file (-EINVAL, "is a
 * FIFO, not a regular file"), so a FIFO or device put in a file's place cannot block the caller
 * (the *_at attribute readers check the type only when a read returns nothing or fails, which is
 * what a FIFO or directory gives without a writer: an attribute costs no extra system call);
 * a read that goes on for longer than NF_READ_TIMEOUT_MS (a file that keeps growing) stops with
 * -ETIMEDOUT. The line and integer readers refuse a NUL byte inside the text (-EINVAL). */
#define NF_READ_TIMEOUT_MS 2000

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated heap buffer. */
int nf_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err);
/* The same with flags: NF_READ_NOFOLLOW refuses a symbolic link as the last component (-ELOOP,
 * for files a program writes itself, such as kubelet's state); NF_READ_TEXT refuses a NUL byte
 * anywhere in the file (-EINVAL). */
#define NF_READ_NOFOLLOW 1
#define NF_READ_TEXT 2
int nf_read_file_flags(const char *path, size_t max, int flags, char **out, size_t *len,
                       nf_err *err);
/* Read a one-line file, trailing white space removed, into buf. */
int nf_read_line(const char *path, char *buf, size_t len, nf_err *err);
/* Read a file holding one integer (decimal, or 0x-prefixed hex); -EINVAL on junk, -ERANGE out
 * of [min, max]. */
int nf_read_int64(const char *path, int64_t min, int64_t max, int64_t *out, nf_err *err);
/* Parse the same form from a string. */
int nf_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* dirfd-relative readers for sysfs attributes (and small regular files): `name` is opened with
 * openat(dirfd, name) (AT_FDCWD works), so the kernel walks the few components of name instead of
 * the whole path again. A sysfs attribute is generated whole and is at most one page, so one
 * read() into a page-sized buffer gets all of it; only a file that fills the page is read on to
 * its end as the general readers do, which keeps their limits and results. Not for procfs or
 * pipes, where one short read() need not be the end. `dir` (may be NULL) only names the file in
 * messages, as nf_path_join(dir, name): they read exactly as those of the general readers. */
#define NF_ATTR_PAGE 4096
int nf_read_file_at(int dirfd, const char *dir, const char *name, size_t max, char **out,
                    size_t *len, nf_err *err);
int nf_read_line_at(int dirfd, const char *dir, const char *name, char *buf, size_t len,
                    nf_err *err);
int nf_read_int64_at(int dirfd, const char *dir, const char *name, int64_t min, int64_t max,
                     int64_t *out, nf_err *err);
/* readlinkat() with a NUL-terminated result: the target's length, or a negative errno
 * (-ENAMETOOLONG when it does not fit in len - 1 bytes). */
int nf_readlink_at(int dirfd, const char *name, char *buf, size_t len);
/* Write data to path atomically (temp file in the same directory + rename), as kubelet does. */
int nf_write_file_atomic(const char *path, const void *data, size_t len, nf_err *err);
/* path = a + "/" + b (+ "/" + c ...), NULL-terminated list; returns a heap string or NULL. */
char *nf_path_join(const char *first, ...) __attribute__((sentinel));

#endif
