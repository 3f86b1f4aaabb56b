#!/usr/bin/env bash
# Builds gpubench for the GPU machine (linux/amd64, cgo on) into .gpu/c/gpubench,
# so it travels with part c of the ONNX Runtime libraries. OUT overrides the path.
set -euo pipefail
top=$(git rev-parse --show-toplevel)
cd "$top"
out=${OUT:-.gpu/c/gpubench}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
mkdir -p "$(dirname "$out")"
CGO_ENABLED=1 GOOS=linux GOARCH=amd64 go build -trimpath -o "$out" ./bench/gpu/gpubench
echo "built $out"
