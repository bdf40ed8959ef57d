# fsjson-lib.sh — shell helpers shared by the fs.json tests (tests/fsjson/*-test.sh) and
# tools/bench-fsjson.sh; sourced, not run. It promises:
#   fsjson_make_image TREE IMAGE [--zstd]  IMAGE/fs.json and IMAGE/blobs/ made from TREE
#                                         by plan86-fs2json and plan86-copy-to-sha256
#   fsjson_start_server ROOT [OPTION]...   tests/blobstore/blob_server.py serving ROOT on
#                                         127.0.0.1; sets fsjson_server_pid and fsjson_url
#                                         (http://127.0.0.1:PORT, no trailing slash); its
#                                         request log: $fsjson_server_log (one per server)
#   fsjson_stop_server                     stops it (only the server this file started)
#   fsjson_blob_of FS_JSON GUEST_PATH      prints the blob name of a regular file
#   fsjson_stamp_lines                     copies stdin to stdout, each line prefixed by
#                                         the host time of its arrival in microseconds
# The caller sets fsjson_repo (the repository), fsjson_tools (the folder holding the
# two image tools) and fsjson_work (a scratch folder: the server's log and port file).
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034  # the caller's variables, and the ones set for it

fsjson_server_pid=""
fsjson_url=""
fsjson_server_log="$fsjson_work/server.log"

fsjson_make_image() {
    local tree="$1" image="$2"
    shift 2
    mkdir -p "$image/blobs"
    "$fsjson_tools/plan86-fs2json" "$@" --out "$image/fs.json" "$tree" &&
        "$fsjson_tools/plan86-copy-to-sha256" "$@" "$tree" "$image/blobs"
}

fsjson_start_server() {
    local root="$1" port_file="$fsjson_work/server.port" tries
    shift
    rm -f "$port_file"
    python3 "$fsjson_repo/tests/blobstore/blob_server.py" --root "$root" \
        --port-file "$port_file" "$@" 2> "$fsjson_server_log" &
    fsjson_server_pid=$!
    # The server writes the port file (atomically) once it listens.
    for (( tries = 0; tries < 200; tries++ )); do
        if [[ -s "$port_file" ]]; then
            fsjson_url="http://127.0.0.1:$(head -n 1 "$port_file")"
            return 0
        fi
        kill -0 "$fsjson_server_pid" 2> /dev/null || break
        sleep 0.05
    done
    echo "fsjson: the blob server did not start; its log:" >&2
    cat "$fsjson_server_log" >&2
    return 1
}

fsjson_stop_server() {
    if [[ -n "$fsjson_server_pid" ]]; then
        kill "$fsjson_server_pid" 2> /dev/null || true
        wait "$fsjson_server_pid" 2> /dev/null || true
        fsjson_server_pid=""
    fi
}

# Field 6 of the regular file at GUEST_PATH ("/a/b"), found by walking the nested fsroot.
fsjson_blob_of() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
entries = json.load(open(sys.argv[1]))["fsroot"]
*dirs, leaf = [part for part in sys.argv[2].split("/") if part]
for name in dirs:
    entries = next(e[6] for e in entries if e[0] == name and isinstance(e[6], list))
print(next(e[6] for e in entries if e[0] == leaf and e[3] & 0o170000 == 0o100000))
EOF
}

fsjson_stamp_lines() {
    local line
    while IFS= read -r line || [[ -n "$line" ]]; do
        printf '%s %s\n' "${EPOCHREALTIME//[!0-9]/}" "${line%$'\r'}"
    done
}
