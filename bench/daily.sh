#!/usr/bin/env bash
# One command for the daily-run benchmark: builds oversight (release), then a year in the lake and one more day,
# the day's `oversight run` against a full rebuild (`signals` + `scan`). Usage: bash bench/daily.sh [ACCOUNTS]
# (default 10000; the population and the year's lake are cached after one run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$root/Cargo.toml" --release --locked --bin oversight >&2
exec python3 "$root/bench/daily.py" "$target/release/oversight" "$@"
