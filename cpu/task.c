/* task.c — hardware task switching through the TSS.
 *
 * Promises: JMP/CALL to a TSS or task gate, interrupts and exceptions through
 * a task gate, and IRET with NT switch tasks as the SDM describes, for 32-
 * and 16-bit TSSs: every check that the old task must see (TSS type, busy,
 * present, limit, and any page fault reading the new TSS or writing the old
 * one) happens before the CPU changes, so those faults restart cleanly. Then
 * the busy bits, the back link and NT are updated, TR, CR0.TS, CR3 (32-bit
 * TSS with paging), EFLAGS, EIP, the general registers, LDTR and the segment
 * registers are loaded; faults loading the new segments are reported in the
 * new task (#TS/#NP/#SS with the selector). EFLAGS.VM in a 32-bit TSS enters
 * virtual-8086 mode. The TSS debug-trap bit is noted, not honoured.
 */
#include "descriptor.h"

/* Where a TSS format keeps each piece of task state. */
struct tss_layout {
    int word;              /* 4 (32-bit TSS) or 2 (16-bit) */
    uint32_t eip, eflags;
    uint32_t regs;         /* EAX..EDI, `word` bytes apart */
    uint32_t sregs;        /* ES, CS, SS, DS[, FS, GS], `word` bytes apart */
    int nsregs;
    uint32_t ldt;
    uint32_t cr3;          /* 0: the format has none */
    uint32_t trap;         /* word with the debug-trap bit, 0: none */
    uint32_t min_limit;
};

static const struct tss_layout tss32_layout = {
    .word = 4, .eip = 0x20, .eflags = 0x24, .regs = 0x28, .sregs = 0x48, .nsregs = 6,
    .ldt = 0x60, .cr3 = 0x1C, .trap = 0x64, .min_limit = 0x67,
};
static const struct tss_layout tss16_layout = {
    .word = 2, .eip = 0x0E, .eflags = 0x10, .regs = 0x12, .sregs = 0x22, .nsregs = 4,
    .ldt = 0x2A, .cr3 = 0, .trap = 0, .min_limit = 0x2B,
};

enum { TSS_BUSY_BIT = 0x200 };   /* type bit 1, in desc.hi */

static const struct tss_layout *tss_layout_of(uint16_t attr)
{
    return (attr_sys_type(attr) & 8) ? &tss32_layout : &tss16_layout;
}

/* A task's registers as stored in its TSS. */
struct task_state {
    uint32_t eip, eflags, cr3;
    uint32_t r[8];
    uint16_t sel[6];       /* ES, CS, SS, DS, FS, GS (enum cpu_sreg order) */
    uint16_t ldt;
    bool trap;
};

/* Reads the state of the task whose TSS is at `base`. A 16-bit TSS leaves
 * the upper register halves all ones, EFLAGS' and EIP's zero, FS and GS null
 * (as Bochs does). */
static void task_state_read(struct cpu *c, uint32_t base, const struct tss_layout *l, struct task_state *t)
{
    uint32_t upper = l->word == 2 ? 0xFFFF0000u : 0;
    t->eip = sys_read(c, base + l->eip, l->word);
    t->eflags = sys_read(c, base + l->eflags, l->word);
    t->cr3 = l->cr3 ? sys_read(c, base + l->cr3, 4) : c->cr[3];
    for (int k = 0; k < 8; k++)
        t->r[k] = upper | sys_read(c, base + l->regs + (uint32_t)(k * l->word), l->word);
    memset(t->sel, 0, sizeof t->sel);
    for (int k = 0; k < l->nsregs; k++)
        t->sel[k] = (uint16_t)sys_read(c, base + l->sregs + (uint32_t)(k * l->word), 2);
    t->ldt = (uint16_t)sys_read(c, base + l->ldt, 2);
    t->trap = l->trap && (sys_read(c, base + l->trap, 2) & 1);
}

/* Saves the running task's dynamic state into its TSS (CR3 and LDTR are not
 * written back). */
static void task_state_save(struct cpu *c, uint32_t base, const struct tss_layout *l, uint32_t eflags)
{
    sys_write(c, base + l->eip, c->eip, l->word);
    sys_write(c, base + l->eflags, eflags, l->word);
    for (int k = 0; k < 8; k++)
        sys_write(c, base + l->regs + (uint32_t)(k * l->word), c->r[k], l->word);
    for (int k = 0; k < l->nsregs; k++)
        sys_write(c, base + l->sregs + (uint32_t)(k * l->word), c->seg[k].sel, 2);
}

static void tss_set_busy(struct cpu *c, struct desc *d, bool busy)
{
    d->hi = busy ? d->hi | TSS_BUSY_BIT : d->hi & ~(uint32_t)TSS_BUSY_BIT;
    sys_write(c, d->addr + 5, (d->hi >> 8) & 0xFF, 1);
}

/* Frees the running task's TSS descriptor (JMP, IRET). */
static void release_current_tss(struct cpu *c)
{
    struct desc d;
    uint16_t sel = c->seg[S_TR].sel;
    if (sel & 4 || !desc_read(c, sel, &d))
        return;
    int type = attr_sys_type(desc_attr(&d));
    if (type == SYS_TSS16_BUSY || type == SYS_TSS32_BUSY)
        tss_set_busy(c, &d, false);
}

/* ---- loading the new task's segments (faults belong to the new task) ---- */

static void load_task_ldt(struct cpu *c, uint16_t sel, uint32_t ext)
{
    struct desc d;
    if (sel_is_null(sel)) {
        seg_set_null(c, S_LDTR, sel);
        return;
    }
    if ((sel & 4) || !desc_read(c, sel, &d) || attr_sys_type(desc_attr(&d)) != SYS_LDT ||
        !attr_present(desc_attr(&d)))
        cpu_raise(c, EXC_TS, sel_err(sel, ext));
    seg_set_from_desc(c, S_LDTR, sel, &d);
}

static void load_task_cs(struct cpu *c, uint16_t sel, uint32_t ext)
{
    struct desc d;
    if (sel_is_null(sel) || !desc_read(c, sel, &d))
        cpu_raise(c, EXC_TS, sel_err(sel, ext));
    uint16_t attr = desc_attr(&d);
    int dpl = attr_dpl(attr), rpl = sel_rpl(sel);
    bool denied = attr_is_conforming(attr) ? dpl > rpl : dpl != rpl;
    if (!attr_is_code(attr) || denied)
        cpu_raise(c, EXC_TS, sel_err(sel, ext));
    desc_require_present(c, &d, EXC_NP, sel_err(sel, ext));
    seg_commit_cs(c, sel, &d, rpl);
}

static void load_task_segments(struct cpu *c, const struct task_state *t, uint32_t ext)
{
    static const int data_segs[] = { S_ES, S_DS, S_FS, S_GS };
    /* the selectors are visible to a handler even when their checks fail */
    for (int s = S_ES; s <= S_GS; s++)
        seg_set_null(c, s, t->sel[s]);
    c->seg[S_LDTR].sel = t->ldt;
    load_task_ldt(c, t->ldt, ext);
    if (c->vm86) {
        for (int s = S_ES; s <= S_GS; s++)
            seg_load_real(c, s, t->sel[s]);
        return;
    }
    c->cpl = (uint8_t)sel_rpl(t->sel[S_CS]);
    load_task_cs(c, t->sel[S_CS], ext);
    struct desc ss;
    desc_fetch_stack(c, t->sel[S_SS], c->cpl, EXC_TS, ext, &ss);
    seg_commit_ss(c, t->sel[S_SS], &ss);
    for (size_t k = 0; k < sizeof data_segs / sizeof data_segs[0]; k++)
        seg_load_data_checked(c, data_segs[k], t->sel[data_segs[k]], EXC_TS, ext);
}

/* Loads the registers of the new task: from here on the CPU is in it. */
static void enter_task(struct cpu *c, const struct task_state *t, const struct tss_layout *l)
{
    c->cr[0] |= CR0_TS;
    if (l->cr3 && (c->cr[0] & CR0_PG) && t->cr3 != c->cr[3]) {
        c->cr[3] = t->cr3;
        mmu_flush_tlb(c);
    }
    memcpy(c->r, t->r, sizeof t->r);
    cpu_set_eflags(c, t->eflags);
    c->eip = t->eip;
    c->insn_eip = t->eip;   /* a fault now restarts the new task */
    if (t->trap)
        cpu_note_unsupported(c, NOTE_TSS_DEBUG_TRAP);
}

void task_switch(struct cpu *c, uint16_t sel, struct desc *tss, enum task_reason why,
                 uint32_t err, uint32_t ext)
{
    const struct tss_layout *nl = tss_layout_of(desc_attr(tss));
    const struct tss_layout *ol = tss_layout_of(c->seg[S_TR].attr);
    uint32_t nbase = desc_base(tss);
    if (desc_limit(tss) < nl->min_limit)
        cpu_raise(c, EXC_TS, sel_err(sel, ext));
    struct task_state next;
    task_state_read(c, nbase, nl, &next);

    uint32_t eflags = cpu_read_eflags(c);
    if (why == TASK_IRET)
        eflags &= ~(uint32_t)F_NT;
    task_state_save(c, c->seg[S_TR].base, ol, eflags);
    if (why != TASK_CALL)
        release_current_tss(c);
    if (why == TASK_CALL) {
        sys_write(c, nbase, c->seg[S_TR].sel, 2);
        next.eflags |= F_NT;
    }
    if (why != TASK_IRET)
        tss_set_busy(c, tss, true);
    tss->hi |= TSS_BUSY_BIT;
    seg_set_from_desc(c, S_TR, sel, tss);

    enter_task(c, &next, nl);
    load_task_segments(c, &next, ext);
    cpu_update_mode(c);
    cpu_end_block(c);
    if (err != EXC_NOERR)
        cpu_push(c, err, nl->word);
    if (c->eip > c->seg[S_CS].limit)
        cpu_gp(c, ext);
}

/* ---- entry points ---- */

/* A TSS descriptor that may become the new task of JMP, CALL or INT. */
static void require_available_tss(struct cpu *c, uint16_t sel, const struct desc *d, uint32_t ext)
{
    int type = attr_sys_type(desc_attr(d));
    if (type != SYS_TSS16 && type != SYS_TSS32)
        cpu_gp(c, sel_err(sel, ext));
    desc_require_present(c, d, EXC_NP, sel_err(sel, ext));
}

void task_gate_tss(struct cpu *c, const struct desc *gate, uint32_t ext, uint16_t *tss_sel, struct desc *tss)
{
    *tss_sel = gate_selector(gate);
    if ((*tss_sel & 4) || !desc_read(c, *tss_sel, tss))
        cpu_gp(c, sel_err(*tss_sel, ext));
    require_available_tss(c, *tss_sel, tss, ext);
}

void task_far_transfer(struct cpu *c, uint16_t sel, struct desc *d, bool call)
{
    int dpl = attr_dpl(desc_attr(d));
    if (dpl < c->cpl || dpl < sel_rpl(sel))
        cpu_gp(c, sel_err(sel, 0));
    uint16_t tss_sel = sel;
    struct desc tss = *d;
    if (attr_sys_type(desc_attr(d)) == SYS_TASK_GATE) {
        desc_require_present(c, d, EXC_NP, sel_err(sel, 0));
        task_gate_tss(c, d, 0, &tss_sel, &tss);
    } else {
        require_available_tss(c, sel, d, 0);
    }
    task_switch(c, tss_sel, &tss, call ? TASK_CALL : TASK_JMP, EXC_NOERR, 0);
}

void task_return(struct cpu *c)
{
    uint16_t sel = (uint16_t)sys_read(c, c->seg[S_TR].base, 2);
    struct desc d;
    if ((sel & 4) || !desc_read(c, sel, &d))
        cpu_raise(c, EXC_TS, sel_err(sel, 0));
    int type = attr_sys_type(desc_attr(&d));
    if (type != SYS_TSS16_BUSY && type != SYS_TSS32_BUSY)
        cpu_raise(c, EXC_TS, sel_err(sel, 0));
    desc_require_present(c, &d, EXC_NP, sel_err(sel, 0));
    task_switch(c, sel, &d, TASK_IRET, EXC_NOERR, 0);
}
