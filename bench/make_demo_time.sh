#!/usr/bin/env bash
# Seconds from a fresh clone to a served page: clone this repository into a temporary directory,
# run `make demo` there in the background (venv, install, migrate, demo data, serve), and poll
# http://127.0.0.1:$PORT/login/ until it answers 200.
#
#   bench/make_demo_time.sh               # port 8000
#   PORT=8123 bench/make_demo_time.sh     # another port, when 8000 is taken
#   TIMEOUT=1800 bench/make_demo_time.sh  # give up after this many seconds (default 900)
#
# Only committed work is measured (it is a clone). The server started here is stopped at the end.
set -euo pipefail

PORT="${PORT:-8000}"
TIMEOUT="${TIMEOUT:-900}"
REPO="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/touchpoint-make-demo.XXXXXX")"
URL="http://127.0.0.1:${PORT}/login/"
MAKE_PID=""

cleanup() {
  if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
    kill -- "-$MAKE_PID" 2>/dev/null || true  # make, the installer or the server: the whole group
    wait "$MAKE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${PORT}/"; then
  echo "Something already listens on port ${PORT}; pick another with PORT=..." >&2
  exit 1
fi

git clone -q "$REPO" "$WORK/touchpoint"
cd "$WORK/touchpoint"
started=$(date +%s.%N)
# A session of its own, so the whole tree can be stopped at once; the clone's own SQLite under var/.
setsid env -u DATABASE_URL -u REDIS_URL -u TOUCHPOINT_VAR PORT="$PORT" make demo >"$WORK/make-demo.log" 2>&1 &
MAKE_PID=$!

while true; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL" || true)
  elapsed=$(echo "$(date +%s.%N) - $started" | bc)
  if [ "$code" = "200" ]; then
    break
  fi
  if ! kill -0 "$MAKE_PID" 2>/dev/null; then
    echo "make demo stopped before serving a page; its output:" >&2
    tail -n 40 "$WORK/make-demo.log" >&2
    exit 1
  fi
  if [ "$(echo "$elapsed > $TIMEOUT" | bc)" = "1" ]; then
    echo "No page at $URL after ${TIMEOUT} s; the end of make demo's output:" >&2
    tail -n 40 "$WORK/make-demo.log" >&2
    exit 1
  fi
  sleep 0.5
done

grep -E "^Loaded|exists already" "$WORK/make-demo.log" || true
printf 'make demo, fresh clone to a served page (%s): %.1f s\n' "$URL" "$elapsed"
