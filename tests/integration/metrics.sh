#!/bin/sh
# The Prometheus endpoints (docs/operations.md): hubaod --metrics, `hubao
# web`'s /metrics and `hubao kafka --metrics` on librdkafka's mock cluster.
# Each output passes `promtool check metrics` (Debian's prometheus) and
# its counters move by exactly what the test sent: requests, errors by
# code, verdicts, reloads by outcome, HTTP responses by route and status,
# feedback rows, Kafka records.  The AddressSanitizer builds of hubaod and
# hubao; every wait is bounded (tests/integration/metrics_check.py).
set -u
HUBAOD=${HUBAOD:-build/asan/hubaod}
HUBAO=${HUBAO:-build/asan/hubao}
MOCK=${MOCK:-build/kafka-mock-cluster}
TMP=build/tmp/metrics-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
# small models and the fixture rules: the AddressSanitizer builds load
# them in a second, where the shipped ones take half a minute
export HUBAO_RULES=tests/fixtures/engine/rules
for task in fraud spam; do
  "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv --out "$TMP/models/$task" \
    --hash-bits 14 --seed 3 --version v1 2>"$TMP/train.err" || { cat "$TMP/train.err"; exit 1; }
done
timeout 600 /usr/bin/python3 tests/integration/metrics_check.py "$HUBAOD" "$HUBAO" "$MOCK" \
  "$TMP" "$TMP/models"
rc=$?
[ $rc -eq 0 ] && rm -rf "$TMP"
exit $rc
