#!/usr/bin/env python3
"""test_pod.py - numafit-pod end to end on fake 2-socket machines (tests/pod/podview.py).

The CPUs come from the kernel: each run is started under `taskset -c LIST`, so numafit-pod's
real sched_getaffinity() decides (the fake self/status has no Cpus_allowed_list), except where a
case gives Cpus_allowed_list on purpose. Cases: aligned (cgroup v2 and v1, VF from the device
plugin's variable or Multus' network-status), misaligned (VF on the other node, CPUs on two
nodes, hugepages limited on a size that is not mounted, numa_node -1), no hugetlbfs (--in-memory),
a read-only mount, unknown limits, the JSON form, what cannot be read (exit 1), bad usage (exit 2),
and that the binary needs no DPDK, hwloc, JSON or HTTP library.
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
from podview import GIB, MIB  # noqa: E402

POD = os.path.join(nftest.BUILD, "pod", "numafit-pod")
NCPU = os.cpu_count() or 1


def run(args, env, cpus="0", extra=()):
    cmd = ["taskset", "-c", cpus, POD] + list(extra) + args
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def case(name, **kw):
    root = tempfile.mkdtemp(prefix="nf-pod-%s-" % name)
    podview.machine(root)
    args, env, mounts = podview.container(root, **kw)
    return root, args, env, mounts


def words(line):
    return line.split()


def arg_of(w, flag):
    return w[w.index(flag) + 1] if flag in w else None


def main():
    if NCPU < 2:
        print("SKIP: needs 2 CPUs for taskset cases")
        return 77
    roots = []
    try:
        # ---- aligned, cgroup v2: CPU 1 and VF 0000:86:01.0 on node 1, 1 GiB pages --------------
        root, args, env, mounts = case("v2", vfs=("0000:86:01.0",))
        roots.append(root)
        rc, out, err = run(args, env, cpus="1")
        check(rc == 0, "aligned summary exits 0 (rc %d, %s)" % (rc, err))
        check("verdict: aligned on NUMA node 1" in out, "summary verdict: %s" % out)
        check("from sched_getaffinity" in out, "CPUs from sched_getaffinity: %s" % out)
        check("cpu 1    numa node 1   socket 1   core 0    siblings 1,9" in out,
              "CPU 1 node/socket/core/siblings: %s" % out)
        check("0000:86:01.0  %s  driver vfio-pci  numa node 1  iommu group 60"
              % podview.RESOURCE_ENV in out, "VF line: %s" % out)
        check("%s  pagesize 1Gi  writable  limit 2Gi" % mounts[0] in out, "mount line: %s" % out)
        check("memory cgroup limit 4Gi" in out, "memory limit: %s" % out)
        check("RLIMIT_MEMLOCK unlimited" in out, "memlock: %s" % out)
        check("IPC_LOCK yes, SYS_RAWIO no, NET_ADMIN no" in out, "caps: %s" % out)
        check("hugetlb cgroup (v2, " in out, "cgroup v2: %s" % out)
        check("note: NUMA node 1 has 1 free 1Gi pages, fewer than the 2Gi" in out,
              "few free pages on node 1 noted: %s" % out)
        rc, line, err = run(args, env, cpus="1", extra=["eal-args"])
        check(rc == 0, "eal-args aligned exits 0 (%d %s)" % (rc, err))
        want = ("-l 1 --main-lcore 1 -a 0000:86:01.0 --huge-dir %s --socket-mem 0,2048 "
                "--file-prefix testpmd-0-7d0c6f3e\n" % mounts[0])
        check(line == want, "eal-args line:\n %r\nwant\n %r" % (line, want))
        check(err == "", "nothing on stderr when aligned: %r" % err)
        rc, js, err = run(args, env, cpus="1", extra=["eal-args", "--json"])
        j = json.loads(js) if rc == 0 else {}
        check(j.get("args") == words(want), "JSON args = the line's words: %s" % js)
        check(j.get("socketMem") == "0,2048" and j.get("numaNode") == 1 and j.get("aligned") is True,
              "JSON socketMem/numaNode/aligned: %s" % js)
        check(j.get("allow") == ["0000:86:01.0"] and j.get("hugeDir") == mounts[0]
              and j.get("inMemory") is False and j.get("mainLcore") == 1
              and j.get("lcores") == "1" and j.get("problems") == [], "JSON fields: %s" % js)
        # the environment form of the flags (NUMAFIT_<FLAG>) reaches the same answer
        env2 = dict(env)
        for flag, val in zip(args[::2], args[1::2]):
            env2["NUMAFIT_" + flag[2:].upper().replace("-", "_")] = val
        rc, line2, _ = run([], env2, cpus="1", extra=["eal-args"])
        check(rc == 0 and line2 == want, "flags from NUMAFIT_* variables: %r" % line2)

        # ---- the same container on cgroup v1 ----------------------------------------------
        root, args, env, mounts = case("v1", vfs=("0000:86:01.0",), cgroup="v1")
        roots.append(root)
        rc, out, err = run(args, env, cpus="1")
        check(rc == 0 and "hugetlb cgroup (v1, " in out and "limit 2Gi" in out
              and "memory cgroup limit 4Gi" in out, "cgroup v1 summary (%d): %s %s" % (rc, out, err))
        rc, line, err = run(args, env, cpus="1", extra=["eal-args"])
        check(rc == 0 and "--huge-dir %s --socket-mem 0,2048 " % mounts[0] in line,
              "cgroup v1 eal-args: %s %s" % (line, err))

        # ---- misaligned: CPU 0 on node 0, the VF on node 1 --------------------------------
        rc, line, err = run(args, env, cpus="0", extra=["eal-args"])
        check(rc == 3, "VF on the other node exits 3 (%d)" % rc)
        check("VF 0000:86:01.0 (%s) is on NUMA node 1, the CPUs on node 0" % podview.RESOURCE_ENV
              in err and "single-numa-node" in err, "misaligned message says what to change: %s" % err)
        check(line.startswith("-l 0 --main-lcore 0 -a 0000:86:01.0 ")
              and "--socket-mem 2048,0 " in line,
              "socket-mem names the CPUs' node even when misaligned: %s" % line)
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 3 and "verdict: misaligned (1 problem above)" in out, "summary: %s" % out)

        # ---- misaligned: CPUs on both nodes -------------------------------------------------
        rc, out, _ = run(args, env, cpus="0-1")
        check(rc == 3 and "CPUs 1 are on NUMA node 1, CPU 0 (the main lcore) on node 0" in out,
              "spanning CPUs (%d): %s" % (rc, out))

        # ---- misaligned: limited on 1 GiB pages, only a 2 MiB hugetlbfs mounted --------------
        root, args, env, mounts = case("wrongsize", mounts=((2 * MIB, "rw"),))
        roots.append(root)
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 3, "hugepages limited on the wrong size exits 3 (%d)" % rc)
        check("hugepages are limited on 1Gi pages (2Gi allowed) but hugetlbfs at %s has 2Mi pages "
              "(limit 0): mount an emptyDir with medium: HugePages-1Gi" % mounts[0] in out,
              "wrong size message: %s" % out)

        # ---- no hugetlbfs: --in-memory, socket-mem from the limit ----------------------------
        root, args, env, mounts = case("nohuge", mounts=())
        roots.append(root)
        rc, line, err = run(args, env, cpus="0", extra=["eal-args"])
        check(rc == 0 and "--in-memory --socket-mem 2048,0 " in line and "--huge-dir" not in line,
              "no hugetlbfs -> --in-memory (%d): %s %s" % (rc, line, err))
        # read-only mount: not usable either
        root, args, env, mounts = case("romount", mounts=((GIB, "ro"),))
        roots.append(root)
        rc, line, _ = run(args, env, cpus="0", extra=["eal-args"])
        check(rc == 0 and "--in-memory" in line and "--huge-dir" not in line,
              "read-only hugetlbfs -> --in-memory: %s" % line)
        # two sizes limited and mounted: the largest page size wins
        root, args, env, mounts = case("twosizes", mounts=((2 * MIB, "rw"), (GIB, "rw")),
                                       limits={GIB: 4 * GIB, 2 * MIB: 512 * MIB})
        roots.append(root)
        rc, line, _ = run(args, env, cpus="0", extra=["eal-args"])
        check(rc == 0 and "--huge-dir %s --socket-mem 4096,0 " % mounts[1] in line,
              "largest limited page size chosen: %s" % line)
        # no limit anywhere (not in a pod): the mount, no --socket-mem, a note
        root, args, env, mounts = case("nolimit", limits={GIB: "max", 2 * MIB: "max"},
                                       memory="max")
        roots.append(root)
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 0 and "no hugetlb cgroup limit found" in out and "memory cgroup limit unlimited"
              in out, "unlimited cgroup: %s" % out)
        rc, line, _ = run(args, env, cpus="0", extra=["eal-args"])
        check("--socket-mem" not in line and "--huge-dir %s" % mounts[0] in line,
              "no limit: no --socket-mem: %s" % line)

        # ---- VFs from Multus' network-status only; file prefix falls back -----------------------
        ann = {"k8s.v1.cni.cncf.io/network-status": podview.network_status(["0000:18:01.2"]),
               "kubernetes.io/config.source": "api"}
        root, args, env, mounts = case("netstatus", vf_env=False, annotations=ann, pod=None)
        roots.append(root)
        rc, out, err = run(args, env, cpus="0")
        check(rc == 0 and "0000:18:01.2  network-status network default/sriov-dpdk  driver "
              "vfio-pci  numa node 0  iommu group 42" in out, "VF from network-status (%d): %s %s"
              % (rc, out, err))
        rc, line, _ = run(args, env, cpus="0", extra=["eal-args"])
        host = os.uname().nodename
        check(line.rstrip().endswith("--file-prefix " + "".join(
            c if c.isalnum() or c in "._-" else "-" for c in host)),
            "no downward API name/uid: the hostname is the prefix: %s" % line)
        # both sources name the same VF: listed once
        root, args, env, mounts = case("both", vfs=("0000:18:01.2",), annotations=ann)
        roots.append(root)
        rc, line, _ = run(args, env, cpus="0", extra=["eal-args"])
        check(rc == 0 and line.count("-a ") == 1, "one VF named twice is listed once: %s" % line)

        # ---- numa_node -1 on a 2-node machine: cannot tell -> misaligned --------------------
        root, args, env, mounts = case("numaunknown")
        roots.append(root)
        with open(os.path.join(root, "sys/bus/pci/devices/0000:18:01.0/numa_node"), "w") as f:
            f.write("-1\n")
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 3 and "its NUMA node is unknown (numa_node -1)" in out, "numa -1: %s" % out)

        # ---- capabilities and memlock notes; Cpus_allowed_list from self/status --------------
        root, args, env, mounts = case("caps", caps=podview.DEFAULT_CAPS, memlock=65536,
                                       cpus="2,10")
        roots.append(root)
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 0 and "CPUs 2,10 (2, from self/status Cpus_allowed_list)" in out,
              "Cpus_allowed_list wins over the affinity: %s" % out)
        check("IPC_LOCK no, SYS_RAWIO no, NET_ADMIN no" in out and "RLIMIT_MEMLOCK 64Ki" in out
              and "note: RLIMIT_MEMLOCK is 64Ki and IPC_LOCK is not granted" in out,
              "caps + memlock note: %s" % out)

        # ---- an affinity naming every possible CPU (0-4095 on some kernels): the absent ones
        # are on no node and have no topology, the present ones keep theirs --------------------
        root, args, env, mounts = case("absentcpus", cpus="2,10,64-4095")
        roots.append(root)
        rc, out, _ = run(args, env, cpus="0")
        check(rc == 3 and "CPUs 2,10,64-4095 (4034, from self/status" in out and
              re.search(r"cpu 2 +numa node 0 +socket 0 +core 1 +siblings 2,10", out) and
              re.search(r"cpu 4095 +numa node -1 +socket -1 +core -1 +siblings unknown", out) and
              out.count("in no NUMA node's cpulist") == 1 and
              "CPUs 64-4095 are in no NUMA node's cpulist" in out,
              "absent CPUs in the affinity: on no node, no topology, one problem: %s" % out[-400:])

        # ---- cannot read: exit 1 with the file named ---------------------------------------
        root, args, env, mounts = case("unreadable", vfs=("0000:42:01.0",))
        roots.append(root)
        rc, out, err = run(args, env)
        check(rc == 1 and "VF 0000:42:01.0 (%s)" % podview.RESOURCE_ENV in err
              and "bus/pci/devices/0000:42:01.0" in err, "absent VF -> 1: %d %s" % (rc, err))
        env[podview.RESOURCE_ENV] = "0000:18:01.0,not-a-bdf"
        rc, out, err = run(args, env)
        check(rc == 1 and '"not-a-bdf" is not a PCI address' in err, "bad variable: %s" % err)
        env[podview.RESOURCE_ENV] = "0000:18:01.0"
        os.unlink(os.path.join(root, "proc/self/mountinfo"))
        rc, out, err = run(args, env, extra=["eal-args"])
        check(rc == 1 and "self/mountinfo" in err and out == "", "no mountinfo -> 1: %s" % err)
        root, args, env, mounts = case("badlimit")
        roots.append(root)
        with open(os.path.join(root, "cgroup", podview.CGROUP_PATH.lstrip("/"),
                               "hugetlb.1GB.max"), "w") as f:
            f.write("lots\n")
        rc, out, err = run(args, env)
        check(rc == 1 and 'hugetlb.1GB.max: "lots" is not a limit' in err, "bad limit: %s" % err)

        # ---- bad usage: exit 2 --------------------------------------------------------------
        for bad in (["--bogus"], ["eal-args", "extra"], ["--json"], ["--sysfs-root"]):
            rc, out, err = run(bad, env)
            check(rc == 2 and err, "usage %s -> 2 (%d)" % (bad, rc))
        rc, out, _ = run(["--help"], env)
        check(rc == 0 and out.startswith("usage: numafit-pod"), "--help")

        # ---- the binary: no DPDK, hwloc, JSON, HTTP or YAML library needed -------------------
        needed = subprocess.run(["readelf", "-d", POD], capture_output=True, text=True).stdout
        libs = [l.split("[")[1].rstrip("]") for l in needed.splitlines() if "(NEEDED)" in l]
        bad = [l for l in libs if any(x in l for x in ("rte_", "dpdk", "hwloc", "jansson",
                                                        "microhttpd", "curl", "yaml", "numa"))]
        check(libs and not bad, "numafit-pod needs only %s" % libs)
    finally:
        for r in roots:
            shutil.rmtree(r, ignore_errors=True)
    return nftest.summary()


if __name__ == "__main__":
    sys.exit(main())
