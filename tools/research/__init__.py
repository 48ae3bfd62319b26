"""Hubao's research tooling: train the shipped models, measure them against
a scikit-learn baseline, and time them.  Run from the repository root with
Debian's python3 (numpy, scikit-learn), as the Makefile does:

  PYTHONPATH=tools /usr/bin/python3 -m research.recipes     make models
  PYTHONPATH=tools /usr/bin/python3 -m research.report      make eval
  PYTHONPATH=tools /usr/bin/python3 -m research.bench       make bench

Modules:
  recipes         the shipped models' training recipes and model cards
  baseline        the scikit-learn peer every table compares against
  labels          label<TAB>text files and which labels are positive
                  (asked of `hubao labels`, never copied)
  report          make eval's tables 1-4 (build/eval/report.md)
  generalisation  tables 5-7: false alarms, leave-one-dataset-out, fraud
                  types (docs/generalisation.md, the model cards)
  resplit         Hubao and the peer on fresh splits of one data set
  bench           make bench: throughput and latency against the peer
"""
