#!/usr/bin/env python3
"""burst_sim.py - a burst of DPDK pods through kube-scheduler, numafit and kubelet (real parts)

    burst_sim.py [--nodes 24] [--pods 120] [--mode nobind|bind] [--interval 2] [--admit-delay 300]
                 [--kill-extender-at N] [--json] ...          (--help lists every flag)

What is real and what is emulated:
  real      one numafit-exporter process per node, on its own fake sysfs tree (mkfixture.py preset
            `telco`: 2 sockets x 2 NUMA nodes, DPDK VFs on numa0 and numa2 only), kubelet dir and
            KubeletConfiguration (static CPU manager, full-pcpus-only, single-numa-node, scope pod)
            and tests/fixtures/sriov-config.json; one numafit-extender pulling all of them (bind
            mode: with --kubeconfig pointing at the fake API server); the fake kube-apiserver
            (tests/fakes/fake_apiserver.py, run as its own process so that its GIL is not ours).
  emulated  kube-scheduler (a loop in this process: queue, node-totals filter, extender
            /filter + /prioritize, assume, asynchronous binding cycle) and kubelet (one thread per
            node: admits each bound pod --admit-delay after the bind, in bind order, with the
            Topology Manager's single-numa-node merge of the CPU manager's and the device
            manager's hints; writes kubelet's state files and the pod status as kubelet does).

Time line of one pod: created in the API server -> scheduling cycle (node totals of the scheduler's
cache minus assumed pods; POST /filter with NodeNames; POST /prioritize unless one node passed;
best score, ties at random with --seed) -> assumed -> binding cycle in a thread pool while the next
pod's cycle starts (bind: POST /bind to the extender; nobind: the Binding is created by the
scheduler) -> the watch shows spec.nodeName -> the node's kubelet admits it after --admit-delay:
TopologyAffinityError (status Failed) or Running (device checkpoint, then cpu_manager_state a few
ms later, then 1 GiB pages taken off the NUMA node's free_hugepages).

A run ends when every pod is Running or Failed, or when nothing happened for --settle seconds
(no bind, no admission, no binding in flight, kubelets idle: the pods still pending do not fit),
or at --deadline. Output: one summary line (and --json: one JSON document on stdout, the line on
stderr). Exit 0 when the run finished (whatever the figures), 1 when it could not run.

Capacity is computed from the machine spec alone (per NUMA node: min over resources of
free/request, summed), not from anything the run observed.
"""
import argparse
import collections
import concurrent.futures
import ctypes
import heapq
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "fixtures"))
import kubeletstate  # noqa: E402
import mkfixture  # noqa: E402

SRC = os.environ.get("NF_SOURCE_DIR", os.path.dirname(TESTS))
BUILD = os.environ.get("NF_BUILD_DIR", os.path.join(SRC, "build"))
EXPORTER = os.path.join(BUILD, "exporter", "numafit-exporter")
EXTENDER = os.path.join(BUILD, "extender", "numafit-extender")
FAKE_APISERVER = os.path.join(SRC, "tests", "fakes", "fake_apiserver.py")
SRIOV_CONFIG = os.path.join(SRC, "tests", "fixtures", "sriov-config.json")
GIB = 1 << 30
GIB_KB = 1024 * 1024
NAMESPACE = "burst"
CONTAINER = "dpdk"
TOKEN = "burst-sim-token"
CREATORS = 4
FAKE_MAIN = ("import socketserver, sys; "
             "socketserver.StreamRequestHandler.disable_nagle_algorithm = True; "
             "sys.path.insert(0, sys.argv[1]); import fake_apiserver; "
             "sys.exit(fake_apiserver.main(sys.argv[2:]))")
_SERVING = re.compile(r'msg="[^"]*serving".* port=(\d+)')

# ---- small helpers --------------------------------------------------------------------------


def log(msg):
    sys.stderr.write("burst_sim: %s\n" % msg)
    sys.stderr.flush()


def quantity(s):
    """A Kubernetes quantity as a float in base units (cpu: cores; memory: bytes)."""
    s = str(s).strip()
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", s)
    if not m:
        raise ValueError("bad quantity %r" % s)
    mult = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1 << 10,
            "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}[m.group(2)]
    return float(m.group(1)) * mult


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return round(v[k], 2)


def _pdeathsig():
    """Child processes get SIGTERM when this process dies (even by SIGKILL): no orphans. All
    children are started from the main thread (the signal follows the thread that forked)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl

    def fn():
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    return fn


PREEXEC = _pdeathsig()


def child_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMAFIT_")}
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    return env


class Http:
    """JSON over HTTP/1.1 keep-alive, one connection per thread (as Go's transport pools them)."""

    def __init__(self, host, port, token=None, timeout=5.0):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self._tl = threading.local()

    def _conn(self):
        c = getattr(self._tl, "c", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._tl.c = c
        return c

    def _drop(self):
        c = getattr(self._tl, "c", None)
        if c is not None:
            c.close()
        self._tl.c = None

    def call(self, method, path, body=None, ctype="application/json", idempotent=True):
        """(status, decoded JSON or text); raises OSError/HTTPException when no answer came.
        A request on a reused keep-alive connection is sent once more on a new connection when
        sending it failed (the server never got it) or, for an idempotent one, when no answer
        came: what Go's transport does (nothingWrittenError / errServerClosedIdle)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in (0, 1):
            c = self._conn()
            reused = c.sock is not None
            sent = False
            try:
                c.request(method, path, body=data, headers=headers)
                sent = True
                r = c.getresponse()
                raw = r.read()
                if r.will_close:
                    self._drop()
                try:
                    return r.status, json.loads(raw or b"null")
                except ValueError:
                    return r.status, raw.decode(errors="replace")
            except (http.client.HTTPException, OSError):
                self._drop()
                if attempt == 0 and reused and (idempotent or not sent):
                    continue
                raise


# ---- the machines: spec and capacity --------------------------------------------------------


def sriov_resources(path):
    """[(resource name, selector dicts)] from the SR-IOV device plugin's config.json."""
    with open(path) as f:
        cfg = json.load(f)
    out = []
    for r in cfg.get("resourceList", []):
        sels = r.get("selectors") or {}
        sels = sels if isinstance(sels, list) else [sels]
        out.append(("%s/%s" % (r.get("resourcePrefix") or "intel.com", r["resourceName"]), sels))
    return out


def vf_resource(resources, vendor, device, driver):
    for name, sels in resources:
        for s in sels:
            if ((not s.get("vendors") or vendor in s["vendors"]) and
                    (not s.get("devices") or device in s["devices"]) and
                    (not s.get("drivers") or driver in s["drivers"])):
                return name
    return None


class NodeSpec:
    """What one node is: from the mkfixture preset, the reserved CPUs and the SR-IOV config."""

    def __init__(self, name, preset, reserved, resource, sriov):
        self.name, self.preset, self.reserved_text = name, preset, reserved
        self.machine = mkfixture.PRESETS[preset]()
        m = self.machine
        self.reserved = set(cpuset_parse(reserved))
        self.online = sorted(set(m.cpus) - m.offline)
        cores = collections.defaultdict(list)
        for c in self.online:
            i = m.cpus[c]
            cores[(i["socket"], i["core"])].append(c)
        self.threads = max(len(v) for v in cores.values())
        self.numas = sorted(m.nodes)
        # per NUMA node: whole cores none of whose threads is reserved (full-pcpus-only)
        self.free_cores = {n: [] for n in self.numas}
        self.free_cpus = {n: [] for n in self.numas}
        for key in sorted(cores, key=lambda k: min(cores[k])):
            cpus = sorted(cores[key])
            node = m.cpus[cpus[0]]["node"]
            free = [c for c in cpus if c not in self.reserved]
            self.free_cpus[node] += free
            if len(free) == len(cpus) == self.threads:
                self.free_cores[node].append(tuple(cpus))
        self.resource = resource
        self.vfs = {n: [] for n in self.numas}
        self.all_vfs = []
        for pf in m.pfs:
            if vf_resource(sriov, pf["vendor"], pf["vf_device"], pf["vf_driver"]) != resource:
                continue
            for i in range(pf["nvfs"]):
                bdf = mkfixture.vf_bdf(pf["bdf"], i)
                self.all_vfs.append(bdf)
                if pf["numa"] is not None and pf["numa"] >= 0:
                    self.vfs[pf["numa"]].append(bdf)
        self.hp_free = {n: m.nodes[n]["hp"].get(GIB_KB, (0, 0, 0))[1] for n in self.numas}
        # node allocatable as kubelet reports it to the scheduler
        self.alloc = {
            "cpu": len([c for c in self.online if c not in self.reserved]),
            "memory": sum(n["mem_total"] for n in m.nodes.values()) * 1024,
            "hugepages-1Gi": sum(n["hp"].get(GIB_KB, (0, 0, 0))[0] for n in m.nodes.values()) * GIB,
            resource: len(self.all_vfs),
            "pods": 110,
        }

    def capacity(self, shape):
        """Pods of `shape` this node holds, each on one NUMA node (summed over NUMA nodes)."""
        total = 0
        for n in self.numas:
            fits = []
            if shape.cpu:
                per_core = self.threads
                fits.append(len(self.free_cores[n]) // (shape.cpu // per_core)
                            if shape.cpu % per_core == 0 else 0)
            if shape.hp_gi:
                fits.append(self.hp_free[n] // shape.hp_gi)
            if shape.vfs:
                fits.append(len(self.vfs[n]) // shape.vfs)
            total += min(fits) if fits else 0
        return total


def cpuset_parse(text):
    out = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


class Shape:
    def __init__(self, cpu, hp_gi, vfs, memory_gi, resource):
        self.cpu, self.hp_gi, self.vfs, self.memory_gi, self.resource = (
            cpu, hp_gi, vfs, memory_gi, resource)

    def requests(self):
        r = {"cpu": str(self.cpu), "memory": "%dGi" % self.memory_gi}
        if self.hp_gi:
            r["hugepages-1Gi"] = "%dGi" % self.hp_gi
        if self.vfs:
            r[self.resource] = str(self.vfs)
        return r

    def pod(self, i, rng):
        req = self.requests()
        return {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "dpdk-%04d" % i, "namespace": NAMESPACE,
                         "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                         "labels": {"app": "dpdk-burst"}},
            "spec": {"schedulerName": "default-scheduler", "restartPolicy": "Always",
                     "containers": [{"name": CONTAINER, "image": "dpdk-app:latest",
                                     "resources": {"requests": dict(req), "limits": dict(req)}}],
                     "volumes": [{"name": "hugepage", "emptyDir": {"medium": "HugePages"}}]},
        }


def pod_requests(pod):
    """Sum of the containers' requests (pod scope), in base units; Guaranteed QoS or not."""
    total = collections.Counter()
    guaranteed = True
    for c in pod.get("spec", {}).get("containers", []):
        res = c.get("resources", {})
        req, lim = res.get("requests", {}) or {}, res.get("limits", {}) or {}
        for k, v in req.items():
            total[k] += quantity(v)
        for k in ("cpu", "memory"):
            if k not in lim or quantity(lim[k]) != quantity(req.get(k, lim[k])):
                guaranteed = False
    return total, guaranteed


# ---- processes ----------------------------------------------------------------------------


class Proc:
    """A server process whose stderr goes to a file; its port comes from the `serving` line."""

    def __init__(self, argv, logpath, name):
        self.name, self.logpath, self.argv = name, logpath, argv
        self.port = None
        self.logf = open(logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.logf,
                                     env=child_env(), preexec_fn=PREEXEC)

    def find_port(self):
        if self.port is None:
            try:
                with open(self.logpath) as f:
                    m = _SERVING.search(f.read())
                if m:
                    self.port = int(m.group(1))
            except OSError:
                pass
        return self.port

    def wait_port(self, timeout):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if self.find_port():
                return self.port
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError("%s did not start (exit %r): %s" % (self.name, self.proc.poll(),
                                                              self.tail()))

    def tail(self, n=15):
        try:
            with open(self.logpath) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


# ---- kubelet ------------------------------------------------------------------------------


class Kubelet(threading.Thread):
    """One node's kubelet, as far as admission goes: static CPU manager (full-pcpus-only when the
    threads per core say so), device manager, Topology Manager single-numa-node with scope pod."""

    def __init__(self, sim, spec, root, kdir):
        super().__init__(name="kubelet-" + spec.name, daemon=True)
        self.sim, self.spec, self.root, self.kdir = sim, spec, root, kdir
        self.free_cores = {n: list(v) for n, v in spec.free_cores.items()}
        self.free_vfs = {n: list(v) for n, v in spec.vfs.items()}
        self.hp_free = dict(spec.hp_free)
        self.cpu_entries = {}  # uid -> {container: cpulist}
        self.dev_entries = []  # (uid, container, resource, {numa: [ids]})
        self.queue = collections.deque()  # (due, pod) in bind order
        self.cond = threading.Condition()
        self.stopping = False
        self.busy = False
        self.write_state()

    def note(self, line):
        """One line in <tmp>/kubelet-<node>.log: what the admission saw and decided."""
        with open(os.path.join(self.sim.tmp, "kubelet-%s.log" % self.spec.name), "a") as f:
            f.write("%.3f %s\n" % (time.monotonic(), line))

    def write_state(self, gap=0.0):
        """Device checkpoint, then (gap seconds later) cpu_manager_state: two renames, in the
        order kubelet's Topology Manager calls its providers' Allocate (devices first)."""
        kubeletstate.write_atomic(
            os.path.join(self.kdir, "device-plugins", "kubelet_internal_checkpoint"),
            kubeletstate.device_checkpoint(self.dev_entries,
                                           {self.spec.resource: self.spec.all_vfs}))
        if gap:
            time.sleep(gap)
        assigned = set()
        for conts in self.cpu_entries.values():
            for cl in conts.values():
                assigned |= set(cpuset_parse(cl))
        default = mkfixture.cpulist([c for c in self.spec.online if c not in assigned])
        kubeletstate.write_atomic(os.path.join(self.kdir, "cpu_manager_state"),
                                  kubeletstate.cpu_manager_state(self.cpu_entries, default))

    def expected(self):
        """{numa: {resource: free}} as the exporter should publish it (available)."""
        with self.cond:
            assigned = set()
            for conts in self.cpu_entries.values():
                for cl in conts.values():
                    assigned |= set(cpuset_parse(cl))
            return {n: {"cpu": len([c for c in self.spec.free_cpus[n] if c not in assigned]),
                        "hugepages-1Gi": self.hp_free[n] * GIB,
                        **({self.spec.resource: len(self.free_vfs[n])} if self.spec.vfs[n] else {})}
                    for n in self.spec.numas}

    def bound(self, pod, t):
        with self.cond:
            self.queue.append((t + self.sim.args.admit_delay / 1000.0, pod))
            self.cond.notify()

    def idle(self):
        with self.cond:
            return not self.queue and not self.busy

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while not self.stopping:
                    if self.queue:
                        wait = self.queue[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self.cond.wait(wait)
                    else:
                        self.cond.wait(0.5)
                if self.stopping:
                    return
                _, pod = self.queue.popleft()
                self.busy = True
            try:
                self.admit(pod)
            except Exception as e:  # a bug here must not hang the run: report it
                self.sim.error("kubelet %s: admitting %s: %r" % (self.spec.name,
                                                                pod["metadata"]["name"], e))
            finally:
                with self.cond:
                    self.busy = False

    def admit(self, pod):
        meta = pod["metadata"]
        uid, ns, name = meta["uid"], meta["namespace"], meta["name"]
        req, guaranteed = pod_requests(pod)
        cpu = req.get("cpu", 0)
        exclusive = guaranteed and cpu > 0 and cpu == int(cpu)
        cpu = int(cpu) if exclusive else 0
        vfs = int(req.get(self.spec.resource, 0))
        threads = self.spec.threads
        if exclusive and threads > 1 and cpu % threads:
            return self.reject(ns, name, "SMTAlignmentError",
                               "SMT Alignment Error: requested %d cpus not multiple cpus "
                               "per core = %d" % (cpu, threads))
        # hints: a provider with nothing to say for this pod accepts every NUMA node
        cpu_hint = set(self.spec.numas)
        if exclusive:
            cpu_hint = {n for n in self.spec.numas if len(self.free_cores[n]) * threads >= cpu}
        dev_hint = set(self.spec.numas)
        if vfs:
            dev_hint = {n for n in self.spec.numas if len(self.free_vfs[n]) >= vfs}
        merged = sorted(cpu_hint & dev_hint)
        self.note("admit pod=%s/%s uid=%s cpu_hint=%s dev_hint=%s free_cores=%s free_vfs=%s -> %s"
                  % (ns, name, uid, sorted(cpu_hint), sorted(dev_hint),
                     {n: len(v) for n, v in self.free_cores.items()},
                     {n: len(v) for n, v in self.free_vfs.items()},
                     "numa%d" % merged[0] if merged else "TopologyAffinityError"))
        if not merged:
            self.sim.count("topology_affinity_errors")
            return self.reject(ns, name, "TopologyAffinityError",
                               "Resources cannot be allocated with Topology locality")
        n = merged[0]
        cores, self.free_cores[n] = (self.free_cores[n][:cpu // threads],
                                     self.free_cores[n][cpu // threads:])
        ids, self.free_vfs[n] = self.free_vfs[n][:vfs], self.free_vfs[n][vfs:]
        if exclusive:
            self.cpu_entries[uid] = {CONTAINER: mkfixture.cpulist([c for k in cores for c in k])}
        if vfs:
            self.dev_entries.append((uid, CONTAINER, self.spec.resource, {n: ids}))
        self.write_state(self.sim.args.state_gap / 1000.0)
        self.sim.patch_status(ns, name, {
            "phase": "Running", "hostIP": "127.0.0.1", "podIP": "10.244.0.1",
            "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "containerStatuses": [{"name": CONTAINER, "ready": True, "restartCount": 0,
                                   "image": "dpdk-app:latest",
                                   "state": {"running": {}}}]})
        self.sim.count("admitted")
        hp = int(req.get("hugepages-1Gi", 0) // GIB)
        if hp and self.sim.args.take_hugepages:  # DPDK allocates its pages on the NIC's node
            self.hp_free[n] = max(0, self.hp_free[n] - hp)
            kubeletstate.write_atomic(
                os.path.join(self.root, "sys/devices/system/node/node%d/hugepages/"
                             "hugepages-1048576kB/free_hugepages" % n), "%d\n" % self.hp_free[n])

    def reject(self, ns, name, reason, message):
        self.sim.patch_status(ns, name, {"phase": "Failed", "reason": reason,
                                         "message": "Pod was rejected: " + message})
        if reason != "TopologyAffinityError":
            self.sim.count("other_admission_errors")


# ---- the API server's pods, as the informers of kube-scheduler and kubelet see them ----------


class Informer(threading.Thread):
    """One watch on every pod; tells the scheduler and the node's kubelet what changed."""

    def __init__(self, sim):
        super().__init__(name="informer", daemon=True)
        self.sim = sim
        self.pods = {}  # key -> {"node", "phase", "reason"}
        self.lock = threading.Lock()
        self.stopping = False
        self.conn = None
        self.rv = ""
        self.ready = threading.Event()

    def stop(self):
        self.stopping = True
        c = self.conn
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def relist(self):
        st, body = self.sim.api.call("GET", "/api/v1/pods")
        if st != 200:
            raise RuntimeError("list pods: %d %r" % (st, body))
        for p in body.get("items", []):
            self.handle(p)
        self.rv = body.get("metadata", {}).get("resourceVersion", "")

    def run(self):
        while not self.stopping:
            try:
                self.relist()
                self.watch()
            except (OSError, http.client.HTTPException, ValueError, RuntimeError) as e:
                if self.stopping:
                    return
                self.sim.error("watch: %r (re-listing)" % e)
                time.sleep(0.1)

    def watch(self):
        c = http.client.HTTPConnection(self.sim.api.host, self.sim.api.port, timeout=None)
        self.conn = c
        if self.stopping:
            return
        c.request("GET", "/api/v1/pods?watch=true&resourceVersion=%s&timeoutSeconds=600" % self.rv,
                  headers={"Authorization": "Bearer " + TOKEN})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError("watch: HTTP %d" % r.status)
        self.ready.set()
        while not self.stopping:
            line = r.readline()
            if not line:
                return  # the server ended the watch: re-list and watch again
            ev = json.loads(line)
            if ev.get("type") == "ERROR":
                raise RuntimeError("watch ERROR %r" % ev.get("object"))
            obj = ev.get("object", {})
            self.rv = obj.get("metadata", {}).get("resourceVersion", self.rv)
            if ev.get("type") in ("ADDED", "MODIFIED"):
                self.handle(obj)

    def handle(self, pod):
        meta = pod["metadata"]
        key = "%s/%s" % (meta["namespace"], meta["name"])
        node = pod.get("spec", {}).get("nodeName") or ""
        st = pod.get("status", {})
        phase, reason = st.get("phase", ""), st.get("reason", "")
        now = time.monotonic()
        with self.lock:
            old = self.pods.get(key, {"node": "", "phase": "", "reason": ""})
            self.pods[key] = {"node": node, "phase": phase, "reason": reason}
        if node and not old["node"]:
            self.sim.on_bound(key, pod, node, now)
        if phase != old["phase"] and phase in ("Running", "Failed", "Succeeded"):
            self.sim.on_phase(key, node, phase, now)

    def get(self, key):
        with self.lock:
            return dict(self.pods.get(key) or {"node": "", "phase": "", "reason": ""})


# ---- kube-scheduler --------------------------------------------------------------------------


class QueuedPod:
    def __init__(self, pod, seq):
        self.pod = pod
        self.key = "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])
        self.seq = seq
        self.req, _ = pod_requests(pod)
        self.backoff = 0.0
        self.attempts = 0
        self.state = "queued"  # queued | binding | bound


class Scheduler(threading.Thread):
    """kube-scheduler's loop with one extender (filterVerb, prioritizeVerb, bindVerb in bind
    mode), nodeCacheCapable: true, not ignorable."""

    def __init__(self, sim):
        super().__init__(name="scheduler", daemon=True)
        self.sim = sim
        self.args = sim.args
        self.rng = random.Random(sim.args.seed)
        self.cond = threading.Condition()
        self.heap = []  # (ready time, seq, QueuedPod)
        self.pods = {}  # key -> QueuedPod
        self.assigned = {}  # key -> node (assumed or bound; the scheduler cache)
        self.used = {n: collections.Counter() for n in sim.node_names}
        self.stopping = False
        self.inflight = 0
        self.next_start = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32,
                                                          thread_name_prefix="bind")

    # queue
    def add(self, pod):
        with self.cond:
            qp = QueuedPod(pod, len(self.pods))
            self.pods[qp.key] = qp
            heapq.heappush(self.heap, (time.monotonic(), qp.seq, qp))
            self.cond.notify()

    def requeue(self, qp):
        """Back off: 50 ms doubling to 1 s (kube-scheduler: podInitialBackoffSeconds 1,
        podMaxBackoffSeconds 10; shortened so that a run stays short)."""
        qp.backoff = min(self.args.max_backoff / 1000.0,
                         max(self.args.initial_backoff / 1000.0, qp.backoff * 2))
        with self.cond:
            qp.state = "queued"
            heapq.heappush(self.heap, (time.monotonic() + qp.backoff, qp.seq, qp))
            self.cond.notify()

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    # cache
    def _add_used(self, node, qp, sign):
        u = self.used[node]
        for k, v in qp.req.items():
            u[k] += sign * v
        u["pods"] += sign

    def assume(self, qp, node):
        with self.cond:
            if qp.key not in self.assigned:
                self.assigned[qp.key] = node
                self._add_used(node, qp, 1)

    def forget(self, qp):
        with self.cond:
            if self.sim.informer.get(qp.key)["node"]:
                return  # the watch shows it bound after all: keep it
            node = self.assigned.pop(qp.key, None)
            if node:
                self._add_used(node, qp, -1)

    def on_bound(self, key, node):
        with self.cond:
            qp = self.pods.get(key)
            if qp is None:
                return
            old = self.assigned.get(key)
            if old != node:
                if old:
                    self._add_used(old, qp, -1)
                self.assigned[key] = node
                self._add_used(node, qp, 1)
            qp.state = "bound"

    def on_terminal(self, key):
        """A Failed/Succeeded pod leaves the scheduler's cache (its informer filters them out)."""
        with self.cond:
            qp = self.pods.get(key)
            node = self.assigned.pop(key, None)
            if qp and node:
                self._add_used(node, qp, -1)

    def pending(self):
        with self.cond:
            return sum(1 for q in self.pods.values() if q.state != "bound")

    # one scheduling cycle
    def fits_totals(self, node, qp):
        alloc, used = self.sim.specs[node].alloc, self.used[node]
        for k, v in qp.req.items():
            if k in ("cpu", "memory", "hugepages-1Gi", "hugepages-2Mi") or "/" in k:
                if used[k] + v > alloc.get(k, 0) + 1e-9:
                    return False
        return used["pods"] + 1 <= alloc["pods"]

    def num_to_find(self, n):
        """kube-scheduler's numFeasibleNodesToFind with the adaptive percentage."""
        if n < 100:
            return n
        pct = max(5, 50 - n // 125)
        return max(100, n * pct // 100)

    def run(self):
        while True:
            with self.cond:
                while not self.stopping:
                    if self.heap and self.heap[0][0] <= time.monotonic():
                        break
                    wait = (self.heap[0][0] - time.monotonic()) if self.heap else 0.5
                    self.cond.wait(max(0.0005, min(wait, 0.5)))
                if self.stopping:
                    return
                _, _, qp = heapq.heappop(self.heap)
            if self.sim.informer.get(qp.key)["node"]:
                with self.cond:
                    qp.state = "bound"
                continue
            try:
                self.schedule_one(qp)
            except Exception as e:
                self.sim.error("scheduling %s: %r" % (qp.key, e))
                self.requeue(qp)

    def schedule_one(self, qp):
        sim = self.sim
        qp.attempts += 1
        names = sim.node_names
        with self.cond:
            want = self.num_to_find(len(names))
            feasible, processed = [], 0
            for i in range(len(names)):
                node = names[(self.next_start + i) % len(names)]
                processed += 1
                if self.fits_totals(node, qp):
                    feasible.append(node)
                    if len(feasible) >= want:
                        break
            self.next_start = (self.next_start + processed) % len(names)
        if not feasible:
            sim.count("unschedulable_attempts")
            return self.requeue(qp)
        ext = sim.ext_http
        t0 = time.monotonic()
        try:
            st, ans = ext.call("POST", "/filter", {"Pod": qp.pod, "Nodes": None,
                                                   "NodeNames": feasible})
        except (OSError, http.client.HTTPException) as e:
            st, ans = 0, str(e)
        sim.lat["filter"].append((time.monotonic() - t0) * 1000)
        sim.trace("filter %s %.1f-%.1f ms passed=%d" % (qp.key, (t0 - sim.t0) * 1000,
                                                     (time.monotonic() - sim.t0) * 1000,
                                                     len((ans or {}).get("NodeNames") or [])
                                                     if isinstance(ans, dict) else -1))
        if st != 200 or not isinstance(ans, dict) or ans.get("Error"):
            sim.count("filter_errors")
            sim.note_error("filter", st, ans)
            return self.requeue(qp)
        passed = ans.get("NodeNames") or []
        if any(n not in feasible for n in passed):
            sim.count("filter_errors")
            sim.note_error("filter", st, "answered a node it was not asked about")
            return self.requeue(qp)
        if not passed:
            sim.count("unschedulable_attempts")
            return self.requeue(qp)
        if len(passed) == 1:
            node = passed[0]  # kube-scheduler skips scoring when one node is feasible
        else:
            scores = {n: 0 for n in passed}
            t0 = time.monotonic()
            try:
                st, pr = ext.call("POST", "/prioritize", {"Pod": qp.pod, "Nodes": None,
                                                          "NodeNames": passed})
            except (OSError, http.client.HTTPException) as e:
                st, pr = 0, str(e)
            sim.lat["prioritize"].append((time.monotonic() - t0) * 1000)
            if st == 200 and isinstance(pr, list):
                for h in pr:
                    if h.get("Host") in scores:
                        scores[h["Host"]] = max(0, min(10, int(h.get("Score", 0))))
            else:
                sim.count("prioritize_errors")  # ignored, as kube-scheduler does
            best = max(scores.values())
            node = self.rng.choice(sorted(n for n in passed if scores[n] == best))
        self.assume(qp, node)
        with self.cond:
            qp.state = "binding"
            self.inflight += 1
        self.pool.submit(self.bind, qp, node)

    def bind(self, qp, node):
        sim = self.sim
        meta = qp.pod["metadata"]
        ok, why = False, ""
        t0 = time.monotonic()
        try:
            if sim.args.mode == "bind":
                st, ans = sim.ext_http.call("POST", "/bind", {
                    "PodName": meta["name"], "PodNamespace": meta["namespace"],
                    "PodUID": meta["uid"], "Node": node}, idempotent=False)
                ok = st == 200 and isinstance(ans, dict) and not ans.get("Error")
                why = "" if ok else "HTTP %d %s" % (st, (ans or {}).get("Error", "")
                                                    if isinstance(ans, dict) else str(ans)[:200])
            else:
                st, ans = sim.api.call(
                    "POST", "/api/v1/namespaces/%s/pods/%s/binding" % (meta["namespace"],
                                                                       meta["name"]),
                    {"apiVersion": "v1", "kind": "Binding",
                     "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                  "uid": meta["uid"]},
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}},
                    idempotent=False)
                ok = st == 201
                why = "" if ok else "HTTP %d %s" % (st, (ans or {}).get("message", "")
                                                    if isinstance(ans, dict) else ans)
        except (OSError, http.client.HTTPException) as e:
            why = repr(e)
        sim.lat["bind"].append((time.monotonic() - t0) * 1000)
        sim.trace("bind %s %s %.1f-%.1f ms ok=%s %s" % (qp.key, node, (t0 - sim.t0) * 1000,
                                                     (time.monotonic() - sim.t0) * 1000, ok, why))
        if ok:
            sim.count("binds")
            with self.cond:
                if qp.state == "binding":
                    qp.state = "bound"
        else:
            sim.count("bind_errors")
            sim.note_error("bind", "-", why)
            self.forget(qp)
            if self.sim.informer.get(qp.key)["node"]:
                with self.cond:
                    qp.state = "bound"
            else:
                self.requeue(qp)
        with self.cond:
            self.inflight -= 1
        sim.progress()


# ---- the simulation ------------------------------------------------------------------------


class Sim:
    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.api_proc = None
        self.api = None
        self.exporters = {}
        self.ext = None
        self.ext_port = None
        self.ext_http = None
        self.ext_argv = None
        self.ext_gen = 0
        self.kubelets = {}
        self.specs = {}
        self.informer = None
        self.scheduler = None
        self.counters = collections.Counter()
        self.clock = threading.Lock()
        self.lat = {"filter": [], "prioritize": [], "bind": [], "create": []}
        self.errors = []
        self.last_errors = {}
        self.last_progress = time.monotonic()
        self.bound_seen = 0
        self.t_first_bind = None
        self.t_last_bind = None
        self.t0 = time.monotonic()
        self.restart_ready_ms = []
        self.setup_times = collections.Counter()
        rng = random.Random(args.seed)
        self.pod_rng = random.Random(rng.getrandbits(64))
        self.node_names = ["burst-%03d" % i for i in range(args.nodes)]

    # bookkeeping shared by the threads
    def count(self, what, n=1):
        with self.clock:
            self.counters[what] += n

    def progress(self):
        self.last_progress = time.monotonic()

    def error(self, msg):
        with self.clock:
            if len(self.errors) < 50:
                self.errors.append(msg)
        if self.args.verbose:
            log(msg)

    def trace(self, msg):
        if self.args.verbose > 2:
            log(msg)

    def note_error(self, verb, st, what):
        text = what if isinstance(what, str) else json.dumps(what)[:300]
        with self.clock:
            self.last_errors[verb] = "status %s: %s" % (st, text[:300])
        if self.args.verbose > 1:
            log("%s error: status %s: %s" % (verb, st, text[:300]))

    def patch_status(self, ns, name, status):
        st, body = self.api.call("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, name),
                                 {"status": status}, ctype="application/merge-patch+json")
        if st != 200:
            self.error("status of %s/%s: HTTP %d %r" % (ns, name, st, body))

    def on_bound(self, key, pod, node, t):
        with self.clock:
            self.bound_seen += 1
            if self.t_first_bind is None:
                self.t_first_bind = t
            self.t_last_bind = t
        self.progress()
        if self.scheduler:
            self.scheduler.on_bound(key, node)
        k = self.kubelets.get(node)
        if k is None:
            self.error("pod %s bound to unknown node %s" % (key, node))
            return
        k.bound(pod, t)

    def on_phase(self, key, node, phase, t):
        self.progress()
        if phase in ("Failed", "Succeeded") and self.scheduler:
            self.scheduler.on_terminal(key)

    # setup
    def setup(self):
        a = self.args
        self.tmp = tempfile.mkdtemp(prefix="nf-burst-")
        if not os.path.exists(FAKE_APISERVER):
            raise RuntimeError("no fake API server at %s" % FAKE_APISERVER)
        for b in (EXPORTER, EXTENDER):
            if not os.access(b, os.X_OK):
                raise RuntimeError("%s is not built (NF_BUILD_DIR=%s)" % (b, BUILD))
        if a.mode == "bind":
            help_text = subprocess.run([EXTENDER, "--help"], capture_output=True, text=True,
                                       timeout=20).stdout
            if "--kubeconfig" not in help_text:
                raise RuntimeError("this numafit-extender has no --kubeconfig: bind mode needs "
                                   "the extender's POST /bind (not built in %s)" % BUILD)
        t0 = time.monotonic()
        # fake_apiserver.py as a program, with TCP_NODELAY on its connections: it writes the
        # headers and the body of an answer in two send()s, and Nagle + the client's delayed ACK
        # then add 40 ms to every call (a real kube-apiserver, in Go, sets TCP_NODELAY)
        self.api_proc = Proc([sys.executable, "-c", FAKE_MAIN, os.path.dirname(FAKE_APISERVER),
                              "--listen", "127.0.0.1:0", "--token", TOKEN],
                             os.path.join(self.tmp, "apiserver.log"), "fake-apiserver")
        api_port = self.api_proc.wait_port(20)
        self.api = Http("127.0.0.1", api_port, TOKEN, timeout=10)
        sriov = sriov_resources(SRIOV_CONFIG)
        variants = [v.split(":", 1) for v in a.variants.split()]
        poll = a.poll_interval or ("200ms" if a.nodes <= 50 else "1s")
        for i, node in enumerate(self.node_names):
            preset, reserved = variants[i % len(variants)]
            tf = time.monotonic()
            spec = NodeSpec(node, preset, reserved, a.resource, sriov)
            self.specs[node] = spec
            root = os.path.join(self.tmp, node)
            mkfixture.write_machine(spec.machine, root)
            kdir = os.path.join(self.tmp, node + "-kubelet")
            os.makedirs(os.path.join(kdir, "device-plugins"))
            cfg = os.path.join(self.tmp, node + "-kubelet.yaml")
            with open(cfg, "w") as f:
                f.write(kubelet_config(reserved, spec.threads > 1))
            self.kubelets[node] = Kubelet(self, spec, root, kdir)
            self.setup_times["fixtures"] += time.monotonic() - tf
        te = time.monotonic()
        for node in self.node_names:  # all machines first: the exporters then start on idle CPUs
            root, kdir = self.kubelets[node].root, self.kubelets[node].kdir
            self.exporters[node] = Proc(
                [EXPORTER, "--listen", "127.0.0.1:0", "--node-name", node,
                 "--sysfs-root", root + "/sys", "--procfs-root", root + "/proc",
                 "--kubelet-dir", kdir, "--kubelet-config", kdir + ".yaml",
                 "--sriov-config", SRIOV_CONFIG, "--poll-interval", poll],
                os.path.join(self.tmp, node + "-exporter.log"), node)
        self.wait_exporters(120)
        self.setup_times["exporters"] = time.monotonic() - te
        t1 = time.monotonic()
        # the extender
        argv = [EXTENDER]
        for node in self.node_names:
            argv += ["--exporter", "http://127.0.0.1:%d" % self.exporters[node].port]
        argv += list(a.extender_arg or [])
        if a.mode == "bind":
            kc = os.path.join(self.tmp, "kubeconfig")
            with open(kc, "w") as f:
                f.write(kubeconfig(self.api.port))
            argv += ["--kubeconfig", kc]
        self.ext_argv = argv
        self.start_extender()
        self.ext_http = Http("127.0.0.1", self.ext_port, timeout=a.http_timeout)
        n, dt = self.wait_extender_cache(60)
        if n < a.nodes:
            raise RuntimeError("the extender cached %d of %d nodes: %s" % (n, a.nodes,
                                                                           self.ext.tail()))
        self.setup_s = time.monotonic() - t0
        self.setup_times["extender"] = time.monotonic() - t1
        for k in self.kubelets.values():
            k.start()
        self.informer = Informer(self)
        self.informer.start()
        if not self.informer.ready.wait(20):
            raise RuntimeError("the pod watch did not start: %s" % self.errors)
        self.scheduler = Scheduler(self)
        self.scheduler.start()

    def wait_exporters(self, timeout):
        """Every exporter serving and ready (its first scan done)."""
        t_end = time.monotonic() + timeout
        left = dict(self.exporters)
        while left and time.monotonic() < t_end:
            for node, p in list(left.items()):
                if p.proc.poll() is not None:
                    raise RuntimeError("exporter %s exited %d: %s" % (node, p.proc.returncode,
                                                                      p.tail()))
                if p.find_port() is None:
                    continue
                try:
                    c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=2)
                    c.request("GET", "/readyz")
                    ok = c.getresponse().status == 200
                    c.close()
                except OSError:
                    ok = False
                if ok:
                    del left[node]
            if left:
                time.sleep(0.02)
        if left:
            raise RuntimeError("exporters not ready: %s" % ", ".join(sorted(left)[:5]))

    def start_extender(self):
        listen = "127.0.0.1:%d" % (self.ext_port or 0)
        self.ext = Proc(self.ext_argv + ["--listen", listen],
                        os.path.join(self.tmp, "extender-%d.log" % self.ext_gen), "extender")
        self.ext_gen += 1
        if self.ext_port is None:
            self.ext_port = self.ext.wait_port(20)

    def cached_nodes(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.ext_port, timeout=2)
            c.request("GET", "/metrics")
            r = c.getresponse()
            text = r.read().decode()
            c.close()
        except OSError:
            return 0
        m = re.search(r"^numafit_extender_cache_nodes (\d+)", text, re.M)
        s = re.search(r"^numafit_extender_stale_nodes (\d+)", text, re.M)
        return int(m.group(1)) - (int(s.group(1)) if s else 0) if m else 0

    def wait_extender_cache(self, timeout):
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < timeout:
            if self.ext.proc.poll() is not None:
                raise RuntimeError("extender exited %d: %s" % (self.ext.proc.returncode,
                                                              self.ext.tail()))
            n = self.cached_nodes()
            if n >= self.args.nodes:
                break
            time.sleep(0.02)
        return n, time.monotonic() - t0

    # the run
    def creator(self, t0, first=0, step=1):
        """Creates pods first, first+step, ... each at t0 + i * --interval (a few creators run
        side by side: one POST to the fake API server takes longer than 2 ms)."""
        a = self.args
        for i in range(first, a.pods, step):
            due = t0 + i * a.interval / 1000.0
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            if self.stop_creating:
                return
            pod = self.shape.pod(i, self.pod_rng)
            tc = time.monotonic()
            try:
                st, body = self.api.call("POST", "/api/v1/namespaces/%s/pods" % NAMESPACE, pod,
                                         idempotent=False)
            except (OSError, http.client.HTTPException) as e:
                st, body = 0, repr(e)
            self.lat["create"].append((time.monotonic() - tc) * 1000)
            if st != 201:
                self.error("create %s: %s %r" % (pod["metadata"]["name"], st, body))
                continue
            self.count("created")
            self.scheduler.add(body)
            self.progress()

    def quiet(self):
        """Nothing can change any more: no binding in flight, every bound pod admitted or
        rejected, kubelets idle, and nothing happened for --settle seconds."""
        if self.scheduler.inflight or not all(k.idle() for k in self.kubelets.values()):
            return False
        return time.monotonic() - self.last_progress >= self.args.settle

    def all_resolved(self, bound_only=False):
        """Every pod (bound_only: every bound pod) is Running or Failed."""
        with self.informer.lock:
            pods = list(self.informer.pods.values())
        return ((bound_only or len(pods) >= self.args.pods) and
                all(p["phase"] in ("Running", "Failed", "Succeeded") for p in pods
                    if p["node"] or not bound_only))

    def run(self):
        a = self.args
        self.shape = Shape(a.cpus, a.hugepages_gi, a.vfs, a.memory_gi, a.resource)
        self.capacity = sum(s.capacity(self.shape) for s in self.specs.values())
        self.stop_creating = False
        self.t_created = None
        t0 = time.monotonic() + 0.05
        self.t0 = t0
        creators = [threading.Thread(target=self.creator, args=(t0, j, CREATORS),
                                     name="creator-%d" % j, daemon=True) for j in range(CREATORS)]
        for c in creators:
            c.start()
        end_reason = "deadline"
        restarting = None
        while time.monotonic() - t0 < a.deadline:
            time.sleep(0.01)
            if a.kill_extender_at and self.ext_gen == 1 and self.bound_seen >= a.kill_extender_at:
                log("SIGKILL extender after %d pods were bound" % self.bound_seen)
                self.ext.stop(signal.SIGKILL)
                self.start_extender()  # at once, same flags, same port
                restarting = time.monotonic()
                self.count("extender_restarts")
                self.progress()
            if restarting is not None:
                if self.ext.proc.poll() is not None:
                    self.error("restarted extender exited %d: %s" % (self.ext.proc.returncode,
                                                                    self.ext.tail()))
                    restarting = None
                elif self.cached_nodes() >= a.nodes:
                    self.restart_ready_ms.append((time.monotonic() - restarting) * 1000)
                    restarting = None
                    self.progress()
                continue
            if self.t_created is None:
                if any(c.is_alive() for c in creators):
                    continue
                self.t_created = time.monotonic()
            if self.all_resolved() and not self.scheduler.pending():
                end_reason = "all-resolved"
                break
            if self.all_resolved(bound_only=True) and self.quiet():
                end_reason = "settled"
                break
        t_end = time.monotonic()
        self.stop_creating = True
        self.scheduler.stop()
        self.scheduler.pool.shutdown(wait=True)
        for c in creators:
            c.join(5)
        return self.result(t0, t_end, end_reason)

    def exporter_mismatches(self):
        """What the exporters publish against what the kubelets hold: [(node, numa, what)]. A
        mismatch means a state file or sysfs counter this simulation wrote was not understood."""
        out = []
        for node, k in self.kubelets.items():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.exporters[node].port, timeout=5)
                c.request("GET", "/v1/topology")
                doc = json.loads(c.getresponse().read())
                c.close()
            except (OSError, ValueError, http.client.HTTPException) as e:
                out.append((node, None, repr(e)))
                continue
            want = k.expected()
            for z in doc.get("numaNodes", []):
                res = z.get("resources", {})
                for name, v in want.get(z["id"], {}).items():
                    got = (res.get(name) or {}).get("available")
                    if got != v:
                        out.append((node, z["id"], "%s available %r, kubelet holds %r free"
                                    % (name, got, v)))
        return out

    def result(self, t0, t_end, end_reason):
        a = self.args
        poll = 1.0 if a.nodes > 50 and not a.poll_interval else 0.2
        mismatches, _ = wait_until_value(self.exporter_mismatches, lambda m: not m, 3 * poll + 1)
        st, body = self.api.call("GET", "/api/v1/pods")
        items = body.get("items", []) if st == 200 and isinstance(body, dict) else []
        bound = sum(1 for p in items if p.get("spec", {}).get("nodeName"))
        running = sum(1 for p in items if p.get("status", {}).get("phase") == "Running")
        tae = sum(1 for p in items if p.get("status", {}).get("reason") == "TopologyAffinityError")
        failed = sum(1 for p in items if p.get("status", {}).get("phase") == "Failed")
        per_node = collections.Counter(p["spec"]["nodeName"] for p in items
                                       if p.get("status", {}).get("phase") == "Running")
        over = {n: c for n, c in per_node.items() if c > self.specs[n].capacity(self.shape)}
        c = self.counters
        r = {
            "mode": a.mode, "nodes": a.nodes, "pods": a.pods, "capacity": self.capacity,
            "bound": bound, "admitted": running, "topology_affinity_errors": tae,
            "other_failures": failed - tae, "pending": len(items) - bound,
            "created": c["created"], "bind_errors": c["bind_errors"],
            "filter_errors": c["filter_errors"], "prioritize_errors": c["prioritize_errors"],
            "unschedulable_attempts": c["unschedulable_attempts"],
            "extender_restarts": c["extender_restarts"],
            "kubelet_topology_affinity_errors": c["topology_affinity_errors"],
            "duration_s": round(t_end - t0, 2),
            "burst_s": round((self.t_created or t_end) - t0, 3),
            "last_bind_s": round(self.t_last_bind - t0, 3) if self.t_last_bind else None,
            "setup_s": round(self.setup_s, 2), "end": end_reason,
            "setup_detail_s": {k: round(v, 2) for k, v in self.setup_times.items()},
            "interval_ms": a.interval, "admit_delay_ms": a.admit_delay,
            "filter_ms_p50": percentile(self.lat["filter"], 50),
            "filter_ms_p99": percentile(self.lat["filter"], 99),
            "prioritize_ms_p50": percentile(self.lat["prioritize"], 50),
            "prioritize_ms_p99": percentile(self.lat["prioritize"], 99),
            "bind_ms_p50": percentile(self.lat["bind"], 50),
            "bind_ms_p99": percentile(self.lat["bind"], 99),
            "create_ms_p50": percentile(self.lat["create"], 50),
            "create_ms_p99": percentile(self.lat["create"], 99),
            "create_ms_max": percentile(self.lat["create"], 100),
            "filter_calls": len(self.lat["filter"]),
            "filter_over_100ms": sum(1 for x in self.lat["filter"] if x >= 100),
            "bind_over_100ms": sum(1 for x in self.lat["bind"] if x >= 100),
            "bind_calls": len(self.lat["bind"]),
            "extender_restart_ready_ms": [round(x) for x in self.restart_ready_ms],
            "nodes_over_capacity": over,
            "exporter_mismatches": len(mismatches), "exporter_mismatch_examples": mismatches[:3],
            "errors": self.errors[:10], "last_errors": self.last_errors,
        }
        return r

    def shutdown(self):
        for th in (self.informer,):
            if th is not None:
                th.stop()
        for k in self.kubelets.values():
            k.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        for k in self.kubelets.values():
            if k.is_alive():
                k.join(5)
        procs = ([self.ext] if self.ext else []) + list(self.exporters.values())
        for p in procs:  # SIGTERM all first, then wait: parallel shutdown
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in procs:
            p.stop()
        if self.api_proc:
            self.api_proc.stop()
        if self.informer is not None and self.informer.is_alive():
            self.informer.join(2)
        if self.tmp and not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp:
            log("kept %s" % self.tmp)


def wait_until_value(fn, ok, timeout, step=0.1):
    t_end = time.monotonic() + timeout
    while True:
        v = fn()
        if ok(v) or time.monotonic() >= t_end:
            return v, ok(v)
        time.sleep(step)


def kubelet_config(reserved, full_pcpus):
    return ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
            "cpuManagerPolicy: static\n" +
            ("cpuManagerPolicyOptions:\n  full-pcpus-only: \"true\"\n" if full_pcpus else "") +
            "reservedSystemCPUs: \"%s\"\ntopologyManagerPolicy: single-numa-node\n"
            "topologyManagerScope: pod\n" % reserved)


def kubeconfig(port):
    return ("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
            "    server: http://127.0.0.1:%d\ncontexts:\n- name: fake\n  context:\n"
            "    cluster: fake\n    user: burst-sim\ncurrent-context: fake\nusers:\n"
            "- name: burst-sim\n  user:\n    token: %s\n" % (port, TOKEN))


def summary_line(r):
    keys = ["mode", "nodes", "pods", "capacity", "bound", "admitted", "topology_affinity_errors",
            "pending", "bind_errors", "filter_errors", "extender_restarts", "duration_s",
            "filter_ms_p50", "filter_ms_p99", "bind_ms_p50", "bind_ms_p99", "end"]
    return " ".join("%s=%s" % (k, r.get(k)) for k in keys)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=24)
    ap.add_argument("--pods", type=int, default=120)
    ap.add_argument("--mode", choices=("nobind", "bind"), default="nobind",
                    help="bind: the extender binds (bindVerb); nobind: the scheduler does")
    ap.add_argument("--interval", type=float, default=2.0, help="ms between pod creations")
    ap.add_argument("--admit-delay", type=float, default=300.0,
                    help="ms from a pod's binding to kubelet's admission")
    ap.add_argument("--state-gap", type=float, default=3.0,
                    help="ms between kubelet's device checkpoint and cpu_manager_state renames")
    ap.add_argument("--kill-extender-at", type=int, default=0,
                    help="SIGKILL the extender once N pods are bound, start a new one at once")
    ap.add_argument("--variants", default="telco:0,16 telco:15,31",
                    help="PRESET:RESERVED_CPUS per node, cycled (default: capacity 3 and 4)")
    ap.add_argument("--resource", default="intel.com/intel_sriov_dpdk")
    ap.add_argument("--cpus", type=int, default=4, help="exclusive CPUs per pod")
    ap.add_argument("--hugepages-gi", type=int, default=2, help="1 GiB hugepages per pod")
    ap.add_argument("--vfs", type=int, default=1, help="VFs per pod")
    ap.add_argument("--memory-gi", type=int, default=1)
    ap.add_argument("--poll-interval", default=None,
                    help="exporters' sysfs poll (default 200ms, 1s above 50 nodes)")
    ap.add_argument("--take-hugepages", type=int, default=1,
                    help="1: a started pod takes its 1 GiB pages off free_hugepages")
    ap.add_argument("--http-timeout", type=float, default=5.0, help="extender httpTimeout (s)")
    ap.add_argument("--initial-backoff", type=float, default=50.0, help="ms")
    ap.add_argument("--max-backoff", type=float, default=1000.0, help="ms")
    ap.add_argument("--settle", type=float, default=2.5,
                    help="s without any change after which pending pods are left pending")
    ap.add_argument("--deadline", type=float, default=60.0, help="s, the whole run at most")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--extender-arg", action="append",
                    help="one more argument for numafit-extender (repeatable)")
    ap.add_argument("--json", action="store_true",
                    help="one JSON document on stdout (the summary line goes to stderr)")
    ap.add_argument("--keep-tmp", action="store_true")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    sim = Sim(args)
    rc = 0
    try:
        sim.setup()
        r = sim.run()
    except KeyboardInterrupt:
        log("interrupted")
        rc, r = 1, None
    except Exception as e:  # could not run: say why, clean up, exit 1
        log("cannot run: %s" % e)
        rc, r = 1, None
        if args.verbose and sim.ext:
            log("extender log:\n" + sim.ext.tail(30))
    finally:
        sim.shutdown()
    if r is None:
        if args.json:
            print(json.dumps({"mode": args.mode, "nodes": args.nodes, "pods": args.pods,
                              "error": "could not run", "errors": sim.errors[:10]}))
        return rc
    line = summary_line(r)
    if args.json:
        log(line)
        print(json.dumps(r, sort_keys=True))
    else:
        print(line)
        if r["errors"] or r["last_errors"]:
            print("errors: %s last: %s" % (r["errors"][:3], r["last_errors"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
