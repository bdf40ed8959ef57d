/* ops_bits.c — bit tests and scans, condition-driven moves, compare-exchange,
 * byte swap, and the instructions that only touch flags or widen EAX.
 *
 * Promises: BT/BTS/BTR/BTC (register and imm8 bit offsets; a register offset
 * addresses memory beyond the operand as a signed bit string), BSF/BSR (zero
 * source: ZF=1, destination kept), SETcc, CMOVcc (i686: the source is always
 * read, a false condition writes nothing), BSWAP, CMPXCHG, CMPXCHG8B, XADD,
 * CLC/STC/CMC/CLD/STD, LAHF/SAHF, CBW/CWDE and CWD/CDQ. Every handler commits
 * registers and flags only after its last access that can fault.
 */
#include "ops_common.h"

/* ---- BT, BTS, BTR, BTC ---- */

enum bit_kind { BIT_TEST, BIT_SET, BIT_RESET, BIT_COMPLEMENT };

static inline uint32_t bit_apply(enum bit_kind kind, uint32_t v, uint32_t mask)
{
    switch (kind) {
    case BIT_SET: return v | mask;
    case BIT_RESET: return v & ~mask;
    case BIT_COMPLEMENT: return v ^ mask;
    default: return v;
    }
}

/* Arithmetic shift right of a signed value, without relying on how C shifts
 * negative numbers: rounds toward minus infinity. */
static inline int32_t floor_shift(int32_t v, int n)
{
    return v >= 0 ? v >> n : ~(~v >> n);
}

/* Offset of the operand-sized unit holding bit `bitoff` of the bit string
 * that starts at the ModRM memory operand (register bit offsets only). */
static inline uint32_t bit_string_offset(const struct cpu *c, const struct insn *i, int size,
                                         uint32_t bitoff)
{
    int32_t signed_off = size == 2 ? (int16_t)bitoff : (int32_t)bitoff;
    int32_t units = floor_shift(signed_off, size == 2 ? 4 : 5);
    uint32_t off = insn_ea(c, i) + (uint32_t)units * (uint32_t)size;
    return (i->flags & I_ADDR32) ? off : (off & 0xFFFF);
}

/* One bit instruction: CF = the selected bit, then the bit is changed. The
 * imm8 forms (`moves_address` false) never leave the addressed operand. */
static inline void bit_op(struct cpu *c, const struct insn *i, int size, enum bit_kind kind,
                          uint32_t bitoff, bool moves_address)
{
    uint32_t mask = 1u << (bitoff & ((uint32_t)size * 8 - 1));
    bool mem = i->flags & I_MEM, writes = kind != BIT_TEST;
    uint32_t lin = 0, old;
    if (mem) {
        uint32_t off = moves_address ? bit_string_offset(c, i, size, bitoff) : insn_ea(c, i);
        lin = seg_lin(c, i->seg, off, size, writes);
        old = lin_read(c, lin, size);
    } else {
        old = reg_read(c, i->rm, size);
    }
    if (writes && mem) lin_write(c, lin, bit_apply(kind, old, mask), size);
    else if (writes) reg_write(c, i->rm, bit_apply(kind, old, mask), size);
    flags_set(c, F_CF, (old & mask) ? F_CF : 0);
}

/* Handlers for one bit instruction: _r (offset in ModRM.reg) and _i (imm8). */
#define BIT_HANDLER(name, size, kind, bitoff, moves_address)                              \
    static void name(struct cpu *c, const struct insn *i)                                 \
    {                                                                                     \
        bit_op(c, i, size, kind, bitoff, moves_address);                                  \
    }
#define BIT_HANDLERS(name, kind)                                                          \
    BIT_HANDLER(name##_r16, 2, kind, get_r16(c, i->reg), true)                            \
    BIT_HANDLER(name##_r32, 4, kind, c->r[i->reg], true)                                  \
    BIT_HANDLER(name##_i16, 2, kind, i->imm, false)                                       \
    BIT_HANDLER(name##_i32, 4, kind, i->imm, false)

BIT_HANDLERS(op_bt, BIT_TEST)
BIT_HANDLERS(op_bts, BIT_SET)
BIT_HANDLERS(op_btr, BIT_RESET)
BIT_HANDLERS(op_btc, BIT_COMPLEMENT)

/* ---- BSF, BSR ---- */

static inline void bit_scan(struct cpu *c, const struct insn *i, int size, bool reverse)
{
    uint32_t src = rm_read(c, i, size);
    if (src == 0) {
        flags_set(c, F_ZF, F_ZF);
        return;
    }
    uint32_t index = reverse ? 31u - (uint32_t)__builtin_clz(src) : (uint32_t)__builtin_ctz(src);
    reg_write(c, i->reg, index, size);
    flags_set(c, F_ZF, 0);
}
static inline void op_bsf(struct cpu *c, const struct insn *i, int size)
{
    bit_scan(c, i, size, false);
}
static inline void op_bsr(struct cpu *c, const struct insn *i, int size)
{
    bit_scan(c, i, size, true);
}
SIZE_HANDLERS_16_32(op_bsf)
SIZE_HANDLERS_16_32(op_bsr)

/* ---- SETcc, CMOVcc ---- */

static void op_setcc(struct cpu *c, const struct insn *i)
{
    rm_write(c, i, cpu_cond(c, i->op & 0xF) ? 1 : 0, 1);
}

static inline void op_cmov(struct cpu *c, const struct insn *i, int size)
{
    uint32_t src = rm_read(c, i, size);
    if (cpu_cond(c, i->op & 0xF)) reg_write(c, i->reg, src, size);
}
SIZE_HANDLERS_16_32(op_cmov)

/* ---- BSWAP ---- */

/* BSWAP of a 16-bit register is undefined; Intel and AMD parts clear it. */
static void op_bswap_16(struct cpu *c, const struct insn *i) { set_r16(c, i->op & 7, 0); }
static void op_bswap_32(struct cpu *c, const struct insn *i)
{
    c->r[i->op & 7] = __builtin_bswap32(c->r[i->op & 7]);
}

/* ---- CMPXCHG, CMPXCHG8B, XADD ---- */

/* Compares the accumulator with the destination (flags as CMP); equal: the
 * destination takes the source, else the accumulator takes the destination.
 * A memory destination is always written, as the locked bus cycle does. */
static inline void op_cmpxchg(struct cpu *c, const struct insn *i, int size)
{
    uint32_t acc = reg_read(c, R_EAX, size), src = reg_read(c, i->reg, size), dest;
    if (i->flags & I_MEM) {
        uint32_t lin = rm_lin_rw(c, i, size);
        dest = lin_read(c, lin, size);
        lin_write(c, lin, acc == dest ? src : dest, size);
    } else {
        dest = reg_read(c, i->rm, size);
        if (acc == dest) reg_write(c, i->rm, src, size);
    }
    if (acc != dest) reg_write(c, R_EAX, dest, size);
    flags_lazy(c, LF_SUB, size, acc - dest, acc, dest);
}
SIZE_HANDLERS_ALL(op_cmpxchg)

/* CMPXCHG8B m64: EDX:EAX against memory; equal: memory = ECX:EBX, ZF=1;
 * else EDX:EAX = memory, ZF=0. Both halves are writable before either is
 * written, so a fault leaves memory and registers as they were. */
static void op_cmpxchg8b(struct cpu *c, const struct insn *i)
{
    uint32_t lin = seg_lin(c, i->seg, insn_ea(c, i), 8, true);
    uint32_t lo = lin_read(c, lin, 4), hi = lin_read(c, lin + 4, 4);
    bool equal = lo == c->r[R_EAX] && hi == c->r[R_EDX];
    if ((lin & 0xFFF) > 0xFF8) mmu_translate(c, lin + 7, true, cpu_user_access(c));
    lin_write(c, lin, equal ? c->r[R_EBX] : lo, 4);
    lin_write(c, lin + 4, equal ? c->r[R_ECX] : hi, 4);
    if (!equal) {
        c->r[R_EAX] = lo;
        c->r[R_EDX] = hi;
    }
    flags_set(c, F_ZF, equal ? F_ZF : 0);
}

/* XADD: the source register receives the old destination, the destination
 * the sum (written last, so XADD r,r with one register keeps the sum). */
static inline void op_xadd(struct cpu *c, const struct insn *i, int size)
{
    uint32_t src = reg_read(c, i->reg, size), dest, sum;
    if (i->flags & I_MEM) {
        uint32_t lin = rm_lin_rw(c, i, size);
        dest = lin_read(c, lin, size);
        sum = (dest + src) & size_mask(size);
        lin_write(c, lin, sum, size);
        reg_write(c, i->reg, dest, size);
    } else {
        dest = reg_read(c, i->rm, size);
        sum = (dest + src) & size_mask(size);
        reg_write(c, i->reg, dest, size);
        reg_write(c, i->rm, sum, size);
    }
    flags_lazy(c, LF_ADD, size, sum, dest, src);
}
SIZE_HANDLERS_ALL(op_xadd)

/* ---- flag instructions ---- */

static void op_clc(struct cpu *c, const struct insn *i) { (void)i; flags_set(c, F_CF, 0); }
static void op_stc(struct cpu *c, const struct insn *i) { (void)i; flags_set(c, F_CF, F_CF); }
static void op_cmc(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_set(c, F_CF, flag_cf(c) ? 0 : F_CF);
}
static void op_cld(struct cpu *c, const struct insn *i) { (void)i; c->eflags &= ~(uint32_t)F_DF; }
static void op_std(struct cpu *c, const struct insn *i) { (void)i; c->eflags |= F_DF; }

/* The flags LAHF/SAHF move between AH and EFLAGS; bit 1 reads as 1. */
enum { AH_FLAGS = F_SF | F_ZF | F_AF | F_PF | F_CF, REG8_AH = 4 };

static void op_lahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_r8(c, REG8_AH, (uint8_t)((flags_arith(c) & AH_FLAGS) | 2u));
}
static void op_sahf(struct cpu *c, const struct insn *i)
{
    (void)i;
    flags_set(c, AH_FLAGS, get_r8(c, REG8_AH));
}

/* ---- CBW/CWDE, CWD/CDQ ---- */

static void op_cbw(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_r16(c, R_EAX, (uint16_t)(int8_t)c->r[R_EAX]);
}
static void op_cwde(struct cpu *c, const struct insn *i)
{
    (void)i;
    c->r[R_EAX] = (uint32_t)(int32_t)(int16_t)c->r[R_EAX];
}
static void op_cwd(struct cpu *c, const struct insn *i)
{
    (void)i;
    set_r16(c, R_EDX, (c->r[R_EAX] & 0x8000u) ? 0xFFFF : 0);
}
static void op_cdq(struct cpu *c, const struct insn *i)
{
    (void)i;
    c->r[R_EDX] = (c->r[R_EAX] & 0x80000000u) ? 0xFFFFFFFFu : 0;
}

/* ---- opcode table ---- */

const struct opdesc ops_bits[] = {
    /* bit tests */
    ROW(0x1A3, -1, M, op_bt_r16, op_bt_r32),
    ROW(0x1AB, -1, M | L, op_bts_r16, op_bts_r32),
    ROW(0x1B3, -1, M | L, op_btr_r16, op_btr_r32),
    ROW(0x1BB, -1, M | L, op_btc_r16, op_btc_r32),
    ROW(0x1BA, 4, M | DI(IMM_IB), op_bt_i16, op_bt_i32),
    ROW(0x1BA, 5, M | L | DI(IMM_IB), op_bts_i16, op_bts_i32),
    ROW(0x1BA, 6, M | L | DI(IMM_IB), op_btr_i16, op_btr_i32),
    ROW(0x1BA, 7, M | L | DI(IMM_IB), op_btc_i16, op_btc_i32),
    SIZED(0x1BC, -1, M, op_bsf),
    SIZED(0x1BD, -1, M, op_bsr),
    /* conditions */
    CC_ROWS(0x190, M, op_setcc, op_setcc),
    CC_ROWS(0x140, M, op_cmov_16, op_cmov_32),
    /* byte swap */
    ROWS8(0x1C8, 0, op_bswap_16, op_bswap_32),
    /* atomics */
    BYTE(0x1B0, -1, M | L, op_cmpxchg),
    SIZED(0x1B1, -1, M | L, op_cmpxchg),
    ROW(0x1C7, 1, M | D_MEMONLY | L, op_cmpxchg8b, op_cmpxchg8b),
    BYTE(0x1C0, -1, M | L, op_xadd),
    SIZED(0x1C1, -1, M | L, op_xadd),
    /* flags */
    SAME(0xF8, 0, op_clc),
    SAME(0xF9, 0, op_stc),
    SAME(0xF5, 0, op_cmc),
    SAME(0xFC, 0, op_cld),
    SAME(0xFD, 0, op_std),
    SAME(0x9F, 0, op_lahf),
    SAME(0x9E, 0, op_sahf),
    /* accumulator widening */
    ROW(0x98, -1, 0, op_cbw, op_cwde),
    ROW(0x99, -1, 0, op_cwd, op_cdq),
    OPDESC_END
};
