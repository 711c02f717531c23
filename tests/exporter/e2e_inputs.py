#!/usr/bin/env python3
"""e2e_inputs.py - the exporter's inputs lost, stalled, garbled and misconfigured, for real.

A REAL numafit-exporter on the snc2 fixture (real files in a fake sysfs tree, a kubelet dir with
kubelet's own checkpoint formats), edited the way operators and kubelet edit them:
  - lost inputs: the kubelet config deleted, truncated then written (an editor's save),
    cpu_manager_state deleted, deleted and rewritten corrupt, the device checkpoint deleted:
    the last good view holds through --kubelet-grace, then the numbers are null with a reason;
    a sampler watches every published document in between and fails on any "all free" or
    default number; a REAL numafit-extender pulling the exporter then rejects the node with the
    exporter's reason;
  - a FIFO at cpu_manager_state: refused, the loop keeps running, a long-poll with timeout=3s
    answers, /healthz stays 200, SIGTERM stops it; a stalled refresh (NUMAFIT_TEST_STALL_FILE)
    turns /healthz into 503 with the reason;
  - a sysfs counter with an embedded NUL ("1\\0002") is an error, not 1; GET /%ff is a 404;
  - two exporters (and two extenders) on one --listen: the second exits 1 naming the address;
  - misconfigurations (--kubelet-dir missing, a config that does not parse, static CPU / Memory
    Manager without their state files, an SR-IOV config kubelet registered none of): one
    warning each at start and on change, an errors[] entry, numafit_exporter_input_errors.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    EXPORTER, EXTENDER, check, exporter, exporter_args, extender, filter_names, kubelet_config,
    kubeletstate, machine, summary, terminate, wait_until, write)

POD_A = "0f6c6a8e-1111-4c3b-9d2a-aaaaaaaaaaaa"
NODE = "worker-inputs"
DPDK = "intel.com/intel_sriov_dpdk"
VFS0 = ["0000:18:01.0", "0000:18:01.1", "0000:18:01.2", "0000:18:01.3"]
CPU_ENTRIES = {POD_A: {"dpdk": "2-5,34-37"}}
CPU_DEFAULT = "0-1,6-29,32-33,38-63"
PODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "pods")
GRACE = 2.0


def numa(doc, nid):
    return next(n for n in doc["numaNodes"] if n["id"] == nid)


def res(doc, nid, name):
    return numa(doc, nid)["resources"].get(name)


def doc_of(ex):
    st, _, body = ex.get("/v1/topology", timeout=10)
    return json.loads(body) if st == 200 else None


def wait_doc(ex, pred, timeout, what):
    """The first document for which pred holds, within timeout (a failed check otherwise)."""
    def probe():
        d = doc_of(ex)
        return d if d and pred(d) else None
    d, dt = wait_until(probe, timeout, 0.05)
    check(d is not None, "%s (within %.1fs)" % (what, timeout))
    return d, dt


def cpu_state_text():
    return kubeletstate.cpu_manager_state(CPU_ENTRIES, CPU_DEFAULT)


def dev_text(registered=None):
    return kubeletstate.device_checkpoint([(POD_A, "dpdk", DPDK, {0: ["0000:18:01.1"]})],
                                          registered or {DPDK: VFS0})


class Sampler(threading.Thread):
    """Reads every document while files are edited; remembers anything that looks all-free or
    defaulted: numa0 cpu allocatable 16 (reserved counted) or available 14 (assigned counted),
    policy none / allocatable 0 (kubelet's defaults), 4 free DPDK VFs on numa0."""

    def __init__(self, ex):
        super().__init__(daemon=True)
        self.ex, self.bad, self.n, self.stop_ = ex, [], 0, False

    def run(self):
        while not self.stop_:
            d = doc_of(self.ex)
            if d:
                self.n += 1
                cpu = res(d, 0, "cpu") or {}
                vfs = res(d, 0, DPDK) or {}
                if cpu.get("allocatable") in (16, 0) or cpu.get("available") == 14 or \
                        d["kubelet"]["cpuManagerPolicy"] == "none" or vfs.get("available") == 4:
                    self.bad.append((cpu, vfs, d["kubelet"]["cpuManagerPolicy"]))
            time.sleep(0.02)


def test_lost_inputs(tmp):
    root, kdir, cfg = machine(tmp, NODE, "snc2", "0,32", CPU_ENTRIES, CPU_DEFAULT,
                              [(POD_A, "dpdk", DPDK, {0: ["0000:18:01.1"]})], {DPDK: VFS0})
    cfg_text = open(cfg).read()
    cpu_path = os.path.join(kdir, "cpu_manager_state")
    dev_path = os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint")
    ex = exporter(root, kdir, cfg, NODE, ["--kubelet-grace", "%gs" % GRACE,
                                          "--poll-interval", "200ms"])
    ext = extender([ex])
    with open(os.path.join(PODS, "testpmd-sriov-hwoffload.json")) as f:
        pod = json.load(f)  # cpu 2, hugepages-1Gi 1Gi, 1 VF, Guaranteed
    sampler = Sampler(ex)
    try:
        d = doc_of(ex)
        check(res(d, 0, "cpu") == {"capacity": 16, "allocatable": 14, "available": 6},
              "baseline numa0 cpu %r" % res(d, 0, "cpu"))
        check(res(d, 0, DPDK)["available"] == 3, "baseline numa0 VFs")
        ok, _ = wait_until(lambda: NODE in (filter_names(ext, pod, [NODE])[1].get("NodeNames")
                                            or []), 10, 0.05)
        check(ok, "the extender passes the node while every input is known")
        sampler.start()

        # 1. the kubelet config deleted: kept through the grace period, then unknown
        t0 = time.monotonic()
        os.remove(cfg)
        d, _ = wait_doc(ex, lambda d: "keeping the last good view" in
                        (d["kubelet"].get("configError") or ""), 2, "config loss is marked")
        check(res(d, 0, "cpu")["allocatable"] == 14 and d["kubelet"]["reservedCpus"] == "0,32",
              "within the grace period the reserved CPUs stay reserved: %r" % res(d, 0, "cpu"))
        check("since 20" in d["kubelet"]["configError"] and "read at 20" in
              d["kubelet"]["configError"], "the mark says when: %r" % d["kubelet"]["configError"])
        d, _ = wait_doc(ex, lambda d: res(d, 0, "cpu")["allocatable"] is None, GRACE + 3,
                        "cpu allocatable unknown after the grace period")
        dt = time.monotonic() - t0
        check(GRACE - 0.3 <= dt <= GRACE + 2, "unknown after %.2fs (grace %gs)" % (dt, GRACE))
        cpu = res(d, 0, "cpu")
        check(cpu["available"] is None and cpu["capacity"] == 16 and
              "kubelet config lost" in cpu.get("error", ""), "cpu null + reason: %r" % cpu)
        check(numa(d, 0)["cpus"]["allocatable"] is None and numa(d, 0)["cpus"]["free"] is None and
              numa(d, 0)["cpus"]["freeFullCores"] is None, "cpu lists are null too")
        check(d["kubelet"]["reservedCpus"] is None and
              d["kubelet"]["reservedCpusSource"].startswith("unknown: "), "reserved CPUs unknown")
        hp = res(d, 0, "hugepages-1Gi")
        check(hp["allocatable"] is None and hp["available"] is None and hp["capacity"] == 16 << 30,
              "hugepages (reservedMemory) unknown too: %r" % hp)
        check(res(d, 0, DPDK)["available"] == 3, "devices do not depend on the config")

        def rejected():
            st, ans = filter_names(ext, pod, [NODE])
            return (ans.get("FailedAndUnresolvableNodes") or {}).get(NODE) if st == 200 else None
        why, _ = wait_until(rejected, 10, 0.05)
        check(why and "unknown to the node's exporter" in why and "kubelet config lost" in why,
              "the extender rejects the node with the exporter's reason: %r" % why)

        kubeletstate.write_atomic(cfg, cfg_text)
        wait_doc(ex, lambda d: res(d, 0, "cpu") == {"capacity": 16, "allocatable": 14,
                                                    "available": 6}, 3, "config back: known")
        ok, _ = wait_until(lambda: NODE in (filter_names(ext, pod, [NODE])[1].get("NodeNames")
                                            or []), 10, 0.05)
        check(ok, "the extender passes the node again")

        # 2. an editor's save: truncate, then write. Never kubelet's defaults (policy none).
        with open(cfg, "w"):
            pass
        d, _ = wait_doc(ex, lambda d: "empty file" in (d["kubelet"].get("configError") or ""), 2,
                        "a truncated config is an error")
        check(d["kubelet"]["cpuManagerPolicy"] == "static" and
              res(d, 0, "cpu")["allocatable"] == 14, "the last good config stays in use")
        time.sleep(0.3)
        with open(cfg, "w") as f:
            f.write(cfg_text)
        wait_doc(ex, lambda d: "configError" not in d["kubelet"], 2, "the saved config is used")

        # 3. cpu_manager_state deleted: 6 available stays 6, then unknown (never 14)
        os.remove(cpu_path)
        d, _ = wait_doc(ex, lambda d: "keeping the last good view" in
                        d["kubelet"]["stateFiles"]["cpuManager"], 2, "cpu state loss is marked")
        check(res(d, 0, "cpu")["available"] == 6, "assigned CPUs stay assigned in the grace period")
        d, _ = wait_doc(ex, lambda d: res(d, 0, "cpu")["available"] is None, GRACE + 3,
                        "cpu available unknown after the grace period")
        cpu = res(d, 0, "cpu")
        check(cpu["allocatable"] == 14 and "cpu_manager_state lost" in cpu.get("error", ""),
              "allocatable known, available null + reason: %r" % cpu)
        check(numa(d, 0)["cpus"]["allocated"] is None and numa(d, 0)["pods"][0]["cpus"] == "",
              "no assignments are invented")
        # ... and rewritten corrupt before it came back: still unknown, never "free"
        write(cpu_path, '{"policyName":"static","defaultCpuSet":"0-')
        wait_doc(ex, lambda d: "invalid JSON" in d["kubelet"]["stateFiles"]["cpuManager"], 2,
                 "a corrupt rewrite is reported")
        check(res(doc_of(ex), 0, "cpu")["available"] is None, "still unknown")
        kubeletstate.write_atomic(cpu_path, cpu_state_text())
        wait_doc(ex, lambda d: res(d, 0, "cpu")["available"] == 6, 2, "cpu state back: 6")
        # deleted and rewritten corrupt inside the grace period: the last good view holds
        os.remove(cpu_path)
        time.sleep(0.3)
        write(cpu_path, '{"policyName":"static"')
        d, _ = wait_doc(ex, lambda d: "invalid JSON" in d["kubelet"]["stateFiles"]["cpuManager"],
                        2, "deleted + corrupt rewrite is reported")
        check(res(d, 0, "cpu")["available"] == 6 and "keeping the last good view" in
              d["kubelet"]["stateFiles"]["cpuManager"], "and the last good view is kept")
        kubeletstate.write_atomic(cpu_path, cpu_state_text())
        wait_doc(ex, lambda d: d["kubelet"]["stateFiles"]["cpuManager"] == "ok", 2, "ok again")

        # 4. the device checkpoint deleted: 3 VFs stay 3, then unknown (never 4)
        os.remove(dev_path)
        d, _ = wait_doc(ex, lambda d: "keeping the last good view" in
                        d["kubelet"]["stateFiles"]["devicePlugins"], 2, "checkpoint loss marked")
        check(res(d, 0, DPDK)["available"] == 3, "allocated VF stays allocated in the grace period")
        d, _ = wait_doc(ex, lambda d: res(d, 0, DPDK)["available"] is None, GRACE + 3,
                        "VFs available unknown after the grace period")
        vfs = {v["pci"]: v for g in numa(d, 0)["devices"] for v in g["vfs"]}
        check(vfs["0000:18:01.1"]["allocated"] is None and vfs["0000:18:01.0"]["allocated"] is None,
              "VF allocation is null, not false")
        check("device checkpoint lost" in res(d, 0, DPDK).get("error", ""), "with the reason")
        kubeletstate.write_atomic(dev_path, dev_text())
        wait_doc(ex, lambda d: res(d, 0, DPDK)["available"] == 3, 2, "checkpoint back: 3 VFs")
    finally:
        sampler.stop_ = True
        if sampler.is_alive():
            sampler.join(5)
        check(ext.stop() == 0, "extender SIGTERM -> exit 0")
        check(ex.stop() == 0, "exporter SIGTERM -> exit 0")
    check(sampler.n > 50 and not sampler.bad,
          "no published document ever looked all-free or defaulted (%d read): %r"
          % (sampler.n, sampler.bad[:3]))
    return root, kdir, cfg


def test_fifo_and_stall(tmp, root, kdir, cfg):
    cpu_path = os.path.join(kdir, "cpu_manager_state")
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "200ms"])
    try:
        os.remove(cpu_path)
        os.mkfifo(cpu_path)
        d, _ = wait_doc(ex, lambda d: "is a FIFO, not a regular file" in
                        d["kubelet"]["stateFiles"]["cpuManager"], 3, "a FIFO is refused")
        check(res(d, 0, "cpu")["available"] == 6, "the last good view is kept meanwhile")
        gen = d["generation"]
        t0 = time.monotonic()
        st, _, body = ex.get("/v1/topology?waitForGeneration=%d&timeout=3s" % (gen + 1),
                             timeout=15)
        dt = time.monotonic() - t0
        check(st == 200 and 2.5 < dt < 6, "long-poll with timeout=3s answers (%.2fs)" % dt)
        check(ex.get("/healthz")[0] == 200, "/healthz 200: the loop is not stuck")
        # the loop still refreshes: a sysfs counter change is published
        hp = root + "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/free_hugepages"
        old = open(hp).read()
        write(hp, "5\n")
        wait_doc(ex, lambda d: numa(d, 1)["hugepages"]["hugepages-1Gi"]["free"] == 5, 3,
                 "sysfs changes are still published")
        write(hp, old)
        t0 = time.monotonic()
        rc = ex.stop()
        check(rc == 0 and time.monotonic() - t0 < 5, "SIGTERM -> exit 0 with a FIFO in place")
    finally:
        ex.stop()
        os.remove(cpu_path)
        kubeletstate.write_atomic(cpu_path, cpu_state_text())

    # a refresh that never returns (a hung filesystem, simulated by the test hook)
    stall = os.path.join(tmp, "stall")
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "200ms"],
                  env={"NUMAFIT_TEST_STALL_FILE": stall})
    try:
        check(any("test hook" in l for _, l in ex.lines), "the test hook is logged")
        check(ex.get("/healthz")[0] == 200, "/healthz 200 before the stall")
        write(stall, "")
        t0 = time.monotonic()

        def unhealthy():
            st, _, body = ex.get("/healthz", timeout=5)
            return body.decode() if st == 503 else None
        why, _ = wait_until(unhealthy, 20, 0.2)
        dt = time.monotonic() - t0
        check(why and "stuck" in why and "refreshing the topology" in why,
              "/healthz 503 with the reason: %r" % why)
        check(why and 9.5 < dt < 14, "after the 10 s bound (%.1fs)" % dt)
        # the server keeps long-poll deadlines itself: timeout=2s holds while the loop is stuck
        gen = json.loads(ex.get("/v1/topology")[2])["generation"]
        t0 = time.monotonic()
        st, _, _ = ex.get("/v1/topology?waitForGeneration=%d&timeout=2s" % (gen + 1), timeout=15)
        dt = time.monotonic() - t0
        check(st == 200 and 1.5 < dt < 4, "long-poll timeout=2s answers during the stall (%.2fs)"
              % dt)
        os.remove(stall)
        ok, _ = wait_until(lambda: ex.get("/healthz", timeout=5)[0] == 200, 5, 0.1)
        check(ok, "/healthz 200 again once the loop moves")
        # SIGTERM while the loop is stuck is not ignored: exit 1 after 5 s, saying why
        write(stall, "")
        time.sleep(1)  # a 200 ms poll is due: the loop is in the stalled refresh now
        t0 = time.monotonic()
        rc = ex.stop()
        dt = time.monotonic() - t0
        check(rc == 1 and 4.5 < dt < 9, "SIGTERM with a stuck loop -> exit 1 (%r after %.1fs)"
              % (rc, dt))
        check(any("the refresh loop is stuck" in l for _, l in ex.lines), "and it says why")
    finally:
        if os.path.exists(stall):
            os.remove(stall)
        ex.stop()


def test_nul_and_bad_path(root, kdir, cfg):
    free = root + "/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages"
    old = open(free, "rb").read()
    with open(free, "wb") as f:
        f.write(b"1\x002\n")
    ex = exporter(root, kdir, cfg, NODE)
    try:
        d = doc_of(ex)
        h = numa(d, 0)["hugepages"]["hugepages-1Gi"]
        check(h["free"] is None and "NUL" in (h.get("error") or ""),
              "a counter with a NUL byte is an error, not 1: %r" % h)
        check(res(d, 0, "hugepages-1Gi") is None, "and no hugepage number is derived from it")
        st, hdr, body = ex.get("/%ff")
        err = json.loads(body)
        check(st == 404 and hdr.get("Content-Type") == "application/json" and
              "no such path: /%FF" in err.get("error", ""), "GET /%%ff -> 404 JSON: %r" % body)
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")
        with open(free, "wb") as f:
            f.write(old)


def test_port_clash(root, kdir, cfg):
    ex = exporter(root, kdir, cfg, NODE)
    ext = extender([ex])
    try:
        for prog, args, port in ((EXPORTER, exporter_args(root, kdir, cfg, NODE), ex.port),
                                 (EXTENDER, ["--exporter", ex.url()], ext.port)):
            addr = "127.0.0.1:%d" % port
            r = subprocess.run([prog] + args + ["--listen", addr], capture_output=True, text=True,
                               timeout=30)
            name = os.path.basename(prog)
            check(r.returncode == 1, "%s on a taken address exits 1 (got %s)" % (name, r.returncode))
            check(addr in r.stderr and "Address already in use" in r.stderr,
                  "%s names the address: %r" % (name, r.stderr[-300:]))
            check("serving" not in r.stderr, "%s never says serving" % name)
        check(ex.get("/healthz")[0] == 200 and ext.get("/healthz")[0] == 200,
              "the first instances still serve")
    finally:
        check(ext.stop() == 0 and ex.stop() == 0, "SIGTERM -> exit 0")


def warnings(ex, inp):
    return [l for _, l in ex.lines if 'msg="input problem"' in l and "input=%s " % inp in l]


def metric(ex, inp):
    body = ex.get("/metrics")[2].decode()
    key = 'numafit_exporter_input_errors{input="%s"} ' % inp
    vals = [l[len(key):] for l in body.splitlines() if l.startswith(key)]
    return vals[0].strip() if vals else None


def test_misconfig(tmp, root):
    # static CPU and Memory Managers without their state files; an SR-IOV config kubelet
    # registered none of (the device plugin runs another config)
    kdir = os.path.join(tmp, "mis-kubelet")
    cfg = os.path.join(tmp, "mis-kubelet.yaml")
    write(cfg, kubelet_config("0,32") + "memoryManagerPolicy: Static\n")
    kubeletstate.write_atomic(os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint"),
                              dev_text({"example.com/other_pool": ["0000:18:02.0"]}))
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "100ms"])
    try:
        time.sleep(1)  # ten refreshes
        d = doc_of(ex)
        for inp, words in (("cpuManagerState", "cpuManagerPolicy is static but"),
                           ("memoryManagerState", "memoryManagerPolicy is Static but"),
                           ("sriovConfig", "kubelet registered none of them")):
            w = warnings(ex, inp)
            check(len(w) == 1 and words in w[0] and "level=warn" in w[0],
                  "%s: one warning at start, not one per refresh (%d)" % (inp, len(w)))
            check(any(words in e for e in d["errors"]), "%s: in errors[]" % inp)
            check(metric(ex, inp) == "1", "%s: numafit_exporter_input_errors 1" % inp)
        check(metric(ex, "kubeletDir") == "0" and metric(ex, "kubeletConfig") == "0",
              "inputs without a problem are 0")
        # on change: kubelet writes its CPU state -> resolved; it breaks -> warned again
        cpu_path = os.path.join(kdir, "cpu_manager_state")
        kubeletstate.write_atomic(cpu_path, cpu_state_text())
        ok, _ = wait_until(lambda: metric(ex, "cpuManagerState") == "0", 3, 0.05)
        check(ok and any('msg="input problem resolved" input=cpuManagerState' in l
                         for _, l in ex.lines), "resolved: metric 0 and an info line")
        write(cpu_path, "{")
        ok, _ = wait_until(lambda: len(warnings(ex, "cpuManagerState")) == 2, 3, 0.05)
        check(ok and "invalid JSON" in warnings(ex, "cpuManagerState")[-1],
              "a new problem is warned again")
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")

    # --kubelet-dir that does not exist, a config that does not parse
    bad = os.path.join(tmp, "bad-kubelet.yaml")
    write(bad, "cpuManagerPolicy: [\n")
    ex = exporter(root, "/nonexistent/kubelet", bad, NODE, ["--poll-interval", "100ms"])
    try:
        time.sleep(0.6)
        d = doc_of(ex)
        for inp, words in (("kubeletDir", "--kubelet-dir /nonexistent/kubelet is not a directory"),
                           ("kubeletConfig", "kubelet config error: ")):
            w = warnings(ex, inp)
            check(len(w) == 1 and words in w[0], "%s: one warning (%d)" % (inp, len(w)))
            check(any(words in e for e in d["errors"]), "%s: in errors[]" % inp)
            check(metric(ex, inp) == "1", "%s: metric 1" % inp)
        cpu = res(d, 0, "cpu")
        check(cpu["allocatable"] is None and d["kubelet"]["cpuManagerPolicy"] is None,
              "a config that never parsed gives unknown numbers, not defaults: %r" % cpu)
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")


def test_grace_usage():
    for bad in ("0s", "soon"):
        r = subprocess.run([EXPORTER, "--once", "--kubelet-grace", bad], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 2 and "--kubelet-grace" in r.stderr,
              "--kubelet-grace %s -> exit 2 naming the flag: %r" % (bad, r.stderr[-200:]))
    r = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True, timeout=30)
    check("--kubelet-grace DUR" in r.stdout, "--help lists --kubelet-grace")


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-inputs-")
    try:
        root, kdir, cfg = test_lost_inputs(tmp)
        test_fifo_and_stall(tmp, root, kdir, cfg)
        test_nul_and_bad_path(root, kdir, cfg)
        test_port_clash(root, kdir, cfg)
        test_misconfig(tmp, root)
        test_grace_usage()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
