"""nftest.py - what every end-to-end script needs (stdlib only).

  check / summary     the pass/fail counter: check(cond, what) prints "FAIL: what" on a false
                      cond; skip(what) notes a check that cannot run here (a missing tool);
                      summary() prints "N passed, M failed, K skipped" and returns the exit
                      code: 1 on a failure, else 77 (ctest: skipped) when something was skipped
  Server              a REAL numafit server on 127.0.0.1:0 (or `listen`); the port comes from its
                      `msg="... serving" ... port=N` log line; stderr lines are kept with their
                      arrival time; stop() is terminate(): SIGTERM (SIGKILL after 10 s) -> exit code
  exporter/extender   Server for numafit-exporter / numafit-extender; report() runs
                      numafit-report once
  MachineEnv          a temp dir + a fake machine + the servers started there, stopped (exit code
                      0 checked: ASan clean) and removed by close(); run_tests(tests, make_env)
                      runs each test function with a fresh one, a crash counted as a failure
  kubeconfig          a kubeconfig file for a (fake) API server with a token
  mkfixture/machine   a fake machine from tests/fixtures/mkfixture.py, with a kubelet dir, a
                      KubeletConfiguration and kubelet's state files (tests/kubeletstate.py)
  http/request        GET/POST on loopback (never through a proxy)
  wait_until/wait_for bounded polling; free_port() a port nothing listens on

Binaries come from $NF_BUILD_DIR, sources from $NF_SOURCE_DIR (ctest sets both).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kubeletstate  # noqa: E402

SRC = os.environ.get("NF_SOURCE_DIR", os.path.dirname(HERE))
BUILD = os.environ.get("NF_BUILD_DIR", os.path.join(SRC, "build"))
EXPORTER = os.path.join(BUILD, "exporter", "numafit-exporter")
EXTENDER = os.path.join(BUILD, "extender", "numafit-extender")
REPORT = os.path.join(BUILD, "extender", "numafit-report")
SRIOV_CONFIG = os.path.join(SRC, "tests", "fixtures", "sriov-config.json")
MKFIXTURE = os.path.join(SRC, "tests", "fixtures", "mkfixture.py")
GIB = 1 << 30
MIB = 1 << 20

# ---- pass/fail counter ----------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.passed = self.failed = 0
        self.skipped = []

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)
        return cond

    def skip(self, what):
        """A check that cannot run here: the test reports skipped, never passed."""
        self.skipped.append(what)
        print("SKIP:", what, flush=True)

    def summary(self):
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, len(self.skipped)))
        return 1 if self.failed else 77 if self.skipped else 0


check = Checker()
skip = check.skip
summary = check.summary

# ---- HTTP on loopback -----------------------------------------------------------------------

# no proxy for loopback, whatever the environment says
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url, data=None, method=None, headers=None, timeout=40):
    """(status, headers dict, body bytes); an HTTP error status is an answer, not an exception
    (a refused connection raises URLError, an OSError)."""
    h = dict(headers or {})
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def request(url, body=None, timeout=10):
    """GET (body None) or POST body as JSON: (status, decoded JSON, else the text); status 0
    with the reason when the connection failed (refused, reset)."""
    data = None if body is None else json.dumps(body).encode()
    try:
        st, _, raw = http(url, data=data, method="GET" if data is None else "POST",
                          timeout=timeout)
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e)
    try:
        return st, json.loads(raw or b"null")
    except ValueError:
        return st, raw.decode(errors="replace")


def free_port():
    """A port nothing listens on now (for a peer that never answers, or a server that cannot be
    told to pick its own)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(fn, timeout, step=0.01):
    """Call fn() until it returns a true value or timeout seconds pass; (value, seconds)."""
    t0 = time.monotonic()
    while True:
        v = fn()
        if v or time.monotonic() - t0 > timeout:
            return v, time.monotonic() - t0
        time.sleep(step)


def wait_for(fn, timeout, what, step=0.05):
    """wait_until, but a timeout raises RuntimeError naming `what`; the value otherwise."""
    v, _ = wait_until(fn, timeout, step)
    if not v:
        raise RuntimeError("timed out waiting for " + what)
    return v

# ---- server processes -----------------------------------------------------------------------


_SERVING = re.compile(r'msg="[^"]*serving".* port=(\d+)')


class Server:
    """A real numafit server listening on 127.0.0.1 with a port of its choice."""

    def __init__(self, argv, env=None, name=None, start_timeout=15, listen="127.0.0.1:0"):
        self.name = name or os.path.basename(argv[0])
        self.lines = []  # (time.monotonic() of arrival, line)
        self.port = None
        self._started = threading.Event()
        self.proc = subprocess.Popen(list(argv) + ["--listen", listen],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, env=dict(os.environ, **(env or {})))
        threading.Thread(target=self._read, daemon=True).start()
        if not self._started.wait(start_timeout) or self.port is None:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("%s did not start: %s" % (self.name,
                                                        "".join(l for _, l in self.lines)))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line))
            if self.port is None:
                m = _SERVING.search(line)
                if m:
                    self.port = int(m.group(1))
                    self._started.set()
        self._started.set()  # exited before serving

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def get(self, path, headers=None, method="GET", data=None, timeout=40):
        """(status, headers, body bytes) of one request."""
        return http(self.url(path), data=data, method=method, headers=headers, timeout=timeout)

    def request(self, path, body=None, timeout=10):
        """JSON in and out: see request()."""
        return request(self.url(path), body, timeout)

    def stop(self):
        """SIGTERM: its exit code. A stop that is not clean prints the server's last words, so a
        failing check says why (a test run's logs are all there is of a rare failure)."""
        rc = terminate(self.proc)
        if rc != 0:
            time.sleep(0.2)  # the reader thread takes the last lines
            print("%s (pid %d) stopped with %s; its last stderr lines:\n%s" % (
                self.name, self.proc.pid, "a kill after 10 s" if rc is None else "exit %d" % rc,
                "".join(l for _, l in self.lines[-15:])), flush=True)
        return rc


def terminate(proc, timeout=10):
    """SIGTERM; the exit code, None when it had to be killed after `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def proc_status(pid):
    """/proc/PID/status as {field: [words]}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def listeners(port):
    """{pid: its command line} of the processes holding a listening TCP socket on port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            w = row.split()
            if w[3] == "0A" and int(w[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add("socket:[%s]" % w[9])
    out = {}
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % d)
            if any(os.readlink("/proc/%s/fd/%s" % (d, fd)) in inodes for fd in fds):
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    out[int(d)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return out


def proc_children(pid):
    """The pids whose parent is pid."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
    return kids


def exporter_args(root, kdir=None, kconfig=None, node=None, sriov_config=SRIOV_CONFIG):
    """numafit-exporter's flags for a fixture root (the flags of what is None are left out)."""
    argv = ["--sysfs-root", root + "/sys", "--procfs-root", root + "/proc"]
    for flag, v in (("--kubelet-dir", kdir), ("--kubelet-config", kconfig),
                    ("--sriov-config", sriov_config), ("--node-name", node)):
        if v is not None:
            argv += [flag, v]
    return argv


def exporter(root, kdir, kconfig, node, extra=(), env=None, binary=EXPORTER, **kw):
    return Server([binary] + exporter_args(root, kdir, kconfig, node, **kw) + list(extra),
                  env=env, name=node or "exporter")


def extender(exporters=(), extra=(), env=None):
    """exporters: Server objects or URLs."""
    argv = [EXTENDER]
    for e in exporters:
        argv += ["--exporter", e if isinstance(e, str) else e.url()]
    return Server(argv + list(extra), env=env, name="extender")


def report(args, env=None, timeout=60):
    """numafit-report ARGS: (exit code, stdout, stderr), with no newline translation (CSV)."""
    p = subprocess.run([REPORT] + list(args), capture_output=True,
                       env=dict(os.environ, **(env or {})), timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()

# ---- machines -------------------------------------------------------------------------------


def mkfixture(preset, root):
    """A fake sysfs/procfs tree (presets: top of tests/fixtures/mkfixture.py); returns root."""
    subprocess.run([sys.executable, MKFIXTURE, preset, root], check=True,
                   stdout=subprocess.DEVNULL)
    return root


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def kubeconfig(path, url, token):
    """A kubeconfig for an API server at url (a fake: tests/fakes/) with a bearer token."""
    write(path, "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
          "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
          "users:\n- name: numafit\n  user:\n    token: %s\n"
          "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: numafit\n"
          % (url, token))


def kubelet_config(reserved, scope="pod"):
    """A KubeletConfiguration: static CPU manager (full-pcpus-only), single-numa-node."""
    return ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
            "cpuManagerPolicy: static\ncpuManagerPolicyOptions:\n  full-pcpus-only: \"true\"\n"
            "reservedSystemCPUs: \"%s\"\ntopologyManagerPolicy: single-numa-node\n"
            "topologyManagerScope: %s\n" % (reserved, scope))


def machine(tmp, node, preset, reserved, cpu_entries=None, default_cpus=None, devices=None,
            registered=None):
    """A fixture root + kubelet dir + KubeletConfiguration (+ kubelet's CPU / device state when
    given, see kubeletstate.py); returns (root, kdir, config path)."""
    root = mkfixture(preset, os.path.join(tmp, node))
    kdir = os.path.join(tmp, node + "-kubelet")
    os.makedirs(os.path.join(kdir, "device-plugins"))
    cfg = os.path.join(tmp, node + "-kubelet.yaml")
    write(cfg, kubelet_config(reserved))
    if cpu_entries is not None:
        kubeletstate.write_atomic(os.path.join(kdir, "cpu_manager_state"),
                                  kubeletstate.cpu_manager_state(cpu_entries, default_cpus))
    if devices is not None:
        kubeletstate.write_atomic(os.path.join(kdir, "device-plugins", "kubelet_internal_checkpoint"),
                                  kubeletstate.device_checkpoint(devices, registered))
    return root, kdir, cfg

class MachineEnv:
    """A temporary directory with one fake machine (`preset` fixture, kubelet dir and config) and
    the servers a test starts there."""

    def __init__(self, node, prefix="nf-e2e-", preset="snc2", reserved="0,32"):
        import tempfile
        self.node = node
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.root, self.kdir, self.cfg = machine(self.tmp, node, preset, reserved)
        self.servers = []

    def start(self, argv, **kw):
        s = Server(argv, **kw)
        self.servers.append(s)
        return s

    def exporter(self, *extra, **kw):
        return self.start([EXPORTER] + exporter_args(self.root, self.kdir, self.cfg, self.node) +
                          list(extra), name="exporter", **kw)

    def topology_dir(self):
        """A --topology-dir holding this machine's document (exporter --once)."""
        tdir = os.path.join(self.tmp, "topologies")
        out = subprocess.run([EXPORTER, "--once"] +
                             exporter_args(self.root, self.kdir, self.cfg, self.node),
                             check=True, capture_output=True, text=True).stdout
        write(os.path.join(tdir, self.node + ".json"), out)
        return tdir

    def close(self):
        import shutil
        for s in self.servers:
            rc = s.stop()
            check(rc == 0, "%s exits 0 on SIGTERM (ASan clean): %r" % (s.name, rc))
            odd = [l for _, l in s.lines if not l.startswith("ts=")]
            check(not odd, "%s: every log line is logfmt: %r" % (s.name, odd[:3]))
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_tests(tests, make_env):
    """Each test function with a fresh environment; a crash is a failure, shown with the servers'
    last log lines. Returns summary()."""
    for t in tests:
        env = make_env()
        try:
            t(env)
        except Exception as e:
            check(False, "%s raised %r" % (t.__name__, e))
            for s in env.servers:
                sys.stdout.write("--- %s\n%s" % (s.name, "".join(l for _, l in s.lines[-30:])))
        finally:
            env.close()
    return summary()

# ---- kube-scheduler's extender calls ----------------------------------------------------------


def filter_names(ext, pod, names):
    """POST /filter as kube-scheduler does with nodeCacheCapable: true."""
    return ext.request("/filter", {"Pod": pod, "Nodes": None, "NodeNames": names})


def filter_nodes(ext, pod, nodelist):
    """POST /filter as kube-scheduler does with nodeCacheCapable: false (a full v1.NodeList)."""
    return ext.request("/filter", {"Pod": pod, "Nodes": nodelist, "NodeNames": None})


def prioritize_names(ext, pod, names):
    return ext.request("/prioritize", {"Pod": pod, "Nodes": None, "NodeNames": names})
