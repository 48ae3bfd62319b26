#!/bin/sh
# The statistics behind `make eval` (tools/evaluate.py) on made-up
# decisions: the per-row MCC agrees with scikit-learn's, and the paired
# bootstrap interval of an MCC gap is 0 for identical models, above 0 for
# a model that is right where the other is wrong, and changes sign when the
# two are swapped; the Wilson interval of a share matches values worked by
# hand; and the peer's second reading of a file, through `hubao
# normalize`, keeps every row and label; fresh splits keep texts on one
# side and give each class its share, and run both models per split.
# Debian's python3 (numpy,
# sklearn), no data sets needed.
set -u
TMP=build/tmp/evaluate-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

check() { # check NAME PYTHON: run PYTHON with tools/evaluate.py imported as ev
  name=$1
  expect "$name" /usr/bin/python3 -c "
import random, sys
sys.path.insert(0, 'tools')
import evaluate as ev
import numpy as np
from sklearn.metrics import matthews_corrcoef
rng = random.Random(5)
truth = [rng.random() < 0.3 for _ in range(400)]
good = list(truth)
good[0] = not good[0]
noisy = [t if rng.random() < 0.85 else not t for t in truth]
$2"
}

check "per-row MCC equals scikit-learn's" '
y = np.array([truth, truth]); p = np.array([good, noisy])
got = ev.mcc_rows(y, p)
assert abs(got[0] - matthews_corrcoef(truth, good)) < 1e-12, got
assert abs(got[1] - matthews_corrcoef(truth, noisy)) < 1e-12, got
assert ev.mcc_rows(np.array([truth]), np.array([[False] * 400]))[0] == 0  # undefined: 0
'
check "identical decisions: the interval is 0 .. 0" '
assert ev.delta_mcc_interval(truth, noisy, noisy) == (0.0, 0.0)
'
check "a clearly better model: the interval lies above 0" '
lo, hi = ev.delta_mcc_interval(truth, good, noisy)
assert 0 < lo < hi, (lo, hi)
'
check "swapping the models flips the interval" '
lo, hi = ev.delta_mcc_interval(truth, good, noisy)
lo2, hi2 = ev.delta_mcc_interval(truth, noisy, good)
assert abs(lo + hi2) < 1e-12 and abs(hi + lo2) < 1e-12, (lo, hi, lo2, hi2)
'
check "one differing row out of 400: the interval spans 0" '
one = list(noisy)
one[1] = not one[1]
lo, hi = ev.delta_mcc_interval(truth, one, noisy)
assert lo <= 0 <= hi, (lo, hi)
'
check "Wilson interval: values worked by hand" '
lo, hi = ev.wilson(81, 84)
assert abs(lo - 0.9002) < 5e-4 and abs(hi - 0.9878) < 5e-4, (lo, hi)  # by hand
assert ev.wilson(0, 50)[0] == 0 and abs(ev.wilson(0, 50)[1] - 0.0714) < 5e-4
assert ev.share(81, 84) == "96.4% (90.0-98.8)", ev.share(81, 84)
'
check "fresh splits: same text on one side, each class its share, the seed decides" '
labels = ["spam" if i % 4 == 0 else "ham" for i in range(400)]
def word(k):  # letters: text keys read every digit as 0
    return "".join(chr(97 + int(d)) for d in str(k))
texts = ["msg " + word(i // 2) for i in range(400)]  # every text twice
texts[7] = "ＭＳＧ　ＢＡＡ"  # the text of rows 200 and 201 ("msg baa") once folded
train, test = ev.split_rows(labels, texts, ["spam"], 0.2, random.Random(3))
assert sorted(train + test) == list(range(400))
side = {}
for i in train:
    side.setdefault(ev.text_key(texts[i]), set()).add("train")
for i in test:
    side.setdefault(ev.text_key(texts[i]), set()).add("test")
assert all(len(s) == 1 for s in side.values()), "a text on both sides"
assert ev.text_key(texts[7]) == ev.text_key(texts[200])
for cls in ("spam", "ham"):
    n = sum(1 for l in labels if l == cls)
    got = sum(1 for i in test if labels[i] == cls)
    assert abs(got - 0.2 * n) <= 2, (cls, got, n)
assert ev.split_rows(labels, texts, ["spam"], 0.2, random.Random(3)) == (train, test)
assert ev.split_rows(labels, texts, ["spam"], 0.2, random.Random(4)) != (train, test)
'
check "gap summary: mean, standard error and wins worked by hand" '
mean, se, wins = ev.gap_summary([0.02, -0.01, 0.02])
assert abs(mean - 0.01) < 1e-12 and abs(se - 0.01) < 1e-12 and wins == 2, (mean, se, wins)
'

expect "a failing hubao command stops make eval with hubao's own message" /usr/bin/python3 -c "
import sys
sys.path.insert(0, 'tools')
import evaluate as ev
cmd = ['${HUBAO:-build/asan/hubao}', 'train', '--task', 'spam', '--data', '$TMP/absent.tsv', '--out', '$TMP/m']
try:
    ev.run_hubao(cmd)
    raise SystemExit('no error')
except RuntimeError as e:
    assert '$TMP/absent.tsv' in str(e).split(': ', 1)[1], e
"

mkdir -p "$TMP/data/tiny"
head -n 36 tests/fixtures/train_small.tsv >"$TMP/data/tiny/train.tsv"
tail -n 12 tests/fixtures/train_small.tsv >"$TMP/data/tiny/test.tsv"
expect "fresh splits: only rows below the peer, both models trained on each split" /usr/bin/python3 -c "
import sys
sys.path.insert(0, 'tools')
import evaluate as ev
ev.HUBAO = '${HUBAO:-build/asan/hubao}'
ev.DATA = '$TMP/data'
ev.RESPLIT_OUT = '$TMP/resplit'
below = {'dataset': 'tiny', 'task': 'spam', 'hubao': {'mcc': 0.5}, 'peer': {'mcc': 0.6}}
above = {'dataset': 'tiny', 'task': 'fraud', 'hubao': {'mcc': 0.6}, 'peer': {'mcc': 0.5}}
lines = ev.resplit_table([below, above], [], 2)
assert len(lines) == 3 and lines[2].startswith('| tiny | spam | its train split | 2 |'), lines
assert 'resplit' not in above
r = below['resplit']
assert len(r['hubao_mcc']) == len(r['peer_mcc']) == 2, r
assert all(-1 <= v <= 1 for v in r['hubao_mcc'] + r['peer_mcc']), r
"

printf 'spam\t加薇信 １３８xxxx\nham\tCall 911 now\n' >"$TMP/rows.tsv"
expect "the peer can read a file as Hubao's models do, row for row" /usr/bin/python3 -c "
import sys
sys.path.insert(0, 'tools')
import evaluate as ev
ev.HUBAO = '${HUBAO:-build/asan/hubao}'
assert ev.read_rows('$TMP/rows.tsv') == (['spam', 'ham'], ['加薇信 １３８xxxx', 'Call 911 now'])
got = ev.read_rows('$TMP/rows.tsv', 'hubao')
assert got == (['spam', 'ham'], ['加微信 0000000', 'call 000 now']), got
"

[ "$fails" -eq 0 ] && rm -rf "$TMP"
[ "$fails" -eq 0 ]
