#!/bin/sh
# build.sh SRC BUILD TARGET... - the build step of the container images (Containerfile.*),
# also run as is by tests/deploy/test_containerfiles.py so that it is checked offline.
# Release-like build without tests or sanitizers, linked --as-needed so that each binary
# only NEEDs the libraries it uses (the runtime stage installs exactly their packages);
# debug info is stripped. Extra CMake options come from $NUMAFIT_CMAKE_ARGS.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 SRC BUILD TARGET..." >&2; exit 2; }
src=$1
build=$2
shift 2
# shellcheck disable=SC2086 # NUMAFIT_CMAKE_ARGS is a list of options
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMAFIT_TESTS=OFF \
  -DNUMAFIT_SANITIZE=OFF -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed ${NUMAFIT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "$@"
for t in "$@"; do
  find "$build" -type f -name "$t" -perm -u+x -exec strip --strip-debug {} +
done
