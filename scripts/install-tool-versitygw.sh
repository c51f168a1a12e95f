#!/usr/bin/env bash
# Installs versitygw, the S3-protocol server that the adapters/s3 integration tests
# start on loopback, into $SAVEPOINT_TOOLS_DIR (default <repo>/.cache/bin).
# Idempotent: skips the ~2 minute build when the binary there is already this
# version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=v1.8.0 # keep in step with testenv.VersitygwVersion
module=github.com/versity/versitygw
tools_dir="${SAVEPOINT_TOOLS_DIR:-$root/.cache/bin}"
bin="$tools_dir/versitygw"

if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null |
  grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version([[:space:]]|$)"; then
  exit 0
fi

mkdir -p "$tools_dir"
echo "installing versitygw $version into $tools_dir (takes about 2 minutes)" >&2
# Build outside the repo so that neither the project's go.mod nor GOFLAGS from the
# environment take part: `go install module@version` uses versitygw's own go.mod.
build_dir="$(mktemp -d)"
trap 'rm -rf "$build_dir"' EXIT
cd "$build_dir"
GOFLAGS= GOBIN="$tools_dir" go install "$module/cmd/versitygw@$version"
