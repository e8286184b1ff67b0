#!/usr/bin/env bash
# One command for the scan benchmark: builds oversight (release), sets up DuckDB, runs the policy pack in both on
# the same series. Usage: bash bench/scan.sh [ACCOUNTS]   (default 10000; the population is cached after one run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$root/Cargo.toml" --release --locked --bin oversight >&2
exec "$(bash "$root/.ci/venv.sh")/bin/python" "$root/bench/scan.py" "$target/release/oversight" "$@"
