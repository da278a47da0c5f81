#!/usr/bin/env bash
# Builds and starts Qoltanba from this checkout with sensible defaults (README "Start the
# daemon"): installs the build and run-time packages when missing (GTK 3 headers for the tray
# and the file chooser, the AppIndicator library, OpenGL for the dialog), then
# `cargo run --release -- run "$@"` — wss://127.0.0.1:13579, the dialog when a display is
# present, else the terminal prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists gtk+-3.0 2>/dev/null || missing+=(libgtk-3-dev)
ldconfig -p | grep -q libayatana-appindicator3.so.1 || missing+=(libayatana-appindicator3-1)
ldconfig -p | grep -q 'libGL.so.1' || missing+=(libgl1 libegl1)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
exec cargo run --release -- run "$@"
