/* test_puller.c - the exporter pullers against a real HTTP peer on loopback (a stand-in
 * for numafit-exporter, standin_exporter.h): first fetch, long-poll change latency, unchanged
 * answers, an exporter going away and coming back, broken exporters, DNS membership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "numafit/log.h"
#include "puller.h"
#include "standin_exporter.h"
#include "testutil.h"

static void test_opts(nf_puller_opts *o)
{
    nf_puller_opts_default(o);
    o->connect_timeout_ms = 500;
    o->request_timeout_ms = 5000;
    o->backoff_min_ms = 50;
    o->backoff_max_ms = 200;
    o->min_interval_ms = 200;
    o->dns_interval_ms = 100;
}

/* A new cache and a puller with options o filling it. */
static void new_puller(const nf_puller_opts *o, nf_cache **c, nf_puller **p)
{
    assert_int_equal(nf_cache_new(c), 0);
    assert_int_equal(nf_puller_new(*c, o, p), 0);
}

typedef enum want { W_PRESENT, W_GEN, W_STALE, W_FRESH, W_ABSENT } want;

/* Wait (at most limit_ms) until node is in the wanted state; returns the ms it took, or -1. */
static int64_t wait_for(nf_cache *c, const char *node, want w, uint64_t gen, int64_t limit_ms)
{
    int64_t t0 = nft_now_ms();
    for (;;) {
        nf_cache_entry *e = nf_cache_acquire(c, node);
        bool ok = false;
        switch (w) {
        case W_PRESENT:
            ok = e != NULL;
            break;
        case W_GEN:
            ok = e && e->topo.generation == gen && !e->stale;
            break;
        case W_STALE:
            ok = e && e->stale;
            break;
        case W_FRESH:
            ok = e && !e->stale;
            break;
        case W_ABSENT:
            ok = e == NULL;
            break;
        }
        nf_cache_release(e);
        int64_t took = nft_now_ms() - t0;
        if (ok)
            return took;
        if (took > limit_ms)
            return -1;
        usleep(1000);
    }
}

static void first_fetch_and_change_latency(void **state)
{
    standin s;
    assert_int_equal(standin_start(&s, "worker-1", 1, 3000), 0);
    char url[64];
    standin_url(&s, url, sizeof(url));
    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    new_puller(&o, &c, &p);
    char with_slash[80];
    snprintf(with_slash, sizeof(with_slash), "%s/", url);
    assert_int_equal(nf_puller_add_exporter(p, with_slash, NULL), 0);
    assert_int_equal(nf_puller_add_exporter(p, url, NULL), 0); /* the same exporter: once */
    assert_int_equal(nf_puller_start(p, NULL), 0);
    size_t n_exp;
    nf_puller_counts(p, &n_exp, NULL);
    assert_int_equal(n_exp, 1);

    assert_true(wait_for(c, "worker-1", W_GEN, 1, 2000) >= 0);
    nf_cache_entry *e = nf_cache_acquire(c, "worker-1");
    assert_string_equal(e->source, url);
    assert_int_equal(e->topo.n_numa_nodes, 2);
    nf_cache_release(e);

    /* idle: the long-poll is held, no polling */
    usleep(100000);
    int before = atomic_load(&s.requests);
    usleep(400000);
    assert_true(atomic_load(&s.requests) - before <= 1);

    int64_t worst = 0, sum = 0;
    for (uint64_t gen = 2; gen <= 6; gen++) {
        int64_t t0 = nft_now_ms();
        standin_publish(&s, "worker-1", gen, (int)gen);
        int64_t took = wait_for(c, "worker-1", W_GEN, gen, 1000);
        assert_true(took >= 0);
        took = nft_now_ms() - t0;
        worst = took > worst ? took : worst;
        sum += took;
        usleep(20000);
    }
    printf("# change -> cache latency over 5 changes: mean %.1f ms, worst %lld ms\n", sum / 5.0,
           (long long)worst);
    assert_true(worst < 1000);

    nf_puller_free(p);
    standin_free(&s);
    nf_cache_free(c);
}

static void unchanged_answer_refreshes(void **state)
{
    standin s;
    assert_int_equal(standin_start(&s, "worker-2", 7, 150), 0); /* holds only 150 ms */
    char url[64];
    standin_url(&s, url, sizeof(url));
    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    o.min_interval_ms = 50;
    new_puller(&o, &c, &p);
    assert_int_equal(nf_puller_add_exporter(p, url, NULL), 0);
    assert_int_equal(nf_puller_start(p, NULL), 0);
    assert_true(wait_for(c, "worker-2", W_GEN, 7, 2000) >= 0);
    nf_cache_entry *e = nf_cache_acquire(c, "worker-2");
    int64_t first = e->received_ms;
    nf_cache_release(e);
    usleep(500000);
    e = nf_cache_acquire(c, "worker-2");
    assert_true(e->received_ms > first); /* each held answer refreshed the entry */
    assert_int_equal(e->topo.generation, 7);
    assert_false(e->stale);
    nf_cache_release(e);
    nf_puller_free(p);
    standin_free(&s);
    nf_cache_free(c);
}

static void exporter_goes_away_and_comes_back(void **state)
{
    standin s;
    assert_int_equal(standin_start(&s, "worker-3", 1, 3000), 0);
    char url[64];
    standin_url(&s, url, sizeof(url));
    unsigned port = s.port;
    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    new_puller(&o, &c, &p);
    assert_int_equal(nf_puller_add_exporter(p, url, NULL), 0);
    assert_int_equal(nf_puller_start(p, NULL), 0);
    assert_true(wait_for(c, "worker-3", W_GEN, 1, 2000) >= 0);

    standin_close(&s);
    int64_t took = wait_for(c, "worker-3", W_STALE, 0, 2000);
    assert_true(took >= 0);
    printf("# exporter gone -> nodes stale in %lld ms\n", (long long)took);
    nf_cache_entry *e = nf_cache_acquire(c, "worker-3");
    assert_non_null(strstr(e->stale_reason, url));
    assert_int_equal(e->topo.generation, 1); /* not forgotten: the last document stays */
    nf_cache_release(e);
    size_t failing;
    usleep(100000);
    nf_puller_counts(p, NULL, &failing);
    assert_int_equal(failing, 1);
    assert_int_equal(nf_cache_stale_count(c), 1);

    standin_publish(&s, "worker-3", 9, 4);
    assert_int_equal(standin_listen(&s, port), 0);
    took = wait_for(c, "worker-3", W_GEN, 9, 3000);
    assert_true(took >= 0);
    printf("# exporter back -> node fresh in %lld ms\n", (long long)took);
    nf_puller_counts(p, NULL, &failing);
    assert_int_equal(failing, 0);
    assert_int_equal(nf_cache_stale_count(c), 0);
    nf_puller_free(p);
    standin_free(&s);
    nf_cache_free(c);
}

static void broken_exporters(void **state)
{
    /* A: ignores waitForGeneration (answers at once); B: garbage after a good document;
     * C: HTTP 503; D: a document over max_body */
    standin a, b, cc, d;
    assert_int_equal(standin_start(&a, "node-a", 1, 3000), 0);
    a.ignore_wait = true;
    assert_int_equal(standin_start(&b, "node-b", 1, 3000), 0);
    assert_int_equal(standin_start(&cc, "node-c", 1, 3000), 0);
    cc.status = 503;
    assert_int_equal(standin_start(&d, NULL, 1, 3000), 0);
    char big[20000];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    standin_publish_raw(&d, big, 1);

    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    o.max_body = 16000;
    new_puller(&o, &c, &p);
    char url[64];
    standin *all[] = {&a, &b, &cc, &d};
    for (int i = 0; i < 4; i++) {
        standin_url(all[i], url, sizeof(url));
        assert_int_equal(nf_puller_add_exporter(p, url, NULL), 0);
    }
    assert_int_equal(nf_puller_start(p, NULL), 0);
    assert_true(wait_for(c, "node-a", W_GEN, 1, 2000) >= 0);
    assert_true(wait_for(c, "node-b", W_GEN, 1, 2000) >= 0);

    int before = atomic_load(&a.requests);
    usleep(1000000);
    int in_1s = atomic_load(&a.requests) - before;
    printf("# an exporter ignoring waitForGeneration got %d requests in 1 s (min interval "
           "200 ms)\n",
           in_1s);
    assert_true(in_1s <= 7);

    standin_publish_raw(&b, "{\"apiVersion\": \"numafit.io/v1\", \"kind\": \"NodeTop", 2);
    assert_true(wait_for(c, "node-b", W_STALE, 0, 2000) >= 0);
    nf_cache_entry *e = nf_cache_acquire(c, "node-b");
    assert_non_null(strstr(e->stale_reason, "invalid JSON"));
    nf_cache_release(e);

    assert_null(nf_cache_acquire(c, "node-c")); /* never answered 200 */
    size_t failing;
    nf_puller_counts(p, NULL, &failing);
    assert_int_equal(failing, 3); /* b, c, d */
    assert_int_equal(nf_cache_size(c), 2);

    nf_puller_free(p);
    for (int i = 0; i < 4; i++)
        standin_free(all[i]);
    nf_cache_free(c);
}

/* A resolver the test controls, standing in for the cluster DNS. */
typedef struct fake_dns {
    pthread_mutex_t mu;
    char *urls[4];
    size_t n;
    atomic_int calls;
} fake_dns;

static int fake_resolve(void *ud, const char *host, const char *port, char ***urls, size_t *n,
                        nf_err *err)
{
    fake_dns *f = ud;
    atomic_fetch_add(&f->calls, 1);
    if (strcmp(host, "numafit-exporter.kube-system.svc") != 0 || strcmp(port, "9750") != 0)
        return nf_errf(err, -ENOENT, "unexpected host %s:%s", host, port);
    pthread_mutex_lock(&f->mu);
    *n = f->n;
    *urls = calloc(f->n + 1, sizeof(char *));
    for (size_t i = 0; i < f->n; i++)
        (*urls)[i] = strdup(f->urls[i]);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void dns_membership(void **state)
{
    standin a, b;
    assert_int_equal(standin_start(&a, "dns-a", 1, 3000), 0);
    assert_int_equal(standin_start(&b, "dns-b", 1, 3000), 0);
    char ua[64], ub[64];
    standin_url(&a, ua, sizeof(ua));
    standin_url(&b, ub, sizeof(ub));
    fake_dns f = {.mu = PTHREAD_MUTEX_INITIALIZER, .urls = {ua, ub}, .n = 2};

    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    o.resolve = fake_resolve;
    o.resolve_ud = &f;
    new_puller(&o, &c, &p);
    assert_int_equal(nf_puller_add_dns(p, "numafit-exporter.kube-system.svc:9750", NULL), 0);
    assert_int_equal(nf_puller_start(p, NULL), 0);
    assert_true(wait_for(c, "dns-a", W_GEN, 1, 2000) >= 0);
    assert_true(wait_for(c, "dns-b", W_GEN, 1, 2000) >= 0);

    pthread_mutex_lock(&f.mu);
    f.n = 1; /* b's record vanished */
    pthread_mutex_unlock(&f.mu);
    assert_true(wait_for(c, "dns-b", W_STALE, 0, 2000) >= 0);
    nf_cache_entry *e = nf_cache_acquire(c, "dns-b");
    assert_non_null(strstr(e->stale_reason, "no longer listed by DNS"));
    nf_cache_release(e);
    assert_true(wait_for(c, "dns-a", W_FRESH, 0, 10) >= 0);
    size_t n_exp;
    nf_puller_counts(p, &n_exp, NULL);
    assert_int_equal(n_exp, 1);

    pthread_mutex_lock(&f.mu);
    f.n = 2; /* and came back */
    pthread_mutex_unlock(&f.mu);
    assert_true(wait_for(c, "dns-b", W_FRESH, 0, 2000) >= 0);
    assert_true(atomic_load(&f.calls) >= 3); /* re-resolved periodically */
    nf_puller_free(p);
    standin_free(&a);
    standin_free(&b);
    nf_cache_free(c);
}

static void real_resolver_and_bad_config(void **state)
{
    char **urls;
    size_t n;
    nf_err err;
    assert_int_equal(nf_resolve_getaddrinfo(NULL, "127.0.0.1", "9750", &urls, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(urls[0], "http://127.0.0.1:9750");
    free(urls[0]);
    free(urls);
    assert_int_equal(nf_resolve_getaddrinfo(NULL, "::1", "9750", &urls, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(urls[0], "http://[::1]:9750");
    free(urls[0]);
    free(urls);
    assert_true(nf_resolve_getaddrinfo(NULL, "no-such-host.invalid", "9750", &urls, &n, &err) < 0);

    /* the real resolver end to end: a numeric "host" resolves to the stand-in */
    standin s;
    assert_int_equal(standin_start(&s, "gai-node", 3, 3000), 0);
    nf_cache *c;
    nf_puller *p;
    nf_puller_opts o;
    test_opts(&o);
    new_puller(&o, &c, &p);
    char hp[64];
    snprintf(hp, sizeof(hp), "127.0.0.1:%u", s.port);
    assert_int_equal(nf_puller_add_dns(p, hp, NULL), 0);
    assert_int_equal(nf_puller_add_exporter(p, "ftp://x:1", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "http://"));
    assert_int_equal(nf_puller_add_dns(p, "no-port", &err), -EINVAL);
    assert_int_equal(nf_puller_add_dns(p, "host:99999", &err), -EINVAL);
    assert_int_equal(nf_puller_add_dns(p, "[::1]:9750", &err), 0);
    assert_int_equal(nf_puller_start(p, NULL), 0);
    assert_true(wait_for(c, "gai-node", W_GEN, 3, 2000) >= 0);
    nf_puller_free(p);
    standin_free(&s);
    nf_cache_free(c);
}

int main(void)
{
    nf_log_set_level(NF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_fetch_and_change_latency),
        cmocka_unit_test(unchanged_answer_refreshes),
        cmocka_unit_test(exporter_goes_away_and_comes_back),
        cmocka_unit_test(broken_exporters),
        cmocka_unit_test(dns_membership),
        cmocka_unit_test(real_resolver_and_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
