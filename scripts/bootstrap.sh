#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready: Debian packages (scripts/packages.txt), then the
# pinned Deno and Supabase CLI from npm. Idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' scripts/packages.txt | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# npm install, not npm ci: npm 11's ci rejects lock files of packages with per-platform
# optional dependencies; install still honours the lock file's pinned versions.
tools=scripts/tools
if [ ! -x $tools/node_modules/.bin/deno ] || [ ! -x $tools/node_modules/.bin/supabase ] \
  || [ $tools/package-lock.json -nt $tools/node_modules/.package-lock.json ]; then
  (cd $tools && npm install --no-audit --no-fund --loglevel=error)
fi
