/* kubelet_json.h - reading kubelet's JSON state files the way Go's encoding/json does.
 *
 * Internal to nf_kubelet (nf__ names). Go matches struct fields case-insensitively and leaves a
 * field at its zero value for JSON null; these helpers do the same and say which field of which
 * file was wrong when a type does not match.
 */
#ifndef NUMAFIT_EXPORTER_KUBELET_JSON_H
#define NUMAFIT_EXPORTER_KUBELET_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "numafit/error.h"

/* Largest kubelet state file read (a real one is a few KiB). */
#define NF_KUBELET_MAX_FILE (16u << 20)

/* Parse text as a JSON object; what names the source in messages. */
int nf__kubelet_json_parse(const char *text, size_t len, const char *what, json_t **out,
                           nf_err *err);
/* The struct field `name` of obj, matched as Go does (exact, else case-insensitive); NULL when
 * absent. */
json_t *nf__kubelet_json_field(const json_t *obj, const char *name);
/* A string field: *out = its value, "" when absent or null; -EINVAL for another type. */
int nf__kubelet_json_string(const json_t *obj, const char *name, const char *what, const char **out,
                            nf_err *err);
/* An object (or absent/null -> *out = NULL) field; -EINVAL for another type. */
int nf__kubelet_json_object(const json_t *obj, const char *name, const char *what, json_t **out,
                            nf_err *err);
/* An unsigned integer field in [0, max]; absent or null -> 0 (*present = 0). */
int nf__kubelet_json_uint(const json_t *obj, const char *name, const char *what, uint64_t max,
                          uint64_t *out, int *present, nf_err *err);

/* The newest checkpoints (cpu_manager_state V4, memory_manager_state V3) carry the
 * authoritative state as a JSON string in "data", with "dataChecksum" = FNV-1a-32 of go-spew's
 * "(string)" + data. Without such an envelope: 0 and *inner = NULL. With one: *inner is the parsed
 * inner object (caller decrefs) and *verified tells whether a non-zero checksum matched;
 * -EBADMSG on a mismatch. inner_what receives "<what>: data" for messages about the inner object.
 */
int nf__kubelet_json_data_envelope(const json_t *root, const char *what, json_t **inner,
                                   bool *verified, char inner_what[NF_ERR_LEN], nf_err *err);

/* One checkpoint reader (cpu_manager_state, memory_manager_state), driven by
 * nf__kubelet_json_checkpoint. ctx is the reader's own: what read finds, the state fill builds. */
typedef struct nf__kubelet_json_checkpoint_ops {
    /* Read the state's fields of obj: the file's root, or the inner object of the "data"
     * envelope. The JSON stays alive until fill has returned. */
    int (*read)(void *ctx, const json_t *obj, const char *what, nf_err *err);
    /* The legacy checksum (no envelope) over what read found: 1 matched (*type: the Go type name
     * whose dump did), 0 none did (*first: the first value computed), or -ENOMEM. */
    int (*verify)(void *ctx, uint64_t stored, const char **type, uint32_t *first);
    /* Build the state; enveloped: it came from "data". */
    int (*fill)(void *ctx, bool enveloped, const char *what, nf_err *err);
} nf__kubelet_json_checkpoint_ops;

/* Parse a checkpoint, verify its checksum (the envelope's or the legacy stored one; 0 is not
 * checked) and have ops build the state: *verified and *checksum_type ("data",
 * "state.<Go type>", NULL when not verified; caller frees) say what matched. -EBADMSG on a
 * mismatch, unless the legacy file has podEntries (accepted unverified: no kubelet version's dump
 * of them is known to reproduce). */
int nf__kubelet_json_checkpoint(const char *text, size_t len, const char *what,
                                const nf__kubelet_json_checkpoint_ops *ops, void *ctx,
                                bool *verified, char **checksum_type, nf_err *err);

/* A reader's parse function (nf_cpu_state_parse, ...) with its out-parameter untyped. */
typedef int (*nf__kubelet_parse_fn)(const char *text, size_t len, const char *what, void *out,
                                    nf_err *err);
/* Read the file at path (at most NF_KUBELET_MAX_FILE bytes) and parse it into out, path naming
 * it in messages: what every reader's *_load does. */
int nf__kubelet_json_load(const char *path, nf__kubelet_parse_fn parse, void *out, nf_err *err);
#endif
