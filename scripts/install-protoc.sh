#!/usr/bin/env bash
# protoc comes from Debian's protobuf-compiler; the Go plugins are pinned in go.mod's
# tool directive and run through `go tool`.
set -euo pipefail
command -v protoc >/dev/null && exit 0
if [ "$(id -u)" = 0 ]; then apt-get install -y -q protobuf-compiler >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q protobuf-compiler >/dev/null; }
else sudo apt-get install -y -q protobuf-compiler >/dev/null; fi
