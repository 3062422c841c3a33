#!/usr/bin/env bash
# Engine feasibility check (not a test): from Maven Central jars only, on the default JDK,
#   (A) a Flink 1.20 MiniCluster runs a SQL SESSION window TVF over a topic of a local Kafka broker;
#   (B) an OpenSearch 2.19 node starts in a plain JVM and answers HTTP on 127.0.0.1.
# Prints versions, start times, peak RSS and PASS/FAIL per check; exit 0 only if all pass.
# Every process it starts is stopped on exit. See README.md.
#
# Env: FEAS_WORK (scratch dir, default /tmp/feas/run), MAVEN_REPO_LOCAL (e.g. an empty dir to time a
# cold resolve), FLINK_JVM_OPTS / OPENSEARCH_JVM_OPTS (extra JVM flags).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
WORK=${FEAS_WORK:-/tmp/feas/run}
KAFKA_LIB=$REPO/test/engines/kafka/target/lib
KAFKA_PORT=29092 KAFKA_CONTROLLER_PORT=29093 OS_HTTP_PORT=29200 OS_TRANSPORT_PORT=29300
MVN=(mvn -q -B)
[[ -n ${MAVEN_REPO_LOCAL:-} ]] && MVN+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")

T_START=$(date +%s)
declare -a PIDS=() RESULTS=()
FAILED=0

log() { printf '[feas %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
check() { # check NAME CONDITION-EXIT-CODE [detail]
  if [[ $2 -eq 0 ]]; then RESULTS+=("PASS  $1${3:+  ($3)}"); else RESULTS+=("FAIL  $1${3:+  ($3)}"); FAILED=1; fi
  log "${RESULTS[-1]}"
}
now_ms() { date +%s%3N; }
peak_rss() { awk -F': ' '/Maximum resident set size/ {printf "%d MiB", $2/1024}' "$1" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
stop_pid() { # stop_pid PID: TERM, wait up to 30 s, then KILL
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 60); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$p" 2>/dev/null
}
descendants() { local c; for c in $(pgrep -P "$1"); do descendants "$c"; echo "$c"; done; }
cleanup() {
  local p c left="" all=()
  for p in "${PIDS[@]}"; do all+=($(descendants "$p") "$p"); done   # children first
  for p in "${all[@]}"; do stop_pid "$p"; done
  wait 2>/dev/null
  rm -rf "$WORK/tmp"
  for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && left+=" $p"; done
  if [[ -n $left ]]; then echo "[feas] FAIL  processes still running:$left"; exit 1; fi
  echo "[feas] cleanup: all ${#all[@]} started processes are gone"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x /usr/bin/time ]]; then
  log "/usr/bin/time missing: installing the Debian 'time' package"
  { apt-get update -qq && apt-get install -y -qq time; } >/dev/null 2>&1 || log "could not install 'time'"
fi
TIME=(/usr/bin/time -v); [[ -x /usr/bin/time ]] || TIME=(env)   # without it: no peak RSS figures

# Flink leaves flink-rpc-akka*.jar (21 MB), minicluster_* and flink-web-upload in java.io.tmpdir:
# every JVM here gets $WORK/tmp, emptied on exit.
rm -rf "$WORK" && mkdir -p "$WORK/tmp"
log "java: $(java -version 2>&1 | head -1); maven: $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"

# ---------------------------------------------------------------- build
for m in flink opensearch; do
  t=$(now_ms)
  "${MVN[@]}" -f "$HERE/$m/pom.xml" compile dependency:copy-dependencies >"$WORK/build-$m.log" 2>&1
  check "build $m (mvn compile + copy-dependencies)" $? "$(( $(now_ms) - t )) ms, lib $(du -sh "$HERE/$m/target/lib" 2>/dev/null | cut -f1)"
done
if [[ ! -d $KAFKA_LIB ]]; then
  "${MVN[@]}" -f "$REPO/test/engines/kafka/pom.xml" dependency:copy-dependencies >"$WORK/build-kafka.log" 2>&1
fi
ver() { ls "$1" | sed -n "s/^$2-\([0-9].*\)\.jar$/\1/p" | head -1; }
FLINK_LIB=$HERE/flink/target/lib OS_LIB=$HERE/opensearch/target/lib
log "versions: flink $(ver "$FLINK_LIB" flink-core), flink-connector-kafka $(ver "$FLINK_LIB" flink-connector-kafka)" \
    "(kafka-clients $(ver "$FLINK_LIB" kafka-clients)), kafka broker $(ver "$KAFKA_LIB" kafka-clients)," \
    "opensearch $(ver "$OS_LIB" opensearch) (lucene $(ver "$OS_LIB" lucene-core))"

# ---------------------------------------------------------------- Kafka broker (KRaft, 1 node)
mkdir -p "$WORK/kafka"
cat >"$WORK/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$WORK/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
cat >"$WORK/kafka/log4j.properties" <<EOF
log4j.rootLogger=INFO, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$WORK/kafka/kafka.log
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
KCP="$KAFKA_LIB/*"
KLOG=-Dlog4j.configuration="file:$WORK/kafka/log4j.properties"
java "$KLOG" -cp "$KCP" kafka.tools.StorageTool format -c "$WORK/kafka/server.properties" \
  -t "$(java "$KLOG" -cp "$KCP" kafka.tools.StorageTool random-uuid)" >"$WORK/kafka/format.log" 2>&1
java -Xmx512m -Djava.io.tmpdir="$WORK/tmp" "$KLOG" -cp "$KCP" kafka.Kafka \
  "$WORK/kafka/server.properties" >"$WORK/kafka/stdout.log" 2>&1 &
KAFKA_PID=$!; PIDS+=("$KAFKA_PID")
for _ in $(seq 120); do port_open $KAFKA_PORT && break; kill -0 $KAFKA_PID 2>/dev/null || break; sleep 0.5; done
port_open $KAFKA_PORT; check "kafka broker up on 127.0.0.1:$KAFKA_PORT" $?

# ---------------------------------------------------------------- (A) Flink
log "(A) Flink MiniCluster: SESSION window TVF over Kafka"
# shellcheck disable=SC2086
"${TIME[@]}" -o "$WORK/flink.time" timeout 300 java -Xmx512m -Djava.io.tmpdir="$WORK/tmp" ${FLINK_JVM_OPTS:-} \
  -cp "$HERE/flink/target/classes:$FLINK_LIB/*" platform.feasibility.SessionWindowFeasibility \
  "127.0.0.1:$KAFKA_PORT" feas-events >"$WORK/flink.log" 2>&1 &
FLINK_TPID=$!; PIDS+=("$FLINK_TPID")
wait $FLINK_TPID; rc=$?
grep -E '^(flink\.|kafka\.produce|session row|PASS|FAIL)' "$WORK/flink.log" | sed 's/^/    /'
FLINK_FIRST=$(sed -n 's/^flink.job_submit_to_first_row_ms=//p' "$WORK/flink.log")
FLINK_JVM_FIRST=$(sed -n 's/^flink.jvm_start_to_first_row_ms=//p' "$WORK/flink.log")
FLINK_WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/flink.time")
FLINK_RSS=$(peak_rss "$WORK/flink.time")
check "flink session window TVF over kafka produced the 5 expected sessions" $rc \
  "job submit->first row ${FLINK_FIRST:-?} ms, JVM start->first row ${FLINK_JVM_FIRST:-?} ms, wall $FLINK_WALL, peak RSS $FLINK_RSS"
[[ $rc -ne 0 ]] && tail -40 "$WORK/flink.log"

stop_pid $KAFKA_PID; kill -0 $KAFKA_PID 2>/dev/null; [[ $? -ne 0 ]]; check "kafka broker stopped" $?

# ---------------------------------------------------------------- (B) OpenSearch
log "(B) OpenSearch node on 127.0.0.1:$OS_HTTP_PORT"
OS_T0=$(now_ms)
# shellcheck disable=SC2086
"${TIME[@]}" -o "$WORK/opensearch.time" java -Xms512m -Xmx512m -Djava.io.tmpdir="$WORK/tmp" ${OPENSEARCH_JVM_OPTS:-} \
  -cp "$HERE/opensearch/target/classes:$OS_LIB/*" platform.feasibility.OpenSearchNodeFeasibility \
  "$WORK/opensearch" $OS_HTTP_PORT $OS_TRANSPORT_PORT >"$WORK/opensearch.log" 2>&1 &
OS_TPID=$!; PIDS+=("$OS_TPID")
OS_PID=""
for _ in $(seq 50); do OS_PID=$(pgrep -P $OS_TPID java); [[ -n $OS_PID ]] && break; sleep 0.1; done
[[ -n $OS_PID ]] && PIDS=("$OS_PID" "${PIDS[@]}")   # stop the JVM (child of time) first
URL=http://127.0.0.1:$OS_HTTP_PORT
for _ in $(seq 480); do curl -fs -m 1 "$URL/" >/dev/null && break; kill -0 $OS_TPID 2>/dev/null || break; sleep 0.25; done
OS_UP=$(( $(now_ms) - OS_T0 ))
ROOT=$(curl -fs -m 5 "$URL/"); echo "$ROOT" | sed 's/^/    /'
echo "$ROOT" | grep -Eq '"number" *: *"2\.19\.[0-9]+"'
check "opensearch GET / answers with version $(echo "$ROOT" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p')" $? \
  "process start->HTTP answering $OS_UP ms"
R=$(curl -s -m 30 -XPUT "$URL/feas" -H 'Content-Type: application/json' \
  -d '{"settings":{"number_of_shards":1,"number_of_replicas":0}}'); echo "    $R"
echo "$R" | grep -q '"acknowledged":true'; check "opensearch create index" $?
R=$(curl -s -m 30 -XPUT "$URL/feas/_doc/1?refresh=true" -H 'Content-Type: application/json' \
  -d '{"k":"a","msg":"hello session window","ts":"2025-01-01T00:00:00Z"}'); echo "    $R"
echo "$R" | grep -q '"result":"created"'; check "opensearch index doc" $?
R=$(curl -s -m 30 "$URL/feas/_search" -H 'Content-Type: application/json' \
  -d '{"query":{"match":{"msg":"session"}}}'); echo "    $R"
echo "$R" | grep -q '"total":{"value":1,' && echo "$R" | grep -q '"_id":"1"'; check "opensearch search finds the doc" $?
LISTEN=$(ss -Hltnp 2>/dev/null | grep "pid=$OS_PID," | awk '{print $4}' | sort -u | tr '\n' ' ')
[[ -n $LISTEN ]] && ! echo "$LISTEN" | tr ' ' '\n' | grep -v '^$' | grep -Evq '^(\[::ffff:)?127\.0\.0\.1\]?:'
check "opensearch listens on 127.0.0.1 only" $? "$LISTEN"
stop_pid "$OS_PID"; wait $OS_TPID 2>/dev/null
OS_RSS=$(peak_rss "$WORK/opensearch.time")
kill -0 "$OS_TPID" 2>/dev/null; [[ $? -ne 0 ]]; check "opensearch stopped" $? "peak RSS $OS_RSS"

# ---------------------------------------------------------------- summary
echo
echo "================ engine feasibility summary ================"
echo "java        : $(java -version 2>&1 | head -1)"
echo "flink       : $(ver "$FLINK_LIB" flink-core) (+ flink-connector-kafka $(ver "$FLINK_LIB" flink-connector-kafka), kafka-clients $(ver "$FLINK_LIB" kafka-clients)); kafka broker $(ver "$KAFKA_LIB" kafka-clients)"
echo "  start     : job submit -> first session row ${FLINK_FIRST:-?} ms (JVM start -> first row ${FLINK_JVM_FIRST:-?} ms)"
echo "  peak RSS  : ${FLINK_RSS:-?} (-Xmx512m)"
echo "opensearch  : $(ver "$OS_LIB" opensearch) (lucene $(ver "$OS_LIB" lucene-core))"
echo "  start     : process start -> HTTP answering $OS_UP ms"
echo "  peak RSS  : ${OS_RSS:-?} (-Xms512m -Xmx512m)"
printf '%s\n' "${RESULTS[@]}"
echo "run.sh total: $(( $(date +%s) - T_START )) s"
exit $FAILED
