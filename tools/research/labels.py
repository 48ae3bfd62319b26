"""Which data set labels count as positive for a task: asked of `hubao
labels`, so the baseline is trained and scored on the same question as
Hubao (the mapping lives in classifier/dataset.c, and only there)."""
import os
import subprocess

HUBAO = os.environ.get("HUBAO", "build/hubao")

_known = {}  # (task, positive, label) -> bool


def read_tsv(path):
    """The labels and texts of a label<TAB>text file, in file order."""
    labels, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            labels.append(label)
            texts.append(text)
    return labels, texts


def classify(task, positive, labels):
    """{label: True (positive), False (negative) or None (unknown)} for
    task, as `hubao train --task TASK [--positive POSITIVE]` maps labels
    (positive: None for the task's default mapping, or a comma-separated
    list)."""
    ask = sorted({l for l in labels if (task, positive, l) not in _known})
    if ask:
        cmd = [HUBAO, "labels", "--task", task] + (["--positive", positive] if positive else [])
        out = subprocess.run(cmd + ["--"] + ask, check=True, stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            label, _, cls = line.rpartition("\t")
            _known[(task, positive, label)] = {"positive": True, "negative": False}.get(cls)
    return {l: _known[(task, positive, l)] for l in labels}


def positive_labels(task, positive, labels):
    """The labels that are positive for task (see classify); ValueError for
    a label the mapping does not know, as `hubao train` refuses it."""
    cls = classify(task, positive, labels)
    unknown = sorted(l for l, c in cls.items() if c is None)
    if unknown:
        raise ValueError(f"task {task} does not know the labels {unknown}; give --positive")
    return {l for l, c in cls.items() if c}


def truth(task, positive, labels):
    """1 for each label that is positive for task, else 0 (see
    positive_labels)."""
    pos = positive_labels(task, positive, labels)
    return [1 if l in pos else 0 for l in labels]
