/* kube.h - a Kubernetes API client (libcurl + jansson): where the API server is, who we are,
 * and the few calls numafit makes (pods get/list/watch/delete, pods/binding create; get, create
 * and update of a cluster-scoped object of any kind, such as a NodeResourceTopology).
 *
 * Configuration comes from a kubeconfig file (current-context; server http:// or https://;
 * certificate-authority(-data); token / tokenFile; client-certificate(-data) / client-key(-data);
 * insecure-skip-tls-verify) or from the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT,
 * <sa_dir>/token re-read when it changes (bound tokens rotate), <sa_dir>/ca.crt).
 *
 * Calls are synchronous, bounded by the client's timeout, and retried with backoff on 429 and 5xx
 * (honouring Retry-After) and on connection failures; errors carry the API server's Status
 * (reason, message, code). A client is thread-safe: every call uses its own curl easy handle.
 */
#ifndef NUMAFIT_KUBE_H
#define NUMAFIT_KUBE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "numafit/error.h"

#define NF_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

typedef struct nf_kube_config {
    char *server;     /* "https://10.0.0.1:6443", no trailing '/' */
    char *ca_file;    /* PEM file, or NULL */
    char *ca_data;    /* PEM text (decoded certificate-authority-data), or NULL */
    char *token;      /* static bearer token, or NULL */
    char *token_file; /* bearer token re-read when the file changes, or NULL */
    char *cert_file;  /* client certificate / key files, or NULL */
    char *key_file;
    char *cert_data; /* PEM text of client certificate / key, or NULL */
    char *key_data;
    bool insecure; /* insecure-skip-tls-verify */
    char *source;  /* for logs: "kubeconfig /path (context ctx)" or "in-cluster" */
} nf_kube_config;

/* Load `path` (a kubeconfig YAML). -ENOENT when the file does not exist, -EINVAL when it does not
 * parse or lacks what is needed (err says which field). */
int nf_kube_config_load(const char *path, nf_kube_config *out, nf_err *err);
/* The same from text already read: path names it in messages and anchors relative paths. */
int nf_kube_config_parse(const char *text, size_t len, const char *path, nf_kube_config *out,
                         nf_err *err);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT and sa_dir (NULL: NF_KUBE_SA_DIR). -ENOENT when not
 * running in a cluster (variables unset or no token file). */
int nf_kube_config_in_cluster(const char *sa_dir, nf_kube_config *out, nf_err *err);
void nf_kube_config_free(nf_kube_config *c);

typedef struct nf_kube_opts {
    int64_t timeout_ms;     /* one HTTP attempt; 0: 10000 */
    int retries;            /* extra attempts on 429/5xx/connection errors; <0: 0, 0: default 3 */
    int64_t backoff_ms;     /* first backoff, doubled each retry (with jitter); 0: 100 */
    const char *user_agent; /* NULL: "numafit/<version>" */
} nf_kube_opts;

typedef struct nf_kube nf_kube;

/* Copies what it needs from cfg and o (o may be NULL). */
int nf_kube_new(const nf_kube_config *cfg, const nf_kube_opts *o, nf_kube **out, nf_err *err);
void nf_kube_free(nf_kube *k);
/* The client a program's --kubeconfig asks for: that file (NULL: in-cluster), logged. 0 with *out
 * NULL when kubeconfig is NULL and this is not a cluster; -ENOENT / -EINVAL for a kubeconfig that
 * is missing or wrong (a usage error), another code when the client cannot be built. */
int nf_kube_open(const char *kubeconfig, nf_kube **out, nf_err *err);
const char *nf_kube_server(const nf_kube *k);

/* Every call below returns 0 or a negative errno with err filled from the Status object:
 *   -ENOENT 404, -EEXIST 409 (conflict / already bound / uid precondition failed),
 *   -EACCES 401/403, -ESTALE 410 Gone (resourceVersion too old: relist),
 *   -ETIMEDOUT, -ECONNREFUSED / -EIO (transport, after retries), -EPROTO (unexpected answer),
 *   -ENOMEM. *http_status (when not NULL) is the last HTTP status (0 when none arrived). */

/* Tuning, mostly for tests: the list page size (limit=; <=0: 500) and the longest watch event
 * line accepted (<=0: 16 MiB; a longer one ends the watch with -EMSGSIZE). Set before use. */
void nf_kube_set_page_size(nf_kube *k, int n);
void nf_kube_set_max_event_bytes(nf_kube *k, size_t n);

/* GET /api/v1/namespaces/{ns}/pods/{name}; *pod is a new reference. */
int nf_kube_get_pod(nf_kube *k, const char *ns, const char *name, json_t **pod, nf_err *err);

/* GET /api/v1/pods (every namespace) with fieldSelector (may be NULL), paging with limit/continue
 * until the end; *items is a new JSON array of pods, *resource_version (malloc'd) the list's
 * metadata.resourceVersion to watch from. */
int nf_kube_list_pods(nf_kube *k, const char *field_selector, json_t **items,
                      char **resource_version, nf_err *err);

/* nf_kube_list_pods that returns -ECANCELED soon (<= 50 ms) after *stop (may be NULL) becomes
 * true, also while it waits between retries. */
int nf_kube_list_pods_until(nf_kube *k, const char *field_selector, json_t **items,
                            char **resource_version, atomic_bool *stop, nf_err *err);

/* POST /api/v1/namespaces/{ns}/pods/{name}/binding with metadata.uid = uid as precondition
 * (uid may be NULL) and target node. 0 on 201/200, and on 409 "already assigned to node <node>"
 * (the same node: binding is idempotent); -EEXIST when bound elsewhere or the uid differs. */
int nf_kube_bind_pod(nf_kube *k, const char *ns, const char *name, const char *uid,
                     const char *node, long *http_status, nf_err *err);

/* DELETE /api/v1/namespaces/{ns}/pods/{name} with preconditions.uid = uid (may be NULL). */
int nf_kube_delete_pod(nf_kube *k, const char *ns, const char *name, const char *uid, nf_err *err);

/* Cluster-scoped objects of any kind, custom resources included (NodeResourceTopology): the
 * path is /apis/{group}/{version}/{plural}[/{name}], /api/v1/... for the core group ("").
 * Each call returns -ECANCELED soon after *stop (may be NULL) becomes true. */
typedef struct nf_kube_kind {
    const char *group;
    const char *version;
    const char *plural;
} nf_kube_kind;

/* GET {plural}/{name}; *obj is a new reference. -ENOENT when there is none. */
int nf_kube_get_object(nf_kube *k, const nf_kube_kind *r, const char *name, json_t **obj,
                       atomic_bool *stop, nf_err *err);
/* POST {plural} (201); *created (may be NULL) the object as stored, with its resourceVersion.
 * -EEXIST when one of that name exists (AlreadyExists). */
int nf_kube_create_object(nf_kube *k, const nf_kube_kind *r, const json_t *obj, json_t **created,
                          atomic_bool *stop, nf_err *err);
/* PUT {plural}/{metadata.name}: replace it. With metadata.resourceVersion set the server applies
 * it only over that version: -EEXIST (409 Conflict) when the object changed since; -ENOENT when
 * it is gone. *updated (may be NULL) the object as stored. */
int nf_kube_update_object(nf_kube *k, const nf_kube_kind *r, const json_t *obj, json_t **updated,
                          atomic_bool *stop, nf_err *err);

/* Watch pods in every namespace from resource_version (allowWatchBookmarks=true,
 * timeoutSeconds=timeout_s or server default when 0): calls fn(ctx, type, object) for each event
 * ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"; object borrowed for the call) and keeps
 * *resource_version (malloc'd, replaced) at the newest seen, so that the caller can resume.
 * Returns 0 when the server ended the stream normally (resume from *resource_version), -ESTALE on
 * 410 Gone (either an HTTP 410 or an ERROR event with code 410: relist), fn's non-zero return
 * value, -ECANCELED soon after *stop becomes true (checked at least every 200 ms), or another
 * negative errno as above. No retries inside: the caller (nf_kube_reflector) loops. */
typedef int (*nf_kube_watch_fn)(void *ctx, const char *type, json_t *object);
int nf_kube_watch_pods(nf_kube *k, const char *field_selector, char **resource_version,
                       int timeout_s, nf_kube_watch_fn fn, void *ctx, atomic_bool *stop,
                       nf_err *err);

/* nf_kube_list_pods_until and nf_kube_watch_pods for any collection of kind (cluster-scoped, or
 * every namespace). */
int nf_kube_list_objects_until(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                               json_t **items, char **resource_version, atomic_bool *stop,
                               nf_err *err);
int nf_kube_watch_objects(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                          char **resource_version, int timeout_s, nf_kube_watch_fn fn, void *ctx,
                          atomic_bool *stop, nf_err *err);

/* ---- a reflector: list + watch pods in a thread, relist on 410, backoff on errors ----
 * on_list(ctx, items) after every (re)list with the whole current set (the caller replaces what it
 * knew); on_event(ctx, type, object) for every watch event but BOOKMARK. Both run on the
 * reflector's thread. on_list is called at least once before nf_kube_reflector_synced() is true. */
typedef struct nf_kube_reflector_ops {
    void (*on_list)(void *ctx, json_t *items);
    void (*on_event)(void *ctx, const char *type, json_t *object);
    void *ctx;
} nf_kube_reflector_ops;

typedef struct nf_kube_reflector nf_kube_reflector;
/* field_selector may be NULL; the reflector borrows k (free the reflector first). */
int nf_kube_reflector_start(nf_kube *k, const char *field_selector,
                            const nf_kube_reflector_ops *ops, nf_kube_reflector **out, nf_err *err);
/* The same for objects of any kind (kind copied). */
int nf_kube_reflector_start_kind(nf_kube *k, const nf_kube_kind *kind, const char *field_selector,
                                 const nf_kube_reflector_ops *ops, nf_kube_reflector **out,
                                 nf_err *err);
bool nf_kube_reflector_synced(nf_kube_reflector *r);
/* Wait until synced or timeout_ms passes; true when synced. */
bool nf_kube_reflector_wait_synced(nf_kube_reflector *r, int64_t timeout_ms);
/* Counters for /metrics: lists, watch restarts, errors. */
void nf_kube_reflector_counts(nf_kube_reflector *r, uint64_t *lists, uint64_t *watches,
                              uint64_t *errors);
void nf_kube_reflector_stop(nf_kube_reflector *r); /* joins the thread, frees r */

#endif
