/* kubelet_json.c - Go-style JSON field access for kubelet's state files, and what the
 * checkpoint readers share (see kubelet_json.h). */
#include "kubelet_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kubelet_spew.h"
#include "numafit/fileio.h"

int nf__kubelet_json_parse(const char *text, size_t len, const char *what, json_t **out,
                           nf_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j)
        return nf_errf(err, -EINVAL, "%s: invalid JSON at line %d column %d: %s", what, je.line,
                       je.column, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return nf_errf(err, -EINVAL, "%s: expected a JSON object", what);
    }
    *out = j;
    return 0;
}

json_t *nf__kubelet_json_field(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (v)
        return v;
    const char *key;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcasecmp(key, name) == 0)
            return v;
    }
    return NULL;
}

int nf__kubelet_json_string(const json_t *obj, const char *name, const char *what, const char **out,
                            nf_err *err)
{
    json_t *v = nf__kubelet_json_field(obj, name);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return nf_errf(err, -EINVAL, "%s: field %s: expected a string", what, name);
    *out = json_string_value(v);
    return 0;
}

int nf__kubelet_json_object(const json_t *obj, const char *name, const char *what, json_t **out,
                            nf_err *err)
{
    json_t *v = nf__kubelet_json_field(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return nf_errf(err, -EINVAL, "%s: field %s: expected an object", what, name);
    *out = v;
    return 0;
}

int nf__kubelet_json_uint(const json_t *obj, const char *name, const char *what, uint64_t max,
                          uint64_t *out, int *present, nf_err *err)
{
    json_t *v = nf__kubelet_json_field(obj, name);
    *out = 0;
    if (present)
        *present = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return nf_errf(err, -EINVAL, "%s: field %s: expected an unsigned integer", what, name);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return nf_errf(err, -ERANGE, "%s: field %s: %lld is out of range [0, %llu]", what, name,
                       (long long)i, (unsigned long long)max);
    *out = (uint64_t)i;
    if (present)
        *present = 1;
    return 0;
}

int nf__kubelet_json_data_envelope(const json_t *root, const char *what, json_t **inner,
                                   bool *verified, char inner_what[NF_ERR_LEN], nf_err *err)
{
    *inner = NULL;
    *verified = false;
    json_t *data = nf__kubelet_json_field(root, "data");
    if (!data || json_is_null(data))
        return 0;
    if (!json_is_string(data))
        return nf_errf(err, -EINVAL, "%s: field data: expected a string", what);
    uint64_t stored;
    int rc = nf__kubelet_json_uint(root, "dataChecksum", what, UINT64_MAX >> 1, &stored, NULL, err);
    if (rc)
        return rc;
    if (stored != 0) {
        nf_spew s = {0};
        uint32_t sum = 0;
        nf_spew_put(&s, "(string)");
        nf_spew_putn(&s, json_string_value(data), json_string_length(data));
        rc = nf_spew_sum(&s, &sum);
        nf_spew_free(&s);
        if (rc)
            return nf_errf(err, rc, "out of memory");
        if (sum != stored)
            return nf_errf(err, -EBADMSG,
                           "%s: dataChecksum mismatch (stored %" PRIu64 ", computed %" PRIu32 ")",
                           what, stored, sum);
        *verified = true;
    }
    snprintf(inner_what, NF_ERR_LEN, "%s: data", what);
    return nf__kubelet_json_parse(json_string_value(data), json_string_length(data), inner_what,
                                  inner, err);
}

int nf__kubelet_json_checkpoint(const char *text, size_t len, const char *what,
                                const nf__kubelet_json_checkpoint_ops *ops, void *ctx,
                                bool *verified, char **checksum_type, nf_err *err)
{
    json_t *root = NULL, *data_root = NULL;
    *verified = false;
    *checksum_type = NULL;
    int rc = nf__kubelet_json_parse(text, len, what, &root, err);
    if (rc)
        return rc;
    char inner[NF_ERR_LEN];
    if ((rc = nf__kubelet_json_data_envelope(root, what, &data_root, verified, inner, err)))
        goto out;
    if (data_root) {
        if (*verified && !(*checksum_type = strdup("data"))) {
            rc = nf_errf(err, -ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = ops->read(ctx, data_root, inner, err)) || (rc = ops->fill(ctx, true, inner, err)))
            goto out;
    } else {
        uint64_t stored;
        if ((rc = ops->read(ctx, root, what, err)) ||
            (rc = nf__kubelet_json_uint(root, "checksum", what, UINT64_MAX >> 1, &stored, NULL,
                                        err)))
            goto out;
        if (stored != 0) {
            const char *type = NULL;
            uint32_t first = 0;
            int m = ops->verify(ctx, stored, &type, &first);
            if (m < 0) {
                rc = nf_errf(err, m, "out of memory");
                goto out;
            }
            if (m == 1) {
                *verified = true;
                if (asprintf(checksum_type, "state.%s", type) < 0) {
                    *checksum_type = NULL;
                    rc = nf_errf(err, -ENOMEM, "out of memory");
                    goto out;
                }
            } else if (json_object_size(nf__kubelet_json_field(root, "podEntries")) == 0) {
                /* corrupt or edited; with podEntries the file is taken unverified instead: no
                 * kubelet version's dump of them is known to reproduce */
                rc = nf_errf(err, -EBADMSG,
                             "%s: checksum mismatch (stored %" PRIu64 ", computed %" PRIu32
                             " and other kubelet versions' type names): corrupt or edited",
                             what, stored, first);
                goto out;
            }
        }
        rc = ops->fill(ctx, false, what, err);
    }
out:
    json_decref(data_root);
    json_decref(root);
    if (rc) {
        free(*checksum_type);
        *checksum_type = NULL;
        *verified = false;
    }
    return rc;
}

int nf__kubelet_json_load(const char *path, nf__kubelet_parse_fn parse, void *out, nf_err *err)
{
    char *text;
    size_t len;
    int rc = nf_read_file(path, NF_KUBELET_MAX_FILE, &text, &len, err);
    if (rc)
        return rc;
    rc = parse(text, len, path, out, err);
    free(text);
    return rc;
}
