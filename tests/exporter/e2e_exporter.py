#!/usr/bin/env python3
"""e2e_exporter.py - the real numafit-exporter binary on a fake sysfs tree + kubelet dir.

Covers: every number of the snc2 fixture after kubelet's state is applied, --once, the HTTP
server (GET, ETag/304, 404/405/400), long-poll wake-ups on a sysfs change (poll) and on a
kubelet state file renamed into place (inotify), a corrupt state file keeping the last good
view, generation stability, SIGTERM, and --once on this machine's real /sys.
"""
import json
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
    EXPORTER, GIB, MIB, check, exporter, exporter_args, extender, filter_names, kubeletstate,
    machine, summary)

POD_A = "0f6c6a8e-1111-4c3b-9d2a-aaaaaaaaaaaa"
POD_B = "7d1b2c3e-2222-4f00-8e11-bbbbbbbbbbbb"
NODE = "worker-snc2"


def numa(doc, nid):
    return next(n for n in doc["numaNodes"] if n["id"] == nid)


def res(doc, nid, name):
    return numa(doc, nid)["resources"].get(name)


def setup(tmp):
    """The snc2 fixture; pod A holds cores 2-5 of numa0 (CPUs 2-5 + siblings 34-37) and VF
    0000:18:01.1. Returns (root, kubelet dir, KubeletConfiguration path)."""
    return machine(tmp, NODE, "snc2", "0,32", {POD_A: {"dpdk": "2-5,34-37"}},
                   "0-1,6-29,32-33,38-63",
                   [(POD_A, "dpdk", "intel.com/intel_sriov_dpdk", {0: ["0000:18:01.1"]})],
                   {"intel.com/intel_sriov_dpdk": ["0000:18:01.0", "0000:18:01.1", "0000:18:01.2",
                                                   "0000:18:01.3"]})


def test_full_cores_fit(doc):
    """The real extender and its report on that document: a cpu=16 pod (full-pcpus-only) does not
    fit numa3 (14 online CPUs, 12 in whole cores), cpu=12 does, and no zone shows more than
    100 % free."""
    d = tempfile.mkdtemp(prefix="nf-e2e-fullcores-")
    ext = None
    try:
        with open(os.path.join(d, "worker-snc2.json"), "w") as f:
            json.dump(doc, f)
        ext = extender(extra=["--topology-dir", d])

        def pod(cpu):
            lim = {"cpu": str(cpu), "memory": "1Gi"}
            return {"metadata": {"name": "p%d" % cpu, "namespace": "d", "uid": "u%d" % cpu},
                    "spec": {"containers": [{"name": "c", "resources": {"requests": lim,
                                                                         "limits": lim}}]}}
        st, ans = filter_names(ext, pod(16), ["worker-snc2"])
        # numa1 and numa2 have 16 whole free CPUs each: cpu=16 fits there
        check(st == 200 and ans["NodeNames"] == ["worker-snc2"], "cpu=16 fits numa1/2: %r" % ans)
        st, rep = ext.request("/v1/report?shape=cpu=16&shape=cpu=12")
        check(st == 200, "report answers 200: %r" % rep)
        for shape, want in (("cpu=16", 0), ("cpu=12", 1)):
            s = next(x for x in rep["shapes"] if x["shape"] == shape)
            z3 = next(z for z in s["nodes"][0]["zones"] if z["id"] == 3)
            check(z3["fits"] == want and z3["free"]["cpu"] == 12,
                  "%s: numa3 (12 CPUs in whole cores) fits %d: %r" % (shape, want, z3))
        cpu = rep["totals"]["cpu"]
        check(cpu["free"] <= cpu["allocatable"], "free CPUs never above allocatable: %r" % cpu)
        st, _, html = ext.get("/v1/report?shape=cpu=16&format=html")
        cells = re.findall(r"numa3: cpu (\d+) of (\d+) free \((\d+)%\)", html.decode())
        check(st == 200 and cells == [("12", "12", "100")],
              "heatmap: numa3 has 12 of 12 CPUs free in whole cores, 100 %%: %r" % cells)
    finally:
        if ext:
            ext.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_once(root, kdir, cfg):
    out = subprocess.run([EXPORTER, "--once"] + exporter_args(root, kdir, cfg, NODE), check=True,
                         capture_output=True, text=True).stdout
    doc = json.loads(out)
    check(doc["apiVersion"] == "numafit.io/v1" and doc["kind"] == "NodeTopology", "apiVersion/kind")
    check(doc["node"] == "worker-snc2", "node name")
    check(doc["generation"] == 1, "first generation is 1")
    k = doc["kubelet"]
    check(k["cpuManagerPolicy"] == "static", "cpuManagerPolicy")
    check(k["topologyManagerPolicy"] == "single-numa-node", "topologyManagerPolicy")
    check(k["topologyManagerScope"] == "pod", "topologyManagerScope")
    check(k["cpuManagerPolicyOptions"] == {"full-pcpus-only": "true"}, "policy options")
    check(k["reservedCpus"] == "0,32", "reservedCpus %r" % k["reservedCpus"])
    check(k["stateFiles"]["cpuManager"] == "ok", "cpu state ok: %r" % k["stateFiles"])
    check(k["stateFiles"]["devicePlugins"] == "ok", "device state ok: %r" % k["stateFiles"])
    check(k["stateFiles"]["memoryManager"] == "absent", "memory state absent")

    check([s["id"] for s in doc["sockets"]] == [0, 1], "sockets")
    check(sorted(n["id"] for n in doc["numaNodes"]) == [0, 1, 2, 3, 4], "numa ids")
    check(numa(doc, 0)["socket"] == 0 and numa(doc, 2)["socket"] == 1, "numa -> socket")
    check(numa(doc, 4)["socket"] is None, "memory-only node has no socket")
    check(numa(doc, 0)["distances"] == [10, 11, 21, 21, 30], "distances")

    c0 = numa(doc, 0)["cpus"]
    check(c0["online"] == "0-7,32-39", "numa0 online %r" % c0["online"])
    check(c0["reserved"] == "0,32", "numa0 reserved")
    check(c0["allocatable"] == "1-7,33-39", "numa0 allocatable")
    check(c0["allocated"] == "2-5,34-37", "numa0 allocated")
    check(c0["free"] == "1,6-7,33,38-39", "numa0 free %r" % c0["free"])
    check(c0["threadsPerCore"] == 2, "threads per core")
    check(c0["freeFullCores"] == 3, "free full cores %r" % c0["freeFullCores"])
    check(res(doc, 0, "cpu") == {"capacity": 16, "allocatable": 14, "available": 6}, "numa0 cpu")
    check(res(doc, 1, "cpu") == {"capacity": 16, "allocatable": 16, "available": 16}, "numa1 cpu")
    check(c0["allocatableFullCores"] == 7, "numa0: 7 cores not reserved %r" % c0)
    check(numa(doc, 3)["cpus"]["online"] == "24-29,56-63", "offline CPUs left out")
    check(res(doc, 3, "cpu")["capacity"] == 14, "numa3 cpu capacity")
    # cores 30/62 and 31/63 lost a sibling: full-pcpus-only never hands them out (issue 12)
    c3 = numa(doc, 3)["cpus"]
    check(c3["freeFullCores"] == 6 and c3["allocatableFullCores"] == 6,
          "numa3: 6 whole cores, the 2 with an offline sibling do not count: %r" % c3)
    test_full_cores_fit(doc)
    check(res(doc, 4, "cpu") is None, "memory-only node has no cpu resource")

    check(res(doc, 0, "hugepages-1Gi") == {"capacity": 16 * GIB, "allocatable": 16 * GIB,
                                           "available": 12 * GIB}, "numa0 1Gi pages")
    check(res(doc, 0, "hugepages-2Mi") == {"capacity": 1024 * 2 * MIB, "allocatable": 1024 * 2 * MIB,
                                           "available": 512 * 2 * MIB}, "numa0 2Mi pages")
    check(numa(doc, 1)["hugepages"]["hugepages-2Mi"] == {"pageBytes": 2 * MIB, "total": 512,
                                                         "free": 500, "surplus": 2}, "raw counters")
    check(numa(doc, 0)["memory"] == {"totalBytes": 65536000 * 1024, "freeBytes": 40000000 * 1024},
          "numa0 memory")
    check(res(doc, 0, "memory")["available"] == 40000000 * 1024, "memory available = MemFree")

    dpdk = res(doc, 0, "intel.com/intel_sriov_dpdk")
    check(dpdk == {"capacity": 4, "allocatable": 4, "available": 3}, "numa0 VFs %r" % dpdk)
    check(res(doc, 1, "intel.com/intel_sriov_netdevice") == {"capacity": 2, "allocatable": 2,
                                                             "available": 2}, "numa1 netdevice VFs")
    check(res(doc, 2, "intel.com/intel_sriov_dpdk")["available"] == 4, "numa2 VFs")
    vfs = {v["pci"]: v for g in numa(doc, 0)["devices"] for v in g["vfs"]}
    check(vfs["0000:18:01.1"]["allocated"] and vfs["0000:18:01.1"]["podUID"] == POD_A,
          "allocated VF names its pod")
    check(not vfs["0000:18:01.0"]["allocated"] and vfs["0000:18:01.0"]["driver"] == "vfio-pci",
          "free VF")
    check(vfs["0000:18:01.0"]["iommuGroup"] == 112, "iommu group")
    unplaced = [g["pf"]["pci"] for g in doc["unplacedDevices"]]
    check(unplaced == ["0000:d8:00.0"], "PF with numa_node -1 is unplaced: %r" % unplaced)
    check(all(res(doc, n, "intel.com/intel_sriov_dpdk") is None or n in (0, 2)
              for n in range(5)), "unplaced VFs are not counted on any NUMA node")
    pods = numa(doc, 0)["pods"]
    check(len(pods) == 1 and pods[0]["podUID"] == POD_A and pods[0]["cpus"] == "2-5,34-37",
          "pods on numa0 %r" % pods)


def longpoll(ex, gen, result):
    t0 = time.monotonic()
    status, headers, body = ex.get("/v1/topology?waitForGeneration=%d" % gen)
    result.append((time.monotonic() - t0, status, json.loads(body)))


def wait_for_change(ex, gen, change):
    """Start a long-poll for gen, make the change, return (seconds from change to answer, doc)."""
    result = []
    t = threading.Thread(target=longpoll, args=(ex, gen, result))
    t.start()
    time.sleep(0.3)  # the request is held by now
    check(not result, "long-poll is held until the generation moves")
    t0 = time.monotonic()
    change()
    t.join(timeout=35)
    check(result and result[0][1] == 200, "long-poll answered")
    return time.monotonic() - t0, result[0][2]


def test_server(root, kdir, cfg):
    # a long sysfs poll interval proves that kubelet changes arrive by inotify, not by polling
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "60s"])
    try:
        status, h, body = ex.get("/v1/topology")
        doc = json.loads(body)
        check(status == 200 and h.get("Content-Type") == "application/json", "GET /v1/topology")
        check(h.get("ETag") == '"%d"' % doc["generation"], "ETag is the generation")
        status, h2, body2 = ex.get("/v1/topology", {"If-None-Match": h["ETag"]})
        check(status == 304 and body2 == b"", "If-None-Match -> 304")
        # GETs keep the connection open (HTTP/1.1 keep-alive): two answers on one socket
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", ex.port, timeout=10)
        answers = []
        for _ in range(2):
            conn.request("GET", "/v1/topology")
            r = conn.getresponse()
            answers.append((r.status, r.getheader("Connection"), r.read(), conn.sock))
        conn.close()
        check(all(a[0] == 200 and json.loads(a[2])["generation"] == doc["generation"]
                  for a in answers) and answers[0][1] != "close" and
              answers[0][3] is not None and answers[0][3] is answers[1][3],
              "keep-alive: two GETs on one connection (%r)" % [a[1] for a in answers])
        check(ex.get("/healthz")[0] == 200 and ex.get("/readyz")[0] == 200, "healthz/readyz")
        st, _, b = ex.get("/nope")
        check(st == 404 and b"no such path" in b, "404 with a reason")
        st, hh, _ = ex.get("/v1/topology", method="POST", data=b"{}")
        check(st == 405 and "GET" in hh.get("Allow", ""), "405 with Allow")
        st, _, b = ex.get("/v1/topology?waitForGeneration=abc")
        check(st == 400 and b"waitForGeneration" in b, "400 on a bad waitForGeneration")
        t0 = time.monotonic()
        st, _, b = ex.get("/v1/topology?waitForGeneration=%d&timeout=500ms" % (doc["generation"] + 1))
        dt = time.monotonic() - t0
        check(st == 200 and 0.4 < dt < 3 and json.loads(b)["generation"] == doc["generation"],
              "long-poll timeout answers with the current document (%.2fs)" % dt)
        st, _, b = ex.get("/v1/topology?waitForGeneration=%d" % doc["generation"])
        check(st == 200, "waitForGeneration already reached answers at once")

        gen = doc["generation"]
        # kubelet assigns numa1 cores to pod B: written to a temp file and renamed, as kubelet does
        def kubelet_change():
            kubeletstate.write_atomic(os.path.join(kdir, "cpu_manager_state"),
                                      kubeletstate.cpu_manager_state(
                                          {POD_A: {"dpdk": "2-5,34-37"}, POD_B: {"app": "8-9,40-41"}},
                                          "0-1,6-7,10-29,32-33,38-39,42-63"))
        dt, d2 = wait_for_change(ex, gen + 1, kubelet_change)
        check(d2["generation"] == gen + 1, "generation moved by one")
        check(res(d2, 1, "cpu")["available"] == 12, "numa1 cpu after pod B: %r" % res(d2, 1, "cpu"))
        check(dt < 1.0, "kubelet change visible in %.0f ms (< 1 s)" % (dt * 1000))
        print("kubelet state rename -> long-poll answer: %.1f ms" % (dt * 1000))

        # a truncated write keeps the last good view and says so
        with open(os.path.join(kdir, "cpu_manager_state"), "w") as f:
            f.write('{"policyName":"static","defaultCpuSet":"0-')
        deadline = time.time() + 5
        while time.time() < deadline:
            d3 = json.loads(ex.get("/v1/topology")[2])
            if d3["kubelet"]["stateFiles"]["cpuManager"].startswith("error"):
                break
            time.sleep(0.05)
        check(d3["kubelet"]["stateFiles"]["cpuManager"].startswith("error"),
              "corrupt cpu state is reported: %r" % d3["kubelet"]["stateFiles"]["cpuManager"])
        check(res(d3, 1, "cpu")["available"] == 12 and res(d3, 0, "cpu")["available"] == 6,
              "corrupt cpu state keeps the last good allocations")

        # nothing changes -> the generation stays
        g = json.loads(ex.get("/v1/topology")[2])["generation"]
        time.sleep(0.5)
        check(json.loads(ex.get("/v1/topology")[2])["generation"] == g, "generation is stable")
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")

    # sysfs counters are polled: a hugepage taken on numa2 shows up after one poll interval
    ex = exporter(root, kdir, cfg, NODE, ["--poll-interval", "200ms"])
    try:
        gen = json.loads(ex.get("/v1/topology")[2])["generation"]
        path = root + "/sys/devices/system/node/node2/hugepages/hugepages-1048576kB/free_hugepages"

        def take_page():
            with open(path, "w") as f:
                f.write("3\n")
        dt, d4 = wait_for_change(ex, gen + 1, take_page)
        check(res(d4, 2, "hugepages-1Gi")["available"] == 3 * GIB, "hugepage change published")
        check(dt < 2.0, "sysfs change visible within a poll interval (%.0f ms)" % (dt * 1000))
    finally:
        check(ex.stop() == 0, "SIGTERM -> exit 0")


def test_bad_usage():
    r = subprocess.run([EXPORTER, "--probe", "maybe"], capture_output=True, text=True)
    check(r.returncode == 2 and "--probe" in r.stderr, "bad flag value -> exit 2")
    r = subprocess.run([EXPORTER, "--once", "--sysfs-root", "/nonexistent/sys", "--procfs-root",
                        "/nonexistent/proc"], capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.strip(), "unreadable machine -> exit 1 with a message")
    r = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "--sysfs-root" in r.stdout, "--help")
    env = dict(os.environ, NUMAFIT_POLL_INTERVAL="soon")
    r = subprocess.run([EXPORTER, "--once"], capture_output=True, text=True, env=env)
    check(r.returncode == 2 and "poll-interval" in r.stderr, "flags from the environment")


def test_real_machine():
    r = subprocess.run([EXPORTER, "--once", "--kubelet-dir", "/nonexistent"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "--once on this machine's /sys: %s" % r.stderr[-300:])
    doc = json.loads(r.stdout)
    online = sum(len(range(int(a), int(b or a) + 1)) for a, _, b in
                 (p.partition("-") for p in open("/sys/devices/system/cpu/online").read().strip().split(",")))
    cpus = sum(res(doc, n["id"], "cpu")["capacity"] for n in doc["numaNodes"]
               if res(doc, n["id"], "cpu"))
    check(len(doc["numaNodes"]) >= 1, "real machine has NUMA nodes")
    check(cpus == online, "real machine: %d online CPUs published (expected %d)" % (cpus, online))
    check(doc["kubelet"]["stateFiles"]["cpuManager"] == "absent", "no kubelet here -> absent")


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-exporter-")
    try:
        root, kdir, cfg = setup(tmp)
        test_once(root, kdir, cfg)
        test_server(root, kdir, cfg)
        test_bad_usage()
        test_real_machine()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
