#!/usr/bin/env bash
# Creates (once) the Python virtualenv of the independent checkers and peers, under the cache, and prints its path.
set -euo pipefail
venv="${OVERSIGHT_VENV:-$HOME/.cache/oversight-venv}"
if [ ! -x "$venv/bin/focus-toolkit" ] || ! "$venv/bin/python" -c "import duckdb, tlog_scales" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "focus-data-toolkit==0.14.1" "duckdb" "tlog-scales==0.0.3" >&2
fi
echo "$venv"
