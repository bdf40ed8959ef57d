#!/usr/bin/env bash
# boot-test.sh — the guest boot test (issue #4): the Debian 686 kernel and the
# busybox initramfs (tools/build-guest.sh) boot in plan86 by direct Linux boot,
# deterministically, to the busybox shell; a command typed on COM1 runs and
# prints its result; the guest powers off through ACPI and plan86 exits 0.
# Two runs must give byte-identical console output.
#
# Usage: boot-test.sh PLAN86_BINARY REPO_DIR
set -euo pipefail

plan86=$1
repo=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

eval "$("$repo/tools/build-guest.sh" --print-paths)"

# The $((...)) is for the guest shell to expand.
# shellcheck disable=SC2016
boot() {
    "$plan86" -m 256M --deterministic --timeout 120 \
        --kernel "$PLAN86_GUEST_KERNEL" --initrd "$PLAN86_GUEST_INITRD" \
        --append "console=ttyS0 plan86.test=serial cryptomgr.notests" \
        --send-after 'PLAN86-GUEST-OK=echo PLAN86-CHECK $((6 * 7))' \
        < /dev/null > "$1" 2> "$1.summary"
}

fail() {
    echo "boot-test: FAIL: $*" >&2
    for f in "$work"/run*.txt; do echo "--- $f (last lines)"; tail -20 "$f"; cat "$f.summary"; done >&2
    exit 1
}

for run in 1 2; do
    start=$(date +%s%N)
    boot "$work/run$run.txt" || fail "run $run: plan86 exited with status $?"
    echo "boot-test: run $run took $(( ($(date +%s%N) - start) / 1000000 )) ms wall: $(cat "$work/run$run.txt.summary")"
done

for want in 'PLAN86-GUEST-OK' 'PLAN86-CHECK 42' 'PLAN86-CMD-DONE rc=0' 'reboot: Power down'; do
    grep -q -- "$want" "$work/run1.txt" || fail "'$want' missing from the console"
done
grep -q 'powered the machine off' "$work/run1.txt.summary" || fail "the run did not end in an ACPI power-off"
cmp "$work/run1.txt" "$work/run2.txt" || fail "deterministic runs differ"
echo "boot-test: 2 runs identical ($(wc -c < "$work/run1.txt") bytes of console output); guest booted, ran the command and powered off"
