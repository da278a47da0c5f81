#!/usr/bin/env bash
# The one command that runs every test of Qoltanba (README "Run all tests").
# Installs what the tests need when it is missing, then: rustfmt, clippy -D warnings, and all
# unit + integration tests with the `test-support` feature, built once and shared.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests use as independent verifiers.
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
# faketime: the test TSA (tests/it/tsa.rs) stamps at the fixture keys' time, 2020.
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
# RSA signs through OpenSSL's libcrypto (crypto/rsa.rs): its headers for openssl-sys; perl and
# make build the static libcrypto of the Windows executable (openssl-src).
[ -e /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
command -v perl >/dev/null 2>&1 || missing+=(perl)
command -v make >/dev/null 2>&1 || missing+=(make)
# PC/SC for the ID card (keystore/idcard): pcsc-lite's headers to build against, and for the
# tests pcscd with vsmartcard's virtual reader, into which the simulated card is plugged.
[ -e /usr/include/PCSC/winscard.h ] || missing+=(libpcsclite-dev)
[ -e /usr/sbin/pcscd ] || missing+=(pcscd)
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || missing+=(vsmartcard-vpcd)
# SoftHSM2 and OpenSC's pkcs11-tool: the PKCS#11 token of the token tests (docs/tokens.md).
[ -e /usr/lib/softhsm/libsofthsm2.so ] || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
# NSS certutil: the trust stores of `qoltanba cert install|uninstall` (docs/security.md).
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
# The GOST engine for OpenSSL 3 (engines-3/gost.so): the oracle for GOST signatures.
openssl engine -t gost >/dev/null 2>&1 || missing+=(libengine-gost-openssl)
# The desktop (feature `desktop`, docs/desktop.md): GTK 3 headers for tray-icon and the file
# chooser, the AppIndicator library, and for the GUI tests an X server, xdotool, a tray host,
# ImageMagick for screenshots, Mesa's software OpenGL and the X libraries winit loads at run time.
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists gtk+-3.0 2>/dev/null || missing+=(libgtk-3-dev)
ldconfig -p | grep -q libayatana-appindicator3.so.1 || missing+=(libayatana-appindicator3-1)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xdotool >/dev/null 2>&1 || missing+=(xdotool)
command -v trayer >/dev/null 2>&1 || missing+=(trayer)
# xwininfo (x11-utils) finds the tray icon embedded in the tray host (tests/it/desktop.rs).
command -v xwininfo >/dev/null 2>&1 || missing+=(x11-utils)
command -v import >/dev/null 2>&1 || missing+=(imagemagick)
ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || missing+=(libgl1-mesa-dri)
for lib in libxkbcommon-x11.so.0 libXcursor.so.1 libXrandr.so.2 libXi.so.6 libEGL.so.1 libGL.so.1; do
  ldconfig -p | grep -q "$lib" || missing+=(libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libegl1 libgl1)
done
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# Wine runs the Windows build in the tests (registry policy, the daemon; tests/it/windows.rs),
# and MinGW builds it (ring's build script needs the MinGW C compiler).
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1 || missing+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
# The packages (issue 13, docs/deployment.md): cargo-deb's dpkg-shlibdeps, the clean root of
# the .deb test, lintian; wixl and msiinfo for the .msi.
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v wixl >/dev/null 2>&1 || missing+=(wixl)
command -v msiinfo >/dev/null 2>&1 || missing+=(msitools)
# The browser extension (issue 14, docs/extension.md): Debian's Chromium for the end-to-end
# test (tests/it/browser.rs), driven by playwright-core from browser-extension/node_modules.
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -d ../shared/fixtures/nca ]; then
  echo "error: the NCA fixtures are expected in ../shared/fixtures/nca" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy || true

# The clean Debian root of the .deb test, made in the background while the tests build (about
# 3-4 minutes, mostly download; installer/tests/make-root.sh), and cargo-deb.
mkdir -p target/packages
installer/tests/make-root.sh target/packages/root >target/packages/make-root.out 2>&1 &
make_root=$!
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked --version 3.8.0

# The extension's npm packages (playwright-core for the browser test; the lock file pins them),
# then its unit tests under Node's own test runner.
[ -d browser-extension/node_modules/playwright-core ] \
  || (cd browser-extension && npm ci --no-audit --no-fund --loglevel=error)
(cd browser-extension && npm test --silent)

# Oracle tests fail (instead of skipping) when their tool is missing.
export QOLTANBA_REQUIRE_ORACLES=1

cargo fmt --all -- --check
cargo clippy --all-targets --features test-support -- -D warnings

# Windows (issues 5 and 6): the desktop build is linted for x86_64-pc-windows-gnu, and a
# test-support build runs under Wine in the integration tests (QOLTANBA_WINDOWS_EXE).
rustup target list --installed 2>/dev/null | grep -q x86_64-pc-windows-gnu \
  || rustup target add x86_64-pc-windows-gnu
cargo clippy --target x86_64-pc-windows-gnu --bins -- -D warnings
cargo build --target x86_64-pc-windows-gnu --no-default-features --features test-support --bin qoltanba
export QOLTANBA_WINDOWS_EXE="$PWD/target/x86_64-pc-windows-gnu/debug/qoltanba.exe"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --features test-support --no-fail-fast
else
  cargo test --features test-support --no-fail-fast
fi

# Test hooks are absent from the default build (issue 10, item 6; docs/testing.md).
./.ci/release-hooks.sh

# The packages (issue 13): built with the dev profile from the build the hooks check just made
# (default features) and the Windows build of the tests, then installed and removed for real.
installer/build-packages.sh --profile dev --windows-exe "$QOLTANBA_WINDOWS_EXE"
wait "$make_root" || { cat target/packages/make-root.out >&2; exit 1; }
installer/tests/deb-test.sh target/packages/qoltanba_*_amd64.deb target/packages/root
installer/tests/msi-test.sh target/packages/qoltanba-*-x64.msi "$QOLTANBA_WINDOWS_EXE"

# Bounded fuzzing (issue 6): every target for FUZZ_SECONDS (default 30 s).
./.ci/fuzz.sh
