/* score.c - /prioritize scores (formulas in score.h). */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* placed amounts per (zone index, view column); col -1: the node lacks the resource */
typedef struct placed {
    size_t zone;
    int col;
    const char *name;
    int64_t value;
} placed;

typedef struct placements {
    placed *p;
    size_t n, cap;
    placed local[32];
} placements;

static int place(placements *ps, size_t zone, int col, const char *name, int64_t v)
{
    for (size_t i = 0; i < ps->n; i++) {
        placed *q = &ps->p[i];
        if (q->zone == zone && (col >= 0 ? q->col == col : strcmp(q->name, name) == 0)) {
            if (__builtin_add_overflow(q->value, v, &q->value))
                return -ERANGE;
            return 0;
        }
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap * 2;
        placed *np =
            ps->p == ps->local ? malloc(cap * sizeof(*np)) : realloc(ps->p, cap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        if (ps->p == ps->local)
            memcpy(np, ps->local, sizeof(ps->local));
        ps->p = np;
        ps->cap = cap;
    }
    ps->p[ps->n++] = (placed){.zone = zone, .col = col, .name = name, .value = v};
    return 0;
}

static int place_amounts(placements *ps, const nf_fit_view *v, const nf_pod_req *pod,
                         const nf_fit_opts *o, size_t zi, const nf_amount *a, size_t na)
{
    for (size_t i = 0; i < na; i++) {
        if (a[i].value <= 0 || !nf__fit_view_checks(v, a[i].name) ||
            !nf__fit_pod_checks(pod, o, a[i].name))
            continue;
        int rc = place(ps, zi, nf__fit_view_col(v, a[i].name), a[i].name, a[i].value);
        if (rc)
            return rc;
    }
    return 0;
}

double nf_score_node_view_raw(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                              const nf_fit_opts *o, const nf_fit_result *fit)
{
    (void)t;
    if (!fit || fit->status != NF_FIT_OK || !fit->aligned)
        return 0.0;
    placements ps = {.n = 0, .cap = 32};
    ps.p = ps.local;
    int rc = 0;
    if (fit->numa_set) {
        /* --align kubelet, kubelet's NUMA set: the pod's request against the set's sums, placed
         * on its lowest NUMA node (the others' amounts are added below) */
        size_t zi = nf__fit_view_zone_index(v, __builtin_ctz(fit->numa_set));
        if (zi != SIZE_MAX)
            rc = place_amounts(&ps, v, pod, o, zi, pod->effective, pod->n_effective);
    } else if (!fit->container_zones) {
        size_t zi = nf__fit_view_zone_index(v, fit->zone);
        if (zi != SIZE_MAX)
            rc = place_amounts(&ps, v, pod, o, zi, pod->effective, pod->n_effective);
    } else {
        for (size_t c = 0; c < fit->n_container_zones && c < pod->n_containers && !rc; c++) {
            const nf_container_req *cr = &pod->containers[c];
            if (cr->kind == NF_CONTAINER_INIT || fit->container_zones[c] < 0)
                continue; /* regular init containers hand their resources back */
            size_t zi = nf__fit_view_zone_index(v, fit->container_zones[c]);
            if (zi != SIZE_MAX)
                rc = place_amounts(&ps, v, pod, o, zi, cr->amounts, cr->n_amounts);
        }
    }
    double score = 0.0;
    if (rc == -ENOMEM) {
        score = -1.0;
    } else if (!rc && ps.n > 0) {
        double sum = 0, sumsq = 0;
        for (size_t i = 0; i < ps.n; i++) {
            int64_t alloc = nf__fit_view_get(v, ps.p[i].zone, ps.p[i].col, 1);
            int64_t avail = nf__fit_view_get(v, ps.p[i].zone, ps.p[i].col, 0);
            for (uint32_t rest = fit->numa_set & (fit->numa_set - 1); rest; rest &= rest - 1) {
                size_t z = nf__fit_view_zone_index(v, __builtin_ctz(rest));
                if (z != SIZE_MAX) {
                    alloc += nf__fit_view_get(v, z, ps.p[i].col, 1);
                    avail += nf__fit_view_get(v, z, ps.p[i].col, 0);
                }
            }
            double u = 1.0;
            if (alloc > 0)
                u = ((double)alloc - (double)avail + (double)ps.p[i].value) / (double)alloc;
            if (u < 0)
                u = 0;
            if (u > 1)
                u = 1;
            sum += u;
            sumsq += u * u;
        }
        double mean = sum / (double)ps.n;
        double var = sumsq / (double)ps.n - mean * mean;
        double sd = var > 0 ? sqrt(var) : 0.0;
        switch (o->strategy) {
        case NF_STRATEGY_LEAST_ALLOCATED:
            score = 10.0 * (1.0 - mean);
            break;
        case NF_STRATEGY_BALANCED:
            score = 10.0 * (1.0 - sd);
            break;
        default:
            score = 10.0 * mean;
            break;
        }
        if (fit->span > 1)
            score /= fit->span; /* fewer NUMA nodes rank higher */
    }
    if (ps.p != ps.local)
        free(ps.p);
    return score;
}

double nf_score_node_raw(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                         const nf_fit_result *fit)
{
    if (!fit || fit->status != NF_FIT_OK || !fit->aligned)
        return 0.0;
    nf_fit_view *v;
    int rc = nf_fit_view_new(t, o->align, &v);
    if (rc)
        return rc == -ENOMEM ? -1.0 : 0.0;
    double s = nf_score_node_view_raw(pod, t, v, o, fit);
    nf_fit_view_free(v);
    return s;
}

static int rounded(double raw)
{
    if (raw < 0)
        return -ENOMEM;
    /* halves up; a tiny epsilon absorbs binary rounding of values like 7.25 or 2.75 */
    long s = (long)floor(raw + 0.5 + 1e-9);
    if (s < 0)
        s = 0;
    if (s > NF_SCORE_MAX)
        s = NF_SCORE_MAX;
    return (int)s;
}

int nf_score_node_view(const nf_pod_req *pod, const nf_topology *t, const nf_fit_view *v,
                       const nf_fit_opts *o, const nf_fit_result *fit)
{
    return rounded(nf_score_node_view_raw(pod, t, v, o, fit));
}

int nf_score_node(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                  const nf_fit_result *fit)
{
    return rounded(nf_score_node_raw(pod, t, o, fit));
}
