#!/bin/sh
# The Debian package's sources (tools/debian/) agree with the tree, without
# building the package (make deb takes minutes): every file hubao.install
# names exists once `make build` ran, every model bundle under models/ is
# installed, the shipped /etc/hubao/hubaod.conf is one hubaod accepts, the
# man pages debian/rules makes are the ones hubao.manpages installs and
# render without warnings (where help2man is installed), and the changelog
# and control files parse.
set -u
TMP=build/tmp/packaging-it.$$
rm -rf "$TMP"; mkdir -p "$TMP"
. tests/integration/lib/expect.sh
D=tools/debian

# `SOURCE... DEST` lines; debian/ is tools/debian in the tree
missing=""
while read -r line; do
  case $line in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086
  set -- $line
  while [ $# -gt 1 ]; do
    src=$(printf '%s' "$1" | sed "s|^debian/|$D/|")
    # shellcheck disable=SC2086
    ls -d $src >/dev/null 2>&1 || missing="$missing $1"
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

expect "hubaod accepts the shipped hubaod.conf" \
  build/hubaod --config "$D/hubaod.conf" --help
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
