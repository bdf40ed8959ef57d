#!/usr/bin/env bash
# check-with-qemu.sh — boots the kernel of tools/build-kernel.sh in QEMU (TCG) with its
# root on the tree of tools/build-rootfs.sh over virtio-9p (root=host9p, no initramfs),
# with plan86.test=NAME, and checks that the root's /init prints PLAN86-ROOT9P-OK, that
# the test prints "PLAN86-TEST-DONE NAME rc=0" and that QEMU exits with status 0 (the
# guest powers off through ACPI). It prints the wall-clock seconds from QEMU's start to
# the marker and to the exit: the QEMU side of plan86's 9p-root boot benchmark.
# A diagnostic helper, not a CI test. The test writes into the cached tree and cleans up.
#
# Usage: tools/kernel/check-with-qemu.sh [--runs N] [--test NAME] [--log FILE]
#   --runs N     boot N times and print the median times (default 1)
#   --test NAME  the script /tests/NAME.sh of the root tree to run (default fs-basic)
#   --log FILE   keep the serial output of the last run in FILE (without it, the
#                output is kept in a temporary file only when a run fails)
# Environment: QEMU_EXTRA    extra QEMU options (e.g. "-nic none")
#              APPEND_EXTRA  extra kernel command-line words
#              TIMEOUT       seconds a boot may take before it fails (default 120)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
timeout_seconds="${TIMEOUT:-120}"
exit_tag="check-with-qemu: qemu exit status"

die() { echo "check-with-qemu: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

now() { echo "$EPOCHREALTIME"; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

run_qemu() {
    local -a extra=()
    read -r -a extra <<< "${QEMU_EXTRA:-}"
    local status=0
    timeout "$timeout_seconds" qemu-system-i386 -accel tcg -m 256 -nographic -no-reboot \
        -kernel "$PLAN86_KERNEL_9P" \
        -append "$PLAN86_KERNEL_9P_APPEND plan86.test=$test_name ${APPEND_EXTRA:-}" \
        -fsdev "local,id=root9p,path=$PLAN86_ROOTFS,security_model=none" \
        -device virtio-9p-pci,fsdev=root9p,mount_tag=host9p "${extra[@]}" \
        < /dev/null 2>&1 || status=$?
    echo "$exit_tag $status"
}

# One boot. Prints "MARKER_SECONDS EXIT_SECONDS GUEST_UPTIME"; fails with the reason.
boot_once() {
    local log_file="$1" start line marker_at="" guest_uptime="" test_done="" status=""
    : > "$log_file"
    start="$(now)"
    while IFS= read -r line; do
        line="${line%$'\r'}"
        case "$line" in
            *PLAN86-ROOT9P-OK*)
                marker_at="$(seconds_since "$start")"
                guest_uptime="${line##*uptime=}" ;;
            *"PLAN86-TEST-DONE $test_name "*) test_done="${line##*PLAN86-TEST-DONE }" ;;
            "$exit_tag "*) status="${line##* }"; continue ;;
        esac
        printf '%s\n' "$line" >> "$log_file"
    done < <(run_qemu)
    local exit_at
    exit_at="$(seconds_since "$start")"
    [[ "$status" != 124 ]] || die "QEMU did not exit within ${timeout_seconds}s (serial log: $log_file)"
    [[ -n "$marker_at" ]] || die "no PLAN86-ROOT9P-OK marker (serial log: $log_file)"
    [[ "$test_done" == "$test_name rc=0" ]] ||
        die "the test ended with '${test_done:-nothing}' (serial log: $log_file)"
    [[ "$status" == 0 ]] || die "QEMU exited with status $status (serial log: $log_file)"
    echo "$marker_at $exit_at $guest_uptime"
}

main() {
    local runs=1 test_name=fs-basic log_file="" temporary_log="" run result
    local marker exit_time uptime marker_times="" exit_times=""
    while (( $# )); do
        case "$1" in
            --runs) runs="${2:?--runs needs a number}"; shift ;;
            --test) test_name="${2:?--test needs a name}"; shift ;;
            --log) log_file="${2:?--log needs a file}"; shift ;;
            -h|--help) usage 0 ;;
            *) echo "check-with-qemu: unknown argument: $1" >&2; usage 2 ;;
        esac
        shift
    done
    [[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
    command -v qemu-system-i386 >/dev/null || die "qemu-system-i386 is missing (apt-get install qemu-system-x86)"

    eval "$("$repo/tools/build-kernel.sh" --print-paths)"
    eval "$("$repo/tools/build-rootfs.sh" --print-paths)"
    if [[ -z "$log_file" ]]; then
        log_file="$(mktemp "${TMPDIR:-/tmp}/plan86-qemu-serial.XXXXXX")"
        temporary_log="$log_file"
    fi
    for (( run = 1; run <= runs; run++ )); do
        result="$(boot_once "$log_file")"
        read -r marker exit_time uptime <<< "$result"
        echo "run $run: marker after ${marker}s, exit after ${exit_time}s (guest uptime at marker ${uptime}s)"
        marker_times+="$marker"$'\n'
        exit_times+="$exit_time"$'\n'
    done
    echo "PASS: $test_name; median wall clock over $runs run(s): to PLAN86-ROOT9P-OK" \
         "$(printf '%s' "$marker_times" | median)s, to exit $(printf '%s' "$exit_times" | median)s"
    if [[ -n "$temporary_log" ]]; then rm -f "$temporary_log"; fi
}

main "$@"
