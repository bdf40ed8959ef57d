#!/usr/bin/env bash
# tools-test.sh FS2JSON COPY_TO_SHA256 — the image tools against a tree with
# every kind of entry, checked independently of plan86's code: python3 (json,
# os.lstat, hashlib) for the index, sha256sum, zstd and cmp for the blobs.
#
#  1. fs2json on a directory: version, compact JSON, key order, every entry's
#     fields against lstat, names sorted, blob names = SHA-256 prefixes, symlink
#     targets, six fields for a fifo, --exclude, hard links as two entries with
#     one blob, "size" = the sum, the same bytes on a second run and via --out.
#  2. copy-to-sha256 (plain and --zstd): one blob per content, names from the
#     hash, contents (decompressed) equal to the files, the content size in each
#     zstd frame header, no temporary files, nothing rewritten on a second run.
#  3. Tar input (plain, gzip, zstd): the same entries as the directory (bar the
#     sizes of directories, which tar does not record) and the same blobs.
#  4. Refusals, each one line and exit status 1: an 8-hex prefix collision, an
#     mtime beyond 2^53, a name not UTF-8, "..", a dangling hard link, truncated
#     and non-tar input, bad arguments; 60 randomly damaged tar archives.
#  5. The v86-layout fixtures (make-v86-fixtures.sh): fs2json and
#     copy-to-sha256 on their expected/ trees give their fs.json and blobs.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 FS2JSON COPY_TO_SHA256" >&2
    exit 1
fi
fs2json="$(realpath "$1")"
copy="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for tool in python3 sha256sum zstd tar gzip cmp; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing"; exit 77; }
done
work="$(mktemp -d "${TMPDIR:-/tmp}/plan86-fstools.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# ---- the tree ----
make_tree() {
    local t="$1"
    mkdir -p "$t/d1/d2/d3" "$t/emptydir" "$t/skip/me/sub"
    printf 'hello\n' > "$t/hello.txt"
    printf 'hello\n' > "$t/dup.txt"
    : > "$t/empty"
    head -c 1048576 /dev/urandom > "$t/big.bin"
    printf 'nested\n' > "$t/d1/d2/d3/nested.txt"
    ln -s d1/d2/d3/nested.txt "$t/link"
    ln -s does/not/exist "$t/dangling"
    printf 'linked twice\n' > "$t/hl-a"
    ln "$t/hl-a" "$t/d1/hl-b"
    mkfifo "$t/fifo"
    printf 'spaces\n' > "$t/name with spaces.txt"
    printf 'utf-8\n' > "$t/héllo wörld ✓.txt"
    printf 'upper\n' > "$t/Zebra"
    printf 'excluded\n' > "$t/skip/me/a"
    printf 'excluded too\n' > "$t/skip/me/sub/b"
    printf 'kept\n' > "$t/skip/keep.txt"
    printf '#!/bin/sh\n' > "$t/suid-prog"
    chmod 4755 "$t/suid-prog"
    chmod 0600 "$t/hello.txt"
    printf 'owned\n' > "$t/owned.txt"
    chown 1000:1000 "$t/owned.txt" 2>/dev/null || true   # only as root
    printf 'odd\n' > "$t/odd-time.txt"
    touch -d '@1234567891.987654321' "$t/odd-time.txt"
    touch -h -d '@1111111111' "$t/link"
    touch -d '@1300000001.5' "$t/d1/d2"
}

# check_index INDEX TREE EXT [EXCLUDED...]: the index against lstat of TREE;
# prints "path<TAB>blob" for every regular file.
check_index() {
    python3 - "$@" <<'EOF'
import hashlib, json, os, stat, sys

index, root, ext = sys.argv[1:4]
excluded = set(sys.argv[4:])
text = open(index, encoding="utf-8").read()
idx = json.loads(text)
assert list(idx) == ["fsroot", "version", "size"], list(idx)
assert idx["version"] == 3
assert json.dumps(idx, separators=(",", ":"), ensure_ascii=False) == text, "not compact"
total, blobs, lines = 0, {}, []

def walk(entries, rel):
    global total
    names = [e[0] for e in entries]
    assert names == sorted(names), "unsorted in /" + rel
    here = os.path.join(root, rel)
    disk = sorted(n for n in os.listdir(here) if os.path.join(rel, n) not in excluded)
    assert names == disk, (rel, names, disk)
    for e in entries:
        path = os.path.join(rel, e[0])
        full = os.path.join(root, path)
        st = os.lstat(full)
        assert all(type(x) is int for x in e[1:6]), e
        want = [st.st_size, st.st_mtime_ns // 10**9, st.st_mode, st.st_uid, st.st_gid]
        assert e[1:6] == want, (path, e[1:6], want)
        total += e[1]
        if stat.S_ISREG(st.st_mode):
            data = open(full, "rb").read()
            h = hashlib.sha256(data).hexdigest()
            assert len(e) == 7 and e[6] == h[:8] + ext, (path, e)
            assert blobs.setdefault(e[6], h) == h, "one name, two contents"
            lines.append(path + "\t" + e[6])
        elif stat.S_ISDIR(st.st_mode):
            assert len(e) == 7 and isinstance(e[6], list), path
            walk(e[6], path)
        elif stat.S_ISLNK(st.st_mode):
            assert len(e) == 7 and e[6] == os.readlink(full), (path, e)
        else:
            assert len(e) == 6, (path, e)

walk(idx["fsroot"], "")
assert idx["size"] == total, (idx["size"], total)
print("\n".join(lines))
EOF
}

# check_blobs LIST TREE BLOBDIR EXT: every blob named by its hash, equal to
# the files that name it, and nothing else in BLOBDIR.
check_blobs() {
    local list="$1" tree="$2" dir="$3" ext="$4" path blob name hash got
    while IFS=$'\t' read -r path blob; do
        [[ -f "$dir/$blob" ]] || fail "$dir: no blob $blob for $path"
        if [[ "$ext" == .bin.zst ]]; then
            zstd -q -dc "$dir/$blob" | cmp -s - "$tree/$path" || fail "$blob is not $path"
        else
            cmp -s "$dir/$blob" "$tree/$path" || fail "$blob is not $path"
        fi
    done < "$list"
    for blob in "$dir"/* "$dir"/.[!.]*; do
        [[ -e "$blob" ]] || continue
        name="${blob##*/}"
        [[ "$name" =~ ^[0-9a-f]{8}${ext//./\\.}$ ]] || fail "$dir: stray file $name"
        cut -f2 "$list" | grep -qxF "$name" || fail "$dir: $name is named by no entry"
        if [[ "$ext" == .bin.zst ]]; then
            hash="$(zstd -q -dc "$blob" | sha256sum)"
            got="$(zstd -lv "$blob" 2>/dev/null | sed -n 's/.*Decompressed Size:.*(\([0-9]*\) B).*/\1/p')"
            [[ "$got" == "$(zstd -q -dc "$blob" | wc -c)" ]] || fail "$name: no content size in the frame"
        else
            hash="$(sha256sum < "$blob")"
        fi
        [[ "${hash:0:8}$ext" == "$name" ]] || fail "$name holds contents hashing to ${hash:0:8}"
    done
}

# refuse WHAT PATTERN CMD...: CMD must exit 1 with one stderr line matching PATTERN.
refuse() {
    local what="$1" pattern="$2" rc=0
    shift 2
    "$@" > out.txt 2> err.txt || rc=$?
    [[ $rc -eq 1 ]] || fail "$what: exit status $rc, expected 1 ($(cat err.txt))"
    [[ "$(wc -l < err.txt)" -eq 1 ]] || fail "$what: stderr is not one line: $(cat err.txt)"
    grep -qE "$pattern" err.txt || fail "$what: unexpected message: $(cat err.txt)"
    echo "   refused ($what): $(cat err.txt)"
}

make_tree tree
excl=(--exclude skip/me)

step "fs2json on a directory"
"$fs2json" "${excl[@]}" tree > dir.json
check_index dir.json tree .bin skip/me > dir.list
[[ $(wc -l < dir.list) -ge 14 ]] || fail "too few regular files listed"
"$fs2json" --exclude ./skip/me/ tree > dir2.json
cmp dir.json dir2.json || fail "two runs (and two spellings of --exclude) differ"
"$fs2json" "${excl[@]}" --out out.json tree
cmp dir.json out.json || fail "--out differs from standard output"
[[ -z "$(find . -maxdepth 1 -name '.plan86-tmp-*')" ]] || fail "--out left a temporary file"
grep -q $'^d1/hl-b\t' dir.list && grep -q $'^hl-a\t' dir.list || fail "a hard link is missing"
[[ "$(grep $'^hl-a\t' dir.list | cut -f2)" == "$(grep $'^d1/hl-b\t' dir.list | cut -f2)" ]] ||
    fail "hard links do not share a blob"
python3 - dir.json <<'EOF'
import json, sys
idx = json.load(open(sys.argv[1]))
top = {e[0]: e for e in idx["fsroot"]}
assert "me" not in [e[0] for e in top["skip"][6]], "excluded subtree present"
assert [e[0] for e in top["skip"][6]] == ["keep.txt"]
assert top["suid-prog"][3] == 0o104755, oct(top["suid-prog"][3])
assert top["odd-time.txt"][2] == 1234567891
assert top["link"][2] == 1111111111 and top["link"][6] == "d1/d2/d3/nested.txt"
assert top["dangling"][6] == "does/not/exist"
assert len(top["fifo"]) == 6
assert top["big.bin"][1] == 1048576 and top["empty"][1] == 0
assert top["empty"][6] == "e3b0c442.bin"
assert top["dup.txt"][6] == top["hello.txt"][6]
assert list(top)[:2] == ["Zebra", "big.bin"], list(top)   # byte order
EOF
"$fs2json" --zstd "${excl[@]}" tree > dirz.json
check_index dirz.json tree .bin.zst skip/me > dirz.list

step "copy-to-sha256 from a directory"
# It has no --exclude (as v86's): its blobs are those of the whole tree.
"$fs2json" tree > all.json
check_index all.json tree .bin > all.list
"$fs2json" --zstd tree > allz.json
check_index allz.json tree .bin.zst > allz.list
"$copy" tree blobs > copy1.txt
check_blobs all.list tree blobs .bin
[[ $(ls -A blobs | wc -l) -eq $(cut -f2 all.list | sort -u | wc -l) ]] || fail "blob count"
touch -d '@1000000000' blobs/*
"$copy" tree blobs > copy2.txt
grep -q ' 0 blobs written' copy2.txt || fail "second run rewrote blobs: $(cat copy2.txt)"
[[ -z "$(find blobs -type f -newermt '@1000000001')" ]] || fail "second run touched blobs"
"$copy" --zstd tree blobz > /dev/null
check_blobs allz.list tree blobz .bin.zst
echo "   $(cat copy1.txt)"

step "tar input"
tar -C tree -cf tree.tar .
tar -C tree -czf tree.tar.gz .
tar -C tree --zstd -cf tree.tar.zst .
for t in tree.tar tree.tar.gz tree.tar.zst; do
    "$fs2json" "${excl[@]}" "$t" > tar.json
    python3 - dir.json tar.json <<'EOF'
import json, stat, sys
def norm(entries):
    out = []
    for e in entries:
        e = list(e)
        if stat.S_ISDIR(e[3]):
            e[1] = 0
            e[6] = norm(e[6])
        out.append(e)
    return out
def dir_sizes(entries):
    return sum(e[1] + dir_sizes(e[6]) for e in entries if stat.S_ISDIR(e[3]))
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert norm(a["fsroot"]) == norm(b["fsroot"]), "tar and directory entries differ"
assert b["size"] == a["size"] - dir_sizes(a["fsroot"]), (a["size"], b["size"])
EOF
done
rm -rf tarblobs
"$copy" tree.tar.gz tarblobs > /dev/null
diff -r blobs tarblobs > /dev/null || fail "blobs from the tar differ from those of the directory"
# Members the tar may write in any order and with implicit parents.
python3 - <<'EOF'
import io, tarfile
with tarfile.open("odd.tar", "w", format=tarfile.PAX_FORMAT) as t:
    for name, data in [("./x/y/deep", b"deep\n"), ("x/", None), ("top", b"one\n"), ("top", b"two\n")]:
        i = tarfile.TarInfo(name)
        if data is None:
            i.type, i.mode, i.mtime = tarfile.DIRTYPE, 0o700, 77
            t.addfile(i)
        else:
            i.size, i.mtime = len(data), 88
            t.addfile(i, io.BytesIO(data))
    i = tarfile.TarInfo("x/hard"); i.type, i.linkname = tarfile.LNKTYPE, "x/y/deep"
    t.addfile(i)
    i = tarfile.TarInfo("edge"); i.mtime = 2**53; t.addfile(i, io.BytesIO(b""))
EOF
"$fs2json" odd.tar > odd.json
python3 - odd.json <<'EOF'
import hashlib, json, sys
idx = json.load(open(sys.argv[1]))
top = {e[0]: e for e in idx["fsroot"]}
two = hashlib.sha256(b"two\n").hexdigest()[:8] + ".bin"
deep = hashlib.sha256(b"deep\n").hexdigest()[:8] + ".bin"
assert top["top"][6] == two, "a later member did not replace an earlier one"
assert top["x"][3] == 0o40700 and top["x"][2] == 77, top["x"]
kids = {e[0]: e for e in top["x"][6]}
assert kids["y"][3] == 0o40755, "implicit parent"
assert kids["y"][6][0][6] == deep and kids["hard"][6] == deep and kids["hard"][1] == 5
assert top["edge"][2] == 2**53 and type(top["edge"][2]) is int
EOF

step "refusals"
python3 - <<'EOF'
import hashlib
seen = {}
i = 0
while True:
    data = b"collide %d\n" % i
    key = hashlib.sha256(data).digest()[:4]
    if key in seen:
        break
    seen[key] = data
    i += 1
import os
os.mkdir("clash")
open("clash/one", "wb").write(seen[key])
open("clash/two", "wb").write(data)
EOF
refuse "prefix collision" "collision" "$fs2json" clash
refuse "prefix collision (copy)" "collision" "$copy" clash clashblobs
python3 - <<'EOF'
import io, tarfile
def tar(name, members):
    with tarfile.open(name, "w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            t.addfile(m, io.BytesIO(b""))
def member(name, **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(i, k, v)
    return i
tar("late.tar", [member("f", mtime=2**53 + 2)])
tar("evil.tar", [member("a/../../evil")])
tar("nolink.tar", [member("h", type=tarfile.LNKTYPE, linkname="nowhere")])
EOF
refuse "mtime beyond 2^53" "2\^53" "$fs2json" late.tar
mkdir latin1 controls
python3 -c 'open(b"latin1/bad\nname \xe9", "wb").close(); open(b"controls/new\nline\ttab\x7f", "wb").close()'
refuse "name not UTF-8" "UTF-8" "$fs2json" latin1
"$fs2json" controls > controls.json
check_index controls.json controls .bin > /dev/null
refuse "dot-dot member" '"\.\."' "$fs2json" evil.tar
refuse "dangling hard link" "hard link" "$fs2json" nolink.tar
head -c 20000 tree.tar > truncated.tar
refuse "truncated tar" "runcated|tar" "$fs2json" truncated.tar
refuse "not a tar" "not a directory or a readable tar" "$fs2json" dir.list
refuse "missing input" "No such file" "$fs2json" no-such-dir
refuse "bad option" "unexpected argument" "$fs2json" --frobnicate tree
refuse "copy usage" "expected FROM and TODIR" "$copy" tree

step "damaged tar archives"
# Bytes changed and cut at random (fixed seed): each run either succeeds
# quietly or fails with one line, never a crash or a sanitizer report.
tar -C tree --exclude=./big.bin -cf small.tar .
python3 - small.tar <<'EOF'
import random, sys
data = open(sys.argv[1], "rb").read()
rng = random.Random(6)
for i in range(60):
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    if i % 3 == 0:
        del b[rng.randrange(len(b)):]
    open("damaged-%02d.tar" % i, "wb").write(b)
EOF
for t in damaged-*.tar; do
    rc=0
    "$fs2json" "$t" > /dev/null 2> err.txt || rc=$?
    lines=$(wc -l < err.txt)
    [[ ($rc -eq 0 && $lines -eq 0) || ($rc -eq 1 && $lines -eq 1) ]] ||
        fail "$t: exit status $rc, stderr: $(cat err.txt)"
done

step "v86-layout fixtures"
"$here/make-v86-fixtures.sh" fx > /dev/null
"$fs2json" fx/short/expected > fx-short.json
"$fs2json" --zstd fx/short/expected > fx-zst.json
python3 - fx/short/fs.json fx-short.json fx/zst/fs.json fx-zst.json <<'EOF'
import json, stat, sys
def norm(entries):
    out = []
    for name, size, mtime, mode, uid, gid, *rest in entries:   # uid/gid: whoever ran it
        if stat.S_ISDIR(mode):
            out.append((name, mode, mtime, norm(rest[0])))
        else:
            out.append((name, mode, mtime, size, rest[0]))
    return sorted(out)
for fixture, ours in zip(sys.argv[1::2], sys.argv[2::2]):
    a, b = (json.load(open(f)) for f in (fixture, ours))
    assert a["version"] == b["version"] == 3
    assert norm(a["fsroot"]) == norm(b["fsroot"]), (fixture, norm(a["fsroot"]), norm(b["fsroot"]))
EOF
"$copy" fx/short/expected fxblobs > /dev/null
diff -r fx/short/blobs fxblobs > /dev/null || fail "blobs differ from the .bin fixture"
"$copy" --zstd fx/short/expected fxblobz > /dev/null
[[ "$(ls fx/zst/blobs)" == "$(ls fxblobz)" ]] || fail "blob names differ from the .bin.zst fixture"
for blob in fx/zst/blobs/*; do
    cmp -s <(zstd -q -dc "$blob") <(zstd -q -dc "fxblobz/${blob##*/}") || fail "${blob##*/} differs"
done
for blob in fx/legacy/blobs/*; do
    name="${blob##*/}"
    [[ "$(sha256sum < "$blob")" == "$name "* ]] || fail "legacy fixture $name"
    cmp -s "$blob" "fxblobs/${name:0:8}.bin" || fail "legacy $name differs from ours"
done

echo "PASS"
