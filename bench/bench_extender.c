/* bench_extender.c - numafit-extender figures on a generated cluster (bench/gen_topologies.py).
 *
 * usage: bench_extender GENDIR [--requests N] [--connect PORT] [--threads N] [--reservations N]
 *
 * Without --connect: loads GENDIR/topo into a cache in this process (heap per node from
 * mallinfo2, RSS delta from /proc/self/status), times the pure per-request work (decode, filter /
 * prioritize, encode) and then serves the cache with nf_extender_http_start on 127.0.0.1.
 * With --connect PORT: talks to an already running numafit-extender on 127.0.0.1:PORT instead.
 * Either way it sends N (default 200) POSTs of each kind over one keep-alive connection and
 * prints median / p99 latency: /filter and /prioritize with every node in NodeNames
 * (GENDIR/names.json) and with a full v1.NodeList (GENDIR/nodelist.json, with MB/s parsed).
 * --reservations N (in process only): then serves the same cache again with N live reservations
 * (binder.h; 2 CPUs + 1 of each device resource on a NUMA node, spread over the nodes) and
 * prints /filter NodeNames with and without them side by side.
 * --hammer N (with --connect): only /filter NodeNames for 10 s (at least --requests), alone and
 * then while N clients loop on GET /v1/report?shape=cpu=1&addPods=1000 (each on its connection),
 * side by side (issue 13: the scheduler's verbs must not starve behind reports).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "binder.h"
#include "cache.h"
#include "extender_http.h"
#include "extender_protocol.h"
#include "node_view.h"
#include "numafit/clock.h"
#include "numafit/fileio.h"
#include "numafit/log.h"
#include "topology_dir.h"

static double now_ms(void)
{
    return (double)nf_mono_ns() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median, p99, max;
} stats;

static stats summarize(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    size_t p99 = (n * 99 + 99) / 100; /* nearest-rank */
    return (stats){v[n / 2], v[(p99 ? p99 : 1) - 1], v[n - 1]};
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *buf;
    nf_err err;
    if (nf_read_file(path, 256u << 20, &buf, len, &err)) {
        fprintf(stderr, "bench_extender: %s\n", err.msg);
        exit(1);
    }
    return buf;
}

/* ---- a minimal keep-alive HTTP/1.1 client ---- */

static int connect_port(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        perror("bench_extender: connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("bench_extender: write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

typedef struct rbuf {
    char *p;
    size_t len, cap;
} rbuf;

/* One POST (a GET when body is NULL); returns the status; the response body is left in rb
 * (NUL-terminated) at *body. */
static int post(int fd, const char *path, const char *body, size_t len, rbuf *rb, char **out,
                size_t *out_len)
{
    char head[256];
    int hl = body
                 ? snprintf(head, sizeof(head),
                            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            "application/json\r\nContent-Length: %zu\r\n\r\n",
                            path, len)
                 : snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    write_all(fd, head, (size_t)hl);
    if (body)
        write_all(fd, body, len);
    rb->len = 0;
    size_t need = SIZE_MAX, hdr_end = 0;
    for (;;) {
        if (rb->len + 65536 + 1 > rb->cap) {
            rb->cap = (rb->len + 65536 + 1) * 2;
            if (!(rb->p = realloc(rb->p, rb->cap)))
                exit(1);
        }
        ssize_t r = read(fd, rb->p + rb->len, rb->cap - rb->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "bench_extender: connection closed mid-response\n");
            exit(1);
        }
        rb->len += (size_t)r;
        rb->p[rb->len] = 0;
        if (!hdr_end) {
            char *e = strstr(rb->p, "\r\n\r\n");
            if (!e)
                continue;
            hdr_end = (size_t)(e - rb->p) + 4;
            char *cl = strcasestr(rb->p, "\r\nContent-Length:");
            if (!cl || cl > e) {
                fprintf(stderr, "bench_extender: response without Content-Length\n");
                exit(1);
            }
            need = hdr_end + strtoull(cl + 17, NULL, 10);
        }
        if (rb->len >= need)
            break;
    }
    *out = rb->p + hdr_end;
    *out_len = need - hdr_end;
    return atoi(rb->p + 9);
}

typedef struct kind {
    const char *label, *path;
    const char *body;
    size_t len;
} kind;

static void run_http(unsigned port, const kind *k, int n, double *v)
{
    int fd = connect_port(port);
    rbuf rb = {0};
    char *resp;
    size_t rlen = 0;
    for (int i = -3; i < n; i++) { /* 3 warm-up requests */
        double t0 = now_ms();
        int st = post(fd, k->path, k->body, k->len, &rb, &resp, &rlen);
        double t1 = now_ms();
        if (st != 200) {
            fprintf(stderr, "bench_extender: %s answered %d: %.300s\n", k->path, st, resp);
            exit(1);
        }
        if (i >= 0)
            v[i] = t1 - t0;
    }
    stats s = summarize(v, (size_t)n);
    double mb = (double)k->len / (1 << 20);
    printf("%-28s %8.3f %8.3f %8.3f %9.1f", k->label, s.median, s.p99, s.max, 1000.0 / s.median);
    if (strstr(k->label, "NodeList"))
        printf(" %8.1f MB/s (%.1f MB in, %.1f MB out)", mb / (s.median / 1000.0), mb,
               (double)rlen / (1 << 20));
    else
        printf("   (%zu B in, %zu B out)", k->len, rlen);
    printf("\n");
    free(rb.p);
    close(fd);
}

/* ---- /filter while reports are hammered ---- */

#define HAMMER_PATH "/v1/report?shape=cpu%3D1&addPods=1000"

typedef struct hammer {
    unsigned port;
    atomic_bool stop;
    atomic_ulong answered, busy;
} hammer;

static void *hammer_loop(void *arg)
{
    hammer *hm = arg;
    int fd = connect_port(hm->port);
    rbuf rb = {0};
    char *resp;
    size_t rlen;
    while (!atomic_load(&hm->stop)) {
        int st = post(fd, HAMMER_PATH, NULL, 0, &rb, &resp, &rlen);
        if (st == 503) {
            atomic_fetch_add(&hm->busy, 1);
            usleep(100000); /* Retry-After is 1 s; a busier client than kube-scheduler's peers */
        } else if (st == 200) {
            atomic_fetch_add(&hm->answered, 1);
        } else {
            fprintf(stderr, "bench_extender: %s answered %d: %.300s\n", HAMMER_PATH, st, resp);
            exit(1);
        }
    }
    free(rb.p);
    close(fd);
    return NULL;
}

/* /filter one after the other on one connection for secs (at least n of them). */
static void filter_for(unsigned port, const kind *k, int n, double secs)
{
    int fd = connect_port(port);
    rbuf rb = {0};
    char *resp;
    size_t rlen = 0, cap = 4096, count = 0;
    double *v = malloc(cap * sizeof(*v)), start = now_ms();
    while ((int)count < n || now_ms() - start < secs * 1000.0) {
        double t0 = now_ms();
        int st = post(fd, k->path, k->body, k->len, &rb, &resp, &rlen);
        if (st != 200) {
            fprintf(stderr, "bench_extender: %s answered %d: %.300s\n", k->path, st, resp);
            exit(1);
        }
        if (count == cap && !(v = realloc(v, (cap *= 2) * sizeof(*v))))
            exit(1);
        v[count++] = now_ms() - t0;
    }
    stats s = summarize(v, count);
    printf("%-28s %8.3f %8.3f %8.3f %9zu\n", k->label, s.median, s.p99, s.max, count);
    free(v);
    free(rb.p);
    close(fd);
}

static void bench_hammer(unsigned port, const kind *k, int n, int clients)
{
    double secs = 10;
    printf("\n/filter NodeNames for %.0f s (one connection) alone, then while %d clients loop on "
           "GET %s (ms)\n",
           secs, clients, HAMMER_PATH);
    printf("%-28s %8s %8s %8s %9s\n", "", "median", "p99", "max", "requests");
    filter_for(port, k, n, secs);
    hammer hm = {.port = port};
    pthread_t *t = calloc((size_t)clients, sizeof(*t));
    for (int i = 0; i < clients; i++)
        pthread_create(&t[i], NULL, hammer_loop, &hm);
    usleep(500000); /* the reports are running */
    double t0 = now_ms();
    kind hk = *k;
    hk.label = "filter NodeNames, hammered";
    filter_for(port, &hk, n, secs);
    double took = (now_ms() - t0) / 1000.0;
    unsigned long answered = atomic_load(&hm.answered), busy = atomic_load(&hm.busy);
    atomic_store(&hm.stop, true);
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    free(t);
    printf("reports meanwhile: %lu answered (%.2f/s), %lu answered 503\n", answered,
           (double)answered / took, busy);
}

/* ---- in-process: the per-request work without HTTP ---- */

typedef struct lookup {
    nf_cache *c;
} lookup;

static const nf_topology *acq(void *ctx, const char *node, void **handle, char *why, size_t len)
{
    nf_cache_entry *e = nf_cache_acquire(((lookup *)ctx)->c, node);
    if (!e) {
        snprintf(why, len, "no topology");
        return NULL;
    }
    *handle = e;
    return &e->topo;
}

static void rel(void *ctx, void *handle)
{
    (void)ctx;
    nf_cache_release(handle);
}

/* as the server does: the fit view and answer memo kept with the cache entry */
static const nf_fit_view *view(void *ctx, void *handle, const nf_topology *t, nf_align align,
                               nf_fit_memo **memo)
{
    (void)ctx;
    (void)t;
    return nf_node_view(handle, align, memo);
}

static void run_inproc(nf_cache *cache, const kind *k, int n, double *v, double *dec, double *enc)
{
    lookup l = {.c = cache};
    nf_topology_source src = {.acquire = acq, .release = rel, .view = view, .ctx = &l};
    nf_fit_opts o = {.align = NF_ALIGN_NUMA};
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        nf_extender_args a;
        nf_err err;
        if (nf_extender_args_scan(k->body, k->len, NULL, &a, &err)) {
            fprintf(stderr, "bench_extender: %s\n", err.msg);
            exit(1);
        }
        double t1 = now_ms();
        char *s = NULL;
        size_t len;
        int rc = strcmp(k->path, "/filter") == 0
                     ? nf_extender_filter_text(&a, &src, &o, &s, &len)
                     : nf_extender_prioritize_text(&a, &src, &o, &s, &len);
        double t2 = now_ms();
        if (rc)
            exit(1);
        free(s);
        nf_extender_args_free(&a);
        double t3 = now_ms();
        dec[i] = t1 - t0;
        v[i] = t2 - t1;
        enc[i] = t3 - t2;
    }
    stats sd = summarize(dec, (size_t)n), sv = summarize(v, (size_t)n),
          se = summarize(enc, (size_t)n);
    printf("%-28s %8.3f %8.3f %8.3f\n", k->label, sd.median, sv.median, se.median);
}

/* n reservations spread over the cached nodes: 2 CPUs and 1 of each device resource of the
 * node's first NUMA node that has them, on that NUMA node. */
static int add_reservations(nf_cache *cache, nf_reservations *rs, int n)
{
    nf_cache_entry **all;
    size_t nn;
    if (nf_cache_acquire_all(cache, &all, &nn) || !nn)
        return -1;
    for (int i = 0; i < n; i++) {
        const nf_topology *t = &all[(size_t)i % nn]->topo;
        const nf_numa_node *z = &t->numa_nodes[(size_t)i % (t->n_numa_nodes ? t->n_numa_nodes : 1)];
        nf_placed *p = calloc(8, sizeof(*p));
        size_t k = 0;
        p[k++] = (nf_placed){.numa = z->id, .resource = strdup("cpu"), .amount = 2, .tracked = 1};
        for (size_t r = 0; r < z->n_resources && k < 8; r++)
            if (strchr(z->resources[r].name, '/'))
                p[k++] = (nf_placed){.numa = z->id,
                                     .resource = strdup(z->resources[r].name),
                                     .amount = 1,
                                     .tracked = 1};
        char uid[32];
        snprintf(uid, sizeof(uid), "bench-%d", i);
        nf_reservation res = {.uid = strdup(uid),
                              .node = strdup(t->node),
                              .placed = p,
                              .n_placed = k,
                              .numa = z->id,
                              .created_ms = 0};
        if (nf_reservations_add(rs, &res))
            return -1;
    }
    nf_cache_release_all(all, nn);
    return 0;
}

/* /filter NodeNames over HTTP without and with n_resv live reservations: two servers on the same
 * cache, one request to each in turn, so the machine's noise hits both alike. */
static void bench_reservations(nf_cache *cache, unsigned threads, const kind *k, int n, int n_resv,
                               double *v)
{
    nf_binder *b;
    nf_err err;
    nf_binder_opts bo = {.ttl_ms = 0};
    if (nf_binder_new(cache, &bo, &b, &err) ||
        add_reservations(cache, nf_binder_reservations(b), n_resv)) {
        fprintf(stderr, "bench_extender: reservations: %s\n", err.msg);
        return;
    }
    nf_extender_http *h[2] = {NULL, NULL};
    for (int pass = 0; pass < 2; pass++) {
        nf_extender_config cfg = {.listen = "127.0.0.1:0", .threads = threads};
        if (pass)
            cfg.binder = b;
        if (nf_extender_http_start(&cfg, cache, &h[pass], &err)) {
            fprintf(stderr, "bench_extender: %s\n", err.msg);
            exit(1);
        }
    }
    int fd[2] = {connect_port(nf_extender_http_port(h[0])),
                 connect_port(nf_extender_http_port(h[1]))};
    double *w = malloc((size_t)n * sizeof(*w));
    if (!w)
        exit(1);
    rbuf rb = {0};
    char *resp;
    size_t rlen;
    for (int i = -3; i < n; i++) { /* 3 warm-up rounds */
        for (int pass = 0; pass < 2; pass++) {
            double t0 = now_ms();
            int st = post(fd[pass], k->path, k->body, k->len, &rb, &resp, &rlen);
            double t1 = now_ms();
            if (st != 200) {
                fprintf(stderr, "bench_extender: %s answered %d: %.300s\n", k->path, st, resp);
                exit(1);
            }
            if (i >= 0)
                (pass ? w : v)[i] = t1 - t0;
        }
    }
    stats s0 = summarize(v, (size_t)n), s1 = summarize(w, (size_t)n);
    printf(
        "\n/filter NodeNames over HTTP, %d requests each, alternating between a server without and "
        "one with %d reservations (%zu live)\n",
        n, n_resv, nf_reservations_count(nf_binder_reservations(b)));
    printf("%-28s %8s %8s %8s %9s\n", "", "median", "p99", "max", "req/s(1)");
    printf("%-28s %8.3f %8.3f %8.3f %9.1f\n", "  without", s0.median, s0.p99, s0.max,
           1000.0 / s0.median);
    printf("%-28s %8.3f %8.3f %8.3f %9.1f\n", "  with reservations", s1.median, s1.p99, s1.max,
           1000.0 / s1.median);
    printf("  reservations cost %+.1f%% of the median /filter time\n",
           100.0 * (s1.median - s0.median) / s0.median);
    free(rb.p);
    free(w);
    close(fd[0]);
    close(fd[1]);
    nf_extender_http_stop(h[0], 1000);
    nf_extender_http_stop(h[1], 1000);
    nf_binder_free(b);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int n = 200;
    unsigned port = 0, threads = 0;
    int loop = 0; /* --loop N: only N in-process /filter NodeNames (for perf record) */
    int n_resv = 0, n_hammer = 0;
    nf_extender_http_tune_malloc(); /* as numafit-extender does */
    signal(SIGPIPE, SIG_IGN);       /* a closed connection is reported, not a silent death */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc)
            port = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--loop") == 0 && i + 1 < argc)
            loop = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--reservations") == 0 && i + 1 < argc)
            n_resv = atoi(argv[++i]);
        else if (strcmp(argv[i], "--hammer") == 0 && i + 1 < argc)
            n_hammer = atoi(argv[++i]);
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else
            dir = NULL, i = argc;
    }
    if (!dir || n < 1 || (n_hammer && !port)) {
        fprintf(stderr, "usage: bench_extender GENDIR [--requests N] [--connect PORT [--hammer N]] "
                        "[--threads N] [--reservations N]\n");
        return 2;
    }
    nf_log_set_level(NF_LOG_WARN);
    size_t nlen, llen;
    char *names = slurp(dir, "names.json", &nlen);
    char *list = slurp(dir, "nodelist.json", &llen);
    kind kinds[] = {
        {"filter NodeNames", "/filter", names, nlen},
        {"prioritize NodeNames", "/prioritize", names, nlen},
        {"filter NodeList", "/filter", list, llen},
        {"prioritize NodeList", "/prioritize", list, llen},
    };
    size_t nv = (size_t)(n > 1000 ? n : 1000);
    double *v = calloc(nv, sizeof(double)), *d = calloc(nv, sizeof(double)),
           *e = calloc(nv, sizeof(double));
    nf_cache *cache = NULL;
    nf_topology_dir *td = NULL;
    nf_extender_http *h = NULL;
    nf_err err;
    if (!port) {
        char topo[4096];
        snprintf(topo, sizeof(topo), "%s/topo", dir);
        malloc_trim(0);
        struct mallinfo2 m0 = mallinfo2();
        long r0 = rss_kib();
        double t0 = now_ms();
        if (nf_cache_new(&cache) || nf_topology_dir_open(cache, topo, &td, &err)) {
            fprintf(stderr, "bench_extender: %s\n", err.msg);
            return 1;
        }
        double t1 = now_ms();
        malloc_trim(0);
        struct mallinfo2 m1 = mallinfo2();
        long r1 = rss_kib();
        size_t nodes = nf_cache_size(cache);
        if (!nodes) {
            fprintf(stderr, "bench_extender: no topology loaded from %s\n", topo);
            return 1;
        }
        printf("cache: %zu nodes loaded in %.0f ms; heap in use %.2f KiB/node (mallinfo2), "
               "RSS %.2f KiB/node\n",
               nodes, t1 - t0,
               (double)(m1.uordblks + m1.hblkhd - m0.uordblks - m0.hblkhd) / 1024.0 / (double)nodes,
               (double)(r1 - r0) / (double)nodes);
        if (loop > 0) {
            double *w = calloc((size_t)loop, sizeof(double));
            run_inproc(cache, &kinds[0], loop, w, d, e);
            run_inproc(cache, &kinds[1], loop, w, d, e);
            return 0;
        }
        printf("\nper request, in process, no HTTP (median ms)\n");
        printf("%-28s %8s %8s %8s\n", "", "decode", "fit+enc", "free");
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
            run_inproc(cache, &kinds[i], n < 50 ? n : 50, v, d, e);
        malloc_trim(0);
        struct mallinfo2 m2 = mallinfo2();
        printf("heap in use with every node's fit view built: %.2f KiB/node (mallinfo2)\n",
               (double)(m2.uordblks + m2.hblkhd - m0.uordblks - m0.hblkhd) / 1024.0 /
                   (double)nodes);
        nf_extender_config cfg = {.listen = "127.0.0.1:0", .threads = threads};
        if (nf_extender_http_start(&cfg, cache, &h, &err)) {
            fprintf(stderr, "bench_extender: %s\n", err.msg);
            return 1;
        }
        port = nf_extender_http_port(h);
    }
    if (n_hammer > 0) {
        bench_hammer(port, &kinds[0], n, n_hammer);
        free(names);
        free(list);
        free(v);
        free(d);
        free(e);
        return 0;
    }
    printf("\nover HTTP, %d requests each, one keep-alive connection (ms)\n", n);
    printf("%-28s %8s %8s %8s %9s\n", "", "median", "p99", "max", "req/s(1)");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        run_http(port, &kinds[i], n, v);
    nf_extender_http_stop(h, 1000);
    if (n_resv > 0 && cache)
        bench_reservations(cache, threads, &kinds[0], n, n_resv, v);
    nf_topology_dir_free(td);
    nf_cache_free(cache);
    free(names);
    free(list);
    free(v);
    free(d);
    free(e);
    return 0;
}
