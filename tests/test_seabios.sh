#!/usr/bin/env bash
# test_seabios.sh — firmware boot through SeaBIOS (issue #4): Debian's
# /usr/share/seabios/bios.bin (package seabios) POSTs on plan86's board (PAM
# shadow RAM, fw_cfg, PCI, RTC) and
#  1. with nothing to boot, says "No bootable device" on COM1 (its serial
#     console) and writes its debug log to port 0x402; two deterministic runs
#     give identical output;
#  2. with --kernel/--initrd/--append, boots the same guest as the direct
#     boot test through fw_cfg and plan86's option ROM to the busybox shell,
#     runs the same command with the same result and powers off by ACPI
#     (SeaBIOS's own tables).
# Skipped (77) when the seabios package is not installed.
#
# Usage: test_seabios.sh PLAN86_BINARY REPO_DIR
set -euo pipefail

plan86=$1
repo=$2
bios=${PLAN86_SEABIOS:-/usr/share/seabios/bios.bin}
[ -r "$bios" ] || { echo "test_seabios: SKIP: $bios missing (apt-get install seabios)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "test_seabios: FAIL: $*" >&2
    for f in "$work"/*.txt; do echo "--- $f (last lines)"; tail -15 "$f"; done >&2
    exit 1
}

need() {   # need FILE TEXT...: each TEXT appears in FILE
    local file=$1; shift
    for want in "$@"; do
        grep -qF -- "$want" "$file" || fail "'$want' missing from $(basename "$file")"
    done
}

post() {   # post RUN: SeaBIOS with no boot device, 3 s of guest time
    "$plan86" --bios "$bios" --deterministic --timeout 3 --no-reboot \
        --port-log "0x402=$work/debug$1.txt" < /dev/null > "$work/post$1.txt" 2> "$work/post$1.summary.txt" &&
        fail "POST run $1 ended with status 0; expected the timeout"
    true
}

for run in 1 2; do post "$run"; done
need "$work/post1.txt" 'SeaBIOS (version' 'Booting from Hard Disk...' 'No bootable device.'
need "$work/debug1.txt" 'Found QEMU fw_cfg' 'qemu/e820: addr 0x0000000000000000' \
    'PCI: init bdf=00:00.0 id=8086:1237' 'e820 map has' 'No bootable device.'
grep -q 'timeout reached' "$work/post1.summary.txt" || fail "POST run did not end at the timeout"
cmp "$work/post1.txt" "$work/post2.txt" || fail "deterministic POST runs differ on COM1"
cmp "$work/debug1.txt" "$work/debug2.txt" || fail "deterministic POST runs differ on port 0x402"
echo "test_seabios: POST reaches 'No bootable device' ($(wc -c < "$work/debug1.txt") bytes of debug log), twice identical"

eval "$("$repo/tools/build-guest.sh" --print-paths)"
start=$(date +%s%N)
"$plan86" -m 256M --deterministic --timeout 120 --bios "$bios" \
    --kernel "$PLAN86_GUEST_KERNEL" --initrd "$PLAN86_GUEST_INITRD" \
    --append "console=ttyS0 plan86.test=serial cryptomgr.notests" \
    --send-after 'PLAN86-GUEST-OK=echo PLAN86-CHECK $((6 * 7))' \
    --port-log "0x402=$work/kdebug.txt" \
    < /dev/null > "$work/kernel.txt" 2> "$work/kernel.summary.txt" || fail "firmware boot: plan86 exited with status $?"
echo "test_seabios: firmware boot took $(( ($(date +%s%N) - start) / 1000000 )) ms wall: $(cat "$work/kernel.summary.txt")"
need "$work/kdebug.txt" 'Running option rom at' 'Searching bootorder for: /rom@genroms/plan86-linuxboot.bin' \
    'Booting from ROM...'
need "$work/kernel.txt" 'SeaBIOS (version' 'Booting from ROM...' 'BIOS-provided physical RAM map' \
    'PLAN86-GUEST-OK' 'PLAN86-CHECK 42' 'PLAN86-CMD-DONE rc=0' 'reboot: Power down'
grep -q 'powered the machine off' "$work/kernel.summary.txt" || fail "the firmware boot did not end in an ACPI power-off"
echo "test_seabios: the guest booted through SeaBIOS, ran the command (PLAN86-CHECK 42) and powered off"
