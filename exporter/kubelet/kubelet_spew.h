/* kubelet_spew.h - the checksum kubelet's checkpoint manager stores in its state files.
 *
 * Kubelet does not hash the JSON: it hashes the text go-spew prints (`%#v`, SortKeys,
 * DisablePointerAddresses, DisableCapacities) for the in-memory Go value, with the checksum
 * field set to 0, using FNV-1a 32 bit (see tests/realdata/kubelet/FORMATS.md §0). This module
 * holds the FNV hash and a small text builder with the spew rules the state readers need; each
 * reader writes the dump of its own Go struct (kubelet_cpu_state.c, kubelet_memory_state.c,
 * kubelet_device_checkpoint.c), trying the type names known from several kubelet versions.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_CHECKSUM_H
#define NUMAFIT_EXPORTER_KUBELET_CHECKSUM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a, 32 bit (Go's hash/fnv.New32a). */
uint32_t nf_fnv1a32(const void *data, size_t len);

/* A growing text buffer; after an allocation failure `oom` is set and appends are ignored. */
typedef struct nf_spew {
    char *buf;
    size_t len;
    size_t cap;
    bool oom;
} nf_spew;

void nf_spew_reset(nf_spew *s); /* empty it, keep the memory */
void nf_spew_free(nf_spew *s);
void nf_spew_put(nf_spew *s, const char *text);
void nf_spew_putn(nf_spew *s, const char *text, size_t n);
void nf_spew_printf(nf_spew *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* FNV-1a-32 of the text; -ENOMEM when an append failed. */
int nf_spew_sum(const nf_spew *s, uint32_t *out);

/* Keys of a JSON object sorted as Go sorts string map keys (bytewise). The caller frees *keys
 * (not the strings, which belong to obj). Returns the count or -ENOMEM. */
long nf_spew_sorted_keys(const json_t *obj, const char ***keys);

/* Map keys that Go decodes as integers (NUMA ids): the keys of obj parsed as int64 and sorted
 * as spew sorts integer keys (numerically). Returns the count, -ENOMEM, or -EINVAL when a key
 * is not an integer (its text in *bad). */
long nf_spew_sorted_int_keys(const json_t *obj, int64_t **vals, const char **bad);

/* Dump of a JSON array of strings or a JSON object of string values as map/slice contents,
 * without a type prefix: "[a b]" / "map[k1:v1 k2:v2]" (keys sorted); NULL JSON -> "<nil>". The
 * caller has checked the element types. */
void nf_spew_string_slice(nf_spew *s, const json_t *arr);
void nf_spew_string_map(nf_spew *s, const json_t *obj);

#endif
