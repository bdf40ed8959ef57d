/* ops_shift.c — shifts and rotates: group 2 (C0, C1, D0, D1, D2, D3) and the
 * double-precision shifts SHLD/SHRD (0F A4, A5, AC, AD).
 *
 * Promises: i686 semantics. The count is masked to 5 bits; a masked count of
 * 0 changes nothing, flags included (a memory operand is still checked for
 * writing and read, so it can fault). ROL/ROR rotate by count mod width,
 * RCL/RCR through CF by count mod width+1. CF is the last bit shifted out;
 * OF is the value Intel defines for count 1, computed the same way for every
 * other count. SF/ZF/PF follow shift results, AF is left 0; rotates touch
 * only CF and OF. SHLD/SHRD on 16 bits with counts above 16 (undefined)
 * shift through dest:src:dest, the P6 behaviour as Bochs models it. Results
 * and flags are committed only after the last access that can fault.
 */
#include "ops_common.h"

/* ---- the r/m destination of a read-modify-write ---- */

struct rm_dest {
    uint32_t lin;   /* linear address, checked for writing (memory forms) */
    uint32_t val;
};

ALWAYS_INLINE struct rm_dest rm_dest_read(struct cpu *c, const struct insn *i, int size)
{
    struct rm_dest d = { 0, 0 };
    if (i->flags & I_MEM) {
        d.lin = rm_lin_rw(c, i, size);
        d.val = lin_read(c, d.lin, size);
    } else {
        d.val = reg_read(c, i->rm, size);
    }
    return d;
}

ALWAYS_INLINE void rm_dest_write(struct cpu *c, const struct insn *i, const struct rm_dest *d,
                                 uint32_t res, int size)
{
    if (i->flags & I_MEM) lin_write(c, d->lin, res, size);
    else reg_write(c, i->rm, res, size);
}

/* ---- bit helpers ---- */

static inline uint32_t top_bit(uint32_t v, int bits) { return (v >> (bits - 1)) & 1; }
/* OF of right shifts and rotates: the two top result bits differ */
static inline uint32_t top_two_differ(uint32_t v, int bits) { return top_bit(v ^ (v << 1), bits); }

/* Arithmetic right shift (n <= 63) without relying on C's signed shift. */
static inline uint64_t sar64(int64_t v, unsigned n)
{
    return (uint64_t)(v >= 0 ? v >> n : ~(~v >> n));
}

static inline uint32_t flag_bits(uint32_t cf, uint32_t of)
{
    return (cf ? F_CF : 0) | (of ? F_OF : 0);
}

/* ---- group 2 ---- */

/* ModRM.reg order; SAL (/6) is SHL. */
enum shift_kind { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

struct shift_out {
    uint32_t res;
    uint32_t flag_mask;   /* the flags the operation sets */
    uint32_t flags;
};

/* Rotates v (size bytes) by count (1..31), through CF for RCL/RCR. */
ALWAYS_INLINE struct shift_out rotate(struct cpu *c, enum shift_kind k, int size, uint32_t v,
                                      unsigned count)
{
    int bits = size * 8;
    uint32_t mask = size_mask(size), res, cf;
    if (k == SH_ROL || k == SH_ROR) {
        unsigned n = count % (unsigned)bits;
        if (k == SH_ROR && n) n = (unsigned)bits - n;   /* right by n == left by bits-n */
        res = n ? ((v << n) | (v >> (bits - (int)n))) & mask : v;
        cf = k == SH_ROL ? res & 1 : top_bit(res, bits);
    } else {
        /* a (bits+1)-bit rotate of CF:v */
        unsigned width = (unsigned)bits + 1, n = count % width;
        uint64_t w = ((uint64_t)(flag_cf(c) ? 1 : 0) << bits) | v;
        uint64_t wmask = ((uint64_t)1 << width) - 1;
        if (k == SH_RCR && n) n = width - n;
        w = ((w << n) | (w >> (width - n))) & wmask;
        res = (uint32_t)w & mask;
        cf = (uint32_t)(w >> bits) & 1;
    }
    uint32_t of = (k == SH_ROL || k == SH_RCL) ? cf ^ top_bit(res, bits) : top_two_differ(res, bits);
    return (struct shift_out){ res, F_CF | F_OF, flag_bits(cf, of) };
}

/* Shifts v (size bytes) by count (1..31); counts past the width shift
 * everything out. */
ALWAYS_INLINE struct shift_out shift(enum shift_kind k, int size, uint32_t v, unsigned count)
{
    int bits = size * 8;
    uint32_t mask = size_mask(size), res, cf, of;
    if (k == SH_SHL || k == SH_SAL) {
        uint64_t w = (uint64_t)v << count;
        res = (uint32_t)w & mask;
        cf = (uint32_t)(w >> bits) & 1;
        of = cf ^ top_bit(res, bits);
    } else {
        uint64_t w = k == SH_SAR ? sar64(sign_extend(v, size), count - 1) : (uint64_t)v >> (count - 1);
        cf = (uint32_t)w & 1;
        res = (uint32_t)(k == SH_SAR ? sar64((int64_t)w, 1) : w >> 1) & mask;
        of = k == SH_SAR ? 0 : top_two_differ(res, bits);
    }
    return (struct shift_out){ res, F_ARITH, flags_szp(res, size) | flag_bits(cf, of) };
}

ALWAYS_INLINE void shift_rm(struct cpu *c, const struct insn *i, enum shift_kind k, int size,
                            uint32_t raw_count)
{
    unsigned count = raw_count & 31;
    struct rm_dest d = rm_dest_read(c, i, size);
    if (count == 0) return;
    struct shift_out o = k <= SH_RCR ? rotate(c, k, size, d.val, count) : shift(k, size, d.val, count);
    rm_dest_write(c, i, &d, o.res, size);
    flags_set(c, o.flag_mask, o.flags);
}

ALWAYS_INLINE void shift_by_imm(struct cpu *c, const struct insn *i, enum shift_kind k, int size)
{
    shift_rm(c, i, k, size, i->imm);
}
ALWAYS_INLINE void shift_by_one(struct cpu *c, const struct insn *i, enum shift_kind k, int size)
{
    shift_rm(c, i, k, size, 1);
}
ALWAYS_INLINE void shift_by_cl(struct cpu *c, const struct insn *i, enum shift_kind k, int size)
{
    shift_rm(c, i, k, size, c->r[R_ECX] & 0xFF);
}

#define SHIFT_HANDLERS(name, kind)                                                        \
    KIND_HANDLERS_ALL(name##_imm, shift_by_imm, kind)                                     \
    KIND_HANDLERS_ALL(name##_one, shift_by_one, kind)                                     \
    KIND_HANDLERS_ALL(name##_cl, shift_by_cl, kind)

SHIFT_HANDLERS(op_rol, SH_ROL)
SHIFT_HANDLERS(op_ror, SH_ROR)
SHIFT_HANDLERS(op_rcl, SH_RCL)
SHIFT_HANDLERS(op_rcr, SH_RCR)
SHIFT_HANDLERS(op_shl, SH_SHL)
SHIFT_HANDLERS(op_shr, SH_SHR)
SHIFT_HANDLERS(op_sar, SH_SAR)

/* ---- SHLD, SHRD ---- */

enum double_dir { SHIFT_LEFT, SHIFT_RIGHT };

/* The bits a double shift moves through, low bit first: 32 bits: dest:src
 * (SHLD) or src:dest (SHRD); 16 bits: dest:src:dest for both. */
static inline uint64_t double_window(enum double_dir dir, int size, uint32_t dest, uint32_t src)
{
    if (size == 2) return (uint64_t)dest << 32 | (uint64_t)src << 16 | dest;
    return dir == SHIFT_LEFT ? (uint64_t)dest << 32 | src : (uint64_t)src << 32 | dest;
}

ALWAYS_INLINE void double_shift(struct cpu *c, const struct insn *i, enum double_dir dir, int size,
                                uint32_t raw_count)
{
    unsigned count = raw_count & 31;
    int bits = size * 8;
    struct rm_dest d = rm_dest_read(c, i, size);
    if (count == 0) return;
    uint64_t w = double_window(dir, size, d.val, reg_read(c, i->reg, size));
    uint32_t res, cf, of;
    if (dir == SHIFT_LEFT) {
        /* the destination is the window's top `bits` bits, which end at bit 32 + bits */
        res = (uint32_t)(w >> (32 - count)) & size_mask(size);
        cf = (uint32_t)(w >> (32 + bits - count)) & 1;
        of = cf ^ top_bit(res, bits);
    } else {
        res = (uint32_t)(w >> count) & size_mask(size);
        cf = (uint32_t)(w >> (count - 1)) & 1;
        of = top_two_differ(res, bits);
    }
    rm_dest_write(c, i, &d, res, size);
    flags_set(c, F_ARITH, flags_szp(res, size) | flag_bits(cf, of));
}

ALWAYS_INLINE void double_by_imm(struct cpu *c, const struct insn *i, enum double_dir dir, int size)
{
    double_shift(c, i, dir, size, i->imm);
}
ALWAYS_INLINE void double_by_cl(struct cpu *c, const struct insn *i, enum double_dir dir, int size)
{
    double_shift(c, i, dir, size, c->r[R_ECX] & 0xFF);
}

KIND_HANDLERS_16_32(op_shld_imm, double_by_imm, SHIFT_LEFT)
KIND_HANDLERS_16_32(op_shld_cl, double_by_cl, SHIFT_LEFT)
KIND_HANDLERS_16_32(op_shrd_imm, double_by_imm, SHIFT_RIGHT)
KIND_HANDLERS_16_32(op_shrd_cl, double_by_cl, SHIFT_RIGHT)

/* ---- opcode table ---- */

/* The six group 2 rows of one operation (ModRM.reg `reg`). */
#define SHIFT_ROWS(name, reg)                                                             \
    BYTE(0xC0, reg, M | DI(IMM_IB), name##_imm), SIZED(0xC1, reg, M | DI(IMM_IB), name##_imm), \
    BYTE(0xD0, reg, M, name##_one), SIZED(0xD1, reg, M, name##_one),                      \
    BYTE(0xD2, reg, M, name##_cl), SIZED(0xD3, reg, M, name##_cl)

const struct opdesc ops_shift[] = {
    SHIFT_ROWS(op_rol, SH_ROL),
    SHIFT_ROWS(op_ror, SH_ROR),
    SHIFT_ROWS(op_rcl, SH_RCL),
    SHIFT_ROWS(op_rcr, SH_RCR),
    SHIFT_ROWS(op_shl, SH_SHL),
    SHIFT_ROWS(op_shr, SH_SHR),
    SHIFT_ROWS(op_shl, SH_SAL),
    SHIFT_ROWS(op_sar, SH_SAR),
    SIZED(0x1A4, -1, M | DI(IMM_IB), op_shld_imm),
    SIZED(0x1A5, -1, M, op_shld_cl),
    SIZED(0x1AC, -1, M | DI(IMM_IB), op_shrd_imm),
    SIZED(0x1AD, -1, M, op_shrd_cl),
    OPDESC_END
};
