"""nfcluster.py - real numafit servers on loopback for the end-to-end tests (stdlib only).

Fixture machines from tests/fixtures/mkfixture.py, kubelet state from tests/kubeletstate.py,
REAL numafit-exporter / numafit-extender processes on 127.0.0.1 with free ports, and the
kube-scheduler extender calls (POST /filter, /prioritize) as the scheduler makes them.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import kubeletstate  # noqa: E402,F401  (re-exported for the tests)

BUILD = os.environ["NF_BUILD_DIR"]
SRC = os.environ["NF_SOURCE_DIR"]
EXPORTER = os.path.join(BUILD, "exporter", "numafit-exporter")
EXTENDER = os.path.join(BUILD, "extender", "numafit-extender")
SRIOV_CONFIG = os.path.join(SRC, "tests", "fixtures", "sriov-config.json")
PODS = os.path.join(HERE, "pods")
GIB = 1 << 30

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)
    return cond


def summary():
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def load_pod(name):
    with open(os.path.join(PODS, name + ".json")) as f:
        return json.load(f)


def mkfixture(preset, root):
    subprocess.run([sys.executable, os.path.join(SRC, "tests", "fixtures", "mkfixture.py"), preset,
                    root], check=True, stdout=subprocess.DEVNULL)
    return root


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Server:
    """A real numafit server process; the port comes from its `msg="... serving" port=N` line.
    stderr lines are kept with their arrival time (time.monotonic()) in self.lines."""

    def __init__(self, argv, env=None, name="server"):
        self.name = name
        self.lines = []
        self.proc = subprocess.Popen(argv + ["--listen", "127.0.0.1:0"], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True,
                                     env=dict(os.environ, **(env or {})))
        self.port = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.port is None:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append((time.monotonic(), line))
            m = re.search(r'msg="[^"]*serving".* port=(\d+)', line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("%s did not start: %s" % (name, "".join(l for _, l in self.lines)))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, path, body=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="GET" if data is None
                                     else "POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")
        except (urllib.error.URLError, OSError) as e:  # refused, reset: the caller checks st
            return 0, str(e)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def exporter(root, kdir, kconfig, node, extra=(), env=None):
    return Server([EXPORTER, "--sysfs-root", root + "/sys", "--procfs-root", root + "/proc",
                   "--kubelet-dir", kdir, "--kubelet-config", kconfig, "--sriov-config",
                   SRIOV_CONFIG, "--node-name", node] + list(extra), env=env, name=node)


def extender(exporters, extra=()):
    argv = [EXTENDER]
    for e in exporters:
        argv += ["--exporter", e.url]
    return Server(argv + list(extra), name="extender")


def wait_until(fn, timeout, step=0.01):
    """Call fn() until it returns a true value or timeout seconds pass; (value, seconds)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v or time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(step)


def filter_names(ext, pod, names):
    """POST /filter as kube-scheduler does with nodeCacheCapable: true."""
    return ext.request("/filter", {"Pod": pod, "Nodes": None, "NodeNames": names})


def filter_nodes(ext, pod, nodelist):
    """POST /filter as kube-scheduler does with nodeCacheCapable: false (a full v1.NodeList)."""
    return ext.request("/filter", {"Pod": pod, "Nodes": nodelist, "NodeNames": None})


def prioritize_names(ext, pod, names):
    return ext.request("/prioritize", {"Pod": pod, "Nodes": None, "NodeNames": names})
