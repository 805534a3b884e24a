#!/usr/bin/env bash
# The Kafka figures of the foundation issue, in one run, against a Wharf this
# script starts itself on free ports with a scratch data dir:
#
#   bench/kafka_bench.sh            # everything but the 10 GB restart (a few minutes)
#   bench/kafka_bench.sh --big      # also write 10 GB and time a restart over it
#   RECORDS=500000 bench/kafka_bench.sh   # shorter runs
#
# Each figure is one line of wharf-kafka-load output (or of this script).
# Figures are printed, never asserted: this is not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RECORDS=${RECORDS:-2000000}
BIG=0
[ "${1:-}" = --big ] && BIG=1

scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target wharf wharf-kafka-load wharf-kafka-raw-produce >/dev/null
WHARF=$ROOT/build/wharf
LOAD=$ROOT/build/bench/wharf-kafka-load
RAW=$ROOT/build/bench/wharf-kafka-raw-produce

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wharf-bench.XXXXXX")
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }

# start DATA_DIR [extra serve flags]: starts the broker, sets PID and PORT,
# and STARTUP_MS (exec until the Kafka port accepts a connection).
start() {
  local dir=$1; shift
  PORT=$(free_port)
  local t0; t0=$(now_ns)
  "$WHARF" serve --data-dir "$dir" --kafka-listen "127.0.0.1:$PORT" --amqp-listen 127.0.0.1:0 --stomp-listen 127.0.0.1:0 --stomp-ws-listen 127.0.0.1:0 --log-level warn "$@" \
    >>"$SCRATCH/broker.log" 2>&1 &
  PID=$!
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    kill -0 "$PID" 2>/dev/null || { cat "$SCRATCH/broker.log"; echo "broker died" >&2; exit 1; }
    sleep 0.001
  done
  STARTUP_MS=$(( ($(now_ns) - t0) / 1000000 ))
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
load() { "$LOAD" --bootstrap "127.0.0.1:$PORT" "$@"; }

echo "# wharf kafka bench: $(nproc) cores, $RECORDS records of 100 bytes unless noted, $(date -u +%FT%TZ)"

# Start-up and idle memory on an empty data dir (best of 5 starts).
best=999999
for i in 1 2 3 4 5; do
  start "$SCRATCH/empty$i"
  [ "$STARTUP_MS" -lt "$best" ] && best=$STARTUP_MS
  [ "$i" = 5 ] && { sleep 1; echo "idle     rss_kb=$(rss_kb "$PID")"; }
  stop
done
echo "startup  empty_data_dir_ms=$best (exec to accepting connections, best of 5)"

start "$SCRATCH/data"
load --topic p1 --partitions 8 --records "$RECORDS" --acks 1
load --topic pall --partitions 8 --records "$RECORDS" --acks all
load --topic e2e --partitions 8 --records "$RECORDS" --acks 1 --mode e2e
load --topic lat --partitions 8 --records 100000 --acks 1 --mode e2e --rate 10000 --linger-ms 0
echo "loaded   rss_kb=$(rss_kb "$PID")"
stop

# Many partitions: round robin over 10,000 (each record to the next partition).
start "$SCRATCH/many"
load --topic many --partitions 10000 --records "$RECORDS" --acks 1
load --topic many8 --partitions 8 --records "$RECORDS" --acks 1
# The same round robin without librdkafka's per-partition client cost.
"$RAW" --bootstrap "127.0.0.1:$PORT" --topic many8 --partitions 8 --records $((RECORDS * 2))
"$RAW" --bootstrap "127.0.0.1:$PORT" --topic many --partitions 10000 --records $((RECORDS * 2))
echo "10k-part rss_kb=$(rss_kb "$PID") fds=$(ls /proc/$PID/fd | wc -l)"
stop

# Scaling with cores: the same produce load on 1 shard, then on every core.
for shards in 1 "$(nproc)"; do
  start "$SCRATCH/shards$shards" --shards "$shards"
  echo -n "shards=$shards "
  load --topic s --partitions 8 --records "$RECORDS" --acks 1
  stop
done

if [ "$BIG" = 1 ]; then
  # 10 GB in 100 kB records over 8 partitions, then a clean and a crash restart.
  start "$SCRATCH/big"
  load --topic big --partitions 8 --records 100000 --size 100000 --acks 1
  du -sh "$SCRATCH/big"
  stop
  start "$SCRATCH/big"
  echo "restart  clean_10GB_ms=$STARTUP_MS"
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
  start "$SCRATCH/big"
  echo "restart  after_kill9_10GB_ms=$STARTUP_MS"
  stop
fi
