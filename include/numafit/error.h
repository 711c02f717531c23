/* error.h - error codes and messages shared by every numafit module.
 *
 * Functions return 0 on success or a negative errno-style code (-EINVAL, -ENOENT, -ERANGE,
 * -ENOMEM, -EIO, ...). Where a caller needs to tell a person *what* and *where*, the function
 * also takes an nf_err buffer and writes one line into it (file, field, value).
 */
#ifndef NUMAFIT_ERROR_H
#define NUMAFIT_ERROR_H

#include <errno.h>
#include <stddef.h>

#define NF_ERR_LEN 256

typedef struct nf_err {
    char msg[NF_ERR_LEN];
} nf_err;

/* Format a message into err (may be NULL) and return code, so that error paths read
 * `return nf_errf(err, -EINVAL, "cpu list %s: ...", s);`. */
int nf_errf(nf_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Human text for a numafit error code (a negative errno). */
const char *nf_strerror(int code);

#endif
