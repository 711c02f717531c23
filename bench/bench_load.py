#!/usr/bin/env python3
"""bench_load.py - the servers under sustained load and under faults (figures, not a test).

usage: NF_BUILD_DIR=build-bench bench_load.py [sustained|longpolls|faults|all] [--secs N]

sustained   wrk, 256 connections, N seconds (60) against the exporter's GET /v1/topology and the
            extender's /filter with 5,000 NodeNames, over HTTP and over HTTPS: requests, errors
            (socket errors + non-2xx), p50/p99, RSS before and after (each 2 s after the load
            stopped, so bodies in flight do not count; after a 5 s warm-up at full width; target:
            0 errors, RSS within 5 %).
longpolls   1,000 long-polls held on the exporter while a client times 2,000 plain GETs (target:
            p99 < 10 ms); the held ones still answered when the document changes.
faults      an exporter SIGKILLed mid-pull and restarted (stale within the extender's timeout,
            fresh within 1 s of its return); the extender SIGKILLed and restarted on 1,000 nodes
            (ready with a full cache in < 2 s); kubelet's files removed, torn, replaced by a
            directory and a VF removed between two sysfs reads (the exporter keeps serving and
            says what happened).
Prints one line per figure; exits 1 when a target is missed, so a run can be scripted.
"""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
os.environ.setdefault("NF_SOURCE_DIR", SRC)
os.environ.setdefault("NF_BUILD_DIR", os.path.join(SRC, "build-bench"))
sys.path.insert(0, os.path.join(SRC, "tests"))
sys.path.insert(0, os.path.join(SRC, "tests", "tls"))
import nftest  # noqa: E402
from nftest import EXPORTER, EXTENDER, MachineEnv, Server, free_port, wait_until  # noqa: E402
from tlstest import Pki  # noqa: E402

NODE = "worker-load"
missed = []


def figure(what, value, ok=None):
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    print("%-64s %s%s" % (what, value, mark), flush=True)
    if ok is False:
        missed.append(what)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[m.group(2)]


def wrk(url, secs, conns, lua=None):
    """(requests, errors, p50 ms, p99 ms, text) of one wrk run."""
    argv = ["wrk", "--latency", "--timeout", "10s", "-t2", "-c%d" % conns, "-d%ds" % secs]
    if lua:
        argv += ["-s", lua]
    out = subprocess.run(argv + [url], capture_output=True, text=True).stdout
    reqs = int((re.search(r"(\d+) requests in", out) or [0, 0])[1])
    errs = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errs += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errs += int(m.group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return reqs, errs, ms(p50.group(1)) if p50 else -1, ms(p99.group(1)) if p99 else -1, out


def post_lua(tmp, body_path):
    lua = os.path.join(tmp, os.path.basename(body_path) + ".lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                'local f = assert(io.open("%s", "rb"))\nwrk.body = f:read("*a")\nf:close()\n'
                % body_path)
    return lua


def cluster(tmp, nodes):
    d = os.path.join(tmp, "cluster-%d" % nodes)
    if not os.path.isdir(d):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_topologies.py"), d, str(nodes),
                        "32"], check=True, stdout=subprocess.DEVNULL)
    return d


# ---- sustained load ----------------------------------------------------------------------------


def sustained(tmp, secs):
    raise_nofile()
    pki = Pki(os.path.join(tmp, "pki"))
    tls = ["--tls-cert", pki.srv[0], "--tls-key", pki.srv[1]]
    env = MachineEnv(NODE, prefix="nf-load-", preset="bench")
    cl = cluster(tmp, 5000)
    lua = post_lua(tmp, os.path.join(cl, "names.json"))
    try:
        for scheme in ("http", "https"):
            extra = tls if scheme == "https" else []
            ex = env.exporter(*extra)
            ext = env.start([EXTENDER, "--topology-dir", os.path.join(cl, "topo"), "--kubeconfig",
                             "none"] + extra, name="extender")
            targets = ((ex, "/v1/topology", None), (ext, "/filter", lua))
            for srv, path, script in targets:
                url = "%s://127.0.0.1:%d%s" % (scheme, srv.port, path)
                # warm-up at full width: fit views, 256 connection pools, TLS sessions, arenas
                wrk(url, 5, 256, script)
                time.sleep(2)  # settled: what requests in flight hold is given back
                before = rss_kib(srv.proc.pid)
                reqs, errs, p50, p99, out = wrk(url, secs, 256, script)
                time.sleep(2)
                after = rss_kib(srv.proc.pid)
                growth = 100.0 * (after - before) / max(before, 1)
                what = "%s %s %s, 256 conns %d s" % (srv.name, scheme.upper(), path, secs)
                figure(what + ": requests", "%d (%.0f/s), p50 %.2f ms, p99 %.2f ms"
                       % (reqs, reqs / secs, p50, p99))
                figure(what + ": errors", str(errs), errs == 0 and reqs > 0)
                figure(what + ": RSS KiB before/after", "%d / %d (%+.1f %%)"
                       % (before, after, growth), abs(growth) <= 5.0)
                if errs or not reqs:
                    print(out)
            for s in (ex, ext):
                s.stop()
            env.servers.clear()
    finally:
        env.close()


# ---- 1,000 long-polls ----------------------------------------------------------------------------


def longpolls(tmp, _secs):
    raise_nofile()
    env = MachineEnv(NODE, prefix="nf-load-", preset="snc2")
    try:
        ex = env.exporter("--max-long-polls", "1100")
        st, h, _ = ex.get("/v1/topology")
        gen = int(h["ETag"].strip('"'))
        held = []
        for _ in range(1000):
            s = socket.socket()
            s.settimeout(30)
            s.connect(("127.0.0.1", ex.port))
            s.sendall(("GET /v1/topology?waitForGeneration=%d&timeout=60s HTTP/1.1\r\nHost: x\r\n"
                       "\r\n" % (gen + 1)).encode())
            held.append(s)
        time.sleep(1.0)
        c = socket.create_connection(("127.0.0.1", ex.port))
        req = b"GET /v1/topology HTTP/1.1\r\nHost: x\r\n\r\n"
        lat = []
        for _ in range(2000):
            t0 = time.perf_counter()
            c.sendall(req)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += c.recv(65536)
            head, _, body = buf.partition(b"\r\n\r\n")
            n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
            while len(body) < n:
                body += c.recv(65536)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
        figure("exporter, 1,000 held long-polls: 2,000 plain GETs p50 / p99",
               "%.2f / %.2f ms" % (p50, p99), p99 < 10.0)
        # a change answers every held long-poll
        kd = os.path.join(env.kdir, "cpu_manager_state")
        nftest.kubeletstate.write_atomic(kd, nftest.kubeletstate.cpu_manager_state({}, "0-63"))
        t0 = time.monotonic()
        answered = 0
        for s in held:
            try:
                if s.recv(16).startswith(b"HTTP/1.1 200"):
                    answered += 1
            except OSError:
                pass
        figure("exporter: held long-polls answered after a kubelet change",
               "%d of 1000 in %.2f s" % (answered, time.monotonic() - t0), answered == 1000)
        for s in held:
            s.close()
        c.close()
    finally:
        env.close()


# ---- faults ------------------------------------------------------------------------------------


def node_state(ext, node):
    try:
        st, doc = ext.request("/v1/nodes/" + node, timeout=2)
    except Exception:
        return None
    return None if st != 200 else doc["cache"]["stale"]


def fault_exporter_kill(env):
    port = free_port()
    argv = [EXPORTER] + nftest.exporter_args(env.root, env.kdir, env.cfg, env.node)
    ex = Server(argv, name="exporter", listen="127.0.0.1:%d" % port)
    ext = env.start([EXTENDER, "--exporter", "http://127.0.0.1:%d" % port, "--kubeconfig", "none",
                     "--stale-after", "10s"], name="extender")
    ok, _ = wait_until(lambda: node_state(ext, env.node) is False, 10)
    figure("exporter SIGKILL: node cached and fresh first", str(ok), ok)
    time.sleep(1.5)  # the extender holds a long-poll on it now: killed mid-pull
    ex.proc.kill()
    ex.proc.wait()
    t0 = time.monotonic()
    ok, took = wait_until(lambda: node_state(ext, env.node) is True, 15, 0.05)
    figure("exporter SIGKILLed mid-pull: node stale after", "%.2f s" % took, ok and took <= 5.5)
    ex = Server(argv, name="exporter", listen="127.0.0.1:%d" % port)
    t0 = time.monotonic()
    ok, took = wait_until(lambda: node_state(ext, env.node) is False, 15, 0.05)
    figure("exporter restarted: node fresh again after", "%.2f s" % took, ok and took <= 1.0)
    ex.stop()


def fault_extender_kill(tmp):
    cl = cluster(tmp, 1000)
    port = free_port()
    argv = [EXTENDER, "--topology-dir", os.path.join(cl, "topo"), "--kubeconfig", "none",
            "--listen", "127.0.0.1:%d" % port]
    base = "http://127.0.0.1:%d" % port

    def cached():
        try:
            st, _, body = nftest.http(base + "/metrics", timeout=2)
        except Exception:
            return -1
        m = re.search(rb"^numafit_extender_cache_nodes (\d+)", body, re.M)
        return int(m.group(1)) if st == 200 and m else -1

    def ready_and_full():
        try:
            return nftest.http(base + "/readyz", timeout=2)[0] == 200 and cached() >= 1000
        except Exception:
            return False

    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p = subprocess.Popen(argv, **quiet)
    wait_until(ready_and_full, 30, 0.05)
    for round_ in range(3):
        p.kill()
        p.wait()
        t0 = time.monotonic()
        p = subprocess.Popen(argv, **quiet)
        ok, _ = wait_until(ready_and_full, 20, 0.01)
        took = time.monotonic() - t0
        figure("extender SIGKILLed, restarted on 1,000 nodes (%d): ready, full cache" % (round_ + 1),
               "%.2f s" % took, ok and took < 2.0)
    nftest.terminate(p)


def fault_inputs(env):
    ex = env.exporter("--poll-interval", "200ms")
    cpu = os.path.join(env.kdir, "cpu_manager_state")
    nftest.kubeletstate.write_atomic(cpu, nftest.kubeletstate.cpu_manager_state({}, "0-63"))
    worst = 0.0
    served = 0
    statuses = []

    def probe():
        nonlocal worst, served
        t0 = time.perf_counter()
        st, _, body = ex.get("/v1/topology", timeout=5)
        worst = max(worst, (time.perf_counter() - t0) * 1000)
        if st == 200:
            served += 1
            return json.loads(body)
        return None

    def status():
        doc = probe()
        return ((doc or {}).get("kubelet") or {}).get("stateFiles", {}).get("cpuManager")

    steps = (
        ("removed", lambda: os.unlink(cpu)),
        ("torn", lambda: open(cpu, "w").write('{"policyName":"static","defaultCpuSet":"0-')),
        ("a directory", lambda: (os.unlink(cpu), os.mkdir(cpu))),
        ("back", lambda: (os.rmdir(cpu), nftest.kubeletstate.write_atomic(
            cpu, nftest.kubeletstate.cpu_manager_state({}, "0-63")))),
    )
    for name, act in steps:
        before = status()
        act()
        want = (lambda s: s == "ok") if name == "back" else (lambda s: s != before and s != "ok")
        ok, _ = wait_until(lambda: want(status()), 5, 0.05)
        statuses.append("%s -> %s" % (name, status()))
        figure("exporter: cpu_manager_state %s: status changes, still serving" % name, str(ok), ok)
    for s in statuses:
        print("    " + s)
    # a VF removed between two sysfs reads: the device directory goes away under the reader
    pci = os.path.join(env.root, "sys", "bus", "pci", "devices")
    vfs = sorted(d for d in os.listdir(pci) if d.endswith(".1") and os.path.islink(
        os.path.join(pci, d, "physfn")))
    removed = 0
    for v in vfs[:2]:
        real = os.path.realpath(os.path.join(pci, v))
        shutil.rmtree(real)
        os.unlink(os.path.join(pci, v))
        removed += 1
        for _ in range(10):
            probe()
            time.sleep(0.05)
    figure("exporter: %d VFs removed between sysfs reads: answers kept coming" % removed,
           "%d answers, worst %.1f ms" % (served, worst), ex.proc.poll() is None)
    ex.stop()


def faults(tmp, _secs):
    env = MachineEnv(NODE, prefix="nf-load-", preset="snc2")
    try:
        fault_exporter_kill(env)
    finally:
        env.close()
    fault_extender_kill(tmp)
    env = MachineEnv(NODE, prefix="nf-load-", preset="snc2")
    try:
        fault_inputs(env)
    finally:
        env.close()


def main():
    args = sys.argv[1:]
    secs = 60
    if "--secs" in args:
        i = args.index("--secs")
        secs = int(args[i + 1])
        del args[i:i + 2]
    what = args[0] if args else "all"
    table = {"sustained": sustained, "longpolls": longpolls, "faults": faults}
    if what != "all" and what not in table:
        sys.exit(__doc__)
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            sys.exit("bench_load: %s is needed (scripts/install-deps.sh)" % tool)
    tmp = tempfile.mkdtemp(prefix="nf-bench-load-")
    try:
        for name, fn in table.items():
            if what in ("all", name):
                print("== %s" % name, flush=True)
                fn(tmp, secs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if missed:
        print("missed: %s" % "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
