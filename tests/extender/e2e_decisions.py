#!/usr/bin/env python3
"""e2e_decisions.py - the real numafit-extender on loopback: /preempt, grouped /filter reasons,
/v1/explain and the one log line per /filter decision.

NodeTopology documents are written into a --topology-dir as the exporter publishes them (pods per
NUMA node with what kubelet gave them, numaNodes[].pods); requests are shaped as kube-scheduler
sends them: full v1.Pod objects with metadata, spec and status, the nodeCacheCapable meta form,
Go field names (and the all-lower-case spelling Go's decoder also takes).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from nftest import EXTENDER, GIB, Server, check, http, summary, wait_until, write  # noqa: E402

VF = "intel.com/intel_sriov_dpdk"


def numa(i, cpu_alloc, cpu_free, vf_alloc, vf_free, pods=()):
    res = {"cpu": {"capacity": cpu_alloc, "allocatable": cpu_alloc, "available": cpu_free},
           "hugepages-1Gi": {"capacity": 8 * GIB, "allocatable": 8 * GIB, "available": 8 * GIB}}
    if vf_alloc:
        res[VF] = {"capacity": vf_alloc, "allocatable": vf_alloc, "available": vf_free}
    return {"id": i, "socket": 0, "resources": res,
            "pods": [{"podUID": uid, "cpus": cpus, "resources": r} for uid, cpus, r in pods]}


def topology(node, numas):
    return {"apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": node, "generation": 1,
            "kubelet": {"cpuManagerPolicy": "static", "topologyManagerPolicy": "single-numa-node",
                        "topologyManagerScope": "pod", "memoryManagerPolicy": "None"},
            "sockets": [{"id": 0, "numaNodes": [n["id"] for n in numas]}],
            "numaNodes": numas}


def pod(name, uid, cpu, vf=0, priority=None, ns="ran"):
    res = {"cpu": str(cpu), "memory": "1Gi"}
    if vf:
        res[VF] = str(vf)
        res["hugepages-1Gi"] = "2Gi"
    spec = {"schedulerName": "default-scheduler", "nodeName": "",
            "containers": [{"name": "main", "image": "app",
                            "resources": {"requests": res, "limits": res}}]}
    if priority is not None:
        spec["priority"] = priority
    return {"metadata": {"name": name, "namespace": ns, "uid": uid,
                         "creationTimestamp": "2026-12-04T10:00:00Z"},
            "spec": spec, "status": {"phase": "Running", "qosClass": "Guaranteed"}}


# worker-a: numa0 full of batch pods (no VF there), numa1: 2 CPUs free, two pods holding 3 each
# worker-b: like worker-a but nothing to evict on numa1 (its CPUs are reserved elsewhere)
# worker-c: numa0 and numa1 both small: a cpu=16 pod never fits (unresolvable)
NODES = [
    topology("worker-a", [
        numa(0, 8, 0, 0, 0, [("batch-1", "1-4", {"cpu": 4}), ("batch-2", "5-7,0", {"cpu": 4})]),
        numa(1, 8, 2, 2, 1, [("ran-1", "8-10", {"cpu": 3, VF: 1}), ("ran-2", "11-13", {"cpu": 3})]),
    ]),
    topology("worker-b", [
        numa(0, 8, 0, 0, 0, [("batch-3", "1-8", {"cpu": 8})]),
        numa(1, 8, 2, 2, 1),
    ]),
    topology("worker-c", [numa(0, 4, 4, 1, 1), numa(1, 4, 4, 1, 1)]),
]


def test_preempt(ext):
    upf = pod("upf-0", "uid-upf", 6, vf=1, priority=1000)
    victims = {
        "worker-a": {"Pods": [pod("batch-1", "batch-1", 4, priority=1),
                              pod("ran-1", "ran-1", 3, vf=1, priority=7),
                              pod("ran-2", "ran-2", 3, priority=3),
                              pod("batch-2", "batch-2", 4, priority=2)],
                     "NumPDBViolations": 1},
        "worker-b": {"Pods": [pod("batch-3", "batch-3", 8, priority=0)], "NumPDBViolations": 0},
        "worker-x": {"Pods": [pod("other", "other", 1)], "NumPDBViolations": 0},
    }
    st, res = ext.request("/preempt", {"Pod": upf, "NodeNameToVictims": victims,
                                       "NodeNameToMetaVictims": None})
    check(st == 200, "/preempt answers 200 (%s %s)" % (st, res))
    want = {"NodeNameToMetaVictims": {"worker-a": {"Pods": [{"UID": "ran-1"}, {"UID": "ran-2"}],
                                                   "NumPDBViolations": 1}}}
    check(res == want, "/preempt keeps worker-a with the two numa1 pods only, drops worker-b "
          "(victims on numa0) and worker-x (no topology): %s" % json.dumps(res))

    # nodeCacheCapable: the meta form, and Go's all-lower-case spelling
    meta = {"worker-a": {"Pods": [{"UID": "ran-1"}, {"UID": "batch-1"}, {"UID": "ran-2"}],
                         "NumPDBViolations": 0},
            "worker-b": {"Pods": [{"UID": "batch-3"}], "NumPDBViolations": 0}}
    st, res = ext.request("/preempt", {"Pod": upf, "NodeNameToVictims": None,
                                       "NodeNameToMetaVictims": meta})
    check(st == 200 and res == {"NodeNameToMetaVictims": {"worker-a": {
        "Pods": [{"UID": "ran-1"}, {"UID": "ran-2"}], "NumPDBViolations": 0}}},
        "/preempt meta form: %s %s" % (st, json.dumps(res)))
    st, res = ext.request("/preempt", {"pod": pod("small", "uid-s", 3, priority=5),
                                       "nodenametometavictims": {"worker-a": {"pods": [
                                           {"uid": "ran-1"}, {"uid": "ran-2"}]}}})
    check(st == 200 and res == {"NodeNameToMetaVictims": {"worker-a": {
        "Pods": [{"UID": "ran-2"}], "NumPDBViolations": 0}}},
        "/preempt lower-case keys, one victim is enough (the lower priority one goes): %s %s"
        % (st, json.dumps(res)))

    # bad input: a clear 400, and the server keeps serving
    for body, what in ((b"{", "malformed JSON"),
                       (json.dumps({"Pod": upf, "NodeNameToMetaVictims": {
                           "worker-a": {"Pods": [{"UID": 5}]}}}).encode(), "UID is missing")):
        st, _, raw = ext.get("/preempt", method="POST", data=body)
        check(st == 400 and what in raw.decode(), "/preempt bad body: 400 %s (%s %s)"
              % (what, st, raw[:200]))
    st, _, raw = ext.get("/preempt")
    check(st == 405, "GET /preempt is 405 (%s)" % st)
    st, _, raw = ext.get("/metrics")
    text = raw.decode()
    check('numafit_extender_preempt_nodes_total{outcome="kept"} 3' in text and
          'numafit_extender_preempt_nodes_total{outcome="dropped"} 3' in text,
          "preempt node counters in /metrics")
    check('numafit_extender_preempt_victims_total{outcome="spared"} 7' in text,
          "preempt victim counters in /metrics")
    check('numafit_extender_requests_total{verb="preempt",code="400"} 2' in text,
          "preempt requests counted by verb")
    check(wait_until(lambda: any('msg="preempt"' in l and "pod=ran/upf-0" in l and "kept=1" in l
                                 for _, l in ext.lines), 5)[0],
          "one info line per /preempt request")


def filter_names(ext, p, names):
    return ext.request("/filter", {"Pod": p, "Nodes": None, "NodeNames": names})


def test_filter_reasons_explain(ext):
    upf = pod("upf-0", "uid-upf", 6, vf=1, priority=1000)
    st, ans = filter_names(ext, upf, ["worker-a", "worker-b", "worker-c", "worker-x"])
    check(st == 200 and ans.get("NodeNames") == [], "/filter: nothing passes (%s %s)" % (st, ans))
    failed, unres = ans.get("FailedNodes", {}), ans.get("FailedAndUnresolvableNodes", {})
    cls = "numafit: no NUMA node has cpu=6 hugepages-1Gi=2Gi %s=1 free" % VF
    # one reason per class: the scheduler's FailedScheduling event folds them into one count
    check(failed == {"worker-a": cls, "worker-b": cls},
          "FailedNodes: one class reason, no per-node numbers: %r" % failed)
    check(unres.get("worker-c") == "numafit: even when empty, no NUMA node could hold cpu=6 "
          "hugepages-1Gi=2Gi %s=1" % VF, "unresolvable class reason: %r" % unres)
    check("no topology" in unres.get("worker-x", ""), "no topology: %r" % unres)

    # the log line is read from the server's stderr by another thread: wait for it to arrive
    wait_until(lambda: any('msg="filter decision"' in l and "pod=ran/upf-0" in l
                           for _, l in ext.lines), 5)
    lines = [l for _, l in ext.lines if 'msg="filter decision"' in l and "pod=ran/upf-0" in l]
    check(len(lines) == 1, "one info line per /filter decision: %r" % lines)
    line = lines[0] if lines else ""
    for part in ("uid=uid-upf", 'shape="cpu=6 memory=1Gi hugepages-1Gi=2Gi %s=1"' % VF, "nodes=4",
                 "passed=0", "failed=2", "unresolvable=2", 'failed_reason="%s"' % cls,
                 "failed_reason_nodes=2", "unresolvable_reason_nodes=1"):
        check(part in line, "decision line has %s: %s" % (part, line.strip()))

    st, ex = ext.request("/v1/explain?pod=ran/upf-0")
    check(st == 200, "/v1/explain answers 200 (%s %s)" % (st, ex))
    ex = ex if isinstance(ex, dict) else {}
    d = ex.get("decision", {})
    check(ex.get("pod") == "ran/upf-0" and ex.get("uid") == "uid-upf" and
          ex.get("shape") == "cpu=6 memory=1Gi hugepages-1Gi=2Gi %s=1" % VF and ex.get("align") == "numa",
          "explain names the pod, its uid, shape and align: %r" % {k: ex.get(k) for k in
                                                                   ("pod", "uid", "shape")})
    check(d.get("nodes") == 4 and d.get("passed") == 0 and d.get("failed", {}).get("nodes") == 2
          and d.get("failed", {}).get("reasons") == [{"reason": cls, "nodes": 2}]
          and d.get("unresolvable", {}).get("nodes") == 2, "explain keeps the decision: %r" % d)
    nodes = {n["node"]: n for n in ex.get("nodes", [])}
    check(list(nodes) == ["worker-a", "worker-b", "worker-c", "worker-x"], "node by node, in "
          "request order: %r" % list(nodes))
    a = nodes.get("worker-a", {})
    check(a.get("status") == "failed" and "closest numa1: cpu 2/6 free" in a.get("reason", ""),
          "worker-a's own numbers (closest numa1, 2 of 6 CPUs): %r" % a)
    c = nodes.get("worker-c", {})
    check(c.get("status") == "unresolvable" and
          "closest numa0: cpu 4/6 allocatable" in c.get("reason", ""), "worker-c: %r" % c)
    check(nodes.get("worker-x", {}).get("status") == "unresolvable", "worker-x: no topology")

    small = pod("small-0", "uid-small", 2)
    st, ans = filter_names(ext, small, ["worker-a"])
    st, ex = ext.request("/v1/explain?pod=ran/small-0")
    check(st == 200 and ex.get("nodes") == [{"node": "worker-a", "status": "fits", "zone": 1}],
          "a pod that fits: the zone kubelet will use: %r" % ex)

    st, ex = ext.request("/v1/explain?pod=ran/never-asked")
    check(st == 404 and "no /filter decision" in str(ex), "unknown pod: 404 (%s %s)" % (st, ex))
    st, ex = ext.request("/v1/explain")
    check(st == 400 and "?pod=" in str(ex), "no pod parameter: 400 (%s %s)" % (st, ex))

    # bounded: the oldest pods are forgotten beyond the last 256
    for i in range(260):
        filter_names(ext, pod("burst-%d" % i, "uid-b%d" % i, 2), ["worker-c"])
    st0, _ = ext.request("/v1/explain?pod=ran/burst-0")
    st1, ex = ext.request("/v1/explain?pod=ran/burst-259")
    check(st0 == 404 and st1 == 200 and ex["decision"]["passed"] == 1,
          "the table keeps the last 256 pods (%s, %s)" % (st0, st1))


def test_shape_metrics(tdir):
    """--shape NAME=REQUESTS: how many more pods of it fit, and what alignment strands."""
    ext = Server([EXTENDER, "--topology-dir", tdir,
                  "--shape", "upf=cpu=6,hugepages-1Gi=2Gi,%s=1" % VF, "--shape", "small=cpu=2"])
    try:
        wait_until(lambda: ext.request("/readyz")[0] == 200, 10)
        st, _, raw = ext.get("/metrics")
        text = raw.decode()
        # upf: no NUMA node has 6 CPUs free; worker-c has 8 free over two NUMA nodes (one pod's
        # worth, stranded by alignment). small: 1 + 1 + 2 + 2
        for want in ('numafit_extender_shape_pods_fit{shape="upf"} 0',
                     'numafit_extender_shape_pods_stranded{shape="upf"} 1',
                     'numafit_extender_shape_pods_fit{shape="small"} 6',
                     'numafit_extender_shape_pods_stranded{shape="small"} 0'):
            check(want in text, "/metrics has %s" % want)
        check("shapes=2" in "".join(l for _, l in ext.lines), "the serving line counts shapes")
    finally:
        check(ext.stop() == 0, "extender with --shape exits 0")
    for args, what in ((["--shape", "upf"], "NAME=REQUESTS"),
                       (["--shape", "upf=cpu=4x"], "shape upf"),
                       (["--shape", "u p=cpu=4"], "only letters"),
                       (["--shape", "upf=cpu=2", "--shape", "upf=cpu=4"], "given twice")):
        p = subprocess.run([EXTENDER, "--topology-dir", tdir] + args, capture_output=True,
                           text=True, timeout=20)
        check(p.returncode == 2 and what in p.stderr,
              "%s: exit 2 naming %r (%s %s)" % (args, what, p.returncode, p.stderr.strip()[:200]))


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-decisions-")
    tdir = os.path.join(tmp, "topologies")
    for doc in NODES:
        write(os.path.join(tdir, doc["node"] + ".json"), json.dumps(doc))
    ext = None
    try:
        ext = Server([EXTENDER, "--topology-dir", tdir, "--log-level", "info"])
        wait_until(lambda: ext.request("/readyz")[0] == 200, 10)
        for t in (test_preempt, test_filter_reasons_explain):
            try:
                t(ext)
            except Exception as e:  # a crash is a failure, with the extender's log
                check(False, "%s raised %r" % (t.__name__, e))
                sys.stdout.write("".join(l for _, l in ext.lines[-40:]))
        test_shape_metrics(tdir)
    finally:
        if ext:
            check(ext.stop() == 0, "extender exits 0 on SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
