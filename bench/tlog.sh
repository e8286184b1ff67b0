#!/usr/bin/env bash
# Log benchmark: durable appends/s by batch size and proof latency (oversight), tlog-scales' writer in the same run,
# and the published peer design figures. Usage: bash bench/tlog.sh [ENTRIES] (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
n="${1:-100000}"
venv="$(bash .ci/venv.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build -q --release --locked -p tlog --example bench_append
"$CARGO_TARGET_DIR/release/examples/bench_append" "$work/ours" "$n" | tee "$work/ours.jsonl"
"$venv/bin/python" bench/tlog_peer.py "$work/peer" "$n" | tee "$work/peer.jsonl"
python3 - "$work/ours.jsonl" "$work/peer.jsonl" <<'PY'
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
peer = json.loads(open(sys.argv[2]).read())
best = next(o for o in ours if o.get("batch") == 1024 and "per_second" in o)
print(f"batch 1024: oversight {best['per_second']:,}/s durable vs tlog-scales {peer['per_second']:,}/s without fsync: ratio {best['per_second'] / peer['per_second']:.2f}")
print("published design figures (not measured here): Sunlight ~3,750 submissions/s, Tessera ~10,000/s")
PY
