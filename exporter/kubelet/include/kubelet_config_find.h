/* kubelet_config_find.h - where kubelet's KubeletConfiguration is, and reading it as kubelet
 * does (main file + --config-dir drop-ins).
 *
 * Where (first that applies):
 *   1. --kubelet-config FILE: that file alone ("flag");
 *   2. the running kubelet: the process under procfs_root whose comm is "kubelet" (lowest pid
 *      when several), its --config FILE and --config-dir DIR from /proc/<pid>/cmdline
 *      ("--config X" or "--config=X"; the last one wins, as with kubelet's flag parser);
 *   3. kubeadm's <kubelet_dir>/config.yaml when it exists ("kubeadm default");
 *   else none (kubelet runs on its defaults and flags: what the view says without a config).
 *
 * Reading: without a drop-in directory the main file's bytes as they are. With one, its *.conf
 * files (not starting with '.') are merged over the main file in lexical order, as kubelet merges
 * them: objects key by key, recursively; a list or a scalar replaces the earlier value; null
 * removes the key. The result is one JSON document.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_CONFIG_FIND_H
#define NUMAFIT_EXPORTER_KUBELET_CONFIG_FIND_H

#include <stddef.h>

#include "numafit/error.h"

typedef struct nf_kubelet_config_where {
    char *main;       /* the main file; NULL when none (a kubelet with only --config-dir) */
    char *dropin_dir; /* --config-dir of the running kubelet, NULL when none */
    char *origin;     /* "flag", "kubelet process 1234 (--config)", "kubeadm default" */
} nf_kubelet_config_where;

/* Fill w (all NULL when no config is found). flag may be NULL; procfs_root defaults to /proc,
 * kubelet_dir to /var/lib/kubelet. Returns 0 or -ENOMEM; an unreadable /proc is "not found". */
int nf_kubelet_config_find(const char *flag, const char *procfs_root, const char *kubelet_dir,
                           nf_kubelet_config_where *w);
void nf_kubelet_config_where_free(nf_kubelet_config_where *w);

/* The kubelet process under procfs_root: its pid (0 when none) and its --config / --config-dir
 * values (NULL when not given). -ENOMEM. */
int nf_kubelet_process_find(const char *procfs_root, int *pid, char **config, char **config_dir);

/* Read main (may be NULL) merged with the *.conf drop-ins of dropin_dir (may be NULL): *text /
 * *len the document (caller frees), *files the files read in merge order, ", "-separated (caller
 * frees). -ENOENT when main does not exist (or neither main nor a drop-in exists), -EINVAL with
 * the file named when one does not parse, other read errors as nf_read_file_flags, -ENOMEM. */
int nf_kubelet_config_read(const char *main, const char *dropin_dir, size_t max, char **text,
                           size_t *len, char **files, nf_err *err);

#endif
