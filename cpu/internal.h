/* internal.h — the contract between the parts of the CPU core.
 *
 * Promises: one definition of struct cpu, of a decoded instruction (struct insn)
 * and of an opcode-table row (struct opdesc), plus the inline fast paths every
 * instruction handler uses: register and operand access, segment-checked memory
 * access through the software TLB, lazy flags and exceptions.
 *
 * Rules every handler follows:
 *  - c->eip already holds the address of the NEXT instruction when a handler
 *    runs; c->insn_eip holds the start of the current one.
 *  - Faults are raised with cpu_raise() (a longjmp). A handler commits guest
 *    state (registers, flags, ESP, EIP) only after its last access that can
 *    fault, so a faulting instruction leaves the state as before it.
 *  - A handler that changes how following code decodes or runs (mode, CS,
 *    SS.B, IF, paging, control registers) is marked D_END in its opdesc, or
 *    calls cpu_end_block().
 */
#ifndef PLAN86_CPU_INTERNAL_H
#define PLAN86_CPU_INTERNAL_H

#include <setjmp.h>
#include <stddef.h>
#include <string.h>

#include "cpu.h"
#include "fpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct insn;
typedef void (*insn_fn)(struct cpu *c, const struct insn *i);

/* struct insn flags */
enum {
    I_OP32 = 1 << 0,    /* operand size 32 */
    I_ADDR32 = 1 << 1,  /* address size 32 */
    I_REP = 1 << 2,     /* F3 */
    I_REPNE = 1 << 3,   /* F2 */
    I_LOCK = 1 << 4,    /* F0 */
    I_MEM = 1 << 5,     /* has a memory operand (ModRM mod != 3, or moffs) */
    I_SEGOVR = 1 << 6,  /* segment override prefix present */
};

/* A decoded instruction: 32 bytes. */
struct insn {
    insn_fn fn;
    uint32_t disp;   /* memory displacement (moffs for A0..A3) */
    uint32_t imm;    /* immediate, extended per the opdesc; rel for jumps */
    uint16_t imm2;   /* second immediate: ENTER level, far pointer selector */
    uint8_t len;     /* bytes, prefixes included */
    uint8_t op;      /* opcode byte (low byte; for +r forms and cc) */
    uint8_t reg;     /* ModRM.reg */
    uint8_t rm;      /* ModRM.rm (register number when !I_MEM) */
    uint8_t seg;     /* segment of the memory operand, override applied */
    uint8_t base;    /* R_NONE when absent */
    uint8_t index;   /* R_NONE when absent */
    uint8_t scale;   /* shift count 0..3 */
    uint8_t flags;   /* I_* */
    uint8_t map;     /* 0: one-byte opcode map, 1: 0F map */
};

/* Decode flags of an opcode-table row */
enum {
    D_MODRM = 1 << 0,     /* has a ModRM byte */
    D_MEMONLY = 1 << 1,   /* #UD when ModRM.mod == 3 */
    D_REGONLY = 1 << 2,   /* ModRM always names a register (MOV CRn etc.) */
    D_END = 1 << 3,       /* ends the decoded block (control transfer, mode change) */
    D_LOCKOK = 1 << 4,    /* LOCK allowed (with a memory destination) */
    D_IMM_SHIFT = 8,      /* immediate kind in bits 8..11: enum imm_kind */
};
enum imm_kind {
    IMM_NONE,
    IMM_IB,    /* 8-bit, zero-extended */
    IMM_SB,    /* 8-bit, sign-extended to 32 */
    IMM_IW,    /* 16-bit */
    IMM_IV,    /* 16 or 32 bits by operand size (16 zero-extended) */
    IMM_IWIB,  /* ENTER: imm = iw, imm2 = ib */
    IMM_AP,    /* far pointer: imm = offset (16/32 by operand size), imm2 = selector */
    IMM_MOFFS, /* A0..A3: disp = 16/32-bit offset by address size, I_MEM set */
    IMM_JB,    /* rel8, sign-extended */
    IMM_JV,    /* rel16/rel32, sign-extended */
};
#define DI(kind) ((kind) << D_IMM_SHIFT)

/* One opcode-table row. op: 0x000..0x0FF one-byte map, 0x100..0x1FF the 0F map.
 * reg: the ModRM.reg value this row is for (group opcodes), or -1 for all.
 * fn16/fn32 by operand size; byte forms give the same handler twice. */
struct opdesc {
    uint16_t op;
    int8_t reg;
    uint16_t dec;
    insn_fn fn16, fn32;
};
#define OPDESC_END { 0xFFFF, -1, 0, NULL, NULL }

/* The opcode groups; each ops_*.c file defines one list ending in OPDESC_END. */
extern const struct opdesc ops_alu[];      /* ops_alu.c: arithmetic, logic, INC/DEC, BCD */
extern const struct opdesc ops_shift[];    /* ops_shift.c: shifts, rotates, SHLD/SHRD */
extern const struct opdesc ops_muldiv[];   /* ops_muldiv.c: MUL/IMUL/DIV/IDIV */
extern const struct opdesc ops_bits[];     /* ops_bits.c: BT*, BSF/BSR, SETcc, CMOVcc, BSWAP, CMPXCHG, XADD, flag ops */
extern const struct opdesc ops_move[];     /* ops_move.c: MOV, MOVZX/SX, XCHG, LEA, XLAT, CBW/CWD, far-pointer loads */
extern const struct opdesc ops_stack[];    /* ops_stack.c: PUSH/POP, PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE */
extern const struct opdesc ops_string[];   /* ops_string.c: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS, REP */
extern const struct opdesc ops_io[];       /* ops_io.c: IN, OUT */
extern const struct opdesc ops_control[];  /* ops_control.c: JMP, Jcc, CALL, RET, LOOP, INT, IRET, HLT, BOUND */
extern const struct opdesc ops_fpu[];      /* ops_fpu.c: x87 (D8..DF, WAIT) */
extern const struct opdesc ops_system[];   /* ops_system.c: descriptor tables, CRn/DRn, CPUID, MSRs, TSC, LAR/LSL */

/* segment-check bits in seg_cache.check */
enum { SEGCHK_READ = 1, SEGCHK_WRITE = 2 };

/* Software TLB: direct-mapped, one per privilege class (0 supervisor, 1 user).
 * A tag is the linear page address; TLB_INVALID never matches a page address.
 * A hit gives host = addend + linear. */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 0xFFFFFFFFu
struct tlb {
    uint32_t read_tag[TLB_SIZE];
    uint32_t write_tag[TLB_SIZE];
    uint32_t code_tag[TLB_SIZE];   /* code fetch: linear page -> physical page */
    uint32_t phys[TLB_SIZE];       /* physical page of the entry */
    uintptr_t addend[TLB_SIZE];
    uint8_t attr[TLB_SIZE];        /* TLBA_* of the slot's translation (mmu.c) */
    uint32_t large_map[1024 / 32]; /* bit per 4 MiB linear region: may hold large-page slots */
};
enum { TLBA_GLOBAL = 1, TLBA_LARGE = 2 };

struct block;       /* decoded-block cache, exec.c */
struct block_cache;

/* CR4 bits (those the core accepts: CR4_SUPPORTED in ops_system.c) */
enum {
    CR4_VME = 1u << 0, CR4_PVI = 1u << 1, CR4_TSD = 1u << 2, CR4_DE = 1u << 3,
    CR4_PSE = 1u << 4, CR4_PAE = 1u << 5, CR4_MCE = 1u << 6, CR4_PGE = 1u << 7,
    CR4_PCE = 1u << 8, CR4_OSFXSR = 1u << 9, CR4_OSXMMEXCPT = 1u << 10,
};

/* Model-specific registers kept by the core (msr.c). */
struct msr_file {
    uint64_t tsc_offset;     /* TSC = virtual ns + tsc_offset */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11]; /* 0x250, 0x258, 0x259, 0x268..0x26F */
    uint64_t mtrr_var[16];   /* PHYSBASE0, PHYSMASK0, ... PHYSMASK7 (0x200..0x20F) */
};

/* Lazy flags: the arithmetic flags are a function of the last flag-setting
 * operation; lf_op == LF_NONE means eflags holds them. */
enum lf_op { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC };

struct cpu {
    uint32_t r[9];           /* EAX..EDI, then r[R_NONE] == 0 always */
    uint32_t eip;            /* next instruction while a handler runs */
    uint32_t insn_eip;       /* current instruction's start */
    uint32_t eflags;         /* all bits; arithmetic bits valid when lf_op == LF_NONE */
    uint8_t lf_op, lf_size;  /* lf_size: 1, 2, 4 */
    uint32_t lf_res, lf_a, lf_b;

    struct fpu fpu;
    struct seg_cache seg[S_COUNT];
    struct { uint32_t base; uint16_t limit; } gdtr, idtr;
    uint32_t cr[5];
    uint32_t dr[8];
    uint8_t cpl;
    bool pe, vm86;           /* protected mode, virtual-8086 mode */
    bool code32, stack32;    /* CS.D, SS.B */
    uint32_t a20_mask;       /* 0xFFEFFFFF with A20 off */
    struct msr_file msr;     /* model-specific registers (msr.c) */

    /* run state */
    bool halted;
    bool intr_line;          /* INTR from the PIC */
    bool intr_shadow;        /* after STI / MOV SS: no interrupt before the next block */
    bool end_block;          /* a handler asks to leave the block after it */
    bool exit_request;
    uint64_t icount;

    /* exceptions */
    jmp_buf fault_jmp;
    int8_t exc_vec;          /* vector being raised, -1 none */
    uint32_t exc_err;        /* error code, or EXC_NOERR */
    int8_t delivering;       /* exception whose delivery is under way, -1 none, -2 an IRQ (#DF rules) */
    struct block *cur_block; /* block being executed, NULL between blocks */
    uint32_t block_eip;      /* EIP at the start of cur_block */

    struct tlb tlb[2];
    struct tlb *tlb_cur;     /* &tlb[cpl == 3] */
    uint32_t tlb_epoch;      /* bumped by every TLB flush: linear->physical may have changed */
    struct cpu_bus bus;

    struct block_cache *bc;  /* decoded blocks, SMC page marks */
    uint8_t ud_logged[512 / 8]; /* opcodes whose #UD was logged once */
    uint8_t noted_unsupported;  /* enum unsupported_note bits logged once (descriptor.h) */
    uint8_t ops_ready;
    struct opdesc optab[512 * 8]; /* [op * 8 + reg] */
};

#define EXC_NOERR 0xFFFFFFFFu

/* ---- decoded blocks (exec.c) and the decoder (decode.c) ---- */
struct block_cache *bc_new(void);
bool bc_page_has_code(const struct cpu *c, uint32_t phys);
/* Drops the decoded code of a physical page (self-modifying code, DMA). */
void bc_invalidate_page(struct cpu *c, uint32_t phys);
void bc_flush(struct cpu *c);
/* Fills c->optab from the ops_* lists. */
void decode_build_table(struct cpu *c);
/* Decodes up to `max` instructions starting at CS:EIP into `out`, stopping
 * after a D_END instruction, at a page end or the CS limit. Raises the fault
 * of the first instruction's fetch; later fetch faults just end the block.
 * *phys2 gets the second physical page when the last instruction crosses into
 * it (else 1). Returns the count and the byte length in *bytes. */
int decode_block(struct cpu *c, struct insn *out, int max, uint32_t *bytes, uint32_t *phys2);

/* ---- exceptions (exec.c / interrupt.c) ---- */
_Noreturn void cpu_raise(struct cpu *c, int vec, uint32_t err);
static inline _Noreturn void cpu_gp(struct cpu *c, uint32_t err) { cpu_raise(c, EXC_GP, err); }
static inline _Noreturn void cpu_ud(struct cpu *c) { cpu_raise(c, EXC_UD, EXC_NOERR); }
/* Delivers an interrupt or exception through the IVT (real mode) or IDT.
 * soft: INT n/INT3/INTO (privilege check against the gate DPL, EIP after the
 * instruction); otherwise EIP is c->eip as the caller set it. Raises faults
 * for the delivery itself (the run loop turns nested ones into #DF). */
void cpu_deliver_interrupt(struct cpu *c, int vec, uint32_t err, bool soft);
static inline void cpu_end_block(struct cpu *c) { c->end_block = true; }

/* ---- registers ---- */
static inline uint8_t get_r8(const struct cpu *c, int n)
{
    return n < 4 ? (uint8_t)c->r[n] : (uint8_t)(c->r[n - 4] >> 8);
}
static inline void set_r8(struct cpu *c, int n, uint8_t v)
{
    if (n < 4) c->r[n] = (c->r[n] & ~0xFFu) | v;
    else c->r[n - 4] = (c->r[n - 4] & ~0xFF00u) | ((uint32_t)v << 8);
}
static inline uint16_t get_r16(const struct cpu *c, int n) { return (uint16_t)c->r[n]; }
static inline void set_r16(struct cpu *c, int n, uint16_t v)
{
    c->r[n] = (c->r[n] & 0xFFFF0000u) | v;
}

/* ---- memory (mmu.c) ---- */
/* Linear-address accesses; `user` selects the TLB of CPL 3 accesses. The slow
 * paths translate (paging), route MMIO, split page-crossing accesses, mark
 * dirty code pages and raise #PF. */
#define CPU_COLD __attribute__((cold))
CPU_COLD uint32_t mmu_read_slow(struct cpu *c, uint32_t lin, int size);
CPU_COLD void mmu_write_slow(struct cpu *c, uint32_t lin, uint32_t val, int size);
/* Translates a linear address for a code fetch or a system access, raising #PF. */
uint32_t mmu_translate(struct cpu *c, uint32_t lin, bool write, bool user);
/* Same without raising: false when the access would fault. */
bool mmu_translate_try(struct cpu *c, uint32_t lin, bool write, bool user, uint32_t *phys);
/* Physical address of a code fetch at `lin` (cached in the code TLB), raising #PF. */
uint32_t mmu_code_phys(struct cpu *c, uint32_t lin);
/* A page now holds decoded code: no write fast path may map it any more. */
void mmu_protect_code_page(struct cpu *c, uint32_t phys_page);
/* Physical memory access (page walks, code fetch, system structures). */
uint32_t phys_read(struct cpu *c, uint32_t phys, int size);
void phys_write(struct cpu *c, uint32_t phys, uint32_t val, int size);
static inline bool cpu_user_access(const struct cpu *c) { return c->tlb_cur == &c->tlb[1]; }
/* Drops every TLB entry, global ones included (CR0.PG/WP, CR4.PSE/PGE/PAE, A20). */
void mmu_flush_tlb(struct cpu *c);
/* MOV to CR3: drops every entry except global pages' (CR4.PGE). */
void mmu_flush_nonglobal(struct cpu *c);
/* INVLPG: drops the page of `lin`, all of its 4 MiB page when it was large. */
void mmu_flush_page(struct cpu *c, uint32_t lin);

static inline uint32_t load_le(const uint8_t *p, int size)
{
    uint32_t v = 0;
    memcpy(&v, p, (size_t)size);
    return v;
}
static inline void store_le(uint8_t *p, uint32_t v, int size) { memcpy(p, &v, (size_t)size); }

/* The page of an access's last byte. The TLB slot is picked by its first
 * byte, so comparing the slot's tag with this catches page-crossing accesses
 * in the same compare (a wrap past 4 GiB lands on page 0, whose tag never sits
 * in the slot of page 0xFFFFF). */
static inline uint32_t tlb_last_page(uint32_t lin, int size) { return (lin + (uint32_t)size - 1) & ~0xFFFu; }

static inline uint32_t lin_read(struct cpu *c, uint32_t lin, int size)
{
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    struct tlb *t = c->tlb_cur;
    if (likely(t->read_tag[idx] == tlb_last_page(lin, size)))
        return load_le((const uint8_t *)(t->addend[idx] + lin), size);
    return mmu_read_slow(c, lin, size);
}
static inline void lin_write(struct cpu *c, uint32_t lin, uint32_t val, int size)
{
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    struct tlb *t = c->tlb_cur;
    if (likely(t->write_tag[idx] == tlb_last_page(lin, size))) {
        store_le((uint8_t *)(t->addend[idx] + lin), val, size);
        return;
    }
    mmu_write_slow(c, lin, val, size);
}
/* System accesses (descriptor tables, TSS, IDT): always supervisor. */
uint32_t sys_read(struct cpu *c, uint32_t lin, int size);
void sys_write(struct cpu *c, uint32_t lin, uint32_t val, int size);

/* ---- segments (segment.c) ---- */
/* The slow segment check: expand-down, null, unreadable/unwritable, limits;
 * raises #GP(0) or #SS(0). Returns the linear address. */
CPU_COLD uint32_t seg_check_slow(struct cpu *c, int s, uint32_t off, int size, bool write);
/* Loads a data/stack segment register (MOV/POP Sreg, LDS...) with all the
 * protected-mode checks; real and V86 mode: base = sel << 4. */
void cpu_load_seg(struct cpu *c, int s, uint16_t sel);
/* Recomputes seg_cache.check for segment s from its attributes. */
void seg_update_check(struct cpu *c, int s);
/* Mode bookkeeping after CR0/EFLAGS.VM/CS changes: pe, vm86, cpl, code32,
 * stack32, tlb_cur. */
void cpu_update_mode(struct cpu *c);

static inline uint32_t seg_lin(struct cpu *c, int s, uint32_t off, int size, bool write)
{
    const struct seg_cache *sc = &c->seg[s];
    if (likely(!(sc->check & (write ? SEGCHK_WRITE : SEGCHK_READ)) &&
               (uint64_t)off + (uint64_t)(size - 1) <= sc->limit))
        return sc->base + off;
    return seg_check_slow(c, s, off, size, write);
}
static inline uint32_t seg_read(struct cpu *c, int s, uint32_t off, int size)
{
    return lin_read(c, seg_lin(c, s, off, size, false), size);
}
static inline void seg_write(struct cpu *c, int s, uint32_t off, uint32_t v, int size)
{
    lin_write(c, seg_lin(c, s, off, size, true), v, size);
}

/* ---- operands ---- */
static inline uint32_t insn_ea(const struct cpu *c, const struct insn *i)
{
    uint32_t ea = c->r[i->base] + (c->r[i->index] << i->scale) + i->disp;
    return (i->flags & I_ADDR32) ? ea : (ea & 0xFFFF);
}
static inline int insn_opsize(const struct insn *i) { return (i->flags & I_OP32) ? 4 : 2; }

/* Read / write the ModRM r/m operand of `size` bytes (1, 2, 4). */
static inline uint32_t rm_read(struct cpu *c, const struct insn *i, int size)
{
    if (!(i->flags & I_MEM)) {
        if (size == 1) return get_r8(c, i->rm);
        return size == 2 ? get_r16(c, i->rm) : c->r[i->rm];
    }
    return seg_read(c, i->seg, insn_ea(c, i), size);
}
static inline void reg_write(struct cpu *c, int n, uint32_t v, int size)
{
    if (size == 1) set_r8(c, n, (uint8_t)v);
    else if (size == 2) set_r16(c, n, (uint16_t)v);
    else c->r[n] = v;
}
static inline uint32_t reg_read(const struct cpu *c, int n, int size)
{
    if (size == 1) return get_r8(c, n);
    return size == 2 ? get_r16(c, n) : c->r[n];
}
static inline void rm_write(struct cpu *c, const struct insn *i, uint32_t v, int size)
{
    if (!(i->flags & I_MEM)) reg_write(c, i->rm, v, size);
    else seg_write(c, i->seg, insn_ea(c, i), v, size);
}
/* For read-modify-write: the linear address checked for writing; then use
 * lin_read/lin_write on it. Register forms do not call this. */
static inline uint32_t rm_lin_rw(struct cpu *c, const struct insn *i, int size)
{
    return seg_lin(c, i->seg, insn_ea(c, i), size, true);
}

/* ---- stack (stack helpers used by several groups; ops_stack.c) ---- */
static inline uint32_t sp_mask(const struct cpu *c) { return c->stack32 ? 0xFFFFFFFFu : 0xFFFFu; }
/* The full ESP register value after moving the stack pointer by `delta`:
 * with a 16-bit stack only SP moves (and wraps), the upper half stays. */
static inline uint32_t esp_moved(const struct cpu *c, uint32_t delta)
{
    uint32_t esp = c->r[R_ESP];
    if (c->stack32) return esp + delta;
    return (esp & 0xFFFF0000u) | ((esp + delta) & 0xFFFFu);
}
/* Push/pop with SS.B choosing SP or ESP. cpu_push commits ESP after the write. */
static inline void cpu_push(struct cpu *c, uint32_t v, int size)
{
    uint32_t esp = esp_moved(c, (uint32_t)-size);
    seg_write(c, S_SS, esp & sp_mask(c), v, size);
    c->r[R_ESP] = esp;
}
static inline uint32_t cpu_pop(struct cpu *c, int size)
{
    uint32_t v = seg_read(c, S_SS, c->r[R_ESP] & sp_mask(c), size);
    c->r[R_ESP] = esp_moved(c, (uint32_t)size);
    return v;
}
/* Reads the value `size` bytes at stack offset `off` from the top, no ESP change. */
static inline uint32_t cpu_stack_peek(struct cpu *c, uint32_t off, int size)
{
    return seg_read(c, S_SS, (c->r[R_ESP] + off) & sp_mask(c), size);
}
static inline void set_sp(struct cpu *c, uint32_t v)
{
    if (c->stack32) c->r[R_ESP] = v;
    else set_r16(c, R_ESP, (uint16_t)v);
}

/* ---- flags (flags.c) ---- */
static inline uint32_t size_mask(int size) { return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1; }
static inline uint32_t size_sign(int size) { return 1u << (size * 8 - 1); }

/* Records a lazy flag-setting operation (a, b are the masked operands). */
static inline void flags_lazy(struct cpu *c, enum lf_op op, int size, uint32_t res, uint32_t a, uint32_t b)
{
    c->lf_op = (uint8_t)op;
    c->lf_size = (uint8_t)size;
    c->lf_res = res & size_mask(size);
    c->lf_a = a;
    c->lf_b = b;
}
/* Arithmetic flags as EFLAGS bits (evaluates the lazy state). */
uint32_t flags_arith(struct cpu *c);
/* Folds the lazy state into eflags (lf_op becomes LF_NONE). */
void flags_materialize(struct cpu *c);
/* CF of ADC/SBB, which need the carry-in recovered from the operands. */
bool flag_cf_with_carry_in(const struct cpu *c);
bool flag_of(struct cpu *c);
bool flag_pf(struct cpu *c);
bool flag_af(struct cpu *c);
/* Condition code 0..15 as in Jcc/SETcc/CMOVcc, the general evaluation. */
bool cpu_cond_general(struct cpu *c, int cc);

static inline bool flag_cf(struct cpu *c)
{
    switch (c->lf_op) {
    case LF_ADD: return c->lf_res < c->lf_a;
    case LF_SUB: return c->lf_a < c->lf_b;
    case LF_ADC: case LF_SBB: return flag_cf_with_carry_in(c);
    case LF_LOGIC: return false;
    default: return c->eflags & F_CF;   /* LF_NONE, INC, DEC keep CF in eflags */
    }
}
static inline bool flag_zf(struct cpu *c)
{
    return c->lf_op == LF_NONE ? (c->eflags & F_ZF) != 0 : c->lf_res == 0;
}
static inline bool flag_sf(struct cpu *c)
{
    return c->lf_op == LF_NONE ? (c->eflags & F_SF) != 0 : (c->lf_res & size_sign(c->lf_size)) != 0;
}

/* INC/DEC: CF is kept, so it is folded into eflags first. */
static inline void flags_lazy_incdec(struct cpu *c, enum lf_op op, int size, uint32_t res, uint32_t a)
{
    c->eflags = (c->eflags & ~F_CF) | (flag_cf(c) ? F_CF : 0);
    flags_lazy(c, op, size, res, a, 1);
}
/* Sets the arithmetic flags in `mask` to the bits of `value` (eager form).
 * When `mask` covers them all, the lazy state is simply dropped. */
static inline void flags_set(struct cpu *c, uint32_t mask, uint32_t value)
{
    if ((mask & F_ARITH) == F_ARITH) c->lf_op = LF_NONE;
    else flags_materialize(c);
    c->eflags = (c->eflags & ~mask) | (value & mask);
}

/* Condition code 0..15 after a compare or subtraction of a and b (masked to
 * the size whose sign bit is `sign`) giving r. Signed order is unsigned
 * order with the sign bits flipped. */
static inline bool cond_after_sub(int cc, uint32_t a, uint32_t b, uint32_t r, uint32_t sign)
{
    bool t;
    switch (cc >> 1) {
    case 0: t = ((a ^ b) & (a ^ r) & sign) != 0; break;
    case 1: t = a < b; break;
    case 2: t = r == 0; break;
    case 3: t = a <= b; break;
    case 4: t = (r & sign) != 0; break;
    case 5: t = !__builtin_parity(r & 0xFF); break;
    case 6: t = (a ^ sign) < (b ^ sign); break;
    default: t = (a ^ sign) <= (b ^ sign); break;
    }
    return t != (cc & 1);
}
/* Condition code 0..15 after a logic operation (CF = OF = 0) giving r. */
static inline bool cond_after_logic(int cc, uint32_t r, uint32_t sign)
{
    bool t;
    switch (cc >> 1) {
    case 0: case 1: t = false; break;
    case 2: case 3: t = r == 0; break;
    case 4: case 6: t = (r & sign) != 0; break;
    case 5: t = !__builtin_parity(r & 0xFF); break;
    default: t = r == 0 || (r & sign) != 0; break;
    }
    return t != (cc & 1);
}
/* Condition code 0..15 as in Jcc/SETcc/CMOVcc. ZF and SF tests, and any
 * test after a compare or logic operation (the usual producers), are
 * evaluated straight from the lazy state. */
static inline bool cpu_cond(struct cpu *c, int cc)
{
    if ((cc >> 1 == 2 || cc >> 1 == 4) && c->lf_op != LF_NONE)   /* ZF, SF: the result's */
        return (cc >> 1 == 2 ? c->lf_res == 0 : (c->lf_res & size_sign(c->lf_size)) != 0) != (cc & 1);
    if (c->lf_op == LF_SUB)
        return cond_after_sub(cc, c->lf_a, c->lf_b, c->lf_res, size_sign(c->lf_size));
    if (c->lf_op == LF_LOGIC) return cond_after_logic(cc, c->lf_res, size_sign(c->lf_size));
    return cpu_cond_general(c, cc);
}
/* PF/ZF/SF bits for a result, the common part of eager flag computations. */
static inline uint32_t flags_szp(uint32_t res, int size)
{
    res &= size_mask(size);
    return (res == 0 ? F_ZF : 0) | ((res & size_sign(size)) ? F_SF : 0) |
           (__builtin_parity(res & 0xFF) ? 0 : F_PF);
}
/* Full EFLAGS / writes with the mask of bits an instruction may change. */
uint32_t cpu_read_eflags(struct cpu *c);
void cpu_write_eflags(struct cpu *c, uint32_t v, uint32_t changeable);

/* ---- I/O permission (segment.c) ---- */
/* Raises #GP(0) when CPL > IOPL (or in V86) and the TSS bitmap denies it. */
void cpu_check_io(struct cpu *c, uint16_t port, int size);

/* ---- model-specific registers (msr.c) ---- */
/* Power-on values (PAT default, MTRRs disabled). */
void msr_reset(struct cpu *c);
/* RDMSR/WRMSR of `msr`: false when the MSR does not exist or the value sets
 * reserved bits (the instruction raises #GP(0)). */
bool msr_read(struct cpu *c, uint32_t msr, uint64_t *value);
bool msr_write(struct cpu *c, uint32_t msr, uint64_t value);
/* The time-stamp counter: virtual nanoseconds (1 GHz) plus the WRMSR offset. */
uint64_t msr_tsc(struct cpu *c);

/* ---- misc ---- */
/* #UD for an opcode nothing implements; logs it once per opcode. */
void op_unimplemented(struct cpu *c, const struct insn *i);
void cpu_log(struct cpu *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
