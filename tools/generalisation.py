#!/usr/bin/python3
"""How the shipped models do on text they were not tuned on: tables 5 and 6
of `make eval` (tools/evaluate.py runs both and writes docs/generalisation.md).

  5. false alarms: every shipped model (spam, fraud, rumour) on the test
     split of every data set under ../shared/data (url-iscx2016 aside; the
     evaluation-only zh-chat-lccc, en-sms-exais, zh-telecom-fraud and
     en-liar included): the share of each class it calls positive, with its
     95% Wilson interval - a false-alarm rate for the classes that are
     negative for the task, recall for the positive ones - flagged against
     the targets below; and for every fraud message, the headline the reply
     gave it.  One `hubao check --json` pass per test file, the CLI a
     hotline or a platform uses.
  6. leave one data set out: every shipped recipe (tools/build_models.py's
     TASKS) retrained without one of its data sets, Hubao and the
     scikit-learn peer alike, and both scored on that set's test split: how
     the recipe does on a source it has never seen.  HUBAO_LODO=0 skips it.

  tools/generalisation.py [--tables 5,6] [--lodo-rows TASK:DATASET,...] [--write-doc]

Models retrained here stay under build/eval/lodo and are never shipped.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_models  # noqa: E402
import evaluate as ev  # noqa: E402
import peer  # noqa: E402

TASKS = ("spam", "fraud", "rumour")
MODELS = "models"
LODO_OUT = os.path.join("build", "eval", "lodo")
DOC = os.path.join("docs", "generalisation.md")
SKIP = {"url-iscx2016"}  # links, not messages: the url model's own table
EVAL_ONLY = ["zh-telecom-fraud", "en-liar", "zh-chat-lccc", "en-sms-exais"]

# Every label of ../shared/data's message sets (docs/training.md): positive
# for a task per peer.POSITIVE (the default mapping of `hubao train`),
# negative otherwise.  A label outside these is an error, never a silent
# negative.
KNOWN = {"ham", "spam", "smishing", "rumour", "nonrumour", "fake", "real", "true", "false",
         "half-true", "mostly-true", "pants-fire", "barely-true"}

# (test set, task, class, direction, bound): the class is a label, or
# ALL_POSITIVE for the task's positives of that set pooled.
ALL_POSITIVE = "(all positives)"
ALL_NEGATIVE = "(all negatives)"
TARGETS = [
    ("zh-chat-lccc", "spam", "ham", "<=", 0.02),
    ("zh-chat-lccc", "rumour", "ham", "<=", 0.02),
    ("zh-chat-lccc", "fraud", "ham", "<=", 0.001),
    ("en-sms-exais", "spam", "ham", "<=", 0.05),
    ("en-sms-exais", "fraud", "ham", "<=", 0.01),
    ("en-sms-exais", "fraud", "spam", "<=", 0.05),
    ("en-sms-exais", "spam", "spam", ">=", 0.85),
    ("zh-telecom-fraud", "fraud", ALL_POSITIVE, ">=", 0.90),
    ("zh-telecom-fraud", "fraud", "ham", "<=", 0.02),
    ("en-smishing", "fraud", "smishing", ">=", 0.90),
    ("en-smishing", "fraud", "ham", "<=", 0.01),
]

# the headline a reply gives, by its verdict, in the order of the table
HEADLINES = [("fraud", "Likely fraud"), ("possible_fraud", "Possibly fraud"),
             ("rumour", "Likely rumour"), ("spam", "Advertising, not fraud"),
             ("clean", "No fraud signs found")]
WORST = ("Advertising, not fraud", "No fraud signs found")  # said to a fraud victim


# ---------------------------------------------------------------- labels

def is_positive(task, label):
    """Whether label is positive for task (the default mapping of
    docs/training.md); ValueError for a label the mapping does not know."""
    if label not in KNOWN and not label.startswith("fraud_"):
        raise ValueError(f"label {label!r} is not known to the {task} mapping")
    return peer.is_positive(label, peer.POSITIVE[task])


def class_name(task, label):
    """The label as the table names it: an advert is not fraud or rumour."""
    return "spam (adverts)" if label == "spam" and task != "spam" else label


# ------------------------------------------------------- the hubao check pass

def check_replies(texts, models=None):
    """One `hubao check --json` pass over texts (one message a line): per
    message, what the tables need of its reply - {"error": code}, or
    {"verdict", "headline", "tasks": {task: {"positive", "possible"?}}}."""
    cmd = [ev.HUBAO, "check", "--json", "--models", models or MODELS]
    r = subprocess.run(cmd, input="".join(t + "\n" for t in texts), capture_output=True,
                       text=True)
    if r.returncode not in (0, 1):  # 1: some message rejected, the rest answered
        why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
        raise RuntimeError(f"{' '.join(cmd)}: {why}")
    replies = [brief(json.loads(line)) for line in r.stdout.splitlines()]
    if len(replies) != len(texts):
        raise RuntimeError(f"{' '.join(cmd)}: {len(replies)} replies to {len(texts)} messages")
    return replies


def brief(reply):
    """The parts of one reply the tables read."""
    if "error" in reply:
        return {"error": reply["error"].get("code", "error")}
    tasks = {}
    for name, t in reply.get("tasks", {}).items():
        tasks[name] = {"positive": bool(t["positive"])}
        if "possible" in t:
            tasks[name]["possible"] = bool(t["possible"])
    return {"verdict": reply.get("verdict"), "headline": headline(reply), "tasks": tasks}


def headline(reply):
    """The summary's kind without its figure and fraud type: "Likely fraud:
    Impersonating police (100%)" -> "Likely fraud"."""
    s = reply.get("summary", {}).get("en", "")
    return s.split(" (")[0].split(":")[0].strip()


# ------------------------------------------------------------- table 5 rows

def class_rates(task, labels, replies):
    """Per label of a test split, in label order: how often task's answer
    was positive.  Each row: label, positive (the label's side for task),
    n (messages answered), called (task positive), possible (task at least
    possible; None when the replies carry no "possible"), errors (messages
    rejected).  Then one pooled row per side holding more than one label."""
    rows = {}
    for label, rep in zip(labels, replies):
        r = rows.setdefault(label, {"label": label, "positive": is_positive(task, label), "n": 0,
                                    "called": 0, "possible": 0, "has_possible": False,
                                    "errors": 0})
        if "error" in rep or task not in rep["tasks"]:
            r["errors"] += 1
            continue
        t = rep["tasks"][task]
        r["n"] += 1
        r["called"] += t["positive"]
        if "possible" in t:
            r["has_possible"] = True
            r["possible"] += t["possible"]
    out = [rows[k] for k in sorted(rows)]
    for side, name in ((False, ALL_NEGATIVE), (True, ALL_POSITIVE)):
        mine = [r for r in out if r["positive"] == side]
        if len(mine) > 1:
            out.append({"label": name, "positive": side,
                        **{k: sum(r[k] for r in mine) for k in ("n", "called", "possible", "errors")},
                        "has_possible": any(r["has_possible"] for r in mine)})
    for r in out:
        if not r.pop("has_possible"):
            r["possible"] = None
    return out


def target(ds, task, label):
    """(direction, bound) of the target for this row, or None."""
    for t_ds, t_task, t_label, op, bound in TARGETS:
        if (t_ds, t_task, t_label) == (ds, task, label):
            return op, bound
    return None


def meets(k, n, op, bound):
    """Whether the share k/n meets the target (on the point estimate)."""
    return n > 0 and (k / n <= bound if op == "<=" else k / n >= bound)


def pct(x):
    """A share as a percentage, with two decimals below 1%."""
    return "0%" if x == 0 else f"{100 * x:.2f}%" if x < 0.01 else f"{100 * x:.1f}%"


def rate_cell(k, n):
    """k of n with its 95% Wilson interval: "1.2% (0.8-1.7)"; "-" for n 0."""
    if n == 0:
        return "-"
    lo, hi = ev.wilson(k, n)
    nd = 2 if k / n < 0.01 else 1
    return f"{100 * k / n:.{nd}f}% ({100 * lo:.{nd}f}-{100 * hi:.{nd}f})"


def target_cell(row, ds, task):
    t = target(ds, task, row["label"])
    if not t:
        return ""
    op, bound = t
    ok = meets(row["called"], row["n"], op, bound)
    return f"{'meets' if ok else '**MISSES**'} {op.replace('<=', '≤').replace('>=', '≥')} {pct(bound)}"


def rate_line(task, ds, row, with_possible):
    """One row of table 5."""
    kind = "recall" if row["positive"] else "false alarms"
    cells = [task, ds, class_name(task, row["label"]), kind, str(row["n"]), str(row["called"]),
             rate_cell(row["called"], row["n"])]
    if with_possible:
        cells.append("-" if row["possible"] is None else rate_cell(row["possible"], row["n"]))
    cells.append(target_cell(row, ds, task))
    if row["errors"]:
        cells[-1] = (cells[-1] + f" ({row['errors']} rejected)").strip()
    return "| " + " | ".join(cells) + " |"


def rate_header(with_possible):
    cols = ["model", "test set", "class", "share is", "n", "called", "share called positive (95%)"]
    cols += ["likely or possible (95%)"] if with_possible else []
    cols += ["target"]
    right = {"n", "called", "share called positive (95%)", "likely or possible (95%)"}
    return ["| " + " | ".join(cols) + " |",
            "| " + " | ".join("---:" if c in right else "---" for c in cols) + " |"]


def headline_counts(labels, replies):
    """For every fraud-positive label: n and the count of each headline
    ("verdict: summary kind") its messages got, rejected messages apart;
    with more than one such label, ALL_POSITIVE pools them."""
    out = {}
    for label, rep in zip(labels, replies):
        if not is_positive("fraud", label):
            continue
        r = out.setdefault(label, {"n": 0, "errors": 0, "headlines": {}})
        if "error" in rep:
            r["errors"] += 1
            continue
        r["n"] += 1
        key = f"{rep['verdict']}: {rep['headline']}"
        r["headlines"][key] = r["headlines"].get(key, 0) + 1
    if len(out) > 1:
        pooled = {"n": 0, "errors": 0, "headlines": {}}
        for r in out.values():
            pooled["n"] += r["n"]
            pooled["errors"] += r["errors"]
            for k, v in r["headlines"].items():
                pooled["headlines"][k] = pooled["headlines"].get(k, 0) + v
        out[ALL_POSITIVE] = pooled
    return out


def worst_count(counts):
    """How many got an answer that tells a fraud victim all is well."""
    return sum(v for k, v in counts.items() if k.split(": ", 1)[-1] in WORST)


def headline_table(by_ds):
    """Table 5b: by_ds maps a test set to headline_counts()."""
    keys = [f"{v}: {h}" for v, h in HEADLINES]
    for counts in by_ds.values():
        for r in counts.values():
            keys += [k for k in sorted(r["headlines"]) if k not in keys]
    lines = ["| test set | fraud class | n | " + " | ".join(f"`{k}`" for k in keys) +
             " | worst answer: advert or no signs (95%) |",
             "| --- | --- | ---: | " + " | ".join("---:" for _ in keys) + " | ---: |"]
    for ds, counts in by_ds.items():
        for label, r in sorted(counts.items(), key=lambda kv: (kv[0] == ALL_POSITIVE, kv[0])):
            n = r["n"]
            cells = [pct(r["headlines"].get(k, 0) / n) if n else "-" for k in keys]
            lines.append(f"| {ds} | {label} | {n} | " + " | ".join(cells) +
                         f" | {rate_cell(worst_count(r['headlines']), n)} |")
    return lines


def test_sets():
    """Every data set with a test split, url-iscx2016 aside."""
    if not os.path.isdir(ev.DATA):
        return []
    return [d for d in sorted(os.listdir(ev.DATA))
            if d not in SKIP and os.path.exists(ev.path(d, "test"))]


def shipped_models():
    """task -> manifest of every shipped text model present."""
    out = {}
    for task in TASKS:
        m = os.path.join(MODELS, task, "manifest.json")
        if os.path.exists(m):
            with open(m) as f:
                out[task] = json.load(f)
    return out


def training_notes(task, manifest, datasets):
    """Warnings for rows that would not measure unseen text: a model trained
    on an evaluation-only set, or on a set whose test split its training
    did not exclude."""
    paths = [d["path"] for d in manifest.get("data", [])]
    excluded = manifest.get("excluded", {}).get("files", "").split(",")
    notes = []
    for ds in datasets:
        if ev.path(ds, "train") in paths:
            if ds in EVAL_ONLY:
                notes.append(f"models/{task} was trained on the evaluation-only {ds}")
            if ev.path(ds, "test") not in excluded:
                notes.append(f"models/{task}: {ds}'s test split was not excluded from training")
    return notes


def mcc_of(rows):
    """MCC of the task's decisions over a test split's class rows (the
    pooled rows left out); None when undefined."""
    rows = [r for r in rows if r["label"] not in (ALL_POSITIVE, ALL_NEGATIVE)]
    tp = sum(r["called"] for r in rows if r["positive"])
    fn = sum(r["n"] - r["called"] for r in rows if r["positive"])
    fp = sum(r["called"] for r in rows if not r["positive"])
    tn = sum(r["n"] - r["called"] for r in rows if not r["positive"])
    den = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5
    return (tp * tn - fp * fn) / den if den else None


def false_alarm_table(report):
    """Table 5 (5a targets, 5b every class, 5c headlines of fraud): fills
    report with its rows and returns the markdown lines."""
    models = shipped_models()
    if not models:
        return ["(no shipped model under models/)"]
    per_task = {t: [] for t in models}
    targets, headlines, with_possible = [], {}, False
    for ds in test_sets():
        labels, texts = peer.read_tsv(ev.path(ds, "test"))
        t0 = time.perf_counter()
        replies = check_replies(texts)
        print(f"  hubao check --json: {ds} ({len(texts)} messages, "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        for task in models:
            rows = class_rates(task, labels, replies)
            with_possible |= any(r["possible"] is not None for r in rows)
            per_task[task].append((ds, rows))
            for r in rows:
                t = target(ds, task, r["label"])
                if t:
                    targets.append({"dataset": ds, "task": task, "class": r["label"], "op": t[0],
                                    "bound": t[1], "n": r["n"], "called": r["called"],
                                    "share": r["called"] / r["n"] if r["n"] else None,
                                    "wilson95": ev.wilson(r["called"], r["n"]),
                                    "meets": meets(r["called"], r["n"], *t)})
        if "fraud" in models:
            counts = headline_counts(labels, replies)
            if counts:
                headlines[ds] = counts
    lines = ["### 5a. Targets", "",
             "| model | test set | class | n | share called positive (95%) | target | |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for t in targets:
        lines.append(f"| {t['task']} | {t['dataset']} | {class_name(t['task'], t['class'])} | "
                     f"{t['n']} | {rate_cell(t['called'], t['n'])} | "
                     f"{t['op'].replace('<=', '≤').replace('>=', '≥')} {pct(t['bound'])} | "
                     f"{'meets' if t['meets'] else '**MISSES**'} |")
    lines += ["", f"{sum(t['meets'] for t in targets)} of {len(targets)} targets met.", "",
              "### 5b. Every class of every test split", ""]
    notes = [n for task, m in models.items() for n in training_notes(task, m, test_sets())]
    lines += [f"Note: {n}." for n in notes] + ([""] if notes else [])
    lines += rate_header(with_possible)
    for task, sets in per_task.items():
        for ds, rows in sets:
            lines += [rate_line(task, ds, r, with_possible) for r in rows]
            report["rows"].append({"task": task, "dataset": ds, "classes": rows,
                                   "mcc": mcc_of(rows)})
    report["targets"] = targets
    if headlines:
        lines += ["", "### 5c. The headline every fraud message got (`verdict: summary.en`)", ""]
        lines += headline_table(headlines)
        report["headlines"] = headlines
    return lines


# ------------------------------------------------------------- table 6 rows

def data_file(name, split="train"):
    """A recipe's data set name (or a .tsv path) as a file."""
    return name if name.endswith(".tsv") else ev.path(name, split)


def recipe_positive(recipe):
    """The recipe's --positive (None: the task's default mapping)."""
    args = recipe.get("args", [])
    return args[args.index("--positive") + 1] if "--positive" in args else None


def lodo_datasets(recipe):
    """The data sets of a recipe that can be left out: named sets (not
    models/data files) with a test split, links aside."""
    return [d for d in recipe["train"] if not d.endswith(".tsv") and d not in SKIP
            and os.path.exists(ev.path(d, "test"))]


def lodo_command(task, recipe, left_out, out):
    """`hubao train` by the recipe without left_out: (command, training
    files, excluded files).  The exclude list is the recipe's (plus
    left_out's test split, if the recipe lacks it), so no text of the test
    split, nor its twin in another set, is trained on."""
    train = [data_file(d) for d in recipe["train"] if d != left_out]
    exclude = [data_file(d, "test") for d in recipe["exclude"]]
    if ev.path(left_out, "test") not in exclude:
        exclude.append(ev.path(left_out, "test"))
    cmd = [ev.HUBAO, "train", "--task", task, "--out", out, "--seed", "1",
           "--data", ",".join(train), "--exclude", ",".join(exclude)] + list(recipe["args"])
    return cmd, train, exclude


def recall_fpr(truth, called):
    """(recall, false-positive rate) of decisions; None where undefined."""
    tp = sum(1 for t, c in zip(truth, called) if t and c)
    fn = sum(1 for t, c in zip(truth, called) if t and not c)
    fp = sum(1 for t, c in zip(truth, called) if c and not t)
    tn = sum(1 for t, c in zip(truth, called) if not t and not c)
    return (tp / (tp + fn) if tp + fn else None, fp / (fp + tn) if fp + tn else None)


def lodo_row(task, recipe, left_out):
    """Hubao and the peer trained by recipe without left_out, both scored
    on left_out's test split."""
    t0 = time.perf_counter()
    base = os.path.join(LODO_OUT, f"{task}-{left_out}")
    os.makedirs(LODO_OUT, exist_ok=True)
    cmd, train, exclude = lodo_command(task, recipe, left_out, base)
    missing = [f for f in train + exclude if not os.path.exists(f)]
    if missing:
        return {"task": task, "left_out": left_out, "missing": missing}
    ev.run_hubao(cmd)
    trained = time.perf_counter() - t0
    positive = recipe_positive(recipe)
    test = ev.path(left_out, "test")
    h = ev.hubao_eval(base, test, positive, base + ".predictions.tsv")
    p = ev.peer_eval(task, train, test, positive, exclude=exclude)
    lo, hi = ev.delta_mcc_interval(h["truth"], h["called"], p["called"])
    hr, hf = recall_fpr(h["truth"], h["called"])
    pr, pf = recall_fpr(h["truth"], p["called"])
    return {"task": task, "left_out": left_out, "train": train, "exclude": exclude,
            "n": len(h["truth"]), "positives": sum(h["truth"]),
            "hubao": {"mcc": h["mcc"], "recall": hr, "fpr": hf, "auc": h.get("auc")},
            "peer": {"mcc": p["mcc"], "recall": pr, "fpr": pf, "auc": p.get("auc")},
            "delta_mcc_95": [lo, hi], "hubao_train_seconds": trained,
            "seconds": time.perf_counter() - t0}


def lodo_todo(tasks=None, only=None):
    """(task, recipe, data set) of every row; only: {"task:dataset" or
    "task"} to ask for some."""
    out = []
    for task, recipe in build_models.TASKS.items():
        if task not in TASKS or (tasks and task not in tasks):
            continue
        for ds in lodo_datasets(recipe):
            if not only or task in only or f"{task}:{ds}" in only:
                out.append((task, recipe, ds))
    return out


def f4(x, signed=False):
    return "-" if x is None else format(x, "+.4f" if signed else ".4f")


def lodo_line(r, shipped_mcc=None):
    if "missing" in r:
        return (f"| {r['task']} | {r['left_out']} | (not run: {', '.join(r['missing'])} "
                "missing) | | | | | | | | | | |")
    h, p = r["hubao"], r["peer"]
    lo, hi = r["delta_mcc_95"]
    return (f"| {r['task']} | {r['left_out']} | {r['n']} ({r['positives']}) | {f4(shipped_mcc)} | "
            f"{f4(h['mcc'])} | {f4(p['mcc'])} | {f4(h['mcc'] - p['mcc'], True)} | "
            f"{lo:+.4f} .. {hi:+.4f} | {f4(h['recall'])} | {f4(p['recall'])} | {f4(h['fpr'])} | "
            f"{f4(p['fpr'])} | {r['seconds'] / 60:.1f} |")


LODO_HEADER = ["| recipe | left out | test n (positive) | shipped model MCC (trained on the set) | Hubao MCC | peer MCC | Δ MCC | Δ 95% interval | Hubao recall | peer recall | Hubao FPR | peer FPR | minutes |",
               "| --- | --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: |"]


def lodo_table(report, only=None, shipped=None):
    """Table 6: rows run side by side, one per core, printed in order as
    they complete.  shipped: {(task, dataset): MCC of the shipped model}
    from table 5, for comparison."""
    shipped = shipped or {}
    todo = lodo_todo(only=only)
    lines = list(LODO_HEADER)
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        jobs = [pool.submit(lodo_row, task, recipe, ds) for task, recipe, ds in todo]
        for (task, _, ds), job in zip(todo, jobs):
            r = job.result()
            report.append(r)
            lines.append(lodo_line(r, shipped.get((task, ds))))
            print(lines[-1], flush=True)
    return lines


# ------------------------------------------------------------- the document

T5_TITLE = "5. False alarms and recall of the shipped models on every test split"
T6_TITLE = "6. Leave one data set out: each recipe retrained without one of its sets"

GUIDE = """## Reading guide

- **Table 5** runs `build/hubao check --json` (what a hotline or a platform
  gets) once over every test split under `../shared/data`, and counts per
  class how often each shipped model's task came out positive. For a class
  that is negative for the task the share is a **false-alarm rate** (SMS
  ham called rumour, Weibo posts called spam, adverts called fraud, chat
  called anything); for a positive class it is **recall**. Each share
  carries its 95% Wilson interval: with 156 messages a class, 5% is
  anywhere from 2.6% to 9.8%. "Likely or possible" counts the messages the
  task puts at least in its lower, possible tier.
- Labels map to tasks as in docs/training.md: spam = `spam`, `smishing`,
  `fraud_*`; fraud = `smishing`, `fraud_*` (an advert is *not* fraud);
  rumour = `rumour`, `fake`, `false`, `pants-fire`, `barely-true`. Every
  other label is negative. `spam (adverts)` under fraud or rumour is the
  advertising class of a spam set; en-sms-exais's `spam` is the phone
  owners' own label for unwanted bulk SMS, almost all of it operator
  adverts (a few may be scams).
- zh-telecom-fraud, en-liar, zh-chat-lccc and en-sms-exais are
  **evaluation-only**: no shipped model is trained, thresholded or tuned on
  them, so their rows are the nearest thing here to real messages nobody
  on the project wrote or chose. The other sets' test splits are excluded
  from every model's training (`--exclude`), twins in other sets included.
- **5a** lists the targets; a row "meets" on its point estimate - read the
  interval before calling a near miss either way. **5c** is the headline a
  fraud message got: `spam: Advertising, not fraud` and `clean: No fraud
  signs found` are the worst answers a hotline can read to a victim.
- **Table 6** retrains each shipped recipe (tools/build_models.py, same
  options and exclude list) without one of its data sets, and the
  scikit-learn peer on the same rows, then scores both on that set's test
  split: how the recipe does on a source it has never seen, next to the
  shipped model, which saw the set's training split. The drop from the
  shipped column is the price of a new source, as long as models/ was
  trained by today's recipe (`make models`; the manifests name their
  training files): a shipped model from an older recipe is another model.
  Δ MCC is Hubao minus the peer with its 95% paired bootstrap interval;
  recall and false-positive rate are at each model's own threshold. Two
  sources are not independent of their siblings: en-sms-uci and
  en-smishing come from one corpus, and the two Weibo rumour sets overlap;
  the exclude list removes their shared texts (normalised, digits as 0)
  but not their shared style.
"""


def document(t5, t6, command, when=None):
    """docs/generalisation.md: title, the command, the date, both tables
    (None: not run) and the reading guide."""
    when = when or datetime.date.today().isoformat()
    lines = ["# Generalisation: the shipped models on text they were not tuned on", "",
             f"Generated by `{command}` on {when} (tools/generalisation.py; do not edit by hand).",
             "The README and the model cards (models/*/README.md) link here.", "",
             f"## {T5_TITLE}", ""]
    lines += t5 if t5 is not None else ["Not run."]
    lines += ["", f"## {T6_TITLE}", ""]
    lines += t6 if t6 is not None else ["Not run (`HUBAO_LODO=0`)."]
    return "\n".join(lines + ["", GUIDE])


def write_document(t5, t6, command, path=None):
    with open(path or DOC, "w", encoding="utf-8") as f:
        f.write(document(t5, t6, command))


def run(report, lodo=True, only=None):
    """Tables 5 and 6 into report["false_alarms"] and report["lodo"]; their
    markdown lines (None for one not run)."""
    report["false_alarms"] = {"rows": []}
    print(f"\n== {T5_TITLE}")
    t5 = false_alarm_table(report["false_alarms"])
    print("\n".join(t5), flush=True)
    t6 = None
    if lodo:
        print(f"\n== {T6_TITLE}")
        report["lodo"] = []
        shipped = {(r["task"], r["dataset"]): r["mcc"] for r in report["false_alarms"]["rows"]}
        t6 = lodo_table(report["lodo"], only, shipped)
    return t5, t6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", default="5,6", help="which tables: 5, 6 or 5,6")
    ap.add_argument("--lodo-rows", help="table 6 rows only: TASK or TASK:DATASET, comma-separated")
    ap.add_argument("--write-doc", action="store_true", help=f"write {DOC}")
    args = ap.parse_args()
    tables = set(args.tables.split(","))
    if not os.path.isdir(ev.DATA):
        print(f"generalisation: {ev.DATA} is absent (../shared/data beside the repository)",
              file=sys.stderr)
        return 2
    only = set(args.lodo_rows.split(",")) if args.lodo_rows else None
    report = {}
    if "5" in tables:
        t5, t6 = run(report, lodo="6" in tables, only=only)
    else:
        t5 = None
        report["lodo"] = []
        print(f"== {T6_TITLE}")
        t6 = lodo_table(report["lodo"], only)
    os.makedirs(ev.OUT, exist_ok=True)
    with open(os.path.join(ev.OUT, "generalisation.json"), "w") as f:
        json.dump(report, f, indent=1)
    if args.write_doc:
        write_document(t5, t6, "tools/generalisation.py " + " ".join(sys.argv[1:]))
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
