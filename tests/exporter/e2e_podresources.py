#!/usr/bin/env python3
"""e2e_podresources.py - kubelet's podresources API as the exporter's source, for real.

A REAL numafit-exporter on the snc2 fixture (a fake sysfs tree) asks a REAL gRPC server on a unix
socket (tests/podres_peer.py, python3-grpcio, messages generated from proto/ at run time) that
serves what kubelet serves for a given state:
  - same state, three ways: the realdata checkpoint files alone, podresources alone (no
    checkpoint file in the kubelet dir), both: the published documents are identical but for how
    pods are named (podUID from the files, namespace/name from podresources, both when both are
    there), stateFiles and the timestamps; no disagreement is reported;
  - the peer restarts (socket removed, made again), hangs past the deadline and answers
    garbage (bytes that are no message, a CPU id of 10^9, an empty pod name, a NUMA node the
    machine does not have): GET /v1/topology keeps answering fast, the last good view stays
    published with the reason in kubelet.stateFiles.podResources, then the numbers become unknown
    after --kubelet-grace; 500 pods / 2,000 containers behind a slow List change nothing of that;
  - checkpoint files and podresources disagreeing: podresources is published, errors[] says
    where, numafit_exporter_podresources_disagreements counts it; agreeing again clears both;
  - with --privsep-user (as root): the confined collector process asks podresources.
Skips (77) without python3-grpcio / python3-grpc-tools.
"""
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import podres_peer  # noqa: E402

podres_peer.require_grpc()
from nftest import (  # noqa: E402
    EXPORTER, MachineEnv, check, exporter_args, kubeletstate, run_tests, wait_until)

REALDATA = os.environ.get("NF_REALDATA_DIR", os.path.join(HERE, "..", "realdata"))
NODE = "worker-podres"
RESERVED = "0,32"
ONLINE = [c for c in range(64) if c not in (30, 31)]  # snc2: 30 and 31 offline
ALLOCATABLE = [c for c in ONLINE if c not in (0, 32)]
DPDK = "intel.com/intel_sriov_dpdk"
VFS0 = ["0000:18:01.0", "0000:18:01.1", "0000:18:01.2", "0000:18:01.3"]
POD_A = "0f6c6a8e-1111-4c3b-9d2a-aaaaaaaaaaaa"


def realdata(name):
    with open(os.path.join(REALDATA, "kubelet", name)) as f:
        return f.read()


def doc_of(ex, timeout=10):
    st, _, body = ex.get("/v1/topology", timeout=timeout)
    return json.loads(body) if st == 200 else None


def numa(d, nid):
    return next(n for n in d["numaNodes"] if n["id"] == nid)


def pr_status(d):
    return d["kubelet"]["stateFiles"].get("podResources")


def wait_doc(ex, pred, timeout, what):
    d, _ = wait_until(lambda: (lambda x: x if x and pred(x) else None)(doc_of(ex)), timeout, 0.05)
    check(d is not None, "%s (within %gs)" % (what, timeout))
    return d


def normalized(d):
    """The document without what legitimately depends on the source: timestamps, generation,
    stateFiles, and how pods are named (pods compared by what they hold)."""
    d = json.loads(json.dumps(d))
    for k in ("observedAt", "generation"):
        d.pop(k, None)
    d["kubelet"].pop("stateFiles", None)
    for n in d["numaNodes"]:
        for p in n["pods"]:
            for k in ("podUID", "namespace", "name"):
                p.pop(k, None)
        n["pods"].sort(key=lambda p: json.dumps(p, sort_keys=True))
    return d


def first_diff(a, b, path=""):
    if type(a) is not type(b):
        return "%s: %r vs %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in %s" % (path, k, "first" if k in a else "second")
            r = first_diff(a[k], b[k], path + "." + k)
            if r:
                return r
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            r = first_diff(x, y, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    return None if a == b else "%s: %r vs %r" % (path, a, b)


def metric(ex, name, label):
    st, _, body = ex.get("/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


class Env(MachineEnv):
    """The snc2 machine and its KubeletConfiguration; kubelet dirs, podresources peers and
    exporters made per test."""

    def __init__(self):
        super().__init__(NODE, prefix="nf-podres-", reserved=RESERVED)
        self.peers = []

    def kubelet_dir(self, name, files=None):
        """A kubelet dir with these checkpoint files {relative path: text}."""
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "device-plugins"), exist_ok=True)
        os.makedirs(os.path.join(d, "pod-resources"), exist_ok=True)
        for rel, text in (files or {}).items():
            kubeletstate.write_atomic(os.path.join(d, rel), text)
        return d

    def peer(self, path, alloc=None, listed=None):
        p = podres_peer.Peer(path, alloc, listed)
        self.peers.append(p)
        return p

    def exporter(self, kdir, *extra):
        return self.start([EXPORTER] + exporter_args(self.root, kdir, self.cfg, self.node) +
                          list(extra), name="exporter")

    def close(self):
        super().close()  # the exporters first: they exit 0 on SIGTERM (ASan clean)
        for p in self.peers:
            p.stop()


def test_same_document(env):
    files = {"cpu_manager_state": realdata("cpu_manager_state.example-4-cross-numa.json"),
             "device-plugins/kubelet_internal_checkpoint":
                 realdata("kubelet_internal_checkpoint.example-2-two-pods.json"),
             "memory_manager_state": realdata("memory_manager_state.fixture-v1.json")}
    alloc, listed = podres_peer.from_checkpoints(
        files["cpu_manager_state"], files["device-plugins/kubelet_internal_checkpoint"],
        files["memory_manager_state"], allocatable_cpus=ALLOCATABLE,
        names={"9388acc6-a396-4f03-a353-ce153da46aaf": ("ran", "du-0")})
    files_only = env.kubelet_dir("files-only", files)
    api_only = env.kubelet_dir("api-only")  # no checkpoint file at all: only the socket
    both = env.kubelet_dir("both", files)
    for d in (api_only, both):  # the default socket: KUBELET-DIR/pod-resources/kubelet.sock
        env.peer(os.path.join(d, "pod-resources", "kubelet.sock"), alloc, listed)
    a = doc_of(env.exporter(files_only, "--podresources-socket", "none"))
    b = doc_of(env.exporter(api_only))
    ex_c = env.exporter(both)
    c = doc_of(ex_c)
    check("podResources" not in a["kubelet"]["stateFiles"], "no podResources status when off")
    check(pr_status(b) == "ok" and pr_status(c) == "ok",
          "podResources ok: %r %r" % (pr_status(b), pr_status(c)))
    check(b["kubelet"]["stateFiles"]["cpuManager"] == "absent", "api-only has no files")
    pods_a = sum(len(n["pods"]) for n in a["numaNodes"])
    check(pods_a >= 5, "the realdata state has pods on the NUMA nodes: %d" % pods_a)
    diff = first_diff(normalized(a), normalized(b))
    check(diff is None, "files alone and podresources alone publish the same document: %s" % diff)
    diff = first_diff(normalized(a), normalized(c))
    check(diff is None, "files alone and both publish the same document: %s" % diff)
    check(not any("disagree" in e for e in c.get("errors", [])),
          "no disagreement: %r" % c.get("errors"))
    # how pods are named, per source
    du = [p for n in c["numaNodes"] for p in n["pods"] if p.get("name") == "du-0"]
    check(du and all(p["podUID"] == "9388acc6-a396-4f03-a353-ce153da46aaf" and
                     p["namespace"] == "ran" for p in du),
          "with both, a pod podresources names gets the files' UID: %r" % du)
    gpu = [p for n in c["numaNodes"] for p in n["pods"] if p.get("name") == "pod-94283d1b"]
    check(gpu and gpu[0]["podUID"] == "94283d1b-ce5a-4797-bff8-0cf0c7143b2b",
          "... also through a device it holds: %r" % gpu)
    mem_only = [p for n in c["numaNodes"] for p in n["pods"] if p.get("name") == "pod-pod"]
    check(mem_only and mem_only[0]["podUID"] is None,
          "a pod holding only memory cannot be matched: no UID guessed: %r" % mem_only)
    check(all(p["podUID"] is None and p["namespace"] and p["name"]
              for n in b["numaNodes"] for p in n["pods"]),
          "podresources alone: namespace/name, podUID null")
    check(all(p["podUID"] and "name" not in p for n in a["numaNodes"] for p in n["pods"]),
          "files alone: podUID only")
    for kind in ("cpus", "devices", "memory", "reservedCpus"):
        check(metric(ex_c, "numafit_exporter_podresources_disagreements", 'what="%s"' % kind) == 0,
              "disagreements{what=%s} 0" % kind)
    check(metric(ex_c, "numafit_exporter_kubelet_state_ok", 'source="podResources"') == 1,
          "kubelet_state_ok{source=podResources} 1")


def vf_state(cpus="2-5,34-37", vf="0000:18:01.1", extra_pods=0):
    """pod A (ran/du-a) with exclusive CPUs and a VF on numa0, plus extra_pods pods of 4
    shared-pool containers each (what a busy node lists)."""
    cpu = kubeletstate.cpu_manager_state({POD_A: {"dpdk": cpus}}, "0-1,6-29,32-33,38-63")
    dev = kubeletstate.device_checkpoint([(POD_A, "dpdk", DPDK, {0: [vf]})], {DPDK: VFS0})
    alloc, listed = podres_peer.from_checkpoints(cpu, dev, allocatable_cpus=ALLOCATABLE,
                                                 names={POD_A: ("ran", "du-a")},
                                                 device_numa={v: 0 for v in VFS0})
    m = podres_peer.pb()
    for i in range(extra_pods):
        listed.pod_resources.append(m.PodResources(
            namespace="load", name="pod-%03d" % i,
            containers=[m.ContainerResources(name="c%d" % k) for k in range(4)]))
    return cpu, dev, alloc, listed


class Sampler(threading.Thread):
    """GET /v1/topology in a loop: the slowest answer, and any answer without pod A's CPUs (the
    last good view lost before its grace)."""

    def __init__(self, ex):
        super().__init__(daemon=True)
        self.ex, self.worst, self.n, self.lost, self.stop_ = ex, 0.0, 0, [], False

    def run(self):
        while not self.stop_:
            t0 = time.monotonic()
            d = doc_of(self.ex, timeout=10)
            self.worst = max(self.worst, time.monotonic() - t0)
            self.n += 1
            if not d or numa(d, 0)["resources"]["cpu"]["available"] != 6:
                self.lost.append(d and numa(d, 0)["resources"]["cpu"])
            time.sleep(0.02)


def test_restart_hang_garbage(env):
    _, _, alloc, listed = vf_state()
    kdir = env.kubelet_dir("api")
    sock = os.path.join(env.tmp, "pr.sock")
    peer = env.peer(sock, alloc, listed)
    ex = env.exporter(kdir, "--podresources-socket", sock, "--podresources-interval", "200ms",
                      "--podresources-timeout", "500ms", "--kubelet-grace", "30s")
    d = doc_of(ex)
    check(pr_status(d) == "ok", "baseline ok: %r" % pr_status(d))
    cpu0 = numa(d, 0)["resources"]["cpu"]
    check(cpu0 == {"capacity": 16, "allocatable": 14, "available": 6}, "baseline cpu %r" % cpu0)
    check(numa(d, 0)["resources"][DPDK]["available"] == 3, "pod A's VF is allocated")
    vf = [v for g in numa(d, 0)["devices"] for v in g["vfs"] if v["pci"] == "0000:18:01.1"]
    check(vf and vf[0]["allocated"] is True, "the VF podresources lists is allocated")
    sampler = Sampler(ex)
    sampler.start()
    try:
        # 1. kubelet restarts: the socket goes, the last good view stays; it comes back
        peer.stop()
        d = wait_doc(ex, lambda d: "no such socket" in (pr_status(d) or ""), 3, "socket loss seen")
        check("keeping the last good view" in pr_status(d), "last good view kept: %r" %
              pr_status(d))
        peer.start()
        wait_doc(ex, lambda d: pr_status(d) == "ok", 5, "ok again after the restart")

        # 2. a hung kubelet: every call sleeps past the 500ms deadline
        peer.set(hang=3.0)
        d = wait_doc(ex, lambda d: "DEADLINE_EXCEEDED" in (pr_status(d) or ""), 4,
                     "the deadline is reported")
        check("keeping the last good view" in pr_status(d), "hung: last good view kept")
        st, _, _ = ex.get("/healthz", timeout=5)
        check(st == 200, "/healthz 200 while podresources hangs: %r" % st)
        peer.set(hang=0.0)
        wait_doc(ex, lambda d: pr_status(d) == "ok", 8, "ok again after the hang")

        # 3. garbage
        m = podres_peer.pb()
        bad = [(b"\xff\xff\xff\xff", "is not a ListPodResourcesResponse"),
               (m.ListPodResourcesResponse(pod_resources=[m.PodResources(
                   namespace="ran", name="x", containers=[m.ContainerResources(
                       name="c", cpu_ids=[10 ** 9])])]), "CPU id 1000000000 outside"),
               (m.ListPodResourcesResponse(pod_resources=[m.PodResources(
                   namespace="ran", name="", containers=[])]), "without a namespace or a name")]
        for body, want in bad:
            peer.set(listed=body)
            d = wait_doc(ex, lambda d: want in (pr_status(d) or ""), 3, "garbage: " + want)
            check("keeping the last good view" in (pr_status(d) or ""),
                  "garbage %r: last good view kept" % want)
        # a NUMA node this machine does not have: accepted, said in errors[]
        odd = listed.__class__()
        odd.CopyFrom(listed)
        odd.pod_resources[0].containers[0].devices.append(m.ContainerDevices(
            resource_name="example.com/gpu", device_ids=["gpu-7"],
            topology=m.TopologyInfo(nodes=[m.NUMANode(ID=7)])))
        peer.set(listed=odd)
        d = wait_doc(ex, lambda d: any("NUMA node 7" in e for e in d.get("errors", [])), 3,
                     "an unknown NUMA node is an errors[] entry")
        check(pr_status(d) == "ok", "... and the answer is used: %r" % pr_status(d))

        # 4. 500 pods / 2,000 containers behind a List slower than a refresh
        _, _, _, big = vf_state(extra_pods=500)
        peer.set(listed=big, hang=0.3)
        wait_doc(ex, lambda d: pr_status(d) == "ok" and
                 not any("NUMA node 7" in e for e in d.get("errors", [])), 5, "500 pods served")
        time.sleep(1)
        peer.set(hang=0.0)
    finally:
        sampler.stop_ = True
        sampler.join()
    check(sampler.n > 50, "sampled %d documents" % sampler.n)
    check(sampler.worst < 0.5, "GET /v1/topology never stalled: worst %.3fs" % sampler.worst)
    check(not sampler.lost, "pod A's CPUs never lost meanwhile: %r" % sampler.lost[:3])


def test_grace(env):
    _, _, alloc, listed = vf_state()
    sock = os.path.join(env.tmp, "pr.sock")
    peer = env.peer(sock, alloc, listed)
    ex = env.exporter(env.kubelet_dir("api"), "--podresources-socket", sock,
                      "--podresources-interval", "200ms", "--kubelet-grace", "1s",
                      "--poll-interval", "200ms")
    check(numa(doc_of(ex), 0)["resources"]["cpu"]["available"] == 6, "baseline")
    peer.stop()
    d = wait_doc(ex, lambda d: numa(d, 0)["resources"]["cpu"]["available"] is None, 5,
                 "past the grace period what podresources fed is unknown")
    cpu = numa(d, 0)["resources"]["cpu"]
    check("podresources" in cpu.get("error", ""), "the reason names podresources: %r" % cpu)
    check("dropped after the 1s grace period" in pr_status(d), pr_status(d))
    check(numa(d, 0)["resources"][DPDK]["available"] is None, "device numbers unknown too")
    peer.start()
    d = wait_doc(ex, lambda d: numa(d, 0)["resources"]["cpu"]["available"] == 6, 5,
                 "known again when kubelet is back")


def test_disagreement(env):
    cpu, dev, _, _ = vf_state()
    # podresources: one CPU more, another VF, and CPU 1 not allocatable (the config reserves 0,32)
    _, _, alloc, listed = vf_state(cpus="2-6,34-37", vf="0000:18:01.2")
    alloc.cpu_ids.remove(1)
    kdir = env.kubelet_dir("both", {"cpu_manager_state": cpu,
                             "device-plugins/kubelet_internal_checkpoint": dev})
    peer = env.peer(os.path.join(kdir, "pod-resources", "kubelet.sock"), alloc, listed)
    ex = env.exporter(kdir, "--podresources-interval", "200ms")
    d = wait_doc(ex, lambda d: any("disagree on exclusive CPUs" in e for e in
                                   d.get("errors", [])), 3, "the CPU disagreement is reported")
    errs = d.get("errors", [])
    check(any('podresources only "6"' in e for e in errs), "which CPU: %r" % errs)
    check(any("disagree on allocated devices" in e for e in errs), "the VFs too: %r" % errs)
    check(numa(d, 0)["cpus"]["allocated"] == "2-6,34-37", "podresources wins: %r" %
          numa(d, 0)["cpus"]["allocated"])
    vfs = {v["pci"]: v["allocated"] for g in numa(d, 0)["devices"] for v in g["vfs"]}
    check(vfs.get("0000:18:01.2") is True and vfs.get("0000:18:01.1") is False,
          "podresources' VF is the allocated one: %r" % vfs)
    check(metric(ex, "numafit_exporter_podresources_disagreements", 'what="cpus"') == 1,
          "disagreements{what=cpus} 1")
    check(metric(ex, "numafit_exporter_podresources_disagreements", 'what="devices"') == 2,
          "disagreements{what=devices} 2")
    check(metric(ex, "numafit_exporter_podresources_disagreements", 'what="reservedCpus"') == 1,
          "disagreements{what=reservedCpus} 1")
    check(any("online minus reserved" in e and 'only "1"' in e for e in errs),
          "the CPU kubelet does not hand out: %r" % errs)
    _, _, alloc, listed = vf_state()
    peer.set(alloc, listed)
    d = wait_doc(ex, lambda d: not any("disagree" in e for e in d.get("errors", [])), 3,
                 "agreeing again clears errors[]")
    for what in ("cpus", "devices", "reservedCpus"):
        check(metric(ex, "numafit_exporter_podresources_disagreements", 'what="%s"' % what) == 0,
              "disagreements{what=%s} 0 again" % what)


def test_privsep(env):
    """--privsep-user: the root collector (seccomp: no IP sockets) asks over its unix socket."""
    if os.geteuid() != 0:
        print("SKIP test_privsep: needs root (--privsep-user switches the http process's user)")
        return
    _, _, alloc, listed = vf_state()
    kdir = env.kubelet_dir("api")
    env.peer(os.path.join(kdir, "pod-resources", "kubelet.sock"), alloc, listed)
    d = doc_of(env.exporter(kdir, "--privsep-user", "nobody"))
    check(pr_status(d) == "ok", "podresources ok under --privsep-user: %r" % pr_status(d))
    check(numa(d, 0)["resources"]["cpu"]["available"] == 6, "pod A's CPUs from podresources")


def main():
    return run_tests((test_same_document, test_restart_hang_garbage, test_grace,
                      test_disagreement, test_privsep), Env)


if __name__ == "__main__":
    sys.exit(main())
