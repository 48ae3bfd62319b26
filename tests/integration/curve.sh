#!/bin/sh
# End-to-end test of CURVE (docs/protocol.md, "Authentication (CURVE)"),
# with the AddressSanitizer builds on loopback and models the test trains
# itself: `hubao keygen` writes key files pyzmq reads; hubaod refuses
# CURVE settings and key files that are wrong, saying why; with CURVE on
# both endpoints, an authorised client is answered (Python, hubao check
# and hubao stream) while clients with no key, a key not let in or the
# wrong server key get no reply and leave no trace in the stats; a remote
# worker with an authorised key serves requests and ones without (no key,
# a key not let in, a client's key) are refused, the broker and the
# worker both saying so; a reload adds and removes keys and keeps the old
# ones when a file is bad; local workers still join over private ipc.
# Every wait is bounded; the Python client is tests/integration/curve_client.py.
set -u
HUBAOD=${HUBAOD:-build/asan/hubaod}
HUBAO=${HUBAO:-build/asan/hubao}
PY=/usr/bin/python3
CLIENT=tests/integration/curve_client.py
TMP=build/tmp/curve-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
. tests/integration/lib/hubaod.sh
client() { timeout 60 "$PY" "$CLIENT" "$@"; }
K=$TMP/keys

# stats_value NAME: print hubaod's stats value at the path NAME
# ("requests", "clients.active") from the control endpoint $CEP
stats_value() {
  "$HUBAO" control stats --control "$CEP" | "$PY" -c '
import json, sys
v = json.load(sys.stdin)["stats"]
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}
# workers_now: the number of workers the broker has, by ping
workers_now() { "$HUBAO" control ping --control "$CEP" | sed -n 's/.*"workers": \([0-9]*\).*/\1/p'; }
# stops NAME PID SECONDS: SIGTERM to PID; NAME passes if it exits 0 in time
stops() {
  kill -TERM "$2"
  stop_wait "$2" "$3"
  expect "$1" test "$STATUS" = 0
}
# wait_workers N: until the broker has N workers (20 s max)
wait_workers() {
  i=0
  while [ "$(workers_now)" != "$1" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  [ "$(workers_now)" = "$1" ]
}

export HUBAO_RULES=tests/fixtures/engine/rules
for task in fraud spam; do
  "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv --out "$TMP/models/$task" \
    --hash-bits 14 --seed 3 --version v1 2>"$TMP/train.err" || { bad "train $task"; cat "$TMP/train.err"; }
done

# ---- hubao keygen ----------------------------------------------------------
mkdir -p "$K/clients" "$K/workers"
BROKER_PUB=$("$HUBAO" keygen --out "$K/broker" 2>"$TMP/keygen.err")
expect "keygen prints the public key and names both files" sh -c \
  'test $1 -eq 0 && test ${#2} -eq 40 && grep -q "broker.key (secret, mode 0600) and .*broker.pub" "$3"' \
  _ $? "$BROKER_PUB" "$TMP/keygen.err"
expect "... the secret key file is mode 0600" test "$(stat -c %a "$K/broker.key")" = 600
expect "... the public one holds no secret" sh -c '! grep -q secret-key "$1"' _ "$K/broker.pub"
expect "... and pyzmq reads both (zmq.auth.load_certificate)" client keys "$K/broker" "$BROKER_PUB"
sum=$(cat "$K/broker.key" "$K/broker.pub" | cksum)
"$HUBAO" keygen --out "$K/broker" >/dev/null 2>"$TMP/again.err"
expect "keygen never overwrites a key: exit 3, files unchanged" sh -c \
  'test $1 -eq 3 && grep -q "never overwritten" "$2" && test "$(cat "$3.key" "$3.pub" | cksum)" = "$4"' \
  _ $? "$TMP/again.err" "$K/broker" "$sum"
"$HUBAO" keygen stray-argument >/dev/null 2>&1
expect "keygen with an argument exits 2" test $? -eq 2
for who in alice bob worker intruder; do
  "$HUBAO" keygen --out "$K/$who" >/dev/null 2>&1 || bad "keygen $who"
done
cp "$K/alice.pub" "$K/clients/"
cp "$K/worker.pub" "$K/workers/"

# ---- settings and key files that are wrong: refused at start-up -------------
refused() { # NAME CODE PATTERN ARGS...: hubaod exits CODE, its log matching PATTERN
  name=$1 code=$2 pattern=$3; shift 3
  timeout 30 "$HUBAOD" --bind 'tcp://127.0.0.1:*' --control "ipc://$TMP/refused.ctl" \
    --workers 0 --models "$TMP/models" "$@" 2>"$TMP/refused.log"
  expect "$name" sh -c 'test $1 -eq $2 && grep -q "$3" "$4"' _ $? "$code" "$pattern" "$TMP/refused.log"
}
refused "--curve-clients without the broker's key pair: exit 2" 2 "need --curve-secret-key" \
  --curve-clients "$K/clients"
refused "a key pair and no keys to let in: exit 2" 2 "would let in any key" \
  --curve-secret-key "$K/broker.key"
refused "the broker's public key given as its key pair: exit 3" 3 "broker.pub has no secret-key line" \
  --curve-secret-key "$K/broker.pub" --curve-clients "$K/clients"
cp "$K/broker.key" "$K/open.key" && chmod 644 "$K/open.key"
refused "a secret key others can read: exit 3, chmod 600" 3 "open.key: a secret key file must be readable by its owner only.*chmod 600" \
  --curve-secret-key "$K/open.key" --curve-clients "$K/clients"
mkdir -p "$K/typo" && printf 'curve\n    public-key = "not a key"\n' >"$K/typo/typo.pub"
refused "a bad file among the authorised keys: exit 3, naming file:line" 3 "typo.pub:2: public-key is not a CURVE key" \
  --curve-secret-key "$K/broker.key" --curve-clients "$K/typo"
refused "a missing directory of keys: exit 3" 3 "nowhere: cannot read the directory" \
  --curve-secret-key "$K/broker.key" --curve-clients "$K/nowhere"
timeout 30 "$HUBAOD" --worker --connect tcp://127.0.0.1:1 --models "$TMP/models" \
  --curve-server-key "$K/broker.pub" --curve-secret-key "$K/nowhere.key" 2>"$TMP/wnokey.log"
expect "a worker whose key file is missing: exit 3, naming it" sh -c \
  'test $1 -eq 3 && grep -q "nowhere.key: cannot open the key file" "$2"' _ $? "$TMP/wnokey.log"

# ---- instance C: CURVE on both endpoints, remote workers only ----------------
start C --workers 0 --models "$TMP/models" --backend 'tcp://127.0.0.1:*' \
  --curve-secret-key "$K/broker.key" --curve-clients "$K/clients" --curve-workers "$K/workers"
C=$PID; CEP_C=$CEP
expect "hubaod starts with CURVE: one client key, one worker key" sh -c \
  'grep -q "client endpoint: 1 authorised client key" "$1" && grep -q "worker endpoint: 1 authorised worker key" "$1"' \
  _ "$TMP/C.log"
"$HUBAOD" --worker --connect "$BACKEND" --models "$TMP/models" \
  --curve-server-key "$K/broker.pub" --curve-secret-key "$K/worker.key" 2>"$TMP/W1.log" &
W1=$!; PIDS="$PIDS $W1"
expect "a remote worker over tcp with an authorised key joins" wait_workers 1
expect "... and serves requests (to an authorised client)" client ask "$EP" "$K/broker.pub" "$K/alice.key" 20
expect "... it is the worker that answered" sh -c \
  '"$0" control stats --control "$1" | grep -q "\"pid\": $2,"' "$HUBAO" "$CEP" "$W1"

"$HUBAOD" --worker --connect "$BACKEND" --models "$TMP/models" \
  --curve-server-key "$K/broker.pub" --curve-secret-key "$K/intruder.key" 2>"$TMP/W2.log" &
W2=$!; PIDS="$PIDS $W2"
"$HUBAOD" --worker --connect "$BACKEND" --models "$TMP/models" 2>"$TMP/W3.log" &
W3=$!; PIDS="$PIDS $W3"
"$HUBAOD" --worker --connect "$BACKEND" --models "$TMP/models" \
  --curve-server-key "$K/broker.pub" --curve-secret-key "$K/alice.key" 2>"$TMP/W4.log" &
W4=$!; PIDS="$PIDS $W4"
# the intruder's public key as a grep pattern (Z85 has . [ ] * ^ $ in it)
INTRUDER=$(sed -n 's/.*public-key = "\(.*\)"/\1/p' "$K/intruder.pub" | sed 's/[].[*^$]/\\&/g')
expect "a worker with a key not let in: the broker logs it, naming the key" \
  wait_log "$TMP/C.log" "refused a worker at 127.0.0.1: its public key $INTRUDER is not in" 1
expect "... and the worker logs that its key was refused" \
  wait_log "$TMP/W2.log" "refused this side's CURVE key" 1
expect "a worker without keys: it logs that the broker wants CURVE" \
  wait_log "$TMP/W3.log" "give --curve-server-key and --curve-secret-key" 1
expect "a worker with a client's key: refused" wait_log "$TMP/W4.log" "refused this side's CURVE key" 1
sleep 1
expect "... none of the three joined" test "$(workers_now)" = 1
expect "... and requests still go to the authorised worker" client ask "$EP" "$K/broker.pub" "$K/alice.key" 5
kill -TERM $W2 $W3 $W4

# clients
expect "an authorised client is answered" client ask "$EP" "$K/broker.pub" "$K/alice.key" 3
out=$("$HUBAO" check --server "$EP" --curve-server-key "$K/broker.pub" --curve-secret-key "$K/alice.key" \
  "周年庆大促，全场五折，退订回T")
expect "hubao check --server with keys prints the verdict" sh -c \
  'test $1 -eq 0 && printf "%s" "$2" | grep -q "Advertising"' _ $? "$out"
printf 'first message\n{"id": 2, "text": "second"}\n' |
  "$HUBAO" stream --server "$EP" --curve-server-key "$K/broker.pub" --curve-secret-key "$K/alice.key" \
  >"$TMP/stream.out"
expect "hubao stream with keys: one verdict a line" sh -c \
  'test $1 -eq 0 && test $(grep -c "\"verdict\"" "$2") -eq 2' _ $? "$TMP/stream.out"
requests=$(stats_value requests)
expect "a client with a key not let in gets no reply" client silent "$EP" "$K/broker.pub" "$K/bob.key" 1500
expect "a client without keys gets no reply" client silent "$EP" - - 1500
expect "a client with the wrong server key gets no reply" client silent "$EP" "$K/worker.pub" "$K/alice.key" 1500
expect "... and none of them reached the broker: no request, no client held" sh -c \
  'test "$1" = "$2" && test "$3" = 0' _ "$requests" "$(stats_value requests)" "$(stats_value clients.active)"
expect "while refused clients wait, the authorised one is answered all along" sh -c \
  'timeout 60 "$0" "$1" mixed "$2" "$3" "$4" "$5" 2000 >"$6"' \
  "$PY" "$CLIENT" "$EP" "$K/broker.pub" "$K/alice.key" "$K/bob.key" "$TMP/mixed.out"
sent=$(cat "$TMP/mixed.out")
expect "... and only its requests count" test "$(stats_value requests)" = $((requests + ${sent:-0}))
"$HUBAO" check --server "$EP" --curve-server-key "$K/broker.pub" --curve-secret-key "$K/bob.key" \
  --timeout-ms 10000 hi >/dev/null 2>"$TMP/check-bob.err"
expect "hubao check with a key not let in: exit 3 at once, saying so" sh -c \
  'test $1 -eq 3 && grep -q "refused this side'"'"'s CURVE key" "$2"' _ $? "$TMP/check-bob.err"
"$HUBAO" check --server "$EP" --timeout-ms 3000 hi >/dev/null 2>"$TMP/check-none.err"
expect "hubao check without keys: exit 3, the server wants CURVE" sh -c \
  'test $1 -eq 3 && grep -q "give --curve-server-key and --curve-secret-key" "$2"' _ $? "$TMP/check-none.err"
"$HUBAO" check --server "$EP" --curve-server-key "$K/broker.key" --curve-secret-key "$K/alice.key" \
  hi >/dev/null 2>"$TMP/check-secret.err"
expect "hubao check given the broker's secret file as its public key: exit 3" sh -c \
  'test $1 -eq 3 && grep -q "broker.key holds a secret key" "$2"' _ $? "$TMP/check-secret.err"
"$HUBAO" check --server "$EP" --curve-server-key "$K/broker.pub" hi >/dev/null 2>&1
expect "hubao check with one key file of two: exit 2" test $? -eq 2

# reloads
mv "$K/bob.pub" "$K/clients/"
kill -HUP $C
expect "SIGHUP reads the keys again" wait_log "$TMP/C.log" "reload: 2 authorised client keys" 1
expect "... and a client let in since is answered" client ask "$EP" "$K/broker.pub" "$K/bob.key" 2
printf 'public-key = "short"\n' >"$K/clients/broken.pub"
kill -HUP $C
expect "a reload with a bad key file: refused, saying why" \
  wait_log "$TMP/C.log" "broken.pub:1: public-key is not a CURVE key.*the 2 read before still apply" 1
expect "... and the keys read before still let their owners in" client ask "$EP" "$K/broker.pub" "$K/bob.key" 1
rm "$K/clients/broken.pub" "$K/clients/alice.pub"
"$HUBAO" control reload --control "$CEP" >/dev/null
expect "hubao control reload reads the keys too" wait_log "$TMP/C.log" "reload: 1 authorised client key" 1
expect "... and a key taken out is refused from then on" client silent "$EP" "$K/broker.pub" "$K/alice.key" 1500
stops "broker C exits 0" $C 20
stops "the remote worker stops on SIGTERM" $W1 10

# ---- instance L: CURVE on the worker endpoint, local workers, config file --
cp "$K/alice.pub" "$K/clients/"
cat >"$TMP/l.conf" <<EOF
# CURVE from the config file, names as the flags
curve-secret-key = $K/broker.key
curve-clients = $K/clients
curve-workers = $K/workers
backend = tcp://127.0.0.1:*
workers = 1
EOF
start L --config "$TMP/l.conf" --models "$TMP/models"
L=$PID
expect "settings from a config file: CURVE on both endpoints" sh -c \
  'grep -q "client endpoint: 2 authorised client keys" "$1" && grep -q "worker endpoint: 1 authorised" "$1"' \
  _ "$TMP/L.log"
expect "a local worker joins without keys, over private ipc" wait_workers 1
expect "... connected to the broker's keyless ipc endpoint" grep -q "worker: connected to ipc://@hubaod-$L" "$TMP/L.log"
expect "... and serves an authorised client" client ask "$EP" "$K/broker.pub" "$K/alice.key" 5
expect "... while a client without keys is not answered" client silent "$EP" - - 1000
stops "broker L exits 0" $L 20

expect "no AddressSanitizer or UBSan report" sh -c '! grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$1"/*.log' _ "$TMP"
[ $fails -eq 0 ] && rm -rf "$TMP"
[ $fails -eq 0 ]
