#!/bin/sh
# fs-basic.sh — a first check of the 9p root file system from inside the guest: create,
# write, read back, append, rename (also over an existing file), hard link, symlink,
# chmod, unlink, mkdir/rmdir, readdir and a file larger than one 9p message, all in a
# scratch directory on the root (/fs-basic.tmp), removed again at the end.
# Prints one `fs-basic: PASS name` or `fs-basic: FAIL name` line per check, then
#   fs-basic: DONE passed=N failed=M
# and exits with status 0 only when every check passed.

scratch="${FS_BASIC_DIR:-/fs-basic.tmp}"   # FS_BASIC_DIR: to try it elsewhere
passed=0
failed=0

# check NAME COMMAND...: runs COMMAND, counts and prints the result.
check() {
    name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "fs-basic: PASS $name"
    else
        failed=$((failed + 1))
        echo "fs-basic: FAIL $name"
    fi
}

content_is() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
is_absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
stat_is() { [ "$(stat -c "$1" "$2")" = "$3" ]; }

# A file of 168,894 bytes (many 9p messages), written and read back by checksum.
large_file_round_trip() {
    seq 1 30000 > "$scratch/large"
    [ "$(stat -c %s "$scratch/large")" = "$(seq 1 30000 | wc -c)" ] &&
        [ "$(md5sum < "$scratch/large")" = "$(seq 1 30000 | md5sum)" ]
}

listing_is() { [ "$(ls "$1" | tr '\n' ' ')" = "$2" ]; }

rm -rf "$scratch"
check mkdir mkdir "$scratch"
check mkdir-is-directory test -d "$scratch"
check create-empty sh -c ": > $scratch/file && test -f $scratch/file && test ! -s $scratch/file"
printf 'hello 9p\n' > "$scratch/file"
check write-read content_is "$scratch/file" 'hello 9p'
printf 'second line\n' >> "$scratch/file"
check append content_is "$scratch/file" 'hello 9p
second line'
check size stat_is %s "$scratch/file" 21
check rename mv "$scratch/file" "$scratch/renamed"
check rename-old-gone is_absent "$scratch/file"
check rename-new-content content_is "$scratch/renamed" 'hello 9p
second line'
printf 'other\n' > "$scratch/other"
check rename-over-existing mv "$scratch/other" "$scratch/renamed"
check rename-over-content content_is "$scratch/renamed" 'other'
check hardlink ln "$scratch/renamed" "$scratch/hard"
check hardlink-count stat_is %h "$scratch/renamed" 2
printf 'via link\n' > "$scratch/hard"
check hardlink-shares-data content_is "$scratch/renamed" 'via link'
check symlink ln -s renamed "$scratch/soft"
check readlink sh -c "[ \"\$(readlink $scratch/soft)\" = renamed ]"
check symlink-follow content_is "$scratch/soft" 'via link'
check chmod chmod 640 "$scratch/renamed"
check chmod-mode stat_is %a "$scratch/renamed" 640
check chmod-exec sh -c "chmod 755 $scratch/renamed && test -x $scratch/renamed"
check readdir listing_is "$scratch" 'hard renamed soft '
check unlink rm "$scratch/hard"
check unlink-gone is_absent "$scratch/hard"
check unlink-count stat_is %h "$scratch/renamed" 1
check unlink-symlink rm "$scratch/soft"
check dangling-symlink sh -c "ln -s missing $scratch/dangling && test -L $scratch/dangling && test ! -e $scratch/dangling"
check large-file large_file_round_trip
check subdir mkdir "$scratch/sub"
check rmdir rmdir "$scratch/sub"
check rmdir-gone is_absent "$scratch/sub"
check rmdir-non-empty-refused sh -c "! rmdir $scratch 2>/dev/null"
check cleanup rm -rf "$scratch"
check cleanup-gone is_absent "$scratch"
sync

echo "fs-basic: DONE passed=$passed failed=$failed"
[ "$failed" = 0 ]
