/* extender_protocol.h - the kube-scheduler extender wire format (k8s.io/kube-scheduler/extender/v1)
 * and the per-request logic of /filter, /prioritize and /bind, without HTTP.
 *
 * Go types have no JSON tags, so keys are the Go field names; input keys match in any letter case
 * (Go's decoder), output keys are spelled exactly:
 *   ExtenderArgs          {"Pod": v1.Pod, "Nodes": v1.NodeList | null, "NodeNames": [..] | null}
 *   ExtenderFilterResult  {"Nodes": v1.NodeList | null, "NodeNames": [..] | null,
 *                          "FailedNodes": {name: reason}, "FailedAndUnresolvableNodes": {...},
 *                          "Error": ""}
 *   HostPriorityList      [{"Host": "n1", "Score": 7}, ...]   (bare array)
 *   ExtenderBindingArgs   {"PodName", "PodNamespace", "PodUID", "Node"}
 *   ExtenderBindingResult {"Error": ""}
 * Mode: when the request has NodeNames (nodeCacheCapable: true) the answer has NodeNames and
 * "Nodes": null; when it has Nodes (a full NodeList) the answer has Nodes (the request's NodeList
 * with "items" reduced to the passing node objects, passed back unchanged) and "NodeNames": null.
 * Answers name only nodes that were asked about, in request order.
 */
#ifndef NUMAFIT_EXTENDER_PROTOCOL_H
#define NUMAFIT_EXTENDER_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fit.h"
#include "fit_memo.h"
#include "numafit/arena.h"
#include "numafit/error.h"
#include "numafit/topology.h"
#include "pod_requirements.h"

typedef struct nf_extender_node {
    const char *name;  /* borrowed from the request document */
    size_t name_plain; /* when scanned: strlen(name), its bytes JSON string text as they are
                          (no escape needed); 0 otherwise */
    json_t *obj;       /* the v1.Node object (NodeList mode), borrowed; NULL in NodeNames mode and
                          when scanned */
    const char *raw;   /* scanned NodeList mode: the node object's bytes in the body */
    size_t raw_len;
} nf_extender_node;

typedef struct nf_extender_span {
    const char *p;
    size_t n;
} nf_extender_span;

typedef struct nf_extender_args {
    json_t *doc;      /* the whole request (owned) */
    json_t *pod;      /* borrowed from doc */
    json_t *nodelist; /* borrowed: the request's NodeList object (NodeList mode), else NULL */
    nf_pod_req req;   /* what the pod needs */
    bool names_mode;  /* true: NodeNames given; false: Nodes given */
    nf_extender_node *nodes;
    size_t n_nodes;
    /* nf_extender_args_scan: doc is the Pod alone, nodelist is NULL, names live in names_buf and
     * NodeList members other than items are kept as '"key":value' spans of the body. */
    bool scanned;
    char *names_buf;  /* the names back to back, NUL-terminated, in request order */
    size_t names_len; /* bytes of names_buf used */
    nf_extender_span *list_members;
    size_t n_list_members;
    const char *pod_raw; /* scanned: the Pod object's bytes in the body, else NULL */
    size_t pod_raw_len;
    nf_arena *arena; /* scanned with an arena: nodes, names_buf and list_members live there */
} nf_extender_args;

/* Decode an ExtenderArgs body. Errors (-EINVAL, err says what): not JSON (with line/column), not
 * an object, no Pod or Pod not an object, a pod nf_pod_req_from_json rejects, neither Nodes nor
 * NodeNames (both null/absent), NodeNames not an array of strings, Nodes not a NodeList object
 * with an "items" array, a node without metadata.name. When both are present, NodeNames wins (as
 * the scheduler reads a nodeCacheCapable answer). -ENOMEM. On error *out is zeroed. */
int nf_extender_args_decode(const char *body, size_t len, nf_extender_args *out, nf_err *err);
/* The same, fast: validates the body in one pass and parses only the Pod into jansson, keeping
 * node names and node objects as spans of the body, which it borrows: keep body alive and
 * unchanged until nf_extender_args_free. The node table comes from arena when one is given (the
 * request's: keep it until nf_extender_args_free too), else from malloc. Takes the
 * nf_extender_args_decode path (same results and errors) for anything unusual (escapes in keys or
 * names, a key given twice in any letter case, numbers with exponents, and every error). The
 * answers are the same either way, except that node objects come back byte for byte as sent. */
int nf_extender_args_scan(const char *body, size_t len, nf_arena *arena, nf_extender_args *out,
                          nf_err *err);
/* The Pod as compact JSON text (*out malloc'd, NUL-terminated, *len bytes): its bytes in the body
 * when scanned (one copy), else encoded from the tree. 0 or -ENOMEM. */
int nf_extender_args_pod_text(const nf_extender_args *a, char **out, size_t *len);
/* Same from a parsed document; takes a new reference to doc on success. */
int nf_extender_args_from_json(json_t *doc, nf_extender_args *out, nf_err *err);
void nf_extender_args_free(nf_extender_args *a);

/* How the server lends node topologies to the per-request functions (e.g. its nf_cache).
 * acquire returns the node's topology, or NULL and writes a reason into why (at most why_len
 * bytes, NUL-terminated), e.g. "no topology for this node" or "topology is 95s old
 * (--stale-after 30s)"; such a node is handled by pass_missing. When acquire returns
 * non-NULL, *handle is later passed to release (release may be NULL). Called once per node per
 * request, from the request's thread. */
typedef struct nf_topology_source {
    const nf_topology *(*acquire)(void *ctx, const char *node, void **handle, char *why,
                                  size_t why_len);
    void (*release)(void *ctx, void *handle);
    void *ctx;
    /* A node acquire has no topology for (--stale-policy): true = it passes (score 0), false =
     * FailedAndUnresolvableNodes with acquire's reason (preempting there cannot help). */
    bool pass_missing;
    /* Optional (may be NULL): told every node's answer for the request, before release
     * (metrics). */
    void (*fitted)(void *ctx, const char *node, const nf_fit_answer *answer);
    /* Optional (may be NULL, or return NULL): a prebuilt fit view of the acquired topology for
     * `align` (fit.h), e.g. memoized in the cache entry, and where that view's answers are
     * remembered per pod shape (fit_memo.h; *memo NULL: nowhere); both valid until release.
     * Without a view each fit builds its own, without a memo each node is fitted (same answers,
     * slower). */
    const nf_fit_view *(*view)(void *ctx, void *handle, const nf_topology *t, nf_align align,
                               nf_fit_memo **memo);
    /* Optional (may be NULL): the answer for `node` to shape s under align when the source
     * knows it without a document (a word kept in the cache's table); true and *answer filled,
     * then no acquire follows for that node. Asked before acquire, in request order. */
    bool (*known)(void *ctx, const char *node, const nf_fit_shape *s, nf_align align,
                  nf_fit_answer *answer);
} nf_topology_source;

/* /filter: an ExtenderFilterResult for args. A pod needing nothing aligned passes every node
 * without a lookup. Failed nodes carry nf_fit_result.reason; a missing/stale topology carries
 * "numafit: <why>" in FailedAndUnresolvableNodes (or passes when src->pass_missing). Returns 0 and
 * *result (caller owns), or -ENOMEM. */
int nf_extender_filter(const nf_extender_args *a, const nf_topology_source *src,
                       const nf_fit_opts *o, json_t **result);

/* /prioritize: a HostPriorityList with one entry per asked node, in request order; score from
 * score.h with o->strategy; 0 for nodes that do not fit or have no topology. */
int nf_extender_prioritize(const nf_extender_args *a, const nf_topology_source *src,
                           const nf_fit_opts *o, json_t **result);

/* What one /filter decided, for the log line and /v1/explain (no per-node detail): node counts
 * per class and, per failing class, its most frequent reasons (the first NF_FILTER_TOP distinct
 * ones in request order, each with its count; nodes with any other reason in `other`). */
#define NF_FILTER_TOP 4
typedef struct nf_filter_reason_count {
    size_t count;
    size_t len;
    char text[NF_FIT_REASON_LEN + 64];
} nf_filter_reason_count;
typedef struct nf_filter_class {
    size_t nodes;
    size_t n_reasons;
    nf_filter_reason_count reasons[NF_FILTER_TOP];
    size_t other;
} nf_filter_class;
typedef struct nf_filter_summary {
    size_t passed;
    nf_filter_class failed, unresolvable;
} nf_filter_summary;
/* The most frequent reason of a class (ties: the first seen), or NULL when it has none. */
const nf_filter_reason_count *nf_filter_class_top(const nf_filter_class *c);

/* The same two answers as compact JSON text, what the server sends: every node's verdict first,
 * then the answer written once into one buffer, each reason escaped once per run of nodes that
 * share it (test_fast_paths checks the text is byte for byte what jansson writes for the json_t
 * forms above). *out is NUL-terminated, caller frees; 0 or -ENOMEM. */
int nf_extender_filter_text(const nf_extender_args *a, const nf_topology_source *src,
                            const nf_fit_opts *o, char **out, size_t *len);
/* nf_extender_filter_text, and what it decided into *sum (may be NULL). */
int nf_extender_filter_text_sum(const nf_extender_args *a, const nf_topology_source *src,
                                const nf_fit_opts *o, char **out, size_t *len,
                                nf_filter_summary *sum);
int nf_extender_prioritize_text(const nf_extender_args *a, const nf_topology_source *src,
                                const nf_fit_opts *o, char **out, size_t *len);

/* Error answers (HTTP 400 bodies). For /filter: a full ExtenderFilterResult with only Error set
 * (Nodes and NodeNames null, empty failed maps). For /prioritize and /bind: {"Error": msg}.
 * NULL only when memory runs out. */
json_t *nf_extender_filter_error(const char *msg);
json_t *nf_extender_error(const char *msg);

/* /bind */
typedef struct nf_extender_binding {
    char *pod_name;
    char *pod_namespace;
    char *pod_uid;
    char *node;
} nf_extender_binding;

/* Errors (-EINVAL): not JSON, not an object, PodName or Node missing/empty or not strings
 * (PodNamespace and PodUID may be absent: empty strings). Any letter case of keys. */
int nf_extender_binding_decode(const char *body, size_t len, nf_extender_binding *out, nf_err *err);
void nf_extender_binding_free(nf_extender_binding *b);
/* {"Error": error or ""} */
json_t *nf_extender_binding_result(const char *error);

#endif
