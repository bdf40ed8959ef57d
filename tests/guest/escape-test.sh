#!/usr/bin/env bash
# escape-test.sh — the 9p escape test (issue #5, item 3). A temporary directory
# holds root/ (a copy of the busybox root tree, served by --fs-dir), a sibling
# file `secret` and a sibling directory `outside/`, both holding a random token.
# Inside root/ the host makes symlinks that point outside (absolute and
# relative) before boot; the small kernel then boots with root=host9p and runs
# tools/rootfs/tests/escape.sh, which tries `..`, those links, links of its own
# and a directory/symlink swap race, while this script swaps root/escape/hostrace/d
# between a directory and a symlink to outside/ from the host.
# Passes only when the run finished, the token never appears on the console
# (nothing outside was read) and nothing outside root/ changed (the secret's
# content and mtime, outside/'s listing, the temporary directory's listing).
#
# Usage: escape-test.sh PLAN86_BINARY REPO_DIR
set -euo pipefail

plan86=$1
repo=$2
work=$(mktemp -d)      # the files around the root: what must stay untouched
logs=$(mktemp -d)      # console output and the host race's stop flag
trap 'rm -f "$logs/racing"; wait; rm -rf "$work" "$logs"' EXIT

eval "$("$repo/tools/build-kernel.sh" --print-paths)"
eval "$("$repo/tools/build-rootfs.sh" --print-paths)"

fail() {
    echo "escape-test: FAIL: $*" >&2
    grep -i 'escape:' "$logs/out.txt" | tail -40 >&2 || tail -30 "$logs/out.txt" >&2 || true
    exit 1
}

token="plan86-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
root="$work/root"
cp -a "$PLAN86_ROOTFS" "$root"
cp "$repo/tools/rootfs/tests/escape.sh" "$root/tests/escape.sh"
echo "$token" > "$work/secret"
mkdir "$work/outside"
echo "$token" > "$work/outside/inside-secret"
echo "$token" > "$work/outside/secret"
touch -d '2001-02-03 04:05:06' "$work/secret" "$work/outside"/* "$work/outside" "$work"

mkdir -p "$root/escape/links" "$root/escape/hostrace/d"
ln -s "$work/secret" "$root/escape/links/abs-secret"
ln -s ../../../secret "$root/escape/links/rel-secret"
ln -s "$work/outside" "$root/escape/links/abs-dir"
ln -s ../../../outside "$root/escape/links/rel-dir"
ln -s /etc/.. "$root/escape/links/etc-up"
ln -s ../../../../../../../.. "$root/escape/links/far-up"
echo inside > "$root/escape/hostrace/d/inside.txt"
cat > "$root/escape/info" <<EOF
OUTSIDE_DIR='$work/outside'
SECRET_FILE='$work/secret'
RACE_ROUNDS=100
EOF

# What must not change: every path outside root/ with its size and mtime.
outside_state() {
    find "$work" -path "$root" -prune -o -printf '%p %y %s %T@\n' | sort
    cat "$work/secret"
}
before=$(outside_state)

# The host's race: root/escape/hostrace/d is a directory, then (by renames) a
# symlink to outside/, then the directory again, until the guest is done.
host_swap_race() {
    local race="$root/escape/hostrace"
    while [[ -e "$logs/racing" ]]; do
        mv -T "$race/d" "$race/dir"
        ln -s "$work/outside" "$race/tmp" && mv -T "$race/tmp" "$race/d"
        mv -T "$race/d" "$race/tmp" && mv -T "$race/dir" "$race/d" && rm "$race/tmp"
    done
}
touch "$logs/racing"
host_swap_race 2>/dev/null &

"$plan86" -m 256M --deterministic --timeout 300 --fs-dir "$root" \
    --kernel "$PLAN86_KERNEL_9P" --append "$PLAN86_KERNEL_9P_APPEND plan86.test=escape" \
    < /dev/null > "$logs/out.txt" 2>&1 || fail "plan86 exited with status $?"
rm -f "$logs/racing"
wait

grep -q 'PLAN86-TEST-DONE escape rc=0' "$logs/out.txt" || fail "escape.sh did not run to the end"
grep -q '^escape: DONE' "$logs/out.txt" || fail "escape.sh did not reach DONE"
! grep -q "$token" "$logs/out.txt" || fail "the guest read a file outside its root"
after=$(outside_state)
[[ "$before" == "$after" ]] ||
    fail "something outside the root changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
[[ -d "$root/escape/hostrace/d" && ! -L "$root/escape/hostrace/d" ]] || fail "the host race left no directory"
grep '^escape: TRY' "$logs/out.txt"
echo "escape-test: $(grep -c '^escape: TRY' "$logs/out.txt") attempts; nothing outside the root was read or written"
