/* ops_alu.c — integer arithmetic and logic: the eight classic ALU operations,
 * TEST, NOT/NEG, INC/DEC and the BCD adjustments.
 *
 * Promises: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP in every form (r/m,r; r,r/m;
 * accumulator,imm; group 1 80/81/82/83), TEST (84/85/A8/A9, F6/F7 /0 /1),
 * NOT/NEG (F6/F7 /2 /3), INC/DEC (40-4F, FE/FF /0 /1), DAA/DAS/AAA/AAS,
 * AAM/AAD with any base (AAM 0 raises #DE) and SALC, with i686 results and
 * flags. Flags are recorded lazily where flags.c knows the operation. Every
 * handler commits registers, memory and flags only after its last access
 * that can fault.
 */
#include "ops_common.h"

enum { REG8_AH = 4 };

/* ---- the operations ---- */

/* The first eight are in opcode order: (op >> 3) & 7 and group 1's ModRM.reg. */
enum alu_kind {
    ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
    ALU_TEST, ALU_NOT, ALU_NEG, ALU_INC, ALU_DEC,
};

static inline bool alu_writes(enum alu_kind k) { return k != ALU_CMP && k != ALU_TEST; }

/* The result of `a k b`, masked to `size`; ADC/SBB read the carry. */
ALWAYS_INLINE uint32_t alu_result(struct cpu *c, enum alu_kind k, int size, uint32_t a, uint32_t b)
{
    uint32_t r;
    switch (k) {
    case ALU_ADD: r = a + b; break;
    case ALU_ADC: r = a + b + (flag_cf(c) ? 1 : 0); break;
    case ALU_SUB: case ALU_CMP: r = a - b; break;
    case ALU_SBB: r = a - b - (flag_cf(c) ? 1 : 0); break;
    case ALU_OR: r = a | b; break;
    case ALU_XOR: r = a ^ b; break;
    case ALU_AND: case ALU_TEST: r = a & b; break;
    case ALU_NOT: r = ~a; break;
    case ALU_NEG: r = 0u - a; break;
    case ALU_INC: r = a + 1; break;
    default: r = a - 1; break;   /* ALU_DEC */
    }
    return r & size_mask(size);
}

/* Records the flags of `res = a k b` (NOT leaves them alone). */
ALWAYS_INLINE void alu_flags(struct cpu *c, enum alu_kind k, int size, uint32_t res, uint32_t a,
                             uint32_t b)
{
    switch (k) {
    case ALU_ADD: flags_lazy(c, LF_ADD, size, res, a, b); break;
    case ALU_ADC: flags_lazy(c, LF_ADC, size, res, a, b); break;
    case ALU_SUB: case ALU_CMP: flags_lazy(c, LF_SUB, size, res, a, b); break;
    case ALU_SBB: flags_lazy(c, LF_SBB, size, res, a, b); break;
    case ALU_NEG: flags_lazy(c, LF_SUB, size, res, 0, a); break;
    case ALU_INC: flags_lazy_incdec(c, LF_INC, size, res, a); break;
    case ALU_DEC: flags_lazy_incdec(c, LF_DEC, size, res, a); break;
    case ALU_NOT: break;
    default: flags_lazy(c, LF_LOGIC, size, res, a, b); break;   /* OR, AND, XOR, TEST */
    }
}

/* ---- operand forms ---- */

/* r/m k= b. A memory destination is checked for writing before it is read,
 * unless the operation only compares. */
ALWAYS_INLINE void alu_on_rm(struct cpu *c, const struct insn *i, enum alu_kind k, int size,
                             uint32_t b)
{
    if (!(i->flags & I_MEM)) {
        uint32_t a = reg_read(c, i->rm, size);
        uint32_t res = alu_result(c, k, size, a, b);
        if (alu_writes(k)) reg_write(c, i->rm, res, size);
        alu_flags(c, k, size, res, a, b);
        return;
    }
    if (!alu_writes(k)) {
        uint32_t a = rm_read(c, i, size);
        alu_flags(c, k, size, alu_result(c, k, size, a, b), a, b);
        return;
    }
    uint32_t lin = rm_lin_rw(c, i, size);
    uint32_t a = lin_read(c, lin, size);
    uint32_t res = alu_result(c, k, size, a, b);
    lin_write(c, lin, res, size);
    alu_flags(c, k, size, res, a, b);
}

/* register n k= b */
ALWAYS_INLINE void alu_on_reg(struct cpu *c, enum alu_kind k, int size, int n, uint32_t b)
{
    uint32_t a = reg_read(c, n, size);
    uint32_t res = alu_result(c, k, size, a, b);
    if (alu_writes(k)) reg_write(c, n, res, size);
    alu_flags(c, k, size, res, a, b);
}

ALWAYS_INLINE void alu_rm_reg(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_rm(c, i, k, size, reg_read(c, i->reg, size));
}
ALWAYS_INLINE void alu_reg_rm(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_reg(c, k, size, i->reg, rm_read(c, i, size));
}
ALWAYS_INLINE void alu_acc_imm(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_reg(c, k, size, R_EAX, i->imm & size_mask(size));
}
/* Group 1 and F6/F7 /0: the immediate (sign-extended for 83) cut to size. */
ALWAYS_INLINE void alu_rm_imm(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_rm(c, i, k, size, i->imm & size_mask(size));
}
/* NOT, NEG, INC, DEC of the r/m operand */
ALWAYS_INLINE void alu_rm_unary(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_rm(c, i, k, size, 0);
}
/* INC, DEC of the register in the opcode (40-4F) */
ALWAYS_INLINE void alu_opreg_unary(struct cpu *c, const struct insn *i, enum alu_kind k, int size)
{
    alu_on_reg(c, k, size, i->op & 7, 0);
}

/* The four forms of one binary operation, each in three sizes. */
#define ALU_BINARY_HANDLERS(name, kind)                                                   \
    KIND_HANDLERS_ALL(name##_rm_reg, alu_rm_reg, kind)                                    \
    KIND_HANDLERS_ALL(name##_reg_rm, alu_reg_rm, kind)                                    \
    KIND_HANDLERS_ALL(name##_acc_imm, alu_acc_imm, kind)                                  \
    KIND_HANDLERS_ALL(name##_rm_imm, alu_rm_imm, kind)

ALU_BINARY_HANDLERS(op_add, ALU_ADD)
ALU_BINARY_HANDLERS(op_or, ALU_OR)
ALU_BINARY_HANDLERS(op_adc, ALU_ADC)
ALU_BINARY_HANDLERS(op_sbb, ALU_SBB)
ALU_BINARY_HANDLERS(op_and, ALU_AND)
ALU_BINARY_HANDLERS(op_sub, ALU_SUB)
ALU_BINARY_HANDLERS(op_xor, ALU_XOR)
ALU_BINARY_HANDLERS(op_cmp, ALU_CMP)

KIND_HANDLERS_ALL(op_test_rm_reg, alu_rm_reg, ALU_TEST)
KIND_HANDLERS_ALL(op_test_acc_imm, alu_acc_imm, ALU_TEST)
KIND_HANDLERS_ALL(op_test_rm_imm, alu_rm_imm, ALU_TEST)
KIND_HANDLERS_ALL(op_not_rm, alu_rm_unary, ALU_NOT)
KIND_HANDLERS_ALL(op_neg_rm, alu_rm_unary, ALU_NEG)
KIND_HANDLERS_ALL(op_inc_rm, alu_rm_unary, ALU_INC)
KIND_HANDLERS_ALL(op_dec_rm, alu_rm_unary, ALU_DEC)
KIND_HANDLERS_16_32(op_inc_reg, alu_opreg_unary, ALU_INC)
KIND_HANDLERS_16_32(op_dec_reg, alu_opreg_unary, ALU_DEC)

/* ---- BCD adjustments ---- */

/* DAA/DAS: fixes AL after a packed-BCD add or subtract (SDM pseudocode: DAS
 * keeps the borrow of the low-digit step, DAA does not). OF is left 0. */
static void decimal_adjust(struct cpu *c, bool subtract)
{
    uint8_t old_al = (uint8_t)c->r[R_EAX], al = old_al;
    bool old_cf = flag_cf(c), cf = false, af = false;
    if ((old_al & 0xF) > 9 || flag_af(c)) {
        af = true;
        cf = old_cf || (subtract ? old_al < 6 : old_al > 0xF9);
        al = (uint8_t)(subtract ? al - 6 : al + 6);
    }
    if (old_al > 0x99 || old_cf) {
        al = (uint8_t)(subtract ? al - 0x60 : al + 0x60);
        cf = true;
    } else if (!subtract) {
        cf = false;
    }
    set_r8(c, R_EAX, al);
    flags_set(c, F_ARITH, flags_szp(al, 1) | (cf ? F_CF : 0) | (af ? F_AF : 0));
}
static void op_daa(struct cpu *c, const struct insn *i) { (void)i; decimal_adjust(c, false); }
static void op_das(struct cpu *c, const struct insn *i) { (void)i; decimal_adjust(c, true); }

/* AAA/AAS: fixes AX after an unpacked-BCD add or subtract (386+: the +-6
 * carries into AH). SF/ZF/PF follow the final AL, OF is left 0. */
static void ascii_adjust(struct cpu *c, bool subtract)
{
    uint16_t ax = (uint16_t)c->r[R_EAX];
    bool adjust = (ax & 0xF) > 9 || flag_af(c);
    if (adjust) ax = (uint16_t)(subtract ? ax - 6 - 0x100 : ax + 0x106);
    ax &= 0xFF0F;
    set_r16(c, R_EAX, ax);
    flags_set(c, F_ARITH, flags_szp(ax, 1) | (adjust ? F_CF | F_AF : 0));
}
static void op_aaa(struct cpu *c, const struct insn *i) { (void)i; ascii_adjust(c, false); }
static void op_aas(struct cpu *c, const struct insn *i) { (void)i; ascii_adjust(c, true); }

/* AAM base: AH = AL / base, AL = AL % base; flags as a logic result on AL. */
static void op_aam(struct cpu *c, const struct insn *i)
{
    uint8_t base = (uint8_t)i->imm, al = (uint8_t)c->r[R_EAX];
    if (base == 0) cpu_raise(c, EXC_DE, EXC_NOERR);
    uint8_t quotient = al / base, remainder = al % base;
    set_r16(c, R_EAX, (uint16_t)(quotient << 8 | remainder));
    flags_lazy(c, LF_LOGIC, 1, remainder, 0, 0);
}

/* AAD base: AL = AL + AH * base, AH = 0; flags as that 8-bit addition. */
static void op_aad(struct cpu *c, const struct insn *i)
{
    uint8_t al = (uint8_t)c->r[R_EAX];
    uint8_t product = (uint8_t)(get_r8(c, REG8_AH) * (uint8_t)i->imm);
    uint8_t sum = (uint8_t)(al + product);
    set_r16(c, R_EAX, sum);
    flags_lazy(c, LF_ADD, 1, sum, al, product);
}

/* SALC (undocumented D6): AL = CF ? FF : 00, flags unchanged. */
static void op_salc(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_r8(c, R_EAX, flag_cf(c) ? 0xFF : 0);
}

/* ---- opcode table ---- */

/* The six classic forms at kind * 8 and the four group 1 rows of one
 * operation. `lock` is D_LOCKOK for the operations that write r/m. */
#define ALU_ROWS(name, kind, lock)                                                        \
    BYTE((kind) * 8 + 0, -1, M | (lock), name##_rm_reg),                                  \
    SIZED((kind) * 8 + 1, -1, M | (lock), name##_rm_reg),                                 \
    BYTE((kind) * 8 + 2, -1, M, name##_reg_rm),                                           \
    SIZED((kind) * 8 + 3, -1, M, name##_reg_rm),                                          \
    BYTE((kind) * 8 + 4, -1, DI(IMM_IB), name##_acc_imm),                                 \
    SIZED((kind) * 8 + 5, -1, DI(IMM_IV), name##_acc_imm),                                \
    BYTE(0x80, kind, M | (lock) | DI(IMM_IB), name##_rm_imm),                             \
    SIZED(0x81, kind, M | (lock) | DI(IMM_IV), name##_rm_imm),                            \
    BYTE(0x82, kind, M | (lock) | DI(IMM_IB), name##_rm_imm),                             \
    SIZED(0x83, kind, M | (lock) | DI(IMM_SB), name##_rm_imm)

/* INC r16/32 at 0x40 + n and DEC at 0x48 + n */
#define INC_DEC_ROWS(n) SIZED(0x40 + (n), -1, 0, op_inc_reg), SIZED(0x48 + (n), -1, 0, op_dec_reg)

const struct opdesc ops_alu[] = {
    ALU_ROWS(op_add, ALU_ADD, L),
    ALU_ROWS(op_or, ALU_OR, L),
    ALU_ROWS(op_adc, ALU_ADC, L),
    ALU_ROWS(op_sbb, ALU_SBB, L),
    ALU_ROWS(op_and, ALU_AND, L),
    ALU_ROWS(op_sub, ALU_SUB, L),
    ALU_ROWS(op_xor, ALU_XOR, L),
    ALU_ROWS(op_cmp, ALU_CMP, 0),
    /* TEST */
    BYTE(0x84, -1, M, op_test_rm_reg),
    SIZED(0x85, -1, M, op_test_rm_reg),
    BYTE(0xA8, -1, DI(IMM_IB), op_test_acc_imm),
    SIZED(0xA9, -1, DI(IMM_IV), op_test_acc_imm),
    BYTE(0xF6, 0, M | DI(IMM_IB), op_test_rm_imm),
    BYTE(0xF6, 1, M | DI(IMM_IB), op_test_rm_imm),
    SIZED(0xF7, 0, M | DI(IMM_IV), op_test_rm_imm),
    SIZED(0xF7, 1, M | DI(IMM_IV), op_test_rm_imm),
    /* NOT, NEG */
    BYTE(0xF6, 2, M | L, op_not_rm),
    BYTE(0xF6, 3, M | L, op_neg_rm),
    SIZED(0xF7, 2, M | L, op_not_rm),
    SIZED(0xF7, 3, M | L, op_neg_rm),
    /* INC, DEC */
    INC_DEC_ROWS(0), INC_DEC_ROWS(1), INC_DEC_ROWS(2), INC_DEC_ROWS(3),
    INC_DEC_ROWS(4), INC_DEC_ROWS(5), INC_DEC_ROWS(6), INC_DEC_ROWS(7),
    BYTE(0xFE, 0, M | L, op_inc_rm),
    BYTE(0xFE, 1, M | L, op_dec_rm),
    SIZED(0xFF, 0, M | L, op_inc_rm),
    SIZED(0xFF, 1, M | L, op_dec_rm),
    /* BCD */
    SAME(0x27, 0, op_daa),
    SAME(0x2F, 0, op_das),
    SAME(0x37, 0, op_aaa),
    SAME(0x3F, 0, op_aas),
    SAME(0xD4, DI(IMM_IB), op_aam),
    SAME(0xD5, DI(IMM_IB), op_aad),
    SAME(0xD6, 0, op_salc),
    OPDESC_END
};
