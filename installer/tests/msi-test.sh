#!/usr/bin/env bash
# Tests the Windows installer: installer/tests/msi-test.sh [MSI] EXE
#   MSI  the package built by installer/msi/build-msi.sh; without it, this script builds one
#        from EXE (version from Cargo.toml) into its temporary directory
#   EXE  the qoltanba.exe it was built from (the installed copy must be the same bytes)
# (a) the package's tables (msiinfo): files, components, registry rows, properties, sequences;
# (b) under Wine, in a fresh prefix of its own: a refused install (an https TSA_URL), an install with the
#     IT policy properties, the files and registry values it writes (and, when EXE is the real
#     daemon, `qoltanba policy` reading them back), a reinstall without properties that keeps
#     them, the uninstall removing everything;
# (c) an install without properties writes no policy value, and its uninstall.
# Every Wine command is bounded by `timeout`; the prefix and its wineserver go at the end.
# Needs msitools (msiinfo, msiextract) and Wine (wine64); exits non-zero naming the failure.
set -euo pipefail

die() { echo "msi-test: FAIL: $*" >&2; exit 1; }
step() { printf 'msi-test: [%3ds] %s\n' "$SECONDS" "$*"; }

[[ $# -eq 1 || $# -eq 2 ]] || die "usage: msi-test.sh [MSI] EXE"
exe=$(realpath "${!#}")
[[ -f $exe ]] || die "no such EXE: ${!#}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
for tool in msiinfo msiextract timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install msitools coreutils)"
done
wine_dir=
for dir in $(tr ':' ' ' <<<"$PATH") /usr/lib/wine; do
    if [[ -x $dir/wine64 && -x $dir/wineserver ]]; then wine_dir=$dir; break; fi
done
[[ -n $wine_dir ]] || die "wine64 not found on PATH or in /usr/lib/wine (apt-get install wine64)"

work=$(mktemp -d)
cleanup() { # this prefix's wineserver only, then everything of this run
    if [[ -d $work/prefix ]]; then
        WINEPREFIX=$work/prefix timeout 30 "$wine_dir/wineserver" -k >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
if [[ $# -eq 2 ]]; then
    msi=$(realpath "$1")
    [[ -f $msi ]] || die "no such MSI: $1"
else
    version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)
    step "building the MSI (version ${version:?no version in Cargo.toml})"
    msi=$("$repo/installer/msi/build-msi.sh" "$exe" "$work/msi" "$version" 2>"$work/build.log" | tail -n 1) \
        || die "build-msi.sh failed: $(grep -v GLib-GIO-CRITICAL "$work/build.log" | tail -5)"
fi
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export PATH="$wine_dir:$PATH"
unset DISPLAY WAYLAND_DISPLAY

# ---------------------------------------------------------------------------------------------
# (a) The package's tables.
step "(a) tables of $(basename "$msi")"
export_table() { msiinfo export "$msi" "$1" | tail -n +4 | tr -d '\r'; }
tables=$(msiinfo tables "$msi")
for table in File Component Directory Feature FeatureComponents Registry Property CustomAction \
    LaunchCondition Upgrade AppSearch RegLocator InstallExecuteSequence Media; do
    grep -qx "$table" <<<"$tables" || die "the MSI has no $table table"
done
msiinfo suminfo "$msi" | grep -q '^Template:.*x64' || die "the MSI's platform is not x64"

# row TABLE ROW: the table holds this exact tab-separated row (a whole line).
row() { grep -qxF -- "$2" <<<"$(export_table "$1")" || die "$1 has no row: $2"; }
# has TABLE TEXT: some row of the table contains TEXT.
has() { grep -qF -- "$2" <<<"$(export_table "$1")" || die "$1 has no row with: $2"; }
T=$'\t'

files=$(export_table File)
exe_size=$(stat -c %s "$exe")
for f in "QoltanbaExe${T}Daemon${T}qoltanba.exe${T}$exe_size" \
    "NativeHostBat${T}NativeHost${T}qoltanba-native-host.bat" \
    "ChromiumManifest${T}NativeMessagingChromium${T}kz.qoltanba.native.chromium.json" \
    "FirefoxManifest${T}NativeMessagingFirefox${T}kz.qoltanba.native.firefox.json" \
    "QoltanbaAdmx${T}Admx${T}Qoltanba.admx"; do
    grep -qF -- "$f" <<<"$files" || die "File has no row starting: $f"
done
row Directory "ProgramFiles64Folder${T}TARGETDIR${T}."
row Directory "INSTALLDIR${T}ProgramFiles64Folder${T}Qoltanba"

components=$(export_table Component)
# Every component is 64-bit (attribute 256), so its registry values land in the 64-bit view.
while IFS=$'\t' read -r name _ _ attributes _; do
    (( attributes & 256 )) || die "component $name is not 64-bit (Attributes $attributes)"
done <<<"$components"
for c in "LnaChrome:BROWSER_POLICIES = \"1\"" "LnaEdge:BROWSER_POLICIES = \"1\"" \
    PolicyAllowedOrigins:ALLOWED_ORIGINS PolicyMode:POLICY_MODE \
    PolicyAllowLocalPrograms:ALLOW_LOCAL_PROGRAMS PolicyTsaUrl:TSA_URL; do
    grep -qE "^${c%%:*}${T}[^${T}]*${T}[^${T}]*${T}[0-9]+${T}${c#*:}${T}" <<<"$components" \
        || die "component ${c%%:*} lacks the condition ${c#*:}"
done

# Registry rows: Root 2 = HKLM; the value column is MSI formatted text.
registry=$(export_table Registry)
reg_row() { # KEY NAME VALUE COMPONENT
    grep -qF -- "${T}2${T}$1${T}$2${T}$3${T}$4" <<<"$registry" \
        || die "Registry has no row HKLM\\$1 [$2] = $3 ($4)"
}
reg_row 'SOFTWARE\Microsoft\Windows\CurrentVersion\Run' Qoltanba '"[INSTALLDIR]qoltanba.exe" run' Daemon
reg_row 'SOFTWARE\Google\Chrome\NativeMessagingHosts\kz.qoltanba.native' '' '[#ChromiumManifest]' NativeMessagingChromium
reg_row 'SOFTWARE\Microsoft\Edge\NativeMessagingHosts\kz.qoltanba.native' '' '[#ChromiumManifest]' NativeMessagingChromium
reg_row 'SOFTWARE\Mozilla\NativeMessagingHosts\kz.qoltanba.native' '' '[#FirefoxManifest]' NativeMessagingFirefox
reg_row 'SOFTWARE\Policies\Qoltanba\policy' allowed_origins '[ALLOWED_ORIGINS]' PolicyAllowedOrigins
reg_row 'SOFTWARE\Policies\Qoltanba\policy' mode '[POLICY_MODE]' PolicyMode
reg_row 'SOFTWARE\Policies\Qoltanba\policy' allow_local_programs '#[ALLOW_LOCAL_PROGRAMS]' PolicyAllowLocalPrograms
reg_row 'SOFTWARE\Policies\Qoltanba\tsa' url '[TSA_URL]' PolicyTsaUrl
for p in ALLOWED_ORIGINS POLICY_MODE ALLOW_LOCAL_PROGRAMS TSA_URL; do
    grep -qF -- "${T}2${T}SOFTWARE\\Qoltanba${T}$p${T}[$p]${T}" <<<"$registry" \
        || die "Registry does not remember $p under HKLM\\SOFTWARE\\Qoltanba"
done
# The Local Network Access lists: installer/portals.txt, in order, for both browsers.
portals=()
while IFS= read -r line || [[ -n $line ]]; do
    [[ -z ${line//[[:space:]]/} || $line == \#* ]] || portals+=("$line")
done <"$repo/installer/portals.txt"
(( ${#portals[@]} > 0 )) || die "installer/portals.txt lists no portal"
lna_keys=()
for browser in 'Google\Chrome:LnaChrome' 'Microsoft\Edge:LnaEdge'; do
    for policy in LocalNetworkAccessAllowedForUrls LoopbackNetworkAllowedForUrls; do
        lna_keys+=("SOFTWARE\\Policies\\${browser%%:*}\\$policy")
        n=0
        for pattern in "${portals[@]}"; do
            n=$((n + 1))
            reg_row "SOFTWARE\\Policies\\${browser%%:*}\\$policy" "$n" \
                "${pattern//\[\*.\]/[\\[]*.[\\]]}" "${browser#*:}"
        done
        grep -qF "${T}2${T}SOFTWARE\\Policies\\${browser%%:*}\\$policy${T}$((n + 1))${T}" <<<"$registry" \
            && die "$policy of ${browser%%:*} has more values than installer/portals.txt"
    done
done

row Property "ALLUSERS${T}1"
row Property "BROWSER_POLICIES${T}1"
has Property "UpgradeCode${T}{6F3C2A51-8D1E-4B7A-9C25-3E0B7D4A91C8}"
secure=$(export_table Property | sed -n "s/^SecureCustomProperties${T}//p")
for p in ALLOWED_ORIGINS POLICY_MODE ALLOW_LOCAL_PROGRAMS BROWSER_POLICIES TSA_URL WIX_UPGRADE_DETECTED; do
    [[ ";$secure;" == *";$p;"* ]] || die "SecureCustomProperties lacks $p"
done
has LaunchCondition "NOT TSA_URL OR TSA_URL << \"http://\"${T}"
has CustomAction "WriteAllowedOrigins${T}3122${T}REGEXE${T}add \"HKLM\\SOFTWARE\\Policies\\Qoltanba\\policy\" /v allowed_origins /t REG_MULTI_SZ /s , /d \"[ALLOWED_ORIGINS]\" /f /reg:64"
row InstallExecuteSequence "RemoveExistingProducts${T}${T}1401"
row InstallExecuteSequence "AppSearch${T}${T}50"
has InstallExecuteSequence "WriteAllowedOrigins${T}ALLOWED_ORIGINS AND NOT (REMOVE ~= \"ALL\")${T}5001"

# The files as packed: the host .bat and the manifests (their "path" is the .bat, beside them).
msiextract -C "$work/extract" "$msi" >/dev/null || die "msiextract failed"
packed="$work/extract/Qoltanba"
cmp -s "$packed/qoltanba.exe" "$exe" || die "the packed qoltanba.exe is not EXE"
[[ $(cat "$packed/qoltanba-native-host.bat") == $'@"%~dp0qoltanba.exe" native-host %*\r' ]] \
    || die "qoltanba-native-host.bat is not the native-host wrapper"
for m in chromium firefox; do
    grep -qF '"path": "qoltanba-native-host.bat"' "$packed/kz.qoltanba.native.$m.json" \
        || die "the $m manifest's path is not the .bat beside it"
    grep -qF '"name": "kz.qoltanba.native"' "$packed/kz.qoltanba.native.$m.json" \
        || die "the $m manifest does not name kz.qoltanba.native"
done
grep -qF 'chrome-extension://' "$packed/kz.qoltanba.native.chromium.json" || die "chromium manifest lacks allowed_origins"
grep -qF 'qoltanba@qoltanba.kz' "$packed/kz.qoltanba.native.firefox.json" || die "firefox manifest lacks allowed_extensions"
step "(a) passed: tables, ${#portals[@]} portals x 4 lists, packed files"

# ---------------------------------------------------------------------------------------------
# (b) Wine.
log=$work/wine.log
wine() { timeout 120 "$wine_dir/wine64" "$@" </dev/null >>"$log" 2>&1; }
msiexec() { # msiexec ARGS...: its exit status
    local status=0
    echo "== msiexec $*" >>"$log"
    timeout 120 "$wine_dir/wine64" msiexec "$@" </dev/null >>"$log" 2>&1 || status=$?
    (( status != 124 )) || die "msiexec $1 did not finish in 120 s"
    return "$status"
}
winmsi='Z:'${msi//\//\\}
mkdir -p "$WINEPREFIX"
step "(b) wineboot --init in a fresh prefix"
wine wineboot --init || die "wineboot --init failed (log: $(tail -5 "$log"))"
timeout 60 "$wine_dir/wineserver" -w || true
step "(b) prefix ready"

# reg_get KEY NAME: "TYPE DATA" of a value in the 64-bit view ("" = the default value), or
# nothing when absent.
reg_get() {
    local out
    if [[ -z $2 ]]; then
        out=$(timeout 60 "$wine_dir/wine64" reg query "$1" /ve </dev/null 2>/dev/null) || return 0
        out=$(tr -d '\r' <<<"$out" | sed -n 's/^    (Default)    \(REG_[A-Z_]*\)    /\1 /p')
    else
        out=$(timeout 60 "$wine_dir/wine64" reg query "$1" /v "$2" </dev/null 2>/dev/null) || return 0
        out=$(tr -d '\r' <<<"$out" | sed -n "s/^    $2    \(REG_[A-Z_]*\)    /\1 /p")
    fi
    printf '%s' "$out"
}
key_exists() { timeout 60 "$wine_dir/wine64" reg query "$1" </dev/null >/dev/null 2>&1; }
expect() { # KEY NAME "TYPE DATA"
    local got
    got=$(reg_get "$1" "$2")
    [[ $got == "$3" ]] || die "$1 [${2:-(Default)}] is '${got:-absent}', expected '$3'"
}

pf="$WINEPREFIX/drive_c/Program Files/Qoltanba"
winpf='C:\Program Files\Qoltanba'
origins='https://a.example,https://b.example'
policy_key='HKLM\SOFTWARE\Policies\Qoltanba'

check_installed() { # the product's own files and values (not the IT policy)
    cmp -s "$pf/qoltanba.exe" "$exe" || die "Program Files\\Qoltanba\\qoltanba.exe is missing or not EXE"
    for f in qoltanba-native-host.bat kz.qoltanba.native.chromium.json kz.qoltanba.native.firefox.json; do
        [[ -f $pf/$f ]] || die "Program Files\\Qoltanba\\$f is missing"
    done
    [[ -f $WINEPREFIX/drive_c/windows/PolicyDefinitions/Qoltanba.admx ]] || die "PolicyDefinitions\\Qoltanba.admx is missing"
    [[ -f $WINEPREFIX/drive_c/windows/PolicyDefinitions/ru-RU/Qoltanba.adml ]] || die "PolicyDefinitions\\ru-RU\\Qoltanba.adml is missing"
    expect 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' Qoltanba "REG_SZ \"$winpf\\qoltanba.exe\" run"
    expect 'HKLM\SOFTWARE\Google\Chrome\NativeMessagingHosts\kz.qoltanba.native' '' "REG_SZ $winpf\\kz.qoltanba.native.chromium.json"
    expect 'HKLM\SOFTWARE\Microsoft\Edge\NativeMessagingHosts\kz.qoltanba.native' '' "REG_SZ $winpf\\kz.qoltanba.native.chromium.json"
    expect 'HKLM\SOFTWARE\Mozilla\NativeMessagingHosts\kz.qoltanba.native' '' "REG_SZ $winpf\\kz.qoltanba.native.firefox.json"
    local key n pattern
    for key in "${lna_keys[@]}"; do
        n=0
        for pattern in "${portals[@]}"; do
            n=$((n + 1))
            expect "HKLM\\$key" "$n" "REG_SZ $pattern"
        done
        [[ -z $(reg_get "HKLM\\$key" "$((n + 1))") ]] || die "HKLM\\$key has a value $((n + 1))"
    done
}
check_policy() { # the IT policy values of the install with properties
    expect "$policy_key\\policy" allowed_origins 'REG_MULTI_SZ https://a.example\0https://b.example'
    expect "$policy_key\\policy" mode 'REG_SZ allowlist'
    expect "$policy_key\\policy" allow_local_programs 'REG_DWORD 0x0'
    expect "$policy_key\\tsa" url 'REG_SZ http://tsa.example/'
}
check_removed() {
    [[ ! -e $pf ]] || die "Program Files\\Qoltanba is left after the uninstall: $(ls "$pf")"
    [[ ! -e $WINEPREFIX/drive_c/windows/PolicyDefinitions/Qoltanba.admx ]] || die "Qoltanba.admx is left after the uninstall"
    [[ -z $(reg_get 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' Qoltanba) ]] || die "the Run value is left"
    local key
    for key in 'HKLM\SOFTWARE\Google\Chrome\NativeMessagingHosts\kz.qoltanba.native' \
        'HKLM\SOFTWARE\Microsoft\Edge\NativeMessagingHosts\kz.qoltanba.native' \
        'HKLM\SOFTWARE\Mozilla\NativeMessagingHosts\kz.qoltanba.native' \
        "$policy_key" 'HKLM\SOFTWARE\Qoltanba'; do
        ! key_exists "$key" || die "$key is left after the uninstall"
    done
    for key in "${lna_keys[@]}"; do
        ! key_exists "HKLM\\$key" || die "HKLM\\$key is left after the uninstall"
    done
}

# A property the daemon cannot read is refused before anything is written.
step "(b) install with an https:// TSA_URL: must be refused"
status=0
msiexec /i "$winmsi" /qn /l* "Z:${work//\//\\}\\refused.log" TSA_URL=https://tsa.example/ "ALLOWED_ORIGINS=$origins" \
    || status=$?
# ERROR_INSTALL_FAILURE (1603) reaches a Unix shell as 1603 & 255 = 67.
(( status == 1603 % 256 )) || die "the install with an https TSA_URL ended with $status, expected 67 (1603, refused)"
# Wine's log does not carry the launch condition's message; it shows where the install stopped.
grep -q 'Action ended .*LaunchConditions' "$work/refused.log" \
    || die "the refused install did not stop at LaunchConditions"
! grep -q 'Action start .*InstallFiles' "$work/refused.log" \
    || die "the refused install went on to InstallFiles"
[[ ! -e $pf ]] || die "the refused install left Program Files\\Qoltanba"
! key_exists "$policy_key" || die "the refused install wrote $policy_key"

step "(b) install with ALLOWED_ORIGINS, POLICY_MODE, ALLOW_LOCAL_PROGRAMS, TSA_URL"
msiexec /i "$winmsi" /qn "ALLOWED_ORIGINS=$origins" POLICY_MODE=allowlist ALLOW_LOCAL_PROGRAMS=0 \
    TSA_URL=http://tsa.example/ \
    || die "msiexec /i with properties failed ($?); log: $log"
check_installed
check_policy
for key in 'HKLM\SOFTWARE\Google\Chrome\NativeMessagingHosts' 'HKLM\SOFTWARE\Qoltanba'; do
    ! timeout 60 "$wine_dir/wine64" reg query "$key" /reg:32 </dev/null >/dev/null 2>&1 \
        || die "$key is in the 32-bit registry view: the components must be 64-bit"
done

# The daemon's own reader, when EXE is the daemon (the stand-in used in development is not).
if grep -aq 'IT registry key' "$exe"; then
    step "(b) qoltanba.exe policy reads the installed policy"
    shim=$work/shim
    mkdir -p "$shim"
    # Wine 8 lacks bcryptprimitives.dll (Rust's randomness): the test shim of tests/it.
    command -v x86_64-w64-mingw32-gcc >/dev/null || die "x86_64-w64-mingw32-gcc is needed to run the daemon under Wine"
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim/bcryptprimitives.dll" "$repo/tests/it/wine_prng.c" -lbcrypt \
        || die "cannot build the bcryptprimitives.dll shim"
    out=$work/policy.out
    WINEPATH="Z:${shim//\//\\}" timeout 120 "$wine_dir/wine64" "$winpf\\qoltanba.exe" \
        --data-dir "Z:${work//\//\\}\\data" policy </dev/null >"$out" 2>>"$log" \
        || die "qoltanba.exe policy failed: $(tr -d '\r' <"$out" | tail -5)"
    tr -d '\r' <"$out" | grep -q "IT registry key.*(read)" || die "qoltanba policy did not read the key: $(cat "$out")"
    tr -d '\r' <"$out" | grep -qE '^mode +allowlist \(set by IT\)' || die "qoltanba policy does not show mode allowlist set by IT: $(cat "$out")"
    tr -d '\r' <"$out" | grep -qE '^allowed origins +https://a.example, https://b.example' \
        || die "qoltanba policy does not show the allowed origins: $(cat "$out")"
    tr -d '\r' <"$out" | grep -qE '^local programs +refused' \
        || die "qoltanba policy does not show local programs refused: $(cat "$out")"
    tr -d '\r' <"$out" | grep -qE '^time-stamps \(TSA\) +http://tsa.example/ \(set by IT\)' \
        || die "qoltanba policy does not show the TSA set by IT: $(cat "$out")"
else
    step "(b) SKIPPED qoltanba.exe policy: EXE is not the daemon (no 'IT registry key' in it)"
fi

# A reinstall without properties (the same version: a major upgrade) keeps the policy given
# before, and leaves one product registered.
step "(b) reinstall without properties keeps the IT policy"
msiexec /i "$winmsi" /qn || die "the reinstall failed ($?); log: $log"
check_installed
check_policy
products=$(timeout 60 "$wine_dir/wine64" reg query 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' /s </dev/null 2>/dev/null | tr -d '\r' | grep -c 'DisplayName    REG_SZ    Qoltanba$' || true)
(( products == 1 )) || die "$products products named Qoltanba are registered after the reinstall, expected 1"

step "(b) uninstall"
msiexec /x "$winmsi" /qn || die "msiexec /x failed ($?); log: $log"
check_removed

# (c) Without properties: no IT policy value at all; the uninstall still leaves nothing.
step "(c) install without properties"
msiexec /i "$winmsi" /qn || die "msiexec /i without properties failed ($?); log: $log"
check_installed
! key_exists "$policy_key" || die "an install without properties wrote $policy_key"
! key_exists 'HKLM\SOFTWARE\Qoltanba' || die "an install without properties remembered properties"
msiexec /x "$winmsi" /qn || die "msiexec /x failed ($?); log: $log"
check_removed

step "passed: $(basename "$msi") (${SECONDS} s)"
