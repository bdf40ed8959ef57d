#!/usr/bin/env bash
# bench-fsjson.sh — the fs.json benchmark of issue #6 ("What it must show" 4): boot time
# and first-read latency of a big file on a guest root served as a v86 fs.json image
# over HTTP, with a cold and with a warm blob cache, against the same tree on plan86's
# --fs-dir and on `qemu-system-i386 -accel tcg` with `-fsdev local` (when installed).
# The root tree of tools/build-rootfs.sh plus /bench/big (random, 16 MiB by default)
# is made into an image with plan86-fs2json and plan86-copy-to-sha256 (plain .bin
# blobs) and served by tests/blobstore/blob_server.py on 127.0.0.1; the small kernel of
# tools/build-kernel.sh boots with root=host9p and plan86.test=fsjson-bench, whose
# /tests/fsjson-bench.sh reads /bench/big twice (cold, then warm: the first 64 KiB,
# then the whole file). Every console line is timestamped by the host as it arrives:
#   boot     process start to the marker PLAN86-ROOT9P-OK
#   first    a read of the file's first 64 KiB (cold: the first since boot)
#   whole    a read of the whole file just after
#   wall     process start to exit (boot, reads, power-off)
# Four configurations, one run each per round, rounds interleaved so all see the same
# host load:
#   json-cold  plan86 --fs-json with a fresh, empty --fs-cache-dir (a new process;
#              --fs-cache is set to hold the big file)
#   json-warm  plan86 --fs-json with the cache dir the cold run just filled
#   fs-dir     plan86 --fs-dir on the tree itself
#   qemu       QEMU, -fsdev local on the tree (skipped when qemu-system-i386 is missing)
# All run in real time (plan86 without --deterministic). The benchmark checks that
# the cold run fetched the big blob from the server and the warm run did not. The
# summary gives the medians and their ratios to fs-dir and to QEMU.
# A benchmark, not a test: it fails only when a run fails or times out.
#
# Usage: tools/bench-fsjson.sh [--runs N] [--timeout SECONDS] [--big-mib N]
#                              PLAN86_BINARY [TOOLS_DIR]
#   --runs N             rounds (default 3)
#   --timeout SECONDS    wall-clock seconds one run may take (default 300)
#   --big-mib N          size of /bench/big in MiB (default 16)
#   TOOLS_DIR            where plan86-fs2json and plan86-copy-to-sha256 are
#                        (default: the tools folder beside PLAN86_BINARY's folder)
# Environment: PLAN86_EXTRA  extra plan86 options
#              QEMU_EXTRA    extra QEMU options (e.g. "-nic none")
# Exit status: 0 when every run worked, 1 when one did not, 2 on bad arguments.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
test_name=fsjson-bench
metrics=(boot_s cold-first_ms cold-whole_ms warm-first_ms warm-whole_ms wall_s)

# Script state: the options (set by main), the configurations to run, the scratch
# folder (tree, image, cache, logs and the run records) and the big file's blob.
runs=3
timeout_seconds=300
big_mib=16
plan86=""
configs=(json-cold json-warm fs-dir)
fsjson_work=""
fsjson_tools=""
fsjson_repo="$repo"
big_blob=""

die() { echo "bench-fsjson: $*" >&2; exit 1; }

usage() {
    sed -n '/^# Usage:/,/^# Exit status:/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit "$1"
}

cleanup() {
    if [[ -n "$fsjson_work" ]]; then
        fsjson_stop_server
        rm -rf "$fsjson_work"
    fi
}

# The tree with /bench/big, its image, and the server for it.
prepare() {
    local tree="$fsjson_work/tree"
    cp -a "$PLAN86_ROOTFS" "$tree"
    [[ -f "$tree/tests/$test_name.sh" ]] || die "the root tree has no /tests/$test_name.sh"
    mkdir "$tree/bench"
    head -c $(( big_mib << 20 )) /dev/urandom > "$tree/bench/big"
    fsjson_make_image "$tree" "$fsjson_work/image" > /dev/null || die "the image tools failed"
    big_blob="$(fsjson_blob_of "$fsjson_work/image/fs.json" /bench/big)" || die "no blob for /bench/big"
    fsjson_start_server "$fsjson_work/image" || die "the blob server did not start"
}

# Runs configuration $1 to its exit, console on stdout, its stderr in $2.
run_config() {
    local config="$1" stderr_file="$2" append="$PLAN86_KERNEL_9P_APPEND plan86.test=$test_name"
    local -a extra=() fs=()
    case "$config" in
        json-cold | json-warm)
            fs=(--fs-json "$fsjson_url/fs.json" --fs-base "$fsjson_url/blobs/"
                --fs-cache "$(( big_mib + 64 ))M" --fs-cache-dir "$fsjson_work/cache") ;;
        fs-dir) fs=(--fs-dir "$fsjson_work/tree") ;;
    esac
    if [[ "$config" == qemu ]]; then
        read -r -a extra <<< "${QEMU_EXTRA:-}"
        timeout "$timeout_seconds" qemu-system-i386 -accel tcg -m 256 -nographic -no-reboot \
            -kernel "$PLAN86_KERNEL_9P" -append "$append" \
            -fsdev "local,id=r,path=$fsjson_work/tree,security_model=none" \
            -device virtio-9p-pci,fsdev=r,mount_tag=host9p "${extra[@]}" < /dev/null 2> "$stderr_file"
    else
        read -r -a extra <<< "${PLAN86_EXTRA:-}"
        timeout "$timeout_seconds" "$plan86" -m 256M --no-reboot "${extra[@]}" "${fs[@]}" \
            --kernel "$PLAN86_KERNEL_9P" --append "$append" < /dev/null 2> "$stderr_file"
    fi
}

fail_run() {
    {
        echo "bench-fsjson: $1; the last lines of its console and stderr:"
        tail -n 15 "$2"
        cat "$2.stderr"
    } >&2
    exit 1
}

# Prints "METRIC VALUE" lines for timestamped log $1 of a run that started at $2 (us).
log_metrics() {
    awk -v start="$2" '
        $2 == "PLAN86-ROOT9P-OK" && !boot { printf "boot_s %.3f\n", ($1 - start) / 1e6; boot = 1 }
        $2 == "PLAN86-BENCH" && $3 == "begin" { begin[$4] = $1 }
        $2 == "PLAN86-BENCH" && $3 == "end" && ($4 in begin) { printf "%s_ms %.1f\n", $4, ($1 - begin[$4]) / 1e3 }
    ' "$1"
}

# How many times the server has been asked for the big blob so far.
big_blob_requests() {
    grep -c -x "blob-server: GET /blobs/$big_blob" "$fsjson_server_log" || true
}

# The big blob was fetched (cold) or not (warm) during the run, given the count before.
check_fetches() {
    local config="$1" before="$2" log_file="$3" fetched
    fetched=$(( $(big_blob_requests) - before ))
    case "$config" in
        json-cold) (( fetched >= 1 )) || fail_run "json-cold did not fetch /bench/big's blob" "$log_file" ;;
        json-warm) (( fetched == 0 )) || fail_run "json-warm fetched /bench/big's blob $fetched times" "$log_file" ;;
    esac
}

# One run of configuration $1 (round $2): prints it and appends "CONFIG METRIC VALUE"
# records to the run records.
record_run() {
    local config="$1" round="$2" log_file start status before metric value
    log_file="$fsjson_work/$config-$round.log"
    [[ "$config" != json-cold ]] || rm -rf "$fsjson_work/cache"
    mkdir -p "$fsjson_work/cache"
    before=$(big_blob_requests)
    start=${EPOCHREALTIME//[!0-9]/}
    set +e
    run_config "$config" "$log_file.stderr" | fsjson_stamp_lines > "$log_file"
    status=${PIPESTATUS[0]}
    set -e
    value=$(( ${EPOCHREALTIME//[!0-9]/} - start ))
    (( status != 124 )) || fail_run "$config did not finish within ${timeout_seconds}s" "$log_file"
    (( status == 0 )) || fail_run "$config exited with status $status" "$log_file"
    grep -q "PLAN86-TEST-DONE $test_name rc=0" "$log_file" ||
        fail_run "$config: /tests/$test_name.sh did not pass" "$log_file"
    check_fetches "$config" "$before" "$log_file"
    { log_metrics "$log_file" "$start"; awk -v us="$value" 'BEGIN { printf "wall_s %.3f\n", us / 1e6 }'; } |
        while read -r metric value; do echo "$config $metric $value"; done > "$log_file.metrics"
    for metric in "${metrics[@]}"; do
        grep -q "^$config $metric " "$log_file.metrics" || fail_run "$config: no $metric measured" "$log_file"
    done
    cat "$log_file.metrics" >> "$fsjson_work/runs"
    printf '  round %d  %-9s' "$round" "$config"
    awk '{ printf "  %s %s", $2, $3 } END { printf "\n" }' "$log_file.metrics"
}

# The median of METRIC $2 over the runs of configuration $1.
median_of() {
    awk -v c="$1" -v m="$2" '$1 == c && $2 == m { print $3 }' "$fsjson_work/runs" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

print_summary() {
    local metric config header=() row=() against
    local -A median=()
    echo "== medians of $runs round(s); /bench/big is $big_mib MiB; host load average now $(cut -d ' ' -f 1-3 /proc/loadavg)"
    for config in "${configs[@]}"; do header+=("$config"); done
    for against in fs-dir qemu; do
        [[ " ${configs[*]} " == *" $against "* ]] || continue
        for config in json-cold json-warm; do header+=("$config/$against"); done
    done
    printf '  %-14s' ''; printf ' %17s' "${header[@]}"; printf '\n'
    for metric in "${metrics[@]}"; do
        row=()
        for config in "${configs[@]}"; do
            median[$config]="$(median_of "$config" "$metric")"
            row+=("${median[$config]}")
        done
        for against in fs-dir qemu; do
            [[ -n "${median[$against]:-}" ]] || continue
            for config in json-cold json-warm; do row+=("$(ratio "${median[$config]}" "${median[$against]}")"); done
        done
        printf '  %-14s' "$metric"; printf ' %17s' "${row[@]}"; printf '\n'
    done
    echo "  (_s: seconds, _ms: milliseconds, all by the host's clock; a ratio above 1 means slower)"
}

parse_options() {
    while (( $# )); do
        case "$1" in
            --runs) runs="${2:?--runs needs a number}"; shift ;;
            --timeout) timeout_seconds="${2:?--timeout needs a number of seconds}"; shift ;;
            --big-mib) big_mib="${2:?--big-mib needs a number}"; shift ;;
            -h|--help) usage 0 ;;
            -*) echo "bench-fsjson: unknown option: $1" >&2; usage 2 ;;
            *) if [[ -z "$plan86" ]]; then plan86="$1"
               elif [[ -z "$fsjson_tools" ]]; then fsjson_tools="$1"
               else usage 2; fi ;;
        esac
        shift
    done
    [[ -n "$plan86" ]] || usage 2
    local name
    for name in runs timeout_seconds big_mib; do
        [[ "${!name}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-fsjson: ${name//_/ } must be a positive number" >&2; exit 2; }
    done
    [[ -x "$plan86" ]] || die "not an executable: $plan86"
    fsjson_tools="${fsjson_tools:-$(dirname "$plan86")/../tools}"
    [[ -x "$fsjson_tools/plan86-fs2json" && -x "$fsjson_tools/plan86-copy-to-sha256" ]] ||
        die "no plan86-fs2json and plan86-copy-to-sha256 in $fsjson_tools (give TOOLS_DIR)"
}

main() {
    local round config paths
    parse_options "$@"
    if command -v qemu-system-i386 > /dev/null; then
        configs+=(qemu)
    else
        echo "bench-fsjson: qemu-system-i386 is missing (apt-get install qemu-system-x86); no QEMU column" >&2
    fi
    paths="$("$repo/tools/build-kernel.sh" --print-paths)" || die "tools/build-kernel.sh failed"
    eval "$paths"
    paths="$("$repo/tools/build-rootfs.sh" --print-paths)" || die "tools/build-rootfs.sh failed"
    eval "$paths"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    fsjson_work="$(mktemp -d "${TMPDIR:-/tmp}/plan86-bench-fsjson.XXXXXX")"
    # shellcheck source=tests/fsjson/fsjson-lib.sh
    source "$repo/tests/fsjson/fsjson-lib.sh"
    prepare
    echo "bench-fsjson: $runs round(s) of ${configs[*]}, interleaved; kernel $PLAN86_KERNEL_9P;" \
         "/bench/big $big_mib MiB (blob $big_blob)"
    echo "bench-fsjson: $("$plan86" --version 2>&1 | head -n 1)"
    if [[ " ${configs[*]} " == *" qemu "* ]]; then echo "bench-fsjson: $(qemu-system-i386 --version | head -n 1)"; fi
    echo "bench-fsjson: host: $(nproc) CPUs, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
    for (( round = 1; round <= runs; round++ )); do
        for config in "${configs[@]}"; do
            record_run "$config" "$round"
        done
    done
    print_summary
}

main "$@"
