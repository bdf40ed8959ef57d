#!/usr/bin/env bash
# bench-boot.sh — the boot benchmark of issue #4: the wall-clock time from the
# start of the emulator process to the marker PLAN86-GUEST-OK on the serial
# console, for plan86 and for `qemu-system-i386 -accel tcg`, on the same kernel
# and initramfs (tools/build-guest.sh) on this machine. Runs alternate (plan86,
# QEMU, plan86, QEMU, ...) so both see the same host load. Each line of console
# output is timestamped as it arrives. It prints every run, the medians and the
# ratio plan86/QEMU for two kernel command lines: the default one and one with
# cryptomgr.notests (which skips the crypto self-tests). Beside the wall clock
# it reports each emulator's CPU time at the marker (user + system, all
# threads, from /proc), which a busy host disturbs less. For plan86 it also
# prints the guest instructions to the marker (from plan86's summary line when
# it is stopped with SIGTERM right after the marker).
# Both emulators run in real time (plan86 without --deterministic) with 256 MiB.
# A benchmark, not a test: it fails only when a boot fails or times out.
#
# Usage: tools/bench-boot.sh [--runs N] [--timeout SECONDS] PLAN86_BINARY
#   --runs N             boots per emulator and command line (default 3)
#   --timeout SECONDS    wall-clock seconds a boot may take to the marker (default 300)
# Environment: PLAN86_EXTRA  extra plan86 options (e.g. "--deterministic")
#              QEMU_EXTRA    extra QEMU options (e.g. "-nic none")
# Exit status: 0 when every boot reached the marker, 1 when one did not,
# 2 on bad arguments, 77 (skipped) without qemu-system-i386.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
marker='PLAN86-GUEST-OK'
base_append='console=ttyS0 plan86.test=serial'
# Seconds an emulator gets to exit after the marker (or after SIGTERM) before SIGKILL.
grace_seconds=10

# Script state: the options (set by main), the emulator that is running (for
# the exit trap), the scratch folder (run logs and the run records), the
# kernel's clock ticks per second, and what the last boot measured (set by boot_once).
runs=3
timeout_seconds=300
plan86=""
running_pid=""
work_dir=""
clock_ticks=""
boot_micros=""
boot_cpu_micros=""
boot_uptime=""
boot_instructions=""

die() { echo "bench-boot: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^# Exit status:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

# Microseconds as seconds with two decimals.
format_seconds() { printf '%d.%02d' $(( $1 / 1000000 )) $(( $1 % 1000000 / 10000 )); }

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.0f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Reads fd $1 to its end; fails when no line comes for grace_seconds.
drain_to_eof() {
    local fd="$1" line status
    while true; do
        IFS= read -r -t "$grace_seconds" line <&"$fd" || { status=$?; break; }
    done
    (( status <= 128 ))
}

# Ends the running emulator, whose output is on fd $1: SIGTERM, then SIGKILL
# when it has not closed its output after grace_seconds. Reading the output to
# its end means the emulator never blocks on a full pipe while it shuts down.
stop_emulator() {
    local fd="$1"
    kill -TERM "$running_pid" 2>/dev/null || true
    if ! drain_to_eof "$fd"; then
        echo "bench-boot: pid $running_pid did not exit within ${grace_seconds}s; killing it" >&2
        kill -KILL "$running_pid" 2>/dev/null || true
    fi
    exec {fd}<&-
    wait "$running_pid" 2>/dev/null || true
    running_pid=""
}

cleanup() {
    if [[ -n "$running_pid" ]]; then
        kill -TERM "$running_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$running_pid" 2>/dev/null || true
    fi
    if [[ -n "$work_dir" ]]; then rm -rf "$work_dir"; fi
}

# Starts emulator $1 (plan86 or qemu) with kernel command line $2 on fd
# emulator_out (its console output) and sets running_pid. plan86's stderr (its
# summary line) goes to $3; QEMU's stderr joins its console output.
start_emulator() {
    local which="$1" append="$2" summary_file="$3"
    local -a extra=()
    if [[ "$which" == plan86 ]]; then
        read -r -a extra <<< "${PLAN86_EXTRA:-}"
        exec {emulator_out}< <(exec "$plan86" -m 256M "${extra[@]}" \
            --kernel "$PLAN86_GUEST_KERNEL" --initrd "$PLAN86_GUEST_INITRD" \
            --append "$append" < /dev/null 2> "$summary_file")
    else
        read -r -a extra <<< "${QEMU_EXTRA:-}"
        exec {emulator_out}< <(exec qemu-system-i386 -accel tcg -m 256 -nographic -no-reboot \
            -kernel "$PLAN86_GUEST_KERNEL" -initrd "$PLAN86_GUEST_INITRD" \
            -append "$append" "${extra[@]}" < /dev/null 2>&1)
    fi
    running_pid=$!
}

# Shows why boot $1 failed with the end of its console log $2 (and plan86's
# summary line, if any), then fails.
fail_boot() {
    {
        echo "bench-boot: $1; the last lines of its console:"
        tail -n 20 "$2"
        if [[ -s "$2.summary" ]]; then cat "$2.summary"; fi
    } >&2
    exit 1
}

# Sets boot_cpu_micros to the user + system CPU time that the running process
# $1 has used in all its threads.
read_cpu_time() {
    local stat
    local -a fields
    IFS= read -r stat < "/proc/$1/stat" || die "process $1 ended at the marker: no CPU time"
    read -r -a fields <<< "${stat##*) }"
    boot_cpu_micros=$(( (fields[11] + fields[12]) * 1000000 / clock_ticks ))
}

# One boot of emulator $1 with kernel command line $2, its console logged to
# $3. The guest waits for a line on its console after the marker (plan86.test=serial),
# so the emulator is still running when the marker is seen; it is then stopped
# with SIGTERM. Sets boot_micros (process start to marker), boot_cpu_micros (the
# emulator's CPU time at the marker), boot_uptime (the guest's own uptime in
# the marker line) and, for plan86, boot_instructions (from its summary line
# at the SIGTERM: the instructions to the marker and the few that the guest,
# idle in its read, runs until the signal lands).
boot_once() {
    local which="$1" append="$2" log_file="$3" summary_file="$3.summary"
    local start deadline left line status=0 emulator_out
    boot_micros="" boot_cpu_micros="" boot_uptime="" boot_instructions=""
    : > "$log_file"
    # Timestamps are EPOCHREALTIME in microseconds (without the locale's decimal
    # point), read without a subshell so that the loop keeps up with the console.
    start="${EPOCHREALTIME//[!0-9]/}"
    deadline=$(( start + timeout_seconds * 1000000 ))
    start_emulator "$which" "$append" "$summary_file"
    while true; do
        left=$(( deadline - ${EPOCHREALTIME//[!0-9]/} ))
        (( left > 0 )) || { status=142; break; }
        IFS= read -r -t $(( (left + 999999) / 1000000 )) line <&"$emulator_out" || { status=$?; break; }
        line="${line%$'\r'}"
        printf '%s\n' "$line" >> "$log_file"
        if [[ "$line" == *"$marker"* ]]; then
            boot_micros=$(( ${EPOCHREALTIME//[!0-9]/} - start ))
            read_cpu_time "$running_pid"
            boot_uptime="${line##*uptime=}"
            break
        fi
    done
    stop_emulator "$emulator_out"
    (( status <= 128 )) || fail_boot "$which did not reach $marker within ${timeout_seconds}s" "$log_file"
    [[ -n "$boot_micros" ]] || fail_boot "$which exited before $marker" "$log_file"
    if [[ "$which" == plan86 ]]; then
        boot_instructions="$(sed -n 's/.* \([0-9][0-9]*\) instructions.*/\1/p' "$summary_file")"
        [[ -n "$boot_instructions" ]] || die "no instruction count in plan86's summary: $(cat "$summary_file")"
    fi
}

# Millions of guest instructions per second, from instructions $1 and microseconds $2.
mips() { awk -v i="$1" -v us="$2" 'BEGIN { printf "%.1f", i / us }'; }

# The quotient of $1 and $2 with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The median of field $3 (3 wall, 4 CPU, 5 instructions) over the runs of
# emulator $2 with command line $1 in the run records.
median_of() {
    awk -v v="$1" -v e="$2" -v f="$3" '$1 == v && $2 == e { print $f }' "$work_dir/runs" | median
}

# Boots emulator $1 with command line $3 (named $2), run $4; prints the run and
# records "NAME EMULATOR WALL_US CPU_US INSTRUCTIONS" in the run records.
record_boot() {
    local which="$1" name="$2" append="$3" run="$4"
    boot_once "$which" "$append" "$work_dir/$which-$name-$run.log"
    printf '  run %d  %-6s  wall %7s s  cpu %7s s  guest uptime %6s s' "$run" "$which" \
        "$(format_seconds "$boot_micros")" "$(format_seconds "$boot_cpu_micros")" "$boot_uptime"
    if [[ -n "$boot_instructions" ]]; then
        printf '  %d instructions (%s M per cpu s)' "$boot_instructions" \
            "$(mips "$boot_instructions" "$boot_cpu_micros")"
    fi
    printf '\n'
    echo "$name $which $boot_micros $boot_cpu_micros ${boot_instructions:-0}" >> "$work_dir/runs"
}

# The medians of command line $1 and their ratios, as one line of the summary table.
summary_row() {
    local name="$1" plan86_wall qemu_wall plan86_cpu qemu_cpu
    plan86_wall="$(median_of "$name" plan86 3)" qemu_wall="$(median_of "$name" qemu 3)"
    plan86_cpu="$(median_of "$name" plan86 4)" qemu_cpu="$(median_of "$name" qemu 4)"
    printf '  %-18s %8s %8s %7s   %8s %8s %7s   %12d\n' "$name" \
        "$(format_seconds "$plan86_wall")" "$(format_seconds "$qemu_wall")" "$(ratio "$plan86_wall" "$qemu_wall")" \
        "$(format_seconds "$plan86_cpu")" "$(format_seconds "$qemu_cpu")" "$(ratio "$plan86_cpu" "$qemu_cpu")" \
        "$(median_of "$name" plan86 5)"
}

summary_header() {
    printf '  %-18s %8s %8s %7s   %8s %8s %7s   %12s\n' 'command line' 'plan86' 'qemu' 'ratio' \
        'plan86' 'qemu' 'ratio' 'plan86'
    printf '  %-18s %8s %8s %7s   %8s %8s %7s   %12s\n' '' 'wall s' 'wall s' 'wall' \
        'cpu s' 'cpu s' 'cpu' 'instructions'
}

# Boots both emulators runs times, interleaved, with command line $2 (named $1),
# then prints the medians.
bench_variant() {
    local name="$1" append="$2" run
    echo "== $name: --append \"$append\""
    for (( run = 1; run <= runs; run++ )); do
        record_boot plan86 "$name" "$append" "$run"
        record_boot qemu "$name" "$append" "$run"
    done
    echo "  medians of $runs run(s):"
    summary_header
    summary_row "$name"
}

main() {
    local guest_paths
    while (( $# )); do
        case "$1" in
            --runs) runs="${2:?--runs needs a number}"; shift ;;
            --timeout) timeout_seconds="${2:?--timeout needs a number of seconds}"; shift ;;
            -h|--help) usage 0 ;;
            -*) echo "bench-boot: unknown option: $1" >&2; usage 2 ;;
            *) [[ -z "$plan86" ]] || usage 2; plan86="$1" ;;
        esac
        shift
    done
    [[ -n "$plan86" ]] || usage 2
    [[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench-boot: --runs needs a positive number" >&2; exit 2; }
    [[ "$timeout_seconds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-boot: --timeout needs a positive number" >&2; exit 2; }
    [[ -x "$plan86" ]] || die "not an executable: $plan86"
    if ! command -v qemu-system-i386 > /dev/null; then
        echo "bench-boot: qemu-system-i386 is missing (apt-get install qemu-system-x86); skipped" >&2
        exit 77
    fi

    [[ -r /proc/self/stat ]] || die "needs /proc (Linux) for the emulators' CPU time"
    clock_ticks="$(getconf CLK_TCK)"

    guest_paths="$("$repo/tools/build-guest.sh" --print-paths)" || die "tools/build-guest.sh failed"
    eval "$guest_paths"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    work_dir="$(mktemp -d "${TMPDIR:-/tmp}/plan86-bench-boot.XXXXXX")"
    echo "bench-boot: $runs run(s) per emulator, interleaved; kernel $PLAN86_GUEST_KERNEL, initrd $PLAN86_GUEST_INITRD"
    echo "bench-boot: $("$plan86" --version 2>&1 | head -n 1); $(qemu-system-i386 --version | head -n 1)"
    echo "bench-boot: host: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
    bench_variant default "$base_append"
    bench_variant cryptomgr.notests "$base_append cryptomgr.notests"
    echo "== summary: medians of $runs run(s); wall is process start to $marker, cpu is user + system time"
    echo "   at the marker (all threads); host load average now $(cut -d ' ' -f 1-3 /proc/loadavg)"
    summary_header
    summary_row default
    summary_row cryptomgr.notests
}

main "$@"
