/* secret_file.c - files read again when they change (see numafit/secret_file.h). */
#include "numafit/secret_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/fileio.h"

int nf_secret_file_init(nf_secret_file *f, const char *path, size_t max, unsigned flags)
{
    memset(f, 0, sizeof(*f));
    if (!(f->path = strdup(path)))
        return -ENOMEM;
    f->max = max;
    f->flags = flags;
    return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void drop(nf_secret_file *f)
{
    if (f->data)
        explicit_bzero(f->data, f->len);
    free(f->data);
    f->data = NULL;
    f->len = 0;
}

int nf_secret_file_refresh(nf_secret_file *f, nf_err *err)
{
    struct stat st;
    if (stat(f->path, &st) != 0)
        return nf_errf(err, -errno, "%s: %s", f->path, strerror(errno));
    if (f->data && same_file(&st, &f->st))
        return 0;
    char *text = NULL;
    size_t len = 0;
    int rc = nf_read_file(f->path, f->max, &text, &len, err);
    if (rc)
        return rc;
    if (f->flags & NF_SECRET_TRIM)
        while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
            text[--len] = '\0';
    bool changed = !f->data || f->len != len || memcmp(f->data, text, len) != 0;
    drop(f);
    f->data = text;
    f->len = len;
    f->st = st;
    return changed ? 1 : 0;
}

void nf_secret_file_free(nf_secret_file *f)
{
    drop(f);
    free(f->path);
    f->path = NULL;
}
