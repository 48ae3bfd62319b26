#!/bin/sh
# End-to-end test of `hubao web` (the AddressSanitizer build): train small
# models, start web servers on free loopback ports (four with --local, one
# in front of a real hubaod), test every API error class with
# tests/integration/web_api.py, export the feedback, check with
# tests/integration/web_stall.py that slow clients are cut off and cannot
# lock others out, that limits follow X-Forwarded-For only from a trusted
# proxy, that a stopped hubaod worker holds up no other request, and that
# SIGTERM lets a request in progress finish (web_stall.py drain), then
# drive the page in headless Chromium with tests/integration/web_page.js
# (playwright-core, installed once under build/node).  Screenshots go to
# build/tests/screenshots/; with UPDATE_SCREENSHOT=1 the Chinese verdict
# also becomes docs/hotline.png (the README's picture), so a test run does
# not leave the checkout modified.
# Every wait is bounded; everything listens on 127.0.0.1 only.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
HUBAOD=${HUBAOD:-build/asan/hubaod}
TMP=build/tmp/web-it.$$
SHOTS=build/tests/screenshots
rm -rf "$TMP"; mkdir -p "$TMP" "$SHOTS"
. tests/integration/lib/expect.sh
. tests/integration/lib/proc.sh

PIDS=""
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

# exit_status PID: the exit status of PID, a child that should have exited
# (killed first if it has not, so that the wait is bounded)
exit_status() {
  running "$1" && kill -KILL "$1"
  wait "$1"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# web NAME ARGS...: start `hubao web` on a free port; sets URL and PID
web() {
  name=$1; shift
  port=$(free_port)
  "$HUBAO" web --bind "127.0.0.1:$port" "$@" 2>"$TMP/$name.log" &
  PID=$!
  PIDS="$PIDS $PID"
  URL="http://127.0.0.1:$port"
  i=0
  while [ $i -lt 100 ] && running $PID && ! grep -q "serving" "$TMP/$name.log"; do
    sleep 0.1; i=$((i + 1))
  done
  grep -q "serving" "$TMP/$name.log" || { bad "$name starts"; cat "$TMP/$name.log"; }
}

export HUBAO_RULES=tests/fixtures/engine/rules
for task in fraud spam; do
  # the fraud bundle with a type model, so the page meets "type_by": "model"
  types=; [ $task = fraud ] && types="--types fraud_ --type-bits 10"
  "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv --out "$TMP/models/$task" \
    --hash-bits 14 --seed 3 $types 2>"$TMP/train.err" || { bad "train $task"; cat "$TMP/train.err"; }
done
mkdir -p "$TMP/feeds"
printf '# hubao feed copy v1\nd evil-bank.top\n# end 1\n' >"$TMP/feeds/testfeed.list"

# ---- command line -----------------------------------------------------------
expect "--help lists the options" sh -c '"$1" web --help | grep -q -- "--rate N"' _ "$HUBAO"
"$HUBAO" web --bind nonsense >/dev/null 2>&1
expect "a bad --bind is a usage error" test $? -eq 2
"$HUBAO" web --trusted-proxy 10.0.0.0/33 --db "$TMP/x.db" >/dev/null 2>&1
expect "a bad --trusted-proxy is a usage error" test $? -eq 2
"$HUBAO" web --local --models "$TMP/none" --bind 127.0.0.1:1 --db "$TMP/x.db" 2>"$TMP/none.err"
expect "missing models exit 3" test $? -eq 3
"$HUBAO" web --local --models "$TMP/models" --static "$TMP/none" --db "$TMP/x.db" 2>"$TMP/static.err"
expect "a missing page folder exits 3 and says so" grep -q "index.html" "$TMP/static.err"
"$HUBAO" web --rules "$TMP/none" --db "$TMP/x.db" 2>"$TMP/types.err"
expect "missing fraud types exit 3 and say which file" sh -c '[ $1 -eq 3 ] && grep -q "types.tsv" "$2"' _ $? "$TMP/types.err"

# ---- HTTP API ---------------------------------------------------------------
web main --local --models "$TMP/models" --feeds "$TMP/feeds" --db "$TMP/main.db" --rate 1000
MAIN=$URL; MAIN_PID=$PID
web limited --local --models "$TMP/models" --db "$TMP/limited.db" --rate 3 --token secret
LIMITED=$URL; LIMITED_PID=$PID
timeout 60 python3 tests/integration/web_api.py "$MAIN" "$LIMITED" "$TMP/main.db"
expect "HTTP API tests pass" test $? -eq 0
expect "no message text in the server logs" sh -c '! grep -q "13812345678\|洗钱" "$1"/main.log' _ "$TMP"

"$HUBAO" feedback export --since 2000-01-01 --db "$TMP/main.db" >"$TMP/export.tsv"
expect "feedback export exits 0" test $? -eq 0
expect "export is label<TAB>text, masked" python3 - "$TMP/export.tsv" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 3 and all(len(r) == 2 for r in rows), rows
assert rows[0][0] == "fraud_authority" and "<PHONE>" in rows[0][1], rows
assert rows[1][0] == "fraud_authority" and "<ACCOUNT>" in rows[1][1], rows
assert "<EMAIL>" in rows[2][1] and "<PHONE>" in rows[2][1], rows
PY
"$HUBAO" train --task fraud --data "$TMP/export.tsv" --data tests/fixtures/train_small.tsv \
  --out "$TMP/retrained" --hash-bits 14 --seed 3 >/dev/null 2>"$TMP/retrain.err"
expect "hubao train accepts the export" test -s "$TMP/retrained/manifest.json"
"$HUBAO" feedback export --since 2999-01-01 --db "$TMP/main.db" >"$TMP/none.tsv"
expect "--since filters by date" test ! -s "$TMP/none.tsv"

# ---- slow and greedy clients ------------------------------------------------
# 256 connections from 8 addresses that send a byte at a time; behind a
# trusted proxy, limits that follow the client it names
web slow --local --models "$TMP/models" --db "$TMP/slow.db" --header-timeout 2 \
  --body-timeout 3 --max-connections 64 --max-per-client 16
SLOW_PID=$PID
timeout 60 python3 tests/integration/web_stall.py slowloris "$URL" 2 3
expect "slow connections are cut off and cannot lock new clients out" test $? -eq 0
web proxied --local --models "$TMP/models" --db "$TMP/proxied.db" --trusted-proxy 127.0.0.1 \
  --rate 3 --max-per-client 4
PROXIED_PID=$PID
timeout 60 python3 tests/integration/web_stall.py proxy "$URL"
expect "behind a trusted proxy the limits follow X-Forwarded-For, nobody else's" test $? -eq 0

kill -TERM "$MAIN_PID" "$LIMITED_PID" "$SLOW_PID" "$PROXIED_PID"
i=0
while { running "$MAIN_PID" || running "$LIMITED_PID" || running "$SLOW_PID" ||
        running "$PROXIED_PID"; } && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
st=0
for p in "$MAIN_PID" "$LIMITED_PID" "$SLOW_PID" "$PROXIED_PID"; do
  wait "$p" || st=$?
done
expect "SIGTERM stops the servers cleanly (exit 0, no leaks)" test "$st" -eq 0

# ---- in front of a real hubaod ---------------------------------------------
"$HUBAOD" --bind 'tcp://127.0.0.1:*' --control "ipc://$TMP/hubaod.ctl" --workers 2 \
  --models "$TMP/models" --feeds "$TMP/feeds" 2>"$TMP/hubaod.log" &
D_PID=$!
PIDS="$PIDS $D_PID"
EP=""; i=0
while [ $i -lt 100 ] && [ -z "$EP" ] && running $D_PID; do
  sleep 0.1; i=$((i + 1))
  EP=$(sed -n 's/.*listening on \(tcp:[^;]*\);.*/\1/p' "$TMP/hubaod.log" | head -1)
done
expect "hubaod starts" test -n "$EP"
web front --server "$EP" --timeout-ms 1500 --db "$TMP/front.db"
FRONT=$URL
i=0
# hubaod's worker compiles the rules first (seconds under ASan on a busy machine)
until curl -sf "$FRONT/healthz" >"$TMP/health.json" 2>/dev/null || [ $i -ge 150 ]; do sleep 0.2; i=$((i + 1)); done
expect "healthz reports hubaod's models (from a ping: stats is not taken on its request socket)" python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
assert h["ready"] and h["mode"] == "server" and "fraud" in h["models"], h' "$TMP/health.json"

# one slow answer holds up nobody: 50 checks and a /healthz at once while
# one, then both, of hubaod's workers are stopped (SIGSTOP, then SIGCONT)
timeout 60 python3 tests/integration/web_stall.py one-paused "$FRONT" "$D_PID"
expect "a stopped worker holds up no other check, nor /healthz" test $? -eq 0
timeout 60 python3 tests/integration/web_stall.py all-paused "$FRONT" "$D_PID" 1.5
expect "with every worker stopped all checks time out at once, /healthz answers" test $? -eq 0
PIDS="$PIDS $(pgrep -P "$D_PID")"

# SIGTERM drains: a check in flight (both workers stopped) is answered
# before the server exits 0; past --drain-timeout it is answered 503
web drain --server "$EP" --timeout-ms 10000 --drain-timeout 10 --db "$TMP/drain.db"
timeout 60 python3 tests/integration/web_stall.py drain "$URL" "$PID" "$D_PID"
expect "SIGTERM takes no new connection and lets the check in flight finish" test $? -eq 0
exit_status "$PID"
expect "... then the server exits 0" test $? -eq 0
web drained --server "$EP" --timeout-ms 10000 --drain-timeout 1 --db "$TMP/drained.db"
timeout 60 python3 tests/integration/web_stall.py drain-deadline "$URL" "$PID" "$D_PID" 1
expect "past --drain-timeout the check in flight is answered 503" test $? -eq 0
exit_status "$PID"
expect "... and the server exits 0" test $? -eq 0

# the page, in headless Chromium
if [ ! -d build/node/node_modules/playwright-core ]; then
  timeout 120 npm install --no-save --no-audit --no-fund --prefix build/node playwright-core@1.49.1 \
    >"$TMP/npm.log" 2>&1 || { bad "npm install playwright-core"; cat "$TMP/npm.log"; }
fi
mkdir -p build/tmp
timeout 90 node tests/integration/web_page.js "$FRONT" "$SHOTS" "$D_PID"
expect "page tests pass in headless Chromium" test $? -eq 0
expect "page feedback stored with the phone masked" python3 - "$TMP/front.db" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT verdict, correct, label, text, fraud_type FROM feedback ORDER BY id").fetchall()
assert len(rows) == 2, rows
assert rows[0][:2] == ("fraud", 1) and rows[1][2] == "smishing" and rows[1][4] == "customer_service", rows
assert all("13812345678" not in r[3] and "<PHONE>" in r[3] for r in rows), rows
PY
if [ "${UPDATE_SCREENSHOT:-0}" = 1 ] && [ -s "$SHOTS/zh-fraud.png" ]; then
  cp "$SHOTS/zh-fraud.png" docs/hotline.png
fi
kill -KILL "$D_PID" 2>/dev/null # the page test killed it; make sure

curl -s -o "$TMP/down.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' "$FRONT/api/check" >"$TMP/down.code"
expect "service down is 502 service_unavailable" sh -c \
  'grep -q 502 "$1/down.code" && grep -q service_unavailable "$1/down.json"' _ "$TMP"
curl -s -o /dev/null -w '%{http_code}' "$FRONT/healthz" >"$TMP/hdown.code"
expect "healthz is 503 while hubaod is down" grep -q 503 "$TMP/hdown.code"

rm -rf "$TMP"
[ $fails -eq 0 ]
