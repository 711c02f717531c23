/* report_render.h - the capacity report (report.h) as a terminal table, CSV, JSON or HTML.
 *
 * table  one aligned table per shape: NODE, ZONE, FITS, LIMITED BY, FREE, STRANDED (amounts as
 *        "cpu=20 hugepages-1Gi=16Gi intel.com/sriov=3"), a row per zone and a row "all" per node,
 *        then the shape's total and its stranded amounts with their share of the free amount.
 * csv    RFC 4180, header row then one row per node x zone x shape:
 *          shape,node,zone,fits,limited_by,free:<r>,stranded:<r>,...
 *        with a free:/stranded: pair for every resource any shape requests (empty where the shape
 *        does not request it); amounts are plain integers (bytes for memory and hugepages). A node
 *        with no zone, or where the shape is unbounded, has one row with an empty zone.
 * json   the keys listed in report.h, written as a stream (one line per node; shares with 6
 *        significant digits).
 * html   one self-contained page (inline CSS and SVG; no script, font or URL; a CSP that forbids
 *        loading anything): summary tables, a heatmap per requested resource with one cell per
 *        node x NUMA node coloured by its free share (rect.hm-cell, data-resource, data-node,
 *        data-numa; <title> tooltips), and per shape a bar chart of the pods that fit per node
 *        (rect.bar-seg, one segment per zone).
 */
#ifndef NUMAFIT_EXTENDER_REPORT_RENDER_H
#define NUMAFIT_EXTENDER_REPORT_RENDER_H

#include <stddef.h>

#include "report.h"

typedef enum nf_report_format {
    NF_REPORT_TABLE = 0,
    NF_REPORT_CSV,
    NF_REPORT_JSON,
    NF_REPORT_HTML,
} nf_report_format;

/* "table" | "csv" | "json" | "html"; -EINVAL on anything else. */
int nf_report_format_parse(const char *s, nf_report_format *out);
const char *nf_report_format_name(nf_report_format f);
/* "text/plain; charset=utf-8", "text/csv; charset=utf-8", "application/json",
 * "text/html; charset=utf-8" */
const char *nf_report_content_type(nf_report_format f);

/* Render a computed report into a NUL-terminated heap buffer. 0, -EINVAL (not computed) or
 * -ENOMEM. */
int nf_report_render(const nf_report *r, nf_report_format f, char **out, size_t *len);

#endif
