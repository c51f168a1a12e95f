#!/usr/bin/env bash
# Installs versitygw, the S3-protocol server that the adapters/s3 integration tests
# start on loopback, into $SAVEPOINT_TOOLS_DIR (default <repo>/.cache/bin).
# Idempotent: skips the ~95 s build when the binary there is already this version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=v1.8.0
module=github.com/versity/versitygw
tools_dir="${SAVEPOINT_TOOLS_DIR:-$root/.cache/bin}"
bin="$tools_dir/versitygw"

if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version([[:space:]]|$)"; then
  exit 0
fi

mkdir -p "$tools_dir"
# Build outside the repo so the project's go.mod (and its tool directive) is not
# consulted or modified; GOFLAGS from the environment could pin -mod=vendor etc.
cd "$(mktemp -d)"
trap 'rm -rf "$PWD"' EXIT
GOFLAGS= GOBIN="$tools_dir" go install "$module/cmd/versitygw@$version"
