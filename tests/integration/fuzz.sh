#!/bin/sh
# A short, repeatable run of every libFuzzer target (built by `make test`
# into build/fuzz): 20,000 inputs from a fixed seed on its committed seed
# corpus, the same every time.  `make fuzz` searches for FUZZ_SECONDS
# (default 60) from a random seed.
set -u
TMP=build/tmp/fuzz-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
for t in build/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  expect "fuzz smoke: $(basename "$t") (20000 inputs, seed 1)" sh tests/fuzz/run --smoke 20000 "$t"
done
expect "seven fuzz targets were built" test "$(ls build/fuzz/fuzz_* 2>/dev/null | wc -l)" -ge 7
[ "$fails" -eq 0 ] && rm -rf "$TMP"
[ "$fails" -eq 0 ]
