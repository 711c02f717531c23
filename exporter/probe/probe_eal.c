/* probe_eal.c - the child side of the DPDK probe: the only file that includes DPDK headers
 * (DPDK's cflags, `-include rte_config.h -march=corei7`, stay private to it; see CMakeLists.txt
 * here).
 *
 * Runs in a fresh process (the program re-executed with NF_PROBE_CHILD_ENV set, entered from the
 * constructor at the end of this file): EAL init with the argv nf_probe_build_eal_argv() built,
 * then for every requested device: find its ethdev port, read PMD name / MAC / max rx queues,
 * configure 1 rx + 1 tx queue with a mempool on the device's socket, start, read the link
 * without waiting, stop, close. One JSON object per line goes to out_fd:
 *   {"eal":"ok"} | {"eal":"failed","error":"..."}
 *   {"device":"net_null0","status":"ok","pmd":"net_null","mac":"..","link":"down","maxRxQueues":1}
 *   {"done":true}
 * EAL's own log goes to a memory stream, so its reasons can be quoted in a "failed: ..." status
 * and nothing reaches the exporter's stdout/stderr.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpdk_probe.h"

#define POOL_MBUFS 2047
#define RING_DESC 512

typedef struct eal_log {
    FILE *f;
    char *buf;
    size_t len;
} eal_log;

static void emit(int fd, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return;
    size_t n = strlen(s);
    const char *p = s;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    while (write(fd, "\n", 1) < 0 && errno == EINTR)
        ;
    free(s);
}

/* The last EAL log line written at or after offset `from` that mentions `needle` (any line
 * when needle is NULL); trailing newline removed, "EAL: " prefix kept. */
static void log_reason(eal_log *l, size_t from, const char *needle, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!l->f)
        return;
    fflush(l->f);
    if (!l->buf || from >= l->len)
        return;
    const char *p = l->buf + from, *end = l->buf + l->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            char line[512];
            size_t c = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
            memcpy(line, p, c);
            line[c] = '\0';
            if (outlen && (!needle || strstr(line, needle))) {
                size_t k = c < outlen - 1 ? c : outlen - 1; /* the message may be cut */
                memcpy(out, line, k);
                out[k] = '\0';
            }
        }
        p += n + 1;
    }
}

static size_t log_mark(eal_log *l)
{
    if (!l->f)
        return 0;
    fflush(l->f);
    return l->len;
}

/* NUMAFIT_PROBE_EAL_LOG=1 in the environment: copy EAL's captured log to stderr (debugging a
 * probe by hand: `NUMAFIT_PROBE_EAL_LOG=1 numafit-exporter probe --pci ...`). */
static void dump_log(eal_log *l)
{
    const char *v = getenv("NUMAFIT_PROBE_EAL_LOG");
    if (!v || !*v || strcmp(v, "0") == 0 || !l->f)
        return;
    fflush(l->f);
    if (l->buf && l->len)
        fwrite(l->buf, 1, l->len, stderr);
}

static json_t *dev_json(const char *dev, const char *status)
{
    return json_pack("{s:s,s:s}", "device", dev, "status", status);
}

static void failf(json_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(json_t *o, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_object_set_new(o, "status", json_string(buf));
}

/* The port whose rte_device is named `name`, or RTE_MAX_ETHPORTS. */
static uint16_t find_port(const char *name)
{
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port)
    {
        struct rte_eth_dev_info info;
        if (rte_eth_dev_info_get(port, &info) != 0 || !info.device)
            continue;
        const char *dn = rte_dev_name(info.device);
        if (dn && strcmp(dn, name) == 0)
            return port;
        char pn[RTE_ETH_NAME_MAX_LEN];
        if (rte_eth_dev_get_name_by_port(port, pn) == 0 && strcmp(pn, name) == 0)
            return port;
    }
    return RTE_MAX_ETHPORTS;
}

static struct rte_mempool *pool_for(struct rte_mempool **pools, int socket, bool huge)
{
    /* Without hugepages EAL has memory on no particular socket: allocate anywhere. */
    int s = (!huge || socket < 0) ? SOCKET_ID_ANY : socket;
    int slot = s == SOCKET_ID_ANY ? 0 : (s % (RTE_MAX_NUMA_NODES - 1)) + 1;
    if (!pools[slot]) {
        char name[RTE_MEMPOOL_NAMESIZE];
        snprintf(name, sizeof(name), "nfprobe_%d", slot);
        pools[slot] =
            rte_pktmbuf_pool_create(name, POOL_MBUFS, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, s);
    }
    return pools[slot];
}

static void probe_port(const char *dev, uint16_t port, bool huge, struct rte_mempool **pools,
                       json_t *o, eal_log *l)
{
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) {
        failf(o, "failed: rte_eth_dev_info_get: %s", rte_strerror(-rc));
        return;
    }
    if (info.driver_name)
        json_object_set_new(o, "pmd", json_string(info.driver_name));
    json_object_set_new(o, "maxRxQueues", json_integer(info.max_rx_queues));
    struct rte_ether_addr mac;
    if (rte_eth_macaddr_get(port, &mac) == 0) {
        char m[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(m, sizeof(m), &mac);
        for (char *c = m; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        json_object_set_new(o, "mac", json_string(m));
    }
    json_object_set_new(o, "link", json_string("unknown"));

    int sock = rte_eth_dev_socket_id(port);
    int qsock = (!huge || sock < 0) ? SOCKET_ID_ANY : sock;
    size_t mark = log_mark(l);
    char why[300];
    struct rte_mempool *mp = pool_for(pools, sock, huge);
    if (!mp) {
        log_reason(l, mark, NULL, why, sizeof(why));
        failf(o, "failed: mbuf pool on socket %d: %s%s%s", sock, rte_strerror(rte_errno),
              why[0] ? "; " : "", why);
        return;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    uint16_t nrx = RING_DESC, ntx = RING_DESC;
    if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) != 0) {
        log_reason(l, mark, NULL, why, sizeof(why));
        failf(o, "failed: rte_eth_dev_configure: %s%s%s", rte_strerror(-rc), why[0] ? "; " : "",
              why);
        return;
    }
    if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx)) != 0) {
        failf(o, "failed: rte_eth_dev_adjust_nb_rx_tx_desc: %s", rte_strerror(-rc));
        goto close;
    }
    if ((rc = rte_eth_rx_queue_setup(port, 0, nrx, (unsigned)qsock, NULL, mp)) != 0) {
        log_reason(l, mark, NULL, why, sizeof(why));
        failf(o, "failed: rte_eth_rx_queue_setup: %s%s%s", rte_strerror(-rc), why[0] ? "; " : "",
              why);
        goto close;
    }
    if ((rc = rte_eth_tx_queue_setup(port, 0, ntx, (unsigned)qsock, NULL)) != 0) {
        log_reason(l, mark, NULL, why, sizeof(why));
        failf(o, "failed: rte_eth_tx_queue_setup: %s%s%s", rte_strerror(-rc), why[0] ? "; " : "",
              why);
        goto close;
    }
    if ((rc = rte_eth_dev_start(port)) != 0) {
        log_reason(l, mark, NULL, why, sizeof(why));
        failf(o, "failed: rte_eth_dev_start: %s%s%s", rte_strerror(-rc), why[0] ? "; " : "", why);
        goto close;
    }
    struct rte_eth_link link;
    memset(&link, 0, sizeof(link));
    if (rte_eth_link_get_nowait(port, &link) == 0)
        json_object_set_new(o, "link", json_string(link.link_status ? "up" : "down"));
    if ((rc = rte_eth_dev_stop(port)) != 0) {
        failf(o, "failed: rte_eth_dev_stop: %s", rte_strerror(-rc));
        goto close;
    }
    json_object_set_new(o, "status", json_string("ok"));
close:
    if ((rc = rte_eth_dev_close(port)) != 0 &&
        strcmp(json_string_value(json_object_get(o, "status")), "ok") == 0)
        failf(o, "failed: rte_eth_dev_close: %s", rte_strerror(-rc));
    (void)dev;
}

int nf__probe_child_main(int argc, char **argv, const nf__probe_child_req *req, int out_fd)
{
    eal_log l = {0};
    l.f = open_memstream(&l.buf, &l.len);
    if (l.f)
        rte_openlog_stream(l.f);
    int rc = rte_eal_init(argc, argv);
    if (rc < 0) {
        char why[300], msg[400];
        log_reason(&l, 0, "EAL: ", why, sizeof(why));
        snprintf(msg, sizeof(msg), "rte_eal_init: %s%s%s", rte_strerror(rte_errno),
                 why[0] ? "; " : "", why);
        emit(out_fd, json_pack("{s:s,s:s}", "eal", "failed", "error", msg));
        emit(out_fd, json_pack("{s:b}", "done", 1));
        dump_log(&l);
        return 3;
    }
    emit(out_fd, json_pack("{s:s}", "eal", "ok"));

    struct rte_mempool *pools[RTE_MAX_NUMA_NODES] = {0};
    size_t total = req->n_pci + req->n_vdevs;
    for (size_t i = 0; i < total; i++) {
        bool is_pci = i < req->n_pci;
        const char *dev = is_pci ? req->pci[i] : req->vdevs[i - req->n_pci];
        json_t *o = dev_json(dev, "failed: unknown");
        uint16_t port = find_port(dev);
        if (port == RTE_MAX_ETHPORTS && is_pci) {
            /* Not probed at init: ask EAL to attach it now, which names the reason. */
            size_t mark = log_mark(&l);
            int prc = rte_dev_probe(dev);
            port = find_port(dev);
            if (port == RTE_MAX_ETHPORTS) {
                char why[300];
                log_reason(&l, mark, dev, why, sizeof(why));
                if (!why[0])
                    log_reason(&l, mark, NULL, why, sizeof(why));
                failf(o, "failed: EAL could not open %s: %s%s%s", dev,
                      prc ? rte_strerror(-prc) : "no ethdev port", why[0] ? "; " : "", why);
            }
        } else if (port == RTE_MAX_ETHPORTS) {
            char why[300];
            log_reason(&l, 0, dev, why, sizeof(why));
            failf(o, "failed: no ethdev port for %s%s%s", dev, why[0] ? "; " : "", why);
        }
        if (port != RTE_MAX_ETHPORTS)
            probe_port(dev, port, req->hugepages, pools, o, &l);
        emit(out_fd, o);
    }
    emit(out_fd, json_pack("{s:b}", "done", 1));
    dump_log(&l);
    for (size_t i = 0; i < RTE_MAX_NUMA_NODES; i++)
        rte_mempool_free(pools[i]);
    rte_eal_cleanup();
    return 0;
}

int nf__probe_child_spec(const nf__probe_child_req *req, char **out)
{
    size_t len = sizeof(NF_PROBE_CHILD_ENV) + 32;
    for (size_t i = 0; i < req->n_pci; i++)
        len += strlen(req->pci[i]) + 1;
    for (size_t i = 0; i < req->n_vdevs; i++)
        len += strlen(req->vdevs[i]) + 1;
    char *spec = malloc(len), *p = spec;
    if (!spec)
        return -ENOMEM;
    p += sprintf(p, "%s=h=%d pci=", NF_PROBE_CHILD_ENV, req->hugepages);
    for (size_t i = 0; i < req->n_pci; i++)
        p += sprintf(p, "%s%s", i ? "," : "", req->pci[i]);
    p += sprintf(p, " vdev=");
    for (size_t i = 0; i < req->n_vdevs; i++)
        p += sprintf(p, "%s%s", i ? "," : "", req->vdevs[i]);
    *out = spec;
    return 0;
}

/* Split "a,b,c" in place into list (at most max entries). */
static size_t split_list(char *s, char **list, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        list[n++] = tok;
    return n;
}

/* Entry of a re-executed probe child (see NF_PROBE_CHILD_ENV): glibc passes argc/argv to
 * constructors, so the child never reaches the program's own main(). */
__attribute__((constructor)) static void probe_child_entry(int argc, char **argv, char **envp)
{
    (void)envp;
    const char *spec = getenv(NF_PROBE_CHILD_ENV);
    if (!spec)
        return;
    static char buf[65536];
    static char *pci[RTE_MAX_ETHPORTS], *vdevs[RTE_MAX_ETHPORTS];
    snprintf(buf, sizeof(buf), "%s", spec);
    nf__probe_child_req req = {0};
    char *save = NULL;
    for (char *field = strtok_r(buf, " ", &save); field; field = strtok_r(NULL, " ", &save)) {
        if (strncmp(field, "h=", 2) == 0)
            req.hugepages = field[2] == '1';
        else if (strncmp(field, "pci=", 4) == 0)
            req.n_pci = split_list(field + 4, pci, RTE_MAX_ETHPORTS);
        else if (strncmp(field, "vdev=", 5) == 0)
            req.n_vdevs = split_list(field + 5, vdevs, RTE_MAX_ETHPORTS);
    }
    req.pci = (const char *const *)pci;
    req.vdevs = (const char *const *)vdevs;
    unsetenv(NF_PROBE_CHILD_ENV);
    _exit(nf__probe_child_main(argc, argv, &req, 3));
}
