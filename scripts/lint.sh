#!/usr/bin/env bash
# gofmt, go vet and staticcheck (fetched through the Go module proxy, cached by go run).
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION:-v0.8.2}" ./...
echo "lint: ok"
