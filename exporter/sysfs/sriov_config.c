/* sriov_config.c - SR-IOV network device plugin config: parse and match (see sriov_config.h). */
#include "sriov_config.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numafit/cpuset.h"
#include "numafit/fileio.h"
#include "numafit/strlist.h"
#include "numafit/yaml_json.h"

#define MAX_CONFIG (1024 * 1024)
#define DEFAULT_PREFIX "intel.com"

enum dev_type { DT_NET, DT_ACCEL, DT_AUX };

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

/* "ens1f0" or "ens1f0#0-3,7" */
typedef struct ranged {
    char *name;
    bool all;
    nf_cpuset idx;
} ranged;

typedef struct rangedlist {
    ranged *v;
    size_t n;
} rangedlist;

typedef struct selector {
    strlist vendors, devices, drivers, pci_addresses, link_types;
    rangedlist pf_names, root_devices;
} selector;

typedef struct pool {
    char *resource;
    enum dev_type type;
    selector *sels;
    size_t n_sels;
} pool;

struct nf_sriov_config {
    pool *pools;
    size_t n_pools;
    char **notes;
    size_t n_notes;
};

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void rangedlist_free(rangedlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        nf_cpuset_free(&l->v[i].idx);
    }
    free(l->v);
}

static void selector_free(selector *s)
{
    strlist_free(&s->vendors);
    strlist_free(&s->devices);
    strlist_free(&s->drivers);
    strlist_free(&s->pci_addresses);
    strlist_free(&s->link_types);
    rangedlist_free(&s->pf_names);
    rangedlist_free(&s->root_devices);
}

void nf_sriov_config_free(nf_sriov_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pools; i++) {
        free(c->pools[i].resource);
        for (size_t s = 0; s < c->pools[i].n_sels; s++)
            selector_free(&c->pools[i].sels[s]);
        free(c->pools[i].sels);
    }
    free(c->pools);
    nf_strlist_free(c->notes, c->n_notes);
    free(c);
}

static int add_note(nf_sriov_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(nf_sriov_config *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nf_strlist_vaddf(&c->notes, &c->n_notes, fmt, ap);
    va_end(ap);
    return rc;
}

/* "0x8086" / "8086" -> pointer past the 0x */
static const char *skip_0x(const char *s)
{
    return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

static int parse_strlist(json_t *v, strlist *out, const char *where, const char *key, nf_err *err)
{
    if (!json_is_array(v))
        return nf_errf(err, -EINVAL, "%s.%s: must be a list of strings", where, key);
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    out->v = calloc(n, sizeof(char *));
    if (!out->v)
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return nf_errf(err, -EINVAL, "%s.%s[%zu]: must be a string", where, key, i);
        if (!(out->v[i] = strdup(json_string_value(e))))
            return nf_errf(err, -ENOMEM, "out of memory");
        out->n++;
    }
    return 0;
}

static int parse_rangedlist(json_t *v, rangedlist *out, const char *where, const char *key,
                            nf_err *err)
{
    strlist raw = {0};
    int rc = parse_strlist(v, &raw, where, key, err);
    if (rc || raw.n == 0) {
        strlist_free(&raw);
        return rc;
    }
    out->v = calloc(raw.n, sizeof(ranged));
    if (!out->v) {
        strlist_free(&raw);
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < raw.n && rc == 0; i++) {
        ranged *r = &out->v[i];
        out->n++;
        char *hash = strchr(raw.v[i], '#');
        if (hash)
            *hash = '\0';
        if (!*raw.v[i]) {
            rc = nf_errf(err, -EINVAL, "%s.%s[%zu]: empty name", where, key, i);
            break;
        }
        if (!(r->name = strdup(raw.v[i]))) {
            rc = nf_errf(err, -ENOMEM, "out of memory");
            break;
        }
        r->all = !hash;
        if (hash) {
            nf_err e = {{0}};
            const char *ranges = hash + 1;
            if (!*ranges || nf_cpuset_parse(ranges, &r->idx, &e) != 0)
                rc = nf_errf(err, -EINVAL, "%s.%s[%zu]: \"%s#%s\": VF ranges must look like 0-3,7",
                             where, key, i, raw.v[i], ranges);
        }
    }
    strlist_free(&raw);
    return rc;
}

static int parse_selector(nf_sriov_config *c, json_t *obj, selector *s, const char *where,
                          nf_err *err)
{
    if (!json_is_object(obj))
        return nf_errf(err, -EINVAL, "%s: a selector must be an object", where);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int rc = 0;
        if (strcmp(key, "vendors") == 0)
            rc = parse_strlist(v, &s->vendors, where, key, err);
        else if (strcmp(key, "devices") == 0)
            rc = parse_strlist(v, &s->devices, where, key, err);
        else if (strcmp(key, "drivers") == 0)
            rc = parse_strlist(v, &s->drivers, where, key, err);
        else if (strcmp(key, "pciAddresses") == 0)
            rc = parse_strlist(v, &s->pci_addresses, where, key, err);
        else if (strcmp(key, "linkTypes") == 0)
            rc = parse_strlist(v, &s->link_types, where, key, err);
        else if (strcmp(key, "pfNames") == 0)
            rc = parse_rangedlist(v, &s->pf_names, where, key, err);
        else if (strcmp(key, "rootDevices") == 0)
            rc = parse_rangedlist(v, &s->root_devices, where, key, err);
        else if (strcmp(key, "isRdma") == 0 || strcmp(key, "needVhostNet") == 0) {
            if (!json_is_boolean(v))
                return nf_errf(err, -EINVAL, "%s.%s: must be true or false", where, key);
            if (json_is_true(v))
                rc = add_note(c, "%s.%s ignored: numafit does not read RDMA/vhost capability",
                              where, key);
        } else if (strcmp(key, "ddpProfiles") == 0 || strcmp(key, "vdpaType") == 0 ||
                   strcmp(key, "pKeys") == 0 || strcmp(key, "acpiIndexes") == 0 ||
                   strcmp(key, "auxTypes") == 0) {
            rc = add_note(c,
                          "%s.%s ignored: not read from sysfs, so this pool matches every VF "
                          "its other selectors match",
                          where, key);
        } else {
            rc = add_note(c, "%s.%s: unknown selector ignored", where, key);
        }
        if (rc)
            return rc == -ENOMEM ? nf_errf(err, rc, "out of memory") : rc;
    }
    return 0;
}

static bool valid_name(const char *s, bool prefix)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && !(prefix && (*s == '.' || *s == '-')))
            return false;
    return true;
}

static int parse_pool(nf_sriov_config *c, json_t *obj, pool *p, size_t idx, const char *origin,
                      nf_err *err)
{
    char where[192];
    snprintf(where, sizeof(where), "%s: resourceList[%zu]", origin, idx);
    if (!json_is_object(obj))
        return nf_errf(err, -EINVAL, "%s: must be an object", where);
    json_t *name = json_object_get(obj, "resourceName");
    if (!json_is_string(name) || !valid_name(json_string_value(name), false))
        return nf_errf(err, -EINVAL, "%s.resourceName: required, letters, digits and _ only",
                       where);
    const char *prefix = DEFAULT_PREFIX;
    json_t *pv = json_object_get(obj, "resourcePrefix");
    if (pv && !json_is_null(pv)) {
        if (!json_is_string(pv) || !valid_name(json_string_value(pv), true))
            return nf_errf(err, -EINVAL, "%s.resourcePrefix: must be a DNS-like name (intel.com)",
                           where);
        prefix = json_string_value(pv);
    }
    if (asprintf(&p->resource, "%s/%s", prefix, json_string_value(name)) < 0) {
        p->resource = NULL;
        return nf_errf(err, -ENOMEM, "out of memory");
    }
    snprintf(where, sizeof(where), "%s: resourceList[%zu] (%s)", origin, idx, p->resource);
    for (size_t i = 0; i < c->n_pools; i++)
        if (c->pools[i].resource && strcmp(c->pools[i].resource, p->resource) == 0)
            return nf_errf(err, -EINVAL, "%s: resource name used twice", where);

    p->type = DT_NET;
    json_t *dt = json_object_get(obj, "deviceType");
    if (dt && !json_is_null(dt)) {
        const char *s = json_is_string(dt) ? json_string_value(dt) : "";
        if (strcmp(s, "netDevice") == 0)
            p->type = DT_NET;
        else if (strcmp(s, "accelerator") == 0)
            p->type = DT_ACCEL;
        else if (strcmp(s, "auxNetDevice") == 0) {
            p->type = DT_AUX;
            if (add_note(c, "%s: auxNetDevice pools select subfunctions, not VFs: no VF matches",
                         where))
                return nf_errf(err, -ENOMEM, "out of memory");
        } else
            return nf_errf(err, -EINVAL,
                           "%s.deviceType: must be netDevice, accelerator or auxNetDevice", where);
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int rc = 0;
        if (!strcmp(key, "resourceName") || !strcmp(key, "resourcePrefix") ||
            !strcmp(key, "deviceType") || !strcmp(key, "selectors"))
            continue;
        if (!strcmp(key, "excludeTopology")) {
            if (json_is_true(v))
                rc = add_note(c,
                              "%s.excludeTopology: kubelet does not NUMA-align these VFs; "
                              "numafit still places them by their PF's numa_node",
                              where);
        } else if (!strcmp(key, "isRdma")) {
            if (json_is_true(v))
                rc = add_note(c, "%s.isRdma ignored: numafit does not read RDMA capability", where);
        } else {
            rc = add_note(c, "%s.%s ignored", where, key);
        }
        if (rc)
            return nf_errf(err, -ENOMEM, "out of memory");
    }

    json_t *sel = json_object_get(obj, "selectors");
    if (!sel || json_is_null(sel))
        return 0; /* no selector: every device of the type */
    size_t n = json_is_array(sel) ? json_array_size(sel) : 1;
    if (!json_is_array(sel) && !json_is_object(sel))
        return nf_errf(err, -EINVAL, "%s.selectors: must be an object or a list of objects", where);
    if (n == 0)
        return 0;
    p->sels = calloc(n, sizeof(selector));
    if (!p->sels)
        return nf_errf(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char swhere[256];
        if (json_is_array(sel))
            snprintf(swhere, sizeof(swhere), "%s.selectors[%zu]", where, i);
        else
            snprintf(swhere, sizeof(swhere), "%s.selectors", where);
        p->n_sels++;
        int rc = parse_selector(c, json_is_array(sel) ? json_array_get(sel, i) : sel, &p->sels[i],
                                swhere, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_config_json(json_t *root, const char *origin, nf_sriov_config **out, nf_err *err)
{
    if (!json_is_object(root))
        return nf_errf(err, -EINVAL, "%s: the config must be a JSON object with resourceList",
                       origin);
    json_t *list = json_object_get(root, "resourceList");
    if (!json_is_array(list))
        return nf_errf(err, -EINVAL, "%s: resourceList: required, must be a list", origin);
    nf_sriov_config *c = calloc(1, sizeof(*c));
    if (!c)
        return nf_errf(err, -ENOMEM, "out of memory");
    size_t n = json_array_size(list);
    if (n) {
        c->pools = calloc(n, sizeof(pool));
        if (!c->pools) {
            nf_sriov_config_free(c);
            return nf_errf(err, -ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++) {
        pool p = {0};
        int rc = parse_pool(c, json_array_get(list, i), &p, i, origin, err);
        c->pools[c->n_pools++] = p; /* owned by c even when half-built */
        if (rc) {
            nf_sriov_config_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

static int parse_json_text(const char *text, size_t len, const char *origin, json_t **out,
                           nf_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!j)
        return nf_errf(err, -EINVAL, "%s: line %d column %d: %s", origin, je.line, je.column,
                       je.text);
    *out = j;
    return 0;
}

int nf_sriov_config_parse(const char *text, size_t len, const char *origin, nf_sriov_config **out,
                          nf_err *err)
{
    *out = NULL;
    if (!origin)
        origin = "SR-IOV config";
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    json_t *root = NULL;
    int rc;
    if (i < len && (text[i] == '{' || text[i] == '[')) {
        /* JSON (a JSON document is also YAML, but error messages are clearer from jansson) */
        if ((rc = parse_json_text(text, len, origin, &root, err)) != 0)
            return rc;
        rc = parse_config_json(root, origin, out, err);
        json_decref(root);
        return rc;
    }
    nf_err ye = {{0}};
    if ((rc = nf_yaml_load(text, len, &root, &ye)) != 0)
        return nf_errf(err, -EINVAL, "%s: neither JSON nor YAML: %s", origin, ye.msg);
    json_t *data = json_is_object(root) ? json_object_get(root, "data") : NULL;
    if (data) {
        json_t *cj = json_is_object(data) ? json_object_get(data, "config.json") : NULL;
        if (!json_is_string(cj)) {
            json_decref(root);
            return nf_errf(err, -EINVAL, "%s: ConfigMap has no data.\"config.json\" string",
                           origin);
        }
        char where[256];
        snprintf(where, sizeof(where), "%s: data.config.json", origin);
        json_t *cfg = NULL;
        rc = parse_json_text(json_string_value(cj), json_string_length(cj), where, &cfg, err);
        if (rc == 0) {
            rc = parse_config_json(cfg, where, out, err);
            json_decref(cfg);
        }
        json_decref(root);
        return rc;
    }
    rc = parse_config_json(root, origin, out, err);
    json_decref(root);
    return rc;
}

int nf_sriov_config_load(const char *path, nf_sriov_config **out, nf_err *err)
{
    *out = NULL;
    char *text;
    size_t len;
    int rc = nf_read_file(path, MAX_CONFIG, &text, &len, err);
    if (rc)
        return rc;
    rc = nf_sriov_config_parse(text, len, path, out, err);
    free(text);
    return rc;
}

size_t nf_sriov_config_count(const nf_sriov_config *c)
{
    return c ? c->n_pools : 0;
}

const char *nf_sriov_config_resource(const nf_sriov_config *c, size_t i)
{
    return c && i < c->n_pools ? c->pools[i].resource : NULL;
}

size_t nf_sriov_config_note_count(const nf_sriov_config *c)
{
    return c ? c->n_notes : 0;
}

const char *nf_sriov_config_note(const nf_sriov_config *c, size_t i)
{
    return c && i < c->n_notes ? c->notes[i] : NULL;
}

/* ---------- matching ---------- */

static bool in_list(const strlist *l, const char *v, bool hex)
{
    if (!v)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        if (hex ? strcasecmp(skip_0x(l->v[i]), skip_0x(v)) == 0 : strcmp(l->v[i], v) == 0)
            return true;
    }
    return false;
}

static bool in_ranged(const rangedlist *l, const char *name, int vf_index, bool casefold)
{
    if (!name)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        const ranged *r = &l->v[i];
        if (casefold ? strcasecmp(r->name, name) != 0 : strcmp(r->name, name) != 0)
            continue;
        if (r->all)
            return true;
        if (vf_index >= 0 && nf_cpuset_test(&r->idx, (unsigned)vf_index))
            return true;
    }
    return false;
}

static bool selector_matches(const selector *s, const nf_sriov_dev *d)
{
    if (s->vendors.n && !in_list(&s->vendors, d->vendor, true))
        return false;
    if (s->devices.n && !in_list(&s->devices, d->device, true))
        return false;
    if (s->drivers.n && !in_list(&s->drivers, d->driver, false))
        return false;
    if (s->pci_addresses.n && !in_list(&s->pci_addresses, d->pci, false))
        return false;
    if (s->link_types.n && !in_list(&s->link_types, d->link_type, false))
        return false;
    if (s->pf_names.n && !in_ranged(&s->pf_names, d->pf_netdev, d->vf_index, false))
        return false;
    if (s->root_devices.n && !in_ranged(&s->root_devices, d->pf_pci, d->vf_index, true))
        return false;
    return true;
}

const char *nf_sriov_config_match(const nf_sriov_config *c, const nf_sriov_dev *d)
{
    if (!c)
        return NULL;
    bool is_net = d->pci_class < 0 || ((d->pci_class >> 16) & 0xff) == 0x02;
    for (size_t i = 0; i < c->n_pools; i++) {
        const pool *p = &c->pools[i];
        if (p->type == DT_AUX || (p->type == DT_NET) != is_net)
            continue;
        if (p->n_sels == 0)
            return p->resource;
        for (size_t s = 0; s < p->n_sels; s++)
            if (selector_matches(&p->sels[s], d))
                return p->resource;
    }
    return NULL;
}
