#!/bin/sh
# fs-full.sh — the full check of the 9p root file system from inside the guest (issue #5,
# "What it must show" 1 and 2): create, write, read back, append, truncate, rename over
# an existing file, unlink while open then read, mkdir/rmdir, readdir of 5,000 entries,
# symlink/readlink, hard link, chmod/chown, utimes with nanoseconds, statfs, fcntl locks,
# a sparse file with data beyond 4 GiB and `ls -lR` of the whole tree.
# It needs /fs-full.bin/helper (tests/guest/fs_full_helper.c: fcntl locks and
# nanosecond times, which busybox lacks) and /fs-full.bin/nstime-host (mtime
# 2021-03-04 05:06:07.123456789 UTC), put there by tests/guest/fs-full-test.sh.
# It leaves its results in /fs-full.out/ for the host to check after power-off:
#   text (two lines), truncated ("0123"), renamed ("new"), hard + hard2 (one inode),
#   soft -> text, mode640 (0640, owner 1234:5678), nstime (mtime 1614834367 set with
#   nanoseconds through utimensat),
#   many/ (5,000 empty files e0..e4999), sparse (size 4294967404, "beyond4g" at
#   4294967396), statfs.txt ("BLOCKS BSIZE" of the root), ls-lR.txt.
# Prints one `fs-full: PASS name` or `fs-full: FAIL name` line per check, then
#   fs-full: DONE passed=N failed=M
# and exits with status 0 only when every check passed.

out="${FS_FULL_DIR:-/fs-full.out}"   # FS_FULL_DIR: to try it elsewhere
helper=/fs-full.bin/helper
sparse_offset=4294967396              # 4 GiB + 100
passed=0
failed=0

# check NAME COMMAND...: runs COMMAND, counts and prints the result.
check() {
    name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "fs-full: PASS $name"
    else
        failed=$((failed + 1))
        echo "fs-full: FAIL $name"
    fi
}

content_is() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
is_absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# stat_is FORMAT FILE VALUE: says what it found instead when it differs.
stat_is() {
    found="$(stat -c "$1" "$2")"
    [ "$found" = "$3" ] || { echo "fs-full: stat -c $1 $2 is '$found', not '$3'"; return 1; }
}

# Opens a file on descriptor 3, unlinks it, then reads it through the descriptor.
unlink_while_open() {
    printf 'still here\n' > "$out/doomed"
    exec 3< "$out/doomed"
    rm "$out/doomed" && is_absent "$out/doomed" && [ "$(cat <&3)" = 'still here' ]
    status=$?
    exec 3<&-
    return $status
}

make_many() {
    mkdir "$out/many" || return 1
    i=0
    while [ $i -lt 5000 ]; do
        : > "$out/many/e$i" || return 1
        i=$((i + 1))
    done
}

# ls on purpose: these are the guest's readdir checks.
# shellcheck disable=SC2010,SC2012
many_listed() {
    [ "$(ls "$out/many" | wc -l)" = 5000 ] &&
        [ "$(ls -a "$out/many" | grep -c '^e[0-9]*$')" = 5000 ] &&
        [ "$(ls "$out/many" | sort -u | wc -l)" = 5000 ]
}

sparse_write() {
    printf 'beyond4g' | dd of="$out/sparse" bs=8 seek=$sparse_offset oflag=seek_bytes \
        conv=notrunc 2>/dev/null
}
bytes_at() { dd if="$1" bs="$3" count=1 skip="$2" iflag=skip_bytes 2>/dev/null; }
sparse_reads_back() { [ "$(bytes_at "$out/sparse" $sparse_offset 8)" = beyond4g ]; }
sparse_hole_is_zero() {
    [ "$(bytes_at "$out/sparse" 4294967200 64 | wc -c)" = 64 ] &&
        [ "$(bytes_at "$out/sparse" 4294967200 64 | tr -d '\000' | wc -c)" = 0 ]
}

statfs_sane() {
    # shellcheck disable=SC2046  # split into the four numbers on purpose
    set -- $(stat -f -c '%b %S %a %c' /)
    [ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -le "$1" ] && echo "$1 $2" > "$out/statfs.txt"
}

# `ls -lR` of the whole 9p tree (not the kernel's /proc, /sys, /dev mounted on it).
# shellcheck disable=SC2010,SC2046  # the top-level names have no blanks
list_whole_tree() {
    ls -lR $(ls -d /* | grep -v -e '^/proc$' -e '^/sys$' -e '^/dev$') > /tmp/ls-lR.txt &&
        mv /tmp/ls-lR.txt "$out/ls-lR.txt" &&
        grep -q ' e4999$' "$out/ls-lR.txt" && grep -q ' soft -> text$' "$out/ls-lR.txt"
}

rm -rf "$out"
check mkdir mkdir "$out"
check create sh -c ": > $out/text && test -f $out/text && test ! -s $out/text"
printf 'first line\n' > "$out/text"
check write-read content_is "$out/text" 'first line'
printf 'second line\n' >> "$out/text"
check append content_is "$out/text" 'first line
second line'
printf '0123456789' > "$out/truncated"
check truncate-shrink truncate -s 4 "$out/truncated"
check truncate-content content_is "$out/truncated" '0123'
check truncate-grow sh -c "truncate -s 4096 $out/grown && test \$(stat -c %s $out/grown) = 4096"
check truncate-zeros sh -c "[ \$(tr -d '\\000' < $out/grown | wc -c) = 0 ]"
rm -f "$out/grown"
printf 'old\n' > "$out/renamed"
printf 'new\n' > "$out/incoming"
check rename-over-existing mv "$out/incoming" "$out/renamed"
check rename-content content_is "$out/renamed" 'new'
check rename-source-gone is_absent "$out/incoming"
check unlink-while-open unlink_while_open
check mkdir-sub mkdir "$out/sub"
check rmdir rmdir "$out/sub"
check rmdir-gone is_absent "$out/sub"
check rmdir-non-empty-refused sh -c "! rmdir $out 2>/dev/null"
check readdir-create-5000 make_many
check readdir-5000 many_listed
check symlink ln -s text "$out/soft"
check readlink sh -c "[ \"\$(readlink $out/soft)\" = text ]"
check symlink-follow content_is "$out/soft" 'first line
second line'
printf 'linked\n' > "$out/hard"
check hardlink ln "$out/hard" "$out/hard2"
check hardlink-count stat_is %h "$out/hard" 2
check hardlink-same-inode sh -c "[ \$(stat -c %i $out/hard) = \$(stat -c %i $out/hard2) ]"
printf 'mode\n' > "$out/mode640"
check chmod chmod 640 "$out/mode640"
check chmod-mode stat_is %a "$out/mode640" 640
check chown chown 1234:5678 "$out/mode640"
check chown-owner stat_is '%u:%g' "$out/mode640" 1234:5678
printf 'time\n' > "$out/nstime"
check utimes-ns "$helper" utimens "$out/nstime" 1614834367 123456789
check utimes-ns-mtime stat_is %Y "$out/nstime" 1614834367
# Linux 6.1's 9p client leaves the super block's time granularity at one second, so the
# guest kernel itself cuts the nanoseconds off before Tsetattr; the nanoseconds a host
# file has (fs-full-test.sh sets /fs-full.bin/nstime-host) must still reach the guest.
check utimes-ns-read stat_is %y /fs-full.bin/nstime-host '2021-03-04 05:06:07.123456789 +0000'
check statfs statfs_sane
check fcntl-locks "$helper" lock "$out/lockfile"
check sparse-write sparse_write
check sparse-size stat_is %s "$out/sparse" 4294967404
check sparse-read-back sparse_reads_back
check sparse-hole-zero sparse_hole_is_zero
check ls-lR list_whole_tree
sync

echo "fs-full: DONE passed=$passed failed=$failed"
[ "$failed" = 0 ]
