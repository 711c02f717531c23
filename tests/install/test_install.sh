#!/usr/bin/env bash
# install_tree: `cmake --install` of this build tree, staged with DESTDIR under another prefix,
# as a packager runs it: the four programs run from there, the systemd unit is the one in
# deploy/systemd with ExecStart naming the installed binary, and each program has a man page
# made from its --help (skipped, exit 77, when help2man was not found at configure time).
set -euo pipefail
build=${NF_BUILD_DIR:?} src=${NF_SOURCE_DIR:?}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
fail() {
  echo "install_tree: $*" >&2
  exit 1
}

DESTDIR=$stage cmake --install "$build" --prefix /opt/numafit >"$stage/log" 2>&1 ||
  fail "cmake --install failed: $(cat "$stage/log")"
root=$stage/opt/numafit
progs=(numafit-exporter numafit-extender numafit-report numafit-pod)
for p in "${progs[@]}"; do
  [ -x "$root/bin/$p" ] || fail "$root/bin/$p not installed"
  v=$("$root/bin/$p" --version)
  [[ $v == "$p "[0-9]* ]] || fail "$p --version printed '$v'"
done

unit=$root/lib/systemd/system/numafit-exporter.service
[ -f "$unit" ] || fail "no systemd unit at $unit"
grep -qx 'ExecStart=/opt/numafit/bin/numafit-exporter' "$unit" ||
  fail "unit's ExecStart: $(grep ExecStart "$unit")"
diff <(grep -v '^ExecStart=' "$unit") <(grep -v '^ExecStart=' "$src/deploy/systemd/numafit-exporter.service") >/dev/null ||
  fail "installed unit differs from deploy/systemd beyond ExecStart"

if ! grep -q '^HELP2MAN:FILEPATH=/' "$build/CMakeCache.txt"; then
  echo "install_tree: help2man not found at configure time: man pages not checked (skipped)"
  exit 77
fi
for p in "${progs[@]}"; do
  man=$root/share/man/man1/$p.1
  [ -s "$man" ] || fail "no man page $man"
  grep -q "^\.TH ${p^^} \"1\"" "$man" || fail "$man: no .TH header"
  grep -q "^usage: ${p//-/\\\\-}" "$man" || fail "$man: not made from $p --help"
done
[ "$(grep -c '^\.TP' "$root/share/man/man1/numafit-extender.1")" -gt 10 ] ||
  fail "numafit-extender.1 lists fewer than 10 options"
echo "install_tree: ${#progs[@]} programs, the unit and ${#progs[@]} man pages under $root"
