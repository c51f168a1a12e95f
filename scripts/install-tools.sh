#!/usr/bin/env bash
# Installs the binaries integration tests start on loopback into .cache/bin
# (SAVEPOINT_TOOLS_DIR). Each installer is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
for installer in scripts/install-tool-*.sh; do
  [ -e "$installer" ] || continue
  "$installer"
done
