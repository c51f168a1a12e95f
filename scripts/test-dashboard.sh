#!/usr/bin/env bash
# Every check of the dashboard (examples/dashboard), in order:
#   npm ci (when package-lock.json changed), API types regenerated from
#   openapi.yaml and compared with the committed ones, tsc, the component tests
#   (Vitest + jsdom), the production build, and the browser tests (Debian's
#   Chromium driven by playwright-core against the real example server).
# Needs npm and go; installs Chromium with apt-get when it is missing.
# Without npm it skips on a laptop and fails in CI (CI=true).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dashboard="$root/examples/dashboard"
cd "$root"

if ! command -v npm >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "test-dashboard: npm is required in CI" >&2
    exit 1
  fi
  echo "test-dashboard: SKIP: npm not found (the dashboard's checks need Node.js and npm)" >&2
  exit 0
fi

step() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "== dashboard: $name"
  "$@"
  echo "== dashboard: $name: ok ($((SECONDS - start)) s)"
}

types_match() {
  "$root/scripts/generate-dashboard-types.sh"
  local drift
  drift="$(git status --porcelain -- examples/dashboard/src/api)"
  if [ -n "$drift" ]; then
    echo "examples/dashboard/src/api differs from what openapi.yaml generates (run scripts/generate-dashboard-types.sh and commit):" >&2
    echo "$drift" >&2
    git --no-pager diff --stat -- examples/dashboard/src/api >&2
    return 1
  fi
}

step "npm ci" "$dashboard/scripts/ensure-deps.sh"
step "API types match openapi.yaml" types_match
step "typecheck" bash -c "cd '$dashboard' && npm run --silent typecheck"
step "component tests" bash -c "cd '$dashboard' && npm run --silent test"
step "build" bash -c "cd '$dashboard' && node_modules/.bin/vite build --logLevel warn"
step "install chromium" "$root/scripts/install-chromium.sh"
step "browser tests" bash -c "cd '$dashboard' && npm run --silent test:browser"
