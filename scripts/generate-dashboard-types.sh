#!/usr/bin/env bash
# Regenerates the dashboard's API types (examples/dashboard/src/api) from the
# committed openapi.yaml with openapi-typescript, pinned in the dashboard's
# package.json. `make generate` runs it after `go generate` (which writes
# openapi.yaml); check-generated then fails when the committed types differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dashboard="$root/examples/dashboard"

if ! command -v npm >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "generate-dashboard-types: npm is required in CI" >&2
    exit 1
  fi
  echo "generate-dashboard-types: npm not found; leaving examples/dashboard/src/api as it is" >&2
  exit 0
fi

"$dashboard/scripts/ensure-deps.sh"
cd "$dashboard"
npm run --silent generate
