/* test_fileio.c - bounded reads, integer files, atomic writes, path joining. */
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

static int setup(void **state)
{
    (void)state;
    tmpdir = nft_tmpdir("test-fileio");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return nft_tmpdir_free(tmpdir);
}

/* Writes data to tmpdir/name with stdio (not with the code under test); returns the path. */
static char *put(const char *name, const void *data, size_t len)
{
    char *path = nf_path_join(tmpdir, name, NULL);
    assert_non_null(path);
    nft_write_bytes(path, data, len);
    return path;
}

static void test_read_file(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    nf_err err = {{0}};

    char *p = put("small", "hello\n", 6);
    assert_int_equal(nf_read_file(p, 100, &out, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(out, "hello\n");
    free(out);
    /* exactly max bytes is fine, one more is not */
    assert_int_equal(nf_read_file(p, 6, &out, NULL, &err), 0);
    free(out);
    out = NULL;
    assert_int_equal(nf_read_file(p, 5, &out, &len, &err), -EFBIG);
    assert_null(out);
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "larger than 5 bytes"));
    free(p);

    /* an empty file is an empty string */
    p = put("empty", "", 0);
    assert_int_equal(nf_read_file(p, 10, &out, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);
    free(p);

    /* larger than the first buffer: grows, and the cap still holds */
    size_t big = 100000;
    char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + i % 26);
    p = put("big", data, big);
    assert_int_equal(nf_read_file(p, big, &out, &len, &err), 0);
    assert_int_equal(len, big);
    assert_memory_equal(out, data, big);
    assert_int_equal(out[big], '\0');
    free(out);
    out = NULL;
    assert_int_equal(nf_read_file(p, big - 1, &out, &len, &err), -EFBIG);
    assert_null(out);
    assert_int_equal(nf_read_file(p, 4096, &out, &len, &err), -EFBIG);
    assert_int_equal(nf_read_file(p, 4095, &out, &len, &err), -EFBIG);
    assert_int_equal(nf_read_file(p, 0, &out, &len, &err), -EFBIG);
    assert_null(out);
    free(data);
    free(p);

    /* exactly one buffer (4096) with max 4096 */
    data = calloc(1, 4096);
    assert_non_null(data);
    memset(data, 'x', 4096);
    p = put("page", data, 4096);
    assert_int_equal(nf_read_file(p, 4096, &out, &len, &err), 0);
    assert_int_equal(len, 4096);
    free(out);
    free(data);
    free(p);

    /* missing file and directory */
    p = nf_path_join(tmpdir, "no-such-file", NULL);
    assert_int_equal(nf_read_file(p, 100, &out, &len, &err), -ENOENT);
    assert_non_null(strstr(err.msg, p));
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(nf_read_file(p, 100, &out, &len, NULL), -ENOENT); /* err may be NULL */
    free(p);
    assert_int_equal(nf_read_file(tmpdir, 100, &out, &len, &err), -EISDIR);
    assert_non_null(strstr(err.msg, tmpdir));
}

static void test_read_line(void **state)
{
    (void)state;
    char buf[8];
    nf_err err = {{0}};
    char *p = put("line", "abc \t\n\n", 7);
    assert_int_equal(nf_read_line(p, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "abc");
    free(p);
    p = put("line7", "1234567\n", 8);
    assert_int_equal(nf_read_line(p, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "1234567");
    free(p);
    p = put("line8", "12345678", 8);
    assert_int_equal(nf_read_line(p, buf, sizeof(buf), &err), -EFBIG);
    assert_non_null(strstr(err.msg, p));
    free(p);
    p = put("blank", "\n", 1);
    assert_int_equal(nf_read_line(p, buf, sizeof(buf), &err), 0);
    assert_string_equal(buf, "");
    free(p);
}

static void int_is(const char *text, int64_t min, int64_t max, int64_t want)
{
    int64_t v = -99;
    nf_err err = {{0}};
    char *p = put("int", text, strlen(text));
    int rc = nf_read_int64(p, min, max, &v, &err);
    if (rc)
        fail_msg("\"%s\": rc %d (%s)", text, rc, err.msg);
    assert_int_equal(v, want);
    assert_int_equal(nf_parse_int64(text, min, max, &v), 0);
    assert_int_equal(v, want);
    free(p);
}

static void int_fails(const char *text, int64_t min, int64_t max, int want_rc, const char *msg)
{
    int64_t v = -99;
    nf_err err = {{0}};
    char *p = put("int", text, strlen(text));
    int rc = nf_read_int64(p, min, max, &v, &err);
    if (rc != want_rc)
        fail_msg("\"%s\": rc %d, want %d (%s)", text, rc, want_rc, err.msg);
    assert_int_equal(v, -99);
    assert_non_null(strstr(err.msg, p));
    if (!strstr(err.msg, msg))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, err.msg, msg);
    assert_int_equal(nf_parse_int64(text, min, max, &v), want_rc);
    assert_int_equal(v, -99);
    free(p);
}

static void test_read_int64(void **state)
{
    (void)state;
    int_is("42\n", 0, 100, 42);
    int_is("  7  \n", 0, 100, 7);
    int_is("-1\n", -1, 100, -1);
    int_is("0", 0, 0, 0);
    int_is("100", 0, 100, 100);
    int_is("0x1f\n", 0, 100, 31);
    int_is("0XFF", 0, 1000, 255);
    int_is("9223372036854775807", INT64_MIN, INT64_MAX, INT64_MAX);
    int_is("-9223372036854775808", INT64_MIN, INT64_MAX, INT64_MIN);

    int_fails("101", 0, 100, -ERANGE, "out of range [0, 100]");
    int_fails("-2", -1, 100, -ERANGE, "out of range");
    int_fails("9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, "out of range");
    int_fails("0xffffffffffffffffff", INT64_MIN, INT64_MAX, -ERANGE, "out of range");
    int_fails("", 0, 100, -EINVAL, "not a number");
    int_fails("\n", 0, 100, -EINVAL, "not a number");
    int_fails("abc", 0, 100, -EINVAL, "not a number: \"abc\"");
    int_fails("12abc", 0, 100, -EINVAL, "not a number");
    int_fails("1 2", 0, 100, -EINVAL, "not a number");
    int_fails("1.5", 0, 100, -EINVAL, "not a number");
    int_fails("0x", 0, 100, -EINVAL, "not a number");
    int_fails("0xg", 0, 100, -EINVAL, "not a number");
    int_fails("-", 0, 100, -EINVAL, "not a number");
    int_fails("+5", 0, 100, -EINVAL, "not a number");
    int_fails("--5", 0, 100, -EINVAL, "not a number");

    int64_t v = -99;
    nf_err err = {{0}};
    char *p = nf_path_join(tmpdir, "absent", NULL);
    assert_int_equal(nf_read_int64(p, 0, 10, &v, &err), -ENOENT);
    assert_non_null(strstr(err.msg, p));
    assert_int_equal(v, -99);
    free(p);
}

static void test_write_atomic(void **state)
{
    (void)state;
    nf_err err = {{0}};
    char *p = nf_path_join(tmpdir, "state", NULL);
    const char text[] = "{\"checksum\":1}\n";
    assert_int_equal(nf_write_file_atomic(p, text, strlen(text), &err), 0);
    char *out;
    size_t len;
    assert_int_equal(nf_read_file(p, 1024, &out, &len, &err), 0);
    assert_string_equal(out, text);
    free(out);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* replacing keeps no temp files behind, and binary data survives */
    const char bin[] = {0, 1, 2, '\n', (char)0xff};
    assert_int_equal(nf_write_file_atomic(p, bin, sizeof(bin), &err), 0);
    assert_int_equal(nf_read_file(p, 1024, &out, &len, &err), 0);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(out, bin, sizeof(bin));
    free(out);
    assert_int_equal(nf_write_file_atomic(p, "", 0, &err), 0);
    assert_int_equal(nf_read_file(p, 1024, &out, &len, &err), 0);
    assert_int_equal(len, 0);
    free(out);
    assert_int_equal(nft_sh("test $(ls -A '%s' | grep -c tmp) -eq 0", tmpdir), 0);
    free(p);

    /* a missing directory is an error naming the path */
    p = nf_path_join(tmpdir, "no-dir", "state", NULL);
    assert_int_equal(nf_write_file_atomic(p, "x", 1, &err), -ENOENT);
    assert_non_null(strstr(err.msg, p));
    free(p);
}

static void join_is(char *got, const char *want)
{
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* A FIFO where a file should be: refused at once with a clear error, never a blocked read (a
 * writer-less FIFO would block open() and read() forever without O_NONBLOCK). */
static void test_refuse_non_regular(void **state)
{
    (void)state;
    char *fifo = nf_path_join(tmpdir, "fifo", NULL);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *out = NULL, line[32];
    int64_t v;
    nf_err err = {{0}};
    assert_int_equal(nf_read_file(fifo, 100, &out, NULL, &err), -EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "is a FIFO, not a regular file"));
    assert_non_null(strstr(err.msg, fifo));
    assert_int_equal(nf_read_line(fifo, line, sizeof(line), &err), -EINVAL);
    assert_int_equal(nf_read_int64(fifo, 0, 10, &v, &err), -EINVAL);
    assert_int_equal(nf_read_file_at(AT_FDCWD, NULL, fifo, 100, &out, NULL, &err), -EINVAL);
    assert_int_equal(nf_read_int64_at(AT_FDCWD, NULL, fifo, 0, 10, &v, &err), -EINVAL);
    /* a directory is refused the same way */
    assert_int_equal(nf_read_file(tmpdir, 100, &out, NULL, &err), -EISDIR);
    assert_non_null(strstr(err.msg, "is a directory"));
    free(fifo);
}

/* "1\0002" in a sysfs counter must not read as 1; a NUL in a text file is an error */
static void test_refuse_nul(void **state)
{
    (void)state;
    char *p = put("nul", "1\0002\n", 4);
    int64_t v = -7;
    char line[32];
    nf_err err = {{0}};
    assert_int_equal(nf_read_int64(p, 0, 100, &v, &err), -EINVAL);
    assert_int_equal(v, -7);
    assert_non_null(strstr(err.msg, "contains a NUL byte"));
    assert_int_equal(nf_read_int64_at(AT_FDCWD, NULL, p, 0, 100, &v, &err), -EINVAL);
    assert_int_equal(nf_read_line(p, line, sizeof(line), &err), -EINVAL);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(nf_read_file_flags(p, 100, NF_READ_TEXT, &out, &len, &err), -EINVAL);
    assert_null(out);
    assert_int_equal(nf_read_file(p, 100, &out, &len, &err), 0); /* binary reads stay possible */
    assert_int_equal(len, 4);
    free(out);
    free(p);
}

static void test_nofollow(void **state)
{
    (void)state;
    char *p = put("target", "x\n", 2), *link = nf_path_join(tmpdir, "link", NULL);
    assert_int_equal(symlink(p, link), 0);
    char *out = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_read_file_flags(link, 100, NF_READ_NOFOLLOW, &out, NULL, &err), -ELOOP);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(nf_read_file_flags(link, 100, 0, &out, NULL, &err), 0);
    assert_string_equal(out, "x\n");
    free(out);
    free(link);
    free(p);
}

static void test_path_join(void **state)
{
    (void)state;
    join_is(nf_path_join("/sys", NULL), "/sys");
    join_is(nf_path_join("/sys", "devices", NULL), "/sys/devices");
    join_is(nf_path_join("/sys/", "devices", NULL), "/sys/devices");
    join_is(nf_path_join("/sys", "/devices", NULL), "/sys/devices");
    join_is(nf_path_join("/sys", "devices/system", "node", "node0", NULL),
            "/sys/devices/system/node/node0");
    join_is(nf_path_join("", "a", NULL), "a");
    join_is(nf_path_join("a", "", "b", NULL), "a/b");
    join_is(nf_path_join("/", "proc", NULL), "/proc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),  cmocka_unit_test(test_read_line),
        cmocka_unit_test(test_read_int64), cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_path_join),  cmocka_unit_test(test_refuse_non_regular),
        cmocka_unit_test(test_refuse_nul), cmocka_unit_test(test_nofollow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
