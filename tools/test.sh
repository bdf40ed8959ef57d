#!/usr/bin/env bash
# test.sh — sets up plan86 and runs the whole test suite twice: in a normal
# build and in an AddressSanitizer + UndefinedBehaviorSanitizer build (all but
# the guest boot, which the normal build runs; the guest images come from
# Debian's packages through tools/build-guest.sh, cached); then builds the
# libFuzzer targets with clang (fuzz/) and runs each for a bounded time from its
# seed corpus (suite fuzz, about a minute); a crash fails the run.
# Build directories: build/, build-asan/ and build-fuzz/ in the repository, or
# $PLAN86_BUILD, $PLAN86_BUILD-asan and $PLAN86_BUILD-fuzz.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${PLAN86_BUILD:-$repo/build}"

"$repo/tools/setup.sh" "$build_dir"
meson test -C "$build_dir" --print-errorlogs

"$repo/tools/setup.sh" "$build_dir-asan" -Db_sanitize=address,undefined -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$build_dir-asan" --print-errorlogs --no-suite guest

# Only the fuzz targets: the rest of the tree is gcc's (the difftest helper's
# inline assembly does not assemble with clang). setup.sh installed clang above.
fuzz_dir="$build_dir-fuzz"
[[ -f "$fuzz_dir/build.ninja" ]] || CC=clang meson setup "$fuzz_dir" "$repo" -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
ninja -C "$fuzz_dir" fuzz/fuzz_virtqueue tests/fuzz_9p tests/fuzz_fsjson
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$fuzz_dir" --no-rebuild --print-errorlogs --suite fuzz
