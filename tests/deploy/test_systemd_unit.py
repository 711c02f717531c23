#!/usr/bin/env python3
"""test_systemd_unit.py - deploy/systemd/numafit-exporter.service, offline:
`systemd-analyze verify` (syntax, directives, ExecStart pointed at the built binary), the
hardening it promises (ProtectSystem=strict, read-only kubelet dir, no capabilities, ...),
`systemd-analyze security --offline` exposure below a threshold, the same for the probe
drop-in, and the flags in its example environment against `numafit-exporter --help`."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import nftest  # noqa: E402
from nftest import BUILD, SRC, summary  # noqa: E402
UNIT = os.path.join(SRC, "deploy/systemd/numafit-exporter.service")
DROPIN = os.path.join(SRC, "deploy/systemd/probe.conf")
EXPORTER = os.path.join(BUILD, "exporter/numafit-exporter")


def check(name, cond, detail=""):
    return nftest.check(cond, name + (f": {detail}" if detail != "" else ""))


def directives(text):
    d = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            d.setdefault(m.group(1), []).append(m.group(2))
    return d


def exposure(unit_dir, unit):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", os.path.join(unit_dir, unit)],
                       capture_output=True, text=True, env={**os.environ, "SYSTEMD_UNIT_PATH": unit_dir + ":"})
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout + r.stderr)
    return float(m.group(1)) if m else None, r


def main():
    text = open(UNIT).read()
    d = directives(text)
    want = {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "ProtectHome": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
            "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "", "KillSignal": "SIGTERM"}
    for k, v in want.items():
        check(f"unit: {k}={v}", d.get(k, [None])[-1] == v, d.get(k))
    ro = " ".join(d.get("ReadOnlyPaths", [])).split()
    check("unit: kubelet dir, /sys and /proc read-only", {"/var/lib/kubelet", "/sys", "/proc"} <= set(ro), ro)
    check("unit: no ProcSubset=pid (hwloc reads /proc/cpuinfo, /proc/meminfo)", "ProcSubset" not in d)
    check("unit: stop timeout covers a 30 s long-poll", re.match(r"^(\d+)s$", d.get("TimeoutStopSec", [""])[-1]) and
          int(d["TimeoutStopSec"][-1][:-1]) > 30)
    flags = set(re.findall(r"--([a-z][a-z0-9-]*)", subprocess.run([EXPORTER, "--help"], capture_output=True, text=True).stdout))
    for var in re.findall(r"\bNUMAFIT_([A-Z_]+)=", text + open(DROPIN).read()):
        check(f"unit: NUMAFIT_{var} is a flag of numafit-exporter", var.lower().replace("_", "-") in flags)
    check("unit: ExecStart is numafit-exporter", d.get("ExecStart", [""])[-1].endswith("/numafit-exporter"))

    if shutil.which("systemd-analyze") is None:
        nftest.skip("systemd-analyze is not installed (scripts/install-deps.sh): unit not verified")
        return summary()
    tmp = tempfile.mkdtemp(prefix="nf-systemd-")
    try:
        unit = os.path.join(tmp, "numafit-exporter.service")
        with open(unit, "w") as f:
            f.write(re.sub(r"^ExecStart=\S+", f"ExecStart={EXPORTER}", text, flags=re.M))
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                           env={**os.environ, "SYSTEMD_UNIT_PATH": tmp + ":"})
        bad = [l for l in (r.stdout + r.stderr).splitlines() if "numafit-exporter.service" in l]
        check("systemd-analyze verify: no complaint about the unit", r.returncode == 0 and not bad, r.stdout + r.stderr)
        score, r = exposure(tmp, "numafit-exporter.service")
        print(f"exposure (systemd-analyze security): unit {score}")
        check("unit: exposure level <= 2.5 (systemd-analyze security --offline)", score is not None and score <= 2.5,
              score if score is not None else r.stderr)
        os.makedirs(os.path.join(tmp, "numafit-exporter.service.d"))
        shutil.copy(DROPIN, os.path.join(tmp, "numafit-exporter.service.d/probe.conf"))
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                           env={**os.environ, "SYSTEMD_UNIT_PATH": tmp + ":"})
        bad = [l for l in (r.stdout + r.stderr).splitlines() if "numafit-exporter" in l or "probe.conf" in l]
        check("systemd-analyze verify with the probe drop-in", r.returncode == 0 and not bad, r.stdout + r.stderr)
        pscore, r = exposure(tmp, "numafit-exporter.service")
        print(f"exposure (systemd-analyze security): unit + probe drop-in {pscore}")
        check("probe drop-in is applied and costs exposure (more privilege)", pscore is not None and score is not None and pscore > score,
              f"{score} -> {pscore}")
        check("probe drop-in stays below 'exposed' (5.0)", pscore is not None and pscore < 5.0, pscore)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
