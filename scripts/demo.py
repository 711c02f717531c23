#!/usr/bin/env python3
"""demo.py - numafit placing pods on a small built-in demo cluster (quickstart.sh runs it).

A laptop has no VFs and no 1 GiB pages, so the real-machine answer is always "unresolvable". This
builds two fake telco machines in a temporary directory (tests/fixtures/mkfixture.py trees plus
kubelet state with pods already running, tests/kubeletstate.py), starts one REAL numafit-exporter
per machine on loopback, a REAL numafit-extender pulling both and binding through a fake API
server (tests/fakes/fake_apiserver.py), and asks what kube-scheduler asks:
  demo-a  telco: 2 sockets x 2 NUMA nodes, DPDK VFs on numa0 (4) and numa2 (2); pods upf-1 and
          du-1 hold every allocatable CPU of numa0 and numa2 (and 3 of the VFs)
  demo-b  vfs-socket1: 2 sockets x 1 NUMA node, DPDK VFs only on numa1 (4); pod cnf-1 holds 4
          CPUs and one VF there
  pod dpdk-1 (cpu 4, hugepages-1Gi 2Gi, 2 VFs): /filter passes demo-b only, /prioritize, /bind
          reserves numa1, /v1/explain says why demo-a failed
  pod dpdk-2 (the same): rejected everywhere, demo-b's numa1 has 1 VF left after dpdk-1
and writes the HTML capacity report (GET /v1/report?format=html) to HTML_PATH.
Usage: demo.py BUILD_DIR HTML_PATH
Output lines the e2e test (tests/e2e/e2e_demo.py) reads: "demo: dpdk-1 bound to demo-b numa1",
"demo: dpdk-2 rejected", "demo: HTML capacity report: PATH".
"""
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) != 3:
    sys.stderr.write("usage: demo.py BUILD_DIR HTML_PATH\n")
    sys.exit(2)
os.environ["NF_BUILD_DIR"] = os.path.abspath(sys.argv[1])
os.environ.setdefault("NF_SOURCE_DIR", SRC)
sys.path.insert(0, os.path.join(SRC, "tests"))
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from nftest import (EXPORTER, EXTENDER, Server, exporter, kubeconfig, machine,  # noqa: E402
                    wait_until)
from fake_apiserver import FakeApiServer  # noqa: E402

VF = "intel.com/intel_sriov_dpdk"
TOKEN = "numafit-demo"
GIB = 1 << 30
UPF, DU, CNF = ("d0000000-0000-4000-8000-00000000000%d" % i for i in (1, 2, 3))


def die(msg):
    sys.stderr.write("demo: %s\n" % msg)
    sys.exit(1)


def dpdk_pod(name):
    res = {"cpu": "4", "memory": "2Gi", "hugepages-1Gi": "2Gi", VF: "2"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"schedulerName": "numafit",
                     "containers": [{"name": "dpdk", "image": "dpdk-testpmd",
                                     "resources": {"requests": res, "limits": res}}]}}


def machines(tmp):
    dev_a = ["0000:17:01.%d" % i for i in range(4)] + ["0000:b1:01.%d" % i for i in range(2)]
    a = machine(tmp, "demo-a", "telco", "0,16",
                {UPF: {"upf": "1-3,17-19"}, DU: {"du": "8-11,24-27"}},
                "0,4-7,12-16,20-23,28-31",
                [(UPF, "upf", VF, {0: ["0000:17:01.0", "0000:17:01.1"]}),
                 (DU, "du", VF, {2: ["0000:b1:01.0"]})], {VF: dev_a})
    b = machine(tmp, "demo-b", "vfs-socket1", "0,16", {CNF: {"cnf": "8-9,24-25"}},
                "0-7,10-23,26-31", [(CNF, "cnf", VF, {1: ["0000:86:01.0"]})],
                {VF: ["0000:86:01.%d" % i for i in range(4)]})
    return {"demo-a": a, "demo-b": b}


def free_table(ext, nodes):
    print("per-NUMA free (kubelet's view, from the exporters):")
    print("  %-7s %-5s %5s %14s %5s" % ("NODE", "NUMA", "CPUs", "hugepages-1Gi", "VFs"))
    for node in nodes:
        st, doc = ext.request("/v1/nodes/" + node)
        if st != 200:
            die("no topology for %s: %r" % (node, doc))
        for n in doc["numaNodes"]:
            r = n.get("resources", {})
            cpu = r.get("cpu", {}).get("available", 0)
            hp = r.get("hugepages-1Gi", {}).get("available", 0) // GIB
            vf = r.get(VF, {}).get("available", 0)
            print("  %-7s numa%-1d %5s %13dGi %5s" % (node, n["id"], cpu, hp, vf))


def schedule(ext, api, pod, nodes):
    """/filter, /prioritize and, when a node passes, /bind to the best one; returns
    (bound node or None, /filter answer, the pod's uid)."""
    m = pod["metadata"]
    pod = api.create_pod(pod)
    args = {"Pod": pod, "Nodes": None, "NodeNames": nodes}
    st, flt = ext.request("/filter", args)
    if st != 200:
        die("/filter answered %d: %r" % (st, flt))
    passed = flt.get("NodeNames") or []
    print("pod %s/%s: %s" % (m["namespace"], m["name"], " ".join(
        "%s=%s" % kv for kv in sorted(pod["spec"]["containers"][0]["resources"]["requests"].items()))))
    print("  /filter: passes %s" % (", ".join(passed) or "no node"))
    st, ex = ext.request("/v1/explain?pod=%s/%s" % (m["namespace"], m["name"]))
    detail = {n.get("node"): n.get("reason") for n in ex.get("nodes", [])} if st == 200 else {}
    for cls in ("FailedNodes", "FailedAndUnresolvableNodes"):
        for node, why in sorted((flt.get(cls) or {}).items()):
            print("  /filter: %s rejected (%s): %s" % (node, cls, why))
            if detail.get(node):
                print("    /v1/explain: %s" % detail[node])
    if not passed:
        return None, flt, pod["metadata"]["uid"]
    st, pri = ext.request("/prioritize", dict(args, NodeNames=passed))
    if st != 200:
        die("/prioritize answered %d: %r" % (st, pri))
    print("  /prioritize: %s" % ", ".join("%s %s" % (h["Host"], h["Score"]) for h in pri))
    best = max(pri, key=lambda h: (h["Score"], h["Host"]))["Host"]
    st, b = ext.request("/bind", {"PodName": m["name"], "PodNamespace": m["namespace"],
                                  "PodUID": pod["metadata"]["uid"], "Node": best})
    if st != 200 or b.get("Error"):
        die("/bind %s: %d %r" % (best, st, b))
    return best, flt, pod["metadata"]["uid"]


def main():
    html = os.path.abspath(sys.argv[2])
    for b in (EXPORTER, EXTENDER):
        if not os.access(b, os.X_OK):
            die("%s not found: build first (scripts/dev.sh build)" % b)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="numafit-demo.")
    servers, api = [], None
    try:
        ms = machines(tmp)
        for node, (root, kdir, cfg) in sorted(ms.items()):
            servers.append(exporter(root, kdir, cfg, node))
        api = FakeApiServer(tokens=[TOKEN]).start()
        kcfg = os.path.join(tmp, "kubeconfig")
        kubeconfig(kcfg, api.url, TOKEN)
        argv = [EXTENDER, "--kubeconfig", kcfg]
        for e in servers:
            argv += ["--exporter", e.url()]
        ext = Server(argv, name="extender")
        servers.append(ext)
        nodes = sorted(ms)

        def cached():
            st, body = ext.request("/v1/nodes")
            return st == 200 and sorted(i["node"] for i in body.get("items", [])) == nodes
        if not wait_until(cached, 15, 0.05)[0]:
            die("the extender did not get both demo nodes in 15 s")
        print("\n== demo cluster: two telco nodes on loopback (exporters %s, extender %s) ==" %
              (", ".join("%s:%d" % (n, s.port) for n, s in zip(nodes, servers)), ext.port))
        free_table(ext, nodes)

        pod1 = dpdk_pod("dpdk-1")
        node, _, uid = schedule(ext, api, pod1, nodes)
        if not node:
            die("dpdk-1 did not pass /filter anywhere")
        st, doc = ext.request("/v1/nodes/" + node)
        zones = [r.get("zone") for r in doc.get("reservations", [])
                 if r.get("uid") == uid]
        if not zones:
            die("no reservation for dpdk-1 on %s: %r" % (node, doc.get("reservations")))
        print("demo: dpdk-1 bound to %s numa%s (reserved there until kubelet reports it)" %
              (node, zones[0]))

        node2, _, _ = schedule(ext, api, dpdk_pod("dpdk-2"), nodes)
        if node2:
            die("dpdk-2 was expected to find no room, it went to %s" % node2)
        print("demo: dpdk-2 rejected: dpdk-1's reservation took demo-b's room, no NUMA node left "
              "has 4 CPUs, 2Gi of 1Gi pages and 2 VFs together")

        shape = "cpu=4,hugepages-1Gi=2Gi,%s=2" % VF
        st, _, body = ext.get("/v1/report?format=html&shape=" + urllib.parse.quote(shape))
        if st != 200:
            die("/v1/report answered %d" % st)
        with open(html, "wb") as f:
            f.write(body)
        st, rep = ext.request("/v1/report?shape=" + urllib.parse.quote(shape))
        if st == 200:
            s = rep["shapes"][0]
            print("capacity: %d more pods of %s fit (on %d of %d nodes)" %
                  (s["total"], shape, s["nodesWithRoom"], rep["nodeCount"]))
        print("demo: HTML capacity report: %s" % html)
        print("demo: done in %.1f s" % (time.monotonic() - t0))
    finally:
        bad = []
        for s in reversed(servers):
            rc = s.stop()
            if rc != 0:
                bad.append("%s exited %r: %s" % (s.name, rc, "".join(l for _, l in s.lines[-3:])))
        if api:
            api.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if bad:
        die("; ".join(bad))


if __name__ == "__main__":
    main()
