#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (not part of the test suite).
#   scripts/bench.sh [exporter|extender|all]
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
  echo "exporter RSS: $(awk '/VmRSS/{print $2, $3}' /proc/$pid/status) (peak $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status))"
  t0=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "exporter idle CPU over 10 s: $(( (t1 - t0) * 100 / $(getconf CLK_TCK) / 10 )).$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) / 10 % 10 )) % of one core"
  kill $pid; wait $pid 2>/dev/null || true
fi
