#!/usr/bin/env python3
"""bench_kubelet_latency.py - kubelet state change -> visible in a long-poll, and idle CPU.

usage: bench_kubelet_latency.py EXPORTER_BINARY [CHANGES] [IDLE_SECONDS]
Starts the exporter on the `snc2` fixture, then CHANGES times: hold a long-poll for the next
generation, rename a new cpu_manager_state into place (as kubelet does), and time until the
long-poll answers. Then measures the exporter's CPU time over IDLE_SECONDS of idleness.
"""
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import nftest  # noqa: E402
from nftest import kubeletstate  # noqa: E402


def get_json(url):
    status, _, body = nftest.http(url, timeout=60)
    if status != 200:
        raise RuntimeError("GET %s: %d %r" % (url, status, body[:200]))
    return json.loads(body)


def main():
    exporter = sys.argv[1]
    changes = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    idle = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    tmp = tempfile.mkdtemp(prefix="nf-bench-kubelet-")
    ex = None
    try:
        root = nftest.mkfixture("snc2", os.path.join(tmp, "snc2"))
        kdir = os.path.join(tmp, "kubelet")
        os.makedirs(kdir)
        ex = nftest.exporter(root, kdir, None, None, ["--reserved-cpus", "0,32"], binary=exporter,
                             sriov_config=None)
        proc = ex.proc
        url = ex.url("/v1/topology")
        gen = get_json(url)["generation"]
        lat = []
        for i in range(changes):
            done = []
            t = threading.Thread(target=lambda g=gen + 1: done.append(
                (get_json(url + "?waitForGeneration=%d" % g), time.monotonic())))
            t.start()
            time.sleep(0.02)
            cpus = "%d-%d" % (2 + i % 6, 3 + i % 6)
            t0 = time.monotonic()
            kubeletstate.write_atomic(os.path.join(kdir, "cpu_manager_state"),
                                      kubeletstate.cpu_manager_state({"pod-%d" % i: {"c": cpus}},
                                                                     "0-1"))
            t.join()
            doc, t1 = done[0]
            gen = doc["generation"]
            lat.append((t1 - t0) * 1000)
        lat.sort()
        print("kubelet state rename -> long-poll answer over %d changes: median %.2f ms, "
              "p99 %.2f ms, max %.2f ms" % (changes, statistics.median(lat),
                                            lat[int(len(lat) * 0.99) - 1], lat[-1]))
        tick = os.sysconf("SC_CLK_TCK")

        def cpu():
            f = open("/proc/%d/stat" % proc.pid).read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tick
        c0 = cpu()
        time.sleep(idle)
        used = cpu() - c0
        print("exporter idle CPU over %d s (1 s sysfs poll): %.3f %% of one core"
              % (idle, used * 100 / idle))
        print("exporter RSS: %s" % [l.strip() for l in open("/proc/%d/status" % proc.pid)
                                    if l.startswith(("VmRSS", "VmHWM"))])
    finally:
        if ex:
            ex.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
