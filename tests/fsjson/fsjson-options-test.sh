#!/usr/bin/env bash
# fsjson-options-test.sh — the fs.json options that no guest test needs (issue #6):
# --fs-prefetch fetches exactly the listed files at start (deterministic runs fetch
# on the guest thread, so they are all fetched before the guest starts) and warns
# once about listed paths that are not files of the image; --fs-cache-dir keeps the
# checked blobs, so a second run over the same folder fetches nothing from the
# server; a damaged copy in that folder is fetched again. The image is the
# "short" fixture of tests/fstools/make-v86-fixtures.sh over HTTP; the machine runs
# the built-in demo, which needs no guest kernel.
#
# Usage: fsjson-options-test.sh PLAN86_BINARY REPO_DIR
set -euo pipefail

plan86=$1
fsjson_repo=$2
fsjson_work=$(mktemp -d)
fsjson_tools=""
# shellcheck source=tests/fsjson/fsjson-lib.sh
source "$fsjson_repo/tests/fsjson/fsjson-lib.sh"
trap 'fsjson_stop_server; rm -rf "$fsjson_work"' EXIT

fail() {
    echo "fsjson-options-test: FAIL: $*" >&2
    exit 1
}

"$fsjson_repo/tests/fstools/make-v86-fixtures.sh" "$fsjson_work/fx" > /dev/null 2>&1 ||
    fail "make-v86-fixtures.sh failed"
image="$fsjson_work/fx/short"
fsjson_start_server "$fsjson_work/fx" || fail "no blob server"
motd=$(fsjson_blob_of "$image/fs.json" /etc/motd)
big=$(fsjson_blob_of "$image/fs.json" /data/big.bin)
notes=$(fsjson_blob_of "$image/fs.json" /home/user/notes.txt)

# run_demo LOG [OPTION]...: the demo with the image over HTTP; stderr into LOG.
run_demo() {
    local log=$1
    shift
    "$plan86" --demo --deterministic --serial none --fs-json "$fsjson_url/short/fs.json" \
        --fs-base "$fsjson_url/short/blobs/" "$@" > /dev/null 2> "$log" ||
        fail "plan86 exited with status $? ($(head -c 300 "$log"))"
}
gets_of() { grep -c "^blob-server: GET /short/blobs/$1\$" "$fsjson_server_log" || true; }

printf '%s\n' /etc/motd '# a comment' '' data/big.bin /no/such/file /etc > "$fsjson_work/list"
run_demo "$fsjson_work/prefetch.err" --fs-prefetch "$fsjson_work/list"
[[ $(gets_of "$motd") == 1 && $(gets_of "$big") == 1 ]] || fail "the listed files were not fetched once each"
[[ $(gets_of "$notes") == 0 ]] || fail "an unlisted file was fetched"
[[ $(grep -c 'prefetch list .*: 2 paths are not files of the image (first: /no/such/file)' \
     "$fsjson_work/prefetch.err") == 1 ]] || fail "no single warning about the two bad paths"
echo "fsjson-options-test: --fs-prefetch fetched the 2 listed files only, one warning for 2 bad paths"

printf '%s\n' /etc/motd /data/big.bin > "$fsjson_work/list2"
cache="$fsjson_work/cache"
run_demo "$fsjson_work/cold.err" --fs-prefetch "$fsjson_work/list2" --fs-cache-dir "$cache"
[[ -s "$cache/$big" ]] || fail "the cache folder has no copy of $big"
run_demo "$fsjson_work/warm.err" --fs-prefetch "$fsjson_work/list2" --fs-cache-dir "$cache"
[[ $(gets_of "$big") == 2 ]] || fail "the warm run fetched $big from the server again"
printf 'X' | dd of="$cache/$big" bs=1 seek=100 conv=notrunc status=none
run_demo "$fsjson_work/damaged.err" --fs-prefetch "$fsjson_work/list2" --fs-cache-dir "$cache"
[[ $(gets_of "$big") == 3 ]] || fail "a damaged cached copy was not fetched again"
cmp -s "$cache/$big" "$image/blobs/$big" || fail "the damaged cached copy was not replaced"
echo "fsjson-options-test: --fs-cache-dir: no fetch on the warm run, a damaged copy fetched again and replaced"
