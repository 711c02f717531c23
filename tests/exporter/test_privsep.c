/* test_privsep.c - the exporter's two processes: what each can no longer do (the real seccomp
 * filters and privilege drop, tried in forked children), the channel's frames, --privsep-user. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privsep.h"

/* Run fn in a forked child; its exit code (fn's bitmask of failed expectations, 0 = all held). */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int try_socket(int family, int type)
{
    int fd = socket(family, type, 0);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return -errno;
}

static void *nothing(void *arg)
{
    return arg;
}

static int collector_checks(void)
{
    nf_err err;
    if (nf_privsep_confine_collector(&err))
        return 0x80;
    int bad = 0;
    if (try_socket(AF_INET, SOCK_STREAM) != -EPERM)
        bad |= 1; /* no IP sockets: a reader bug cannot reach the network */
    if (try_socket(AF_INET6, SOCK_DGRAM) != -EPERM)
        bad |= 2;
    if (try_socket(AF_UNIX, SOCK_STREAM) != 0)
        bad |= 4; /* DPDK's multi-process channel, the privsep channel */
    if (try_socket(AF_NETLINK, SOCK_RAW) != 0)
        bad |= 8; /* PMDs ask the kernel about their netdevs */
    if (setuid(0) != -1 || errno != EPERM || setgroups(0, NULL) != -1)
        bad |= 32;    /* identities are settled */
    pid_t p = fork(); /* the DPDK probe forks */
    if (p < 0)
        bad |= 16;
    else if (p == 0)
        _exit(0);
    else
        waitpid(p, NULL, 0);
    return bad;
}

static void test_collector_has_no_network(void **state)
{
    (void)state;
    assert_int_equal(in_child(collector_checks), 0);
}

static int http_checks(void)
{
    nf_privsep_user u = {.uid = 65534, .gid = 65534};
    nf_err err;
    int fd;
    pid_t child = -1;
    int f = nf_privsep_fork(&u, &fd, &child, &err);
    if (f == 1) { /* the collector side: the http side's result is its exit code */
        int status = 0;
        waitpid(child, &status, 0);
        close(fd);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 0x7f;
    }
    if (f < 0)
        _exit(0x40);
    int bad = 0;
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || getegid() != 65534)
        bad |= 1;
    if (setuid(0) == 0 || seteuid(0) == 0)
        bad |= 2; /* for good */
    if (try_socket(AF_INET, SOCK_STREAM) != 0 || try_socket(AF_INET6, SOCK_STREAM) != 0)
        bad |= 4; /* it serves */
    if (try_socket(AF_PACKET, SOCK_RAW) != -EPERM)
        bad |= 8;
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    if (p >= 0 || errno != EPERM)
        bad |= 16;                                     /* no new processes */
    char *argv[] = {"/bin/sh", "-c", "exit 99", NULL}; /* 99 when it ran */
    execv("/bin/sh", argv);
    if (errno != EPERM)
        bad |= 32; /* no programs */
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
        bad |= 64; /* libmicrohttpd's threads */
    _exit(bad);
}

static void test_http_process_is_confined(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* dropping to another uid needs root */
    assert_int_equal(in_child(http_checks), 0);
}

static void test_fork_needs_root_message(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip();
    nf_privsep_user u = {.uid = 65534, .gid = 65534};
    nf_err err;
    int fd;
    pid_t child = -1;
    assert_int_equal(nf_privsep_fork(&u, &fd, &child, &err), -EPERM);
    assert_non_null(strstr(err.msg, "started as root"));
}

static void test_frames_round_trip(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t big = 3u << 20; /* larger than a socket buffer: sent while read */
    char *doc = malloc(big);
    assert_non_null(doc);
    for (size_t i = 0; i < big; i++)
        doc[i] = (char)('a' + i % 26);
    pid_t p = fork();
    if (p == 0) {
        close(sv[0]);
        int rc = nf_privsep_send(sv[1], NF_PRIVSEP_DOC, 42, doc, big) ||
                 nf_privsep_send(sv[1], NF_PRIVSEP_HEALTH, 0, "", 0) ||
                 nf_privsep_send(sv[1], NF_PRIVSEP_METRICS, 0, "m 1\n", 4) ||
                 nf_privsep_send(sv[1], NF_PRIVSEP_STOP, 0, "", 0);
        _exit(rc);
    }
    close(sv[1]);
    enum nf_privsep_frame type;
    uint64_t gen;
    char *data;
    size_t len;
    assert_int_equal(nf_privsep_recv(sv[0], &type, &gen, &data, &len), 0);
    assert_int_equal(type, NF_PRIVSEP_DOC);
    assert_int_equal(gen, 42);
    assert_int_equal(len, big);
    assert_memory_equal(data, doc, big);
    free(data);
    assert_int_equal(nf_privsep_recv(sv[0], &type, &gen, &data, &len), 0);
    assert_int_equal(type, NF_PRIVSEP_HEALTH);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    assert_int_equal(nf_privsep_recv(sv[0], &type, &gen, &data, &len), 0);
    assert_int_equal(type, NF_PRIVSEP_METRICS);
    assert_string_equal(data, "m 1\n");
    free(data);
    assert_int_equal(nf_privsep_recv(sv[0], &type, &gen, &data, &len), 0);
    assert_int_equal(type, NF_PRIVSEP_STOP);
    free(data);
    assert_int_equal(nf_privsep_recv(sv[0], &type, &gen, &data, &len), -EPIPE); /* clean end */
    int status;
    waitpid(p, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    close(sv[0]);
    free(doc);
}

/* nf_privsep_recv on a channel that carried `a` then `b` and closed. */
static int recv_of(const void *a, size_t alen, const void *b, size_t blen)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[1], a, alen), (ssize_t)alen);
    assert_int_equal(write(sv[1], b, blen), (ssize_t)blen);
    close(sv[1]);
    enum nf_privsep_frame type;
    uint64_t gen;
    char *data = NULL;
    size_t len;
    int rc = nf_privsep_recv(sv[0], &type, &gen, &data, &len);
    if (rc)
        assert_null(data);
    else
        free(data);
    close(sv[0]);
    return rc;
}

/* What a broken channel looks like to the http process: an error, never a crash or a huge
 * allocation. */
static void test_frames_malformed(void **state)
{
    (void)state;
    struct {
        uint32_t type, zero;
        uint64_t gen, len;
    } heads[] = {
        {0, 0, 1, 4},                                        /* no such type */
        {NF_PRIVSEP_STOP + 1, 0, 1, 4},                      /* no such type */
        {NF_PRIVSEP_DOC, 7, 1, 4},                           /* reserved bits set */
        {NF_PRIVSEP_DOC, 0, 1, NF_PRIVSEP_MAX_FRAME + 1ull}, /* absurd length */
        {NF_PRIVSEP_DOC, 0, 1, UINT64_MAX},
        {NF_PRIVSEP_DOC, 0, 1, 100}, /* ends inside the payload */
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        assert_int_equal(recv_of(&heads[i], sizeof(heads[i]), "abcd", 4), -EPROTO);
    assert_int_equal(recv_of(&heads[0], 0, "", 0), -EPIPE); /* nothing: a clean end */
    assert_int_equal(recv_of("\1\0\0", 3, "", 0), -EPROTO); /* a header cut short */
    heads[0].type = NF_PRIVSEP_METRICS;                     /* and the same header, whole */
    assert_int_equal(recv_of(&heads[0], sizeof(heads[0]), "abcd", 4), 0);
    assert_int_equal(nf_privsep_send(-1, NF_PRIVSEP_DOC, 0, "x", NF_PRIVSEP_MAX_FRAME + 1ull),
                     -EMSGSIZE);
}

static void test_parse_user(void **state)
{
    (void)state;
    nf_privsep_user u;
    nf_err err;
    assert_int_equal(nf_privsep_parse_user("65534:65533", &u, &err), 0);
    assert_int_equal(u.uid, 65534);
    assert_int_equal(u.gid, 65533);
    assert_int_equal(nf_privsep_parse_user("1234", &u, &err), 0);
    assert_int_equal(u.gid, 1234); /* a bare id: the group of the same number */
    assert_int_equal(nf_privsep_parse_user("nobody", &u, &err), 0); /* names from passwd */
    assert_int_equal(u.uid, 65534);
    assert_int_equal(nf_privsep_parse_user("root", &u, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "must not be 0"));
    assert_int_equal(nf_privsep_parse_user("1000:0", &u, &err), -EINVAL);
    assert_int_equal(nf_privsep_parse_user("0", &u, &err), -EINVAL);
    assert_int_equal(nf_privsep_parse_user("no-such-user-here", &u, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "no such user"));
    assert_int_equal(nf_privsep_parse_user("nobody:no-such-group-here", &u, &err), -ENOENT);
    assert_int_equal(nf_privsep_parse_user("", &u, &err), -EINVAL);
    assert_int_equal(nf_privsep_parse_user(":65534", &u, &err), -EINVAL);
    assert_int_equal(nf_privsep_parse_user("65534:", &u, &err), -EINVAL);
    assert_int_equal(nf_privsep_parse_user("-5", &u, &err), -ENOENT);
    assert_int_equal(nf_privsep_parse_user("99999999999999999999", &u, &err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_has_no_network),
        cmocka_unit_test(test_http_process_is_confined),
        cmocka_unit_test(test_fork_needs_root_message),
        cmocka_unit_test(test_frames_round_trip),
        cmocka_unit_test(test_frames_malformed),
        cmocka_unit_test(test_parse_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
