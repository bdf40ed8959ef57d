#!/usr/bin/env bash
# check-with-qemu.sh — boots the guest of tools/build-guest.sh in QEMU (TCG) with
# plan86.test=serial, sends one command on the serial console when the marker
# PLAN86-GUEST-OK appears, and checks that the command's output and
# "PLAN86-CMD-DONE rc=0" come back and that QEMU exits (the guest powers off).
# It prints the wall-clock seconds from QEMU's start to the marker and to the exit:
# the QEMU side of the boot benchmark. A diagnostic helper, not a CI test.
#
# Usage: tools/guest/check-with-qemu.sh [--runs N] [--log FILE]
#   --runs N    boot N times and print the median time to the marker (default 1)
#   --log FILE  keep the serial output of the last run in FILE (without it, the
#               output is kept in a temporary file only when a run fails)
# Environment: QEMU_EXTRA  extra QEMU options (e.g. "-nic none")
#              APPEND_EXTRA  extra kernel command-line words (e.g. "cryptomgr.notests")
#              TIMEOUT     seconds a boot may take before it fails (default 120)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
timeout_seconds="${TIMEOUT:-120}"
# The guest's shell does the arithmetic, so the tty's echo of the command cannot pass for its output.
# shellcheck disable=SC2016
guest_command='echo "PLAN86-CHECK $((6 * 7))"'
expected_output='PLAN86-CHECK 42'

die() { echo "check-with-qemu: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# One boot. Prints "MARKER_SECONDS EXIT_SECONDS GUEST_UPTIME"; fails with the reason.
# QEMU reads the console input from a FIFO that this shell holds open, and its
# output comes back through a process substitution, so none of it is lost when it exits.
boot_once() {
    local log_file="$1" fifo start line qemu_pid qemu_in qemu_out status
    local marker_at="" guest_uptime="" saw_output=0 saw_done=0 read_status=0
    local -a extra=()
    read -r -a extra <<< "${QEMU_EXTRA:-}"
    : > "$log_file"
    fifo="$(mktemp -u "${TMPDIR:-/tmp}/plan86-qemu-in.XXXXXX")"
    mkfifo "$fifo"
    exec {qemu_in}<> "$fifo"
    start="$(now)"
    exec {qemu_out}< <(exec qemu-system-i386 -accel tcg -m 256 -nographic -no-reboot \
        -kernel "$PLAN86_GUEST_KERNEL" -initrd "$PLAN86_GUEST_INITRD" \
        -append "console=ttyS0 plan86.test=serial ${APPEND_EXTRA:-}" "${extra[@]}" < "$fifo" 2>&1)
    qemu_pid=$!
    while true; do
        IFS= read -r -t "$(remaining_seconds "$start")" line <&"$qemu_out" || { read_status=$?; break; }
        line="${line%$'\r'}"
        printf '%s\n' "$line" >> "$log_file"
        case "$line" in
            *PLAN86-GUEST-OK*)
                marker_at="$(seconds_since "$start")"
                guest_uptime="${line##*uptime=}"
                printf '%s\n' "$guest_command" >&"$qemu_in" ;;
            "$expected_output") saw_output=1 ;;
            *"PLAN86-CMD-DONE rc=0"*) saw_done=1 ;;
        esac
    done
    exec {qemu_in}>&- {qemu_out}<&-
    rm -f "$fifo"
    if (( read_status > 128 )); then
        kill "$qemu_pid"
        wait "$qemu_pid" || true
        die "QEMU did not exit within ${timeout_seconds}s (serial log: $log_file)"
    fi
    status=0
    wait "$qemu_pid" || status=$?
    [[ -n "$marker_at" ]] || die "no PLAN86-GUEST-OK marker (serial log: $log_file)"
    (( saw_output )) || die "the command's output '$expected_output' did not appear (serial log: $log_file)"
    (( saw_done )) || die "no 'PLAN86-CMD-DONE rc=0' (serial log: $log_file)"
    (( status == 0 )) || die "QEMU exited with status $status (serial log: $log_file)"
    echo "$marker_at $(seconds_since "$start") $guest_uptime"
}

# Seconds left before the boot that started at $1 times out (at least 1).
remaining_seconds() {
    awk -v a="$1" -v b="$(now)" -v t="$timeout_seconds" \
        'BEGIN { r = int(t - (b - a)); print (r < 1 ? 1 : r) }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

main() {
    local runs=1 log_file="" temporary_log="" run result marker exit_time uptime marker_times=""
    while (( $# )); do
        case "$1" in
            --runs) runs="${2:?--runs needs a number}"; shift ;;
            --log) log_file="${2:?--log needs a file}"; shift ;;
            -h|--help) usage 0 ;;
            *) echo "check-with-qemu: unknown argument: $1" >&2; usage 2 ;;
        esac
        shift
    done
    [[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
    command -v qemu-system-i386 >/dev/null || die "qemu-system-i386 is missing (apt-get install qemu-system-x86)"

    eval "$("$repo/tools/build-guest.sh" --print-paths)"
    if [[ -z "$log_file" ]]; then
        log_file="$(mktemp "${TMPDIR:-/tmp}/plan86-qemu-serial.XXXXXX")"
        temporary_log="$log_file"
    fi
    for (( run = 1; run <= runs; run++ )); do
        result="$(boot_once "$log_file")"
        read -r marker exit_time uptime <<< "$result"
        echo "run $run: marker after ${marker}s, exit after ${exit_time}s (guest uptime at marker ${uptime}s)"
        marker_times+="$marker"$'\n'
    done
    echo "PASS: median wall-clock to PLAN86-GUEST-OK over $runs run(s): $(printf '%s' "$marker_times" | median)s"
    if [[ -n "$temporary_log" ]]; then rm -f "$temporary_log"; fi
}

main "$@"
