/* ops_common.h — shared shorthand for the ops_*.c handler files.
 *
 * Promises: the per-size handler wrappers (one size-generic body, thin
 * handlers per operand size) and the opcode-table row macros, so every group
 * file writes its handlers and table the same way.
 */
#ifndef PLAN86_CPU_OPS_COMMON_H
#define PLAN86_CPU_OPS_COMMON_H

#include "internal.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Thin per-size handlers around a body `body(c, i, kind, size)`. */
#define KIND_HANDLERS_16_32(name, body, kind)                                             \
    static void name##_16(struct cpu *c, const struct insn *i) { body(c, i, kind, 2); }   \
    static void name##_32(struct cpu *c, const struct insn *i) { body(c, i, kind, 4); }
#define KIND_HANDLERS_ALL(name, body, kind)                                               \
    static void name##_8(struct cpu *c, const struct insn *i) { body(c, i, kind, 1); }    \
    KIND_HANDLERS_16_32(name, body, kind)

/* Thin per-size handlers around a size-generic body `name(c, i, size)`. */
#define SIZE_HANDLERS_16_32(name)                                                         \
    static void name##_16(struct cpu *c, const struct insn *i) { name(c, i, 2); }         \
    static void name##_32(struct cpu *c, const struct insn *i) { name(c, i, 4); }
#define SIZE_HANDLERS_ALL(name)                                                           \
    static void name##_8(struct cpu *c, const struct insn *i) { name(c, i, 1); }          \
    SIZE_HANDLERS_16_32(name)

/* `v` of `size` bytes as a signed number. */
static inline int64_t sign_extend(uint32_t v, int size)
{
    uint32_t sign = size_sign(size);
    return (int64_t)((v & size_mask(size)) ^ sign) - (int64_t)sign;
}

/* Opcode-table rows. */
#define M D_MODRM
#define L D_LOCKOK
#define ROW(op, reg, dec, f16, f32) { (op), (reg), (dec), (f16), (f32) }
#define SIZED(op, reg, dec, name) ROW(op, reg, dec, name##_16, name##_32)
#define BYTE(op, reg, dec, name) ROW(op, reg, dec, name##_8, name##_8)
#define SAME(op, dec, fn) ROW(op, -1, dec, fn, fn)
/* Eight rows for opcodes base..base+7 (register in the opcode, or cc). */
#define ROWS8(base, dec, f16, f32)                                                        \
    ROW((base) + 0, -1, dec, f16, f32), ROW((base) + 1, -1, dec, f16, f32),               \
    ROW((base) + 2, -1, dec, f16, f32), ROW((base) + 3, -1, dec, f16, f32),               \
    ROW((base) + 4, -1, dec, f16, f32), ROW((base) + 5, -1, dec, f16, f32),               \
    ROW((base) + 6, -1, dec, f16, f32), ROW((base) + 7, -1, dec, f16, f32)
#define CC_ROWS(base, dec, f16, f32) ROWS8(base, dec, f16, f32), ROWS8((base) + 8, dec, f16, f32)

#endif
