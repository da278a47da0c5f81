#!/usr/bin/env bash
# Measures Qoltanba's signing hot paths (criterion, benches/signing.rs) and the machine's own
# references in the same run: Debian's GOST engine (benches/gost_engine_speed.c, through
# OpenSSL's EVP API) and `openssl speed` for RSA-2048 and SHA-256. Prints a markdown table of
# operations per second and ratios for docs/performance.md.
# Usage: benches/compare.sh [seconds per engine measurement, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

openssl engine -t gost >/dev/null 2>&1 || { echo "install libengine-gost-openssl first" >&2; exit 1; }
gcc -O2 -Wall -Wno-deprecated-declarations -o "$work/gost_speed" benches/gost_engine_speed.c -lcrypto
"$work/gost_speed" "$seconds" > "$work/engine.txt"
openssl speed -seconds "$seconds" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print "rsa2048 sign " $6}' >> "$work/engine.txt"
openssl speed -seconds "$seconds" -bytes 1048576 sha256 2>/dev/null \
  | awk '/^sha256/ {sub("k","",$2); print "sha256 MiBps " $2/1024}' >> "$work/engine.txt"
head -c $((64 << 20)) /dev/zero > "$work/big.bin"
python3 - "$work/big.bin" >> "$work/engine.txt" <<'PY'
import subprocess, sys, time
start = time.monotonic()
subprocess.run(["openssl", "dgst", "-engine", "gost", "-md_gost12_512", sys.argv[1]],
               check=True, capture_output=True)
print("streebog512 MiBps", 64 / (time.monotonic() - start))
PY
cargo bench --bench signing -- --noplot 2>/dev/null | tee "$work/criterion.txt" >/dev/null

python3 - "$work/engine.txt" "$work/criterion.txt" <<'PY'
import re, sys
engine = {}
for line in open(sys.argv[1]):
    parts = line.split()
    engine[" ".join(parts[:2])] = float(parts[2])
unit = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
ours, name = {}, None
for line in open(sys.argv[2]):
    m = re.match(r"^(\S.*?)\s+time:\s+\[\S+ \S+ (\S+) (\S+) ", line)
    if m:
        ours[m.group(1).strip()] = 1.0 / (float(m.group(2)) * unit[m.group(3)])
print("| operation | Qoltanba (ops/s) | reference on this machine (ops/s) | time ratio ours/reference |")
print("|---|---|---|---|")
for op in ["gost2012_512 sign", "gost2012_512 verify", "gost2012_256 sign", "gost2012_256 verify", "rsa2048 sign"]:
    mine, ref = ours.get(op), engine.get(op)
    if mine and ref:
        print(f"| {op} | {mine:,.0f} | {ref:,.0f} | {ref / mine:.2f}x |")
for key in ["hash 1 MiB/Streebog512", "hash 1 MiB/Gost34311", "hash 1 MiB/Sha256"]:
    if key in ours:
        mibps = ours[key]
        ref, tool = {"Sha256": (engine.get("sha256 MiBps"), "openssl speed sha256"),
                     "Streebog512": (engine.get("streebog512 MiBps"), "GOST engine dgst")}.get(
                         key.split("/")[1], (None, ""))
        tail = f"| {ref:,.0f} MiB/s ({tool}) | {ref / mibps:.2f}x |" if ref else "| – | – |"
        print(f"| {key.split('/')[1]} | {mibps:,.0f} MiB/s " + tail)
PY
