#!/usr/bin/env python3
"""e2e_privsep.py - numafit-exporter --privsep-user: two real processes, each confined.

On the snc2 fixture with kubelet's checkpoint files readable by root only (0600 in a 0700
directory, as on a node):
  - the collector keeps uid 0 under a seccomp filter; the http process (the one listening) runs
    as 65534:65534 with no groups, NoNewPrivs and a seccomp filter; the document it serves still
    carries what only root could read (kubelet's CPU assignments), and is the document a
    single-process exporter serves; /metrics and /healthz work across the channel;
  - a long-poll is held in the http process and answered when kubelet's state changes;
  - a stopped collector (SIGSTOP): /healthz fails within the silence bound and recovers;
  - the http process killed: the collector exits 1 and says so; the collector killed: the http
    process goes too (its port closes);
  - a TLS key only root can read: the http process cannot load it, both exit 1 with the reason;
  - bad --privsep-user values are usage errors (exit 2), root included.
Needs root (the split drops privileges): skipped (77) otherwise.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))
from nftest import (  # noqa: E402
    EXPORTER, MachineEnv, check, exporter_args, kubeletstate, listeners, proc_children as children,
    proc_status as status_of, run_tests, terminate, wait_until)
from tlstest import Pki  # noqa: E402

NODE = "worker-privsep"
POD = "0f6c6a8e-2222-4c3b-9d2a-bbbbbbbbbbbb"
USER = "65534:65534"


def lock_kubelet_dir(env):
    kubeletstate.write_atomic(os.path.join(env.kdir, "cpu_manager_state"),
                              kubeletstate.cpu_manager_state({POD: {"dpdk": "2-5,34-37"}},
                                                             "0-1,6-63"))
    os.chmod(os.path.join(env.kdir, "cpu_manager_state"), 0o600)
    os.chmod(env.kdir, 0o700)


def stable(doc):
    doc = dict(doc)
    for k in ("observedAt", "generation"):
        doc.pop(k, None)
    return doc


def test_split(env):
    lock_kubelet_dir(env)
    ex = env.exporter("--privsep-user", USER)
    kids = children(ex.proc.pid)
    check(len(kids) == 1, "one http process: %r" % kids)
    if not kids:
        return
    http, coll = status_of(kids[0]), status_of(ex.proc.pid)
    check(http["Uid"] == ["65534"] * 4 and http["Gid"] == ["65534"] * 4 and http["Groups"] == [],
          "the http process runs as 65534:65534 with no groups: %r %r %r"
          % (http["Uid"], http["Gid"], http["Groups"]))
    check(http["NoNewPrivs"] == ["1"] and http["Seccomp"] == ["2"],
          "the http process: NoNewPrivs 1, seccomp filter: %r %r" % (http["NoNewPrivs"],
                                                                    http["Seccomp"]))
    check(http["CapEff"] == ["0000000000000000"], "the http process has no capability: %r"
          % http["CapEff"])
    check(coll["Uid"][0] == "0" and coll["Seccomp"] == ["2"],
          "the collector keeps uid 0 under a seccomp filter: %r %r" % (coll["Uid"], coll["Seccomp"]))
    check(any(l.strip().endswith("privsep=on") or "privsep=on" in l for _, l in ex.lines
              if "serving" in l), "the serving line says privsep=on")
    # who listens: the http process's fds hold the socket, the collector's none
    def has_inet_listener(pid):
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
        with open("/proc/net/tcp") as f:
            rows = [l.split() for l in f.readlines()[1:]]
        return any(r[3] == "0A" and r[9] in inodes for r in rows)
    check(has_inet_listener(kids[0]) and not has_inet_listener(ex.proc.pid),
          "the http process holds the listening socket, the collector none")
    st, h, body = ex.get("/v1/topology")
    check(st == 200, "GET /v1/topology through the http process: %d" % st)
    doc = json.loads(body)
    check(doc["kubelet"]["stateFiles"]["cpuManager"] == "ok" and POD in body.decode(),
          "the document carries kubelet's root-only CPU assignments (the collector read them)")
    plain = env.exporter()
    ref = json.loads(plain.get("/v1/topology")[2])
    check(stable(doc) == stable(ref), "the same document as a single-process exporter's")
    st, _, m1 = ex.get("/metrics")
    m2 = plain.get("/metrics")[2]
    names = lambda t: {l.split(b"{")[0].split(b" ")[0] for l in t.splitlines() if l and l[:1] != b"#"}
    check(st == 200 and names(m1) == names(m2) and b"numafit_exporter_refresh" in m1,
          "/metrics across the channel: the same metric names (%d)" % len(names(m1)))
    check(ex.get("/healthz")[0] == 200, "/healthz 200")
    # a long-poll held in the http process, answered by a change the collector saw
    gen = int(h["ETag"].strip('"'))
    s = socket.create_connection(("127.0.0.1", ex.port), timeout=10)
    s.sendall(("GET /v1/topology?waitForGeneration=%d&timeout=20s HTTP/1.1\r\nHost: x\r\n\r\n"
               % (gen + 1)).encode())
    time.sleep(0.3)
    kubeletstate.write_atomic(os.path.join(env.kdir, "cpu_manager_state"),
                              kubeletstate.cpu_manager_state({}, "0-63"))
    t0 = time.monotonic()
    got = s.recv(65536)
    check(got.startswith(b"HTTP/1.1 200") and time.monotonic() - t0 < 5,
          "a held long-poll is answered after a kubelet change (%.2f s)" % (time.monotonic() - t0))
    s.close()


def test_stopped_collector(env):
    ex = env.exporter("--privsep-user", USER)
    os.kill(ex.proc.pid, signal.SIGSTOP)
    try:
        ok, took = wait_until(lambda: ex.get("/healthz", timeout=3)[0] == 503, 12, 0.2)
        st, _, body = ex.get("/healthz", timeout=3)
        check(ok and b"collector process sent nothing" in body,
              "a stopped collector fails /healthz after %.1f s: %r" % (took, body[:120]))
        check(ex.get("/v1/topology", timeout=3)[0] == 200, "the last document is still served")
    finally:
        os.kill(ex.proc.pid, signal.SIGCONT)
    ok, _ = wait_until(lambda: ex.get("/healthz", timeout=3)[0] == 200, 5, 0.1)
    check(ok, "/healthz 200 again once the collector runs")


def test_kills(env):
    ex = env.exporter("--privsep-user", USER)
    kid = children(ex.proc.pid)[0]
    os.kill(kid, signal.SIGKILL)
    try:
        rc = ex.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 1, "the http process killed: the collector exits 1 (%r)" % rc)
    time.sleep(0.2)
    check(any("http process" in l and "ended" in l for _, l in ex.lines),
          "... saying so: %r" % [l for _, l in ex.lines][-2:])
    env.servers.remove(ex)

    ex = env.exporter("--privsep-user", USER)
    port, kid = ex.port, children(ex.proc.pid)[0]
    before = listeners(port)
    check(kid in before, "the http process listens on the port (%r)" % before)
    ex.proc.kill()
    ex.proc.wait()
    env.servers.remove(ex)

    def gone():
        try:
            os.kill(kid, 0)
        except ProcessLookupError:
            return True
        with open("/proc/%d/stat" % kid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    ok, took = wait_until(gone, 10, 0.05)
    check(ok, "the collector SIGKILLed: the http process ends too (%.2f s)" % took)
    # nothing of this exporter listens there any more (ctest runs tests side by side: another
    # test's server may have been given the freed port, so a connection alone proves nothing)
    ours = {p: c for p, c in listeners(port).items() if env.tmp in c}
    check(not ours, "... and its port is closed: %r" % ours)


def test_unreadable_key(env):
    pki = Pki(os.path.join(env.tmp, "pki"))
    for d in (env.tmp, pki.dir):  # traversable, not listable: only the files' modes matter
        os.chmod(d, 0o711)
    for p in pki.srv:
        os.chmod(p, 0o600)  # root only: the http process cannot read it
    argv = [EXPORTER] + exporter_args(env.root, env.kdir, env.cfg, env.node) + [
        "--privsep-user", USER, "--tls-cert", pki.srv[0], "--tls-key", pki.srv[1],
        "--listen", "127.0.0.1:0"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    check(p.returncode == 1 and "http process" in p.stderr and "Permission denied" in p.stderr,
          "a key only root can read: exit 1 naming the http process and why: %d %r"
          % (p.returncode, p.stderr[-300:]))
    for path in pki.srv:  # group-readable for the http process, as deploy/ mounts it
        os.chown(path, 0, 65534)
        os.chmod(path, 0o640)
    ex = env.exporter("--privsep-user", USER, "--tls-cert", pki.srv[0], "--tls-key", pki.srv[1])
    check(ex.port is not None, "with the key readable by group 65534 it serves HTTPS")


def test_usage(env):
    for bad, why in (("root", "must not be 0"), ("0:0", "must not be 0"),
                     ("no-such-user-here", "no such user"), ("nobody:", "USER[:GROUP]")):
        p = subprocess.run([EXPORTER, "--privsep-user", bad], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode == 2 and why in p.stderr,
              "--privsep-user %s: exit 2, %r: %d %r" % (bad, why, p.returncode, p.stderr[-200:]))


def main():
    if os.geteuid() != 0:
        print("SKIP: --privsep-user needs root")
        return 77
    return run_tests([test_split, test_stopped_collector, test_kills, test_unreadable_key,
                      test_usage], lambda: MachineEnv(NODE, prefix="nf-e2e-privsep-"))


if __name__ == "__main__":
    sys.exit(main())
