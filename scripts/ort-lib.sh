#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library into the user cache when it is
# missing, checks its pinned sha256, and prints its path on stdout.
# Everything else goes to stderr, so callers can write ORT_LIB=$(bash scripts/ort-lib.sh).
#
# The work is done by the Go program examples/ortfetch (package
# imagegen/ortfetch), which holds the one copy of the source and its pinned
# sums: Microsoft's npm package onnxruntime-node@1.29.0, linux/x64 and
# linux/arm64 builds. 1.29.0 serves the C API version 24 that
# github.com/yalue/onnxruntime_go v1.27.0 requests (older libraries refuse it).
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/moetron/onnxruntime-1.29.0/libonnxruntime.so
# (imagegen.DefaultLibraryPath() looks in the same place).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${XDG_CACHE_HOME:-$HOME/.cache}/moetron/onnxruntime-1.29.0"
lib="$dir/libonnxruntime.so"
stamp="$dir/.verified"
# The pinned sum for this machine, read from the Go source so there is one copy.
case "$(uname -m)" in
  x86_64) key=linux/amd64 ;;
  aarch64 | arm64) key=linux/arm64 ;;
  *) key=none ;;
esac
want=$(awk -v k="\"$key\": {" '$0 ~ k {f=1} f && /SHA256:/ {gsub(/[",]/, "", $2); print $2; exit}' imagegen/ortfetch/ortfetch.go)

# Fast path: already fetched and checked. The stamp records the pinned sum
# and the file's size and mtime, so repeated calls skip hashing 45 MB and a
# new pin (or a replaced file) is checked again.
if [ -n "$want" ] && [ -f "$lib" ] && [ -f "$stamp" ] &&
  [ "$(cat "$stamp")" = "$want $(stat -c '%s %Y' "$lib")" ]; then
  echo "$lib"; exit 0
fi

echo "ort-lib: checking or fetching ONNX Runtime 1.29.0 (go run ./examples/ortfetch)" >&2
got=$(go run ./examples/ortfetch)
[ "$got" = "$lib" ] || { echo "ort-lib: error: ortfetch installed $got, expected $lib" >&2; exit 1; }
[ -z "$want" ] || echo "$want $(stat -c '%s %Y' "$lib")" >"$stamp"
echo "$lib"
