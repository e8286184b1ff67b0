#!/usr/bin/env bash
# tlog-scales (PyPI) reads a log oversight wrote: signature, root, every tile, proofs. 70,000 entries make partial
# tiles at three levels.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(bash .ci/venv.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
vkey="$(cargo run -q --locked -p tlog --example write_log -- "$work/log" 70000)"
"$venv/bin/python" .ci/tlog_scales_check.py "$work/log" "$vkey"
