/* explain.c - the last /filter decision per pod, explained on demand (see explain.h). */
#include "explain.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/log.h"
#include "numafit/topology_json.h"

typedef struct record {
    char *key; /* "namespace/name" */
    char *uid;
    char *pod; /* the request's Pod object as JSON text (parsed when asked about) */
    size_t pod_len;
    char *names; /* the asked node names, each NUL-terminated, back to back */
    size_t n_names;
    nf_filter_summary sum;
    int64_t at_ms;
    uint64_t seq; /* when recorded: the oldest goes first */
} record;

struct nf_explain {
    pthread_mutex_t lock;
    record **slot;
    size_t cap;
    uint64_t seq;
};

static void record_free(record *r)
{
    if (!r)
        return;
    free(r->key);
    free(r->uid);
    free(r->pod);
    free(r->names);
    free(r);
}

int nf_explain_new(size_t capacity, nf_explain **out)
{
    nf_explain *x = calloc(1, sizeof(*x));
    if (x)
        x->cap = capacity ? capacity : NF_EXPLAIN_DEFAULT_PODS;
    if (!x || !(x->slot = calloc(x->cap, sizeof(*x->slot)))) {
        free(x);
        *out = NULL;
        return -ENOMEM;
    }
    pthread_mutex_init(&x->lock, NULL);
    *out = x;
    return 0;
}

void nf_explain_free(nf_explain *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->cap; i++)
        record_free(x->slot[i]);
    free(x->slot);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static char *pod_key(const char *ns, const char *name)
{
    size_t a = strlen(ns), b = strlen(name);
    char *k = malloc(a + b + 2);
    if (k) {
        memcpy(k, ns, a);
        k[a] = '/';
        memcpy(k + a + 1, name, b + 1);
    }
    return k;
}

int nf_explain_record(nf_explain *x, const nf_extender_args *a, const nf_filter_summary *sum,
                      int64_t now_ms)
{
    if (!x || !a->req.name || !*a->req.name || !a->pod)
        return 0;
    record *r = calloc(1, sizeof(*r));
    size_t chars = a->scanned ? a->names_len : 0; /* scanned: the names are back to back */
    for (size_t i = 0; !a->scanned && i < a->n_nodes; i++)
        chars += strlen(a->nodes[i].name) + 1;
    if (!r || !(r->names = malloc(chars ? chars : 1)) ||
        !(r->key = pod_key(a->req.namespace_ && *a->req.namespace_ ? a->req.namespace_ : "default",
                           a->req.name)) ||
        (a->req.uid && !(r->uid = strdup(a->req.uid)))) {
        record_free(r);
        return -ENOMEM;
    }
    char *p = r->names;
    if (a->scanned)
        memcpy(p, a->names_buf, chars);
    for (size_t i = 0; !a->scanned && i < a->n_nodes; i++) {
        size_t n = strlen(a->nodes[i].name) + 1;
        memcpy(p, a->nodes[i].name, n);
        p += n;
    }
    r->n_names = a->n_nodes;
    /* text: one copy (the request's bytes when scanned), parsed again only if someone asks */
    if (nf_extender_args_pod_text(a, &r->pod, &r->pod_len)) {
        record_free(r);
        return -ENOMEM;
    }
    if (sum)
        r->sum = *sum;
    r->at_ms = now_ms;
    record *old = NULL;
    pthread_mutex_lock(&x->lock);
    size_t at = SIZE_MAX, oldest = 0;
    for (size_t i = 0; i < x->cap && at == SIZE_MAX; i++) {
        if (!x->slot[i] || strcmp(x->slot[i]->key, r->key) == 0)
            at = i;
        else if (x->slot[i]->seq < x->slot[oldest]->seq)
            oldest = i;
    }
    if (at == SIZE_MAX)
        at = oldest;
    r->seq = ++x->seq;
    old = x->slot[at];
    x->slot[at] = r;
    pthread_mutex_unlock(&x->lock);
    record_free(old); /* outside the lock */
    return 0;
}

static void top_text(const nf_filter_class *c, char *buf, size_t len, size_t *nodes)
{
    const nf_filter_reason_count *top = nf_filter_class_top(c);
    nf_log_quote(top ? top->text : "", buf, len);
    *nodes = top ? top->count : 0;
}

void nf_explain_log(const nf_extender_args *a, const nf_filter_summary *sum)
{
    char shape[256] = "none", failed[640], unres[640];
    size_t nf = 0, nu = 0;
    if (a->req.aligned)
        nf_amounts_format(a->req.effective, a->req.n_effective, shape, sizeof(shape));
    top_text(&sum->failed, failed, sizeof(failed), &nf);
    top_text(&sum->unresolvable, unres, sizeof(unres), &nu);
    nf_info("filter decision",
            "pod=%s/%s uid=%s shape=\"%s\" nodes=%zu passed=%zu failed=%zu unresolvable=%zu "
            "failed_reason=\"%s\" failed_reason_nodes=%zu unresolvable_reason=\"%s\" "
            "unresolvable_reason_nodes=%zu",
            a->req.namespace_ && *a->req.namespace_ ? a->req.namespace_ : "default",
            a->req.name ? a->req.name : "", a->req.uid ? a->req.uid : "", shape, a->n_nodes,
            sum->passed, sum->failed.nodes, sum->unresolvable.nodes, failed, nf, unres, nu);
}

/* ---- the answer ---- */

static json_t *class_json(const nf_filter_class *c)
{
    json_t *reasons = json_array();
    for (size_t i = 0; reasons && i < c->n_reasons; i++)
        if (json_array_append_new(reasons, json_pack("{s:s, s:I}", "reason", c->reasons[i].text,
                                                     "nodes", (json_int_t)c->reasons[i].count))) {
            json_decref(reasons);
            reasons = NULL;
        }
    return reasons ? json_pack("{s:I, s:o, s:I}", "nodes", (json_int_t)c->nodes, "reasons", reasons,
                               "otherNodes", (json_int_t)c->other)
                   : NULL;
}

/* One node's line, fitted now with detail. */
static json_t *node_json(const nf_pod_req *req, const char *node, const nf_topology_source *src,
                         const nf_fit_opts *o, int *rc)
{
    if (!req->aligned)
        return json_pack("{s:s, s:s, s:s}", "node", node, "status", "fits", "reason",
                         "the pod needs nothing aligned: every node passes");
    void *handle = NULL;
    char why[256] = "";
    const nf_topology *t =
        src && src->acquire ? src->acquire(src->ctx, node, &handle, why, sizeof(why)) : NULL;
    if (!t)
        return json_pack("{s:s, s:s, s:s}", "node", node, "status",
                         src && src->pass_missing ? "fits" : "unresolvable", "reason",
                         *why ? why : "no topology for this node");
    nf_fit_memo *memo = NULL; /* answers with detail are never remembered */
    const nf_fit_view *v = src->view ? src->view(src->ctx, handle, t, o->align, &memo) : NULL;
    nf_fit_opts fo = *o;
    fo.detail = true;
    fo.no_reason = false;
    nf_fit_result fit;
    *rc = v ? nf_fit_node_view(req, t, v, &fo, &fit) : nf_fit_node(req, t, &fo, &fit);
    json_t *j = NULL;
    if (!*rc) {
        j = json_pack("{s:s, s:s}", "node", node, "status", nf_fit_status_name(fit.status));
        if (j && fit.status == NF_FIT_OK && fit.aligned && fit.zone >= 0)
            json_object_set_new(j, "zone", json_integer(fit.zone));
        if (j && fit.status == NF_FIT_OK && fit.span > 1)
            json_object_set_new(j, "span", json_integer(fit.span));
        if (j && fit.status != NF_FIT_OK)
            json_object_set_new(j, "reason", json_string(fit.reason));
        nf_fit_result_free(&fit);
    }
    if (src->release)
        src->release(src->ctx, handle);
    return j;
}

int nf_explain_answer(nf_explain *x, const char *key, const nf_topology_source *src,
                      const nf_fit_opts *o, int64_t now_ms, json_t **out)
{
    *out = NULL;
    if (!x || !key || !*key)
        return -ENOENT;
    char *full = strchr(key, '/') ? strdup(key) : pod_key("default", key);
    if (!full)
        return -ENOMEM;
    /* take the record's parts under the lock (references and copies), fit outside it */
    json_t *pod = NULL;
    char *names = NULL, *uid = NULL, *pod_text = NULL;
    size_t n_names = 0, chars = 0, pod_len = 0;
    nf_filter_summary sum = {0};
    int64_t at = 0;
    int rc = -ENOENT;
    pthread_mutex_lock(&x->lock);
    for (size_t i = 0; i < x->cap; i++) {
        const record *r = x->slot[i];
        if (!r || strcmp(r->key, full) != 0)
            continue;
        const char *p = r->names;
        for (size_t k = 0; k < r->n_names; k++)
            p += strlen(p) + 1;
        chars = (size_t)(p - r->names);
        rc = (names = malloc(chars ? chars : 1)) && (!r->uid || (uid = strdup(r->uid))) &&
                     (pod_text = malloc(r->pod_len + 1))
                 ? 0
                 : -ENOMEM;
        if (!rc) {
            memcpy(names, r->names, chars);
            n_names = r->n_names;
            memcpy(pod_text, r->pod, (pod_len = r->pod_len) + 1);
            sum = r->sum;
            at = r->at_ms;
        }
        break;
    }
    pthread_mutex_unlock(&x->lock);
    nf_pod_req req = {0};
    json_t *nodes = NULL, *ans = NULL;
    /* it was valid JSON when recorded: a failure is out of memory */
    if (!rc && !(pod = json_loadb(pod_text, pod_len, 0, NULL)))
        rc = -ENOMEM;
    if (!rc) {
        nf_err err = {{0}};
        rc = nf_pod_req_from_json(pod, &req, &err); /* it decoded once: only -ENOMEM now */
    }
    if (!rc && !(nodes = json_array()))
        rc = -ENOMEM;
    const char *p = names;
    for (size_t i = 0; !rc && i < n_names; i++, p += strlen(p) + 1) {
        json_t *line = node_json(&req, p, src, o, &rc);
        if (!rc && (!line || json_array_append_new(nodes, line)))
            rc = -ENOMEM;
    }
    if (!rc) {
        char shape[256] = "none", when[32];
        if (req.aligned)
            nf_amounts_format(req.effective, req.n_effective, shape, sizeof(shape));
        nf_format_rfc3339(at / 1000, when);
        json_t *decision = json_pack("{s:I, s:I, s:o, s:o}", "nodes", (json_int_t)n_names, "passed",
                                     (json_int_t)sum.passed, "failed", class_json(&sum.failed),
                                     "unresolvable", class_json(&sum.unresolvable));
        ans = decision ? json_pack("{s:s, s:s?, s:s, s:I, s:s, s:s, s:o, s:O}", "pod", full, "uid",
                                   uid, "decidedAt", when, "ageMs", (json_int_t)(now_ms - at),
                                   "align", nf_align_name(o->align), "shape", shape, "decision",
                                   decision, "nodes", nodes)
                       : NULL;
        if (!ans)
            rc = -ENOMEM;
    }
    json_decref(nodes);
    nf_pod_req_free(&req);
    json_decref(pod);
    free(pod_text);
    free(names);
    free(uid);
    free(full);
    *out = ans;
    return rc;
}
