#!/bin/sh
# bench-read.sh — the guest half of the 9p read benchmark (tools/bench-9p.sh): times
# reading every file of /bench/small (cat > /dev/null; tools/bench-9p.sh puts 2,000
# files of 4 KiB there) and the one file /bench/big (dd bs=1M; 64 MiB) on the root
# file system, with the guest's clock (clock_micros). Prints
#   PLAN86-BENCH begin small   (just before the timed read; "end" just after it)
#   PLAN86-BENCH small files=N bytes=B seconds=S mbps=R
#   PLAN86-BENCH begin big
#   PLAN86-BENCH big bytes=B seconds=S mbps=R
# (R in MB/s, 10^6 bytes per second) and exits with status 0 only when both reads worked.
# The begin lines let the host time the reads by its own clock as well.
# The byte counts are taken after the timed reads so that no stat warms a cache first.

bench="${BENCH_DIR:-/bench}"   # BENCH_DIR: to time another folder

# The guest's monotonic clock in microseconds: "now at N nsecs" of /proc/timer_list
# where the kernel has it, else /proc/uptime (10 ms steps).
clock_micros() {
    now=$(sed -n '/^now at [0-9]* nsecs$/{s/[^0-9]//g;p;q}' /proc/timer_list 2> /dev/null)
    if [ -n "$now" ]; then
        echo "${now%???}"
    else
        read -r up _ < /proc/uptime
        echo "$(( ${up%.*} * 1000000 + 1${up#*.} * 10000 - 1000000 ))"
    fi
}

# Prints "seconds=S mbps=R" for B bytes ($1) read in U microseconds ($2).
rate() {
    awk -v b="$1" -v us="$2" 'BEGIN {
        if (us < 1) us = 1
        printf "seconds=%.3f mbps=%.2f\n", us / 1e6, b / us }'
}

# The number of files in folder $1 and their total size in bytes.
count_and_size() {
    find "$1" -type f -exec stat -c %s {} + | awk '{ n++; b += $1 } END { print n + 0, b + 0 }'
}

time_small_files() {
    [ -d "$bench/small" ] || { echo "bench-read: no $bench/small"; return 1; }
    echo "PLAN86-BENCH begin small"
    start=$(clock_micros)
    cat "$bench"/small/* > /dev/null || { echo "bench-read: reading $bench/small failed"; return 1; }
    elapsed=$(( $(clock_micros) - start ))
    echo "PLAN86-BENCH end"
    # shellcheck disable=SC2046 # two words: the count and the size
    set -- $(count_and_size "$bench/small")
    echo "PLAN86-BENCH small files=$1 bytes=$2 $(rate "$2" "$elapsed")"
}

time_big_file() {
    [ -f "$bench/big" ] || { echo "bench-read: no $bench/big"; return 1; }
    echo "PLAN86-BENCH begin big"
    start=$(clock_micros)
    dd if="$bench/big" of=/dev/null bs=1M 2> /dev/null || { echo "bench-read: reading $bench/big failed"; return 1; }
    elapsed=$(( $(clock_micros) - start ))
    echo "PLAN86-BENCH end"
    bytes=$(stat -c %s "$bench/big")
    echo "PLAN86-BENCH big bytes=$bytes $(rate "$bytes" "$elapsed")"
}

status=0
time_small_files || status=1
time_big_file || status=1
exit "$status"
