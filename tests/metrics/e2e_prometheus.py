#!/usr/bin/env python3
"""e2e_prometheus.py - a real Prometheus server (Debian's `prometheus`) scrapes a real
numafit-exporter on loopback every second; the test asks Prometheus's HTTP API for per-NUMA
series and compares them with the exporter's JSON. Prometheus runs with its own TSDB in a
temporary directory and is always stopped (SIGTERM, then SIGKILL) before the test ends.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import metricsutil as mu  # noqa: E402
from nftest import check, free_port, http, skip, summary, terminate, wait_for  # noqa: E402


def query(base, q):
    status, _, body = http(base + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    if status != 200:
        return None
    r = json.loads(body)
    return r["data"]["result"] if r.get("status") == "success" else None


def start_prometheus(tmp, target):
    port = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: numafit-exporter\n"
                "    static_configs:\n      - targets: ['%s']\n" % target)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen(
        ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % port, "--storage.tsdb.retention.time=1h",
         "--log.level=warn"],
        stdout=log, stderr=log, cwd=tmp, start_new_session=True)
    return proc, "http://127.0.0.1:%d" % port, log


def main():
    if not shutil.which("prometheus"):
        skip("the prometheus binary is missing (scripts/install-deps.sh installs it)")
        return summary()
    tmp = tempfile.mkdtemp(prefix="nf-e2e-prom-")
    ex = prom = log = None
    t0 = time.monotonic()
    try:
        root, kdir, cfg = mu.e2e_exporter.setup(tmp)
        ex = mu.start_exporter(root, kdir, cfg)
        doc = json.loads(http(ex.url("/v1/topology"))[2])
        prom, base, log = start_prometheus(tmp, "127.0.0.1:%d" % ex.port)
        wait_for(lambda: prom.poll() is not None or _ready(base), 15, "prometheus ready")
        check(prom.poll() is None, "prometheus is running")

        q = 'numafit_numa_cpus_available{job="numafit-exporter",numa="0"}'
        res = wait_for(lambda: query(base, q), 15, "a scrape of the exporter")
        want = next(n for n in doc["numaNodes"] if n["id"] == 0)["resources"]["cpu"]["available"]
        check(len(res) == 1 and res[0]["metric"].get("node") == doc["node"],
              "one numa0 series of node %s: %r" % (doc["node"], res))
        check(float(res[0]["value"][1]) == want, "numa0 free exclusive CPUs %r, JSON %r"
              % (res[0]["value"][1], want))

        res = query(base, 'sum by (page_size) (numafit_numa_hugepages_available_bytes)')
        got = {r["metric"]["page_size"]: float(r["value"][1]) for r in res or []}
        want = {}
        for n in doc["numaNodes"]:
            for name, r in n["resources"].items():
                if name.startswith("hugepages-"):
                    want[name[10:]] = want.get(name[10:], 0) + r["available"]
        check(got == want, "free hugepage bytes per size over the NUMA nodes %r, JSON %r"
              % (got, want))
        res = query(base, 'up{job="numafit-exporter"}')
        check(res and float(res[0]["value"][1]) == 1, "the target is up: %r" % res)
        res = query(base, 'numafit_exporter_refresh_duration_seconds_count')
        check(res and float(res[0]["value"][1]) >= 1, "refresh histogram scraped: %r" % res)
    finally:
        if prom:
            terminate(prom)
            check(prom.poll() is not None, "prometheus stopped")
        if log:
            log.close()
        if ex:
            ex.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - t0
    check(elapsed < 25, "finished in %.1f s" % elapsed)
    return summary()


def _ready(base):
    try:
        return http(base + "/-/ready", timeout=1)[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
