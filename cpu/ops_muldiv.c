/* ops_muldiv.c — integer multiply and divide: MUL/IMUL/DIV/IDIV (F6/F7 /4-/7),
 * IMUL r,r/m (0F AF) and IMUL r,r/m,imm (69, 6B).
 *
 * Promises: products and dividends are computed in 64 bits, so no operand
 * can trap or overflow on the host (IDIV of INT_MIN by -1 included). MUL and
 * IMUL set CF=OF when the product does not fit the destination (unsigned, or
 * as a sign extension); SF/ZF/PF follow the low half and AF is 0 (undefined
 * on Intel). A zero divisor or a quotient that does not fit raises #DE before
 * anything changes; DIV/IDIV leave the flags alone (all undefined).
 */
#include "ops_common.h"

enum signedness { UNSIGNED, SIGNED };

/* The operand as a 64-bit number of the given signedness. */
static inline int64_t operand_value(uint32_t v, int size, enum signedness s)
{
    return s == SIGNED ? sign_extend(v, size) : (int64_t)(v & size_mask(size));
}

/* ---- multiply ---- */

/* The exact product of two size-byte operands, as 64 bits (two's complement
 * for IMUL). */
static inline uint64_t multiply(uint32_t a, uint32_t b, int size, enum signedness s)
{
    if (s == UNSIGNED) return (uint64_t)(a & size_mask(size)) * (b & size_mask(size));
    return (uint64_t)(sign_extend(a, size) * sign_extend(b, size));
}

/* Whether the product fits the low half: for IMUL, the low half sign-extends
 * to the product; for MUL, the high half is zero. */
static inline bool product_fits(uint64_t p, int size, enum signedness s)
{
    uint32_t low = (uint32_t)p & size_mask(size);
    return s == SIGNED ? (uint64_t)sign_extend(low, size) == p : (p >> (size * 8)) == 0;
}

static inline void multiply_flags(struct cpu *c, uint64_t p, int size, enum signedness s)
{
    uint32_t overflow = product_fits(p, size, s) ? 0 : F_CF | F_OF;
    flags_set(c, F_ARITH, flags_szp((uint32_t)p, size) | overflow);
}

/* MUL/IMUL r/m: AX = AL * r/m8, DX:AX = AX * r/m16, EDX:EAX = EAX * r/m32. */
ALWAYS_INLINE void mul_acc(struct cpu *c, const struct insn *i, enum signedness s, int size)
{
    uint32_t src = rm_read(c, i, size);
    uint64_t p = multiply(reg_read(c, R_EAX, size), src, size, s);
    if (size == 1) {
        set_r16(c, R_EAX, (uint16_t)p);
    } else {
        reg_write(c, R_EAX, (uint32_t)p, size);
        reg_write(c, R_EDX, (uint32_t)(p >> (size * 8)), size);
    }
    multiply_flags(c, p, size, s);
}

/* IMUL r, r/m and IMUL r, r/m, imm: the truncated product in ModRM.reg. */
static inline void imul_to_reg(struct cpu *c, const struct insn *i, int size, uint32_t a, uint32_t b)
{
    uint64_t p = multiply(a, b, size, SIGNED);
    reg_write(c, i->reg, (uint32_t)p, size);
    multiply_flags(c, p, size, SIGNED);
}

ALWAYS_INLINE void imul_reg_rm(struct cpu *c, const struct insn *i, int size)
{
    uint32_t src = rm_read(c, i, size);
    imul_to_reg(c, i, size, reg_read(c, i->reg, size), src);
}

ALWAYS_INLINE void imul_reg_rm_imm(struct cpu *c, const struct insn *i, int size)
{
    imul_to_reg(c, i, size, rm_read(c, i, size), i->imm);
}

/* ---- divide ---- */

/* The double-width dividend: AX, DX:AX or EDX:EAX. */
static inline uint64_t dividend_bits(const struct cpu *c, int size)
{
    if (size == 1) return get_r16(c, R_EAX);
    return (uint64_t)reg_read(c, R_EDX, size) << (size * 8) | reg_read(c, R_EAX, size);
}

/* The dividend as a signed number (EDX:EAX: two's complement in 64 bits). */
static inline int64_t signed_dividend(const struct cpu *c, int size)
{
    uint64_t bits = dividend_bits(c, size);
    return size == 4 ? (int64_t)bits : sign_extend((uint32_t)bits, size * 2);
}

/* DIV/IDIV r/m: quotient to AL/AX/EAX, remainder to AH/DX/EDX. */
ALWAYS_INLINE void divide(struct cpu *c, const struct insn *i, enum signedness s, int size)
{
    int64_t divisor = operand_value(rm_read(c, i, size), size, s);
    if (divisor == 0) cpu_raise(c, EXC_DE, EXC_NOERR);
    uint64_t quotient_bits, remainder_bits;
    bool fits;
    if (s == UNSIGNED) {
        uint64_t n = dividend_bits(c, size), d = (uint64_t)divisor;
        quotient_bits = n / d;
        remainder_bits = n % d;
        fits = quotient_bits <= size_mask(size);
    } else {
        int64_t n = signed_dividend(c, size);
        if (n == INT64_MIN && divisor == -1) cpu_raise(c, EXC_DE, EXC_NOERR);
        int64_t q = n / divisor, limit = (int64_t)size_sign(size);
        quotient_bits = (uint64_t)q;
        remainder_bits = (uint64_t)(n % divisor);
        fits = q >= -limit && q < limit;
    }
    if (!fits) cpu_raise(c, EXC_DE, EXC_NOERR);
    if (size == 1) {
        set_r16(c, R_EAX, (uint16_t)((remainder_bits & 0xFF) << 8 | (quotient_bits & 0xFF)));
    } else {
        reg_write(c, R_EAX, (uint32_t)quotient_bits, size);
        reg_write(c, R_EDX, (uint32_t)remainder_bits, size);
    }
}

KIND_HANDLERS_ALL(op_mul, mul_acc, UNSIGNED)
KIND_HANDLERS_ALL(op_imul, mul_acc, SIGNED)
KIND_HANDLERS_ALL(op_div, divide, UNSIGNED)
KIND_HANDLERS_ALL(op_idiv, divide, SIGNED)

static void op_imul_reg_rm_16(struct cpu *c, const struct insn *i) { imul_reg_rm(c, i, 2); }
static void op_imul_reg_rm_32(struct cpu *c, const struct insn *i) { imul_reg_rm(c, i, 4); }
static void op_imul_imm_16(struct cpu *c, const struct insn *i) { imul_reg_rm_imm(c, i, 2); }
static void op_imul_imm_32(struct cpu *c, const struct insn *i) { imul_reg_rm_imm(c, i, 4); }

/* ---- opcode table ---- */

const struct opdesc ops_muldiv[] = {
    BYTE(0xF6, 4, M, op_mul),
    BYTE(0xF6, 5, M, op_imul),
    BYTE(0xF6, 6, M, op_div),
    BYTE(0xF6, 7, M, op_idiv),
    SIZED(0xF7, 4, M, op_mul),
    SIZED(0xF7, 5, M, op_imul),
    SIZED(0xF7, 6, M, op_div),
    SIZED(0xF7, 7, M, op_idiv),
    SIZED(0x1AF, -1, M, op_imul_reg_rm),
    SIZED(0x69, -1, M | DI(IMM_IV), op_imul_imm),
    SIZED(0x6B, -1, M | DI(IMM_SB), op_imul_imm),
    OPDESC_END
};
