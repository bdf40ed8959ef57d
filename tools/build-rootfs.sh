#!/usr/bin/env bash
# build-rootfs.sh — builds the root directory tree that plan86 (or QEMU) serves to a
# guest over virtio-9p (tag host9p), into a cache folder that is never committed:
#   ${PLAN86_CACHE:-$HOME/.cache/plan86}/rootfs/tree      the tree
#   ${PLAN86_CACHE:-$HOME/.cache/plan86}/rootfs/versions  busybox version and input digest
# The tree holds busybox-static:i386 (the .deb that tools/build-guest.sh keeps in its
# cache, so this script runs it first) with a symlink per applet in /bin, /sbin,
# /usr/bin and /usr/sbin, the empty mount points /dev /proc /sys /tmp /mnt /root, and the
# files of tools/rootfs/: /init (/sbin/init links to it), /etc and the guest test
# scripts in /tests. Every mtime is 0. While the digest of this script, tools/rootfs/
# and the busybox version matches, the tree is reused as it is; tests that write into
# it clean up after themselves, and --force rebuilds it from scratch.
#
# Usage: tools/build-rootfs.sh [--force] [--print-paths]
#   --force        rebuild even if the cache is warm
#   --print-paths  print only KEY=PATH lines on stdout, e.g. for
#                  eval "$(tools/build-rootfs.sh --print-paths)"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tool=build-rootfs
build_step=build_rootfs
prepare_step=locate_busybox_deb
# shellcheck source=tools/lib/cached-build.sh
source "$repo/tools/lib/cached-build.sh"
inputs_dir="$repo/tools/rootfs"
cache_dir="${PLAN86_CACHE:-$HOME/.cache/plan86}/rootfs"
tree_out="$cache_dir/tree"
versions_out="$cache_dir/versions"

# The busybox version and .deb that tools/build-guest.sh fetched (it builds its cache
# if needed); sets busybox_version and busybox_deb.
locate_busybox_deb() {
    local guest_versions
    guest_versions="$(eval "$("$repo/tools/build-guest.sh" --print-paths)" && echo "$PLAN86_GUEST_VERSIONS")"
    busybox_version="$(sed -n 's/^busybox_version=//p' "$guest_versions")"
    [[ -n "$busybox_version" ]] || die "$guest_versions names no busybox_version"
    busybox_deb="$(dirname "$guest_versions")/debs/busybox-static_${busybox_version//:/%3a}_i386.deb"
    [[ -s "$busybox_deb" ]] || die "tools/build-guest.sh left no $busybox_deb"
}

# The digest of everything that shapes the tree: a change means a rebuild.
inputs_digest() {
    {
        cat "${BASH_SOURCE[0]}"
        echo "busybox_version=$busybox_version"
        (cd "$inputs_dir" && find . -type f -print0 | LC_ALL=C sort -z |
            while IFS= read -r -d '' file; do echo "$file"; cat "$file"; done)
    } | sha256sum | cut -d' ' -f1
}

cache_is_warm() {
    [[ -x "$tree_out/init" && -x "$tree_out/bin/busybox" && -s "$versions_out" ]] &&
        grep -qxF "inputs_sha256=$(inputs_digest)" "$versions_out"
}

print_paths() {
    if [[ "$1" == scripts ]]; then
        printf 'PLAN86_ROOTFS=%q\n' "$tree_out"
        printf 'PLAN86_ROOTFS_VERSIONS=%q\n' "$versions_out"
    else
        printf 'tree:     %s\nversions: %s\n' "$tree_out" "$versions_out"
    fi
}

# "usr/bin" -> "../../bin/busybox": the relative target of an applet link in that folder.
busybox_link_target() {
    local -a parts
    local target=bin/busybox
    if [[ "$1" == bin ]]; then
        echo busybox
        return
    fi
    IFS=/ read -r -a parts <<< "$1"
    for _ in "${parts[@]}"; do target="../$target"; done
    echo "$target"
}

# One symlink per applet, where `busybox --list-full` puts it; init is /init instead.
link_applets() {
    local tree="$1" applet folder
    "$tree/bin/busybox" --list-full > "$work_dir/applets" ||
        die "cannot run the i386 busybox on this host to list its applets"
    while read -r applet; do
        case "$applet" in
            */*) ;;
            *) continue ;;   # linuxrc: an initrd name, not needed
        esac
        [[ "$applet" == sbin/init || -e "$tree/$applet" ]] && continue
        folder="$(dirname "$applet")"
        mkdir -p "$tree/$folder"
        ln -s "$(busybox_link_target "$folder")" "$tree/$applet"
    done < "$work_dir/applets"
}

stage_tree() {
    local tree="$1"
    mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,tests}
    chmod 1777 "$tree/tmp"
    dpkg-deb -x "$busybox_deb" "$work_dir/busybox"
    install -m 755 "$work_dir/busybox/bin/busybox" "$tree/bin/busybox"
    link_applets "$tree"
    install -m 755 "$inputs_dir/init" "$tree/init"
    ln -s ../init "$tree/sbin/init"
    cp -R "$inputs_dir/etc" "$tree/etc"
    install -m 755 "$inputs_dir"/tests/*.sh "$tree/tests/"
    find "$tree" -exec touch -h -d @0 {} +
}

write_versions() {
    {
        echo "# plan86 9p root tree built by tools/build-rootfs.sh (--force rebuilds it)"
        echo "busybox_package=busybox-static:i386"
        echo "busybox_version=$busybox_version"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "inputs_sha256=$(inputs_digest)"
    } > "$1"
}

build_rootfs() {
    work_dir="$(mktemp -d "$cache_dir/build.XXXXXX")"
    log "building the 9p root tree from busybox-static $busybox_version"
    stage_tree "$work_dir/tree"
    write_versions "$work_dir/versions"
    rm -f "$versions_out"
    rm -rf "$tree_out"
    mv "$work_dir/tree" "$tree_out"
    mv "$work_dir/versions" "$versions_out"
}

cached_build_main "$@"
