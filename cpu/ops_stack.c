/* ops_stack.c — the stack instructions (the push/pop helpers they share with
 * other groups are inline in internal.h).
 *
 * Promises: every stack access is SS-relative through the segment check
 * (limit faults become #SS), with SP or ESP chosen by SS.B. Every instruction
 * is restartable: memory is read/written first and ESP (and any other
 * register) is committed only after the last access that can fault.
 * Instructions: PUSH/POP r, r/m, Sreg, imm; PUSHA/POPA; PUSHF/POPF with the
 * real, protected and V86 rules for IF/IOPL; ENTER (with nesting); LEAVE.
 */
#include "internal.h"

/* Defines the 16- and 32-bit operand-size handlers name16/name32 around a
 * size-generic body name(c, i, size). */
#define SIZED_HANDLERS(name)                                                   \
    static void name##16(struct cpu *c, const struct insn *i) { name(c, i, 2); } \
    static void name##32(struct cpu *c, const struct insn *i) { name(c, i, 4); }

/* ---- helpers ---- */

/* The stack offset `size` bytes below `sp`, wrapped by the stack size. */
static inline uint32_t sp_below(const struct cpu *c, uint32_t sp, int size)
{
    return (sp - (uint32_t)size) & sp_mask(c);
}

/* ---- PUSH / POP general registers and immediates ---- */

static void push_reg(struct cpu *c, const struct insn *i, int size)
{
    /* PUSH (E)SP pushes the value from before the push: read before moving. */
    cpu_push(c, reg_read(c, i->op & 7, size), size);
}
SIZED_HANDLERS(push_reg)

static void pop_reg(struct cpu *c, const struct insn *i, int size)
{
    /* POP (E)SP: the popped value wins over the increment. */
    uint32_t v = cpu_pop(c, size);
    reg_write(c, i->op & 7, v, size);
}
SIZED_HANDLERS(pop_reg)

static void push_imm(struct cpu *c, const struct insn *i, int size)
{
    cpu_push(c, i->imm, size);
}
SIZED_HANDLERS(push_imm)

/* FF /6 */
static void push_rm(struct cpu *c, const struct insn *i, int size)
{
    cpu_push(c, rm_read(c, i, size), size);
}
SIZED_HANDLERS(push_rm)

/* 8F /0: ESP is incremented before the destination address is computed when
 * ESP is the base register; the register commits only after the store. */
static void pop_rm(struct cpu *c, const struct insn *i, int size)
{
    uint32_t v = cpu_stack_peek(c, 0, size);
    uint32_t new_esp = esp_moved(c, (uint32_t)size);
    if (!(i->flags & I_MEM)) {
        c->r[R_ESP] = new_esp;
        reg_write(c, i->rm, v, size);
        return;
    }
    uint32_t ea = insn_ea(c, i);
    if (i->base == R_ESP) ea += new_esp - c->r[R_ESP]; /* only 32-bit forms use ESP */
    seg_write(c, i->seg, ea, v, size);
    c->r[R_ESP] = new_esp;
}
SIZED_HANDLERS(pop_rm)

/* ---- segment registers: 06/07 0E 16/17 1E/1F, 0F A0/A1 A8/A9 ---- */

/* The opcode's bits 3..5 name the segment register in all eight forms. */
static inline int sreg_of(const struct insn *i) { return (i->op >> 3) & 7; }

/* With a 32-bit operand the selector is pushed zero-extended. */
static void push_sreg(struct cpu *c, const struct insn *i, int size)
{
    cpu_push(c, c->seg[sreg_of(i)].sel, size);
}
SIZED_HANDLERS(push_sreg)

static void pop_sreg(struct cpu *c, const struct insn *i, int size)
{
    int s = sreg_of(i);
    uint32_t sel = cpu_stack_peek(c, 0, size);
    uint32_t new_esp = esp_moved(c, (uint32_t)size); /* by the old SS.B */
    cpu_load_seg(c, s, (uint16_t)sel);
    c->r[R_ESP] = new_esp;
    if (s == S_SS) c->intr_shadow = true;
}
SIZED_HANDLERS(pop_sreg)

/* ---- PUSHA / POPA ---- */

/* Pushes EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI. */
static void pusha(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    uint32_t sp = c->r[R_ESP] & sp_mask(c);
    for (int n = R_EAX; n <= R_EDI; n++) {
        sp = sp_below(c, sp, size);
        seg_write(c, S_SS, sp, reg_read(c, n, size), size);
    }
    c->r[R_ESP] = esp_moved(c, (uint32_t)(-8 * size));
}
SIZED_HANDLERS(pusha)

/* Pops EDI, ESI, EBP, (skips the ESP slot), EBX, EDX, ECX, EAX. */
static void popa(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    uint32_t vals[8];
    for (int n = R_EDI; n >= R_EAX; n--)
        vals[n] = cpu_stack_peek(c, (uint32_t)((R_EDI - n) * size), size);
    for (int n = R_EAX; n <= R_EDI; n++)
        if (n != R_ESP) reg_write(c, n, vals[n], size);
    c->r[R_ESP] = esp_moved(c, (uint32_t)(8 * size));
}
SIZED_HANDLERS(popa)

/* ---- PUSHF / POPF ---- */

static inline uint32_t iopl_of(const struct cpu *c) { return (c->eflags & F_IOPL) >> 12; }

/* V86 mode without IOPL 3 may not touch EFLAGS through the stack. */
static inline void check_v86_iopl(struct cpu *c)
{
    if (c->vm86 && iopl_of(c) < 3) cpu_gp(c, 0);
}

/* The image of EFLAGS that PUSHF(D) stores never has VM or RF set. */
static void pushf(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    check_v86_iopl(c);
    cpu_push(c, cpu_read_eflags(c) & ~(F_VM | F_RF), size);
}
SIZED_HANDLERS(pushf)

/* The EFLAGS bits POPF may change at the current privilege. VM, RF, VIF and
 * VIP never change; IF only when CPL <= IOPL; IOPL only at CPL 0. */
static uint32_t popf_changeable(const struct cpu *c, int size)
{
    uint32_t mask = F_ARITH | F_TF | F_DF | F_NT | F_AC | F_ID;
    if (c->cpl <= iopl_of(c)) mask |= F_IF;
    if (c->cpl == 0) mask |= F_IOPL;
    return size == 2 ? mask & 0xFFFFu : mask;
}

static void popf(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    check_v86_iopl(c);
    uint32_t v = cpu_pop(c, size);
    cpu_write_eflags(c, v, popf_changeable(c, size));
}
SIZED_HANDLERS(popf)

/* ---- ENTER / LEAVE ---- */

/* C8 iw ib: pushes EBP, copies `level - 1` outer frame pointers, pushes the
 * new frame pointer, then allocates `iw` bytes. All stores happen before any
 * register is committed. */
static void enter(struct cpu *c, const struct insn *i, int size)
{
    uint32_t mask = sp_mask(c);
    uint32_t level = i->imm2 & 31;
    uint32_t sp = sp_below(c, c->r[R_ESP] & mask, size);
    seg_write(c, S_SS, sp, reg_read(c, R_EBP, size), size);
    /* the frame pointer is the whole ESP after that push (a 16-bit stack
     * moves only SP; the upper half of ESP stays) */
    uint32_t frame = (c->r[R_ESP] & ~mask) | sp;
    if (level > 0) {
        uint32_t bp = c->r[R_EBP] & mask;
        for (uint32_t n = 1; n < level; n++) {
            bp = sp_below(c, bp, size);
            uint32_t outer = seg_read(c, S_SS, bp, size);
            sp = sp_below(c, sp, size);
            seg_write(c, S_SS, sp, outer, size);
        }
        sp = sp_below(c, sp, size);
        seg_write(c, S_SS, sp, frame, size);
    }
    uint32_t new_sp = (sp - (i->imm & 0xFFFF)) & mask;
    /* #SS when the new top is outside SS, #PF when it could not be written */
    mmu_translate(c, seg_lin(c, S_SS, new_sp, 1, true), true, cpu_user_access(c));
    reg_write(c, R_EBP, frame, size);
    set_sp(c, new_sp);
}
SIZED_HANDLERS(enter)

/* C9: (E)SP = (E)BP by the stack size, then pop (E)BP. */
static void leave(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    uint32_t sp = c->r[R_EBP] & sp_mask(c);
    uint32_t v = seg_read(c, S_SS, sp, size);
    set_sp(c, sp + (uint32_t)size);
    reg_write(c, R_EBP, v, size);
}
SIZED_HANDLERS(leave)

/* ---- opcode table ---- */

#define ROW(op, reg, dec, name) { (op), (reg), (dec), name##16, name##32 }
#define ROWS8(op, name)                                                              \
    ROW((op) + 0, -1, 0, name), ROW((op) + 1, -1, 0, name), ROW((op) + 2, -1, 0, name), \
    ROW((op) + 3, -1, 0, name), ROW((op) + 4, -1, 0, name), ROW((op) + 5, -1, 0, name), \
    ROW((op) + 6, -1, 0, name), ROW((op) + 7, -1, 0, name)

const struct opdesc ops_stack[] = {
    ROWS8(0x50, push_reg),
    ROWS8(0x58, pop_reg),
    ROW(0x06, -1, 0, push_sreg),
    ROW(0x07, -1, 0, pop_sreg),
    ROW(0x0E, -1, 0, push_sreg),
    ROW(0x16, -1, 0, push_sreg),
    ROW(0x17, -1, D_END, pop_sreg), /* SS.B may change; one-instruction shadow */
    ROW(0x1E, -1, 0, push_sreg),
    ROW(0x1F, -1, 0, pop_sreg),
    ROW(0x1A0, -1, 0, push_sreg),
    ROW(0x1A1, -1, 0, pop_sreg),
    ROW(0x1A8, -1, 0, push_sreg),
    ROW(0x1A9, -1, 0, pop_sreg),
    ROW(0x60, -1, 0, pusha),
    ROW(0x61, -1, 0, popa),
    ROW(0x68, -1, DI(IMM_IV), push_imm),
    ROW(0x6A, -1, DI(IMM_SB), push_imm),
    ROW(0x8F, 0, D_MODRM, pop_rm),
    ROW(0xFF, 6, D_MODRM, push_rm),
    ROW(0x9C, -1, 0, pushf),
    ROW(0x9D, -1, D_END, popf),     /* IF/TF may change */
    ROW(0xC8, -1, DI(IMM_IWIB), enter),
    ROW(0xC9, -1, 0, leave),
    OPDESC_END
};
