#!/bin/sh
# A short, repeatable run of every libFuzzer target (built by `make test`
# into build/fuzz): 20,000 inputs from a fixed seed on its committed seed
# corpus, the same every time; 1,000 for fuzz_prefilter, each of whose
# inputs compiles a Hyperscan database (~20 ms under ASan, whose
# allocator Hyperscan's compiler keeps busy).  `make fuzz` searches for
# FUZZ_SECONDS (default 60) from a random seed.
set -u
TMP=build/tmp/fuzz-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
for t in build/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  runs=20000
  case $t in */fuzz_prefilter) runs=1000 ;; esac
  expect "fuzz smoke: $(basename "$t") ($runs inputs, seed 1)" sh tests/fuzz/run --smoke "$runs" "$t"
done
expect "eight fuzz targets were built" test "$(ls build/fuzz/fuzz_* 2>/dev/null | wc -l)" -ge 8
[ "$fails" -eq 0 ] && rm -rf "$TMP"
[ "$fails" -eq 0 ]
