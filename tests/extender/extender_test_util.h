/* extender_test_util.h - helpers the extender tests share beside topo_builder.h: pod documents
 * written with ' for " (readable C string literals) and decoded by the real pod codec.
 * Include after <cmocka.h>: a bad test document fails the running test. */
#ifndef NUMAFIT_TESTS_EXTENDER_TEST_UTIL_H
#define NUMAFIT_TESTS_EXTENDER_TEST_UTIL_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/error.h"
#include "pod_requirements.h"
#include "topo_builder.h"

/* A heap copy of text with every ' turned into " (free it). */
static inline char *tb_sq(const char *text)
{
    char *s = strdup(text);
    if (!s)
        fail_msg("out of memory");
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

/* Any JSON value given with ' for " (json_decref it). */
static inline json_t *tb_json(const char *text)
{
    char *s = tb_sq(text);
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("test JSON %s: %s", s, je.text);
    free(s);
    return v;
}

/* The requirements of a pod given as JSON with ' for " (free with nf_pod_req_free). */
static inline nf_pod_req tb_pod(const char *text)
{
    json_t *doc = tb_json(text);
    nf_pod_req r;
    nf_err err;
    if (nf_pod_req_from_json(doc, &r, &err))
        fail_msg("%s", err.msg);
    json_decref(doc);
    return r;
}

/* The requirements of a shape ("cpu=4,hugepages-1Gi=2Gi,..."; free with nf_pod_req_free). */
static inline nf_pod_req tb_shape(const char *shape)
{
    nf_pod_req r;
    nf_err err;
    if (nf_pod_req_from_shape(shape, &r, &err))
        fail_msg("%s", err.msg);
    return r;
}

#endif
