/* topology_dir.h - `--topology-dir DIR`: NodeTopology JSON files as a source of the cache.
 *
 * Every `*.json` file directly in DIR (names starting with '.' skipped, symlinks followed, so a
 * mounted ConfigMap works) is one node's document; its cache source is "file:<DIR>/<name>".
 * A scan reloads the files whose inode, size, mtime or ctime changed, drops the nodes of removed
 * files, and reports a bad file (unreadable, not JSON, not a NodeTopology) in the log without
 * stopping the others: a file bad from the start publishes nothing; a file that turns bad leaves
 * its last good document in the cache marked stale, with the error as the reason.
 * nf_topology_dir_watch re-scans on inotify events (and every rescan_ms as a fallback).
 */
#ifndef NUMAFIT_EXTENDER_TOPOLOGY_DIR_H
#define NUMAFIT_EXTENDER_TOPOLOGY_DIR_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "numafit/error.h"

#define NF_TOPOLOGY_FILE_MAX (64u << 20) /* larger files are bad files */

typedef struct nf_topology_dir nf_topology_dir;

/* Open DIR and scan it once. Fails only when DIR itself cannot be read. */
int nf_topology_dir_open(nf_cache *cache, const char *dir, nf_topology_dir **out, nf_err *err);
/* Scan again now. Returns the number of bad files (>= 0) or a negative errno when DIR cannot be
 * read (the cache is then left as it was). */
int nf_topology_dir_scan(nf_topology_dir *d);
/* Re-scan in a thread on inotify events (debounced ~20 ms) and every rescan_ms (> 0). */
int nf_topology_dir_watch(nf_topology_dir *d, int64_t rescan_ms, nf_err *err);
/* Stops the watcher; the cache keeps what was loaded. */
void nf_topology_dir_free(nf_topology_dir *d);

/* Files currently loaded and currently bad. */
void nf_topology_dir_counts(nf_topology_dir *d, size_t *loaded, size_t *bad);

#endif
