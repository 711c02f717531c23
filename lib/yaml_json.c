/* yaml_json.c - libyaml event stream -> jansson values (see numafit/yaml_json.h). */
#include "numafit/yaml_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "numafit/fileio.h"

#define MAX_DEPTH 64

typedef struct loader {
    yaml_parser_t parser;
    nf_err *err;
} loader;

static int parse_error(loader *l)
{
    return nf_errf(l->err, -EINVAL, "YAML line %zu column %zu: %s", l->parser.problem_mark.line + 1,
                   l->parser.problem_mark.column + 1,
                   l->parser.problem ? l->parser.problem : "parse error");
}

static json_t *scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, len);
    if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0)
        return json_null();
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
        return json_true();
    if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
        return json_false();
    int64_t i;
    if (v[0] != '0' || len == 1 || v[1] == 'x') { /* "0755" stays a string */
        if (nf_parse_int64(v, INT64_MIN, INT64_MAX, &i) == 0)
            return json_integer(i);
    }
    /* A float has a '.' or an exponent: an integer that did not fit int64 (or "0755") stays
     * text rather than losing digits, and so does a value beyond a double (json_real refuses
     * infinities). */
    char *end;
    double d = strtod(v, &end);
    if (end != v && *end == '\0' && strspn(v, "0123456789+-.eE") == len && strpbrk(v, ".eE") &&
        isfinite(d))
        return json_real(d);
    return json_stringn(v, len);
}

/* Builds the node that starts with ev (already taken); consumes up to its end. */
static int build(loader *l, yaml_event_t *ev, int depth, json_t **out)
{
    if (depth > MAX_DEPTH)
        return nf_errf(l->err, -EINVAL, "YAML line %zu: nested deeper than %d levels",
                       ev->start_mark.line + 1, MAX_DEPTH);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor)
            return nf_errf(l->err, -EINVAL, "YAML line %zu: anchors are not supported",
                           ev->start_mark.line + 1);
        *out = scalar(ev);
        return *out ? 0 : -ENOMEM;
    case YAML_ALIAS_EVENT:
        return nf_errf(l->err, -EINVAL, "YAML line %zu: aliases are not supported",
                       ev->start_mark.line + 1);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        if (map ? ev->data.mapping_start.anchor != NULL : ev->data.sequence_start.anchor != NULL)
            return nf_errf(l->err, -EINVAL, "YAML line %zu: anchors are not supported",
                           ev->start_mark.line + 1);
        json_t *node = map ? json_object() : json_array();
        if (!node)
            return -ENOMEM;
        for (;;) {
            yaml_event_t kev;
            if (!yaml_parser_parse(&l->parser, &kev)) {
                json_decref(node);
                return parse_error(l);
            }
            if (kev.type == YAML_SEQUENCE_END_EVENT || kev.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&kev);
                break;
            }
            int rc;
            if (!map) {
                json_t *item = NULL;
                rc = build(l, &kev, depth + 1, &item);
                yaml_event_delete(&kev);
                if (rc == 0)
                    json_array_append_new(node, item);
            } else if (kev.type != YAML_SCALAR_EVENT) {
                rc = nf_errf(l->err, -EINVAL,
                             "YAML line %zu: only scalar mapping keys are supported",
                             kev.start_mark.line + 1);
                yaml_event_delete(&kev);
            } else {
                char *key = strndup((const char *)kev.data.scalar.value, kev.data.scalar.length);
                yaml_event_delete(&kev);
                yaml_event_t vev;
                json_t *val = NULL;
                if (!key) {
                    rc = -ENOMEM;
                } else if (!yaml_parser_parse(&l->parser, &vev)) {
                    rc = parse_error(l);
                } else {
                    rc = build(l, &vev, depth + 1, &val);
                    yaml_event_delete(&vev);
                }
                if (rc == 0)
                    json_object_set_new(node, key, val);
                free(key);
            }
            if (rc) {
                json_decref(node);
                return rc;
            }
        }
        *out = node;
        return 0;
    }
    default:
        return nf_errf(l->err, -EINVAL, "YAML line %zu: unexpected event", ev->start_mark.line + 1);
    }
}

int nf_yaml_load_all(const char *text, size_t len, json_t **out, nf_err *err)
{
    loader l = {.err = err};
    if (!text) { /* (NULL, 0) is an empty stream; libyaml asserts on a NULL input */
        text = "";
        len = 0;
    }
    if (!yaml_parser_initialize(&l.parser))
        return nf_errf(err, -ENOMEM, "YAML: out of memory");
    yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
    json_t *docs = json_array();
    int rc = docs ? 0 : -ENOMEM;
    bool in_doc = false;
    json_t *doc = NULL;
    while (rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&l.parser, &ev)) {
            rc = parse_error(&l);
            break;
        }
        yaml_event_type_t type = ev.type;
        if (type == YAML_DOCUMENT_START_EVENT) {
            in_doc = true;
            doc = NULL;
        } else if (type == YAML_DOCUMENT_END_EVENT) {
            json_array_append_new(docs, doc ? doc : json_null());
            doc = NULL;
            in_doc = false;
        } else if (in_doc && !doc && type != YAML_STREAM_END_EVENT) {
            rc = build(&l, &ev, 0, &doc);
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    json_decref(doc);
    yaml_parser_delete(&l.parser);
    if (rc) {
        json_decref(docs);
        return rc;
    }
    *out = docs;
    return 0;
}

int nf_yaml_load(const char *text, size_t len, json_t **out, nf_err *err)
{
    json_t *docs;
    int rc = nf_yaml_load_all(text, len, &docs, err);
    if (rc)
        return rc;
    json_t *first = json_array_size(docs) ? json_array_get(docs, 0) : json_null();
    *out = json_incref(first);
    json_decref(docs);
    return 0;
}
