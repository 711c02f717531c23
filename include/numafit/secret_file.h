/* secret_file.h - a small file (bearer token, certificate, key, CA) kept in memory and read again
 * when it changes on disk.
 *
 * Kubernetes rotates these files (bound service-account tokens, cert-manager and kubelet
 * certificates) by swapping a symlink or renaming a new file over the old one, so "changed" is a
 * stat() that differs in device, inode, size or modification time. While the file cannot be
 * read, the last good content stays. Not thread-safe: its owner serialises the calls.
 */
#ifndef NUMAFIT_SECRET_FILE_H
#define NUMAFIT_SECRET_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "numafit/error.h"

#define NF_SECRET_TRIM 1 /* drop trailing white space (a token written with a final newline) */

typedef struct nf_secret_file {
    char *path;
    size_t max;
    unsigned flags;
    char *data; /* the last good content, NUL-terminated; NULL before the first read */
    size_t len;
    struct stat st; /* of the file data came from */
} nf_secret_file;

/* Copy path; read nothing yet. -ENOMEM. */
int nf_secret_file_init(nf_secret_file *f, const char *path, size_t max, unsigned flags);
/* Read the file when it is new or changed: 1 when data changed, 0 when the file is the same,
 * a negative errno when it cannot be stat()ed or read (data keeps the last good content and err
 * names the file). */
int nf_secret_file_refresh(nf_secret_file *f, nf_err *err);
/* Zero and free the content and the path. */
void nf_secret_file_free(nf_secret_file *f);

#endif
