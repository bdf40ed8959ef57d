/* interrupt.c — delivery of interrupts and exceptions.
 *
 * Promises: cpu_deliver_interrupt transfers control to the handler of a
 * vector the way the CPU does: through the IVT in real mode (FLAGS, CS, IP
 * pushed; IF, TF, AC cleared), through IDT interrupt and trap gates (16 and
 * 32 bit) in protected mode, switching to the inner stack from the TSS on a
 * privilege change (and saving the data segments when leaving V86 mode),
 * pushing the error code. Every check happens before any register changes, so
 * a fault during delivery leaves the interrupted state intact for the run
 * loop's #DF escalation. A task gate switches tasks (task.c) and pushes the
 * error code on the new task's stack. From V86 mode only a 0-privilege
 * non-conforming handler is allowed; the V86 data segments are saved on its
 * stack and nulled.
 */
#include "descriptor.h"

/* ---- real mode ---- */

static void deliver_real(struct cpu *c, int vec)
{
    uint32_t entry = (uint32_t)vec * 4;
    if (entry + 3 > c->idtr.limit)
        cpu_gp(c, 0);
    uint16_t new_ip = (uint16_t)sys_read(c, c->idtr.base + entry, 2);
    uint16_t new_cs = (uint16_t)sys_read(c, c->idtr.base + entry + 2, 2);
    if (new_ip > c->seg[S_CS].limit)
        cpu_gp(c, 0);

    struct stack_frame f;
    frame_on_current(c, &f);
    frame_push(c, &f, cpu_read_eflags(c), 2);
    frame_push(c, &f, c->seg[S_CS].sel, 2);
    frame_push(c, &f, c->eip, 2);

    c->r[R_ESP] = f.esp;
    c->eflags &= ~(F_IF | F_TF | F_AC);
    seg_load_real(c, S_CS, new_cs);
    c->eip = new_ip;
    cpu_update_mode(c);
}

/* ---- protected mode ---- */

/* What a gate delivery needs, gathered before anything is committed. */
struct gate_target {
    struct desc gate, cs;
    uint16_t cs_sel;
    uint32_t eip;
    int size;         /* 2 or 4: gate size, size of every push */
    int new_cpl;
    bool interrupt_gate;
};

static void read_gate(struct cpu *c, int vec, bool soft, uint32_t ext, struct gate_target *t)
{
    uint32_t gate_err = (uint32_t)vec * 8 + 2 + ext;
    if ((uint32_t)vec * 8 + 7 > c->idtr.limit)
        cpu_gp(c, gate_err);
    t->gate.addr = c->idtr.base + (uint32_t)vec * 8;
    t->gate.lo = sys_read(c, t->gate.addr, 4);
    t->gate.hi = sys_read(c, t->gate.addr + 4, 4);
    uint16_t attr = desc_attr(&t->gate);
    int type = attr_sys_type(attr);
    if (type != SYS_TASK_GATE && type != SYS_INT_GATE16 && type != SYS_TRAP_GATE16 &&
        type != SYS_INT_GATE32 && type != SYS_TRAP_GATE32)
        cpu_gp(c, gate_err);
    if (soft && attr_dpl(attr) < c->cpl)
        cpu_gp(c, gate_err);
    desc_require_present(c, &t->gate, EXC_NP, gate_err);
    t->size = (type & 8) ? 4 : 2;
    t->interrupt_gate = !(type & 1);
}

static void read_gate_target(struct cpu *c, uint32_t ext, struct gate_target *t)
{
    t->cs_sel = gate_selector(&t->gate);
    desc_fetch_code(c, t->cs_sel, ext, &t->cs);
    uint16_t attr = desc_attr(&t->cs);
    int dpl = attr_dpl(attr);
    if (dpl > c->cpl)
        cpu_gp(c, sel_err(t->cs_sel, ext));
    desc_require_present(c, &t->cs, EXC_NP, sel_err(t->cs_sel, ext));
    bool inner = !attr_is_conforming(attr) && dpl < c->cpl;
    if (c->vm86 && (!inner || dpl != 0))
        cpu_gp(c, sel_err(t->cs_sel, ext));
    t->new_cpl = inner ? dpl : c->cpl;
    t->eip = gate_offset(&t->gate);
    if (t->size == 2)
        t->eip &= 0xFFFF;
    if (t->eip > desc_limit(&t->cs))
        cpu_gp(c, ext);
}

/* Pushes the frame of an interrupt and commits the transfer. */
static void push_and_enter(struct cpu *c, struct gate_target *t, uint32_t err, uint32_t ext)
{
    static const int v86_saved[] = { S_GS, S_FS, S_DS, S_ES };
    const size_t n_saved = sizeof v86_saved / sizeof v86_saved[0];
    bool inner = t->new_cpl != c->cpl;
    bool from_v86 = c->vm86;
    uint32_t eflags = cpu_read_eflags(c);
    struct stack_frame f;
    struct inner_stack stack;

    if (inner) {
        inner_stack_open(c, t->new_cpl, ext, &stack, &f);
        for (size_t k = 0; from_v86 && k < n_saved; k++)
            frame_push(c, &f, c->seg[v86_saved[k]].sel, t->size);
        frame_push(c, &f, c->seg[S_SS].sel, t->size);
        frame_push(c, &f, c->r[R_ESP], t->size);
    } else {
        frame_on_current(c, &f);
    }
    frame_push(c, &f, eflags, t->size);
    frame_push(c, &f, c->seg[S_CS].sel, t->size);
    frame_push(c, &f, c->eip, t->size);
    if (err != EXC_NOERR)
        frame_push(c, &f, err, t->size);

    /* commit: the accessed-bit writes, which may fault, first */
    desc_set_accessed(c, &t->cs);
    if (inner)
        desc_set_accessed(c, &stack.desc);
    for (size_t k = 0; from_v86 && k < n_saved; k++)
        seg_set_null(c, v86_saved[k], 0);
    c->eflags &= ~(F_TF | F_NT | F_RF | F_VM | (t->interrupt_gate ? F_IF : 0));
    if (inner)
        inner_stack_commit(c, &stack, &f);
    else
        c->r[R_ESP] = f.esp;
    seg_commit_cs(c, t->cs_sel, &t->cs, t->new_cpl);
    c->eip = t->eip;
}

static void deliver_protected(struct cpu *c, int vec, uint32_t err, bool soft)
{
    uint32_t ext = soft ? 0 : 1;
    struct gate_target t;
    read_gate(c, vec, soft, ext, &t);
    if (attr_sys_type(desc_attr(&t.gate)) == SYS_TASK_GATE) {
        uint16_t tss_sel;
        struct desc tss;
        task_gate_tss(c, &t.gate, ext, &tss_sel, &tss);
        task_switch(c, tss_sel, &tss, TASK_CALL, err, ext);
        return;
    }
    read_gate_target(c, ext, &t);
    push_and_enter(c, &t, err, ext);
}

void cpu_deliver_interrupt(struct cpu *c, int vec, uint32_t err, bool soft)
{
    if (c->pe)
        deliver_protected(c, vec, err, soft);
    else
        deliver_real(c, vec);
    c->halted = false;
    cpu_end_block(c);
}
