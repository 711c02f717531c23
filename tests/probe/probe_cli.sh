#!/usr/bin/env bash
# probe_cli.sh - `probe` subcommand end to end: JSON on stdout, exit codes 0 / 1 / 2, flags from
# NUMAFIT_* variables and --log-level as every numafit command takes them (lib/cli.c).
# Runs the real EAL (vdevs, --no-huge). Uses $NUMAFIT_EXPORTER when it exists (the real
# numafit-exporter binary), else the test stand-in nf_probe_cli_tool (same nf_probe_cli_main).
set -euo pipefail
B=${NF_BUILD_DIR:?}
BIN=$B/exporter/numafit-exporter
[[ -x $BIN ]] || BIN=$B/tests/probe/nf_probe_cli_tool
out=$(mktemp -d /tmp/nf-probe-cli-XXXXXX)
trap 'rm -rf "$out"' EXIT

check() { # file python-expression
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2], {"d": d}):
    print("assertion failed:", sys.argv[2], "\n", json.dumps(d, indent=1)); sys.exit(1)
PY
}

# all ok -> 0
"$BIN" probe --vdev net_null0 --vdev net_ring0 --no-huge --timeout 20s >"$out/ok.json"
check "$out/ok.json" '[r["status"] for r in d["results"]] == ["ok", "ok"]'
check "$out/ok.json" '[r["pmd"] for r in d["results"]] == ["net_null", "net_ring"]'
check "$out/ok.json" 'd["eal"]["hugepages"] is False and "--no-huge" in d["eal"]["runs"][0]["args"]'
check "$out/ok.json" 'all(r["checkedAt"].endswith("Z") and r["link"] in ("up", "down", "unknown") for r in d["results"])'

# an absent PCI address -> failed with EAL's reason, exit 1
rc=0
"$BIN" probe --pci 0000:ff:1f.7 --vdev net_null0 --no-huge >"$out/bad.json" || rc=$?
[[ $rc == 1 ]] || { echo "absent PCI: exit $rc, want 1"; exit 1; }
check "$out/bad.json" '"Cannot find device (0000:ff:1f.7)" in d["results"][0]["status"]'
check "$out/bad.json" 'd["results"][1]["status"] == "ok"'
check "$out/bad.json" '"-a" in d["eal"]["runs"][0]["args"] and "--no-pci" not in d["eal"]["runs"][0]["args"]'

# a VF skipped by the sysfs pre-check (fake tree) -> exit 1, no EAL run at all
mkdir -p "$out/sys/bus/pci/devices/0000:18:01.0"
ln -s ../../../bus/pci/drivers/iavf "$out/sys/bus/pci/devices/0000:18:01.0/driver"
rc=0
"$BIN" probe --sysfs-root "$out/sys" --pci 18:01.0 >"$out/skip.json" || rc=$?
[[ $rc == 1 ]] || { echo "skipped VF: exit $rc, want 1"; exit 1; }
check "$out/skip.json" 'd["results"][0]["device"] == "0000:18:01.0" and d["results"][0]["status"].startswith("skipped: bound to kernel driver iavf")'
check "$out/skip.json" 'd["eal"]["runs"] == []'

# bad usage -> 2, nothing on stdout
for args in "" "--pci nonsense" "--vdev net_null0 --timeout soon" "--vdev net_null0 --bogus" "--pci"; do
  rc=0
  # shellcheck disable=SC2086
  "$BIN" probe $args >"$out/usage.out" 2>"$out/usage.err" || rc=$?
  [[ $rc == 2 ]] || { echo "'probe $args': exit $rc, want 2"; exit 1; }
  [[ ! -s $out/usage.out ]] || { echo "'probe $args' wrote to stdout"; exit 1; }
  grep -q usage "$out/usage.err"
done

# --help on stdout, exit 0; -h too
"$BIN" probe --help >"$out/help.out"
grep -q -- "--log-level" "$out/help.out" && grep -q "NUMAFIT_<FLAG>" "$out/help.out"
"$BIN" probe -h >/dev/null

# every flag from the environment: NUMAFIT_VDEV (a list), NUMAFIT_NO_HUGE, NUMAFIT_TIMEOUT
NUMAFIT_VDEV="net_null0 net_ring0" NUMAFIT_NO_HUGE=1 NUMAFIT_TIMEOUT=20s "$BIN" probe >"$out/env.json"
check "$out/env.json" '[r["device"] for r in d["results"]] == ["net_null0", "net_ring0"]'
check "$out/env.json" '[r["status"] for r in d["results"]] == ["ok", "ok"]'
check "$out/env.json" '"--no-huge" in d["eal"]["runs"][0]["args"]'
# NUMAFIT_PCI and NUMAFIT_SYSFS_ROOT: the pre-checked VF above, no EAL run
rc=0
NUMAFIT_PCI=18:01.0 NUMAFIT_SYSFS_ROOT="$out/sys" "$BIN" probe >"$out/envskip.json" || rc=$?
[[ $rc == 1 ]] || { echo "NUMAFIT_PCI: exit $rc, want 1"; exit 1; }
check "$out/envskip.json" 'd["results"][0]["device"] == "0000:18:01.0" and d["results"][0]["status"].startswith("skipped: bound to kernel driver iavf")'
# the command line wins over the environment
rc=0
NUMAFIT_SYSFS_ROOT=/nonexistent "$BIN" probe --sysfs-root "$out/sys" --pci 18:01.0 >"$out/wins.json" || rc=$?
[[ $rc == 1 ]] || { echo "--sysfs-root over NUMAFIT_SYSFS_ROOT: exit $rc, want 1"; exit 1; }
check "$out/wins.json" 'd["results"][0]["status"].startswith("skipped: bound to kernel driver iavf")'
# a bad value from the environment is bad usage too
rc=0
NUMAFIT_TIMEOUT=soon "$BIN" probe --vdev net_null0 >"$out/envbad.out" 2>"$out/envbad.err" || rc=$?
[[ $rc == 2 && ! -s $out/envbad.out ]] || { echo "NUMAFIT_TIMEOUT=soon: exit $rc, want 2"; exit 1; }
grep -q -- "--timeout soon" "$out/envbad.err"

# --log-level: accepted (the JSON unchanged), from NUMAFIT_LOG_LEVEL too; a bad level is bad usage
"$BIN" probe --log-level debug --vdev net_null0 --no-huge --timeout 20s >"$out/dbg.json" 2>"$out/dbg.err"
check "$out/dbg.json" '[r["status"] for r in d["results"]] == ["ok"]'
NUMAFIT_LOG_LEVEL=error "$BIN" probe --vdev net_null0 --no-huge --timeout 20s >/dev/null
rc=0
"$BIN" probe --log-level loud --vdev net_null0 >"$out/lvl.out" 2>"$out/lvl.err" || rc=$?
[[ $rc == 2 && ! -s $out/lvl.out ]] || { echo "--log-level loud: exit $rc, want 2"; exit 1; }
grep -q "debug|info|warn|error" "$out/lvl.err"
echo "probe CLI: ok"
