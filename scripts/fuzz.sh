#!/usr/bin/env bash
# Long fuzzing with libFuzzer (clang): every target in tests/fuzz/, one after the other.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# SECONDS per target (default 60); TARGETs are names under tests/fuzz/corpus/ (default: all).
#
# Builds the targets with -fsanitize=fuzzer,address,undefined in build-fuzz/ (its own build
# directory, NF_FUZZ_CC picks the compiler: clang-14 when there, else clang), then runs each for
# SECONDS on one core (-jobs=1 in effect: the targets run one at a time) against its seed corpus
# (tests/fuzz/corpus/<name>/, read only) and the inputs earlier runs found
# (build-fuzz/fuzz-work/<name>/, kept between runs so coverage grows from where it was).
# Prints per target: executions, executions per second, coverage (cov: edges, ft: features),
# the corpus size, crashes; build-fuzz/fuzz-history.tsv keeps every run, and the last column
# adds up the executions of all runs per target (the issue asks for >= 10 M each).
#
# A crash (or leak, timeout, out-of-memory) is saved by libFuzzer in build-fuzz/fuzz-crashes/
# <name>/ and copied into tests/fuzz/corpus/<name>/ as regress-<kind>-<sha1>: from then on ctest
# (fuzz_<name>) replays it and fails until the bug is fixed. Exit status 1 when any target found
# one.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
case "$secs" in '' | *[!0-9]*)
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
  ;;
esac

# clang and its libFuzzer runtime (Debian 12: clang-14, libclang-rt-14-dev); installed when missing
# (not in scripts/install-deps.sh: only this script needs them)
if [ -z "${NF_FUZZ_CC:-}" ]; then
  missing=()
  for p in clang-14 libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "fuzz.sh: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi
cc=${NF_FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$cc" ]; then
  echo "scripts/fuzz.sh: needs clang with libFuzzer (apt-get install clang-14)" >&2
  exit 1
fi
build=build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DNUMAFIT_FUZZ=ON -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
    -DNUMAFIT_DPDK_PROBE=OFF >/dev/null
fi
cmake --build "$build" -j "${NF_FUZZ_JOBS:-2}" --target fuzzers >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for d in tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

history=$build/fuzz-history.tsv
[ -f "$history" ] || printf 'date\ttarget\tseconds\texecs\texec_per_s\tcov\tft\tcorpus\tcrashes\n' >"$history"

found=0
printf '%-22s %8s %12s %9s %7s %7s %7s %7s %14s\n' target seconds execs exec/s cov ft corpus crashes "execs(all runs)"
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  seed=tests/fuzz/corpus/$t
  if [ ! -x "$bin" ] || [ ! -d "$seed" ]; then
    echo "scripts/fuzz.sh: no target $t ($bin, $seed)" >&2
    exit 2
  fi
  work=$build/fuzz-work/$t
  crashes=$build/fuzz-crashes/$t
  mkdir -p "$work" "$crashes"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # this run's own log (two runs of one target at once must not read each other's stats); the
  # last run's is kept as <name>.log
  log=$build/fuzz-work/$t.log.$$
  findings() { find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) "$@"; }
  before=$(findings | wc -l)
  touch "$work.start.$$"
  # -timeout: one input running 10 s is a finding; -rss_limit_mb: so is 2 GB of memory
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$work" "$seed" >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(find "$work" -type f | wc -l)
  new=$(($(findings | wc -l) - before))
  for f in $(findings -newer "$work.start.$$"); do
    kind=$(basename "$f" | cut -d- -f1)
    dest=$seed/regress-$kind-$(sha1sum "$f" | cut -c1-16)
    [ -f "$dest" ] || cp "$f" "$dest"
  done
  rm -f "$work.start.$$"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$secs" "${execs:-0}" \
    "${rate:-0}" "${cov:-?}" "${ft:-?}" "$corpus" "$new" >>"$history"
  total=$(awk -F'\t' -v t="$t" '$2 == t { s += $4 } END { print s + 0 }' "$history")
  printf '%-22s %8s %12s %9s %7s %7s %7s %7s %14s\n' "$t" "$secs" "${execs:-0}" "${rate:-0}" \
    "${cov:-?}" "${ft:-?}" "$corpus" "$new" "$total"
  mv -f "$log" "$build/fuzz-work/$t.log"
  if [ "$new" -gt 0 ]; then
    found=1
    echo "  $t: $new finding(s) in $crashes/ (log $build/fuzz-work/$t.log); copied to" \
      "$seed/regress-*: ctest -R fuzz_$t replays them" >&2
  fi
done
exit $found
