#!/bin/sh
# hubaod --user (the AddressSanitizer build) on loopback: started as root
# with --user nobody, the broker, every thread of it and the workers it
# starts run as nobody with no capability left; requests are answered,
# and so are scrapes of the metrics exporter it started as root;
# `hubao control` run as nobody finds the default control socket and
# reloads; the control directory and socket and the snapshot directory
# are nobody's and are cleaned up on SIGTERM; a second start takes the
# directory the first gave to nobody.  A name that is no user, and (not
# root) another user, fail with exit status 2 and say why; naming
# yourself is fine; root without --user is warned about.
# What needs root is skipped, saying so, when the suite is not run as root.
set -u
HUBAOD=${HUBAOD:-build/asan/hubaod}
HUBAO=${HUBAO:-build/asan/hubao}
TMP=build/tmp/runas-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
. tests/integration/lib/proc.sh
skip() { echo "  skip $1"; }
for b in "$HUBAOD" "$HUBAO"; do
  [ -x "$b" ] || { bad "$b is not built"; exit 1; }
done

PIDS=""
cleanup() {
  for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
  [ -n "${SHARE:-}" ] && rm -rf "$SHARE"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE # so that the EXIT trap runs then too

# wait_log FILE PATTERN COUNT: until PATTERN occurs COUNT times (20 s max;
# FILE may not be there yet)
seen() { n=$(grep -c "$2" "$1" 2>/dev/null); [ "${n:-0}" -ge "$3" ]; }
wait_log() {
  i=0
  while ! seen "$@" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
  seen "$@"
}

# children PID: the pids whose parent is PID
children() {
  for d in /proc/[0-9]*; do
    pp=$(sed 's/^[0-9]* ([^)]*) . \([0-9]*\).*/\1/' "$d/stat" 2>/dev/null)
    [ "$pp" = "$1" ] && echo "${d#/proc/}"
  done
}

# ids_are UID GID PID...: every thread of every PID has real, effective,
# saved and file-system uid UID and gids GID, no supplementary group 0
# and no effective capability
ids_are() {
  u=$1; g=$2; shift 2
  [ $# -gt 0 ] || { echo "no process"; return 1; }
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      s=$(cat "$t/status") || return 1
      printf '%s\n' "$s" | grep -q "^Uid:[[:space:]]*$u[[:space:]]*$u[[:space:]]*$u[[:space:]]*$u$" &&
        printf '%s\n' "$s" | grep -q "^Gid:[[:space:]]*$g[[:space:]]*$g[[:space:]]*$g[[:space:]]*$g$" &&
        ! printf '%s\n' "$s" | grep -q "^Groups:.*[[:space:]]0\( \|$\)" &&
        printf '%s\n' "$s" | grep -q "^CapEff:[[:space:]]*0*$" ||
        { echo "$t:"; printf '%s\n' "$s" | grep -E '^(Uid|Gid|Groups|CapEff):'; return 1; }
    done
  done
}

# ---- any user -----------------------------------------------------------
"$HUBAOD" --user hubao-no-such-user --bind 'tcp://127.0.0.1:*' 2>"$TMP/nouser.err"
expect "--user naming no user exits 2 and says so" sh -c \
  'test $1 -eq 2 && grep -q "user hubao-no-such-user: there is no such user" "$2"' _ $? "$TMP/nouser.err"

if [ "$(id -u)" != 0 ]; then
  # what a user who is not root may and may not ask for
  "$HUBAOD" --user root --bind 'tcp://127.0.0.1:*' 2>"$TMP/notroot.err"
  expect "not root, --user naming another user exits 2 and says why" sh -c \
    'test $1 -eq 2 && grep -q "only root can switch" "$2"' _ $? "$TMP/notroot.err"
  "$HUBAOD" --user "$(id -un)" --workers 0 --bind 'tcp://127.0.0.1:*' \
    --control "ipc://$TMP/self.ctl" 2>"$TMP/self.log" &
  PID=$!; PIDS="$PIDS $PID"
  expect "--user naming yourself starts" wait_log "$TMP/self.log" "listening on" 1
  kill -TERM "$PID"; stop_wait "$PID" 15
  expect "--user naming yourself: stops on SIGTERM" test "$STATUS" = 0
  skip "--user nobody started as root: the switch, its processes and files (not root)"
  echo "  $fails failed"
  [ "$fails" -eq 0 ]
  exit
fi

# ---- root ---------------------------------------------------------------
NOBODY=$(id -u nobody 2>/dev/null) || { skip "there is no user nobody"; [ "$fails" -eq 0 ]; exit; }
NOGROUP=$(id -g nobody)
# as_nobody COMMAND...: run COMMAND as nobody, in the foreground (in the
# background $! would be a subshell's pid: there, setpriv $NOBODY_PRIV
# COMMAND, which execs COMMAND under setpriv's pid)
NOBODY_PRIV="--reuid=$NOBODY --regid=$NOGROUP --clear-groups"
# shellcheck disable=SC2086 # options, one a word
as_nobody() { setpriv $NOBODY_PRIV "$@"; }

# Everything nobody runs or reads is copied where nobody can reach it: the
# checkout may be in a directory only root can enter.
SHARE=$(mktemp -d /tmp/hubao-runas.XXXXXX)
chmod 755 "$SHARE"
cp "$HUBAOD" "$SHARE/hubaod"
cp "$HUBAO" "$SHARE/hubao"
cp -r tests/fixtures/engine/rules "$SHARE/rules"
for task in fraud spam; do
  HUBAO_RULES="$SHARE/rules" "$HUBAO" train --task $task --data tests/fixtures/train_small.tsv \
    --out "$SHARE/models/$task" --hash-bits 14 --seed 3 --version v1 2>"$TMP/train.err" ||
    { bad "train $task"; cat "$TMP/train.err"; }
done
chmod -R a+rX "$SHARE"

as_nobody "$SHARE/hubaod" --user root --bind 'tcp://127.0.0.1:*' 2>"$TMP/notroot.err"
expect "not root, --user naming another user exits 2 and says why" sh -c \
  'test $1 -eq 2 && grep -q "only root can switch" "$2"' _ $? "$TMP/notroot.err"
mkdir "$SHARE/run" && chown "$NOBODY:$NOGROUP" "$SHARE/run"
# shellcheck disable=SC2086 # options, one a word
setpriv $NOBODY_PRIV "$SHARE/hubaod" --user nobody --workers 0 --bind 'tcp://127.0.0.1:*' \
  --control "ipc://$SHARE/run/self.ctl" 2>"$TMP/self.log" &
PID=$!; PIDS="$PIDS $PID"
expect "--user naming yourself starts" wait_log "$TMP/self.log" "listening on" 1
kill -TERM "$PID"; stop_wait "$PID" 15
expect "--user naming yourself: stops on SIGTERM" test "$STATUS" = 0

"$SHARE/hubaod" --workers 0 --bind 'tcp://127.0.0.1:*' --control "ipc://$TMP/root.ctl" \
  2>"$TMP/root.log" &
PID=$!; PIDS="$PIDS $PID"
wait_log "$TMP/root.log" "listening on" 1
expect "root without --user starts, with a warning" \
  grep -q "warn.*running as root: give --user NAME" "$TMP/root.log"
kill -TERM "$PID"; stop_wait "$PID" 15
expect "root without --user: stops on SIGTERM" test "$STATUS" = 0

# The default control directory is nobody's: /tmp/hubaod-UID.  Keep one
# that is already there (and what is in it); remove the one made here.
CDIR=/tmp/hubaod-$NOBODY
[ -e "$CDIR" ] && CDIR_KEEP=1 || CDIR_KEEP=0
SNAPS=${TMPDIR:-/tmp}

# start NAME: hubaod --user nobody with two workers and the metrics
# exporter (a thread of its own) on ephemeral ports, and the default
# control endpoint; sets PID and EP
start() {
  "$SHARE/hubaod" --user nobody --bind 'tcp://127.0.0.1:*' --workers 2 \
    --metrics 127.0.0.1:0 --models "$SHARE/models" --rules "$SHARE/rules" 2>"$TMP/$1.log" &
  PID=$!; PIDS="$PIDS $PID"
  wait_log "$TMP/$1.log" "listening on" 1
  EP=$(sed -n 's/.*listening on \(tcp:[^;]*\);.*/\1/p' "$TMP/$1.log" | head -1)
}

start A
A=$PID
expect "hubaod --user nobody starts and both workers are ready" wait_log "$TMP/A.log" "ready; models" 2
expect "the broker says whom it runs as" grep -q "running as user nobody (uid $NOBODY" "$TMP/A.log"
expect "the broker and every thread of it (ZeroMQ's, the exporter's) run as nobody, no capability left" \
  ids_are "$NOBODY" "$NOGROUP" "$A"
MPORT=$(sed -n 's/.*metrics on .* (port \([0-9]*\)).*/\1/p' "$TMP/A.log" | head -1)
expect "the metrics exporter, started as root, still answers" sh -c \
  'curl -sf "http://127.0.0.1:$1/metrics" | grep -q "^hubao_requests_total"' _ "$MPORT"
W=$(children "$A")
# shellcheck disable=SC2086 # one pid a word
expect "two workers, and they run as nobody" \
  sh -c 'test $# -eq 2' _ $W
# shellcheck disable=SC2086
expect "the workers run as nobody, no capability" ids_are "$NOBODY" "$NOGROUP" $W
out=$("$HUBAO" check --server "$EP" "公安局通知：您涉嫌洗钱，请把存款转入安全账户" 2>&1)
expect "requests are answered" sh -c 'printf "%s" "$1" | grep -q "Likely fraud"' _ "$out"
expect "the control directory and socket are nobody's, the directory 0700" sh -c \
  'test "$(stat -c "%u %a" "$1")" = "$2 700" && test "$(stat -c "%u %F" "$1/control")" = "$2 socket"' \
  _ "$CDIR" "$NOBODY"
expect "hubao control ping, run as nobody, finds the default control socket" \
  as_nobody "$SHARE/hubao" control ping
expect "hubao control reload, run as nobody: every worker reloads" \
  as_nobody "$SHARE/hubao" control reload
SNAP=$(ls -d "$SNAPS/hubaod-$A-"* 2>/dev/null | head -1)
expect "the broker's snapshot directory is nobody's" sh -c \
  'test -n "$1" && test "$(stat -c %u "$1")" = "$2"' _ "$SNAP" "$NOBODY"
# new_set DIR: the reload's snapshot (set.2) became current, as nobody
new_set() {
  i=0
  while [ $i -lt 100 ] && [ "$(readlink "$1/current")" != set.2 ]; do sleep 0.1; i=$((i + 1)); done
  [ "$(readlink "$1/current")" = set.2 ] && [ "$(stat -c %u "$1/set.2")" = "$NOBODY" ]
}
expect "the snapshot helper, run after the reload, made a new set there as nobody" new_set "$SNAP"
kill -TERM "$A"; stop_wait "$A" 20
expect "SIGTERM: exit status 0" test "$STATUS" = 0
expect "the control socket and the snapshot directory are removed" sh -c \
  '! test -e "$1/control" && ! test -e "$2"' _ "$CDIR" "$SNAP"

start B
expect "a second start takes the directory the first gave to nobody" \
  wait_log "$TMP/B.log" "ready; models" 2
expect "hubao control ping as nobody, second start" as_nobody "$SHARE/hubao" control ping
kill -TERM "$PID"; stop_wait "$PID" 20
expect "second start: SIGTERM, exit status 0" test "$STATUS" = 0
[ "$CDIR_KEEP" = 0 ] && rm -rf "$CDIR"

echo "  $fails failed"
[ "$fails" -eq 0 ]
