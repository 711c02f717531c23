#!/usr/bin/env bash
# Runs numafit on this machine's real /sys with the embedded defaults (called by `dev.sh run`).
set -euo pipefail
build=${1:-build}
"$build/exporter/numafit-exporter" --once
