#!/usr/bin/python3
"""`make eval`: Hubao and the scikit-learn peer, side by side, on ../shared/data.

Three tables, printed and written to build/eval/report.{md,json}:
  1. single dataset: each model trained on one dataset's train.tsv and tested
     on its test.tsv, Hubao (`hubao train` + `hubao eval`) against the peer
     (tools/peer.py) on the same files;
  2. shipped models: every model under models/ on every relevant test.tsv,
     against the peer trained on the same training files;
  3. fraud is not advertising: how often legitimate messages and adverts are
     called fraud, fraud recall and fraud-type accuracy.
Models trained here for comparison stay under build/eval and are never
shipped (some sets are research-only).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402

DATA = os.environ.get("HUBAO_DATA", "../shared/data")
HUBAO = "build/hubao"
OUT = "build/eval"

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
    "fraud": ["zh-telecom-fraud", "en-smishing", "zh-spam-sms", "en-sms-uci"],
    "rumour": ["zh-rumor-ced", "zh-rumor-weibo-mm", "en-rumor-pheme", "en-covid-fake", "en-liar"],
}


def path(ds, split):
    return os.path.join(DATA, ds, split + ".tsv")


def hubao_eval(model, test, positive=None):
    cmd = [HUBAO, "eval", "--json", "--model", model, test]
    if positive:
        cmd += ["--positive", positive]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def peer_eval(task, train_files, test, positive=None):
    pos = positive.split(",") if positive else peer.POSITIVE[task]
    labels, texts = [], []
    for f in train_files:
        l, t = peer.read_tsv(f)
        labels += l
        texts += t
    p = peer.Peer()
    p.fit(texts, [1 if peer.is_positive(l, pos) else 0 for l in labels])
    tl, tt = peer.read_tsv(test)
    ty = [1 if peer.is_positive(l, pos) else 0 for l in tl]
    d = p.decision(tt)
    pred = [1 if v >= 0 else 0 for v in d]
    out = {"mcc": peer.matthews_corrcoef(ty, pred)}
    prf = peer.precision_recall_fscore_support(ty, pred, average="binary", zero_division=0)
    out["precision"], out["recall"], out["f1"] = prf[0], prf[1], prf[2]
    out["auc"] = peer.roc_auc_score(ty, d) if 0 < sum(ty) < len(ty) else None
    out["labels"] = {}
    for lab in sorted(set(tl)):
        idx = [i for i, l in enumerate(tl) if l == lab]
        out["labels"][lab] = sum(pred[i] for i in idx) / len(idx)
    return out


def fmt(x):
    return "  -   " if x is None else f"{x:.4f}"


def single_table(rows):
    lines = ["| dataset | task | n | Hubao MCC | peer MCC | Δ MCC | Hubao F1 | peer F1 | Hubao AUC | peer AUC |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for ds, task in SINGLE:
        if not os.path.exists(path(ds, "train")):
            continue
        model = os.path.join(OUT, f"{ds}-{task}")
        positive = "smishing" if (ds, task) == ("en-smishing", "fraud") else None
        cmd = [HUBAO, "train", "--task", task, "--data", path(ds, "train"), "--out", model]
        if positive:
            cmd += ["--positive", positive]
        subprocess.run(cmd, check=True, capture_output=True)
        h = hubao_eval(model, path(ds, "test"), positive)
        p = peer_eval(task, [path(ds, "train")], path(ds, "test"), positive)
        rows.append({"dataset": ds, "task": task, "hubao": h, "peer": p})
        lines.append(f"| {ds} | {task} | {h['n']} | {fmt(h['mcc'])} | {fmt(p['mcc'])} | "
                     f"{h['mcc'] - p['mcc']:+.4f} | {fmt(h['f1'])} | {fmt(p['f1'])} | "
                     f"{fmt(h['auc'])} | {fmt(p['auc'])} |")
        print(lines[-1], flush=True)
    return lines


def shipped_table(rows):
    lines = ["| model | test set | n | Hubao MCC | peer MCC | Δ MCC | Hubao recall | Hubao precision |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for task, tests in SHIPPED_TESTS.items():
        model = os.path.join("models", task)
        if not os.path.exists(os.path.join(model, "manifest.json")):
            lines.append(f"| {task} | (no shipped model) | | | | | | |")
            continue
        man = json.load(open(os.path.join(model, "manifest.json")))
        train_files = [d["path"] for d in man.get("data", [])]
        for ds in tests:
            if not os.path.exists(path(ds, "test")):
                continue
            h = hubao_eval(model, path(ds, "test"))
            p = peer_eval(task, train_files, path(ds, "test")) if all(map(os.path.exists, train_files)) else None
            rows.append({"model": task, "dataset": ds, "hubao": h, "peer": p})
            pm = p["mcc"] if p else None
            lines.append(f"| {task} | {ds} | {h['n']} | {fmt(h['mcc'])} | {fmt(pm)} | "
                         f"{'' if pm is None else format(h['mcc'] - pm, '+.4f')} | "
                         f"{fmt(h['recall'])} | {fmt(h['precision'])} |")
            print(lines[-1], flush=True)
    return lines


def fraud_table(shipped_rows):
    """Fraud is not advertising: shares called fraud per original label."""
    lines = ["| test set | label | n | shipped fraud model: called fraud | peer trained on the spam sets: called positive |",
             "| --- | --- | ---: | ---: | ---: |"]
    spam_model = os.path.join("models", "spam", "manifest.json")
    spam_files = []
    if os.path.exists(spam_model):
        spam_files = [d["path"] for d in json.load(open(spam_model)).get("data", []) if "handwritten" not in d["path"]]
    for r in shipped_rows:
        if r["model"] != "fraud" or r["dataset"] not in ("zh-telecom-fraud", "en-smishing"):
            continue
        ds = r["dataset"]
        sp = peer_eval("spam", spam_files, path(ds, "test")) if spam_files else None
        for lab, v in sorted(r["hubao"]["labels"].items()):
            peer_rate = sp["labels"].get(lab) if sp else None
            lines.append(f"| {ds} | {lab} | {v['n']} | {100 * v['called_positive']:.1f}% | "
                         f"{'-' if peer_rate is None else format(100 * peer_rate, '.1f') + '%'} |")
        ta = r["hubao"].get("type_accuracy")
        if ta is not None:
            lines.append(f"| {ds} | fraud type right (of caught frauds) | | {100 * ta:.1f}% | |")
        print("\n".join(lines[-len(r['hubao']['labels']) - 1:]), flush=True)
    return lines


def main():
    if not os.path.isdir(DATA):
        print(f"make eval: {DATA} is absent: the evaluation needs the shared data sets "
              "(../shared/data/<name>/{train,test}.tsv) beside the repository.", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    report = {"single": [], "shipped": []}
    md = ["# Hubao evaluation", "", "## 1. Trained and tested on one dataset (Hubao vs scikit-learn peer)", ""]
    print("\n== 1. single dataset: Hubao vs the scikit-learn peer (TF-IDF + LinearSVC)")
    md += single_table(report["single"])
    print("\n== 2. shipped models on every relevant test set (peer trained on the same files)")
    md += ["", "## 2. Shipped models", ""] + shipped_table(report["shipped"])
    print("\n== 3. fraud is not advertising")
    md += ["", "## 3. Fraud is not advertising", ""] + fraud_table(report["shipped"])
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {OUT}/report.md and {OUT}/report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
