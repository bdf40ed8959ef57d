#!/bin/sh
# escape.sh — tries, from inside the guest, to get out of the 9p root: `..` from
# the root, symlinks made by the host that point outside it (absolute and
# relative), symlinks the guest makes itself, and a race that swaps a directory
# and a symlink while another loop walks and creates through the same path.
# tests/guest/escape-test.sh sets the stage (see /escape/info, written by it) and
# judges the result on the host: nothing outside the root may have been read or
# written. This script only tries, and prints what it reached:
#   escape: TRY name -> output      (whatever the attempt read or said)
#   escape: DONE
# It exits 0 when it ran to the end; the verdict is the host's.

. /escape/info   # OUTSIDE_DIR, SECRET_FILE, RACE_ROUNDS (host paths, round count)

# try NAME COMMAND...: runs COMMAND, prints its output and errors on one line.
try() {
    name="$1"
    shift
    echo "escape: TRY $name -> $("$@" 2>&1 | tr '\n' ' ' | cut -c1-300)"
}

# Reads and writes through every symlink the host made before boot.
through_host_links() {
    for link in /escape/links/*; do
        base="${link##*/}"
        try "readlink-$base" readlink "$link"
        try "cat-$base" cat "$link"
        try "ls-$base" ls -la "$link/"
        try "cat-in-$base" cat "$link/secret" "$link/inside-secret"
        try "append-$base" sh -c "echo escaped >> '$link'"
        try "create-in-$base" sh -c "echo escaped > '$link/escaped-$base'"
        try "mkdir-in-$base" mkdir "$link/escaped-dir-$base"
    done
}

# `..` from the root stays at the root: walks, a cd loop and writes there.
dot_dot_from_root() {
    try ls-root-parent ls -la /..
    try ls-root-parent-parent ls -la /../..
    try cat-parent-secret cat "/../${SECRET_FILE##*/}" "/../../${SECRET_FILE##*/}"
    try cat-host-path "cat" "/..$SECRET_FILE" "$SECRET_FILE"
    try cd-up-and-write sh -c 'cd /; for i in 1 2 3 4 5 6 7 8; do cd ..; done;
        pwd; echo escaped > escape-up.txt; ls'
    try ls-outside-by-path ls -la "/..$OUTSIDE_DIR" "/../${OUTSIDE_DIR##*/}"
    try chroot-up sh -c 'mkdir -p /escape/jail && cd /escape/jail &&
        chroot /escape/jail /bin/true 2>/dev/null; cd ../../../..; pwd; ls'
}

# Symlinks the guest makes to outside paths, then writes and reads through.
guest_made_links() {
    mkdir -p /escape/made
    ln -sf "$SECRET_FILE" /escape/made/abs-secret
    ln -sf "../../../${SECRET_FILE##*/}" /escape/made/rel-secret
    ln -sf "$OUTSIDE_DIR" /escape/made/abs-dir
    ln -sf "../../../${OUTSIDE_DIR##*/}" /escape/made/rel-dir
    for link in /escape/made/*; do
        base="${link##*/}"
        try "made-cat-$base" cat "$link" "$link/inside-secret"
        try "made-write-$base" sh -c "echo escaped >> '$link'"
        try "made-create-in-$base" sh -c "echo escaped > '$link/made-$base'"
    done
}

# The guest swaps /escape/race/d between a directory and a symlink whose host
# target is the outside directory, while a second loop walks, reads and
# creates through /escape/race/d.
guest_swap_race() {
    race=/escape/race
    mkdir -p "$race/d"
    echo inside > "$race/d/inside.txt"
    ln -s "../../../${OUTSIDE_DIR##*/}" "$race/l"
    (
        while [ ! -e "$race/stop" ]; do
            mv "$race/d" "$race/x" && mv "$race/l" "$race/d"
            mv "$race/d" "$race/l" && mv "$race/x" "$race/d"
        done
    ) 2>/dev/null &
    swapper=$!
    walk_through "$race/d" guest-race
    : > "$race/stop"
    wait "$swapper"
}

# walk_through DIR NAME: RACE_ROUNDS rounds of reading, listing and creating
# through DIR; prints every distinct thing it read (but its own file names).
walk_through() {
    i=0
    while [ "$i" -lt "$RACE_ROUNDS" ]; do
        cat "$1/inside.txt" "$1/inside-secret" "$1/secret"
        ls "$1"
        echo escaped > "$1/race-$2-$i"
        mkdir "$1/race-dir-$2-$i"
        i=$((i + 1))
    done 2>/dev/null | grep -v '^race-' | sort -u |
        while read -r line; do echo "escape: TRY $2 -> $line"; done
}

through_host_links
dot_dot_from_root
guest_made_links
guest_swap_race
# /escape/hostrace/d is swapped by the host meanwhile (see escape-test.sh).
walk_through /escape/hostrace/d host-race
echo "escape: DONE"
