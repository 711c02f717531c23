/* quantity.h - Kubernetes resource quantities ("4", "4000m", "2Gi", "1G", "1e3", "0.5").
 *
 * Values are exact integers in milli-units, so "0.5" CPU and "500m" compare equal and an
 * integer CPU request can be told from a fractional one. Overflow and junk are errors.
 */
#ifndef NUMAFIT_QUANTITY_H
#define NUMAFIT_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "numafit/error.h"

/* Largest magnitude accepted, in milli-units (about 9.2e15 units: 8 PiB of bytes). */
#define NF_QUANTITY_MAX_MILLI INT64_MAX

int nf_quantity_parse_milli(const char *s, int64_t *out_milli, nf_err *err);
/* Whole units, rounded up as Kubernetes' Quantity.Value() does. */
int nf_quantity_parse(const char *s, int64_t *out, nf_err *err);
/* Format bytes the short Kubernetes way: "4Gi", "512Mi", else the plain number. Writes into
 * buf (at least 32 bytes). */
const char *nf_quantity_format_bytes(int64_t bytes, char *buf, size_t len);

/* "hugepages-1Gi" for a page size in bytes, as kubelet names the resource. */
const char *nf_hugepage_resource_name(uint64_t page_bytes, char *buf, size_t len);

#endif
