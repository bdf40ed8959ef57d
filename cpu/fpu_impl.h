/* fpu_impl.h — helpers shared by the x87 files (ops_fpu.c, fpu_env.c).
 *
 * Promises: register-stack access relative to TOP, the derived 2-bit tag
 * word, the exception-summary bookkeeping (ES/B and the FERR# line), FNINIT,
 * and byte-block memory access for the multi-byte x87 operands (all of a
 * store's pages are probed first, so a fault writes nothing).
 */
#ifndef PLAN86_CPU_FPU_IMPL_H
#define PLAN86_CPU_FPU_IMPL_H

#include "internal.h"

static const struct f80 f80_indefinite = { 0xC000000000000000ull, 0xFFFF };

static inline int fpu_top(const struct fpu *f) { return (f->sw >> 11) & 7; }
static inline void fpu_set_top(struct fpu *f, int top)
{
    f->sw = (uint16_t)((f->sw & ~FSW_TOP) | ((top & 7) << 11));
}
static inline int st_phys(const struct fpu *f, int i) { return (fpu_top(f) + i) & 7; }
static inline bool st_empty(const struct fpu *f, int i) { return !((f->full >> st_phys(f, i)) & 1); }
static inline struct f80 *st_ref(struct fpu *f, int i) { return &f->st[st_phys(f, i)]; }
static inline void st_write(struct fpu *f, int i, struct f80 v)
{
    int p = st_phys(f, i);
    f->st[p] = v;
    f->full |= (uint8_t)(1u << p);
}
static inline void fpu_pop(struct fpu *f)
{
    f->full &= (uint8_t)~(1u << fpu_top(f));
    fpu_set_top(f, fpu_top(f) + 1);
}
static inline void fpu_push(struct fpu *f, struct f80 v)
{
    fpu_set_top(f, fpu_top(f) - 1);
    st_write(f, 0, v);
}

/* A control word as FLDCW leaves it: bits 6 reads as one, 13..15 as zero. */
static inline uint16_t fpu_cw_value(uint32_t v) { return (uint16_t)((v & ~0xE0C0u) | 0x0040u); }

/* 2-bit tag of physical register p: 0 valid, 1 zero, 2 special, 3 empty. */
int fpu_tag(const struct fpu *f, int p);
uint16_t fpu_tag_word(const struct fpu *f);
/* Recomputes ES and B from the flags and masks; drives FERR# low when the
 * summary clears. */
void fpu_update_es(struct cpu *c);
/* FNINIT: CW 0x37F, SW 0, all empty, pointers cleared. */
void fpu_init(struct cpu *c);

/* Memory operand blocks of n bytes at the instruction's effective address
 * plus `off` (offsets wrap at 64 KiB with 16-bit addressing). */
void fpu_mem_read(struct cpu *c, const struct insn *i, uint32_t off, void *dst, int n);
void fpu_mem_write(struct cpu *c, const struct insn *i, uint32_t off, const void *src, int n);
/* Faults now (#GP/#SS/#PF) if any byte of [off, off+n) cannot be written. */
void fpu_mem_probe_write(struct cpu *c, const struct insn *i, uint32_t off, int n);

/* Memory-form handlers of the environment group (fpu_env.c). */
void fpu_op_fldenv(struct cpu *c, const struct insn *i);
void fpu_op_fnstenv(struct cpu *c, const struct insn *i);
void fpu_op_frstor(struct cpu *c, const struct insn *i);
void fpu_op_fnsave(struct cpu *c, const struct insn *i);
/* 0F AE /0 and /1 (they do their own #NM check). */
void fpu_op_fxsave(struct cpu *c, const struct insn *i);
void fpu_op_fxrstor(struct cpu *c, const struct insn *i);

#endif
