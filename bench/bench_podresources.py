#!/usr/bin/env python3
"""bench_podresources.py - the exporter fed by kubelet's podresources API with a busy node's List.

usage: bench_podresources.py EXPORTER_BINARY [PODS] [CONTAINERS_PER_POD] [FETCHES]
A podresources peer (tests/podres_peer.py, python3-grpcio) on the `bench` fixture (2 sockets x 4
NUMA nodes, 192 PUs, 128 VFs) lists PODS pods of CONTAINERS_PER_POD containers (default 500 x 4
= 2,000): 88 of them Guaranteed DPDK pods (2 exclusive CPUs, 1 VF, 1 GiB of hugepages on one NUMA
node in their first container), the rest shared-pool pods. The exporter asks it every 100 ms
until FETCHES answers (default 100) were taken, then prints: the fetch time (both calls, decode;
from the exporter's debug log), the refresh time (numafit_exporter_refresh_duration_seconds),
the published document's size, GET /v1/topology latency while fetches run, and RSS against the
same exporter without podresources.
"""
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import podres_peer  # noqa: E402

podres_peer.require_grpc()
import nftest  # noqa: E402

GIB = 1 << 30


def listing(pods, per_pod):
    m = podres_peer.pb()
    # bench: 12 cores x 2 threads per NUMA node: core c of node n is CPU 12n+c and its sibling
    listed, alloc_cpus = [], [c for c in range(192) if c not in (0, 96)]
    vfs = ["0000:%02x:%02x.%d" % (0x10 + 0x10 * n, 1 + v // 8, v % 8)
           for n in range(8) for v in range(16)]
    dpdk = 0
    for i in range(pods):
        cs = [m.ContainerResources(name="c%d" % k) for k in range(per_pod)]
        node = dpdk % 8
        core = 1 + dpdk // 8  # core 0 of node 0 holds the reserved CPUs
        if dpdk < 88 and core < 12:
            first = node * 12 + core
            cs[0].cpu_ids.extend([first, first + 96])
            cs[0].devices.append(m.ContainerDevices(
                resource_name="intel.com/intel_sriov_dpdk", device_ids=[vfs[node * 16 + core]],
                topology=m.TopologyInfo(nodes=[m.NUMANode(ID=node)])))
            cs[0].memory.append(m.ContainerMemory(
                memory_type="hugepages-1Gi", size=GIB,
                topology=m.TopologyInfo(nodes=[m.NUMANode(ID=node)])))
            dpdk += 1
        listed.append(m.PodResources(namespace="ns-%d" % (i % 20), name="pod-%04d" % i,
                                     containers=cs))
    alloc = m.AllocatableResourcesResponse(
        cpu_ids=alloc_cpus,
        devices=[m.ContainerDevices(resource_name="intel.com/intel_sriov_dpdk", device_ids=[v],
                                    topology=m.TopologyInfo(nodes=[m.NUMANode(ID=i // 16)]))
                 for i, v in enumerate(vfs)])
    return alloc, m.ListPodResourcesResponse(pod_resources=listed), dpdk


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        st = dict(l.split(":", 1) for l in f if ":" in l)
    return int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0])


def refresh_seconds(ex):
    _, _, body = ex.get("/metrics")
    text = body.decode()
    s = float(re.search(r"^numafit_exporter_refresh_duration_seconds_sum (\S+)", text, re.M)[1])
    n = float(re.search(r"^numafit_exporter_refresh_duration_seconds_count (\S+)", text, re.M)[1])
    return s, n


def main():
    binary = sys.argv[1]
    pods = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    per_pod = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    fetches = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    tmp = tempfile.mkdtemp(prefix="nf-bench-podres-")
    peer = None
    servers = []
    try:
        root = nftest.mkfixture("bench", os.path.join(tmp, "bench"))
        kdir = os.path.join(tmp, "kubelet")
        os.makedirs(os.path.join(kdir, "pod-resources"))
        alloc, listed, dpdk = listing(pods, per_pod)
        sock = os.path.join(kdir, "pod-resources", "kubelet.sock")
        peer = podres_peer.Peer(sock, alloc, listed)
        print("List: %d pods, %d containers (%d with exclusive CPUs + VF + hugepages), %d bytes"
              % (pods, pods * per_pod, dpdk, listed.ByteSize()))
        args = ["--sysfs-root", root + "/sys", "--procfs-root", root + "/proc",
                "--kubelet-dir", kdir, "--node-name", "bench", "--poll-interval", "1s"]
        base = nftest.Server([binary] + args + ["--podresources-socket", "none"], name="base")
        servers.append(base)
        ex = nftest.Server([binary] + args + ["--podresources-interval", "100ms",
                                              "--log-level", "debug"], name="podres")
        servers.append(ex)
        took = re.compile(r'msg="podresources answered".* took_ms=(\d+)')
        samples, worst, stop = [], [0.0], [False]

        def sample():
            while not stop[0]:
                t0 = time.monotonic()
                ex.get("/v1/topology")
                samples.append(time.monotonic() - t0)
                time.sleep(0.005)
        # the first refresh discovers the machine (hwloc): count from here on
        s0, n0 = refresh_seconds(ex)
        bs0, bn0 = refresh_seconds(base)
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        t0 = time.monotonic()
        nftest.wait_for(lambda: sum(1 for _, l in ex.lines if took.search(l)) >= fetches,
                        fetches * 2 + 30, "%d podresources answers" % fetches)
        wall = time.monotonic() - t0
        stop[0] = True
        t.join()
        ms = [int(took.search(l)[1]) for _, l in ex.lines if took.search(l)]
        doc = json.loads(ex.get("/v1/topology")[2])
        npods = sum(len(n["pods"]) for n in doc["numaNodes"])
        s, n = refresh_seconds(ex)
        bs, bn = refresh_seconds(base)
        s, n, bs, bn = s - s0, n - n0, bs - bs0, bn - bn0
        r, hwm = rss_kb(ex.proc.pid)
        br, bhwm = rss_kb(base.proc.pid)
        worst[0] = max(samples) if samples else 0
        print("fetch (GetAllocatableResources + List + decode, exporter's clock): median %d ms, "
              "p95 %d ms, max %d ms over %d fetches (%.1f s)"
              % (statistics.median(ms), sorted(ms)[int(len(ms) * 0.95) - 1], max(ms), len(ms),
                 wall))
        print("refresh (sysfs + apply + derive + encode, after the first) with podresources: "
              "mean %.2f ms over %d; without: mean %.2f ms over %d"
              % (1000 * s / n, n, 1000 * bs / bn if bn else 0, bn))
        print("document: %d bytes, %d pod entries; generation %d"
              % (len(json.dumps(doc, separators=(",", ":"))), npods, doc["generation"]))
        print("GET /v1/topology during the fetches: median %.2f ms, max %.2f ms (%d requests)"
              % (1000 * statistics.median(samples), 1000 * worst[0], len(samples)))
        print("RSS: %d KiB (peak %d KiB) with podresources; %d KiB (peak %d KiB) without"
              % (r, hwm, br, bhwm))
        if doc["kubelet"]["stateFiles"].get("podResources") != "ok":
            print("unexpected podResources status: %r" % doc["kubelet"]["stateFiles"])
            return 1
        return 0
    finally:
        for s in servers:
            s.stop()
        if peer:
            peer.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
