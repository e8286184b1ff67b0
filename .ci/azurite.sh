#!/usr/bin/env bash
# A throwaway Azurite (Microsoft's Azure Storage emulator, npm package `azurite`) for the lake's object-store tests
# (crates/lake/tests/azurite.rs). Usage, from .ci/run (two lines, so that a failure stops the run under set -e):
#   azurite_env="$(bash .ci/azurite.sh $$)"
#   eval "$azurite_env"
# Installs the package once into the npm cache folder outside the clone (the one .ci/console-browser.sh uses), starts
# the Blob service on 127.0.0.1 (a free port, storage in a temporary folder, no telemetry), waits until it answers,
# and prints the exports the tests and object_store's MicrosoftAzureBuilder::from_env() read: the emulator switch and
# its URL, the well-known development account and its public key (documented by Microsoft, not a secret),
# OVERSIGHT_TEST_AZURITE=1 and CI_REQUIRE_AZURITE=1 (so a test fails, never skips, without it). Azurite stops and its
# folder is deleted once the process given as the first argument (the CI shell) exits.
set -euo pipefail
owner_pid="${1:?usage: azurite.sh PID-whose-exit-stops-the-emulator}"

dir="${OVERSIGHT_NPM:-$HOME/.cache/oversight-npm}"
# Pinned: 3.35.0 is the last release that runs on Node 20 (3.36 needs Node 21, 3.37 Node 22).
version="3.35.0"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; } >&2
fi
installed() {
    node -e 'const [dir, want] = process.argv.slice(1); const v = require(dir + "/node_modules/azurite/package.json").version; process.exit(v === want ? 0 : 1)' \
        "$dir" "$version" 2>/dev/null
}
if ! installed; then
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name": "oversight-test-tools", "private": true}' >"$dir/package.json"
    echo "installing azurite@$version into $dir" >&2
    (cd "$dir" && npm install --no-audit --no-fund --save-exact "azurite@$version" >&2)
fi

data="$(mktemp -d /tmp/oversight-azurite.XXXXXX)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# --skipApiVersionCheck: object_store sends a service version newer than some Azurite releases know.
"$dir/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$data" --disableTelemetry \
    --skipApiVersionCheck --silent </dev/null >"$data/azurite.log" 2>&1 &
azurite_pid=$!

for _ in $(seq 1 100); do
    if python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null; then
        break
    fi
    kill -0 "$azurite_pid" 2>/dev/null || { cat "$data/azurite.log" >&2; exit 1; }
    sleep 0.2
done
python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null ||
    { echo "azurite.sh: Azurite did not listen on 127.0.0.1:$port" >&2; cat "$data/azurite.log" >&2; kill "$azurite_pid"; exit 1; }

# Stop the emulator and remove its folder when the owner exits.
(
    while kill -0 "$owner_pid" 2>/dev/null; do sleep 2; done
    kill "$azurite_pid" 2>/dev/null || true
    rm -rf "$data"
) </dev/null >/dev/null 2>&1 &
disown

# One container for the command-line tests (crates/cli/tests/store_cli.rs), which address it by prefix. object_store
# does not create containers: this is the Blob REST call, signed with the account's SharedKey (HMAC-SHA256 of the
# canonical request; path-style emulator URLs name the account twice in the canonical resource).
account=devstoreaccount1
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
container=oversight-cli
date="$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')"
to_sign="$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:2021-08-06\n/%s/%s/%s\nrestype:container' "$date" "$account" "$account" "$container")"
signature="$(printf '%s' "$to_sign" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(python3 -c 'import base64, sys; print(base64.b64decode(sys.argv[1]).hex())' "$key")" -binary | base64 -w0)"
status="$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$port/$account/$container?restype=container" \
    -H "x-ms-date: $date" -H "x-ms-version: 2021-08-06" -H "Authorization: SharedKey $account:$signature" -H "Content-Length: 0")"
[ "$status" = 201 ] || { echo "azurite.sh: creating container $container answered $status" >&2; kill "$azurite_pid"; exit 1; }

echo "azurite.sh: Azurite $version Blob service on 127.0.0.1:$port ($data)" >&2
echo "export AZURE_STORAGE_USE_EMULATOR=true"
echo "export AZURITE_BLOB_STORAGE_URL=http://127.0.0.1:$port"
echo "export AZURE_STORAGE_ACCOUNT_NAME=devstoreaccount1"
echo "export AZURE_STORAGE_ACCOUNT_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
echo "export OVERSIGHT_TEST_AZURITE=1"
echo "export OVERSIGHT_TEST_CONTAINER=$container"
echo "export CI_REQUIRE_AZURITE=1"
