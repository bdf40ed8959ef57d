# shellcheck shell=bash disable=SC2154  # tool, cache_dir, build_step come from the builder
# cached-build.sh — what the guest-image builders (tools/build-*.sh) share:
# messages, root access, a scratch folder removed on exit, and the main flow
# "parse --force / --print-paths, take the cache lock, build when the cache
# is cold, print the paths". Sourced, not run. The builder sets `tool` (its
# name in messages) and `cache_dir`, and defines cache_is_warm, print_paths
# and the function named by `build_step` (and optionally `prepare_step`, run
# under the lock before the cache is checked).

work_dir=""   # scratch folder of a build, removed on exit

remove_work_dir() {
    if [[ -n "$work_dir" ]]; then rm -rf "$work_dir"; fi
}
trap remove_work_dir EXIT

log() { echo "$tool: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root or sudo to run: $*"
    fi
}

cached_build_main() {
    local force=0 paths_for=people
    while (( $# )); do
        case "$1" in
            --force) force=1 ;;
            --print-paths) paths_for=scripts ;;
            -h|--help) usage 0 ;;
            *) log "unknown argument: $1"; usage 2 ;;
        esac
        shift
    done

    mkdir -p "$cache_dir"
    exec {lock_fd}> "$cache_dir/.lock"
    flock "$lock_fd"
    if [[ -n "${prepare_step:-}" ]]; then "$prepare_step"; fi
    if (( force )) || ! cache_is_warm; then
        "$build_step"
    fi
    print_paths "$paths_for"
}
