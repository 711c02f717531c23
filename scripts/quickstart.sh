#!/usr/bin/env bash
# Brings numafit up on this machine and asks it one scheduling question (called by `dev.sh run`):
#   1. numafit-exporter on the real /sys, on 127.0.0.1 with a free port;
#   2. numafit-extender pulling it, on 127.0.0.1 with a free port; wait until it has the node;
#   3. POST /filter and /prioritize for a sample DPDK pod, as kube-scheduler would, and print
#      the answer (which node passed, or why this machine cannot hold the pod);
#   4. stop both (SIGTERM) and remove the temporary files, also on error or Ctrl-C;
#   5. the same flow on a built-in demo cluster (scripts/demo.py: two fake telco nodes, where a
#      DPDK pod does land), writing its HTML capacity report to $NUMAFIT_DEMO_HTML (default
#      BUILD_DIR/numafit-demo-report.html).
# Usage: scripts/quickstart.sh [--demo-only] [BUILD_DIR] [POD_JSON]
#   --demo-only   skip steps 1-4 (what the e2e_demo test runs)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
demo_only=0
if [ "${1:-}" = --demo-only ]; then
  demo_only=1
  shift
fi
build=${1:-build}
pod=${2:-$src/tests/e2e/pods/dpdk-base-workload.json}
html=${NUMAFIT_DEMO_HTML:-$build/numafit-demo-report.html}
demo() { exec python3 "$src/scripts/demo.py" "$build" "$html"; }
[ "$demo_only" = 1 ] && demo
exporter=$build/exporter/numafit-exporter
extender=$build/extender/numafit-extender
node=${NODE_NAME:-$(hostname)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/numafit-quickstart.XXXXXX")
pids=()

die() { echo "quickstart: $*" >&2; exit 1; }
cleanup() {
  for p in "${pids[@]}"; do
    if kill -TERM "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$exporter" "$extender"; do [ -x "$b" ] || die "$b not found: build first (scripts/dev.sh build)"; done
[ -r "$pod" ] || die "pod file $pod not found"

# kubelet: this machine's own when it is a Kubernetes node, else a typical DPDK worker's settings
if [ -r /var/lib/kubelet/config.yaml ]; then
  kubelet=(--kubelet-dir /var/lib/kubelet --kubelet-config /var/lib/kubelet/config.yaml)
  kubelet_note="this node's kubelet (/var/lib/kubelet)"
else
  mkdir "$tmp/kubelet"
  printf '%s\n' 'apiVersion: kubelet.config.k8s.io/v1beta1' 'kind: KubeletConfiguration' \
    'cpuManagerPolicy: static' 'reservedSystemCPUs: "0"' \
    'topologyManagerPolicy: single-numa-node' >"$tmp/kubelet.yaml"
  kubelet=(--kubelet-dir "$tmp/kubelet" --kubelet-config "$tmp/kubelet.yaml")
  kubelet_note="no kubelet here: assuming cpuManagerPolicy static, reservedSystemCPUs 0, topologyManagerPolicy single-numa-node"
fi
sriov=()
[ -r /etc/pcidp/config.json ] && sriov=(--sriov-config /etc/pcidp/config.json)

# start NAME LOG CMD...: run a server on port 0; $port = the port it logs (`... port=N`)
start() {
  local name=$1 log=$2
  shift 2
  : >"$log" # exists before the background redirection does: sed below must never fail
  "$@" --listen 127.0.0.1:0 >/dev/null 2>>"$log" &
  pids+=($!)
  for _ in $(seq 200); do
    port=$(sed -n 's/.*msg="[^"]*serving".* port=\([0-9]*\).*/\1/p' "$log" | head -n1)
    [ -n "$port" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  die "$name did not start: $(tail -n 5 "$log")"
}

start numafit-exporter "$tmp/exporter.log" "$exporter" --node-name "$node" "${kubelet[@]}" \
  ${sriov[@]+"${sriov[@]}"}
eport=$port
start numafit-extender "$tmp/extender.log" "$extender" --exporter "http://127.0.0.1:$eport"
xport=$port
for _ in $(seq 200); do
  curl -fs "http://127.0.0.1:$xport/v1/nodes/$node" >/dev/null && break
  sleep 0.05
done
curl -fs "http://127.0.0.1:$xport/v1/nodes/$node" >"$tmp/node.json" ||
  die "the extender has no topology for $node after 10 s: $(tail -n 5 "$tmp/extender.log")"

# the scheduler's two calls (nodeCacheCapable: true -> NodeNames)
python3 - "$pod" "$node" >"$tmp/args.json" <<'PY'
import json, sys
print(json.dumps({"Pod": json.load(open(sys.argv[1])), "Nodes": None, "NodeNames": [sys.argv[2]]}))
PY
for verb in filter prioritize; do
  curl -fsS -H 'Content-Type: application/json' --data-binary "@$tmp/args.json" \
    "http://127.0.0.1:$xport/$verb" >"$tmp/$verb.json" || die "POST /$verb failed"
done
# the node's own numbers behind the reason (the closest NUMA node and what it lacks)
podref=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metadata"]; print("%s/%s" % (m.get("namespace", "default"), m["name"]))' "$pod")
curl -fsS "http://127.0.0.1:$xport/v1/explain?pod=$podref" >"$tmp/explain.json" || echo '{}' >"$tmp/explain.json"

python3 - "$tmp" "$pod" "$node" "$eport" "$xport" "$kubelet_note" <<'PY'
import json, sys
tmp, pod_path, node, eport, xport, kubelet_note = sys.argv[1:]
doc = json.load(open(tmp + "/node.json"))
pod = json.load(open(pod_path))
flt = json.load(open(tmp + "/filter.json"))
pri = json.load(open(tmp + "/prioritize.json"))
print("numafit on %s: exporter 127.0.0.1:%s (real /sys) -> extender 127.0.0.1:%s" % (node, eport, xport))
print("kubelet: " + kubelet_note)
for n in doc["numaNodes"]:
    r = n.get("resources", {})
    parts = ["%s %s free" % (k, v.get("available")) for k, v in sorted(r.items())
             if k == "cpu" or k.startswith("hugepages-") or "/" in k]
    print("  numa%d: %s" % (n["id"], ", ".join(parts) or "no CPUs"))
reqs = {}
for c in pod["spec"]["containers"]:
    reqs.update(c.get("resources", {}).get("requests", {}))
print("pod %s (%s) requests %s" % (pod["metadata"]["name"], pod_path.rsplit("/", 1)[-1],
                             " ".join("%s=%s" % kv for kv in sorted(reqs.items()))))
if node in (flt.get("NodeNames") or []):
    score = next((h["Score"] for h in pri if h["Host"] == node), None)
    print("  /filter: %s PASSES  (/prioritize score %s of 10)" % (node, score))
elif node in (flt.get("FailedAndUnresolvableNodes") or {}):
    print("  /filter: %s rejected, unresolvable (even an empty node could not hold it):\n    %s"
          % (node, flt["FailedAndUnresolvableNodes"][node]))
else:
    print("  /filter: %s rejected (current use blocks it):\n    %s"
          % (node, (flt.get("FailedNodes") or {}).get(node, flt.get("Error"))))
ex = json.load(open(tmp + "/explain.json"))
for n in ex.get("nodes", []):
    if n.get("node") == node and n.get("status") != "fits":
        print("  /v1/explain: %s" % n.get("reason"))
PY

# 5. the real machine rarely has VFs and 1 GiB pages: now watch a pod land on the demo cluster
cleanup
trap - EXIT
demo
