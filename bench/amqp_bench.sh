#!/usr/bin/env bash
# The AMQP figures of the AMQP 0-9-1 issue, against Wharf and against Debian's
# rabbitmq-server in one run, with the same client (build/bench/wharf-amqp-load)
# and the same options:
#
#   bench/amqp_bench.sh                      # everything (a few minutes)
#   DURATION=5 FILL=200000 QUEUES=2000 bench/amqp_bench.sh   # shorter
#   ONLY=rabbitmq bench/amqp_bench.sh        # one broker (wharf or rabbitmq)
#
# Both brokers are started here on kernel-chosen ports with scratch data dirs
# and stopped at the end, also on error or ^C. They run one after the other,
# so each has the machine to itself: Wharf first, then RabbitMQ. A workload
# that fails on one broker is reported as an error in its column; the rest go
# on. Figures are printed, never asserted: this is not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}   # seconds of publishing per throughput run, measured seconds of the latency run
FILL=${FILL:-1000000}      # messages queued for the memory figure
QUEUES=${QUEUES:-10000}    # queues declared (and bound) for the declare figure
BATCH=${BATCH:-100}        # messages per send(2) of the publisher (see bench/amqp_publish_frames.h)
RATE=${RATE:-10000}        # messages/s of the latency run
TIMEOUT=${TIMEOUT:-900}    # seconds any one workload may take before it counts as failed
ONLY=${ONLY:-}

scripts/deps.sh build
if ! dpkg-query -W -f='${Status}' rabbitmq-server 2>/dev/null | grep -q "install ok installed"; then
  echo "installing rabbitmq-server"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rabbitmq-server >/dev/null
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target wharf wharf-amqp-load >/dev/null
WHARF=$ROOT/build/wharf
LOAD=$ROOT/build/bench/wharf-amqp-load
RMQ_BIN=/usr/lib/rabbitmq/bin  # the scripts themselves: /usr/sbin's wrappers su to the rabbitmq user

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wharf-amqp-bench.XXXXXX")
WHARF_PID=
RMQ_SCRIPT_PID=
RMQ_EPMD_PORT=
cleanup() {
  set +e
  stop_wharf
  stop_rabbitmq
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- Wharf ------------------------------------------------------------------

# Starts Wharf on a fresh data dir; sets WHARF_PID and PORT, or returns 1.
start_wharf() {
  local log=$SCRATCH/wharf.log
  : >"$log"
  "$WHARF" serve --data-dir "$SCRATCH/wharf-data" --kafka-listen 127.0.0.1:0 --amqp-listen 127.0.0.1:0 --stomp-listen 127.0.0.1:0 --stomp-ws-listen 127.0.0.1:0 \
    >>"$log" 2>&1 &
  WHARF_PID=$!
  for _ in $(seq 1000); do
    PORT=$(sed -n 's/.*amqp listening on .*(port \([0-9]*\)).*/\1/p' "$log" | head -1)
    [ -n "$PORT" ] && { BROKER_PID=$WHARF_PID; return 0; }
    kill -0 "$WHARF_PID" 2>/dev/null || break
    sleep 0.01
  done
  echo "wharf did not start; its log:" >&2
  tail -20 "$log" >&2
  stop_wharf
  return 1
}
stop_wharf() {
  [ -n "$WHARF_PID" ] || return 0
  kill "$WHARF_PID" 2>/dev/null
  wait "$WHARF_PID" 2>/dev/null
  WHARF_PID=
}

# --- RabbitMQ -----------------------------------------------------------------

# A private node: its own name, ports, epmd, Erlang cookie (HOME) and dirs, so
# it cannot meet another RabbitMQ on this machine, nor the system service.
rmq_env() {
  local d=$SCRATCH/rabbitmq
  env HOME="$d/home" ERL_EPMD_PORT="$RMQ_EPMD_PORT" RABBITMQ_NODENAME="$RMQ_NODE" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RMQ_PORT" RABBITMQ_DIST_PORT="$RMQ_DIST_PORT" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_PID_FILE="$d/pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_CONFIG_FILE="$d/rabbitmq" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" "$@"
}
rmqctl() { rmq_env "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

# Starts the node; sets RMQ_SCRIPT_PID, BROKER_PID (the Erlang VM) and PORT, or returns 1.
start_rabbitmq() {
  local d=$SCRATCH/rabbitmq
  mkdir -p "$d/home"
  echo '[].' >"$d/enabled_plugins"  # no management or other plugins
  RMQ_NODE=wharf-bench-$$@localhost
  RMQ_PORT=$(free_port); RMQ_DIST_PORT=$(free_port); RMQ_EPMD_PORT=$(free_port)
  rmq_env "$RMQ_BIN/rabbitmq-server" >"$d/server.log" 2>&1 </dev/null &
  RMQ_SCRIPT_PID=$!
  # await_startup fails at once while the node is not yet known to epmd.
  local deadline=$((SECONDS + 120))
  until rmqctl await_startup --timeout 10 >/dev/null 2>&1; do
    if ! kill -0 "$RMQ_SCRIPT_PID" 2>/dev/null || [ $SECONDS -gt $deadline ]; then
      echo "rabbitmq did not start; its output:" >&2
      tail -20 "$d/server.log" >&2
      return 1
    fi
    sleep 0.5
  done
  BROKER_PID=$(rmqctl eval 'os:getpid().' | tr -dc '0-9')
  PORT=$RMQ_PORT
}
stop_rabbitmq() {
  if [ -n "$RMQ_SCRIPT_PID" ]; then
    rmqctl stop >/dev/null 2>&1 || kill "$RMQ_SCRIPT_PID" 2>/dev/null
    wait "$RMQ_SCRIPT_PID" 2>/dev/null
    RMQ_SCRIPT_PID=
  fi
  # The epmd the node started on its private port; it refuses while a node is registered.
  [ -n "$RMQ_EPMD_PORT" ] && epmd -port "$RMQ_EPMD_PORT" -kill >/dev/null 2>&1
  RMQ_EPMD_PORT=
  return 0
}

# --- Workloads ------------------------------------------------------------------

declare -A FIG  # FIG[broker:figure] = value, or "error: why"

# workload BROKER NAME LOAD_ARGS...: runs one wharf-amqp-load, prints its line,
# keeps its key=value fields as FIG[BROKER:NAME.key].
workload() {
  local broker=$1 name=$2; shift 2
  local out=$SCRATCH/out err=$SCRATCH/err
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    FIG[$broker:$name]="error: broker not running"
    return 0
  fi
  if timeout --kill-after=10 "$TIMEOUT" "$LOAD" --port "$PORT" "$@" >"$out" 2>"$err"; then
    printf '%-9s %s\n' "$broker" "$(tr '\n' ' ' <"$out")"
    local kv
    for kv in $(grep -v cleanup "$out" | tr ' ' '\n' | grep '='); do FIG[$broker:$name.${kv%%=*}]=${kv#*=}; done
    FIG[$broker:$name]=ok
  else
    local rc=$? why
    why=$(grep -v '^$' "$err" | tail -1)
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timed out after ${TIMEOUT}s${why:+ ($why)}"; fi
    [ -n "$why" ] || why="exit status $rc"
    printf '%-9s %s FAILED: %s\n' "$broker" "$name" "$why"
    [ -s "$out" ] && printf '%-9s   %s\n' "" "$(tr '\n' ' ' <"$out")"
    FIG[$broker:$name]="error: ${why#wharf-amqp-load: }"
  fi
}

# The same list for both brokers. The fill runs first so the memory figure is
# that of a broker holding nothing but the 1,000,000 messages; the declares run
# last because RabbitMQ goes on deleting queues in the background afterwards.
run_all() {
  local b=$1
  workload "$b" fill --mode fill --durable --messages "$FILL" --batch "$BATCH" --pid "$BROKER_PID"
  workload "$b" transient --seconds "$DURATION" --batch "$BATCH"
  workload "$b" persistent --seconds "$DURATION" --batch "$BATCH" --persistent --confirm --manual-ack
  workload "$b" latency --mode latency --rate "$RATE" --seconds "$DURATION" --warmup 2
  workload "$b" declare --mode declare --durable --queues "$QUEUES"
}

echo "# wharf amqp bench: $(nproc) cores, $(date -u +%FT%TZ); RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server)"
echo "# 100-byte messages; throughput runs publish for ${DURATION}s in batches of $BATCH; latency at $RATE msg/s"
if [ "$ONLY" != rabbitmq ]; then
  if start_wharf; then
    echo "wharf     started: pid $BROKER_PID, amqp port $PORT"
    run_all wharf
  else
    for w in fill transient persistent latency declare; do FIG[wharf:$w]="error: wharf did not start"; done
  fi
  stop_wharf
fi
if [ "$ONLY" != wharf ]; then
  if start_rabbitmq; then
    echo "rabbitmq  started: pid $BROKER_PID, amqp port $PORT, node $RMQ_NODE"
    run_all rabbitmq
  else
    for w in fill transient persistent latency declare; do FIG[rabbitmq:$w]="error: rabbitmq did not start"; done
  fi
  stop_rabbitmq
fi

# --- Table ----------------------------------------------------------------------

# cell BROKER WORKLOAD KEY SCALE FORMAT: the figure divided by SCALE, or why it is missing.
cell() {
  local st=${FIG[$1:$2]:-not run}
  if [ "$st" != ok ]; then echo "$st"; return; fi
  awk -v v="${FIG[$1:$2.$3]:-}" -v s="$4" -v f="$5" 'BEGIN { if (v == "") print "n/a"; else printf f, v / s }'
}
num() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# ratio W R HIGHER_IS_BETTER: how many times better Wharf is.
ratio() {
  if num "$1" && num "$2"; then
    awk -v w="$1" -v r="$2" -v up="$3" 'BEGIN { if (w == 0 || r == 0) print "-"; else printf "%.1fx", up ? w / r : r / w }'
  else
    echo -
  fi
}
# row LABEL WORKLOAD KEY SCALE FORMAT HIGHER_IS_BETTER TARGET_TEXT TARGET_EXPR
# TARGET_EXPR is an awk condition on v (Wharf's figure) and r (RabbitMQ's).
row() {
  local w r rt vd=-
  w=$(cell wharf "$2" "$3" "$4" "$5"); r=$(cell rabbitmq "$2" "$3" "$4" "$5")
  rt=$(ratio "$w" "$r" "$6")
  if [ -n "$8" ] && num "$w" && { [[ "$8" != *r* ]] || num "$r"; }; then
    vd=$(awk -v v="$w" -v r="${r//[^0-9.]/}" "BEGIN { print (($8) ? \"met\" : \"MISSED\") }")
  fi
  # An error is "error" in its cell and in full below the table.
  [[ "$w" == error* ]] && { ERRORS["wharf $2"]=$w; w=error; }
  [[ "$r" == error* ]] && { ERRORS["rabbitmq $2"]=$r; r=error; }
  printf '%-46s %14s %14s %8s   %-16s %s\n' "$1" "$w" "$r" "$rt" "$7" "$vd"
}
declare -A ERRORS

echo
printf '%-46s %14s %14s %8s   %-16s %s\n' figure Wharf RabbitMQ ratio target "Wharf vs target"
row "transient, no-ack: consumed msg/s" transient consumed/s 1 %.0f 1 ">= 10x RabbitMQ" "v >= 10 * r"
row "transient, no-ack: published msg/s" transient published/s 1 %.0f 1 "" ""
row "persistent+durable+confirm+ack: consumed/s" persistent consumed/s 1 %.0f 1 ">= 5x RabbitMQ" "v >= 5 * r"
row "persistent+durable+confirm+ack: published/s" persistent published/s 1 %.0f 1 "" ""
row "latency p50 at $RATE msg/s (ms)" latency p50 1000 %.3f 0 "" ""
row "latency p99 at $RATE msg/s (ms)" latency p99 1000 %.3f 0 "<= 2 ms" "v <= 2"
row "latency p99.9 at $RATE msg/s (ms)" latency p99.9 1000 %.3f 0 "" ""
row "RSS with $FILL queued (MB)" fill rss_kb_settled 1024 %.1f 0 "<= 64 MB" "v <= 64"
row "RSS before filling (MB)" fill rss_kb_before 1024 %.1f 0 "" ""
row "fill with confirms: published msg/s" fill published/s 1 %.0f 1 "" ""
row "$QUEUES durable queue declares + binds (s)" declare seconds 1 %.2f 0 "<= 2 s" "v <= 2"
echo "(ratio: how many times better Wharf is; the targets are the AMQP issue's, checked on Wharf's figure)"
for k in "${!ERRORS[@]}"; do echo "$k: ${ERRORS[$k]}"; done | sort
