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
    } st[] = {{"cpuManager", k->state_cpu_manager},
              {"memoryManager", k->state_memory_manager},
              {"devicePlugins", k->state_device_plugins}};
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
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
