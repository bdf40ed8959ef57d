#!/usr/bin/env bash
# make-v86-fixtures.sh OUTDIR — three small fs.json images in v86's documented
# layout, made without plan86's own tools (shell, python3, sha256sum, zstd).
#
#   OUTDIR/short    blobs named by the first 8 hex digits of SHA-256 + ".bin"
#   OUTDIR/zst      the same names + ".bin.zst", each blob compressed by zstd -19
#   OUTDIR/legacy   blobs named by all 64 hex digits, no extension (old images)
#
# Each holds fs.json (version 3, compact, children NOT sorted by name, so
# loaders must not rely on an order), blobs/, expected/ (the tree as plain
# files: contents, modes, mtimes; owners are those of whoever ran this) and
# expected.txt, one line per entry, in fs.json's order:
#   path<TAB>type<TAB>mode<TAB>uid<TAB>gid<TAB>mtime<TAB>size-or-target
# path is relative with no leading "/", type is dir, file or symlink, mode the
# permission bits in octal (0644), uid/gid/mtime those in fs.json, and the last
# field a symlink's target, else the size in fs.json (4096 for directories, as
# v86's fs2json records a directory's st_size on ext4).
# The tree: nested directories, an empty directory, a file > 64 KiB, an empty
# file, a file 0600 owned by 1000:1000, a directory owned by 1000:1000, two
# names with the same contents (one blob), symlinks, a name with a space.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 1
fi
out="$1"
for tool in python3 sha256sum zstd; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is needed" >&2; exit 1; }
done
mkdir -p "$out"
rm -rf "$out/short" "$out/zst" "$out/legacy"
mkdir "$out/short"

# 1. The tree and its manifest, from one table.
python3 - "$out/short" <<'EOF'
import hashlib, os, stat, sys

base = sys.argv[1]
motd = b"Welcome to the v86 fixture image.\n"
big = (b"line of text in a file larger than 64 KiB\n" * 2000
       + b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1000)))
# path, type, mode, uid, gid, mtime, contents or target; parents before children.
table = [
    ("etc", "dir", 0o755, 0, 0, 1600000000, None),
    ("etc/motd", "file", 0o644, 0, 0, 1600000101, motd),
    ("etc/secret", "file", 0o600, 1000, 1000, 1600000202, b"only for uid 1000\n"),
    ("etc/empty", "file", 0o644, 0, 0, 1600000303, b""),
    ("etc/localtime", "symlink", 0o777, 0, 0, 1600000404, "/usr/share/zoneinfo/UTC"),
    ("bin", "dir", 0o755, 0, 0, 1600001000, None),
    ("bin/hello.sh", "file", 0o755, 0, 0, 1600001101, b"#!/bin/sh\necho hello from the fixture\n"),
    ("bin/hi", "symlink", 0o777, 0, 0, 1600001202, "hello.sh"),
    ("home", "dir", 0o755, 0, 0, 1600002000, None),
    ("home/user", "dir", 0o750, 1000, 1000, 1600002101, None),
    ("home/user/notes.txt", "file", 0o644, 1000, 1000, 1600002202, b"notes\n"),
    ("home/user/motd-copy", "file", 0o644, 1000, 1000, 1600002303, motd),
    ("data", "dir", 0o755, 0, 0, 1600003000, None),
    ("data/big.bin", "file", 0o644, 0, 0, 1600003101, big),
    ("a", "dir", 0o755, 0, 0, 1600004000, None),
    ("a/b", "dir", 0o755, 0, 0, 1600004101, None),
    ("a/b/c", "dir", 0o755, 0, 0, 1600004202, None),
    ("a/b/c/deep.txt", "file", 0o644, 0, 0, 1600004303, b"deep down\n"),
    ("var", "dir", 0o755, 0, 0, 1600005000, None),
    ("var/empty", "dir", 0o755, 0, 0, 1600005101, None),
    ("docs", "dir", 0o755, 0, 0, 1600006000, None),
    ("docs/read me.txt", "file", 0o644, 0, 0, 1600006101, b"a name with a space\n"),
]

tree = os.path.join(base, "expected")
os.mkdir(tree)
lines = []
for path, kind, mode, uid, gid, mtime, data in table:
    p = os.path.join(tree, path)
    if kind == "dir":
        os.mkdir(p)
        last = "4096"
    elif kind == "file":
        with open(p, "wb") as f:
            f.write(data)
        last = str(len(data))
    else:
        os.symlink(data, p)
        last = data
    if kind != "symlink":
        os.chmod(p, mode)
    lines.append("\t".join([path, kind, "%04o" % mode, str(uid), str(gid), str(mtime), last]))
# Times last, deepest first, so making children does not move them.
for path, kind, mode, uid, gid, mtime, data in reversed(table):
    os.utime(os.path.join(tree, path), (mtime, mtime), follow_symlinks=False)
with open(os.path.join(base, "expected.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
EOF

for flavour in zst legacy; do
    mkdir "$out/$flavour"
    cp -a "$out/short/expected" "$out/short/expected.txt" "$out/$flavour/"
done

# 2. The blobs, named by sha256sum: every regular file once per name.
hashes="$out/.hashes"
: > "$hashes"
mkdir "$out/short/blobs" "$out/zst/blobs" "$out/legacy/blobs"
while IFS=$'\t' read -r path kind _; do
    [[ "$kind" == file ]] || continue
    src="$out/short/expected/$path"
    hash="$(sha256sum < "$src")"
    hash="${hash%% *}"
    printf '%s\t%s\n' "$path" "$hash" >> "$hashes"
    # Written afresh, not copied: blobs get the default mode, not the file's.
    cat "$src" > "$out/short/blobs/${hash:0:8}.bin"
    cat "$src" > "$out/legacy/blobs/$hash"
    zstd -19 -q -c "$src" > "$out/zst/blobs/${hash:0:8}.bin.zst"
done < "$out/short/expected.txt"

# 3. fs.json of each flavour, from the manifest and the hashes.
python3 - "$out" "$hashes" <<'EOF'
import json, os, stat, sys

out, hashes = sys.argv[1], sys.argv[2]
digest = dict(line.rstrip("\n").split("\t") for line in open(hashes))
types = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "symlink": stat.S_IFLNK}
names = {"short": lambda h: h[:8] + ".bin", "zst": lambda h: h[:8] + ".bin.zst",
         "legacy": lambda h: h}

for flavour, blob_name in names.items():
    root, total = [], 0
    children = {"": root}
    for line in open(os.path.join(out, flavour, "expected.txt")):
        path, kind, mode, uid, gid, mtime, last = line.rstrip("\n").split("\t")
        size = len(last) if kind == "symlink" else int(last)
        total += size
        entry = [os.path.basename(path), size, int(mtime), types[kind] | int(mode, 8),
                 int(uid), int(gid)]
        if kind == "dir":
            entry.append([])
            children[path] = entry[6]
        elif kind == "file":
            entry.append(blob_name(digest[path]))
        else:
            entry.append(last)
        children[os.path.dirname(path)].append(entry)
    with open(os.path.join(out, flavour, "fs.json"), "w") as f:
        json.dump({"fsroot": root, "version": 3, "size": total}, f, separators=(",", ":"))
EOF
rm -f "$hashes"
echo "v86 fixtures in $out: short zst legacy"
