/* fpu_host.h — x87 arithmetic carried out by the host's own x87 unit.
 *
 * Promises: fpu_host_run executes one x87 operation on the host FPU with the
 * guest's control word (rounding, precision control and exception masks) and
 * condition codes, so results, exception flags and condition codes are
 * bit-exact with real hardware, transcendentals included. Unmasked exceptions
 * never reach the host: they are read back and cleared with non-waiting
 * instructions before the host stack is emptied. The guest's stack, tags and
 * exception delivery are the caller's business (ops_fpu.c).
 */
#ifndef PLAN86_CPU_FPU_HOST_H
#define PLAN86_CPU_FPU_HOST_H

#include <stdint.h>

#include "fpu.h"

/* Binary arithmetic: host ST0 := in[0] op in[1]; compares set C0/C2/C3. */
enum host_op {
    HOP_ADD, HOP_MUL, HOP_SUB, HOP_SUBR, HOP_DIV, HOP_DIVR, HOP_COM, HOP_UCOM,
    HOP_TST, HOP_XAM,
    HOP_LD1, HOP_LDL2T, HOP_LDL2E, HOP_LDPI, HOP_LDLG2, HOP_LDLN2, HOP_LDZ,
    HOP_F2XM1, HOP_FYL2X, HOP_FPTAN, HOP_FPATAN, HOP_FXTRACT, HOP_FPREM1,
    HOP_FPREM, HOP_FYL2XP1, HOP_FSQRT, HOP_FSINCOS, HOP_FRNDINT, HOP_FSCALE,
    HOP_FSIN, HOP_FCOS,
    /* mem -> out[0] */
    HOP_LD_F32, HOP_LD_F64, HOP_LD_I16, HOP_LD_I32, HOP_LD_I64, HOP_LD_BCD,
    /* in[0] -> mem */
    HOP_ST_F32, HOP_ST_F64, HOP_ST_I16, HOP_ST_I32, HOP_ST_I64, HOP_ST_BCD,
    /* ST0 := in[0] op mem, by ModRM.reg (FCOMP compares as FCOM), per format */
    HOP_ARITH_F32, HOP_ARITH_F64 = HOP_ARITH_F32 + 8, HOP_ARITH_I32 = HOP_ARITH_F64 + 8,
    HOP_ARITH_I16 = HOP_ARITH_I32 + 8,
    HOP_COUNT = HOP_ARITH_I16 + 8
};

/* Operands and results of one host operation.
 * in: host ST0 = in[0], ST1 = in[1] when the operation starts.
 * out: the host stack afterwards, top first (unused slots hold garbage).
 * cw: guest control word; sw: guest status word in (only the condition codes
 * are used), the host status word out (condition codes and new exceptions). */
struct host_x87 {
    struct f80 in[2];
    struct f80 out[3];
    uint8_t mem[16];
    uint16_t cw, sw;
};

void fpu_host_run(enum host_op op, struct host_x87 *x);

#endif
