#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (not part of the test suite).
#   scripts/bench.sh [exporter|extender|report|all]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNUMAFIT_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target numafit-exporter bench >/dev/null
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
