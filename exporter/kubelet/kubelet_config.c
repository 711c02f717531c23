/* kubelet_config.c - KubeletConfiguration reader (see kubelet_config.h). */
#include "kubelet_config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_json.h"
#include "numafit/quantity.h"
#include "numafit/yaml_json.h"

#define MAX_NUMA_ID 1023

void nf_kubelet_config_free(nf_kubelet_config *c)
{
    free(c->cpu_manager_policy);
    nf_kv_free_array(c->cpu_manager_policy_options, c->n_cpu_manager_policy_options);
    free(c->topology_manager_policy);
    free(c->topology_manager_scope);
    nf_kv_free_array(c->topology_manager_policy_options, c->n_topology_manager_policy_options);
    free(c->memory_manager_policy);
    free(c->reserved_system_cpus);
    nf_cpuset_free(&c->reserved_system_cpuset);
    for (size_t i = 0; i < c->n_reserved_memory; i++)
        nf_amount_free_array(c->reserved_memory[i].limits, c->reserved_memory[i].n_limits);
    free(c->reserved_memory);
    memset(c, 0, sizeof(*c));
}

/* A scalar as text (YAML may turn `true` or `2` into non-strings); NULL for other types. */
static char *scalar_text(const json_t *v)
{
    char *s = NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v) || json_is_false(v))
        return strdup(json_is_true(v) ? "true" : "false");
    if (json_is_integer(v) && asprintf(&s, "%lld", (long long)json_integer_value(v)) >= 0)
        return s;
    if (json_is_real(v) && asprintf(&s, "%.15g", json_real_value(v)) >= 0)
        return s;
    return NULL;
}

static int get_string(const json_t *doc, const char *name, const char *def, const char *what,
                      char **out, nf_err *err)
{
    const json_t *v = json_object_get(doc, name);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        *out = def ? strdup(def) : NULL;
    else if (!json_is_string(v))
        return nf_errf(err, -EINVAL, "%s: %s: expected a string", what, name);
    else
        *out = strdup(json_string_value(v));
    if (!*out && def)
        return nf_errf(err, -ENOMEM, "out of memory");
    if (!*out && v && json_is_string(v) && json_string_length(v))
        return nf_errf(err, -ENOMEM, "out of memory");
    return 0;
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const nf_kv *)a)->key, ((const nf_kv *)b)->key);
}

static int get_options(const json_t *doc, const char *name, const char *what, nf_kv **out,
                       size_t *n, nf_err *err)
{
    const json_t *v = json_object_get(doc, name);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return nf_errf(err, -EINVAL, "%s: %s: expected a map of option -> value", what, name);
    size_t cnt = json_object_size(v);
    if (cnt == 0)
        return 0;
    nf_kv *kv = calloc(cnt, sizeof(*kv));
    if (!kv)
        return nf_errf(err, -ENOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (json_is_object(val) || json_is_array(val) || json_is_null(val)) {
            nf_kv_free_array(kv, *n);
            *n = 0;
            return nf_errf(err, -EINVAL, "%s: %s.%.80s: expected a scalar value", what, name, key);
        }
        kv[*n].key = strdup(key);
        kv[*n].value = scalar_text(val);
        (*n)++;
        if (!kv[*n - 1].key || !kv[*n - 1].value) {
            nf_kv_free_array(kv, *n);
            *n = 0;
            return nf_errf(err, -ENOMEM, "out of memory");
        }
    }
    qsort(kv, cnt, sizeof(*kv), cmp_kv);
    *out = kv;
    return 0;
}

/* A quantity given as a YAML string or number, in milli-units. */
static int quantity_milli(const json_t *v, const char *what, const char *field, int64_t *out,
                          nf_err *err)
{
    char *text = scalar_text(v);
    nf_err e;
    if (!text || json_is_true(v) || json_is_false(v)) {
        free(text);
        return nf_errf(err, -EINVAL, "%s: %s: expected a quantity", what, field);
    }
    int rc = nf_quantity_parse_milli(text, out, &e);
    if (rc) {
        nf_errf(err, rc, "%s: %s: %s", what, field, e.msg);
    } else if (*out < 0) {
        rc = nf_errf(err, -ERANGE, "%s: %s: negative quantity \"%.40s\"", what, field, text);
    }
    free(text);
    return rc;
}

static int reserved_cpu(const json_t *doc, const char *name, const char *what, int64_t *sum,
                        nf_err *err)
{
    const json_t *m = json_object_get(doc, name);
    if (!m || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return nf_errf(err, -EINVAL, "%s: %s: expected a map of resource -> quantity", what, name);
    const json_t *cpu = json_object_get(m, "cpu");
    if (!cpu || json_is_null(cpu))
        return 0;
    char field[64];
    snprintf(field, sizeof(field), "%s.cpu", name);
    int64_t milli;
    int rc = quantity_milli(cpu, what, field, &milli, err);
    if (rc)
        return rc;
    if (__builtin_add_overflow(*sum, milli, sum))
        return nf_errf(err, -ERANGE, "%s: %s: too large", what, field);
    return 0;
}

static int cmp_rm(const void *a, const void *b)
{
    return ((const nf_reserved_memory *)a)->numa_node - ((const nf_reserved_memory *)b)->numa_node;
}

static int reserved_memory(const json_t *doc, const char *what, nf_kubelet_config *c, nf_err *err)
{
    const json_t *arr = json_object_get(doc, "reservedMemory");
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return nf_errf(err, -EINVAL, "%s: reservedMemory: expected a list", what);
    size_t cnt = json_array_size(arr);
    if (cnt == 0)
        return 0;
    if (!(c->reserved_memory = calloc(cnt, sizeof(*c->reserved_memory))))
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const json_t *e = json_array_get(arr, i);
        const json_t *numa = json_object_get(e, "numaNode");
        const json_t *limits = json_object_get(e, "limits");
        nf_reserved_memory *rm = &c->reserved_memory[c->n_reserved_memory++];
        if (!json_is_object(e))
            return nf_errf(err, -EINVAL, "%s: reservedMemory[%zu]: expected a map", what, i);
        if (!json_is_integer(numa) || json_integer_value(numa) < 0 ||
            json_integer_value(numa) > MAX_NUMA_ID)
            return nf_errf(err, -EINVAL,
                           "%s: reservedMemory[%zu].numaNode: expected a NUMA id in [0, %d]", what,
                           i, MAX_NUMA_ID);
        rm->numa_node = (int)json_integer_value(numa);
        if (limits && !json_is_null(limits) && !json_is_object(limits))
            return nf_errf(err, -EINVAL, "%s: reservedMemory[%zu].limits: expected a map", what, i);
        const char *res;
        json_t *q;
        json_object_foreach((json_t *)limits, res, q)
        {
            char field[160];
            int64_t milli;
            snprintf(field, sizeof(field), "reservedMemory[%zu].limits.%.80s", i, res);
            int rc = quantity_milli(q, what, field, &milli, err);
            if (rc)
                return rc;
            int64_t bytes = milli / 1000 + (milli % 1000 != 0);
            if ((rc = nf_amount_add(&rm->limits, &rm->n_limits, res, bytes)))
                return nf_errf(err, rc, "%s: %s: %s", what, field, nf_strerror(rc));
        }
    }
    qsort(c->reserved_memory, c->n_reserved_memory, sizeof(*c->reserved_memory), cmp_rm);
    for (size_t i = 1; i < c->n_reserved_memory; i++)
        if (c->reserved_memory[i].numa_node == c->reserved_memory[i - 1].numa_node)
            return nf_errf(err, -EINVAL, "%s: reservedMemory: NUMA node %d listed twice", what,
                           c->reserved_memory[i].numa_node);
    return 0;
}

int nf_kubelet_config_parse(const char *text, size_t len, const char *what, nf_kubelet_config *out,
                            nf_err *err)
{
    json_t *doc = NULL;
    nf_kubelet_config c = {0};
    nf_err e;
    int rc = nf_yaml_load(text, len, &doc, &e);
    if (rc)
        return nf_errf(err, rc, "%s: %s", what, e.msg);
    if (json_is_null(doc)) {
        json_decref(doc);
        doc = json_object(); /* an empty file: every default */
        if (!doc)
            return nf_errf(err, -ENOMEM, "out of memory");
    }
    if (!json_is_object(doc)) {
        rc = nf_errf(err, -EINVAL, "%s: expected a KubeletConfiguration map", what);
        goto out;
    }
    const json_t *kind = json_object_get(doc, "kind");
    if (kind && !json_is_null(kind) &&
        (!json_is_string(kind) || strcmp(json_string_value(kind), "KubeletConfiguration") != 0)) {
        rc = nf_errf(err, -EINVAL, "%s: kind is not KubeletConfiguration", what);
        goto out;
    }
    char *rsc = NULL;
    const json_t *rv = json_object_get(doc, "reservedSystemCPUs");
    if (rv && !json_is_null(rv) && !json_is_string(rv) && !json_is_integer(rv)) {
        rc = nf_errf(err, -EINVAL, "%s: reservedSystemCPUs: expected a CPU list", what);
        goto out;
    }
    if ((rc = get_string(doc, "cpuManagerPolicy", "none", what, &c.cpu_manager_policy, err)) ||
        (rc = get_options(doc, "cpuManagerPolicyOptions", what, &c.cpu_manager_policy_options,
                          &c.n_cpu_manager_policy_options, err)) ||
        (rc = get_string(doc, "topologyManagerPolicy", "none", what, &c.topology_manager_policy,
                         err)) ||
        (rc = get_string(doc, "topologyManagerScope", "container", what, &c.topology_manager_scope,
                         err)) ||
        (rc = get_options(doc, "topologyManagerPolicyOptions", what,
                          &c.topology_manager_policy_options, &c.n_topology_manager_policy_options,
                          err)) ||
        (rc =
             get_string(doc, "memoryManagerPolicy", "None", what, &c.memory_manager_policy, err)) ||
        (rc = reserved_cpu(doc, "kubeReserved", what, &c.reserved_cpu_milli, err)) ||
        (rc = reserved_cpu(doc, "systemReserved", what, &c.reserved_cpu_milli, err)) ||
        (rc = reserved_memory(doc, what, &c, err)))
        goto out;
    if (rv && !json_is_null(rv)) {
        if (!(rsc = scalar_text(rv))) {
            rc = nf_errf(err, -ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = nf_cpuset_parse(rsc, &c.reserved_system_cpuset, &e))) {
            nf_errf(err, rc, "%s: reservedSystemCPUs: %s", what, e.msg);
            free(rsc);
            goto out;
        }
        if (nf_cpuset_empty(&c.reserved_system_cpuset))
            free(rsc);
        else
            c.reserved_system_cpus = rsc;
    }
out:
    json_decref(doc);
    if (rc) {
        nf_kubelet_config_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

static int parse_into(const char *text, size_t len, const char *what, void *out, nf_err *err)
{
    return nf_kubelet_config_parse(text, len, what, out, err);
}

int nf_kubelet_config_load(const char *path, nf_kubelet_config *out, nf_err *err)
{
    return nf__kubelet_json_load(path, parse_into, out, err);
}
