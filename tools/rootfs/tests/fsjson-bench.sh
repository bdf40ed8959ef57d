#!/bin/sh
# fsjson-bench.sh — the guest half of tools/bench-fsjson.sh: reads the big file
# /bench/big twice over the 9p root, first "cold" (the first read of it since boot:
# on an fs.json root this is when its blob is fetched, or found in the disk cache),
# then "warm". Each pass times the first 64 KiB (the latency of a first read) and
# then the whole file with dd, bracketed by lines the host timestamps as they arrive:
#   PLAN86-BENCH begin PASS-first   ...   PLAN86-BENCH end PASS-first
#   PLAN86-BENCH begin PASS-whole   ...   PLAN86-BENCH end PASS-whole
# (PASS is cold, then warm); a read that fails prints "PLAN86-BENCH failed WHAT".
# Exits 0 only when every read worked.

big="${BENCH_FILE:-/bench/big}"   # BENCH_FILE: to time another file
status=0

# timed WHAT COMMAND...: runs COMMAND between the begin and end lines of WHAT.
timed() {
    what="$1"
    shift
    echo "PLAN86-BENCH begin $what"
    if "$@" 2> /dev/null; then
        echo "PLAN86-BENCH end $what"
    else
        echo "PLAN86-BENCH failed $what"
        status=1
    fi
}

[ -f "$big" ] || { echo "fsjson-bench: no $big"; exit 1; }
for pass in cold warm; do
    timed "$pass-first" dd if="$big" of=/dev/null bs=64k count=1
    timed "$pass-whole" dd if="$big" of=/dev/null bs=1M
done
exit "$status"
