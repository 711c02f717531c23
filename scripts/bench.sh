#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (not part of the test suite).
#   scripts/bench.sh [exporter|extender|report|burst|all]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNUMAFIT_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target numafit-exporter numafit-extender bench >/dev/null
what=${1:-all}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

if [ "$what" = exporter ] || [ "$what" = all ]; then
  python3 tests/fixtures/mkfixture.py bench "$tmp/bench" >/dev/null
  mkdir -p "$tmp/kubelet"
  echo "== exporter: 2 sockets x 4 NUMA nodes, 192 PUs, 128 VFs"
  build-bench/bench/bench_refresh "$tmp/bench" "$tmp/kubelet" 500
  build-bench/exporter/numafit-exporter --listen 127.0.0.1:19750 --sysfs-root "$tmp/bench/sys" \
    --procfs-root "$tmp/bench/proc" --kubelet-dir "$tmp/kubelet" --log-level warn &
  pid=$!
  for _ in $(seq 50); do curl -fs http://127.0.0.1:19750/readyz >/dev/null && break; sleep 0.1; done
  wrk -t2 -c64 -d10s http://127.0.0.1:19750/v1/topology | grep -E 'Requests/sec|Latency|Transfer'
  echo "exporter RSS after wrk: $(awk '/VmRSS/{print $2, $3}' /proc/$pid/status) (peak $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status))"
  kill $pid; wait $pid 2>/dev/null || true
  echo "== exporter: kubelet change -> visible, idle CPU (snc2 fixture)"
  python3 bench/bench_kubelet_latency.py build-bench/exporter/numafit-exporter 100 60
fi

if [ "$what" = report ] || [ "$what" = all ]; then
  echo "== report: 5,000 nodes x 8 NUMA nodes, 3 shapes, single thread (target <= 1 s)"
  build-bench/bench/bench_report 5000
  echo "== report with the what-if: 1,000 pods of every shape placed first"
  build-bench/bench/bench_report 5000 1000
fi

if [ "$what" = extender ] || [ "$what" = all ]; then
  # 5,000 nodes x 8 NUMA nodes x 32 VFs; DPDK pod cpu=4, hugepages-1Gi=4Gi, intel_sriov_dpdk=1
  nodes=${NF_BENCH_NODES:-5000}
  echo "== extender: $nodes cached nodes x 8 NUMA nodes, 32 VFs each (targets: /filter NodeNames median <= 2 ms, p99 <= 5 ms; <= 16 KiB per node)"
  python3 bench/gen_topologies.py "$tmp/cluster" "$nodes" 32
  echo "-- in process (cache heap per node, per-request phases, HTTP on loopback)"
  build-bench/bench/bench_extender "$tmp/cluster" --requests 200 --reservations 1000
  ext_start() { # DIR PORT -> pid in $ext_pid, waits until ready
    build-bench/extender/numafit-extender --listen "127.0.0.1:$2" --topology-dir "$1" --log-level warn &
    ext_pid=$!
    for _ in $(seq 600); do curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "extender on port $2 never became ready" >&2; return 1
  }
  rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
  mkdir -p "$tmp/one"
  cp "$tmp/cluster/topo/worker-00000.json" "$tmp/one/"
  ext_start "$tmp/one" 19752; base=$(rss $ext_pid)
  kill $ext_pid; wait $ext_pid 2>/dev/null || true
  ext_start "$tmp/cluster/topo" 19751; pid=$ext_pid
  loaded=$(rss $pid)
  for _ in 1 2 3; do # builds every node's fit view (kept with the cached document)
    curl -fs -o /dev/null -H 'Content-Type: application/json' --data-binary "@$tmp/cluster/names.json" \
      http://127.0.0.1:19751/filter
  done
  views=$(rss $pid)
  echo "-- the numafit-extender binary (--topology-dir, 2 HTTP threads)"
  build-bench/bench/bench_extender "$tmp/cluster" --connect 19751 --requests 200
  for kind in names nodelist; do
    cat >"$tmp/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$tmp/cluster/$kind.json", "rb"))
wrk.body = f:read("*a")
f:close()
LUA
  done
  for verb in filter prioritize; do
    echo "-- wrk: /$verb with $nodes NodeNames (2 threads, 4 connections, 10 s)"
    wrk -t2 -c4 -d10s -s "$tmp/names.lua" "http://127.0.0.1:19751/$verb" | grep -E 'Requests/sec|Latency|Non-2xx'
  done
  mb=$(awk -v b="$(stat -c %s "$tmp/cluster/nodelist.json")" 'BEGIN{printf "%.1f", b/1048576}')
  for verb in filter prioritize; do
    echo "-- wrk: /$verb with a $nodes-node v1.NodeList ($mb MB per request; 2 threads, 2 connections, 10 s)"
    wrk -t2 -c2 -d10s -s "$tmp/nodelist.lua" "http://127.0.0.1:19751/$verb" | grep -E 'Requests/sec|Latency|Non-2xx' |
      awk -v mb="$mb" '{print} /Requests\/sec/{printf "  NodeList parsed: %.0f MB/s\n", $2*mb}'
  done
  after=$(rss $pid)
  pernode() { awk -v a="$1" -v b="$base" -v n="$nodes" 'BEGIN{printf "%.2f", (a-b)/n}'; }
  echo "extender RSS (KiB): one node $base; $nodes nodes loaded $loaded ($(pernode "$loaded")/node);" \
    "with fit views, after the NodeNames runs $views ($(pernode "$views")/node);" \
    "after the 13 MB NodeList runs $after (request buffers kept by malloc's per-thread arenas)"
  kill $pid; wait $pid 2>/dev/null || true
fi

if [ "$what" = burst ] || [ "$what" = all ]; then
  # bench/burst/README.md: real exporters + extender, fake kube-apiserver, emulated scheduler and
  # kubelets; TopologyAffinityErrors with and without /bind, placed vs capacity, latencies
  export NF_BUILD_DIR=build-bench NF_SOURCE_DIR=$PWD
  for mode in nobind bind; do
    echo "== burst: 24 nodes, 120 DPDK pods (room for 84), $mode"
    python3 tests/burst/burst_sim.py --nodes 24 --pods 120 --mode "$mode"
  done
  echo "== burst: the same, bind, extender SIGKILLed after 40 binds"
  python3 tests/burst/burst_sim.py --nodes 24 --pods 120 --mode bind --kill-extender-at 40
  if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -ge 400 ]; then
    for mode in nobind bind; do
      echo "== burst: 200 nodes, 1,000 pods (room for 700), $mode"
      python3 tests/burst/burst_sim.py --nodes 200 --pods 1000 --mode "$mode" --deadline 120
    done
  else
    echo "== burst: 200 nodes skipped: one exporter per node needs fs.inotify.max_user_instances >= 400"
  fi
fi
