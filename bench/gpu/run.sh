#!/usr/bin/env bash
# The GPU proof in one command: export a StyleGAN2-shaped generator (random
# weights, fp32 and fp16), check its batch limit, benchmark PyTorch eager on it,
# then run gpubench (imagegen and raw ONNX Runtime) and print one table.
# See bench/gpu/README.md. Run from the repository root.
#
# Environment (defaults are the GPU run):
#   RES=512 DEVICE=cuda CALLS=200 (latency calls) IMAGES=640 (per throughput row)
#   BATCHES=1,8,32 CALLERS=64 (dynamic batching row) THREADS=0 (ORT/torch CPU threads)
#   PYTHON=python3 GPUBENCH=.gpu/c/gpubench WORK=/tmp/gpubench (models, scratch)
#   OUT (if set, results JSON and logs are copied there)
set -euo pipefail
RES=${RES:-512} DEVICE=${DEVICE:-cuda} CALLS=${CALLS:-200} IMAGES=${IMAGES:-640}
BATCHES=${BATCHES:-1,8,32} CALLERS=${CALLERS:-64} THREADS=${THREADS:-0}
PYTHON=${PYTHON:-python3} GPUBENCH=${GPUBENCH:-.gpu/c/gpubench} WORK=${WORK:-/tmp/gpubench}
here=bench/gpu
mkdir -p "$WORK"
[ -x "$GPUBENCH" ] || { echo "run.sh: no $GPUBENCH; build it locally with bench/gpu/build.sh" >&2; exit 2; }
if [ "$DEVICE" = cuda ] && [ -z "${ORT_CUDA_PLUGIN:-}" ]; then
  echo "run.sh: ORT_CUDA_PLUGIN is not set (source .gpu/c/assemble.sh c first); trying a GPU build at ORT_LIB" >&2
fi
echo "== run.sh RES=$RES DEVICE=$DEVICE CALLS=$CALLS IMAGES=$IMAGES BATCHES=$BATCHES CALLERS=$CALLERS"
[ "$DEVICE" = cuda ] && command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

m32=$WORK/sg$RES.onnx m16=$WORK/sg$RES-fp16.onnx
t0=$SECONDS
echo "== 1. export (random weights, seed 0): $m32, $m16"
# The two exports run side by side; their warnings go to logs.
"$PYTHON" $here/export.py --random --resolution "$RES" -o "$m32" >"$WORK/export32.log" 2>&1 & p32=$!
"$PYTHON" $here/export.py --random --resolution "$RES" --fp16 -o "$m16" >"$WORK/export16.log" 2>&1 & p16=$!
wait $p32 || { tail -20 "$WORK/export32.log"; exit 2; }
wait $p16 || { tail -20 "$WORK/export16.log"; exit 2; }
grep -h '^wrote' "$WORK/export32.log" "$WORK/export16.log"
echo "   ($((SECONDS - t0)) s)"

echo "== 2. largest intermediate tensor and the batch that keeps it under 2^31"
"$PYTHON" $here/maxelems.py "$m32" "$WORK/elems.json"

echo "== 3. PyTorch eager"
"$PYTHON" $here/torch_bench.py --resolution "$RES" --device "$DEVICE" --batches "$BATCHES" --images "$IMAGES" \
  --threads "$THREADS" --out "$WORK" 2>&1 | grep -v Warning

echo "== 4. gpubench (imagegen and raw ONNX Runtime)"
rc=0
"$GPUBENCH" -model "$m32" -model16 "$m16" -device "$DEVICE" -calls "$CALLS" -images "$IMAGES" \
  -batches "$BATCHES" -callers "$CALLERS" -threads "$THREADS" -torch "$WORK/torch.json" \
  -elems "$WORK/elems.json" -work "$WORK" -json "$WORK/gpubench.json" || rc=$?
if [ -n "${OUT:-}" ]; then
  cp "$WORK"/gpubench.json "$WORK"/torch.json "$WORK"/elems.json "$OUT"/ 2>/dev/null || true
fi
echo "== done in $((SECONDS - t0)) s, gpubench exit $rc"
exit $rc
