/* yaml_json.h - YAML documents (libyaml) as jansson values, so that every YAML input numafit
 * reads (KubeletConfiguration, ConfigMaps, pod specs) is walked with the same JSON code.
 *
 * Scalars follow the YAML 1.2 core schema: plain true/false -> boolean, null/~/empty -> null,
 * plain integers -> integer, plain floats -> real, everything else (and every quoted scalar) ->
 * string. Anchors and aliases are refused rather than expanded (no billion-laughs).
 */
#ifndef NUMAFIT_YAML_JSON_H
#define NUMAFIT_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "numafit/error.h"

/* All documents of a stream as a JSON array (one element per document). */
int nf_yaml_load_all(const char *text, size_t len, json_t **out, nf_err *err);
/* The first document only (JSON null for an empty stream). */
int nf_yaml_load(const char *text, size_t len, json_t **out, nf_err *err);

#endif
