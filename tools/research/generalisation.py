"""How the shipped models do on text they were not tuned on: tables 5, 6
and 7 of `make eval` (tools/research/report.py runs them and writes
docs/generalisation.md).

  5. false alarms: every shipped model (spam, fraud, rumour) on the test
     split of every data set under ../shared/data (url-iscx2016 aside; the
     evaluation-only zh-chat-lccc, en-sms-exais, zh-telecom-fraud and
     en-liar included): the share of each class it calls positive, with its
     95% Wilson interval - a false-alarm rate for the classes that are
     negative for the task, recall for the positive ones - flagged against
     the targets below; and for every fraud message, the headline the reply
     gave it.  One `hubao check --json` pass per test file, the CLI a
     hotline or a platform uses.
  6. leave one data set out: every shipped recipe (tools/research/recipes.py's
     TASKS) retrained without one of its data sets, Hubao and the
     scikit-learn peer alike, and both scored on that set's test split: how
     the recipe does on a source it has never seen.  HUBAO_LODO=0 skips it.
  7. fraud types: per true type (labels fraud_<type>) of zh-telecom-fraud's
     test split and of the hand-written examples (models/data, per
     language), fraud recall (likely; likely or possible), the share whose
     tasks.fraud.type is the true type, of all and of those caught, with
     Wilson intervals, and the commonest wrong types: the reply's type
     (the typed rules, else the fraud bundle's type model) on
     zh-telecom-fraud, the rules' alone on the hand-written rows, which
     trained the type model.  zh-telecom-fraud's customer_service is
     given strictly and with credit_repair accepted (its campus-loan
     cancellation scams, which the catalogue types credit_repair).

  PYTHONPATH=tools python3 -m research.generalisation [--tables 5,6,7] [--lodo-rows TASK:DATASET,...] [--write-doc]

A table not asked for reads "Not run." in the document --write-doc writes.

Models retrained here stay under build/eval/lodo and are never shipped.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import re
import subprocess
import sys
import time

from . import labels as label_map
from . import recipes
from . import report as ev

TASKS = ("spam", "fraud", "rumour")
# HUBAO_MODELS: score a candidate models directory instead of the shipped one
MODELS = os.environ.get("HUBAO_MODELS", "models")
LODO_OUT = os.path.join("build", "eval", "lodo")
DOC = os.path.join("docs", "generalisation.md")
SKIP = {"url-iscx2016"}  # links, not messages: the url model's own table
EVAL_ONLY = ["zh-telecom-fraud", "en-liar", "zh-chat-lccc", "en-sms-exais"]

# Every label of ../shared/data's message sets (docs/training.md): positive
# for a task as `hubao labels` says (the default mapping of `hubao train`),
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
    return bool(label_map.classify(task, None, [label])[label])


def class_name(task, label):
    """The label as the table names it: an advert is not fraud or rumour."""
    return "spam (adverts)" if label == "spam" and task != "spam" else label


# ------------------------------------------------------- the hubao check pass

def check_replies(texts, models=None):
    """One `hubao check --json` pass over texts (one message a line): per
    message, what the tables need of its reply - {"error": code}, or
    {"verdict", "headline", "tasks": {task: {"positive", "possible"?, "type"?}}}."""
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
        if "type" in t:  # fraud's type; null when there is none
            tasks[name]["type"] = t["type"]
            tasks[name]["type_by"] = t.get("type_by")
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
        labels, texts = label_map.read_tsv(ev.path(ds, "test"))
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
    positive = recipes.positive_of(recipe)
    test = ev.path(left_out, "test")
    h = ev.hubao_eval(base, test, positive, base + ".predictions.tsv")
    p = ev.peer_eval(task, train, test, positive, exclude=exclude,
                     conflicts=ev.conflicts_positive(recipe["args"]))
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
    for task, recipe in recipes.TASKS.items():
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


# ------------------------------------------------------------- table 7 rows

TYPES = os.path.join(MODELS, "rules", "types.tsv")
TYPES_SET = "zh-telecom-fraud"  # evaluation-only, four fraud types
# the hand-written examples: training rows of the SVM; the rules were not
# written from them, except for the files in RULES_READ
HANDWRITTEN = [os.path.join("models", "data", f)
               for f in ("fraud-types.tsv", "fraud-types-2.tsv", "fraud-handwritten.tsv", "fraud-en.tsv",
                         "fraud-en-markets.tsv", "fraud-advance-fee.tsv", "fraud-recovery.tsv")]
# hand-written files the rules of their types were revised against
RULES_READ = {os.path.join("models", "data", f)
              for f in ("fraud-advance-fee.tsv", "fraud-types-2.tsv", "fraud-recovery.tsv")}
# per source, true type -> other types also counted right, on a row of its
# own under the strict one: zh-telecom-fraud's customer_service class holds
# campus-loan cancellation scams, which the catalogue now types credit_repair
ACCEPT = {TYPES_SET: {"customer_service": ("credit_repair",)}}
NO_TYPE = "(no type)"
ALL_TYPES = "(all types)"
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
LANGUAGES = ("zh", "en")


def catalogue(path=None):
    """The fraud types of models/rules/types.tsv (first column), in order."""
    with open(path or TYPES, encoding="utf-8") as f:
        types = [line.split("\t", 1)[0].strip() for line in f][1:]  # a header row
    return [t for t in types if t]


def language(text):
    """"zh" for a text holding any CJK ideograph (Chinese character), else "en"."""
    return "zh" if CJK.search(text) else "en"


def type_rows(labels, replies, accept=None, rules_only=False):
    """Per true fraud type (label fraud_<type>; smishing, which has no type,
    and every label that is not fraud are skipped), by name, then with more
    than one type an ALL_TYPES row pooling them.  Each row: type, n
    (answered), errors (rejected), caught (fraud positive), possible (likely
    or possible; None when the replies carry no tier), right (the reply's
    tasks.fraud.type is the true type), right_caught (right and caught),
    wrong (reply type or NO_TYPE -> count, the true type aside; pooled:
    "true → reply"), and accepted, accepted_caught: as right and
    right_caught with the types accept (true type -> other types) lists
    also counted right; None for a type accept does not name.  rules_only:
    a type the type model gave counts as none (on rows it trained on)."""
    accept = accept or {}
    rows, has_possible = {}, False
    for label, rep in zip(labels, replies):
        if not label.startswith("fraud_"):
            continue
        true = label[len("fraud_"):]
        lenient = true in accept
        r = rows.setdefault(true, {"type": true, "n": 0, "errors": 0, "caught": 0, "possible": 0,
                                   "right": 0, "right_caught": 0,
                                   "accepted": 0 if lenient else None,
                                   "accepted_caught": 0 if lenient else None, "wrong": {}})
        if "error" in rep or "fraud" not in rep["tasks"]:
            r["errors"] += 1
            continue
        t = rep["tasks"]["fraud"]
        got = t.get("type") or NO_TYPE
        if rules_only and t.get("type_by") == "model":
            got = NO_TYPE
        caught = bool(t["positive"])
        right = got == true
        r["n"] += 1
        r["caught"] += caught
        if "possible" in t:
            has_possible = True
            r["possible"] += bool(t["possible"])
        r["right"] += right
        r["right_caught"] += right and caught
        if lenient:
            ok = right or got in accept[true]
            r["accepted"] += ok
            r["accepted_caught"] += ok and caught
        if not right:
            r["wrong"][got] = r["wrong"].get(got, 0) + 1
    out = [rows[k] for k in sorted(rows)]
    if len(out) > 1:
        pooled = {"type": ALL_TYPES,
                  **{k: sum(r[k] for r in out)
                     for k in ("n", "errors", "caught", "possible", "right", "right_caught")},
                  "accepted": None, "accepted_caught": None,
                  "wrong": {f"{r['type']} → {g}": c for r in out for g, c in r["wrong"].items()}}
        if any(r["accepted"] is not None for r in out):
            for k, strict in (("accepted", "right"), ("accepted_caught", "right_caught")):
                pooled[k] = sum(r[strict] if r[k] is None else r[k] for r in out)
        out.append(pooled)
    if not has_possible:
        for r in out:
            r["possible"] = None
    return out


def still_wrong(row, accept=None):
    """row's wrong types, those accept counts right removed."""
    accept = accept or {}
    if row["type"] != ALL_TYPES:
        return {g: c for g, c in row["wrong"].items() if g not in accept.get(row["type"], ())}
    return {k: c for k, c in row["wrong"].items()
            if k.split(" → ")[1] not in accept.get(k.split(" → ")[0], ())}


def top_wrong(wrong, k=3):
    """The k most common wrong types as (type, count), most common first,
    ties by name."""
    return sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def type_line(source, lang, name, row, right, right_caught, wrong):
    """One line of table 7."""
    cells = [source, lang, name, str(row["n"]), rate_cell(row["caught"], row["n"]),
             "-" if row["possible"] is None else rate_cell(row["possible"], row["n"]),
             rate_cell(right, row["n"]), str(row["caught"]), rate_cell(right_caught, row["caught"]),
             ", ".join(f"{t} {c}" for t, c in top_wrong(wrong)) or "-"]
    if row["errors"]:
        cells[-1] += f" ({row['errors']} rejected)"
    return "| " + " | ".join(cells) + " |"


TYPE_HEADER = ["| source | language | true type | n | fraud recall (95%) | likely or possible (95%) | type right, of all (95%) | caught | type right, of caught (95%) | most common wrong types (of all) |",
               "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]


def type_lines(source, lang, rows, accept=None, known=None):
    """Table 7's lines for one source and language: per type the strict
    line, and under a type accept names (and under the pooled row), the
    line with the accepted types counted right, so named."""
    accept = accept or {}
    lines = []
    for r in rows:
        name = r["type"]
        if known is not None and name != ALL_TYPES and name not in known:
            name += " (not in the catalogue)"
        lines.append(type_line(source, lang, name, r, r["right"], r["right_caught"], r["wrong"]))
        if r["accepted"] is not None:
            if r["type"] == ALL_TYPES:
                mine = {x["type"] for x in rows}
                name = "; ".join(f"{', '.join(v)} accepted for {k}"
                                 for k, v in accept.items() if k in mine)
                name = f"{ALL_TYPES}, {name}"
            else:
                name = f"{name}, {', '.join(accept[r['type']])} accepted"
            lines.append(type_line(source, lang, f"*{name}*", r, r["accepted"],
                                   r["accepted_caught"], still_wrong(r, accept)))
    return lines


def share_of(k, n):
    """k of n for the report: the share and its 95% Wilson interval."""
    return {"k": k, "n": n, "share": k / n if n else None,
            "wilson95": list(ev.wilson(k, n)) if n else None}


def type_report(row):
    """A table 7 row for report.json: its counts, shares with Wilson
    intervals, and the three most common wrong types."""
    out = {k: v for k, v in row.items() if k != "wrong"}
    out["shares"] = {"recall": share_of(row["caught"], row["n"]),
                     "type_right": share_of(row["right"], row["n"]),
                     "type_right_of_caught": share_of(row["right_caught"], row["caught"])}
    if row["possible"] is not None:
        out["shares"]["possible"] = share_of(row["possible"], row["n"])
    if row["accepted"] is not None:
        out["shares"]["type_accepted"] = share_of(row["accepted"], row["n"])
        out["shares"]["type_accepted_of_caught"] = share_of(row["accepted_caught"], row["caught"])
    out["top_wrong"] = top_wrong(row["wrong"])
    return out


def fraud_rows(files):
    """Labels and texts of the fraud_<type> rows of files, in file order."""
    labels, texts = [], []
    for f in files:
        for label, text in zip(*label_map.read_tsv(f)):
            if label.startswith("fraud_"):
                labels.append(label)
                texts.append(text)
    return labels, texts


def training_status(files, trained, recipe):
    """What the caption of 7b says of the hand-written files: which the
    shipped fraud model was trained on (trained: its manifest's files),
    which only `make models`'s recipe lists (recipe), which neither."""
    def are(mine):
        return ", ".join(mine) + (" is" if len(mine) == 1 else " are")
    seen = [f for f in files if f in trained]
    later = [f for f in files if f not in trained and f in recipe]
    never = [f for f in files if f not in trained and f not in recipe]
    out = [f"the shipped fraud model was trained on {', '.join(seen)}"] if seen else []
    out += [f"{are(later)} in the recipe of `make models` (tools/research/recipes.py) but not yet "
            "in the shipped model's training"] if later else []
    out += [f"{are(never)} in neither the shipped model's training nor its recipe"] if never else []
    return "; ".join(out)


def type_captions(files, trained=(), recipe=()):
    """The captions of 7a and 7b; files: the hand-written files present,
    trained and recipe: the files the shipped fraud model and its recipe
    train on."""
    a = ["zh-telecom-fraud's test split, its four fraud classes (its ham is in table 5). "
         "The set is **evaluation-only**: no shipped model is trained, thresholded or tuned "
         "on it. The fraud type is `tasks.fraud.type` of `build/hubao check --json`: the "
         "type whose fired rules in models/rules weigh most (on a likely fraud whose rules "
         "name several types, the one of those the type model puts first), or, when no typed "
         "rule fired on a likely fraud, the type the fraud bundle's type model "
         "names (`type_by` \"model\", docs/model-format.md), which trained on the "
         "hand-written rows of table 7b, never on this set. **Type right** counts a message whose type is its class: "
         "of all its messages, and of those the fraud task caught (positive).", "",
         "This set's `customer_service` class includes campus-loan cancellation scams "
         "(\"注销校园贷账户，否则影响征信\"), which the catalogue (models/rules/types.tsv) now "
         "types `credit_repair`. The `customer_service` line is the **strict** figure (only "
         "customer_service counts as right); the line under it, *credit_repair accepted*, "
         "also counts `credit_repair` as right for customer_service, and so does the pooled "
         "line under `(all types)`. The wrong types are counted over all messages of the "
         "class; `(no type)` is a reply with no type."]
    b = [f"The hand-written examples ({', '.join(files)}), their fraud_* rows, per language "
         "(a row is zh when it holds any CJK ideograph). These are **training rows of the "
         "SVM** (" + (training_status(files, trained, recipe) or "no file") + "), so the two "
         "recall columns are, where the model trained on them, measured on text it has seen "
         "and flatter it. The type model trained on these rows too, so here only the rules' "
         "type counts (a type with `type_by` \"model\" reads as no type, but where the "
         "rules name several types the model, trained on these rows, picks among them, so "
         "those rows lean in-sample; the model's out-of-fold figures on these rows are in "
         "models/fraud/README.md). The rules "
         "were written separately without seeing these examples: the type "
         "columns measure **whether the rules recognise each type** as these examples "
         "describe it, not the model's generalisation. Since 2026-12-06 a rule change is "
         "also checked against these rows for types it makes worse (such a change was "
         "narrowed, never fitted to a row), so the columns lean slightly in-sample; "
         "docs/model-history.md gives the type on probes written after the rules and never "
         "used to change them."]
    seen = [f for f in files if f in RULES_READ]
    if seen:
        b[0] += (f" Except {', '.join(seen)}: the rules of its types were revised after reading "
                 "it, so its type columns are in-sample too (docs/training.md gives the same "
                 "figures on probes written apart and never read).")
    return a, b


def fraud_type_table(report):
    """Table 7 (7a zh-telecom-fraud's test split, 7b the hand-written
    examples per language): per true fraud type, fraud recall (likely, and
    likely or possible), type accuracy of all and of the caught, and the
    commonest wrong types; one `hubao check --json` pass per source.  Fills
    report and returns the markdown lines."""
    if not os.path.exists(os.path.join(MODELS, "fraud", "manifest.json")):
        return ["(no shipped fraud model under models/)"]
    known = catalogue()
    report["catalogue"] = known
    report["sources"] = []
    hand = [f for f in HANDWRITTEN if os.path.exists(f)]
    trained = [d["path"] for d in shipped_models().get("fraud", {}).get("data", [])]
    recipe = [recipes.data_path(d) for d in recipes.TASKS.get("fraud", {}).get("train", [])]
    report["hand_written_in_training"] = {f: {"shipped_model": f in trained, "recipe": f in recipe}
                                          for f in hand}
    cap_a, cap_b = type_captions(hand, trained, recipe)
    lines = []
    for tag, source, files, caption, accept, rules_only in (
            ("7a", TYPES_SET, [ev.path(TYPES_SET, "test")], cap_a, ACCEPT.get(TYPES_SET), False),
            ("7b", "hand-written", hand, cap_b, ACCEPT.get("hand-written"), True)):
        files = [f for f in files if os.path.exists(f)]
        lines += ([""] if lines else []) + [f"### {tag}. {source}", ""]
        labels, texts = fraud_rows(files)
        if not labels:
            lines.append(f"({' '.join(files) or source}: absent or without fraud_* rows)")
            continue
        t0 = time.perf_counter()
        replies = check_replies(texts)
        print(f"  hubao check --json: {source} ({len(texts)} messages, "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        lines += caption + [""] + TYPE_HEADER
        absent = []
        langs = [lang for lang in LANGUAGES if any(language(t) == lang for t in texts)]
        for lang in langs:
            idx = [i for i, t in enumerate(texts) if language(t) == lang]
            rows = type_rows([labels[i] for i in idx], [replies[i] for i in idx], accept,
                             rules_only)
            lines += type_lines(source, lang, rows, accept, known)
            report["sources"].append({"source": source, "files": files, "language": lang,
                                      "accept": accept or {},
                                      "rows": [type_report(r) for r in rows]})
            mine = {r["type"] for r in rows}
            missing = [t for t in known if t not in mine and t != "other"]
            if source == "hand-written" and missing:
                absent.append(f"{lang}: {', '.join(missing)}")
        if absent:
            lines += ["", "Catalogue types without an example here (`other` aside): " +
                      "; ".join(absent) + "."]
    return lines


# ------------------------------------------------------------- the document

T5_TITLE = "5. False alarms and recall of the shipped models on every test split"
T6_TITLE = "6. Leave one data set out: each recipe retrained without one of its sets"
T7_TITLE = "7. Fraud types: recall and type accuracy per true type"

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
- **Table 6** retrains each shipped recipe (tools/research/recipes.py, same
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
- **Table 7** asks, per true fraud type (labels `fraud_<type>`;
  `smishing` has no type), how often the fraud task caught the message
  (likely, and likely or possible) and whether `tasks.fraud.type` named
  the right type: of all the type's messages, and of those caught. The
  type comes from the rules in models/rules, or, where no typed rule
  fired on a likely fraud, from the fraud bundle's type model; the
  catalogue is models/rules/types.tsv. 7a is the evaluation-only
  zh-telecom-fraud test split; its `customer_service` class holds
  campus-loan cancellation scams the catalogue now types `credit_repair`,
  so it has a strict line and a line with credit_repair accepted. 7b is
  the hand-written examples per language: training rows of the model (so
  recall there flatters it) and of the type model (so only the rules'
  types count there), but rows the rules' author never saw, so its type
  columns test the rules.
"""


def document(t5, t6, command, when=None, t7=None):
    """docs/generalisation.md: title, the command, the date, tables 5, 6
    and 7 (None: not run) and the reading guide."""
    when = when or datetime.date.today().isoformat()
    lines = ["# Generalisation: the shipped models on text they were not tuned on", "",
             f"Generated by `{command}` on {when} (tools/research/generalisation.py; do not edit by hand).",
             "The README and the model cards (models/*/README.md) link here.", "",
             f"## {T5_TITLE}", ""]
    lines += t5 if t5 is not None else ["Not run."]
    lines += ["", f"## {T6_TITLE}", ""]
    lines += t6 if t6 is not None else ["Not run (`HUBAO_LODO=0`)."]
    lines += ["", f"## {T7_TITLE}", ""]
    lines += t7 if t7 is not None else ["Not run."]
    return "\n".join(lines + ["", GUIDE])


CARD_HEAD = "## Generalisation (`make eval`)"


def card_section(task, report, when=None):
    """The model card's generalisation section for task, from a report of
    run(): its false alarms and recall per class of every test split, and
    its leave-one-dataset-out rows."""
    when = when or datetime.date.today().isoformat()
    lines = [CARD_HEAD, "",
             f"Measured {when} by `make eval` (tables 5 and 6 of docs/generalisation.md, which "
             "has the intervals and the reading guide): how this model does on text it was not "
             "tuned on, including the evaluation-only sets.", "",
             "| test set | class | share is | n | called " + task + " | likely or possible |",
             "| --- | --- | --- | ---: | ---: | ---: |"]
    for row in report.get("false_alarms", {}).get("rows", []):
        if row["task"] != task:
            continue
        for c in row["classes"]:
            possible = "-" if c["possible"] is None else rate_cell(c["possible"], c["n"]).split(" (")[0]
            lines.append(f"| {row['dataset']} | {class_name(task, c['label'])} | "
                         f"{'recall' if c['positive'] else 'false alarms'} | {c['n']} | "
                         f"{rate_cell(c['called'], c['n']).split(' (')[0]} | {possible} |")
    lodo = [r for r in report.get("lodo", []) if r["task"] == task and "missing" not in r]
    if lodo:
        lines += ["", "Retrained by this recipe without one data set, scored on that set's test split "
                  "beside the scikit-learn peer trained the same way (MCC where the set has "
                  "positives for this task; the false-positive rate on its negatives):", "",
                  "| left out | Hubao MCC | peer MCC | Δ (95% interval) | Hubao FPR | peer FPR |",
                  "| --- | ---: | ---: | :---: | ---: | ---: |"]
        for r in lodo:
            lo, hi = r["delta_mcc_95"]
            h, p = r["hubao"], r["peer"]
            mcc = (f"{f4(h['mcc'])} | {f4(p['mcc'])} | {f4(h['mcc'] - p['mcc'], True)} "
                   f"({lo:+.4f} .. {hi:+.4f})") if r.get("positives", 1) else "- | - | -"
            lines.append(f"| {r['left_out']} | {mcc} | {f4(h.get('fpr'))} | {f4(p.get('fpr'))} |")
    return lines


def write_cards(report, models_dir=MODELS):
    """Put card_section into every shipped text model's README.md, replacing
    the one a previous run wrote (the section runs to the next "## " or the
    end)."""
    for task in TASKS:
        path = os.path.join(models_dir, task, "README.md")
        if not os.path.exists(path):
            continue
        text = open(path, encoding="utf-8").read()
        head, _, rest = text.partition("\n" + CARD_HEAD)
        tail = rest[rest.find("\n## "):] if rest and "\n## " in rest else ""
        with open(path, "w", encoding="utf-8") as f:
            f.write(head.rstrip("\n") + "\n\n" + "\n".join(card_section(task, report)) + "\n" + tail)


def write_document(t5, t6, command, path=None, t7=None):
    with open(path or DOC, "w", encoding="utf-8") as f:
        f.write(document(t5, t6, command, t7=t7))


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


def run_types(report):
    """Table 7 into report["fraud_types"]; its markdown lines."""
    report["fraud_types"] = {}
    print(f"\n== {T7_TITLE}")
    t7 = fraud_type_table(report["fraud_types"])
    print("\n".join(t7), flush=True)
    return t7


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tables", default="5,6,7", help="which tables: any of 5, 6 and 7, "
                    "comma-separated")
    ap.add_argument("--lodo-rows", help="table 6 rows only: TASK or TASK:DATASET, comma-separated")
    ap.add_argument("--write-doc", action="store_true", help=f"write {DOC} and the "
                    "generalisation section of each model card")
    ap.add_argument("--lodo-from", metavar="JSON", help="table 6 as saved in an earlier "
                    "report (build/eval/generalisation.json) instead of retraining")
    ap.add_argument("--cards-from", metavar="JSON", help="only write the model cards' "
                    "generalisation sections from a saved report (build/eval/generalisation.json)")
    args = ap.parse_args()
    if args.cards_from:
        with open(args.cards_from) as f:
            write_cards(json.load(f))
        return 0
    tables = set(args.tables.split(","))
    if not tables <= {"5", "6", "7"}:
        ap.error(f"--tables {args.tables}: tables are 5, 6 and 7")
    if not os.path.isdir(ev.DATA):
        print(f"generalisation: {ev.DATA} is absent (../shared/data beside the repository)",
              file=sys.stderr)
        return 2
    only = set(args.lodo_rows.split(",")) if args.lodo_rows else None
    report = {}
    t5 = t6 = t7 = None
    if "5" in tables:
        t5, t6 = run(report, lodo="6" in tables, only=only)
    elif "6" in tables:
        report["lodo"] = []
        print(f"== {T6_TITLE}")
        t6 = lodo_table(report["lodo"], only)
    if args.lodo_from and "6" not in tables:
        with open(args.lodo_from) as f:
            report["lodo"] = json.load(f).get("lodo", [])
        shipped = {(r["task"], r["dataset"]): r["mcc"]
                   for r in report.get("false_alarms", {}).get("rows", [])}
        t6 = list(LODO_HEADER) + [lodo_line(r, shipped.get((r["task"], r["left_out"])))
                                  for r in report["lodo"]]
    if "7" in tables:
        t7 = run_types(report)
    os.makedirs(ev.OUT, exist_ok=True)
    with open(os.path.join(ev.OUT, "generalisation.json"), "w") as f:
        json.dump(report, f, indent=1)
    if args.write_doc:
        write_document(t5, t6, "python3 -m research.generalisation " + " ".join(sys.argv[1:]), t7=t7)
        if t5 is not None:
            write_cards(report)
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
