#!/bin/sh
# The Debian package's sources (tools/debian/) agree with the tree, without
# building the package (make deb takes minutes): every file hubao.install
# names exists once `make build` ran, every model bundle under models/ is
# installed, the shipped /etc/hubao/hubaod.conf is one hubaod accepts, the
# systemd units are installed and name only files the package installs, the
# man pages debian/rules makes are the ones hubao.manpages installs and
# render without warnings (where help2man is installed), and the changelog
# and control files parse.
set -u
TMP=build/tmp/packaging-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
D=tools/debian

# `SOURCE... DEST` lines, debian/ being tools/debian in the tree: every
# source must exist, and what it installs goes into $TMP/installed, one
# absolute path a line
missing=""
: >"$TMP/installed"
while read -r line; do
  case $line in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086
  set -- $line
  eval "dest=/\${$#}"
  while [ $# -gt 1 ]; do
    src=$(printf '%s' "$1" | sed "s|^debian/|$D/|")
    # shellcheck disable=SC2086
    ls -d $src >/dev/null 2>&1 || missing="$missing $1"
    # shellcheck disable=SC2086
    for f in $src; do
      [ -e "$f" ] || continue
      parent=$(dirname "$f")
      find "$f" -type f | sed "s|^$parent|$dest|" >>"$TMP/installed"
    done
    shift
  done
done <"$D/hubao.install"
expect "every file hubao.install names exists${missing:+ (missing:$missing)}" test -z "$missing"

unlisted=""
for m in models/*/manifest.json; do
  dir=${m%/manifest.json}
  grep -q "^$dir " "$D/hubao.install" || unlisted="$unlisted $dir"
done
expect "every model bundle is installed${unlisted:+ (not in hubao.install:$unlisted)}" test -z "$unlisted"

conf=$(sed -n 's|^\([^ ]*/hubaod.conf\) etc/hubao$|\1|p' "$D/hubao.install")
expect "hubao.install installs a /etc/hubao/hubaod.conf" test -n "$conf"
expect "hubaod accepts the shipped hubaod.conf ($conf)" build/hubaod --config "$conf" --help

# What the units and hubaod.conf name in /usr/bin, /usr/share/hubao and
# /etc/hubao (optional files, EnvironmentFile=-, aside) is what the package
# installs, or a directory of it.
units=$(ls tools/systemd/*.service tools/systemd/*.timer 2>/dev/null)
expect "hubao.install installs the units of tools/systemd" sh -c '
  for u in $1; do grep -qx "/lib/systemd/system/${u##*/}" "$2" || { echo "$u"; exit 1; }; done' \
  _ "$units" "$TMP/installed"
unnamed=""
# shellcheck disable=SC2086
for p in $(grep -hv -e '^[[:space:]]*#' -e '^EnvironmentFile=-' $units $conf |
           grep -oE '/(usr/bin|usr/share/hubao|etc/hubao)(/[A-Za-z0-9_.-]+)*' | sort -u); do
  grep -qx -e "$p" -e "$p/.*" "$TMP/installed" || unnamed="$unnamed $p"
done
expect "the units name only installed files${unnamed:+ (not installed:$unnamed)}" test -z "$unnamed"
# help2man (a Build-Depends of the package) and man-db are not make test's
if command -v help2man >/dev/null && command -v man >/dev/null; then
  expect "debian/manpages writes the pages hubao.manpages installs" \
    sh "$D/manpages" 0 "$TMP/build/man"
  for page in $(sed "s|^build/|$TMP/build/|" "$D/hubao.manpages"); do
    expect "${page##*/} renders without warnings" sh -c '
      w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$1" 2>&1 >/dev/null)
      [ -z "$w" ] || { echo "$w"; exit 1; }' _ "$page"
  done
else
  ok "man pages not made: no help2man or man (make deb installs them)"
fi
expect "the changelog parses" dpkg-parsechangelog -l "$D/changelog" -S Version
expect "control names the package's build dependencies" \
  sh -c 'grep -q "^Build-Depends:" "$1" && grep -q "^Package: hubao$" "$1"' _ "$D/control"

rm -rf "$TMP"
[ "$fails" -eq 0 ]
