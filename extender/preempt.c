/* preempt.c - the extender's preemptVerb (see preempt.h). */
#include "preempt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void nf_preempt_args_free(nf_preempt_args *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_nodes; i++)
        free(a->nodes[i].victims);
    free(a->nodes);
    nf_pod_req_free(&a->req);
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}

/* One victim of node `node`: a v1.Pod (metadata.uid, spec.priority) or a MetaPod (UID). */
static int decode_victim(const json_t *p, bool meta, const char *node, size_t i,
                         nf_preempt_victim *out, nf_err *err)
{
    const char *form = meta ? "NodeNameToMetaVictims" : "NodeNameToVictims";
    if (!json_is_object(p))
        return nf_errf(err, -EINVAL,
                       "ExtenderPreemptionArgs: %s[\"%.100s\"].Pods[%zu]: must be an "
                       "object",
                       form, node, i);
    const json_t *uid =
        meta ? nf_json_iget(p, "UID") : nf_json_iget(nf_json_iget(p, "metadata"), "uid");
    if (!json_is_string(uid) || !*json_string_value(uid))
        return nf_errf(err, -EINVAL,
                       "ExtenderPreemptionArgs: %s[\"%.100s\"].Pods[%zu]: %s is "
                       "missing or not a string",
                       form, node, i, meta ? "UID" : "metadata.uid");
    out->uid = json_string_value(uid);
    out->priority = 0; /* kube-scheduler's GetPodPriority: no priority is 0 */
    const json_t *prio = meta ? NULL : nf_json_iget(nf_json_iget(p, "spec"), "priority");
    if (prio && !json_is_null(prio)) {
        if (!json_is_integer(prio))
            return nf_errf(err, -EINVAL,
                           "ExtenderPreemptionArgs: %s[\"%.100s\"].Pods[%zu]: spec.priority must "
                           "be an integer",
                           form, node, i);
        out->priority = json_integer_value(prio);
    }
    return 0;
}

static int decode_node(const char *name, const json_t *set, bool meta, nf_preempt_node *out,
                       nf_err *err)
{
    const char *form = meta ? "NodeNameToMetaVictims" : "NodeNameToVictims";
    out->name = name;
    if (json_is_null(set))
        return 0; /* no victims */
    if (!json_is_object(set))
        return nf_errf(err, -EINVAL, "ExtenderPreemptionArgs: %s[\"%.100s\"] must be an object",
                       form, name);
    const json_t *pods = nf_json_iget(set, "Pods");
    const json_t *pdb = nf_json_iget(set, "NumPDBViolations");
    if (pdb && !json_is_null(pdb) && !json_is_integer(pdb))
        return nf_errf(err, -EINVAL,
                       "ExtenderPreemptionArgs: %s[\"%.100s\"].NumPDBViolations must be an integer",
                       form, name);
    out->num_pdb_violations = json_is_integer(pdb) ? json_integer_value(pdb) : 0;
    if (!pods || json_is_null(pods))
        return 0;
    if (!json_is_array(pods))
        return nf_errf(err, -EINVAL, "ExtenderPreemptionArgs: %s[\"%.100s\"].Pods must be an array",
                       form, name);
    size_t n = json_array_size(pods);
    if (n && !(out->victims = calloc(n, sizeof(*out->victims))))
        return nf_errf(err, -ENOMEM, "ExtenderPreemptionArgs: out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = decode_victim(json_array_get(pods, i), meta, name, i, &out->victims[i], err);
        if (rc)
            return rc;
        out->n_victims++;
    }
    return 0;
}

int nf_preempt_args_decode(const char *body, size_t len, nf_preempt_args *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_DECODE_ANY, &je);
    if (!doc)
        return nf_errf(err, -EINVAL,
                       "ExtenderPreemptionArgs: malformed JSON at line %d column %d: %s", je.line,
                       je.column, je.text);
    out->doc = doc;
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = nf_errf(err, -EINVAL, "ExtenderPreemptionArgs: the body must be a JSON object");
        goto fail;
    }
    const json_t *pod = nf_json_iget(doc, "Pod");
    if (!json_is_object(pod)) {
        rc = nf_errf(err, -EINVAL, "ExtenderPreemptionArgs: Pod is missing or not an object");
        goto fail;
    }
    nf_err perr = {{0}};
    if ((rc = nf_pod_req_from_json(pod, &out->req, &perr))) {
        nf_errf(err, rc, "ExtenderPreemptionArgs: Pod: %s", perr.msg);
        goto fail;
    }
    const json_t *full = nf_json_iget(doc, "NodeNameToVictims");
    const json_t *meta = nf_json_iget(doc, "NodeNameToMetaVictims");
    const json_t *map = full && !json_is_null(full) ? full : meta;
    out->meta = map == meta;
    if (!map || json_is_null(map))
        return 0;
    if (!json_is_object(map)) {
        rc = nf_errf(err, -EINVAL, "ExtenderPreemptionArgs: %s must be an object",
                     out->meta ? "NodeNameToMetaVictims" : "NodeNameToVictims");
        goto fail;
    }
    size_t n = json_object_size(map);
    if (n && !(out->nodes = calloc(n, sizeof(*out->nodes)))) {
        rc = nf_errf(err, -ENOMEM, "ExtenderPreemptionArgs: out of memory");
        goto fail;
    }
    const char *name;
    const json_t *set;
    json_object_foreach((json_t *)map, name, set)
    {
        nf_preempt_node *node = &out->nodes[out->n_nodes++];
        if ((rc = decode_node(name, set, out->meta, node, err)))
            goto fail;
    }
    return 0;
fail:
    nf_preempt_args_free(out);
    return rc;
}

/* ---- the decision ---- */

/* Does the pod fit on base with the given victims' usage given back? */
static int fits_without(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *base,
                        const nf_fit_opts *o, const nf_deduction *credits, const size_t *first,
                        const bool *taken, size_t n_victims, nf_deduction *scratch, bool *fits)
{
    size_t n = 0;
    for (size_t v = 0; v < n_victims; v++)
        if (taken[v])
            for (size_t k = first[v]; k < first[v + 1]; k++)
                scratch[n++] = credits[k];
    nf_fit_view *view;
    int rc = nf_fit_view_deduct(base, t, scratch, n, &view);
    if (rc)
        return rc;
    nf_fit_opts fo = *o;
    fo.no_reason = true;
    nf_fit_result r;
    rc = nf_fit_node_view(pod, t, view, &fo, &r);
    nf_fit_view_free(view);
    if (rc)
        return rc;
    *fits = r.status == NF_FIT_OK;
    nf_fit_result_free(&r);
    return 0;
}

/* Order of trying victims: lowest priority first; equal priorities: the later one in the list
 * (kube-scheduler lists more important pods first). */
typedef struct ranked {
    size_t idx;
    int64_t priority;
} ranked;

static int rank_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->idx > y->idx ? -1 : x->idx < y->idx;
}

int nf_preempt_node_decide(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *base,
                           const nf_fit_opts *o, const nf_preempt_node *n, bool *kept, bool *keep)
{
    *keep = false;
    for (size_t v = 0; v < n->n_victims; v++)
        kept[v] = false;
    nf_fit_view *own = NULL;
    int rc = 0;
    if (!base) {
        if ((rc = nf_fit_view_new(t, o->align, &own)))
            return rc;
        base = own;
    }
    /* what each victim frees, per NUMA node: credits[first[v] .. first[v+1]) */
    size_t nv = n->n_victims, nc = 0;
    for (size_t v = 0; v < nv; v++)
        for (size_t z = 0; z < t->n_numa_nodes; z++)
            for (size_t p = 0; p < t->numa_nodes[z].n_pods; p++)
                if (nf_pod_usage_is(&t->numa_nodes[z].pods[p], n->victims[v].uid, NULL, NULL))
                    nc += t->numa_nodes[z].pods[p].n_amounts;
    nf_deduction *credits = malloc((nc ? nc : 1) * 2 * sizeof(*credits));
    size_t *first = malloc((nv + 1) * sizeof(*first));
    bool *taken = calloc(nv ? nv : 1, sizeof(*taken));
    ranked *order = malloc((nv ? nv : 1) * sizeof(*order));
    if (!credits || !first || !taken || !order) {
        rc = -ENOMEM;
        goto out;
    }
    nc = 0;
    size_t n_order = 0;
    for (size_t v = 0; v < nv; v++) {
        first[v] = nc;
        for (size_t z = 0; z < t->n_numa_nodes; z++) {
            const nf_numa_node *nn = &t->numa_nodes[z];
            for (size_t p = 0; p < nn->n_pods; p++) {
                const nf_pod_usage *u = &nn->pods[p];
                if (!nf_pod_usage_is(u, n->victims[v].uid, NULL, NULL))
                    continue;
                for (size_t k = 0; k < u->n_amounts; k++)
                    if (u->amounts[k].value > 0)
                        credits[nc++] = (nf_deduction){.numa = nn->id,
                                                       .resource = u->amounts[k].name,
                                                       .amount = -u->amounts[k].value};
            }
        }
        if (nc > first[v])
            order[n_order++] = (ranked){.idx = v, .priority = n->victims[v].priority};
        else
            kept[v] = true; /* holds nothing numafit sees: the scheduler's reason, kept */
    }
    first[nv] = nc;
    nf_deduction *scratch = credits + nc;
    qsort(order, n_order, sizeof(*order), rank_cmp);
    bool fits = false;
    if ((rc = fits_without(pod, t, base, o, credits, first, taken, nv, scratch, &fits)))
        goto out;
    size_t used = 0;
    while (!fits && used < n_order) {
        taken[order[used++].idx] = true;
        if ((rc = fits_without(pod, t, base, o, credits, first, taken, nv, scratch, &fits)))
            goto out;
    }
    if (!fits)
        goto out; /* even every victim gone leaves no zone: not a candidate */
    /* reprieve, most important first: the last one taken was needed, the others may not be */
    for (size_t i = used > 0 ? used - 1 : 0; i-- > 0;) {
        size_t v = order[i].idx;
        taken[v] = false;
        if ((rc = fits_without(pod, t, base, o, credits, first, taken, nv, scratch, &fits)))
            goto out;
        if (!fits)
            taken[v] = true;
    }
    for (size_t v = 0; v < nv; v++)
        kept[v] = kept[v] || taken[v];
    *keep = true;
out:
    free(credits);
    free(first);
    free(taken);
    free(order);
    nf_fit_view_free(own);
    return rc;
}

/* ---- the request ---- */

static json_t *meta_victims(const nf_preempt_node *n, const bool *kept)
{
    json_t *pods = json_array();
    size_t k = 0;
    for (size_t v = 0; pods && v < n->n_victims; v++) {
        if (!kept || kept[v]) {
            if (json_array_append_new(pods, json_pack("{s:s}", "UID", n->victims[v].uid))) {
                json_decref(pods);
                return NULL;
            }
            k++;
        }
    }
    int64_t pdb = n->num_pdb_violations;
    if (pdb > (int64_t)k)
        pdb = (int64_t)k;
    return pods ? json_pack("{s:o, s:I}", "Pods", pods, "NumPDBViolations", (json_int_t)pdb) : NULL;
}

int nf_preempt(const nf_preempt_args *a, const nf_topology_source *src, const nf_fit_opts *o,
               json_t **result, nf_preempt_summary *summary)
{
    *result = NULL;
    nf_preempt_summary sum = {.nodes_in = a->n_nodes};
    json_t *map = json_object();
    int rc = map ? 0 : -ENOMEM;
    for (size_t i = 0; i < a->n_nodes && !rc; i++) {
        const nf_preempt_node *n = &a->nodes[i];
        sum.victims_in += n->n_victims;
        void *handle = NULL;
        char why[256] = "";
        const nf_topology *t = NULL;
        bool keep, *kept = NULL;
        if (!a->req.aligned) {
            keep = true; /* nothing aligned: the scheduler's choice stands */
        } else if (!(t = src && src->acquire
                             ? src->acquire(src->ctx, n->name, &handle, why, sizeof(why))
                             : NULL)) {
            keep = src && src->pass_missing; /* numafit knows nothing of the node */
        } else {
            nf_fit_memo *memo = NULL;
            const nf_fit_view *v =
                src->view ? src->view(src->ctx, handle, t, o->align, &memo) : NULL;
            if (!(kept = calloc(n->n_victims ? n->n_victims : 1, sizeof(*kept))))
                rc = -ENOMEM;
            else
                rc = nf_preempt_node_decide(&a->req, t, v, o, n, kept, &keep);
            if (src->release)
                src->release(src->ctx, handle);
        }
        if (!rc && keep) {
            json_t *set = meta_victims(n, kept);
            if (!set || json_object_set_new(map, n->name, set))
                rc = -ENOMEM;
            sum.nodes_kept++;
            sum.victims_kept += set ? json_array_size(json_object_get(set, "Pods")) : 0;
        }
        free(kept);
    }
    if (rc)
        json_decref(map);
    else if (!(*result = json_pack("{s:o}", "NodeNameToMetaVictims", map)))
        rc = -ENOMEM;
    if (summary)
        *summary = sum;
    return rc;
}
