#!/usr/bin/env bash
# make vuln: govulncheck over the module against a vulnerability database
# this machine can reach. vuln.go.dev is not reachable from the project's
# machines, but the database's source, golang.org/x/vulndb, is served by the
# Go module proxy: its data/osv folder holds every report as OSV JSON, and
# its cmd/indexdb turns that folder into the v1 database layout govulncheck
# reads with -db file://.
#   - VULNDB_VERSION: the x/vulndb version (default: the newest the proxy
#     serves, so the check sees the newest reports).
#   - The index is built once per version into
#     ${XDG_CACHE_HOME:-~/.cache}/moetron/vulndb-<version>.
# Exit status: govulncheck's (0 none found in code that runs; 3 found).
set -euo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
if [ -z "${VULNDB_VERSION:-}" ]; then
  VULNDB_VERSION=$(go list -m -f '{{.Version}}' golang.org/x/vulndb@latest)
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/moetron"
db="$cache/vulndb-$VULNDB_VERSION"
if [ ! -f "$db/index/db.json" ]; then
  echo "vuln: building the database index from golang.org/x/vulndb@$VULNDB_VERSION (once)" >&2
  src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/data/osv" ] || { echo "vuln: no data/osv in golang.org/x/vulndb@$VULNDB_VERSION" >&2; exit 1; }
  tmp="$db.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$cache"
  # indexdb is a main package of x/vulndb itself, run at the same version.
  go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$tmp"
  rm -rf "$db"
  mv "$tmp" "$db"
fi
# The x/vulndb commit's date says how current the database is.
dated=$(go list -m -f '{{.Time}}' "golang.org/x/vulndb@$VULNDB_VERSION")
echo "vuln: $(go version | cut -d' ' -f3), database golang.org/x/vulndb@$VULNDB_VERSION ($dated, $(ls "$db/ID" | grep -c "\.json$") reports)" >&2
exec go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$db" "${@:-./...}"
