#!/usr/bin/env bash
# Azurite (Microsoft's Azure Storage emulator, npm package "azurite") for the
# Azure Storage Queue tests. Source this file, then call azurite_start and
# azurite_stop; or run it: `bash scripts/azurite.sh run -- CMD...` starts
# Azurite, runs CMD with MOETRON_AZURITE set, and stops Azurite.
#
# - Installed once into ${XDG_CACHE_HOME:-~/.cache}/moetron/azurite-$AZURITE_VERSION
#   so fresh clones and CI reuse it.
# - 3.35.0 is the newest release whose engines accept Node 20; it predates the
#   API version that azqueue v2 sends, so it runs with --skipApiVersionCheck.
# - Only the queue service, on 127.0.0.1, data in a temp dir (the in-memory
#   mode stalls for a minute or more under load), telemetry off.
# - Stopped by the node process's own PID (azurite-queue is exec'd, so $! is node).
AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
# AZURITE_PORT: the queue port; unset means a free port picked at start, so
# that the tests never meet an Azurite someone else runs on 10001.
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

azurite_dir() {
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/moetron/azurite-$AZURITE_VERSION"
}

azurite_install() {
  local dir; dir=$(azurite_dir)
  if [ -x "$dir/node_modules/.bin/azurite-queue" ]; then return 0; fi
  command -v npm >/dev/null || { echo "azurite: npm not found; install Node.js and npm" >&2; return 1; }
  echo "azurite: installing azurite@$AZURITE_VERSION into $dir (once)" >&2
  local tmp="$dir.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$tmp" && echo '{"name":"moetron-azurite","private":true}' >package.json &&
    npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >&2) || { rm -rf "$tmp"; return 1; }
  rm -rf "$dir"; mv "$tmp" "$dir"
}

azurite_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    # Nothing answers a connect: the port is free (a race remains, and a
    # failed start says so).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

azurite_start() {
  azurite_install || return 1
  if [ -z "${AZURITE_PORT:-}" ]; then
    AZURITE_PORT=$(azurite_free_port) || { echo "azurite: no free port found" >&2; return 1; }
  fi
  export AZURITE_PORT
  local dir; dir=$(azurite_dir)
  AZURITE_DATA=$(mktemp -d -t moetron-azurite.XXXXXX)
  AZURITE_LOG="$AZURITE_DATA.log"
  # exec: $! is the node process itself, not a wrapper shell.
  ( exec "$dir/node_modules/.bin/azurite-queue" --queueHost 127.0.0.1 --queuePort "$AZURITE_PORT" \
      --location "$AZURITE_DATA" --skipApiVersionCheck --disableTelemetry --silent ) >"$AZURITE_LOG" 2>&1 &
  AZURITE_PID=$!
  local i
  for i in $(seq 1 150); do
    if curl -s -o /dev/null "http://127.0.0.1:$AZURITE_PORT/"; then
      export MOETRON_AZURITE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;QueueEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;"
      export AZURITE_PID
      export MOETRON_AZURITE_BIN="$dir/node_modules/.bin/azurite-queue"
      echo "azurite: queue service up on 127.0.0.1:$AZURITE_PORT (pid $AZURITE_PID)" >&2
      return 0
    fi
    if ! kill -0 "$AZURITE_PID" 2>/dev/null; then
      echo "azurite: exited during start-up; log:" >&2; cat "$AZURITE_LOG" >&2; return 1
    fi
    sleep 0.2
  done
  echo "azurite: did not answer on 127.0.0.1:$AZURITE_PORT within 30 s" >&2
  kill -KILL "$AZURITE_PID" 2>/dev/null
  return 1
}

azurite_stop() {
  # Runs from EXIT traps of `set -e` scripts: no command here may fail.
  [ -n "${AZURITE_PID:-}" ] || return 0
  kill -TERM "$AZURITE_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$AZURITE_PID" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$AZURITE_PID" 2>/dev/null; then
    kill -KILL "$AZURITE_PID" 2>/dev/null || true
  fi
  wait "$AZURITE_PID" 2>/dev/null || true
  rm -rf "${AZURITE_DATA:-/nonexistent}" "${AZURITE_LOG:-/nonexistent}" || true
  unset AZURITE_PID
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) azurite_install ;;
    run) shift; [ "${1:-}" = "--" ] && shift
         azurite_start; trap azurite_stop EXIT; "$@" ;;
    *) echo "usage: $0 install | run -- CMD..." >&2; exit 2 ;;
  esac
fi
