#!/usr/bin/env bash
# The many-files benchmark: builds oversight (release), sets up DuckDB, ingests the same tree of small CSV.gz files
# in the four providers' layouts with both. Usage: bash bench/many_files.sh [FILES] [ROWS_PER_FILE]
# (default: 100000 files of 48 rows).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
cargo build --release --locked --bin oversight >&2
venv="$(bash .ci/venv.sh)"
exec "$venv/bin/python" bench/many_files.py "$CARGO_TARGET_DIR/release/oversight" "$venv/bin/python" "$@"
