#!/usr/bin/env bash
# numafit-extender's command line: flags and NUMAFIT_* variables, exit codes, serving from a
# --topology-dir on loopback, and a clean stop on SIGTERM.
set -euo pipefail
BIN="$NF_BUILD_DIR/extender/numafit-extender"
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # rc, command...
  local want=$1 got=0
  shift
  "$@" >"$TMP/out" 2>"$TMP/err" || got=$?
  [ "$got" = "$want" ] || fail "$* exited $got, want $want: $(cat "$TMP/err")"
}

expect_rc 0 "$BIN" --help
grep -q -- "--stale-policy" "$TMP/out" || fail "--help does not list --stale-policy"
expect_rc 0 "$BIN" --version
grep -q "^numafit-extender " "$TMP/out" || fail "--version"
expect_rc 2 "$BIN" --no-such-flag
expect_rc 2 "$BIN" --topology-dir "$TMP" --align diagonal
grep -q "numa, socket or kubelet" "$TMP/err" || fail "--align error does not say what is allowed"
expect_rc 2 env NUMAFIT_STRATEGY=bogus "$BIN" --topology-dir "$TMP"
expect_rc 2 "$BIN" --topology-dir "$TMP" --hugepages-alignment burstable
grep -q "all or guaranteed" "$TMP/err" || fail "--hugepages-alignment error: $(cat "$TMP/err")"
expect_rc 2 env NUMAFIT_HUGEPAGES_ALIGNMENT=some "$BIN" --topology-dir "$TMP"
expect_rc 2 "$BIN" --topology-dir "$TMP" --stale-after 10parsecs
expect_rc 2 "$BIN" --topology-dir "$TMP" --stale-policy maybe
expect_rc 2 "$BIN" --topology-dir "$TMP" --max-body lots
expect_rc 2 "$BIN" --exporter ftp://x:1
expect_rc 2 "$BIN"
grep -q "no topology source" "$TMP/err" || fail "no source: $(cat "$TMP/err")"
expect_rc 1 "$BIN" --topology-dir "$TMP/missing"
expect_rc 2 "$BIN" --topology-dir "$TMP" --listen nonsense

# a real document (the design's example) in the directory
python3 - "$TMP/worker-1.json" <<'PY'
import json, sys
doc = {"apiVersion": "numafit.io/v1", "kind": "NodeTopology", "node": "worker-1", "generation": 1,
       "kubelet": {"cpuManagerPolicy": "static", "topologyManagerPolicy": "single-numa-node",
                   "topologyManagerScope": "pod", "memoryManagerPolicy": "None"},
       "sockets": [{"id": 0, "numaNodes": [0]}],
       "numaNodes": [{"id": 0, "socket": 0, "cpus": {"online": "0-7", "allocatable": "0-7",
                      "allocated": "", "free": "0-7", "threadsPerCore": 1, "freeFullCores": 8},
                      "resources": {"cpu": {"capacity": 8, "allocatable": 8, "available": 8},
                                    "hugepages-1Gi": {"capacity": 4294967296,
                                                      "allocatable": 4294967296,
                                                      "available": 4294967296}}}]}
json.dump(doc, open(sys.argv[1], "w"))
PY

NUMAFIT_ALIGN=socket NUMAFIT_HUGEPAGES_ALIGNMENT=guaranteed NUMAFIT_LOG_LEVEL=info "$BIN" --listen 127.0.0.1:0 --topology-dir "$TMP" \
  2>"$TMP/log" &
PID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*msg="numafit-extender serving".* port=\([0-9]*\).*/\1/p' "$TMP/log")
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "$PORT" ] || fail "no serving line: $(cat "$TMP/log")"
grep -q "align=socket" "$TMP/log" || fail "NUMAFIT_ALIGN was not applied: $(cat "$TMP/log")"
grep -q "hugepages_alignment=guaranteed" "$TMP/log" ||
  fail "NUMAFIT_HUGEPAGES_ALIGNMENT was not applied: $(cat "$TMP/log")"
C() { curl -s --noproxy "*" -o "$TMP/body" -w "%{http_code}" "$@"; }
[ "$(C "http://127.0.0.1:$PORT/readyz")" = 200 ] || fail "/readyz"
[ "$(C "http://127.0.0.1:$PORT/v1/nodes/worker-1")" = 200 ] || fail "/v1/nodes/worker-1"
POD='{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"2","memory":"1Gi","hugepages-1Gi":"1Gi"},"limits":{"cpu":"2","memory":"1Gi","hugepages-1Gi":"1Gi"}}}]}}'
[ "$(C -X POST -d "{\"Pod\":$POD,\"NodeNames\":[\"worker-1\",\"worker-2\"]}" \
  "http://127.0.0.1:$PORT/filter")" = 200 ] || fail "/filter: $(cat "$TMP/body")"
python3 - "$TMP/body" <<'PY' || fail "/filter answer: $(cat "$TMP/body")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["NodeNames"] == ["worker-1"], r
assert "worker-2" in r["FailedAndUnresolvableNodes"], r  # no topology: preemption cannot help
PY

kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
PID=
[ "$RC" = 0 ] || fail "SIGTERM: exit $RC"
grep -q 'msg="stopping" signal=SIGTERM' "$TMP/log" || fail "no stop line"

# a port in use is a runtime failure (1)
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(5)' >"$TMP/port" &
HOLDER=$!
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.05; done
expect_rc 1 "$BIN" --topology-dir "$TMP" --listen "127.0.0.1:$(cat "$TMP/port")"
kill "$HOLDER" 2>/dev/null || true
echo ok
