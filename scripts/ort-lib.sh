#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library (linux/amd64) into the user cache
# when it is missing, checks its pinned sha256, and prints its path on stdout.
# Everything else goes to stderr, so callers can write ORT_LIB=$(bash scripts/ort-lib.sh).
#
# Source: the npm package com.github.asus4.onnxruntime@0.4.9, which repackages
# Microsoft's official ONNX Runtime 1.29.0 CPU build (MIT). 1.29.0 serves the
# C API version 24 that github.com/yalue/onnxruntime_go v1.27.0 requests (older
# libraries refuse it), and it is the core the CUDA plugin execution provider
# in com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 was built against.
# Only `npm pack` is used (no install, no scripts run).
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/moetron/onnxruntime-1.29.0/
# (imagegen.DefaultLibraryPath() looks in the same place).
set -euo pipefail

ORT_VERSION=1.29.0
NPM_PACKAGE=com.github.asus4.onnxruntime@0.4.9
LIB_SHA256=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca
SHARED_SHA256=086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d

log() { echo "ort-lib: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) die "only linux/amd64 is fetched automatically; set ORT_LIB to an ONNX Runtime ${ORT_VERSION} library" ;;
esac

dir="${XDG_CACHE_HOME:-$HOME/.cache}/moetron/onnxruntime-${ORT_VERSION}"
lib="$dir/libonnxruntime.so"

sha_ok() { # file expected
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# Fast path: already cached and intact. A stamp file records the checked
# size and mtime so repeated calls skip hashing 28 MB.
stamp="$dir/.verified"
if [ -f "$lib" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stat -c '%s %Y' "$lib")" ]; then
  echo "$lib"; exit 0
fi
if sha_ok "$lib" "$LIB_SHA256"; then
  stat -c '%s %Y' "$lib" >"$stamp"
  echo "$lib"; exit 0
fi

command -v npm >/dev/null || die "npm is needed to fetch ONNX Runtime (or set ORT_LIB to an ONNX Runtime ${ORT_VERSION} library)"
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log "fetching ${NPM_PACKAGE} (ONNX Runtime ${ORT_VERSION}) from the npm registry"
( cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >/dev/null ) >&2 || die "npm pack ${NPM_PACKAGE} failed"
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)
[ -n "$tgz" ] || die "npm pack produced no tarball"
tar xzf "$tgz" -C "$tmp" \
  package/Plugins/Linux/x64/libonnxruntime.so \
  package/Plugins/Linux/x64/libonnxruntime_providers_shared.so >&2 || die "tarball lacks the linux/x64 libraries"
src="$tmp/package/Plugins/Linux/x64"
sha_ok "$src/libonnxruntime.so" "$LIB_SHA256" || die "sha256 mismatch for libonnxruntime.so (expected $LIB_SHA256)"
sha_ok "$src/libonnxruntime_providers_shared.so" "$SHARED_SHA256" || die "sha256 mismatch for libonnxruntime_providers_shared.so"

# Move into place atomically (rename within the same directory tree).
chmod 0755 "$src"/*.so
mv -f "$src/libonnxruntime_providers_shared.so" "$dir/libonnxruntime_providers_shared.so"
mv -f "$src/libonnxruntime.so" "$lib"
stat -c '%s %Y' "$lib" >"$stamp"
log "installed $lib"
echo "$lib"
