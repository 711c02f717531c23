/* file_watch.h - inotify on directories: kubelet's state directories (the exporter), the
 * topology directory (the extender's --topology-dir).
 *
 * Writers replace files by writing a temporary file and renaming it (kubelet's checkpoints, a
 * ConfigMap's ..data swap), so the directories are watched (IN_MOVED_TO, IN_CLOSE_WRITE,
 * IN_DELETE, ...), not the files. A directory that does not exist yet, or was removed, is
 * retried on every nf_file_watch_retry().
 */
#ifndef NUMAFIT_FILE_WATCH_H
#define NUMAFIT_FILE_WATCH_H

#include <stddef.h>

typedef struct nf_file_watch nf_file_watch;

int nf_file_watch_new(const char *const *dirs, size_t n, nf_file_watch **out);
void nf_file_watch_free(nf_file_watch *w);
/* Becomes readable when something changed. */
int nf_file_watch_fd(const nf_file_watch *w);
/* Consume pending events; returns 1 when any watched directory changed, else 0. */
int nf_file_watch_drain(nf_file_watch *w);
/* Add watches for directories that were missing; returns 1 when one was added (a change). */
int nf_file_watch_retry(nf_file_watch *w);
/* How many of the directories are watched now. */
size_t nf_file_watch_watching(const nf_file_watch *w);

#endif
