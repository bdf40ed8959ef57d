#!/usr/bin/env bash
# build-guest.sh — builds plan86's test and demo Linux guest from Debian's own i386
# packages into a cache folder that is never committed:
#   vmlinuz            the bzImage of linux-image-6.1.0-NN-686-unsigned (newest NN)
#   initramfs.cpio.gz  busybox-static:i386, the modules listed in tools/guest/modules
#                      (uncompressed, in that load order) and tools/guest/init as /init
#   versions           the packages and versions used and a digest of the inputs
# The cache folder is ${PLAN86_CACHE:-$HOME/.cache/plan86}/guest. When its digest
# matches this script, init and modules, the cache is reused at once, with no
# network. --force rebuilds it and picks up a newer kernel. A cold build downloads
# from the Debian archive only (apt-get) and needs root or sudo once, to add the
# i386 architecture and install cpio. The initramfs is reproducible (sorted, mtime 0).
#
# Usage: tools/build-guest.sh [--force] [--print-paths]
#   --force        rebuild even if the cache is warm
#   --print-paths  print only KEY=PATH lines on stdout, e.g. for
#                  eval "$(tools/build-guest.sh --print-paths)"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tool=build-guest
build_step=build_guest
# shellcheck source=tools/lib/cached-build.sh
source "$repo/tools/lib/cached-build.sh"
inputs_dir="$repo/tools/guest"
cache_dir="${PLAN86_CACHE:-$HOME/.cache/plan86}/guest"
kernel_out="$cache_dir/vmlinuz"
initrd_out="$cache_dir/initramfs.cpio.gz"
versions_out="$cache_dir/versions"
kernel_pattern='^linux-image-6\.1\.0-[0-9]+-686-unsigned$'
busybox_package=busybox-static

# The digest of everything that shapes the outputs; a change means a rebuild.
inputs_digest() {
    cat "${BASH_SOURCE[0]}" "$inputs_dir/init" "$inputs_dir/modules" | sha256sum | cut -d' ' -f1
}

cache_is_warm() {
    [[ -s "$kernel_out" && -s "$initrd_out" && -s "$versions_out" ]] &&
        grep -qxF "inputs_sha256=$(inputs_digest)" "$versions_out"
}

print_paths() {
    if [[ "$1" == scripts ]]; then
        printf 'PLAN86_GUEST_KERNEL=%q\n' "$kernel_out"
        printf 'PLAN86_GUEST_INITRD=%q\n' "$initrd_out"
        printf 'PLAN86_GUEST_VERSIONS=%q\n' "$versions_out"
    else
        printf 'kernel:    %s\ninitramfs: %s\nversions:  %s\n' "$kernel_out" "$initrd_out" "$versions_out"
    fi
}

# A partly failed update (a mirror mid-sync) still leaves usable lists: warn, go on.
apt_update() {
    as_root apt-get update -q >&2 || log "warning: apt-get update failed in part; using the lists it left"
}

ensure_i386_architecture() {
    dpkg --print-foreign-architectures | grep -qx i386 && return
    log "adding the i386 architecture to dpkg"
    as_root dpkg --add-architecture i386
    apt_update
}

ensure_tool() {
    local tool="$1" package="$2"
    command -v "$tool" >/dev/null && return
    log "installing $package (for $tool)"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$package" >&2
}

newest_kernel_package() {
    apt-cache pkgnames linux-image-6.1.0- | sed 's/:i386$//' | grep -E "$kernel_pattern" | sort -V | tail -n1
}

resolve_kernel_package() {
    local package
    package="$(newest_kernel_package)"
    if [[ -z "$package" ]]; then
        log "no 686-unsigned kernel in the package lists; running apt-get update"
        apt_update
        package="$(newest_kernel_package)"
    fi
    [[ -n "$package" ]] || die "the Debian archive offers no package matching $kernel_pattern"
    echo "$package"
}

candidate_version() {
    local version
    version="$(apt-cache show --no-all-versions "$1:i386" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)"
    [[ -n "$version" ]] || die "no i386 version of $1 is available (apt-get update?)"
    echo "$version"
}

# Prints the path of the package's .deb in the cache, downloading it if it is missing.
fetch_deb() {
    local package="$1" version="$2" deb
    deb="$cache_dir/debs/${package}_${version//:/%3a}_i386.deb"
    if [[ ! -s "$deb" ]]; then
        log "downloading $package:i386 $version"
        (cd "$cache_dir/debs" && apt-get download -q -o APT::Sandbox::User=root "$package:i386=$version" >&2)
    fi
    [[ -s "$deb" ]] || die "apt-get download did not produce $deb"
    echo "$deb"
}

# The names in tools/guest/modules, comments and blank lines dropped.
module_names() {
    sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$inputs_dir/modules"
}

# Prints the modules a .ko file declares it needs (its modinfo `depends=` field).
module_dependencies() {
    tr '\0' '\n' < "$1" | sed -n 's/^depends=//p' | tr ',' ' '
}

# Copies one module into the staging tree as an uncompressed .ko (busybox insmod
# cannot read .ko.xz).
stage_module() {
    local tree="$1" name="$2" dest="$3" found
    mapfile -t found < <(find "$tree" \( -name "$name.ko" -o -name "$name.ko.xz" \) -type f)
    (( ${#found[@]} == 1 )) || die "expected one $name.ko(.xz) in the kernel package, found ${#found[@]}"
    case "${found[0]}" in
        *.xz) ensure_tool xz xz-utils; xz -dc "${found[0]}" > "$dest" ;;
        *) cp "${found[0]}" "$dest" ;;
    esac
}

stage_modules() {
    local tree="$1" staging="$2" name dependency
    local -A loaded=()
    mkdir -p "$staging/lib/modules"
    while read -r name; do
        stage_module "$tree" "$name" "$staging/lib/modules/$name.ko"
        for dependency in $(module_dependencies "$staging/lib/modules/$name.ko"); do
            [[ -n "${loaded[$dependency]:-}" ]] ||
                die "module $name needs $dependency, which tools/guest/modules does not list before it"
        done
        loaded[$name]=1
        echo "$name" >> "$staging/lib/modules/load-order"
    done < <(module_names)
}

stage_busybox() {
    local busybox_tree="$1" staging="$2"
    mkdir -p "$staging"/{bin,dev,proc,sys,mnt,tmp,root,etc}
    cp "$busybox_tree/bin/busybox" "$staging/bin/busybox"
    ln -s busybox "$staging/bin/sh"
    install -m 755 "$inputs_dir/init" "$staging/init"
}

# newc cpio, entries sorted, owned by root, mtime 0, gzip without a name or time.
write_initramfs() {
    local staging="$1" output="$2"
    find "$staging" -exec touch -h -d @0 {} +
    (cd "$staging" && find . -print0 | LC_ALL=C sort -z |
        cpio --null --quiet --create --format=newc --owner=0:0 --reproducible) | gzip -9n > "$output"
}

write_versions() {
    local output="$1" kernel_package="$2" kernel_version="$3" busybox_version="$4"
    {
        echo "# plan86 guest built by tools/build-guest.sh (--force rebuilds it)"
        echo "kernel_package=$kernel_package:i386"
        echo "kernel_version=$kernel_version"
        echo "kernel_release=$(kernel_release "$kernel_package")"
        echo "busybox_package=$busybox_package:i386"
        echo "busybox_version=$busybox_version"
        echo "modules=$(module_names | tr '\n' ' ' | sed 's/ $//')"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "inputs_sha256=$(inputs_digest)"
    } > "$output"
}

# linux-image-6.1.0-50-686-unsigned -> 6.1.0-50-686 (what `uname -r` prints)
kernel_release() {
    local release="${1#linux-image-}"
    echo "${release%-unsigned}"
}

# Removes .debs of versions this build did not use.
prune_debs() {
    local deb keep
    for deb in "$cache_dir"/debs/*.deb; do
        for keep in "$@"; do
            [[ "$deb" == "$keep" ]] && continue 2
        done
        rm -f "$deb"
    done
}

build_guest() {
    local kernel_package kernel_version busybox_version kernel_deb busybox_deb release
    ensure_i386_architecture
    ensure_tool cpio cpio
    kernel_package="$(resolve_kernel_package)"
    kernel_version="$(candidate_version "$kernel_package")"
    busybox_version="$(candidate_version "$busybox_package")"
    release="$(kernel_release "$kernel_package")"
    mkdir -p "$cache_dir/debs"
    kernel_deb="$(fetch_deb "$kernel_package" "$kernel_version")"
    busybox_deb="$(fetch_deb "$busybox_package" "$busybox_version")"

    work_dir="$(mktemp -d "$cache_dir/build.XXXXXX")"
    local work="$work_dir"
    log "building the guest from $kernel_package $kernel_version and $busybox_package $busybox_version"
    dpkg-deb -x "$kernel_deb" "$work/kernel"
    dpkg-deb -x "$busybox_deb" "$work/busybox"
    [[ -s "$work/kernel/boot/vmlinuz-$release" ]] || die "$kernel_deb has no boot/vmlinuz-$release"

    stage_busybox "$work/busybox" "$work/initramfs"
    stage_modules "$work/kernel/lib/modules/$release/kernel" "$work/initramfs"
    write_initramfs "$work/initramfs" "$work/initramfs.cpio.gz"
    write_versions "$work/versions" "$kernel_package" "$kernel_version" "$busybox_version"

    rm -f "$versions_out"
    mv "$work/kernel/boot/vmlinuz-$release" "$kernel_out"
    mv "$work/initramfs.cpio.gz" "$initrd_out"
    mv "$work/versions" "$versions_out"
    prune_debs "$kernel_deb" "$busybox_deb"
}

cached_build_main "$@"
