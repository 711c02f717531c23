#!/usr/bin/env python3
"""bench_pod.py - wall time of `numafit-pod eal-args`, which runs at every DPDK container start.
Target: <= 5 ms. On demand only (not in ctest):

    cmake --build build-release --target bench_pod        (or)
    python3 bench/bench_pod.py [path/to/numafit-pod] [runs]

Two views: the big fake machine (mkfixture "bench" preset: 2 sockets x 4 NUMA nodes, 192 CPUs,
8 PFs x 16 VFs) with a container holding 8 CPUs, 4 VFs (device plugin variable + Multus
network-status), two hugetlbfs mounts and a cgroup v2 tree; and this machine's own /sys, /proc and
cgroup. Each run is a fork+exec of the binary timed from Python (the spawn cost is included,
so the figures are an upper bound, and /bin/true is timed the same way as the baseline: "own"
is the median above it); with hyperfine installed it measures the same command too.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "pod"))
sys.path.insert(0, os.path.join(SRC, "tests", "fixtures"))
import mkfixture  # noqa: E402
import podview  # noqa: E402

TARGET_MS = 5.0


def measure(argv, env, runs):
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - t) * 1000)
        if p.returncode not in (0, 3):
            sys.exit("%s exited %d" % (" ".join(argv), p.returncode))
    times.sort()
    return times


def report(name, times, base=None):
    """base: the baseline's times (/bin/true): what a fork+exec costs on this machine now"""
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    med = statistics.median(times)
    line = "%-34s runs %4d  min %6.2f ms  median %6.2f ms  p95 %6.2f ms  max %6.2f ms" % (
        name, len(times), times[0], med, p95, times[-1])
    if base:
        own = med - statistics.median(base)
        line += "  own %+.2f ms  %s" % (own, "ok (<= %.0f ms)" % TARGET_MS if med <= TARGET_MS
                                        else "OVER %.0f ms wall (own cost %s)" % (
                                            TARGET_MS, "ok" if own <= TARGET_MS else "over"))
    print(line)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("NF_BUILD_DIR", os.path.join(SRC, "build")), "pod", "numafit-pod")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    root = tempfile.mkdtemp(prefix="nf-bench-pod-")
    try:
        mkfixture.write_machine(mkfixture.preset_bench(), root)
        vfs = ["0000:10:01.%d" % i for i in range(4)]
        ann = {"k8s.v1.cni.cncf.io/network-status": podview.network_status(vfs)}
        args, env, _ = podview.container(root, vfs=vfs, cpus="8-11,104-107",
                                         mounts=((2 << 20, "rw"), (1 << 30, "rw")),
                                         annotations=ann)
        base = measure(["/bin/true"], env, runs)
        report("baseline: /bin/true", base)
        report("eal-args, 192-CPU fake machine", measure([binary, "eal-args"] + args, env, runs),
               base)
        report("eal-args --json, same", measure([binary, "eal-args", "--json"] + args, env, runs),
               base)
        report("eal-args, this machine", measure([binary, "eal-args"], dict(os.environ), runs),
               base)
        if shutil.which("hyperfine"):
            cmd = " ".join([binary, "eal-args"] + args)
            subprocess.run(["hyperfine", "-N", "--warmup", "20", "--runs", str(runs), cmd],
                           env=env, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
