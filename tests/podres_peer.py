"""podres_peer.py - a kubelet podresources v1 peer on a unix socket, for tests and benchmarks.

A REAL gRPC server (python3-grpcio) serving v1.PodResourcesLister as kubelet does; the message
classes are generated from proto/podresources-v1.proto at run time (grpc_tools.protoc into a
temporary directory). What it serves is built from kubelet's checkpoint files (from_checkpoints:
an implementation of kubelet's mapping independent of the exporter's C code) or given directly.
Test controls: hang (each call sleeps before it answers), garbage (answer bytes that are not the
message), stop/start (the socket removed and made again, as a kubelet restart does).

require_grpc() makes a script without python3-grpcio re-run itself under /usr/bin/python3 (where
Debian's python3-grpcio lives) or exit 77 (ctest: skipped).
"""
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

SRC = os.environ.get("NF_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(SRC, "proto", "podresources-v1.proto")
SERVICE = "v1.PodResourcesLister"


def require_grpc():
    """Import grpc and grpc_tools, or re-exec under the system python that has them, or exit 77."""
    try:
        import grpc  # noqa: F401
        import grpc_tools.protoc  # noqa: F401
        return
    except ImportError:
        pass
    syspy = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(syspy) and os.path.exists(syspy) and \
            subprocess.run([syspy, "-c", "import grpc, grpc_tools.protoc"],
                           capture_output=True).returncode == 0:
        os.execv(syspy, [syspy] + sys.argv)
    print("SKIP: python3-grpcio / python3-grpc-tools are not installed")
    sys.exit(77)


_pb = None


def pb():
    """The generated message module (api_pb2 of proto/podresources-v1.proto)."""
    global _pb
    if _pb is None:
        from grpc_tools import protoc
        out = tempfile.mkdtemp(prefix="nf-podres-pb-")
        rc = protoc.main(["protoc", "-I" + os.path.dirname(PROTO), "--python_out=" + out,
                          os.path.basename(PROTO)])
        if rc != 0:
            raise RuntimeError("grpc_tools.protoc failed on " + PROTO)
        sys.path.insert(0, out)
        _pb = importlib.import_module("podresources_v1_pb2")  # protoc turns "-" into "_"
    return _pb


def cpulist(text):
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def _topo(nodes):
    m = pb()
    return m.TopologyInfo(nodes=[m.NUMANode(ID=n) for n in nodes])


def from_checkpoints(cpu_state=None, dev_checkpoint=None, mem_state=None, names=None,
                     allocatable_cpus=(), device_numa=None):
    """(AllocatableResourcesResponse, ListPodResourcesResponse) as kubelet answers for the state
    its checkpoint files hold (texts; None = that manager has no file). names: {podUID: (ns,
    name)} (kubelet's API has no UIDs); device_numa: {device ID: NUMA} for registered devices no
    pod holds."""
    import json
    m = pb()
    names = dict(names or {})
    pods = {}  # uid -> {container: {"cpus": [], "devices": [], "memory": []}}

    def cont(uid, c):
        if uid not in names:
            names[uid] = ("default", "pod-" + uid[:8])
        return pods.setdefault(uid, {}).setdefault(c, {"cpus": [], "devices": [], "memory": []})

    if cpu_state:
        d = json.loads(cpu_state)
        for uid, cs in (d.get("entries") or {}).items():
            for c, lst in cs.items():
                cont(uid, c)["cpus"] += cpulist(lst)
    numa_of = dict(device_numa or {})
    registered = {}
    if dev_checkpoint:
        data = json.loads(dev_checkpoint)["Data"]
        for e in data.get("PodDeviceEntries") or []:
            ids = e["DeviceIDs"]
            per = ids.items() if isinstance(ids, dict) else [("-1", ids)]
            for n, lst in per:
                for dev in lst:
                    numa_of.setdefault(dev, int(n))
                    node = [int(n)] if int(n) >= 0 else []
                    cont(e["PodUID"], e["ContainerName"])["devices"].append(
                        m.ContainerDevices(resource_name=e["ResourceName"], device_ids=[dev],
                                           topology=_topo(node)))
        registered = data.get("RegisteredDevices") or {}
    alloc_mem = []
    if mem_state:
        d = json.loads(mem_state)
        for uid, cs in (d.get("entries") or {}).items():
            for c, blocks in cs.items():
                for b in blocks:
                    cont(uid, c)["memory"].append(
                        m.ContainerMemory(memory_type=b["type"], size=b["size"],
                                          topology=_topo(b["numaAffinity"])))
        for n, st in sorted((d.get("machineState") or {}).items(), key=lambda kv: int(kv[0])):
            for typ, mm in sorted(st["memoryMap"].items()):
                alloc_mem.append(m.ContainerMemory(memory_type=typ, size=mm["allocatable"],
                                                   topology=_topo([int(n)])))
    listed = []
    for uid in sorted(pods):
        ns, name = names[uid]
        cs = [m.ContainerResources(name=c, cpu_ids=v["cpus"], devices=v["devices"],
                                   memory=v["memory"]) for c, v in sorted(pods[uid].items())]
        listed.append(m.PodResources(namespace=ns, name=name, containers=cs))
    alloc_devs = []
    for res, ids in sorted(registered.items()):
        for dev in ids:
            n = numa_of.get(dev, -1)
            alloc_devs.append(m.ContainerDevices(resource_name=res, device_ids=[dev],
                                                 topology=_topo([n] if n >= 0 else [])))
    return (m.AllocatableResourcesResponse(devices=alloc_devs, cpu_ids=list(allocatable_cpus),
                                           memory=alloc_mem),
            m.ListPodResourcesResponse(pod_resources=listed))


class Peer:
    """The podresources server on socket `path`. answers: (alloc, list) messages or raw bytes."""

    def __init__(self, path, alloc=None, listed=None):
        import grpc
        self.grpc = grpc
        self.path = path
        self.alloc = alloc if alloc is not None else pb().AllocatableResourcesResponse()
        self.listed = listed if listed is not None else pb().ListPodResourcesResponse()
        self.hang = 0.0  # seconds each call sleeps before answering
        self.calls = {"List": 0, "GetAllocatableResources": 0, "Get": 0}
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def _answer(self, method, body):
        def handler(request, context):
            with self.lock:
                self.calls[method] += 1
                hang = self.hang
            if hang:
                time.sleep(hang)
            return body()
        return handler

    def _get(self, request, context):
        with self.lock:
            self.calls["Get"] += 1
        context.abort(self.grpc.StatusCode.UNIMPLEMENTED, "Get is not served by this peer")

    def start(self):
        grpc = self.grpc
        ser = (lambda r: r if isinstance(r, bytes) else r.SerializeToString())
        handlers = {
            "List": grpc.unary_unary_rpc_method_handler(
                self._answer("List", lambda: self.listed), request_deserializer=bytes,
                response_serializer=ser),
            "GetAllocatableResources": grpc.unary_unary_rpc_method_handler(
                self._answer("GetAllocatableResources", lambda: self.alloc),
                request_deserializer=bytes, response_serializer=ser),
            "Get": grpc.unary_unary_rpc_method_handler(self._get, request_deserializer=bytes,
                                                       response_serializer=ser),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                                  options=[("grpc.max_send_message_length", 64 << 20)])
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE,
                                                                                   handlers)])
        if self.server.add_insecure_port("unix:" + self.path) == 0:
            raise RuntimeError("cannot listen on unix:" + self.path)
        self.server.start()

    def stop(self):
        """As kubelet stops: the server goes and the socket file with it."""
        if self.server:
            self.server.stop(0).wait(5)
            self.server = None
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass

    def set(self, alloc=None, listed=None, hang=None):
        with self.lock:
            if alloc is not None:
                self.alloc = alloc
            if listed is not None:
                self.listed = listed
            if hang is not None:
                self.hang = hang
