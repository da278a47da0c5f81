#!/usr/bin/env bash
# Bounded fuzzing of the inputs a web page or a file controls: `cargo fuzz` targets protocol
# (whole JSON messages), frames (WebSocket frames through the memory meter), pkcs12, xml and
# cms, each for FUZZ_SECONDS (default 30; 45 until the CI budget needed the time), seeded from
# the NCA fixtures (read from ../shared, never copied into the project). A crash fails the run
# and leaves its input in fuzz/artifacts/<target>/; fix it with a regression test named after
# the target (e.g. `fuzz_pkcs12_<what>` in the module's tests).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
# cargo-fuzz instruments with -Z flags; the machine has only a stable toolchain.
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O

seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
fixtures=../shared/fixtures/nca
mkdir -p "$seeds"/{protocol,frames,pkcs12,xml,cms}
find "$fixtures" -name '*.p12' -exec cp {} "$seeds/pkcs12/" \;
find "$fixtures" -name '*.xml' -exec cp {} "$seeds/xml/" \;
for cms in $(find "$fixtures" -name '*.cms'); do base64 -d "$cms" > "$seeds/cms/$(basename "$cms").der"; done
printf '%s' '{"module":"kz.gov.pki.knca.basics","method":"sign","args":{"format":"cms","data":["MTEK"],"signingParams":{"decode":"true","encapsulate":false},"signerParams":{"extKeyUsageOids":["1.3.6.1.5.5.7.3.4"],"iin":""},"allowedStorages":"PKCS12,AKKaztokenStore"}}' > "$seeds/protocol/basics"
printf '%s' '{"module":"kz.gov.pki.knca.commonUtils","method":"signXml","args":["PKCS12","SIGNATURE","<a Id=\"x\"><b/></a>","/a","/a"],"uuid":"u-1"}' > "$seeds/protocol/common"
printf '%s' '{"method":"getKeys","args":["PKCS12","","","SIGN"]}' > "$seeds/protocol/applet"
# frames: a split byte, then a masked text frame "hello", a ping and a 64-bit-length frame head.
printf '\x00\x81\x85\x01\x02\x03\x04\x69\x67\x6f\x68\x6e\x89\x80\x00\x00\x00\x00\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00' > "$seeds/frames/seed"

for target in protocol frames pkcs12 xml cms; do
  echo "fuzzing $target for ${seconds}s"
  mkdir -p "$seeds/corpus-$target"
  cargo fuzz run -O "$target" "$seeds/corpus-$target" "$seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E '^(Done|stat::number_of_executed_units|==[0-9]+==|SUMMARY|thread .* panicked)' || true
  if ls fuzz/artifacts/"$target"/crash-* fuzz/artifacts/"$target"/timeout-* >/dev/null 2>&1; then
    echo "fuzz target $target found a failing input: fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
