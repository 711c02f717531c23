#!/usr/bin/env python3
"""e2e_abuse.py - limits that hold under abuse, on the real binaries over loopback, each with a
well-behaved client served during the abuse.

- Connection flood: 1,100 idle connections (past libmicrohttpd's default limit of 1,020, which
  the servers used to stop at) to the exporter and to the extender; a new client is still served.
- Long-polls: beyond --max-long-polls the exporter answers 503 + Retry-After at once (logged);
  held long-polls whose clients went away free their slots within a couple of seconds, so a new
  long-poll is held again.
- Hung exporter: a SIGSTOPped exporter's node turns stale in the extender within 5 s (the
  long-poll hold, 4 s by default, + 1 s), and fresh again once it runs; a live idle exporter
  stays fresh (held long-polls end with 304s, not errors).
- Memory: request bodies in flight share one budget (--body-budget): beyond it 503 at once, a
  small /filter still served, the budget given back when the clients leave.
- Reports: ?addPods= is bounded (1,000) over HTTP, where a report shares the scheduler's workers.
- Admin requests on workers of their own: while a slow /v1/report runs, a /filter is answered
  (it finishes first, even with one HTTP thread); with --admin-workers 0 (reports on the HTTP
  threads, as before) the same /filter waits for the report. Beyond --admin-queue waiting,
  503 with Retry-After at once.
- Slow request heads: clients dribbling one header byte at a time (or sending nothing) are cut
  off at --head-timeout (not held for the 120 s idle timeout, which every byte resets), logged
  once per interval, while a well-behaved client and a kept-alive idle one are served.
- Oversized heads: a 64 KiB request line and 5,000 query parameters get 414, 10,000 headers 431,
  at once (libmicrohttpd logged a 431 for the parameters but never sent it); 500 parameters and
  1,000 headers are served.
- Log injection: a /bind whose pod namespace carries a newline and a forged logfmt line writes
  no extra line: control bytes are escaped in every logged value.
"""
import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from nftest import EXTENDER, MachineEnv, check, run_tests, skip, wait_until  # noqa: E402

NODE = "worker-abuse"
FLOOD = 1100


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def flood(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def test_connection_flood(env):
    limit = raise_nofile()
    if limit < FLOOD + 200:  # the machine's hard limit, not the servers' fault
        skip("RLIMIT_NOFILE hard limit %d: connection flood not tried" % limit)
        return
    ex = env.exporter()
    tdir = env.topology_dir()
    ext = env.start([EXTENDER, "--topology-dir", tdir, "--kubeconfig", "none"], name="extender")
    for s, path in ((ex, "/v1/topology"), (ext, "/v1/nodes/" + NODE)):
        socks = flood(s.port, FLOOD)
        time.sleep(0.5)  # let the server accept them all
        t0 = time.monotonic()
        st, _, body = s.get(path, timeout=10)
        took = time.monotonic() - t0
        check(st == 200 and NODE.encode() in body,
              "%s with %d idle connections open: a new client is served (%d in %.2f s)" %
              (s.name, FLOOD, st, took))
        for k in socks:
            k.close()


def long_poll(port, gen, timeout="10s"):
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET /v1/topology?waitForGeneration=%d&timeout=%s HTTP/1.1\r\nHost: x\r\n\r\n" %
               (gen, timeout)).encode())
    return s


def status_of(s):
    """The status of the answer on s; 0 when nothing came in time, -1 when it was closed."""
    try:
        data = s.recv(256)
    except socket.timeout:
        return 0
    except OSError:
        return -1
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else -1


def test_long_polls(env):
    ex = env.exporter("--max-long-polls", "40")
    st, h, _ = ex.get("/v1/topology")
    gen = int(h["ETag"].strip('"')) + 1000
    held = [long_poll(ex.port, gen) for _ in range(40)]
    time.sleep(0.5)
    over = [long_poll(ex.port, gen) for _ in range(20)]
    for s in over:
        s.settimeout(3)
    codes = [status_of(s) for s in over]
    check(codes.count(503) == 20, "long-polls beyond --max-long-polls get 503 at once: %r" % codes)
    ok, _ = wait_until(lambda: any("long-poll limit reached" in l for _, l in ex.lines), 3)
    check(ok, "the limit hit is logged")
    check(sum("long-poll limit reached" in l for _, l in ex.lines) == 1, "... once per interval")
    check(ex.get("/healthz")[0] == 200 and ex.get("/v1/topology")[0] == 200,
          "plain GETs are served while the long-polls are full")
    for s in held + over:
        s.close()  # the clients go away without a word
    t0 = time.monotonic()

    def held_again():
        s = long_poll(ex.port, gen, "2s")
        s.settimeout(1)
        code = status_of(s)  # nothing within 1 s: it is held
        s.close()
        return code == 0
    ok, took = wait_until(held_again, 6, 0.2)
    check(ok and time.monotonic() - t0 < 6,
          "abandoned long-polls free their slots: a new one is held after %.1f s" % took)


def test_hung_exporter(env):
    ex = env.exporter()
    ext = env.start([EXTENDER, "--exporter", ex.url(), "--kubeconfig", "none"], name="extender")

    def fresh():
        st, doc = ext.request("/v1/nodes/" + NODE)
        return st == 200 and doc["cache"]["stale"] is False
    ok, _ = wait_until(fresh, 10)
    check(ok, "the exporter's node is cached and fresh")
    time.sleep(6)  # a few held long-polls end unchanged
    check(fresh() and not any("exporter failed" in l for _, l in ext.lines),
          "an idle exporter stays fresh: held long-polls end with 304, not errors")
    os.kill(ex.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        ok, took = wait_until(lambda: not fresh(), 10, 0.1)
        # by design <= 5 s (4 s hold + 1 s); the rest is this loop and a loaded machine
        check(ok and took <= 6.0, "a SIGSTOPped exporter's node is stale after %.1f s (<= 5 s)" % took)
    finally:
        os.kill(ex.proc.pid, signal.SIGCONT)
    ok, took = wait_until(fresh, 10, 0.1)
    check(ok, "fresh again %.1f s after SIGCONT" % took)


def post_head(port, length):
    """A POST /filter announcing a body of `length` bytes and sending 4 KiB of it."""
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(("POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % length).encode() + b" " * 4096)
    return s


def test_body_budget(env):
    ext = env.start([EXTENDER, "--topology-dir", env.topology_dir(), "--kubeconfig", "none",
                     "--body-budget", "64Mi", "--max-body", "40Mi"], name="extender")
    big = 30 << 20
    socks = [post_head(ext.port, big) for _ in range(8)]
    for s in socks:
        s.settimeout(1.5)
    codes = [status_of(s) for s in socks]
    check(codes.count(503) == 6 and codes.count(0) == 2,
          "8 bodies of 30 MiB against a 64 MiB budget: 2 held, 6 answered 503 at once: %r" % codes)
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
           "spec": {"containers": [{"name": "c", "resources": {}}]}}
    st, doc = ext.request("/filter", {"Pod": pod, "Nodes": None, "NodeNames": [NODE]})
    check(st == 200 and doc.get("NodeNames") == [NODE],
          "a small /filter is served while the budget is full (%d)" % st)
    for s in socks:
        s.close()

    def accepted_again():
        s = post_head(ext.port, big)
        s.settimeout(0.5)
        code = status_of(s)
        s.close()
        return code == 0  # no answer yet: the body is awaited
    ok, _ = wait_until(accepted_again, 5, 0.2)
    check(ok, "the budget is given back when those clients leave")


def test_report_bound(env):
    ext = env.start([EXTENDER, "--topology-dir", env.topology_dir(), "--kubeconfig", "none"],
                    name="extender")
    st, doc = ext.request("/v1/report?shape=cpu%3D1&addPods=1000000")
    check(st == 400 and "0..1000" in doc.get("Error", ""),
          "?addPods= beyond 1,000 is refused over HTTP (%d %r)" % (st, doc))
    st, doc = ext.request("/v1/report?shape=cpu%3D1&addPods=1000")
    check(st == 200 and doc["addPods"] == 1000, "?addPods=1000 is answered (%d)" % st)


def test_log_injection(env):
    ext = env.start([EXTENDER, "--topology-dir", env.topology_dir(), "--kubeconfig", "none"],
                    name="extender")
    forged = "a\nts=2026-01-01T00:00:00.000Z level=error msg=\"injected\"\r\x1b[2J"
    st, doc = ext.request("/bind", {"PodName": "p", "PodNamespace": forged, "PodUID": "u",
                                    "Node": NODE})
    check(st == 200 and doc.get("Error"), "the bind is answered (refused: no API server)")
    ok, _ = wait_until(lambda: any("bind refused" in l for _, l in ext.lines), 3)
    check(ok, "the bind is logged")
    lines = [l for _, l in ext.lines]
    check(not any(l.startswith("ts=2026-01-01") or "injected" in l and not l.startswith("ts=20")
                  for l in lines), "no forged line")
    check(any("a\\nts=2026-01-01" in l and "\\r\\x1b[2J" in l for l in lines),
          "the newline, carriage return and escape byte are written escaped")
    check(all(not any(ord(c) < 0x20 for c in l.rstrip("\n")) for l in lines),
          "no control byte in any log line")


def test_head_deadline(env):
    ex = env.exporter("--head-timeout", "1s")
    ext = env.start([EXTENDER, "--topology-dir", env.topology_dir(), "--kubeconfig", "none",
                     "--head-timeout", "1s"], name="extender")
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    for s, path in ((ex, "/v1/topology"), (ext, "/v1/nodes/" + NODE)):
        slow = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(40)]
        silent = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(10)]
        kept = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = kept.recv(4096)
        for k in slow:
            k.setblocking(False)
        t0, closed, served, i = time.monotonic(), {}, 0, 0
        while time.monotonic() - t0 < 8 and len(closed) < len(slow):
            for n, k in enumerate(slow):  # one byte every 0.25 s each
                if n in closed:
                    continue
                try:
                    k.send(head[i:i + 1])
                    if k.recv(64) == b"":
                        closed[n] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed[n] = time.monotonic() - t0
            if i % 4 == 0:  # a well-behaved client meanwhile
                st, _, body = s.get(path, timeout=5)
                served += st == 200 and NODE.encode() in body
            i += 1
            time.sleep(0.25)
        check(len(closed) == len(slow) and max(closed.values()) < 4,
              "%s: 40 clients sending a header byte every 0.25 s are closed after the 1 s head "
              "deadline (%d closed, the last after %.1f s)" %
              (s.name, len(closed), max(closed.values()) if closed else -1))
        check(served == (i + 3) // 4, "%s: a well-behaved client is served meanwhile (%d of %d)"
              % (s.name, served, (i + 3) // 4))
        quiet = 0
        for k in silent:
            k.settimeout(0.5)
            try:
                quiet += k.recv(64) == b""
            except OSError:
                quiet += 1
        check(quiet == len(silent), "%s: clients that send nothing are closed too" % s.name)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        again = kept.recv(4096)
        check(first.startswith(b"HTTP/1.1 200") and again.startswith(b"HTTP/1.1 200"),
              "%s: a kept-alive connection idle for %.0f s (past the head deadline) is served "
              "again: idle keep-alive is bounded by the idle timeout" %
              (s.name, time.monotonic() - t0))
        for k in slow + silent + [kept]:
            k.close()
        ok, _ = wait_until(lambda: any("request head not complete in time" in l
                                       for _, l in s.lines), 3)
        check(ok and sum("request head not complete in time" in l for _, l in s.lines) == 1,
              "%s: the limit hit is logged once per interval" % s.name)


def raw(port, data, timeout=5):
    """Send data, return (status, seconds) of the answer; status 0 when none came in time."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    try:
        s.sendall(data)
        answer = s.recv(64)
    except socket.timeout:
        answer = b""
    except OSError:  # the server answered and closed before reading it all: read the answer
        answer = s.recv(64)
    s.close()
    st = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return st, time.monotonic() - t0


def test_oversized_heads(env):
    ex = env.exporter()
    ext = env.start([EXTENDER, "--topology-dir", env.topology_dir(), "--kubeconfig", "none"],
                    name="extender")
    host = b" HTTP/1.1\r\nHost: x\r\n"
    cases = (
        ("64 KiB request line", b"GET /healthz?" + b"a" * 65536 + host + b"\r\n", 414),
        ("5,000 query parameters", b"GET /healthz?" +
         "&".join("p%d=v" % i for i in range(5000)).encode() + host + b"\r\n", 414),
        ("20,000 empty query parameters", b"GET /healthz?" + b"&" * 20000 + host + b"\r\n", 414),
        ("10,000 headers", b"GET /healthz" + host +
         b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(10000)) + b"\r\n", 431),
        ("500 query parameters", b"GET /healthz?" +
         "&".join("p%d=v" % i for i in range(500)).encode() + host + b"\r\n", 200),
        ("1,000 headers", b"GET /healthz" + host +
         b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + b"\r\n", 200),
    )
    for s in (ex, ext):
        for what, data, want in cases:
            st, took = raw(s.port, data)
            check(st == want and took < 2, "%s: %s answered %d in %.2f s (want %d at once)" %
                  (s.name, what, st, took, want))
        check(s.get("/healthz")[0] == 200, "%s: still serving" % s.name)
    ok, _ = wait_until(lambda: any("request target over the limit" in l for _, l in ext.lines), 3)
    check(ok, "the 414s are logged")


def test_admin_workers(env):
    """The mechanism, by order of completion (no timing threshold): a report of 48 shapes with
    1,000 added pods on 200 nodes takes a second or more here (it is the slow request); a
    /filter sent while it runs is done first."""
    gen = os.path.join(env.tmp, "gen")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "bench", "gen_topologies.py"),
                    gen, "200", "32"], check=True, capture_output=True)
    with open(os.path.join(gen, "names.json")) as f:
        names = json.load(f)
    # 48 shapes x 1,000 added pods: over a second with ASan, several times the /filter's time
    report = "/v1/report?" + "&".join("shape=cpu%%3D%d%%2Cmemory%%3D%dGi" % (i % 24 + 1, i // 24 + 1)
                                      for i in range(48)) + "&addPods=1000"

    def answered(port, method, path, body=None):
        """(status, monotonic time its status line and headers arrived, body): a handler's
        answer is queued whole when it returns, so the headers say when it ran, whatever the
        time the body then takes to travel."""
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        at = time.monotonic()
        data = r.read()
        c.close()
        return r.status, at, data

    def filter_during_report(ext):
        rep = {}
        t = threading.Thread(target=lambda: rep.update(r=answered(ext.port, "GET", report)))
        t.start()
        time.sleep(0.15)  # the report is running
        st, filtered, body = answered(ext.port, "POST", "/filter", names)
        t.join()
        return st, json.loads(body), filtered, {"result": rep["r"], "done": rep["r"][1]}

    for workers, first in (("1", "filter"), ("0", "report")):
        ext = env.start([EXTENDER, "--topology-dir", os.path.join(gen, "topo"), "--kubeconfig",
                         "none", "--threads", "1", "--admin-workers", workers],
                        name="extender-admin-" + workers)
        ok, _ = wait_until(lambda: ext.get("/readyz")[0] == 200, 20, 0.1)
        check(ok, "extender on 200 generated nodes is ready")
        st, doc, filtered, rep = filter_during_report(ext)
        done_first = "filter" if filtered < rep["done"] else "report"
        check(st == 200 and len(doc.get("NodeNames") or []) + len(doc.get("FailedNodes") or {}) +
              len(doc.get("FailedAndUnresolvableNodes") or {}) == 200 and
              rep["result"][0] == 200 and done_first == first,
              "one HTTP thread, --admin-workers %s: a /filter sent during a report is answered "
              "%s (%s finished first, %.2f s apart)" %
              (workers, "first" if first == "filter" else "after it (the old way)", done_first,
               abs(filtered - rep["done"])))
        ext.stop()

    ext = env.start([EXTENDER, "--topology-dir", os.path.join(gen, "topo"), "--kubeconfig", "none",
                     "--admin-queue", "1"], name="extender-queue")
    ok, _ = wait_until(lambda: ext.get("/readyz")[0] == 200, 20, 0.1)
    results = []
    lock = threading.Lock()

    def one_report():
        st, h, _ = ext.get(report, timeout=120)
        with lock:
            results.append((st, h.get("Retry-After")))
    threads = [threading.Thread(target=one_report) for _ in range(6)]
    for t in threads:
        t.start()
    st, doc = ext.request("/filter", names, timeout=60)
    check(st == 200, "a /filter is served while the admin queue is full")
    for t in threads:
        t.join()
    busy = [r for r in results if r[0] == 503]
    check(len(busy) >= 4 and all(r[1] == "1" for r in busy) and
          all(r[0] == 200 for r in results if r[0] != 503),
          "6 reports at once, one running and --admin-queue 1 waiting: the rest get 503 with "
          "Retry-After: 1 (%r)" % sorted(results))
    ok, _ = wait_until(lambda: any("admin requests over the queue bound" in l
                                   for _, l in ext.lines), 3)
    check(ok and sum("admin requests over the queue bound" in l for _, l in ext.lines) == 1,
          "the limit hit is logged once per interval")
    check(ext.get(report, timeout=120)[0] == 200, "reports are served again once the queue drains")


def main():
    return run_tests((test_connection_flood, test_long_polls, test_hung_exporter,
                      test_body_budget, test_report_bound, test_log_injection,
                      test_head_deadline, test_oversized_heads, test_admin_workers),
                     lambda: MachineEnv(NODE, "nf-e2e-abuse-"))


if __name__ == "__main__":
    sys.exit(main())
