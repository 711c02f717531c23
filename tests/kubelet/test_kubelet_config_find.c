/* test_kubelet_config_find.c - where kubelet's config is (flag, the kubelet process's cmdline in a
 * fake /proc tree, kubeadm's default) and the --config-dir drop-in merge, on real files. */
#include "kubelet_test_util.h"

#include <string.h>
#include <unistd.h>

#include "kubelet_config.h"
#include "kubelet_config_find.h"

#define HEAD "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"

typedef struct env {
    char *dir;
    char proc[4096], kdir[4096], cfg[4096], dropins[4096];
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    e->dir = nft_tmpdir("kcfind");
    snprintf(e->proc, sizeof(e->proc), "%s/proc", e->dir);
    snprintf(e->kdir, sizeof(e->kdir), "%s/var/lib/kubelet", e->dir);
    snprintf(e->cfg, sizeof(e->cfg), "%s/etc/kubernetes/kubelet.yaml", e->dir);
    snprintf(e->dropins, sizeof(e->dropins), "%s/etc/kubernetes/kubelet.conf.d", e->dir);
    assert_int_equal(nft_mkdirs(e->proc), 0);
    assert_int_equal(nft_mkdirs(e->kdir), 0);
    assert_int_equal(nft_mkdirs(e->dropins), 0);
    /* processes that are not kubelet, one of them with a --config */
    assert_int_equal(nft_mkdirs(nft_path(e->proc, "1")), 0);
    nft_write(nft_path(e->proc, "1/comm"), "systemd\n");
    nft_write_bytes(nft_path(e->proc, "1/cmdline"), "/sbin/init\0--config=/x\0", 23);
    assert_int_equal(nft_mkdirs(nft_path(e->proc, "self")), 0);
    nft_write(nft_path(e->proc, "self/comm"), "kubelet\n"); /* not a pid: ignored */
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    assert_int_equal(nft_tmpdir_free(e->dir), 0);
    free(e);
    return 0;
}

static void kubelet_proc(env *e, const char *pid, const char *argv, size_t len)
{
    char d[8192];
    snprintf(d, sizeof(d), "%s/%s", e->proc, pid);
    assert_int_equal(nft_mkdirs(d), 0);
    nft_write(nft_path(d, "comm"), "kubelet\n");
    nft_write_bytes(nft_path(d, "cmdline"), argv, len);
}

static void test_none(void **state)
{
    env *e = *state;
    nf_kubelet_config_where w;
    assert_int_equal(nf_kubelet_config_find(NULL, e->proc, e->kdir, &w), 0);
    assert_null(w.main);
    assert_null(w.dropin_dir);
    assert_null(w.origin);
    nf_kubelet_config_where_free(&w);
}

static void test_kubeadm_default(void **state)
{
    env *e = *state;
    nft_write(nft_path(e->kdir, "config.yaml"), HEAD "cpuManagerPolicy: static\n");
    nf_kubelet_config_where w;
    assert_int_equal(nf_kubelet_config_find(NULL, e->proc, e->kdir, &w), 0);
    assert_string_equal(w.main, nft_path(e->kdir, "config.yaml"));
    assert_null(w.dropin_dir);
    assert_string_equal(w.origin, "kubeadm default");
    nf_kubelet_config_where_free(&w);
}

static void test_process_and_flag_precedence(void **state)
{
    env *e = *state;
    nft_write(nft_path(e->kdir, "config.yaml"), HEAD);
    char argv[8192];
    /* "--config X" (two words) then "--config-dir=DIR"; an earlier --config is overridden */
    int n = snprintf(argv, sizeof(argv),
                     "/usr/bin/kubelet%c--config=/old%c--config%c%s%c--v=2%c"
                     "--config-dir=%s%c",
                     0, 0, 0, e->cfg, 0, 0, e->dropins, 0);
    kubelet_proc(e, "4242", argv, (size_t)n);
    kubelet_proc(e, "5000", "kubelet\0--config=/later\0", 24); /* a higher pid */
    int pid;
    char *cfg, *dir;
    assert_int_equal(nf_kubelet_process_find(e->proc, &pid, &cfg, &dir), 0);
    assert_int_equal(pid, 4242);
    assert_string_equal(cfg, e->cfg);
    assert_string_equal(dir, e->dropins);
    free(cfg);
    free(dir);

    nf_kubelet_config_where w;
    assert_int_equal(nf_kubelet_config_find(NULL, e->proc, e->kdir, &w), 0);
    assert_string_equal(w.main, e->cfg); /* the running kubelet wins over kubeadm's default */
    assert_string_equal(w.dropin_dir, e->dropins);
    assert_non_null(strstr(w.origin, "kubelet process 4242"));
    nf_kubelet_config_where_free(&w);

    assert_int_equal(nf_kubelet_config_find("/flag.yaml", e->proc, e->kdir, &w), 0);
    assert_string_equal(w.main, "/flag.yaml"); /* the flag wins over everything */
    assert_null(w.dropin_dir);
    assert_string_equal(w.origin, "flag");
    nf_kubelet_config_where_free(&w);
}

static nf_kubelet_config read_merged(env *e, const char *main, char **files)
{
    char *text;
    size_t len;
    nf_err err = {{0}};
    int rc = nf_kubelet_config_read(main, e->dropins, 1 << 20, &text, &len, files, &err);
    if (rc)
        fail_msg("read: %d %s", rc, err.msg);
    nf_kubelet_config c;
    if ((rc = nf_kubelet_config_parse(text, len, "merged", &c, &err)))
        fail_msg("parse: %d %s: %s", rc, err.msg, text);
    free(text);
    return c;
}

static void test_dropin_merge(void **state)
{
    env *e = *state;
    nft_write(e->cfg, HEAD "cpuManagerPolicy: none\nreservedSystemCPUs: \"0,32\"\n"
                           "topologyManagerPolicy: single-numa-node\n"
                           "cpuManagerPolicyOptions:\n  full-pcpus-only: \"true\"\n");
    /* lexical order: 20 after 10; not-*.conf and hidden files ignored */
    nft_write(nft_path(e->dropins, "20-reserved.conf"), HEAD "reservedSystemCPUs: \"0-1,32-33\"\n");
    nft_write(nft_path(e->dropins, "10-cpu.conf"),
              HEAD "cpuManagerPolicy: static\nreservedSystemCPUs: \"5\"\n"
                   "cpuManagerPolicyOptions:\n  distribute-cpus-across-numa: \"true\"\n");
    nft_write(nft_path(e->dropins, "30-ignored.yaml"), HEAD "cpuManagerPolicy: none\n");
    nft_write(nft_path(e->dropins, ".99-hidden.conf"), HEAD "cpuManagerPolicy: none\n");
    char *files;
    nf_kubelet_config c = read_merged(e, e->cfg, &files);
    assert_string_equal(c.cpu_manager_policy, "static");
    assert_string_equal(c.reserved_system_cpus, "0-1,32-33");
    assert_string_equal(c.topology_manager_policy, "single-numa-node"); /* kept from main */
    /* objects merged key by key */
    assert_int_equal(c.n_cpu_manager_policy_options, 2);
    assert_string_equal(nf_kv_get(c.cpu_manager_policy_options, 2, "full-pcpus-only"), "true");
    char want[16384];
    snprintf(want, sizeof(want), "%s, %s/10-cpu.conf, %s/20-reserved.conf", e->cfg, e->dropins,
             e->dropins);
    assert_string_equal(files, want);
    free(files);
    nf_kubelet_config_free(&c);

    /* null removes a key: back to kubelet's default */
    nft_write(nft_path(e->dropins, "40-unset.conf"), "topologyManagerPolicy: null\n");
    c = read_merged(e, e->cfg, &files);
    assert_string_equal(c.topology_manager_policy, "none");
    free(files);
    nf_kubelet_config_free(&c);
}

static void test_read_errors(void **state)
{
    env *e = *state;
    char *text, *files;
    size_t len;
    nf_err err = {{0}};
    /* no drop-ins: the main file's bytes as they are */
    nft_write(e->cfg, HEAD "cpuManagerPolicy: static\n");
    assert_int_equal(nf_kubelet_config_read(e->cfg, e->dropins, 1 << 20, &text, &len, &files, &err),
                     0);
    assert_string_equal(text, HEAD "cpuManagerPolicy: static\n");
    assert_string_equal(files, e->cfg);
    free(text);
    free(files);
    /* a drop-in that does not parse is named */
    nft_write(nft_path(e->dropins, "50-bad.conf"), "cpuManagerPolicy: [\n");
    assert_int_equal(nf_kubelet_config_read(e->cfg, e->dropins, 1 << 20, &text, &len, &files, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "50-bad.conf"));
    nft_write(nft_path(e->dropins, "50-bad.conf"), "- a list\n");
    assert_int_equal(nf_kubelet_config_read(e->cfg, e->dropins, 1 << 20, &text, &len, &files, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "not a KubeletConfiguration object"));
    /* the main file missing */
    assert_int_equal(nf_kubelet_config_read(nft_path(e->dir, "nope.yaml"), e->dropins, 1 << 20,
                                            &text, &len, &files, &err),
                     -ENOENT);
    /* drop-ins only (kubelet with --config-dir and no --config) */
    unlink(nft_path(e->dropins, "50-bad.conf"));
    nft_write(nft_path(e->dropins, "10-only.conf"), HEAD "cpuManagerPolicy: static\n");
    assert_int_equal(nf_kubelet_config_read(NULL, e->dropins, 1 << 20, &text, &len, &files, &err),
                     0);
    assert_non_null(strstr(text, "\"cpuManagerPolicy\":\"static\""));
    assert_string_equal(files, nft_path(e->dropins, "10-only.conf"));
    free(text);
    free(files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kubeadm_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_and_flag_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropin_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
