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
};

struct dt_seq {
    struct dt_case tc;
    uint16_t final_undef;   /* undefined arithmetic flags at the end */
    int nparts;
    struct dt_part part[DT_MAX_PARTS];
};

/* Builds sequence `index` of the run seeded with `seed`, with 1..max_insns
 * tested instructions (max_insns is clamped to 1..12). */
void dt_generate(uint64_t seed, uint64_t index, int max_insns, struct dt_seq *out);

/* The part starting at code offset `off`, or NULL. */
const struct dt_part *dt_part_at(const struct dt_seq *s, uint32_t off);

#endif
