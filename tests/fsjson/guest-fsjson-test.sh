#!/usr/bin/env bash
# guest-fsjson-test.sh — the fs.json guest test (issue #6, "What it must show" 1): an
# image of a copy of the busybox root tree (tools/build-rootfs.sh, plus the fs-full
# helper as tests/guest/fs-full-test.sh adds it) is made with plan86-fs2json --zstd and
# plan86-copy-to-sha256 --zstd, served over HTTP by tests/blobstore/blob_server.py on
# 127.0.0.1, and the small kernel (tools/build-kernel.sh) boots deterministically with
# root=host9p on it (fs_mem_guest --fs-json URL --fs-base URL) and runs fs-full.sh:
# what it writes becomes in-memory copies. Every check of fs-full.sh must pass but one
# the format cannot carry: v86's fs.json keeps whole-second mtimes, so utimes-ns-read
# (the nanoseconds of a host file's mtime) may only fail by showing the right second
# with .000000000. Then, from the host through plan86_read_file: fs-full's results,
# files the guest read and did not read (fetched by read_file) against the tree's own
# bytes, and a file put in with plan86_create_file before the boot.
#
# Usage: guest-fsjson-test.sh REPO_DIR TOOLS_DIR FS_MEM_GUEST_BINARY
#   TOOLS_DIR holds plan86-fs2json and plan86-copy-to-sha256 (BUILD/tools).
set -euo pipefail

fsjson_repo=$1
fsjson_tools=$2
fs_mem_guest=$3
fsjson_work=$(mktemp -d)
# shellcheck source=tests/fsjson/fsjson-lib.sh
source "$fsjson_repo/tests/fsjson/fsjson-lib.sh"
trap 'fsjson_stop_server; rm -rf "$fsjson_work"' EXIT
out="$fsjson_work/out.txt"

fail() {
    echo "guest-fsjson-test: FAIL: $*" >&2
    grep -e "^fs-full: [^P]" -e "^fs-full-helper" -e "^fs_mem_guest" -e "^plan86" "$out" >&2 || true
    tail -10 "$out" >&2 || true
    exit 1
}

eval "$("$fsjson_repo/tools/build-kernel.sh" --print-paths)"
eval "$("$fsjson_repo/tools/build-rootfs.sh" --print-paths)"
tree="$fsjson_work/tree"
cp -a "$PLAN86_ROOTFS" "$tree"
mkdir -p "$tree/fs-full.bin"
gcc -m32 -static -O2 -o "$tree/fs-full.bin/helper" "$fsjson_repo/tests/guest/fs_full_helper.c"
touch -d '2021-03-04 05:06:07.123456789 UTC' "$tree/fs-full.bin/nstime-host"

fsjson_make_image "$tree" "$fsjson_work/image" --zstd || fail "the image tools failed"
busybox_blob="$(fsjson_blob_of "$fsjson_work/image/fs.json" /bin/busybox)" ||
    fail "fs.json has no regular file /bin/busybox"
[[ "$busybox_blob" =~ ^[0-9a-f]{8}\.bin\.zst$ ]] || fail "busybox's blob is $busybox_blob, not NNNNNNNN.bin.zst"
[[ "$(zstd -dc "$fsjson_work/image/blobs/$busybox_blob" | sha256sum)" == "${busybox_blob:0:8}"* ]] ||
    fail "blobs/$busybox_blob is not busybox's zstd-compressed content"
fsjson_start_server "$fsjson_work/image" || fail "no blob server"

# Read back after the run: files the guest ran, and one nothing read before.
saved=(bin/busybox fs-full.bin/helper init tests/bench-read.sh)
save_args=()
mkdir "$fsjson_work/saved"
for path in "${saved[@]}"; do
    save_args+=(--save "/$path" "$fsjson_work/saved/${path//\//_}")
done
status=0
"$fs_mem_guest" --test-may-fail \
    --fs-json "$fsjson_url/fs.json" --fs-base "$fsjson_url/blobs/" "${save_args[@]}" \
    --create /fsjson-host/created.txt "put there by plan86_create_file before the boot" \
    "$PLAN86_KERNEL_9P" "$PLAN86_KERNEL_9P_APPEND plan86.test=fs-full" \
    > "$out.raw" 2>&1 || status=$?
tr -d '\r' < "$out.raw" > "$out"   # the guest's console ends lines with CR LF
(( status == 0 )) || fail "the fs.json run failed (status $status)"
for path in "${saved[@]}"; do
    cmp "$tree/$path" "$fsjson_work/saved/${path//\//_}" || fail "plan86_read_file /$path differs from the tree"
done

# Every check of fs-full.sh ran; the only one allowed to fail is utimes-ns-read, and
# only with the whole second the fs.json holds.
checks_in_script=$(grep -c '^check ' "$fsjson_repo/tools/rootfs/tests/fs-full.sh")
read -r passed failed <<< "$(sed -n 's/^fs-full: DONE passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$out")"
[[ -n "$passed" ]] || fail "fs-full printed no DONE line"
(( passed + failed == checks_in_script )) ||
    fail "fs-full ran $((passed + failed)) checks; the script has $checks_in_script"
failures="$(grep '^fs-full: FAIL' "$out" || true)"
if [[ -n "$failures" ]]; then
    [[ "$failures" == 'fs-full: FAIL utimes-ns-read' ]] || fail "fs-full failed: ${failures//$'\n'/, }"
    grep -qxF "fs-full: stat -c %y /fs-full.bin/nstime-host is '2021-03-04 05:06:07.000000000 +0000', not '2021-03-04 05:06:07.123456789 +0000'" \
        "$out" || fail "utimes-ns-read failed with another mtime than 05:06:07 whole"
    grep -q 'PLAN86-TEST-DONE fs-full rc=1' "$out" || fail "fs-full did not end with rc=1"
    echo "guest-fsjson-test: utimes-ns-read: the whole second arrived (fs.json has no nanoseconds)"
else
    grep -q 'PLAN86-TEST-DONE fs-full rc=0' "$out" || fail "fs-full did not end with rc=0"
fi
echo "guest-fsjson-test: json: $passed guest checks passed"
grep '^fs_mem_guest:' "$out"
echo "guest-fsjson-test: plan86_read_file gave the tree's bytes of ${saved[*]}"
