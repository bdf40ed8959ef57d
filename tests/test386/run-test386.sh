#!/bin/sh
# run-test386.sh — runs a test386.asm ROM image in plan86 and checks it.
#
# Promises: fetches and builds nothing. Runs the image given by path with its
# POST port (0x190) and text port (0xE9) logged through --port-log, then
# passes when the last POST code is 0xFF and the text output is identical to
# the reference file; otherwise it names the last POST code and the test it
# belongs to, and shows the first differing lines. How to build the image:
# tests/README.md.
#
# Usage: run-test386.sh PLAN86 [TEST386_BIN [REFERENCE_TXT]]
#   The image and reference default to $TEST386_BIN and $TEST386_REF. With
#   no image the test is skipped (exit status 77, as meson expects).
# Environment: TEST386_OUT (a directory for the logs; default: a temporary
#   one, kept when the test fails), TEST386_TIMEOUT (guest seconds, default 2: with
#   --deterministic that is 2e9 instructions; a full run takes about 8e7).
set -u

plan86=${1:?usage: run-test386.sh PLAN86 [TEST386_BIN [REFERENCE_TXT]]}
image=${2:-${TEST386_BIN:-}}
reference=${3:-${TEST386_REF:-}}
if [ -z "$image" ]; then
    echo "test386: no image given (set TEST386_BIN; see tests/README.md): skipped"
    exit 77
fi
if [ -z "$reference" ]; then
    reference=$(dirname "$image")/test386-EE-reference.txt
fi
for f in "$plan86" "$image" "$reference"; do
    if [ ! -r "$f" ]; then
        echo "test386: cannot read $f"
        exit 1
    fi
done

out=${TEST386_OUT:-$(mktemp -d /tmp/plan86-test386-XXXXXX)}
mkdir -p "$out" || exit 1
rm -f "$out/post.log" "$out/out.txt"

# The POST codes of test386.asm, in the order it runs them (its README).
post_name() {
    case $1 in
    00) echo "real mode initialisation" ;;
    01) echo "conditional jumps and loops" ;;
    02) echo "quick tests of unsigned 32-bit multiplication and division" ;;
    03) echo "move segment registers in real mode" ;;
    04) echo "store, move, scan, and compare string data in real mode" ;;
    05) echo "calls in real mode" ;;
    06) echo "load full pointer in real mode" ;;
    08) echo "GDT, LDT, PDT, and PT setup, enter protected mode" ;;
    09) echo "stack functionality" ;;
    20) echo "user mode (ring 3) switching" ;;
    21) echo "virtual-8086 mode" ;;
    22) echo "TSS task switching (128 KiB ROM)" ;;
    0B) echo "moving segment registers" ;;
    0C) echo "zero and sign-extension" ;;
    0D) echo "16-bit addressing modes (LEA)" ;;
    0E) echo "32-bit addressing modes (LEA)" ;;
    0F) echo "access memory using various addressing modes" ;;
    10) echo "store, move, scan, and compare string data in protected mode" ;;
    11) echo "page faults and PTE bits" ;;
    12) echo "other memory access faults" ;;
    13) echo "bit scan operations" ;;
    14) echo "bit test operations" ;;
    15) echo "byte set on condition (SETcc)" ;;
    16) echo "calls in protected mode" ;;
    17) echo "ARPL" ;;
    18) echo "BOUND" ;;
    19) echo "XCHG" ;;
    1A) echo "ENTER" ;;
    1B) echo "LEAVE" ;;
    1C) echo "VERR/VERW" ;;
    E0) echo "undefined behaviours and bugs" ;;
    EE) echo "arithmetic and logic results printed for the reference" ;;
    FF) echo "testing completed" ;;
    *) echo "unknown POST code" ;;
    esac
}

"$plan86" --bios "$image" --deterministic --no-reboot --timeout "${TEST386_TIMEOUT:-2}" \
    --port-log 0x190="$out/post.log" --port-log 0xE9="$out/out.txt" >/dev/null 2>"$out/plan86.err"
status=$?

post=$(od -An -tx1 -v "$out/post.log" 2>/dev/null | tr -s ' \n' ' ' | tr 'a-f' 'A-F')
last=$(echo $post | awk '{ print $NF }')
echo "test386: plan86 exit status $status: $(tail -n 1 "$out/plan86.err")"
echo "test386: POST codes:$post"
echo "test386: last POST code 0x${last:-none} (${last:+$(post_name "$last")})"

failed=0
if [ "$last" != "FF" ]; then
    echo "test386: FAIL: did not reach POST 0xFF"
    failed=1
fi
if cmp -s "$out/out.txt" "$reference"; then
    echo "test386: text output identical to $(basename "$reference")"
else
    echo "test386: FAIL: text output differs from $(basename "$reference")" \
         "($(wc -l <"$out/out.txt") lines, reference $(wc -l <"$reference")); first differences:"
    diff "$out/out.txt" "$reference" | head -n 12
    failed=1
fi
if [ $failed = 1 ]; then
    echo "test386: logs kept in $out"
    exit 1
fi
[ -n "${TEST386_OUT:-}" ] || rm -rf "$out"
echo "test386: PASS"
