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
    check(any('msg="preempt"' in l and "pod=ran/upf-0" in l and "kept=1" in l
              for _, l in ext.lines), "one info line per /preempt request")


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-decisions-")
    tdir = os.path.join(tmp, "topologies")
    for doc in NODES:
        write(os.path.join(tdir, doc["node"] + ".json"), json.dumps(doc))
    ext = None
    try:
        ext = Server([EXTENDER, "--topology-dir", tdir, "--log-level", "info"])
        wait_until(lambda: ext.request("/readyz")[0] == 200, 10)
        for t in (test_preempt,):
            try:
                t(ext)
            except Exception as e:  # a crash is a failure, with the extender's log
                check(False, "%s raised %r" % (t.__name__, e))
                sys.stdout.write("".join(l for _, l in ext.lines[-40:]))
    finally:
        if ext:
            check(ext.stop() == 0, "extender exits 0 on SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
