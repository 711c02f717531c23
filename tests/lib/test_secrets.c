/* Files re-read on change (numafit/secret_file.h) and bearer tokens from a file
 * (numafit/auth_tokens.h): change detection, the last good content kept, trimming, token lines,
 * revocation, header forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numafit/auth_tokens.h"
#include "numafit/secret_file.h"
#include "testutil.h"

/* Replace path by rename, as kubelet's volume writer does. */
static void swap_in(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    nft_write(tmp, text);
    assert_int_equal(rename(tmp, path), 0);
}

static void secret_file_reads_on_change_only(void **state)
{
    (void)state;
    char *dir = nft_tmpdir("secret");
    const char *path = nft_path(dir, "token");
    nft_write(path, "abc \n");
    nf_secret_file f;
    nf_err err = {{0}};
    assert_int_equal(nf_secret_file_init(&f, path, 1024, NF_SECRET_TRIM), 0);
    assert_int_equal(nf_secret_file_refresh(&f, &err), 1);
    assert_string_equal(f.data, "abc");
    assert_int_equal(f.len, 3);
    assert_int_equal(nf_secret_file_refresh(&f, &err), 0); /* same file: not read again */
    swap_in(path, "abc\n");                                /* new inode, same token */
    assert_int_equal(nf_secret_file_refresh(&f, &err), 0);
    swap_in(path, "xyz");
    assert_int_equal(nf_secret_file_refresh(&f, &err), 1);
    assert_string_equal(f.data, "xyz");
    /* gone: an error naming it, the last good content stays */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(nf_secret_file_refresh(&f, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "token"));
    assert_string_equal(f.data, "xyz");
    /* too big: refused, content kept */
    char big[2048];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    nft_write(path, big);
    assert_true(nf_secret_file_refresh(&f, &err) < 0);
    assert_string_equal(f.data, "xyz");
    nf_secret_file_free(&f);
    assert_null(f.data);
    nft_tmpdir_free(dir);
}

static void tokens_lines_and_header_forms(void **state)
{
    (void)state;
    char *dir = nft_tmpdir("tokens");
    const char *path = nft_path(dir, "tokens");
    nft_write(path, "# scrapers\n  alpha-1  \n\r\n\tbeta-2\r\n# gamma-3\n");
    nf_auth_tokens *a = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_auth_tokens_new(path, &a, &err), 0);
    assert_true(nf_auth_tokens_check(a, "Bearer alpha-1"));
    assert_true(nf_auth_tokens_check(a, "bearer beta-2"));
    assert_true(nf_auth_tokens_check(a, "Bearer  beta-2 "));
    assert_false(nf_auth_tokens_check(a, "Bearer gamma-3")); /* a comment */
    assert_false(nf_auth_tokens_check(a, "Bearer # gamma-3"));
    assert_false(nf_auth_tokens_check(a, "Bearer alpha-"));
    assert_false(nf_auth_tokens_check(a, "Bearer alpha-12"));
    assert_false(nf_auth_tokens_check(a, "Bearer "));
    assert_false(nf_auth_tokens_check(a, "Basic alpha-1"));
    assert_false(nf_auth_tokens_check(a, "alpha-1"));
    assert_false(nf_auth_tokens_check(a, NULL));
    nf_auth_tokens_free(a);
    nft_tmpdir_free(dir);
}

static void tokens_rotate_and_refuse_empty(void **state)
{
    (void)state;
    char *dir = nft_tmpdir("tokens");
    const char *path = nft_path(dir, "tokens");
    nf_auth_tokens *a = NULL;
    nf_err err = {{0}};
    nft_write(path, "# none yet\n\n");
    assert_int_equal(nf_auth_tokens_new(path, &a, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no token"));
    assert_int_equal(nf_auth_tokens_new(nft_path(dir, "missing"), &a, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "missing"));

    nft_write(path, "old\n");
    assert_int_equal(nf_auth_tokens_new(path, &a, &err), 0);
    swap_in(path, "new\n");
    assert_true(nf_auth_tokens_check(a, "Bearer old")); /* checked at most once a second */
    int64_t t0 = nft_now_ms();
    while (nf_auth_tokens_check(a, "Bearer old") && nft_now_ms() - t0 < 3000)
        usleep(50000);
    assert_false(nf_auth_tokens_check(a, "Bearer old"));
    assert_true(nf_auth_tokens_check(a, "Bearer new"));
    /* unreadable: the tokens read before stay */
    assert_int_equal(unlink(path), 0);
    usleep(1100000);
    assert_true(nf_auth_tokens_check(a, "Bearer new"));
    /* emptied: nothing is accepted any more (revoke everything) */
    nft_write(path, "\n");
    usleep(1100000);
    assert_false(nf_auth_tokens_check(a, "Bearer new"));
    nf_auth_tokens_free(a);
    nft_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_file_reads_on_change_only),
        cmocka_unit_test(tokens_lines_and_header_forms),
        cmocka_unit_test(tokens_rotate_and_refuse_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
