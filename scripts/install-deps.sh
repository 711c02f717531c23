#!/usr/bin/env bash
# Installs every build and test dependency of numafit on Debian 12: the Debian packages with
# apt-get, and the npm modules the deploy tests validate manifests with (tests/deploy/package.json)
# into a cache outside any build dir, so ctest never downloads:
#   $NUMAFIT_NPM_DIR, else ${XDG_CACHE_HOME:-~/.cache}/numafit/npm-deploy
# (tests/deploy/npm_modules.cjs finds them by the same rule; without them those tests skip).
# Does nothing (and needs no network) when everything is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config clang-format
  libmicrohttpd-dev libjansson-dev libhwloc-dev libnuma-dev libdpdk-dev libcmocka-dev
  libyaml-dev libcurl4-openssl-dev libxxhash-dev libgnutls28-dev libseccomp-dev
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev python3-grpcio python3-grpc-tools
  curl bzip2 python3 procps iproute2 openssl help2man systemd
  python3-xxhash python3-yaml
  prometheus wrk hyperfine
  chromium nodejs
)
# python3-xxhash + python3-yaml: the NodeResourceTopology tests (tests/exporter/nrtcheck.py) compute
# the pod-set fingerprint independently and read the CRD.
# kubectl is used when present (kustomize rendering in tests/deploy); without it those checks
# report skipped.

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Debian's nodejs ships npm separately (NodeSource's includes it): the deploy tests need npm.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's prometheus package starts a service where systemd runs; the tests start their own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

install_npm_modules() {
  local dir=${NUMAFIT_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/numafit/npm-deploy}
  local want=tests/deploy/package.json ok=1 m
  cmp -s "$want" "$dir/package.json" || ok=0
  for m in $(node -e 'console.log(Object.keys(require(process.argv[1]).dependencies).join(" "))' "$PWD/$want"); do
    [ -f "$dir/node_modules/$m/package.json" ] || ok=0
  done
  [ $ok -eq 1 ] && return 0
  echo "install-deps: npm modules of $want into $dir" >&2
  mkdir -p "$dir"
  cp "$want" "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --loglevel=error
}

install_packages
install_npm_modules
