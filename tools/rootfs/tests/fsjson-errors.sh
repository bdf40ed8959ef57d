#!/bin/sh
# fsjson-errors.sh — the guest half of tests/fsjson/guest-fsjson-errors-test.sh (issue #6,
# "What it must show" 2), on a root served from an fs.json image whose blob server
# answers some blobs badly. Each file NAME in /fsjson-errors/ holds "fsjson-errors NAME"
# in the image:
#   eio-*  (blob missing: 404, or corrupted): reading must fail with an I/O error;
#   ok-*   (blob served after 503 answers, or plainly): reading must give that text.
# Around each read it prints lines the host timestamps, to see that nothing hangs:
#   fsjson-errors: begin NAME
#   fsjson-errors: PASS NAME     or     fsjson-errors: FAIL NAME (what happened)
# then "fsjson-errors: DONE passed=N failed=M", and exits 0 only when all passed.

dir="${FSJSON_ERRORS_DIR:-/fsjson-errors}"   # FSJSON_ERRORS_DIR: to try it elsewhere
passed=0
failed=0

# Succeeds when cat fails on $1 and says why with an I/O error (EIO; the C library's
# words for it are "Input/output error" or "I/O error").
read_fails_with_eio() {
    if why="$(cat "$1" 2>&1 > /dev/null)"; then
        why="read succeeded"
        return 1
    fi
    case "$why" in
        *"Input/output error"* | *"I/O error"*) return 0 ;;
        *) return 1 ;;
    esac
}

reads_back() {
    content="$(cat "$1" 2>&1)" || { why="$content"; return 1; }
    [ "$content" = "fsjson-errors ${1##*/}" ] || { why="read '$content'"; return 1; }
}

# Reads file $1 as its name says; succeeds when it behaved so.
behaves() {
    case "${1##*/}" in
        eio-*) read_fails_with_eio "$1" ;;
        ok-*) reads_back "$1" ;;
        *) why="unknown kind of file"; return 1 ;;
    esac
}

check_file() {
    name="${1##*/}"
    why=""
    echo "fsjson-errors: begin $name"
    if behaves "$1"; then
        passed=$((passed + 1))
        echo "fsjson-errors: PASS $name"
    else
        failed=$((failed + 1))
        echo "fsjson-errors: FAIL $name ($why)"
    fi
}

[ -d "$dir" ] || { echo "fsjson-errors: FAIL no $dir"; exit 1; }
for file in "$dir"/*; do
    check_file "$file"
done
echo "fsjson-errors: DONE passed=$passed failed=$failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
