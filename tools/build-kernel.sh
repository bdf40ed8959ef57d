#!/usr/bin/env bash
# build-kernel.sh — builds plan86's small i386 kernel from Debian's linux-source-6.1 with
# virtio-pci, the 9p transport and the 9p file system built in, so a guest boots with
#   root=host9p rootfstype=9p rootflags=trans=virtio,version=9p2000.L rw console=ttyS0
# and no initramfs. The configuration is `make ARCH=i386 tinyconfig` plus the fragment
# tools/kernel/plan86-9p.config; the build fails if any fragment line does not survive.
# Outputs, in ${PLAN86_CACHE:-$HOME/.cache/plan86}/kernel (never in the repository):
#   bzImage    the kernel
#   config     its full .config
#   versions   source package version, build time and the stamp
# The stamp is the sha256 of the fragment and the source package version: while it
# matches, the script prints the paths and stops (no apt, no make). A cold build
# installs linux-source-6.1 and the build tools with apt-get when missing (root or
# sudo), unpacks the source into the cache once per source version and builds out of
# tree in kernel/build, so a changed fragment rebuilds only what it touches.
#
# Usage: tools/build-kernel.sh [--force] [--print-paths]
#   --force        rebuild even if the stamp matches
#   --print-paths  print only KEY=VALUE lines on stdout, e.g. for
#                  eval "$(tools/build-kernel.sh --print-paths)"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tool=build-kernel
build_step=build_kernel
# shellcheck source=tools/lib/cached-build.sh
source "$repo/tools/lib/cached-build.sh"
fragment="$repo/tools/kernel/plan86-9p.config"
cache_dir="${PLAN86_CACHE:-$HOME/.cache/plan86}/kernel"
build_dir="$cache_dir/build"
kernel_out="$cache_dir/bzImage"
config_out="$cache_dir/config"
versions_out="$cache_dir/versions"
source_package=linux-source-6.1
source_tarball=/usr/src/linux-source-6.1.tar.xz
root_append='root=host9p rootfstype=9p rootflags=trans=virtio,version=9p2000.L rw console=ttyS0'
# Fixed build metadata, so the version banner does not depend on who built it when.
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2015' KBUILD_BUILD_USER=plan86 \
       KBUILD_BUILD_HOST=plan86 KBUILD_BUILD_VERSION=1

source_version() {
    dpkg-query -W -f='${Version}' "$source_package" 2>/dev/null || true
}

stamp() {
    { cat "$fragment"; echo "$source_package=$(source_version)"; } | sha256sum | cut -d' ' -f1
}

cache_is_warm() {
    [[ -s "$kernel_out" && -s "$versions_out" ]] && grep -qxF "stamp=$(stamp)" "$versions_out"
}

print_paths() {
    if [[ "$1" == scripts ]]; then
        printf 'PLAN86_KERNEL_9P=%q\n' "$kernel_out"
        printf 'PLAN86_KERNEL_9P_CONFIG=%q\n' "$config_out"
        printf 'PLAN86_KERNEL_9P_VERSIONS=%q\n' "$versions_out"
        printf 'PLAN86_KERNEL_9P_APPEND=%q\n' "$root_append"
    else
        printf 'bzImage:  %s\nconfig:   %s\nversions: %s\nappend:   %s\n' \
            "$kernel_out" "$config_out" "$versions_out" "$root_append"
    fi
}

# Installs what a build needs and is missing: the source package and the tools
# (a program name, or a header for the -dev packages). Waits for another apt run.
ensure_build_packages() {
    local -a missing=()
    [[ -s "$source_tarball" ]] || missing+=("$source_package")
    local pair tool package
    for pair in gcc:build-essential make:build-essential bc:bc bison:bison flex:flex \
                xz:xz-utils cpio:cpio perl:perl; do
        tool="${pair%%:*}" package="${pair#*:}"
        command -v "$tool" >/dev/null || missing+=("$package")
    done
    [[ -e /usr/include/gelf.h ]] || missing+=(libelf-dev)
    [[ -e /usr/include/openssl/ssl.h ]] || missing+=(libssl-dev)
    (( ${#missing[@]} )) || return 0
    log "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q \
            -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2; then
        log "apt-get install failed; running apt-get update and trying again"
        as_root apt-get update -q >&2 || log "warning: apt-get update failed in part"
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q \
            -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
    fi
}

# Prints the source tree of this source version, unpacking it once; older trees
# (and their build directory, whose objects belong to them) are removed.
unpacked_source() {
    local version="$1" tree="$cache_dir/linux-source-$1" old scratch
    if [[ ! -e "$tree/.unpacked" ]]; then
        for old in "$cache_dir"/linux-source-*; do
            [[ -e "$old" ]] && rm -rf "$old"
        done
        rm -rf "$build_dir"
        log "unpacking $source_tarball ($version)"
        scratch="$(mktemp -d "$cache_dir/unpack.XXXXXX")"
        tar -xf "$source_tarball" -C "$scratch"
        mv "$scratch/linux-source-6.1" "$tree"
        rmdir "$scratch"
        touch "$tree/.unpacked"
    fi
    echo "$tree"
}

# Every `CONFIG_X=v` line of the fragment must be in .config as is, and every
# `# CONFIG_X is not set` line must have no `CONFIG_X=` in it.
check_fragment_survived() {
    local config="$1" line symbol lost=0
    while read -r line; do
        case "$line" in
            CONFIG_*=*)
                grep -qxF "$line" "$config" || { log "fragment line lost: $line"; lost=1; } ;;
            "# CONFIG_"*" is not set")
                symbol="${line#\# }" symbol="${symbol%% *}"
                if grep -q "^$symbol=" "$config"; then log "still set: $symbol"; lost=1; fi ;;
        esac
    done < "$fragment"
    (( lost == 0 )) || die "the fragment does not survive olddefconfig (a dependency is missing)"
}

# Runs a command in the build directory with its (noisy) output in configure.log,
# shown only when it fails.
quietly() {
    (cd "$build_dir" && "$@" >> configure.log 2>&1) ||
        { cat "$build_dir/configure.log" >&2; die "failed: $*"; }
}

configure() {
    local tree="$1"
    mkdir -p "$build_dir"
    rm -f "$build_dir/configure.log"
    quietly make -C "$tree" O="$build_dir" ARCH=i386 tinyconfig
    quietly "$tree/scripts/kconfig/merge_config.sh" -m -O . .config "$fragment"
    quietly make -C "$tree" O="$build_dir" ARCH=i386 olddefconfig
    check_fragment_survived "$build_dir/.config"
}

write_versions() {
    local output="$1" version="$2" seconds="$3"
    {
        echo "# plan86 9p-root kernel built by tools/build-kernel.sh (--force rebuilds it)"
        echo "source_package=$source_package"
        echo "source_version=$version"
        echo "kernel_release=$(cat "$build_dir/include/config/kernel.release")"
        echo "fragment=tools/kernel/plan86-9p.config"
        echo "build_seconds=$seconds"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "stamp=$(stamp)"
    } > "$output"
}

build_kernel() {
    local version tree start seconds
    ensure_build_packages
    version="$(source_version)"
    [[ -n "$version" ]] || die "$source_package is not installed"
    tree="$(unpacked_source "$version")"
    configure "$tree"
    log "building bzImage from $source_package $version with $(nproc) jobs"
    start=$SECONDS
    make -s -C "$tree" O="$build_dir" ARCH=i386 -j"$(nproc)" bzImage >&2
    seconds=$(( SECONDS - start ))
    log "bzImage built in ${seconds} s"
    rm -f "$versions_out"
    cp "$build_dir/arch/x86/boot/bzImage" "$kernel_out.new" && mv "$kernel_out.new" "$kernel_out"
    cp "$build_dir/.config" "$config_out"
    write_versions "$versions_out.new" "$version" "$seconds"
    mv "$versions_out.new" "$versions_out"
}

cached_build_main "$@"
