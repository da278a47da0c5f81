#!/usr/bin/env bash
# Makes the clean Debian root the .deb test installs into (installer/tests/deb-test.sh):
# `debootstrap --variant=minbase` of the build machine's release, then apt's lists and the
# desktop libraries most Qoltanba dependencies pull in, fetched ahead so the test itself only
# resolves what remains. Network only to the Debian mirror apt already uses. About 3-4 minutes,
# mostly download: .ci/test.sh runs it in the background while the tests build.
# Usage: make-root.sh DIR
set -euo pipefail
root="$1"
suite="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)"
suite="${suite:-bookworm}"
mirror="$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -v security | head -n1 | tr -d ' ' || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
rm -rf "$root"
mkdir -p "$(dirname "$root")"
timeout 900 debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; exit 1; }
in_root() {
  local seconds="$1"
  shift
  timeout "$seconds" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"
}
in_root 600 apt-get update -qq
in_root 900 apt-get install -y -qq --no-install-recommends \
  libgtk-3-0 libayatana-appindicator3-1 libnss3-tools libegl1 libgl1 libpcsclite1 >>"$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; exit 1; }
echo "make-root: $root ready"
