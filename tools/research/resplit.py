"""Is a single-split gap real?  Hubao and the peer on K fresh splits of one
dataset.

The test splits in ../shared/data are small (577 rows for zh-rumor-weibo-mm,
650 for en-rumor-pheme): a gap of 0.01 MCC is two or three messages, and
which messages land in the test split moves both models by more than that.
This pools the dataset's train.tsv and test.tsv, draws K new splits with
the test split's size (stratified by class; rows with the same normalised
text kept on one side, so no test text was seen in training), trains
`hubao train` with its default options and the peer on each, and prints
both MCCs per split and the mean gap with its standard error.  A gap that
holds over many splits is the model's; one that changes sign is the split's.

With --shipped, Hubao is trained by the shipped TASK model's recipe
(tools/research/recipes.py: all its training sets, DATASET's train.tsv replaced
by the split's training rows, its options) and the peer on the same rows:
the same question for the shipped models' table.

  PYTHONPATH=tools python3 -m research.resplit DATASET TASK [--splits K] [--seed S] [--positive L,...] [--shipped]

Files go to build/eval/resplit/; nothing is shipped from them.
"""
import argparse
import os
import sys

from . import recipes
from . import report as evaluate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("task")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--positive")
    ap.add_argument("--shipped", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.splits <= 50:
        ap.error("--splits must be 1..50")
    recipe = recipes.TASKS.get(args.task) if args.shipped else None
    if args.shipped and (not recipe or args.dataset not in recipe["train"]):
        ap.error(f"--shipped: the shipped {args.task} model is not trained on {args.dataset}")
    files = [evaluate.path(args.dataset, s) for s in ("train", "test")]
    if not all(map(os.path.exists, files)):
        print(f"resplit: {' and '.join(files)} are needed (../shared/data beside the "
              "repository)", file=sys.stderr)
        return 2
    print("| split | n test | Hubao MCC | peer MCC | Δ MCC |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    gaps = []
    for k, (n, h, p) in enumerate(evaluate.resplit(args.dataset, args.task, args.splits,
                                                   args.seed, args.positive, recipe), 1):
        gaps.append(h - p)
        print(f"| {k} | {n} | {h:.4f} | {p:.4f} | {h - p:+.4f} |", flush=True)
    mean, se, wins = evaluate.gap_summary(gaps)
    print(f"\n{args.dataset} {args.task}: mean Δ MCC {mean:+.4f} (standard error {se:.4f}), "
          f"Hubao at or above the peer on {wins} of {len(gaps)} splits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
