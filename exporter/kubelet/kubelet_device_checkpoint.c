/* kubelet_device_checkpoint.c - Device Manager checkpoint reader (see kubelet_device_checkpoint.h).
 */
#include "kubelet_device_checkpoint.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_json.h"
#include "kubelet_spew.h"
#include "numafit/fileio.h"

#define MAX_NUMA_ID 1023

void nf_device_checkpoint_free(nf_device_checkpoint *c)
{
    for (size_t i = 0; i < c->n_allocs; i++) {
        free(c->allocs[i].pod_uid);
        free(c->allocs[i].pod_namespace);
        free(c->allocs[i].pod_name);
        free(c->allocs[i].container);
        free(c->allocs[i].resource);
        free(c->allocs[i].device_id);
    }
    free(c->allocs);
    free(c->checksum_type);
    nf_kv_free_array(c->registered, c->n_registered);
    memset(c, 0, sizeof(*c));
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Go's base64.StdEncoding (padded; \r and \n are ignored). Appends the bytes as spew prints a
 * []uint8: "[10 31 ...]". Returns -EINVAL on malformed input. */
static int spew_base64(nf_spew *s, const char *in, size_t len)
{
    unsigned acc = 0;
    int bits = 0, pad = 0, n = 0;
    bool first = true;
    nf_spew_put(s, "[");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            n++;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad)
            return -EINVAL;
        n++;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            nf_spew_printf(s, first ? "%u" : " %u", (acc >> bits) & 0xff);
            first = false;
        }
    }
    if (n % 4 != 0 || pad > 2)
        return -EINVAL;
    nf_spew_put(s, "]");
    return 0;
}

/* Validate Data and its entries; *layout = 1 (arrays), 2 (objects) or 0 (no entries). */
static int check(const json_t *data, const char *what, int *layout, nf_err *err)
{
    const json_t *pde = nf__kubelet_json_field(data, "PodDeviceEntries");
    const json_t *reg = nf__kubelet_json_field(data, "RegisteredDevices");
    *layout = 0;
    if (pde && !json_is_null(pde) && !json_is_array(pde))
        return nf_errf(err, -EINVAL, "%s: Data.PodDeviceEntries: expected an array", what);
    size_t i;
    json_t *e;
    json_array_foreach(pde, i, e)
    {
        const char *str;
        int rc;
        if (!json_is_object(e))
            return nf_errf(err, -EINVAL, "%s: PodDeviceEntries[%zu]: expected an object", what, i);
        if ((rc = nf__kubelet_json_string(e, "PodUID", what, &str, err)) ||
            (rc = nf__kubelet_json_string(e, "ContainerName", what, &str, err)) ||
            (rc = nf__kubelet_json_string(e, "ResourceName", what, &str, err)) ||
            (rc = nf__kubelet_json_string(e, "AllocResp", what, &str, err)))
            return rc;
        nf_spew tmp = {0};
        rc = spew_base64(&tmp, str, strlen(str));
        nf_spew_free(&tmp);
        if (rc)
            return nf_errf(err, -EINVAL, "%s: PodDeviceEntries[%zu].AllocResp: invalid base64",
                           what, i);
        const json_t *ids = nf__kubelet_json_field(e, "DeviceIDs");
        int l = !ids || json_is_null(ids) ? 0
                : json_is_array(ids)      ? 1
                : json_is_object(ids)     ? 2
                                          : -1;
        if (l < 0 || (l && *layout && l != *layout))
            return nf_errf(err, -EINVAL,
                           "%s: PodDeviceEntries[%zu].DeviceIDs: expected an array (pre-1.20) or "
                           "an object NUMA id -> [ids], consistently",
                           what, i);
        if (l)
            *layout = l;
        if (l == 1) {
            size_t k;
            json_t *id;
            json_array_foreach(ids, k, id) if (!json_is_string(id)) return nf_errf(
                err, -EINVAL, "%s: PodDeviceEntries[%zu].DeviceIDs[%zu]: expected a string", what,
                i, k);
        } else if (l == 2) {
            const char *key;
            json_t *arr;
            json_object_foreach((json_t *)ids, key, arr)
            {
                int64_t numa;
                if (strspn(key + (key[0] == '-'), "0123456789") != strlen(key + (key[0] == '-')) ||
                    nf_parse_int64(key, -1, MAX_NUMA_ID, &numa))
                    return nf_errf(err, -EINVAL,
                                   "%s: PodDeviceEntries[%zu].DeviceIDs: key \"%.40s\" is not a "
                                   "NUMA id in [-1, %d]",
                                   what, i, key, MAX_NUMA_ID);
                if (arr && !json_is_null(arr) && !json_is_array(arr))
                    return nf_errf(err, -EINVAL,
                                   "%s: PodDeviceEntries[%zu].DeviceIDs[%s]: expected an array",
                                   what, i, key);
                size_t k;
                json_t *id;
                json_array_foreach(arr, k, id) if (!json_is_string(id)) return nf_errf(
                    err, -EINVAL, "%s: PodDeviceEntries[%zu].DeviceIDs[%s][%zu]: expected a string",
                    what, i, key, k);
            }
        }
    }
    if (reg && !json_is_null(reg)) {
        const char *key;
        json_t *arr;
        if (!json_is_object(reg))
            return nf_errf(err, -EINVAL, "%s: Data.RegisteredDevices: expected an object", what);
        json_object_foreach((json_t *)reg, key, arr)
        {
            if (!json_is_null(arr) && !json_is_array(arr))
                return nf_errf(err, -EINVAL, "%s: RegisteredDevices[%.80s]: expected an array",
                               what, key);
            size_t k;
            json_t *id;
            json_array_foreach(arr, k, id) if (!json_is_string(id)) return nf_errf(
                err, -EINVAL, "%s: RegisteredDevices[%.80s][%zu]: expected a string", what, key, k);
        }
    }
    return 0;
}

static void put_field(nf_spew *s, const json_t *e, const char *name)
{
    const json_t *v = nf__kubelet_json_field(e, name);
    nf_spew_printf(s, "%s:(string)", name);
    if (json_is_string(v))
        nf_spew_putn(s, json_string_value(v), json_string_length(v));
}

static void dump(nf_spew *s, const json_t *data, int layout, bool v1_names)
{
    const json_t *pde = nf__kubelet_json_field(data, "PodDeviceEntries");
    const json_t *reg = nf__kubelet_json_field(data, "RegisteredDevices");
    nf_spew_reset(s);
    nf_spew_printf(
        s, "(checkpoint.checkpointData%s){PodDeviceEntries:([]checkpoint.PodDevicesEntry%s)",
        v1_names ? "V1" : "", v1_names ? "V1" : "");
    if (!pde || json_is_null(pde)) {
        nf_spew_put(s, "<nil>");
    } else {
        nf_spew_put(s, "[");
        for (size_t i = 0; i < json_array_size(pde); i++) {
            const json_t *e = json_array_get(pde, i);
            nf_spew_put(s, i ? " {" : "{");
            put_field(s, e, "PodUID");
            nf_spew_put(s, " ");
            put_field(s, e, "ContainerName");
            nf_spew_put(s, " ");
            put_field(s, e, "ResourceName");
            const json_t *ids = nf__kubelet_json_field(e, "DeviceIDs");
            if (layout == 1) {
                nf_spew_put(s, " DeviceIDs:([]string)");
                nf_spew_string_slice(s, ids);
            } else {
                nf_spew_put(s, " DeviceIDs:(checkpoint.DevicesPerNUMA)");
                if (!ids || json_is_null(ids)) {
                    nf_spew_put(s, "<nil>");
                } else {
                    int64_t *keys;
                    const char *bad;
                    long n = nf_spew_sorted_int_keys(ids, &keys, &bad);
                    if (n < 0)
                        s->oom = true;
                    nf_spew_put(s, "map[");
                    for (long k = 0; k < n; k++) {
                        char key[24];
                        snprintf(key, sizeof(key), "%lld", (long long)keys[k]);
                        nf_spew_printf(s, "%s%s:", k ? " " : "", key);
                        nf_spew_string_slice(s, json_object_get(ids, key));
                    }
                    nf_spew_put(s, "]");
                    free(keys);
                }
            }
            const json_t *ar = nf__kubelet_json_field(e, "AllocResp");
            nf_spew_put(s, " AllocResp:([]uint8)");
            if (!json_is_string(ar))
                nf_spew_put(s, "<nil>");
            else if (spew_base64(s, json_string_value(ar), json_string_length(ar)))
                s->oom = true; /* checked before; cannot happen */
            nf_spew_put(s, "}");
        }
        nf_spew_put(s, "]");
    }
    nf_spew_put(s, " RegisteredDevices:(map[string][]string)");
    if (!reg || json_is_null(reg)) {
        nf_spew_put(s, "<nil>");
    } else {
        const char **keys;
        long n = nf_spew_sorted_keys(reg, &keys);
        if (n < 0)
            s->oom = true;
        nf_spew_put(s, "map[");
        for (long k = 0; k < n; k++) {
            nf_spew_printf(s, "%s%s:", k ? " " : "", keys[k]);
            nf_spew_string_slice(s, json_object_get(reg, keys[k]));
        }
        nf_spew_put(s, "]");
        free(keys);
    }
    nf_spew_put(s, "}");
}

static int add(nf_device_checkpoint *c, const json_t *e, int numa, const char *id, nf_err *err)
{
    nf_device_alloc *na = realloc(c->allocs, (c->n_allocs + 1) * sizeof(*na));
    if (!na)
        return nf_errf(err, -ENOMEM, "out of memory");
    c->allocs = na;
    nf_device_alloc *a = &na[c->n_allocs];
    memset(a, 0, sizeof(*a));
    const json_t *p = nf__kubelet_json_field(e, "PodUID"),
                 *cn = nf__kubelet_json_field(e, "ContainerName"),
                 *r = nf__kubelet_json_field(e, "ResourceName");
    a->numa = numa;
    if (!(a->pod_uid = strdup(json_is_string(p) ? json_string_value(p) : "")) ||
        !(a->container = strdup(json_is_string(cn) ? json_string_value(cn) : "")) ||
        !(a->resource = strdup(json_is_string(r) ? json_string_value(r) : "")) ||
        !(a->device_id = strdup(id))) {
        free(a->pod_uid);
        free(a->container);
        free(a->resource);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    c->n_allocs++;
    return 0;
}

static int cmp_alloc(const void *pa, const void *pb)
{
    const nf_device_alloc *a = pa, *b = pb;
    int c;
    if ((c = strcmp(a->pod_uid, b->pod_uid)) || (c = strcmp(a->container, b->container)) ||
        (c = strcmp(a->resource, b->resource)))
        return c;
    return strcmp(a->device_id, b->device_id);
}

static int fill(nf_device_checkpoint *c, const json_t *data, nf_err *err)
{
    const json_t *pde = nf__kubelet_json_field(data, "PodDeviceEntries");
    size_t i;
    json_t *e;
    int rc;
    json_array_foreach(pde, i, e)
    {
        const json_t *ids = nf__kubelet_json_field(e, "DeviceIDs");
        size_t k;
        json_t *id;
        if (json_is_array(ids)) {
            json_array_foreach(ids, k,
                               id) if ((rc = add(c, e, -1, json_string_value(id), err))) return rc;
            continue;
        }
        const char *key;
        json_t *arr;
        json_object_foreach((json_t *)ids, key, arr)
        {
            int numa = atoi(key);
            json_array_foreach(arr, k, id) if ((rc = add(c, e, numa < 0 ? -1 : numa,
                                                         json_string_value(id), err))) return rc;
        }
    }
    if (c->n_allocs)
        qsort(c->allocs, c->n_allocs, sizeof(*c->allocs), cmp_alloc);
    const json_t *reg = nf__kubelet_json_field(data, "RegisteredDevices");
    const char *key;
    json_t *arr;
    json_object_foreach((json_t *)reg, key, arr)
    {
        json_array_foreach(arr, i, e)
        {
            nf_kv *kv = realloc(c->registered, (c->n_registered + 1) * sizeof(*kv));
            if (!kv)
                return nf_errf(err, -ENOMEM, "out of memory");
            c->registered = kv;
            kv = &kv[c->n_registered];
            kv->key = strdup(key);
            kv->value = strdup(json_string_value(e));
            c->n_registered++;
            if (!kv->key || !kv->value)
                return nf_errf(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

int nf_device_checkpoint_parse(const char *text, size_t len, const char *what,
                               nf_device_checkpoint *out, nf_err *err)
{
    json_t *root = NULL;
    nf_device_checkpoint c = {0};
    nf_spew s = {0};
    int rc = nf__kubelet_json_parse(text, len, what, &root, err), layout = 0;
    if (rc)
        return rc;
    json_t *data;
    uint64_t stored;
    if ((rc = nf__kubelet_json_object(root, "Data", what, &data, err)) ||
        (rc = nf__kubelet_json_uint(root, "Checksum", what, UINT64_MAX >> 1, &stored, NULL, err)) ||
        (rc = check(data, what, &layout, err)))
        goto out;
    if (stored != 0) {
        uint32_t first = 0;
        bool found = false, have_first = false;
        for (int l = 2; l >= 1 && !found; l--) {
            if (layout && layout != l)
                continue;
            for (int v1 = 0; v1 <= 1 && !found; v1++) {
                uint32_t sum;
                dump(&s, data, l, v1);
                if ((rc = nf_spew_sum(&s, &sum))) {
                    nf_errf(err, rc, "out of memory");
                    goto out;
                }
                if (!have_first) {
                    first = sum;
                    have_first = true;
                }
                if (sum == stored) {
                    found = true;
                    c.checksum_verified = true;
                    if (!(c.checksum_type = strdup(v1 ? "checkpoint.checkpointDataV1"
                                                      : "checkpoint.checkpointData"))) {
                        rc = nf_errf(err, -ENOMEM, "out of memory");
                        goto out;
                    }
                }
            }
        }
        if (!found) {
            rc = nf_errf(err, -EBADMSG,
                         "%s: checksum mismatch (stored %" PRIu64 ", computed %" PRIu32
                         " and other kubelet versions' type names): corrupt or edited",
                         what, stored, first);
            goto out;
        }
    }
    if ((rc = fill(&c, data, err)))
        goto out;
    c.version = layout == 1 ? 1 : 2;
out:
    nf_spew_free(&s);
    json_decref(root);
    if (rc) {
        nf_device_checkpoint_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

static int parse_into(const char *text, size_t len, const char *what, void *out, nf_err *err)
{
    return nf_device_checkpoint_parse(text, len, what, out, err);
}

int nf_device_checkpoint_load(const char *path, nf_device_checkpoint *out, nf_err *err)
{
    return nf__kubelet_json_load(path, parse_into, out, err);
}
