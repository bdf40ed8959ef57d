#!/usr/bin/env bash
# guest-fsjson-compat-test.sh — the guest side of the v86 compatibility test (issue #6,
# "What it must show" 3): the three fixtures of tests/fstools/make-v86-fixtures.sh
# (short names with .bin, with .bin.zst, and legacy full-hash names) are spliced,
# their fs.json entries untouched, into an fs.json of the busybox root tree (made by
# plan86-fs2json from tools/build-rootfs.sh's tree) as /fsjson-stat/short, /zst and
# /legacy, their blobs put beside the tree's; it is served over HTTP by
# tests/blobstore/blob_server.py, and the small kernel boots on it deterministically
# and runs fsjson-stat.sh, which prints type, permissions, uid, gid, mtime, size,
# symlink target and the SHA-256 of every file's bytes as the guest sees them. The
# host makes the same lines from each fixture's manifest (expected.txt) and its plain
# tree (expected/) and the two lists must be equal. (tests/fsjson/fsjson-compat-test.sh
# compares the bytes through plan86_read_file without a guest.)
#
# Usage: guest-fsjson-compat-test.sh PLAN86_BINARY REPO_DIR TOOLS_DIR
#   TOOLS_DIR holds plan86-fs2json and plan86-copy-to-sha256 (BUILD/tools).
set -euo pipefail

plan86=$1
fsjson_repo=$2
fsjson_tools=$3
fsjson_work=$(mktemp -d)
# shellcheck source=tests/fsjson/fsjson-lib.sh
source "$fsjson_repo/tests/fsjson/fsjson-lib.sh"
trap 'fsjson_stop_server; rm -rf "$fsjson_work"' EXIT
fixtures=(short zst legacy)
fixtures_dir="$fsjson_work/fixtures"
image="$fsjson_work/image"
out="$fsjson_work/out.txt"
tab=$'\t'

fail() {
    echo "guest-fsjson-compat-test: FAIL: $*" >&2
    tail -n 20 "$out" >&2 2> /dev/null || true
    exit 1
}

# Each fixture's folder, with its fs.json entries, under one new folder of the image.
splice_fixtures() {
    local args=() name blob
    for name in "${fixtures[@]}"; do
        args+=("$name" "$fixtures_dir/$name/fs.json")
        for blob in "$fixtures_dir/$name/blobs/"*; do
            if [[ -e "$image/blobs/${blob##*/}" ]]; then
                cmp -s "$blob" "$image/blobs/${blob##*/}" || fail "blob ${blob##*/} of $name clashes with another"
            else
                cp "$blob" "$image/blobs/" || fail "cannot copy $blob"
            fi
        done
    done
    python3 - "$image/fs.json" "${args[@]}" <<'EOF' || fail "splicing the fixtures into the image failed"
import json, sys
path = sys.argv[1]
image = json.load(open(path))
children = []
for name, fixture_path in zip(sys.argv[2::2], sys.argv[3::2]):
    fixture = json.load(open(fixture_path))
    if fixture.get("version") != 3:
        sys.exit(f"{fixture_path}: version {fixture.get('version')}, not 3")
    children.append([name, 0, 0, 0o40755, 0, 0, fixture["fsroot"]])
    image["size"] += fixture["size"]
image["fsroot"].append(["fsjson-stat", 0, 0, 0o40755, 0, 0, children])
json.dump(image, open(path, "w"), separators=(",", ":"))
EOF
}

# The line fsjson-stat.sh prints for fixture $1's manifest entry: path $2, type $3,
# mode $4, uid $5, gid $6, mtime $7 and size-or-target $8.
expected_line() {
    local fixture="$1" rel="${2#./}" type size=- content=- sum
    rel="${rel#/}"
    case "$3" in
        file | f | regular | reg)
            type=file size="$8"
            [[ -f "$fixtures_dir/$fixture/expected/$rel" ]] || fail "$fixture: no expected/$rel"
            [[ "$(stat -c %s "$fixtures_dir/$fixture/expected/$rel")" == "$8" ]] ||
                fail "$fixture: the manifest's size of $rel is not that of expected/$rel"
            sum="$(sha256sum < "$fixtures_dir/$fixture/expected/$rel")"
            content="${sum%% *}" ;;
        dir | d | directory) type=dir ;;
        symlink | l | link) type=symlink content="$8" ;;
        *) fail "$fixture: manifest type '$3' of $rel" ;;
    esac
    [[ "$4" =~ ^[0-7]+$ ]] || fail "$fixture: manifest mode '$4' of $rel"
    printf '%s\t%s\t%o\t%s\t%s\t%s\t%s\t%s\n' "$fixture/$rel" "$type" $(( 8#$4 & 8#7777 )) \
        "$5" "$6" "$7" "$size" "$content"
}

expected_lines() {
    local name path type mode uid gid mtime rest
    for name in "${fixtures[@]}"; do
        printf '%s\tdir\t755\t0\t0\t0\t-\t-\n' "$name"
        while IFS="$tab" read -r path type mode uid gid mtime rest; do
            [[ -n "${path#.}" && "${path#.}" != / ]] || continue
            expected_line "$name" "$path" "$type" "$mode" "$uid" "$gid" "$mtime" "$rest"
        done < "$fixtures_dir/$name/expected.txt"
    done
}

eval "$("$fsjson_repo/tools/build-kernel.sh" --print-paths)"
eval "$("$fsjson_repo/tools/build-rootfs.sh" --print-paths)"
"$fsjson_repo/tests/fstools/make-v86-fixtures.sh" "$fixtures_dir" > "$fsjson_work/fixtures.log" 2>&1 ||
    { cat "$fsjson_work/fixtures.log" >&2; fail "make-v86-fixtures.sh failed"; }
cp -a "$PLAN86_ROOTFS" "$fsjson_work/tree"
[[ -f "$fsjson_work/tree/tests/fsjson-stat.sh" ]] || fail "the root tree has no /tests/fsjson-stat.sh"
fsjson_make_image "$fsjson_work/tree" "$image" || fail "the image tools failed"
splice_fixtures
expected_lines > "$fsjson_work/expected.unsorted"
LC_ALL=C sort "$fsjson_work/expected.unsorted" > "$fsjson_work/expected.txt"
fsjson_start_server "$image" || fail "no blob server"

status=0
timeout 600 "$plan86" -m 256M --deterministic --timeout 600 --no-reboot \
    --fs-json "$fsjson_url/fs.json" --fs-base "$fsjson_url/blobs/" \
    --kernel "$PLAN86_KERNEL_9P" --append "$PLAN86_KERNEL_9P_APPEND panic=-1 plan86.test=fsjson-stat" \
    < /dev/null > "$out.raw" 2>&1 || status=$?
tr -d '\r' < "$out.raw" > "$out"   # the guest's console ends lines with CR LF
(( status == 0 )) || fail "plan86 exited with status $status"
grep -q 'PLAN86-TEST-DONE fsjson-stat rc=0' "$out" || fail "fsjson-stat.sh did not pass"
sed -n "s/^FSJSON-STAT$tab//p" "$out" | LC_ALL=C sort > "$fsjson_work/guest.txt"
diff -u "$fsjson_work/expected.txt" "$fsjson_work/guest.txt" >&2 ||
    fail "what the guest sees differs from the fixtures' manifests (- manifest, + guest)"
for name in "${fixtures[@]}"; do
    echo "guest-fsjson-compat-test: $name: $(grep -c "^$name/" "$fsjson_work/guest.txt") paths as the manifest says" \
         "($(grep -c "^$name/[^$tab]*${tab}file$tab" "$fsjson_work/guest.txt") files read by the guest)"
done
