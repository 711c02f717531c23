#!/usr/bin/env python3
"""e2e_probe.py - the embedded DPDK probe's results reach a RUNNING exporter's /v1/topology.

This machine has no IOMMU and no VFs, so the fixture's VFs cannot be opened by DPDK. The
exporter's test hook NUMAFIT_TEST_PROBE_VDEV_MAP (exporter/probe/include/prober.h) makes the prober
open a DPDK virtual device in place of a listed VF; everything else is the real daemon: the
real prober thread, a real forked EAL per run, results annotated into the published document.

Fixture `single` (VFs 0000:3b:01.0-3, vfio-pci) with its free hugepages set to 0, so the
prober must choose --no-huge itself. kubelet allocated 0000:3b:01.1 to pod A.
  0000:3b:01.0 -> net_null0   free          expect probe ok, pmd net_null
  0000:3b:01.1 -> net_null1   allocated     expect "skipped: allocated", never in an EAL run
  0000:3b:01.2 -> net_ring0   free          expect probe ok, pmd net_ring
  0000:3b:01.3 (not mapped)   free          a real PCI probe: fails with EAL's reason
=> intel.com/intel_sriov_dpdk on numa0: available 3, usable 2. Then kubelet allocates
0000:3b:01.0 too: it turns "skipped: allocated", usable 1, and later runs open 2 devices.
Also measures GET /v1/topology latency while probes run (median/max; max < 500 ms asserted).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    EXPORTER, check, exporter, kubeletstate, mkfixture, summary, wait_until,
    write)

DPDK = "intel.com/intel_sriov_dpdk"
POD_A = "0f6c6a8e-1111-4c3b-9d2a-aaaaaaaaaaaa"
VFS = ["0000:3b:01.%d" % i for i in range(4)]
VDEV_MAP = "0000:3b:01.0=net_null0;0000:3b:01.1=net_null1;0000:3b:01.2=net_ring0"
RUN_RE = re.compile(r'msg="dpdk probe run" devices=(\d+) hugepages=(\w+) wall_ms=(\d+) '
                    r'error="([^"]*)"')


def vfs_of(doc):
    return {v["pci"]: v for g in doc["numaNodes"][0].get("devices", []) for v in g["vfs"]}


def probe_runs(ex):
    """[(arrival, devices, hugepages, wall_ms, error)] from the exporter's log."""
    out = []
    for t, line in list(ex.lines):
        m = RUN_RE.search(line)
        if m:
            out.append((t, int(m.group(1)), m.group(2) == "true", int(m.group(3)), m.group(4)))
    return out


def device_checkpoint(kdir, allocated):
    kubeletstate.write_atomic(
        os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint"),
        kubeletstate.device_checkpoint([(POD_A, "dpdk", DPDK, {0: allocated})], {DPDK: VFS}))


def have_dpdk():
    r = subprocess.run([EXPORTER, "probe", "--vdev", "net_null0", "--no-huge"],
                       capture_output=True, text=True, timeout=30)
    return "without DPDK" not in r.stdout


class Hammer(threading.Thread):
    """GET /v1/topology back to back; keeps (start, end) of every request."""

    def __init__(self, ex):
        super().__init__(daemon=True)
        self.ex, self.samples, self.errors = ex, [], []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            st, body = self.ex.request("/v1/topology")
            t1 = time.monotonic()
            if st == 200:
                self.samples.append((t0, t1))
            else:
                self.errors.append((st, str(body)[:200]))


def main():
    if not have_dpdk():
        print("SKIP: this numafit-exporter is built without DPDK (nothing to probe)")
        return 77
    tmp = tempfile.mkdtemp(prefix="nf-e2e-probe-")
    ex = None
    try:
        root = mkfixture("single", os.path.join(tmp, "single"))
        hp = root + "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages"
        write(hp, "0\n")  # no free hugepages on the VFs' node: the prober must pick --no-huge
        kdir = os.path.join(tmp, "kubelet")
        cfg = os.path.join(tmp, "kubelet.yaml")
        write(cfg, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
              "cpuManagerPolicy: static\nreservedSystemCPUs: \"0,8\"\n"
              "topologyManagerPolicy: single-numa-node\n")
        device_checkpoint(kdir, ["0000:3b:01.1"])
        # The EAL child re-executes the exporter (a fork of the multi-threaded daemon could
        # deadlock on a lock another thread held), so no run may time out, ASan or not.
        ex = exporter(root, kdir, cfg, "worker-probe",
                      ["--probe", "on", "--probe-interval", "500ms", "--probe-timeout", "3s",
                       "--poll-interval", "200ms"],
                      env={"NUMAFIT_TEST_PROBE_VDEV_MAP": VDEV_MAP})
        check(any("TEST HOOK active" in l for _, l in ex.lines),
              "the exporter warns that the test hook is active")
        hammer = Hammer(ex)
        hammer.start()

        def probed():
            st, doc = ex.request("/v1/topology")
            v = vfs_of(doc) if st == 200 else {}
            status = [(v.get(p, {}).get("probe") or {}).get("status") for p in VFS]
            done = all(s not in (None, "skipped: probe pending", "failed: timeout") for s in status)
            return doc if done else None
        doc, dt = wait_until(probed, 20, 0.02)
        check(doc is not None, "probe results reach /v1/topology (%.2f s after start)" % dt)
        doc = doc or {"numaNodes": [{}]}
        v = vfs_of(doc)
        p0 = v.get(VFS[0], {}).get("probe") or {}
        p1 = v.get(VFS[1], {}).get("probe") or {}
        p2 = v.get(VFS[2], {}).get("probe") or {}
        p3 = v.get(VFS[3], {}).get("probe") or {}
        check(p0.get("status") == "ok" and p0.get("pmd") == "net_null" and p0.get("checkedAt"),
              "VF %s probed through net_null0: %r" % (VFS[0], p0))
        check(p2.get("status") == "ok" and p2.get("pmd") == "net_ring" and p2.get("link") == "up",
              "VF %s probed through net_ring0: %r" % (VFS[2], p2))
        check(v.get(VFS[1], {}).get("allocated") is True and p1.get("status") == "skipped: allocated"
              and p1.get("pmd") is None, "allocated VF %s is skipped: %r" % (VFS[1], p1))
        check(str(p3.get("status", "")).startswith("failed: ") and VFS[3] in p3.get("status", ""),
              "unmapped VF %s fails with EAL's reason: %r" % (VFS[3], p3.get("status")))
        r = doc["numaNodes"][0].get("resources", {}).get(DPDK)
        check(r == {"capacity": 4, "allocatable": 4, "available": 3, "usable": 2},
              "usable counts free VFs whose probe passed: %r" % r)

        # keep probing (every 500 ms) while GETs run back to back, then look at the latencies
        wait_until(lambda: len(probe_runs(ex)) >= 3, 10, 0.05)
        hammer.stop.set()
        hammer.join(timeout=15)
        runs = probe_runs(ex)
        check(len(runs) >= 2, "the prober re-ran at --probe-interval (%d runs)" % len(runs))
        check(all(n == 3 for _, n, _, _, _ in runs),
              "every EAL run opened exactly the 3 free VFs, never the allocated one: %r"
              % [n for _, n, _, _, _ in runs])
        check(all(not h for _, _, h, _, _ in runs), "no free hugepages -> every run --no-huge")
        hung = [r for r in runs if r[4] == "timeout"]
        check(not hung, "no probe run timed out (%d of %d did)" % (len(hung), len(runs)))
        spans = [(t - ms / 1000.0, t) for t, _, _, ms, _ in runs]
        during = sorted(t1 - t0 for t0, t1 in hammer.samples
                        if any(t0 < e and t1 > s for s, e in spans))
        probing = sum(e - s for s, e in spans)
        check(len(during) >= 5, "%d GETs overlapped a probe" % len(during))
        check(not hammer.errors, "no GET failed while probing: %r" % hammer.errors[:3])
        if during:
            med, mx = during[len(during) // 2], during[-1]
            print("GET /v1/topology during %d probe runs (%.0f ms probing, %d ms median run): "
                  "%d requests, median %.1f ms, max %.1f ms"
                  % (len(runs), probing * 1000, sorted(r[3] for r in runs)[len(runs) // 2],
                     len(during), med * 1000, mx * 1000))
            check(mx < 0.5, "the HTTP server never stalls on a probe (max %.0f ms < 500 ms)"
                  % (mx * 1000))

        # kubelet hands VF .0 to pod A as well: it is skipped from now on and never probed again
        n_before = len(probe_runs(ex))
        device_checkpoint(kdir, ["0000:3b:01.1", "0000:3b:01.0"])

        def allocated_now():
            st, doc = ex.request("/v1/topology")
            p = vfs_of(doc).get(VFS[0], {}).get("probe") or {}
            return doc if st == 200 and p.get("status") == "skipped: allocated" else None
        doc, dt = wait_until(allocated_now, 5, 0.02)
        check(doc is not None, "a newly allocated VF turns skipped: allocated (%.0f ms)" % (dt * 1000))
        if doc:
            r = doc["numaNodes"][0]["resources"].get(DPDK)
            check(r.get("available") == 2 and r.get("usable") == 1, "usable drops to 1: %r" % r)
        wait_until(lambda: len(probe_runs(ex)) >= n_before + 3, 8, 0.05)
        later = probe_runs(ex)[n_before + 1:]  # the run in flight at the change may still hold 3
        check(later and all(n == 2 for _, n, _, _, _ in later),
              "after the allocation runs open only the 2 free VFs: %r" % [r[1] for r in later])
        check(ex.stop() == 0, "SIGTERM -> exit 0 (the prober and its child stop)")

        # a malformed test map stops the exporter with the entry named (never silently ignored)
        r = subprocess.run([EXPORTER, "--once", "--probe", "on", "--sysfs-root", root + "/sys",
                            "--procfs-root", root + "/proc", "--kubelet-dir", kdir],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, NUMAFIT_TEST_PROBE_VDEV_MAP=VFS[0] + "=net_null0;junk"))
        check(r.returncode == 1 and 'entry="junk"' in r.stderr and "BDF=VDEV" in r.stderr,
              "bad NUMAFIT_TEST_PROBE_VDEV_MAP -> exit 1 naming the entry: %r" % r.stderr[-300:])
    finally:
        if ex:
            ex.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
