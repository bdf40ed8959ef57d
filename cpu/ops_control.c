/* ops_control.c — control transfers: jumps, calls, returns, loops,
 * software interrupts, IRET, BOUND, HLT, CLI/STI.
 *
 * Promises: near targets are truncated to 16 bits with a 16-bit operand size
 * and checked against the CS limit (#GP(0)); far transfers follow real/V86
 * mode (base = selector << 4) or the protected-mode rules: code segments,
 * call gates (CALL to an inner level switches to the TSS stack and copies the
 * gate's parameters), RETF/IRET to the same or an outer level (data segments
 * the outer level may not use become null), task switches (JMP/CALL to a
 * TSS or task gate, IRET with NT; task.c) and IRET from CPL 0 into V86 mode.
 * In V86 mode INT n, IRET, CLI and STI need IOPL 3 (#GP(0) otherwise); INT3
 * and INTO only face the gate's DPL. Every instruction checks and reads
 * everything before it commits, so a fault leaves state unchanged.
 */
#include "descriptor.h"

/* Defines the 16- and 32-bit operand-size handlers name16/name32 around a
 * size-generic body name(c, i, size). */
#define SIZED_HANDLERS(name)                                                   \
    static void name##16(struct cpu *c, const struct insn *i) { name(c, i, 2); } \
    static void name##32(struct cpu *c, const struct insn *i) { name(c, i, 4); }

static inline bool protected_mode(const struct cpu *c) { return c->pe && !c->vm86; }
static inline int iopl(const struct cpu *c) { return (c->eflags & F_IOPL) >> 12; }

/* Offset `n` bytes past the memory operand, wrapped by the address size. */
static inline uint32_t ea_plus(const struct cpu *c, const struct insn *i, uint32_t n)
{
    uint32_t ea = insn_ea(c, i) + n;
    return (i->flags & I_ADDR32) ? ea : (ea & 0xFFFF);
}

/* ---- near transfers ---- */

static inline uint32_t near_target(struct cpu *c, uint32_t target, int size)
{
    if (size == 2)
        target &= 0xFFFF;
    if (target > c->seg[S_CS].limit)
        cpu_gp(c, 0);
    return target;
}

static void jmp_rel(struct cpu *c, const struct insn *i, int size)
{
    c->eip = near_target(c, c->eip + i->imm, size);
}
SIZED_HANDLERS(jmp_rel)

/* One handler per condition and size, so the condition is a constant the
 * inlined cpu_cond folds. */
static inline __attribute__((always_inline)) void jcc(struct cpu *c, const struct insn *i, int cc, int size)
{
    if (cpu_cond(c, cc))
        c->eip = near_target(c, c->eip + i->imm, size);
}
#define JCC_HANDLERS(cc)                                                                       static void jcc##cc##_16(struct cpu *c, const struct insn *i) { jcc(c, i, 0x##cc, 2); }     static void jcc##cc##_32(struct cpu *c, const struct insn *i) { jcc(c, i, 0x##cc, 4); }
JCC_HANDLERS(0) JCC_HANDLERS(1) JCC_HANDLERS(2) JCC_HANDLERS(3)
JCC_HANDLERS(4) JCC_HANDLERS(5) JCC_HANDLERS(6) JCC_HANDLERS(7)
JCC_HANDLERS(8) JCC_HANDLERS(9) JCC_HANDLERS(A) JCC_HANDLERS(B)
JCC_HANDLERS(C) JCC_HANDLERS(D) JCC_HANDLERS(E) JCC_HANDLERS(F)

static void jmp_rm(struct cpu *c, const struct insn *i, int size)
{
    c->eip = near_target(c, rm_read(c, i, size), size);
}
SIZED_HANDLERS(jmp_rm)

static inline void call_near(struct cpu *c, uint32_t target, int size)
{
    target = near_target(c, target, size);
    cpu_push(c, c->eip, size);
    c->eip = target;
}

static void call_rel(struct cpu *c, const struct insn *i, int size) { call_near(c, c->eip + i->imm, size); }
SIZED_HANDLERS(call_rel)

static void call_rm(struct cpu *c, const struct insn *i, int size) { call_near(c, rm_read(c, i, size), size); }
SIZED_HANDLERS(call_rm)

static inline void ret_near(struct cpu *c, int size, uint32_t release)
{
    uint32_t target = near_target(c, cpu_stack_peek(c, 0, size), size);
    set_sp(c, c->r[R_ESP] + (uint32_t)size + release);
    c->eip = target;
}

static void ret(struct cpu *c, const struct insn *i, int size) { (void)i; ret_near(c, size, 0); }
SIZED_HANDLERS(ret)

static void ret_imm(struct cpu *c, const struct insn *i, int size) { ret_near(c, size, i->imm & 0xFFFF); }
SIZED_HANDLERS(ret_imm)

/* E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JCXZ/JECXZ; the address size picks CX or ECX. */
static void loop(struct cpu *c, const struct insn *i, int size)
{
    int count_size = (i->flags & I_ADDR32) ? 4 : 2;
    uint32_t count = reg_read(c, R_ECX, count_size);
    bool taken;
    if (i->op == 0xE3) {
        taken = count == 0;
    } else {
        count = (count - 1) & size_mask(count_size);
        taken = count != 0;
        if (i->op == 0xE0) taken = taken && !flag_zf(c);
        if (i->op == 0xE1) taken = taken && flag_zf(c);
    }
    uint32_t next = taken ? near_target(c, c->eip + i->imm, size) : c->eip;
    if (i->op != 0xE3)
        reg_write(c, R_ECX, count, count_size);
    c->eip = next;
}
SIZED_HANDLERS(loop)

/* ---- far transfers: real and V86 mode ---- */

static void far_real(struct cpu *c, uint16_t sel, uint32_t off, int size, bool call)
{
    if (size == 2)
        off &= 0xFFFF;
    if (off > c->seg[S_CS].limit)
        cpu_gp(c, 0);
    if (call) {
        struct stack_frame f;
        frame_on_current(c, &f);
        frame_push(c, &f, c->seg[S_CS].sel, size);
        frame_push(c, &f, c->eip, size);
        c->r[R_ESP] = f.esp;
    }
    seg_load_real(c, S_CS, sel);
    c->eip = off;
}

/* ---- far transfers: protected mode ---- */

/* JMP/CALL straight to a code segment: privilege rules and presence. */
static void check_direct_code(struct cpu *c, uint16_t sel, const struct desc *d)
{
    uint16_t attr = desc_attr(d);
    int dpl = attr_dpl(attr);
    bool denied = attr_is_conforming(attr) ? dpl > c->cpl
                                           : (sel_rpl(sel) > c->cpl || dpl != c->cpl);
    if (!attr_is_code(attr) || denied)
        cpu_gp(c, sel_err(sel, 0));
    desc_require_present(c, d, EXC_NP, sel_err(sel, 0));
}

/* A call gate and the code segment it names, checked up to presence. */
struct gate_path {
    uint16_t target;
    struct desc code;
    uint32_t eip;
    int size;         /* gate size: 2 or 4 */
};

static void follow_call_gate(struct cpu *c, uint16_t sel, const struct desc *gate, struct gate_path *p)
{
    int gate_dpl = attr_dpl(desc_attr(gate));
    if (gate_dpl < c->cpl || gate_dpl < sel_rpl(sel))
        cpu_gp(c, sel_err(sel, 0));
    desc_require_present(c, gate, EXC_NP, sel_err(sel, 0));
    p->target = gate_selector(gate);
    desc_fetch_code(c, p->target, 0, &p->code);
    if (attr_dpl(desc_attr(&p->code)) > c->cpl)
        cpu_gp(c, sel_err(p->target, 0));
    desc_require_present(c, &p->code, EXC_NP, sel_err(p->target, 0));
    p->size = attr_sys_type(desc_attr(gate)) == SYS_CALL_GATE32 ? 4 : 2;
    p->eip = gate_offset(gate);
    if (p->size == 2)
        p->eip &= 0xFFFF;
    if (p->eip > desc_limit(&p->code))
        cpu_gp(c, 0);
}

/* CALL through a gate to a more privileged non-conforming segment. */
static void call_gate_inner(struct cpu *c, const struct desc *gate, struct gate_path *p)
{
    int new_cpl = attr_dpl(desc_attr(&p->code));
    struct inner_stack stack;
    struct stack_frame f;
    inner_stack_open(c, new_cpl, 0, &stack, &f);
    frame_push(c, &f, c->seg[S_SS].sel, p->size);
    frame_push(c, &f, c->r[R_ESP], p->size);
    for (int k = gate_param_count(gate) - 1; k >= 0; k--)
        frame_push(c, &f, cpu_stack_peek(c, (uint32_t)k * (uint32_t)p->size, p->size), p->size);
    frame_push(c, &f, c->seg[S_CS].sel, p->size);
    frame_push(c, &f, c->eip, p->size);
    desc_set_accessed(c, &p->code);
    inner_stack_commit(c, &stack, &f);
    seg_commit_cs(c, p->target, &p->code, new_cpl);
    c->eip = p->eip;
}

/* Lands on code segment `sel` at `eip`, pushing the return address first
 * (`push_size` bytes each) when it is a call. */
static void enter_code_same_level(struct cpu *c, uint16_t sel, struct desc *code, uint32_t eip, int push_size)
{
    if (push_size) {
        struct stack_frame f;
        frame_on_current(c, &f);
        frame_push(c, &f, c->seg[S_CS].sel, push_size);
        frame_push(c, &f, c->eip, push_size);
        c->r[R_ESP] = f.esp;
    }
    seg_commit_cs(c, sel, code, c->cpl);
    c->eip = eip;
}

static void far_protected(struct cpu *c, uint16_t sel, uint32_t off, int size, bool call)
{
    struct desc d;
    if (sel_is_null(sel))
        cpu_gp(c, 0);
    if (!desc_read(c, sel, &d))
        cpu_gp(c, sel_err(sel, 0));
    uint16_t attr = desc_attr(&d);
    if (attr & ATTR_S) {
        check_direct_code(c, sel, &d);
        if (size == 2)
            off &= 0xFFFF;
        if (off > desc_limit(&d))
            cpu_gp(c, 0);
        enter_code_same_level(c, sel, &d, off, call ? size : 0);
        return;
    }
    switch (attr_sys_type(attr)) {
    case SYS_CALL_GATE16:
    case SYS_CALL_GATE32: {
        struct gate_path p;
        follow_call_gate(c, sel, &d, &p);
        uint16_t code_attr = desc_attr(&p.code);
        bool more_privileged = !attr_is_conforming(code_attr) && attr_dpl(code_attr) < c->cpl;
        if (more_privileged && call) {
            call_gate_inner(c, &d, &p);
            return;
        }
        if (more_privileged)     /* JMP never changes privilege */
            cpu_gp(c, sel_err(p.target, 0));
        enter_code_same_level(c, p.target, &p.code, p.eip, call ? p.size : 0);
        return;
    }
    case SYS_TASK_GATE:
    case SYS_TSS16:
    case SYS_TSS32:
        task_far_transfer(c, sel, &d, call);
        return;
    default:
        cpu_gp(c, sel_err(sel, 0));
    }
}

static void far_transfer(struct cpu *c, uint16_t sel, uint32_t off, int size, bool call)
{
    if (protected_mode(c))
        far_protected(c, sel, off, size, call);
    else
        far_real(c, sel, off, size, call);
}

static void jmp_far(struct cpu *c, const struct insn *i, int size) { far_transfer(c, i->imm2, i->imm, size, false); }
SIZED_HANDLERS(jmp_far)

static void call_far(struct cpu *c, const struct insn *i, int size) { far_transfer(c, i->imm2, i->imm, size, true); }
SIZED_HANDLERS(call_far)

/* FF /3, FF /5: the far pointer m16:16 / m16:32 in memory. */
static void far_indirect(struct cpu *c, const struct insn *i, int size, bool call)
{
    uint32_t off = seg_read(c, i->seg, insn_ea(c, i), size);
    uint16_t sel = (uint16_t)seg_read(c, i->seg, ea_plus(c, i, (uint32_t)size), 2);
    far_transfer(c, sel, off, size, call);
}

static void jmp_far_rm(struct cpu *c, const struct insn *i, int size) { far_indirect(c, i, size, false); }
SIZED_HANDLERS(jmp_far_rm)

static void call_far_rm(struct cpu *c, const struct insn *i, int size) { far_indirect(c, i, size, true); }
SIZED_HANDLERS(call_far_rm)

/* ---- far returns (RETF, IRET) ---- */

/* A protected-mode return, checked and ready to commit. */
struct far_return {
    uint16_t cs_sel;
    struct desc cs;
    uint32_t eip;
    bool outer;
    uint16_t ss_sel;
    struct desc ss;
    uint32_t esp;
};

/* Checks the return CS:EIP and, for an outer level, the SS:ESP found at
 * stack offset `outer_off`. */
static void plan_return(struct cpu *c, struct far_return *r, uint32_t outer_off, int size)
{
    uint16_t sel = r->cs_sel;
    desc_fetch_code(c, sel, 0, &r->cs);
    uint16_t attr = desc_attr(&r->cs);
    int rpl = sel_rpl(sel), dpl = attr_dpl(attr);
    bool denied = rpl < c->cpl || (attr_is_conforming(attr) ? dpl > rpl : dpl != rpl);
    if (denied)
        cpu_gp(c, sel_err(sel, 0));
    desc_require_present(c, &r->cs, EXC_NP, sel_err(sel, 0));
    r->outer = rpl > c->cpl;
    if (r->outer) {
        r->esp = cpu_stack_peek(c, outer_off, size);
        r->ss_sel = (uint16_t)cpu_stack_peek(c, outer_off + (uint32_t)size, size);
        desc_fetch_stack(c, r->ss_sel, rpl, EXC_GP, 0, &r->ss);
    }
    if (r->eip > desc_limit(&r->cs))
        cpu_gp(c, 0);
}

/* Commits a planned return; `popped` is the frame size at the same level,
 * `release` the RETF imm16 bytes freed on the stack returned to. The
 * accessed-bit writes (which may fault) come before any register changes. */
static void commit_return(struct cpu *c, struct far_return *r, uint32_t popped, uint32_t release)
{
    int rpl = sel_rpl(r->cs_sel);
    desc_set_accessed(c, &r->cs);
    if (!r->outer) {
        set_sp(c, c->r[R_ESP] + popped + release);
        seg_commit_cs(c, r->cs_sel, &r->cs, rpl);
    } else {
        desc_set_accessed(c, &r->ss);
        seg_commit_cs(c, r->cs_sel, &r->cs, rpl);
        seg_commit_ss(c, r->ss_sel, &r->ss);
        set_sp(c, r->esp + release);   /* a 16-bit stack keeps ESP's upper half */
        seg_drop_inaccessible(c);
    }
    c->eip = r->eip;
}

static void far_return(struct cpu *c, int size, uint32_t release)
{
    uint32_t eip = cpu_stack_peek(c, 0, size);
    uint16_t sel = (uint16_t)cpu_stack_peek(c, (uint32_t)size, size);
    if (size == 2)
        eip &= 0xFFFF;
    if (!protected_mode(c)) {
        if (eip > c->seg[S_CS].limit)
            cpu_gp(c, 0);
        set_sp(c, c->r[R_ESP] + 2u * (uint32_t)size + release);
        seg_load_real(c, S_CS, sel);
        c->eip = eip;
        return;
    }
    struct far_return r = { .cs_sel = sel, .eip = eip };
    plan_return(c, &r, 2u * (uint32_t)size + release, size);
    commit_return(c, &r, 2u * (uint32_t)size, release);
}

static void retf(struct cpu *c, const struct insn *i, int size) { (void)i; far_return(c, size, 0); }
SIZED_HANDLERS(retf)

static void retf_imm(struct cpu *c, const struct insn *i, int size) { far_return(c, size, i->imm & 0xFFFF); }
SIZED_HANDLERS(retf_imm)

/* EFLAGS bits an IRET may change, decided by the privilege before it. */
static uint32_t iret_changeable(const struct cpu *c, int size)
{
    uint32_t m = F_ARITH | F_TF | F_DF | F_NT;
    if (size == 4)
        m |= F_RF | F_AC | F_ID;
    if (c->cpl <= iopl(c))
        m |= F_IF;
    if (c->cpl == 0)
        m |= F_IOPL;
    if (c->cpl == 0 && size == 4 && protected_mode(c))
        m |= F_VM | F_VIF | F_VIP;
    return m;
}

static void iret_real(struct cpu *c, int size)
{
    uint32_t eip = cpu_stack_peek(c, 0, size);
    uint16_t sel = (uint16_t)cpu_stack_peek(c, (uint32_t)size, size);
    uint32_t flags = cpu_stack_peek(c, 2u * (uint32_t)size, size);
    if (eip > c->seg[S_CS].limit)
        cpu_gp(c, 0);
    cpu_write_eflags(c, flags, iret_changeable(c, size));
    set_sp(c, c->r[R_ESP] + 3u * (uint32_t)size);
    seg_load_real(c, S_CS, sel);
    c->eip = eip;
}

/* IRETD at CPL 0 with VM set in the popped EFLAGS: the frame goes on with
 * ESP, SS, ES, DS, FS, GS (32 bits each, selectors in the low half). */
static void iret_to_v86(struct cpu *c, uint32_t eip, uint16_t cs, uint32_t flags)
{
    static const int v86_segs[] = { S_SS, S_ES, S_DS, S_FS, S_GS };
    enum { NSEGS = sizeof v86_segs / sizeof v86_segs[0] };
    uint32_t esp = cpu_stack_peek(c, 12, 4);
    uint16_t sels[NSEGS];
    for (int k = 0; k < NSEGS; k++)
        sels[k] = (uint16_t)cpu_stack_peek(c, 16 + 4u * (uint32_t)k, 4);
    if (eip > 0xFFFF)
        cpu_gp(c, 0);
    cpu_write_eflags(c, flags, iret_changeable(c, 4));   /* VM set: V86, CPL 3 */
    seg_load_real(c, S_CS, cs);
    for (int k = 0; k < NSEGS; k++)
        seg_load_real(c, v86_segs[k], sels[k]);
    c->r[R_ESP] = esp;
    c->eip = eip;
    cpu_update_mode(c);
}

static void iret_protected(struct cpu *c, int size)
{
    if (c->eflags & F_NT) {
        task_return(c);
        return;
    }
    uint32_t eip = cpu_stack_peek(c, 0, size);
    uint16_t sel = (uint16_t)cpu_stack_peek(c, (uint32_t)size, size);
    uint32_t flags = cpu_stack_peek(c, 2u * (uint32_t)size, size);
    if (size == 4 && c->cpl == 0 && (flags & F_VM)) {
        iret_to_v86(c, eip, sel, flags);
        return;
    }
    if (size == 2)
        eip &= 0xFFFF;
    struct far_return r = { .cs_sel = sel, .eip = eip };
    plan_return(c, &r, 3u * (uint32_t)size, size);
    uint32_t changeable = iret_changeable(c, size);   /* by the CPL before the return */
    commit_return(c, &r, 3u * (uint32_t)size, 0);
    cpu_write_eflags(c, flags, changeable);
}

static void iret(struct cpu *c, const struct insn *i, int size)
{
    (void)i;
    if (c->vm86 && iopl(c) < 3)
        cpu_gp(c, 0);
    if (protected_mode(c))
        iret_protected(c, size);
    else
        iret_real(c, size);
}
SIZED_HANDLERS(iret)

/* ---- software interrupts ---- */

static void soft_interrupt(struct cpu *c, int vec) { cpu_deliver_interrupt(c, vec, EXC_NOERR, true); }

static void int3(struct cpu *c, const struct insn *i) { (void)i; soft_interrupt(c, EXC_BP); }

/* INT n is IOPL-sensitive in V86 mode (INT3 and INTO are not). */
static void int_n(struct cpu *c, const struct insn *i)
{
    if (c->vm86 && iopl(c) < 3)
        cpu_gp(c, 0);
    soft_interrupt(c, i->imm & 0xFF);
}

static void into(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (flag_of(c))
        soft_interrupt(c, EXC_OF);
}

/* ICEBP: a debug trap delivered like a hardware event (no gate DPL check). */
static void int1(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_deliver_interrupt(c, EXC_DB, EXC_NOERR, false);
}

/* ---- BOUND, HLT, CLI, STI ---- */

static inline int32_t signed_of(uint32_t v, int size) { return size == 2 ? (int16_t)v : (int32_t)v; }

static void bound(struct cpu *c, const struct insn *i, int size)
{
    int32_t lower = signed_of(seg_read(c, i->seg, insn_ea(c, i), size), size);
    int32_t upper = signed_of(seg_read(c, i->seg, ea_plus(c, i, (uint32_t)size), size), size);
    int32_t index = signed_of(reg_read(c, i->reg, size), size);
    if (index < lower || index > upper)
        cpu_raise(c, EXC_BR, EXC_NOERR);
}
SIZED_HANDLERS(bound)

static void hlt(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (c->cpl > 0)
        cpu_gp(c, 0);
    c->halted = true;
}

/* CLI/STI: allowed in real mode, at CPL <= IOPL, and in V86 with IOPL 3. */
static void require_if_access(struct cpu *c)
{
    if (c->pe && c->cpl > iopl(c))
        cpu_gp(c, 0);
}

static void cli(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_if_access(c);
    c->eflags &= ~F_IF;
}

static void sti(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_if_access(c);
    if (!(c->eflags & F_IF))
        c->intr_shadow = true;
    c->eflags |= F_IF;
}

/* ---- opcode table ---- */

#define ROW(op, reg, dec, name) { (op), (reg), (dec), name##16, name##32 }
#define ROW1(op, reg, dec, fn) { (op), (reg), (dec), fn, fn }
#define JCC_ROW(base, cc, kind) { (base) + 0x##cc, -1, D_END | DI(kind), jcc##cc##_16, jcc##cc##_32 }
#define JCC_ROWS16(base, kind)                                                           \
    JCC_ROW(base, 0, kind), JCC_ROW(base, 1, kind), JCC_ROW(base, 2, kind), JCC_ROW(base, 3, kind), \
    JCC_ROW(base, 4, kind), JCC_ROW(base, 5, kind), JCC_ROW(base, 6, kind), JCC_ROW(base, 7, kind), \
    JCC_ROW(base, 8, kind), JCC_ROW(base, 9, kind), JCC_ROW(base, A, kind), JCC_ROW(base, B, kind), \
    JCC_ROW(base, C, kind), JCC_ROW(base, D, kind), JCC_ROW(base, E, kind), JCC_ROW(base, F, kind)

const struct opdesc ops_control[] = {
    JCC_ROWS16(0x70, IMM_JB),
    JCC_ROWS16(0x180, IMM_JV),
    ROW(0xEB, -1, D_END | DI(IMM_JB), jmp_rel),
    ROW(0xE9, -1, D_END | DI(IMM_JV), jmp_rel),
    ROW(0xE8, -1, D_END | DI(IMM_JV), call_rel),
    ROW(0xEA, -1, D_END | DI(IMM_AP), jmp_far),
    ROW(0x9A, -1, D_END | DI(IMM_AP), call_far),
    ROW(0xFF, 2, D_END | D_MODRM, call_rm),
    ROW(0xFF, 3, D_END | D_MODRM | D_MEMONLY, call_far_rm),
    ROW(0xFF, 4, D_END | D_MODRM, jmp_rm),
    ROW(0xFF, 5, D_END | D_MODRM | D_MEMONLY, jmp_far_rm),
    ROW(0xC3, -1, D_END, ret),
    ROW(0xC2, -1, D_END | DI(IMM_IW), ret_imm),
    ROW(0xCB, -1, D_END, retf),
    ROW(0xCA, -1, D_END | DI(IMM_IW), retf_imm),
    ROW(0xE0, -1, D_END | DI(IMM_JB), loop),
    ROW(0xE1, -1, D_END | DI(IMM_JB), loop),
    ROW(0xE2, -1, D_END | DI(IMM_JB), loop),
    ROW(0xE3, -1, D_END | DI(IMM_JB), loop),
    ROW1(0xCC, -1, D_END, int3),
    ROW1(0xCD, -1, D_END | DI(IMM_IB), int_n),
    ROW1(0xCE, -1, D_END, into),
    ROW1(0xF1, -1, D_END, int1),
    ROW(0xCF, -1, D_END, iret),
    ROW(0x62, -1, D_MODRM | D_MEMONLY, bound),
    ROW1(0xF4, -1, D_END, hlt),
    ROW1(0xFA, -1, D_END, cli),
    ROW1(0xFB, -1, D_END, sti),
    OPDESC_END
};
