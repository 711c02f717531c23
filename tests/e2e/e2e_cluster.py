#!/usr/bin/env python3
"""e2e_cluster.py - a small numafit cluster on loopback, driven as kube-scheduler drives it.

Four REAL numafit-exporter processes on four fixture machines, each with its own kubelet dir and
KubeletConfiguration, and three REAL numafit-extender processes pulling all of them:
  worker-snc2    snc2: 2 sockets x 2 NUMA nodes (SNC); pod A holds cores 2-5 of numa0 and VF
                 0000:18:01.1; numa2 has only 4 of its 16 1Gi pages free
  worker-single  single: 1 socket, 1 NUMA node, 2Mi hugepages only
  worker-vfs1    vfs-socket1: 2 sockets x 1 NUMA node, DPDK VFs only on socket 1 (numa1)
  worker-full    snc2 where kubelet assigned every CPU but core 1/33 and 6 of the 8 DPDK VFs
  extender A: --align numa   --stale-policy reject   (the default)
  extender B: --align socket
  extender C: --stale-policy ignore
Pods (tests/e2e/pods, from tests/realdata/pods; adaptations in pods/README.md):
  dpdk-base-workload (cpu 16, hugepages-1Gi 8Gi, 2 VFs, Guaranteed), testpmd (hugepages-1Gi 4Gi,
  2 VFs, Burstable), testpmd-sriov-hwoffload (cpu 2, hugepages-1Gi 1Gi, 1 VF, Guaranteed).
Asserts which nodes pass, FailedNodes vs FailedAndUnresolvableNodes and their reasons, the
/prioritize scores and their order, both nodeCacheCapable modes, the answer changing after a
sysfs hugepage change and after a kubelet cpu_manager_state rename (each < 2 s, printed), an
exporter that stops (stale: rejected / passed per --stale-policy), and --align socket passing a
pod that no single NUMA node can hold.
"""
import copy
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    check, exporter, extender, filter_names, filter_nodes, kubeletstate, machine,
    prioritize_names, summary, wait_until, write)

PODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pods")

POD_A = "0f6c6a8e-1111-4c3b-9d2a-aaaaaaaaaaaa"
POD_B = "7d1b2c3e-2222-4f00-8e11-bbbbbbbbbbbb"
POD_X = "a1a1a1a1-3333-4a4a-8b8b-cccccccccccc"
POD_Y = "b2b2b2b2-4444-4c4c-9d9d-dddddddddddd"
DPDK = "intel.com/intel_sriov_dpdk"
NODES = ["worker-snc2", "worker-single", "worker-vfs1", "worker-full"]


def load_pod(name):
    with open(os.path.join(PODS, name + ".json")) as f:
        return json.load(f)


def v1_node(name, cpus, hp1g, vfs):
    """A v1.Node as the API server serializes it (what kube-scheduler puts in Nodes.items)."""
    cap = {"cpu": str(cpus), "memory": "263856000Ki", "pods": "250", "hugepages-1Gi": "%dGi" % hp1g,
           "hugepages-2Mi": "0", DPDK: str(vfs)}
    return {"metadata": {"name": name, "uid": "uid-" + name, "resourceVersion": "4711",
                         "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "node-role.kubernetes.io/worker": ""}},
            "spec": {"podCIDR": "10.244.1.0/24"},
            "status": {"capacity": cap, "allocatable": dict(cap),
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.29.3", "architecture": "amd64"}}}


def fail_reason(ans, node):
    return (ans.get("FailedNodes") or {}).get(node, "") + \
        (ans.get("FailedAndUnresolvableNodes") or {}).get(node, "")


def start(tmp):
    snc2 = machine(tmp, "worker-snc2", "snc2", "0,32", {POD_A: {"dpdk": "2-5,34-37"}},
                   "0-1,6-29,32-33,38-63",
                   [(POD_A, "dpdk", DPDK, {0: ["0000:18:01.1"]})],
                   {DPDK: ["0000:18:01.%d" % i for i in range(4)] +
                    ["0000:af:01.%d" % i for i in range(4)]})
    single = machine(tmp, "worker-single", "single", "0,8")
    vfs1 = machine(tmp, "worker-vfs1", "vfs-socket1", "0,16")
    full = machine(tmp, "worker-full", "snc2", "0,32",
                   {POD_X: {"upf": "2-15,34-47"}, POD_Y: {"du": "16-29,48-63"}}, "0-1,32-33",
                   [(POD_X, "upf", DPDK, {0: ["0000:18:01.0", "0000:18:01.1"]}),
                    (POD_Y, "du", DPDK, {2: ["0000:af:01.%d" % i for i in range(4)]})],
                   {DPDK: ["0000:18:01.%d" % i for i in range(4)] +
                    ["0000:af:01.%d" % i for i in range(4)]})
    # sysfs counters are polled: 200 ms keeps the hugepage change well inside the 2 s bound
    exps = {}
    for node, (root, kdir, cfg) in zip(NODES, (snc2, single, vfs1, full)):
        exps[node] = exporter(root, kdir, cfg, node, ["--poll-interval", "200ms"])
    ext = {
        "A": extender(exps.values()),
        "B": extender(exps.values(), ["--align", "socket"]),
        "C": extender(exps.values(), ["--stale-policy", "ignore"]),
    }
    for k, e in ext.items():
        def cached(e=e):
            st, body = e.request("/v1/nodes")
            return st == 200 and sorted(i["node"] for i in body["items"]) == sorted(NODES)
        ok, dt = wait_until(cached, 10, 0.02)
        check(ok, "extender %s caches all four exporters (%.2fs)" % (k, dt))
    return exps, ext, snc2


def test_filter_names(ext):
    pod = load_pod("dpdk-base-workload")
    names = NODES + ["worker-ghost"]
    st, ans = filter_names(ext["A"], pod, names)
    check(st == 200, "/filter answers 200")
    check(ans.get("NodeNames") == ["worker-vfs1"], "dpdk-base passes only worker-vfs1: %r" % ans)
    check(ans.get("Nodes") is None, "names mode answers NodeNames, not Nodes")
    check(ans.get("Error", "") == "", "no Error")
    failed, unres = ans.get("FailedNodes", {}), ans.get("FailedAndUnresolvableNodes", {})
    # snc2: numa2 would hold it when empty (16 CPUs, 16 1Gi pages, 4 VFs) but only 4 pages are
    # free; numa0 lacks CPUs, numa1 has no DPDK VFs -> current use blocks it: FailedNodes
    check(set(failed) == {"worker-snc2", "worker-full"}, "FailedNodes: %r" % failed)
    check("closest numa2" in failed.get("worker-snc2", "") and
          "hugepages-1Gi 4Gi/8Gi" in failed.get("worker-snc2", ""),
          "snc2 reason names numa2's hugepage shortfall: %r" % failed.get("worker-snc2"))
    # full: every CPU but core 1/33 is assigned: closest numa0 with 2 of 16 CPUs free
    check("closest numa0" in failed.get("worker-full", "") and
          "cpu 2/16" in failed.get("worker-full", ""),
          "full reason names its CPU shortfall: %r" % failed.get("worker-full"))
    # an unknown node: numafit knows nothing of it, preemption there cannot help
    check("no topology" in unres.get("worker-ghost", ""),
          "unknown node is rejected as unresolvable with a reason: %r" % unres.get("worker-ghost"))
    # single: no 1Gi pages at all and 14 allocatable CPUs: even empty it cannot hold the pod
    check(set(unres) == {"worker-single", "worker-ghost"},
          "FailedAndUnresolvableNodes: %r" % unres)
    check("even when empty" in unres.get("worker-single", "") and
          "hugepages-1Gi" in unres.get("worker-single", ""),
          "single's reason says it never fits: %r" % unres.get("worker-single"))
    for n, r in list(failed.items()) + list(unres.items()):
        check(r.startswith("numafit: "), "reason of %s says who rejected it: %r" % (n, r))

    # --stale-policy ignore passes a node numafit knows nothing about, untouched
    st, ans = filter_names(ext["C"], pod, names)
    check(ans.get("NodeNames") == ["worker-vfs1", "worker-ghost"],
          "stale-policy ignore passes the unknown node: %r" % ans.get("NodeNames"))

    # mixed-case keys, as Go's decoder accepts them
    st, ans = ext["A"].request("/filter", {"pod": pod, "nodenames": NODES})
    check(st == 200 and ans.get("NodeNames") == ["worker-vfs1"], "lower-case keys: %r" % ans)

    # a pod that needs nothing aligned passes every node untouched, even unknown ones
    plain = {"metadata": {"name": "nginx", "uid": "u-nginx"},
             "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
    st, ans = filter_names(ext["A"], plain, names)
    check(ans.get("NodeNames") == names and not ans.get("FailedNodes"),
          "a BestEffort pod passes every node: %r" % ans)


def test_filter_nodelist(ext):
    pod = load_pod("testpmd-sriov-hwoffload")
    items = [v1_node("worker-snc2", 64, 32, 8), v1_node("worker-single", 16, 0, 4),
             v1_node("worker-vfs1", 32, 16, 4), v1_node("worker-full", 64, 32, 8)]
    nodelist = {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "4711"},
                "items": items}
    st, ans = filter_nodes(ext["A"], pod, copy.deepcopy(nodelist))
    check(st == 200, "/filter with a NodeList answers 200")
    got = ans.get("Nodes") or {}
    check([i["metadata"]["name"] for i in got.get("items", [])] ==
          ["worker-snc2", "worker-vfs1", "worker-full"],
          "hwoffload testpmd (cpu 2, 1Gi, 1 VF) passes snc2, vfs1 and full (core 1/33): %r"
          % [i["metadata"]["name"] for i in got.get("items", [])])
    check(got.get("items") == [items[0], items[2], items[3]], "Node objects come back unchanged")
    check(got.get("kind") == "NodeList" and got.get("metadata") == nodelist["metadata"],
          "the NodeList around them is kept")
    check(ans.get("NodeNames") is None, "NodeList mode answers Nodes, not NodeNames")
    check(list((ans.get("FailedAndUnresolvableNodes") or {})) == ["worker-single"] and
          not ans.get("FailedNodes"), "single has no 1Gi pages: unresolvable: %r" % ans)


def test_prioritize(ext):
    pod = load_pod("testpmd")
    st, ans = filter_names(ext["A"], pod, NODES)
    check(ans.get("NodeNames") == ["worker-snc2", "worker-vfs1", "worker-full"],
          "testpmd (1Gi 4Gi, 2 VFs, Burstable) passes every node with 1Gi pages: %r" % ans)
    st, pr = prioritize_names(ext["A"], pod, ["worker-snc2", "worker-vfs1", "worker-full"])
    check(st == 200 and isinstance(pr, list), "/prioritize answers a HostPriorityList")
    scores = {h["Host"]: h["Score"] for h in pr} if isinstance(pr, list) else {}
    # most-allocated (score.h): mean share in use after placing, on the zone the fit chose
    #   full numa0: 1Gi (16-12+4)/16 = .5, VFs (4-2+2)/4 = 1   -> 7.5 -> 8
    #   snc2 numa0: 1Gi .5,                VFs (4-3+2)/4 = .75 -> 6.25 -> 6
    #   vfs1 numa1: 1Gi (8-8+4)/8 = .5,    VFs (4-4+2)/4 = .5  -> 5
    check(scores == {"worker-full": 8, "worker-snc2": 6, "worker-vfs1": 5}, "scores %r" % scores)
    order = sorted(scores, key=lambda h: -scores[h])
    check(order == ["worker-full", "worker-snc2", "worker-vfs1"],
          "bin-packing prefers the fullest node: %r" % order)
    print("prioritize testpmd (most-allocated): %s" % ", ".join("%s=%d" % (h, scores[h]) for h in order))
    # a node that does not fit scores 0 (kube-scheduler only asks about passing nodes, but
    # answering about any asked node is allowed)
    st, pr = prioritize_names(ext["A"], pod, ["worker-single"])
    check(pr == [{"Host": "worker-single", "Score": 0}], "a failing node scores 0: %r" % pr)


def test_align_socket(ext):
    pod = load_pod("dpdk-base-workload")
    st, ans = filter_names(ext["B"], pod, NODES)
    # snc2 socket 0 = numa0 + numa1: 6 + 16 free CPUs, 12 + 8 1Gi pages, 3 free VFs on numa0
    check(ans.get("NodeNames") == ["worker-snc2", "worker-vfs1"],
          "--align socket passes snc2 (socket 0), which no NUMA node can hold: %r" % ans)
    check("closest socket" in (ans.get("FailedNodes") or {}).get("worker-full", ""),
          "socket reasons name a socket: %r" % ans.get("FailedNodes"))


def measure_change(ext, pod, change, node, want_pass):
    """Make the change, then ask /filter until `node` passes (or fails); seconds, last answer."""
    def answer():
        st, ans = filter_names(ext, pod, NODES)
        return ans if (node in (ans.get("NodeNames") or [])) == want_pass else None
    t0 = time.monotonic()
    change()
    ans, _ = wait_until(answer, 5, 0.01)
    return time.monotonic() - t0, ans


def test_changes(ext, snc2):
    root, kdir, _ = snc2
    pod = load_pod("dpdk-base-workload")

    def free_pages():  # 12 more 1Gi pages are freed on numa2: it now holds the pod
        write(root + "/sys/devices/system/node/node2/hugepages/hugepages-1048576kB/free_hugepages",
              "16\n")
    dt, ans = measure_change(ext["A"], pod, free_pages, "worker-snc2", True)
    check(ans is not None and ans["NodeNames"] == ["worker-snc2", "worker-vfs1"],
          "after the hugepage change snc2 passes: %r" % ans)
    check(dt < 2.0, "sysfs change reaches /filter in %.0f ms (< 2 s)" % (dt * 1000))
    print("sysfs hugepage change -> /filter answer changed: %.0f ms" % (dt * 1000))

    def assign_cpus():  # kubelet pins pod B on 2 cores of numa2 (temp file + rename)
        kubeletstate.write_atomic(os.path.join(kdir, "cpu_manager_state"),
                                  kubeletstate.cpu_manager_state(
                                      {POD_A: {"dpdk": "2-5,34-37"}, POD_B: {"cu": "16-17,48-49"}},
                                      "0-1,6-15,18-29,32-33,38-47,50-63"))
    dt, ans = measure_change(ext["A"], pod, assign_cpus, "worker-snc2", False)
    reason = (ans or {}).get("FailedNodes", {}).get("worker-snc2", "")
    check(ans is not None and "closest numa2: cpu 12/16" in reason,
          "after kubelet pins pod B, snc2 fails on numa2's CPUs: %r" % reason)
    check(dt < 2.0, "kubelet state change reaches /filter in %.0f ms (< 2 s)" % (dt * 1000))
    print("kubelet cpu_manager_state rename -> /filter answer changed: %.0f ms" % (dt * 1000))


def test_stale(exps, ext):
    pod = load_pod("dpdk-base-workload")
    check(exps["worker-vfs1"].stop() == 0, "exporter of worker-vfs1 stops cleanly")

    def rejected():
        st, ans = filter_names(ext["A"], pod, NODES)
        # no usable topology: unresolvable, so kube-scheduler never preempts there
        return ans if "stale" in (ans.get("FailedAndUnresolvableNodes") or {}).get("worker-vfs1", "") \
            else None
    ans, dt = wait_until(rejected, 5, 0.02)
    check(ans is not None, "--stale-policy reject: worker-vfs1 fails as stale")
    if ans:
        check("worker-vfs1" not in ans["NodeNames"], "a stale node is not passed")
        print("exporter stopped -> node reported stale after %.0f ms: %s"
              % (dt * 1000, ans["FailedAndUnresolvableNodes"]["worker-vfs1"]))
        check("worker-vfs1" not in (ans.get("FailedNodes") or {}),
              "a stale node is not in FailedNodes (preemption cannot help): %r" % ans)
    st, node = ext["A"].request("/v1/nodes/worker-vfs1")
    check(st == 200 and node["cache"]["stale"] is True and node["node"] == "worker-vfs1",
          "the stale document is kept and marked in /v1/nodes/worker-vfs1")

    # extender C (--stale-policy ignore) passes vfs1 fresh or stale: first see it stale there
    def stale_in_c():
        st, node = ext["C"].request("/v1/nodes/worker-vfs1")
        return st == 200 and node["cache"]["stale"] is True
    check(wait_until(stale_in_c, 5, 0.02)[0], "extender C marks worker-vfs1 stale too")
    st, ans = filter_names(ext["C"], pod, NODES)
    check("worker-vfs1" in (ans.get("NodeNames") or []) and
          not (ans.get("FailedNodes") or {}).get("worker-vfs1"),
          "--stale-policy ignore: the stale node passes: %r" % ans)
    st, pr = prioritize_names(ext["C"], pod, ["worker-vfs1"])
    check(pr == [{"Host": "worker-vfs1", "Score": 0}], "a stale node passed untouched scores 0: %r" % pr)


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-cluster-")
    exps, ext = {}, {}
    t0 = time.monotonic()
    try:
        exps, ext, snc2 = start(tmp)
        test_filter_names(ext)
        test_filter_nodelist(ext)
        test_prioritize(ext)
        test_align_socket(ext)
        test_changes(ext, snc2)
        test_stale(exps, ext)
    finally:
        for s in list(ext.values()) + list(exps.values()):
            rc = s.stop()
            check(rc == 0, "%s exits 0 on SIGTERM (%r)" % (s.name, rc))
        shutil.rmtree(tmp, ignore_errors=True)
    print("wall time %.1f s" % (time.monotonic() - t0))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
