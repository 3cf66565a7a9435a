#!/usr/bin/env bash
# Fresh machine → every test: installs what is missing, then `deno task test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec scripts/tools/node_modules/.bin/deno task test "$@"
