#!/usr/bin/env python3
"""fake_apiserver.py - a fake kube-apiserver serving the pod API (and NodeResourceTopology
objects, a cluster-scoped custom resource), for tests (stdlib only).

No real kube-apiserver can run on these machines, so this file stands in for one. It follows
the documented wire format of the core/v1 pod API closely enough for a client to be tested
against it: Status objects on every error, resourceVersion as a global counter (a string),
field selectors, limit/continue paging, chunked watch streams with field-selector transitions
(an object that stops matching is sent as DELETED, one that starts matching as ADDED),
bookmarks, 410 Gone for compacted resource versions, pods/binding, pods/status and DELETE with
preconditions. What it does not do is listed in LIMITATIONS below.

Two ways to use it:

  imported:
      from fake_apiserver import FakeApiServer
      s = FakeApiServer(tokens=["t1"], tls=None)        # or tls=(certfile, keyfile)
      s.start(); s.url                                  # "http://127.0.0.1:PORT"
      s.create_pod({...}); s.inject("POST", r"/binding$", 500, count=2); ...; s.stop()

  as a program (for C tests):
      python3 fake_apiserver.py --listen 127.0.0.1:0 [--token T]... [--tls-cert F --tls-key F]
  logs `ts=... level=info msg="fake kube-apiserver serving" port=N` on stderr, serves until
  SIGTERM/SIGINT, and exposes control endpoints (no auth) under /fake/:
      POST  /fake/pods                       create_pod(body)              -> 201 pod
      GET   /fake/pods                       pods()                        -> {"items": [...]}
      DELETE /fake/pods/{ns}/{name}          delete_pod(ns, name)
      PATCH /fake/pods/{ns}/{name}/status    patch_status(ns, name, body)  (body: a status, or
                                             {"status": {...}})
      POST  /fake/inject   {method, path, query, status, count, retryAfter, delayMs, close, after}
      POST  /fake/end-watches                end every open watch stream cleanly (as at timeout)
      POST  /fake/compact                    -> {"resourceVersion": "N"}
      POST  /fake/tokens   {"tokens": [...]}
      GET   /fake/nrts                       nrts()                        -> {"items": [...]}
      PUT   /fake/nrts/{name}                put_nrt(body): store as is, a new resourceVersion
                                             (someone else's write: the next stale PUT gets 409)
      DELETE /fake/nrts/{name}               delete_nrt(name)
      GET   /fake/requests                   -> [{method, path, query, auth}, ...]
      DELETE /fake/requests                  forget the recorded requests

NodeResourceTopology (topology.node.k8s.io/v1alpha2, cluster-scoped, as a CRD serves it):
GET/POST /apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies, GET/PUT/DELETE .../{name}.
POST answers 201 (409 AlreadyExists when the name exists; 400 when resourceVersion is set, 422
without metadata.name); PUT replaces the object: with metadata.resourceVersion it must be the
current one (else 409 Conflict "the object has been modified"), without one it is unconditional
(as for custom resources); 404 when there is none (no create on update); a PUT that changes
nothing keeps the resourceVersion; GET ...?watch=1 streams ADDED/MODIFIED/DELETED events from a
resourceVersion (no bookmarks, no 410 for them). No schema validation (tests validate against the
CRD themselves).

LIMITATIONS (on purpose): only pods and NodeResourceTopology; no label-selector set operators (in/notin); PATCH takes
merge patches (application/merge-patch+json; strategic merge is treated as a merge patch with
list merge keys for conditions/containerStatuses) but not JSON patch (415); deletion is always
immediate (no graceful deletion / finalizers); no admission, validation or defaulting beyond
what is listed in create_pod().
"""

import argparse
import base64
import bisect
import copy
import datetime
import json
import random
import re
import select
import signal
import socket
import ssl
import string
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeApiServer"]

DEFAULT_WATCH_TIMEOUT_S = 1800  # kube-apiserver's --min-request-timeout
MAX_EVENTS = 200000  # watch history kept before an automatic compaction
MAX_BODY = 3 * 1024 * 1024  # kube-apiserver refuses request bodies above 3 MiB

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
MESSAGES = {
    401: "Unauthorized",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected by fake kube-apiserver",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted",
}

# Field labels kube-apiserver accepts in a pod field selector (pkg/registry/core/pod/strategy.go).
POD_FIELDS = {
    "metadata.name": lambda p: p["metadata"].get("name", ""),
    "metadata.namespace": lambda p: p["metadata"].get("namespace", ""),
    "spec.nodeName": lambda p: p.get("spec", {}).get("nodeName", ""),
    "spec.schedulerName": lambda p: p.get("spec", {}).get("schedulerName", ""),
    "spec.restartPolicy": lambda p: p.get("spec", {}).get("restartPolicy", ""),
    "spec.serviceAccountName": lambda p: p.get("spec", {}).get("serviceAccountName", ""),
    "spec.hostNetwork": lambda p: "true" if p.get("spec", {}).get("hostNetwork") else "false",
    "status.phase": lambda p: p.get("status", {}).get("phase", ""),
    "status.podIP": lambda p: p.get("status", {}).get("podIP", ""),
    "status.nominatedNodeName": lambda p: p.get("status", {}).get("nominatedNodeName", ""),
}


NRT_GROUP = "topology.node.k8s.io"
NRT_API_VERSION = NRT_GROUP + "/v1alpha2"
NRT_PLURAL = "noderesourcetopologies"
NRT_PATH = "/apis/%s/%s" % (NRT_API_VERSION, NRT_PLURAL)


class ApiError(Exception):
    """An error answered as a v1 Status object."""

    def __init__(self, code, message, reason=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}


def status_body(code, message, reason, details=None):
    st = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if code < 400:
        del st["message"]
        del st["reason"]
    if details is not None:
        st["details"] = details
    return st


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(ns, name):
    return ApiError(404, 'pods "%s" not found' % name, "NotFound", {"name": name, "kind": "pods"})


def parse_selector(sel, fields):
    """Parse a field selector ("a=b,c!=d", "==" too) into [(field, op, value)]. Raises ApiError."""
    reqs = []
    if not sel:
        return reqs
    for term in sel.split(","):
        term = term.strip()
        if not term:
            continue
        m = re.match(r"^([^=!]+?)\s*(==|!=|=)\s*(.*)$", term)
        if not m:
            raise ApiError(400, "invalid field selector: %r: does not contain an operator" % term)
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in fields:
            raise ApiError(400, 'field label not supported: %s' % field)
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


def parse_label_selector(sel):
    """Equality-based label selector: k=v, k==v, k!=v, k, !k (comma = AND)."""
    reqs = []
    if not sel:
        return reqs
    for term in sel.split(","):
        term = term.strip()
        if not term:
            continue
        m = re.match(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$", term)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", m.group(3)))
        elif re.match(r"^![A-Za-z0-9./_-]+$", term):
            reqs.append((term[1:], "!exists", None))
        elif re.match(r"^[A-Za-z0-9./_-]+$", term):
            reqs.append((term, "exists", None))
        else:
            raise ApiError(400, "unable to parse requirement: %r (set operators are not faked)" % term)
    return reqs


def matches(pod, freqs, lreqs):
    if pod is None:
        return False
    for field, op, value in freqs:
        have = POD_FIELDS[field](pod)
        if (have == value) != (op == "="):
            return False
    labels = pod["metadata"].get("labels") or {}
    for key, op, value in lreqs:
        if op == "exists" and key not in labels:
            return False
        if op == "!exists" and key in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def merge_patch(target, patch, strategic=False):
    """RFC 7386 JSON merge patch (None deletes). With strategic=True, lists of objects under the
    merge keys kube uses in pod status (conditions by "type", *Statuses by "name") merge by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif strategic and isinstance(v, list) and isinstance(out.get(k), list) and k in (
            "conditions", "containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"
        ):
            key = "type" if k == "conditions" else "name"
            merged = [copy.deepcopy(x) for x in out[k]]
            for item in v:
                for i, old in enumerate(merged):
                    if isinstance(item, dict) and isinstance(old, dict) and old.get(key) == item.get(key):
                        merged[i] = merge_patch(old, item, strategic)
                        break
                else:
                    merged.append(copy.deepcopy(item))
            out[k] = merged
        else:
            out[k] = merge_patch(out.get(k), v, strategic)
    return out


def encode_continue(rv, start_key):
    # The same shape as apiserver's storage continue token: base64(JSON{v, rv, start}).
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_key + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        pad = "=" * (-len(token) % 4)
        raw = json.loads(base64.urlsafe_b64decode(token + pad))
        if raw.get("v") != "meta.k8s.io/v1":
            raise ValueError("bad version")
        rv = int(raw["rv"])
        start = str(raw["start"])
        return rv, start[:-1] if start.endswith("\x00") else start
    except Exception:
        raise ApiError(400, "continue key is not valid: incorrect encoded start resourceVersion")


def key_of(pod):
    return "%s/%s" % (pod["metadata"]["namespace"], pod["metadata"]["name"])


class FakeApiServer:
    """A fake kube-apiserver (pods only). Thread-safe: one lock guards all state."""

    def __init__(self, tokens=None, tls=None, host="127.0.0.1", port=0, client_ca=None,
                 bookmark_interval_s=60.0, verbose=False):
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._tokens = list(tokens or [])
        self._tls = tls
        self._client_ca = client_ca
        self._host = host
        self._port = port
        self.bookmark_interval_s = bookmark_interval_s
        self.verbose = verbose
        self._pods = {}  # "ns/name" -> pod (without kind/apiVersion)
        self._nrts = {}  # name -> NodeResourceTopology (as stored, with kind/apiVersion)
        self._nrt_events = []  # [(rv, type, object)] of NodeResourceTopology, for their watches
        self._rv = 1  # the global resourceVersion counter
        self._compacted = 0  # watches/continues from a resourceVersion below this get 410
        self._base = {}  # the pod set at resourceVersion self._compacted (for consistent paging)
        self._events = []  # [(rv, type, old_pod_or_None, new_pod)] after self._compacted
        self._injections = []  # dicts: method, regex, status, count, retry_after, delay_s, close
        self.requests = []  # (method, path, query dict, had_valid_auth)
        self.bind_hook = None
        self._stopping = False
        self._watch_gen = 0
        self._httpd = None
        self._thread = None
        self.url = None
        self.port = None

    # ---- lifecycle ----
    def start(self):
        handler = _make_handler(self)
        httpd = _Server((self._host, self._port), handler)
        httpd.fake = self
        if self._tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self._tls[0], self._tls[1])
            if self._client_ca:
                ctx.load_verify_locations(self._client_ca)
                ctx.verify_mode = ssl.CERT_OPTIONAL
            httpd.ssl_ctx = ctx
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.url = "%s://%s:%d" % ("https" if self._tls else "http", self._host, self.port)
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fake-apiserver", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- state changes (all under the lock) ----
    def _next_rv(self):
        self._rv += 1
        return self._rv

    def _emit(self, typ, old, new):
        self._events.append((int(new["metadata"]["resourceVersion"]), typ, old, new))
        if len(self._events) > MAX_EVENTS:  # an etcd would have compacted long ago
            self._base = self._snapshot_at(self._events[MAX_EVENTS // 2][0])
            self._compacted = self._events[MAX_EVENTS // 2][0]
            del self._events[: MAX_EVENTS // 2 + 1]
        self._cond.notify_all()

    def _create(self, pod, ns=None):
        if not isinstance(pod, dict):
            raise ApiError(400, "the body of the request was not a Pod object")
        pod = copy.deepcopy(pod)
        if pod.get("kind") not in (None, "Pod") or pod.get("apiVersion") not in (None, "v1"):
            raise ApiError(400, "the API version in the data (%s) does not match the expected API "
                           "version (v1)" % pod.get("apiVersion"))
        pod.pop("kind", None)
        pod.pop("apiVersion", None)
        meta = pod.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if ns is not None:
            if meta.get("namespace") not in (None, "", ns):
                raise ApiError(400, "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = ns
        meta.setdefault("namespace", "default")
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
            else:
                raise ApiError(422, 'Pod "" is invalid: metadata.name: Required value: name or '
                               "generateName is required",
                               details={"name": "", "kind": "Pod"})
        with self._lock:
            if key_of(pod) in self._pods:
                raise ApiError(409, 'pods "%s" already exists' % meta["name"], "AlreadyExists",
                               {"name": meta["name"], "kind": "pods"})
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["resourceVersion"] = str(self._next_rv())
            meta.setdefault("generation", 1)
            spec = pod.setdefault("spec", {})
            spec.setdefault("schedulerName", "default-scheduler")
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("containers", [])
            st = pod.setdefault("status", {})
            st.setdefault("phase", "Pending")
            self._pods[key_of(pod)] = pod
            self._emit("ADDED", None, copy.deepcopy(pod))
            return copy.deepcopy(pod)

    def _get(self, ns, name):
        pod = self._pods.get("%s/%s" % (ns, name))
        if pod is None:
            raise not_found(ns, name)
        return pod

    def _update(self, ns, name, fn):
        with self._lock:
            old = self._get(ns, name)
            new = fn(copy.deepcopy(old))
            new["metadata"]["resourceVersion"] = str(self._next_rv())
            self._pods[key_of(new)] = new
            self._emit("MODIFIED", copy.deepcopy(old), copy.deepcopy(new))
            return copy.deepcopy(new)

    def _delete(self, ns, name, preconditions=None):
        with self._lock:
            old = self._get(ns, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Precondition failed: UID in precondition: %s, UID in object "
                               "meta: %s" % (pre["uid"], old["metadata"]["uid"]), "Conflict",
                               {"name": name, "kind": "pods"})
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Precondition failed: ResourceVersion in precondition: %s, "
                               "ResourceVersion in object meta: %s"
                               % (pre["resourceVersion"], old["metadata"]["resourceVersion"]),
                               "Conflict", {"name": name, "kind": "pods"})
            del self._pods[key_of(old)]
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._next_rv())
            self._emit("DELETED", copy.deepcopy(old), copy.deepcopy(gone))
            return gone

    def _bind(self, ns, name, binding):
        if not isinstance(binding, dict) or binding.get("kind") not in (None, "Binding"):
            raise ApiError(400, "the body of the request was not a Binding object")
        bmeta = binding.get("metadata") or {}
        if bmeta.get("name") and bmeta["name"] != name:
            raise ApiError(400, "name in URL does not match name in Binding object")
        if bmeta.get("namespace") not in (None, "", ns):
            raise ApiError(400, "the namespace of the provided object does not match the namespace "
                           "sent on the request")
        target = binding.get("target") or {}
        if target.get("kind") not in (None, "", "Node"):
            raise ApiError(400, "Binding target %s is not a Node" % target.get("kind"))
        node = target.get("name") or ""
        if not node:
            raise ApiError(422, 'Binding.core "%s" is invalid: target.name: Required value' % name,
                           "Invalid", {"name": name, "group": "", "kind": "Binding"})
        with self._lock:
            pod = self._get(ns, name)
            uid = bmeta.get("uid")
            if uid and uid != pod["metadata"]["uid"]:
                raise ApiError(409, 'Operation cannot be fulfilled on pods/binding "%s": '
                               "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (name, uid, pod["metadata"]["uid"]), "Conflict",
                               {"name": name, "kind": "pods/binding"})
            if pod["metadata"].get("deletionTimestamp"):
                raise ApiError(409, 'Operation cannot be fulfilled on pods/binding "%s": pod %s is '
                               "being deleted, cannot be assigned to a host" % (name, name),
                               "Conflict", {"name": name, "kind": "pods/binding"})
            if pod.get("spec", {}).get("nodeName"):
                raise ApiError(409, 'Operation cannot be fulfilled on pods/binding "%s": pod %s/%s '
                               'is already assigned to node "%s"'
                               % (name, ns, name, pod["spec"]["nodeName"]), "Conflict",
                               {"name": name, "kind": "pods/binding"})

            def assign(p):
                p["spec"]["nodeName"] = node
                conds = p["status"].setdefault("conditions", [])
                conds[:] = [c for c in conds if c.get("type") != "PodScheduled"]
                conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                              "lastTransitionTime": now_rfc3339()})
                return p

            return self._update(ns, name, assign)

    # ---- the Python API for tests ----
    def create_pod(self, pod):
        """Create a pod (namespace defaults to "default"); returns a copy with uid/RV set."""
        return self._create(pod)

    def get_pod(self, ns, name):
        with self._lock:
            pod = self._pods.get("%s/%s" % (ns, name))
            return copy.deepcopy(pod) if pod else None

    def pods(self):
        with self._lock:
            return [copy.deepcopy(self._pods[k]) for k in sorted(self._pods)]

    def patch_status(self, ns, name, status):
        """Merge `status` into the pod's status (JSON merge patch), emits MODIFIED."""
        def fn(p):
            p["status"] = merge_patch(p.get("status", {}), status)
            return p
        return self._update(ns, name, fn)

    def delete_pod(self, ns, name):
        """Delete at once (emits DELETED); returns the pod, or None when there was none."""
        try:
            return self._delete(ns, name)
        except ApiError:
            return None

    # ---- NodeResourceTopology (cluster-scoped custom resource) ----
    def _nrt_check(self, obj):
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request was not a NodeResourceTopology object")
        if obj.get("apiVersion") != NRT_API_VERSION or obj.get("kind") != "NodeResourceTopology":
            raise ApiError(400, "the API version in the data (%s) does not match the expected API "
                           "version (%s)" % (obj.get("apiVersion"), NRT_API_VERSION))
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise ApiError(422, 'NodeResourceTopology.topology.node.k8s.io "" is invalid: '
                           "metadata.name: Required value: name or generateName is required",
                           "Invalid", {"name": "", "group": NRT_GROUP, "kind": "NodeResourceTopology"})
        if meta.get("namespace"):
            raise ApiError(400, "the namespace of the provided object does not match the "
                           "namespace sent on the request (the resource is cluster-scoped)")
        return copy.deepcopy(obj)

    def _nrt_create(self, obj):
        obj = self._nrt_check(obj)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise ApiError(400, "resourceVersion should not be set on objects to be created")
        with self._lock:
            if meta["name"] in self._nrts:
                raise ApiError(409, '%s.%s "%s" already exists' % (NRT_PLURAL, NRT_GROUP, meta["name"]),
                               "AlreadyExists", {"name": meta["name"], "group": NRT_GROUP,
                                                 "kind": NRT_PLURAL})
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["resourceVersion"] = str(self._next_rv())
            meta["generation"] = 1
            self._nrts[meta["name"]] = obj
            self._nrt_emit("ADDED", obj)
            return copy.deepcopy(obj)

    def _nrt_update(self, name, obj):
        obj = self._nrt_check(obj)
        meta = obj["metadata"]
        if meta["name"] != name:
            raise ApiError(400, "the name of the object (%s) does not match the name on the URL (%s)"
                           % (meta["name"], name))
        with self._lock:
            old = self._nrts.get(name)
            if old is None:
                raise ApiError(404, '%s.%s "%s" not found' % (NRT_PLURAL, NRT_GROUP, name),
                               "NotFound", {"name": name, "group": NRT_GROUP, "kind": NRT_PLURAL})
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise ApiError(409, 'Operation cannot be fulfilled on %s.%s "%s": the object has '
                               "been modified; please apply your changes to the latest version "
                               "and try again" % (NRT_PLURAL, NRT_GROUP, name), "Conflict",
                               {"name": name, "group": NRT_GROUP, "kind": NRT_PLURAL})
            for k in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                meta[k] = old["metadata"][k]
            if obj == old:  # nothing changed: no write, the same resourceVersion
                return copy.deepcopy(old)
            strip = lambda o: {k: v for k, v in o.items() if k != "metadata"}
            if strip(obj) != strip(old):
                meta["generation"] = old["metadata"]["generation"] + 1
            meta["resourceVersion"] = str(self._next_rv())
            self._nrts[name] = obj
            self._nrt_emit("MODIFIED", obj)
            return copy.deepcopy(obj)

    def nrts(self):
        with self._lock:
            return [copy.deepcopy(self._nrts[k]) for k in sorted(self._nrts)]

    def get_nrt(self, name):
        with self._lock:
            o = self._nrts.get(name)
            return copy.deepcopy(o) if o else None

    def put_nrt(self, obj):
        """Store obj as is (someone else's write): a new resourceVersion."""
        obj = self._nrt_check(obj)
        with self._lock:
            old = self._nrts.get(obj["metadata"]["name"])
            meta = obj["metadata"]
            meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", now_rfc3339())
            meta["generation"] = (old["metadata"].get("generation", 1) + 1) if old else 1
            meta["resourceVersion"] = str(self._next_rv())
            self._nrts[meta["name"]] = obj
            self._nrt_emit("MODIFIED" if old else "ADDED", obj)
            return copy.deepcopy(obj)

    def delete_nrt(self, name):
        with self._lock:
            gone = self._nrts.pop(name, None)
            if gone is not None:
                gone["metadata"]["resourceVersion"] = str(self._next_rv())
                self._nrt_emit("DELETED", gone)
            return gone

    def _nrt_emit(self, typ, obj):
        self._nrt_events.append((int(obj["metadata"]["resourceVersion"]), typ, copy.deepcopy(obj)))
        self._cond.notify_all()

    def set_tokens(self, tokens):
        with self._lock:
            self._tokens = list(tokens or [])

    def inject(self, method, path_regex, status, count=1, retry_after=None, delay_s=0, close=False,
               after=False, query_regex=None):
        """The next `count` requests whose method (or "*"), path and raw query string (query_regex,
        when given; both with re.search) match get `status`
        (a Status body; with Retry-After when given), after `delay_s`. status 0/None with delay_s
        only delays; close=True drops the connection without an answer; after=True first carries
        the request out, then answers `status` (or drops) instead of the real answer: a write
        whose answer was lost."""
        with self._lock:
            self._injections.append({
                "method": (method or "*").upper(), "regex": re.compile(path_regex or ""),
                "query": re.compile(query_regex) if query_regex else None,
                "status": int(status or 0), "count": int(count), "retry_after": retry_after,
                "delay_s": float(delay_s or 0), "close": bool(close), "after": bool(after)})

    def end_watches(self):
        """End every open watch stream cleanly, as a server-side timeout (or restart) would."""
        with self._cond:
            self._watch_gen += 1
            self._cond.notify_all()

    def compact(self):
        """Expire every resourceVersion before now (like an etcd compaction); returns the RV."""
        with self._lock:
            self._compacted = self._rv
            self._base = {k: copy.deepcopy(v) for k, v in self._pods.items()}
            # Watches already running keep seeing every event; new ones cannot start before now.
            return str(self._rv)

    def resource_version(self):
        with self._lock:
            return str(self._rv)

    def clear_requests(self):
        with self._lock:
            self.requests = []

    # ---- helpers for the handler ----
    def _take_injection(self, method, path, query=""):
        with self._lock:
            for inj in self._injections:
                if inj["method"] in ("*", method) and inj["regex"].search(path) and (
                        inj["query"] is None or inj["query"].search(query)):
                    inj["count"] -= 1
                    if inj["count"] <= 0:
                        self._injections.remove(inj)
                    return dict(inj)
        return None

    def _snapshot_at(self, rv):
        """The pod set at resourceVersion rv (rv >= self._compacted)."""
        state = {k: v for k, v in self._base.items()}
        for erv, typ, _old, new in self._events:
            if erv <= self._compacted:
                continue
            if erv > rv:
                break
            if typ == "DELETED":
                state.pop(key_of(new), None)
            else:
                state[key_of(new)] = new
        return state

    def _list(self, freqs, lreqs, limit, cont, rv_param):
        with self._lock:
            if cont:
                rv, start = decode_continue(cont)
                if rv < self._compacted:
                    raise ApiError(410, "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without the "
                                   "continue parameter.", "Expired")
                state = self._snapshot_at(rv)
            else:
                if rv_param not in (None, "", "0"):
                    try:
                        want = int(rv_param)
                    except ValueError:
                        raise ApiError(400, "resourceVersion: Invalid value: %r" % rv_param)
                    if want > self._rv:
                        raise ApiError(504, "Too large resource version: %d, current: %d"
                                       % (want, self._rv), "Timeout",
                                       {"causes": [{"reason": "ResourceVersionTooLarge",
                                                    "message": "Too large resource version"}],
                                        "retryAfterSeconds": 1})
                rv, start = self._rv, None
                state = self._pods
            keys = sorted(k for k in state if start is None or k > start)
            items = []
            last = None
            remaining = 0
            for k in keys:
                if not matches(state[k], freqs, lreqs):
                    continue
                if limit and len(items) >= limit:
                    remaining += 1
                    continue
                items.append(copy.deepcopy(state[k]))
                last = k
            meta = {"resourceVersion": str(rv)}
            if remaining:
                meta["continue"] = encode_continue(rv, last)
                meta["remainingItemCount"] = remaining
            return {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bursts of binding calls must not overflow the listen backlog
    ssl_ctx = None
    fake = None

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(10)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            if self.fake and self.fake.verbose:
                sys.stderr.write('ts=%s level=info msg="TLS handshake failed" err="%s"\n'
                                 % (now_rfc3339(), str(e).replace('"', "'")))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # A client that hangs up mid-answer is normal here; do not print tracebacks.
        if self.fake and self.fake.verbose:
            super().handle_error(request, client_address)


def _make_handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-kube-apiserver/1.0"
        # Headers and body go out in two send()s: without TCP_NODELAY (which Go, and so the real
        # kube-apiserver, sets) Nagle + the client's delayed ACK add ~40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            if fake.verbose:
                sys.stderr.write("ts=%s level=debug msg=\"request\" line=\"%s\"\n"
                                 % (now_rfc3339(), (fmt % args).replace('"', "'")))

        # ---- answering ----
        _lost_answer = None

        def _injected_error(self, inj):
            hdrs = {}
            details = None
            if inj["retry_after"] is not None:
                hdrs["Retry-After"] = str(int(inj["retry_after"]))
                details = {"retryAfterSeconds": int(inj["retry_after"])}
            code = inj["status"]
            return ApiError(code, MESSAGES.get(code, "injected by fake kube-apiserver"),
                            REASONS.get(code, "InternalError"), details, hdrs)

        def _send_json(self, code, obj, headers=None):
            inj, self._lost_answer = self._lost_answer, None
            if inj:  # the request was carried out; its answer is replaced ("after" injection)
                if inj["delay_s"]:
                    time.sleep(inj["delay_s"])
                if inj["close"] or not inj["status"]:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                e = self._injected_error(inj)
                code, obj, headers = e.code, status_body(e.code, e.message, e.reason, e.details), e.headers
            body = (json.dumps(obj) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _send_error(self, e):
            self._send_json(e.code, status_body(e.code, e.message, e.reason, e.details), e.headers)

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                raise ApiError(413, "Request entity too large: limit is 3145728")
            raw = self.rfile.read(n) if n > 0 else b""
            return raw

        def _json_body(self, required=True):
            raw = self._body()
            if not raw.strip():
                if required:
                    raise ApiError(400, "the request body is empty")
                return None
            try:
                return json.loads(raw)
            except ValueError as e:
                raise ApiError(400, "the object provided is unrecognized (must be of type JSON): %s"
                               % e, "BadRequest")

        def _auth_ok(self):
            with fake._lock:
                tokens = list(fake._tokens)
            if isinstance(self.connection, ssl.SSLSocket) and fake._client_ca:
                try:
                    if self.connection.getpeercert():
                        return True
                except (ValueError, OSError):
                    pass
            h = self.headers.get("Authorization", "")
            if not tokens:
                return True
            return h.startswith("Bearer ") and h[len("Bearer "):].strip() in tokens

        def _dispatch(self):
            try:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                qs = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                if path.startswith("/fake/"):
                    return self._control(path, qs)
                ok = self._auth_ok()
                with fake._lock:
                    fake.requests.append((self.command, path, qs, ok))
                if not ok:
                    # Drain the body so that a keep-alive connection stays usable.
                    self._body()
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                inj = fake._take_injection(self.command, path, parts.query)
                if inj and inj["after"]:
                    self._lost_answer = inj
                    inj = None
                if inj:
                    if inj["delay_s"]:
                        time.sleep(inj["delay_s"])
                    if inj["close"]:
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return
                    if inj["status"]:
                        self._body()
                        raise self._injected_error(inj)
                self._route(path, qs)
            except ApiError as e:
                self._send_error(e)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
            except Exception as e:  # a bug in the fake: answer as the real server would
                sys.stderr.write('ts=%s level=error msg="fake kube-apiserver bug" err="%r"\n'
                                 % (now_rfc3339(), e))
                try:
                    self._send_error(ApiError(500, "Internal error occurred: %r" % e))
                except OSError:
                    self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        # ---- the real API ----
        def _route(self, path, qs):
            m = self.command
            if path in ("/healthz", "/readyz", "/livez"):
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path == "/version":
                return self._send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-fake",
                                             "platform": "linux/amd64"})
            r = re.match(r"^/api/v1/(watch/)?(?:namespaces/([^/]+)/)?pods$", path)
            if r:
                ns = r.group(2)
                if m == "GET":
                    watching = r.group(1) or qs.get("watch", "").lower() in ("1", "true")
                    return self._watch(ns, qs) if watching else self._list_pods(ns, qs)
                if m == "POST" and ns and not r.group(1):
                    pod = fake._create(self._json_body(), ns)
                    return self._send_json(201, dict({"kind": "Pod", "apiVersion": "v1"}, **pod))
                raise ApiError(405, "the server does not allow this method on the requested resource")
            r = re.match(r"^/api/v1/(watch/)?namespaces/([^/]+)/pods/([^/]+)$", path)
            if r and r.group(1):
                qs = dict(qs)
                extra = "metadata.name=%s" % r.group(3)
                qs["fieldSelector"] = extra + ("," + qs["fieldSelector"] if qs.get("fieldSelector") else "")
                return self._watch(r.group(2), qs)
            if r:
                ns, name = r.group(2), r.group(3)
                if m == "GET":
                    with fake._lock:
                        pod = copy.deepcopy(fake._get(ns, name))
                    return self._send_json(200, dict({"kind": "Pod", "apiVersion": "v1"}, **pod))
                if m == "DELETE":
                    opts = self._json_body(required=False) or {}
                    if not isinstance(opts, dict):
                        raise ApiError(400, "the body of the request was not a DeleteOptions object")
                    gone = fake._delete(ns, name, opts.get("preconditions"))
                    return self._send_json(200, dict({"kind": "Pod", "apiVersion": "v1"}, **gone))
                raise ApiError(405, "the server does not allow this method on the requested resource")
            r = re.match(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/(status|binding)$", path)
            if r:
                ns, name, sub = r.groups()
                if sub == "status" and m == "GET":
                    with fake._lock:
                        pod = copy.deepcopy(fake._get(ns, name))
                    return self._send_json(200, dict({"kind": "Pod", "apiVersion": "v1"}, **pod))
                if sub == "status" and m == "PATCH":
                    ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                    if ctype not in ("application/merge-patch+json",
                                     "application/strategic-merge-patch+json"):
                        self._body()
                        raise ApiError(415, 'the body of the request was in an unknown format - '
                                       'accepted media types include: application/merge-patch+json, '
                                       'application/strategic-merge-patch+json (JSON patch is not '
                                       'faked)')
                    patch = self._json_body()
                    if not isinstance(patch, dict):
                        raise ApiError(400, "the patch is not a JSON object")
                    strategic = ctype.startswith("application/strategic")

                    def fn(p):
                        merged = merge_patch(p, patch, strategic)
                        p["status"] = merged.get("status") or {}  # status subresource: status only
                        return p

                    pod = fake._update(ns, name, fn)
                    return self._send_json(200, dict({"kind": "Pod", "apiVersion": "v1"}, **pod))
                if sub == "binding" and m == "POST":
                    pod = fake._bind(ns, name, self._json_body())
                    hook = fake.bind_hook
                    if hook:
                        try:
                            hook(pod)
                        except Exception as e:
                            sys.stderr.write('ts=%s level=warn msg="bind_hook failed" err="%r"\n'
                                             % (now_rfc3339(), e))
                    return self._send_json(201, status_body(201, "", ""))
                raise ApiError(405, "the server does not allow this method on the requested resource")
            if path == NRT_PATH:
                if m == "GET" and qs.get("watch", "").lower() in ("1", "true"):
                    return self._watch_nrts(qs)
                if m == "GET":
                    with fake._lock:
                        rv = str(fake._rv)
                    return self._send_json(200, {"kind": "NodeResourceTopologyList",
                                                 "apiVersion": NRT_API_VERSION,
                                                 "metadata": {"resourceVersion": rv},
                                                 "items": fake.nrts()})
                if m == "POST":
                    return self._send_json(201, fake._nrt_create(self._json_body()))
                raise ApiError(405, "the server does not allow this method on the requested resource")
            r = re.match("^" + re.escape(NRT_PATH) + r"/([^/]+)$", path)
            if r:
                name = r.group(1)
                if m == "GET":
                    o = fake.get_nrt(name)
                    if o is None:
                        raise ApiError(404, '%s.%s "%s" not found' % (NRT_PLURAL, NRT_GROUP, name),
                                       "NotFound", {"name": name, "group": NRT_GROUP, "kind": NRT_PLURAL})
                    return self._send_json(200, o)
                if m == "PUT":
                    return self._send_json(200, fake._nrt_update(name, self._json_body()))
                if m == "DELETE":
                    self._body()
                    if fake.delete_nrt(name) is None:
                        raise ApiError(404, '%s.%s "%s" not found' % (NRT_PLURAL, NRT_GROUP, name),
                                       "NotFound", {"name": name, "group": NRT_GROUP, "kind": NRT_PLURAL})
                    return self._send_json(200, status_body(200, "", "", {"name": name,
                                                                          "group": NRT_GROUP,
                                                                          "kind": NRT_PLURAL}))
                raise ApiError(405, "the server does not allow this method on the requested resource")
            raise ApiError(404, "the server could not find the requested resource", "NotFound", {})

        def _selectors(self, ns, qs):
            freqs = parse_selector(qs.get("fieldSelector", ""), POD_FIELDS)
            if ns:
                freqs.append(("metadata.namespace", "=", ns))
            return freqs, parse_label_selector(qs.get("labelSelector", ""))

        def _list_pods(self, ns, qs):
            freqs, lreqs = self._selectors(ns, qs)
            try:
                limit = int(qs.get("limit") or 0)
            except ValueError:
                raise ApiError(400, "limit: Invalid value: %r" % qs.get("limit"))
            out = fake._list(freqs, lreqs, max(limit, 0), qs.get("continue"),
                             qs.get("resourceVersion"))
            self._send_json(200, out)

        # ---- watch: a chunked stream of JSON lines ----
        def _chunk(self, obj):
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _client_gone(self):
            sock = self.connection
            try:
                r, _, _ = select.select([sock], [], [], 0)
                if not r:
                    return False
                if isinstance(sock, ssl.SSLSocket):
                    return sock.recv(1) == b""
                return sock.recv(1, socket.MSG_PEEK) == b""
            except (OSError, ValueError, ssl.SSLError):
                return True

        def _start_stream(self):
            """The head of a watch answer: 200, chunked, the connection closed at its end."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.close_connection = True

        def _watch(self, ns, qs):
            freqs, lreqs = self._selectors(ns, qs)
            try:
                timeout = float(qs.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
            except ValueError:
                raise ApiError(400, "timeoutSeconds: Invalid value: %r" % qs.get("timeoutSeconds"))
            bookmarks = qs.get("allowWatchBookmarks", "").lower() in ("1", "true")
            rv_param = qs.get("resourceVersion", "")
            initial = []
            with fake._lock:
                if rv_param in ("", "0"):
                    pos = fake._rv
                    initial = [copy.deepcopy(fake._pods[k]) for k in sorted(fake._pods)
                               if matches(fake._pods[k], freqs, lreqs)]
                    expired = None
                else:
                    try:
                        pos = int(rv_param)
                    except ValueError:
                        raise ApiError(400, "resourceVersion: Invalid value: %r: must be an integer"
                                       % rv_param)
                    expired = (pos < fake._compacted) and fake._compacted
            self._start_stream()
            if expired:
                self._chunk({"type": "ERROR", "object": status_body(
                    410, "too old resource version: %d (%d)" % (pos, expired), "Expired")})
                return self._end_chunks()
            for pod in initial:
                self._chunk({"type": "ADDED", "object": dict({"kind": "Pod", "apiVersion": "v1"}, **pod)})
            with fake._lock:
                gen = fake._watch_gen
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + (fake.bookmark_interval_s or 1e9)
            while True:
                out = []
                with fake._cond:
                    stopping = fake._stopping or fake._watch_gen != gen
                    if not stopping:
                        out = self._pending(pos, freqs, lreqs)
                        if not out:
                            left = deadline - time.monotonic()
                            fake._cond.wait(max(0.0, min(0.2, left)))
                            stopping = fake._stopping or fake._watch_gen != gen
                            out = self._pending(pos, freqs, lreqs)
                        if out == [] and fake._events and fake._events[-1][0] > pos:
                            pos = fake._events[-1][0]  # events that did not match: skip them
                    current = fake._rv
                for rv, typ, obj in out:
                    self._chunk({"type": typ, "object": dict({"kind": "Pod", "apiVersion": "v1"}, **obj)})
                    pos = rv
                if out:
                    pos = max(pos, out[-1][0])
                now = time.monotonic()
                if stopping:
                    break
                if now >= deadline:
                    if bookmarks:
                        self._bookmark(max(pos, current))
                    break
                if bookmarks and now >= next_bookmark:
                    self._bookmark(max(pos, current))
                    next_bookmark = now + fake.bookmark_interval_s
                if not out and self._client_gone():
                    return
            self._end_chunks()

        def _watch_nrts(self, qs):
            """A watch of NodeResourceTopology objects: from resourceVersion (or every object as
            ADDED first), until timeoutSeconds, stop or end_watches(); no bookmarks, no 410."""
            try:
                timeout = float(qs.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S)
                rv_param = qs.get("resourceVersion", "")
                pos = int(rv_param) if rv_param not in ("", "0") else None
            except ValueError:
                raise ApiError(400, "resourceVersion or timeoutSeconds: Invalid value")
            with fake._lock:
                initial = [] if pos is not None else fake.nrts()
                pos = fake._rv if pos is None else pos
                gen = fake._watch_gen
            self._start_stream()
            for o in initial:
                self._chunk({"type": "ADDED", "object": o})
            deadline = time.monotonic() + timeout
            while True:
                with fake._cond:
                    out = [e for e in fake._nrt_events if e[0] > pos]
                    stopping = fake._stopping or fake._watch_gen != gen
                    if not out and not stopping:
                        fake._cond.wait(max(0.0, min(0.2, deadline - time.monotonic())))
                        out = [e for e in fake._nrt_events if e[0] > pos]
                        stopping = fake._stopping or fake._watch_gen != gen
                for rv, typ, obj in out:
                    self._chunk({"type": typ, "object": copy.deepcopy(obj)})
                    pos = rv
                if stopping or time.monotonic() >= deadline:
                    break
                if not out and self._client_gone():
                    return
            self._end_chunks()

        def _pending(self, pos, freqs, lreqs):
            """Events after pos as (rv, type, object) seen through the selectors."""
            out = []
            start = bisect.bisect_right(fake._events, pos, key=lambda e: e[0])
            for erv, typ, old, new in fake._events[start:]:
                was, now = matches(old, freqs, lreqs), matches(new, freqs, lreqs)
                if typ == "ADDED" and now:
                    out.append((erv, "ADDED", copy.deepcopy(new)))
                elif typ == "DELETED" and was:
                    out.append((erv, "DELETED", copy.deepcopy(new)))
                elif typ == "MODIFIED":
                    if was and now:
                        out.append((erv, "MODIFIED", copy.deepcopy(new)))
                    elif was:
                        out.append((erv, "DELETED", copy.deepcopy(new)))
                    elif now:
                        out.append((erv, "ADDED", copy.deepcopy(new)))
            return out

        def _bookmark(self, rv):
            self._chunk({"type": "BOOKMARK", "object": {
                "kind": "Pod", "apiVersion": "v1",
                "metadata": {"resourceVersion": str(rv), "creationTimestamp": None},
                "spec": {"containers": None}, "status": {}}})

        def _end_chunks(self):
            try:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                pass

        # ---- control endpoints (no auth) ----
        def _control(self, path, qs):
            m = self.command
            if path == "/fake/pods" and m == "POST":
                return self._send_json(201, fake.create_pod(self._json_body()))
            if path == "/fake/pods" and m == "GET":
                return self._send_json(200, {"items": fake.pods(), "resourceVersion": fake.resource_version()})
            r = re.match(r"^/fake/pods/([^/]+)/([^/]+)(/status)?$", path)
            if r and r.group(3) and m == "PATCH":
                body = self._json_body()
                if not isinstance(body, dict):
                    raise ApiError(400, "the status patch is not a JSON object")
                if list(body.keys()) == ["status"] and isinstance(body["status"], dict):
                    body = body["status"]
                return self._send_json(200, fake.patch_status(r.group(1), r.group(2), body))
            if r and not r.group(3) and m == "DELETE":
                gone = fake.delete_pod(r.group(1), r.group(2))
                if gone is None:
                    raise not_found(r.group(1), r.group(2))
                return self._send_json(200, gone)
            if r and not r.group(3) and m == "GET":
                pod = fake.get_pod(r.group(1), r.group(2))
                if pod is None:
                    raise not_found(r.group(1), r.group(2))
                return self._send_json(200, pod)
            if path == "/fake/inject" and m == "POST":
                b = self._json_body()
                if not isinstance(b, dict):
                    raise ApiError(400, "inject wants a JSON object")
                fake.inject(b.get("method", "*"), b.get("path", ""), b.get("status", 0),
                            b.get("count", 1), b.get("retryAfter"),
                            (b.get("delayMs") or 0) / 1000.0, b.get("close", False),
                            b.get("after", False), b.get("query"))
                return self._send_json(200, {"ok": True})
            if path == "/fake/end-watches" and m == "POST":
                self._body()
                fake.end_watches()
                return self._send_json(200, {"ok": True})
            if path == "/fake/compact" and m == "POST":
                self._body()
                return self._send_json(200, {"resourceVersion": fake.compact()})
            if path == "/fake/tokens" and m == "POST":
                b = self._json_body()
                if not isinstance(b, dict) or not isinstance(b.get("tokens"), list):
                    raise ApiError(400, 'tokens wants {"tokens": [...]}')
                fake.set_tokens([str(t) for t in b["tokens"]])
                return self._send_json(200, {"ok": True})
            if path == "/fake/nrts" and m == "GET":
                return self._send_json(200, {"items": fake.nrts()})
            r = re.match(r"^/fake/nrts/([^/]+)$", path)
            if r and m == "PUT":
                return self._send_json(200, fake.put_nrt(self._json_body()))
            if r and m == "DELETE":
                self._body()
                return self._send_json(200, {"deleted": fake.delete_nrt(r.group(1)) is not None})
            if path == "/fake/requests" and m == "GET":
                with fake._lock:
                    reqs = [{"method": a, "path": b, "query": c, "auth": d}
                            for a, b, c, d in fake.requests]
                return self._send_json(200, reqs)
            if path == "/fake/requests" and m == "DELETE":
                fake.clear_requests()
                return self._send_json(200, {"ok": True})
            raise ApiError(404, "no such control endpoint: %s %s" % (m, path))

    return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description="A fake kube-apiserver (pods only) for tests.")
    ap.add_argument("--listen", default="127.0.0.1:0", help="host:port (port 0: any free port)")
    ap.add_argument("--token", action="append", default=[], help="an accepted bearer token")
    ap.add_argument("--tls-cert", help="PEM certificate (serve HTTPS)")
    ap.add_argument("--tls-key", help="PEM key for --tls-cert")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA as auth")
    ap.add_argument("--bookmark-interval", type=float, default=60.0, help="seconds between bookmarks")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    a = ap.parse_args(argv)
    host, _, port = a.listen.rpartition(":")
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    tls = (a.tls_cert, a.tls_key) if a.tls_cert else None
    s = FakeApiServer(tokens=a.token, tls=tls, host=host or "127.0.0.1", port=int(port or 0),
                      client_ca=a.client_ca, bookmark_interval_s=a.bookmark_interval,
                      verbose=a.verbose)
    s.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    sys.stderr.write('ts=%s level=info msg="fake kube-apiserver serving" port=%d tls=%s\n'
                     % (now_rfc3339(), s.port, "true" if tls else "false"))
    sys.stderr.flush()
    while not done.wait(0.5):
        pass
    s.stop()
    sys.stderr.write('ts=%s level=info msg="fake kube-apiserver stopped"\n' % now_rfc3339())
    return 0


if __name__ == "__main__":
    sys.exit(main())
