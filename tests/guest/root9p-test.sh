#!/usr/bin/env bash
# root9p-test.sh — the 9p guest test (issue #5, first part): the small kernel
# built from linux-source-6.1 (tools/build-kernel.sh, cached) boots with
# root=host9p on a copy of the busybox root tree (tools/build-rootfs.sh)
# served by --fs-dir, and
#   1. runs the fs-basic script on its root (33 checks, PASS lines);
#   2. writes a file through the guest that the host then reads back;
#   3. the Debian 686 kernel with its initramfs mounts host9p (plan86.mount9p).
#
# Usage: root9p-test.sh PLAN86_BINARY REPO_DIR
set -euo pipefail

plan86=$1
repo=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

eval "$("$repo/tools/build-kernel.sh" --print-paths)"
eval "$("$repo/tools/build-rootfs.sh" --print-paths)"
eval "$("$repo/tools/build-guest.sh" --print-paths)"
cp -a "$PLAN86_ROOTFS" "$work/root"

fail() {
    echo "root9p-test: FAIL: $*" >&2
    tail -30 "$work/out.txt" >&2 || true
    exit 1
}

run() {
    "$plan86" -m 256M --deterministic --timeout 120 --fs-dir "$work/root" "$@" \
        < /dev/null > "$work/out.txt" 2>&1 || fail "plan86 exited with status $? ($*)"
}

run --kernel "$PLAN86_KERNEL_9P" --append "$PLAN86_KERNEL_9P_APPEND plan86.test=fs-basic"
grep -q 'PLAN86-TEST-DONE fs-basic rc=0' "$work/out.txt" || fail "fs-basic did not pass"
! grep -q '^fs-basic: FAIL' "$work/out.txt" || fail "fs-basic printed FAIL lines"
echo "root9p-test: fs-basic on root=host9p: $(grep -c '^fs-basic: PASS' "$work/out.txt") checks passed"

# The $((...)) is for the guest shell to expand.
# shellcheck disable=SC2016
run --kernel "$PLAN86_KERNEL_9P" --append "$PLAN86_KERNEL_9P_APPEND plan86.test=serial" \
    --send-after 'PLAN86-ROOT9P-OK=echo plan86-9p-$((6 * 7)) > /host-check.txt'
grep -q 'PLAN86-CMD-DONE rc=0' "$work/out.txt" || fail "the guest's write command failed"
[[ "$(cat "$work/root/host-check.txt")" == plan86-9p-42 ]] || fail "the host does not see what the guest wrote"
echo "root9p-test: the host reads what the guest wrote"

run --kernel "$PLAN86_GUEST_KERNEL" --initrd "$PLAN86_GUEST_INITRD" \
    --append "console=ttyS0 plan86.mount9p cryptomgr.notests" --expect 'PLAN86-9P-OK'
echo "root9p-test: the Debian kernel mounts host9p from its initramfs"
