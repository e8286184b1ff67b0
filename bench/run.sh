#!/usr/bin/env bash
# One command for the ingest benchmark: builds oversight (release), sets up DuckDB, runs both on the same files.
# Usage: bash bench/run.sh [ROWS ...]   (default: 1000000 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
cargo build --release --locked --bin oversight >&2
venv="$(bash .ci/venv.sh)"
exec "$venv/bin/python" bench/ingest.py "$CARGO_TARGET_DIR/release/oversight" "$venv/bin/python" "$@"
