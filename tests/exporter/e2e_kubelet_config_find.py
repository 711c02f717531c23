#!/usr/bin/env python3
"""e2e_kubelet_config_find.py - the exporter finds kubelet's config where the distribution keeps it.

A REAL numafit-exporter on the snc2 fixture whose fake /proc holds a kubelet process (comm
"kubelet", a cmdline with --config and --config-dir), with no --kubelet-config:
  - the running kubelet's --config is read and its --config-dir drop-ins merged over it in
    lexical order (a drop-in overrides reservedSystemCPUs, another cpuManagerPolicy);
    kubelet.configFiles and the log say which files; a drop-in added later is merged and logged;
  - --kubelet-config still wins; without a kubelet process kubeadm's <kubelet-dir>/config.yaml
    is read.
"""
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import (  # noqa: E402
    check, exporter, kubelet_config, kubeletstate, machine, summary, wait_until, write)

NODE = "worker-kcfind"
HEAD = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


def doc_of(ex):
    st, _, body = ex.get("/v1/topology", timeout=10)
    return json.loads(body) if st == 200 else None


def cpu(doc, nid=0):
    return next(n for n in doc["numaNodes"] if n["id"] == nid)["resources"]["cpu"]


def log_lines(ex, msg):
    return [l for _, l in ex.lines if 'msg="%s"' % msg in l]


def kubelet_process(root, pid, argv):
    d = os.path.join(root, "proc", str(pid))
    write(os.path.join(d, "comm"), "kubelet\n")
    with open(os.path.join(d, "cmdline"), "wb") as f:
        f.write(b"".join(a.encode() + b"\0" for a in argv))
    return d


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-kcfind-")
    try:
        root, kdir, flag_cfg = machine(tmp, NODE, "snc2", "0,32")
        kubeletstate.write_atomic(os.path.join(kdir, "cpu_manager_state"),
                                  kubeletstate.cpu_manager_state({}, "0-63"))
        etc = os.path.join(tmp, "etc-kubernetes")
        main_cfg = os.path.join(etc, "kubelet.yaml")
        dropins = os.path.join(etc, "kubelet.conf.d")
        # the main file says policy none; the drop-ins make it static with 0-1,32-33 reserved
        write(main_cfg, kubelet_config("0,32").replace("cpuManagerPolicy: static",
                                                       "cpuManagerPolicy: none"))
        write(os.path.join(dropins, "10-cpu.conf"), HEAD + "cpuManagerPolicy: static\n")
        write(os.path.join(dropins, "20-reserved.conf"),
              HEAD + "reservedSystemCPUs: \"0-1,32-33\"\n")
        write(os.path.join(dropins, "README"), "cpuManagerPolicy: none\n")  # not *.conf
        write(os.path.join(kdir, "config.yaml"), HEAD)  # kubeadm's: the kubelet process wins
        proc = kubelet_process(root, 3117, ["/usr/bin/kubelet", "--config=" + main_cfg,
                                            "--config-dir", dropins, "--v=2"])

        ex = exporter(root, kdir, None, NODE, ["--poll-interval", "200ms"], sriov_config=None)
        try:
            d = doc_of(ex)
            k = d["kubelet"]
            files = "%s, %s/10-cpu.conf, %s/20-reserved.conf" % (main_cfg, dropins, dropins)
            check(k["cpuManagerPolicy"] == "static" and k["reservedCpus"] == "0-1,32-33",
                  "drop-ins override cpuManagerPolicy and reservedSystemCPUs: %r" %
                  {x: k.get(x) for x in ("cpuManagerPolicy", "reservedCpus")})
            check(k["topologyManagerPolicy"] == "single-numa-node", "the main file's other fields")
            check(cpu(d)["allocatable"] == 12, "numa0 allocatable 16 - 4 reserved: %r" % cpu(d))
            check(k.get("configFiles") == files, "kubelet.configFiles: %r" % k.get("configFiles"))
            started = log_lines(ex, "kubelet config")
            check(len(started) == 1 and "kubelet process 3117" in started[0] and
                  "config_dir=\"%s\"" % dropins in started[0], "start: where it was found")
            check(len(log_lines(ex, "kubelet config files")) == 1, "start: which files")
            # an operator adds a drop-in: merged, published and logged
            write(os.path.join(dropins, "30-reserved.conf"), HEAD + "reservedSystemCPUs: \"0,32\"\n")
            d, _ = wait_until(lambda: (lambda x: x if x and x["kubelet"]["reservedCpus"] == "0,32"
                                       else None)(doc_of(ex)), 5, 0.05)
            check(d is not None and cpu(d)["allocatable"] == 14 and
                  d["kubelet"]["configFiles"].endswith("30-reserved.conf"),
                  "a new drop-in is merged and named")
            check(len(log_lines(ex, "kubelet config files")) == 2, "on change: logged again")
        finally:
            check(ex.stop() == 0, "SIGTERM -> exit 0")

        # --kubelet-config wins over the running kubelet's files
        ex = exporter(root, kdir, flag_cfg, NODE, sriov_config=None)
        try:
            k = doc_of(ex)["kubelet"]
            check(k["reservedCpus"] == "0,32" and k["configFiles"] == flag_cfg,
                  "--kubelet-config wins: %r" % k.get("configFiles"))
            check(any('origin="flag"' in l for l in log_lines(ex, "kubelet config")),
                  "logged as the flag")
        finally:
            check(ex.stop() == 0, "SIGTERM -> exit 0")

        # no kubelet process: kubeadm's default under --kubelet-dir
        shutil.rmtree(proc)
        write(os.path.join(kdir, "config.yaml"), kubelet_config("0-3,32-35"))
        ex = exporter(root, kdir, None, NODE, sriov_config=None)
        try:
            d = doc_of(ex)
            k = d["kubelet"]
            check(k["configFiles"] == os.path.join(kdir, "config.yaml") and
                  k["reservedCpus"] == "0-3,32-35" and cpu(d)["allocatable"] == 8,
                  "kubeadm's config.yaml: %r" % k.get("configFiles"))
            check(any('origin="kubeadm default"' in l for l in log_lines(ex, "kubelet config")),
                  "logged as kubeadm's default")
        finally:
            check(ex.stop() == 0, "SIGTERM -> exit 0")

        # nothing anywhere: said at start, no configFiles
        os.unlink(os.path.join(kdir, "config.yaml"))
        ex = exporter(root, kdir, None, NODE, sriov_config=None)
        try:
            k = doc_of(ex)["kubelet"]
            check("configFiles" not in k and log_lines(ex, "no kubelet config found"),
                  "no config: logged, no configFiles")
        finally:
            check(ex.stop() == 0, "SIGTERM -> exit 0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
