#!/usr/bin/env python3
"""e2e_vf_names.py - VF resource names from kubelet's device checkpoint, the SR-IOV config as a
fallback.

A REAL numafit-exporter on the snc2 fixture (real files in a fake sysfs tree) with kubelet's
device checkpoint written as kubelet writes it (kubeletstate.py):
  - no --sriov-config: the VFs the checkpoint's RegisteredDevices lists are named from it
    (resourceSource kubeletCheckpoint), the others stay unnamed, resources count them;
  - with --sriov-config: VFs kubelet lists keep kubelet's name, the others take the config's
    (resourceSource sriovConfig); where both name a VF differently, kubelet wins and errors[]
    says so (one warning, metric 1); rewriting the checkpoint to agree resolves it.
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    check, exporter, kubeletstate, machine, summary, wait_until)

NODE = "worker-vfnames"
POD = "0f6c6a8e-2222-4c3b-9d2a-bbbbbbbbbbbb"
A = "intel.com/pool_a"  # kubelet's name for 0000:18:01.0-3 (the config says intel_sriov_dpdk)
DPDK = "intel.com/intel_sriov_dpdk"
NET = "intel.com/intel_sriov_netdevice"
VFS18 = ["0000:18:01.%d" % i for i in range(4)]
VFSAF = ["0000:af:01.%d" % i for i in range(4)]


def doc_of(ex):
    st, _, body = ex.get("/v1/topology", timeout=10)
    return json.loads(body) if st == 200 else None


def groups(doc, nid):
    return next(n for n in doc["numaNodes"] if n["id"] == nid)["devices"]


def group_of(doc, nid, pci):
    return next(g for g in groups(doc, nid) if any(v["pci"] == pci for v in g["vfs"]))


def resources(doc, nid):
    return next(n for n in doc["numaNodes"] if n["id"] == nid)["resources"]


def checkpoint(kdir, registered, alloc_res):
    kubeletstate.write_atomic(
        os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint"),
        kubeletstate.device_checkpoint([(POD, "dpdk", alloc_res, {0: ["0000:18:01.1"]})],
                                       registered))


def warnings(ex):
    return [l for _, l in ex.lines if 'msg="input problem"' in l and "input=sriovConfig " in l]


def metric(ex):
    body = ex.get("/metrics")[2].decode()
    key = 'numafit_exporter_input_errors{input="sriovConfig"} '
    vals = [l[len(key):].strip() for l in body.splitlines() if l.startswith(key)]
    return vals[0] if vals else None


def test_checkpoint_only(tmp):
    root, kdir, cfg = machine(tmp, NODE, "snc2", "0,32")
    # kubelet registered 18:01.0-3 as pool_a and two of af's VFs as intel_sriov_dpdk
    checkpoint(kdir, {A: VFS18, DPDK: VFSAF[:2]}, A)
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "100ms"], sriov_config=None)
    try:
        d = doc_of(ex)
        g = group_of(d, 0, VFS18[0])
        check(g["resource"] == A and g.get("resourceSource") == "kubeletCheckpoint" and
              len(g["vfs"]) == 4, "numa0: 4 VFs named %s by kubelet's checkpoint: %r" %
              (A, {k: g.get(k) for k in ("resource", "resourceSource")}))
        r = resources(d, 0).get(A)
        check(r is not None and r["capacity"] == 4 and r["available"] == 3,
              "numa0 %s: capacity 4, available 3 (one allocated): %r" % (A, r))
        named = group_of(d, 2, VFSAF[0])
        unnamed = group_of(d, 2, VFSAF[2])
        check(named["resource"] == DPDK and [v["pci"] for v in named["vfs"]] == VFSAF[:2],
              "numa2: the two registered VFs named %s" % DPDK)
        check(unnamed["resource"] is None and "resourceSource" not in unnamed,
              "numa2: VFs kubelet did not register and no config names stay unnamed")
        check(resources(d, 2).get(DPDK, {}).get("capacity") == 2, "numa2: capacity 2")
        check(not any("SR-IOV" in e for e in d["errors"]), "no SR-IOV problem: %r" % d["errors"])
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")
    return root, kdir, cfg


def test_config_fallback_and_disagreement(root, kdir, cfg):
    # kubelet: 18:01.0-3 as pool_a (the config says intel_sriov_dpdk: disagreement), af:01.0-3
    # as intel_sriov_dpdk (agrees); 5e's iavf VFs only in the config (fallback)
    checkpoint(kdir, {A: VFS18, DPDK: VFSAF}, A)
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "100ms"])
    try:
        time.sleep(0.5)  # a few refreshes: still one warning
        d = doc_of(ex)
        g = group_of(d, 0, VFS18[0])
        check(g["resource"] == A and g["resourceSource"] == "kubeletCheckpoint",
              "the checkpoint wins over the config: %r" % g["resource"])
        check(DPDK not in resources(d, 0), "numa0 has no %s: the config's name lost" % DPDK)
        g = group_of(d, 1, "0000:5e:01.0")
        check(g["resource"] == NET and g["resourceSource"] == "sriovConfig",
              "VFs kubelet did not register take the config's name: %r" % g)
        g = group_of(d, 2, VFSAF[0])
        check(g["resource"] == DPDK and g["resourceSource"] == "kubeletCheckpoint",
              "where both agree: kubelet's name, source kubeletCheckpoint")
        errs = [e for e in d["errors"] if "name 4 VFs differently" in e]
        check(len(errs) == 1 and "0000:18:01.0: kubelet registered it as %s, the SR-IOV config "
              "names it %s" % (A, DPDK) in errs[0],
              "errors[] reports the disagreement with an example: %r" % d["errors"])
        w = warnings(ex)
        check(len(w) == 1 and "differently" in w[0], "one warning at start (%d)" % len(w))
        check(metric(ex) == "1", "numafit_exporter_input_errors{input=sriovConfig} 1")
        # kubelet's device plugin restarts with the config's names: resolved
        checkpoint(kdir, {DPDK: VFS18 + VFSAF}, DPDK)
        ok, _ = wait_until(lambda: metric(ex) == "0", 5, 0.05)
        d = doc_of(ex)
        check(ok and not any("differently" in e for e in d["errors"]) and
              group_of(d, 0, VFS18[0])["resource"] == DPDK,
              "an agreeing checkpoint: resolved, numa0 named %s" % DPDK)
        check(any('msg="input problem resolved" input=sriovConfig' in l for _, l in ex.lines),
              "resolved: an info line")
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")


def test_no_checkpoint_config_names(root, kdir, cfg):
    os.unlink(os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint"))
    ex = exporter(root, kdir, cfg, NODE + "-2", ["--poll-interval", "100ms"])
    try:
        d = doc_of(ex)
        g = group_of(d, 0, VFS18[0])
        check(g["resource"] == DPDK and g["resourceSource"] == "sriovConfig",
              "without a checkpoint the config names the VFs: %r" % g.get("resourceSource"))
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-vfnames-")
    try:
        root, kdir, cfg = test_checkpoint_only(tmp)
        test_config_fallback_and_disagreement(root, kdir, cfg)
        test_no_checkpoint_config_names(root, kdir, cfg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
