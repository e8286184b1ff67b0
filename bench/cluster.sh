#!/usr/bin/env bash
# One command for the Ballista scaling benchmark: builds oversight (release), then scans the same lake on the local
# engine, on 1 executor and on 2. Usage: bash bench/cluster.sh [ACCOUNTS]   (default 2000; the population is cached)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}"
CARGO_TARGET_DIR="$target" cargo build --manifest-path "$root/Cargo.toml" --release --locked --bin oversight >&2
exec python3 "$root/bench/cluster.py" "$target/release/oversight" "$@"
