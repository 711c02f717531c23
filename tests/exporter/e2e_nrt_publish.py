#!/usr/bin/env python3
"""e2e_nrt_publish.py - numafit-exporter --publish-nrt against a FAKE kube-apiserver
(tests/fakes/fake_apiserver.py, on loopback), and the deploy component that turns it on.

  - the object is created (GET 404, POST 201) and then replaced with PUT over the resourceVersion
    it last saw whenever the document changes; the stored object is exactly what
    GET /v1/noderesourcetopology serves, and valid against the CRD schema
  - an object that already exists is updated, not re-created; a create that meets AlreadyExists
    reads it and updates; a foreign write (stale resourceVersion -> 409 Conflict) is read again
    and overwritten
  - writes are rate-limited (--publish-nrt-interval), a burst of changes ends with the last one
  - API server errors are retried with backoff while /v1/topology keeps serving; SIGTERM ends a
    write in flight (exit 0)
  - usage errors; every request made is allowed by deploy/kubernetes/nrt/rbac.yaml's ClusterRole
  - kustomize: the component renders on both variants with the CRD, RBAC only on
    noderesourcetopologies, the service account token and the flags the exporter knows
"""
import json
import os
import subprocess
import sys
import time

import nrtcheck  # first: may re-execute under the python3 that has python3-xxhash

sys.path.insert(0, os.path.join(nrtcheck.SRC, "tests"))
sys.path.insert(0, os.path.join(nrtcheck.SRC, "tests", "fakes"))
from fake_apiserver import FakeApiServer  # noqa: E402
from nftest import (EXPORTER, EXTENDER, MachineEnv, check, kubeconfig, run_tests, terminate,  # noqa: E402
                    wait_until)
import kubeletstate  # noqa: E402
import yaml  # noqa: E402

NODE = "nrt-pub-1"
POD_A = "4f1c2d1e-0000-4000-8000-00000000000a"
NRT_PATH = "/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies"
K8S = os.path.join(nrtcheck.SRC, "deploy", "kubernetes")
SCHEMA = nrtcheck.schema()
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation")


class Env(MachineEnv):
    def __init__(self):
        super().__init__(NODE, prefix="nf-nrtpub-")
        self.api = FakeApiServer(tokens=["t-exporter"]).start()
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        kubeconfig(self.kubeconfig, self.api.url, "t-exporter")
        self.cpu = 0

    def publisher(self, interval="1s", *extra):
        return self.exporter("--publish-nrt", "--kubeconfig", self.kubeconfig,
                             "--publish-nrt-interval", interval, *extra)

    def change(self):
        """kubelet hands pod A one more pair of CPUs on NUMA node 0: the document changes."""
        self.cpu += 1
        cpus = "2-%d,34-%d" % (2 + self.cpu, 34 + self.cpu)
        kubeletstate.write_atomic(os.path.join(self.kdir, "cpu_manager_state"),
                                  kubeletstate.cpu_manager_state({POD_A: {"dpdk": cpus}}, "0-1"))

    def close(self):
        self.api.stop()
        super().close()


def stored(env):
    o = env.api.get_nrt(NODE)
    if o is None:
        return None
    o = json.loads(json.dumps(o))
    for k in SERVER_FIELDS:
        o["metadata"].pop(k, None)
    return o


def served(ex):
    st, _, body = ex.get("/v1/noderesourcetopology")
    return json.loads(body) if st == 200 else None


def requests(env, since=0):
    with env.api._lock:
        return [(m, p) for m, p, _, _ in env.api.requests[since:] if p.startswith(NRT_PATH)]


def change_seen(env, ex):
    """env.change(), and wait until the exporter serves the changed object."""
    before = served(ex)
    env.change()
    ok, _ = wait_until(lambda: served(ex) != before, 10, 0.02)
    check(ok, "the exporter serves the change")


def in_sync(env, ex, timeout=10):
    ok, _ = wait_until(lambda: stored(env) is not None and stored(env) == served(ex), timeout, 0.05)
    return ok


def test_create_then_update(env):
    ex = env.publisher()
    check(in_sync(env, ex), "the object is created as served: %r" % stored(env))
    o = env.api.get_nrt(NODE)
    check(not nrtcheck.validate(SCHEMA, o), "the stored object is valid against the CRD: %s"
          % nrtcheck.validate(SCHEMA, o)[:3])
    check(requests(env) == [("GET", NRT_PATH + "/" + NODE), ("POST", NRT_PATH)],
          "GET (404), then POST: %r" % requests(env))
    rv = o["metadata"]["resourceVersion"]
    n = len(env.api.requests)
    env.change()
    ok, _ = wait_until(lambda: env.api.get_nrt(NODE)["metadata"]["resourceVersion"] != rv, 10, 0.05)
    check(ok and in_sync(env, ex), "a change is written")
    check(requests(env, n) == [("PUT", NRT_PATH + "/" + NODE)],
          "one PUT over the known resourceVersion: %r" % requests(env, n))
    # nothing changed in the object: no write (the document's generation did not move either)
    n = len(env.api.requests)
    time.sleep(1.5)
    check(requests(env, n) == [], "no write without a change: %r" % requests(env, n))
    with env.api._lock:
        auth = all(ok for m, p, _, ok in env.api.requests if p.startswith(NRT_PATH))
    check(auth, "every request carried the kubeconfig's bearer token")


def test_existing_object_and_conflicts(env):
    # someone (an earlier exporter, NFD) left an object: it is read and replaced, not re-created
    foreign = {"apiVersion": "topology.node.k8s.io/v1alpha2", "kind": "NodeResourceTopology",
               "metadata": {"name": NODE}, "topologyPolicies": ["None"], "zones": []}
    env.api.put_nrt(foreign)
    ex = env.publisher()
    check(in_sync(env, ex), "an existing object is replaced by the served one")
    check(("POST", NRT_PATH) not in requests(env), "no create over an existing object: %r" % requests(env))

    # a foreign write between two of ours: our PUT is stale (409 Conflict), re-read, written
    f2 = dict(foreign, metadata={"name": NODE})
    env.api.put_nrt(f2)
    check(stored(env) != served(ex), "the foreign write is stored")
    n = len(env.api.requests)
    env.change()
    check(in_sync(env, ex), "after a conflict the served object wins")
    seq = [m for m, _ in requests(env, n)]
    check(seq == ["PUT", "GET", "PUT"], "409 -> GET -> PUT: %r" % seq)

    # the object deleted behind our back: PUT 404, read (404), create
    env.api.delete_nrt(NODE)
    n = len(env.api.requests)
    env.change()
    check(in_sync(env, ex), "a deleted object is created again")
    check([m for m, _ in requests(env, n)] == ["PUT", "GET", "POST"],
          "PUT 404 -> GET 404 -> POST: %r" % requests(env, n))

    # a create that meets AlreadyExists (the GET lied: injected 404) reads it and updates
    ex.stop()
    env.servers.remove(ex)
    env.api.inject("GET", NRT_PATH + "/" + NODE + "$", 404, count=1)
    n = len(env.api.requests)
    env.api.put_nrt(foreign)
    ex = env.publisher()
    check(in_sync(env, ex), "AlreadyExists ends in an update")
    check([m for m, _ in requests(env, n)] == ["GET", "POST", "GET", "PUT"],
          "GET 404 -> POST 409 -> GET -> PUT: %r" % requests(env, n))


def test_rate_limit_and_errors(env):
    ex = env.publisher("2s")
    check(in_sync(env, ex), "created")
    n = len(env.api.requests)
    t0 = time.monotonic()
    for _ in range(6):  # six changes in 3 s
        env.change()
        time.sleep(0.5)
    change_seen(env, ex)
    check(in_sync(env, ex, 10), "the last of a burst is written")
    dt = time.monotonic() - t0
    puts = [m for m, _ in requests(env, n) if m == "PUT"]
    check(1 <= len(puts) <= int(dt / 2) + 1, "at most one write per 2 s: %d in %.1f s" % (len(puts), dt))

    # the API server fails every PUT for a while: retried with backoff, /v1/topology serves on
    env.api.inject("PUT", NRT_PATH + "/", 500, count=8)
    n = len(env.api.requests)
    change_seen(env, ex)
    st, _, _ = ex.get("/v1/topology")
    check(st == 200, "/v1/topology serves while the API server fails")
    check(in_sync(env, ex, 30), "written once the API server recovers")
    check(sum(1 for m, _ in requests(env, n) if m == "PUT") >= 9, "the failed writes were retried")
    ok, _ = wait_until(lambda: any("NodeResourceTopology not written: retrying" in l
                                   for _, l in ex.lines), 2)
    check(ok, "a failed write is logged with its retry")

    # SIGTERM while a write hangs in the API server: it ends (exit 0, ASan clean) at once
    env.api.inject("PUT", NRT_PATH + "/", 0, count=1, delay_s=8)
    n = len(env.api.requests)
    env.change()
    wait_until(lambda: requests(env, n), 10, 0.05)
    time.sleep(0.3)
    t0 = time.monotonic()
    rc = ex.stop()
    env.servers.remove(ex)
    dt = time.monotonic() - t0
    check(rc == 0 and dt < 5, "SIGTERM during a hung write: exit %r in %.1f s" % (rc, dt))


def test_usage_and_rbac(env):
    def run(*args, extra_env=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        e.update(extra_env or {})
        p = subprocess.run([EXPORTER] + list(args), capture_output=True, text=True, env=e, timeout=30)
        return p.returncode, p.stderr
    rc, err = run("--publish-nrt", "--once")
    check(rc == 2, "--publish-nrt with --once: usage error (%d)" % rc)
    rc, err = run("--kubeconfig", env.kubeconfig)
    check(rc == 2 and "--publish-nrt" in err, "--kubeconfig alone: usage error: %r" % err[:100])
    rc, err = run("--publish-nrt", "--publish-nrt-interval", "500ms", "--kubeconfig", env.kubeconfig)
    check(rc == 2 and "at least 1s" in err, "an interval under 1 s: usage error: %r" % err[:100])
    rc, err = run("--publish-nrt", "--listen", "127.0.0.1:0")
    check(rc == 2 and "--kubeconfig" in err, "--publish-nrt outside a cluster without --kubeconfig: "
          "usage error: %r" % err[:160])
    rc, err = run("--publish-nrt", "--kubeconfig", os.path.join(env.tmp, "nope"))
    check(rc == 2 and "nope" in err, "a missing kubeconfig: usage error naming it: %r" % err[:160])

    # every request a publishing exporter makes is one the component's ClusterRole allows
    ex = env.publisher()
    check(in_sync(env, ex), "created")
    env.api.delete_nrt(NODE)
    env.change()
    check(in_sync(env, ex), "re-created")
    with open(os.path.join(K8S, "nrt", "rbac.yaml")) as f:
        role = [d for d in yaml.safe_load_all(f) if d["kind"] == "ClusterRole"][0]
    allowed = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    check({r for _, r, _ in allowed} == {"noderesourcetopologies"},
          "the ClusterRole names noderesourcetopologies only: %r" % allowed)
    verb = {"GET": "get", "POST": "create", "PUT": "update", "DELETE": "delete", "PATCH": "patch"}
    with env.api._lock:
        made = [(m, p) for m, p, _, _ in env.api.requests]
    check(made and all(p.startswith(NRT_PATH) for _, p in made),
          "the exporter asks the API server about NodeResourceTopology only: %r" % made[:5])
    for m, p in set(made):
        v = verb[m] if p != NRT_PATH or m != "GET" else "list"
        check(("topology.node.k8s.io", "noderesourcetopologies", v) in allowed,
              "%s %s (%s) is allowed by the ClusterRole" % (m, p, v))


def kustomize(composition):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="nf-kustomize-")
    try:
        rel = lambda p: os.path.relpath(os.path.join(K8S, p), tmp)  # noqa: E731
        with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
            json.dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                       "resources": [rel(p) for p in composition[0]],
                       "components": [rel(p) for p in composition[1]]}, f)
        p = subprocess.run(["kubectl", "kustomize", tmp], capture_output=True, text=True, timeout=60)
        return p.returncode, list(yaml.safe_load_all(p.stdout)) if p.returncode == 0 else p.stderr
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def test_privsep_publisher(env):
    """With --privsep-user the collector has no network: the HTTP process writes the object."""
    if os.geteuid() != 0:
        print("NOTE not root: --privsep-user not tried")
        return
    os.chmod(env.tmp, 0o711)  # the HTTP process (65534) reads the kubeconfig
    os.chmod(env.kubeconfig, 0o644)
    ex = env.publisher("1s", "--privsep-user", "65534:65534")
    check(any("publish_nrt=on" in l and "privsep=on" in l for _, l in ex.lines),
          "the HTTP process serves and publishes")
    check(in_sync(env, ex), "under --privsep-user the object is created as served")
    change_seen(env, ex)
    check(in_sync(env, ex), "... and updated after a change")

    def writes():
        body = ex.get("/metrics")[2].decode()
        return [l for l in body.splitlines() if l.startswith("numafit_exporter_nrt_writes_total ")]
    ok, _ = wait_until(lambda: writes() and int(writes()[0].split()[1]) >= 2, 5, 0.1)
    check(ok and "numafit_exporter_podresources_disagreements" in ex.get("/metrics")[2].decode(),
          "/metrics: the collector's families and the HTTP process's write counter: %r" % writes())


def test_kustomize_component(env):
    if subprocess.run(["sh", "-c", "command -v kubectl"], capture_output=True).returncode != 0:
        print("NOTE kubectl not found: the component is not rendered")
        return
    helptext = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True).stdout
    with open(nrtcheck.CRD) as f:
        crd = yaml.safe_load(f)
    for name, comp in (("second scheduler + nrt", (["base"], ["second-scheduler", "nrt", "images"])),
                       ("default scheduler + nrt", (["default-scheduler"], ["nrt"]))):
        rc, objs = kustomize(comp)
        check(rc == 0, "%s renders: %s" % (name, objs if rc else ""))
        if rc:
            continue
        find = lambda kind, n: [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == n]  # noqa: E731
        ds = find("DaemonSet", "numafit-exporter")
        spec = ds[0]["spec"]["template"]["spec"] if ds else {}
        args = spec.get("containers", [{}])[0].get("args", [])
        check("--publish-nrt" in args and "--publish-nrt-interval=5s" in args,
              "%s: the exporter publishes: %r" % (name, args))
        flags = [a.split("=")[0] for a in args if a.startswith("--")]
        check(all(f in helptext for f in flags), "%s: every flag is one the exporter knows" % name)
        check(spec.get("serviceAccountName") == "numafit-exporter" and
              spec.get("automountServiceAccountToken") is True,
              "%s: in-cluster API access with its own service account" % name)
        sa = find("ServiceAccount", "numafit-exporter")
        check(sa and sa[0]["metadata"]["namespace"] == "numafit", "%s: the ServiceAccount" % name)
        crb = find("ClusterRoleBinding", "numafit-exporter-nrt")
        check(crb and crb[0]["roleRef"]["name"] == "numafit-exporter-nrt" and
              crb[0]["subjects"] == [{"kind": "ServiceAccount", "name": "numafit-exporter",
                                      "namespace": "numafit"}], "%s: bound to it" % name)
        cr = find("ClusterRole", "numafit-exporter-nrt")
        check(cr and cr[0]["rules"] == [{"apiGroups": ["topology.node.k8s.io"],
                                         "resources": ["noderesourcetopologies"],
                                         "verbs": ["get", "create", "update"]}],
              "%s: RBAC only on noderesourcetopologies" % name)
        got = find("CustomResourceDefinition", "noderesourcetopologies.topology.node.k8s.io")
        check(got and got[0]["spec"] == crd["spec"], "%s: the CRD as written" % name)
    # ../nrt-source: the extender reads the objects (--nrt) with list/watch only
    ext_help = subprocess.run([EXTENDER, "--help"], capture_output=True, text=True).stdout
    check("--nrt" in ext_help, "the extender knows --nrt")
    for name, comp, kind, wname, idx, sa in (
            ("second scheduler + nrt-source", (["base"], ["second-scheduler", "nrt-source", "images"]),
             "Deployment", "numafit-scheduler", 1, "numafit-scheduler"),
            ("default scheduler + nrt-source", (["default-scheduler"], ["nrt-source"]),
             "DaemonSet", "numafit-extender", 0, "numafit-extender")):
        rc, objs = kustomize(comp)
        check(rc == 0, "%s renders: %s" % (name, objs if rc else ""))
        if rc:
            continue
        find = lambda kind, n: [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == n]  # noqa: E731
        w = find(kind, wname)
        c = w[0]["spec"]["template"]["spec"]["containers"][idx] if w else {}
        check(c.get("name") == "extender" and "--nrt" in c.get("args", []),
              "%s: the extender has --nrt: %r" % (name, c.get("args")))
        check(w and w[0]["spec"]["template"]["spec"].get("serviceAccountName") == sa,
              "%s: it runs as %s" % (name, sa))
        crb = find("ClusterRoleBinding", "numafit-extender-nrt-reader")
        check(crb and {"kind": "ServiceAccount", "name": sa, "namespace": "numafit"}
              in crb[0]["subjects"], "%s: that ServiceAccount may read the objects" % name)
        cr = find("ClusterRole", "numafit-extender-nrt-reader")
        check(cr and cr[0]["rules"] == [{"apiGroups": ["topology.node.k8s.io"],
                                         "resources": ["noderesourcetopologies"],
                                         "verbs": ["get", "list", "watch"]}],
              "%s: RBAC only to read noderesourcetopologies" % name)


if __name__ == "__main__":
    sys.exit(run_tests([test_create_then_update, test_existing_object_and_conflicts,
                        test_rate_limit_and_errors, test_usage_and_rbac, test_privsep_publisher,
                        test_kustomize_component],
                       Env))
