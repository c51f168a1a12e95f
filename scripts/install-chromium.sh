#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests. Browsers cannot
# be downloaded by test tools here (no `npx playwright install`), so the tests
# drive /usr/bin/chromium through playwright-core. Idempotent: does nothing when
# the binary is already there. Needs root (apt-get).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: /usr/bin/chromium is missing and this is not root; run: apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
/usr/bin/chromium --version
