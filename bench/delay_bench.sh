#!/usr/bin/env bash
# Scheduled-delivery figures of the STOMP/JMS issue, through the AMQP
# exchange type x-delayed-message (build/bench/wharf-delay-load):
#
#   bench/delay_bench.sh                       # 1,000,000 pending + lateness of 20,000
#   PENDING=200000 LATE=5000 bench/delay_bench.sh
#
#   pending   PENDING 100-byte messages published with x-delay = 1 hour (so
#             they all stay pending), then the broker's VmRSS (idle before,
#             and 2 s after the last confirm); then the same with the due
#             times spread over a day (one slot file per 10 s: 8,640 files)
#   backlog   PENDING messages all due 20 s after publishing: time until all
#             have fired into their queue and the broker's peak VmRSS
#   lateness  LATE messages with delays spread evenly over SPREAD ms starting
#             DELAY ms after publishing, consumed as they fire; p50/p99/max of
#             (received - due) in ms
#
# Each part runs against its own `wharf serve` on kernel-chosen ports and a
# scratch data dir, stopped at the end (also on error or ^C). Figures are
# printed, never asserted: this is not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PENDING=${PENDING:-1000000}
LATE=${LATE:-20000}
DELAY=${DELAY:-3000}
SPREAD=${SPREAD:-5000}
SIZE=${SIZE:-100}

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j 2 --target wharf wharf-delay-load >/dev/null
WHARF=$ROOT/build/wharf
LOAD=$ROOT/build/bench/wharf-delay-load

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wharf-delay-bench.XXXXXX")
WHARF_PID=
cleanup() {
  set +e
  stop_wharf
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts Wharf on a fresh data dir; sets WHARF_PID and PORT.
start_wharf() {
  local log=$SCRATCH/wharf.log
  rm -rf "$SCRATCH/data"
  : >"$log"
  "$WHARF" serve --data-dir "$SCRATCH/data" --kafka-listen 127.0.0.1:0 --amqp-listen 127.0.0.1:0 >>"$log" 2>&1 &
  WHARF_PID=$!
  for _ in $(seq 1000); do
    PORT=$(sed -n 's/.*amqp listening on .*(port \([0-9]*\)).*/\1/p' "$log" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$WHARF_PID" 2>/dev/null || break
    sleep 0.01
  done
  echo "wharf did not start; its log:" >&2
  tail -20 "$log" >&2
  exit 1
}
stop_wharf() {
  [ -n "$WHARF_PID" ] || return 0
  kill "$WHARF_PID" 2>/dev/null
  wait "$WHARF_PID" 2>/dev/null
  WHARF_PID=
}

echo "# pending: $PENDING x $SIZE-byte messages with x-delay 1 h"
start_wharf
sleep 1
"$LOAD" --port "$PORT" --mode fill --messages "$PENDING" --size "$SIZE" --delay-ms 3600000 --pid "$WHARF_PID"
echo "delayed dir: $(du -sh "$SCRATCH/data/delayed" | cut -f1) in $(ls "$SCRATCH/data/delayed" | wc -l) slot file(s)"
stop_wharf

echo "# pending, spread: $PENDING x $SIZE-byte messages due evenly over 1 h .. 25 h (8,640 slot files)"
start_wharf
sleep 1
"$LOAD" --port "$PORT" --mode fill --messages "$PENDING" --size "$SIZE" --delay-ms 3600000 --spread-ms 86400000 \
  --pid "$WHARF_PID"
echo "delayed dir: $(du -sh "$SCRATCH/data/delayed" | cut -f1) in $(ls "$SCRATCH/data/delayed" | wc -l) slot file(s)"
echo "open descriptors of the broker: $(ls /proc/"$WHARF_PID"/fd | wc -l)"
stop_wharf

echo "# backlog: $PENDING x $SIZE-byte messages due 20 s after publishing, all fired into one queue"
start_wharf
sleep 1
"$LOAD" --port "$PORT" --mode fill --messages "$PENDING" --size "$SIZE" --delay-ms 20000 --pid "$WHARF_PID" \
  --settle 0 --wait-fired
stop_wharf

echo "# lateness: $LATE messages due ${DELAY}..$((DELAY + SPREAD)) ms after publishing"
start_wharf
"$LOAD" --port "$PORT" --mode lateness --messages "$LATE" --size "$SIZE" --delay-ms "$DELAY" --spread-ms "$SPREAD"
stop_wharf
