/* bench-qemu.h — times guest loops under QEMU's software emulation (TCG).
 *
 * Promises: qemu_time_loops() writes a multiboot (v1, flat "a.out kludge")
 * image holding a small 32-bit driver and the given loops, boots it with
 * `qemu-system-i386 -accel tcg` (flat protected mode, paging off, interrupts
 * off), and returns each loop's wall time. The driver brackets every loop with
 * marker bytes on port 0xE9 (debugcon, read from a pipe and timestamped as
 * they arrive) and ends QEMU through the isa-debug-exit device. The loop bytes
 * run unchanged except the HLT that ends them, which becomes a RET to the
 * driver. QEMU is looked up on PATH; its absence is a status, not a failure.
 *
 * Guest memory the loops may use: anything below QEMU_LOOP_IMAGE_BASE except
 * the first 64 KiB (QEMU's boot data) — e.g. stacks below 640 KiB and buffers
 * from 1 MiB up.
 */
#ifndef PLAN86_BENCH_QEMU_H
#define PLAN86_BENCH_QEMU_H

#include <stddef.h>
#include <stdint.h>

#define QEMU_BINARY "qemu-system-i386"
#define QEMU_LOOP_IMAGE_BASE 0x400000u
#define QEMU_MAX_LOOPS 16
#define QEMU_MAX_LOOP_BYTES 4096

struct qemu_loop {
    const uint8_t *code;
    size_t code_len;        /* at most QEMU_MAX_LOOP_BYTES */
    size_t exit_offset;     /* offset of the HLT that ends the loop */
    uint32_t regs[8];       /* EAX..EDI (x86 encoding order, ESP included) at entry */
};

enum qemu_status { QEMU_OK, QEMU_ABSENT, QEMU_FAILED };

/* Runs `count` (1..QEMU_MAX_LOOPS) loops in one QEMU process, in order, and
 * stores their wall times in seconds[]. On QEMU_FAILED a one-line reason has
 * been printed on stderr. */
enum qemu_status qemu_time_loops(const struct qemu_loop *loops, size_t count, double *seconds);

#endif
