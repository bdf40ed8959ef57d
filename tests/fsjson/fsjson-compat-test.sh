#!/usr/bin/env bash
# fsjson-compat-test.sh — the v86 compatibility test without a guest (issue #6, "What it
# must show" 3): each fixture of tests/fstools/make-v86-fixtures.sh (short names with
# .bin, with .bin.zst, legacy full-hash names; each made as v86's tools lay images out)
# is loaded by plan86 (fsjson_compare: plan86_create with fs_json) and every file read
# back through plan86_read_file must equal the fixture's plain tree (expected/), per its
# manifest (expected.txt). Each fixture is loaded four ways: by path with a blob
# folder, by file:// URLs, over HTTP from tests/blobstore/blob_server.py, and over HTTP
# with no base (the blobs beside the fs.json, as --fs-base defaults to).
# (tests/fsjson/guest-fsjson-compat-test.sh checks modes, owners, times and symlinks
# from a guest.)
#
# Usage: fsjson-compat-test.sh REPO_DIR FSJSON_COMPARE_BINARY
set -euo pipefail

fsjson_repo=$1
compare=$2
fsjson_work=$(mktemp -d)
fsjson_tools=""   # this test makes no image of its own
# shellcheck source=tests/fsjson/fsjson-lib.sh
source "$fsjson_repo/tests/fsjson/fsjson-lib.sh"
trap 'fsjson_stop_server; rm -rf "$fsjson_work"' EXIT
fixtures_dir="$fsjson_work/fixtures"

fail() {
    echo "fsjson-compat-test: FAIL: $*" >&2
    exit 1
}

# Blob names of fixture $1 must all match the extended regular expression $2.
blob_names_are() {
    local names
    names="$(ls "$fixtures_dir/$1/blobs")"
    [[ -n "$names" ]] || fail "$1 has no blobs"
    ! grep -v -E -x "$2" <<< "$names" > /dev/null || fail "$1 has blobs not named like $2"
}

# fsjson_compare on fixture $1 with fs.json $2 and base $3.
compare_fixture() {
    "$compare" "$2" "$3" "$fixtures_dir/$1/expected" "$fixtures_dir/$1/expected.txt" ||
        fail "$1 loaded from $2 (base $3) differs from its expected tree"
}

"$fsjson_repo/tests/fstools/make-v86-fixtures.sh" "$fixtures_dir" > "$fsjson_work/fixtures.log" 2>&1 ||
    { cat "$fsjson_work/fixtures.log" >&2; fail "make-v86-fixtures.sh failed"; }
blob_names_are short '[0-9a-f]{8}\.bin'
blob_names_are zst '[0-9a-f]{8}\.bin\.zst'
blob_names_are legacy '[0-9a-f]{64}'

# The same images with the blobs beside the fs.json, for the default base.
for name in short zst legacy; do
    mkdir -p "$fsjson_work/flat/$name"
    cp "$fixtures_dir/$name/fs.json" "$fixtures_dir/$name/blobs/"* "$fsjson_work/flat/$name/"
done
fsjson_start_server "$fsjson_work" || fail "no blob server"
for name in short zst legacy; do
    compare_fixture "$name" "$fixtures_dir/$name/fs.json" "$fixtures_dir/$name/blobs"
    compare_fixture "$name" "file://$fixtures_dir/$name/fs.json" "file://$fixtures_dir/$name/blobs/"
    compare_fixture "$name" "$fsjson_url/fixtures/$name/fs.json" "$fsjson_url/fixtures/$name/blobs/"
    compare_fixture "$name" "$fsjson_url/flat/$name/fs.json" -
    for where in "fixtures/$name/blobs" "flat/$name"; do
        grep -q "^blob-server: GET /$where/[0-9a-f]" "$fsjson_server_log" ||
            fail "no blob of $name was fetched from /$where over HTTP"
    done
done
echo "fsjson-compat-test: the three fixtures read back the same by path, file://, HTTP and HTTP without a base"
