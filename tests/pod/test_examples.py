#!/usr/bin/env python3
"""test_examples.py - deploy/examples checked offline, and their commands run for real.

  schema      every YAML parses; the Pods validate against kubernetes-models' v1 schema
              (examples_json.cjs; skipped, exit 77, without the npm modules
              scripts/install-deps.sh installs)
  fields      what numafit-pod and kubelet rely on: Guaranteed QoS (requests = limits, integer
              CPU) in every container, a hugepages-1Gi request with an emptyDir of medium
              HugePages-1Gi, the VF resource = the NetworkAttachmentDefinition's resourceName
              and the network named in k8s.v1.cni.cncf.io/networks, IPC_LOCK, the downward API
              files numafit-pod reads (name, uid, annotations at /etc/podinfo), the initContainer
              requesting what the app requests (kubelet reuses its CPUs and VF)
  commands    each container's shell command runs under `taskset` with the REAL numafit-pod
              (its roots pointing at a fake 2-socket machine, podview.py, through NUMAFIT_*
              variables) and a recording dpdk-testpmd in PATH; the volume mount paths mapped
              onto temporary directories. dpdk-testpmd must get exactly numafit-pod's EAL
              arguments, then "--" and the testpmd options; misaligned (CPU on the other node),
              the command stops with exit 3 before testpmd
  kubelet     kubelet-config.yaml: the policies numafit relies on, reservedMemory adding up
              (Memory Manager Static refuses to start otherwise), and numafit-exporter --once
              reading it (the same parser the exporter uses on nodes)
  README      the "Running DPDK in a pod" section shows these files verbatim
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import nftest  # noqa: E402
from nftest import check  # noqa: E402

import podview  # noqa: E402

EX = os.path.join(nftest.SRC, "deploy", "examples")
POD = os.path.join(nftest.BUILD, "pod", "numafit-pod")
FILES = ["kubelet-config.yaml", "sriov-network.yaml", "testpmd-pod.yaml",
         "testpmd-pod-initcontainer.yaml"]
VF_RESOURCE = "intel.com/intel_sriov_dpdk"
TESTPMD_OPTS = ["--auto-start", "--forward-mode=macswap", "--stats-period=10"]


def load():
    paths = [os.path.join(EX, f) for f in FILES]
    p = subprocess.run(["node", os.path.join(HERE, "examples_json.cjs")] + paths,
                       capture_output=True, text=True, timeout=60)
    if p.returncode == 77:  # the npm modules are not installed: nothing here can run
        print(p.stdout.strip())
        return 77
    if p.returncode != 0:
        check(False, "examples_json.cjs: %s" % p.stderr)
        return None
    return json.loads(p.stdout)


def quantity(q):
    m = re.fullmatch(r"(\d+)(Mi|Gi)?", str(q))
    return int(m.group(1)) * {None: 1, "Mi": 1 << 20, "Gi": 1 << 30}[m.group(2)] if m else None


def check_container(what, c):
    res = c.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    check(req == lim, "%s: requests = limits (Guaranteed): %s %s" % (what, req, lim))
    check(re.fullmatch(r"\d+", str(req.get("cpu", ""))) is not None,
          "%s: integer CPU (exclusive CPUs)" % what)
    check("memory" in req and quantity(req.get("hugepages-1Gi")) == 2 << 30,
          "%s: memory and 2Gi of hugepages-1Gi" % what)
    check(req.get(VF_RESOURCE) == "1", "%s: one VF of %s" % (what, VF_RESOURCE))
    return req


def check_pod(pod, nad):
    name = pod["metadata"]["name"]
    spec = pod["spec"]
    check(pod["metadata"]["annotations"].get("k8s.v1.cni.cncf.io/networks")
          == nad["metadata"]["name"], "%s: attaches the SR-IOV network" % name)
    vols = {v["name"]: v for v in spec["volumes"]}
    huge = [n for n, v in vols.items() if v.get("emptyDir", {}).get("medium") == "HugePages-1Gi"]
    check(len(huge) == 1, "%s: one emptyDir of medium HugePages-1Gi" % name)
    podinfo = [v for v in vols.values() if "downwardAPI" in v]
    items = {i["path"]: i["fieldRef"]["fieldPath"] for v in podinfo for i in v["downwardAPI"]["items"]}
    check(items == {"name": "metadata.name", "uid": "metadata.uid",
                    "annotations": "metadata.annotations"},
          "%s: downward API name, uid, annotations: %s" % (name, items))
    reqs = []
    for c in spec.get("initContainers", []) + spec["containers"]:
        reqs.append(check_container("%s/%s" % (name, c["name"]), c))
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        check(mounts.get(huge[0] if huge else "") == "/dev/hugepages",
              "%s/%s: hugepages at /dev/hugepages" % (name, c["name"]))
        script = " ".join(c.get("args", []))
        if "numafit-pod" in script:
            pi = [n for n, v in vols.items() if "downwardAPI" in v]
            check(pi and mounts.get(pi[0]) == "/etc/podinfo",
                  "%s/%s: runs numafit-pod with the downward API at /etc/podinfo" % (name, c["name"]))
        if "dpdk-testpmd" in script:
            caps = c.get("securityContext", {}).get("capabilities", {}).get("add", [])
            check("IPC_LOCK" in caps, "%s/%s: IPC_LOCK" % (name, c["name"]))
    if spec.get("initContainers"):
        check(all(r == reqs[0] for r in reqs),
              "%s: the initContainer requests what the app does (kubelet reuses them)" % name)


def shims(tmp):
    """PATH dir: numafit-pod = the real binary, dpdk-testpmd records its argv (one per line)"""
    d = os.path.join(tmp, "bin")
    os.makedirs(d)
    os.symlink(POD, os.path.join(d, "numafit-pod"))
    rec = os.path.join(tmp, "testpmd.argv")
    with open(os.path.join(d, "dpdk-testpmd"), "w") as f:
        f.write("#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > %s\n" % rec)
    os.chmod(os.path.join(d, "dpdk-testpmd"), 0o755)
    return d, rec


def run_script(c, mapping, env, cpus):
    script = c["args"][0]
    for src, dst in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        script = script.replace(src, dst)
    p = subprocess.run(["taskset", "-c", cpus] + c["command"] + [script], env=env,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check_commands(pods):
    tmp = tempfile.mkdtemp(prefix="nf-pod-examples-")
    try:
        podview.machine(tmp)
        args, env, mounts = podview.container(tmp, vfs=("0000:86:01.0",))
        for flag, val in zip(args[::2], args[1::2]):
            env["NUMAFIT_" + flag[2:].upper().replace("-", "_")] = val
        bindir, rec = shims(tmp)
        env["PATH"] = bindir + ":" + env.get("PATH", "/usr/bin:/bin")
        run_dir = os.path.join(tmp, "run-numafit")
        os.makedirs(run_dir)
        mapping = {"/dev/hugepages": mounts[0], "/run/numafit": run_dir}
        want_eal = subprocess.run(["taskset", "-c", "1", POD, "eal-args"], env=env,
                                  capture_output=True, text=True).stdout.split()
        check(want_eal[:2] == ["-l", "1"] and mounts[0] in want_eal,
              "numafit-pod eal-args in the mapped container: %s" % want_eal)
        for pod in pods:
            name = pod["metadata"]["name"]
            for cpus, aligned in (("1", True), ("0", False)):
                if os.path.exists(rec):
                    os.unlink(rec)
                rc = 0
                for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
                    rc, out, err = run_script(c, mapping, env, cpus)
                    if rc:
                        break
                got = open(rec).read().splitlines() if os.path.exists(rec) else None
                if aligned:
                    check(rc == 0 and got == want_eal + ["--"] + TESTPMD_OPTS,
                          "%s: dpdk-testpmd gets numafit-pod's arguments (rc %d): %s %s"
                          % (name, rc, got, err))
                else:
                    check(rc == 3 and got is None and "is on NUMA node 1, the CPUs on node 0"
                          in out + err, "%s misaligned: stops with 3 before testpmd (%d): %s %s"
                          % (name, rc, out[-500:], err[-500:]))
        summary = os.path.join(run_dir, "summary")
        check(os.path.exists(os.path.join(run_dir, "eal-args.json")) and os.path.exists(summary),
              "initContainer wrote eal-args.json and the summary to the emptyDir")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_kubelet(cfg):
    check(cfg.get("cpuManagerPolicy") == "static", "kubelet: cpuManagerPolicy static")
    check(cfg.get("cpuManagerPolicyOptions") == {"full-pcpus-only": "true"},
          "kubelet: full-pcpus-only")
    check(cfg.get("topologyManagerPolicy") == "single-numa-node"
          and cfg.get("topologyManagerScope") == "pod", "kubelet: single-numa-node, pod scope")
    check(cfg.get("memoryManagerPolicy") == "Static", "kubelet: Memory Manager Static")
    reserved = sum(quantity(r["limits"]["memory"]) for r in cfg.get("reservedMemory", []))
    want = (quantity(cfg["kubeReserved"]["memory"]) + quantity(cfg["systemReserved"]["memory"])
            + quantity(cfg["evictionHard"]["memory.available"]))
    check(reserved == want, "kubelet: reservedMemory %d = kube+system reserved + eviction %d"
          % (reserved, want))
    tmp = tempfile.mkdtemp(prefix="nf-pod-kubelet-")
    try:
        nftest.mkfixture("vfs-socket1", tmp)
        os.makedirs(os.path.join(tmp, "kubelet"))
        p = subprocess.run([nftest.EXPORTER, "--once", "--sysfs-root", os.path.join(tmp, "sys"),
                            "--procfs-root", os.path.join(tmp, "proc"),
                            "--kubelet-dir", os.path.join(tmp, "kubelet"),
                            "--kubelet-config", os.path.join(EX, "kubelet-config.yaml"),
                            "--node-name", "worker-1"],
                           capture_output=True, text=True, timeout=60)
        k = json.loads(p.stdout).get("kubelet", {}) if p.returncode == 0 else {}
        check(k.get("cpuManagerPolicy") == "static"
              and k.get("topologyManagerPolicy") == "single-numa-node"
              and k.get("topologyManagerScope") == "pod" and k.get("memoryManagerPolicy") == "Static"
              and k.get("reservedCpus") == "0-1",
              "numafit-exporter reads kubelet-config.yaml (%d): %s %s" % (p.returncode, k,
                                                                         p.stderr[-500:]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_readme():
    text = open(os.path.join(nftest.SRC, "README.md")).read()
    m = re.search(r"^## Running DPDK in a pod\n(.*?)(?=^## )", text, re.S | re.M)
    if not check(m, "README has a section \"Running DPDK in a pod\""):
        return
    blocks = re.findall(r"```yaml\n(.*?)```", m.group(1), re.S)
    for f in FILES:
        body = open(os.path.join(EX, f)).read()
        body = "\n".join(l for l in body.splitlines() if not l.startswith("#")).strip()
        check(any(b.strip() == body for b in blocks),
              "README shows deploy/examples/%s verbatim (comments aside)" % f)


def main():
    data = load()
    if data == 77:
        return 77
    if data is None:
        return nftest.summary()
    for s in data["schema"]:
        check(s["error"] is None, "%s: %s/%s validates: %s" % (os.path.basename(s["file"]),
                                                                s["kind"], s["name"], s["error"]))
    docs = {os.path.basename(f): d for f, d in data["files"].items()}
    check(len(data["schema"]) == 2, "two Pods validated: %s" % data["schema"])
    nad = docs["sriov-network.yaml"][0]
    check(nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"] == VF_RESOURCE,
          "NetworkAttachmentDefinition: resourceName %s" % VF_RESOURCE)
    check(json.loads(nad["spec"]["config"]).get("type") == "sriov", "NAD config: sriov CNI")
    pods = docs["testpmd-pod.yaml"] + docs["testpmd-pod-initcontainer.yaml"]
    for pod in pods:
        check_pod(pod, nad)
    check_commands(pods)
    check_kubelet(docs["kubelet-config.yaml"][0])
    check_readme()
    return nftest.summary()


if __name__ == "__main__":
    sys.exit(main())
