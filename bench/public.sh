#!/usr/bin/env bash
# Public verification benchmark: `oversight verify --full` on a log of ENTRIES entries against an independent
# verifier (tlog_tiles + signed_note) in the same run, and `oversight monitor --follow` keeping up with 10,000
# appends a second for 60 s. Usage: bash bench/public.sh [ENTRIES]   (default 1000000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
cargo build --manifest-path "$root/Cargo.toml" --release --locked -p oversight-cli --bin oversight -p tlog --example bench_public >&2
exec python3 "$root/bench/public.py" "$CARGO_TARGET_DIR/release/oversight" "$CARGO_TARGET_DIR/release/examples/bench_public" "${1:-1000000}"
