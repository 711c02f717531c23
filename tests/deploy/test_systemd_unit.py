#!/usr/bin/env python3
"""test_systemd_unit.py - deploy/systemd/numafit-exporter.service, offline:
`systemd-analyze verify` (syntax, directives, ExecStart pointed at the built binary), the
hardening it promises (ProtectSystem=strict, read-only kubelet dir, no capabilities, ...),
`systemd-analyze security --offline` exposure below a threshold, the same for the probe
drop-in, and the flags in its example environment against `numafit-exporter --help`.
Privilege separation as the unit sets it up: the system calls of the identity switch pass the
unit's SystemCallFilter (its groups expanded by `systemd-analyze syscall-filter`), and a real
exporter started with the unit's capability sets, securebits and no_new_privs (`setpriv`, as
root) splits into a uid-0 collector without CAP_SETUID/CAP_SETGID and an HTTP process as the
unit's NUMAFIT_PRIVSEP_USER that serves."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

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


def unit_env(d):
    env = {}
    for line in d.get("Environment", []):
        for kv in line.split():
            k, _, v = kv.partition("=")
            env[k] = v
    return env


def expand(names, seen=None):
    """System call names of a SystemCallFilter= list, @groups expanded by systemd-analyze."""
    out = set()
    for n in names:
        if n.startswith("@"):
            r = subprocess.run(["systemd-analyze", "syscall-filter", n], capture_output=True, text=True)
            members = [l.strip() for l in r.stdout.splitlines()[1:]
                       if l.strip() and not l.strip().startswith("#")]
            out |= expand(members)
        else:
            out.add(n)
    return out


# What nf_privsep_fork / nf_privsep_confine_collector call before their own filters exist
# (exporter/privsep.c): the drop of the HTTP process and the collector's capability change.
SWITCH = ["setgroups", "setresgid", "setresuid", "capget", "capset", "prctl", "seccomp", "socketpair"]


def syscall_filter_allows_switch(d):
    """systemd's semantics: the first SystemCallFilter= line decides allow-list or deny-list mode,
    later lines add to (plain) or take from (~) the allowed set."""
    allowed = None
    for line in d.get("SystemCallFilter", []):
        deny = line.startswith("~")
        names = expand(line.lstrip("~").split())
        if allowed is None:
            check("unit: SystemCallFilter starts as an allow list", not deny, line)
            allowed = set()
        allowed = allowed - names if deny else allowed | names
    refused = [c for c in SWITCH if c not in (allowed or set())]
    check("unit: SystemCallFilter lets the identity switch through", not refused, refused)
    check("unit: SystemCallFilter still refuses mount, ptrace-free kexec_load, reboot",
          not {"mount", "kexec_load", "reboot"} & (allowed or set()))


def privsep_under_unit_credentials(d, tmp):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        nftest.skip("not root or no setpriv: the split under the unit's credentials not run")
        return
    caps = [c.lower()[4:] for c in d["CapabilityBoundingSet"][-1].split()]
    capset = "-all," + ",".join("+" + c for c in caps)
    user = unit_env(d)["NUMAFIT_PRIVSEP_USER"]
    root, kdir, cfg = nftest.machine(tmp, "unit-node", "snc2", "0,32")
    argv = ["setpriv", "--bounding-set", capset, "--inh-caps", capset, "--ambient-caps", capset,
            "--securebits", "+noroot,+noroot_locked", "--no-new-privs", EXPORTER]
    argv += nftest.exporter_args(root, kdir, cfg, "unit-node")
    env = {"NUMAFIT_PRIVSEP_USER": user}  # from the environment, as systemd passes it
    ex = nftest.Server(argv, env=env, name="exporter")
    try:
        kids = nftest.proc_children(ex.proc.pid)
        coll = nftest.proc_status(ex.proc.pid)
        check("unit credentials: the collector is uid 0 without CAP_SETUID/CAP_SETGID",
              coll["Uid"][0] == "0" and int(coll["CapEff"][0], 16) & 0xc0 == 0 and
              int(coll["CapPrm"][0], 16) & 0xc0 == 0, (coll["Uid"], coll["CapEff"], coll["CapPrm"]))
        check("unit credentials: one HTTP process", len(kids) == 1, kids)
        if kids:
            http = nftest.proc_status(kids[0])
            uid, gid = user.split(":")
            check("unit credentials: the HTTP process runs as NUMAFIT_PRIVSEP_USER with no capability",
                  http["Uid"] == [uid] * 4 and http["Gid"] == [gid] * 4 and
                  http["CapEff"] == ["0000000000000000"] and http["Seccomp"] == ["2"],
                  (http["Uid"], http["Gid"], http["CapEff"], http["Seccomp"]))
        st, _, body = ex.get("/v1/topology")
        check("unit credentials: GET /v1/topology served across the split", st == 200 and b'"numaNodes"' in body, st)
        check("unit credentials: /healthz 200", ex.get("/healthz")[0] == 200)
    finally:
        rc = ex.stop()
        check("unit credentials: exits 0 on SIGTERM", rc == 0, rc)


def main():
    text = open(UNIT).read()
    d = directives(text)
    want = {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "ProtectHome": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
            "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "CAP_SETUID CAP_SETGID",
            "AmbientCapabilities": "CAP_SETUID CAP_SETGID", "KillSignal": "SIGTERM"}
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
    env = unit_env(d)
    check("unit: two processes, the HTTP one as 65534:65534", env.get("NUMAFIT_PRIVSEP_USER") == "65534:65534",
          env)

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
        syscall_filter_allows_switch(d)
        privsep_under_unit_credentials(d, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
