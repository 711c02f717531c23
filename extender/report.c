/* report.c - the capacity report model (see report.h). */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/quantity.h"
#include "score.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int res_name_cmp(const void *a, const void *b)
{
    return nf_resource_name_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int total_cmp(const void *a, const void *b)
{
    return nf_resource_name_cmp(((const nf_report_total *)a)->name,
                                ((const nf_report_total *)b)->name);
}

int nf_report_amount_index(const nf_amount *a, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int grow(void **v, size_t n, size_t elem)
{
    /* capacities are powers of two: grow when n is 0 or a power of two */
    if (n && (n & (n - 1)))
        return 0;
    void *nv = realloc(*v, (n ? 2 * n : 4) * elem);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    return 0;
}

/* a + b, INT64_MAX instead of wrapping (cluster sums of many large nodes) */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t s;
    return __builtin_add_overflow(a, b, &s) ? (b > 0 ? INT64_MAX : INT64_MIN) : s;
}

const nf_topology *nf_report_node_topology(const nf_report_node *n)
{
    return n->view ? n->view : n->input;
}

/* ---- life cycle ------------------------------------------------------------------------- */

int nf_report_new(const nf_report_opts *o, nf_report **out)
{
    nf_report *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (o)
        r->opts = *o;
    *out = r;
    return 0;
}

static void view_free(nf_topology *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_numa_nodes; i++)
        free(v->numa_nodes[i].resources);
    free(v->numa_nodes);
    free(v);
}

static void shape_free(nf_report_shape *s, size_t n_nodes)
{
    free(s->label);
    nf_pod_req_free(&s->req);
    nf_amount_free_array(s->request, s->n_request);
    if (s->nodes)
        for (size_t i = 0; i < n_nodes; i++)
            nf_node_count_free(&s->nodes[i]);
    free(s->nodes);
    if (s->node_error)
        for (size_t i = 0; i < n_nodes; i++)
            free(s->node_error[i]);
    free(s->node_error);
    nf_amount_free_array(s->free, s->n_free);
    nf_amount_free_array(s->stranded, s->n_free);
    free(s->placements);
    free(s->note);
}

void nf_report_free(nf_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_shapes; i++)
        shape_free(&r->shapes[i], r->n_nodes);
    free(r->shapes);
    for (size_t i = 0; i < r->n_nodes; i++) {
        view_free(r->nodes[i].view);
        nf_zones_free(r->nodes[i].numa, r->nodes[i].n_numa);
    }
    free(r->nodes);
    for (size_t i = 0; i < r->n_skipped; i++) {
        free(r->skipped[i].node);
        free(r->skipped[i].reason);
    }
    free(r->skipped);
    for (size_t i = 0; i < r->n_totals; i++)
        free(r->totals[i].name);
    free(r->totals);
    free(r->resources);
    free(r);
}

/* ---- inputs ----------------------------------------------------------------------------- */

int nf_report_add_shape(nf_report *r, const char *label, nf_pod_req *req, nf_err *err)
{
    nf_pod_req pod = *req;
    memset(req, 0, sizeof(*req));
    int rc = 0;
    if (r->computed)
        rc = nf_errf(err, -EBUSY, "report: shapes must be added before computing");
    else if (!pod.aligned)
        rc = nf_errf(err, -EINVAL,
                     "%s: the pod asks for no exclusive CPUs, hugepages, devices or memory, so "
                     "any number of them would fit",
                     label);
    else if (grow((void **)&r->shapes, r->n_shapes, sizeof(*r->shapes)))
        rc = nf_errf(err, -ENOMEM, "report: out of memory");
    if (rc) {
        nf_pod_req_free(&pod);
        return rc;
    }
    nf_report_shape *s = &r->shapes[r->n_shapes];
    memset(s, 0, sizeof(*s));
    s->req = pod;
    for (size_t i = 0; !rc && i < pod.n_effective; i++)
        if (pod.effective[i].value > 0)
            rc = nf_amount_add(&s->request, &s->n_request, pod.effective[i].name,
                               pod.effective[i].value);
    if (!rc && !(s->label = strdup(label)))
        rc = -ENOMEM;
    if (rc) {
        shape_free(s, 0);
        return nf_errf(err, rc, "report: %s", nf_strerror(rc));
    }
    qsort(s->request, s->n_request, sizeof(*s->request), nf_amount_cmp);
    r->n_shapes++;
    return 0;
}

/* Levenshtein distance of two short names (at most 63 characters; longer: far). */
static size_t name_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The name a mistyped resource name most likely meant, or NULL. Hugepage sizes are binary
 * (kubelet names them hugepages-2Mi, hugepages-1Gi): "hugepages-1G" means hugepages-1Gi. */
static const char *name_suggestion(const char *name, char *buf, size_t len)
{
    static const char *const known[] = {"cpu", "memory", "hugepages-2Mi", "hugepages-1Gi"};
    if (nf_resource_is_hugepages(name)) {
        const char *size = name + 10;
        int64_t bytes = 0;
        nf_err qe;
        if (nf_quantity_parse(size, &bytes, &qe) == 0 && bytes > 0 && !(bytes & (bytes - 1))) {
            nf_hugepage_resource_name((uint64_t)bytes, buf, len);
            return strcmp(buf, name) ? buf : NULL;
        }
        size_t n = strlen(size);
        if (n >= 2 && strchr("KMGT", size[n - 1]) && size[n - 2] >= '0' && size[n - 2] <= '9') {
            snprintf(buf, len, "%si", name); /* a decimal suffix: the binary one was meant */
            return buf;
        }
        return "hugepages-2Mi or hugepages-1Gi";
    }
    const char *best = NULL;
    size_t bd = 3; /* farther than two edits is not a typo */
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        size_t n = strlen(name);
        /* an abbreviation ("mem") is as close as a typo */
        size_t d = n >= 2 && strncmp(name, known[i], n) == 0 ? 1 : name_distance(name, known[i]);
        if (d < bd) {
            bd = d;
            best = known[i];
        }
    }
    return best;
}

/* Refuse a resource name a shape cannot mean before parsing it, with a suggestion: a hugepage
 * size kubelet never publishes (hugepages-1G), or a typo of cpu or memory (cpus, mem). */
static int shape_names_check(const char *shape, nf_err *err)
{
    for (const char *p = shape; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        const char *eq = memchr(p, '=', n);
        size_t nl = eq ? (size_t)(eq - p) : 0;
        while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
            nl--;
        char name[128], sug[64];
        if (nl && nl < sizeof(name)) {
            memcpy(name, p, nl);
            name[nl] = 0;
            bool known = strcmp(name, "cpu") == 0 || strcmp(name, "memory") == 0 ||
                         nf_resource_is_device(name);
            const char *s = known ? NULL : name_suggestion(name, sug, sizeof(sug));
            if (s)
                return nf_errf(err, -EINVAL,
                               "shape \"%.100s\": unknown resource %s (did you mean %s?)", shape,
                               name, s);
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int nf_report_add_shape_text(nf_report *r, const char *shape, nf_err *err)
{
    nf_pod_req pod;
    int rc = shape_names_check(shape, err);
    if (rc)
        return rc;
    rc = nf_pod_req_from_shape(shape, &pod, err);
    if (rc)
        return rc;
    /* the label is the shape as given, without the white space around items */
    char label[1024];
    size_t k = 0;
    for (const char *p = shape; *p && k + 1 < sizeof(label); p++)
        if (*p != ' ' && *p != '\t')
            label[k++] = *p;
    label[k] = 0;
    return nf_report_add_shape(r, label, &pod, err);
}

int nf_report_named_shape_parse(const char *arg, char *name, size_t name_len, nf_pod_req *req,
                                nf_err *err)
{
    memset(req, 0, sizeof(*req));
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : 0;
    if (!eq || !n)
        return nf_errf(err, -EINVAL,
                       "\"%.80s\": give NAME=REQUESTS, e.g. upf=cpu=4,hugepages-1Gi=4Gi,"
                       "intel.com/sriov=1",
                       arg);
    if (n >= name_len)
        return nf_errf(err, -EINVAL, "shape name \"%.*s\" is longer than %zu characters", (int)n,
                       arg, name_len - 1);
    for (size_t i = 0; i < n; i++) {
        char c = arg[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return nf_errf(err, -EINVAL,
                           "shape name \"%.*s\": only letters, digits, '_', '.' and '-'", (int)n,
                           arg);
    }
    memcpy(name, arg, n);
    name[n] = 0;
    nf_err perr = {{0}};
    int rc = shape_names_check(eq + 1, &perr);
    if (!rc)
        rc = nf_pod_req_from_shape(eq + 1, req, &perr);
    if (rc)
        return nf_errf(err, rc, "shape %s: %s", name, perr.msg);
    return 0;
}

int64_t nf_report_shape_stranded_pods(const nf_report *r, size_t si)
{
    const nf_report_shape *s = &r->shapes[si];
    int64_t stranded = 0;
    for (size_t i = 0; s->nodes && i < r->n_nodes; i++) {
        const nf_node_count *c = &s->nodes[i];
        if (s->node_error[i] || !s->n_request)
            continue;
        int64_t loose = INT64_MAX;
        for (size_t k = 0; k < s->n_request; k++) {
            int j = nf_report_amount_index(c->free, c->n_free, s->request[k].name);
            int64_t f = j < 0 ? 0 : c->free[j].value;
            int64_t pods = s->request[k].value > 0 ? (f > 0 ? f : 0) / s->request[k].value : 0;
            if (pods < loose)
                loose = pods;
        }
        if (loose > c->fits)
            stranded = sat_add(stranded, loose - c->fits);
    }
    return stranded;
}

/* The first amount of t no machine can have (above NF_REPORT_MAX_AMOUNT), as a reason. Such a
 * document is broken (e.g. a counter read as INT64_MAX): counting it would make every sum
 * meaningless, so the node is skipped with this reason. */
static bool unbelievable(const nf_topology *t, char *why, size_t len)
{
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *nn = &t->numa_nodes[i];
        for (size_t k = 0; k < nn->n_resources; k++) {
            const nf_resource *res = &nn->resources[k];
            const struct {
                const char *key;
                int64_t v;
            } f[] = {{"capacity", res->capacity},
                     {"allocatable", res->allocatable},
                     {"available", res->available},
                     {"usable", res->usable}};
            for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
                if (f[j].v > NF_REPORT_MAX_AMOUNT) {
                    snprintf(why, len,
                             "numa%d resources[%s].%s = %" PRId64
                             " is not a believable amount (over 2^53): node not counted",
                             nn->id, res->name, f[j].key, f[j].v);
                    return true;
                }
            }
        }
    }
    return false;
}

int nf_report_add_node(nf_report *r, const nf_topology *t)
{
    if (r->computed)
        return -EBUSY;
    char why[256];
    if (unbelievable(t, why, sizeof(why)))
        return nf_report_add_skipped(r, t->node, why);
    if (grow((void **)&r->nodes, r->n_nodes, sizeof(*r->nodes)))
        return -ENOMEM;
    r->nodes[r->n_nodes++] = (nf_report_node){.name = t->node ? t->node : "", .input = t};
    return 0;
}

/* take() is below, with the what-if placement that shares it */
static int view_make(nf_report_node *n);
static int64_t take(nf_topology *v, nf_align align, int zone, const char *name, int64_t amount);

int nf_report_add_node_deducted(nf_report *r, const nf_topology *t, const nf_deduction *d, size_t n)
{
    size_t before = r->n_nodes;
    int rc = nf_report_add_node(r, t);
    if (rc || !n || r->n_nodes == before) /* error, nothing to deduct, or skipped */
        return rc;
    nf_report_node *node = &r->nodes[r->n_nodes - 1];
    if ((rc = view_make(node)))
        return rc;
    for (size_t i = 0; i < n; i++)
        take(node->view, NF_ALIGN_NUMA, d[i].numa, d[i].resource, d[i].amount);
    return 0;
}

int nf_report_add_skipped(nf_report *r, const char *node, const char *reason)
{
    if (grow((void **)&r->skipped, r->n_skipped, sizeof(*r->skipped)))
        return -ENOMEM;
    nf_report_skip *s = &r->skipped[r->n_skipped];
    s->node = strdup(node ? node : "");
    s->reason = strdup(reason ? reason : "");
    if (!s->node || !s->reason) {
        free(s->node);
        free(s->reason);
        return -ENOMEM;
    }
    r->n_skipped++;
    return 0;
}

/* ---- what-if placement ------------------------------------------------------------------ */

/* A private copy of the node's NUMA nodes and their resources; every string and every other
 * array stays shared with the input. */
static int view_make(nf_report_node *n)
{
    if (n->view)
        return 0;
    const nf_topology *t = n->input;
    nf_topology *v = malloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    *v = *t;
    v->numa_nodes = calloc(t->n_numa_nodes ? t->n_numa_nodes : 1, sizeof(*v->numa_nodes));
    if (!v->numa_nodes) {
        free(v);
        return -ENOMEM;
    }
    v->n_numa_nodes = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        nf_numa_node *nn = &v->numa_nodes[v->n_numa_nodes++];
        *nn = t->numa_nodes[i];
        nn->resources = malloc((nn->n_resources ? nn->n_resources : 1) * sizeof(*nn->resources));
        if (!nn->resources) {
            v->n_numa_nodes--;
            view_free(v);
            return -ENOMEM;
        }
        memcpy(nn->resources, t->numa_nodes[i].resources, nn->n_resources * sizeof(*nn->resources));
    }
    n->view = v;
    return 0;
}

/* Take `amount` of resource `name` from the NUMA nodes of zone `zone` (in their order); returns
 * what the zone did not have. */
static int64_t take(nf_topology *v, nf_align align, int zone, const char *name, int64_t amount)
{
    bool cpu = strcmp(name, "cpu") == 0, dev = nf_resource_is_device(name);
    for (size_t i = 0; i < v->n_numa_nodes && amount > 0; i++) {
        nf_numa_node *nn = &v->numa_nodes[i];
        if (nf_numa_zone_id(v, nn, align) != zone)
            continue;
        nf_resource *res = nf_numa_resource(nn, name);
        if (!res || res->available <= 0)
            continue;
        int64_t got = amount < res->available ? amount : res->available;
        res->available -= got;
        if (dev && res->usable >= 0)
            res->usable -= got < res->usable ? got : res->usable;
        int tpc = nn->cpus.threads_per_core;
        if (cpu && tpc > 0 && nn->cpus.free_full_cores > 0) {
            int64_t cores = (got + tpc - 1) / tpc;
            nn->cpus.free_full_cores -=
                (int)(cores < nn->cpus.free_full_cores ? cores : nn->cpus.free_full_cores);
        }
        amount -= got;
    }
    return amount;
}

static void take_amounts(nf_topology *v, const nf_pod_req *pod, const nf_fit_opts *o, int zone,
                         const nf_amount *a, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k].value > 0 && nf__fit_checks(v, a[k].name) && nf__fit_pod_checks(pod, o, a[k].name))
            take(v, o->align, zone, a[k].name, a[k].value);
}

/* Where the pod lands on node n as kubelet would place it: take its amounts. */
static int place(nf_report *r, nf_report_node *n, const nf_pod_req *pod, const nf_fit_result *f)
{
    int rc = view_make(n);
    if (rc)
        return rc;
    const nf_fit_opts *o = &r->opts.fit;
    if (f->numa_set) { /* --align kubelet: kubelet's NUMA set, lowest id first */
        for (size_t k = 0; k < pod->n_effective; k++) {
            const nf_amount *a = &pod->effective[k];
            if (a->value <= 0 || !nf__fit_checks(n->view, a->name) ||
                !nf__fit_pod_checks(pod, o, a->name))
                continue;
            int64_t left = a->value;
            for (uint32_t s = f->numa_set; s && left > 0; s &= s - 1)
                left = take(n->view, NF_ALIGN_NUMA, __builtin_ctz(s), a->name, left);
        }
        return 0;
    }
    if (!f->container_scope) {
        take_amounts(n->view, pod, o, f->zone, pod->effective, pod->n_effective);
        return 0;
    }
    for (size_t k = 0; k < f->n_container_zones && k < pod->n_containers; k++) {
        const nf_container_req *c = &pod->containers[k];
        /* a regular init container gives its resources back before the app starts */
        if (f->container_zones[k] >= 0 && c->kind != NF_CONTAINER_INIT)
            take_amounts(n->view, pod, o, f->container_zones[k], c->amounts, c->n_amounts);
    }
    return 0;
}

/* The raw /prioritize score of the pod on a node into *score, -1 when it does not fit (or would
 * use nothing aligned there). */
static int rank_node(nf_report *r, nf_report_node *n, const nf_pod_req *pod, double *score)
{
    nf_fit_result f;
    const nf_topology *t = nf_report_node_topology(n);
    int rc = nf_fit_node(pod, t, &r->opts.fit, &f);
    if (rc)
        return rc;
    *score = -1;
    if (f.status == NF_FIT_OK && f.aligned) {
        double s = nf_score_node_raw(pod, t, &r->opts.fit, &f);
        if (s < 0)
            rc = -ENOMEM;
        else
            *score = s;
    }
    nf_fit_result_free(&f);
    return rc;
}

static int add_pods(nf_report *r, nf_report_shape *s, double *score)
{
    int rc = 0;
    for (size_t i = 0; i < r->n_nodes && !rc; i++)
        rc = rank_node(r, &r->nodes[i], &s->req, &score[i]);
    while (!rc && s->placed < r->opts.add_pods) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < r->n_nodes; i++)
            if (score[i] >= 0 && (best == SIZE_MAX || score[i] > score[best]))
                best = i;
        if (best == SIZE_MAX) {
            if (asprintf(&s->note, "no node fits pod %" PRId64 " of the shape", s->placed + 1) <
                0) {
                s->note = NULL;
                rc = -ENOMEM;
            }
            break;
        }
        nf_report_node *n = &r->nodes[best];
        nf_fit_result f;
        if ((rc = nf_fit_node(&s->req, nf_report_node_topology(n), &r->opts.fit, &f)))
            break;
        if ((rc = place(r, n, &s->req, &f)) == 0 &&
            (rc = grow((void **)&s->placements, s->n_placements, sizeof(*s->placements))) == 0) {
            s->placements[s->n_placements++] = (nf_report_placement){.node = best, .zone = f.zone};
            s->placed++;
            rc = rank_node(r, n, &s->req, &score[best]);
        }
        nf_fit_result_free(&f);
    }
    return rc;
}

/* ---- counting --------------------------------------------------------------------------- */

static int node_name_cmp(const void *a, const void *b)
{
    const nf_report_node *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    if (d)
        return d;
    /* equal names: in the order they were added (sort_nodes stashes it in n_numa) */
    return (x->n_numa > y->n_numa) - (x->n_numa < y->n_numa);
}

/* Sort by name and drop repeated names (the first added counts). */
static int sort_nodes(nf_report *r)
{
    for (size_t i = 0; i < r->n_nodes; i++)
        r->nodes[i].n_numa = i;
    qsort(r->nodes, r->n_nodes, sizeof(*r->nodes), node_name_cmp);
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < r->n_nodes; i++) {
        r->nodes[i].n_numa = 0;
        if (k > 0 && strcmp(r->nodes[k - 1].name, r->nodes[i].name) == 0) {
            if (!rc)
                rc = nf_report_add_skipped(r, r->nodes[i].name,
                                           "duplicate node name: an earlier input has this node");
            continue;
        }
        r->nodes[k++] = r->nodes[i];
    }
    r->n_nodes = k;
    return rc;
}

static int collect_resources(nf_report *r)
{
    size_t cap = 0;
    for (size_t i = 0; i < r->n_shapes; i++)
        cap += r->shapes[i].n_request;
    r->resources = calloc(cap ? cap : 1, sizeof(*r->resources));
    if (!r->resources)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_shapes; i++) {
        const nf_report_shape *s = &r->shapes[i];
        for (size_t k = 0; k < s->n_request; k++) {
            size_t j = 0;
            while (j < r->n_resources && strcmp(r->resources[j], s->request[k].name))
                j++;
            if (j == r->n_resources)
                r->resources[r->n_resources++] = s->request[k].name;
        }
    }
    qsort(r->resources, r->n_resources, sizeof(*r->resources), res_name_cmp);
    return 0;
}

/* The heatmap's per-NUMA-node view and the cluster totals. */
static int numa_views(nf_report *r)
{
    nf_fit_opts numa = r->opts.fit;
    numa.align = NF_ALIGN_NUMA;
    for (size_t i = 0; i < r->n_nodes; i++) {
        nf_report_node *n = &r->nodes[i];
        int rc = nf_zones_build(nf_report_node_topology(n), &numa, &n->numa, &n->n_numa);
        if (rc)
            return rc;
        r->n_numa += n->n_numa;
        for (size_t z = 0; z < n->n_numa; z++) {
            for (size_t k = 0; k < n->numa[z].n_res; k++) {
                const nf_zone_res *zr = &n->numa[z].res[k];
                size_t j = 0;
                while (j < r->n_totals && strcmp(r->totals[j].name, zr->name))
                    j++;
                if (j == r->n_totals) {
                    if (grow((void **)&r->totals, r->n_totals, sizeof(*r->totals)))
                        return -ENOMEM;
                    r->totals[j] = (nf_report_total){.name = strdup(zr->name)};
                    if (!r->totals[j].name)
                        return -ENOMEM;
                    r->n_totals++;
                }
                nf_report_total *t = &r->totals[j];
                t->allocatable = sat_add(t->allocatable, zr->allocatable);
                t->free = sat_add(t->free, zr->available);
            }
        }
    }
    qsort(r->totals, r->n_totals, sizeof(*r->totals), total_cmp);
    return 0;
}

static int count_shape(nf_report *r, nf_report_shape *s, nf_err *err)
{
    size_t nn = r->n_nodes ? r->n_nodes : 1;
    s->nodes = calloc(nn, sizeof(*s->nodes));
    s->node_error = calloc(nn, sizeof(*s->node_error));
    s->free = calloc(s->n_request ? s->n_request : 1, sizeof(*s->free));
    s->stranded = calloc(s->n_request ? s->n_request : 1, sizeof(*s->stranded));
    if (!s->nodes || !s->node_error || !s->free || !s->stranded)
        return nf_errf(err, -ENOMEM, "report: out of memory");
    for (size_t k = 0; k < s->n_request; k++) {
        s->free[k].name = strdup(s->request[k].name);
        s->stranded[k].name = strdup(s->request[k].name);
        s->n_free++;
        if (!s->free[k].name || !s->stranded[k].name)
            return nf_errf(err, -ENOMEM, "report: out of memory");
    }
    for (size_t i = 0; i < r->n_nodes; i++) {
        nf_err cerr = {{0}};
        nf_node_count *c = &s->nodes[i];
        int rc =
            nf_fit_count(&s->req, nf_report_node_topology(&r->nodes[i]), &r->opts.fit, c, &cerr);
        if (rc == -EINVAL) {
            /* e.g. only memory, on a node whose Memory Manager does not align it */
            if (!(s->node_error[i] = strdup(cerr.msg)))
                return nf_errf(err, -ENOMEM, "report: out of memory");
            s->unbounded_nodes++;
            continue;
        }
        if (rc)
            return nf_errf(err, rc, "%s", cerr.msg);
        if (c->fits > 0)
            s->nodes_with_room++;
        s->total = sat_add(s->total, c->fits);
        for (size_t k = 0; k < c->n_free; k++) {
            int j = nf_report_amount_index(s->free, s->n_free, c->free[k].name);
            if (j < 0)
                continue;
            s->free[j].value = sat_add(s->free[j].value, c->free[k].value);
            s->stranded[j].value = sat_add(s->stranded[j].value, c->stranded[k].value);
        }
    }
    return 0;
}

int nf_report_compute(nf_report *r, nf_err *err)
{
    if (r->computed)
        return nf_errf(err, -EBUSY, "report: already computed");
    if (r->n_shapes == 0)
        return nf_errf(err, -EINVAL, "report: no shape given");
    if (r->opts.add_pods < 0 || r->opts.add_pods > NF_REPORT_MAX_ADD_PODS)
        return nf_errf(err, -EINVAL, "report: add-pods must be 0..%d", NF_REPORT_MAX_ADD_PODS);
    r->computed = true;
    int rc = sort_nodes(r);
    if (!rc)
        rc = collect_resources(r);
    if (rc)
        return nf_errf(err, rc, "report: %s", nf_strerror(rc));
    if (r->opts.add_pods > 0 && r->n_nodes) {
        double *score = calloc(r->n_nodes, sizeof(*score));
        if (!score)
            return nf_errf(err, -ENOMEM, "report: out of memory");
        for (size_t i = 0; i < r->n_shapes && !rc; i++)
            rc = add_pods(r, &r->shapes[i], score);
        free(score);
        if (rc)
            return nf_errf(err, rc, "report: what-if placement: %s", nf_strerror(rc));
    }
    if ((rc = numa_views(r)))
        return nf_errf(err, rc, "report: %s", nf_strerror(rc));
    for (size_t i = 0; i < r->n_shapes; i++)
        if ((rc = count_shape(r, &r->shapes[i], err)))
            return rc;
    return 0;
}

/* CPUs the zone's NUMA nodes have at all (allocatable or not). */
static int64_t zone_cpus(const nf_report *r, size_t i, int zone)
{
    const nf_topology *t = nf_report_node_topology(&r->nodes[i]);
    int64_t n = 0;
    for (size_t k = 0; k < t->n_numa_nodes; k++) {
        const nf_numa_node *nn = &t->numa_nodes[k];
        if (nf_numa_zone_id(t, nn, r->opts.fit.align) != zone)
            continue;
        const nf_resource *res = nf_numa_resource(nn, "cpu");
        if (res && res->capacity > 0)
            n = sat_add(n, res->capacity);
    }
    return n;
}

const char *nf_report_zone_limits(const nf_report *r, size_t si, size_t i, size_t z, char *buf,
                                  size_t len)
{
    const nf_report_shape *s = &r->shapes[si];
    const nf_zone_count *zc = &s->nodes[i].zones[z];
    buf[0] = 0;
    if (!zc->limited_by)
        return buf;
    if (zc->fits == 0 && nf_report_amount_index(zc->free, zc->n_free, "cpu") >= 0 &&
        zone_cpus(r, i, zc->id) == 0) {
        snprintf(buf, len, "no CPUs");
        return buf;
    }
    if (nf_report_amount_index(zc->free, zc->n_free, zc->limited_by) < 0) {
        snprintf(buf, len, "%s", zc->limited_by); /* a policy, not a resource */
        return buf;
    }
    size_t used = 0;
    for (size_t k = 0; k < zc->n_free && used + 1 < len; k++) {
        int j = nf_report_amount_index(s->request, s->n_request, zc->free[k].name);
        if (j < 0 || s->request[j].value <= 0 ||
            zc->free[k].value / s->request[j].value != zc->fits)
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", zc->free[k].name);
        used += w > 0 ? (size_t)w : 0;
    }
    if (!used)
        snprintf(buf, len, "%s", zc->limited_by);
    return buf;
}
