#!/bin/sh
# End-to-end test of `hubao feeds update` and `hubao feeds list` (the
# AddressSanitizer build) against tests/integration/feed_server.py on
# loopback: first every feed is good, then each plays one failure (changed,
# 304, truncated, oversized, slow, garbage, empty, cut CSV and JSON, a 503
# then success), and every bad download must leave the previous copy
# byte-identical.  Bounded: the server exits by itself after 60 s, every
# wait is a counted loop, and the whole test takes well under 30 s.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
TMP=build/tmp/feeds-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
D=$TMP/feeds
. tests/integration/lib/expect.sh
has() { grep -q -- "$2" "$1"; }

# Loopback only, whatever proxy the environment sets.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

python3 tests/integration/feed_server.py --port-file "$TMP/port" \
  --log "$TMP/requests.log" --lifetime 60 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$TMP/port" ] || { echo "  FAIL feed server did not start"; exit 1; }
BASE=http://127.0.0.1:$(cat "$TMP/port")

CASES="good changed unchanged truncated oversized oversized-stream slow garbage empty"
{
  echo "# test feeds: NAME FORMAT URL"
  for c in $CASES; do echo "$c text $BASE/$c.txt"; done
  echo "csv   csv  $BASE/feed.csv   # URLhaus style"
  echo "json  json $BASE/feed.json"
  echo "flaky text $BASE/flaky.txt"
} >"$TMP/feeds.conf"
ALL="$CASES csv json flaky"
OPTS="--config $TMP/feeds.conf --dir $D --timeout 1 --connect-timeout 1 --tries 2 --backoff 0.1 --max-bytes 64K"

# --- plain http is refused unless allowed -------------------------------
"$HUBAO" feeds update $OPTS 2>"$TMP/nohttp.err"
rc=$?
expect "plain http refused: exit 1" test $rc -eq 1
expect "plain http refused: says why" has "$TMP/nohttp.err" "refusing plain http://"
expect "plain http refused: nothing fetched" test ! -s "$TMP/requests.log"
expect "plain http refused: no copies" sh -c "! ls $D/*.list >/dev/null 2>&1"

# --- phase 1: every feed good -----------------------------------------
"$HUBAO" feeds update $OPTS --allow-http 2>"$TMP/p1.err"
rc=$?
expect "phase 1: exit 0 when every feed is current" test $rc -eq 0
[ $rc -eq 0 ] || cat "$TMP/p1.err"
expect "phase 1: one line per feed" test "$(grep -c '^hubao: feed ' "$TMP/p1.err")" -eq 12
mkdir -p "$TMP/snap"
for f in $ALL; do
  if [ -s "$D/$f.list" ]; then cp "$D/$f.list" "$TMP/snap/"; else bad "phase 1: $f.list written"; fi
done
expect "good copy: url, ip url, domain and host entries" sh -c "
  grep -qx 'u https://phish.example.com/login/verify.php' $D/good.list &&
  grep -qx 'u http://203.0.113.7/bank/' $D/good.list &&
  grep -qx 'd evil-bank.com' $D/good.list &&
  grep -qx 'h login.bad-site.org' $D/good.list &&
  grep -qx '# end 4' $D/good.list"
expect "csv copy: url column from the URLhaus comment header" sh -c "
  grep -qx 'u http://198.51.100.4:8080/i.sh' $D/csv.list &&
  grep -qx 'u https://csv.example.org/drop/payload.exe' $D/csv.list &&
  grep -qx '# end 2' $D/csv.list"
expect "json copy: strings and objects" sh -c "
  grep -qx 'u https://json.example.org/x' $D/json.list &&
  grep -qx 'd bad-json-host.com' $D/json.list && grep -qx '# end 3' $D/json.list"
expect "sidecar keeps the validators" python3 - "$D/unchanged.meta" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["etag"] == '"u1"' and m["last_modified"].startswith("Mon, 01 Jan 2024"), m
assert m["entries"] == 1 and m["format"] == "text", m
PY
expect "phase 1: no conditional requests without a copy" python3 - "$TMP/requests.log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows and all(not r["if_none_match"] and not r["if_modified_since"] for r in rows), rows
PY

"$HUBAO" feeds list --dir "$D" >"$TMP/list1.out" 2>&1
rc=$?
expect "list: exit 0" test $rc -eq 0
expect "list: a row per feed with its entries" sh -c "
  grep -Eq '^good +4 ' $TMP/list1.out && grep -Eq '^changed +1 ' $TMP/list1.out &&
  test \$(grep -c 's  20' $TMP/list1.out) -eq 12"

# --- phase 2: every case ---------------------------------------------
touch -d @946684800 "$D/unchanged.list"   # so a refresh is visible
python3 -c 'import sys, urllib.request as u
u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=5).read()' \
  "$BASE/control/phase/2" || bad "switch to phase 2"
start=$(date +%s)
"$HUBAO" feeds update $OPTS --allow-http 2>"$TMP/p2.err"
rc=$?
took=$(( $(date +%s) - start ))
expect "phase 2: exit 1 when some feed failed" test $rc -eq 1
expect "phase 2: bounded time (${took}s)" test $took -le 12
line() { grep "^hubao: feed $1: " "$TMP/p2.err"; }
survives() { # survives FEED MESSAGE: failed with MESSAGE, copy byte-identical
  if line "$1" | grep -q -- "$2" && line "$1" | grep -q "kept the previous copy" &&
     cmp -s "$D/$1.list" "$TMP/snap/$1.list"; then
    ok "$1: refused ($2), previous copy byte-identical"
  else
    bad "$1: refused ($2), previous copy byte-identical"; line "$1"
  fi
}
expect "good: updated, same bytes" sh -c "
  grep -q '^hubao: feed good: updated: 4 entries' $TMP/p2.err &&
  cmp -s $D/good.list $TMP/snap/good.list"
expect "changed: replaced by the new feed" sh -c "
  grep -q '^hubao: feed changed: updated: 2 entries' $TMP/p2.err &&
  grep -qx 'u https://v2.example.net/c' $D/changed.list &&
  ! grep -q v1.example.net $D/changed.list"
expect "unchanged: 304 keeps the copy" sh -c "
  grep -q '^hubao: feed unchanged: unchanged (304 Not Modified): 1 entries' $TMP/p2.err &&
  cmp -s $D/unchanged.list $TMP/snap/unchanged.list"
expect "unchanged: timestamp refreshed" test "$(stat -c %Y "$D/unchanged.list")" -ge "$start"
expect "unchanged: request carried If-None-Match and If-Modified-Since" python3 - "$TMP/requests.log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
r = [r for r in rows if r["path"] == "/unchanged.txt" and r["phase"] == 2]
assert len(r) == 1, r
assert r[0]["if_none_match"] == '"u1"', r
assert r[0]["if_modified_since"] == "Mon, 01 Jan 2024 00:00:00 GMT", r
c = [r for r in rows if r["path"] == "/changed.txt" and r["phase"] == 2]
assert c and c[0]["if_none_match"] == '"v1"', c
PY
survives truncated "cut short"
survives oversized "over the 65536-byte limit"
survives oversized-stream "over the 65536-byte limit"
survives slow "timed out"
survives garbage "none of the"
survives empty "empty"
survives csv "never closed"
survives json "does not parse"
expect "retryable failures were tried twice" sh -c "
  line() { grep \"^hubao: feed \$1: \" $TMP/p2.err; }
  line truncated | grep -q '\[2 tries\]' && line slow | grep -q '\[2 tries\]' &&
  line garbage | grep -q '\[1 try\]'"
expect "flaky: 503 then success after a retry" sh -c "
  grep -q '^hubao: feed flaky: updated: 2 entries.*after retrying' $TMP/p2.err &&
  grep -qx 'u https://v2.example.net/b' $D/flaky.list"
expect "no temporary files left" sh -c "! ls $D/*.tmp.* >/dev/null 2>&1"

"$HUBAO" feeds list --dir "$D" >"$TMP/list2.out" 2>&1
expect "list after phase 2: every copy still loads" sh -c "
  test \$(grep -c 's  20' $TMP/list2.out) -eq 12 && grep -Eq '^changed +2 ' $TMP/list2.out"

# --- validators are only sent for the copy they came from -------------
echo "unchanged json $BASE/unchanged.txt" >"$TMP/refmt.conf"
"$HUBAO" feeds update --config "$TMP/refmt.conf" --dir "$D" --allow-http --tries 1 2>"$TMP/refmt.err"
rc=$?
expect "format changed: no conditional GET, text refused as JSON, copy kept" sh -c "
  test $rc -eq 1 && grep -q 'does not parse' $TMP/refmt.err &&
  cmp -s $D/unchanged.list $TMP/snap/unchanged.list"
expect "format changed: request carried no validators" python3 - "$TMP/requests.log" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = [r for r in rows if r["path"] == "/unchanged.txt"][-1]
assert not last["if_none_match"] and not last["if_modified_since"], last
PY

# --- a feed that does not exist never gets a copy ---------------------
echo "missing text $BASE/missing.txt" >"$TMP/missing.conf"
"$HUBAO" feeds update --config "$TMP/missing.conf" --dir "$D" --allow-http --tries 1 2>"$TMP/missing.err"
rc=$?
expect "404: exit 1, says so, no copy" sh -c "
  test $rc -eq 1 && grep -q 'HTTP status 404' $TMP/missing.err &&
  grep -q 'no copy yet' $TMP/missing.err && test ! -e $D/missing.list"

# --- usage and configuration errors -----------------------------------
"$HUBAO" feeds update --bogus >/dev/null 2>&1
expect "unknown option: exit 2" test $? -eq 2
"$HUBAO" feeds frobnicate >/dev/null 2>&1
expect "unknown subcommand: exit 2" test $? -eq 2
"$HUBAO" feeds update --max-bytes lots >/dev/null 2>&1
expect "bad --max-bytes: exit 2" test $? -eq 2
"$HUBAO" feeds update --config "$TMP/nope.conf" --dir "$D" 2>"$TMP/noconf.err"
rc=$?
expect "missing config: exit 3" test $rc -eq 3
printf '# ok\nbad-feed xml https://example.com/x\n' >"$TMP/bad.conf"
"$HUBAO" feeds update --config "$TMP/bad.conf" --dir "$D" 2>"$TMP/badconf.err"
rc=$?
expect "bad config: exit 3 naming file:line" sh -c "
  test $rc -eq 3 && grep -q 'bad.conf:2: feed bad-feed: format \"xml\"' $TMP/badconf.err"
"$HUBAO" feeds update --config feeds/feeds.conf --dir "$TMP/shipped" 2>"$TMP/shipped.err"
rc=$?
expect "shipped feeds.conf fetches nothing" sh -c "
  test $rc -eq 0 && grep -q 'no feeds configured' $TMP/shipped.err && test ! -e $TMP/shipped"

# --- a damaged copy is reported, not half-loaded ------------------------
head -c 60 "$TMP/snap/good.list" >"$D/good.list"
"$HUBAO" feeds list --dir "$D" >/dev/null 2>"$TMP/damaged.err"
rc=$?
expect "damaged copy: exit 3 naming the file" sh -c "
  test $rc -eq 3 && grep -q 'good.list' $TMP/damaged.err"

# ... and the next update repairs it instead of trusting a 304
head -c 30 "$TMP/snap/unchanged.list" >"$D/unchanged.list"
echo "unchanged text $BASE/unchanged.txt" >"$TMP/repair.conf"
"$HUBAO" feeds update --config "$TMP/repair.conf" --dir "$D" --allow-http --tries 1 2>"$TMP/repair.err"
rc=$?
expect "damaged copy with validators: full download restores it" sh -c "
  test $rc -eq 0 && grep -q 'feed unchanged: updated' $TMP/repair.err &&
  cmp -s $D/unchanged.list $TMP/snap/unchanged.list"

kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null
trap - EXIT INT TERM
if [ $fails -eq 0 ]; then rm -rf "$TMP"; echo "feeds: all passed"; exit 0; fi
echo "feeds: $fails failed (logs in $TMP)"
exit 1
