#!/usr/bin/env python3
"""test_pod_eal.py - numafit-pod's EAL arguments start a REAL DPDK EAL (pod_eal_check.c).

The fake machine (podview.py) puts CPU 0 on NUMA node 0 and CPU 1 on node 1; this machine's real
CPUs 0 and 1 are on its node 0. The VF 0000:18:01.0 of the fake tree is replaced by a net_null
vdev (`-a BDF` -> `--vdev net_null0`, `--no-pci`): there is no real VF here.

  always       under `taskset -c 1` (CPU 1, VF 0000:86:01.0, both on fake node 1): the arguments
               name node 1 in --socket-mem ("0,64"); EAL runs them with --no-huge in place of the
               hugepage arguments (-l 1 --main-lcore 1 --file-prefix ... must initialise, main lcore 1)
  root only    2 MiB hugepages reserved on node 0 (64 pages, given back at the end) and a real
               hugetlbfs (pagesize=2M) mounted where the container's mountinfo says; under
               `taskset -c 0` the arguments are -l 0 --main-lcore 0 --huge-dir MOUNT --socket-mem
               64,0: EAL initialises on hugepages, its main lcore's socket is 0 (the node holding
               the CPUs, the one --socket-mem names) and a 1 MiB rte_malloc there succeeds; then
               the same with no hugetlbfs mounted (--in-memory --socket-mem 64,0)
Exit 77 (skipped) when a part cannot run here: no 2 CPUs (nothing runs), or not root, no 2 MiB
hugepages or no hugetlbfs mount (the hugepage cases; the others still ran and count).
"""
import os
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
EAL = os.path.join(nftest.BUILD, "tests", "pod", "nf_pod_eal_check")
NR_2M = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
PAGES = 64


def eal_args(args, env, cpus):
    p = subprocess.run(["taskset", "-c", cpus, POD, "eal-args"] + args, env=env,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.split(), p.stderr


def for_eal(words, no_huge=False):
    """-a BDF -> --vdev net_null0 (no real VF here); --no-huge in place of the hugepage args"""
    out, i = ["--no-pci", "--vdev", "net_null0"], 0
    while i < len(words):
        w = words[i]
        if w == "-a" or (no_huge and w in ("--huge-dir", "--socket-mem")):
            i += 2
            continue
        if no_huge and w == "--in-memory":
            i += 1
            continue
        out.append(w)
        i += 1
    if no_huge:
        out += ["--no-huge", "-m", "64"]
    return out


def run_eal(argv):
    p = subprocess.run([EAL] + argv, capture_output=True, text=True, timeout=120)
    kv = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition("=")
        kv.setdefault(k, v)
    return p.returncode, kv, p.stderr


def socket_mem_node(words):
    sm = words[words.index("--socket-mem") + 1].split(",")
    nonzero = [i for i, v in enumerate(sm) if v != "0"]
    return nonzero[0] if len(nonzero) == 1 else None


def read_int(path):
    with open(path) as f:
        return int(f.read())


def write_int(path, v):
    with open(path, "w") as f:
        f.write("%d\n" % v)


def main():
    if (os.cpu_count() or 1) < 2:
        print("SKIP: needs 2 CPUs")
        return 77
    root = tempfile.mkdtemp(prefix="nf-pod-eal-")
    podview.machine(root)
    saved, mounted = None, None
    try:
        # ---- always: CPU 1 on fake node 1, EAL without hugepages ---------------------------
        args, env, _ = podview.container(root, vfs=("0000:86:01.0",), mounts=((2 * MIB, "rw"),),
                                         limits={2 * MIB: 64 * MIB, GIB: 0},
                                         pod=("eal-nohuge-%d" % os.getpid(), podview.POD_UID))
        rc, words, err = eal_args(args, env, "1")
        check(rc == 0, "eal-args exits 0 (%d %s)" % (rc, err))
        check(words[:4] == ["-l", "1", "--main-lcore", "1"], "lcores: %s" % words)
        check(socket_mem_node(words) == 1, "--socket-mem names node 1, the CPUs' node: %s" % words)
        rc, kv, err = run_eal(for_eal(words, no_huge=True))
        check(rc == 0 and kv.get("eal") == "ok", "EAL initialises with the arguments (--no-huge): "
              "%s %s" % (kv, err[-2000:]))
        check(kv.get("mainLcore") == "1" and kv.get("lcores") == "1",
              "EAL main lcore 1, one lcore: %s" % kv)
        check(kv.get("ports") == "1" and kv.get("port") == "net_null0", "the vdev port: %s" % kv)

        # ---- root: real 2 MiB hugepages on node 0 -----------------------------------------
        nr = read_int(NR_2M) if os.path.exists(NR_2M) else -1
        if os.geteuid() != 0 or nr < 0 or not os.access(NR_2M, os.W_OK):
            nftest.skip("hugepage cases: not root or no 2 MiB hugepages on node0")
            return nftest.summary()
        saved = nr
        write_int(NR_2M, nr + PAGES)
        if read_int(NR_2M) < nr + PAGES // 2 + 1:
            nftest.skip("hugepage cases: the kernel gave too few 2 MiB pages")
            return nftest.summary()
        shutil.rmtree(os.path.join(root, "mnt"), ignore_errors=True)
        args, env, mounts = podview.container(root, mounts=((2 * MIB, "rw"),),
                                              limits={2 * MIB: 64 * MIB, GIB: 0},
                                              pod=("eal-huge-%d" % os.getpid(), podview.POD_UID))
        m = subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", mounts[0]],
                           capture_output=True, text=True)
        if m.returncode != 0:
            nftest.skip("mounted hugetlbfs case: %s" % m.stderr.strip())
        else:
            mounted = mounts[0]
            rc, words, err = eal_args(args, env, "0")
            want = ["-l", "0", "--main-lcore", "0", "-a", "0000:18:01.0", "--huge-dir", mounts[0],
                    "--socket-mem", "64,0"]
            check(rc == 0 and words[:10] == want, "eal-args on hugepages: %s %s" % (words, err))
            rc, kv, err = run_eal(for_eal(words))
            check(rc == 0 and kv.get("eal") == "ok" and kv.get("hugepages") == "1",
                  "EAL initialises on the hugetlbfs mount: %s %s" % (kv, err[-2000:]))
            check(kv.get("mainSocket") == str(socket_mem_node(words)) == "0",
                  "main lcore's socket = the node --socket-mem names: %s" % kv)
            check(kv.get("mallocSocket0") == "ok", "1 MiB rte_malloc on socket 0: %s" % kv)
            subprocess.run(["umount", mounted])
            mounted = None
        # no hugetlbfs mounted: --in-memory on the same pages
        shutil.rmtree(os.path.join(root, "mnt"), ignore_errors=True)
        args, env, _ = podview.container(root, mounts=(), limits={2 * MIB: 64 * MIB, GIB: 0},
                                         pod=("eal-inmem-%d" % os.getpid(), podview.POD_UID))
        rc, words, err = eal_args(args, env, "0")
        check(rc == 0 and "--in-memory" in words and socket_mem_node(words) == 0,
              "eal-args --in-memory: %s %s" % (words, err))
        rc, kv, err = run_eal(for_eal(words))
        check(rc == 0 and kv.get("eal") == "ok" and kv.get("hugepages") == "1"
              and kv.get("mainSocket") == "0" and kv.get("mallocSocket0") == "ok",
              "EAL --in-memory on hugepages: %s %s" % (kv, err[-2000:]))
    finally:
        if mounted:
            subprocess.run(["umount", mounted])
        if saved is not None:
            write_int(NR_2M, saved)
        shutil.rmtree(root, ignore_errors=True)
    return nftest.summary()


if __name__ == "__main__":
    sys.exit(main())
