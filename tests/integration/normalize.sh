#!/bin/sh
# `hubao normalize` (the AddressSanitizer build): text comes out as the
# n-gram features read it - disguises folded, traditional Chinese as
# simplified, digits and digit masks as 0 unless --keep-digits - one line
# per line with labels kept, and a line that is not UTF-8 is reported by
# number without shifting the lines after it.
set -u
HUBAO=${HUBAO:-build/asan/hubao}
TMP=build/tmp/normalize-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh

printf 'spam\t加薇信 １３８ｘｘｘｘ1234 hxxp://a[.]com 安 全 账 户\nno label: Fax me 2015\nham\t\377\nrumour\t退订回T xxx元\n' >"$TMP/in.tsv"
"$HUBAO" normalize "$TMP/in.tsv" >"$TMP/out.tsv" 2>"$TMP/err"
rc=$?
expect "a line that is not UTF-8 exits 1" test $rc -eq 1
expect "and is named by file and line" grep -q "in.tsv:3: invalid UTF-8" "$TMP/err"
expect "one line out per line in, labels kept" python3 - "$TMP/out.tsv" <<'PY'
import sys
rows = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert rows[-1] == "", rows
assert rows[:-1] == [
    "spam\t加微信 00000000000 http://a.com 安全账户",
    "no label: fax me 0000",
    "ham\t",
    "rumour\t退订回t 000元",
], rows
PY

printf 'x\t１３８ fax xxx元\n' | "$HUBAO" normalize --keep-digits >"$TMP/keep.tsv"
expect "--keep-digits leaves digits and masks alone" grep -qx "$(printf 'x\t138 fax xxx元')" "$TMP/keep.tsv"

printf 'x\t媽，我換號了，急需用錢，別告訴爸\n' | "$HUBAO" normalize >"$TMP/trad.tsv"
expect "traditional Chinese reads as simplified" grep -qx "$(printf 'x\t妈,我换号了,急需用钱,别告诉爸')" "$TMP/trad.tsv"

# OpenCC looks for a bare configuration name in the working directory
# first; Hubao names it by absolute path, so a stray t2s.json there
# changes nothing.
case $HUBAO in /*) hubao_abs=$HUBAO ;; *) hubao_abs=$PWD/$HUBAO ;; esac
mkdir -p "$TMP/badcfg" && echo '{' >"$TMP/badcfg/t2s.json"
(cd "$TMP/badcfg" && printf 'x\t帳戶\n' | "$hubao_abs" normalize) >"$TMP/badcfg.out" 2>&1
expect "a t2s.json in the working directory is not read" grep -qx "$(printf 'x\t账户')" "$TMP/badcfg.out"

"$HUBAO" normalize "$TMP/absent.tsv" >/dev/null 2>&1
expect "a missing file exits 3" test $? -eq 3
"$HUBAO" normalize --no-such-option </dev/null >/dev/null 2>&1
expect "an unknown option exits 2" test $? -eq 2

rm -rf "$TMP"
[ "$fails" -eq 0 ]
