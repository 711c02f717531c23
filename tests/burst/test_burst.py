#!/usr/bin/env python3
"""test_burst.py - a burst of DPDK pods through the emulated kube-scheduler/kubelet (burst_sim.py)
with real numafit-exporter and numafit-extender processes and the fake kube-apiserver.

  1. nobind (kube-scheduler binds, numafit only filters): the burst DOES produce
     TopologyAffinityErrors: /filter of pod N+1 comes before kubelet admitted pod N, so the
     simulation can see the problem it is meant to show.
  2. bind (the extender binds and reserves): no TopologyAffinityError and exactly
     min(pods, capacity) pods bound, all of them Running.
  3. bind with the extender SIGKILLed in the middle of the burst and started again at once: still
     no TopologyAffinityError and every slot of capacity used.
Each run checks that the exporters publish exactly what the emulated kubelets hold (the state
files the simulation writes are the ones kubelet writes).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from nftest import check, summary  # noqa: E402

SIM = os.path.join(HERE, "burst_sim.py")
SMALL = ["--nodes", "8", "--pods", "40", "--interval", "2", "--admit-delay", "300", "--keep-tmp"]


def evidence(tmp):
    """What a failed run's logs say of the pods kubelet rejected: the extender's lines on each
    (its bind, reservation and node) and the rejection, so a rare failure in CI leaves enough to
    work from. Prints nothing for a run without a rejection."""
    logs = sorted(glob.glob(os.path.join(tmp, "*.log")))
    text = {}
    for path in logs:
        with open(path, errors="replace") as f:
            text[os.path.basename(path)] = f.read().splitlines()
    rejected = set()
    for lines in text.values():
        for l in lines:
            if "TopologyAffinityError" in l:
                rejected.update(re.findall(r"\b(dpdk-[0-9]+)", l))
    for pod in sorted(rejected):
        print("-- evidence for %s:" % pod)
        for name, lines in text.items():
            hits = [l for l in lines if pod in l]
            for l in hits[-12:]:
                print("  %s: %s" % (name, l[:400]))


def run(what, args, timeout=100):
    t0 = time.monotonic()
    RUNS.append([what, None, check.failed])  # before any check of this run, a timeout's too
    try:
        p = subprocess.run([sys.executable, SIM, "--json"] + SMALL + args, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        check(False, "%s: burst_sim.py finished within %d s" % (what, timeout))
        sys.stderr.write((e.stderr or b"").decode(errors="replace")[-2000:]
                         if isinstance(e.stderr, bytes) else (e.stderr or "")[-2000:])
        return None
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    r = json.loads(lines[-1]) if lines else {}
    m = re.search(r"kept (\S+)", p.stderr)
    RUNS[-1][1] = m.group(1) if m else None
    return checked(what, p, r, t0)


def settle():
    """After a run's checks: its files go, unless a check failed since it started."""
    what, tmp, failed_before = RUNS[-1]
    if tmp and check.failed > failed_before:
        print("%s: its files are kept in %s" % (what, tmp))
        evidence(tmp)
    elif tmp:
        shutil.rmtree(tmp, ignore_errors=True)


RUNS = []  # [what, its kept files, failed checks before it]


def checked(what, p, r, t0):
    ok = check(p.returncode == 0 and "error" not in r,
               "%s: burst_sim.py ran (exit %d): %s" % (what, p.returncode,
                                                        p.stderr.strip()[-1500:]))
    print("%s (%.1f s): %s" % (what, time.monotonic() - t0,
                               (p.stderr.strip().splitlines() or [""])[-1]), flush=True)
    if not ok:
        return None
    check(r["created"] == r["pods"], "%s: every pod was created: %d" % (what, r["created"]))
    check(r["exporter_mismatches"] == 0,
          "%s: the exporters publish what the kubelets hold: %r"
          % (what, r["exporter_mismatch_examples"]))
    check(not r["nodes_over_capacity"],
          "%s: no node runs more pods than it can hold: %r" % (what, r["nodes_over_capacity"]))
    check(r["other_failures"] == 0, "%s: no other admission failure" % what)
    check(r["admitted"] <= r["capacity"], "%s: admitted %d <= capacity %d"
          % (what, r["admitted"], r["capacity"]))
    if r["errors"]:
        print("%s: errors seen: %s" % (what, r["errors"][:3]))
    return r


def main():
    t0 = time.monotonic()
    r = run("nobind", ["--mode", "nobind"])
    if r:
        check(r["capacity"] == 28, "8 telco nodes (capacity 3 and 4) hold 28 pods: %d"
              % r["capacity"])
        check(r["topology_affinity_errors"] > 0,
              "nobind: the burst produces TopologyAffinityErrors (the race is visible): %d"
              % r["topology_affinity_errors"])
        check(r["topology_affinity_errors"] == r["kubelet_topology_affinity_errors"],
              "nobind: the API server shows every rejection the kubelets made")
        check(r["bound"] == r["admitted"] + r["topology_affinity_errors"],
              "nobind: every bound pod was admitted or rejected")
    settle()

    r = run("bind", ["--mode", "bind"])
    if r:
        want = min(r["pods"], r["capacity"])
        check(r["topology_affinity_errors"] == 0,
              "bind: no TopologyAffinityError: %d" % r["topology_affinity_errors"])
        check(r["bound"] == want, "bind: bound %d == min(pods, capacity) %d" % (r["bound"], want))
        check(r["admitted"] == r["bound"], "bind: every bound pod runs: %d of %d"
              % (r["admitted"], r["bound"]))
        check(r["pending"] == r["pods"] - want, "bind: the rest is pending: %d" % r["pending"])
    settle()

    r = run("bind+kill", ["--mode", "bind", "--kill-extender-at", "12"])
    if r:
        want = min(r["pods"], r["capacity"])
        check(r["extender_restarts"] == 1, "bind+kill: the extender was killed and restarted")
        check(r["topology_affinity_errors"] == 0,
              "bind+kill: no TopologyAffinityError: %d" % r["topology_affinity_errors"])
        check(r["admitted"] == want and r["bound"] == want,
              "bind+kill: all capacity used: bound %d, admitted %d, want %d"
              % (r["bound"], r["admitted"], want))
    settle()
    print("wall time %.1f s" % (time.monotonic() - t0))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
