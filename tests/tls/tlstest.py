"""tlstest.py - certificates made at test time (openssl) and an HTTPS client for the TLS tests.

  Pki(dir)        a CA, server certificates for 127.0.0.1/localhost (two, for rotations), client
                  certificates (clientAuth) of that CA, one expired, and a second CA with its own
                  client certificate (the "wrong CA")
  Client          one HTTPS connection (keep-alive) with optional client certificate; .get()
                  returns (status, headers dict, body bytes); .peer_serial() the server's
                  certificate serial
  refused(fn)     True when fn raised a TLS/connection error (a handshake the server refused)
  replace(dst, src)   copy src over dst atomically (temp file + rename), as kubelet and
                  cert-manager's volume writers do
"""
import http.client
import os
import shutil
import socket
import ssl
import subprocess

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _ossl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


class Pki:
    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.ca = self._ca("ca", "numafit-test-ca")
        self.other_ca = self._ca("other-ca", "someone-else-ca")
        san = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        self.srv = self._leaf("srv", "numafit-exporter", "ca", san, 2)
        self.srv2 = self._leaf("srv2", "numafit-exporter-rotated", "ca", san, 2)
        cli = "extendedKeyUsage=clientAuth\n"
        self.cli = self._leaf("cli", "numafit-extender", "ca", cli, 2)
        self.expired = self._leaf("expired", "numafit-extender-expired", "ca", cli, -1)
        self.wrong = self._leaf("wrong", "numafit-extender", "other-ca", cli, 2)
        # a server-only certificate of the right CA: not for TLS clients
        self.srv_as_cli = self.srv

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        _ossl(["req", "-x509"] + EC + ["-keyout", name + ".key", "-out", name + ".pem", "-days",
                                        "2", "-subj", "/CN=" + cn], self.dir)
        return self.path(name + ".pem")

    def _leaf(self, name, cn, ca, ext, days):
        with open(self.path(name + ".ext"), "w") as f:
            f.write(ext)
        _ossl(["req"] + EC + ["-keyout", name + ".key", "-out", name + ".csr", "-subj",
                              "/CN=" + cn], self.dir)
        _ossl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
               "-CAcreateserial", "-out", name + ".pem", "-days", str(days), "-extfile",
               name + ".ext"], self.dir)
        return (self.path(name + ".pem"), self.path(name + ".key"))


def replace(dst, src):
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.rename(tmp, dst)


def serial_of(pem_path):
    out = subprocess.run(["openssl", "x509", "-in", pem_path, "-noout", "-serial"], check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip().split("=", 1)[1], 16)


def context(ca, cert=None, max_version=None, ciphers=None, min_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class Client:
    def __init__(self, port, ca, cert=None, timeout=10, **kw):
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                                context=context(ca, cert, **kw))

    def get(self, path, headers=None, method="GET", body=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()

    def peer_serial(self):
        der = self.conn.sock.getpeercert(binary_form=True)
        pem = ssl.DER_cert_to_PEM_cert(der)
        out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, check=True,
                             capture_output=True, text=True).stdout
        return int(out.strip().split("=", 1)[1], 16)

    def close(self):
        self.conn.close()


def refused(fn):
    """(True, reason) when fn raised what a refused handshake raises, else (False, result)."""
    try:
        return False, fn()
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError, http.client.HTTPException) as e:
        return True, repr(e)


def once(port, ca, path="/healthz", cert=None, headers=None, **kw):
    """One request on a fresh connection: (status, headers, body)."""
    c = Client(port, ca, cert, **kw)
    try:
        return c.get(path, headers)
    finally:
        c.close()
