#!/usr/bin/env bash
# fs-full-test.sh — the full guest file-system test (issue #5, "What it must show" 1):
# the small kernel (tools/build-kernel.sh) boots with root=host9p on a copy of the
# busybox root tree (tools/build-rootfs.sh) served by the hostdir back end (--fs-dir),
# runs tools/rootfs/tests/fs-full.sh (with /fs-full.bin/helper built here from
# fs_full_helper.c), and after power-off the host checks everything the guest left in
# /fs-full.out/: contents, truncation, rename, link counts and inodes, the symlink
# target, modes, the owner (when running as root), mtimes, 5,000 entries,
# the sparse file beyond 4 GiB (size, bytes, holes), statfs, and the ls -lR listing.
#
# Then the same script runs on the mem back end (the tree imported with
# --fs-import), checked from the host through plan86_read_file (fs_mem_guest.c).
#
# Usage: fs-full-test.sh PLAN86_BINARY REPO_DIR FS_MEM_GUEST_BINARY
set -euo pipefail

plan86=$1
repo=$2
fs_mem_guest=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

eval "$("$repo/tools/build-kernel.sh" --print-paths)"
eval "$("$repo/tools/build-rootfs.sh" --print-paths)"
root="$work/root"
cp -a "$PLAN86_ROOTFS" "$root"
mkdir -p "$root/fs-full.bin"
gcc -m32 -static -O2 -o "$root/fs-full.bin/helper" "$repo/tests/guest/fs_full_helper.c"
touch -d '2021-03-04 05:06:07.123456789 UTC' "$root/fs-full.bin/nstime-host"
cp -a "$root" "$work/pristine"

fail() {
    echo "fs-full-test: FAIL: $*" >&2
    grep -e "^fs-full: [^P]" -e "^fs-full-helper" "$work/out.txt" >&2 || true
    tail -10 "$work/out.txt" >&2 || true
    exit 1
}

"$plan86" -m 256M --deterministic --timeout 1200 --fs-dir "$root" \
    --kernel "$PLAN86_KERNEL_9P" --append "$PLAN86_KERNEL_9P_APPEND plan86.test=fs-full" \
    < /dev/null > "$work/out.txt" 2>&1 || fail "plan86 exited with status $?"
grep -q 'PLAN86-TEST-DONE fs-full rc=0' "$work/out.txt" || fail "fs-full did not pass"
! grep -q '^fs-full: FAIL' "$work/out.txt" || fail "fs-full printed FAIL lines"
echo "fs-full-test: hostdir: $(grep -c '^fs-full: PASS' "$work/out.txt") guest checks passed"

out="$root/fs-full.out"
host_checks=0
# expect NAME COMMAND...: a host-side check; the first that fails ends the test.
expect() {
    local name=$1
    shift
    "$@" || fail "host check $name"
    host_checks=$((host_checks + 1))
}
content_is() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }
stat_is() { [[ "$(stat -c "$1" "$2")" == "$3" ]]; }
bytes_at() { dd if="$1" bs="$3" count=1 skip="$2" iflag=skip_bytes status=none; }

expect text content_is "$out/text" $'first line\nsecond line'
expect truncated content_is "$out/truncated" 0123
expect truncated-size stat_is %s "$out/truncated" 4
expect renamed content_is "$out/renamed" new
expect rename-source-gone test ! -e "$out/incoming"
expect unlinked-gone test ! -e "$out/doomed"
expect rmdir-gone test ! -e "$out/sub"
expect hardlink-count stat_is %h "$out/hard" 2
expect hardlink-inode test "$out/hard" -ef "$out/hard2"
expect hardlink-content content_is "$out/hard2" linked
expect symlink-target test "$(readlink "$out/soft")" = text
expect symlink-is-link test -L "$out/soft"
expect mode stat_is %a "$out/mode640" 640
if [[ $(id -u) == 0 ]]; then
    expect owner stat_is %u:%g "$out/mode640" 1234:5678
fi
# The guest kernel (Linux 6.1 9p, one-second granularity) sends whole seconds.
expect utimes-mtime stat_is %Y "$out/nstime" 1614834367
expect entries-5000 test "$(find "$out/many" -mindepth 1 -name 'e*' -type f | wc -l)" = 5000
expect entries-names test -e "$out/many/e0" -a -e "$out/many/e4999" -a ! -e "$out/many/e5000"
expect sparse-size stat_is %s "$out/sparse" 4294967404
expect sparse-bytes test "$(bytes_at "$out/sparse" 4294967396 8)" = beyond4g
expect sparse-is-sparse test "$(stat -c %b "$out/sparse")" -lt 1024
expect sparse-hole test "$(bytes_at "$out/sparse" 4294967200 64 | tr -d '\0' | wc -c)" = 0
read -r guest_blocks guest_bsize < "$out/statfs.txt"
expect statfs-size test $((guest_blocks * guest_bsize)) = \
    $(( $(stat -f -c %b "$root") * $(stat -f -c %S "$root") ))
expect ls-lR-many test "$(grep -c ' e[0-9]*$' "$out/ls-lR.txt")" -ge 5000
expect ls-lR-symlink grep -q ' soft -> text$' "$out/ls-lR.txt"
expect ls-lR-busybox grep -q 'busybox$' "$out/ls-lR.txt"
echo "fs-full-test: hostdir: $host_checks host-side checks passed"

# The mem back end: a fresh copy of the prepared tree (before the hostdir run).
"$fs_mem_guest" "$PLAN86_KERNEL_9P" "$work/pristine" "$PLAN86_KERNEL_9P_APPEND plan86.test=fs-full" \
    > "$work/out.txt" 2>&1 || fail "the mem back-end run failed"
! grep -q '^fs-full: FAIL' "$work/out.txt" || fail "fs-full printed FAIL lines on the mem back end"
echo "fs-full-test: mem: $(grep -c '^fs-full: PASS' "$work/out.txt") guest checks passed"
grep '^fs_mem_guest:' "$work/out.txt"
