#!/usr/bin/env bash
# The STOMP figures of the STOMP issue, against Debian's ActiveMQ and against
# Wharf in one run, with the same client (build/bench/wharf-stomp-load) and
# the same options:
#
#   bench/stomp_bench.sh                        # both brokers (a few minutes)
#   bench/stomp_bench.sh --only activemq        # one broker: activemq or wharf
#   COUNT=200000 PCOUNT=50000 bench/stomp_bench.sh   # shorter
#
# Both brokers are started here on kernel-chosen ports with scratch data dirs
# and stopped (by PID) at the end, also on error or ^C. They run one after the
# other, so each has the machine to itself: ActiveMQ first, then Wharf. A
# workload that fails on one broker is reported as an error in its column; the
# rest go on. Figures are printed, never asserted: this is not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COUNT=${COUNT:-500000}       # timed messages of the transient run
WARMUP=${WARMUP:-100000}     # untimed messages first (ActiveMQ's JIT needs them)
PCOUNT=${PCOUNT:-200000}     # timed messages of the persistent run
PWARMUP=${PWARMUP:-50000}
BATCH=${BATCH:-100}          # SEND frames per send(2) in the throughput runs
RATE=${RATE:-10000}          # messages/s of the latency run
LSECONDS=${LSECONDS:-10}     # measured seconds of the latency run (after 2 s of warm-up)
TIMEOUT=${TIMEOUT:-900}      # seconds any one workload may take before it counts as failed
AMQ_HEAP=${AMQ_HEAP:-1g}     # ActiveMQ's -Xms/-Xmx
AMQ_TRANSPORT=${AMQ_TRANSPORT:-stomp+nio}  # or stomp (one thread per connection)
AMQ_URI_OPTS=${AMQ_URI_OPTS-?transport.tcpNoDelay=true}  # connector URI options (see bench/README.md)
AMQ_JAVA_OPTS=${AMQ_JAVA_OPTS:-}       # more JVM flags for ActiveMQ, e.g. -Xlog:gc:file=/tmp/gc.log
JOBS=${JOBS:-2}
ONLY=${ONLY:-}

while [ $# -gt 0 ]; do
  case $1 in
    --only) ONLY=${2:?--only needs activemq or wharf}; shift 2 ;;
    --only=*) ONLY=${1#--only=}; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $ONLY in ""|activemq|wharf) ;; *) echo "--only takes activemq or wharf" >&2; exit 2 ;; esac

scripts/deps.sh build
AMQ_HOME=/usr/share/activemq
if [ "$ONLY" != wharf ] && [ ! -f "$AMQ_HOME/bin/activemq.jar" ]; then
  echo "installing activemq"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq activemq >/dev/null
fi
[ -f build/build.ninja ] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(wharf-stomp-load)
[ "$ONLY" = activemq ] || [ -n "${WHARF_BIN:-}" ] || targets+=(wharf)
cmake --build build -j "$JOBS" --target "${targets[@]}" >/dev/null
WHARF=${WHARF_BIN:-$ROOT/build/wharf}  # WHARF_BIN: another build of the broker
LOAD=$ROOT/build/bench/wharf-stomp-load

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wharf-stomp-bench.XXXXXX")
WHARF_PID=
AMQ_PID=
BROKER_PID=
cleanup() {
  set +e
  stop_wharf
  stop_activemq
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# stop_pid PID: SIGTERM, then SIGKILL after 30 s; only ever a PID started here.
stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true  # its status is the signal's
  return 0
}

# --- ActiveMQ ---------------------------------------------------------------------

# A private broker: its own base, conf and data dirs under $SCRATCH, one STOMP
# connector on a free loopback port, no OpenWire/JMX/web console, KahaDB with
# an fsync per sync write (its default, spelled out). Java runs directly
# (the Debian wrapper would su to the activemq user and manage a PID file).
start_activemq() {
  local d=$SCRATCH/activemq
  mkdir -p "$d/conf" "$d/data" "$d/tmp"
  local port
  port=$(free_port)
  cat >"$d/conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
                           http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="wharf-stomp-bench"
          useJmx="false" schedulerSupport="false" dataDirectory="$d/data">
    <persistenceAdapter>
      <kahaDB directory="$d/data/kahadb" journalDiskSyncStrategy="always"/>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="$AMQ_TRANSPORT://127.0.0.1:$port$AMQ_URI_OPTS"/>
    </transportConnectors>
  </broker>
</beans>
EOF
  # The Debian jars log through log4j 1.2.
  cat >"$d/conf/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d{HH:mm:ss.SSS} %-5p %m%n
EOF
  local log=$d/console.log
  # shellcheck disable=SC2086  # AMQ_JAVA_OPTS is a list of flags
  java -Xms"$AMQ_HEAP" -Xmx"$AMQ_HEAP" $AMQ_JAVA_OPTS \
    -Dlog4j.configuration="file:$d/conf/log4j.properties" \
    -Dactivemq.classpath="$d/conf" -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$d" \
    -Dactivemq.conf="$d/conf" -Dactivemq.data="$d/data" -Djava.io.tmpdir="$d/tmp" \
    -jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$d/conf/activemq.xml" >"$log" 2>&1 </dev/null &
  AMQ_PID=$!
  for _ in $(seq 1200); do
    if grep -q "Connector stomp started" "$log"; then
      BROKER_PID=$AMQ_PID
      PORT=$port
      return 0
    fi
    kill -0 "$AMQ_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "activemq did not start; its log:" >&2
  tail -20 "$log" >&2
  stop_activemq
  return 1
}
stop_activemq() {
  [ -n "$AMQ_PID" ] || return 0
  stop_pid "$AMQ_PID"
  AMQ_PID=
}

# --- Wharf ---------------------------------------------------------------------

# Starts Wharf on a fresh data dir; sets WHARF_PID, BROKER_PID and PORT, or returns 1.
start_wharf() {
  local log=$SCRATCH/wharf.log
  : >"$log"
  "$WHARF" serve --data-dir "$SCRATCH/wharf-data" --kafka-listen 127.0.0.1:0 --amqp-listen 127.0.0.1:0 \
    --stomp-listen 127.0.0.1:0 >>"$log" 2>&1 </dev/null &
  WHARF_PID=$!
  for _ in $(seq 1000); do
    PORT=$(sed -n 's/.*stomp listening on .*(port \([0-9]*\)).*/\1/p' "$log" | head -1)
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
  stop_pid "$WHARF_PID"
  WHARF_PID=
}

# --- Workloads ------------------------------------------------------------------

declare -A FIG  # FIG[broker:figure] = ok or "error: why"; FIG[broker:figure.key] = value

# CPU seconds (user + system) the broker has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# workload BROKER NAME LOAD_ARGS...: runs one wharf-stomp-load, prints its line
# and the broker's CPU time for it, keeps the key=value fields as FIG[BROKER:NAME.key].
workload() {
  local broker=$1 name=$2; shift 2
  local out=$SCRATCH/out err=$SCRATCH/err
  if ! kill -0 "$BROKER_PID" 2>/dev/null; then
    FIG[$broker:$name]="error: broker not running"
    return 0
  fi
  local cpu0 cpu1
  cpu0=$(cpu_s "$BROKER_PID")
  if timeout --kill-after=10 "$TIMEOUT" "$LOAD" --port "$PORT" --mode "$name" "$@" >"$out" 2>"$err"; then
    cpu1=$(cpu_s "$BROKER_PID")
    echo "broker_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') rss_mb=$(rss_mb "$BROKER_PID")" >>"$out"
    printf '%-9s %s\n' "$broker" "$(tr '\n' ' ' <"$out")"
    local kv
    for kv in $(tr ' ' '\n' <"$out" | grep '='); do FIG[$broker:$name.${kv%%=*}]=${kv#*=}; done
    FIG[$broker:$name]=ok
  else
    local rc=$? why
    why=$(grep -v -e '^ ' -e '^$' "$err" | tail -1 || true)
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then why="timed out after ${TIMEOUT}s${why:+ ($why)}"; fi
    [ -n "$why" ] || why="exit status $rc"
    printf '%-9s %s FAILED: %s\n' "$broker" "$name" "$why"
    sed 's/^/            /' "$err" | head -5
    [ -s "$out" ] && printf '%-9s   %s\n' "" "$(tr '\n' ' ' <"$out")"
    FIG[$broker:$name]="error: ${why#wharf-stomp-load: }"
  fi
}

WORKLOADS=(transient persistent latency)
run_all() {
  local b=$1
  workload "$b" transient --count "$COUNT" --warmup "$WARMUP" --batch "$BATCH"
  workload "$b" persistent --count "$PCOUNT" --warmup "$PWARMUP" --batch "$BATCH"
  workload "$b" latency --rate "$RATE" --count $((RATE * LSECONDS)) --warmup $((RATE * 2))
}

AMQ_VERSION=$(dpkg-query -W -f='${Version}' activemq 2>/dev/null || echo "?")
echo "# wharf stomp bench: $(nproc) cores, $(date -u +%FT%TZ); ActiveMQ $AMQ_VERSION ($AMQ_TRANSPORT, -Xmx$AMQ_HEAP)"
echo "# 100-byte bodies, 1 producer + 1 consumer connection on one queue; transient: $COUNT messages (after $WARMUP),"
echo "# ack:auto; persistent: $PCOUNT (after $PWARMUP), receipt every 100 (window 1000), ack:client every 100,"
echo "# prefetch 1000; latency: $RATE msg/s for ${LSECONDS} s after 2 s"
if [ "$ONLY" != wharf ]; then
  if start_activemq; then
    echo "activemq  started: pid $BROKER_PID, stomp port $PORT"
    run_all activemq
  else
    for w in "${WORKLOADS[@]}"; do FIG[activemq:$w]="error: activemq did not start"; done
  fi
  stop_activemq
fi
if [ "$ONLY" != activemq ]; then
  if start_wharf; then
    echo "wharf     started: pid $BROKER_PID, stomp port $PORT"
    run_all wharf
  else
    for w in "${WORKLOADS[@]}"; do FIG[wharf:$w]="error: wharf did not start (no STOMP listener?)"; done
  fi
  stop_wharf
fi

# --- Table ----------------------------------------------------------------------

# cell BROKER WORKLOAD KEY FORMAT: the figure, or why it is missing.
cell() {
  local st=${FIG[$1:$2]:-not run}
  if [ "$st" != ok ]; then echo "$st"; return; fi
  awk -v v="${FIG[$1:$2.$3]:-}" -v f="$4" 'BEGIN { if (v == "" || v == "n/a") print "n/a"; else printf f, v }'
}
num() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# ratio W A HIGHER_IS_BETTER: how many times better Wharf is.
ratio() {
  if num "$1" && num "$2"; then
    awk -v w="$1" -v a="$2" -v up="$3" 'BEGIN { if (w == 0 || a == 0) print "-"; else printf "%.1fx", up ? w / a : a / w }'
  else
    echo -
  fi
}
declare -A ERRORS
# row LABEL WORKLOAD KEY FORMAT HIGHER_IS_BETTER TARGET_TEXT TARGET_EXPR
# TARGET_EXPR is an awk condition on v (Wharf's figure) and a (ActiveMQ's).
row() {
  local w a rt vd=-
  w=$(cell wharf "$2" "$3" "$4"); a=$(cell activemq "$2" "$3" "$4")
  rt=$(ratio "$w" "$a" "$5")
  if [ -n "$7" ] && num "$w" && { [[ "$7" != *a* ]] || num "$a"; }; then
    vd=$(awk -v v="$w" -v a="${a//[^0-9.]/}" "BEGIN { print (($7) ? \"met\" : \"MISSED\") }")
  fi
  [[ "$w" == error* || "$w" == "not run" ]] && { [[ "$w" == error* ]] && ERRORS["wharf $2"]=$w; w=${w%%:*}; }
  [[ "$a" == error* || "$a" == "not run" ]] && { [[ "$a" == error* ]] && ERRORS["activemq $2"]=$a; a=${a%%:*}; }
  printf '%-44s %12s %12s %8s   %-18s %s\n' "$1" "$w" "$a" "$rt" "$6" "$vd"
}

echo
printf '%-44s %12s %12s %8s   %-18s %s\n' figure Wharf ActiveMQ ratio target "Wharf vs target"
row "transient, ack:auto: consumed msg/s" transient consumed/s %.0f 1 ">= 10x ActiveMQ" "v >= 10 * a"
row "transient, ack:auto: published msg/s" transient published/s %.0f 1 "" ""
row "transient: broker CPU s" transient broker_cpu_s %.2f 0 "" ""
row "persistent+receipts+client ack: consumed/s" persistent consumed/s %.0f 1 ">= 10x ActiveMQ" "v >= 10 * a"
row "persistent+receipts+client ack: published/s" persistent published/s %.0f 1 "" ""
row "persistent: broker CPU s" persistent broker_cpu_s %.2f 0 "" ""
row "latency p50 at $RATE msg/s (ms)" latency p50_ms %.3f 0 "" ""
row "latency p99 at $RATE msg/s (ms)" latency p99_ms %.3f 0 "<= 2 ms" "v <= 2"
row "latency p99.9 at $RATE msg/s (ms)" latency p99.9_ms %.3f 0 "" ""
row "broker RSS after the runs (MB)" latency rss_mb %.1f 0 "" ""
echo "(ratio: how many times better Wharf is; the targets are the STOMP issue's, checked on Wharf's figure)"
for k in "${!ERRORS[@]}"; do echo "$k: ${ERRORS[$k]}"; done | sort
