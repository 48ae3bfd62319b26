#!/bin/sh
# `hubao labels` (the AddressSanitizer build): which data set labels are
# positive for a task, as `hubao train` maps them - the default mappings,
# prefix patterns, --positive replacing the list, a task known only through
# --positive, labels the mapping does not know, and usage errors.  The
# research tools (tools/research/labels.py) read this instead of keeping a
# copy of the mapping.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
TMP=build/tmp/labels-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

same() { # same NAME EXPECTED COMMAND...: COMMAND prints exactly EXPECTED
  name=$1; want=$2; shift 2
  expect "$name" sh -c 'got=$("$@"); [ "$got" = "$0" ] || { echo "got: $got"; exit 1; }' "$want" "$@"
}
nl='
'
same "fraud: smishing and fraud_* positive, ham and adverts negative" \
  "ham	negative${nl}spam	negative${nl}smishing	positive${nl}fraud_loan	positive" \
  "$HUBAO" labels --task fraud ham spam smishing fraud_loan
same "spam: adverts, smishing and scams are all spam" \
  "spam	positive${nl}smishing	positive${nl}fraud_authority	positive${nl}ham	negative" \
  "$HUBAO" labels --task spam spam smishing fraud_authority ham
same "rumour: the fact-check ratings split where docs/training.md says" \
  "pants-fire	positive${nl}barely-true	positive${nl}half-true	negative${nl}nonrumour	negative" \
  "$HUBAO" labels --task rumour pants-fire barely-true half-true nonrumour
same "url: every label but benign is positive" \
  "benign	negative${nl}defacement	positive" \
  "$HUBAO" labels --task url benign defacement
same "a label the default mapping does not know is unknown, not negative" \
  "rumour	unknown" "$HUBAO" labels --task spam rumour
same "--positive replaces the list and makes every other label negative" \
  "rumour	negative${nl}fraud_x	positive${nl}spam	negative" \
  "$HUBAO" labels --task spam --positive 'fraud_*' rumour fraud_x spam
same "a task without a default mapping works with --positive" \
  "a	positive${nl}b	negative" "$HUBAO" labels --task mine --positive a a b
same "-- lets a label start with a dash" "-x	unknown" "$HUBAO" labels --task fraud -- -x
"$HUBAO" labels --task mine a >"$TMP/out" 2>"$TMP/err"; rc=$?
expect "a task without a default mapping and no --positive: usage error" test $rc -eq 2
expect "which says how to fix it" grep -q "give --positive" "$TMP/err"
"$HUBAO" labels --task fraud >/dev/null 2>&1; rc=$?
expect "no label: usage error" test $rc -eq 2

rm -rf "$TMP"
[ "$fails" -eq 0 ]
