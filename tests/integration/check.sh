#!/bin/sh
# End-to-end test of `hubao train` and `hubao check` (the AddressSanitizer
# build): train small models on the fixtures, then classify, render JSON,
# and check every documented exit code.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
RULES=tests/fixtures/engine/rules
TMP=build/tmp/check-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

export HUBAO_RULES=$RULES
for task in fraud spam; do
  "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv --out "$TMP/models/$task" \
    --hash-bits 14 --seed 3 2>"$TMP/train.err" || { bad "train $task"; cat "$TMP/train.err"; }
done
expect "train writes a bundle" test -s "$TMP/models/fraud/model.svm" -a -s "$TMP/models/fraud/manifest.json"

out=$("$HUBAO" check --models "$TMP/models" "公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系13812345678")
rc=$?
expect "human verdict exits 0" test $rc -eq 0
expect "human verdict says fraud" grep -q "Likely fraud: impersonating police" <<EOF2
$out
EOF2
expect "phone masked in human output" sh -c '! printf "%s" "$1" | grep -q 13812345678' _ "$out"
expect "advice printed" grep -q "Advice:" <<EOF2
$out
EOF2

"$HUBAO" check --json --models "$TMP/models" "公安局通知：请转入安全账户 13812345678" "周年庆大促，全场五折，退订回T" >"$TMP/out.json"
expect "json lines parse and separate fraud from adverts" python3 - "$TMP/out.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 2, rows
a, b = rows
assert a["verdict"] == "fraud" and a["tasks"]["fraud"]["type"] == "authority", a
assert "13812345678" not in json.dumps(a, ensure_ascii=False)
assert a["tasks"]["fraud"]["evidence"]["rules"][0]["id"].startswith("test.")
assert b["tasks"]["fraud"]["positive"] is False and b["tasks"]["spam"]["positive"] is True, b
assert b["summary"]["en"].startswith("Advertising, not fraud"), b
PY

printf 'hello there\nbad \377 utf8\n\nlast line\n' | "$HUBAO" check --json --models "$TMP/models" >"$TMP/stdin.json"
rc=$?
expect "rejected input exits 1" test $rc -eq 1
expect "one reply per input line, errors in place" python3 - "$TMP/stdin.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 4, rows
assert "verdict" in rows[0] and "verdict" in rows[3]
assert rows[1]["error"]["code"] == "invalid_utf8", rows[1]
assert rows[2]["error"]["code"] == "empty_text", rows[2]
PY

big=$(head -c 70000 /dev/zero | tr '\0' 'a')
"$HUBAO" check --models "$TMP/models" "$big" >/dev/null 2>"$TMP/big.err"
expect "oversize message exits 1 with a reason" test $? -eq 1
expect "oversize reason names the limit" grep -q "over the limit" "$TMP/big.err"

"$HUBAO" check --models "$TMP/none" "hi" 2>"$TMP/none.err"
expect "missing models exit 3" test $? -eq 3
expect "missing models say so" grep -q "cannot load models" "$TMP/none.err"

mkdir -p "$TMP/empty"
"$HUBAO" check --models "$TMP/empty" "hi" 2>"$TMP/empty.err"
expect "no model bundle exits 3" test $? -eq 3
expect "no model bundle is explained" grep -q "no text model bundle" "$TMP/empty.err"

cp -r "$TMP/models" "$TMP/corrupt"
printf 'garbage' >>"$TMP/corrupt/spam/model.svm"
"$HUBAO" check --models "$TMP/corrupt" "hi" 2>"$TMP/corrupt.err"
expect "corrupt model exits 3" test $? -eq 3
expect "corrupt model names the checksum" grep -q "checksum" "$TMP/corrupt.err"

# --named-scale 0 leaves the rule and entity features out: no weight in a
# bucket without IDF (those hold only them); by default they have weights
"$HUBAO" train --task fraud --data tests/fixtures/train_small.tsv --out "$TMP/off" \
  --hash-bits 14 --named-scale 0 2>/dev/null
expect "named features: weights by default, none with --named-scale 0" \
  python3 - "$TMP/models/fraud" "$TMP/off" <<'PY'
import struct, sys
def named_weights(bundle):
    raw = open(bundle + "/idf.bin", "rb").read()
    text = {struct.unpack_from("<I", raw, k)[0] + 1 for k in range(0, len(raw), 8)}
    sv = open(bundle + "/model.svm").read().split("SV\n", 1)[1].split()[1:]
    return [p for p in sv if int(p.split(":")[0]) not in text]
assert named_weights(sys.argv[1]), "the default model has no rule or entity weight"
assert named_weights(sys.argv[2]) == [], named_weights(sys.argv[2])
PY

"$HUBAO" check --bogus >/dev/null 2>&1
expect "usage error exits 2" test $? -eq 2
"$HUBAO" train --task fraud --data tests/fixtures/train_small.tsv --out "$TMP/never" \
  --repeats 11 >/dev/null 2>&1
expect "train --repeats outside 1..10 exits 2" test $? -eq 2

printf 'ham\tok\nbroken line\n' >"$TMP/bad.tsv"
"$HUBAO" train --task fraud --data "$TMP/bad.tsv" --out "$TMP/never" 2>"$TMP/badtsv.err"
expect "malformed TSV is refused" test $? -ne 0
expect "malformed TSV names file:line" grep -q "bad.tsv:2: no TAB" "$TMP/badtsv.err"

"$HUBAO" eval --model "$TMP/models/fraud" --json --predictions "$TMP/pred.tsv" \
  tests/fixtures/train_small.tsv >"$TMP/eval.json"
expect "eval json has the documented keys" python3 - "$TMP/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ("n", "accuracy", "precision", "recall", "f1", "mcc", "auc", "tp", "fp", "tn", "fn"):
    assert k in r, k
assert r["n"] == 48 and r["tp"] + r["fn"] == 25
PY
expect "eval --predictions: one line per row, agreeing with the confusion matrix" \
  python3 - "$TMP/eval.json" "$TMP/pred.tsv" tests/fixtures/train_small.tsv <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
head, *rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
assert head == ["line", "truth", "probability", "called"], head
assert [int(x[0]) for x in rows] == list(range(1, 49)), "rows in file order"
pairs = [(int(t), int(c)) for _, t, _, c in rows]
assert pairs.count((1, 1)) == r["tp"] and pairs.count((0, 1)) == r["fp"], pairs
assert pairs.count((0, 0)) == r["tn"] and pairs.count((1, 0)) == r["fn"], pairs
assert all(0 <= float(x[2]) <= 1 for x in rows)
PY

# a URL model gives no fraud type: eval of one on rows labelled
# fraud_<type> that it calls malicious once read a text verdict that is
# not there (a NULL dereference)
i=0
while [ $i -lt 12 ]; do
  printf 'fraud_phishing\thttp://secure-login-verify%d.top/account/update.php?id=%d\n' $i $i
  printf 'benign\thttps://www.example%d.org/news/article-%d.html\n' $i $i
  i=$((i + 1))
done >"$TMP/urls.tsv"
"$HUBAO" train --task url --data "$TMP/urls.tsv" --out "$TMP/url" --hash-bits 12 \
  --seed 3 --repeats 1 2>/dev/null || bad "train url"
"$HUBAO" eval --model "$TMP/url" --json "$TMP/urls.tsv" >"$TMP/url-eval.json" 2>"$TMP/url-eval.err"
expect "url model eval on fraud_ labels exits 0, with no type accuracy" \
  python3 - $? "$TMP/url-eval.json" "$TMP/url-eval.err" <<'PY'
import json, sys
assert sys.argv[1] == "0", open(sys.argv[3]).read()
r = json.load(open(sys.argv[2]))
assert r["tp"] > 0, r  # some fraud_ row was called malicious
assert r["type_accuracy"] is None, r
PY

"$HUBAO" check --models "$TMP/models" --feeds "$TMP/no-such-feeds" hello 2>"$TMP/nofeeds.err"
expect "a feeds directory that does not exist: exit 3, named" sh -c \
  'test $0 -eq 3 && grep -q "no-such-feeds: feeds directory does not exist" "$1"' $? "$TMP/nofeeds.err"

# a blocklisted link makes a message fraud, whatever the text says, and the
# verdict names the feed
mkdir -p "$TMP/feeds"
printf '# hubao feed copy v1\nd evil-bank.top\n# end 1\n' >"$TMP/feeds/testfeed.list"
"$HUBAO" check --json --models "$TMP/models" --feeds "$TMP/feeds" \
  "明天上午开会 www.login.evil-bank.top/x" "明天上午开会 www.example.org/x" >"$TMP/feed.json"
expect "a blocklisted link decides fraud and names its feed" python3 - "$TMP/feed.json" <<'PY'
import json, sys
hit, miss = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
f = hit["tasks"]["fraud"]
assert hit["verdict"] == "fraud" and f["by_link"] and f["type"] == "malicious_link", hit
u = hit["urls"][0]
assert u["feed"] == "testfeed" and u["listed"] == "domain" and u["decided_fraud"], u
assert u["domain"] == "evil-bank.top", u
assert not miss["tasks"]["fraud"]["by_link"] and miss["urls"][0]["feed"] is None, miss
PY

rm -rf "$TMP"
[ $fails -eq 0 ]
