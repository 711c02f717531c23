#!/usr/bin/env python3
"""e2e_bind.py - numafit-extender's binding cycle against a FAKE kube-apiserver.

No kube-apiserver can run on the build machines, so the API server here is
tests/fakes/fake_apiserver.py (the documented wire format: bearer token, Status errors, 409 on an
already bound pod, chunked watches). Everything else is real: the extender binary, its HTTP server,
its libcurl API client, NodeTopology documents in a --topology-dir.

What it shows:
  - /bind reserves on the NUMA node kubelet will use and creates the Binding; /filter,
    /prioritize, /v1/report and /v1/nodes/{name} see the reservation;
  - the reservation ends when the node's document accounts the pod (a partial kubelet update
    keeps it), when the pod is deleted, or after --reservation-ttl (logged);
  - a failed Binding drops the reservation and answers Error; a 409 for a pod bound elsewhere too;
  - the hold: /filter of the next aligned pod waits for the previous pod's /bind, so it sees the
    reservation (the window between the scheduling and the binding cycle is closed);
  - SIGKILL + restart: the reservations come back from the API server before /readyz says 200;
  - --requeue-rejected-pods deletes a controller-owned pod kubelet rejected, and leaves others.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
from nftest import (EXTENDER, GIB, Server, check, kubeconfig, skip, summary, wait_until,  # noqa: E402
                    write)
from fake_apiserver import FakeApiServer  # noqa: E402

TOKEN = "e2e-bind-token"
VF = "intel.com/intel_sriov_dpdk"


def numa(i, cpu_free, vf_free, pods=None, hp_free=8):
    """One NUMA node: 8 allocatable CPUs, 2 VFs, 8 x 1Gi pages; pods: kubelet's accounting."""
    return {"id": i, "socket": 0,
            "resources": {"cpu": {"capacity": 8, "allocatable": 8, "available": cpu_free},
                          "hugepages-1Gi": {"capacity": 8 * GIB, "allocatable": 8 * GIB,
                                            "available": hp_free * GIB},
                          VF: {"capacity": 2, "allocatable": 2, "available": vf_free}},
            "pods": pods or []}


def topology(node, numas, generation=1):
    return {"apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": node,
            "generation": generation,
            "kubelet": {"cpuManagerPolicy": "static", "topologyManagerPolicy": "single-numa-node",
                        "topologyManagerScope": "pod", "memoryManagerPolicy": "None"},
            "sockets": [{"id": 0, "numaNodes": [n["id"] for n in numas]}],
            "numaNodes": numas}


def put_doc(tdir, doc):
    write(os.path.join(tdir, doc["node"] + ".json"), json.dumps(doc))


def dpdk_pod(name, owner=False):
    """A Guaranteed DPDK pod: 4 exclusive CPUs, 2 x 1Gi pages, one VF."""
    res = {"cpu": "4", "memory": "1Gi", "hugepages-1Gi": "2Gi", VF: "1"}
    pod = {"metadata": {"name": name, "namespace": "ran"},
           "spec": {"schedulerName": "numafit",
                    "containers": [{"name": "dpdk", "image": "dpdk",
                                    "resources": {"requests": res, "limits": res}}]}}
    if owner:
        pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": "upf-6d9f", "uid": "rs-1",
                                               "controller": True}]
    return pod


def cpu_seconds(pid, during):
    """CPU time (user + system) pid spends over the next `during` seconds."""
    def ticks():
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0 = ticks()
    time.sleep(during)
    return (ticks() - t0) / os.sysconf("SC_CLK_TCK")


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="nf-e2e-bind-")
        self.tdir = os.path.join(self.tmp, "topologies")
        os.makedirs(self.tdir)
        self.api = FakeApiServer(tokens=[TOKEN]).start()
        self.kcfg = os.path.join(self.tmp, "kubeconfig")
        kubeconfig(self.kcfg, self.api.url, TOKEN)
        self.ext = None

    def extender(self, *extra):
        self.ext = Server([EXTENDER, "--topology-dir", self.tdir, "--kubeconfig", self.kcfg,
                           "--log-level", "debug"] + list(extra), name="extender")
        ok, _ = wait_until(lambda: self.ext.get("/readyz")[0] == 200, 15)
        check(ok, "extender ready")
        return self.ext

    def create(self, name, owner=False):
        return self.api.create_pod(dpdk_pod(name, owner))

    def filter(self, pod, names, ext=None):
        return (ext or self.ext).request("/filter", {"Pod": pod, "Nodes": None,
                                                     "NodeNames": names})

    def bind(self, pod, node, ext=None):
        st, r = (ext or self.ext).request("/bind", {
            "PodName": pod["metadata"]["name"], "PodNamespace": pod["metadata"]["namespace"],
            "PodUID": pod["metadata"]["uid"], "Node": node})
        check(st == 200, "/bind answers 200 (errors travel in Error): %r" % st)
        return r.get("Error", "<no Error key>") if isinstance(r, dict) else r

    def reservations(self, node):
        st, doc = self.ext.request("/v1/nodes/" + node)
        return {r["uid"]: r for r in doc.get("reservations", [])} if st == 200 else None

    def gone(self, node, uid):
        res = self.reservations(node)
        return res is not None and uid not in res

    def metric(self, name):
        _, _, body = self.ext.get("/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def log_has(self, text):
        return any(text in l for _, l in self.ext.lines)

    def close(self):
        if self.ext:
            self.ext.stop()
        self.api.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def test_bind_reserve_reconcile(env):
    put_doc(env.tdir, topology("w1", [numa(0, 8, 1), numa(1, 8, 1)]))
    put_doc(env.tdir, topology("w2", [numa(0, 8, 0), numa(1, 2, 2)]))  # never fits
    ext = env.extender()
    p1, p2, p3 = env.create("p1"), env.create("p2"), env.create("p3")

    st, r = env.filter(p1, ["w1", "w2"])
    check(st == 200 and r["NodeNames"] == ["w1"], "p1 passes w1 only: %r" % r)
    check(env.bind(p1, "w1") == "", "p1 bound")
    check(env.api.get_pod("ran", "p1")["spec"].get("nodeName") == "w1",
          "the fake API server holds the Binding")
    res = env.reservations("w1")
    check(res and p1["metadata"]["uid"] in res, "p1 reserved on w1: %r" % res)
    r1 = res[p1["metadata"]["uid"]]
    check(r1["zone"] == 0 and r1["pod"] == "ran/p1" and r1["resources"]["cpu"] == 4 and
          r1["resources"][VF] == 1 and r1["resources"]["hugepages-1Gi"] == 2 * GIB,
          "on numa0 (kubelet's lowest fitting NUMA node) with its amounts: %r" % r1)
    ok, _ = wait_until(lambda: env.log_has('msg="pod bound"') and env.log_has("numa=0"), 3)
    check(ok, "bind logged with the zone")  # the log is read by a thread of the test

    st, r = env.filter(p2, ["w1"])
    check(r["NodeNames"] == ["w1"], "p2 still fits w1 (numa1): %r" % r)
    check(env.bind(p2, "w1") == "", "p2 bound")
    check(env.reservations("w1")[p2["metadata"]["uid"]]["zone"] == 1, "p2 reserved on numa1")
    # kube-scheduler retries a bind whose answer it lost: the same node is a success, and the pod
    # is not predicted against its own reservation (numa0 stays its zone)
    check(env.bind(p1, "w1") == "", "a retried bind of p1 to the same node succeeds")
    check(env.reservations("w1")[p1["metadata"]["uid"]]["zone"] == 0,
          "the retried bind keeps p1 on numa0: %r" % env.reservations("w1"))
    st, r = env.filter(p3, ["w1"])
    check(r["NodeNames"] == [] and "w1" in r["FailedNodes"],
          "p3: both VFs reserved, w1 fails: %r" % r)
    st, pr = ext.request("/prioritize", {"Pod": p3, "Nodes": None, "NodeNames": ["w1"]})
    check(pr == [{"Host": "w1", "Score": 0}], "p3 scores 0 on w1: %r" % pr)
    st, rep = ext.request("/v1/report?shape=cpu=4,hugepages-1Gi=2Gi,%s=1" % VF)
    fits = {n["node"]: n["fits"] for n in rep["shapes"][0]["nodes"]}
    check(fits.get("w1") == 0, "the report counts the reservations: %r" % fits)
    check(env.metric("numafit_extender_reservations") == 2, "2 reservations in /metrics")
    if shutil.which("promtool"):
        body = ext.get("/metrics")[2]
        p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
        check(p.returncode == 0, "promtool accepts /metrics with the binding series: %s"
              % p.stdout.decode() + p.stderr.decode())
    else:
        skip("promtool is not installed (scripts/install-deps.sh): /metrics not linted")
    # a bind the prediction says kubelet would reject is refused before any API call
    n_bindings = sum(1 for m, p, _, _ in env.api.requests if p.endswith("/binding"))
    err = env.bind(p3, "w1")
    check("cannot take pod" in err and "TopologyAffinityError" in err,
          "bind of p3 refused, kubelet would reject it: %r" % err)
    check(sum(1 for m, p, _, _ in env.api.requests if p.endswith("/binding")) == n_bindings,
          "no Binding was attempted")

    # kubelet wrote cpu_manager_state for p1, not yet its device checkpoint: still reserved
    u1, u2 = p1["metadata"]["uid"], p2["metadata"]["uid"]
    put_doc(env.tdir, topology("w1", [
        numa(0, 4, 1, pods=[{"podUID": u1, "cpus": "0-3", "resources": {"cpu": 4}}]),
        numa(1, 8, 1)], generation=2))
    time.sleep(0.5)
    res = env.reservations("w1")
    check(u1 in res, "a partial kubelet update keeps the reservation: %r" % list(res))
    st, r = env.filter(p3, ["w1"])
    check(r["NodeNames"] == [], "and the pod is not counted twice nor freed: %r" % r)
    # both files written: confirmed
    put_doc(env.tdir, topology("w1", [
        numa(0, 4, 0, pods=[{"podUID": u1, "cpus": "0-3",
                             "resources": {"cpu": 4, VF: 1}}]),
        numa(1, 8, 1)], generation=3))
    ok, _ = wait_until(lambda: env.gone("w1", u1), 5)
    check(ok, "the reservation ends when the document accounts every tracked amount")
    check(u2 in env.reservations("w1"), "p2 still reserved")

    # the API server deletes p2: its reservation ends (watch)
    env.api.delete_pod("ran", "p2")
    ok, _ = wait_until(lambda: env.gone("w1", u2), 5)
    check(ok, "a deleted pod's reservation ends")
    st, r = env.filter(p3, ["w1"])
    check(r["NodeNames"] == ["w1"], "numa1 is free again for p3: %r" % r)

    # a Binding the API server refuses: Error, and no reservation left behind
    env.api.inject("POST", r"/pods/p3/binding$", 500, count=100)
    err = env.bind(p3, "w1")
    check(err != "" and "p3" in err, "bind fails with the API server's error: %r" % err)
    check(p3["metadata"]["uid"] not in env.reservations("w1"), "failed bind: no reservation")
    # bound elsewhere meanwhile (409): Error, no reservation
    p4 = env.create("p4")
    env.api._bind("ran", "p4", {"kind": "Binding", "target": {"kind": "Node", "name": "w2"}})
    env.filter(p4, ["w1"])
    err = env.bind(p4, "w1")
    check("already assigned" in err or "409" in err or "onflict" in err,
          "409: the pod is bound elsewhere: %r" % err)
    check(p4["metadata"]["uid"] not in env.reservations("w1"), "409: no reservation")
    # unknown pod (not remembered, not in the API server)
    ghost = {"metadata": {"name": "ghost", "namespace": "ran", "uid": "0000"}}
    check("ghost" in env.bind(ghost, "w1"), "bind of a pod the API server does not know fails")
    env.ext.stop()
    env.ext = None


def test_hold(env):
    """/filter of pod B waits for /bind of pod A, which passed /filter just before. One HTTP
    worker thread: the held /filter must not block the /bind it waits for."""
    put_doc(env.tdir, topology("w1", [numa(0, 8, 1), numa(1, 8, 0)]))
    env.extender("--bind-wait", "3s", "--threads", "1")
    a, b, c = env.create("hold-a"), env.create("hold-b"), env.create("hold-c")
    st, r = env.filter(a, ["w1"])
    check(r["NodeNames"] == ["w1"], "a passes")
    out = {}

    def filter_b():
        t0 = time.monotonic()
        out["r"] = env.filter(b, ["w1"], ext=env.ext)[1]
        out["t"] = time.monotonic() - t0

    th = threading.Thread(target=filter_b)
    th.start()
    time.sleep(0.4)
    check(th.is_alive(), "b's /filter is held while a's bind is outstanding")
    check(env.bind(a, "w1") == "", "a bound")
    th.join(5)
    check(not th.is_alive() and out.get("t", 0) >= 0.35 and out["t"] < 2.5,
          "b's /filter answered right after a's bind: %.2fs" % out.get("t", -1))
    check(out.get("r", {}).get("NodeNames") == [],
          "b saw a's reservation (the only VF is taken): %r" % out.get("r"))
    check(env.metric("numafit_extender_filter_holds_total") == 1, "one hold counted")
    # a pod that passes /filter but never binds holds the next /filter at most --bind-wait
    env.api.delete_pod("ran", "hold-a")  # frees the VF (the reservation ends)
    wait_until(lambda: env.gone("w1", a["metadata"]["uid"]), 5)
    st, r = env.filter(b, ["w1"])
    check(r["NodeNames"] == ["w1"], "b passes now: %r" % r)
    t0 = time.monotonic()
    st, r = env.filter(c, ["w1"])  # waits for b's bind, which never comes
    waited = time.monotonic() - t0
    check(2.5 < waited < 5, "c's /filter was held for --bind-wait (3s): %.2fs" % waited)
    check(env.metric("numafit_extender_filter_hold_timeouts_total") == 1, "the timeout counted")
    # the same pod's own retry is never held by itself
    t0 = time.monotonic()
    env.filter(c, ["w1"])
    check(time.monotonic() - t0 < 1, "a pod's /filter never waits for its own bind")
    # c never binds either: once its expected bind is late, the gate thread goes back to sleep
    time.sleep(3.3)
    check(env.metric("numafit_extender_filter_hold_timeouts_total") == 2,
          "c's missing bind counted without any /filter waiting for it")
    busy = cpu_seconds(env.ext.proc.pid, 1.0)
    check(busy < 0.3, "an idle extender with a late bind does not spin: %.2f CPU s in 1 s" % busy)
    env.ext.stop()
    env.ext = None


def test_ttl_restart_requeue(env):
    put_doc(env.tdir, topology("w1", [numa(0, 8, 2), numa(1, 8, 2)]))
    ext = env.extender("--reservation-ttl", "1500ms")
    p = env.create("ttl-1")
    env.filter(p, ["w1"])
    check(env.bind(p, "w1") == "", "ttl-1 bound")
    uid = p["metadata"]["uid"]
    check(uid in env.reservations("w1"), "reserved")
    ok, _ = wait_until(lambda: env.gone("w1", uid), 5)
    check(ok, "the reservation expires after --reservation-ttl")
    logged, _ = wait_until(lambda: any("reservation expired" in l and "ttl-1" in l and
                                       "level=warn" in l for _, l in ext.lines), 3)
    check(logged, "expiry logged as a warning with the pod's name")
    ext.stop()

    # restart: a bound pod the document does not show yet gets its reservation back before
    # /readyz answers 200
    ext = env.extender()
    q = env.create("restart-1")
    env.filter(q, ["w1"])
    check(env.bind(q, "w1") == "", "restart-1 bound")
    quid = q["metadata"]["uid"]
    zone = env.reservations("w1")[quid]["zone"]
    ext.proc.send_signal(signal.SIGKILL)
    ext.proc.wait()
    env.ext = Server([EXTENDER, "--topology-dir", env.tdir, "--kubeconfig", env.kcfg,
                      "--requeue-rejected-pods"], name="extender")
    first_ready = {}

    def ready_with_reservation():
        if env.ext.get("/readyz")[0] != 200:
            return False
        first_ready["res"] = env.reservations("w1")
        return True

    ok, _ = wait_until(ready_with_reservation, 15)
    check(ok, "restarted extender becomes ready")
    res = first_ready.get("res") or {}
    check(quid in res and res[quid]["zone"] == zone,
          "after SIGKILL + restart the reservation is back when /readyz first says 200: %r" % res)

    # requeue: a controller-owned pod rejected by kubelet is deleted; a bare pod is left alone
    owned, bare = env.create("owned", owner=True), env.create("bare")
    for pod in (owned, bare):
        env.api._bind("ran", pod["metadata"]["name"],
                      {"kind": "Binding", "target": {"kind": "Node", "name": "w1"}})
        env.api.patch_status("ran", pod["metadata"]["name"],
                             {"phase": "Failed", "reason": "TopologyAffinityError",
                              "message": "Resources cannot be allocated with Topology locality"})
    ok, _ = wait_until(lambda: not any(x["metadata"]["name"] == "owned" for x in env.api.pods()),
                       5)
    check(ok, "the controller-owned rejected pod was deleted (its controller recreates it)")
    time.sleep(0.3)
    check(any(x["metadata"]["name"] == "bare" for x in env.api.pods()),
          "a pod without a controller is never deleted")
    check(env.metric("numafit_extender_requeued_pods_total") == 1, "one requeue counted")
    env.ext.stop()
    env.ext = None


def test_unusable_node(env):
    """A bind to a node whose document is gone (or stale) has nothing to reserve against: refused
    under --stale-policy reject (the default), so that kube-scheduler places the pod again; bound
    without a reservation under --stale-policy ignore."""
    put_doc(env.tdir, topology("w1", [numa(0, 8, 2), numa(1, 8, 2)]))
    env.extender()
    p = env.create("gone-1")
    st, r = env.filter(p, ["w1"])
    check(r["NodeNames"] == ["w1"], "gone-1 passes w1: %r" % r)
    os.unlink(os.path.join(env.tdir, "w1.json"))
    ok, _ = wait_until(lambda: env.ext.request("/v1/nodes/w1")[0] == 404, 5)
    check(ok, "w1 dropped from the cache with its file")
    bindings = lambda: sum(1 for m, path, _, _ in env.api.requests if path.endswith("/binding"))
    n = bindings()
    err = env.bind(p, "w1")
    check("not bound" in err and "w1" in err, "bind to a node without a document refused: %r" % err)
    check(bindings() == n, "no Binding was attempted")
    check(env.api.get_pod("ran", "gone-1")["spec"].get("nodeName") is None, "the pod is unbound")
    check(env.metric('numafit_extender_binds_total{result="refused"}') == 1,
          "counted with the refused binds")
    env.ext.stop()

    put_doc(env.tdir, topology("w2", [numa(0, 8, 2)]))  # ready needs a node
    env.extender("--stale-policy", "ignore")
    q = env.create("gone-2")
    check(env.bind(q, "w1") == "", "--stale-policy ignore: bound without a document")
    check(env.api.get_pod("ran", "gone-2")["spec"].get("nodeName") == "w1", "the Binding is in")
    ok, _ = wait_until(lambda: env.log_has("binding without a reservation"), 3)
    check(ok, "and a warning says so")
    env.ext.stop()
    env.ext = None


def main():
    for t in (test_bind_reserve_reconcile, test_hold, test_ttl_restart_requeue, test_unusable_node):
        env = Env()
        try:
            t(env)
        except Exception as e:  # a crash is a failure, with the extender's log
            check(False, "%s raised %r" % (t.__name__, e))
            if env.ext:
                sys.stdout.write("".join(l for _, l in env.ext.lines[-40:]))
        finally:
            env.close()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
