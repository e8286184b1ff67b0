#!/usr/bin/env bash
# Makes (once) the venv of the enforcement-document checkers, then checks the documents that
# `cargo run -p enforce --example documents` writes:
#   - every AWS service control policy is linted by PyPI parliament (analyze_policy_string; it needs setuptools<81);
#   - every Google Cloud org policy and services.disable call is checked against the Org Policy v2 and Service Usage
#     v1 discovery documents shipped in PyPI google-api-python-client, with PyPI jsonschema.
# The same venv serves `cargo test -p enforce` (crates/enforce/tests/providers.rs), which fails without it: run this
# script before the workspace tests.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${OVERSIGHT_PARLIAMENT_VENV:-$HOME/.cache/oversight-venv-parliament}"
if ! "$venv/bin/python" -c "import parliament, jsonschema, googleapiclient" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "parliament==1.6.4" "setuptools<81" "jsonschema==4.26.0" \
    "google-api-python-client==2.202.0" >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo run -q --locked -p enforce --example documents -- "$work/docs" >/dev/null
shopt -s nullglob
scps=("$work"/docs/*.aws.scp.json)
gcp=("$work"/docs/*.gcp.*.json)
if [ "${#scps[@]}" -eq 0 ] || [ "${#gcp[@]}" -eq 0 ]; then
  echo "FAIL parliament.sh: the example wrote ${#scps[@]} SCPs and ${#gcp[@]} Google Cloud documents"; exit 1
fi
"$venv/bin/python" crates/enforce/tests/parliament.py "${scps[@]}"
"$venv/bin/python" crates/enforce/tests/gcp_schema.py "${gcp[@]}"
echo "parliament.sh: ${#scps[@]} SCPs linted, ${#gcp[@]} Google Cloud documents checked, no findings"
