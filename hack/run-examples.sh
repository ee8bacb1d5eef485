#!/usr/bin/env bash
# The README's first command (make run): lints the bundled examples, no cluster needed.
# Each example file is one unit. The chapter's manifests as printed (examples/seed/broken) and a
# shared Gateway API setup with its usual mistakes (examples/gateway/broken) show their findings;
# their corrected versions (examples/seed/fixed, examples/gateway/fixed) must lint clean.
set -uo pipefail
BIN=${1:-bin/kubectl-svc_doctor}
cd "$(dirname "$0")/.."
status=0
for f in examples/seed/broken/*.yaml examples/gateway/broken/*.yaml; do
  printf '\n### %s\n' "$f"
  "$BIN" lint -f "$f" --fail-on none
done
printf '\n### corrected versions: examples/seed/fixed and examples/gateway/fixed (must be clean)\n'
for f in examples/seed/fixed/*.yaml examples/gateway/fixed/*.yaml; do
  if out=$("$BIN" lint -f "$f" --fail-on info 2>&1); then
    printf 'clean  %s\n' "$f"
  else
    printf 'FINDINGS in %s\n%s\n' "$f" "$out"; status=1
  fi
done
exit $status
