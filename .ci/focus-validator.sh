#!/usr/bin/env bash
# The FinOps Foundation's focus-validator 1.0.0 checks `oversight simulate --focus-version 1.0` output, one file per
# cloud. It always exits 0, so its last line and its "<rule> failed:" lines are read instead; a rule outside
# .ci/focus-validator-allowlist.txt, or a missing last line (a crash), fails this step.
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
venv="${OVERSIGHT_VALIDATOR_VENV:-$HOME/.cache/oversight-validator-venv}"
if ! "$venv/bin/python" -c "import focus_validator" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  # Newer pyarrow needs NumPy 2, which the validator's stack lacks; newer multimethod breaks its imports.
  "$venv/bin/pip" install -q "focus-validator==1.0.0" "multimethod<1.11" "pyarrow<20" >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" simulate --accounts 50 --days 20 --seed 5 --provider mixed --focus-version 1.0 --format csv --out "$work/s" >/dev/null
# A rule applies to every cloud, or with a "cloud:" prefix to that cloud's files only (where the real provider's form
# breaks the spec and the simulator writes that form).
rules_for() { grep -v '^#' "$here/focus-validator-allowlist.txt" | cut -f1 | sed -n "/^[A-Za-z0-9_]*$/p; s/^$1://p"; }
# It finds its currency list relative to the working directory: run it from its own site-packages.
site="$("$venv/bin/python" -c 'import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))')"
fail=0
for cloud in azure aws gcp; do
  file="$(find "$work/s/exports/$cloud" -name '*.csv' | sort | head -1)"
  out="$(cd "$site" && "$venv/bin/focus-validator" --data-file "$file" --validate-version 1.0 2>&1)" || true
  last="$(echo "$out" | tail -1)"
  case "$last" in
    "Validation succeeded."|"Validation failed!") ;;
    *) echo "FAIL $cloud: the validator did not finish: $last"; fail=$((fail+1)); continue ;;
  esac
  rules="$(echo "$out" | sed -n 's/^\([A-Za-z0-9_]*\) failed:$/\1/p')"
  bad="$(comm -23 <(echo "$rules" | sort -u | sed '/^$/d') <(rules_for "$cloud" | sort -u))"
  if [ -n "$bad" ]; then
    echo "FAIL $cloud ($file): rules outside the allowlist:"; echo "$bad" | sed 's/^/  /'; echo "$out" | tail -40
    fail=$((fail+1))
  else
    echo "focus-validator $cloud: $(echo "$rules" | sed '/^$/d' | wc -l) allowlisted rule(s) failed, no other: $(basename "$file")"
  fi
done
[ "$fail" -eq 0 ]
