#!/usr/bin/env bash
# The .deb test (issue 13): lintian reports no error; in a clean Debian root (make-root.sh) the
# package's dependencies resolve from Debian, it installs, its maintainer scripts run on a root
# without users, a desktop or systemd, the binary runs there, the installed files are where
# the browsers and the desktop look; then, with a user who trusted the local CA, removal takes
# the CA out of that user's NSS store, and purge leaves the root as it was before the install.
# Usage: deb-test.sh DEB ROOT   (ROOT as made by make-root.sh; it is changed)
set -euo pipefail
deb="$(realpath "$1")"
root="$(realpath "$2")"
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
step() { echo "deb-test: $*"; }
in_root() {
  timeout 600 chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}
as_alice() {
  timeout 120 chroot --userspec=alice:alice "$root" env -i PATH=/usr/bin:/bin \
    HOME=/home/alice USER=alice "$@"
}
# Every path in the root but the ones that change without the package (dpkg's and apt's own
# records, logs, caches, temporary files), with type and mode: what purge must restore.
snapshot() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
    -o -path ./run -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache \
    -o -path ./var/log -o -path ./home \) -prune -o -printf '%y %m %p\n' | sort)
}

step "lintian"
lintian_out="$(lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" 2>&1)" \
  || fail "lintian reports errors:"$'\n'"$lintian_out"
printf '%s\n' "$lintian_out"

step "dependencies from Debian: $(dpkg-deb -f "$deb" Depends)"
in_root apt-get satisfy -y -qq --no-install-recommends "$(dpkg-deb -f "$deb" Depends)" >/dev/null \
  || fail "the Depends do not resolve in a clean $root"
cp "$deb" "$root/tmp/qoltanba.deb"
before="$(snapshot)"

expected=(
  usr/bin/qoltanba
  usr/lib/qoltanba/native-host
  usr/lib/systemd/user/qoltanba.service
  etc/xdg/autostart/qoltanba.desktop
  usr/share/applications/qoltanba.desktop
  usr/share/icons/hicolor/scalable/apps/qoltanba.svg
  usr/share/icons/hicolor/48x48/apps/qoltanba.png
  etc/qoltanba/policy.toml
  etc/chromium/native-messaging-hosts/kz.qoltanba.native.json
  etc/opt/chrome/native-messaging-hosts/kz.qoltanba.native.json
  etc/opt/edge/native-messaging-hosts/kz.qoltanba.native.json
  usr/lib/mozilla/native-messaging-hosts/kz.qoltanba.native.json
  etc/chromium/policies/managed/qoltanba.json
  etc/opt/chrome/policies/managed/qoltanba.json
  etc/opt/edge/policies/managed/qoltanba.json
  usr/share/doc/qoltanba/copyright
)
check_installed() {
  local path
  for path in "${expected[@]}"; do
    [ -e "$root/$path" ] || fail "not installed: /$path"
  done
  if [ ! -x "$root/usr/bin/qoltanba" ] || [ ! -x "$root/usr/lib/qoltanba/native-host" ]; then
    fail "the binary or the host wrapper is not executable"
  fi
  in_root /usr/bin/qoltanba --version | grep -q '^qoltanba ' \
    || fail "qoltanba does not run in the root (missing libraries: the Depends are wrong)"
  # The host the browsers start answers native messaging (4-byte length, then JSON): an open
  # without a web origin is refused with a closed message, so wrapper and binary both work.
  local answer
  answer="$(printf '\x1f\x00\x00\x00{"type":"open","origin":"null"}' \
    | in_root /usr/lib/qoltanba/native-host chrome-extension://laligpnnhopilbfbgnjgjnfnjejjainp/ \
    | tail -c +5)" || true
  grep -q '^{"type":"closed","code":1006,' <<<"$answer" \
    || fail "the native-messaging host does not answer: $answer"
  local json
  for json in etc/chromium/native-messaging-hosts/kz.qoltanba.native.json \
    usr/lib/mozilla/native-messaging-hosts/kz.qoltanba.native.json \
    etc/opt/chrome/policies/managed/qoltanba.json; do
    python3 -m json.tool "$root/$json" >/dev/null || fail "/$json is not JSON"
  done
  grep -q '"path": "/usr/lib/qoltanba/native-host"' \
    "$root/etc/chromium/native-messaging-hosts/kz.qoltanba.native.json" \
    || fail "the host manifest does not name /usr/lib/qoltanba/native-host"
  grep -q '"https://\[\*\.\]egov.kz"' "$root/etc/opt/chrome/policies/managed/qoltanba.json" \
    || fail "the Local Network Access policy does not allow egov.kz"
  grep -q 'LoopbackNetworkAllowedForUrls' "$root/etc/opt/edge/policies/managed/qoltanba.json" \
    || fail "the Edge policy has no LoopbackNetworkAllowedForUrls"
  # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
  conffiles="$(in_root dpkg-query -W -f='${Conffiles}\n' qoltanba)"
  grep -q '/etc/qoltanba/policy.toml' <<<"$conffiles" \
    || fail "/etc/qoltanba/policy.toml is not a conffile"
  grep -q '^Exec=/usr/bin/qoltanba run --session$' "$root/etc/xdg/autostart/qoltanba.desktop" \
    || fail "the autostart entry does not start a session daemon"
  grep -q '^ConditionUser=!root$' "$root/usr/lib/systemd/user/qoltanba.service" \
    || fail "the user unit may run as root"
  # The whole report first: `grep -q` leaves at its first match, and the rest of the report
  # would then go to a closed pipe (an error for the writer, so for the pipeline).
  policy_report="$(in_root /usr/bin/qoltanba policy)" || fail "qoltanba policy failed"
  grep -q '/etc/qoltanba/policy.toml (read)' <<<"$policy_report" \
    || fail "the daemon does not read the installed IT policy"
}
check_gone() {
  local path
  for path in "${expected[@]}"; do
    [ ! -e "$root/$path" ] || fail "left after purge: /$path"
  done
  local after changes line dir
  after="$(snapshot)"
  # dpkg also removes an empty directory the package listed when no package owns it (here
  # /etc/opt, made by debootstrap): tolerated, only when it was empty before the install.
  changes="$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' || true)"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    dir="${line#< d * }"
    if [ "${line#< d }" != "$line" ] && ! grep -q " ${dir}/" <<<"$before"; then
      echo "deb-test: note: dpkg removed the empty unowned directory ${dir#.}"
      continue
    fi
    fail "purge left the root changed:"$'\n'"$changes"
  done <<<"$changes"
  # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
  if in_root dpkg-query -W -f='${db:Status-Status}\n' qoltanba 2>/dev/null | grep -qx installed; then
    fail "dpkg still lists qoltanba as installed"
  fi
}

# A chroot: no init or systemd runs in it, no desktop session, and no user but root yet.
step "install, remove, purge on a root without users, a desktop or a running systemd"
in_root dpkg -i /tmp/qoltanba.deb >/dev/null || fail "dpkg -i failed"
check_installed
in_root dpkg -r qoltanba >/dev/null || fail "dpkg -r failed"
[ -e "$root/etc/qoltanba/policy.toml" ] || fail "remove (not purge) deleted the conffile"
[ ! -e "$root/usr/bin/qoltanba" ] || fail "remove left the binary"
in_root dpkg -P qoltanba >/dev/null || fail "dpkg -P failed"
check_gone

step "a user who trusted the local CA: removal takes it out of their NSS store"
in_root useradd -m -s /bin/sh alice
before="$(snapshot)"
in_root dpkg -i /tmp/qoltanba.deb >/dev/null || fail "dpkg -i failed"
as_alice /usr/bin/qoltanba cert install >/dev/null || fail "cert install as alice"
nss="sql:/home/alice/.pki/nssdb"
as_alice certutil -L -d "$nss" | grep -q 'Qoltanba local CA' || fail "alice's CA is not in $nss"
in_root dpkg -r qoltanba >/dev/null || fail "dpkg -r failed"
if as_alice certutil -L -d "$nss" | grep -q 'Qoltanba local CA'; then
  fail "removal left alice's local CA trusted in $nss"
fi
[ ! -e "$root/home/alice/.local/share/qoltanba/trust-stores.json" ] \
  || fail "alice's trust-store record is left"
in_root dpkg -P qoltanba >/dev/null || fail "dpkg -P failed"
check_gone
step "ok"
