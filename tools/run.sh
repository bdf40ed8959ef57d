#!/usr/bin/env bash
# run.sh — the main job: sets up and builds plan86 (tools/setup.sh), builds the
# default Linux guest from Debian's packages (tools/build-guest.sh: the 686
# kernel and an initramfs; tools/build-rootfs.sh: a busybox root tree; both
# cached), and boots it with its root on virtio-9p (mount tag host9p, served
# from the root tree), the serial console on this terminal: a busybox shell.
# `exit` (or `poweroff -f`) powers the guest off and ends plan86. Extra
# arguments go to plan86 (e.g. --demo runs the built-in demo instead).
# The build directory is build/ in the repository, or $PLAN86_BUILD.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${PLAN86_BUILD:-$repo/build}"

"$repo/tools/setup.sh" "$build_dir" >&2
for arg in "$@"; do
    if [[ "$arg" == --demo ]]; then
        exec "$build_dir/frontend/plan86" "$@"
    fi
done
eval "$("$repo/tools/build-guest.sh" --print-paths)"
eval "$("$repo/tools/build-rootfs.sh" --print-paths)"
echo "run: the guest's root is $PLAN86_ROOTFS (changes persist there)" >&2
exec "$build_dir/frontend/plan86" -m 256M \
    --kernel "$PLAN86_GUEST_KERNEL" --initrd "$PLAN86_GUEST_INITRD" --fs-dir "$PLAN86_ROOTFS" \
    --append "console=ttyS0 cryptomgr.notests plan86.root9p" "$@"
