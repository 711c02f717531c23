/* sysfs_test_util.h - temp dirs and fixture trees for the sysfs reader tests (header-only). */
#ifndef NUMAFIT_SYSFS_TEST_UTIL_H
#define NUMAFIT_SYSFS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* rm -rf dir (symlinks are not followed) */
static inline void tu_rmtree(const char *dir)
{
    if (!dir || !*dir || strchr(dir, '\''))
        return;
    char *cmd;
    if (asprintf(&cmd, "rm -rf -- '%s'", dir) < 0)
        return;
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
}

/* A new empty directory under $TMPDIR, else /dev/shm (tmpfs: unpacking thousands of small sysfs
 * files there is 10x faster than on this disk), else /tmp; the caller tu_rmtree()s and frees
 * it. */
static inline char *tu_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    char *tpl;
    if (asprintf(&tpl, "%s/nf-sysfs-XXXXXX", tmp) < 0)
        return NULL;
    if (!mkdtemp(tpl)) {
        free(tpl);
        return NULL;
    }
    return tpl;
}

/* Run tests/fixtures/mkfixture.py PRESET DIR [flag]; 0 on success. */
static inline int tu_mkfixture(const char *preset, const char *dir, const char *flag)
{
    char *cmd;
    if (asprintf(&cmd, "python3 '%s/tests/fixtures/mkfixture.py' '%s' '%s' %s", NF_SOURCE_DIR,
                 preset, dir, flag ? flag : "") < 0)
        return -1;
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* dir + "/" + rel in a static buffer (one at a time) */
static inline const char *tu_path(const char *dir, const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
    return buf;
}

static inline void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#endif
