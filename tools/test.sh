#!/usr/bin/env bash
# test.sh — sets up plan86 and runs the whole test suite twice: in a normal
# build and in an AddressSanitizer + UndefinedBehaviorSanitizer build (all but
# the guest boot, which the normal build runs; the guest images come from
# Debian's packages through tools/build-guest.sh, cached).
# Build directories: build/ and build-asan/ in the repository, or
# $PLAN86_BUILD and $PLAN86_BUILD-asan.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${PLAN86_BUILD:-$repo/build}"

"$repo/tools/setup.sh" "$build_dir"
meson test -C "$build_dir" --print-errorlogs

"$repo/tools/setup.sh" "$build_dir-asan" -Db_sanitize=address,undefined -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$build_dir-asan" --print-errorlogs --no-suite guest
