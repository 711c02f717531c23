"""metricsutil.py - shared by the metrics end-to-end tests: the real exporter on the snc2 fixture
of tests/exporter/e2e_exporter.py and the extender (processes from tests/nftest.py), parse
Prometheus text, run promtool, and pull the metric names out of the Grafana dashboard's PromQL
expressions.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "exporter"))
import e2e_exporter  # noqa: E402  (setup(): the snc2 fixture + kubelet dir)
import nftest  # noqa: E402

DASHBOARD = os.path.join(nftest.SRC, "deploy", "grafana", "numafit-dashboard.json")


def start_exporter(root, kdir, cfg, node=e2e_exporter.NODE, extra=()):
    """The exporter of e2e_exporter.setup()'s machine, ready (/readyz answers 200)."""
    ex = nftest.exporter(root, kdir, cfg, node, ["--poll-interval", "60s"] + list(extra))
    nftest.wait_for(lambda: nftest.http(ex.url("/readyz"), timeout=20)[0] == 200, 10,
                    "exporter /readyz")
    return ex


def start_extender(extra):
    return nftest.extender(extra=extra, env={"NUMAFIT_LOG_LEVEL": "info"})


# ---- Prometheus text ------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse(text):
    """-> (samples: list of (name, labels dict, float), types: {family: type}, problems: list)."""
    samples, types, problems = [], {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                if parts[2] in types:
                    problems.append("TYPE twice for " + parts[2])
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        if not m:
            problems.append("unparsable line: " + line)
            continue
        labels, rest = {}, m.group(3) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                problems.append("bad labels: " + line)
                break
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples, types, problems


def duplicates(samples):
    seen, dups = set(), []
    for name, labels, _ in samples:
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            dups.append(key)
        seen.add(key)
    return dups


def value(samples, name, **labels):
    """The one sample of name whose labels include `labels`; None when there is none."""
    hits = [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    if len(hits) > 1:
        raise AssertionError("%s %r matches %d samples" % (name, labels, len(hits)))
    return hits[0] if hits else None


def promtool(text):
    """(exit code, output) of `promtool check metrics` (0 clean, 3 lint problems, 1 parse error)."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).strip()


# ---- PromQL in the dashboard ---------------------------------------------------------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
             "and", "or", "unless", "inf", "nan", "sum", "min", "max", "avg", "count", "topk",
             "bottomk", "quantile", "stddev", "stdvar", "count_values", "group"}


def promql_metrics(expr):
    """Metric names an expression selects (functions, keywords, label names, strings, durations
    and Grafana variables stripped)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # strings
    e = re.sub(r'\$\{[^}]*\}|\$[a-zA-Z_]\w*', '1', e)                   # Grafana variables
    e = re.sub(r'\{[^}]*\}', ' ', e)                                     # label matchers
    e = re.sub(r'\[[^\]]*\]', ' ', e)                                    # range / subquery
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    names = set()
    for m in re.finditer(r'[a-zA-Z_:][a-zA-Z0-9_:]*', e):
        tok = m.group(0)
        after = e[m.end():].lstrip()
        if after.startswith("(") or tok.lower() in _KEYWORDS:
            continue
        if re.fullmatch(r'\d+[smhdwy]?', tok) or (m.start() > 0 and e[m.start() - 1].isdigit()):
            continue
        names.add(tok)
    return names


def dashboard_exprs(dash):
    """Every PromQL string in the dashboard: panel targets (nested rows too) and query variables."""
    out = []

    def panels(ps):
        for p in ps or []:
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    out.append(("panel %r" % p.get("title"), t["expr"]))
            panels(p.get("panels"))

    panels(dash.get("panels"))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and q:
            m = re.fullmatch(r'\s*label_values\((.*),\s*\w+\)\s*', q)
            out.append(("variable %r" % v.get("name"), m.group(1) if m else q))
    return out


def load_json(path):
    with open(path) as f:
        return json.load(f)
