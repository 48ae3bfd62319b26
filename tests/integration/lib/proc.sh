# proc.sh - sourced by the integration scripts that start processes in the
# background, never run on its own.
#   running PID            the process exists and is not a zombie waiting
#                          to be reaped
#   stop_wait PID SECONDS  wait (bounded) for our child PID to exit; sets
#                          STATUS to its exit status, or "timeout" (and
#                          then kills it)
running() {
  st=$(sed 's/^[0-9]* ([^)]*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

stop_wait() {
  i=0
  while running "$1" && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  if running "$1"; then STATUS=timeout; kill -KILL "$1"; wait "$1"; else wait "$1"; STATUS=$?; fi
}
