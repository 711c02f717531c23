/* The shared libmicrohttpd server (numafit/httpd.h) on loopback, driven with plain sockets:
 * quiescing closes new connections at once and keeps serving the open ones, stopping closes
 * every socket the server opened, and quiescing then stopping a thread pool under a stream of
 * connections never aborts the process (libmicrohttpd's own MHD_quiesce_daemon did, at random:
 * httpd.c says why). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "numafit/httpd.h"

static atomic_uint served;

static enum MHD_Result answer_ok(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    static int seen;
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    atomic_fetch_add(&served, 1);
    return nf_httpd_reply(c, 200, "text/plain", "ok", 2);
}

static nf_httpd *start(unsigned threads)
{
    nf_httpd_opts o = {.listen = "127.0.0.1:0", .threads = threads, .handler = answer_ok};
    nf_httpd *s = NULL;
    nf_err err;
    int rc = nf_httpd_start(&o, &s, &err);
    if (rc)
        fail_msg("nf_httpd_start: %s", err.msg);
    return s;
}

/* A connected socket with a 5 s receive timeout; -1 when connect fails. */
static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One GET on fd: 1 with a whole 200 "ok" answer, 0 when the server closed the connection before
 * any byte of an answer, -1 otherwise (a partial answer, a timeout). */
static int get(int fd)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
        return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
    char buf[1024];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return have == 0 && (n == 0 || errno == ECONNRESET) ? 0 : -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (strstr(buf, "\r\n\r\nok"))
            return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 1 : -1;
        if (have == sizeof(buf) - 1)
            return -1;
    }
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void test_quiesce_closes_new_serves_open(void **state)
{
    (void)state;
    nf_httpd *s = start(2);
    uint16_t port = nf_httpd_port(s);
    int kept = dial(port);
    assert_true(kept >= 0);
    assert_int_equal(get(kept), 1);

    nf_httpd_quiesce(s);
    int late = dial(port); /* the kernel still completes the handshake */
    assert_true(late >= 0);
    assert_int_equal(get(late), 0); /* closed unanswered, at once (not at the 5 s timeout) */
    close(late);
    assert_int_equal(get(kept), 1); /* the open connection is still served */
    assert_int_equal(get(kept), 1);

    close(kept);
    nf_httpd_stop(s);
    assert_true(dial(port) < 0); /* nothing listens any more */
}

static void test_stop_closes_every_socket(void **state)
{
    (void)state;
    int before = open_fds();
    for (int round = 0; round < 3; round++) {
        nf_httpd *s = start(3);
        int fd = dial(nf_httpd_port(s));
        assert_int_equal(get(fd), 1);
        close(fd);
        if (round != 1)
            nf_httpd_quiesce(s); /* quiesced or not: the listening socket is closed */
        nf_httpd_stop(s);
    }
    assert_int_equal(open_fds(), before);
}

typedef struct load {
    uint16_t port;
    atomic_bool stop;
    unsigned answers;
} load;

/* New connections, one or two requests each, until told to stop or nothing listens. */
static void *hammer(void *arg)
{
    load *l = arg;
    while (!atomic_load(&l->stop)) {
        int fd = dial(l->port);
        if (fd < 0)
            break;
        for (int i = 0; i < 2 && get(fd) == 1; i++)
            l->answers++;
        close(fd);
    }
    return NULL;
}

static void test_quiesce_stop_under_load(void **state)
{
    (void)state;
    enum { ROUNDS = 40, CLIENTS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        nf_httpd *s = start(4);
        load l[CLIENTS];
        pthread_t t[CLIENTS];
        atomic_store(&served, 0);
        for (int i = 0; i < CLIENTS; i++) {
            l[i] = (load){.port = nf_httpd_port(s)};
            assert_int_equal(pthread_create(&t[i], NULL, hammer, &l[i]), 0);
        }
        while (atomic_load(&served) < 20) /* the pool threads are busy */
            usleep(500);
        nf_httpd_quiesce(s);
        usleep((useconds_t)(round % 5) * 1000);
        nf_httpd_stop(s);
        unsigned answers = 0;
        for (int i = 0; i < CLIENTS; i++) {
            atomic_store(&l[i].stop, true);
            pthread_join(t[i], NULL);
            answers += l[i].answers;
        }
        assert_true(answers >= 10); /* most of the 20 answers sent reached their client */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiesce_closes_new_serves_open),
        cmocka_unit_test(test_stop_closes_every_socket),
        cmocka_unit_test(test_quiesce_stop_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
