#!/usr/bin/env bash
# Builds the dashboard into examples/dashboard/dist, which the example server
# serves at /. Used by `make run`: without npm it says so and succeeds, and the
# server runs without its page.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dashboard="$root/examples/dashboard"

if ! command -v npm >/dev/null 2>&1; then
  echo "build-dashboard: npm not found; the example server will run without the dashboard" >&2
  exit 0
fi

"$dashboard/scripts/ensure-deps.sh"
cd "$dashboard"
node_modules/.bin/vite build --logLevel warn
echo "build-dashboard: built $dashboard/dist"
