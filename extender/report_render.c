/* report_render.c - table, CSV, JSON and HTML forms of the capacity report (see report_render.h).
 */
#include "report_render.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numafit/quantity.h"

static const char *const format_names[] = {"table", "csv", "json", "html"};

int nf_report_format_parse(const char *s, nf_report_format *out)
{
    for (int i = 0; s && i < 4; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (nf_report_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *nf_report_format_name(nf_report_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "table";
}

const char *nf_report_content_type(nf_report_format f)
{
    switch (f) {
    case NF_REPORT_CSV:
        return "text/csv; charset=utf-8";
    case NF_REPORT_JSON:
        return "application/json";
    case NF_REPORT_HTML:
        return "text/html; charset=utf-8";
    default:
        return "text/plain; charset=utf-8";
    }
}

/* ---- shared bits ------------------------------------------------------------------------ */

/* Bytes for people: exact when a binary unit divides them ("16Gi"), else rounded in the largest
 * binary unit that keeps a number of at least 1 ("980Gi", not "1027532504Ki"; "1.5Gi"). The
 * JSON and CSV forms keep exact bytes. */
static const char *bytes_text(int64_t v, char *buf, size_t len)
{
    static const char *const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    nf_quantity_format_bytes(v, buf, len);
    size_t n = strlen(buf);
    if (v < 1024 * 1024 || (n >= 2 && buf[n - 1] == 'i' && buf[n - 2] != 'K'))
        return buf; /* small, or exact in Mi or above */
    int u = 0;
    double x = (double)v / 1024;
    while (x >= 1024 && u < 5) {
        x /= 1024;
        u++;
    }
    if (x >= 100 || x == (double)(int64_t)x)
        snprintf(buf, len, "%.0f%s", x, units[u]);
    else
        snprintf(buf, len, "%.1f%s", x, units[u]);
    char *dot = strstr(buf, ".0");
    if (dot && (dot[2] < '0' || dot[2] > '9')) /* "1.0Ti" -> "1Ti" */
        memmove(dot, dot + 2, strlen(dot + 2) + 1);
    return buf;
}

static const char *amount_text(const char *name, int64_t v, char *buf, size_t len)
{
    if (nf_resource_is_bytes(name))
        return bytes_text(v, buf, len);
    snprintf(buf, len, "%" PRId64, v);
    return buf;
}

static const char *zone_prefix(const nf_report *r)
{
    return r->opts.fit.align == NF_ALIGN_SOCKET ? "socket" : "numa";
}

/* -1 when free is 0 (no share). */
static double share(int64_t part, int64_t whole)
{
    return whole > 0 ? (double)part / (double)whole : -1;
}

/* ---- JSON --------------------------------------------------------------------------------- */
/* Written straight to the stream (a 5,000-node report is tens of MB; a DOM would cost seconds):
 * one line per node, so the output stays readable and greppable. */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void jkey(FILE *f, bool *first, const char *key)
{
    if (!*first)
        fputc(',', f);
    *first = false;
    jstr(f, key);
    fputc(':', f);
}

static void jamounts(FILE *f, const nf_amount *a, size_t n)
{
    bool first = true;
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        jkey(f, &first, a[i].name);
        fprintf(f, "%" PRId64, a[i].value);
    }
    fputc('}', f);
}

static void jshare(FILE *f, double sh)
{
    if (sh < 0)
        fputs("null", f);
    else
        fprintf(f, "%.6g", sh);
}

static void json_node(FILE *f, const nf_report *r, const nf_report_shape *s, size_t i)
{
    const nf_node_count *c = &s->nodes[i];
    fputs("{\"node\":", f);
    jstr(f, r->nodes[i].name);
    if (s->node_error[i]) {
        fputs(",\"fits\":null,\"error\":", f);
        jstr(f, s->node_error[i]);
        fputc('}', f);
        return;
    }
    fprintf(f, ",\"fits\":%" PRId64 ",\"free\":", c->fits);
    jamounts(f, c->free, c->n_free);
    fputs(",\"stranded\":", f);
    jamounts(f, c->stranded, c->n_stranded);
    fputs(",\"zones\":[", f);
    for (size_t z = 0; z < c->n_zones; z++) {
        const nf_zone_count *zc = &c->zones[z];
        fprintf(f, "%s{\"id\":%d,\"fits\":%" PRId64 ",\"limitedBy\":", z ? "," : "", zc->id,
                zc->fits);
        if (zc->limited_by)
            jstr(f, zc->limited_by);
        else
            fputs("null", f);
        char lim[256];
        fputs(",\"limits\":", f);
        jstr(f, nf_report_zone_limits(r, (size_t)(s - r->shapes), i, z, lim, sizeof(lim)));
        fputs(",\"free\":", f);
        jamounts(f, zc->free, zc->n_free);
        fputs(",\"stranded\":", f);
        jamounts(f, zc->stranded, zc->n_stranded);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void json_shape(FILE *f, const nf_report *r, const nf_report_shape *s)
{
    fputs("{\"shape\":", f);
    jstr(f, s->label);
    fputs(",\"requests\":", f);
    jamounts(f, s->request, s->n_request);
    fprintf(f, ",\"total\":%" PRId64 ",\"nodesWithRoom\":%zu,\"free\":", s->total,
            s->nodes_with_room);
    jamounts(f, s->free, s->n_free);
    fputs(",\"stranded\":", f);
    jamounts(f, s->stranded, s->n_free);
    fputs(",\"strandedShare\":{", f);
    bool first = true;
    for (size_t k = 0; k < s->n_free; k++) {
        jkey(f, &first, s->free[k].name);
        jshare(f, share(s->stranded[k].value, s->free[k].value));
    }
    fprintf(f, "},\"unboundedNodes\":%zu", s->unbounded_nodes);
    if (r->opts.add_pods > 0) {
        fprintf(f, ",\"added\":{\"requested\":%" PRId64 ",\"placed\":%" PRId64 ",\"note\":",
                r->opts.add_pods, s->placed);
        if (s->note)
            jstr(f, s->note);
        else
            fputs("null", f);
        fputs(",\"placements\":[", f);
        for (size_t k = 0; k < s->n_placements; k++) {
            fputs(k ? ",{\"node\":" : "{\"node\":", f);
            jstr(f, r->nodes[s->placements[k].node].name);
            fprintf(f, ",\"zone\":%d}", s->placements[k].zone);
        }
        fputs("]}", f);
    }
    fputs(",\"nodes\":[", f);
    for (size_t i = 0; i < r->n_nodes; i++) {
        fputs(i ? ",\n   " : "\n   ", f);
        json_node(f, r, s, i);
    }
    fputs("]}", f);
}

static int render_json(const nf_report *r, FILE *f)
{
    fputs("{\"apiVersion\":", f);
    jstr(f, NF_API_VERSION);
    fputs(",\"kind\":", f);
    jstr(f, NF_REPORT_KIND);
    fputs(",\"align\":", f);
    jstr(f, nf_align_name(r->opts.fit.align));
    fprintf(f, ",\"addPods\":%" PRId64 ",\"nodeCount\":%zu,\"numaNodeCount\":%zu,\n \"totals\":{",
            r->opts.add_pods, r->n_nodes, r->n_numa);
    bool first = true;
    for (size_t i = 0; i < r->n_totals; i++) {
        const nf_report_total *t = &r->totals[i];
        jkey(f, &first, t->name);
        fprintf(f,
                "{\"allocatable\":%" PRId64 ",\"free\":%" PRId64 ",\"freeShare\":", t->allocatable,
                t->free);
        jshare(f, share(t->free, t->allocatable));
        fputc('}', f);
    }
    fputs("},\n \"skipped\":[", f);
    for (size_t i = 0; i < r->n_skipped; i++) {
        fputs(i ? ",\n  {\"node\":" : "\n  {\"node\":", f);
        jstr(f, r->skipped[i].node);
        fputs(",\"reason\":", f);
        jstr(f, r->skipped[i].reason);
        fputc('}', f);
    }
    fputs("],\n \"shapes\":[", f);
    for (size_t i = 0; i < r->n_shapes; i++) {
        fputs(i ? ",\n  " : "\n  ", f);
        json_shape(f, r, &r->shapes[i]);
    }
    fputs("]}\n", f);
    return 0;
}

/* ---- table -------------------------------------------------------------------------------- */

#define TCOLS 6

typedef struct trow {
    char *cell[TCOLS];
} trow;

typedef struct ttable {
    trow *rows;
    size_t n, cap;
    int bad;
} ttable;

static void trow_add(ttable *t, const char *c0, const char *c1, const char *c2, const char *c3,
                     const char *c4, const char *c5)
{
    if (t->bad)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        trow *v = realloc(t->rows, cap * sizeof(*v));
        if (!v) {
            t->bad = 1;
            return;
        }
        t->rows = v;
        t->cap = cap;
    }
    const char *src[TCOLS] = {c0, c1, c2, c3, c4, c5};
    trow *row = &t->rows[t->n++];
    for (int k = 0; k < TCOLS; k++)
        if (!(row->cell[k] = strdup(src[k] ? src[k] : "")))
            t->bad = 1;
}

static void ttable_print(FILE *f, ttable *t)
{
    size_t w[TCOLS] = {0};
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < TCOLS; k++)
            if (t->rows[i].cell[k] && strlen(t->rows[i].cell[k]) > w[k])
                w[k] = strlen(t->rows[i].cell[k]);
    for (size_t i = 0; i < t->n; i++) {
        char line[4096];
        size_t used = 0;
        for (int k = 0; k < TCOLS && used < sizeof(line); k++) {
            const char *c = t->rows[i].cell[k] ? t->rows[i].cell[k] : "";
            bool right = k == 2 && i > 0; /* FITS is a number */
            int n = snprintf(line + used, sizeof(line) - used, right ? "%*s  " : "%-*s  ",
                             (int)w[k], c);
            used += n > 0 ? (size_t)n : 0;
        }
        if (used > sizeof(line) - 1)
            used = sizeof(line) - 1;
        while (used > 0 && line[used - 1] == ' ')
            used--;
        fprintf(f, "%.*s\n", (int)used, line);
    }
}

static void ttable_free(ttable *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < TCOLS; k++)
            free(t->rows[i].cell[k]);
    free(t->rows);
}

static void amounts_line(const nf_amount *a, size_t n, char *buf, size_t len)
{
    /* in the given (canonical) order, zeros included */
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && used + 1 < len; i++) {
        char q[40];
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? " " : "", a[i].name,
                         amount_text(a[i].name, a[i].value, q, sizeof(q)));
        used += w > 0 ? (size_t)w : 0;
    }
}

static int render_table(const nf_report *r, FILE *f)
{
    fprintf(f, "numafit capacity report: %zu nodes, %zu NUMA nodes, align %s\n", r->n_nodes,
            r->n_numa, nf_align_name(r->opts.fit.align));
    if (r->opts.add_pods > 0)
        fprintf(f, "what-if: %" PRId64 " pods of every shape placed first\n", r->opts.add_pods);
    for (size_t i = 0; i < r->n_skipped; i++)
        fprintf(f, "skipped %s: %s\n", r->skipped[i].node, r->skipped[i].reason);
    int bad = 0;
    for (size_t si = 0; si < r->n_shapes; si++) {
        const nf_report_shape *s = &r->shapes[si];
        char req[512], a[1024], b[1024], fits[32], zone[48];
        amounts_line(s->request, s->n_request, req, sizeof(req));
        fprintf(f, "\nshape %s (one pod: %s)\n", s->label, req);
        if (r->opts.add_pods > 0)
            fprintf(f, "what-if: placed %" PRId64 " of %" PRId64 "%s%s\n", s->placed,
                    r->opts.add_pods, s->note ? "; " : "", s->note ? s->note : "");
        ttable t = {0};
        trow_add(&t, "NODE", "ZONE", "FITS", "LIMITED BY", "FREE", "STRANDED");
        for (size_t i = 0; i < r->n_nodes; i++) {
            const nf_node_count *c = &s->nodes[i];
            const char *node = r->nodes[i].name;
            if (s->node_error[i]) {
                trow_add(&t, node, "all", "-", s->node_error[i], "", "");
                continue;
            }
            for (size_t z = 0; z < c->n_zones; z++) {
                const nf_zone_count *zc = &c->zones[z];
                snprintf(zone, sizeof(zone), "%s%d", zone_prefix(r), zc->id);
                snprintf(fits, sizeof(fits), "%" PRId64, zc->fits);
                amounts_line(zc->free, zc->n_free, a, sizeof(a));
                amounts_line(zc->stranded, zc->n_stranded, b, sizeof(b));
                char lim[256];
                trow_add(&t, node, zone, fits, nf_report_zone_limits(r, si, i, z, lim, sizeof(lim)),
                         a, b);
            }
            snprintf(fits, sizeof(fits), "%" PRId64, c->fits);
            amounts_line(c->free, c->n_free, a, sizeof(a));
            amounts_line(c->stranded, c->n_stranded, b, sizeof(b));
            trow_add(&t, node, "all", fits, "", a, b);
        }
        bad |= t.bad;
        if (!t.bad)
            ttable_print(f, &t);
        ttable_free(&t);
        fprintf(f, "total: %" PRId64 " pods fit on %zu of %zu nodes", s->total, s->nodes_with_room,
                r->n_nodes);
        if (s->unbounded_nodes)
            fprintf(f, " (%zu nodes unbounded: the shape needs nothing aligned there)",
                    s->unbounded_nodes);
        fputs("\nstranded:", f);
        for (size_t k = 0; k < s->n_free; k++) {
            char x[40], y[40];
            double sh = share(s->stranded[k].value, s->free[k].value);
            fprintf(f, "%s %s %s of %s free", k ? "," : "", s->free[k].name,
                    amount_text(s->free[k].name, s->stranded[k].value, x, sizeof(x)),
                    amount_text(s->free[k].name, s->free[k].value, y, sizeof(y)));
            if (sh >= 0)
                fprintf(f, " (%.1f%%)", sh * 100);
        }
        fputc('\n', f);
    }
    return bad ? -ENOMEM : 0;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static void csv_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* free:/stranded: pairs for every report resource; empty where the shape has none. */
static void csv_amounts(FILE *f, const nf_report *r, const nf_amount *fr, const nf_amount *st,
                        size_t n)
{
    for (size_t k = 0; k < r->n_resources; k++) {
        int j = fr ? nf_report_amount_index(fr, n, r->resources[k]) : -1;
        if (j >= 0)
            fprintf(f, ",%" PRId64 ",%" PRId64, fr[j].value, st[j].value);
        else
            fputs(",,", f);
    }
    fputs("\r\n", f);
}

static int render_csv(const nf_report *r, FILE *f)
{
    fputs("shape,node,zone,fits,limited_by", f);
    for (size_t k = 0; k < r->n_resources; k++) {
        fputs(",", f);
        char col[300];
        snprintf(col, sizeof(col), "free:%s", r->resources[k]);
        csv_field(f, col);
        fputs(",", f);
        snprintf(col, sizeof(col), "stranded:%s", r->resources[k]);
        csv_field(f, col);
    }
    fputs("\r\n", f);
    for (size_t si = 0; si < r->n_shapes; si++) {
        const nf_report_shape *s = &r->shapes[si];
        for (size_t i = 0; i < r->n_nodes; i++) {
            const nf_node_count *c = &s->nodes[i];
            if (s->node_error[i] || c->n_zones == 0) {
                csv_field(f, s->label);
                fputc(',', f);
                csv_field(f, r->nodes[i].name);
                fputs(s->node_error[i] ? ",,," : ",,0,", f);
                csv_field(f, s->node_error[i]);
                csv_amounts(f, r, NULL, NULL, 0);
                continue;
            }
            for (size_t z = 0; z < c->n_zones; z++) {
                const nf_zone_count *zc = &c->zones[z];
                csv_field(f, s->label);
                fputc(',', f);
                csv_field(f, r->nodes[i].name);
                char lim[256];
                fprintf(f, ",%d,%" PRId64 ",", zc->id, zc->fits);
                csv_field(f, nf_report_zone_limits(r, si, i, z, lim, sizeof(lim)));
                csv_amounts(f, r, zc->free, zc->stranded, zc->n_free);
            }
        }
    }
    return 0;
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* Viridis, sampled: 0 (nothing free) dark purple ... 1 (all free) yellow. */
static void share_colour(double x, char out[8], bool *dark)
{
    static const unsigned char stops[5][3] = {{0x44, 0x01, 0x54},
                                              {0x3b, 0x52, 0x8b},
                                              {0x21, 0x91, 0x8c},
                                              {0x5e, 0xc9, 0x62},
                                              {0xfd, 0xe7, 0x25}};
    if (x < 0)
        x = 0;
    if (x > 1)
        x = 1;
    double p = x * 4;
    int i = p >= 4 ? 3 : (int)p;
    double t = p - i;
    unsigned c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (unsigned)lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * t);
    snprintf(out, 8, "#%02x%02x%02x", c[0] & 0xff, c[1] & 0xff, c[2] & 0xff);
    *dark = x < 0.55;
}

static const char *const zone_colours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                           "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px 32px;"
    "color:#1d2330;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid "
    "#e3e6ec;padding-bottom:4px}"
    ".sub{color:#5b6475;font-size:13px;margin:0 0 4px}"
    "table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}"
    "th,td{padding:4px 12px;text-align:right;border-bottom:1px solid #e3e6ec}"
    "th{background:#f5f7fa;font-weight:600}th.l,td.l{text-align:left}"
    "td.big{font-weight:700;font-size:15px}"
    ".maps{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}"
    "figure{margin:0}figcaption{font-size:13px;font-weight:600;margin:0 0 6px}"
    "svg text{font-size:11px;fill:#1d2330}svg text.in{font-size:10px}"
    "svg .hm-cell:hover,svg .bar-seg:hover{stroke:#000;stroke-width:1.5}"
    ".warn{color:#a3300b}";

static void html_summary(const nf_report *r, FILE *f)
{
    fputs("<h2>Pods that still fit</h2>\n<table><tr><th class=\"l\">shape</th><th>pods that "
          "fit</th><th>nodes with room</th><th class=\"l\">resource</th><th>free</th>"
          "<th>stranded</th><th>stranded share</th></tr>\n",
          f);
    for (size_t si = 0; si < r->n_shapes; si++) {
        const nf_report_shape *s = &r->shapes[si];
        size_t span = s->n_free ? s->n_free : 1;
        for (size_t k = 0; k < span; k++) {
            fputs("<tr>", f);
            if (k == 0) {
                fprintf(f, "<td class=\"l\" rowspan=\"%zu\">", span);
                esc(f, s->label);
                fprintf(f,
                        "</td><td class=\"big\" rowspan=\"%zu\">%" PRId64
                        "</td><td rowspan=\"%zu\">%zu of %zu</td>",
                        span, s->total, span, s->nodes_with_room, r->n_nodes);
            }
            if (k < s->n_free) {
                char x[40], y[40];
                double sh = share(s->stranded[k].value, s->free[k].value);
                fputs("<td class=\"l\">", f);
                esc(f, s->free[k].name);
                fprintf(f, "</td><td>%s</td><td>%s</td>",
                        amount_text(s->free[k].name, s->free[k].value, x, sizeof(x)),
                        amount_text(s->free[k].name, s->stranded[k].value, y, sizeof(y)));
                if (sh >= 0)
                    fprintf(f, "<td>%.1f%%</td>", sh * 100);
                else
                    fputs("<td>-</td>", f);
            } else {
                fputs("<td></td><td></td><td></td><td></td>", f);
            }
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n", f);
    for (size_t si = 0; si < r->n_shapes; si++) {
        const nf_report_shape *s = &r->shapes[si];
        if (r->opts.add_pods > 0) {
            fputs("<p class=\"sub\">what-if for ", f);
            esc(f, s->label);
            fprintf(f, ": placed %" PRId64 " of %" PRId64 " pods first", s->placed,
                    r->opts.add_pods);
            if (s->note) {
                fputs(" (", f);
                esc(f, s->note);
                fputs(")", f);
            }
            fputs("</p>\n", f);
        }
    }
    fputs("<h2>Cluster totals</h2>\n<table><tr><th class=\"l\">resource</th><th>allocatable</th>"
          "<th>free</th><th>free share</th></tr>\n",
          f);
    for (size_t i = 0; i < r->n_totals; i++) {
        const nf_report_total *t = &r->totals[i];
        char x[40], y[40];
        double sh = share(t->free, t->allocatable);
        fputs("<tr><td class=\"l\">", f);
        esc(f, t->name);
        fprintf(f, "</td><td>%s</td><td>%s</td>",
                amount_text(t->name, t->allocatable, x, sizeof(x)),
                amount_text(t->name, t->free, y, sizeof(y)));
        if (sh >= 0)
            fprintf(f, "<td>%.1f%%</td></tr>\n", sh * 100);
        else
            fputs("<td>-</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Geometry shared by the heatmaps and the bar charts. */
typedef struct geo {
    int label_w; /* node name column */
    int row_h;
    int cell_w;
    bool text; /* numbers inside cells */
} geo;

static geo geometry(const nf_report *r)
{
    size_t longest = 4;
    for (size_t i = 0; i < r->n_nodes; i++)
        if (strlen(r->nodes[i].name) > longest)
            longest = strlen(r->nodes[i].name);
    geo g = {.label_w = (int)(longest > 30 ? 30 : longest) * 7 + 14};
    bool small = r->n_nodes <= 64;
    g.row_h = small ? 22 : 10;
    g.cell_w = small ? 44 : 22;
    g.text = small;
    return g;
}

/* The NUMA ids over the cluster, ascending; returns how many. */
static size_t numa_columns(const nf_report *r, int **out)
{
    int *ids = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < r->n_nodes; i++) {
        for (size_t z = 0; z < r->nodes[i].n_numa; z++) {
            int id = r->nodes[i].numa[z].id;
            size_t j = 0;
            while (j < n && ids[j] < id)
                j++;
            if (j < n && ids[j] == id)
                continue;
            if (n == cap) {
                int *v = realloc(ids, (cap = cap ? 2 * cap : 8) * sizeof(*v));
                if (!v) {
                    free(ids);
                    *out = NULL;
                    return 0;
                }
                ids = v;
            }
            memmove(ids + j + 1, ids + j, (n - j) * sizeof(*ids));
            ids[j] = id;
            n++;
        }
    }
    *out = ids;
    return n;
}

static void node_label(FILE *f, const geo *g, const char *name, int y)
{
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", g->label_w - 8,
            y + g->row_h / 2 + 4);
    if (strlen(name) > 30) {
        fprintf(f, "<title>");
        esc(f, name);
        fprintf(f, "</title>%.27s...", name); /* the title carries the full name */
    } else {
        esc(f, name);
    }
    fputs("</text>", f);
}

static void heatmap(const nf_report *r, FILE *f, const geo *g, const char *res, const int *cols,
                    size_t ncols, size_t idx)
{
    const int top = 22, legend_h = 40;
    int w = g->label_w + (int)ncols * g->cell_w + 8;
    if (w < g->label_w + 200)
        w = g->label_w + 200;
    int h = top + (int)r->n_nodes * g->row_h + legend_h;
    fputs("<figure><figcaption>free share of ", f);
    esc(f, res);
    fputs("</figcaption>\n<svg class=\"heatmap\" data-resource=\"", f);
    esc(f, res);
    fprintf(f, "\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", w, h, w, h);
    for (size_t c = 0; c < ncols; c++)
        fprintf(f, "<text x=\"%d\" y=\"14\" text-anchor=\"middle\">numa%d</text>",
                g->label_w + (int)c * g->cell_w + g->cell_w / 2, cols[c]);
    fputc('\n', f);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const nf_report_node *n = &r->nodes[i];
        int y = top + (int)i * g->row_h;
        node_label(f, g, n->name, y);
        for (size_t z = 0; z < n->n_numa; z++) {
            const nf_zone *zn = &n->numa[z];
            size_t c = 0;
            while (c < ncols && cols[c] != zn->id)
                c++;
            int x = g->label_w + (int)c * g->cell_w;
            int64_t alloc = nf_zone_get(zn, res, 1), avail = nf_zone_get(zn, res, 0);
            char fill[8] = "#e6e8ec", a[40], b[40];
            bool dark = false;
            double sh = share(avail, alloc);
            if (sh >= 0)
                share_colour(sh, fill, &dark);
            fputs("<rect class=\"hm-cell\" data-resource=\"", f);
            esc(f, res);
            fputs("\" data-node=\"", f);
            esc(f, n->name);
            fprintf(f,
                    "\" data-numa=\"%d\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"%s\" stroke=\"#fff\"><title>",
                    zn->id, x, y, g->cell_w, g->row_h, fill);
            esc(f, n->name);
            fprintf(f, " numa%d: ", zn->id);
            esc(f, res);
            if (sh >= 0)
                fprintf(f, " %s of %s free (%.0f%%)", amount_text(res, avail, a, sizeof(a)),
                        amount_text(res, alloc, b, sizeof(b)), sh * 100);
            else
                fputs(" none on this NUMA node", f);
            fputs("</title></rect>", f);
            if (g->text)
                fprintf(f,
                        "<text class=\"in\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                        "style=\"fill:%s\" pointer-events=\"none\">%s</text>",
                        x + g->cell_w / 2, y + g->row_h / 2 + 4, dark ? "#fff" : "#1d2330",
                        sh >= 0 ? (snprintf(a, sizeof(a), "%.0f%%", sh * 100), a) : "-");
        }
        fputc('\n', f);
    }
    /* legend: a gradient from nothing free to all free */
    int ly = top + (int)r->n_nodes * g->row_h + 12;
    fprintf(f, "<defs><linearGradient id=\"lg%zu\">", idx);
    for (int k = 0; k <= 4; k++) {
        char c[8];
        bool dk;
        share_colour(k / 4.0, c, &dk);
        fprintf(f, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", k * 25, c);
    }
    fprintf(f,
            "</linearGradient></defs><rect x=\"%d\" y=\"%d\" width=\"120\" height=\"10\" "
            "fill=\"url(#lg%zu)\"/><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0%% free</text>"
            "<text x=\"%d\" y=\"%d\">100%%</text>\n</svg></figure>\n",
            g->label_w, ly, idx, g->label_w - 4, ly + 9, g->label_w + 124, ly + 9);
}

/* The distinct zone ids of a shape's counts, ascending (at most cap). */
static size_t shape_zone_ids(const nf_report *r, const nf_report_shape *s, int *ids, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_nodes; i++) {
        for (size_t z = 0; !s->node_error[i] && z < s->nodes[i].n_zones; z++) {
            int id = s->nodes[i].zones[z].id;
            size_t j = 0;
            while (j < n && ids[j] < id)
                j++;
            if ((j < n && ids[j] == id) || n == cap)
                continue;
            memmove(ids + j + 1, ids + j, (n - j) * sizeof(*ids));
            ids[j] = id;
            n++;
        }
    }
    return n;
}

/* "0: numa0 limited by intel.com/sriov; numa1 no CPUs": what holds each zone of the node. */
static void zero_reason(FILE *f, const nf_report *r, size_t si, size_t i)
{
    const nf_node_count *c = &r->shapes[si].nodes[i];
    fputc(':', f);
    for (size_t z = 0; z < c->n_zones; z++) {
        char lim[256];
        nf_report_zone_limits(r, si, i, z, lim, sizeof(lim));
        fprintf(f, "%s %s%d ", z ? ";" : "", zone_prefix(r), c->zones[z].id);
        if (strcmp(lim, "no CPUs") != 0)
            fputs("limited by ", f);
        esc(f, lim);
    }
}

static void bars(const nf_report *r, FILE *f, const geo *g, size_t si)
{
    const nf_report_shape *s = &r->shapes[si];
    int64_t max = 1;
    for (size_t i = 0; i < r->n_nodes; i++)
        if (!s->node_error[i] && s->nodes[i].fits > max)
            max = s->nodes[i].fits;
    int ids[16];
    size_t nids = shape_zone_ids(r, s, ids, 16);
    const int plot_w = 560, top = 26;
    int w = g->label_w + plot_w + 260, h = top + (int)r->n_nodes * g->row_h + 8;
    fputs("<figure><figcaption>pods of ", f);
    esc(f, s->label);
    fprintf(f,
            " that still fit, per node</figcaption>\n<svg class=\"bars\" data-shape=\"%zu\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
            si, w, h, w, h);
    for (size_t k = 0; k < nids; k++) /* legend: one colour per zone */
        fprintf(f,
                "<rect x=\"%d\" y=\"6\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" "
                "y=\"15\">%s%d</text>",
                g->label_w + (int)k * 70, zone_colours[(unsigned)ids[k] % 8],
                g->label_w + (int)k * 70 + 14, zone_prefix(r), ids[k]);
    fputc('\n', f);
    int bar_h = g->row_h - 4;
    for (size_t i = 0; i < r->n_nodes; i++) {
        const nf_node_count *c = &s->nodes[i];
        int y = top + (int)i * g->row_h;
        node_label(f, g, r->nodes[i].name, y);
        double x = g->label_w;
        for (size_t z = 0; !s->node_error[i] && z < c->n_zones; z++) {
            const nf_zone_count *zc = &c->zones[z];
            if (zc->fits <= 0)
                continue;
            double bw = (double)zc->fits * plot_w / (double)max;
            fputs("<rect class=\"bar-seg\" data-node=\"", f);
            esc(f, r->nodes[i].name);
            fprintf(f,
                    "\" data-zone=\"%d\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                    "fill=\"%s\" stroke=\"#fff\"><title>",
                    zc->id, x, y + 2, bw, bar_h, zone_colours[(unsigned)zc->id % 8]);
            esc(f, r->nodes[i].name);
            char lim[256];
            fprintf(f, " %s%d: %" PRId64 " pods, limited by ", zone_prefix(r), zc->id, zc->fits);
            esc(f, nf_report_zone_limits(r, si, i, z, lim, sizeof(lim)));
            fputs("</title></rect>", f);
            x += bw;
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">", x + 4, y + g->row_h / 2 + 4);
        if (s->node_error[i]) {
            fputs("unbounded", f);
        } else {
            fprintf(f, "%" PRId64, c->fits);
            if (c->fits == 0 && g->text)
                zero_reason(f, r, si, i);
        }
        fputs("</text>\n", f);
    }
    fputs("</svg></figure>\n", f);
}

static int render_html(const nf_report *r, FILE *f)
{
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">\n<meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">\n"
            "<title>numafit capacity report</title>\n<style>%s</style></head><body>\n"
            "<h1>numafit capacity report</h1>\n<p class=\"sub\">%zu nodes, %zu NUMA nodes, "
            "pods aligned per %s",
            css, r->n_nodes, r->n_numa,
            r->opts.fit.align == NF_ALIGN_SOCKET ? "socket" : "NUMA node");
    if (r->opts.add_pods > 0)
        fprintf(f, "; what-if: %" PRId64 " pods of every shape placed first", r->opts.add_pods);
    fputs("</p>\n", f);
    for (size_t i = 0; i < r->n_skipped; i++) {
        fputs("<p class=\"sub warn\">skipped ", f);
        esc(f, r->skipped[i].node);
        fputs(": ", f);
        esc(f, r->skipped[i].reason);
        fputs("</p>\n", f);
    }
    html_summary(r, f);
    geo g = geometry(r);
    int *cols;
    size_t ncols = numa_columns(r, &cols);
    if (r->n_nodes && !cols)
        return -ENOMEM;
    fputs("<h2>Free share per NUMA node</h2>\n<p class=\"sub\">One cell per node and NUMA node; "
          "the colour is the free share of the resource (hover for the amounts).</p>\n"
          "<div class=\"maps\">\n",
          f);
    for (size_t k = 0; k < r->n_resources; k++)
        heatmap(r, f, &g, r->resources[k], cols, ncols, k);
    free(cols);
    fputs("</div>\n<h2>Pods that fit per node</h2>\n<div class=\"maps\">\n", f);
    for (size_t si = 0; si < r->n_shapes; si++)
        bars(r, f, &g, si);
    fputs("</div>\n</body></html>\n", f);
    return 0;
}

/* ---- entry -------------------------------------------------------------------------------- */

int nf_report_render(const nf_report *r, nf_report_format fmt, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!r->computed)
        return -EINVAL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return -ENOMEM;
    int rc;
    switch (fmt) {
    case NF_REPORT_CSV:
        rc = render_csv(r, f);
        break;
    case NF_REPORT_HTML:
        rc = render_html(r, f);
        break;
    case NF_REPORT_JSON:
        rc = render_json(r, f);
        break;
    default:
        rc = render_table(r, f);
        break;
    }
    if (fclose(f) || !buf)
        rc = -ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}
