/* extender_protocol.c - kube-scheduler extender codec and per-request logic (see the header). */
#include "extender_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score.h"

void nf_extender_args_free(nf_extender_args *a)
{
    if (!a)
        return;
    nf_pod_req_free(&a->req);
    free(a->nodes);
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}

static int node_name(json_t *node, size_t i, const char **out, nf_err *err)
{
    if (!json_is_object(node))
        return nf_errf(err, -EINVAL, "Nodes.items[%zu]: must be an object", i);
    json_t *meta = nf_json_iget(node, "metadata");
    json_t *name = nf_json_iget(meta, "name");
    if (!json_is_string(name) || !*json_string_value(name))
        return nf_errf(err, -EINVAL, "Nodes.items[%zu]: metadata.name is missing or not a string",
                       i);
    *out = json_string_value(name);
    return 0;
}

int nf_extender_args_from_json(json_t *doc, nf_extender_args *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(doc))
        return nf_errf(err, -EINVAL, "ExtenderArgs: the body must be a JSON object");
    json_t *pod = nf_json_iget(doc, "Pod");
    if (!pod || json_is_null(pod))
        return nf_errf(err, -EINVAL, "ExtenderArgs: Pod is missing");
    if (!json_is_object(pod))
        return nf_errf(err, -EINVAL, "ExtenderArgs: Pod must be an object");
    json_t *names = nf_json_iget(doc, "NodeNames");
    json_t *list = nf_json_iget(doc, "Nodes");
    if (names && json_is_null(names))
        names = NULL;
    if (list && json_is_null(list))
        list = NULL;
    if (!names && !list)
        return nf_errf(err, -EINVAL, "ExtenderArgs: neither Nodes nor NodeNames is given");
    json_t *items = NULL;
    size_t n;
    if (names) {
        if (!json_is_array(names))
            return nf_errf(err, -EINVAL, "ExtenderArgs: NodeNames must be an array of strings");
        n = json_array_size(names);
    } else {
        if (!json_is_object(list))
            return nf_errf(err, -EINVAL, "ExtenderArgs: Nodes must be a NodeList object");
        items = nf_json_iget(list, "items");
        if (items && json_is_null(items))
            items = NULL;
        if (items && !json_is_array(items))
            return nf_errf(err, -EINVAL, "ExtenderArgs: Nodes.items must be an array");
        n = items ? json_array_size(items) : 0;
    }
    nf_err perr;
    int rc = nf_pod_req_from_json(pod, &out->req, &perr);
    if (rc)
        return nf_errf(err, rc, "ExtenderArgs: Pod: %s", perr.msg);
    out->nodes = calloc(n ? n : 1, sizeof(*out->nodes));
    if (!out->nodes) {
        nf_extender_args_free(out);
        return nf_errf(err, -ENOMEM, "ExtenderArgs: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (names) {
            json_t *v = json_array_get(names, i);
            if (!json_is_string(v)) {
                nf_extender_args_free(out);
                return nf_errf(err, -EINVAL, "ExtenderArgs: NodeNames[%zu] must be a string", i);
            }
            out->nodes[i].name = json_string_value(v);
        } else {
            json_t *node = json_array_get(items, i);
            if ((rc = node_name(node, i, &out->nodes[i].name, err))) {
                nf_extender_args_free(out);
                return rc;
            }
            out->nodes[i].obj = node;
        }
    }
    out->n_nodes = n;
    out->names_mode = names != NULL;
    out->nodelist = names ? NULL : list;
    out->pod = pod;
    out->doc = json_incref(doc);
    return 0;
}

int nf_extender_args_decode(const char *body, size_t len, nf_extender_args *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &je);
    if (!doc)
        return nf_errf(err, -EINVAL, "ExtenderArgs: malformed JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    int rc = nf_extender_args_from_json(doc, out, err);
    json_decref(doc);
    return rc;
}

/* ---- answers ---- */

static json_t *filter_result_new(void)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    if (json_object_set_new(r, "Nodes", json_null()) ||
        json_object_set_new(r, "NodeNames", json_null()) ||
        json_object_set_new(r, "FailedNodes", json_object()) ||
        json_object_set_new(r, "FailedAndUnresolvableNodes", json_object()) ||
        json_object_set_new(r, "Error", json_string(""))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *nf_extender_filter_error(const char *msg)
{
    json_t *r = filter_result_new();
    if (r && json_object_set_new(r, "Error", json_string(msg ? msg : "error"))) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *nf_extender_error(const char *msg)
{
    return json_pack("{s:s}", "Error", msg ? msg : "error");
}

json_t *nf_extender_binding_result(const char *error)
{
    return json_pack("{s:s}", "Error", error ? error : "");
}

/* One node's fit, with the lookup. *fit is filled when *have_topo. */
typedef struct node_eval {
    bool passes;
    bool unresolvable;
    char reason[NF_FIT_REASON_LEN + 64];
    int score;
} node_eval;

static int eval_node(const nf_extender_args *a, const nf_topology_source *src, const nf_fit_opts *o,
                     const char *name, bool want_score, node_eval *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!a->req.aligned) {
        ev->passes = true;
        return 0;
    }
    void *handle = NULL;
    char why[256] = "";
    const nf_topology *t =
        src && src->acquire ? src->acquire(src->ctx, name, &handle, why, sizeof(why)) : NULL;
    if (!t) {
        ev->passes = o->pass_missing;
        snprintf(ev->reason, sizeof(ev->reason), "numafit: %s",
                 *why ? why : "no topology for this node");
        return 0;
    }
    nf_fit_result fit;
    int rc = nf_fit_node(&a->req, t, o, &fit);
    if (!rc) {
        ev->passes = fit.status == NF_FIT_OK;
        ev->unresolvable = fit.status == NF_FIT_UNRESOLVABLE;
        if (!ev->passes)
            snprintf(ev->reason, sizeof(ev->reason), "numafit: %s", fit.reason);
        if (want_score && ev->passes) {
            int s = nf_score_node(&a->req, t, o, &fit);
            if (s < 0)
                rc = s;
            else
                ev->score = s;
        }
        nf_fit_result_free(&fit);
    }
    if (src->release)
        src->release(src->ctx, handle);
    return rc;
}

int nf_extender_filter(const nf_extender_args *a, const nf_topology_source *src,
                       const nf_fit_opts *o, json_t **result)
{
    *result = NULL;
    json_t *r = filter_result_new();
    json_t *kept = json_array();
    json_t *failed = r ? json_object_get(r, "FailedNodes") : NULL;
    json_t *unres = r ? json_object_get(r, "FailedAndUnresolvableNodes") : NULL;
    int rc = (!r || !kept) ? -ENOMEM : 0;
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        node_eval ev;
        if ((rc = eval_node(a, src, o, a->nodes[i].name, false, &ev)))
            break;
        if (ev.passes) {
            json_t *v =
                a->names_mode ? json_string(a->nodes[i].name) : json_incref(a->nodes[i].obj);
            if (json_array_append_new(kept, v))
                rc = -ENOMEM;
        } else if (json_object_set_new(ev.unresolvable ? unres : failed, a->nodes[i].name,
                                       json_string(ev.reason))) {
            rc = -ENOMEM;
        }
    }
    if (!rc) {
        if (a->names_mode) {
            rc = json_object_set(r, "NodeNames", kept) ? -ENOMEM : 0;
        } else {
            /* the request's NodeList with items replaced by the passing nodes */
            json_t *list = a->nodelist ? json_copy(a->nodelist) : json_object();
            if (!list || json_object_set(list, "items", kept) ||
                json_object_set_new(r, "Nodes", list)) {
                rc = -ENOMEM;
            } else {
                /* drop any differently-cased duplicate of "items" copied from the request */
                const char *k;
                void *tmp;
                json_t *v;
                json_object_foreach_safe(list, tmp, k, v)
                {
                    if (strcmp(k, "items") != 0 && strcasecmp(k, "items") == 0)
                        json_object_del(list, k);
                }
            }
        }
    }
    json_decref(kept);
    if (rc) {
        json_decref(r);
        return rc;
    }
    *result = r;
    return 0;
}

int nf_extender_prioritize(const nf_extender_args *a, const nf_topology_source *src,
                           const nf_fit_opts *o, json_t **result)
{
    *result = NULL;
    json_t *arr = json_array();
    int rc = arr ? 0 : -ENOMEM;
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        node_eval ev;
        if ((rc = eval_node(a, src, o, a->nodes[i].name, true, &ev)))
            break;
        json_t *hp = json_pack("{s:s, s:I}", "Host", a->nodes[i].name, "Score",
                               (json_int_t)(ev.passes ? ev.score : 0));
        if (!hp || json_array_append_new(arr, hp))
            rc = -ENOMEM;
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *result = arr;
    return 0;
}

/* ---- bind ---- */

void nf_extender_binding_free(nf_extender_binding *b)
{
    if (!b)
        return;
    free(b->pod_name);
    free(b->pod_namespace);
    free(b->pod_uid);
    free(b->node);
    memset(b, 0, sizeof(*b));
}

static int bind_field(const json_t *doc, const char *key, bool required, char **dst, nf_err *err)
{
    json_t *v = nf_json_iget(doc, key);
    if (v && !json_is_null(v) && !json_is_string(v))
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: %s must be a string", key);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    if (required && !*s)
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: %s is missing or empty", key);
    if (nf_strset(dst, s) < 0)
        return nf_errf(err, -ENOMEM, "ExtenderBindingArgs: out of memory");
    return 0;
}

int nf_extender_binding_decode(const char *body, size_t len, nf_extender_binding *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &je);
    if (!doc)
        return nf_errf(err, -EINVAL, "ExtenderBindingArgs: malformed JSON at line %d column %d: %s",
                       je.line, je.column, je.text);
    int rc;
    if (!json_is_object(doc))
        rc = nf_errf(err, -EINVAL, "ExtenderBindingArgs: the body must be a JSON object");
    else if (!(rc = bind_field(doc, "PodName", true, &out->pod_name, err)) &&
             !(rc = bind_field(doc, "PodNamespace", false, &out->pod_namespace, err)) &&
             !(rc = bind_field(doc, "PodUID", false, &out->pod_uid, err)))
        rc = bind_field(doc, "Node", true, &out->node, err);
    json_decref(doc);
    if (rc)
        nf_extender_binding_free(out);
    return rc;
}
