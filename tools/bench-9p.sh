#!/usr/bin/env bash
# bench-9p.sh — the 9p throughput benchmark of issue #5: read speed inside the guest
# over virtio-9p for plan86 and for `qemu-system-i386 -accel tcg` (`-fsdev local`
# + virtio-9p-pci) on the same tree, side by side, as ratios plan86/QEMU.
# It copies the root tree of tools/build-rootfs.sh into a scratch folder, adds
# /bench/small (2,000 files of 4 KiB) and /bench/big (64 MiB), and boots the small
# kernel of tools/build-kernel.sh with root=host9p on that copy and
# plan86.test=bench-read: the guest's /tests/bench-read.sh times `cat` of all the
# small files and `dd bs=1M` of the big one with the guest's clock and prints
# seconds and MB/s. The host also timestamps each console line as it arrives and
# times the same reads by its own clock (from the guest's "begin" line to its result
# "end" line), which stays right when the guest's clock does not. Runs alternate (plan86, QEMU, plan86, QEMU, ...) so both see
# the same host load; the summary gives the medians and the ratios, and also the
# wall-clock time of each whole run (process start to exit: boot, benchmark and
# power-off). Both emulators run in real time (plan86 without --deterministic).
# A benchmark, not a test: it fails only when a run fails or times out.
#
# Usage: tools/bench-9p.sh [--runs N] [--timeout SECONDS] PLAN86_BINARY
#   --runs N             runs per emulator (default 3)
#   --timeout SECONDS    wall-clock seconds one run may take (default 600)
# Environment: PLAN86_EXTRA  extra plan86 options
#              QEMU_EXTRA    extra QEMU options (e.g. "-nic none")
# Exit status: 0 when every run worked, 1 when one did not, 2 on bad arguments,
# 77 (skipped) without qemu-system-i386.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
test_name=bench-read
small_files=2000
small_file_bytes=4096
big_file_mib=64

# Script state: the options (set by main), the scratch folder (tree, logs and the
# run records) and what the last run measured (set by run_once).
runs=3
timeout_seconds=600
plan86=""
work_dir=""
run_wall_micros=""

die() { echo "bench-9p: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^# Exit status:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

cleanup() {
    if [[ -n "$work_dir" ]]; then rm -rf "$work_dir"; fi
}

# The root tree with the benchmark's files in $1/bench.
prepare_tree() {
    local tree="$1"
    cp -a "$PLAN86_ROOTFS" "$tree"
    [[ -f "$tree/tests/$test_name.sh" ]] || die "the root tree has no /tests/$test_name.sh"
    mkdir -p "$tree/bench/small"
    head -c $(( small_files * small_file_bytes )) /dev/urandom |
        (cd "$tree/bench/small" && split -b "$small_file_bytes" -a 4 -d - file)
    head -c $(( big_file_mib << 20 )) /dev/urandom > "$tree/bench/big"
}

# Runs emulator $1 on tree $2 to its exit, its console (and QEMU's stderr) on stdout,
# plan86's stderr (its summary line) in $3; returns the exit status.
run_emulator() {
    local which="$1" tree="$2" summary_file="$3"
    local append="$PLAN86_KERNEL_9P_APPEND plan86.test=$test_name"
    local -a extra=()
    if [[ "$which" == plan86 ]]; then
        read -r -a extra <<< "${PLAN86_EXTRA:-}"
        timeout "$timeout_seconds" "$plan86" -m 256M "${extra[@]}" --fs-dir "$tree" \
            --kernel "$PLAN86_KERNEL_9P" --append "$append" \
            < /dev/null 2> "$summary_file"
    else
        read -r -a extra <<< "${QEMU_EXTRA:-}"
        timeout "$timeout_seconds" qemu-system-i386 -accel tcg -m 256 -nographic -no-reboot \
            -kernel "$PLAN86_KERNEL_9P" -append "$append" \
            -fsdev "local,id=r,path=$tree,security_model=none" \
            -device virtio-9p-pci,fsdev=r,mount_tag=host9p "${extra[@]}" \
            < /dev/null 2>&1
    fi
}

# Shows why run $1 failed with the end of its console log $2, then fails.
fail_run() {
    {
        echo "bench-9p: $1; the last lines of its console:"
        tail -n 20 "$2"
        if [[ -s "$2.summary" ]]; then cat "$2.summary"; fi
    } >&2
    exit 1
}

# Copies stdin to stdout, each line prefixed by the host time in microseconds at
# which it arrived (read without a subshell so that the loop keeps up).
timestamp_lines() {
    local line
    while IFS= read -r line; do
        printf '%s %s\n' "${EPOCHREALTIME//[!0-9]/}" "${line%$'\r'}"
    done
}

# One run of emulator $1 on tree $2, logged to $3 with timestamps; sets run_wall_micros.
run_once() {
    local which="$1" tree="$2" log_file="$3" start status
    start="${EPOCHREALTIME//[!0-9]/}"
    run_emulator "$which" "$tree" "$log_file.summary" | timestamp_lines > "$log_file"
    status="${PIPESTATUS[0]}"
    run_wall_micros=$(( ${EPOCHREALTIME//[!0-9]/} - start ))
    (( status != 124 )) || fail_run "$which did not finish within ${timeout_seconds}s" "$log_file"
    (( status == 0 )) || fail_run "$which exited with status $status" "$log_file"
    grep -q "PLAN86-TEST-DONE $test_name rc=0" "$log_file" ||
        fail_run "$which: /tests/$test_name.sh did not pass" "$log_file"
}

# The value of KEY=VALUE on the console's "PLAN86-BENCH WHAT ..." line: log $1, WHAT $2, KEY $3.
bench_value() {
    sed -n "s/.*PLAN86-BENCH $2 .*\\b$3=\\([0-9.]*\\).*/\\1/p" "$1" | head -n 1
}

# The host's seconds and MB/s for read WHAT ($2) in timestamped log $1: from the
# arrival of its begin line to that of the next end line.
host_rate() {
    awk -v what="$2" '
        $0 ~ "PLAN86-BENCH begin " what "$" { begin = $1 }
        / PLAN86-BENCH end$/ && begin && !end { end = $1 }
        $0 ~ "PLAN86-BENCH " what " " && end {
            for (i = 2; i <= NF; i++) if ($i ~ /^bytes=/) bytes = substr($i, 7)
            us = end - begin; if (us < 1) us = 1
            printf "%.3f %.2f\n", us / 1e6, bytes / us; exit }' "$1"
}

# Appends the record "EMULATOR METRIC VALUE" and prints the value as "METRIC VALUE".
record_metric() {
    [[ -n "$3" ]] || fail_run "$1 printed no $2" "$log_file"
    echo "$1 $2 $3" >> "$work_dir/runs"
    printf '  %s %s' "$2" "$3"
}

# Runs emulator $1 (run $3) on tree $2, prints the run and appends its records
# to the run records.
record_run() {
    local which="$1" tree="$2" run="$3" log_file what host_seconds host_mbps value
    log_file="$work_dir/$which-$run.log"
    run_once "$which" "$tree" "$log_file"
    printf '  run %d  %-6s' "$run" "$which"
    for what in small big; do
        record_metric "$which" "$what:guest_s" "$(bench_value "$log_file" "$what" seconds)"
        record_metric "$which" "$what:guest_mbps" "$(bench_value "$log_file" "$what" mbps)"
        read -r host_seconds host_mbps <<< "$(host_rate "$log_file" "$what")"
        record_metric "$which" "$what:host_s" "$host_seconds"
        record_metric "$which" "$what:host_mbps" "$host_mbps"
    done
    value="$(awk -v us="$run_wall_micros" 'BEGIN { printf "%.2f", us / 1e6 }')"
    record_metric "$which" wall_s "$value"
    printf '\n'
}

# The median of METRIC $2 over the runs of emulator $1.
median_of() {
    awk -v e="$1" -v m="$2" '$1 == e && $2 == m { print $3 }' "$work_dir/runs" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One line of the summary: metric $1 described as $2.
summary_row() {
    local plan86_value qemu_value
    plan86_value="$(median_of plan86 "$1")" qemu_value="$(median_of qemu "$1")"
    printf '  %-34s %10s %10s %8s\n' "$2" "$plan86_value" "$qemu_value" \
        "$(awk -v a="$plan86_value" -v b="$qemu_value" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
}

print_summary() {
    echo "== medians of $runs run(s); host load average now $(cut -d ' ' -f 1-3 /proc/loadavg)"
    printf '  %-34s %10s %10s %8s\n' '' plan86 qemu 'plan86/qemu'
    local what label
    for what in small big; do
        label="$small_files small files"
        [[ "$what" == small ]] || label="one $big_file_mib MiB file"
        summary_row "$what:guest_s" "$label: guest clock s"
        summary_row "$what:host_s" "$label: host clock s"
        summary_row "$what:guest_mbps" "$label: guest clock MB/s"
        summary_row "$what:host_mbps" "$label: host clock MB/s"
    done
    summary_row wall_s "whole run (boot to exit): wall s"
    echo "  (an MB/s ratio above 1 means plan86 reads faster; a seconds ratio above 1, slower)"
}

main() {
    local run paths
    while (( $# )); do
        case "$1" in
            --runs) runs="${2:?--runs needs a number}"; shift ;;
            --timeout) timeout_seconds="${2:?--timeout needs a number of seconds}"; shift ;;
            -h|--help) usage 0 ;;
            -*) echo "bench-9p: unknown option: $1" >&2; usage 2 ;;
            *) [[ -z "$plan86" ]] || usage 2; plan86="$1" ;;
        esac
        shift
    done
    [[ -n "$plan86" ]] || usage 2
    [[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench-9p: --runs needs a positive number" >&2; exit 2; }
    [[ "$timeout_seconds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-9p: --timeout needs a positive number" >&2; exit 2; }
    [[ -x "$plan86" ]] || die "not an executable: $plan86"
    if ! command -v qemu-system-i386 > /dev/null; then
        echo "bench-9p: qemu-system-i386 is missing (apt-get install qemu-system-x86); skipped" >&2
        exit 77
    fi

    paths="$("$repo/tools/build-kernel.sh" --print-paths)" || die "tools/build-kernel.sh failed"
    eval "$paths"
    paths="$("$repo/tools/build-rootfs.sh" --print-paths)" || die "tools/build-rootfs.sh failed"
    eval "$paths"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    work_dir="$(mktemp -d "${TMPDIR:-/tmp}/plan86-bench-9p.XXXXXX")"
    prepare_tree "$work_dir/tree"
    echo "bench-9p: $runs run(s) per emulator, interleaved; kernel $PLAN86_KERNEL_9P;" \
         "$small_files files of $small_file_bytes bytes and one of $big_file_mib MiB"
    echo "bench-9p: $("$plan86" --version 2>&1 | head -n 1); $(qemu-system-i386 --version | head -n 1)"
    echo "bench-9p: host: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
    for (( run = 1; run <= runs; run++ )); do
        record_run plan86 "$work_dir/tree" "$run"
        record_run qemu "$work_dir/tree" "$run"
    done
    print_summary
}

main "$@"
