#!/usr/bin/env python3
"""e2e_demo.py - the quick start's demo part (scripts/quickstart.sh --demo-only) against the build.

Runs what a newcomer sees after `scripts/dev.sh run`: two fake telco nodes (real exporters on
fixture trees), a real extender binding through the fake API server. Asserts the first DPDK pod
passes /filter on demo-b only and is bound to its numa1 (the only NUMA node with free CPUs and
VFs), the second is rejected on both nodes with the reason naming what is short (demo-b: 1 of 2
VFs left), the HTML capacity report is written where NUMAFIT_DEMO_HTML says, and that it all
takes under 30 s.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nftest import BUILD, SRC, check, summary  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="nf-e2e-demo-")
    html = os.path.join(tmp, "report.html")
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(SRC, "scripts", "quickstart.sh"), "--demo-only", BUILD],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NUMAFIT_DEMO_HTML=html))
    dt = time.monotonic() - t0
    out = p.stdout
    print(out + p.stderr)
    check(p.returncode == 0, "quickstart.sh --demo-only exits 0: %d" % p.returncode)
    check(dt < 30, "the demo takes under 30 s: %.1fs" % dt)
    lines = out.splitlines()
    dpdk1 = lines[next((i for i, l in enumerate(lines) if l.startswith("pod demo/dpdk-1")), 0):]
    check(any(l.strip() == "/filter: passes demo-b" for l in dpdk1[:3]),
          "dpdk-1 passes /filter on demo-b only")
    check("demo: dpdk-1 bound to demo-b numa1" in out, "dpdk-1 lands on demo-b's numa1")
    check(any(l.strip().startswith("/prioritize: demo-b") for l in lines), "/prioritize shown")
    check("demo: dpdk-2 rejected" in out, "dpdk-2 is rejected")
    dpdk2 = out[out.find("pod demo/dpdk-2"):]
    check("/filter: passes no node" in dpdk2 and "demo-b rejected (FailedNodes)" in dpdk2 and
          "demo-a rejected (FailedNodes)" in dpdk2, "dpdk-2: both nodes rejected")
    check("closest numa1: intel.com/intel_sriov_dpdk 1/2 free" in dpdk2,
          "dpdk-2's reason on demo-b: the VF dpdk-1 left")
    check("demo-b  numa1    12             8Gi     3" in out, "the per-NUMA free table")
    check("demo: HTML capacity report: %s" % html in out, "the HTML report's path is printed")
    body = open(html).read() if os.path.exists(html) else ""
    check("<h1>numafit capacity report</h1>" in body and 'data-node="demo-b"' in body,
          "the HTML report exists and covers the demo nodes")
    subprocess.run(["rm", "-rf", tmp])
    return summary()


if __name__ == "__main__":
    sys.exit(main())
