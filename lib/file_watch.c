/* file_watch.c - inotify on directories (see file_watch.h). */
#include "numafit/file_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define EVENTS                                                                                     \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF |       \
     IN_MOVE_SELF | IN_ATTRIB)

typedef struct watched {
    char *dir;
    int wd; /* -1 while the directory is missing */
} watched;

struct nf_file_watch {
    int fd;
    watched *dirs;
    size_t n;
};

int nf_file_watch_new(const char *const *dirs, size_t n, nf_file_watch **out)
{
    nf_file_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    w->dirs = calloc(n ? n : 1, sizeof(*w->dirs));
    if (w->fd < 0 || !w->dirs) {
        int rc = w->fd < 0 ? -errno : -ENOMEM;
        nf_file_watch_free(w);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        w->dirs[i].wd = -1;
        if (!(w->dirs[i].dir = strdup(dirs[i]))) {
            nf_file_watch_free(w);
            return -ENOMEM;
        }
        w->n++;
    }
    nf_file_watch_retry(w);
    *out = w;
    return 0;
}

void nf_file_watch_free(nf_file_watch *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->n; i++)
        free(w->dirs[i].dir);
    free(w->dirs);
    free(w);
}

int nf_file_watch_fd(const nf_file_watch *w)
{
    return w->fd;
}

int nf_file_watch_retry(nf_file_watch *w)
{
    int added = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->dirs[i].wd >= 0)
            continue;
        w->dirs[i].wd = inotify_add_watch(w->fd, w->dirs[i].dir, EVENTS | IN_ONLYDIR);
        added |= w->dirs[i].wd >= 0;
    }
    return added;
}

size_t nf_file_watch_watching(const nf_file_watch *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        n += w->dirs[i].wd >= 0;
    return n;
}

int nf_file_watch_drain(nf_file_watch *w)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int changed = 0;
    for (;;) {
        ssize_t len = read(w->fd, buf, sizeof(buf));
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            changed = 1;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                for (size_t i = 0; i < w->n; i++) {
                    if (w->dirs[i].wd == ev->wd) {
                        if (!(ev->mask & IN_IGNORED))
                            inotify_rm_watch(w->fd, ev->wd);
                        w->dirs[i].wd = -1; /* re-added by the next retry */
                    }
                }
            }
            p += sizeof(*ev) + ev->len;
        }
    }
    return changed;
}
