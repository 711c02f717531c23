#!/usr/bin/env bash
# Every C source and header is laid out by clang-format (.clang-format at the repository root).
set -euo pipefail
cd "${NF_SOURCE_DIR:?}"
if ! command -v clang-format >/dev/null; then
  echo "SKIP: clang-format is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f (run: clang-format -i $f)"
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
total=$(git ls-files '*.c' '*.h' | wc -l)
echo "$((total - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
