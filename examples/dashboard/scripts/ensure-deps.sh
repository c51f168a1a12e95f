#!/usr/bin/env bash
# Installs the dashboard's npm packages with `npm ci` (exactly package-lock.json)
# unless node_modules already holds that lock file's install. Sourced or run by
# the repo's dashboard scripts; the working directory does not matter.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$dir/node_modules/.savepoint-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
