/* score.c - /prioritize scores (formulas in score.h). */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* placed amounts per (zone index, resource name) */
typedef struct placed {
    size_t zone;
    const char *name;
    int64_t value;
} placed;

static int place(placed **p, size_t *n, size_t zone, const char *name, int64_t v)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*p)[i].zone == zone && strcmp((*p)[i].name, name) == 0) {
            if (__builtin_add_overflow((*p)[i].value, v, &(*p)[i].value))
                return -ERANGE;
            return 0;
        }
    }
    placed *np = realloc(*p, (*n + 1) * sizeof(*np));
    if (!np)
        return -ENOMEM;
    *p = np;
    np[(*n)++] = (placed){.zone = zone, .name = name, .value = v};
    return 0;
}

static size_t zone_index(const nf_zone *z, size_t nz, int id)
{
    for (size_t i = 0; i < nz; i++)
        if (z[i].id == id)
            return i;
    return SIZE_MAX;
}

static int place_amounts(placed **p, size_t *n, const nf_topology *t, size_t zi, const nf_amount *a,
                         size_t na)
{
    for (size_t i = 0; i < na; i++) {
        if (a[i].value <= 0 || !nf__fit_checks(t, a[i].name))
            continue;
        int rc = place(p, n, zi, a[i].name, a[i].value);
        if (rc)
            return rc;
    }
    return 0;
}

double nf_score_node_raw(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                         const nf_fit_result *fit)
{
    if (!fit || fit->status != NF_FIT_OK || !fit->aligned)
        return 0.0;
    nf_zone *zones;
    size_t nz;
    int rc = nf_zones_build(t, o, &zones, &nz);
    if (rc)
        return rc == -ENOMEM ? -1.0 : 0.0;
    placed *p = NULL;
    size_t np = 0;
    if (!fit->container_zones) {
        size_t zi = zone_index(zones, nz, fit->zone);
        if (zi != SIZE_MAX)
            rc = place_amounts(&p, &np, t, zi, pod->effective, pod->n_effective);
    } else {
        for (size_t c = 0; c < fit->n_container_zones && c < pod->n_containers && !rc; c++) {
            const nf_container_req *cr = &pod->containers[c];
            if (cr->kind == NF_CONTAINER_INIT || fit->container_zones[c] < 0)
                continue; /* regular init containers hand their resources back */
            size_t zi = zone_index(zones, nz, fit->container_zones[c]);
            if (zi != SIZE_MAX)
                rc = place_amounts(&p, &np, t, zi, cr->amounts, cr->n_amounts);
        }
    }
    double score = 0.0;
    if (rc == -ENOMEM) {
        score = -1.0;
    } else if (!rc && np > 0) {
        double sum = 0, sumsq = 0;
        for (size_t i = 0; i < np; i++) {
            int64_t alloc = nf_zone_get(&zones[p[i].zone], p[i].name, 1);
            int64_t avail = nf_zone_get(&zones[p[i].zone], p[i].name, 0);
            double u = 1.0;
            if (alloc > 0)
                u = ((double)alloc - (double)avail + (double)p[i].value) / (double)alloc;
            if (u < 0)
                u = 0;
            if (u > 1)
                u = 1;
            sum += u;
            sumsq += u * u;
        }
        double mean = sum / (double)np;
        double var = sumsq / (double)np - mean * mean;
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
    }
    free(p);
    nf_zones_free(zones, nz);
    return score;
}

int nf_score_node(const nf_pod_req *pod, const nf_topology *t, const nf_fit_opts *o,
                  const nf_fit_result *fit)
{
    double raw = nf_score_node_raw(pod, t, o, fit);
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
