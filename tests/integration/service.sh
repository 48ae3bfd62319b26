#!/bin/sh
# End-to-end test of hubaod (the AddressSanitizer build: broker and the
# workers it starts) on loopback, with models the test trains itself:
# single and batch requests, every error kind, REQ and pipelined DEALER
# clients, `hubao check --server` and `hubao stream`, a worker SIGKILLed
# under load, SIGHUP with a corrupt and then a good bundle, workers killed
# while the bundle on disk is corrupt (they come back on the last set that
# loaded), clients that never read their replies (broker memory bounded,
# everyone else served), overload and deadlines, a worker started alone
# with --worker, SIGTERM under load; control commands only on the control
# endpoint (`hubao control`), which by default is a socket in a private
# directory.
# Every wait is bounded; the clients are tests/integration/service_client.py.
set -u
HUBAOD=${HUBAOD:-build/asan/hubaod}
# memory is measured on the optimised build: AddressSanitizer keeps freed
# memory in quarantine, so its RSS says nothing about what hubaod holds
HUBAOD_RSS=${HUBAOD_RSS:-build/hubaod}
HUBAO=${HUBAO:-build/asan/hubao}
PY=/usr/bin/python3
CLIENT=tests/integration/service_client.py
TMP=build/tmp/service-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
client() { timeout 60 "$PY" "$CLIENT" "$@"; }

. tests/integration/lib/hubaod.sh  # start, wait_log (and proc.sh: running, stop_wait)

export HUBAO_RULES=tests/fixtures/engine/rules
for v in v1 v2; do
  for task in fraud spam; do
    "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv --out "$TMP/$v/$task" \
      --hash-bits 14 --seed 3 --version "$v" 2>"$TMP/train.err" || { bad "train $v $task"; cat "$TMP/train.err"; }
  done
done
cp -r "$TMP/v1" "$TMP/live"

# ---- command line --------------------------------------------------------
expect "--help lists the settings" sh -c '"$1" --help | grep -q -- "--max-batch N"' _ "$HUBAOD"
"$HUBAOD" --no-such-flag 2>"$TMP/usage.err"
expect "unknown flag exits 2" test $? -eq 2
expect "hubao --help lists hubao control" sh -c '"$1" --help | grep -q "control  ask hubaod"' _ "$HUBAO"
"$HUBAO" control shutdown 2>"$TMP/cusage.err"
expect "hubao control with an unknown command exits 2" sh -c \
  'test $1 -eq 2 && grep -q "ping, stats or reload" "$2"' _ $? "$TMP/cusage.err"
"$HUBAOD" --bind 'tcp://127.0.0.1:*' --models "$TMP/nowhere" 2>"$TMP/nomodels.err"
expect "missing models exit 3 with the reason" sh -c 'test $1 -eq 3 && grep -q "cannot load models" "$2"' _ $? "$TMP/nomodels.err"

# ---- instance A: two supervised workers ------------------------------------
start A --workers 2 --models "$TMP/live" --max-request-bytes 100000 --deadline-ms 20000 \
  --client-timeout-ms 2000
A=$PID; AEP=$EP; ACEP=$CEP
expect "hubaod starts and two workers connect" client wait "$AEP" 2
expect "ping answers with the workers and the model versions" client ping "$AEP" 2 spam=v1
expect "single and batch requests" client basic "$AEP"
expect "every malformed input gets its error reply, nothing dies" client malformed "$AEP" 100000
expect "ids come back as written: beyond 64 bits, 1e400, 1.0, -0, nested; broker replies too" \
  client ids "$AEP"
expect "DEALER pipelining: 500 requests matched by id" client dealer "$AEP" 500
expect "a stopped client is disconnected after --client-timeout-ms, an idle one is not" \
  client stalled "$AEP" 2000

out=$("$HUBAO" check --server "$AEP" "公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系13812345678")
expect "hubao check --server prints the verdict" sh -c 'printf "%s" "$1" | grep -q "Likely fraud: impersonating police"' _ "$out"
"$HUBAO" check --server "$AEP" --json "周年庆大促，全场五折，退订回T" >"$TMP/check.json"
expect "hubao check --server --json" "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tasks"]["spam"]["positive"] and r["models"]["spam"] == "v1", r' "$TMP/check.json"
"$HUBAO" check --server tcp://127.0.0.1:1 --timeout-ms 300 hi 2>/dev/null
expect "check --server without a server exits 3" test $? -eq 3

printf 'hello there\n{"id":"x","text":"周年庆大促，全场五折，退订回T"}\nbad \377 utf8\n\n[{"text":"a"},{"id":"b"}]\n{"id": 1.0E+400, "text": "hi"}\n' |
  "$HUBAO" stream --server "$AEP" --window 4 >"$TMP/stream.out"
expect "stream exits 1 when some replies are errors" test $? -eq 1
expect "stream: one reply per line, in input order, ids as written" "$PY" -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
rows = [json.loads(l) for l in lines]
assert len(rows) == 6, rows
assert rows[0]["verdict"] == "clean" and "id" not in rows[0]
assert rows[1]["id"] == "x" and rows[1]["tasks"]["spam"]["positive"]
assert rows[2]["error"]["code"] == "invalid_utf8"
assert rows[3]["error"]["code"] == "empty_text"
assert "verdict" in rows[4][0] and rows[4][1]["error"]["code"] == "missing_text"
assert lines[5].startswith("{\"id\":1.0E+400,\"verdict\":"), lines[5]' "$TMP/stream.out"
"$PY" -c '
import sys
t = [l.split("\t", 1)[1] for l in open(sys.argv[1], encoding="utf-8") if "\t" in l]
for i in range(2000): print(t[i % len(t)].rstrip("\n"))' tests/fixtures/train_small.tsv >"$TMP/many.txt"
"$HUBAO" stream --server "$AEP" <"$TMP/many.txt" >"$TMP/many.out"
expect "stream: 2000 lines in, 2000 verdicts out" sh -c 'test $? -eq 0 && test $(grep -c "\"verdict\"" "$1") -eq 2000' _ "$TMP/many.out"

client stats "$AEP" >"$TMP/stats.json"
expect "stats: requests, errors, latency, workers, models" "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["requests"] > 500 and s["replies"] > 500, s
assert s["errors"]["by_code"].get("missing_text", 0) >= 2, s["errors"]
assert s["errors"]["by_code"].get("too_large", 0) >= 2, s["errors"]
assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"] <= s["latency_ms"]["max"], s
assert len(s["workers"]) == 2 and all(w["state"] in ("idle", "busy") for w in s["workers"])
assert s["models"] == {"fraud": "v1", "spam": "v1"}, s["models"]' "$TMP/stats.json"

expect "SIGKILL a worker under load: no request lost, worker restarted" \
  client load "$AEP" 3000 --kill-worker --after 600

printf 'garbage' >>"$TMP/live/spam/model.svm"
kill -HUP $A
expect "SIGHUP with a corrupt bundle: each worker logs why" wait_log "$TMP/A.log" "reload failed.*checksum" 2
expect "... and the broker logs the rejection" wait_log "$TMP/A.log" "reload: 2 of 2 workers rejected" 1
expect "... and the old models keep serving" client load "$AEP" 200 --expect-models spam=v1
client stats "$AEP" >"$TMP/stats2.json"
expect "... stats show the failed reload" "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["models"] == {"fraud": "v1", "spam": "v1"}, s["models"]
assert all(w["last_reload"]["ok"] is False for w in s["workers"]), s["workers"]' "$TMP/stats2.json"
expect "reload on the control endpoint reports the failure" "$PY" -c '
import json, sys, zmq
s = zmq.Context().socket(zmq.REQ); s.RCVTIMEO = 30000; s.connect(sys.argv[1])
s.send(b"{\"id\": \"r1\", \"control\": \"reload\"}")
r = json.loads(s.recv())
assert r["id"] == "r1" and r["reload"]["ok"] is False, r
assert all("checksum" in w["error"] for w in r["reload"]["workers"]), r' "$ACEP"
"$HUBAO" control reload --control "$ACEP" >"$TMP/reload-bad.json"
expect "hubao control reload exits 1 when the workers refuse, and prints why" sh -c \
  'test $1 -eq 1 && grep -q "\"ok\": false" "$2" && grep -q checksum "$2"' _ $? "$TMP/reload-bad.json"

expect "every worker SIGKILLed while the bundle on disk is corrupt: back on the last set that loaded" \
  client fallback "$AEP" 2 spam=v1 "live/spam/model.svm: checksum"
expect "... the log says which bundle failed and why" \
  wait_log "$TMP/A.log" "ready on the snapshot.*live/spam/model.svm: checksum" 2
expect "... and they serve" client load "$AEP" 200 --expect-models spam=v1

rm -rf "$TMP/live/spam" && cp -r "$TMP/v2/spam" "$TMP/live/spam"
reloads=$(grep -c "reloading models and rules" "$TMP/A.log")
expect "stats, reload on the request socket: forbidden, id echoed, nothing reloads" \
  client control "$AEP" spam=v1
expect "... and the broker never started a reload" \
  test "$(grep -c "reloading models and rules" "$TMP/A.log")" -eq "$reloads"
expect "SIGHUP with a good bundle under load: no failed request" \
  client load "$AEP" 2000 --signal HUP --pid $A --after 300
expect "... and every worker now serves spam=v2" sh -c '
i=0; while [ $i -lt 100 ]; do
  "$0" "$1" stats "$2" models | grep -q "\"spam\": \"v2\"" && exit 0; sleep 0.1; i=$((i + 1)); done; exit 1' \
  "$PY" "$CLIENT" "$AEP"
expect "... and replies carry it" client load "$AEP" 100 --expect-models spam=v2
expect "... no worker is on the snapshot any more" sh -c '
"$0" "$1" stats "$2" workers | grep -q "\"models_fallback\": false" &&
! "$0" "$1" stats "$2" workers | grep -q "\"models_fallback\": true"' "$PY" "$CLIENT" "$AEP"
expect "... and the accepted reload is the new snapshot" wait_log "$TMP/A.log" "snapshot taken" 1
"$HUBAO" control reload --control "$ACEP" >"$TMP/reload.json"
expect "hubao control reload: every worker reloads, exit 0" sh -c \
  'test $1 -eq 0 && grep -q "\"ok\": true" "$2" && ! grep -q "\"ok\": false" "$2"' _ $? "$TMP/reload.json"
"$HUBAO" control stats --control "$ACEP" >"$TMP/cstats.json"
expect "hubao control stats prints the stats" "$PY" -c '
import json, sys
s = json.load(open(sys.argv[2]))["stats"]
assert int(sys.argv[1]) == 0 and s["requests"] > 500 and len(s["workers"]) == 2, s
assert s["models"]["spam"] == "v2", s["models"]' $? "$TMP/cstats.json"
printf 'garbage' >>"$TMP/live/spam/model.svm"
expect "a worker SIGKILLed after that comes back on spam=v2, not v1" \
  client fallback "$AEP" 1 spam=v2 "live/spam/model.svm: checksum"
rm -rf "$TMP/live/spam" && cp -r "$TMP/v2/spam" "$TMP/live/spam"

expect "SIGTERM under load: every request answered" \
  client load "$AEP" 3000 --signal TERM --pid $A --after 800 --allow shutting_down
stop_wait $A 20
expect "... and hubaod exits 0" test "$STATUS" = 0

# ---- instance F: stats are fresh without waiting for a heartbeat; a
# feeds directory that goes away is refused on reload ---------------------
mkdir -p "$TMP/feeds"
printf '# hubao feed copy v1\nd evil-bank.top\n# end 1\n' >"$TMP/feeds/testfeed.list"
start F --workers 2 --models "$TMP/live" --heartbeat-ms 30000 --feeds "$TMP/feeds"
F=$PID; FEP=$EP
expect "instance F: two workers" client wait "$EP" 2
expect "stats count each reply's items and error codes at once" client fresh "$EP"
expect "a 64 MiB frame is cut off at the socket, the next client served" \
  client oversize "$EP" 67108864 $F
listed() { "$HUBAO" check --server "$FEP" --json "明天开会 www.evil-bank.top/x" | grep -q '"listed":"domain"'; }
expect "a blocklisted domain is listed" listed
mv "$TMP/feeds" "$TMP/feeds.gone"
kill -HUP $F
expect "SIGHUP with the feeds directory gone: refused, and says why" \
  wait_log "$TMP/F.log" "feeds directory does not exist" 2
expect "... and the domain is still listed" listed
kill -TERM $F
stop_wait $F 20
expect "broker F exits 0" test "$STATUS" = 0

# ---- instance H: clients that never read their replies -------------------
HUBAOD_SAVED=$HUBAOD; HUBAOD=$HUBAOD_RSS
start H --workers 2 --models "$TMP/live" --client-in-flight 100 \
  --client-bytes 2097152 --buffer-bytes 8388608
HUBAOD=$HUBAOD_SAVED; H=$PID
expect "instance H: two workers" client wait "$EP" 2
expect "a client pipelining past --client-in-flight: too_many_in_flight, all answered" \
  client inflight "$EP" 300 100
expect "one client never reading 256-item full replies: broker bounded, others served" \
  client hog "$EP" $H 1 256 full 6 24
expect "16 clients never reading 16-item full replies: the same" \
  client hog "$EP" $H 16 16 full 6 48
expect "... the log names the client cut off and why" \
  wait_log "$TMP/H.log" "client at 127.0.0.1 cut off: .*closed its connection" 1
kill -TERM $H
stop_wait $H 20
expect "broker H exits 0" test "$STATUS" = 0

# ---- instance D: the default control endpoint ------------------------------
# a private directory under XDG_RUNTIME_DIR, found alike by hubaod and
# `hubao control`; one that others could enter, or not ours, is refused
XDG="$(pwd)/$TMP/xdg"
mkdir -m 700 "$XDG"
XDG_RUNTIME_DIR=$XDG "$HUBAOD" --bind 'tcp://127.0.0.1:*' --workers 0 --models "$TMP/live" \
  2>"$TMP/D.log" &
D=$!; PIDS="$PIDS $D"
wait_log "$TMP/D.log" "listening on" 1
expect "default control endpoint: \$XDG_RUNTIME_DIR/hubaod/control" \
  grep -q "control on ipc://$XDG/hubaod/control;" "$TMP/D.log"
expect "... its directory is made mode 0700" test "$(stat -c %a "$XDG/hubaod")" = 700
expect "... the socket is for its owner only" sh -c \
  'test -S "$1" && case $(stat -c %a "$1") in *00) ;; *) exit 1;; esac' _ "$XDG/hubaod/control"
XDG_RUNTIME_DIR=$XDG "$HUBAO" control ping >"$TMP/dping.json"
expect "... and hubao control finds it without --control" sh -c \
  'test $1 -eq 0 && grep -q "\"pong\"" "$2"' _ $? "$TMP/dping.json"
XDG_RUNTIME_DIR=$XDG "$HUBAOD" --bind 'tcp://127.0.0.1:*' --workers 0 --models "$TMP/live" \
  2>"$TMP/D2.log"
expect "a second hubaod on the same control endpoint exits 3, the first keeps it" sh -c \
  'test $1 -eq 3 && grep -q "another process" "$2" && test -S "$3"' _ $? "$TMP/D2.log" "$XDG/hubaod/control"
kill -TERM $D
stop_wait $D 20
expect "... the first exits 0 and removes its socket" sh -c \
  'test "$1" = 0 && test ! -e "$2"' _ "$STATUS" "$XDG/hubaod/control"
XDG_RUNTIME_DIR=$XDG "$HUBAO" control ping --timeout-ms 2000 2>"$TMP/dnone.err"
expect "hubao control with no hubaod exits 3 and says so" sh -c \
  'test $1 -eq 3 && grep -q "no control socket" "$2"' _ $? "$TMP/dnone.err"
chmod 755 "$XDG/hubaod"
XDG_RUNTIME_DIR=$XDG "$HUBAOD" --bind 'tcp://127.0.0.1:*' --workers 0 --models "$TMP/live" \
  2>"$TMP/D3.log"
expect "a control directory others can enter: hubaod exits 3 and says why" sh -c \
  'test $1 -eq 3 && grep -q "open to group or others (mode 0755)" "$2"' _ $? "$TMP/D3.log"
if [ "$(id -u)" = 0 ]; then
  chmod 700 "$XDG/hubaod" && chown 65534 "$XDG/hubaod"
  XDG_RUNTIME_DIR=$XDG "$HUBAOD" --bind 'tcp://127.0.0.1:*' --workers 0 --models "$TMP/live" \
    2>"$TMP/D4.log"
  expect "a control directory of another user: hubaod exits 3 and says why" sh -c \
    'test $1 -eq 3 && grep -q "belongs to uid 65534" "$2"' _ $? "$TMP/D4.log"
fi

# ---- instance B: no local workers, config file, a worker started alone -----
cat >"$TMP/b.conf" <<EOF
# hubaod settings for the overload test (the queue alone: no client is
# held to a share of it)
workers = 0
queue = 2
client-in-flight = 1000
deadline-ms = 400
backend = tcp://127.0.0.1:*
EOF
start B --config "$TMP/b.conf" --models "$TMP/live"
B=$PID; BEP=$EP
expect "a config file is read (queue 2, deadline 400 ms)" sh -c '"$0" "$1" stats "$2" queue | grep -q "\"limit\": 2"' "$PY" "$CLIENT" "$BEP"
expect "no worker: overloaded at once, deadline_exceeded on time" client overload "$BEP"
"$HUBAOD" --worker --connect "$BACKEND" --models "$TMP/live" --brief 2>"$TMP/W.log" &
W=$!; PIDS="$PIDS $W"
expect "hubaod --worker --connect joins the broker" client wait "$BEP" 1
expect "... and serves requests" client load "$BEP" 50 --window 2
expect "... brief replies with --brief, full when an item asks" client brief "$BEP"
expect "a flood into a tiny queue: all answered, some overloaded" client flood "$BEP" 300
kill -TERM $W
stop_wait $W 10
expect "the lone worker stops on SIGTERM" test "$STATUS" = 0
kill -TERM $B
stop_wait $B 20
expect "broker B exits 0" test "$STATUS" = 0

expect "no AddressSanitizer or UBSan report" sh -c '! grep -l "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$1"/*.log' _ "$TMP"
[ $fails -eq 0 ] && rm -rf "$TMP"
[ $fails -eq 0 ]
