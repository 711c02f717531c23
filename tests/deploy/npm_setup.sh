#!/bin/sh
# npm_setup.sh DIR - install the schema validator (kubernetes-models) and js-yaml from the npm
# registry into DIR (under the build dir), once: later runs reuse it while package.json is
# unchanged. ctest fixture "deploy_npm" of tests/deploy/.
set -eu
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$dir/package.json" ] && cmp -s "$here/package.json" "$dir/package.json" &&
  [ -f "$dir/node_modules/kubernetes-models/package.json" ] &&
  [ -f "$dir/node_modules/js-yaml/package.json" ]; then
  echo "npm_setup: kubernetes-models and js-yaml already in $dir"
  exit 0
fi
command -v npm >/dev/null || { echo "npm_setup: npm not found (install nodejs + npm)" >&2; exit 1; }
mkdir -p "$dir"
cp "$here/package.json" "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --loglevel=error
echo "npm_setup: installed into $dir"
