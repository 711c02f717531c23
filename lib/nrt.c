/* nrt.c - NodeTopology -> NodeResourceTopology v1alpha2 (see numafit/nrt.h).
 *
 * Only the model goes in: the exporter's readers never see this, and the numbers are the ones
 * /v1/topology publishes (the zone `resources`), written as Kubernetes quantities.
 */
#include "numafit/nrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "numafit/buf.h"
#include "numafit/fileio.h"
#include "numafit/quantity.h"
#include "numafit/topology_json.h"

/* ---- the pod-set fingerprint ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int nf_nrt_fingerprint(const nf_pod_key *pods, size_t n, char out[NF_NRT_FINGERPRINT_LEN + 1])
{
    uint64_t *h = calloc(n ? n : 1, sizeof(*h));
    unsigned char *le = calloc(n ? n : 1, 8);
    if (!h || !le) {
        free(h);
        free(le);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t seed = XXH64(pods[i].ns, strlen(pods[i].ns), 0);
        h[i] = XXH64(pods[i].name, strlen(pods[i].name), seed);
    }
    qsort(h, n, sizeof(*h), cmp_u64);
    /* One XXH64 over the concatenation is the same as streaming the values one by one. */
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            le[i * 8 + (size_t)b] = (unsigned char)(h[i] >> (8 * b));
    uint64_t sum = XXH64(le, n * 8, 0);
    snprintf(out, NF_NRT_FINGERPRINT_LEN + 1, NF_NRT_FINGERPRINT_PREFIX "%016" PRIx64, sum);
    free(h);
    free(le);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const nf_pod_key *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

/* The fingerprint of every pod in pods[] (each once, although it may hold several NUMA nodes),
 * or why there is none (into why). 0, 1 (unavailable) or -ENOMEM. */
static int pods_fingerprint(const nf_topology *t, char out[NF_NRT_FINGERPRINT_LEN + 1], char *why,
                            size_t whylen)
{
    const nf_kubelet_info *k = &t->kubelet;
    const struct {
        const char *what, *status;
    } st[] = {{"podResources", k->state_pod_resources},
              {"cpuManager", k->state_cpu_manager},
              {"memoryManager", k->state_memory_manager},
              {"devicePlugins", k->state_device_plugins}};
    /* podresources, when it answers, is the source of pods[]: the files' state does not matter */
    bool podres_ok = k->state_pod_resources && strcmp(k->state_pod_resources, "ok") == 0;
    for (size_t i = 0; i < (podres_ok ? 1 : sizeof(st) / sizeof(st[0])); i++) {
        if (st[i].status && strncmp(st[i].status, "error", 5) == 0) {
            snprintf(why, whylen, "kubelet's %s state is not known, so neither is the pod set: %s",
                     st[i].what, st[i].status);
            return 1;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        n += t->numa_nodes[i].n_pods;
    nf_pod_key *keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return -ENOMEM;
    n = 0;
    for (size_t i = 0; i < t->n_numa_nodes; i++) {
        const nf_numa_node *nn = &t->numa_nodes[i];
        for (size_t p = 0; p < nn->n_pods; p++) {
            const nf_pod_usage *u = &nn->pods[p];
            if (!u->pod_namespace || !u->pod_name) {
                snprintf(why, whylen,
                         "pod %s on NUMA node %d has no namespace/name (kubelet's checkpoint "
                         "files name pods by UID only; the podresources API names them)",
                         u->pod_uid ? u->pod_uid : "(no uid)", nn->id);
                free(keys);
                return 1;
            }
            keys[n++] = (nf_pod_key){u->pod_namespace, u->pod_name};
        }
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || cmp_key(&keys[u - 1], &keys[i]) != 0)
            keys[u++] = keys[i];
    int rc = nf_nrt_fingerprint(keys, u, out);
    free(keys);
    return rc;
}

/* ---- the object ----------------------------------------------------------------------------- */

const char *nf_nrt_policy_name(const char *policy, const char *scope)
{
    static const struct {
        const char *policy, *container, *pod;
    } map[] = {
        {"single-numa-node", "SingleNUMANodeContainerLevel", "SingleNUMANodePodLevel"},
        {"restricted", "RestrictedContainerLevel", "RestrictedPodLevel"},
        {"best-effort", "BestEffortContainerLevel", "BestEffortPodLevel"},
    };
    if (!policy)
        return NULL;
    if (strcmp(policy, "none") == 0)
        return "None";
    for (size_t i = 0; scope && i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(policy, map[i].policy) != 0)
            continue;
        if (strcmp(scope, "container") == 0)
            return map[i].container;
        if (strcmp(scope, "pod") == 0)
            return map[i].pod;
    }
    return NULL;
}

static int add_attr(json_t *list, const char *name, const char *value)
{
    json_t *a = json_pack("{s:s,s:o}", "name", name, "value", nf_json_string_lossy(value));
    return a ? json_array_append_new(list, a) : -1;
}

/* A model amount as a quantity string: bytes for memory and hugepages in the short binary form
 * where it is exact ("96Gi"), everything else a plain integer. */
static json_t *quantity(const char *resource, int64_t v)
{
    char buf[32];
    if (strcmp(resource, "memory") == 0 || strncmp(resource, "hugepages-", 10) == 0)
        return json_string(nf_quantity_format_bytes(v, buf, sizeof(buf)));
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_string(buf);
}

static int encode_zone(const nf_topology *t, const nf_numa_node *n, json_t **out)
{
    char name[32];
    snprintf(name, sizeof(name), "node-%d", n->id);
    json_t *costs = json_array(), *res = json_array(), *attrs = json_array();
    nf_buf omitted = {0};
    int rc = costs && res && attrs ? 0 : -ENOMEM;
    /* distances are indexed like t->numa_nodes; a node whose distances are unknown has none */
    for (size_t i = 0; rc == 0 && i < n->n_distances && i < t->n_numa_nodes; i++) {
        char peer[32];
        if (n->distances[i] < 0)
            continue;
        snprintf(peer, sizeof(peer), "node-%d", t->numa_nodes[i].id);
        json_t *c = json_pack("{s:s,s:I}", "name", peer, "value", (json_int_t)n->distances[i]);
        if (!c || json_array_append_new(costs, c))
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n->n_resources; i++) {
        const nf_resource *r = &n->resources[i];
        if (r->capacity < 0 || r->allocatable < 0 || r->available < 0) {
            const char *what = r->capacity < 0      ? "capacity"
                               : r->allocatable < 0 ? "allocatable"
                                                    : "available";
            char line[NF_ERR_LEN + 300];
            snprintf(line, sizeof(line), "%s%s: %s unknown%s%s", omitted.len ? "; " : "", r->name,
                     what, r->error ? ": " : "", r->error ? r->error : "");
            if (nf_buf_adds(&omitted, line))
                rc = -ENOMEM;
            continue;
        }
        json_t *j = json_pack("{s:s,s:o,s:o,s:o}", "name", r->name, "capacity",
                              quantity(r->name, r->capacity), "allocatable",
                              quantity(r->name, r->allocatable), "available",
                              quantity(r->name, r->available));
        if (!j || json_array_append_new(res, j))
            rc = -ENOMEM;
    }
    if (rc == 0 && omitted.len && add_attr(attrs, "numafit.io/omittedResources", omitted.p))
        rc = -ENOMEM;
    nf_buf_free(&omitted);
    json_t *z = NULL;
    if (rc == 0) {
        z = json_pack("{s:s,s:s,s:O,s:O}", "name", name, "type", "Node", "costs", costs,
                      "resources", res);
        if (z && json_array_size(attrs))
            json_object_set(z, "attributes", attrs);
        if (!z)
            rc = -ENOMEM;
    }
    json_decref(costs);
    json_decref(res);
    json_decref(attrs);
    *out = z;
    return rc;
}

int nf_nrt_from_topology(const nf_topology *t, json_t **out, nf_err *err)
{
    *out = NULL;
    if (!t->node || !*t->node)
        return nf_errf(err, -EINVAL, "NodeResourceTopology: the document names no node");
    const nf_kubelet_info *k = &t->kubelet;
    json_t *policies = json_array(), *zones = json_array(), *attrs = json_array();
    int rc = policies && zones && attrs ? 0 : -ENOMEM;

    const char *pname = nf_nrt_policy_name(k->topology_manager_policy, k->topology_manager_scope);
    if (rc == 0 && pname && json_array_append_new(policies, json_string(pname)))
        rc = -ENOMEM;
    if (rc == 0 && k->topology_manager_policy &&
        add_attr(attrs, "topologyManagerPolicy", k->topology_manager_policy))
        rc = -ENOMEM;
    if (rc == 0 && k->topology_manager_scope &&
        add_attr(attrs, "topologyManagerScope", k->topology_manager_scope))
        rc = -ENOMEM;
    if (rc == 0 && k->cpu_manager_policy &&
        add_attr(attrs, "numafit.io/cpuManagerPolicy", k->cpu_manager_policy))
        rc = -ENOMEM;
    if (rc == 0 && !pname) {
        char why[200];
        snprintf(why, sizeof(why), "kubelet's topologyManagerPolicy %s%s%s, scope %s%s%s",
                 k->topology_manager_policy ? "\"" : "",
                 k->topology_manager_policy ? k->topology_manager_policy : "unknown",
                 k->topology_manager_policy ? "\"" : "", k->topology_manager_scope ? "\"" : "",
                 k->topology_manager_scope ? k->topology_manager_scope : "unknown",
                 k->topology_manager_scope ? "\"" : "");
        if (add_attr(attrs, "numafit.io/topologyManagerUnknown", why))
            rc = -ENOMEM;
    }

    char fp[NF_NRT_FINGERPRINT_LEN + 1], why[NF_ERR_LEN + 200];
    int f = rc ? rc : pods_fingerprint(t, fp, why, sizeof(why));
    if (f < 0)
        rc = f;
    else if (f == 0 &&
             (add_attr(attrs, "nodeTopologyPodsFingerprint", fp) ||
              add_attr(attrs, "nodeTopologyPodsFingerprintMethod", "with-exclusive-resources")))
        rc = -ENOMEM;
    else if (f == 1 && add_attr(attrs, "numafit.io/podsFingerprintUnavailable", why))
        rc = -ENOMEM;

    for (size_t i = 0; rc == 0 && i < t->n_numa_nodes; i++) {
        json_t *z;
        if ((rc = encode_zone(t, &t->numa_nodes[i], &z)) == 0 && json_array_append_new(zones, z))
            rc = -ENOMEM;
    }
    json_t *o = NULL;
    if (rc == 0 &&
        !(o = json_pack("{s:s,s:s,s:{s:s},s:O,s:O,s:O}", "apiVersion", NF_NRT_API_VERSION, "kind",
                        NF_NRT_KIND, "metadata", "name", t->node, "topologyPolicies", policies,
                        "zones", zones, "attributes", attrs)))
        rc = -ENOMEM;
    json_decref(policies);
    json_decref(zones);
    json_decref(attrs);
    if (rc)
        return nf_errf(err, rc, "NodeResourceTopology: out of memory");
    *out = o;
    return 0;
}

/* ---- NodeResourceTopology -> NodeTopology -----------------------------------------------------
 */

static const char *attr_of(const json_t *list, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        const char *n = json_string_value(json_object_get(a, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(a, "value"));
    }
    return NULL;
}

/* kubelet's policy and scope from one of NFD's topologyPolicies names. */
static void policy_of_name(const char *name, const char **policy, const char **scope)
{
    static const char *const policies[] = {"single-numa-node", "restricted", "best-effort"};
    *policy = *scope = NULL;
    if (!name)
        return;
    if (strcmp(name, "None") == 0) {
        *policy = "none";
        return;
    }
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        for (int pod = 0; pod < 2; pod++) {
            const char *n = nf_nrt_policy_name(policies[i], pod ? "pod" : "container");
            if (n && strcmp(n, name) == 0) {
                *policy = policies[i];
                *scope = pod ? "pod" : "container";
                return;
            }
        }
    }
}

/* "node-<id>" -> id, or -1. */
static int zone_id(const char *name)
{
    int64_t v;
    if (!name || strncmp(name, "node-", 5) != 0 || !name[5] ||
        strspn(name + 5, "0123456789") != strlen(name + 5) ||
        nf_parse_int64(name + 5, 0, 1 << 20, &v))
        return -1;
    return (int)v;
}

typedef struct zone_ref {
    int id;
    const json_t *z;
} zone_ref;

static int cmp_zone(const void *a, const void *b)
{
    return ((const zone_ref *)a)->id - ((const zone_ref *)b)->id;
}

/* A quantity in whole units, rounded down; -1 with a note in t->errors when it is not one. */
static int64_t whole_units(nf_topology *t, const char *zone, const char *res, const char *field,
                           const json_t *v)
{
    int64_t milli;
    nf_err e;
    char buf[32];
    const char *s = json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = buf;
    }
    if (!s || nf_quantity_parse_milli(s, &milli, &e) || milli < 0) {
        nf_topology_add_error(t,
                              "NodeResourceTopology zone %s resource %s: %s is not a quantity: %s",
                              zone, res, field, s ? e.msg : "not a string");
        return -1;
    }
    return milli / 1000;
}

static int decode_zone(nf_topology *t, nf_numa_node *n, const json_t *z, const zone_ref *all,
                       size_t nall)
{
    const char *zname = json_string_value(json_object_get(z, "name"));
    n->socket = NF_UNKNOWN;
    n->mem_total = n->mem_free = NF_UNKNOWN;
    n->cpus.threads_per_core = NF_UNKNOWN;
    n->cpus.free_full_cores = n->cpus.allocatable_full_cores = NF_UNKNOWN;
    /* distances in zone order, only when every zone has a cost */
    const json_t *costs = json_object_get(z, "costs");
    int *d = calloc(nall ? nall : 1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    size_t found = 0;
    for (size_t i = 0; i < nall; i++) {
        const char *peer = json_string_value(json_object_get(all[i].z, "name"));
        size_t k;
        json_t *c;
        json_array_foreach(costs, k, c)
        {
            const char *cn = json_string_value(json_object_get(c, "name"));
            json_t *cv = json_object_get(c, "value");
            if (cn && peer && strcmp(cn, peer) == 0 && json_is_integer(cv) &&
                json_integer_value(cv) >= 0 && json_integer_value(cv) <= 1048576) {
                d[i] = (int)json_integer_value(cv);
                found++;
                break;
            }
        }
    }
    if (found == nall && nall) {
        n->distances = d;
        n->n_distances = nall;
    } else {
        free(d);
        if (json_array_size(costs))
            nf_topology_add_error(t, "NodeResourceTopology zone %s: costs do not name every zone",
                                  zname);
    }
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(z, "resources"), i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!name || !*name) {
            nf_topology_add_error(t, "NodeResourceTopology zone %s: a resource without a name",
                                  zname);
            continue;
        }
        int64_t cap = whole_units(t, zname, name, "capacity", json_object_get(r, "capacity"));
        int64_t alloc =
            whole_units(t, zname, name, "allocatable", json_object_get(r, "allocatable"));
        int64_t avail = whole_units(t, zname, name, "available", json_object_get(r, "available"));
        if (cap < 0 || alloc < 0 || avail < 0)
            continue;
        nf_resource *res = nf_numa_resource_add(n, name);
        if (!res)
            return -ENOMEM;
        res->capacity = cap;
        res->allocatable = alloc;
        res->available = avail;
        res->usable = NF_UNKNOWN;
        if (strcmp(name, "memory") == 0) {
            n->mem_total = cap;
            n->mem_free = avail;
        }
    }
    return 0;
}

int nf_nrt_to_topology(const json_t *o, nf_topology *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *api = json_string_value(json_object_get(o, "apiVersion"));
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
    if (!json_is_object(o) || !api || strcmp(api, NF_NRT_API_VERSION) != 0)
        return nf_errf(err, -EINVAL, "NodeResourceTopology apiVersion: expected \"%s\"",
                       NF_NRT_API_VERSION);
    if (!kind || strcmp(kind, NF_NRT_KIND) != 0)
        return nf_errf(err, -EINVAL, "NodeResourceTopology kind: expected \"%s\"", NF_NRT_KIND);
    if (!name || !*name)
        return nf_errf(err, -EINVAL, "NodeResourceTopology metadata.name: required");
    const json_t *zones = json_object_get(o, "zones");
    if (zones && !json_is_array(zones))
        return nf_errf(err, -EINVAL, "NodeResourceTopology %s zones: expected an array", name);

    nf_topology *t = out;
    const json_t *attrs = json_object_get(o, "attributes");
    const char *policy = attr_of(attrs, "topologyManagerPolicy");
    const char *scope = attr_of(attrs, "topologyManagerScope");
    if (!policy) {
        const char *p2, *s2;
        policy_of_name(json_string_value(json_array_get(json_object_get(o, "topologyPolicies"), 0)),
                       &p2, &s2);
        policy = p2;
        scope = scope ? scope : s2;
    }
    const char *cpu_policy = attr_of(attrs, "numafit.io/cpuManagerPolicy");
    json_t *gen = json_object_get(json_object_get(o, "metadata"), "generation");
    t->generation =
        json_is_integer(gen) && json_integer_value(gen) > 0 ? (uint64_t)json_integer_value(gen) : 0;
    int rc = nf_strset(&t->node, name);
    if (!rc)
        rc = nf_strset(&t->kubelet.topology_manager_policy, policy);
    if (!rc)
        rc = nf_strset(&t->kubelet.topology_manager_scope, scope);
    if (!rc)
        rc = nf_strset(&t->kubelet.cpu_manager_policy, cpu_policy ? cpu_policy : "static");
    if (!rc && !cpu_policy)
        rc = nf_topology_add_error(t, "NodeResourceTopology names no cpuManagerPolicy: taken as "
                                      "static (its per-NUMA cpu counts are exclusive CPUs)");

    zone_ref *refs = calloc(json_array_size(zones) + 1, sizeof(*refs));
    size_t n = 0, i;
    json_t *z;
    if (!refs)
        rc = -ENOMEM;
    json_array_foreach(zones, i, z)
    {
        if (rc)
            break;
        const char *zn = json_string_value(json_object_get(z, "name"));
        const char *zt = json_string_value(json_object_get(z, "type"));
        int id = zone_id(zn);
        if (!zt || strcmp(zt, "Node") != 0 || id < 0) {
            rc = nf_topology_add_error(t,
                                       "NodeResourceTopology zone %s of type %s ignored: only "
                                       "zones of type Node named node-<id> are NUMA nodes",
                                       zn ? zn : "(no name)", zt ? zt : "(none)");
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= refs[k].id == id;
        if (dup) {
            rc = nf_topology_add_error(t, "NodeResourceTopology zone %s: listed twice", zn);
            continue;
        }
        refs[n++] = (zone_ref){id, z};
    }
    qsort(refs, n, sizeof(*refs), cmp_zone);
    if (!rc && n && !(t->numa_nodes = calloc(n, sizeof(*t->numa_nodes))))
        rc = -ENOMEM;
    for (i = 0; !rc && i < n; i++) {
        nf_numa_node *nn = &t->numa_nodes[t->n_numa_nodes++];
        nn->id = refs[i].id;
        rc = decode_zone(t, nn, refs[i].z, refs, n);
    }
    free(refs);
    if (rc) {
        nf_topology_free(t);
        memset(t, 0, sizeof(*t));
        return nf_errf(err, rc, "NodeResourceTopology %s: out of memory", name);
    }
    return 0;
}
