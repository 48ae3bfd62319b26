#!/bin/sh
# The systemd units in tools/systemd: `systemd-analyze verify` accepts each
# of them without a word (it exits 0 on a misspelt key, so any output
# fails), run on copies whose /usr/bin/hubao[d] are the built binaries
# (verify checks that ExecStart= can be run; no systemd needs to be
# running); the settings that matter are there (the sandbox, restarts,
# reload, the drain, limits; and what must not be, with the reason it
# would break hubaod); the units and hubaod.conf agree on the endpoints
# and directories, and every path the programs write is one systemd makes
# writable; hubaod.conf parses; `systemd-analyze security` rates each
# service's exposure 2.0 or lower.
set -u
TMP=build/tmp/units-it.$$
rm -rf "$TMP"; mkdir -p "$TMP/units"
. tests/integration/lib/expect.sh
U=tools/systemd

command -v systemd-analyze >/dev/null || { bad "no systemd-analyze (Debian's systemd package): run make deps"; exit 1; }
for b in build/hubao build/hubaod; do
  [ -x "$b" ] || { bad "$b is not built"; exit 1; }
done

# The units as installed, but for binaries: /usr/bin/hubao and
# /usr/bin/hubaod become this checkout's build/hubao and build/hubaod.
for f in "$U"/*.service "$U"/*.timer; do
  sed "s#/usr/bin/hubao#$PWD/build/hubao#g" "$f" >"$TMP/units/${f##*/}"
done

# verify FILE...: systemd-analyze verify passes and says nothing
verify() {
  out=$(systemd-analyze verify --man=no "$@" 2>&1); rc=$?
  [ $rc -eq 0 ] && [ -z "$out" ] || { echo "exit $rc"; printf '%s\n' "$out"; return 1; }
}
printf '[Service]\nExecStart=/bin/true\nProtectSytem=strict\n' >"$TMP/typo.service"
expect "verify as used here catches a misspelt key" sh -c '! "$@"' _ verify "$TMP/typo.service"

for f in "$TMP"/units/*; do
  expect "systemd-analyze verify ${f##*/}" verify "$f"
done
expect "every program the units start is one the copies point at the build" sh -c \
  '! grep -h "^Exec" "$@" | grep -v "^Exec[A-Za-z]*=[-+]*\(/bin/kill\|/bin/sh\|$0/build/hubao\)"' \
  "$PWD" "$TMP"/units/*.service

# has UNIT LINE...: UNIT (in tools/systemd) has each LINE, exactly
has() {
  f=$U/$1; shift
  for l in "$@"; do grep -qxF -- "$l" "$f" || { echo "$f: no line \"$l\""; return 1; }; done
}
# lacks UNIT PATTERN WHY: no line of UNIT matches PATTERN
lacks() { ! grep -n -- "$2" "$U/$1" || { echo "$1: $3"; return 1; }; }
# value UNIT KEY: the value of KEY= in UNIT (the last one)
value() { sed -n "s/^$2=//p" "$U/$1" | tail -1; }
# conf KEY: hubaod.conf's value of KEY
conf() { sed -n "s/^$1 *= *//p" "$U/hubaod.conf"; }

for s in hubaod.service hubao-web.service hubao-feeds.service; do
  expect "$s: runs as hubao in the sandbox" has "$s" \
    User=hubao Group=hubao NoNewPrivileges=yes CapabilityBoundingSet= ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes PrivateUsers=yes ProtectKernelTunables=yes \
    ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes \
    ProtectHostname=yes ProtectProc=invisible ProcSubset=pid RestrictNamespaces=yes \
    RestrictRealtime=yes RestrictSUIDSGID=yes LockPersonality=yes RemoveIPC=yes \
    SystemCallArchitectures=native SystemCallFilter=@system-service SystemCallFilter=~@privileged \
    SystemCallErrorNumber=EPERM UMask=0077 StateDirectoryMode=0750
  expect "$s: a memory limit, and state only under /var/lib/hubao" sh -c \
    'test -n "$1" && printf "%s\n" "$2" | grep -q "^hubao\( \|$\)"' _ "$(value $s MemoryMax)" "$(value $s StateDirectory)"
  expect "$s: no ~@resources (libzmq aborts when refused sched_setscheduler)" \
    lacks "$s" "^SystemCallFilter=~.*@resources" "libzmq's I/O thread calls sched_setscheduler"
  expect "$s: security exposure 2.0 or lower" \
    systemd-analyze security --offline=true --threshold=20 --no-pager "$TMP/units/$s"
done

expect "hubaod.service: restarts, reloads by SIGHUP, drains on SIGTERM to the broker" has hubaod.service \
  Type=exec 'ExecStart=/usr/bin/hubaod --config /etc/hubao/hubaod.conf' \
  'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure RestartPreventExitStatus=2 \
  KillMode=mixed KillSignal=SIGTERM 'StateDirectory=hubao hubao/feeds' RuntimeDirectory=hubao \
  RuntimeDirectoryMode=0700 'WantedBy=multi-user.target'
stop=$(value hubaod.service TimeoutStopSec); stop=${stop%s}
drain=$(conf drain-ms); drain=${drain:-10000}
expect "hubaod.service: TimeoutStopSec ($stop s) covers the drain (${drain} ms) and 4 s more" \
  test $((stop * 1000)) -ge $((drain + 4000))
expect "hubaod.service: LimitNOFILE above the default 1024" test "$(value hubaod.service LimitNOFILE)" -gt 1024
expect "hubaod.service: AF_NETLINK allowed (libzmq lists interfaces to bind tcp://)" has hubaod.service \
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'
expect "hubaod.service: no MemoryDenyWriteExecute (PCRE2's JIT)" \
  lacks hubaod.service "^MemoryDenyWriteExecute=yes" "the rules' JIT needs it"

expect "hubao-web.service: restarts, after hubaod" has hubao-web.service \
  Restart=on-failure Wants=hubaod.service 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
  'EnvironmentFile=-/etc/hubao/web.env' StateDirectory=hubao
expect "hubao-feeds.service: a oneshot update, then a reload" has hubao-feeds.service \
  Type=oneshot 'ExecStart=/usr/bin/hubao feeds update' 'StateDirectory=hubao hubao/feeds'
expect "hubao-feeds.timer: hourly, spread, made up after downtime" has hubao-feeds.timer \
  OnCalendar=hourly RandomizedDelaySec=15min Persistent=true WantedBy=timers.target

# where things are: the units and hubaod.conf must agree
ctl=$(conf control); bind=$(conf bind); feeds=$(conf feeds)
expect "hubaod.conf: its settings parse" build/hubaod --config "$U/hubaod.conf" --help
expect "hubaod.conf: the control socket is in RuntimeDirectory /run/hubao" \
  test "$ctl" = ipc:///run/hubao/control
expect "hubaod.conf: feeds and snapshot in StateDirectory /var/lib/hubao" sh -c \
  'test "$1" = /var/lib/hubao/feeds && case $2 in /var/lib/hubao/*) ;; *) exit 1;; esac' \
  _ "$feeds" "$(conf snapshot-dir)"
expect "hubaod.conf: models in /usr/share/hubao" test "$(conf models)" = /usr/share/hubao/models
expect "hubao-feeds.service writes where hubaod reads, reloads where it listens" sh -c \
  'grep -qxF "Environment=HUBAO_FEEDS_CONF=/etc/hubao/feeds.conf HUBAO_FEEDS_DIR=$1" "$3" &&
   grep "^ExecStopPost=" "$3" | grep -qF -- "--control $2 reload" &&
   grep "^ExecStopPost=" "$3" | grep -qF "test -S ${2#ipc://}"' _ "$feeds" "$ctl" "$U/hubao-feeds.service"
expect "hubao-web.service asks the hubaod of hubaod.conf, keeps its database in /var/lib/hubao" sh -c \
  'grep "^ExecStart=" "$2" | grep -qF -- "--server $1 " &&
   grep "^ExecStart=" "$2" | grep -qF -- "--db /var/lib/hubao/" &&
   grep "^ExecStart=" "$2" | grep -qF -- "--static /usr/share/hubao/web"' _ "$bind" "$U/hubao-web.service"

echo "  $fails failed"
[ "$fails" -eq 0 ]
