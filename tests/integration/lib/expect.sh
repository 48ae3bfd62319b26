# expect.sh - sourced by the integration scripts (tests/integration/*.sh),
# never run on its own: count and report results one a line.  The script
# sets TMP to its own scratch directory first.
#   ok NAME / bad NAME     report a result (bad counts a failure)
#   expect NAME COMMAND... pass if COMMAND succeeds; its output is shown
#                          only when it fails
# The script ends with [ "$fails" -eq 0 ].
fails=0
ok() { echo "  ok   $1"; }
bad() { echo "  FAIL $1"; fails=$((fails + 1)); }
expect() {
  name=$1; shift
  if "$@" >"$TMP/last.out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$TMP/last.out" | head -20; fi
}
