#!/usr/bin/env bash
# Fresh machine → running product: installs what is missing, then `deno task dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec scripts/tools/node_modules/.bin/deno task dev "$@"
