/* test_topology_dir.c - --topology-dir: loading, bad files, re-scans and the inotify watcher. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "numafit/fileio.h"
#include "numafit/log.h"
#include "test_docs.h"
#include "testutil.h"
#include "topology_dir.h"

static char *dir;

static void write_doc(const char *file, const char *node, uint64_t gen)
{
    char *path = nf_path_join(dir, file, NULL);
    char *s = nf_test_doc(node, 2, gen, 10, 1);
    nf_err err;
    assert_int_equal(nf_write_file_atomic(path, s, strlen(s), &err), 0);
    free(s);
    free(path);
}

static void rm(const char *file)
{
    assert_int_equal(unlink(nft_path(dir, file)), 0);
}

static int64_t gen_of(nf_cache *c, const char *node, bool *stale)
{
    nf_cache_entry *e = nf_cache_acquire(c, node);
    if (!e)
        return -1;
    int64_t g = (int64_t)e->topo.generation;
    if (stale)
        *stale = e->stale;
    nf_cache_release(e);
    return g;
}

static int setup(void **state)
{
    dir = nft_tmpdir("topodir");
    return 0;
}

static int teardown(void **state)
{
    return nft_tmpdir_free(dir);
}

static void load_and_rescan(void **state)
{
    write_doc("worker-1.json", "worker-1", 1);
    write_doc("worker-2.json", "worker-2", 4);
    nft_write(nft_path(dir, "bad.json"),
              "{\"apiVersion\": \"numafit.io/v1\", \"kind\": \"NodeTopology\"}");
    nft_write(nft_path(dir, "notes.txt"), "not a topology");
    nft_write(nft_path(dir, ".hidden.json"), "{");
    nf_cache *c;
    nf_topology_dir *d;
    nf_err err;
    assert_int_equal(nf_cache_new(&c), 0);
    assert_int_equal(nf_topology_dir_open(c, dir, &d, &err), 0);
    size_t loaded, bad;
    nf_topology_dir_counts(d, &loaded, &bad);
    assert_int_equal(loaded, 2);
    assert_int_equal(bad, 1); /* bad.json is reported; the others load */
    assert_int_equal(nf_cache_size(c), 2);
    nf_cache_entry *e = nf_cache_acquire(c, "worker-1");
    char want[128];
    snprintf(want, sizeof(want), "file:%s/worker-1.json", dir);
    assert_string_equal(e->source, want);
    nf_cache_release(e);

    /* unchanged files are not reloaded */
    uint64_t v = nf_cache_version(c);
    assert_int_equal(nf_topology_dir_scan(d), 1);
    assert_int_equal(nf_cache_version(c), v);

    /* changed, fixed, removed, turned bad */
    write_doc("worker-1.json", "worker-1", 2);
    write_doc("bad.json", "worker-3", 1);
    rm("worker-2.json");
    assert_int_equal(nf_topology_dir_scan(d), 0);
    assert_int_equal(gen_of(c, "worker-1", NULL), 2);
    assert_int_equal(gen_of(c, "worker-3", NULL), 1);
    assert_int_equal(gen_of(c, "worker-2", NULL), -1);

    nft_write(nft_path(dir, "worker-1.json"), "{ truncated");
    assert_int_equal(nf_topology_dir_scan(d), 1);
    bool stale = false;
    assert_int_equal(gen_of(c, "worker-1", &stale), 2); /* last good document, marked stale */
    assert_true(stale);
    e = nf_cache_acquire(c, "worker-1");
    assert_non_null(strstr(e->stale_reason, "worker-1.json"));
    nf_cache_release(e);

    /* a file that now names another node drops the old one */
    write_doc("bad.json", "worker-4", 1);
    nf_topology_dir_scan(d);
    assert_int_equal(gen_of(c, "worker-3", NULL), -1);
    assert_int_equal(gen_of(c, "worker-4", NULL), 1);
    nf_topology_dir_free(d);

    assert_int_equal(nf_topology_dir_open(c, "/nonexistent/dir", &d, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/dir"));
    nf_cache_free(c);
}

static int64_t wait_gen(nf_cache *c, const char *node, int64_t gen, int limit_ms)
{
    int64_t t0 = nft_now_ms();
    for (;;) {
        int64_t ms = nft_now_ms() - t0;
        if (gen_of(c, node, NULL) == gen)
            return ms;
        if (ms > limit_ms)
            return -1;
        usleep(2000);
    }
}

static void watcher_picks_up_changes(void **state)
{
    write_doc("w1.json", "w1", 1);
    nf_cache *c;
    nf_topology_dir *d;
    nf_err err;
    assert_int_equal(nf_cache_new(&c), 0);
    assert_int_equal(nf_topology_dir_open(c, dir, &d, &err), 0);
    /* a long fallback period: only inotify can make the changes below show up in time */
    assert_int_equal(nf_topology_dir_watch(d, 60000, &err), 0);
    write_doc("w1.json", "w1", 5); /* atomic rename, as kubectl/ConfigMaps do */
    int64_t ms = wait_gen(c, "w1", 5, 1000);
    assert_true(ms >= 0);
    printf("# file change -> cache in %lld ms\n", (long long)ms);
    write_doc("w2.json", "w2", 3);
    assert_true(wait_gen(c, "w2", 3, 1000) >= 0);
    nft_write(nft_path(dir, "w2.json"), "{}"); /* rewritten in place, turned bad */
    bool stale = false;
    for (int i = 0; i < 500 && !stale; i++) {
        gen_of(c, "w2", &stale);
        usleep(2000);
    }
    assert_true(stale);
    rm("w1.json");
    assert_true(wait_gen(c, "w1", -1, 1000) >= 0);
    nf_topology_dir_free(d);
    nf_cache_free(c);
}

/* stderr (where the log goes) into a file while a test looks at what was logged */
static int saved_stderr = -1;
static char cap_path[512];

static void capture_log(const char *file)
{
    fflush(stderr);
    snprintf(cap_path, sizeof(cap_path), "%s", file);
    int fd = open(cap_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    saved_stderr = dup(2);
    assert_true(dup2(fd, 2) == 2);
    close(fd);
    nf_log_set_level(NF_LOG_WARN);
}

static char *captured_log(void) /* free it */
{
    fflush(stderr);
    return nft_read(cap_path, NULL);
}

static void end_capture(void)
{
    nf_log_set_level(NF_LOG_ERROR);
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
}

/* Links inside the directory (a ConfigMap volume: name -> ..data/name) are read; a link out of it
 * (to a secret-looking file) is never read, and its contents never reach a message; a parser
 * error does not quote the file. */
static void links_and_contents(void **state)
{
    char *outside = nft_tmpdir("topodir-outside");
    nft_write(nft_path(outside, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    assert_int_equal(mkdir(nft_path(dir, "..data"), 0755), 0);
    char *path = nf_path_join(dir, "..data/worker-7.json", NULL);
    char *doc = nf_test_doc("worker-7", 2, 3, 10, 1);
    nft_write(path, doc);
    free(doc);
    free(path);
    assert_int_equal(symlink("..data/worker-7.json", nft_path(dir, "worker-7.json")), 0);
    assert_int_equal(symlink(nft_path(outside, "passwd"), nft_path(dir, "evil.json")), 0);
    assert_int_equal(symlink("nowhere.json", nft_path(dir, "dangling.json")), 0);
    nft_write(nft_path(dir, "garbage.json"), "root:x:0:0:root:/root:/bin/bash\n");

    char *logfile = strdup(nft_path(outside, "log"));
    capture_log(logfile);
    nf_cache *c;
    nf_topology_dir *d;
    nf_err err;
    assert_int_equal(nf_cache_new(&c), 0);
    assert_int_equal(nf_topology_dir_open(c, dir, &d, &err), 0);
    size_t loaded, bad;
    nf_topology_dir_counts(d, &loaded, &bad);
    assert_int_equal(loaded, 1);
    assert_int_equal(bad, 3); /* evil, dangling, garbage */
    assert_int_equal(gen_of(c, "worker-7", NULL), 3);
    assert_int_equal(nf_cache_size(c), 1);
    char *log = captured_log();
    assert_non_null(strstr(log, "evil.json"));
    assert_non_null(strstr(log, "points outside the topology directory"));
    assert_non_null(strstr(log, "dangling.json"));
    assert_non_null(strstr(log, "garbage.json"));
    assert_null(strstr(log, "root"));
    assert_null(strstr(log, "bash"));
    free(log);

    /* the link retargeted outside: its document goes, nothing of the target is read */
    assert_int_equal(unlink(nft_path(dir, "worker-7.json")), 0);
    assert_int_equal(symlink(nft_path(outside, "passwd"), nft_path(dir, "worker-7.json")), 0);
    nf_topology_dir_scan(d);
    assert_int_equal(gen_of(c, "worker-7", NULL), -1);
    log = captured_log();
    assert_null(strstr(log, "root"));
    free(log);
    end_capture();
    free(logfile);
    nf_topology_dir_free(d);
    nf_cache_free(c);
    nft_tmpdir_free(outside);
}

int main(void)
{
    nf_log_set_level(NF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(load_and_rescan, setup, teardown),
        cmocka_unit_test_setup_teardown(watcher_picks_up_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(links_and_contents, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
