#!/bin/sh
# The statistics behind `make eval` (tools/research/report.py) on made-up
# decisions: the per-row MCC agrees with scikit-learn's, and the paired
# bootstrap interval of an MCC gap is 0 for identical models, above 0 for
# a model that is right where the other is wrong, and changes sign when the
# two are swapped; the Wilson interval of a share matches values worked by
# hand; and the peer's second reading of a file, through `hubao
# normalize`, keeps every row and label; fresh splits keep texts on one
# side and give each class its share, and run both models per split.
# Tables 5 and 6 (tools/research/generalisation.py): which labels count as negative
# or positive per task, the per-class rates, Wilson intervals, targets and
# headlines on made-up replies, one `hubao check` pass over tiny made-up
# test sets, and the leave-one-dataset-out rows, which drop exactly the
# left-out set from a recipe's training list and keep its exclude list.
# Table 7 (fraud types) on made-up replies: per true type the recall, the
# type accuracy of all and of the caught, the wrong types, the Wilson
# cells, zh-telecom-fraud's credit_repair acceptance for customer_service
# beside the strict figure, the language split; and one `hubao check`
# pass per made-up source that carries the type.  Debian's python3 (numpy,
# sklearn), no data sets needed.
set -u
TMP=build/tmp/evaluate-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

check() { # check NAME PYTHON: run PYTHON with tools/research/report.py imported as ev
  name=$1
  expect "$name" /usr/bin/python3 -c "
import random, sys
sys.path.insert(0, 'tools')
from research import labels as label_map
from research import report as ev
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
from research import labels as label_map
from research import report as ev
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
from research import labels as label_map
from research import report as ev
ev.HUBAO = label_map.HUBAO = '${HUBAO:-build/asan/hubao}'
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
from research import labels as label_map
from research import report as ev
ev.HUBAO = label_map.HUBAO = '${HUBAO:-build/asan/hubao}'
assert ev.read_rows('$TMP/rows.tsv') == (['spam', 'ham'], ['加薇信 １３８xxxx', 'Call 911 now'])
got = ev.read_rows('$TMP/rows.tsv', 'hubao')
assert got == (['spam', 'ham'], ['加微信 0000000', 'call 000 now']), got
"

gcheck() { # gcheck NAME PYTHON: run PYTHON with tools/research/generalisation.py imported as gen
  name=$1
  expect "$name" /usr/bin/python3 -c "
import os, sys
sys.path.insert(0, 'tools')
from research import labels as label_map
from research import report as ev
from research import generalisation as gen
ev.HUBAO = label_map.HUBAO = '${HUBAO:-build/asan/hubao}'
def reply(verdict, summary, **tasks):  # a made-up hubao check --json reply
    return {'verdict': verdict, 'summary': {'en': summary},
            'tasks': {t: dict(zip(('positive', 'possible'), v)) for t, v in tasks.items()}}
$2"
}

gcheck "table 5: which labels are positive and negative for each task" '
pos = {"spam": ["spam", "smishing", "fraud_loan", "fraud_authority", "fraud_acquaintance"],
       "fraud": ["smishing", "fraud_loan", "fraud_authority", "fraud_acquaintance"],
       "rumour": ["rumour", "fake", "false", "pants-fire", "barely-true"]}
labels = ["ham", "spam", "smishing", "fraud_loan", "fraud_authority", "fraud_acquaintance",
          "rumour", "nonrumour", "fake", "real", "true", "false", "half-true", "mostly-true",
          "pants-fire", "barely-true"]
for task, p in pos.items():
    for l in labels:
        assert gen.is_positive(task, l) == (l in p), (task, l)
for bad in ("benign", "spamm", "Ham", ""):
    try:
        gen.is_positive("spam", bad)
        raise SystemExit("no error for " + repr(bad))
    except ValueError:
        pass
assert gen.class_name("fraud", "spam") == "spam (adverts)" == gen.class_name("rumour", "spam")
assert gen.class_name("spam", "spam") == "spam"
'

gcheck "table 5: per-class rates, pooled rows, rejected messages and the possible tier" '
labels = ["ham"] * 200 + ["spam"] * 50 + ["smishing"] * 10 + ["ham"]
replies = ([gen.brief(reply("spam", "Advertising, not fraud (90%)", spam=(i < 3, i < 5), fraud=(False, i < 1)))
            for i in range(200)] +
           [gen.brief(reply("spam", "Advertising, not fraud (90%)", spam=(i < 40, i < 45), fraud=(i < 2, i < 4)))
            for i in range(50)] +
           [gen.brief(reply("fraud", "Likely fraud: Loans (99%)", spam=(i < 9, True), fraud=(i < 7, i < 8)))
            for i in range(10)] +
           [gen.brief({"error": {"code": "empty_text", "message": "text is empty"}})])
rows = {r["label"]: r for r in gen.class_rates("spam", labels, replies)}
assert list(rows) == ["ham", "smishing", "spam", gen.ALL_POSITIVE], list(rows)
assert rows["ham"] == {"label": "ham", "positive": False, "n": 200, "called": 3, "possible": 5, "errors": 1}, rows["ham"]
assert rows["spam"]["positive"] and (rows["spam"]["n"], rows["spam"]["called"], rows["spam"]["possible"]) == (50, 40, 45)
assert (rows[gen.ALL_POSITIVE]["n"], rows[gen.ALL_POSITIVE]["called"], rows[gen.ALL_POSITIVE]["possible"]) == (60, 49, 55)
# under fraud an advert is a negative: ham and spam pool as negatives
rows = {r["label"]: r for r in gen.class_rates("fraud", labels, replies)}
assert list(rows) == ["ham", "smishing", "spam", gen.ALL_NEGATIVE], list(rows)
assert not rows["spam"]["positive"] and rows["spam"]["called"] == 2 and rows["smishing"]["called"] == 7
assert (rows[gen.ALL_NEGATIVE]["n"], rows[gen.ALL_NEGATIVE]["called"], rows[gen.ALL_NEGATIVE]["errors"]) == (250, 2, 1)
# a reply without the possible tier: no possible share, and no column for it
old = [gen.brief(reply("clean", "No fraud signs found", spam=(False,))) for _ in labels[:3]]
r = gen.class_rates("spam", ["ham"] * 3, old)
assert r == [{"label": "ham", "positive": False, "n": 3, "called": 0, "possible": None, "errors": 0}], r
assert len(gen.rate_header(False)[0].split("|")) == len(gen.rate_line("spam", "x", r[0], False).split("|"))
assert len(gen.rate_header(True)[0].split("|")) == len(gen.rate_line("spam", "x", rows["ham"], True).split("|"))
assert gen.mcc_of(gen.class_rates("spam", ["ham", "spam"], [gen.brief(reply("clean", "", spam=(False,))), gen.brief(reply("spam", "", spam=(True,)))])) == 1.0
'

gcheck "table 5: Wilson cells, targets and their flags worked by hand" '
assert gen.rate_cell(3, 200) == "1.5% (0.5-4.3)", gen.rate_cell(3, 200)
assert gen.rate_cell(0, 50) == "0.00% (0.00-7.14)", gen.rate_cell(0, 50)
assert gen.rate_cell(81, 84) == "96.4% (90.0-98.8)"
assert gen.rate_cell(1, 4002) == "0.02% (0.00-0.14)", gen.rate_cell(1, 4002)
assert gen.rate_cell(0, 0) == "-"
assert gen.target("zh-chat-lccc", "spam", "ham") == ("<=", 0.02)
assert gen.target("zh-chat-lccc", "fraud", "ham") == ("<=", 0.001)
assert gen.target("en-sms-exais", "fraud", "spam") == ("<=", 0.05)
assert gen.target("en-sms-exais", "spam", "spam") == (">=", 0.85)
assert gen.target("zh-telecom-fraud", "fraud", gen.ALL_POSITIVE) == (">=", 0.90)
assert gen.target("en-smishing", "fraud", "smishing") == (">=", 0.90)
assert gen.target("zh-spam-sms", "spam", "ham") is None
assert gen.meets(80, 4000, "<=", 0.02) and not gen.meets(81, 4000, "<=", 0.02)
assert gen.meets(540, 600, ">=", 0.9) and not gen.meets(539, 600, ">=", 0.9)
assert not gen.meets(0, 0, "<=", 0.02)
row = {"label": "ham", "positive": False, "n": 4002, "called": 348, "possible": 348, "errors": 0}
line = gen.rate_line("spam", "zh-chat-lccc", row, True)
assert line == "| spam | zh-chat-lccc | ham | false alarms | 4002 | 348 | 8.7% (7.9-9.6) | 8.7% (7.9-9.6) | **MISSES** ≤ 2.0% |", line
row = {"label": "smishing", "positive": True, "n": 84, "called": 77, "possible": None, "errors": 2}
line = gen.rate_line("fraud", "en-smishing", row, False)
assert line == "| fraud | en-smishing | smishing | recall | 84 | 77 | 91.7% (83.8-95.9) | meets ≥ 90.0% (2 rejected) |", line
'

gcheck "table 5: the headline each fraud message got, and the worst answers" '
assert gen.headline(reply("fraud", "Likely fraud: Impersonating police, courts or government (100%)")) == "Likely fraud"
assert gen.headline(reply("possible_fraud", "Possibly fraud: verify before acting: Loans (61%)")) == "Possibly fraud"
assert gen.headline(reply("possible_fraud", "Possibly fraud: verify before acting (61%)")) == "Possibly fraud"
assert gen.headline(reply("spam", "Advertising, not fraud (100%)")) == "Advertising, not fraud"
assert gen.headline(reply("clean", "No fraud signs found")) == "No fraud signs found"
labels = ["fraud_loan"] * 4 + ["smishing"] * 2 + ["spam", "ham"]
replies = [gen.brief(reply(*vs)) for vs in [
    ("fraud", "Likely fraud: Loans (99%)"), ("spam", "Advertising, not fraud (80%)"),
    ("clean", "No fraud signs found"), ("possible_fraud", "Possibly fraud: verify before acting (50%)"),
    ("fraud", "Likely fraud (90%)"), ("rumour", "Likely rumour (70%)"),
    ("spam", "Advertising, not fraud (99%)"), ("clean", "No fraud signs found")]]
c = gen.headline_counts(labels, replies)
assert sorted(c) == sorted(["fraud_loan", "smishing", gen.ALL_POSITIVE]), c  # no ham, no adverts
assert c["fraud_loan"]["headlines"] == {"fraud: Likely fraud": 1, "spam: Advertising, not fraud": 1,
                                        "clean: No fraud signs found": 1, "possible_fraud: Possibly fraud": 1}
assert gen.worst_count(c["fraud_loan"]["headlines"]) == 2 and gen.worst_count(c["smishing"]["headlines"]) == 0
assert c[gen.ALL_POSITIVE]["n"] == 6 and gen.worst_count(c[gen.ALL_POSITIVE]["headlines"]) == 2
lines = gen.headline_table({"x": c})
assert lines[2].startswith("| x | fraud_loan | 4 | 25.0% | 25.0% | 0% | 25.0% | 25.0% | 50.0% ("), lines[2]
assert lines[-1].startswith("| x | (all positives) | 6 |"), lines[-1]
'

mkdir -p "$TMP/gdata/zh-chat-lccc" "$TMP/gdata/sms" "$TMP/gdata/url-iscx2016" "$TMP/gdata/trainonly"
printf 'ham\t哈哈哈晚安\nham\t明天一起吃饭吗\nham\t\nham\t好的\n' >"$TMP/gdata/zh-chat-lccc/test.tsv"
tail -n 16 tests/fixtures/train_small.tsv >"$TMP/gdata/sms/test.tsv"
head -n 3 tests/fixtures/train_small.tsv >>"$TMP/gdata/sms/test.tsv"
printf 'benign\thttp://example.com/\n' >"$TMP/gdata/url-iscx2016/test.tsv"
printf 'ham\thello\n' >"$TMP/gdata/trainonly/train.tsv"
gcheck "table 5: one hubao check pass per test split, every class, url and train-only sets left out" "
ev.DATA = '$TMP/gdata'
assert gen.test_sets() == ['sms', 'zh-chat-lccc'], gen.test_sets()
calls = []
check = gen.check_replies
def spy(texts):
    calls.append(list(texts))
    rep = check(texts)
    calls.append(rep)
    return rep
gen.check_replies = spy
report = {'rows': []}
lines = gen.false_alarm_table(report)
got = [(r['task'], r['dataset']) for r in report['rows']]
assert got == [(t, d) for t in ('spam', 'fraud', 'rumour') for d in ('sms', 'zh-chat-lccc')], got
chat = [r for r in report['rows'] if r['dataset'] == 'zh-chat-lccc']
assert all(r['classes'][0]['n'] == 3 and r['classes'][0]['errors'] == 1 for r in chat), chat
sms = {r['task']: {c['label']: c for c in r['classes']} for r in report['rows'] if r['dataset'] == 'sms'}
assert sorted(sms['fraud']) == sorted(['(all negatives)', 'fraud_authority', 'ham', 'spam']), sms['fraud']
assert sms['fraud']['spam']['n'] == 8 and not sms['fraud']['spam']['positive'] and sms['spam']['spam']['positive']
assert sms['fraud']['(all negatives)']['n'] == 16 and sms['spam']['(all positives)']['n'] == 11
assert sms['rumour']['(all negatives)']['n'] == 19 and sms['fraud']['fraud_authority']['positive']
assert [(t['task'], t['class']) for t in report['targets']] == [('spam', 'ham'), ('fraud', 'ham'), ('rumour', 'ham')]
assert any(l.startswith('| spam | zh-chat-lccc | ham | false alarms | 3 |') for l in lines)
assert list(report['headlines']) == ['sms'] and report['headlines']['sms']['fraud_authority']['n'] == 3
assert len(calls) == 4 and calls[2][2] == '' and len(calls[3]) == 4, calls  # one pass per file
assert calls[3][2] == {'error': 'empty_text'}, calls[3]  # the empty message, rejected in its place
assert set(calls[3][0]['tasks']) == {'spam', 'fraud', 'rumour'} and calls[3][0]['headline'], calls[3][0]
"

mkdir -p "$TMP/ldata/a" "$TMP/ldata/b" "$TMP/ldata/c" "$TMP/ldata/d"
sed -n '1~2p' tests/fixtures/train_small.tsv >"$TMP/ldata/a/train.tsv"
sed -n '2~4p' tests/fixtures/train_small.tsv >"$TMP/ldata/a/test.tsv"
cp "$TMP/ldata/a/train.tsv" "$TMP/ldata/b/train.tsv"
cp "$TMP/ldata/a/test.tsv" "$TMP/ldata/b/test.tsv"
cp "$TMP/ldata/a/test.tsv" "$TMP/ldata/c/test.tsv"
cp "$TMP/ldata/a/train.tsv" "$TMP/ldata/d/train.tsv"
gcheck "table 6: a left-out row drops exactly its set from the recipe's training and keeps the exclude list" "
ev.DATA = '$TMP/ldata'
recipe = {'train': ['a', 'b', 'd', 'models/data/x.tsv', 'url-iscx2016'], 'exclude': ['a', 'b', 'c'],
          'args': ['--labels', 'spam,not_spam', '--positive', 'spam,smishing,fraud_*', '--hash-bits', '16']}
assert gen.lodo_datasets(recipe) == ['a', 'b']  # d has no test split; files and links are not sets
assert gen.recipes.positive_of(recipe) == 'spam,smishing,fraud_*' and gen.recipes.positive_of({'args': []}) is None
cmd, train, exclude = gen.lodo_command('spam', recipe, 'a', 'out/x')
assert train == ['$TMP/ldata/b/train.tsv', '$TMP/ldata/d/train.tsv', 'models/data/x.tsv', '$TMP/ldata/url-iscx2016/train.tsv'], train
assert exclude == ['$TMP/ldata/a/test.tsv', '$TMP/ldata/b/test.tsv', '$TMP/ldata/c/test.tsv'], exclude
assert cmd[:4] == [ev.HUBAO, 'train', '--task', 'spam'] and cmd[-len(recipe['args']):] == recipe['args']
assert cmd[cmd.index('--data') + 1] == ','.join(train) and cmd[cmd.index('--exclude') + 1] == ','.join(exclude)
assert cmd[cmd.index('--out') + 1] == 'out/x' and cmd[cmd.index('--seed') + 1] == '1'
# a recipe whose exclude list lacks the left-out test split gets it added
_, _, exclude = gen.lodo_command('spam', dict(recipe, exclude=['c']), 'b', 'out/y')
assert exclude == ['$TMP/ldata/c/test.tsv', '$TMP/ldata/b/test.tsv'], exclude
# the shipped recipes, whatever they are today: one set out, the rest and the exclude list kept
for task, r in gen.recipes.TASKS.items():
    for ds in [d for d in r['train'] if not d.endswith('.tsv')]:
        _, train, exclude = gen.lodo_command(task, r, ds, 'o')
        assert train == [gen.data_file(d) for d in r['train'] if d != ds], (task, ds)
        assert len(train) == len(r['train']) - 1, (task, ds)
        assert exclude[:len(r['exclude'])] == [gen.data_file(d, 'test') for d in r['exclude']], (task, ds)
        assert ev.path(ds, 'test') in exclude
assert gen.recall_fpr([1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0]) == (2 / 3, 1 / 4)
assert gen.recall_fpr([0, 0], [1, 0]) == (None, 0.5)
"

gcheck "table 6: one row trains Hubao and the peer without the set and scores both on it" "
ev.DATA = '$TMP/ldata'
gen.LODO_OUT = '$TMP/lodo'
recipe = {'train': ['a', 'b'], 'exclude': ['a', 'b'], 'args': ['--labels', 'spam,not_spam', '--hash-bits', '16']}
r = gen.lodo_row('spam', recipe, 'a')
assert r['train'] == ['$TMP/ldata/b/train.tsv'] and r['n'] == 12, r
assert os.path.exists('$TMP/lodo/spam-a/manifest.json')
import json
m = json.load(open('$TMP/lodo/spam-a/manifest.json'))
assert [d['path'] for d in m['data']] == ['$TMP/ldata/b/train.tsv'], m['data']
for side in ('hubao', 'peer'):
    assert -1 <= r[side]['mcc'] <= 1 and 0 <= r[side]['recall'] <= 1 and 0 <= r[side]['fpr'] <= 1, r
lo, hi = r['delta_mcc_95']
assert lo <= hi
line = gen.lodo_line(r, 0.5)
assert line.startswith('| spam | a | 12 (') and len(line.split('|')) == len(gen.LODO_HEADER[0].split('|')), line
assert '(not run' in gen.lodo_line({'task': 'spam', 'left_out': 'z', 'missing': ['z.tsv']})
"

gcheck "table 7: per-type recall, type accuracy, wrong types and the credit_repair acceptance" '
def typed(positive, possible, t):  # a made-up reply: its fraud task and type only
    return gen.brief({"verdict": "fraud" if positive else "clean", "summary": {"en": ""},
                      "tasks": {"fraud": {"positive": positive, "possible": possible, "type": t}}})
cs = ([typed(True, True, "customer_service")] * 4 + [typed(True, True, "credit_repair")] * 3 +
      [typed(True, True, "loan"), typed(False, True, "customer_service"), typed(False, False, None)])
loan = ([typed(True, True, "loan")] * 2 + [typed(True, True, "credit_repair"), typed(True, True, None),
        gen.brief({"error": {"code": "empty_text"}})])
labels = ["fraud_customer_service"] * 10 + ["fraud_loan"] * 5 + ["smishing", "smishing", "ham"]
replies = cs + loan + [typed(True, True, "loan"), typed(True, True, None), typed(True, True, "loan")]
assert cs[0]["tasks"]["fraud"] == {"positive": True, "possible": True, "type": "customer_service",
                                   "type_by": None}
# on rows the type model trained on (7b) only the types of rules count
by_model = gen.brief({"verdict": "fraud", "summary": {"en": ""}, "tasks": {"fraud": {
    "positive": True, "possible": True, "type": "loan", "type_by": "model"}}})
own = {r["type"]: r for r in gen.type_rows(["fraud_loan"], [by_model])}["loan"]
assert own["right"] == 1, own
ruled = {r["type"]: r for r in gen.type_rows(["fraud_loan"], [by_model], rules_only=True)}["loan"]
assert ruled["right"] == 0 and ruled["wrong"] == {gen.NO_TYPE: 1}, ruled
accept = gen.ACCEPT["zh-telecom-fraud"]
assert accept == {"customer_service": ("credit_repair",)}, accept
rows = {r["type"]: r for r in gen.type_rows(labels, replies, accept)}
assert list(rows) == ["customer_service", "loan", gen.ALL_TYPES], list(rows)  # no smishing, no ham
c, l, a = rows["customer_service"], rows["loan"], rows[gen.ALL_TYPES]
assert c == {"type": "customer_service", "n": 10, "errors": 0, "caught": 8, "possible": 9, "right": 5,
             "right_caught": 4, "accepted": 8, "accepted_caught": 7,
             "wrong": {"credit_repair": 3, "loan": 1, gen.NO_TYPE: 1}}, c
assert l == {"type": "loan", "n": 4, "errors": 1, "caught": 4, "possible": 4, "right": 2, "right_caught": 2,
             "accepted": None, "accepted_caught": None, "wrong": {"credit_repair": 1, gen.NO_TYPE: 1}}, l
assert (a["n"], a["errors"], a["caught"], a["possible"], a["right"], a["right_caught"]) == (14, 1, 12, 13, 7, 6), a
assert (a["accepted"], a["accepted_caught"]) == (10, 9), a  # credit_repair right only for customer_service
assert a["wrong"]["customer_service → credit_repair"] == 3 and a["wrong"]["loan → credit_repair"] == 1, a
assert gen.top_wrong(c["wrong"]) == [("credit_repair", 3), (gen.NO_TYPE, 1), ("loan", 1)]  # ties by name
assert gen.still_wrong(c, accept) == {"loan": 1, gen.NO_TYPE: 1}
assert gen.still_wrong(l, accept) == l["wrong"]  # credit_repair stays wrong for a loan
assert "customer_service → credit_repair" not in gen.still_wrong(a, accept)
assert "loan → credit_repair" in gen.still_wrong(a, accept)
# strict only: without accept nothing is accepted and there is no second line
strict = {r["type"]: r for r in gen.type_rows(labels, replies)}
assert strict["customer_service"]["accepted"] is None and strict[gen.ALL_TYPES]["accepted"] is None
assert len(gen.type_lines("x", "zh", list(strict.values()))) == 3
# the lines: strict first, the accepted one under it; Wilson cells worked by hand
# (8 of 10: 49.0-94.3; 5 of 10: 23.7-76.3; 4 of 8: 21.5-78.5)
lines = gen.type_lines("x", "zh", list(rows.values()), accept, gen.catalogue())
assert len(lines) == 5, lines
assert lines[0] == ("| x | zh | customer_service | 10 | 80.0% (49.0-94.3) | 90.0% (59.6-98.2) | "
                    "50.0% (23.7-76.3) | 8 | 50.0% (21.5-78.5) | credit_repair 3, (no type) 1, loan 1 |"), lines[0]
assert lines[1] == ("| x | zh | *customer_service, credit_repair accepted* | 10 | 80.0% (49.0-94.3) | "
                    "90.0% (59.6-98.2) | 80.0% (49.0-94.3) | 8 | 87.5% (52.9-97.8) | (no type) 1, loan 1 |"), lines[1]
assert lines[2] == ("| x | zh | loan | 4 | 100.0% (51.0-100.0) | 100.0% (51.0-100.0) | 50.0% (15.0-85.0) | 4 | "
                    "50.0% (15.0-85.0) | (no type) 1, credit_repair 1 (1 rejected) |"), lines[2]
assert lines[3].startswith("| x | zh | (all types) | 14 | 85.7% (60.1-96.0) | 92.9% (68.5-98.7) | "
                           "50.0% (26.8-73.2) | 12 | 50.0% (25.4-74.6) | customer_service → credit_repair 3, "), lines[3]
assert lines[4].startswith("| x | zh | *(all types), credit_repair accepted for customer_service* | 14 | "
                           "85.7% (60.1-96.0) | 92.9% (68.5-98.7) | 71.4% (45.4-88.3) | 12 | 75.0% (46.8-91.1) | "), lines[4]
assert all(len(x.split("|")) == len(gen.TYPE_HEADER[0].split("|")) for x in lines)
r = gen.type_report(c)
assert r["shares"]["type_right"]["k"] == 5 and r["shares"]["type_accepted_of_caught"]["n"] == 8, r
assert abs(r["shares"]["recall"]["wilson95"][0] - 0.4902) < 5e-4 and r["top_wrong"][0] == ("credit_repair", 3)
assert "type_accepted" not in gen.type_report(l)["shares"]
# a type outside the catalogue says so; the catalogue is types.tsv without its header
cat = gen.catalogue()
assert cat[0] == "authority" and "credit_repair" in cat and "other" in cat and "type" not in cat, cat
x = gen.type_lines("x", "en", gen.type_rows(["fraud_nosuch"], [typed(True, True, None)]), None, cat)
assert x[0].startswith("| x | en | nosuch (not in the catalogue) | 1 |"), x
# no tier in the replies: no possible share
old = [gen.brief({"tasks": {"fraud": {"positive": True, "type": "loan"}}})]
assert gen.type_rows(["fraud_loan"], old)[0]["possible"] is None
assert gen.language("转账 now") == "zh" and gen.language("Pay now") == "en"
assert gen.language("ＰＡＹ，now") == "en" and gen.language("𠀀") == "zh"
'

mkdir -p "$TMP/tdata/zh-telecom-fraud" "$TMP/hand"
printf 'ham\t今晚一起吃饭吗\nfraud_customer_service\t您好，我是客服，您的校园贷账户未注销会影响征信，请配合操作\nfraud_loan\t无抵押贷款，先交保证金即可放款\n' >"$TMP/tdata/zh-telecom-fraud/test.tsv"
printf 'fraud_prize\t恭喜您中奖，请先交手续费领取\nham\thello\nsmishing\tYour parcel is held, pay at http://x.example\n' >"$TMP/hand/a.tsv"
printf 'fraud_loan\tLoan approved, pay the processing fee first\nfraud_authority\tThis is the police, move your money to a safe account\n' >"$TMP/hand/b.tsv"
gcheck "table 7: one hubao check pass per source, fraud rows only, the type in each reply" "
ev.DATA = '$TMP/tdata'
gen.HANDWRITTEN = ['$TMP/hand/a.tsv', '$TMP/hand/b.tsv', '$TMP/hand/absent.tsv']
calls = []
check = gen.check_replies
def spy(texts):
    rep = check(texts)
    calls.append((list(texts), rep))
    return rep
gen.check_replies = spy
report = {}
lines = gen.fraud_type_table(report)
assert [len(t) for t, _ in calls] == [2, 3], calls  # no ham, no smishing
assert all('type' in r['tasks']['fraud'] for _, rep in calls for r in rep), calls
got = [(s['source'], s['language']) for s in report['sources']]
assert got == [('zh-telecom-fraud', 'zh'), ('hand-written', 'zh'), ('hand-written', 'en')], got
assert report['sources'][0]['accept'] == {'customer_service': ('credit_repair',)}
assert report['sources'][1]['accept'] == {} and report['sources'][1]['files'] == gen.HANDWRITTEN[:2]
assert [r['type'] for r in report['sources'][0]['rows']] == ['customer_service', 'loan', '(all types)']
assert [r['type'] for r in report['sources'][2]['rows']] == ['authority', 'loan', '(all types)']
assert report['hand_written_in_training'] == {f: {'shipped_model': False, 'recipe': False} for f in gen.HANDWRITTEN[:2]}
assert report['catalogue'] == gen.catalogue()
assert '### 7a. zh-telecom-fraud' in lines and '### 7b. hand-written' in lines
assert any(x.startswith('| zh-telecom-fraud | zh | *customer_service, credit_repair accepted* | 1 |') for x in lines)
assert any('strict' in x for x in lines) and any('without seeing these examples' in x for x in lines)
en = 'en: ' + ', '.join(t for t in gen.catalogue() if t not in ('authority', 'loan', 'other'))
assert any(x.startswith('Catalogue types without an example here') and en + '.' in x for x in lines), lines
assert '$TMP/hand/absent.tsv' not in ' '.join(lines)
"

expect "research.generalisation --tables: 5, 6 and 7 only" sh -c '
PYTHONPATH=tools /usr/bin/python3 -m research.generalisation --tables 7,8 >"$0/tables.out" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "tables are 5, 6 and 7" "$0/tables.out"' "$TMP"

gcheck "docs/generalisation.md: title, command, date, the three tables and the guide" '
doc = gen.document(["| t5 |"], None, "HUBAO_LODO=0 make eval", when="2026-12-01")
assert doc.startswith("# Generalisation") and "`HUBAO_LODO=0 make eval` on 2026-12-01" in doc
assert "| t5 |" in doc and "Not run (`HUBAO_LODO=0`)" in doc and "## Reading guide" in doc
assert gen.T5_TITLE in doc and gen.T6_TITLE in doc and f"## {gen.T7_TITLE}\n\nNot run." in doc
doc = gen.document(["| t5 |"], ["| t6 |"], "make eval", t7=["| t7 |"])
assert "| t6 |" in doc and "| t7 |" in doc and "Not run" not in doc and "**Table 7**" in doc
assert doc.index("| t6 |") < doc.index("| t7 |") < doc.index("## Reading guide")
'

gcheck "model cards: the generalisation section is written once, replaced on the next run, the rest kept" "
import os
d = '$TMP/cards'
os.makedirs(d + '/spam', exist_ok=True)
open(d + '/spam/README.md', 'w').write('# Model card\n\n## Metrics\n\nold\n\n## Known weaknesses\n\nw\n')
def report(called):
    return {'false_alarms': {'rows': [{'task': 'spam', 'dataset': 'zh-chat-lccc', 'classes': [
                {'label': 'ham', 'positive': False, 'n': 200, 'called': called, 'possible': None, 'errors': 0}]},
            {'task': 'fraud', 'dataset': 'zh-chat-lccc', 'classes': []}]},
            'lodo': [{'task': 'spam', 'left_out': 'en-sms-uci', 'hubao': {'mcc': 0.9}, 'peer': {'mcc': 0.8},
                      'delta_mcc_95': [0.01, 0.2]}]}
gen.write_cards(report(3), d)
gen.write_cards(report(4), d)
card = open(d + '/spam/README.md').read()
assert card.count(gen.CARD_HEAD) == 1, card
assert '| zh-chat-lccc | ham | false alarms | 200 | 2.0% | - |' in card, card
assert '1.5%' not in card
assert '| en-sms-uci | 0.9000 | 0.8000 | +0.1000 (+0.0100 .. +0.2000) | - | - |' in card, card
assert card.index('## Known weaknesses') < card.index(gen.CARD_HEAD) and 'old' in card and 'w' in card
"

[ "$fails" -eq 0 ] && rm -rf "$TMP"
[ "$fails" -eq 0 ]
