#!/usr/bin/env bash
# Runs the benchmarks and prints their figures (not part of the test suite).
#   scripts/bench.sh [exporter|podres|extender|report|burst|all]
#   podres: the exporter fed by a podresources peer listing 500 pods / 2,000 containers
#   scripts/bench.sh vs-go    numafit-extender against the Go baseline (bench/go-extender), side by
#                             side; on demand only (not in "all"); installs golang-go when go is missing.
#                             NF_BENCH_NODES (5000), NF_BENCH_ROUNDS (5) x NF_BENCH_SECS (3) per cell
#   scripts/bench.sh load     both servers under wrk with 256 connections (HTTP and HTTPS), 1,000
#                             held long-polls, SIGKILLs and torn inputs (bench/bench_load.py; on
#                             demand only); NF_LOAD_SECS (60) per wrk run
#   scripts/bench.sh hammer   /filter p50/p99 alone and while 8 clients loop on
#                             GET /v1/report?shape=cpu=1&addPods=1000 over 5,000 nodes, with the
#                             reports on admin workers (default) and on the HTTP threads
#                             (--admin-workers 0, as before), side by side; on demand only.
#                             NF_BENCH_NODES (5000), NF_HAMMER_CLIENTS (8), NF_HAMMER_REQUESTS (500)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNUMAFIT_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target numafit-exporter numafit-extender bench >/dev/null
what=${1:-all}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

wait_ready() { # NAME PORT PID: until GET /readyz answers 200 (fails when PID exits first)
  for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  echo "$1 on port $2 never became ready" >&2
  exit 1
}

write_wrk_scripts() { # $tmp/{names,nodelist}.lua: POST $tmp/cluster/{names,nodelist}.json
  for kind in names nodelist; do
    cat >"$tmp/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$tmp/cluster/$kind.json", "rb"))
wrk.body = f:read("*a")
f:close()
LUA
  done
}

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

if [ "$what" = podres ] || [ "$what" = all ]; then
  echo "== exporter + podresources: List of 500 pods / 2,000 containers, asked every 100 ms"
  python3 bench/bench_podresources.py build-bench/exporter/numafit-exporter 500 4 100
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
    wait_ready numafit-extender "$2" $ext_pid
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
  write_wrk_scripts
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

if [ "$what" = load ]; then
  NF_BUILD_DIR=build-bench NF_SOURCE_DIR=$PWD python3 bench/bench_load.py all --secs "${NF_LOAD_SECS:-60}"
fi

if [ "$what" = vs-go ]; then
  # The same cluster, pod and requests against numafit-extender and bench/go-extender (net/http +
  # encoding/json, the same fit): each server is measured alone, the other one idle.
  nodes=${NF_BENCH_NODES:-5000}
  secs=${NF_BENCH_SECS:-3}
  if ! command -v go >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "vs-go: installing golang-go" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go >/dev/null
  fi
  # built into the temp dir with its own cache: stdlib only, never the network
  (cd bench/go-extender && GOCACHE="$tmp/gocache" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local \
    go build -o "$tmp/goextender" .)
  echo "== vs-go: $nodes nodes x 8 NUMA nodes, 32 VFs each; $(go version | awk '{print $3}'), GOMAXPROCS default, $(nproc) cores"
  python3 bench/gen_topologies.py "$tmp/cluster" "$nodes" 32
  # stderr to files, shown after the table (libmicrohttpd logs every upload wrk cuts off at the end)
  build-bench/extender/numafit-extender --listen 127.0.0.1:19753 --topology-dir "$tmp/cluster/topo" \
    --log-level warn 2>"$tmp/numafit-extender.log" &
  nf_pid=$!
  "$tmp/goextender" -listen 127.0.0.1:19754 -topology-dir "$tmp/cluster/topo" 2>"$tmp/goextender.log" &
  go_pid=$!
  wait_ready numafit-extender 19753 $nf_pid
  wait_ready goextender 19754 $go_pid
  write_wrk_scripts
  post() { # PORT VERB KIND OUT
    curl -fsS -o "$4" -H 'Content-Type: application/json' --data-binary "@$tmp/cluster/$3.json" \
      "http://127.0.0.1:$1/$2"
  }
  # warm-up (numafit builds its fit views on first use, Go grows its heap), then the answers
  for port in 19753 19754; do
    for _ in 1 2 3; do post $port filter names /dev/null; post $port prioritize names /dev/null; done
    post $port filter nodelist /dev/null
    wrk -t1 -c1 -d2s -s "$tmp/names.lua" "http://127.0.0.1:$port/filter" >/dev/null
  done
  post 19753 filter names "$tmp/nf-filter.json"; post 19754 filter names "$tmp/go-filter.json"
  post 19753 filter nodelist "$tmp/nf-filter-list.json"; post 19754 filter nodelist "$tmp/go-filter-list.json"
  post 19753 prioritize names "$tmp/nf-prio.json"; post 19754 prioritize names "$tmp/go-prio.json"
  python3 - "$tmp" <<'PY' || { echo "vs-go: FAIL: numafit and the Go extender disagree on the passing nodes" >&2; exit 1; }
import json, sys
d = sys.argv[1]
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
nf, go = load("nf-filter"), load("go-filter")
if set(nf["NodeNames"] or []) != set(go["NodeNames"] or []):
    a, b = set(nf["NodeNames"] or []), set(go["NodeNames"] or [])
    sys.exit("NodeNames differ: %d pass numafit only (e.g. %s), %d pass Go only (e.g. %s)"
             % (len(a - b), sorted(a - b)[:3], len(b - a), sorted(b - a)[:3]))
items = lambda r: {n["metadata"]["name"] for n in (r["Nodes"] or {}).get("items") or []}
nfl, gol = load("nf-filter-list"), load("go-filter-list")
if items(nfl) != items(gol) or items(nfl) != set(nf["NodeNames"]):
    sys.exit("NodeList mode: the passing Nodes.items differ")
same = lambda k: "same" if set(nf[k]) == set(go[k]) else "DIFFERENT"
sp = {h["Host"]: h["Score"] for h in load("nf-prio")}
eq = sum(sp.get(h["Host"]) == h["Score"] for h in load("go-prio"))
print("same passing nodes: %d of %d in NodeNames and NodeList mode; FailedNodes %s, "
      "FailedAndUnresolvableNodes %s; /prioritize scores equal on %d of %d nodes"
      % (len(nf["NodeNames"]), len(sp), same("FailedNodes"), same("FailedAndUnresolvableNodes"), eq, len(sp)))
PY
  wrk_stats() { # URL LUA THREADS CONNS -> "req/s p50-ms p99-ms"
    local out
    out=$(wrk --latency --timeout 10s -t"$3" -c"$4" -d"${secs}s" -s "$2" "$1")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
      echo "$out" >&2
      echo "vs-go: FAIL: wrk saw errors against $1" >&2
      return 1
    fi
    awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
         /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)} /^Requests\/sec/ {rps = $2}
         END {printf "%s %.2f %.2f\n", rps, p50, p99}' <<<"$out"
  }
  rounds=${NF_BENCH_ROUNDS:-5}
  echo "-- wrk --latency; per cell ${rounds} rounds of ${secs} s each, numafit and Go taking turns (one server" \
    "loaded at a time, so a noisy neighbour hits both); medians over the rounds; latencies in ms;" \
    "MB/s in = request body x req/s"
  fmt='%-29s %5s | %9s %8s %8s | %9s %8s %8s | %7s | %8s %8s\n'
  # shellcheck disable=SC2059
  printf "$fmt" endpoint conns "nf req/s" "nf p50" "nf p99" "Go req/s" "Go p50" "Go p99" "nf/Go" "nf MB/s" "Go MB/s"
  for cell in "filter names NodeNames" "prioritize names NodeNames" "filter nodelist NodeList"; do
    read -r verb kind mode <<<"$cell"
    label="/$verb $mode ($nodes)"
    bytes=$(stat -c %s "$tmp/cluster/$kind.json")
    for tc in 1:1 2:4; do
      t=${tc%:*} c=${tc#*:}
      : >"$tmp/rounds"
      for _ in $(seq "$rounds"); do
        nf=$(wrk_stats "http://127.0.0.1:19753/$verb" "$tmp/$kind.lua" "$t" "$c") || exit 1
        go=$(wrk_stats "http://127.0.0.1:19754/$verb" "$tmp/$kind.lua" "$t" "$c") || exit 1
        echo "$nf $go" >>"$tmp/rounds"
      done
      # the median of each column (and of the per-round ratios)
      awk -v fmt="$fmt" -v label="$label" -v c="$c" -v b="$bytes" '
        function med(col,   n, i, j, v, t) {
          n = 0
          for (i = 1; i <= NR; i++) v[++n] = (col == 7 ? (x[i, 4] > 0 ? x[i, 1] / x[i, 4] : 0) : x[i, col])
          for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
          return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        { for (k = 1; k <= 6; k++) x[NR, k] = $k }
        END {
          printf fmt, label, c, sprintf("%.1f", med(1)), sprintf("%.2f", med(2)), sprintf("%.2f", med(3)),
            sprintf("%.1f", med(4)), sprintf("%.2f", med(5)), sprintf("%.2f", med(6)),
            sprintf("%.2fx", med(7)), sprintf("%.1f", med(1) * b / 1e6), sprintf("%.1f", med(4) * b / 1e6)
        }' "$tmp/rounds"
    done
  done
  echo "RSS after the runs: numafit-extender $(awk '/VmRSS/{printf "%.0f MiB", $2/1024}' /proc/$nf_pid/status)," \
    "goextender $(awk '/VmRSS/{printf "%.0f MiB", $2/1024}' /proc/$go_pid/status)" \
    "(peaks $(awk '/VmHWM/{printf "%.0f", $2/1024}' /proc/$nf_pid/status) and $(awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$go_pid/status))"
  kill $nf_pid $go_pid; wait $nf_pid $go_pid 2>/dev/null || true
  # connections wrk drops when a cell ends: libmicrohttpd logs the cut upload, Go the failed write
  cutoff='closed by remote side with incomplete request|broken pipe|connection reset by peer'
  echo "goextender $(grep -o 'loaded .*' "$tmp/goextender.log" | head -1); requests cut off by wrk" \
    "at the end of a cell: numafit-extender $(grep -cE "$cutoff" "$tmp/numafit-extender.log" || true)," \
    "goextender $(grep -cE "$cutoff" "$tmp/goextender.log" || true)"
  for name in numafit-extender goextender; do
    other=$(grep -vE -e "$cutoff" -e 'loaded .* node topologies' "$tmp/$name.log" || true)
    [ -z "$other" ] || printf -- '-- %s stderr:\n%s\n' "$name" "$(head -20 <<<"$other")"
  done
fi

if [ "$what" = hammer ]; then
  # issue 13: the scheduler's verbs must not starve behind reports (target: /filter p99 < 50 ms)
  nodes=${NF_BENCH_NODES:-5000}
  python3 bench/gen_topologies.py "$tmp/cluster" "$nodes" 32 >/dev/null
  echo "== /filter while /v1/report is hammered: $nodes nodes, ${NF_HAMMER_CLIENTS:-8} report" \
    "clients, $(nproc) CPUs, 2 HTTP threads"
  for workers in 1 0; do
    build-bench/extender/numafit-extender --listen 127.0.0.1:19755 --topology-dir "$tmp/cluster/topo" \
      --threads 2 --admin-workers "$workers" --log-level warn &
    pid=$!
    wait_ready numafit-extender 19755 $pid
    if [ "$workers" = 1 ]; then
      echo "-- reports on one admin worker of their own (nice 10; the default)"
    else
      echo "-- reports on the HTTP threads with /filter (--admin-workers 0, as before)"
    fi
    build-bench/bench/bench_extender "$tmp/cluster" --connect 19755 \
      --requests "${NF_HAMMER_REQUESTS:-500}" --hammer "${NF_HAMMER_CLIENTS:-8}"
    kill $pid
    wait $pid 2>/dev/null || true
  done
fi
