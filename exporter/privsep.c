/* privsep.c - the exporter's two processes: fork, privilege drop, seccomp, frames (privsep.h). */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "numafit/clock.h"
#include "numafit/log.h"

typedef struct frame_head {
    uint32_t type;
    uint32_t zero;
    uint64_t gen;
    uint64_t len;
} frame_head;

static int parse_id(const char *s, bool group, unsigned *id, gid_t *primary)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s && *s != '-' && !*end && !errno && v < UINT_MAX) {
        *id = (unsigned)v;
        return 0;
    }
    char buf[4096];
    if (group) {
        struct group g, *r = NULL;
        if (getgrnam_r(s, &g, buf, sizeof(buf), &r) || !r)
            return -ENOENT;
        *id = r->gr_gid;
    } else {
        struct passwd p, *r = NULL;
        if (getpwnam_r(s, &p, buf, sizeof(buf), &r) || !r)
            return -ENOENT;
        *id = r->pw_uid;
        if (primary)
            *primary = r->pw_gid;
    }
    return 0;
}

int nf_privsep_parse_user(const char *s, nf_privsep_user *out, nf_err *err)
{
    char user[256];
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (!n || n >= sizeof(user) || (colon && !colon[1]))
        return nf_errf(err, -EINVAL, "--privsep-user \"%s\": want USER[:GROUP] (names or ids)", s);
    memcpy(user, s, n);
    user[n] = '\0';
    unsigned uid, gid;
    gid_t primary = (gid_t)-1;
    if (parse_id(user, false, &uid, &primary))
        return nf_errf(err, -ENOENT, "--privsep-user: no such user \"%s\"", user);
    if (colon) {
        if (parse_id(colon + 1, true, &gid, NULL))
            return nf_errf(err, -ENOENT, "--privsep-user: no such group \"%s\"", colon + 1);
    } else {
        gid = primary != (gid_t)-1 ? primary : uid; /* a bare id: the group of the same number */
    }
    if (uid == 0 || gid == 0)
        return nf_errf(err, -EINVAL,
                       "--privsep-user \"%s\": uid and gid must not be 0 (root serving the "
                       "network is what the separation is for)",
                       s);
    out->uid = uid;
    out->gid = gid;
    return 0;
}

/* A filter that allows everything but `deny` (EPERM), then the extra rules of the caller. */
static int deny_all(scmp_filter_ctx ctx, const char *const *names)
{
    for (; *names; names++) {
        int nr = seccomp_syscall_resolve_name(*names);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* LeakSanitizer stops the world with ptrace from a helper of the same process: sanitizer builds
 * (tests) keep ptrace and dumpability, production builds give both up. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NF_SANITIZED 1
#endif
#endif
#ifdef NF_SANITIZED
#define NF_PTRACE_RULE
#else
#define NF_PTRACE_RULE "ptrace",
#endif

/* Nothing either process needs after it started: a process that can do none of these cannot
 * load code into the kernel, reach other processes' memory, or leave its namespaces. */
static const char *const never[] = {
    NF_PTRACE_RULE "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "open_by_handle_at",
    "name_to_handle_at",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    /* identities change once, before the filters: never again */
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "capset",
    NULL,
};

/* The http process also never runs a program, forks or changes identity again. */
static const char *const never_http[] = {
    "execve", "execveat", "fork", "vfork", NULL,
};

static int deny_sockets(scmp_filter_ctx ctx, const int *families, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
        if (rc)
            return rc;
    }
    return 0;
}

static int load_filter(bool http, nf_err *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return nf_errf(err, -ENOMEM, "seccomp_init failed");
    /* every thread of the process, also one that exists already (a sanitizer's) */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (!rc)
        rc = deny_all(ctx, never);
    if (!rc && http) {
        static const int fam[] = {AF_PACKET, AF_NETLINK};
        rc = deny_all(ctx, never_http);
        if (!rc)
            rc = deny_sockets(ctx, fam, sizeof(fam) / sizeof(fam[0]));
        /* a new process (no CLONE_VM) is refused; threads and the sanitizers' helpers share
         * the address space and pass. clone3 hides its flags in memory: ENOSYS makes glibc
         * fall back to clone, which the rule can see. */
        if (!rc)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, 0));
        if (!rc)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    } else if (!rc) {
        static const int fam[] = {AF_INET, AF_INET6, AF_PACKET};
        rc = deny_sockets(ctx, fam, sizeof(fam) / sizeof(fam[0]));
    }
    if (!rc)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc)
        return nf_errf(err, rc < 0 ? rc : -EINVAL, "seccomp filter of the %s process: %s",
                       http ? "http" : "collector", strerror(rc < 0 ? -rc : EINVAL));
    return 0;
}

/* CAP_SETUID and CAP_SETGID were there for the http process's drop only: the collector gives
 * them up (the DPDK probe's capabilities, when deploy/ grants them, stay). */
static int drop_setid_caps(nf_err *err)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d))
        return nf_errf(err, -errno, "capget: %s", strerror(errno));
    const uint32_t mask = ~((1u << CAP_SETUID) | (1u << CAP_SETGID)); /* both in word 0 */
    d[0].effective &= mask;
    d[0].permitted &= mask;
    d[0].inheritable &= mask;
    if (syscall(SYS_capset, &h, d))
        return nf_errf(err, -errno, "capset: %s", strerror(errno));
    return 0;
}

int nf_privsep_confine_collector(nf_err *err)
{
    int rc = drop_setid_caps(err);
    return rc ? rc : load_filter(false, err);
}

static int drop_to(const nf_privsep_user *u, nf_err *err)
{
    if (setgroups(0, NULL) || setresgid(u->gid, u->gid, u->gid) ||
        setresuid(u->uid, u->uid, u->uid))
        return nf_errf(err, -errno,
                       "cannot become uid %u gid %u: %s (the exporter must start as root to "
                       "separate privileges)",
                       (unsigned)u->uid, (unsigned)u->gid, strerror(errno));
    if (setresuid(0, 0, 0) == 0) /* the drop must be for good */
        return nf_errf(err, -EPERM, "uid 0 could be regained after dropping to %u", u->uid);
#ifdef NF_SANITIZED
    const int dumpable = 1;
#else
    const int dumpable = 0;
#endif
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0))
        return nf_errf(err, -errno, "prctl: %s", strerror(errno));
    return 0;
}

int nf_privsep_fork(const nf_privsep_user *u, int *fd, pid_t *child, nf_err *err)
{
    if (geteuid() != 0)
        return nf_errf(err, -EPERM,
                       "--privsep-user needs the exporter started as root: it keeps root for the "
                       "collector and drops to uid %u for the http process",
                       (unsigned)u->uid);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return nf_errf(err, -errno, "socketpair: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return nf_errf(err, -e, "fork: %s", strerror(e));
    }
    if (pid > 0) {
        close(sv[1]);
        /* an http process that stops reading must not stall the collector's loop for ever */
        struct timeval tv = {.tv_sec = NF_PRIVSEP_SEND_TIMEOUT_MS / 1000};
        setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        *fd = sv[0];
        *child = pid;
        return 1;
    }
    close(sv[0]);
    *fd = sv[1];
    *child = 0;
    /* dies with the collector, also when the collector is SIGKILLed */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) || getppid() != parent)
        return nf_errf(err, -ESRCH, "the collector process is gone");
    int rc = drop_to(u, err);
    return rc ? rc : load_filter(true, err);
}

int nf_privsep_stop(int fd, pid_t pid, bool graceful)
{
    if (!graceful || nf_privsep_send(fd, NF_PRIVSEP_STOP, 0, "", 0)) {
        close(fd);
        fd = -1;
    }
    int status = 0;
    for (int64_t until = nf_mono_ms() + NF_PRIVSEP_STOP_MS;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 || nf_mono_ms() > until) {
            if (r == 0) {
                nf_error("the http process did not stop; killing it", "pid=%d", (int)pid);
                if (fd >= 0)
                    close(fd); /* it ends on a closed channel even where SIGKILL is EPERM */
                fd = -1;
                if (kill(pid, SIGKILL) == 0)
                    waitpid(pid, &status, 0);
            }
            status = -1;
            break;
        }
        usleep(10000);
    }
    if (fd >= 0)
        close(fd);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (status != -1 && graceful)
        nf_error("the http process ended badly", "pid=%d %s=%d", (int)pid,
                 WIFEXITED(status) ? "exit_code" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -EPIPE;
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int nf_privsep_send(int fd, enum nf_privsep_frame type, uint64_t gen, const void *data, size_t len)
{
    if (len > NF_PRIVSEP_MAX_FRAME)
        return -EMSGSIZE;
    frame_head h = {.type = (uint32_t)type, .gen = gen, .len = len};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, len}};
    return write_all(fd, iov, len ? 2 : 1);
}

static int read_all(int fd, void *p, size_t len, bool at_start)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)p + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET ? -EPIPE : -errno;
        if (r == 0)
            return at_start && got == 0 ? -EPIPE : -EPROTO; /* ended inside a frame */
        got += (size_t)r;
    }
    return 0;
}

int nf_privsep_recv(int fd, enum nf_privsep_frame *type, uint64_t *gen, char **data, size_t *len)
{
    frame_head h;
    int rc = read_all(fd, &h, sizeof(h), true);
    if (rc)
        return rc;
    if (h.type < NF_PRIVSEP_DOC || h.type > NF_PRIVSEP_STOP || h.zero ||
        h.len > NF_PRIVSEP_MAX_FRAME)
        return -EPROTO;
    char *buf = malloc(h.len + 1);
    if (!buf)
        return -ENOMEM;
    if ((rc = read_all(fd, buf, h.len, false))) {
        free(buf);
        return rc;
    }
    buf[h.len] = '\0';
    *type = (enum nf_privsep_frame)h.type;
    *gen = h.gen;
    *data = buf;
    *len = h.len;
    return 0;
}
