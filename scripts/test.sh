#!/usr/bin/env bash
# The project's test command (make test). It installs and starts what the
# tests need, runs go test -race over the module and prints a summary.
#   - ONNX Runtime: scripts/ort-lib.sh fetches the shared library into the
#     user cache (once) and prints its path; exported as ORT_LIB.
#   - Azurite: scripts/azurite.sh installs it into the user cache (once),
#     starts the queue and table services on 127.0.0.1 with data in a temp dir, and
#     exports MOETRON_AZURITE (a connection string with QueueEndpoint and
#     TableEndpoint) for the Azure tests.
#   - Chromium: the operator page's browser test (e2e TestOperatorPage)
#     drives Debian's chromium package headless; installed with apt-get when
#     missing (root, or passwordless sudo; otherwise a message says what to
#     run, and the test skips). MOETRON_CHROMIUM names another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint"
bash scripts/lint.sh

if [ -z "${ORT_LIB:-}" ] && [ -f scripts/ort-lib.sh ]; then
  echo "== onnx runtime"
  ORT_LIB=$(bash scripts/ort-lib.sh)
  export ORT_LIB
  echo "ORT_LIB=$ORT_LIB"
fi

if [ -f scripts/azurite.sh ]; then
  echo "== azurite"
  # shellcheck source=/dev/null
  source scripts/azurite.sh
  azurite_start
  trap azurite_stop EXIT
fi

if [ -z "${MOETRON_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "== chromium (the operator page's browser test)"
  # "$@" is env or sudo -n env: env carries DEBIAN_FRONTEND past sudo.
  apt_install() {
    { "$@" DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 chromium ||
      { "$@" apt-get update -q && "$@" DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 chromium; }; } ||
      echo "apt-get could not install chromium (see above); e2e TestOperatorPage skips without it" >&2
  }
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and this system has no apt-get: install Chromium and set MOETRON_CHROMIUM to its path;" \
      "until then e2e TestOperatorPage skips" >&2
  elif [ "$(id -u)" = 0 ]; then
    apt_install env
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_install sudo -n env
  else
    echo "chromium is missing and $(id -un) cannot install it (not root, no passwordless sudo):" \
      "run 'sudo apt-get install -y chromium' (or set MOETRON_CHROMIUM); until then e2e TestOperatorPage skips" >&2
  fi
fi

echo "== go test -race ./..."
log=$(mktemp)
set +e
go test -race -count=1 -timeout 20m ./... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
ok=$(grep -cE '^ok ' "$log" || true)
failed=$(grep -cE '^FAIL\s' "$log" || true)
notests=$(grep -cE '^\?\s.*\[no test files\]' "$log" || true)
echo
if [ "$failed" != 0 ]; then
  echo "failed tests:"
  grep -E '^(\s*--- FAIL|FAIL\s)' "$log" || true
fi
rm -f "$log"
# The closing line counts packages: those whose tests passed, failed, and
# those without tests.
echo "packages: $ok passed, $failed failed, $notests skipped"
exit "$rc"
