#!/usr/bin/env bash
# The end-to-end throughput benchmark (make bench): see internal/bench's package
# documentation for what it starts and measures. Prints a table per run and a
# summary with the targets, and writes the figures as JSON.
#
#   BENCH_SIZE   dataset size (default 1GiB); 4GiB, or 1GiB,4GiB to also compare
#                the platform's memory across sizes
#   BENCH_RUNS   measurements per size; the summary takes medians (default 3)
#   BENCH_TEXT_SIZE  size of the text-heavy tree of the text phase (default 200MiB)
#   BENCH_OUT    JSON results, relative to the repository root
#                (default .cache/bench/results.json)
#   BENCH_FLAGS  more flags: -bench.seed=N, -bench.logs=DIR, -bench.cache=DIR,
#                -bench.s3-tls=false (S3 over plain HTTP instead of HTTPS),
#                -bench.compression-level=N (the sidecars' level, to compare)
#
# Datasets are kept in .cache/bench between runs (1 GiB each; delete the
# directory to reclaim the space).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086 # BENCH_FLAGS holds several flags
exec go test -count=1 -timeout "${BENCH_TIMEOUT:-3h}" -run '^TestThroughput$' -v ./internal/bench -args \
  -bench.size="${BENCH_SIZE:-1GiB}" -bench.runs="${BENCH_RUNS:-3}" \
  -bench.text-size="${BENCH_TEXT_SIZE:-200MiB}" \
  -bench.out="${BENCH_OUT:-.cache/bench/results.json}" ${BENCH_FLAGS:-}
