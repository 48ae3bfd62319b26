#!/bin/sh
# A short run of every libFuzzer target (built by `make test` into
# build/fuzz), each on its committed seed corpus: `make fuzz` runs them
# longer (FUZZ_SECONDS, default 60).
set -u
TMP=build/tmp/fuzz-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
for t in build/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  expect "fuzz smoke: $(basename "$t") (5 s)" sh tests/fuzz/run 5 "$t"
done
expect "seven fuzz targets were built" test "$(ls build/fuzz/fuzz_* 2>/dev/null | wc -l)" -ge 7
[ "$fails" -eq 0 ] && rm -rf "$TMP"
[ "$fails" -eq 0 ]
