/* topology_json.c - NodeTopology <-> JSON (see numafit/topology_json.h).
 *
 * Unknown numbers (NF_UNKNOWN) travel as JSON null so that a reader can never mistake them for
 * a measured 0. The decoder is the encoder's mirror and names the JSON path of any problem.
 */
#include "numafit/topology_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- encoding ---------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (as jansson checks it: no overlong forms, surrogates
 * or code points above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    uint32_t v;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, v = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, v = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, v = p[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return n;
}

/* Strings come from sysfs, procfs and kubelet files (and URLs, messages cut to a length) and may
 * hold any bytes, but JSON text is UTF-8: invalid bytes become '?' rather than failing the whole
 * document. */
json_t *nf_json_string_lossy(const char *s)
{
    json_t *j = json_string(s);
    if (j || !s)
        return j;
    char *c = strdup(s);
    if (!c)
        return NULL;
    for (unsigned char *p = (unsigned char *)c; *p;) {
        size_t n = utf8_len(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
    j = json_string(c);
    free(c);
    return j;
}

static json_t *jstr_or_null(const char *s)
{
    return s ? nf_json_string_lossy(s) : json_null();
}

static json_t *jint_or_null(int64_t v)
{
    return v == NF_UNKNOWN ? json_null() : json_integer(v);
}

static json_t *jcpuset(const nf_cpuset *s)
{
    char *list;
    if (nf_cpuset_format(s, &list))
        return NULL;
    json_t *j = json_string(list);
    free(list);
    return j;
}

static json_t *jkv(const nf_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, nf_json_string_lossy(kv[i].value));
    return o;
}

void nf_format_rfc3339(int64_t unix_seconds, char buf[32])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int nf_parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -EINVAL;
    if (*end == '.') /* fractional seconds are allowed and dropped */
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    if (strcmp(end, "Z") != 0)
        return -EINVAL;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static json_t *jtime_or_null(int64_t t)
{
    if (t <= 0 || t > INT64_C(253402300799)) /* unknown, or beyond 9999-12-31T23:59:59Z */
        return json_null();
    char buf[32];
    nf_format_rfc3339(t, buf);
    return json_string(buf);
}

static json_t *encode_device_group(const nf_device_group *g)
{
    const nf_pf *pf = &g->pf;
    json_t *jpf = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "pci", jstr_or_null(pf->pci),
                            "netdev", jstr_or_null(pf->netdev), "vendor", jstr_or_null(pf->vendor),
                            "device", jstr_or_null(pf->device), "driver", jstr_or_null(pf->driver),
                            "totalVfs", jint_or_null(pf->total_vfs), "numVfs",
                            jint_or_null(pf->num_vfs), "numaNode", jint_or_null(pf->numa_node));
    if (jpf && pf->error)
        json_object_set_new(jpf, "error", nf_json_string_lossy(pf->error));
    json_t *vfs = json_array();
    for (size_t i = 0; i < g->n_vfs; i++) {
        const nf_vf *vf = &g->vfs[i];
        json_t *probe = json_null();
        if (vf->probe.status) {
            probe = json_pack(
                "{s:o,s:o,s:o,s:o,s:o,s:o}", "status", nf_json_string_lossy(vf->probe.status),
                "pmd", jstr_or_null(vf->probe.pmd), "mac", jstr_or_null(vf->probe.mac), "link",
                jstr_or_null(vf->probe.link), "maxRxQueues", jint_or_null(vf->probe.max_rx_queues),
                "checkedAt", jtime_or_null(vf->probe.checked_at));
        }
        json_t *jvf = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "pci", jstr_or_null(vf->pci),
                                "vendor", jstr_or_null(vf->vendor), "device",
                                jstr_or_null(vf->device), "driver", jstr_or_null(vf->driver),
                                "iommuGroup", jint_or_null(vf->iommu_group), "allocated",
                                vf->allocation_unknown ? json_null() : json_boolean(vf->allocated),
                                "podUID", jstr_or_null(vf->pod_uid), "probe", probe);
        if (jvf && vf->error)
            json_object_set_new(jvf, "error", nf_json_string_lossy(vf->error));
        json_array_append_new(vfs, jvf);
    }
    json_t *jg =
        json_pack("{s:o,s:o,s:o}", "resource", jstr_or_null(g->resource), "pf", jpf, "vfs", vfs);
    if (jg && g->resource && g->resource_source)
        json_object_set_new(jg, "resourceSource", json_string(g->resource_source));
    return jg;
}

static json_t *encode_device_groups(const nf_device_group *g, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, encode_device_group(&g[i]));
    return a;
}

static json_t *encode_numa(const nf_numa_node *n)
{
    json_t *dist = json_array();
    for (size_t i = 0; i < n->n_distances; i++)
        json_array_append_new(dist, json_integer(n->distances[i]));

    const nf_zone_cpus *c = &n->cpus;
    bool free_unknown = c->reserved_unknown || c->allocated_unknown;
    json_t *cpus = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "online", jcpuset(&c->online), "reserved",
        c->reserved_unknown ? json_null() : jcpuset(&c->reserved), "allocatable",
        c->reserved_unknown ? json_null() : jcpuset(&c->allocatable), "allocated",
        c->allocated_unknown ? json_null() : jcpuset(&c->allocated), "free",
        free_unknown ? json_null() : jcpuset(&c->free), "threadsPerCore",
        jint_or_null(c->threads_per_core), "freeFullCores",
        jint_or_null(free_unknown ? NF_UNKNOWN : c->free_full_cores), "allocatableFullCores",
        jint_or_null(c->reserved_unknown ? NF_UNKNOWN : c->allocatable_full_cores));

    json_t *mem = json_pack("{s:o,s:o}", "totalBytes", jint_or_null(n->mem_total), "freeBytes",
                            jint_or_null(n->mem_free));
    if (mem && n->mem_error)
        json_object_set_new(mem, "error", nf_json_string_lossy(n->mem_error));

    json_t *hp = json_object();
    for (size_t i = 0; i < n->n_hugepages; i++) {
        const nf_hugepages *h = &n->hugepages[i];
        json_t *jh = json_pack("{s:I,s:o,s:o,s:o}", "pageBytes", (json_int_t)h->page_bytes, "total",
                               jint_or_null(h->total), "free", jint_or_null(h->free), "surplus",
                               jint_or_null(h->surplus));
        if (jh && h->error)
            json_object_set_new(jh, "error", nf_json_string_lossy(h->error));
        json_object_set_new(hp, h->name, jh);
    }

    json_t *res = json_object();
    for (size_t i = 0; i < n->n_resources; i++) {
        const nf_resource *r = &n->resources[i];
        json_t *jr =
            json_pack("{s:o,s:o,s:o}", "capacity", jint_or_null(r->capacity), "allocatable",
                      jint_or_null(r->allocatable), "available", jint_or_null(r->available));
        if (jr && r->usable != NF_UNKNOWN)
            json_object_set_new(jr, "usable", json_integer(r->usable));
        if (jr && r->error)
            json_object_set_new(jr, "error", nf_json_string_lossy(r->error));
        json_object_set_new(res, r->name, jr);
    }

    json_t *pods = json_array();
    for (size_t i = 0; i < n->n_pods; i++) {
        const nf_pod_usage *p = &n->pods[i];
        json_t *amounts = json_object();
        for (size_t k = 0; k < p->n_amounts; k++)
            json_object_set_new(amounts, p->amounts[k].name, json_integer(p->amounts[k].value));
        json_t *jp = json_pack("{s:o,s:o,s:o}", "podUID", jstr_or_null(p->pod_uid), "cpus",
                               jcpuset(&p->cpus), "resources", amounts);
        if (jp && p->pod_namespace)
            json_object_set_new(jp, "namespace", nf_json_string_lossy(p->pod_namespace));
        if (jp && p->pod_name)
            json_object_set_new(jp, "name", nf_json_string_lossy(p->pod_name));
        json_array_append_new(pods, jp);
    }

    json_t *reserved = json_object();
    for (size_t i = 0; i < n->n_kubelet_reserved; i++)
        json_object_set_new(reserved, n->kubelet_reserved[i].name,
                            json_integer(n->kubelet_reserved[i].value));

    return json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", n->id, "socket",
                     jint_or_null(n->socket), "distances", dist, "cpus", cpus, "memory", mem,
                     "hugepages", hp, "devices", encode_device_groups(n->devices, n->n_devices),
                     "resources", res, "pods", pods, "kubeletReserved", reserved);
}

json_t *nf_topology_to_json(const nf_topology *t)
{
    const nf_kubelet_info *k = &t->kubelet;
    json_t *kub = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o}}", "cpuManagerPolicy",
        jstr_or_null(k->cpu_manager_policy), "cpuManagerPolicyOptions",
        jkv(k->cpu_manager_policy_options, k->n_cpu_manager_policy_options),
        "topologyManagerPolicy", jstr_or_null(k->topology_manager_policy), "topologyManagerScope",
        jstr_or_null(k->topology_manager_scope), "topologyManagerPolicyOptions",
        jkv(k->topology_manager_policy_options, k->n_topology_manager_policy_options),
        "memoryManagerPolicy", jstr_or_null(k->memory_manager_policy), "reservedCpus",
        jstr_or_null(k->reserved_cpus), "reservedCpusSource", jstr_or_null(k->reserved_cpus_source),
        "stateFiles", "cpuManager", jstr_or_null(k->state_cpu_manager), "memoryManager",
        jstr_or_null(k->state_memory_manager), "devicePlugins",
        jstr_or_null(k->state_device_plugins));
    if (kub && k->config_error)
        json_object_set_new(kub, "configError", nf_json_string_lossy(k->config_error));
    if (kub && k->config_files)
        json_object_set_new(kub, "configFiles", nf_json_string_lossy(k->config_files));

    json_t *sockets = json_array();
    for (size_t i = 0; i < t->n_sockets; i++) {
        json_t *ids = json_array();
        for (size_t j = 0; j < t->sockets[i].n_numa_nodes; j++)
            json_array_append_new(ids, json_integer(t->sockets[i].numa_nodes[j]));
        json_array_append_new(sockets,
                              json_pack("{s:i,s:o}", "id", t->sockets[i].id, "numaNodes", ids));
    }
    json_t *numa = json_array();
    for (size_t i = 0; i < t->n_numa_nodes; i++)
        json_array_append_new(numa, encode_numa(&t->numa_nodes[i]));
    json_t *errors = json_array();
    for (size_t i = 0; i < t->n_errors; i++)
        json_array_append_new(errors, nf_json_string_lossy(t->errors[i]));

    return json_pack("{s:s,s:s,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}", "apiVersion", NF_API_VERSION,
                     "kind", NF_KIND, "node", jstr_or_null(t->node), "generation",
                     (json_int_t)t->generation, "observedAt", jtime_or_null(t->observed_at),
                     "kubelet", kub, "sockets", sockets, "numaNodes", numa, "unplacedDevices",
                     encode_device_groups(t->unplaced_devices, t->n_unplaced_devices), "errors",
                     errors);
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* The decoder keeps the JSON path of what it reads, so errors say "numaNodes[1].cpus.free". */
typedef struct dec {
    nf_err *err;
    char path[160];
} dec;

static int fail(dec *d, const char *key, const char *what)
{
    return nf_errf(d->err, -EINVAL, "NodeTopology %s%s%s: %s", d->path, *d->path && *key ? "." : "",
                   key, what);
}

static size_t push(dec *d, const char *fmt, const char *key, size_t idx)
{
    size_t len = strlen(d->path);
    if (strcmp(fmt, "[]") == 0)
        snprintf(d->path + len, sizeof(d->path) - len, "%s%s[%zu]", len ? "." : "", key, idx);
    else
        snprintf(d->path + len, sizeof(d->path) - len, "%s%s", len ? "." : "", key);
    return len;
}

static void pop(dec *d, size_t len)
{
    d->path[len] = '\0';
}

/* Optional string; absent or null leaves *out NULL. */
static int get_str(dec *d, const json_t *o, const char *key, char **out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(d, key, "expected a string");
    return nf_strset(out, json_string_value(v));
}

/* Optional integer; absent or null gives NF_UNKNOWN. Values below -1 are refused. */
static int get_int64(dec *d, const json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = NF_UNKNOWN;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(d, key, "expected an integer");
    if (json_integer_value(v) < NF_UNKNOWN)
        return fail(d, key, "negative");
    *out = json_integer_value(v);
    return 0;
}

static int get_int(dec *d, const json_t *o, const char *key, int *out)
{
    int64_t v = NF_UNKNOWN;
    int rc = get_int64(d, o, key, &v);
    if (rc)
        return rc;
    if (v > 1 << 30)
        return fail(d, key, "out of range");
    *out = (int)v;
    return 0;
}

static int get_cpuset(dec *d, const json_t *o, const char *key, nf_cpuset *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(d, key, "expected a cpu list string");
    nf_err e;
    if (nf_cpuset_parse(json_string_value(v), out, &e))
        return fail(d, key, e.msg);
    return 0;
}

static int get_kv(dec *d, const json_t *o, const char *key, nf_kv **out, size_t *n)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(d, key, "expected an object");
    *out = calloc(json_object_size(v) + 1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
    {
        char buf[64];
        const char *s = json_is_string(val) ? json_string_value(val) : NULL;
        if (!s && json_is_integer(val)) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
            s = buf;
        }
        if (!s)
            return fail(d, key, "values must be strings");
        nf_kv *e = &(*out)[*n];
        if (!(e->key = strdup(k)) || !(e->value = strdup(s)))
            return -ENOMEM;
        (*n)++;
    }
    return 0;
}

static int get_amounts(dec *d, const json_t *o, const char *key, nf_amount **out, size_t *n)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(d, key, "expected an object");
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val)
    {
        if (!json_is_integer(val) || json_integer_value(val) < 0)
            return fail(d, key, "values must be non-negative integers");
        int rc = nf_amount_add(out, n, k, json_integer_value(val));
        if (rc)
            return rc;
    }
    return 0;
}

static const json_t *get_array(dec *d, const json_t *o, const char *key, int *rc)
{
    json_t *v = json_object_get(o, key);
    *rc = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v)) {
        *rc = fail(d, key, "expected an array");
        return NULL;
    }
    return v;
}

static int decode_device_group(dec *d, const json_t *j, nf_device_group *g)
{
    int rc;
    if (!json_is_object(j))
        return fail(d, "", "expected an object");
    if ((rc = get_str(d, j, "resource", &g->resource)))
        return rc;
    const json_t *pf = json_object_get(j, "pf");
    if (!json_is_object(pf))
        return fail(d, "pf", "expected an object");
    size_t at = push(d, "", "pf", 0);
    if ((rc = get_str(d, pf, "pci", &g->pf.pci)) ||
        (rc = get_str(d, pf, "netdev", &g->pf.netdev)) ||
        (rc = get_str(d, pf, "vendor", &g->pf.vendor)) ||
        (rc = get_str(d, pf, "device", &g->pf.device)) ||
        (rc = get_str(d, pf, "driver", &g->pf.driver)) ||
        (rc = get_str(d, pf, "error", &g->pf.error)) ||
        (rc = get_int(d, pf, "totalVfs", &g->pf.total_vfs)) ||
        (rc = get_int(d, pf, "numVfs", &g->pf.num_vfs)) ||
        (rc = get_int(d, pf, "numaNode", &g->pf.numa_node)))
        return rc;
    pop(d, at);
    const json_t *vfs = get_array(d, j, "vfs", &rc);
    if (rc)
        return rc;
    size_t n = json_array_size(vfs);
    if (n && !(g->vfs = calloc(n, sizeof(*g->vfs))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(vfs, i);
        nf_vf *vf = &g->vfs[i];
        g->n_vfs++;
        vf->iommu_group = NF_UNKNOWN;
        vf->probe.max_rx_queues = NF_UNKNOWN;
        at = push(d, "[]", "vfs", i);
        if (!json_is_object(v))
            return fail(d, "", "expected an object");
        json_t *alloc = json_object_get(v, "allocated");
        if (alloc && !json_is_boolean(alloc) && !json_is_null(alloc))
            return fail(d, "allocated", "expected a boolean or null");
        vf->allocated = json_is_true(alloc);
        vf->allocation_unknown = alloc && json_is_null(alloc);
        if ((rc = get_str(d, v, "pci", &vf->pci)) || (rc = get_str(d, v, "vendor", &vf->vendor)) ||
            (rc = get_str(d, v, "device", &vf->device)) ||
            (rc = get_str(d, v, "driver", &vf->driver)) ||
            (rc = get_str(d, v, "podUID", &vf->pod_uid)) ||
            (rc = get_str(d, v, "error", &vf->error)) ||
            (rc = get_int(d, v, "iommuGroup", &vf->iommu_group)))
            return rc;
        const json_t *probe = json_object_get(v, "probe");
        if (probe && json_is_object(probe)) {
            char *when = NULL;
            size_t at_probe = push(d, "", "probe", 0);
            if ((rc = get_str(d, probe, "status", &vf->probe.status)) ||
                (rc = get_str(d, probe, "pmd", &vf->probe.pmd)) ||
                (rc = get_str(d, probe, "mac", &vf->probe.mac)) ||
                (rc = get_str(d, probe, "link", &vf->probe.link)) ||
                (rc = get_int(d, probe, "maxRxQueues", &vf->probe.max_rx_queues)) ||
                (rc = get_str(d, probe, "checkedAt", &when)))
                return rc;
            if (when && nf_parse_rfc3339(when, &vf->probe.checked_at))
                rc = fail(d, "checkedAt", "not an RFC 3339 UTC time");
            free(when);
            if (rc)
                return rc;
            pop(d, at_probe);
        }
        pop(d, at);
    }
    return 0;
}

static int decode_device_groups(dec *d, const json_t *o, const char *key, nf_device_group **out,
                                size_t *n_out)
{
    int rc;
    const json_t *a = get_array(d, o, key, &rc);
    if (rc)
        return rc;
    size_t n = json_array_size(a);
    if (n && !(*out = calloc(n, sizeof(**out))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*n_out)++;
        size_t at = push(d, "[]", key, i);
        if ((rc = decode_device_group(d, json_array_get(a, i), &(*out)[i])))
            return rc;
        pop(d, at);
    }
    return 0;
}

static int decode_numa(dec *d, const json_t *j, nf_numa_node *n)
{
    int rc;
    n->socket = NF_UNKNOWN;
    n->mem_total = n->mem_free = NF_UNKNOWN;
    n->cpus.threads_per_core = NF_UNKNOWN;
    if (!json_is_object(j))
        return fail(d, "", "expected an object");
    json_t *id = json_object_get(j, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > 1 << 20)
        return fail(d, "id", "expected a NUMA node id");
    n->id = (int)json_integer_value(id);
    if ((rc = get_int(d, j, "socket", &n->socket)))
        return rc;

    const json_t *dist = get_array(d, j, "distances", &rc);
    if (rc)
        return rc;
    if (json_array_size(dist)) {
        if (!(n->distances = calloc(json_array_size(dist), sizeof(int))))
            return -ENOMEM;
        for (size_t i = 0; i < json_array_size(dist); i++) {
            json_t *v = json_array_get(dist, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20)
                return fail(d, "distances", "expected integers in [0, 1048576]");
            n->distances[n->n_distances++] = (int)json_integer_value(v);
        }
    }

    const json_t *cpus = json_object_get(j, "cpus");
    if (cpus) {
        if (!json_is_object(cpus))
            return fail(d, "cpus", "expected an object");
        size_t at = push(d, "", "cpus", 0);
        nf_zone_cpus *c = &n->cpus;
        int ffc, afc;
        if ((rc = get_cpuset(d, cpus, "online", &c->online)) ||
            (rc = get_cpuset(d, cpus, "reserved", &c->reserved)) ||
            (rc = get_cpuset(d, cpus, "allocatable", &c->allocatable)) ||
            (rc = get_cpuset(d, cpus, "allocated", &c->allocated)) ||
            (rc = get_cpuset(d, cpus, "free", &c->free)) ||
            (rc = get_int(d, cpus, "threadsPerCore", &c->threads_per_core)) ||
            (rc = get_int(d, cpus, "freeFullCores", &ffc)) ||
            (rc = get_int(d, cpus, "allocatableFullCores", &afc)))
            return rc;
        c->reserved_unknown = json_is_null(json_object_get(cpus, "allocatable"));
        c->allocated_unknown = json_is_null(json_object_get(cpus, "allocated"));
        c->free_full_cores = ffc;
        c->allocatable_full_cores = afc; /* NF_UNKNOWN from exporters before it existed */
        pop(d, at);
    }

    const json_t *mem = json_object_get(j, "memory");
    if (mem) {
        if (!json_is_object(mem))
            return fail(d, "memory", "expected an object");
        size_t at = push(d, "", "memory", 0);
        if ((rc = get_int64(d, mem, "totalBytes", &n->mem_total)) ||
            (rc = get_int64(d, mem, "freeBytes", &n->mem_free)) ||
            (rc = get_str(d, mem, "error", &n->mem_error)))
            return rc;
        pop(d, at);
    }

    const json_t *hp = json_object_get(j, "hugepages");
    if (hp && !json_is_null(hp)) {
        if (!json_is_object(hp))
            return fail(d, "hugepages", "expected an object");
        if (json_object_size(hp) &&
            !(n->hugepages = calloc(json_object_size(hp), sizeof(*n->hugepages))))
            return -ENOMEM;
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)hp, name, v)
        {
            nf_hugepages *h = &n->hugepages[n->n_hugepages++];
            size_t at = push(d, "", "hugepages", 0);
            push(d, "", name, 0);
            int64_t pb;
            if (!json_is_object(v))
                return fail(d, "", "expected an object");
            if ((rc = nf_strset(&h->name, name)) || (rc = get_int64(d, v, "pageBytes", &pb)) ||
                (rc = get_int64(d, v, "total", &h->total)) ||
                (rc = get_int64(d, v, "free", &h->free)) ||
                (rc = get_int64(d, v, "surplus", &h->surplus)) ||
                (rc = get_str(d, v, "error", &h->error)))
                return rc;
            if (pb <= 0)
                return fail(d, "pageBytes", "expected a positive integer");
            h->page_bytes = (uint64_t)pb;
            pop(d, at);
        }
    }

    if ((rc = decode_device_groups(d, j, "devices", &n->devices, &n->n_devices)))
        return rc;

    const json_t *res = json_object_get(j, "resources");
    if (res && !json_is_null(res)) {
        if (!json_is_object(res))
            return fail(d, "resources", "expected an object");
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)res, name, v)
        {
            size_t at = push(d, "", "resources", 0);
            push(d, "", name, 0);
            nf_resource *r = nf_numa_resource_add(n, name);
            if (!r)
                return -ENOMEM;
            if (!json_is_object(v))
                return fail(d, "", "expected an object");
            int64_t cap, alloc, avail;
            if ((rc = get_int64(d, v, "capacity", &cap)) ||
                (rc = get_int64(d, v, "allocatable", &alloc)) ||
                (rc = get_int64(d, v, "available", &avail)) ||
                (rc = get_int64(d, v, "usable", &r->usable)) ||
                (rc = get_str(d, v, "error", &r->error)))
                return rc;
            /* null = unknown (an input the exporter lost), absent = a malformed document */
            if (!json_object_get(v, "capacity") || !json_object_get(v, "allocatable") ||
                !json_object_get(v, "available"))
                return fail(d, "", "capacity, allocatable and available are required");
            r->capacity = cap;
            r->allocatable = alloc;
            r->available = avail;
            pop(d, at);
        }
    }

    if ((rc = get_amounts(d, j, "kubeletReserved", &n->kubelet_reserved, &n->n_kubelet_reserved)))
        return rc;

    const json_t *pods = get_array(d, j, "pods", &rc);
    if (rc)
        return rc;
    if (json_array_size(pods) && !(n->pods = calloc(json_array_size(pods), sizeof(*n->pods))))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(pods); i++) {
        const json_t *p = json_array_get(pods, i);
        nf_pod_usage *u = &n->pods[n->n_pods++];
        size_t at = push(d, "[]", "pods", i);
        if (!json_is_object(p))
            return fail(d, "", "expected an object");
        if ((rc = get_str(d, p, "podUID", &u->pod_uid)) ||
            (rc = get_str(d, p, "namespace", &u->pod_namespace)) ||
            (rc = get_str(d, p, "name", &u->pod_name)) ||
            (rc = get_cpuset(d, p, "cpus", &u->cpus)) ||
            (rc = get_amounts(d, p, "resources", &u->amounts, &u->n_amounts)))
            return rc;
        if (!u->pod_uid && !(u->pod_namespace && u->pod_name))
            return fail(d, "podUID", "required (or namespace and name)");
        pop(d, at);
    }
    return 0;
}

static int decode(dec *d, const json_t *doc, nf_topology *t)
{
    int rc;
    if (!json_is_object(doc))
        return fail(d, "", "expected a JSON object");
    json_t *api = json_object_get(doc, "apiVersion");
    if (!json_is_string(api) || strcmp(json_string_value(api), NF_API_VERSION) != 0)
        return fail(d, "apiVersion", "expected \"" NF_API_VERSION "\"");
    json_t *kind = json_object_get(doc, "kind");
    if (!json_is_string(kind) || strcmp(json_string_value(kind), NF_KIND) != 0)
        return fail(d, "kind", "expected \"" NF_KIND "\"");
    if ((rc = get_str(d, doc, "node", &t->node)))
        return rc;
    if (!t->node || !*t->node)
        return fail(d, "node", "required");
    json_t *gen = json_object_get(doc, "generation");
    if (gen && (!json_is_integer(gen) || json_integer_value(gen) < 0))
        return fail(d, "generation", "expected a non-negative integer");
    t->generation = gen ? (uint64_t)json_integer_value(gen) : 0;
    char *when = NULL;
    if ((rc = get_str(d, doc, "observedAt", &when)))
        return rc;
    if (when && nf_parse_rfc3339(when, &t->observed_at))
        rc = fail(d, "observedAt", "not an RFC 3339 UTC time");
    free(when);
    if (rc)
        return rc;

    const json_t *k = json_object_get(doc, "kubelet");
    if (k && !json_is_null(k)) {
        if (!json_is_object(k))
            return fail(d, "kubelet", "expected an object");
        nf_kubelet_info *ki = &t->kubelet;
        size_t at = push(d, "", "kubelet", 0);
        if ((rc = get_str(d, k, "cpuManagerPolicy", &ki->cpu_manager_policy)) ||
            (rc = get_kv(d, k, "cpuManagerPolicyOptions", &ki->cpu_manager_policy_options,
                         &ki->n_cpu_manager_policy_options)) ||
            (rc = get_str(d, k, "topologyManagerPolicy", &ki->topology_manager_policy)) ||
            (rc = get_str(d, k, "topologyManagerScope", &ki->topology_manager_scope)) ||
            (rc = get_kv(d, k, "topologyManagerPolicyOptions", &ki->topology_manager_policy_options,
                         &ki->n_topology_manager_policy_options)) ||
            (rc = get_str(d, k, "memoryManagerPolicy", &ki->memory_manager_policy)) ||
            (rc = get_str(d, k, "reservedCpus", &ki->reserved_cpus)) ||
            (rc = get_str(d, k, "reservedCpusSource", &ki->reserved_cpus_source)) ||
            (rc = get_str(d, k, "configError", &ki->config_error)))
            return rc;
        const json_t *sf = json_object_get(k, "stateFiles");
        if (json_is_object(sf)) {
            size_t at_sf = push(d, "", "stateFiles", 0);
            if ((rc = get_str(d, sf, "cpuManager", &ki->state_cpu_manager)) ||
                (rc = get_str(d, sf, "memoryManager", &ki->state_memory_manager)) ||
                (rc = get_str(d, sf, "devicePlugins", &ki->state_device_plugins)))
                return rc;
            pop(d, at_sf);
        }
        pop(d, at);
    }

    const json_t *sockets = get_array(d, doc, "sockets", &rc);
    if (rc)
        return rc;
    if (json_array_size(sockets) &&
        !(t->sockets = calloc(json_array_size(sockets), sizeof(*t->sockets))))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(sockets); i++) {
        const json_t *s = json_array_get(sockets, i);
        nf_socket *so = &t->sockets[t->n_sockets++];
        size_t at = push(d, "[]", "sockets", i);
        json_t *id = json_object_get(s, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > 1 << 20)
            return fail(d, "id", "expected a socket id");
        so->id = (int)json_integer_value(id);
        const json_t *ids = get_array(d, s, "numaNodes", &rc);
        if (rc)
            return rc;
        if (json_array_size(ids) && !(so->numa_nodes = calloc(json_array_size(ids), sizeof(int))))
            return -ENOMEM;
        for (size_t j = 0; j < json_array_size(ids); j++) {
            json_t *v = json_array_get(ids, j);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20)
                return fail(d, "numaNodes", "expected NUMA node ids");
            so->numa_nodes[so->n_numa_nodes++] = (int)json_integer_value(v);
        }
        pop(d, at);
    }

    const json_t *numa = get_array(d, doc, "numaNodes", &rc);
    if (rc)
        return rc;
    if (json_array_size(numa) > 4096)
        return fail(d, "numaNodes", "more than 4096 NUMA nodes");
    if (json_array_size(numa) &&
        !(t->numa_nodes = calloc(json_array_size(numa), sizeof(*t->numa_nodes))))
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(numa); i++) {
        size_t at = push(d, "[]", "numaNodes", i);
        t->n_numa_nodes++;
        if ((rc = decode_numa(d, json_array_get(numa, i), &t->numa_nodes[i])))
            return rc;
        pop(d, at);
    }
    if ((rc = decode_device_groups(d, doc, "unplacedDevices", &t->unplaced_devices,
                                   &t->n_unplaced_devices)))
        return rc;

    const json_t *errors = get_array(d, doc, "errors", &rc);
    if (rc)
        return rc;
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        if (json_is_string(e) && (rc = nf_topology_add_error(t, "%s", json_string_value(e))))
            return rc;
    }
    return 0;
}

int nf_topology_from_json(const json_t *doc, nf_topology *out, nf_err *err)
{
    dec d = {.err = err};
    memset(out, 0, sizeof(*out));
    int rc = decode(&d, doc, out);
    if (rc) {
        if (rc == -ENOMEM)
            nf_errf(err, rc, "NodeTopology: out of memory");
        nf_topology_free(out);
    }
    return rc;
}

int nf_topology_parse(const char *text, size_t len, nf_topology *out, nf_err *err)
{
    json_error_t je;
    memset(out, 0, sizeof(*out));
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return nf_errf(err, -EINVAL, "NodeTopology: invalid JSON at line %d column %d: %s", je.line,
                       je.column, je.text);
    int rc = nf_topology_from_json(doc, out, err);
    json_decref(doc);
    return rc;
}
