#!/usr/bin/env python3
"""e2e_tls.py - HTTPS, mutual TLS and bearer tokens on the real binaries, over loopback, with
certificates made here by openssl (tlstest.Pki).

Exporter: TLS 1.3 and 1.2 with AEAD ciphers served, TLS 1.1 and CBC ciphers refused; with a
client CA the probes stay open without a certificate while /v1/topology and /metrics answer 403,
and a certificate of another CA, an expired one or a server-only one fails the handshake (TLS 1.3
and 1.2); tokens: missing, wrong or another scheme -> 401 with nothing of the document, a token
file rewritten adds and revokes tokens without a restart; the certificate and key replaced while
running -> new connections get the new certificate, an open keep-alive connection and a held
long-poll finish on the old one, a half-done replacement (a key that does not match) keeps the
old certificate; bad files and flag pairs at start; the flags as NUMAFIT_* variables.
Extender: pulls a TLS exporter with a client certificate and a token (URL and DNS name), fails it
with a wrong token; serves HTTPS with a client CA: /filter and /prioritize need a verified client,
the probes do not; /bind is refused (403 + a warning at start) beyond loopback without a client CA.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
from nftest import (EXPORTER, EXTENDER, MachineEnv, check, exporter_args,  # noqa: E402
                    kubeconfig, run_tests, wait_until, write)
from tlstest import Client, Pki, once, refused, replace, serial_of  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

NODE = "worker-tls"
TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


class Env(MachineEnv):
    def __init__(self):
        super().__init__(NODE, "nf-e2e-tls-")
        self.pki = Pki(os.path.join(self.tmp, "pki"))

    def tls_files(self, name="srv"):
        """A copy of a server certificate + key at fixed paths (rotations replace them)."""
        crt, key = os.path.join(self.tmp, "tls.crt"), os.path.join(self.tmp, "tls.key")
        src = getattr(self.pki, name)
        shutil.copyfile(src[0], crt)
        shutil.copyfile(src[1], key)
        return crt, key


def no_leak(body):
    """A refusal says nothing of the node."""
    return b"numaNodes" not in body and NODE.encode() not in body and b"generation" not in body


def test_exporter_protocols(env):
    ex = env.exporter("--tls-cert", env.pki.srv[0], "--tls-key", env.pki.srv[1])
    ca = env.pki.ca
    for v in (TLS13, TLS12):
        st, h, body = once(ex.port, ca, "/v1/topology", min_version=v, max_version=v)
        check(st == 200 and json.loads(body)["node"] == NODE, "GET /v1/topology over %s" % v)
    st, _, _ = once(ex.port, ca, "/v1/topology", max_version=TLS12,
                    ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")
    check(st == 200, "TLS 1.2 with ChaCha20-Poly1305 is served")
    r, why = refused(lambda: once(ex.port, ca, max_version=TLS12,
                                  ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"))
    check(r, "TLS 1.2 with CBC ciphers only is refused (%s)" % why)
    r, why = refused(lambda: once(ex.port, ca, min_version=ssl.TLSVersion.TLSv1_1,
                                  max_version=ssl.TLSVersion.TLSv1_1, ciphers="ALL:@SECLEVEL=0"))
    check(r, "TLS 1.1 is refused (%s)" % why)
    r, why = refused(lambda: once(ex.port, env.pki.other_ca))
    check(r, "a client that trusts another CA refuses the exporter's certificate")
    # plain HTTP on the HTTPS port gets nothing of the document
    p = subprocess.run(["curl", "-s", "--max-time", "5", "--noproxy", "*",
                        "http://127.0.0.1:%d/v1/topology" % ex.port], capture_output=True)
    check(NODE.encode() not in p.stdout, "plain HTTP on the TLS port gets no document")
    check(ex.stop() == 0, "exporter stops cleanly")


def test_exporter_client_ca(env):
    ex = env.exporter("--tls-cert", env.pki.srv[0], "--tls-key", env.pki.srv[1], "--client-ca",
                      env.pki.ca)
    ca, pki = env.pki.ca, env.pki
    for path in ("/healthz", "/readyz"):
        st, _, _ = once(ex.port, ca, path)
        check(st == 200, "%s answers without a client certificate (probes)" % path)
    for path in ("/v1/topology", "/metrics", "/v1/topology?waitForGeneration=99",
                 "/v1/noderesourcetopology"):
        st, _, body = once(ex.port, ca, path)
        check(st == 403 and no_leak(body), "%s without a client certificate: 403, %r" % (path, body))
    for v in (TLS13, TLS12):
        st, _, body = once(ex.port, ca, "/v1/topology", cert=pki.cli, max_version=v)
        check(st == 200 and json.loads(body)["node"] == NODE,
              "a client certificate of the CA is served (%s)" % v)
        for what, cert in (("another CA", pki.wrong), ("expired", pki.expired),
                           ("server-only (no clientAuth)", pki.srv)):
            r, why = refused(lambda: once(ex.port, ca, "/healthz", cert=cert, max_version=v))
            check(r, "client certificate %s: handshake refused (%s, %s)" % (what, v, why))
    st, _, body = once(ex.port, ca, "/metrics", cert=pki.cli)
    check(st == 200 and b"numafit_" in body, "/metrics with a client certificate")
    st, _, body = once(ex.port, ca, "/v1/noderesourcetopology", cert=pki.cli)
    check(st == 200 and json.loads(body)["metadata"]["name"] == NODE,
          "/v1/noderesourcetopology with a client certificate")
    ok, _ = wait_until(lambda: any("client certificate refused" in l for _, l in ex.lines), 3)
    check(ok, "refused client certificates are logged")
    check(ex.proc.poll() is None, "the exporter keeps serving after refusals")
    check(ex.stop() == 0, "exporter stops cleanly")


def test_exporter_tokens(env):
    tokens = os.path.join(env.tmp, "tokens")
    write(tokens, "# scrape tokens\n  tok-prometheus  \n\ntok-extender\n")
    crt, key = env.tls_files()
    ex = env.exporter("--tls-cert", crt, "--tls-key", key, "--auth-token-file", tokens)
    ca = env.pki.ca

    def get(path, auth=None):
        return once(ex.port, ca, path, headers={"Authorization": auth} if auth else None)
    for path in ("/healthz", "/readyz"):
        check(get(path)[0] == 200, "%s needs no token" % path)
    for auth in (None, "Bearer nope", "Bearer tok-prometheusX", "Bearer tok-prom",
                 "Basic dG9rLWV4dGVuZGVyOg==", "tok-extender", "Bearer "):
        for path in ("/v1/topology", "/metrics", "/v1/noderesourcetopology"):
            st, h, body = get(path, auth)
            check(st == 401 and no_leak(body) and b"tok-" not in body,
                  "%s with %r: 401 without a leak (%d %r)" % (path, auth, st, body))
            check(h.get("WWW-Authenticate", "").startswith("Bearer"),
                  "401 names the Bearer scheme")
    for tok in ("tok-prometheus", "tok-extender"):
        st, _, body = get("/v1/topology", "Bearer " + tok)
        check(st == 200 and json.loads(body)["node"] == NODE, "token %s is accepted" % tok)
    st, _, body = get("/v1/noderesourcetopology", "Bearer tok-extender")
    check(st == 200 and json.loads(body)["kind"] == "NodeResourceTopology",
          "a token opens /v1/noderesourcetopology too")
    check(get("/metrics", "bearer tok-extender")[0] == 200, "the scheme is case-insensitive")
    # rotate: revoke tok-prometheus, add tok-new (kubelet swaps the file)
    new = os.path.join(env.tmp, "tokens.new")
    write(new, "tok-extender\ntok-new\n")
    replace(tokens, new)
    ok, _ = wait_until(lambda: get("/v1/topology", "Bearer tok-new")[0] == 200, 5, 0.2)
    check(ok, "a token added to the file is accepted without a restart")
    check(get("/v1/topology", "Bearer tok-prometheus")[0] == 401, "a removed token is revoked")
    check(get("/v1/topology", "Bearer tok-extender")[0] == 200, "a kept token still works")
    check(not any("tok-" in l for _, l in ex.lines), "no token ever reaches the log")
    check(ex.stop() == 0, "exporter stops cleanly")


def test_exporter_rotation(env):
    crt, key = env.tls_files("srv")
    ex = env.exporter("--tls-cert", crt, "--tls-key", key)
    ca, pki = env.pki.ca, env.pki
    old_serial, new_serial = serial_of(pki.srv[0]), serial_of(pki.srv2[0])
    old = Client(ex.port, ca)
    st, h, _ = old.get("/v1/topology")
    gen = int(h["ETag"].strip('"'))
    check(st == 200 and old.peer_serial() == old_serial, "first certificate served")
    # a long-poll held across the rotation
    held = Client(ex.port, ca)
    check(held.get("/healthz")[0] == 200, "long-poll connection open")
    res = {}
    t = threading.Thread(target=lambda: res.update(
        r=held.get("/v1/topology?waitForGeneration=%d&timeout=4s" % (gen + 1))))
    t.start()
    time.sleep(0.3)
    # half-done: a new certificate whose key is not there yet -> the old one stays
    replace(crt, pki.srv2[0])
    ok, _ = wait_until(lambda: any("do not load" in l for _, l in ex.lines) or
                       not once(ex.port, ca)[0], 4, 0.2)
    check(ok, "a certificate without its key is reported and not used")
    c = Client(ex.port, ca)
    check(c.get("/healthz")[0] == 200 and c.peer_serial() == old_serial,
          "while the key does not match, new connections keep the old certificate")
    c.close()
    replace(key, pki.srv2[1])
    t0 = time.monotonic()

    def sees_new():
        c = Client(ex.port, ca)
        try:
            c.get("/healthz")
            return c.peer_serial() == new_serial
        finally:
            c.close()
    ok, took = wait_until(sees_new, 5, 0.1)
    check(ok, "new connections get the new certificate (after %.1f s)" % (time.monotonic() - t0))
    st, _, _ = old.get("/v1/topology")
    check(st == 200 and old.peer_serial() == old_serial,
          "an open keep-alive connection goes on with the old certificate")
    t.join(10)
    check("r" in res and res["r"][0] == 200 and held.peer_serial() == old_serial,
          "a long-poll held across the rotation finishes")
    check(any("new connections use it" in l and "rotated" in l for _, l in ex.lines),
          "the rotation is logged with the new subject")
    old.close()
    held.close()
    check(ex.stop() == 0, "exporter stops cleanly")


def test_bad_start(env):
    pki, args = env.pki, exporter_args(env.root, env.kdir, env.cfg, NODE)

    def run(*extra, env_vars=None):
        p = subprocess.run([EXPORTER] + args + ["--listen", "127.0.0.1:0"] + list(extra),
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, **(env_vars or {})))
        return p.returncode, p.stderr
    missing = os.path.join(env.tmp, "missing.pem")
    rc, err = run("--tls-cert", missing, "--tls-key", pki.srv[1])
    check(rc == 1 and "missing.pem" in err, "a missing certificate: exit 1 naming it (%d %s)" %
          (rc, err.strip()[-200:]))
    rc, err = run("--tls-cert", pki.srv[0], "--tls-key", pki.cli[1])
    check(rc == 1 and "srv.pem" in err, "a key that does not match: exit 1 (%s)" % err.strip()[-200:])
    rc, err = run("--tls-cert", pki.srv[0])
    check(rc == 2 and "go together" in err, "--tls-cert without --tls-key: exit 2")
    rc, err = run("--client-ca", pki.ca)
    check(rc == 2 and "--client-ca" in err, "--client-ca without TLS: exit 2")
    rc, err = run("--tls-cert", pki.srv[0], "--tls-key", pki.srv[1], "--client-ca", pki.srv[1])
    check(rc == 1 and "client CA" in err, "a client CA file without a certificate: exit 1 (%s)" %
          err.strip()[-200:])
    empty = os.path.join(env.tmp, "empty-tokens")
    write(empty, "# nothing\n\n")
    rc, err = run("--auth-token-file", empty)
    check(rc == 1 and "no token" in err, "a token file without a token: exit 1")
    # the extender's
    def run_ext(*extra):
        p = subprocess.run([EXTENDER, "--exporter", "https://127.0.0.1:1", "--kubeconfig", "none",
                            "--listen", "127.0.0.1:0"] + list(extra),
                           capture_output=True, text=True, timeout=20)
        return p.returncode, p.stderr
    rc, err = run_ext("--exporter-token-file", missing)
    check(rc == 1 and "missing.pem" in err, "extender: a missing token file: exit 1 naming it")
    rc, err = run_ext("--exporter-cert", pki.cli[0])
    check(rc == 2 and "go together" in err, "extender: --exporter-cert without --exporter-key: exit 2")
    rc, err = run_ext("--client-ca", pki.ca)
    check(rc == 2 and "--client-ca" in err, "extender: --client-ca without TLS: exit 2")
    rc, err = run_ext("--tls-cert", pki.srv[0], "--tls-key", pki.wrong[1])
    check(rc == 1 and "srv.pem" in err, "extender: a key that does not match: exit 1")
    # the same flags from the environment
    ex = env.exporter(env={"NUMAFIT_TLS_CERT": pki.srv[0], "NUMAFIT_TLS_KEY": pki.srv[1],
                           "NUMAFIT_CLIENT_CA": pki.ca})
    check(once(ex.port, pki.ca, "/v1/topology")[0] == 403 and
          once(ex.port, pki.ca, "/v1/topology", cert=pki.cli)[0] == 200,
          "NUMAFIT_TLS_CERT/KEY/CLIENT_CA set the same as the flags")
    ex.stop()


def test_extender_pulls_tls_exporter(env):
    pki = env.pki
    tokens = os.path.join(env.tmp, "exporter-tokens")
    write(tokens, "tok-extender\n")
    ex = env.exporter("--tls-cert", pki.srv[0], "--tls-key", pki.srv[1], "--client-ca", pki.ca,
                      "--auth-token-file", tokens)
    tok = os.path.join(env.tmp, "extender-token")
    write(tok, "tok-extender\n")
    client = ["--exporter-ca", pki.ca, "--exporter-cert", pki.cli[0], "--exporter-key",
              pki.cli[1], "--exporter-token-file", tok]
    for how, src in (("URL", ["--exporter", "https://127.0.0.1:%d" % ex.port]),
                     ("DNS name", ["--exporter-dns", "localhost:%d" % ex.port])):
        ext = env.start([EXTENDER] + src + client, name="extender")
        ok, _ = wait_until(lambda: ext.get("/v1/nodes/" + NODE)[0] == 200, 10)
        check(ok, "the extender pulls the TLS exporter (client certificate + token, %s)" % how)
        st, doc = ext.request("/v1/nodes/" + NODE)
        check(st == 200 and doc.get("cache", {}).get("stale") is False,
              "the node is fresh in the extender's cache (%s)" % how)
        ext.stop()
    # the name checked in the exporter's certificate: --exporter-server-name
    for name, good in (("localhost", True), ("numafit-exporter.elsewhere", False)):
        ext = env.start([EXTENDER, "--exporter", "https://127.0.0.1:%d" % ex.port,
                         "--exporter-server-name", name] + client, name="extender")
        if good:
            ok, _ = wait_until(lambda: ext.get("/v1/nodes/" + NODE)[0] == 200, 10)
            check(ok, "--exporter-server-name %s (in the certificate): pulled" % name)
        else:
            ok, _ = wait_until(lambda: any("exporter failed" in l for _, l in ext.lines), 10)
            check(ok and ext.get("/v1/nodes/" + NODE)[0] == 404,
                  "--exporter-server-name %s (not in the certificate): refused, no node" % name)
        ext.stop()
    # a wrong token: the exporter fails with 401 and its node never arrives
    write(tok, "tok-wrong\n")
    ext = env.start([EXTENDER, "--exporter", "https://127.0.0.1:%d" % ex.port] + client,
                    name="extender")
    ok, _ = wait_until(lambda: any("401" in l for _, l in ext.lines), 10)
    check(ok and ext.get("/v1/nodes/" + NODE)[0] == 404,
          "a wrong token: the exporter is failing (HTTP 401), no node")
    # the token file fixed while running: the next retry is let in
    write(tok, "tok-extender\n")
    ok, _ = wait_until(lambda: ext.get("/v1/nodes/" + NODE)[0] == 200, 15)
    check(ok, "a corrected token file is picked up without a restart")
    ext.stop()
    # no client certificate: refused by the exporter
    ext = env.start([EXTENDER, "--exporter", "https://127.0.0.1:%d" % ex.port, "--exporter-ca",
                     pki.ca, "--exporter-token-file", tok], name="extender")
    ok, _ = wait_until(lambda: any("403" in l for _, l in ext.lines), 10)
    check(ok and ext.get("/v1/nodes/" + NODE)[0] == 404,
          "without a client certificate the exporter answers 403 and no node arrives")
    ext.stop()
    ex.stop()


def pod():
    res = {"cpu": "2", "memory": "1Gi"}
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u-1"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": res, "limits": res}}]}}


def test_extender_serving_mtls(env):
    pki = env.pki
    tdir = env.topology_dir()
    ext = env.start([EXTENDER, "--topology-dir", tdir, "--kubeconfig", "none", "--tls-cert",
                     pki.srv[0], "--tls-key", pki.srv[1], "--client-ca", pki.ca],
                    name="extender", listen="0.0.0.0:0")
    body = json.dumps({"Pod": pod(), "Nodes": None, "NodeNames": [NODE]}).encode()
    hdr = {"Content-Type": "application/json"}
    check(once(ext.port, pki.ca, "/healthz")[0] == 200, "extender /healthz without a certificate")
    for verb in ("/filter", "/prioritize", "/bind"):
        c = Client(ext.port, pki.ca)
        st, _, b = c.get(verb, hdr, "POST", body)
        c.close()
        check(st == 403 and "client certificate" in json.loads(b).get("Error", ""),
              "%s without a client certificate: 403 with an Error (%d %r)" % (verb, st, b))
    c = Client(ext.port, pki.ca, cert=pki.cli)
    st, _, b = c.get("/filter", hdr, "POST", body)
    check(st == 200 and json.loads(b)["NodeNames"] == [NODE], "/filter with a client certificate")
    st, _, b = c.get("/prioritize", hdr, "POST", body)
    check(st == 200 and isinstance(json.loads(b), list), "/prioritize with a client certificate")
    c.close()
    r, _ = refused(lambda: once(ext.port, pki.ca, "/healthz", cert=pki.wrong))
    check(r, "a client certificate of another CA: handshake refused by the extender")
    bind = json.dumps({"PodName": "p", "PodNamespace": "ns", "PodUID": "u-1",
                       "Node": NODE}).encode()
    c = Client(ext.port, pki.ca, cert=pki.cli)
    st, _, b = c.get("/bind", hdr, "POST", bind)
    c.close()
    check(st == 200 and "403" not in b.decode(),
          "/bind with a verified client on 0.0.0.0 is not refused for the listener (%r)" % b)
    ext.stop()


def test_bind_refused_beyond_loopback(env):
    tdir = env.topology_dir()
    api = FakeApiServer(tokens=["t-bind"]).start()
    try:
        kcfg = os.path.join(env.tmp, "kubeconfig")
        kubeconfig(kcfg, api.url, "t-bind")
        bind = {"PodName": "p", "PodNamespace": "ns", "PodUID": "u-1", "Node": NODE}
        ext = env.start([EXTENDER, "--topology-dir", tdir, "--kubeconfig", kcfg],
                        name="extender", listen="0.0.0.0:0")
        check(any("/bind is refused" in l and "level=warn" in l for _, l in ext.lines),
              "a warning at start: /bind refused beyond loopback without --client-ca")
        ok, _ = wait_until(lambda: ext.get("/readyz")[0] == 200, 10)
        check(ok, "extender ready")
        st, doc = ext.request("/bind", bind)
        check(st == 403 and "loopback" in doc.get("Error", ""),
              "/bind on 0.0.0.0 without --client-ca: 403 with a clear Error (%d %r)" % (st, doc))
        st, doc = ext.request("/filter", {"Pod": pod(), "Nodes": None, "NodeNames": [NODE]})
        check(st == 200, "/filter is still served there (%d %r)" % (st, doc))
        ext.stop()
        ext = env.start([EXTENDER, "--topology-dir", tdir, "--kubeconfig", kcfg], name="extender")
        check(not any("/bind is refused" in l for _, l in ext.lines), "no warning on loopback")
        ok, _ = wait_until(lambda: ext.get("/readyz")[0] == 200, 10)
        st, doc = ext.request("/bind", bind)
        check(st == 200, "/bind on 127.0.0.1 is not refused for the listener (%d %r)" % (st, doc))
        ext.stop()
    finally:
        api.stop()


def main():
    return run_tests((test_exporter_protocols, test_exporter_client_ca, test_exporter_tokens,
                      test_exporter_rotation, test_bad_start, test_extender_pulls_tls_exporter,
                      test_extender_serving_mtls, test_bind_refused_beyond_loopback), Env)


if __name__ == "__main__":
    sys.exit(main())
