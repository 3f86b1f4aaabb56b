#!/usr/bin/env bash
# Azurite (Microsoft's Azure Storage emulator, npm package "azurite") for the
# Azure Storage Queue and Table tests. Source this file, then call
# azurite_start and azurite_stop; or run it: `bash scripts/azurite.sh run --
# CMD...` starts Azurite, runs CMD with MOETRON_AZURITE set, and stops Azurite.
#
# - Installed once into ${XDG_CACHE_HOME:-~/.cache}/moetron/azurite-$AZURITE_VERSION
#   so fresh clones and CI reuse it.
# - 3.35.0 is the newest release whose engines accept Node 20; it predates the
#   API version that azqueue v2 sends, so it runs with --skipApiVersionCheck.
# - The queue service and the table service (the job ledger shared by
#   workers on several machines, worker/ledgertable), each its own process
#   on its own port on 127.0.0.1, data in a temp dir (the in-memory mode
#   stalls for a minute or more under load), telemetry off.
# - Exports MOETRON_AZURITE, one connection string with QueueEndpoint and
#   TableEndpoint; MOETRON_AZURITE_BIN (azurite-queue, for tests that run a
#   private queue service) and MOETRON_AZURITE_TABLE_BIN (azurite-table).
# - Stopped by the node processes' own PIDs (azurite-queue and azurite-table
#   are exec'd, so $! is node).
AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
# AZURITE_PORT, AZURITE_TABLE_PORT: the queue and table ports; unset means a
# free port picked at start, so that the tests never meet an Azurite someone
# else runs on 10001 or 10002.
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

azurite_dir() {
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/moetron/azurite-$AZURITE_VERSION"
}

azurite_install() {
  local dir; dir=$(azurite_dir)
  if [ -x "$dir/node_modules/.bin/azurite-queue" ] && [ -x "$dir/node_modules/.bin/azurite-table" ]; then return 0; fi
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

# azurite_wait_up NAME PID PORT LOG: waits up to 30 s for the service to
# answer HTTP on PORT; fails (with its log) if it exits or does not answer.
azurite_wait_up() {
  local name=$1 pid=$2 port=$3 log=$4 i
  for i in $(seq 1 150); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "azurite: $name exited during start-up; log:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "azurite: $name did not answer on 127.0.0.1:$port within 30 s" >&2
  return 1
}

azurite_start() {
  azurite_install || return 1
  if [ -z "${AZURITE_PORT:-}" ]; then
    AZURITE_PORT=$(azurite_free_port) || { echo "azurite: no free port found" >&2; return 1; }
  fi
  if [ -z "${AZURITE_TABLE_PORT:-}" ]; then
    AZURITE_TABLE_PORT=$(azurite_free_port) || { echo "azurite: no free port found" >&2; return 1; }
    while [ "$AZURITE_TABLE_PORT" = "$AZURITE_PORT" ]; do
      AZURITE_TABLE_PORT=$(azurite_free_port) || { echo "azurite: no free port found" >&2; return 1; }
    done
  fi
  export AZURITE_PORT AZURITE_TABLE_PORT
  local dir; dir=$(azurite_dir)
  AZURITE_DATA=$(mktemp -d -t moetron-azurite.XXXXXX)
  AZURITE_LOG="$AZURITE_DATA.log"
  AZURITE_TABLE_LOG="$AZURITE_DATA.table.log"
  mkdir -p "$AZURITE_DATA/table"
  # exec: $! is the node process itself, not a wrapper shell.
  ( exec "$dir/node_modules/.bin/azurite-queue" --queueHost 127.0.0.1 --queuePort "$AZURITE_PORT" \
      --location "$AZURITE_DATA" --skipApiVersionCheck --disableTelemetry --silent ) >"$AZURITE_LOG" 2>&1 &
  AZURITE_PID=$!
  ( exec "$dir/node_modules/.bin/azurite-table" --tableHost 127.0.0.1 --tablePort "$AZURITE_TABLE_PORT" \
      --location "$AZURITE_DATA/table" --skipApiVersionCheck --disableTelemetry --silent ) >"$AZURITE_TABLE_LOG" 2>&1 &
  AZURITE_TABLE_PID=$!
  # Exported at once, so that azurite_stop (an EXIT trap) stops both even
  # when the start fails half-way.
  export AZURITE_PID AZURITE_TABLE_PID
  if ! azurite_wait_up queue "$AZURITE_PID" "$AZURITE_PORT" "$AZURITE_LOG" ||
     ! azurite_wait_up table "$AZURITE_TABLE_PID" "$AZURITE_TABLE_PORT" "$AZURITE_TABLE_LOG"; then
    azurite_stop
    return 1
  fi
  export MOETRON_AZURITE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;QueueEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$AZURITE_TABLE_PORT/devstoreaccount1;"
  export MOETRON_AZURITE_BIN="$dir/node_modules/.bin/azurite-queue"
  export MOETRON_AZURITE_TABLE_BIN="$dir/node_modules/.bin/azurite-table"
  echo "azurite: queue service up on 127.0.0.1:$AZURITE_PORT (pid $AZURITE_PID), table service on 127.0.0.1:$AZURITE_TABLE_PORT (pid $AZURITE_TABLE_PID)" >&2
  return 0
}

# azurite_kill PID: SIGTERM, up to 10 s for the exit, then SIGKILL. Never fails.
azurite_kill() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  return 0
}

azurite_stop() {
  # Runs from EXIT traps of `set -e` scripts: no command here may fail.
  [ -n "${AZURITE_PID:-}${AZURITE_TABLE_PID:-}" ] || return 0
  azurite_kill "${AZURITE_PID:-}" || true
  azurite_kill "${AZURITE_TABLE_PID:-}" || true
  rm -rf "${AZURITE_DATA:-/nonexistent}" "${AZURITE_LOG:-/nonexistent}" "${AZURITE_TABLE_LOG:-/nonexistent}" || true
  unset AZURITE_PID AZURITE_TABLE_PID
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) azurite_install ;;
    run) shift; [ "${1:-}" = "--" ] && shift
         trap azurite_stop EXIT; azurite_start; "$@" ;;
    *) echo "usage: $0 install | run -- CMD..." >&2; exit 2 ;;
  esac
fi
