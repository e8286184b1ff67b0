#!/usr/bin/env bash
# focus-data-toolkit output (FOCUS 1.2 and 1.3, Azure, AWS and Google) must ingest with no row quarantined.
set -euo pipefail
bin="$1"
venv="$(bash "$(dirname "$0")/venv.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0; n=0
for provider in azure aws gcp; do
  for version in 1.2 1.3; do
    rows=3000
    "$venv/bin/focus-toolkit" generate --provider "$provider" --focus-version "$version" --rows "$rows" --seed 11 --out "$work/$provider-$version" >/dev/null
    # The 1.3 contract-commitment file is not cost-and-usage data; only the cost-and-usage file is FOCUS usage.
    file="$(ls "$work/$provider-$version"/focus_*_cost_and_usage_*.csv)"
    out="$("$bin" ingest --strict --json --lake "$work/lake-$provider-$version" "$file")" || { echo "FAIL $file: exit $?"; fail=$((fail+1)); continue; }
    kept="$(echo "$out" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["rows_kept"], v["rows_quarantined"])')"
    n=$((n+1))
    if [ "$kept" != "$rows 0" ]; then echo "FAIL $file: kept/quarantined = $kept, want $rows 0"; fail=$((fail+1)); fi
  done
done
echo "focus-data-toolkit: $((n-fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
