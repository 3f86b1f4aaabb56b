#!/usr/bin/env bash
# Checks stylegan2_onnx.py end to end on random-weight checkpoints:
#   1. the Python tests (stylegan2_checkpoint_test.py: safe loading, layout
#      detection, refusals, the exporter's PyTorch generator against the
#      reference in testdata/ada_reference.py, the rosinality round trip);
#   2. a stylegan2-ada-pytorch .pkl (128x128, 2 mapping layers, channel_base
#      4096 / channel_max 256, conv_clamp read from the pickle, fixed noise) is
#      exported and run in ONNX Runtime by export_test.go, which compares it
#      with the exporter's PyTorch image and with the independent reference,
#      and requires images computed with deliberate mistakes (ada_reference.py
#      --break) to differ;
#   3. the same for an ada state dict in a .pt (64x64, 8 mapping layers,
#      config-f channels, --conv-clamp on the command line, no noise buffers);
#   with --all also
#   4. rosinality's layout, `--random --resolution 64` as in README.md
#      (slower: a 146 MB model), and the --fp16 export of the ada .pkl.
#
# It needs Python 3 with PyTorch (1.13 or newer) and onnx, Go, and ONNX
# Runtime (ORT_LIB, else scripts/ort-lib.sh fetches it). make test does not
# run it (PyTorch is about 1 GB); run it where PyTorch is installed:
#   bash imagegen/export/check.sh [--all]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

all=0
[ "${1:-}" = "--all" ] && all=1

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for c in python3 /usr/bin/python3; do
    if "$c" -c 'import torch, onnx' 2>/dev/null; then PYTHON=$c; break; fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "check.sh: needs python3 with torch and onnx (Debian: apt-get install -y python3-torch python3-onnx python3-numpy)" >&2
  exit 2
fi
if [ -z "${ORT_LIB:-}" ]; then
  ORT_LIB=$(bash scripts/ort-lib.sh)
fi
export ORT_LIB

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
marker=$work/module-src-was-executed
py() { PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$@"; }
gotest() { # model, check dir, [comma-separated wrong dirs], [extra env]
  env STYLEGAN2_ONNX="$1" STYLEGAN2_CHECK="$2" STYLEGAN2_WRONG="${3:-}" ${4:-} \
    go test -count=1 -v -run '^TestExportMatchesPyTorch$' ./imagegen/export | grep -Ev '^(=== RUN|PASS$|ok )' || return 1
}
# reference CHECKPOINT CLAMP NOISE INPUTS OUT BREAK...: the reference image,
# then one per deliberate mistake; prints the wrong dirs, comma-separated.
reference() {
  local ck=$1 clamp=$2 noise=$3 in=$4 out=$5; shift 5
  py "$here/testdata/ada_reference.py" --checkpoint "$ck" --conv-clamp "$clamp" --noise "$noise" --inputs "$in" --out "$out" >&2
  local wrong=""
  for b in "$@"; do
    py "$here/testdata/ada_reference.py" --checkpoint "$ck" --conv-clamp "$clamp" --noise "$noise" --inputs "$in" \
      --out "$out-wrong-$b" --break "$b" >&2
    wrong="$wrong,$out-wrong-$b"
  done
  echo "${wrong#,}"
}

echo "== python tests"
py -m unittest discover -s "$here" -p '*_test.py'

echo "== ada .pkl, 128x128, 2 mapping layers, conv_clamp 1 from the pickle, fixed noise"
py "$here/testdata/make_ada_checkpoint.py" --resolution 128 --channel-base 4096 --channel-max 256 --mapping 2 \
  --conv-clamp 1 --seed 1 --marker "$marker" -o "$work/a128"
py "$here/stylegan2_onnx.py" --checkpoint "$work/a128.pkl" --noise fixed -o "$work/a128.onnx" \
  --check-dir "$work/a128-export" 2>&1 | grep -Ev 'Warning|_C._jit|^\s*$'
if [ -e "$marker" ]; then echo "FAIL: the module_src embedded in the .pkl was executed" >&2; exit 1; fi
wrong=$(reference "$work/a128.pt" 1 const "$work/a128-export" "$work/a128-ref" \
  torgb-gain mapping-bias-gain conv-clamp torgb-clamp w-avg noise skip-shift)
echo "-- ONNX Runtime vs the exporter's PyTorch"
gotest "$work/a128.onnx" "$work/a128-export"
echo "-- ONNX Runtime vs the independent reference, and 7 deliberate mistakes"
gotest "$work/a128.onnx" "$work/a128-ref" "$wrong"

echo "== ada state dict (.pt), 64x64, 8 mapping layers, --conv-clamp 1.5, no noise buffers"
py "$here/testdata/make_ada_checkpoint.py" --resolution 64 --channel-base 16384 --channel-max 512 --mapping 8 \
  --no-noise --seed 2 --marker "$marker" -o "$work/a64"
py "$here/stylegan2_onnx.py" --checkpoint "$work/a64.pt" --conv-clamp 1.5 --noise fixed -o "$work/a64.onnx" \
  --check-dir "$work/a64-export" 2>&1 | grep -Ev 'Warning|_C._jit|^\s*$'
wrong=$(reference "$work/a64.pt" 1.5 const "$work/a64-export" "$work/a64-ref" torgb-gain conv-clamp w-avg skip-shift)
gotest "$work/a64.onnx" "$work/a64-export"
gotest "$work/a64.onnx" "$work/a64-ref" "$wrong"

if [ "$all" = 1 ]; then
  echo "== ada .pkl, --fp16"
  py "$here/stylegan2_onnx.py" --checkpoint "$work/a128.pkl" --noise fixed --fp16 -o "$work/a128-fp16.onnx" \
    2>&1 | grep -Ev 'Warning|_C._jit|^\s*$'
  gotest "$work/a128-fp16.onnx" "$work/a128-ref" "" STYLEGAN2_FP16=1
  echo "== rosinality layout: --random --resolution 64"
  py "$here/stylegan2_onnx.py" --random --resolution 64 -o "$work/sg64.onnx" --check-dir "$work/sg64" \
    2>&1 | grep -Ev 'Warning|_C._jit|^\s*$'
  gotest "$work/sg64.onnx" "$work/sg64"
fi
echo "check.sh: all checks passed"
