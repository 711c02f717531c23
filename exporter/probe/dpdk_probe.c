/* dpdk_probe.c - the parent side of the DPDK probe (see dpdk_probe.h): pure helpers, the EAL
 * argv builder, fork + pipe + hard timeout, and batching of devices into EAL runs. No DPDK
 * header is included here; the child's EAL code lives in probe_eal.c. */
#include "dpdk_probe.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "numafit/buf.h"
#include "numafit/clock.h"
#include "numafit/fileio.h"

#define MAX_CHILD_OUTPUT (1 << 20)

bool nf_probe_have_dpdk(void)
{
#ifdef NF_HAVE_DPDK
    return true;
#else
    return false;
#endif
}

/* ---- pure helpers ---------------------------------------------------------------------- */

static int hexfield(const char **p, unsigned maxdigits, unsigned long *out)
{
    const char *s = *p;
    unsigned n = 0;
    unsigned long v = 0;
    while (isxdigit((unsigned char)s[n]) && n < maxdigits + 1) {
        int c = tolower((unsigned char)s[n]);
        v = v * 16 + (unsigned long)(isdigit(c) ? c - '0' : c - 'a' + 10);
        n++;
    }
    if (n == 0 || n > maxdigits)
        return -EINVAL;
    *p = s + n;
    *out = v;
    return 0;
}

int nf_probe_pci_canon(const char *s, char out[24])
{
    if (!s)
        return -EINVAL;
    unsigned long f[4];
    const char *p = s;
    /* count the colons to know whether a domain is present */
    int colons = 0;
    for (const char *q = s; *q; q++)
        colons += *q == ':';
    unsigned long dom = 0;
    if (colons == 2) {
        if (hexfield(&p, 8, &dom) || *p++ != ':')
            return -EINVAL;
    } else if (colons != 1) {
        return -EINVAL;
    }
    if (hexfield(&p, 2, &f[0]) || *p++ != ':' || hexfield(&p, 2, &f[1]) || *p++ != '.' ||
        hexfield(&p, 1, &f[2]) || *p != '\0')
        return -EINVAL;
    if (f[1] > 0x1f || f[2] > 7 || dom > 0xffffffffUL)
        return -EINVAL;
    snprintf(out, 24, "%04lx:%02lx:%02lx.%lx", dom, f[0], f[1], f[2]);
    return 0;
}

static int first_of(const nf_cpuset *s, const nf_cpuset *allowed)
{
    if (!s)
        return -1;
    for (int c = nf_cpuset_next(s, 0); c >= 0; c = nf_cpuset_next(s, (unsigned)c + 1))
        if (!allowed || nf_cpuset_empty(allowed) || nf_cpuset_test(allowed, (unsigned)c))
            return c;
    return -1;
}

int nf_probe_pick_lcore(const nf_cpuset *node_reserved, const nf_cpuset *all_reserved,
                        const nf_cpuset *node_online, const nf_cpuset *allowed)
{
    int c;
    if ((c = first_of(node_reserved, allowed)) >= 0)
        return c;
    if ((c = first_of(all_reserved, allowed)) >= 0)
        return c;
    return first_of(node_online, allowed);
}

int nf_probe_precheck(const char *sysfs_root, const char *pci, char *reason, size_t len)
{
    char dir[PATH_MAX], link[PATH_MAX + 16], target[PATH_MAX];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs_root ? sysfs_root : "/sys", pci);
    if (stat(dir, &st) != 0)
        return 0; /* EAL will say why it cannot open it */
    snprintf(link, sizeof(link), "%s/driver", dir);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0) {
        snprintf(reason, len, "skipped: not bound to a driver (bind it to vfio-pci)");
        return 1;
    }
    target[n] = '\0';
    const char *drv = strrchr(target, '/');
    drv = drv ? drv + 1 : target;
    if (strcmp(drv, "vfio-pci") == 0) {
        snprintf(link, sizeof(link), "%s/iommu_group", dir);
        if (lstat(link, &st) != 0) {
            snprintf(reason, len,
                     "skipped: bound to vfio-pci but has no IOMMU group (enable the IOMMU, or "
                     "vfio no-IOMMU mode)");
            return 1;
        }
        return 0;
    }
    if (strcmp(drv, "igb_uio") == 0 || strcmp(drv, "uio_pci_generic") == 0 ||
        strcmp(drv, "mlx5_core") == 0)
        return 0;
    snprintf(reason, len,
             "skipped: bound to kernel driver %s, not DPDK-capable (bind to vfio-pci, igb_uio or "
             "uio_pci_generic)",
             drv);
    return 1;
}

int64_t nf_probe_sysfs_free_huge_bytes(const char *sysfs_root, int node)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/devices/system/node/node%d/hugepages",
             sysfs_root ? sysfs_root : "/sys", node);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long kb;
        if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1 || kb == 0 || kb > (1UL << 30))
            continue;
        char *p = nf_path_join(dir, e->d_name, "free_hugepages", NULL);
        int64_t freep = 0;
        if (p && nf_read_int64(p, 0, INT32_MAX, &freep, NULL) == 0)
            total += freep * (int64_t)kb * 1024;
        free(p);
    }
    closedir(d);
    return total;
}

/* ---- argv builder ---------------------------------------------------------------------- */

typedef struct strvec {
    char **v;
    int n, cap;
    int rc;
} strvec;

static void sv_addf(strvec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sv_addf(strvec *s, const char *fmt, ...)
{
    if (s->rc)
        return;
    if (s->n + 2 > s->cap) {
        int cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, sizeof(*v) * (size_t)cap);
        if (!v) {
            s->rc = -ENOMEM;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s->v[s->n], fmt, ap);
    va_end(ap);
    if (r < 0) {
        s->rc = -ENOMEM;
        return;
    }
    s->v[++s->n] = NULL;
}

void nf_probe_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static int mem_mb_for(const nf_probe_eal_cfg *c)
{
    if (c->mem_mb > 0)
        return c->mem_mb;
    return NF_PROBE_MIN_MEM_MB + 2 * (int)(c->n_pci + c->n_vdevs);
}

int nf_probe_build_eal_argv(const nf_probe_eal_cfg *c, char ***argv, int *argc, nf_err *err)
{
    *argv = NULL;
    *argc = 0;
    if (!c->file_prefix || !*c->file_prefix || strchr(c->file_prefix, '/'))
        return nf_errf(err, -EINVAL, "probe: EAL file prefix missing or contains '/'");
    if (c->lcore < 0 || c->lcore > NF_CPU_MAX)
        return nf_errf(err, -EINVAL, "probe: lcore %d out of range", c->lcore);
    if (c->n_pci + c->n_vdevs == 0)
        return nf_errf(err, -EINVAL, "probe: no device to probe");
    if (c->socket > 1023)
        return nf_errf(err, -EINVAL, "probe: socket %d out of range", c->socket);
    for (size_t i = 0; i < c->n_pci; i++) {
        char canon[24];
        if (nf_probe_pci_canon(c->pci[i], canon) || strcmp(canon, c->pci[i]) != 0)
            return nf_errf(err, -EINVAL, "probe: %s is not a canonical PCI address", c->pci[i]);
    }
    for (size_t i = 0; i < c->n_vdevs; i++)
        if (!c->vdevs[i] || !*c->vdevs[i] || *c->vdevs[i] == ',' || *c->vdevs[i] == '-')
            return nf_errf(err, -EINVAL, "probe: bad vdev '%s'", c->vdevs[i] ? c->vdevs[i] : "");
    int mb = mem_mb_for(c);
    strvec s = {0};
    bool huge = c->hugepages && c->socket >= 0;
    sv_addf(&s, "numafit-probe");
    /* --no-huge implies legacy memory, which --in-memory refuses: --no-shconf is what is left
     * of it there (no shared config, no IPC socket); the memory itself is anonymous anyway */
    sv_addf(&s, huge ? "--in-memory" : "--no-shconf");
    sv_addf(&s, "--file-prefix=%s", c->file_prefix);
    sv_addf(&s, "--no-telemetry");
    sv_addf(&s, "-l");
    sv_addf(&s, "%d", c->lcore);
    if (huge) {
        /* --socket-mem=0,0,M: memory only on the devices' socket */
        size_t cap = (size_t)c->socket * 2 + 16;
        char *list = malloc(cap);
        if (!list) {
            s.rc = -ENOMEM;
        } else {
            size_t o = 0;
            for (int i = 0; i < c->socket; i++)
                o += (size_t)snprintf(list + o, cap - o, "0,");
            snprintf(list + o, cap - o, "%d", mb);
            sv_addf(&s, "--socket-mem=%s", list);
            free(list);
        }
    } else {
        sv_addf(&s, "--no-huge");
        sv_addf(&s, "-m");
        sv_addf(&s, "%d", mb);
    }
    if (c->n_pci == 0)
        sv_addf(&s, "--no-pci");
    for (size_t i = 0; i < c->n_pci; i++) {
        sv_addf(&s, "-a");
        sv_addf(&s, "%s", c->pci[i]);
    }
    for (size_t i = 0; i < c->n_vdevs; i++)
        sv_addf(&s, "--vdev=%s", c->vdevs[i]);
    if (s.rc) {
        nf_probe_argv_free(s.v);
        return nf_errf(err, s.rc, "probe: out of memory building EAL arguments");
    }
    *argv = s.v;
    *argc = s.n;
    return 0;
}

/* ---- one EAL run ----------------------------------------------------------------------- */

void nf_probe_dev_result_free(nf_probe_dev_result *r)
{
    if (!r)
        return;
    free(r->device);
    free(r->status);
    free(r->pmd);
    free(r->mac);
    free(r->link);
    memset(r, 0, sizeof(*r));
    r->max_rx_queues = NF_UNKNOWN;
}

void nf_probe_run_free(nf_probe_run *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_results; i++)
        nf_probe_dev_result_free(&r->results[i]);
    free(r->results);
    nf_probe_argv_free(r->argv);
    free(r->eal_error);
    memset(r, 0, sizeof(*r));
}

static char *vdev_name(const char *spec)
{
    const char *comma = strchr(spec, ',');
    return strndup(spec, comma ? (size_t)(comma - spec) : strlen(spec));
}

static void set_str(char **dst, const char *src)
{
    if (nf_strset(dst, src) != 0) {
        /* out of memory: keep the old value */
    }
}

#ifdef NF_HAVE_DPDK
/* ---- the EAL child: fork, read its answer, reap (only with DPDK) ------------------------- */

static void apply_line(nf_probe_run *r, const char *line, bool *done)
{
    json_t *o = json_loads(line, 0, NULL);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return;
    }
    const char *eal = json_string_value(json_object_get(o, "eal"));
    if (eal && strcmp(eal, "ok") != 0) {
        const char *e = json_string_value(json_object_get(o, "error"));
        set_str(&r->eal_error, e ? e : "rte_eal_init failed");
    }
    if (json_is_true(json_object_get(o, "done")))
        *done = true;
    const char *dev = json_string_value(json_object_get(o, "device"));
    const char *st = json_string_value(json_object_get(o, "status"));
    for (size_t i = 0; dev && st && i < r->n_results; i++) {
        nf_probe_dev_result *d = &r->results[i];
        if (strcmp(d->device, dev) != 0 || d->status)
            continue;
        set_str(&d->status, st);
        set_str(&d->pmd, json_string_value(json_object_get(o, "pmd")));
        set_str(&d->mac, json_string_value(json_object_get(o, "mac")));
        set_str(&d->link, json_string_value(json_object_get(o, "link")));
        json_t *q = json_object_get(o, "maxRxQueues");
        if (json_is_integer(q) && json_integer_value(q) >= 0 && json_integer_value(q) <= INT_MAX)
            d->max_rx_queues = (int)json_integer_value(q);
        break;
    }
    json_decref(o);
}

/* The child re-executes the running program (/proc/self/exe) instead of running EAL in the fork:
 * the exporter is multi-threaded, and a forked copy of it may only call async-signal-safe
 * functions (a lock another thread held at fork time - malloc's, ASan's, stdio's - stays locked
 * for ever in the child). Everything the child needs is built before fork(); the new process
 * starts EAL from a constructor in probe_eal.c that sees NF_PROBE_CHILD_ENV. */
typedef struct child_exec {
    char **envp;
    char *spec;
} child_exec;

static void child_exec_free(child_exec *x)
{
    free(x->envp);
    free(x->spec);
}

static int child_exec_prepare(const nf__probe_child_req *req, child_exec *x)
{
    extern char **environ;
    size_t n = 0;
    memset(x, 0, sizeof(*x));
    if (nf__probe_child_spec(req, &x->spec) != 0)
        return -ENOMEM;
    while (environ && environ[n])
        n++;
    if (!(x->envp = calloc(n + 2, sizeof(char *)))) {
        child_exec_free(x);
        return -ENOMEM;
    }
    size_t k = 0, plen = strlen(NF_PROBE_CHILD_ENV);
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], NF_PROBE_CHILD_ENV, plen) != 0 || environ[i][plen] != '=')
            x->envp[k++] = environ[i];
    x->envp[k] = x->spec;
    return 0;
}

/* After fork(): async-signal-safe calls only. */
static _Noreturn void child_run(nf_probe_run *r, int wfd, const nf_probe_run_opts *o,
                                const child_exec *x)
{
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(125);
    /* keep only stdio and the result pipe (as fd 3): the child must not hold the daemon's
     * sockets; stdout goes to /dev/null so `numafit-exporter probe` prints only its JSON */
    if (wfd != 3) {
        if (dup2(wfd, 3) < 0)
            _exit(124);
    } else if (fcntl(3, F_SETFD, 0) < 0) { /* the pipe was made O_CLOEXEC */
        _exit(124);
    }
    close_range(4, ~0U, 0);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    signal(SIGPIPE, SIG_DFL);
    if (o->test_hang)
        for (;;)
            pause();
    execve("/proc/self/exe", r->argv, x->envp);
    _exit(123);
}

/* EAL creates <runtime>/dpdk/<prefix>/ even in --in-memory/--no-shconf mode and never removes
 * it; with a fresh prefix per run those would pile up, so the parent removes its own. <runtime>
 * is what EAL uses: /var/run for root, else $XDG_RUNTIME_DIR, else /tmp. */
static void remove_runtime_dir(const char *prefix)
{
    const char *base = getuid() == 0 ? "/var/run" : getenv("XDG_RUNTIME_DIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/dpdk/%s", base ? base : "/tmp", prefix);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "failed: probe child exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "failed: probe child killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "failed: probe child ended oddly (status %d)", status);
}

/* How a child's run ended, as the parent saw it. */
typedef struct child_end {
    bool done;      /* it said {"done": true} */
    bool timed_out; /* the deadline passed first */
    bool cancelled; /* o->cancel_fd turned readable first */
    int status;     /* waitpid's */
} child_end;

/* Its result lines into r, until it closes the pipe, the deadline passes or a cancel comes. */
static void read_child(int fd, const nf_probe_run_opts *o, int64_t deadline, nf_probe_run *r,
                       child_end *end)
{
    nf_buf b = {.max = MAX_CHILD_OUTPUT}; /* a child that talks more is broken: stop listening */
    for (;;) {
        int64_t left = deadline - nf_mono_ms();
        if (left <= 0) {
            end->timed_out = true;
            break;
        }
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN},
                                {.fd = o->cancel_fd, .events = POLLIN}};
        int nfds = o->cancel_fd >= 0 ? 2 : 1;
        int pr = poll(fds, (nfds_t)nfds, (int)(left > INT_MAX ? INT_MAX : left));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            break;
        if (nfds == 2 && (fds[1].revents & POLLIN)) {
            end->cancelled = true;
            break;
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (nf_buf_reserve(&b, 4096))
            break;
        ssize_t got = read(fd, b.p + b.len, b.cap - b.len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* end of file */
        b.len += (size_t)got;
        b.p[b.len] = '\0';
        char *nl;
        while ((nl = memchr(b.p, '\n', b.len))) {
            *nl = '\0';
            apply_line(r, b.p, &end->done);
            size_t used = (size_t)(nl - b.p) + 1;
            memmove(b.p, nl + 1, b.len - used);
            b.len -= used;
            b.p[b.len] = '\0';
        }
    }
    nf_buf_free(&b);
}

/* Waits for its exit until the deadline (EAL cleanup may lag), then kills it; never leaves a
 * zombie. */
static void reap_child(pid_t pid, int64_t deadline, child_end *end)
{
    bool reaped = false;
    while (!end->timed_out && !end->cancelled) {
        pid_t w = waitpid(pid, &end->status, WNOHANG);
        if (w == pid) {
            reaped = true;
            break;
        }
        if (w < 0 && errno != EINTR)
            break;
        if (nf_mono_ms() >= deadline) {
            end->timed_out = true;
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!reaped) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &end->status, 0) < 0 && errno == EINTR)
            ;
    }
}

/* One EAL run of cfg's devices in a child: fork + exec, its answers into out (device statuses,
 * eal_error), a hard deadline, reaped. *fallback: the status of a device it said nothing of
 * (NULL: the caller's default; why holds the text when it is a description of the exit). 0, or
 * a negative errno (err says what) when no child could be started. */
static int run_child(const nf_probe_run_opts *o, const nf_probe_eal_cfg *cfg,
                     const char *const *vnames, int64_t t0, nf_probe_run *out,
                     const char **fallback, char *why, size_t why_len, nf_err *err)
{
    nf__probe_child_req req = {
        .pci = cfg->pci,
        .n_pci = cfg->n_pci,
        .vdevs = vnames,
        .n_vdevs = cfg->n_vdevs,
        .hugepages = cfg->hugepages,
    };
    child_exec x;
    if (child_exec_prepare(&req, &x) != 0)
        return nf_errf(err, -ENOMEM, "probe: out of memory");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        int rc = nf_errf(err, -errno, "probe: pipe: %s", strerror(errno));
        child_exec_free(&x);
        return rc;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int rc = nf_errf(err, -errno, "probe: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        child_exec_free(&x);
        return rc;
    }
    if (pid == 0)
        child_run(out, pfd[1], o, &x); /* dup2 to fd 3 clears O_CLOEXEC on the copy */
    close(pfd[1]);
    child_exec_free(&x);
    int64_t deadline = t0 + (o->timeout_ms > 0 ? o->timeout_ms : NF_PROBE_DEFAULT_TIMEOUT_MS);
    child_end end = {0};
    read_child(pfd[0], o, deadline, out, &end);
    close(pfd[0]);
    reap_child(pid, deadline, &end);
    remove_runtime_dir(cfg->file_prefix);
    if (end.cancelled) {
        *fallback = "failed: cancelled";
        if (!end.done && !out->eal_error)
            set_str(&out->eal_error, "cancelled");
    } else if (end.timed_out) {
        *fallback = NF_PROBE_TIMEOUT;
        if (!end.done && !out->eal_error)
            set_str(&out->eal_error, "timeout");
    } else if (!end.done || !WIFEXITED(end.status) ||
               (WEXITSTATUS(end.status) != 0 && !out->eal_error)) {
        describe_exit(end.status, why, why_len);
        *fallback = why;
    }
    return 0;
}
#else
static int run_child(const nf_probe_run_opts *o, const nf_probe_eal_cfg *cfg,
                     const char *const *vnames, int64_t t0, nf_probe_run *out,
                     const char **fallback, char *why, size_t why_len, nf_err *err)
{
    *fallback = NF_PROBE_NO_DPDK;
    return 0;
}
#endif

int nf_probe_run_eal(const nf_probe_run_opts *o, nf_probe_run *out, nf_err *err)
{
    static atomic_uint counter;
    memset(out, 0, sizeof(*out));
    nf_probe_eal_cfg cfg = o->eal;
    char prefix[64];
    if (!cfg.file_prefix) {
        snprintf(prefix, sizeof(prefix), "nfprobe-%d-%u", (int)getpid(),
                 atomic_fetch_add(&counter, 1));
        cfg.file_prefix = prefix;
    }
    if (cfg.hugepages && cfg.socket < 0)
        cfg.hugepages = false;
    int rc = nf_probe_build_eal_argv(&cfg, &out->argv, &out->argc, err);
    if (rc)
        return rc;
    out->hugepages = cfg.hugepages;
    size_t n = cfg.n_pci + cfg.n_vdevs;
    char **vnames = calloc(cfg.n_vdevs + 1, sizeof(char *));
    out->results = calloc(n, sizeof(*out->results));
    if (!vnames || !out->results) {
        free(vnames);
        nf_probe_run_free(out);
        return nf_errf(err, -ENOMEM, "probe: out of memory");
    }
    out->n_results = n;
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        out->results[i].max_rx_queues = NF_UNKNOWN;
        if (i < cfg.n_pci) {
            out->results[i].device = strdup(cfg.pci[i]);
        } else {
            vnames[i - cfg.n_pci] = vdev_name(cfg.vdevs[i - cfg.n_pci]);
            out->results[i].device = vnames[i - cfg.n_pci] ? strdup(vnames[i - cfg.n_pci]) : NULL;
        }
        if (!out->results[i].device)
            rc = -ENOMEM;
    }
    if (rc) {
        for (size_t i = 0; i < cfg.n_vdevs; i++)
            free(vnames[i]);
        free(vnames);
        nf_probe_run_free(out);
        return nf_errf(err, -ENOMEM, "probe: out of memory");
    }
    int64_t t0 = nf_mono_ms();
    const char *fallback = NULL;
    char why[160] = "";
    rc = run_child(o, &cfg, (const char *const *)vnames, t0, out, &fallback, why, sizeof(why), err);
    for (size_t i = 0; i < n && !rc; i++) {
        nf_probe_dev_result *d = &out->results[i];
        if (d->status)
            continue;
        if (out->eal_error && strcmp(out->eal_error, "timeout") != 0 &&
            strcmp(out->eal_error, "cancelled") != 0) {
            char *s = NULL;
            if (asprintf(&s, "failed: %s", out->eal_error) >= 0)
                d->status = s;
        } else {
            set_str(&d->status, fallback ? fallback : "failed: no result from probe child");
        }
        if (!d->status)
            rc = nf_errf(err, -ENOMEM, "probe: out of memory");
    }
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++)
        out->results[i].checked_at = now;
    out->wall_ms = nf_mono_ms() - t0;
    for (size_t i = 0; i < cfg.n_vdevs; i++)
        free(vnames[i]);
    free(vnames);
    if (rc)
        nf_probe_run_free(out);
    return rc;
}

/* ---- batches --------------------------------------------------------------------------- */

void nf_probe_batch_free(nf_probe_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_results; i++)
        nf_probe_dev_result_free(&b->results[i]);
    free(b->results);
    for (size_t i = 0; i < b->n_runs; i++)
        nf_probe_run_free(&b->runs[i]);
    free(b->runs);
    memset(b, 0, sizeof(*b));
}

static int copy_result(nf_probe_dev_result *dst, const nf_probe_dev_result *src)
{
    nf_probe_dev_result r = {.max_rx_queues = src->max_rx_queues, .checked_at = src->checked_at};
    if (nf_strset(&r.status, src->status) || nf_strset(&r.pmd, src->pmd) ||
        nf_strset(&r.mac, src->mac) || nf_strset(&r.link, src->link)) {
        nf_probe_dev_result_free(&r);
        return -ENOMEM;
    }
    free(dst->status);
    free(dst->pmd);
    free(dst->mac);
    free(dst->link);
    dst->status = r.status;
    dst->pmd = r.pmd;
    dst->mac = r.mac;
    dst->link = r.link;
    dst->max_rx_queues = r.max_rx_queues;
    dst->checked_at = r.checked_at;
    return 0;
}

int nf_probe_targets(const nf_probe_target *t, size_t n, const nf_probe_batch_opts *o,
                     nf_probe_batch *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return 0;
    out->results = calloc(n, sizeof(*out->results));
    int *group = calloc(n, sizeof(int)); /* -1 decided, else group leader index */
    const char **spec = calloc(n, sizeof(char *));
    const char **names = calloc(n, sizeof(char *));
    if (!out->results || !group || !spec || !names) {
        free(group);
        free(spec);
        free(names);
        nf_probe_batch_free(out);
        return nf_errf(err, -ENOMEM, "probe: out of memory");
    }
    out->n_results = n;
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n && !rc; i++) {
        nf_probe_dev_result *r = &out->results[i];
        r->max_rx_queues = NF_UNKNOWN;
        r->checked_at = now;
        group[i] = -1;
        char canon[24], reason[256];
        const char *status = NULL;
        if (t[i].is_vdev) {
            r->device = t[i].device ? vdev_name(t[i].device) : NULL;
            if (r->device && !*r->device)
                status = "failed: empty vdev name";
        } else if (t[i].device && nf_probe_pci_canon(t[i].device, canon) == 0) {
            r->device = strdup(canon);
        } else {
            r->device = strdup(t[i].device ? t[i].device : "");
            status = "failed: not a PCI address";
        }
        if (!r->device) {
            rc = -ENOMEM;
            break;
        }
        if (!status && t[i].allocated)
            status = NF_PROBE_ALLOCATED;
        if (!status && !t[i].is_vdev &&
            nf_probe_precheck(o->sysfs_root, r->device, reason, sizeof(reason)) == 1)
            status = reason;
        if (status) {
            if (nf_strset(&r->status, status))
                rc = -ENOMEM;
            continue;
        }
        spec[i] = t[i].is_vdev ? t[i].device : r->device;
        /* group with the first earlier target sharing (numa_node, lcore, hugepages) */
        group[i] = (int)i;
        for (size_t j = 0; j < i; j++)
            if (group[j] == (int)j && t[j].numa_node == t[i].numa_node &&
                t[j].lcore == t[i].lcore && t[j].hugepages == t[i].hugepages) {
                group[i] = (int)j;
                break;
            }
    }
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++)
        ngroups += group[i] == (int)i;
    if (!rc && ngroups) {
        out->runs = calloc(ngroups, sizeof(*out->runs));
        if (!out->runs)
            rc = -ENOMEM;
    }
    for (size_t g = 0; g < n && !rc; g++) {
        if (group[g] != (int)g)
            continue;
        size_t np = 0, nv = 0;
        const char **pci = names, **vd = names + 0;
        /* names[] is reused: pci addresses first, then vdev specs */
        for (size_t i = 0; i < n; i++)
            if (group[i] == (int)g && !t[i].is_vdev)
                names[np++] = spec[i];
        vd = names + np;
        for (size_t i = 0; i < n; i++)
            if (group[i] == (int)g && t[i].is_vdev)
                vd[nv++] = spec[i];
        nf_probe_run_opts ro = {
            .eal =
                {
                    .lcore = t[g].lcore >= 0 ? t[g].lcore : 0,
                    .socket = t[g].numa_node,
                    .hugepages = t[g].hugepages,
                    .mem_mb = o->mem_mb,
                    .pci = pci,
                    .n_pci = np,
                    .vdevs = vd,
                    .n_vdevs = nv,
                },
            .timeout_ms = o->timeout_ms,
            .cancel_fd = o->cancel_fd,
            .test_hang = o->test_hang,
        };
        nf_probe_run *run = &out->runs[out->n_runs];
        rc = nf_probe_run_eal(&ro, run, err);
        if (rc)
            break;
        out->n_runs++;
        /* results come back as pci..., vdevs...; map by name in the same order */
        size_t k = 0;
        for (int pass = 0; pass < 2 && !rc; pass++)
            for (size_t i = 0; i < n && !rc; i++)
                if (group[i] == (int)g && t[i].is_vdev == (pass == 1)) {
                    if (k < run->n_results)
                        rc = copy_result(&out->results[i], &run->results[k]);
                    k++;
                }
    }
    free(group);
    free(spec);
    free(names);
    if (rc) {
        nf_probe_batch_free(out);
        if (rc == -ENOMEM)
            nf_errf(err, rc, "probe: out of memory");
        return rc;
    }
    return 0;
}
