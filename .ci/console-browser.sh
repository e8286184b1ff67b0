#!/usr/bin/env bash
# What the console's browser test (crates/console/tests/browser.rs) needs: Node, Debian's Chromium, and the npm
# packages playwright-core (drives the browser, downloads none of its own) and axe-core (the accessibility check),
# installed once into a cache folder outside the clone. Progress goes to stderr; stdout is one line for the caller to
# eval, exporting the folder the test reads (assign it first, so that a failure here stops a `set -e` caller):
#   npm_env="$(bash .ci/console-browser.sh)"; eval "$npm_env"
set -euo pipefail

dir="${OVERSIGHT_NPM:-$HOME/.cache/oversight-npm}"
# Pinned, so every machine runs the same checks; bump both here.
playwright="1.65.2"
axe="4.14.1"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; } >&2
fi
if ! command -v chromium >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } >&2
fi

installed() {
    node -e 'const [dir, name, want] = process.argv.slice(1); const v = require(dir + "/node_modules/" + name + "/package.json").version; process.exit(v === want ? 0 : 1)' \
        "$dir" "$1" "$2" 2>/dev/null
}
if ! installed playwright-core "$playwright" || ! installed axe-core "$axe"; then
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name": "oversight-browser-test", "private": true}' >"$dir/package.json"
    echo "installing playwright-core@$playwright and axe-core@$axe into $dir" >&2
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --save-exact "playwright-core@$playwright" "axe-core@$axe" >&2)
fi
echo "export OVERSIGHT_NPM='$dir'"
