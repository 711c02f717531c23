"""metricsutil.py - shared by the metrics end-to-end tests: run the real exporter (the set-up of
tests/exporter/e2e_exporter.py) and extender, parse Prometheus text, run promtool, and pull the
metric names out of the Grafana dashboard's PromQL expressions.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "exporter"))
import e2e_exporter  # noqa: E402  (setup(), args(), Exporter: the exporter on snc2 + kubelet dir)

BUILD = os.environ["NF_BUILD_DIR"]
SRC = os.environ["NF_SOURCE_DIR"]
EXTENDER = os.path.join(BUILD, "extender", "numafit-extender")
DASHBOARD = os.path.join(SRC, "deploy", "grafana", "numafit-dashboard.json")

# no proxy for loopback, whatever the environment says
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)
        return cond

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def http(url, data=None, method=None, timeout=20):
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def free_port():
    """A port nothing listens on now (for an exporter that never answers, or a server that
    cannot be told to pick its own)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def start_exporter(root, kdir, tmp, node=None, extra=()):
    args = e2e_exporter.args(root, kdir, tmp) + ["--poll-interval", "60s"] + list(extra)
    if node:
        args[args.index("--node-name") + 1] = node
    ex = e2e_exporter.Exporter(args)
    wait_until(lambda: http(ex.url("/readyz"))[0] == 200, 10, "exporter /readyz")
    return ex


class Extender:
    def __init__(self, extra):
        self.proc = subprocess.Popen([EXTENDER, "--listen", "127.0.0.1:0"] + extra,
                                     stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, NUMAFIT_LOG_LEVEL="info"))
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline and self.port is None:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r"serving.* port=(\d+)", line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("extender did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


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
