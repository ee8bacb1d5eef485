#!/usr/bin/env bash
# The README's first command (make run): lints the bundled examples, no cluster needed.
# Each example file is one unit. The chapter's manifests as printed (examples/seed/broken) show
# their findings; their corrected versions (examples/seed/fixed) must lint clean.
set -uo pipefail
BIN=${1:-bin/kubectl-svc_doctor}
cd "$(dirname "$0")/.."
status=0
for f in examples/seed/broken/*.yaml; do
  printf '\n### %s\n' "$f"
  "$BIN" lint -f "$f" --fail-on none
done
printf '\n### corrected versions: examples/seed/fixed (must be clean)\n'
for f in examples/seed/fixed/*.yaml; do
  if out=$("$BIN" lint -f "$f" --fail-on info 2>&1); then
    printf 'clean  %s\n' "$f"
  else
    printf 'FINDINGS in %s\n%s\n' "$f" "$out"; status=1
  fi
done
exit $status
