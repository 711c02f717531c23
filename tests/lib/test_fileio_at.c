/* test_fileio_at.c - the dirfd-relative readers (nf_read_*_at, nf_readlink_at): the same results
 * and messages as the path readers, one read() for a small file, files longer than a page read
 * to their end. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "numafit/fileio.h"
#include "testutil.h"

static char *tmpdir;
static int dfd = -1;

static int setup(void **state)
{
    (void)state;
    tmpdir = nft_tmpdir("test-fileio-at");
    dfd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return dfd < 0;
}

static int teardown(void **state)
{
    (void)state;
    close(dfd);
    return nft_tmpdir_free(tmpdir);
}

static void put(const char *name, const char *text)
{
    nft_write(nft_path(tmpdir, name), text);
}

/* a file of n copies of c, then tail */
static void put_long(const char *name, size_t n, char c, const char *tail)
{
    size_t tl = strlen(tail);
    char *buf = malloc(n + tl);
    assert_non_null(buf);
    memset(buf, c, n);
    memcpy(buf + n, tail, tl);
    nft_write_bytes(nft_path(tmpdir, name), buf, n + tl);
    free(buf);
}

static void test_line_and_int(void **state)
{
    (void)state;
    nf_err err = {{0}};
    char buf[64];
    put("vendor", "0x8086\n");
    assert_int_equal(nf_read_line_at(dfd, tmpdir, "vendor", buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "0x8086");
    int64_t v = 0;
    assert_int_equal(nf_read_int64_at(dfd, tmpdir, "vendor", 0, 0xffff, &v, &err), 0);
    assert_int_equal(v, 0x8086);

    /* a name with a directory part, relative to dirfd */
    assert_int_equal(nft_mkdirs(nft_path(tmpdir, "node0/hugepages-2048kB")), 0);
    put("node0/hugepages-2048kB/nr_hugepages", "  512 \n\n");
    assert_int_equal(
        nf_read_int64_at(dfd, tmpdir, "node0/hugepages-2048kB/nr_hugepages", 0, 1000, &v, &err), 0);
    assert_int_equal(v, 512);

    /* AT_FDCWD with a full path and no dir: as nf_read_int64 */
    assert_int_equal(
        nf_read_int64_at(AT_FDCWD, NULL, nft_path(tmpdir, "vendor"), 0, 0xffff, &v, &err), 0);
    assert_int_equal(v, 0x8086);
}

/* every failure reads as the path reader's, with dir + "/" + name as the path */
static void test_messages_as_path_readers(void **state)
{
    (void)state;
    put("junk", "lots\n");
    put("big", "99999999999999999999999\n");
    put("neg", "-5\n");
    static const char *const names[] = {"junk", "big", "neg", "missing"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        nf_err e1 = {{0}}, e2 = {{0}};
        int64_t v1 = 7, v2 = 7;
        const char *full = nft_path(tmpdir, names[i]);
        int r1 = nf_read_int64(full, 0, 100, &v1, &e1);
        int r2 = nf_read_int64_at(dfd, tmpdir, names[i], 0, 100, &v2, &e2);
        assert_true(r1 < 0);
        assert_int_equal(r2, r1);
        assert_string_equal(e2.msg, e1.msg);
        assert_non_null(strstr(e2.msg, full));
        assert_int_equal(v2, 7); /* untouched on failure */
    }
    nf_err err = {{0}};
    int64_t v;
    assert_int_equal(nf_read_int64_at(dfd, tmpdir, "missing", 0, 1, &v, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "No such file"));
    /* a dir with a trailing slash gets no second one */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/", tmpdir);
    assert_int_equal(nf_read_int64_at(dfd, dir, "junk", 0, 1, &v, &err), -EINVAL);
    assert_non_null(strstr(err.msg, nft_path(tmpdir, "junk")));
    /* err may be NULL */
    assert_int_equal(nf_read_int64_at(dfd, NULL, "junk", 0, 1, &v, NULL), -EINVAL);
}

/* Files that fill the page are read on to their end: nothing past the first page is missed. */
static void test_longer_than_a_page(void **state)
{
    (void)state;
    nf_err e1 = {{0}}, e2 = {{0}};
    char buf[128];
    int64_t v = 0;
    /* "7" + blanks across the page boundary: still 7 */
    char *text = malloc(NF_ATTR_PAGE * 2 + 2);
    assert_non_null(text);
    text[0] = '7';
    memset(text + 1, ' ', NF_ATTR_PAGE * 2);
    text[NF_ATTR_PAGE * 2 + 1] = '\0';
    put("blank-tail", text);
    assert_int_equal(nf_read_int64_at(dfd, tmpdir, "blank-tail", 0, 10, &v, &e2), 0);
    assert_int_equal(v, 7);
    /* ... but junk after the first page is seen */
    text[NF_ATTR_PAGE + 10] = 'x';
    put("junk-tail", text);
    free(text);
    char line1[128], line2[128];
    int r1 = nf_read_line(nft_path(tmpdir, "junk-tail"), line1, sizeof(line1), &e1);
    int r2 = nf_read_line_at(dfd, tmpdir, "junk-tail", line2, sizeof(line2), &e2);
    assert_int_equal(r1, -EFBIG);
    assert_int_equal(r2, -EFBIG);
    assert_string_equal(e2.msg, e1.msg);
    assert_non_null(strstr(e2.msg, "line longer than 127 bytes"));

    /* exactly one page, and one byte more: the whole file either way */
    for (size_t n = NF_ATTR_PAGE - 1; n <= NF_ATTR_PAGE + 1; n++) {
        put_long("page", n, 'a', "");
        char *out = NULL;
        size_t len = 0;
        assert_int_equal(nf_read_file_at(dfd, tmpdir, "page", 1 << 20, &out, &len, &e2), 0);
        assert_int_equal(len, n);
        assert_int_equal(strlen(out), n);
        free(out);
        /* max below the size: -EFBIG as nf_read_file */
        out = NULL;
        int p1 = nf_read_file(nft_path(tmpdir, "page"), 100, &out, NULL, &e1);
        assert_null(out);
        int p2 = nf_read_file_at(dfd, tmpdir, "page", 100, &out, NULL, &e2);
        assert_null(out);
        assert_int_equal(p1, -EFBIG);
        assert_int_equal(p2, -EFBIG);
        assert_string_equal(e2.msg, e1.msg);
    }
    /* a long file (3 pages + a bit) is read whole */
    put_long("long", 3 * NF_ATTR_PAGE + 17, 'b', "\n");
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(nf_read_file_at(dfd, tmpdir, "long", 1 << 20, &out, &len, &e2), 0);
    assert_int_equal(len, 3 * NF_ATTR_PAGE + 18);
    assert_int_equal(out[len - 1], '\n');
    free(out);
    assert_int_equal(nf_read_line_at(dfd, tmpdir, "long", buf, sizeof(buf), &e2), -EFBIG);
}

static void test_read_file_at(void **state)
{
    (void)state;
    nf_err err = {{0}};
    static const char meminfo[] = "Node 0 MemTotal:  100 kB\nNode 0 MemFree:   50 kB\n";
    put("meminfo", meminfo);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(nf_read_file_at(dfd, tmpdir, "meminfo", 1024, &out, &len, &err), 0);
    assert_int_equal(len, sizeof(meminfo) - 1);
    assert_string_equal(out, meminfo);
    free(out);
    out = NULL;
    assert_int_equal(nf_read_file_at(dfd, tmpdir, "meminfo", 10, &out, &len, &err), -EFBIG);
    assert_null(out);
    assert_non_null(strstr(err.msg, "larger than 10 bytes"));
    put("empty", "");
    assert_int_equal(nf_read_file_at(dfd, tmpdir, "empty", 10, &out, NULL, &err), 0);
    assert_string_equal(out, "");
    free(out);
    /* a directory cannot be read */
    assert_int_equal(nft_mkdirs(nft_path(tmpdir, "adir")), 0);
    assert_int_equal(nf_read_file_at(dfd, tmpdir, "adir", 10, &out, NULL, &err), -EISDIR);
    assert_non_null(strstr(err.msg, nft_path(tmpdir, "adir")));
}

static void test_readlink_at(void **state)
{
    (void)state;
    assert_int_equal(symlink("../../../bus/pci/drivers/vfio-pci", nft_path(tmpdir, "driver")), 0);
    assert_int_equal(symlink("../0000:18:01.3", nft_path(tmpdir, "virtfn3")), 0); /* dangling */
    put("plain", "x\n");
    char buf[256];
    assert_int_equal(nf_readlink_at(dfd, "driver", buf, sizeof(buf)), 33);
    assert_string_equal(buf, "../../../bus/pci/drivers/vfio-pci");
    assert_int_equal(nf_readlink_at(dfd, "virtfn3", buf, sizeof(buf)), 15);
    assert_string_equal(buf, "../0000:18:01.3");
    assert_int_equal(nf_readlink_at(dfd, "nothere", buf, sizeof(buf)), -ENOENT);
    assert_int_equal(nf_readlink_at(dfd, "plain", buf, sizeof(buf)), -EINVAL);
    /* a target that does not fit is refused, not cut */
    assert_int_equal(nf_readlink_at(dfd, "driver", buf, 33), -ENAMETOOLONG);
    assert_int_equal(nf_readlink_at(dfd, "driver", buf, 34), 33);
    assert_int_equal(nf_readlink_at(dfd, "driver", buf, 0), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_and_int),       cmocka_unit_test(test_messages_as_path_readers),
        cmocka_unit_test(test_longer_than_a_page), cmocka_unit_test(test_read_file_at),
        cmocka_unit_test(test_readlink_at),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
