#!/usr/bin/env bash
# make demo: the whole bot end to end on this machine, against a fake X, with
# no account anywhere. Fetches ONNX Runtime into the user cache if missing
# (scripts/ort-lib.sh), builds examples/demo and runs it; images go to ./out/.
# Extra arguments go to the demo (-v for logs, -timeout 2m, -out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_LIB="${ORT_LIB:-$(bash scripts/ort-lib.sh)}"
export ORT_LIB
mkdir -p bin
echo "demo: building examples/demo" >&2
go build -o bin/demo ./examples/demo
exec bin/demo "$@"
