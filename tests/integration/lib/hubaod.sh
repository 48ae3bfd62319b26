# hubaod.sh - sourced by the integration scripts that run hubaod
# (tests/integration/*.sh), never run on its own; sources proc.sh
# (running, stop_wait).  The script sets TMP (its scratch directory) and
# HUBAOD (the binary) first.  Every process put in PIDS is killed when the
# script exits.
#   start NAME ARGS...     run hubaod on an ephemeral loopback port, with
#                          its control endpoint in $TMP and its log in
#                          $TMP/NAME.log; sets PID and EP (client
#                          endpoint), CEP (control endpoint, also exported
#                          as HUBAO_TEST_CONTROL for the Python clients)
#                          and BACKEND (worker endpoint) from its log
#   wait_log FILE PATTERN COUNT
#                          until PATTERN occurs COUNT times (10 s max)
. tests/integration/lib/proc.sh

PIDS=""
cleanup() { for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT

start() {
  name=$1; shift
  "$HUBAOD" --bind 'tcp://127.0.0.1:*' --control "ipc://$TMP/$name.ctl" "$@" 2>"$TMP/$name.log" &
  PID=$!
  PIDS="$PIDS $PID"
  EP=""; i=0
  while [ $i -lt 100 ] && [ -z "$EP" ] && running $PID; do
    sleep 0.1; i=$((i + 1))
    EP=$(sed -n 's/.*listening on \(tcp:[^;]*\);.*/\1/p' "$TMP/$name.log" | head -1)
  done
  BACKEND=$(sed -n 's/.*workers connect to \(.*\)$/\1/p' "$TMP/$name.log" | head -1)
  CEP=$(sed -n 's/.*; control on \([^;]*\);.*/\1/p' "$TMP/$name.log" | head -1)
  export HUBAO_TEST_CONTROL="$CEP"
}

wait_log() {
  i=0
  while [ "$(grep -c "$2" "$1")" -lt "$3" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ "$(grep -c "$2" "$1")" -ge "$3" ]
}
