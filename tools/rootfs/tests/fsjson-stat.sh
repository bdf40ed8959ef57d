#!/bin/sh
# fsjson-stat.sh — the guest half of tests/fsjson/guest-fsjson-compat-test.sh (issue #6,
# "What it must show" 3): prints what the guest sees of every path below /fsjson-stat
# (the v86 fixtures the host put there, one folder each), one line per path:
#   FSJSON-STAT<TAB>PATH<TAB>TYPE<TAB>MODE<TAB>UID<TAB>GID<TAB>MTIME<TAB>SIZE<TAB>CONTENT
# PATH relative to /fsjson-stat; TYPE file, dir, symlink or other; MODE the permission
# bits in octal (with setuid, setgid and sticky); MTIME in seconds; SIZE in bytes for a
# file, "-" otherwise; CONTENT the SHA-256 of a file's bytes as the guest reads them,
# a symlink's target, "-" for the rest. Then "FSJSON-STAT DONE paths=N failed=M"
# (M: paths that could not be examined), and the exit status is 0 when M is 0.

top="${FSJSON_STAT_DIR:-/fsjson-stat}"   # FSJSON_STAT_DIR: to list another folder
tab="$(printf '\t')"
paths=0
failed=0

type_of() {
    if [ -L "$1" ]; then echo symlink
    elif [ -d "$1" ]; then echo dir
    elif [ -f "$1" ]; then echo file
    else echo other
    fi
}

# The TYPE..CONTENT fields of path $1 (tab-separated), or nothing on failure.
describe() {
    type="$(type_of "$1")"
    # shellcheck disable=SC2046  # split into the five numbers on purpose
    set -- "$1" $(stat -c '%f %u %g %Y %s' "$1")
    [ $# = 6 ] || return 1
    mode="$(printf '%o' $(( 0x$2 & 4095 )))"
    size=-
    content=-
    case "$type" in
        file) size="$6"; content="$(sha256sum < "$1")" || return 1; content="${content%% *}" ;;
        symlink) content="$(readlink "$1")" || return 1 ;;
    esac
    echo "$type$tab$mode$tab$3$tab$4$tab$5$tab$size$tab$content"
}

[ -d "$top" ] || { echo "fsjson-stat: no $top"; exit 1; }
cd "$top" || exit 1
find . > /tmp/fsjson-stat.list || failed=1
while IFS= read -r path; do
    [ "$path" = . ] && continue
    paths=$((paths + 1))
    if fields="$(describe "$path")" && [ -n "$fields" ]; then
        echo "FSJSON-STAT$tab${path#./}$tab$fields"
    else
        failed=$((failed + 1))
        echo "fsjson-stat: cannot examine $path"
    fi
done < /tmp/fsjson-stat.list
rm -f /tmp/fsjson-stat.list
echo "FSJSON-STAT DONE paths=$paths failed=$failed"
[ "$failed" = 0 ] && [ "$paths" -gt 0 ]
