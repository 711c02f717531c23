#!/usr/bin/env python3
"""e2e_report.py - numafit-report's command line and the extender's GET /v1/report, end to end.

Covers: flags, NUMAFIT_* variables and exit codes (bad shape/flag -> 2, missing or malformed file
-> 1); every format from files (CSV header and rows, JSON keys of the design, table columns) with
the hand-checked numbers of data/README.md; --pod, --align socket, --add-pods; --topology-dir with a
bad file (skipped, exit 0); real numafit-exporters on fake sysfs trees (--exporter equals the
same documents read from files; an unreachable one is skipped; all unreachable -> 1); the progress
line with a slow exporter; a real numafit-extender: /v1/report in every format equals
numafit-report's output on the same nodes, --extender reads its /v1/nodes, and bad parameters
answer 400 with a clear message.
"""
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    EXPORTER, EXTENDER, SRC, Server, check, exporter_args, free_port, mkfixture, summary)
from nftest import http as fetch  # noqa: E402  (http is the standard module here)
from nftest import report as run  # noqa: E402

DATA = os.path.join(SRC, "tests", "report", "data")
SHAPE = "cpu=4,hugepages-1Gi=4Gi,intel.com/sriov=1"
GI = 1 << 30
KUBELET_CONFIG = os.path.join(SRC, "tests", "fixtures", "kubelet", "kubelet-config-computed.yaml")
HWLOC_ENV = {"HWLOC_COMPONENTS": "-x86"}


def fixtures(*names):
    return [os.path.join(DATA, n) for n in names]


def test_usage():
    rc, out, _ = run(["--help"])
    check(rc == 0 and "--add-pods" in out and "--progress" in out, "--help lists the flags")
    rc, out, _ = run(["--version"])
    check(rc == 0 and out.startswith("numafit-report "), "--version")
    rc, _, err = run(fixtures("worker-a.json"))
    check(rc == 2 and "no shape" in err, "no shape: exit 2 (%d %s)" % (rc, err))
    rc, _, err = run(["--shape", SHAPE])
    check(rc == 2 and "no topology source" in err, "no source: exit 2 (%d %s)" % (rc, err))
    rc, _, err = run(["--shape", "cpu=4,,intel.com/sriov=1"] + fixtures("worker-a.json"))
    check(rc == 2 and "empty item" in err, "bad shape: exit 2 with the reason (%d %s)" % (rc, err))
    rc, _, err = run(["--shape", "cpu=4,disk=1"] + fixtures("worker-a.json"))
    check(rc == 2 and "disk is not an aligned resource" in err, "unknown resource: %s" % err)
    rc, _, err = run(["--shape", "cpu=4,hugepages-1G=4Gi"] + fixtures("worker-a.json"))
    check(rc == 2 and "unknown resource hugepages-1G (did you mean hugepages-1Gi?)" in err,
          "hugepages-1G: exit 2 with a suggestion (%d %s)" % (rc, err))
    for bad in (["--align", "diagonal"], ["--format", "yaml"], ["--add-pods", "-1"],
                ["--timeout", "soon"], ["--progress", "maybe"], ["--no-such-flag"]):
        rc, _, err = run(["--shape", SHAPE] + bad + fixtures("worker-a.json"))
        check(rc == 2, "%s: exit 2, got %d" % (bad, rc))
    rc, _, err = run(["--shape", SHAPE, os.path.join(DATA, "missing.json")])
    check(rc == 1 and "missing.json" in err, "missing file: exit 1 naming it (%d %s)" % (rc, err))
    rc, _, err = run(["--shape", SHAPE] + fixtures("worker-a.json", "malformed.json"))
    check(rc == 1 and "malformed.json" in err and "invalid JSON" in err,
          "malformed file: exit 1 naming it (%d %s)" % (rc, err))
    rc, _, err = run(["--pod", os.path.join(DATA, "worker-a.json")] + fixtures("worker-a.json"))
    check(rc == 1 and "pod file" in err, "a topology as --pod: exit 1 (%d %s)" % (rc, err))


def test_formats(tmp):
    files = fixtures("worker-a.json", "worker-b.json")
    rc, out, err = run(["--shape", SHAPE, "--format", "json"] + files)
    check(rc == 0, "json: %s" % err)
    doc = json.loads(out)
    check(doc["align"] == "numa" and doc["kind"] == "CapacityReport", "json header keys")
    s = doc["shapes"][0]
    check(s["shape"] == SHAPE and s["total"] == 3, "json shape/total %r" % s["total"])
    a = s["nodes"][0]
    check(a["node"] == "worker-a" and a["fits"] == 3, "worker-a fits 3")
    check([(z["id"], z["fits"], z["limitedBy"]) for z in a["zones"]] ==
          [(0, 3, "cpu"), (1, 0, "intel.com/sriov")], "worker-a zones %r" % a["zones"])
    check(a["zones"][1]["stranded"]["cpu"] == 20, "20 CPUs stranded on numa1 (no VF)")
    check(s["stranded"] == {"cpu": 30, "hugepages-1Gi": 20 * GI, "intel.com/sriov": 5},
          "cluster stranded %r" % s["stranded"])
    check(abs(s["strandedShare"]["cpu"] - 30 / 42) < 1e-5, "stranded share")
    t = doc["totals"]["cpu"]
    check(t["allocatable"] == 62 and t["free"] == 42 and abs(t["freeShare"] - 42 / 62) < 1e-5,
          "totals %r" % t)

    rc, out, _ = run(["--shape", SHAPE, "--format", "csv"] + files)
    lines = out.split("\r\n")
    check(lines[0].startswith("shape,node,zone,fits,limited_by,free:cpu,stranded:cpu"),
          "csv header %r" % lines[0])
    check(len([ln for ln in lines[1:] if ln]) == 4, "csv: one row per node x zone")
    check('"%s",worker-a,1,0,intel.com/sriov,20,20,8589934592,8589934592,0,0' % SHAPE in lines,
          "csv row of worker-a numa1: %r" % lines)

    rc, out, _ = run(["--shape", SHAPE] + files)  # table is the default
    hdr = next((ln for ln in out.splitlines() if ln.startswith("NODE")), "")
    check(re.match(r"NODE +ZONE +FITS +LIMITED BY +FREE +STRANDED$", hdr), "table header %r" % hdr)
    check("total: 3 pods fit on 1 of 2 nodes" in out, "table total")

    # -o and NUMAFIT_* variables
    path = os.path.join(tmp, "r.csv")
    rc, out, _ = run(fixtures("worker-a.json") + ["-o", path],
                     env={"NUMAFIT_FORMAT": "csv", "NUMAFIT_SHAPE": SHAPE + " cpu=2"})
    body = open(path).read() if os.path.exists(path) else ""
    check(rc == 0 and out == "" and body.startswith("shape,node") and '"%s"' % SHAPE in body and
          "\ncpu=2,worker-a," in body, "-o with NUMAFIT_FORMAT / NUMAFIT_SHAPE")

    # socket alignment: worker-b's socket holds 2 where neither NUMA node holds one
    rc, out, _ = run(["--shape", SHAPE, "--format", "json", "--align", "socket"] + files)
    s = json.loads(out)["shapes"][0]
    check(s["total"] == 5 and s["nodes"][1]["zones"] ==
          [{"id": 0, "fits": 2, "limitedBy": "cpu", "limits": "cpu, intel.com/sriov",
            "free": {"cpu": 8, "hugepages-1Gi": 12 * GI, "intel.com/sriov": 2},
            "stranded": {"cpu": 0, "hugepages-1Gi": 4 * GI, "intel.com/sriov": 0}}],
          "socket alignment %r" % s["nodes"][1])

    # what-if
    rc, out, _ = run(["--shape", SHAPE, "--format", "json", "--add-pods", "2"] + files)
    s = json.loads(out)["shapes"][0]
    check(s["total"] == 1 and s["added"]["placed"] == 2 and
          s["added"]["placements"] == [{"node": "worker-a", "zone": 0}] * 2,
          "--add-pods 2 %r" % s.get("added"))
    rc, out, _ = run(["--shape", SHAPE, "--add-pods", "5"] + files)
    check(rc == 0 and out.count("placed 3 of 5") == 1,
          "--add-pods 5: only 3 placed, said once in the table")

    # --pod: a Pod YAML; memory is not aligned without the Memory Manager
    rc, out, err = run(["--pod", os.path.join(DATA, "pod-dpdk.yaml"), "--format", "json"] + files)
    s = json.loads(out)["shapes"][0] if rc == 0 else {}
    check(s.get("shape") == "pod ran/upf-0" and s.get("total") == 3, "--pod %r %s" % (s, err))
    # a manifest with the Namespace before the Pod (`---` separated): the Pod is the shape
    with open(os.path.join(DATA, "pod-dpdk.yaml")) as f:
        pod_yaml = f.read()
    multi = os.path.join(tmp, "namespace-and-pod.yaml")
    with open(multi, "w") as f:
        f.write("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ran\n---\n" + pod_yaml)
    rc, out, err = run(["--pod", multi, "--format", "json"] + files)
    shapes = json.loads(out)["shapes"] if rc == 0 else []
    check([(x["shape"], x["total"]) for x in shapes] == [("pod ran/upf-0", 3)],
          "--pod Namespace + Pod: the Pod is the one shape (%d %r %s)" % (rc, shapes, err))
    with open(multi, "w") as f:
        f.write("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ran\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    rc, _, err = run(["--pod", multi] + files)
    check(rc == 1 and "none of its 2 documents holds a pod spec" in err,
          "--pod without a Pod among 2 documents: exit 1 (%d %s)" % (rc, err))


def test_topology_dir():
    rc, out, err = run(["--shape", SHAPE, "--format", "json", "--topology-dir", DATA])
    doc = json.loads(out) if rc == 0 else {}
    check(rc == 0 and doc.get("nodeCount") == 4, "--topology-dir: %d %s" % (rc, err))
    check(any("bad files" in s["reason"] for s in doc.get("skipped", [])) and
          "malformed.json" in err, "--topology-dir: the bad file is skipped and named")
    rc, _, err = run(["--shape", SHAPE, "--topology-dir", os.path.join(DATA, "nope")])
    check(rc == 1, "--topology-dir missing: exit 1 (%d)" % rc)
    # a node given twice counts once
    rc, out, _ = run(["--shape", SHAPE, "--format", "json"] +
                     fixtures("worker-a.json", "worker-a.json"))
    doc = json.loads(out)
    check(doc["nodeCount"] == 1 and doc["skipped"][0]["reason"].startswith("duplicate node"),
          "duplicate node skipped")


def test_exporters(tmp):
    shape = "cpu=4,hugepages-1Gi=2Gi,intel.com/intel_sriov_dpdk=1"
    env = dict(os.environ, **HWLOC_ENV)
    files, exporters = [], []
    try:
        for preset, name in (("vfs-socket1", "ex-v"), ("single", "ex-s")):
            root = mkfixture(preset, os.path.join(tmp, preset))
            kdir = os.path.join(tmp, "kubelet-" + name)
            os.makedirs(kdir, exist_ok=True)
            args = exporter_args(root, kdir, KUBELET_CONFIG, name)
            once = subprocess.run([EXPORTER, "--once"] + args, check=True, capture_output=True,
                                  env=env).stdout
            path = os.path.join(tmp, name + ".json")
            open(path, "wb").write(once)
            files.append(path)
            exporters.append(Server([EXPORTER] + args, env=HWLOC_ENV))
        ref_rc, ref, _ = run(["--shape", shape, "--format", "json"] + files)
        doc = json.loads(ref)
        # vfs-socket1: numa0 has no VF (14 CPUs stranded), numa1 holds min(16/4, 8Gi/2Gi, 4) = 4
        v = next(n for n in doc["shapes"][0]["nodes"] if n["node"] == "ex-v")
        check(ref_rc == 0 and v["node"] == "ex-v" and v["fits"] == 4 and
              v["zones"][0]["stranded"]["cpu"] == 14, "vfs-socket1 from --once: %r" % v)
        argv = ["--shape", shape, "--format", "json"]
        for e in exporters:
            argv += ["--exporter", e.url()]
        rc, out, err = run(argv)
        check(rc == 0 and out == ref, "--exporter gives the report of the same documents read "
              "from files (%d %s)" % (rc, err))
        dead = "http://127.0.0.1:%d" % free_port()
        rc, out, err = run(argv + ["--exporter", dead])
        doc = json.loads(out) if rc == 0 else {}
        check(rc == 0 and doc.get("nodeCount") == 2 and doc["skipped"][0]["node"] == dead and
              dead in err, "an unreachable exporter is skipped with a warning (%d %s)" % (rc, err))
        rc, _, err = run(["--shape", shape, "--exporter", dead, "--timeout", "2s"])
        check(rc == 1 and "no exporter answered" in err, "all exporters down: exit 1 (%s)" % err)
    finally:
        for e in exporters:
            e.stop()


class SlowExporter(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        time.sleep(1.4)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_progress():
    SlowExporter.body = open(os.path.join(DATA, "worker-a.json"), "rb").read()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowExporter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    try:
        rc, out, err = run(["--shape", SHAPE, "--exporter", url, "--progress", "always"])
        check(rc == 0 and "total: 3 pods" in out, "slow exporter read (%d %s)" % (rc, err))
        check(re.search(r"read 1 of 1 topology sources \(0 failed\)", err),
              "progress line after a second with --progress always: %r" % err)
        rc, out, err = run(["--shape", SHAPE, "--exporter", url])  # auto: stderr is no TTY here
        check(rc == 0 and "topology sources" not in err, "no progress line when not a TTY")
    finally:
        srv.shutdown()


def get(url):
    status, headers, body = fetch(url, timeout=30)
    return status, headers.get("Content-Type"), body.decode()


def test_extender(tmp):
    d = os.path.join(tmp, "topologies")
    os.makedirs(d)
    for n in ("worker-a.json", "worker-b.json", "worker-c-nopolicy.json"):
        shutil.copy(os.path.join(DATA, n), d)
    ext = Server([EXTENDER, "--topology-dir", d, "--log-level", "info"], env=HWLOC_ENV)
    try:
        q = urllib.parse.urlencode([("shape", SHAPE), ("shape", "cpu=2")])
        for fmt, ctype in (("json", "application/json"), ("csv", "text/csv"),
                           ("html", "text/html"), ("table", "text/plain")):
            status, got_type, body = get(ext.url("/v1/report?%s&format=%s" % (q, fmt)))
            rc, out, err = run(["--shape", SHAPE, "--shape", "cpu=2", "--format", fmt,
                                "--topology-dir", d])
            check(status == 200 and got_type.startswith(ctype), "/v1/report %s: %d %s" %
                  (fmt, status, got_type))
            check(rc == 0 and body == out, "/v1/report?format=%s equals numafit-report's output" % fmt)
        status, _, body = get(ext.url("/v1/report?shape=" + urllib.parse.quote(SHAPE)))
        doc = json.loads(body)
        check(status == 200 and doc["shapes"][0]["total"] == 3 and doc["nodeCount"] == 3,
              "json is the default")
        status, _, body = get(ext.url("/v1/report?align=socket&addPods=1&shape=" +
                                      urllib.parse.quote(SHAPE)))
        doc = json.loads(body)
        check(status == 200 and doc["align"] == "socket" and doc["addPods"] == 1 and
              doc["shapes"][0]["total"] == 4, "align=socket&addPods=1: %r" % doc["shapes"][0]["total"])
        for query, words in (("shape=cpu%3Dfour", "cpu"), ("", "at least one shape"),
                             ("shape=cpu%3D4&format=pdf", "format takes"),
                             ("shape=cpu%3D4&align=up", "align takes"),
                             ("shape=cpu%3D4&addPods=x", "addPods"),
                             ("shape=cpu%3D4&colour=red", "unknown parameter")):
            status, _, body = get(ext.url("/v1/report?" + query))
            msg = json.loads(body).get("Error", "") if body.startswith("{") else body
            check(status == 400 and words in msg, "400 for %r: %d %r" % (query, status, msg))
        # numafit-report --extender reads /v1/nodes: the same report as from the directory
        rc, out, err = run(["--shape", SHAPE, "--format", "json", "--extender", ext.url()])
        rc2, ref, _ = run(["--shape", SHAPE, "--format", "json", "--topology-dir", d])
        check(rc == 0 and out == ref, "--extender equals --topology-dir (%d %s)" % (rc, err))
        rc, _, err = run(["--shape", SHAPE, "--extender", "http://127.0.0.1:%d" % free_port(),
                          "--timeout", "2s"])
        check(rc == 1 and "extender" in err, "unreachable extender: exit 1 (%s)" % err)
    finally:
        ext.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="nf-report-")
    try:
        test_usage()
        test_formats(tmp)
        test_topology_dir()
        test_exporters(tmp)
        test_progress()
        test_extender(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary())


if __name__ == "__main__":
    main()
