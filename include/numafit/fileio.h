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

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated heap buffer. */
int nf_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err);
/* Read a one-line file, trailing white space removed, into buf. */
int nf_read_line(const char *path, char *buf, size_t len, nf_err *err);
/* Read a file holding one integer (decimal, or 0x-prefixed hex); -EINVAL on junk, -ERANGE out
 * of [min, max]. */
int nf_read_int64(const char *path, int64_t min, int64_t max, int64_t *out, nf_err *err);
/* Parse the same form from a string. */
int nf_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Write data to path atomically (temp file in the same directory + rename), as kubelet does. */
int nf_write_file_atomic(const char *path, const void *data, size_t len, nf_err *err);
/* path = a + "/" + b (+ "/" + c ...), NULL-terminated list; returns a heap string or NULL. */
char *nf_path_join(const char *first, ...) __attribute__((sentinel));

#endif
