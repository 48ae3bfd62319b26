#!/bin/sh
# End-to-end test of `hubao kafka` (the release build, shipped models)
# against librdkafka's mock cluster (build/kafka-mock-cluster, three brokers
# on loopback), with Debian's kcat as the independent client that writes
# the inputs and reads the outputs (tests/integration/kafka_check.py):
#   1. 2,000 requests through one instance: one output each, in input
#      order per partition, ids and keys carried, replies as `hubao check
#      --json` gives them, stats add up
#   2. two instances in one group, one SIGKILLed mid-stream: the survivor
#      takes its partitions over and every input has an output
#   3. a partition leader, then every broker, down for a few seconds
#      mid-stream: nothing lost, the instance lives on
#   4. malformed records: one error reply each with its code, a copy in
#      the dead-letter topic; a batch, a batch whose reply is over the
#      producer's message.max.bytes (too_large instead), a good record and
#      one without a key after them served
#   5. --input text: replies as `hubao check --json` gives them; SIGHUP
#      with a corrupt bundle refused, the old models serving, then a good one
#   6. SIGTERM mid-stream (cooperative assignor): exit 0, and a second
#      instance in the group (a small --max-in-flight) answers the rest
#      without repeating anything
#   7. usage errors exit 2; a missing topic and an unreachable cluster
#      exit 3 with a message, in bounded time
# Every wait is bounded; everything listens on 127.0.0.1 only.
set -u
HUBAO=${HUBAO:-build/hubao}
MOCK=${KAFKA_MOCK:-build/kafka-mock-cluster}
PY=/usr/bin/python3
CHECK=tests/integration/kafka_check.py
TMP=${TMPDIR:-/tmp}/hubao-kafka-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
. tests/integration/lib/proc.sh
kc() { "$PY" "$CHECK" "$@"; }

PIDS=""
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT
trap 'exit 1' INT TERM

for need in "$HUBAO" "$MOCK"; do
  [ -x "$need" ] || { bad "$need is not built (make build)"; exit 1; }
done
command -v kcat >/dev/null || { bad "kcat is not installed (tools/install-deps)"; exit 1; }


# start NAME ARGS...: `hubao kafka --brokers $B ARGS` in the background,
# its log in $TMP/NAME.log; sets PID
start() {
  name=$1; shift
  "$HUBAO" kafka --brokers "$B" "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
  PID=$!
  PIDS="$PIDS $PID"
}

# produce_bg TOPIC N PREFIX RATE: N requests at RATE a second, in the
# background; sets PROD
produce_bg() {
  kc produce "$B" "$1" "$2" "$3" --rate "$4" 2>"$TMP/produce-$3.err" &
  PROD=$!
  PIDS="$PIDS $PROD"
}

# mock CMD: send CMD to the mock cluster and wait (10 s max) for its "ok"
mock() {
  n=$(wc -l <"$TMP/mock.out")
  echo "$1" >&3
  i=0
  while [ "$(wc -l <"$TMP/mock.out")" -le "$n" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  sed -n "$((n + 1))p" "$TMP/mock.out" | grep -qx ok
}

# ---- the mock cluster: every topic made up front (the mock would create a
# missing one on a producer's metadata request) ---------------------------
mkfifo "$TMP/mock.in"
exec 3<>"$TMP/mock.in"
"$MOCK" 3 --topic in1:6 --topic out1:4 --topic in2:6 --topic out2:6 --topic in3:6 \
  --topic out3:6 --topic in4:1 --topic out4:1 --topic dlq4:1 --topic in5:2 --topic out5:2 \
  --topic in6:6 --topic out6:6 --topic out7:1 <"$TMP/mock.in" >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCKPID=$!
PIDS="$PIDS $MOCKPID"
i=0
while [ ! -s "$TMP/mock.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
B=$(head -1 "$TMP/mock.out")
case $B in
  127.0.0.1:*) ok "mock cluster of 3 brokers on $B" ;;
  *) bad "mock cluster did not start"; cat "$TMP/mock.err"; exit 1 ;;
esac

# ---- 7 (first: no cluster state needed). usage and start-up errors ----------
expect "hubao kafka --help lists the settings" sh -c \
  '"$1" kafka --help | grep -q -- "--dead-letter" && "$1" kafka --help | grep -q -- "--max-in-flight"' _ "$HUBAO"
"$HUBAO" kafka --group g --input-topic in1 --output-topic out1 2>"$TMP/usage1.err"
expect "no --brokers: exit 2 with a message" sh -c 'test $1 -eq 2 && test -s "$2"' _ $? "$TMP/usage1.err"
"$HUBAO" kafka --brokers "$B" --group g --input-topic in1 --output-topic out1 --input yaml \
  2>"$TMP/usage2.err"
expect "--input yaml: exit 2 with a message" sh -c 'test $1 -eq 2 && test -s "$2"' _ $? "$TMP/usage2.err"
t0=$(date +%s)
start nosuch --group g7 --input-topic no-such-topic --output-topic out7
NOSUCH=$PID
"$HUBAO" kafka --brokers 127.0.0.1:1 --group g7 --input-topic in1 --output-topic out1 \
  >/dev/null 2>"$TMP/unreachable.log" &
UNREACH=$!; PIDS="$PIDS $UNREACH"
stop_wait $NOSUCH 30
t1=$(date +%s)
expect "a missing input topic: exit 3 within 20 s, naming it" sh -c \
  'test "$1" = 3 && test $2 -le 20 && grep -q no-such-topic "$3"' _ "$STATUS" $((t1 - t0)) "$TMP/nosuch.log"
echo "    (status $STATUS after $((t1 - t0)) s: $(tail -1 "$TMP/nosuch.log" | cut -c1-200))"
stop_wait $UNREACH 30
t1=$(date +%s)
expect "an unreachable broker list: exit 3 within 20 s, with a message" sh -c \
  'test "$1" = 3 && test $2 -le 20 && test -s "$3"' _ "$STATUS" $((t1 - t0)) "$TMP/unreachable.log"
echo "    (status $STATUS after at most $((t1 - t0)) s: $(tail -1 "$TMP/unreachable.log" | cut -c1-200))"

# ---- 1. 2,000 requests through one instance ----------------------------------
expect "2000 requests into in1 (6 partitions)" kc produce "$B" in1 2000 r1
start one --group g1 --input-topic in1 --output-topic out1 --threads 2 --stats-interval-ms 500
ONE=$PID
expect "one output for each of the 2000 inputs" kc wait-all "$B" in1 out1 2000 60
expect "... exactly one each, in input order per partition (out1 has 4), ids and keys kept, no errors, replies as hubao check --json" \
  kc verify "$B" in1 out1 --exact --hubao "$HUBAO"
expect "... and stats: 2000 in, 2000 out, no errors, nothing in flight, no lag" \
  kc wait-stats "$TMP/one.log" 2000 20
kill -TERM $ONE
stop_wait $ONE 30
expect "... SIGTERM: exit 0" test "$STATUS" = 0
expect "... no more outputs since" kc verify "$B" in1 out1 --exact

# ---- 2. two instances, one SIGKILLed mid-stream ------------------------------
# a short session so that the group notices the dead one in seconds
printf 'session.timeout.ms=6000\nheartbeat.interval.ms=500\n' >"$TMP/fast.conf"
start twoA --group g2 --input-topic in2 --output-topic out2 --threads 1 \
  --stats-interval-ms 500 --kafka-conf "$TMP/fast.conf"
A=$PID
start twoB --group g2 --input-topic in2 --output-topic out2 --threads 1 \
  --stats-interval-ms 500 --kafka-conf "$TMP/fast.conf"
BB=$PID
expect "two instances in group g2 share in2's 6 partitions" \
  kc wait-split "$TMP/twoA.log" "$TMP/twoB.log" 6 60
produce_bg in2 2400 r2 300
expect "some outputs while the inputs still flow" kc wait-out "$B" out2 400 60
kill -KILL $A
expect "after SIGKILL of one, the other is assigned its partitions" \
  kc wait-takeover "$TMP/twoA.log" "$TMP/twoB.log" 6 60
stop_wait $PROD 60
expect "... the producer finished" test "$STATUS" = 0
expect "... and every one of the 2400 inputs has an output" kc wait-all "$B" in2 out2 2400 60
kc verify "$B" in2 out2 >"$TMP/two.counts" 2>"$TMP/two.err"
expect "... each output well formed (at least once)" sh -c 'cat "$1" "$2"; test -s "$1" && ! test -s "$2"' \
  _ "$TMP/two.counts" "$TMP/two.err"
echo "    SIGKILL test: $(cat "$TMP/two.counts")"
kill -TERM $BB
stop_wait $BB 30
expect "... the survivor exits 0 on SIGTERM" test "$STATUS" = 0

# ---- 3. brokers down for a while --------------------------------------------
L=$(kc stuck-leader "$B" in3 out3)
start three --group g3 --input-topic in3 --output-topic out3 --threads 2 --stats-interval-ms 500
THREE=$PID
expect "an instance in group g3 is assigned in3's partitions" \
  kc wait-event "$TMP/three.log" assigned 1 60
# the inputs keep coming through both outages (kcat gives up while every
# broker is down: kafka_check.py sends those again, so a few inputs may be
# there twice, each needing its output)
produce_bg in3 2000 r3 200
expect "outputs flowing" kc wait-out "$B" out3 300 60
from=$(($(wc -l <"$TMP/three.log") + 1))
expect "broker $L down (it leads partitions of out3, others lead in3's)" mock "down $L"
sleep 4
to=$(wc -l <"$TMP/three.log")
expect "... up again after 4 s" mock "up $L"
expect "... the outage caught records in flight (stats while it lasted)" \
  sh -c 'test "$("$0" "$1" most "$2" in_flight $3 $4)" -gt 0' "$PY" "$CHECK" "$TMP/three.log" $from $to
expect "every broker down" mock "down -1"
sleep 3
expect "... up again after 3 s" mock "up -1"
stop_wait $PROD 90
expect "... the producer finished" test "$STATUS" = 0
expect "every one of the (2000 or more) inputs has an output" kc wait-all "$B" in3 out3 2000 60
kc verify "$B" in3 out3 >"$TMP/three.counts" 2>"$TMP/three.err"
expect "... each output well formed" sh -c 'cat "$1" "$2"; test -s "$1" && ! test -s "$2"' \
  _ "$TMP/three.counts" "$TMP/three.err"
echo "    broker-down test: $(cat "$TMP/three.counts")"
expect "... hubao kafka still running" running $THREE
kill -TERM $THREE
stop_wait $THREE 30
expect "... and exits 0 on SIGTERM" test "$STATUS" = 0

# ---- 4. malformed records, dead letters, brief replies ---------------------
expect "malformed records, batches, a good one and one without a key into in4" \
  kc produce-malformed "$B" in4 20000
printf 'producer.message.max.bytes=100000\n' >"$TMP/small.conf"
start four --group g4 --input-topic in4 --output-topic out4 --dead-letter dlq4 \
  --max-request-bytes 20000 --detail brief --stats-interval-ms 500 --kafka-conf "$TMP/small.conf"
FOUR=$PID
expect "one output each" kc wait-all "$B" in4 out4 14 60
expect "... error replies with their codes, dead-letter copies, a reply too large to produce replaced, the good one classified" \
  kc check-malformed "$B" in4 out4 dlq4
expect "... still running" running $FOUR
kill -TERM $FOUR
stop_wait $FOUR 30
expect "... exits 0 on SIGTERM" test "$STATUS" = 0

# ---- 5. --input text, SIGHUP with a corrupt then a good bundle -------------
# on a copy of the shipped models, so that one can be broken
cp -r models "$TMP/models"
expect "plain text records into in5" kc produce-text "$B" in5 t1
start five --group g5 --input-topic in5 --output-topic out5 --input text --models "$TMP/models"
FIVE=$PID
expect "--input text: one output each" kc wait-all "$B" in5 out5 7 60
expect "... replies as hubao check --json gives them, errors for bad text" \
  kc check-text "$B" in5 out5 "$HUBAO"
printf 'garbage' >>"$TMP/models/spam/model.svm"
kill -HUP $FIVE
expect "SIGHUP with a corrupt bundle: the reload is refused" \
  kc wait-event "$TMP/five.log" reload 1 20 ok=false
expect "... still running" running $FIVE
expect "... more records" kc produce-text "$B" in5 t2
expect "... answered" kc wait-all "$B" in5 out5 14 60
expect "... on the old models, as before" kc check-text "$B" in5 out5 "$HUBAO"
rm -rf "$TMP/models/spam" && cp -r models/spam "$TMP/models/spam"
kill -HUP $FIVE
expect "SIGHUP with the bundle mended: reloaded" kc wait-event "$TMP/five.log" reload 2 20 ok=true
expect "... and more records answered" sh -c \
  '"$0" "$1" produce-text "$2" in5 t3 && "$0" "$1" wait-all "$2" in5 out5 21 60 &&
   "$0" "$1" check-text "$2" in5 out5 "$3"' "$PY" "$CHECK" "$B" "$HUBAO"
kill -TERM $FIVE
stop_wait $FIVE 30
expect "... exits 0 on SIGTERM" test "$STATUS" = 0

# ---- 6. SIGTERM mid-stream, then a second instance -------------------------
# the short session here too: the mock cluster keeps a group that a member
# has left waiting up to a session timeout for the next one to join; and
# the cooperative assignor, whose revokes are incremental
cat "$TMP/fast.conf" >"$TMP/coop.conf"
echo partition.assignment.strategy=cooperative-sticky >>"$TMP/coop.conf"
start sixA --group g6 --input-topic in6 --output-topic out6 --threads 2 --stats-interval-ms 500 \
  --kafka-conf "$TMP/coop.conf"
A=$PID
expect "an instance in group g6 is assigned in6's partitions" \
  kc wait-event "$TMP/sixA.log" assigned 1 60
produce_bg in6 2000 r6 200
expect "outputs flowing" kc wait-out "$B" out6 400 60
kill -TERM $A
stop_wait $A 30
expect "SIGTERM mid-stream: exit 0" test "$STATUS" = 0
stop_wait $PROD 60
expect "... the producer finished" test "$STATUS" = 0
kc verify "$B" in6 out6 >"$TMP/six.first" 2>/dev/null
echo "    before the second instance: $(cat "$TMP/six.first")"
expect "... it stopped consuming: the inputs that came later have no output yet" \
  sh -c 'read -r _ i _ o _ <"$1"; test "$o" -lt "$i"' _ "$TMP/six.first"
start sixB --group g6 --input-topic in6 --output-topic out6 --threads 2 --stats-interval-ms 500 \
  --kafka-conf "$TMP/coop.conf" --max-in-flight 8
BB=$PID
expect "a second instance (--max-in-flight 8) answers the rest" kc wait-all "$B" in6 out6 2000 60
expect "... it was assigned the partitions" kc wait-event "$TMP/sixB.log" assigned 1 5
expect "... none twice: the first committed what it answered" kc verify "$B" in6 out6 --exact
kill -TERM $BB
stop_wait $BB 30
expect "... and exits 0 on SIGTERM" test "$STATUS" = 0

expect "the mock cluster is still up" running $MOCKPID
[ $fails -eq 0 ] && rm -rf "$TMP"
[ $fails -eq 0 ]
