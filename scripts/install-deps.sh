#!/usr/bin/env bash
# Installs every build and test dependency of numafit on Debian 12 with apt-get.
# Does nothing (and needs no network) when everything is already present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  libmicrohttpd-dev libjansson-dev libhwloc-dev libnuma-dev libdpdk-dev libcmocka-dev
  libyaml-dev libcurl4-openssl-dev libxxhash-dev libgnutls28-dev libseccomp-dev
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev python3-grpcio python3-grpc-tools
  curl bzip2 python3 procps iproute2 openssl help2man
  prometheus wrk hyperfine
  chromium nodejs
)
# kubectl is used when present (kustomize rendering in tests/deploy) and skipped otherwise.

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian's nodejs ships npm separately (NodeSource's includes it): the deploy tests need npm.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's prometheus package starts a service where systemd runs; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
