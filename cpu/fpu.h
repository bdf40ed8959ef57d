/* fpu.h — x87 FPU state (the ops live in ops_fpu.c and fpu_env.c).
 *
 * Promises: the architectural x87 state held beside the integer state in
 * struct cpu: eight 80-bit registers kept as raw bit patterns (so every
 * encoding, unnormals and pseudo-NaNs included, survives untouched), the
 * control and status words (TOP lives in the status word), which physical
 * registers are non-empty (the full tag word is derived from the contents, as
 * P6-class hardware does), and the last instruction/operand pointers that
 * FSTENV/FSAVE/FXSAVE report. fpu_reset gives the power-on state.
 */
#ifndef PLAN86_CPU_FPU_H
#define PLAN86_CPU_FPU_H

#include <stdbool.h>
#include <stdint.h>

/* An 80-bit extended value: 64-bit significand (explicit integer bit 63) and
 * sign (bit 15) with a 15-bit biased exponent. The layout matches memory. */
struct f80 {
    uint64_t mant;
    uint16_t sexp;
};

struct fpu {
    struct f80 st[8];      /* physical registers R0..R7 */
    uint16_t cw, sw;       /* sw bits 11..13: TOP */
    uint8_t full;          /* bit n: physical register Rn is not empty */
    bool ferr;             /* FERR# currently asserted */
    uint16_t fop;          /* last non-control opcode: (first byte & 7) << 8 | ModRM */
    uint32_t fip, fdp;     /* last non-control instruction / memory operand offsets */
    uint16_t fcs, fds;
};

/* Control word bits */
enum {
    FCW_IM = 1u << 0, FCW_DM = 1u << 1, FCW_ZM = 1u << 2, FCW_OM = 1u << 3,
    FCW_UM = 1u << 4, FCW_PM = 1u << 5, FCW_MASKS = 0x3F,
    FCW_PC_SHIFT = 8, FCW_RC_SHIFT = 10,
};
/* Status word bits */
enum {
    FSW_IE = 1u << 0, FSW_DE = 1u << 1, FSW_ZE = 1u << 2, FSW_OE = 1u << 3,
    FSW_UE = 1u << 4, FSW_PE = 1u << 5, FSW_SF = 1u << 6, FSW_ES = 1u << 7,
    FSW_C0 = 1u << 8, FSW_C1 = 1u << 9, FSW_C2 = 1u << 10, FSW_TOP = 7u << 11,
    FSW_C3 = 1u << 14, FSW_B = 1u << 15,
    FSW_EXC = 0x3F, FSW_CC = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3,
};

/* Power-on / RESET state: CW 0x0040, SW 0, all registers +0.0 (tags valid). */
void fpu_reset(struct fpu *f);

#endif
