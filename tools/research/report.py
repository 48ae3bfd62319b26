"""`make eval`: Hubao and the scikit-learn peer, side by side, on ../shared/data.

Seven tables, printed and written to build/eval/report.{md,json}:
  1. single dataset: each model trained on one dataset's train.tsv and tested
     on its test.tsv, Hubao (`hubao train` + `hubao eval`) against the peer
     (tools/research/baseline.py) on the same files, with a paired bootstrap interval of
     the MCC gap;
  2. shipped models: every model under models/ on every relevant test.tsv,
     against the peer trained on the same training files;
  in both, the peer also reads the text as Hubao's models do (`hubao
  normalize`), which splits each gap into what the text does and what the
  model does;
  3. fraud is not advertising: how often legitimate messages and adverts are
     called fraud, fraud recall and fraud-type accuracy;
  4. where Hubao is below the peer in table 1, or more than 0.01 below in
     table 2: both again on HUBAO_RESPLITS (default 5, 0 skips) fresh splits
     of the dataset, since a test split of a few hundred rows cannot tell a
     gap of 0.01 from luck (tools/research/resplit.py runs this for any one dataset);
  5. false alarms and recall of every shipped model on every class of every
     test split, the evaluation-only sets included, against the targets;
  6. leave one data set out: each shipped recipe retrained without one of
     its sets, Hubao and the peer scored on that set (HUBAO_LODO=0 skips);
  7. fraud types: per true type of zh-telecom-fraud's test split and of the
     hand-written examples, fraud recall and whether the type the rules
     give is the true one;
  tables 5, 6 and 7 come from tools/research/generalisation.py, which also writes
  them to docs/generalisation.md and the model cards.
Models trained here for comparison stay under build/eval and are never
shipped (some sets are research-only).
"""
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import unicodedata

import numpy as np

from sklearn.metrics import matthews_corrcoef, precision_recall_fscore_support, roc_auc_score

from . import baseline, recipes
from . import labels as label_map

DATA = os.environ.get("HUBAO_DATA", "../shared/data")
HUBAO = "build/hubao"
OUT = "build/eval"
RESPLIT_OUT = os.path.join(OUT, "resplit")
# fresh splits per dataset where Hubao is below the peer (0: none)
RESPLITS = int(os.environ.get("HUBAO_RESPLITS", "5"))
# leave-one-dataset-out retraining of the shipped recipes (table 6; 0: skip)
LODO = os.environ.get("HUBAO_LODO", "1") != "0"

# (dataset, task) pairs for the single-dataset comparison
SINGLE = [
    ("zh-spam-sms", "spam"), ("en-sms-uci", "spam"), ("en-smishing", "spam"),
    ("en-smishing", "fraud"), ("zh-telecom-fraud", "fraud"),
    ("zh-rumor-ced", "rumour"), ("zh-rumor-weibo-mm", "rumour"),
    ("en-rumor-pheme", "rumour"), ("en-covid-fake", "rumour"), ("en-liar", "rumour"),
]

# which test sets each shipped task is evaluated on
SHIPPED_TESTS = {
    "spam": ["zh-spam-sms", "en-sms-uci", "en-smishing"],
    "fraud": ["zh-telecom-fraud", "en-smishing"],
    "rumour": ["zh-rumor-ced", "zh-rumor-weibo-mm", "en-rumor-pheme", "en-covid-fake", "en-liar"],
}


def path(ds, split):
    return os.path.join(DATA, ds, split + ".tsv")


def run_hubao(cmd):
    """Run a hubao command and return its stdout; when it fails, stop with
    hubao's own message (its stderr is captured, so it would be lost)."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
        raise RuntimeError(f"{' '.join(cmd)}: {why}")
    return r.stdout


def hubao_eval(model, test, positive=None, pred=os.path.join(OUT, "predictions.tsv")):
    """hubao eval's figures, plus "called": its decision on every row, in
    file order (for the paired comparison with the peer); pred is where
    the per-row predictions are written on the way."""
    cmd = [HUBAO, "eval", "--json", "--model", model, "--predictions", pred, test]
    if positive:
        cmd += ["--positive", positive]
    out = json.loads(run_hubao(cmd))
    with open(pred) as f:
        next(f)
        rows = [line.split("\t") for line in f]
    out["truth"] = [int(r[1]) for r in rows]
    out["called"] = [int(r[3]) for r in rows]
    return out


def delta_mcc_interval(truth, a, b, rounds=2000, seed=1):
    """95% paired bootstrap interval of MCC(a) - MCC(b): the test rows are
    resampled with replacement and both models scored on the same resample,
    so the interval shows whether a gap is larger than the test set's own
    sampling noise.  Returns (low, high)."""
    y = np.asarray(truth, dtype=bool)
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(rounds // 100):  # 100 resamples at a time bounds memory
        idx = rng.integers(0, len(y), size=(100, len(y)))
        yy = y[idx]
        deltas.append(mcc_rows(yy, a[idx]) - mcc_rows(yy, b[idx]))
    d = np.concatenate(deltas)
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def mcc_rows(y, p):
    """MCC of every row of the boolean matrices y (truth) and p (called)."""
    tp = (y & p).sum(1).astype(float)
    fp = (~y & p).sum(1).astype(float)
    fn = (y & ~p).sum(1).astype(float)
    tn = y.shape[1] - tp - fp - fn
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1), 0.0)


def compare(h, p, test, positive, task):
    """The 95% interval of Hubao's MCC minus the peer's on test, stored in
    h and returned as text ("" when there is no peer)."""
    if not p:
        return ""
    labels, _ = label_map.read_tsv(test)
    truth = label_map.truth(task, positive, labels)
    # both sides must have read the same rows with the same label mapping
    assert truth == h["truth"] and len(truth) == len(p["called"]), test
    lo, hi = delta_mcc_interval(truth, h["called"], p["called"])
    h["delta_mcc_95"] = [lo, hi]
    return f"{lo:+.4f} .. {hi:+.4f}"


def text_key(text):
    """Roughly how `hubao train --exclude` compares texts: NFKC, case-folded,
    digits as 0, no whitespace."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return "".join("0" if c.isdigit() else c for c in t if not c.isspace())


def read_rows(f, view="raw"):
    """Labels and texts of f: as written (view "raw"), or as Hubao's
    models read them (view "hubao": `hubao normalize`, digits as 0)."""
    if view == "raw":
        return label_map.read_tsv(f)
    out = run_hubao([HUBAO, "normalize", f])
    labels, texts = [], []
    for line in out.split("\n")[:-1]:
        label, _, text = line.partition("\t")
        labels.append(label)
        texts.append(text)
    return labels, texts


_fitted = {}


def conflicts_positive(args):
    """Whether `hubao train` args say --conflicts positive."""
    return "--conflicts" in args and args[args.index("--conflicts") + 1] == "positive"


def peer_fit(task, train_files, positive=None, exclude=(), view="raw", conflicts=False):
    """The peer trained on train_files minus the rows whose text is in
    exclude, reading texts through view; with conflicts, also minus the
    negative rows whose text occurs with a positive label (as `hubao train
    --conflicts positive`).  The two latest are kept: the shipped table
    scores every test set with the same two."""
    key = (task, tuple(train_files), positive, tuple(exclude), view, conflicts)
    if key in _fitted:
        return _fitted[key]
    held_out = set()
    for f in exclude:
        held_out.update(text_key(t) for t in label_map.read_tsv(f)[1])
    labels, texts, keys = [], [], []
    for f in train_files:
        raw = label_map.read_tsv(f)
        l, t = raw if view == "raw" else read_rows(f, view)
        for a, b, r in zip(l, t, raw[1]):
            k = text_key(r)
            if k not in held_out:  # same rows as Hubao trained on
                labels.append(a)
                texts.append(b)
                keys.append(k)
    y = label_map.truth(task, positive, labels)
    if conflicts:
        positive_keys = {k for k, v in zip(keys, y) if v}
        keep = [i for i, (k, v) in enumerate(zip(keys, y)) if v or k not in positive_keys]
        texts, y = [texts[i] for i in keep], [y[i] for i in keep]
    p = baseline.Peer()
    p.fit(texts, y)
    while len(_fitted) >= 2:
        del _fitted[next(iter(_fitted))]
    _fitted[key] = p
    return p


def peer_eval(task, train_files, test, positive=None, exclude=(), view="raw", conflicts=False):
    p = peer_fit(task, train_files, positive, exclude, view, conflicts)
    tl, tt = read_rows(test, view)
    ty = label_map.truth(task, positive, tl)
    d = p.decision(tt)
    pred = [1 if v >= 0 else 0 for v in d]
    out = {"mcc": matthews_corrcoef(ty, pred), "called": pred}
    prf = precision_recall_fscore_support(ty, pred, average="binary", zero_division=0)
    out["precision"], out["recall"], out["f1"] = prf[0], prf[1], prf[2]
    out["auc"] = roc_auc_score(ty, d) if 0 < sum(ty) < len(ty) else None
    out["labels"] = {}
    for lab in sorted(set(tl)):
        idx = [i for i, l in enumerate(tl) if l == lab]
        out["labels"][lab] = sum(pred[i] for i in idx) / len(idx)
    return out


def same_text(h, q):
    """The peer on Hubao's text (q), summarised for the report, and the two
    table cells: its MCC and Hubao's gap to it."""
    if not q:
        return None, "  -   | "
    return ({"mcc": q["mcc"], "auc": q["auc"]},
            f"{fmt(q['mcc'])} | {h['mcc'] - q['mcc']:+.4f}")


def fmt(x):
    return "  -   " if x is None else f"{x:.4f}"


def single_positive(ds, task):
    """The --positive of a single-dataset row: en-smishing's fraud row asks
    smishing against the rest (its spam is not fraud)."""
    return "smishing" if (ds, task) == ("en-smishing", "fraud") else None


def single_table(rows):
    lines = ["| dataset | task | n | Hubao MCC | peer MCC | Δ MCC | Δ 95% interval | peer on Hubao's text MCC | Δ MCC | Hubao F1 | peer F1 | Hubao AUC | peer AUC |",
             "| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for ds, task in SINGLE:
        if not os.path.exists(path(ds, "train")):
            continue
        model = os.path.join(OUT, f"{ds}-{task}")
        positive = single_positive(ds, task)
        cmd = [HUBAO, "train", "--task", task, "--data", path(ds, "train"), "--out", model]
        if positive:
            cmd += ["--positive", positive]
        run_hubao(cmd)
        h = hubao_eval(model, path(ds, "test"), positive)
        p = peer_eval(task, [path(ds, "train")], path(ds, "test"), positive)
        q, q_cells = same_text(h, peer_eval(task, [path(ds, "train")], path(ds, "test"),
                                            positive, view="hubao"))
        ci = compare(h, p, path(ds, "test"), positive, task)
        rows.append({"dataset": ds, "task": task, "hubao": h, "peer": p, "peer_same_text": q})
        lines.append(f"| {ds} | {task} | {h['n']} | {fmt(h['mcc'])} | {fmt(p['mcc'])} | "
                     f"{h['mcc'] - p['mcc']:+.4f} | {ci} | {q_cells} | {fmt(h['f1'])} | "
                     f"{fmt(p['f1'])} | {fmt(h['auc'])} | {fmt(p['auc'])} |")
        print(lines[-1], flush=True)
    return lines


def shipped_table(rows):
    lines = ["| model | test set | n | Hubao MCC | peer MCC | Δ MCC | Δ 95% interval | peer on Hubao's text MCC | Δ MCC | Hubao recall | Hubao precision |",
             "| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: |"]
    for task, tests in SHIPPED_TESTS.items():
        model = os.path.join("models", task)
        if not os.path.exists(os.path.join(model, "manifest.json")):
            lines.append(f"| {task} | (no shipped model) | | | | | | | | | |")
            continue
        man = json.load(open(os.path.join(model, "manifest.json")))
        train_files = [d["path"] for d in man.get("data", [])]
        excluded = [f for f in man.get("excluded", {}).get("files", "").split(",") if f]
        conflicts = man.get("conflicts", {}).get("policy") == "positive"
        positive = recipes.positive_of(recipes.TASKS.get(task, {}))
        for ds in tests:
            if not os.path.exists(path(ds, "test")):
                continue
            h = hubao_eval(model, path(ds, "test"))
            trainable = all(map(os.path.exists, train_files))
            p = (peer_eval(task, train_files, path(ds, "test"), positive, exclude=excluded,
                           conflicts=conflicts) if trainable else None)
            q, q_cells = same_text(h, peer_eval(task, train_files, path(ds, "test"), positive,
                                                exclude=excluded, view="hubao", conflicts=conflicts)
                                   if trainable else None)
            ci = compare(h, p, path(ds, "test"), positive, task)
            rows.append({"model": task, "dataset": ds, "hubao": h, "peer": p, "peer_same_text": q})
            pm = p["mcc"] if p else None
            lines.append(f"| {task} | {ds} | {h['n']} | {fmt(h['mcc'])} | {fmt(pm)} | "
                         f"{'' if pm is None else format(h['mcc'] - pm, '+.4f')} | {ci} | {q_cells} | "
                         f"{fmt(h['recall'])} | {fmt(h['precision'])} |")
            print(lines[-1], flush=True)
    return lines


def split_rows(labels, texts, positives, test_share, rng):
    """Row indices (train, test) of a fresh split: rows with the same text
    (text_key) go to one side, and each class (a label in positives, or
    not) gives test_share of its rows to the test side."""
    groups = {}
    for i, t in enumerate(texts):
        groups.setdefault(text_key(t), []).append(i)
    train, test = [], []
    for cls in (False, True):
        mine = [g for g in groups.values() if (labels[g[0]] in positives) == cls]
        rng.shuffle(mine)
        want = round(test_share * sum(len(g) for g in mine))
        taken = 0
        for g in mine:
            if taken < want:
                test.extend(g)
                taken += len(g)
            else:
                train.extend(g)
    return sorted(train), sorted(test)


def write_rows(path, labels, texts, rows):
    with open(path, "w", encoding="utf-8") as f:
        for i in rows:
            f.write(f"{labels[i]}\t{texts[i]}\n")


def resplit(ds, task, splits, seed=1, positive=None, shipped=None):
    """Hubao and the peer on `splits` fresh splits of ds's pooled train and
    test files, with the test split's size: yields (n_test, Hubao MCC, peer
    MCC) per split.  Hubao is `hubao train` with its default options, or
    with shipped (a recipe of research/recipes.py) the shipped model's
    recipe: its training files with ds's train.tsv replaced by the split's
    training rows, and its test files excluded, as `make models` does; the
    peer is trained on the same rows."""
    if shipped and ds not in shipped["train"]:
        raise ValueError(f"{ds} is not among the recipe's training sets")
    labels, texts = [], []
    for split in ("train", "test"):
        lab, txt = label_map.read_tsv(path(ds, split))
        labels += lab
        texts += txt
    n_test = len(txt)
    pos = label_map.positive_labels(task, positive, labels)
    rng = random.Random(seed)
    os.makedirs(RESPLIT_OUT, exist_ok=True)
    for k in range(1, splits + 1):
        train, test = split_rows(labels, texts, pos, n_test / len(texts), rng)
        base = os.path.join(RESPLIT_OUT, f"{ds}-{task}{'-shipped' if shipped else ''}-{k}")
        write_rows(base + ".train.tsv", labels, texts, train)
        write_rows(base + ".test.tsv", labels, texts, test)
        cmd = [HUBAO, "train", "--task", task, "--out", base]
        if shipped:
            train_files = [base + ".train.tsv" if d == ds else recipes.data_path(d)
                           for d in shipped["train"]]
            excluded = [base + ".test.tsv"] + [recipes.data_path(d, "test")
                                               for d in shipped["exclude"] if d != ds]
            cmd += ["--seed", "1", "--exclude", ",".join(excluded)] + shipped["args"]
        else:
            train_files, excluded = [base + ".train.tsv"], []
        cmd += ["--data", ",".join(train_files)] + (["--positive", positive] if positive else [])
        run_hubao(cmd)
        h = hubao_eval(base, base + ".test.tsv", positive, base + ".predictions.tsv")
        # the peer learns the labels the shipped recipe's --positive names
        p = peer_eval(task, train_files, base + ".test.tsv",
                      positive or (recipes.positive_of(shipped) if shipped else None),
                      exclude=excluded,
                      conflicts=bool(shipped) and conflicts_positive(shipped["args"]))
        yield len(test), h["mcc"], p["mcc"]


def resplit_runs(ds, task, splits, positive, shipped):
    """resplit's runs as a list (for a process pool)."""
    return list(resplit(ds, task, splits, positive=positive, shipped=shipped))


def gap_summary(gaps):
    """Mean of the per-split gaps, its standard error (nan for one split)
    and how many are >= 0."""
    g = np.asarray(gaps)
    se = float(g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan")
    return float(g.mean()), se, int((g >= 0).sum())


def resplit_table(single_rows, shipped_rows, splits):
    """Where Hubao is below the peer on one test split (single datasets:
    at all; shipped models: by more than the 0.01 they are held to, on a
    set they train on): the same comparison on fresh splits, which tells a
    model's gap from the luck of one small test split."""
    lines = ["| dataset | task | trained on | splits | Hubao mean MCC | peer mean MCC | mean Δ MCC | standard error | splits with Hubao ≥ peer |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    todo = [(row, row["task"], None) for row in single_rows
            if row["hubao"]["mcc"] < row["peer"]["mcc"]]
    todo += [(row, row["model"], recipes.TASKS[row["model"]]) for row in shipped_rows
             if row["peer"] and row["hubao"]["mcc"] < row["peer"]["mcc"] - 0.01
             and row["dataset"] in recipes.TASKS[row["model"]]["train"]]
    # a row at a time per core (hubao train and the peer use one core each)
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        jobs = [pool.submit(resplit_runs, row["dataset"], task, splits,
                            None if recipe else single_positive(row["dataset"], task), recipe)
                for row, task, recipe in todo]
        for (row, task, recipe), job in zip(todo, jobs):
            ds = row["dataset"]
            runs = job.result()
            mean, se, wins = gap_summary([h - p for _, h, p in runs])
            row["resplit"] = {"splits": splits, "hubao_mcc": [h for _, h, _ in runs],
                              "peer_mcc": [p for _, _, p in runs], "mean_delta": mean, "se": se}
            lines.append(f"| {ds} | {task} | {'shipped recipe' if recipe else 'its train split'} | "
                         f"{splits} | {np.mean(row['resplit']['hubao_mcc']):.4f} | "
                         f"{np.mean(row['resplit']['peer_mcc']):.4f} | {mean:+.4f} | {se:.4f} | "
                         f"{wins} of {splits} |")
            print(lines[-1], flush=True)
    return lines


def wilson(k, n, z=1.96):
    """95% Wilson score interval of the proportion k/n, as (low, high)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def share(k, n):
    """k of n as a percentage with its 95% interval: "87.3% (80.9-91.8)"."""
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def fraud_table():
    """Fraud is not advertising: the share of each original label the
    shipped fraud model calls fraud, next to the peer trained on the spam
    sets (the spam filter someone might use as a fraud detector)."""
    lines = ["| test set | label | n | shipped fraud model: called fraud (95% interval) | peer trained on the spam sets: called positive |",
             "| --- | --- | ---: | ---: | ---: |"]
    fraud = os.path.join("models", "fraud")
    spam_man = os.path.join("models", "spam", "manifest.json")
    if not os.path.exists(os.path.join(fraud, "manifest.json")):
        return lines + ["| (no shipped fraud model) | | | | |"]
    spam_files, spam_excluded = [], []
    if os.path.exists(spam_man):
        m = json.load(open(spam_man))
        spam_files = [d["path"] for d in m.get("data", []) if "handwritten" not in d["path"]]
        spam_excluded = [f for f in m.get("excluded", {}).get("files", "").split(",") if f]
    for ds in ("zh-telecom-fraud", "en-smishing", "zh-spam-sms", "en-sms-uci"):
        if not os.path.exists(path(ds, "test")):
            continue
        h = hubao_eval(fraud, path(ds, "test"), positive="smishing,fraud_*")
        sp = (peer_eval("spam", spam_files, path(ds, "test"),
                        recipes.positive_of(recipes.TASKS.get("spam", {})),
                        exclude=spam_excluded) if spam_files else None)
        for lab, v in sorted(h["labels"].items()):
            rate = sp["labels"].get(lab) if sp else None
            called = round(v["called_positive"] * v["n"])
            lines.append(f"| {ds} | {lab} | {v['n']} | {share(called, v['n'])} | "
                         f"{'-' if rate is None else format(100 * rate, '.1f') + '%'} |")
        if h.get("type_accuracy") is not None:
            caught = sum(round(v["called_positive"] * v["n"])
                         for lab, v in h["labels"].items() if lab.startswith("fraud_"))
            right = round(h["type_accuracy"] * caught)
            lines.append(f"| {ds} | fraud type right (of frauds caught) | {caught} | {share(right, caught)} | |")
        print("\n".join(lines[-len(h["labels"]) - (h.get("type_accuracy") is not None):]), flush=True)
    return lines


def main():
    if not os.path.isdir(DATA):
        print(f"make eval: {DATA} is absent: the evaluation needs the shared data sets "
              "(../shared/data/<name>/{train,test}.tsv) beside the repository.", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    report = {"single": [], "shipped": []}
    note = ("Δ 95% interval: paired bootstrap over the test rows (2,000 resamples); "
            "an interval that spans 0 is a gap the test set cannot tell from noise.\n"
            "Peer on Hubao's text: the same peer trained and tested on the text as Hubao's "
            "models read it (`hubao normalize`: folded, digits as 0), so the first gap splits "
            "into what the text does (peer MCC minus this one) and what the model does "
            "(the last Δ).")
    md = ["# Hubao evaluation", "", note, "",
          "## 1. Trained and tested on one dataset (Hubao vs scikit-learn peer)", ""]
    print(note)
    print("\n== 1. single dataset: Hubao vs the scikit-learn peer (TF-IDF + LinearSVC)")
    md += single_table(report["single"])
    print("\n== 2. shipped models on every relevant test set (peer trained on the same files)")
    md += ["", "## 2. Shipped models", ""] + shipped_table(report["shipped"])
    print("\n== 3. fraud is not advertising")
    md += ["", "## 3. Fraud is not advertising", ""] + fraud_table()
    if RESPLITS > 0:
        title = (f"4. where Hubao is below the peer on the test split (shipped: by over 0.01): "
                 f"both on {RESPLITS} fresh splits of the dataset's pooled train and test "
                 "files (same test size, duplicates on one side)")
        print(f"\n== {title}")
        md += ["", f"## {title[0]}. Fresh splits", "", title[3:].capitalize() + ".", ""]
        md += resplit_table(report["single"], report["shipped"], RESPLITS)
    from . import generalisation  # tables 5, 6 and 7 (it imports this module)
    t5, t6 = generalisation.run(report, lodo=LODO)
    md += ["", f"## {generalisation.T5_TITLE}", ""] + t5
    if t6 is not None:
        md += ["", f"## {generalisation.T6_TITLE}", ""] + t6
    t7 = generalisation.run_types(report)
    md += ["", f"## {generalisation.T7_TITLE}", ""] + t7
    env = " ".join(f"{k}={os.environ[k]}" for k in ("HUBAO_RESPLITS", "HUBAO_LODO")
                   if k in os.environ)
    generalisation.write_document(t5, t6, (env + " make eval").strip(), t7=t7)
    generalisation.write_cards(report)
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    for row in report["single"] + report["shipped"]:
        for side in ("hubao", "peer"):
            if row.get(side):
                for per_row in ("truth", "called"):  # summarised by the interval
                    row[side].pop(per_row, None)
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {OUT}/report.md, {OUT}/report.json and {generalisation.DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
