#!/usr/bin/env bash
# guest-fsjson-errors-test.sh — failures of the fs.json back end (issue #6, "What it must
# show" 2): the guest gets errors, plan86 prints one clear line for each, nothing hangs,
# nothing crashes. An image of the busybox root tree (tools/build-rootfs.sh) with four
# files in /fsjson-errors/ is served by tests/blobstore/blob_server.py, and:
#   1. blob errors (deterministic boot, the guest's fsjson-errors.sh): the blob of
#      eio-missing answers 404 and that of eio-corrupt comes back with wrong bytes (both
#      must read as EIO, each with exactly one "plan86: fs-json: " line on stderr and
#      within seconds of the host's clock); ok-flaky answers 503 twice, then its bytes,
#      and ok-plain is served plainly (both must read back, with no error line);
#   2. the server exits after answering two blob requests (--die-after 2), early in the
#      boot: the guest must end by itself (panic=-1 with --no-reboot, or its power-off)
#      with a "plan86: fs-json: " line and plan86's own summary, long before the timeout;
#   3. realtime, asynchronous fetches: the server is stopped once the guest's root is up
#      (marker PLAN86-ROOT9P-OK), then a command typed on COM1 reads a file not yet
#      fetched: cat must fail with an I/O error, soon, with one error line;
#   4. no guest: a truncated fs.json, one that is not JSON, one with version 2 (also
#      named by a --config file), one with a wrong shape, and missing ones (a path, a
#      404, a server that is down) make plan86 exit 1 with exactly one stderr line,
#      "plan86: ...", naming the file.
# No run may end by a signal (crash or sanitizer abort) or by a timeout.
#
# Usage: guest-fsjson-errors-test.sh PLAN86_BINARY REPO_DIR TOOLS_DIR
#   TOOLS_DIR holds plan86-fs2json and plan86-copy-to-sha256 (BUILD/tools).
set -euo pipefail

plan86=$1
fsjson_repo=$2
fsjson_tools=$3
fsjson_work=$(mktemp -d)
# shellcheck source=tests/fsjson/fsjson-lib.sh
source "$fsjson_repo/tests/fsjson/fsjson-lib.sh"
plan86_pid=""
cleanup() {
    if [[ -n "$plan86_pid" ]]; then kill "$plan86_pid" 2> /dev/null || true; fi
    fsjson_stop_server
    rm -rf "$fsjson_work"
}
trap cleanup EXIT
out="$fsjson_work/out.txt"
err="$fsjson_work/err.txt"
: > "$out"
: > "$err"
# Wall-clock bounds (seconds): a whole run, and one failing read in the guest.
run_limit=300
read_limit=15

fail() {
    echo "guest-fsjson-errors-test: FAIL: $*" >&2
    echo "--- stderr:" >&2
    tail -n 20 "$err" >&2 || true
    echo "--- console (last lines):" >&2
    tail -n 20 "$out" >&2 || true
    echo "--- blob server (last lines):" >&2
    tail -n 5 "$fsjson_server_log" >&2 || true
    exit 1
}
say() { echo "guest-fsjson-errors-test: $*"; }

eval "$("$fsjson_repo/tools/build-kernel.sh" --print-paths)"
eval "$("$fsjson_repo/tools/build-rootfs.sh" --print-paths)"
kernel_args=(--kernel "$PLAN86_KERNEL_9P")
append="$PLAN86_KERNEL_9P_APPEND panic=-1"

make_image() {
    local tree="$fsjson_work/tree" name
    cp -a "$PLAN86_ROOTFS" "$tree"
    [[ -f "$tree/tests/fsjson-errors.sh" ]] || fail "the root tree has no /tests/fsjson-errors.sh"
    mkdir "$tree/fsjson-errors"
    for name in eio-missing eio-corrupt ok-flaky ok-plain; do
        printf 'fsjson-errors %s\n' "$name" > "$tree/fsjson-errors/$name"
    done
    fsjson_make_image "$tree" "$fsjson_work/image" || fail "the image tools failed"
}

blob_of() { fsjson_blob_of "$fsjson_work/image/fs.json" "/fsjson-errors/$1"; }

# Runs plan86 with the options given, console timestamped into $out, stderr into $err;
# sets run_status and run_seconds. A signal or a timeout fails the test.
run_plan86() {
    local start=$EPOCHSECONDS
    : > "$err"
    set +e
    timeout "$run_limit" "$plan86" -m 256M --no-reboot "$@" < /dev/null 2> "$err" |
        fsjson_stamp_lines > "$out"
    run_status=${PIPESTATUS[0]}
    set -e
    run_seconds=$((EPOCHSECONDS - start))
    check_ending
}

# plan86 ended on its own: no timeout, no signal, stderr only "plan86: " lines.
check_ending() {
    (( run_status != 124 )) || fail "plan86 ran into the ${run_limit}s timeout"
    (( run_status < 128 )) || fail "plan86 ended by signal $((run_status - 128))"
    ! grep -v '^plan86: ' "$err" > /dev/null || fail "stderr has lines not from plan86: $(grep -v '^plan86: ' "$err" | head -n 3)"
}

# Exactly one "plan86: fs-json: " line mentions guest file $1 or its blob.
one_error_line_for() {
    local blob count
    blob="$(blob_of "$1")"
    count=$(grep '^plan86: fs-json: ' "$err" | grep -c -e "$blob" -e "$1" || true)
    (( count == 1 )) || fail "$count 'plan86: fs-json:' lines name $1 (blob $blob), not 1"
}

# The server saw exactly $2 requests for the blob of guest file $1 ($3: why).
requests_for() {
    local count
    count=$(grep -c -x "blob-server: GET /blobs/$(blob_of "$1")" "$fsjson_server_log" || true)
    (( count == $2 )) || fail "the server saw $count requests for $1's blob, not $2 ($3)"
}

# Wall-clock seconds between the guest's begin and PASS/FAIL lines for file $1.
read_seconds() {
    awk -v name="$1" '
        $0 ~ " fsjson-errors: begin " name "$" { begin = $1 }
        begin && $0 ~ " fsjson-errors: (PASS|FAIL) " name "( |$)" {
            printf "%.3f\n", ($1 - begin) / 1e6; exit }' "$out"
}

blob_errors_boot() {
    local name seconds
    fsjson_start_server "$fsjson_work/image" --fail "blobs/$(blob_of eio-missing)=404" \
        --fail "blobs/$(blob_of eio-corrupt)=corrupt" --fail "blobs/$(blob_of ok-flaky)=503x2" ||
        fail "no blob server"
    run_plan86 --deterministic --timeout 600 --fs-json "$fsjson_url/fs.json" \
        --fs-base "$fsjson_url/blobs/" "${kernel_args[@]}" --append "$append plan86.test=fsjson-errors"
    fsjson_stop_server
    (( run_status == 0 )) || fail "plan86 exited with status $run_status"
    grep -q 'PLAN86-TEST-DONE fsjson-errors rc=0' "$out" || fail "fsjson-errors.sh did not pass"
    for name in eio-missing eio-corrupt ok-flaky ok-plain; do
        grep -q " fsjson-errors: PASS $name$" "$out" || fail "no PASS line for $name"
        seconds="$(read_seconds "$name")"
        awk -v s="$seconds" -v l="$read_limit" 'BEGIN { exit !(s != "" && s < l) }' ||
            fail "reading $name took ${seconds:-forever} s (limit $read_limit)"
        say "$name: the guest's read ended after $seconds s"
    done
    (( $(grep -c '^plan86: fs-json: ' "$err") == 2 )) ||
        fail "stderr has $(grep -c '^plan86: fs-json: ' "$err") 'plan86: fs-json:' lines, not 2"
    one_error_line_for eio-missing
    one_error_line_for eio-corrupt
    requests_for eio-missing 1 "a 404 is not tried again"
    requests_for ok-flaky 3 "two 503 answers, then the blob"
    requests_for ok-plain 1 "one fetch"
    say "404 and corrupt blob: EIO in the guest, one line each:"
    grep '^plan86: fs-json: ' "$err"
}

server_dies_during_boot() {
    fsjson_start_server "$fsjson_work/image" --die-after 2 || fail "no blob server"
    run_plan86 --deterministic --timeout 600 --fs-json "$fsjson_work/image/fs.json" \
        --fs-base "$fsjson_url/blobs/" "${kernel_args[@]}" --append "$append plan86.test=fsjson-errors"
    fsjson_stop_server
    grep -q '^plan86: fs-json: ' "$err" || fail "no 'plan86: fs-json:' line after the server died"
    ! grep -q 'PLAN86-TEST-DONE fsjson-errors rc=0' "$out" || fail "the guest's test passed without its server"
    grep -q -e 'Kernel panic' -e 'PLAN86-TEST-DONE' "$out" || fail "the guest neither panicked nor finished its test"
    say "server gone after 2 blobs: the guest ended with '$(grep -o -m 1 -e 'Kernel panic.*' \
        -e 'PLAN86-TEST-DONE.*' "$out")'; plan86 after ${run_seconds} s with status $run_status:"
    sort "$err" | uniq -c | sed 's/^/    /'
}

# Waits (bounded) until console log $1 has a line matching $2.
wait_for_line() {
    local tries
    for (( tries = 0; tries < run_limit * 10; tries++ )); do
        grep -q "$2" "$1" && return 0
        kill -0 "$plan86_pid" 2> /dev/null || return 1
        sleep 0.1
    done
    return 1
}

server_stopped_while_running() {
    local blob typed_at seconds
    blob="$(blob_of ok-plain)"
    fsjson_start_server "$fsjson_work/image" || fail "no blob server"
    mkfifo "$fsjson_work/com1"
    : > "$err"
    : > "$out"   # before the markers are awaited: the last run's are in it
    timeout "$run_limit" "$plan86" -m 256M --no-reboot --timeout 600 --fs-json "$fsjson_url/fs.json" \
        --fs-base "$fsjson_url/blobs/" "${kernel_args[@]}" --append "$append plan86.test=serial" \
        < "$fsjson_work/com1" 2> "$err" > >(fsjson_stamp_lines > "$out") &
    plan86_pid=$!
    exec 4> "$fsjson_work/com1"
    wait_for_line "$out" 'PLAN86-ROOT9P-OK' || fail "the guest's root did not come up"
    fsjson_stop_server
    typed_at=${EPOCHREALTIME//[!0-9]/}
    # shellcheck disable=SC2016  # $? is for the guest's shell
    echo 'cat /fsjson-errors/ok-plain; echo "fsjson-down cat-rc=$?"' >&4
    wait_for_line "$out" 'PLAN86-CMD-DONE' || fail "the command typed after the server stopped did not finish"
    seconds=$(awk -v t="$typed_at" '/fsjson-down cat-rc=[0-9]/ { printf "%.3f", ($1 - t) / 1e6; exit }' "$out")
    set +e
    wait "$plan86_pid"
    run_status=$?
    set -e
    plan86_pid=""
    exec 4>&-
    check_ending
    (( run_status == 0 )) || fail "plan86 exited with status $run_status"
    grep -q 'fsjson-down cat-rc=[1-9]' "$out" || fail "cat succeeded without a server"
    grep -q -e 'Input/output error' -e 'I/O error' "$out" || fail "cat did not report an I/O error"
    (( $(grep -c '^plan86: fs-json: ' "$err") == 1 )) || fail "not exactly one 'plan86: fs-json:' line"
    one_error_line_for ok-plain
    awk -v s="$seconds" -v l="$read_limit" 'BEGIN { exit !(s != "" && s < l) }' ||
        fail "the failing read took ${seconds:-forever} s (limit $read_limit)"
    say "server stopped under a running guest (realtime): EIO after $seconds s, one line:"
    grep '^plan86: fs-json: ' "$err"
}

# No guest: plan86 with the options after $1 must exit 1 with one line that names $1.
startup_error() {
    local named="$1"
    shift
    set +e
    timeout 120 "$plan86" -m 64M "${kernel_args[@]}" --append "$append" "$@" < /dev/null > "$out" 2> "$err"
    run_status=$?
    set -e
    check_ending
    (( run_status == 1 )) || fail "$*: exit status $run_status, not 1"
    (( $(wc -l < "$err") == 1 )) || fail "$*: $(wc -l < "$err") lines on stderr, not 1"
    grep -qF "$named" "$err" || fail "$*: the line does not name $named"
    say "$(cat "$err")"
}

startup_errors() {
    local good="$fsjson_work/image/fs.json" bad="$fsjson_work/bad" dead_url
    mkdir "$bad"
    head -c $(( $(wc -c < "$good") / 2 )) "$good" > "$bad/truncated.json"
    echo 'this is not JSON' > "$bad/not-json.json"
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["version"] = 2; print(json.dumps(d))' \
        "$good" > "$bad/version-2.json"
    echo '{"fsroot": 5, "version": 3, "size": 0}' > "$bad/bad-shape.json"
    for name in truncated not-json version-2 bad-shape; do
        startup_error "$name.json" --fs-json "$bad/$name.json"
    done
    printf '{"fs-json": "%s"}\n' "$bad/version-2.json" > "$bad/config.json"
    startup_error version-2.json --config "$bad/config.json"
    startup_error "$bad/no-such.json" --fs-json "$bad/no-such.json"
    fsjson_start_server "$fsjson_work/image" || fail "no blob server"
    startup_error no-such.json --fs-json "$fsjson_url/no-such.json"
    dead_url="$fsjson_url"
    fsjson_stop_server
    startup_error "$dead_url/fs.json" --fs-json "$dead_url/fs.json"
}

make_image
blob_errors_boot
server_dies_during_boot
server_stopped_while_running
startup_errors
say "all passed"
