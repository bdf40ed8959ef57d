#!/usr/bin/env bash
# setup.sh — installs what plan86 needs to build (Debian 12) and builds it.
#
# Usage: tools/setup.sh [BUILD_DIR [MESON_OPTION...]]
# Installs missing Debian packages with apt-get (as root, or through sudo),
# configures BUILD_DIR (default: build/ in the repository) with meson unless it
# is configured already, and builds it with ninja. Safe to run again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$repo/build}"
shift $(( $# > 0 ? 1 : 0 ))

packages=(build-essential gcc-multilib pkg-config meson ninja-build zlib1g-dev libcurl4-openssl-dev libcjson-dev libzstd-dev libarchive-dev libssl-dev zstd python3 check seabios
          # what the guest builders (tools/build-*.sh) need, installed here once so the
          # tests that build guests in parallel never race for the apt lock
          cpio xz-utils bc bison flex libelf-dev linux-source-6.1
          # clang with libFuzzer and its sanitizer runtimes, for the fuzz build of test.sh
          clang libclang-rt-14-dev)

missing=()
for pkg in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == installed ]] || missing+=("$pkg")
done

if (( ${#missing[@]} )); then
    echo "setup: installing ${missing[*]}" >&2
    as_root=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        as_root=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ ! -f "$build_dir/build.ninja" ]]; then
    meson setup "$build_dir" "$repo" "$@"
fi
ninja -C "$build_dir"
