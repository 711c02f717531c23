#!/usr/bin/env python3
"""e2e_nrt_source.py - numafit-extender --nrt: NodeResourceTopology objects from a FAKE
kube-apiserver (tests/fakes/fake_apiserver.py, list + watch) as the cache's source.

  - objects listed at start become nodes: one made by a real numafit-exporter (`nrt FILE` of its
    document), one written as NFD's topology-updater writes them (policies by name, no
    attributes); /v1/nodes/{name} carries their per-NUMA numbers
  - /filter decides on them; a MODIFIED object (less free CPU) changes the answer, a DELETED one
    drops the node, a new one (ADDED after the server ended the watch) appears
  - they do not age with --stale-after (the watch keeps them current)
  - an object that does not convert is logged and not cached; usage errors
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fakes"))
from fake_apiserver import FakeApiServer  # noqa: E402
from nftest import (EXPORTER, EXTENDER, Server, check, exporter_args, kubeconfig, machine,  # noqa: E402
                    summary, wait_until, write)

TOKEN = "t-extender"
API = "topology.node.k8s.io/v1alpha2"


def nfd_object(name, cpu0="8", gen=None):
    """As NFD's topology-updater writes one: topologyPolicies only, two NUMA zones."""
    def res(n, cap, alloc, avail):
        return {"name": n, "capacity": cap, "allocatable": alloc, "available": avail}
    return {"apiVersion": API, "kind": "NodeResourceTopology", "metadata": {"name": name},
            "topologyPolicies": ["SingleNUMANodePodLevel"],
            "zones": [
                {"name": "node-0", "type": "Node",
                 "costs": [{"name": "node-0", "value": 10}, {"name": "node-1", "value": 21}],
                 "resources": [res("cpu", "16", "16", cpu0), res("memory", "64Gi", "64Gi", "60Gi"),
                               res("hugepages-1Gi", "8Gi", "8Gi", "8Gi")]},
                {"name": "node-1", "type": "Node",
                 "costs": [{"name": "node-0", "value": 21}, {"name": "node-1", "value": 10}],
                 "resources": [res("cpu", "16", "16", "2"), res("memory", "64Gi", "64Gi", "60Gi"),
                               res("hugepages-1Gi", "8Gi", "8Gi", "8Gi")]}]}


def pod(cpu="4"):
    res = {"cpu": cpu, "memory": "1Gi", "hugepages-1Gi": "2Gi"}
    return {"metadata": {"name": "dpdk-0", "namespace": "ran", "uid": "u-0"},
            "spec": {"containers": [{"name": "dpdk", "resources": {"requests": res, "limits": res}}]}}


def filt(ext, names):
    st, r = ext.request("/filter", {"Pod": pod(), "Nodes": None, "NodeNames": names})
    return r if st == 200 else {}


def main():
    tmp = tempfile.mkdtemp(prefix="nf-nrt-src-")
    api = FakeApiServer(tokens=[TOKEN]).start()
    kcfg = os.path.join(tmp, "kubeconfig")
    kubeconfig(kcfg, api.url, TOKEN)
    ext = None
    try:
        # an object made by numafit-exporter from a fake machine's document
        root, kdir, cfg = machine(tmp, "w-numafit", "snc2", "0,32")
        doc = subprocess.run([EXPORTER, "--once"] + exporter_args(root, kdir, cfg, "w-numafit"),
                             capture_output=True, text=True, check=True, timeout=60).stdout
        write(os.path.join(tmp, "doc.json"), doc)
        nrt = json.loads(subprocess.run([EXPORTER, "nrt", os.path.join(tmp, "doc.json")],
                                        capture_output=True, text=True, check=True).stdout)
        api.put_nrt(nrt)
        api.put_nrt(nfd_object("w-nfd"))

        ext = Server([EXTENDER, "--nrt", "--kubeconfig", kcfg, "--stale-after", "1s",
                      "--listen", "127.0.0.1:0"], name="extender")
        ok, _ = wait_until(lambda: ext.get("/v1/nodes/w-nfd")[0] == 200 and
                           ext.get("/v1/nodes/w-numafit")[0] == 200, 15)
        check(ok, "both listed objects are nodes of the cache")
        d = json.loads(ext.get("/v1/nodes/w-nfd")[2])
        check([n["id"] for n in d["numaNodes"]] == [0, 1], "NUMA nodes from the zones")
        check(d["numaNodes"][0]["resources"]["cpu"]["available"] == 8 and
              d["numaNodes"][0]["resources"]["hugepages-1Gi"]["available"] == 8 << 30,
              "their numbers: %r" % d["numaNodes"][0]["resources"])
        check(d["numaNodes"][0]["distances"] == [10, 21], "distances from the costs")
        check(d["kubelet"]["topologyManagerPolicy"] == "single-numa-node" and
              d["kubelet"]["topologyManagerScope"] == "pod", "policy from NFD's topologyPolicies")
        w = json.loads(ext.get("/v1/nodes/w-numafit")[2])
        want = json.loads(doc)
        check([{k: v for k, v in n["resources"].items()} for n in w["numaNodes"]] ==
              [{k: {f: v[f] for f in ("capacity", "allocatable", "available")} for k, v in
                n["resources"].items() if None not in (v["capacity"], v["allocatable"], v["available"])}
               for n in want["numaNodes"]],
              "numafit's object gives back its document's numbers")

        r = filt(ext, ["w-nfd", "w-numafit"])
        check(sorted(r.get("NodeNames") or []) == ["w-nfd", "w-numafit"],
              "a DPDK pod fits both: %r" % r)

        # MODIFIED: node-0 of w-nfd keeps 2 free CPUs, node-1 had 2: the pod no longer fits
        api.put_nrt(nfd_object("w-nfd", cpu0="2"))
        ok, _ = wait_until(lambda: "w-nfd" in (filt(ext, ["w-nfd"]).get("FailedNodes") or {}), 10)
        check(ok, "a modified object changes the answer: %r" % filt(ext, ["w-nfd"]))

        # no aging: more than --stale-after later the node is still used (not "stale")
        import time
        time.sleep(1.5)
        r = filt(ext, ["w-numafit"])
        check(r.get("NodeNames") == ["w-numafit"], "no staleness without news: %r" % r)

        # DELETED drops the node
        api.delete_nrt("w-numafit")
        ok, _ = wait_until(lambda: ext.get("/v1/nodes/w-numafit")[0] == 404, 10)
        check(ok, "a deleted object drops its node")

        # the server ends the watch; an object added then arrives through the resumed watch
        api.end_watches()
        api.put_nrt(nfd_object("w-new"))
        ok, _ = wait_until(lambda: ext.get("/v1/nodes/w-new")[0] == 200, 15)
        check(ok, "a watch the server ended is resumed")

        # an object that does not convert: logged, not cached
        bad = nfd_object("w-bad")
        bad["zones"] = "node-0"
        api.put_nrt(bad)
        ok, _ = wait_until(lambda: any("NodeResourceTopology not used" in l and "w-bad" in l
                                       for _, l in ext.lines), 10)
        check(ok, "a bad object is logged")
        check(ext.get("/v1/nodes/w-bad")[0] == 404, "and not cached")
        check(ext.stop() == 0, "the extender stops cleanly (ASan clean)")
        ext = None

        p = subprocess.run([EXTENDER, "--nrt", "--kubeconfig", "none"], capture_output=True,
                           text=True, timeout=30)
        check(p.returncode == 2, "--nrt with --kubeconfig none: usage error")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        p = subprocess.run([EXTENDER, "--nrt", "--listen", "127.0.0.1:0"], capture_output=True,
                           text=True, timeout=30, env=env)
        check(p.returncode == 2 and "--kubeconfig" in p.stderr,
              "--nrt outside a cluster without --kubeconfig: usage error: %r" % p.stderr[-200:])
    finally:
        if ext:
            ext.stop()
        api.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
