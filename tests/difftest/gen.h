/* gen.h — random 32-bit user-mode instruction sequences for the difftest.
 *
 * Promises: dt_generate() builds, from a seed alone, one test case: a short
 * sequence of instructions (ALU, shifts/rotates with all counts, MUL/DIV, BCD,
 * string ops with REP, CMOV/SETcc, BT*, BSF/BSR, CMPXCHG/XADD, stack ops, LEA
 * with all addressing forms, ...) and the initial registers and flags. Every
 * memory operand lands inside the data or stack buffer (proto.h), ESP stays in
 * the stack buffer, no instruction reads a flag that is undefined at that point,
 * and each part of the sequence records which arithmetic flags are undefined
 * before and after it, so a comparison can mask exactly those.
 *
 * With x87 generation on, a share of the sequences (drawn from a stream of
 * their own, so the others stay as they were) also carry a random valid FPU
 * state and mix x87 instructions in: loads and stores of every format,
 * arithmetic in all forms, compares, constants, FLDCW with random rounding and
 * precision (exceptions stay masked), FCMOVcc, stack control, FNSTSW, and the
 * transcendentals with operands in their valid ranges. Their memory operands
 * often get an interesting value (denormal, infinity, NaN, ...) planted first.
 * Each part also records which x87 condition codes (C0-C3) the SDM leaves
 * undefined before and after it.
 */
#ifndef DIFFTEST_GEN_H
#define DIFFTEST_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define DT_MAX_PARTS 64

/* One emitted instruction (a tested one, or a set-up move that feeds it). */
struct dt_part {
    const char *name;       /* mnemonic and operand form, e.g. "shl r/m,cl" */
    uint16_t off;           /* from DT_CODE_ADDR */
    uint8_t len;
    uint8_t size;           /* operand size in bytes (0 when not meaningful) */
    bool setup;             /* prepares operands for the next tested instruction */
    bool cut_ok;            /* the sequence may be cut right after this part */
    uint16_t undef_before;  /* arithmetic flags undefined before / after it */
    uint16_t undef_after;
    uint16_t fsw_undef_before;  /* x87 status word bits (C0-C3) undefined before / after */
    uint16_t fsw_undef_after;
};

struct dt_seq {
    struct dt_case tc;
    uint16_t final_undef;   /* undefined arithmetic flags at the end */
    uint16_t final_fsw_undef;   /* undefined x87 condition codes at the end */
    int nparts;
    struct dt_part part[DT_MAX_PARTS];
};

struct dt_gen_opts {
    int max_insns;          /* 1..12 tested instructions per sequence (clamped) */
    int x87_percent;        /* share of sequences that use the x87; 0: none */
};

/* Builds sequence `index` of the run seeded with `seed`. */
void dt_generate(uint64_t seed, uint64_t index, const struct dt_gen_opts *opts, struct dt_seq *out);

/* The part starting at code offset `off`, or NULL. */
const struct dt_part *dt_part_at(const struct dt_seq *s, uint32_t off);

#endif
