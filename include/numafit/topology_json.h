/* topology_json.h - NodeTopology <-> JSON (jansson), the wire form of numafit.io/v1. */
#ifndef NUMAFIT_TOPOLOGY_JSON_H
#define NUMAFIT_TOPOLOGY_JSON_H

#include <jansson.h>

#include "numafit/error.h"
#include "numafit/topology.h"

/* Build the JSON document; the caller owns the returned reference (json_decref). NULL only when
 * memory runs out. */
json_t *nf_topology_to_json(const nf_topology *t);

/* Decode a document. Unknown keys are ignored; wrong types, negative counts and missing required
 * keys are errors naming the JSON path. On error *out is left zeroed. */
int nf_topology_from_json(const json_t *doc, nf_topology *out, nf_err *err);

/* Convenience for files and HTTP bodies. */
int nf_topology_parse(const char *text, size_t len, nf_topology *out, nf_err *err);

/* A JSON string of any bytes: each byte that is not part of valid UTF-8 (a stray 0xff, a
 * character cut in half by truncation) becomes '?', where json_string() would fail. NULL only
 * when memory runs out (or s is NULL). */
json_t *nf_json_string_lossy(const char *s);

/* "2026-11-25T14:00:00Z" */
void nf_format_rfc3339(int64_t unix_seconds, char buf[32]);
int nf_parse_rfc3339(const char *s, int64_t *out);

#endif
