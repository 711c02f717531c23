#!/usr/bin/env bash
# numafit developer entry point.
#   scripts/dev.sh run    install deps, build, run exporter + extender on this machine (quickstart.sh)
#   scripts/dev.sh test   install deps, build with ASan+UBSan, run the whole test suite (ctest)
#   scripts/dev.sh tsan [ctest args]  the same suite built with ThreadSanitizer (build-tsan/);
#                         CI runs the tests labelled threads: scripts/dev.sh tsan -L threads
#   scripts/dev.sh build  install deps, build a release tree in build/
#   scripts/dev.sh release  install deps, build the packagers' mode (-DCMAKE_BUILD_TYPE=Release)
#                         in build-release/ with warnings as errors (what CI also checks)
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=$(nproc 2>/dev/null || echo 2)

configure_build() { # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

cmd=${1:-}
case "$cmd" in
run)
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMAFIT_WERROR=ON >/dev/null
  cmake --build build -j "$JOBS" --target numafit-exporter numafit-extender numafit-report
  shift
  exec scripts/quickstart.sh build "$@"
  ;;
test)
  scripts/install-deps.sh
  configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DNUMAFIT_SANITIZE=ON -DNUMAFIT_WERROR=ON
  cd build-asan
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$JOBS"
  ;;
tsan)
  # the threaded code under ThreadSanitizer; the DPDK probe's end-to-end test is left out (EAL
  # under TSan runs past the probe's timeouts)
  shift
  scripts/install-deps.sh
  configure_build build-tsan -DCMAKE_BUILD_TYPE=Debug -DNUMAFIT_TSAN=ON -DNUMAFIT_WERROR=ON
  cd build-tsan
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../tests/tsan.supp \
    ctest --output-on-failure -j "$JOBS" -E '^e2e_probe$' "$@"
  ;;
build)
  scripts/install-deps.sh
  configure_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMAFIT_WERROR=ON
  ;;
release)
  # -O2/-O3 turn on GCC warnings the Debug builds never see (format-truncation, dangling-pointer)
  scripts/install-deps.sh
  configure_build build-release -DCMAKE_BUILD_TYPE=Release -DNUMAFIT_WERROR=ON
  ;;
*)
  echo "usage: scripts/dev.sh run|test|tsan|build|release" >&2
  exit 2
  ;;
esac
