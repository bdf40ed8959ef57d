/* ops_move.c — data movement: MOV in all its forms, MOVZX/MOVSX, XCHG, LEA,
 * XLAT, the far-pointer loads and the NOP family.
 *
 * Promises: MOV r/m,r / r,r/m / r,imm / r/m,imm / accumulator,moffs; MOV to and
 * from segment registers (CS as a destination is #UD, loading SS holds off
 * interrupts for one instruction, a 32-bit register destination gets the
 * selector zero-extended as on i686); MOVZX/MOVSX; XCHG (90 and F3 90 PAUSE are
 * NOPs); LEA with address-size then operand-size truncation; XLAT;
 * LDS/LES/LSS/LFS/LGS; the multi-byte and hint NOPs 0F 18..1F, which decode a
 * memory operand but access nothing. Registers are committed only after the
 * last access that can fault, segment loads included.
 */
#include "ops_common.h"

/* ---- MOV ---- */

static inline void op_mov_rm_reg(struct cpu *c, const struct insn *i, int size)
{
    rm_write(c, i, reg_read(c, i->reg, size), size);
}
static inline void op_mov_reg_rm(struct cpu *c, const struct insn *i, int size)
{
    reg_write(c, i->reg, rm_read(c, i, size), size);
}
static inline void op_mov_rm_imm(struct cpu *c, const struct insn *i, int size)
{
    rm_write(c, i, i->imm, size);
}
/* B0..BF: the register is in the low three opcode bits. */
static inline void op_mov_opreg_imm(struct cpu *c, const struct insn *i, int size)
{
    reg_write(c, i->op & 7, i->imm, size);
}
/* A0..A3: the decoder gives a memory operand at the moffs displacement. */
static inline void op_mov_acc_moffs(struct cpu *c, const struct insn *i, int size)
{
    reg_write(c, R_EAX, rm_read(c, i, size), size);
}
static inline void op_mov_moffs_acc(struct cpu *c, const struct insn *i, int size)
{
    rm_write(c, i, reg_read(c, R_EAX, size), size);
}
SIZE_HANDLERS_ALL(op_mov_rm_reg)
SIZE_HANDLERS_ALL(op_mov_reg_rm)
SIZE_HANDLERS_ALL(op_mov_rm_imm)
SIZE_HANDLERS_ALL(op_mov_opreg_imm)
SIZE_HANDLERS_ALL(op_mov_acc_moffs)
SIZE_HANDLERS_ALL(op_mov_moffs_acc)

/* ---- MOV to and from segment registers ---- */

static inline bool sreg_exists(int s) { return s >= S_ES && s <= S_GS; }

/* 8C: memory destinations are always 16 bits; a 32-bit register gets the
 * selector zero-extended (Pentium Pro and later). */
static inline void op_mov_rm_sreg(struct cpu *c, const struct insn *i, int size)
{
    if (!sreg_exists(i->reg)) cpu_ud(c);
    rm_write(c, i, c->seg[i->reg].sel, (i->flags & I_MEM) ? 2 : size);
}
SIZE_HANDLERS_16_32(op_mov_rm_sreg)

/* 8E: the source is always 16 bits; CS cannot be loaded this way. */
static void op_mov_sreg_rm(struct cpu *c, const struct insn *i)
{
    if (!sreg_exists(i->reg) || i->reg == S_CS) cpu_ud(c);
    cpu_load_seg(c, i->reg, (uint16_t)rm_read(c, i, 2));
    if (i->reg == S_SS) c->intr_shadow = true;
}

/* ---- MOVZX, MOVSX ---- */

static inline void move_extended(struct cpu *c, const struct insn *i, int src_size, int size,
                                 bool sign)
{
    uint32_t v = rm_read(c, i, src_size);
    if (sign && (v & size_sign(src_size))) v |= ~size_mask(src_size);
    reg_write(c, i->reg, v, size);
}
#define EXTEND_HANDLERS(name, src_size, sign)                                             \
    static void name##_16(struct cpu *c, const struct insn *i)                            \
    {                                                                                     \
        move_extended(c, i, src_size, 2, sign);                                           \
    }                                                                                     \
    static void name##_32(struct cpu *c, const struct insn *i)                            \
    {                                                                                     \
        move_extended(c, i, src_size, 4, sign);                                           \
    }
EXTEND_HANDLERS(op_movzx8, 1, false)
EXTEND_HANDLERS(op_movzx16, 2, false)
EXTEND_HANDLERS(op_movsx8, 1, true)
EXTEND_HANDLERS(op_movsx16, 2, true)

/* ---- XCHG, NOP ---- */

/* 86/87: memory is read and written before the register changes. */
static inline void op_xchg_rm_reg(struct cpu *c, const struct insn *i, int size)
{
    uint32_t reg_val = reg_read(c, i->reg, size), other;
    if (i->flags & I_MEM) {
        uint32_t lin = rm_lin_rw(c, i, size);
        other = lin_read(c, lin, size);
        lin_write(c, lin, reg_val, size);
    } else {
        other = reg_read(c, i->rm, size);
        reg_write(c, i->rm, reg_val, size);
    }
    reg_write(c, i->reg, other, size);
}
SIZE_HANDLERS_ALL(op_xchg_rm_reg)

/* 91..97: the accumulator with the register in the opcode. */
static inline void op_xchg_acc_opreg(struct cpu *c, const struct insn *i, int size)
{
    int n = i->op & 7;
    uint32_t acc = reg_read(c, R_EAX, size);
    reg_write(c, R_EAX, reg_read(c, n, size), size);
    reg_write(c, n, acc, size);
}
SIZE_HANDLERS_16_32(op_xchg_acc_opreg)

/* 90 (XCHG eAX,eAX; F3 90 is PAUSE), 0F 1F multi-byte NOP, 0F 18..1E hints. */
static void op_nop(struct cpu *c, const struct insn *i)
{
    (void)c;
    (void)i;
}

/* ---- LEA, XLAT ---- */

/* The address is computed in the address size, then cut to the operand size. */
static inline void op_lea(struct cpu *c, const struct insn *i, int size)
{
    reg_write(c, i->reg, insn_ea(c, i), size);
}
SIZE_HANDLERS_16_32(op_lea)

static void op_xlat(struct cpu *c, const struct insn *i)
{
    uint32_t off = c->r[R_EBX] + (c->r[R_EAX] & 0xFF);
    if (!(i->flags & I_ADDR32)) off &= 0xFFFF;
    set_r8(c, R_EAX, (uint8_t)seg_read(c, i->seg, off, 1));
}

/* ---- far-pointer loads ---- */

/* Reads offset then selector, loads the segment (which may fault), then
 * commits the offset register. */
static inline void load_far_pointer(struct cpu *c, const struct insn *i, int size, int seg_reg)
{
    uint32_t ea = insn_ea(c, i);
    uint32_t sel_off = ea + (uint32_t)size;
    if (!(i->flags & I_ADDR32)) sel_off &= 0xFFFF;
    uint32_t offset = seg_read(c, i->seg, ea, size);
    uint16_t sel = (uint16_t)seg_read(c, i->seg, sel_off, 2);
    cpu_load_seg(c, seg_reg, sel);
    reg_write(c, i->reg, offset, size);
}
#define FAR_POINTER_HANDLERS(name, seg_reg)                                               \
    static void name##_16(struct cpu *c, const struct insn *i)                            \
    {                                                                                     \
        load_far_pointer(c, i, 2, seg_reg);                                               \
    }                                                                                     \
    static void name##_32(struct cpu *c, const struct insn *i)                            \
    {                                                                                     \
        load_far_pointer(c, i, 4, seg_reg);                                               \
    }
FAR_POINTER_HANDLERS(op_les, S_ES)
FAR_POINTER_HANDLERS(op_lds, S_DS)
FAR_POINTER_HANDLERS(op_lss, S_SS)
FAR_POINTER_HANDLERS(op_lfs, S_FS)
FAR_POINTER_HANDLERS(op_lgs, S_GS)

/* ---- opcode table ---- */

#define MEM (D_MODRM | D_MEMONLY)

const struct opdesc ops_move[] = {
    /* MOV */
    BYTE(0x88, -1, M, op_mov_rm_reg),
    SIZED(0x89, -1, M, op_mov_rm_reg),
    BYTE(0x8A, -1, M, op_mov_reg_rm),
    SIZED(0x8B, -1, M, op_mov_reg_rm),
    ROWS8(0xB0, DI(IMM_IB), op_mov_opreg_imm_8, op_mov_opreg_imm_8),
    ROWS8(0xB8, DI(IMM_IV), op_mov_opreg_imm_16, op_mov_opreg_imm_32),
    BYTE(0xC6, 0, M | DI(IMM_IB), op_mov_rm_imm),
    SIZED(0xC7, 0, M | DI(IMM_IV), op_mov_rm_imm),
    BYTE(0xA0, -1, DI(IMM_MOFFS), op_mov_acc_moffs),
    SIZED(0xA1, -1, DI(IMM_MOFFS), op_mov_acc_moffs),
    BYTE(0xA2, -1, DI(IMM_MOFFS), op_mov_moffs_acc),
    SIZED(0xA3, -1, DI(IMM_MOFFS), op_mov_moffs_acc),
    SIZED(0x8C, -1, M, op_mov_rm_sreg),
    ROW(0x8E, -1, M | D_END, op_mov_sreg_rm, op_mov_sreg_rm),
    /* MOVZX, MOVSX */
    SIZED(0x1B6, -1, M, op_movzx8),
    SIZED(0x1B7, -1, M, op_movzx16),
    SIZED(0x1BE, -1, M, op_movsx8),
    SIZED(0x1BF, -1, M, op_movsx16),
    /* XCHG, NOP */
    BYTE(0x86, -1, M | D_LOCKOK, op_xchg_rm_reg),
    SIZED(0x87, -1, M | D_LOCKOK, op_xchg_rm_reg),
    ROW(0x90, -1, 0, op_nop, op_nop),
    ROW(0x91, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x92, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x93, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x94, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x95, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x96, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROW(0x97, -1, 0, op_xchg_acc_opreg_16, op_xchg_acc_opreg_32),
    ROWS8(0x118, M, op_nop, op_nop),
    /* LEA, XLAT */
    SIZED(0x8D, -1, MEM, op_lea),
    ROW(0xD7, -1, 0, op_xlat, op_xlat),
    /* far pointers */
    SIZED(0xC4, -1, MEM, op_les),
    SIZED(0xC5, -1, MEM, op_lds),
    SIZED(0x1B2, -1, MEM | D_END, op_lss),
    SIZED(0x1B4, -1, MEM, op_lfs),
    SIZED(0x1B5, -1, MEM, op_lgs),
    OPDESC_END
};
