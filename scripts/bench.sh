#!/usr/bin/env bash
# The project's benchmark command (make bench). It runs
#   1. go run ./bench/ingest      webhook ingest vs a bare HMAC handler
#   2. go run ./bench/delivery    XAA events by stream vs by webhook into SQLite
#   3. go run ./bench/queuebench  queue backends (an Azure row on Azurite)
#   4. go run ./bench/pickup      job pickup by an idle worker: polling vs watching
#   5. go run ./bench/mention2reply  delivery → reply through the real binaries
#   6. the Go benchmarks of crc, events, filter, imagegen, queue and worker
# and prints their results as one report: the two programs' tables as they
# print them, then one table of the Go benchmarks (package, benchmark,
# ns/op, B/op, allocs/op and any custom metrics). Speeds are only compared
# within a run: every ratio column divides by a reference measured in the
# same run on the same machine.
#
# BENCHTIME (default 500ms) is passed to go test -benchtime; INGEST_D (default
# 3s) is each ingest phase and INGEST_ROUNDS (default 3) how many times the
# bare and webhook phases alternate; QUEUEBENCH_ARGS (default "-n 1000 -rounds 3")
# go to queuebench, whose own default (4000 messages, 3 rounds) takes over
# ten minutes with the Azurite row; DELIVERY_ARGS (default "-n 4000 -rounds 3")
# go to bench/delivery; PICKUP_ARGS (default: its own, 20 jobs, about 50 s)
# go to bench/pickup; M2R_ARGS (default: its own, 20 mentions, under a
# minute; needs ORT_LIB) go to bench/mention2reply; BENCH_PKGS (default: crc,
# events, filter, imagegen, queue and worker, each with /...) are the packages
# whose Go benchmarks run. The whole run takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHTIME=${BENCHTIME:-500ms}
INGEST_D=${INGEST_D:-3s}
INGEST_ROUNDS=${INGEST_ROUNDS:-3}
QUEUEBENCH_ARGS=${QUEUEBENCH_ARGS:--n 1000 -rounds 3}
DELIVERY_ARGS=${DELIVERY_ARGS:--n 4000 -rounds 3}
PICKUP_ARGS=${PICKUP_ARGS:-}
M2R_ARGS=${M2R_ARGS:-}
BENCH_PKGS=${BENCH_PKGS:-./crc/... ./events/... ./filter/... ./imagegen/... ./queue/... ./worker/...}

if [ -z "${ORT_LIB:-}" ] && [ -f scripts/ort-lib.sh ]; then
  ORT_LIB=$(bash scripts/ort-lib.sh)
  export ORT_LIB
fi

# Azurite for the Azure rows, unless one is already configured (it picks a
# free port of its own).
if [ -z "${MOETRON_AZURITE:-}" ] && [ -f scripts/azurite.sh ]; then
  # shellcheck source=/dev/null
  source scripts/azurite.sh
  if ! azurite_start; then
    echo "bench: Azurite did not start; the Azure rows are left out" >&2
  fi
fi

out=$(mktemp -d -t moetron-bench.XXXXXX)
# The clean-up must not fail the run: azurite_stop's `wait` returns the
# stopped node's status, which set -e would turn into the script's.
cleanup() {
  local rc=$?
  set +e
  rm -rf "$out"
  if declare -F azurite_stop >/dev/null; then azurite_stop; fi
  exit "$rc"
}
trap cleanup EXIT

status=0
echo "bench: ingest (go run ./bench/ingest -d $INGEST_D -rounds $INGEST_ROUNDS)" >&2
go run ./bench/ingest -d "$INGEST_D" -rounds "$INGEST_ROUNDS" >"$out/ingest.txt" 2>"$out/ingest.err" || {
  status=1; echo "bench: bench/ingest failed:" >&2; cat "$out/ingest.err" >&2; }

echo "bench: delivery paths (go run ./bench/delivery $DELIVERY_ARGS)" >&2
# shellcheck disable=SC2086
go run ./bench/delivery $DELIVERY_ARGS >"$out/delivery.txt" 2>"$out/delivery.err" || {
  status=1; echo "bench: bench/delivery failed:" >&2; cat "$out/delivery.err" >&2; }

echo "bench: queue backends (go run ./bench/queuebench $QUEUEBENCH_ARGS)" >&2
# shellcheck disable=SC2086
go run ./bench/queuebench $QUEUEBENCH_ARGS >"$out/queue.txt" 2>"$out/queue.err" || {
  status=1; echo "bench: bench/queuebench failed:" >&2; cat "$out/queue.err" >&2; }

echo "bench: job pickup (go run ./bench/pickup $PICKUP_ARGS)" >&2
# shellcheck disable=SC2086
go run ./bench/pickup $PICKUP_ARGS >"$out/pickup.txt" 2>"$out/pickup.err" || {
  status=1; echo "bench: bench/pickup failed:" >&2; cat "$out/pickup.err" >&2; }

echo "bench: mention to reply (go run ./bench/mention2reply $M2R_ARGS)" >&2
# shellcheck disable=SC2086
go run ./bench/mention2reply $M2R_ARGS >"$out/m2r.txt" 2>"$out/m2r.err" || {
  status=1; echo "bench: bench/mention2reply failed:" >&2; cat "$out/m2r.err" >&2; }

pkgs=$(go list $BENCH_PKGS 2>/dev/null)
echo "bench: go test -run '^\$' -bench . -benchmem -benchtime $BENCHTIME ($BENCH_PKGS)" >&2
go test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" -timeout 8m $pkgs >"$out/go.txt" 2>&1 || {
  status=1; echo "bench: go benchmarks failed:" >&2; grep -E '^(FAIL|---|panic|\s+\S+_test.go)' "$out/go.txt" >&2 || true; }

echo
echo "== moetron benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(go env GOVERSION))"
echo
echo "-- webhook ingest (bench/ingest)"
cat "$out/ingest.txt"
echo
echo "-- X Activity API delivery: stream vs webhook (bench/delivery $DELIVERY_ARGS)"
cat "$out/delivery.txt"
echo
echo "-- queue backends (bench/queuebench $QUEUEBENCH_ARGS)"
cat "$out/queue.txt"
echo
echo "-- job pickup by an idle worker (bench/pickup $PICKUP_ARGS)"
cat "$out/pickup.txt"
echo
echo "-- mention to reply through the binaries (bench/mention2reply $M2R_ARGS)"
cat "$out/m2r.txt"
echo
echo "-- Go benchmarks (-benchtime $BENCHTIME)"
# Benchmark lines: name, iterations, then value/unit pairs. The package is
# the last "pkg:" line seen before them.
awk '
  /^pkg: / { pkg = $2; sub(/^github.com\/moetron\/moetron\//, "", pkg); next }
  /^Benchmark/ {
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    ns = "-"; bop = "-"; allocs = "-"; extra = ""
    for (i = 3; i < NF; i += 2) {
      v = $i; u = $(i + 1)
      if (u == "ns/op") ns = v
      else if (u == "B/op") bop = v
      else if (u == "allocs/op") allocs = v
      else extra = extra (extra == "" ? "" : " ") v " " u
    }
    printf "%s\t%s\t%s\t%s\t%s\t%s\n", pkg, name, ns, bop, allocs, extra
  }
' "$out/go.txt" | { printf 'package\tbenchmark\tns/op\tB/op\tallocs/op\tother\n'; cat; } | column -t -s $'\t'

exit "$status"
