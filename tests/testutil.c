/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "numafit/fileio.h"

char *nft_tmpdir(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    char *tpl = NULL;
    if (asprintf(&tpl, "%s/nf-%s-XXXXXX", tmp, tag) < 0)
        fail_msg("nft_tmpdir: out of memory");
    if (!mkdtemp(tpl))
        fail_msg("nft_tmpdir: mkdtemp %s: %s", tpl, strerror(errno));
    return tpl;
}

int nft_tmpdir_free(char *dir)
{
    int rc = dir ? nft_rmtree(dir) : 0;
    free(dir);
    return rc;
}

static int rm_first_err;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    if (rc && !rm_first_err) {
        rm_first_err = -errno;
        fprintf(stderr, "nft_rmtree: cannot remove %s: %s\n", path, strerror(errno));
    }
    return 0; /* go on: remove what can be removed */
}

int nft_rmtree(const char *path)
{
    struct stat st;
    if (!path || !*path || lstat(path, &st) != 0)
        return 0;
    rm_first_err = 0;
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return -errno;
    return rm_first_err;
}

int nft_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return -errno;
    return 0;
}

const char *nft_path(const char *dir, const char *rel)
{
    static char bufs[8][4096];
    static unsigned at;
    char *b = bufs[at++ % 8];
    if (snprintf(b, sizeof(bufs[0]), "%s/%s", dir, rel) >= (int)sizeof(bufs[0]))
        fail_msg("nft_path: %s/%s is too long", dir, rel);
    return b;
}

void nft_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("nft_write: open %s: %s", path, strerror(errno));
    size_t n = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || n != len)
        fail_msg("nft_write: write %s: %s", path, strerror(errno));
}

void nft_write(const char *path, const char *text)
{
    nft_write_bytes(path, text, strlen(text));
}

char *nft_read(const char *path, size_t *len)
{
    char *text = NULL;
    nf_err err = {{0}};
    if (nf_read_file(path, (size_t)64 << 20, &text, len, &err))
        fail_msg("nft_read: %s", err.msg);
    return text;
}

int nft_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "nft_sh: `%s` -> status %d\n", cmd, rc);
    free(cmd);
    return rc;
}

int nft_mkfixture(const char *preset, const char *dir, const char *flag)
{
    return nft_sh("python3 '%s/tests/fixtures/mkfixture.py' '%s' '%s' %s", NF_SOURCE_DIR, preset,
                  dir, flag ? flag : "");
}

int64_t nft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nft_cpus(nf_cpuset *s, const char *list)
{
    nf_err err = {{0}};
    int rc = nf_cpuset_parse(list, s, &err);
    if (rc)
        fail_msg("nft_cpus: \"%s\": %d %s", list, rc, err.msg);
}

const char *nft_cpus_str(const nf_cpuset *s)
{
    static char bufs[8][256];
    static unsigned at;
    char *txt = NULL;
    assert_int_equal(nf_cpuset_format(s, &txt), 0);
    char *b = bufs[at++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s", txt);
    free(txt);
    return b;
}

void nft_assert_cpus(const nf_cpuset *s, const char *want)
{
    char *got = NULL;
    assert_int_equal(nf_cpuset_format(s, &got), 0);
    if (strcmp(got, want) != 0) {
        char shown[512];
        snprintf(shown, sizeof(shown), "%s", got);
        free(got);
        fail_msg("cpus: got \"%s\", want \"%s\"", shown, want);
    }
    free(got);
}
