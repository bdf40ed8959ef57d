/* fpu.h — x87 FPU state (the ops live in ops_fpu.c).
 *
 * Promises: the architectural x87 state held beside the integer state in
 * struct cpu: eight 80-bit registers as a stack, control, status and tag
 * words, and the last instruction/operand pointers that FSTENV/FSAVE report.
 */
#ifndef PLAN86_CPU_FPU_H
#define PLAN86_CPU_FPU_H

#include <stdint.h>

struct fpu {
    long double st[8];     /* physical registers R0..R7 (x86-64 long double: 80-bit) */
    uint16_t cw, sw, tw;   /* tw: full 2-bit tags per register */
    uint16_t fop;
    uint32_t fip, fdp;
    uint16_t fcs, fds;
};

#endif
