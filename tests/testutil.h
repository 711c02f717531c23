/* testutil.h - helpers for every cmocka unit test (tests/testutil.c, linked by nf_unit_test()):
 * temporary directories, writing, reading and removing files, fixture trees from
 * tests/fixtures/mkfixture.py, a monotonic clock, and cpuset shorthands.
 *
 * Helpers whose failure means the test cannot go on fail the running test (cmocka's fail_msg)
 * and say what and where; those a test wants to assert on itself return 0 or a negative errno. */
#ifndef NUMAFIT_TESTS_TESTUTIL_H
#define NUMAFIT_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "numafit/cpuset.h"

/* A new empty directory nf-<tag>-XXXXXX under $TMPDIR, else /dev/shm (tmpfs: unpacking
 * thousands of small sysfs files there is 10x faster than on a disk), else /tmp. Heap string;
 * nft_tmpdir_free() removes and frees it. */
char *nft_tmpdir(const char *tag);
/* Remove dir's tree and free dir; 0 or the first negative errno of the removal. */
int nft_tmpdir_free(char *dir);
/* rm -rf: symbolic links are removed, never followed; a missing path is 0. */
int nft_rmtree(const char *path);
/* mkdir -p; 0 or a negative errno. */
int nft_mkdirs(const char *path);

/* dir + "/" + rel in one of 8 rotating static buffers (paths up to 4 KiB). */
const char *nft_path(const char *dir, const char *rel);
/* Write (create or truncate) path with stdio, not with the code under test; fails the test. */
void nft_write(const char *path, const char *text);
void nft_write_bytes(const char *path, const void *data, size_t len);
/* The whole file (at most 64 MiB) NUL-terminated on the heap; len may be NULL; fails the test. */
char *nft_read(const char *path, size_t *len);
/* Run a shell command built like printf; its system() status (0: success). */
int nft_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* python3 tests/fixtures/mkfixture.py PRESET DIR [FLAG]; 0 on success. */
int nft_mkfixture(const char *preset, const char *dir, const char *flag);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t nft_now_ms(void);

/* Parse a CPU list into s (which holds nothing yet); fails the test on a parse error. */
void nft_cpus(nf_cpuset *s, const char *list);
/* A set's list form in one of 8 rotating static buffers (255 characters). */
const char *nft_cpus_str(const nf_cpuset *s);
/* Fails the test, showing both lists, unless s formats as want. */
void nft_assert_cpus(const nf_cpuset *s, const char *want);

#endif
