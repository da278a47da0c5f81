#!/usr/bin/env bash
# Builds Qoltanba's packages into target/packages/ (docs/deployment.md):
#   qoltanba_VERSION-1_amd64.deb   (`cargo deb`, metadata in Cargo.toml, scripts in installer/deb/)
#   qoltanba-VERSION-x64.msi       (`wixl`, WiX source in installer/msi/)
#   qoltanba-extension-{chromium,firefox}-VERSION.zip   (browser-extension/build.mjs, for the
#                                  stores and for IT; docs/extension.md)
# Offline: it needs only what the registries gave (crates for the two builds, Debian's
# packages for the tools below); it downloads nothing itself.
#
# Usage: installer/build-packages.sh [--profile release|dev] [--windows-exe FILE] [--deb|--msi]
#   --profile      Cargo profile of both binaries (default release, what users get; the test
#                  script uses dev to share the build of its tests, .ci/test.sh).
#   --windows-exe  package this qoltanba.exe instead of cross-building one.
#   --deb, --msi, --extension   build only that package.
# Needs: cargo-deb (`cargo install cargo-deb --locked`), dpkg-dev, wixl (Debian `wixl`), and
# for the Windows build the x86_64-pc-windows-gnu Rust target and MinGW.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
windows_exe=""
want_deb=1
want_msi=1
want_extension=1
while (($#)); do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --windows-exe) windows_exe="$2"; shift 2 ;;
    --deb) want_msi=0; want_extension=0; shift ;;
    --msi) want_deb=0; want_extension=0; shift ;;
    --extension) want_deb=0; want_msi=0; shift ;;
    *) echo "build-packages: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) profile_dir=release ;;
  dev) profile_dir=debug ;;
  *) profile_dir="$profile" ;;
esac

target="${CARGO_TARGET_DIR:-target}"
out="$target/packages"
stage="$out/stage"
mkdir -p "$stage"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)"

# The native-messaging host manifests (installer/native-messaging) for the Linux host path, and
# the Local Network Access policy of Chrome, Chromium and Edge from installer/portals.txt.
manifest() { sed "s|@HOST_PATH@|$2|" "installer/native-messaging/$1.json" >"$stage/$1-host.json"; }
lna_policy() {
  local patterns
  patterns="$(grep -v '^#' installer/portals.txt | sed '/^$/d; s/.*/    "&"/' | paste -sd, - | sed 's/,/,\n/g')"
  printf '{\n  "LocalNetworkAccessAllowedForUrls": [\n%s\n  ],\n  "LoopbackNetworkAllowedForUrls": [\n%s\n  ]\n}\n' \
    "$patterns" "$patterns" >"$stage/lna-policy.json"
}

if ((want_deb)); then
  manifest chromium /usr/lib/qoltanba/native-host
  manifest firefox /usr/lib/qoltanba/native-host
  lna_policy
  cargo build --profile "$profile" --bin qoltanba
  # The dev profile keeps debug info: cargo-deb strips it from the packaged copy.
  cargo deb --no-build --profile "$profile" --strip --no-separate-debug-symbols --output "$out/"
  echo "build-packages: $(ls "$out"/qoltanba_*.deb)"
fi

if ((want_msi)); then
  if [ -z "$windows_exe" ]; then
    cargo build --profile "$profile" --target x86_64-pc-windows-gnu --bin qoltanba
    windows_exe="$target/x86_64-pc-windows-gnu/$profile_dir/qoltanba.exe"
  fi
  installer/msi/build-msi.sh "$windows_exe" "$out" "$version"
fi
if ((want_extension)); then
  # Node 20 builtins only (offline); the zips hold the unpacked extensions, manifest at the top.
  node browser-extension/build.mjs "$stage/extension"
  for browser in chromium firefox; do
    python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])' \
      "$out/qoltanba-extension-$browser-$version" "$stage/extension/$browser"
    echo "build-packages: $out/qoltanba-extension-$browser-$version.zip"
  done
fi
