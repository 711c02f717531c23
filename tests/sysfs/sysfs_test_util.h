/* sysfs_test_util.h - a fixture machine for the sysfs reader tests: a mkfixture.py tree in a
 * temporary directory, opened with nf_machine_open() and read once (header-only). */
#ifndef NUMAFIT_SYSFS_TEST_UTIL_H
#define NUMAFIT_SYSFS_TEST_UTIL_H

#include "sysfs_machine.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    char sys[512], proc[512]; /* <dir>/sys, <dir>/proc */
    nf_machine *m;
    nf_topology t;
} fx;

/* mkfixture.py PRESET [flag], opened and read into f->t. */
static inline void fx_open(fx *f, const char *preset, const char *flag)
{
    memset(f, 0, sizeof(*f));
    f->dir = nft_tmpdir("sysfs");
    assert_int_equal(nft_mkfixture(preset, f->dir, flag), 0);
    snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
    snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
    nf_err err = {{0}};
    int rc = nf_machine_open(f->sys, f->proc, &f->m, &err);
    if (rc)
        fail_msg("nf_machine_open(%s): %s", preset, err.msg);
    assert_int_equal(nf_machine_read(f->m, &f->t), 0);
}

static inline void fx_close(fx *f)
{
    nf_topology_free(&f->t);
    nf_machine_free(f->m);
    assert_int_equal(nft_tmpdir_free(f->dir), 0);
}

#endif
