/* gen_priv.h — what the two halves of the difftest generator share: gen.c
 * (integer forms, sequence assembly) and gen_x87.c (x87 forms, FPU state).
 *
 * Promises: the generator's state (struct gen) with its roll-back-able part
 * (struct track), the random helpers, and the emitters of bytes, parts and
 * memory operands. Not for use outside the generator.
 */
#ifndef DIFFTEST_GEN_PRIV_H
#define DIFFTEST_GEN_PRIV_H

#include "gen.h"

enum { CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800, DF = 0x400 };
#define ALLF (CF | PF | AF | ZF | SF | OF)
#define LOGIC_DEF (CF | PF | ZF | SF | OF)
enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
#define RB(r) (1u << (r))

/* What the generator knows while it emits: can be rolled back as a whole. */
struct track {
    uint32_t len;
    int nparts;
    uint16_t undef;         /* arithmetic EFLAGS undefined now */
    uint16_t fsw_undef;     /* x87 condition codes (C0-C3) undefined now */
    bool df;
    bool known[8];
    uint32_t val[8];
};

struct gen {
    uint32_t rng;
    struct dt_seq *seq;
    int base;           /* register pointing into the data buffer, never written */
    int skip_depth;     /* inside a forward-jump region */
    uint32_t reserved;  /* registers set up for the instruction being built */
    bool x87;           /* the sequence runs with an FPU state and may use the x87 */
    struct track t;
};

static inline uint32_t rnd(struct gen *g) { return dt_xorshift(&g->rng); }
static inline uint32_t below(struct gen *g, uint32_t n) { return rnd(g) % n; }
static inline bool one_in(struct gen *g, uint32_t n) { return below(g, n) == 0; }

/* A 32-bit value biased towards edge cases. */
uint32_t interesting(struct gen *g);

void put8(struct gen *g, uint32_t b);
void put_le(struct gen *g, uint32_t v, int bytes);

/* A part spans the bytes emitted between part_begin and part_end; part_end
 * applies the EFLAGS it defines / leaves undefined, and records both the
 * EFLAGS and the x87 condition codes undefined before and after it. */
void part_begin(struct gen *g, const char *name, int size, bool setup);
void part_end(struct gen *g, uint16_t def, uint16_t undef);
void emit_fixed(struct gen *g, const char *name, const uint8_t *b, int n, uint16_t def, uint16_t undef);

void clobber(struct gen *g, int n, int size);

struct mem_op {
    uint8_t mod, rm, sib;
    bool has_sib;
    uint8_t disp_len;
    uint32_t disp;
};

/* A linear address for an operand of up to 16 bytes: in the data buffer, or
 * (when allow_esp, sometimes) near ESP in the stack buffer. */
uint32_t pick_mem_target(struct gen *g, bool allow_esp, bool *on_stack);
/* Encodes a random addressing form that reaches `target`; may emit a set-up
 * MOV for an index register. */
void plan_mem_at(struct gen *g, struct mem_op *m, uint32_t target, bool on_stack);
void put_modrm(struct gen *g, const struct mem_op *m, int reg);

/* gen_x87.c: one x87 instruction (with its set-up); false when not possible here. */
bool x87_emit_one(struct gen *g);
/* gen_x87.c: a random but valid FNSAVE image (exceptions masked) from *rng. */
void x87_initial_state(uint32_t *rng, uint8_t image[DT_FPU_IMAGE]);

#endif
