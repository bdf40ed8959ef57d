/* segment.c — segment registers, descriptor tables and I/O permission.
 *
 * Promises: segment loads with the architectural checks (real and V86 mode:
 * base = selector << 4; protected mode: GDT/LDT descriptors with #GP/#SS/#NP
 * and selector error codes, accessed bits set), the slow path of every
 * segment-relative access (null, type, limit and expand-down checks, #SS(0)
 * for SS and #GP(0) otherwise), the mode bookkeeping derived from CR0, EFLAGS
 * and the segment caches, the TSS I/O bitmap check, and checked stack frames
 * for far transfers. Descriptor tables are read with supervisor accesses.
 */
#include "descriptor.h"

/* ---- descriptor tables ---- */

bool desc_read(struct cpu *c, uint16_t sel, struct desc *d)
{
    uint32_t base = c->gdtr.base, limit = c->gdtr.limit;
    if (sel & 4) {
        const struct seg_cache *ldt = &c->seg[S_LDTR];
        if (!attr_present(ldt->attr))
            return false;
        base = ldt->base;
        limit = ldt->limit;
    }
    if ((uint32_t)(sel | 7) > limit)
        return false;
    d->addr = base + (sel & ~7u);
    d->lo = sys_read(c, d->addr, 4);
    d->hi = sys_read(c, d->addr + 4, 4);
    return true;
}

void desc_set_accessed(struct cpu *c, struct desc *d)
{
    if (!(desc_attr(d) & ATTR_S) || (d->hi & (ATTR_ACCESSED << 8)))
        return;
    d->hi |= ATTR_ACCESSED << 8;
    sys_write(c, d->addr + 5, (d->hi >> 8) & 0xFF, 1);
}

void seg_set_from_desc(struct cpu *c, int s, uint16_t sel, const struct desc *d)
{
    struct seg_cache *sc = &c->seg[s];
    sc->sel = sel;
    sc->base = desc_base(d);
    sc->limit = desc_limit(d);
    sc->attr = desc_attr(d);
    seg_update_check(c, s);
}

void seg_set_null(struct cpu *c, int s, uint16_t sel)
{
    struct seg_cache *sc = &c->seg[s];
    sc->sel = sel;
    sc->base = 0;
    sc->limit = 0;
    sc->attr = 0;
    seg_update_check(c, s);
}

void seg_load_real(struct cpu *c, int s, uint16_t sel)
{
    struct seg_cache *sc = &c->seg[s];
    sc->sel = sel;
    sc->base = (uint32_t)sel << 4;
    if (c->vm86) {
        sc->limit = 0xFFFF;
        sc->attr = ATTR_V86_DATA;
    }
    seg_update_check(c, s);
}

void desc_require_present(struct cpu *c, const struct desc *d, int vec, uint32_t err)
{
    if (!attr_present(desc_attr(d)))
        cpu_raise(c, vec, err);
}

void desc_fetch_code(struct cpu *c, uint16_t sel, uint32_t ext, struct desc *d)
{
    if (sel_is_null(sel))
        cpu_gp(c, ext);
    if (!desc_read(c, sel, d) || !attr_is_code(desc_attr(d)))
        cpu_gp(c, sel_err(sel, ext));
}

void desc_fetch_stack(struct cpu *c, uint16_t sel, int cpl, int vec, uint32_t ext, struct desc *d)
{
    if (sel_is_null(sel))
        cpu_raise(c, vec, ext);
    if (!desc_read(c, sel, d))
        cpu_raise(c, vec, sel_err(sel, ext));
    uint16_t attr = desc_attr(d);
    if (sel_rpl(sel) != cpl || attr_dpl(attr) != cpl || !attr_writable(attr))
        cpu_raise(c, vec, sel_err(sel, ext));
    desc_require_present(c, d, EXC_SS, sel_err(sel, ext));
}

void seg_commit_cs(struct cpu *c, uint16_t sel, struct desc *d, int cpl)
{
    desc_set_accessed(c, d);
    seg_set_from_desc(c, S_CS, (uint16_t)((sel & 0xFFFC) | cpl), d);
    c->cpl = (uint8_t)cpl;
    cpu_update_mode(c);
}

void seg_commit_ss(struct cpu *c, uint16_t sel, struct desc *d)
{
    desc_set_accessed(c, d);
    seg_set_from_desc(c, S_SS, sel, d);
    cpu_update_mode(c);
}

void seg_drop_inaccessible(struct cpu *c)
{
    static const int data_segs[] = { S_ES, S_DS, S_FS, S_GS };
    for (size_t k = 0; k < sizeof data_segs / sizeof data_segs[0]; k++) {
        const struct seg_cache *sc = &c->seg[data_segs[k]];
        bool usable_anywhere = attr_is_conforming(sc->attr) || !(sc->attr & ATTR_S);
        if (!usable_anywhere && attr_dpl(sc->attr) < c->cpl)
            seg_set_null(c, data_segs[k], 0);
    }
}

static void tss_inner_stack(struct cpu *c, int dpl, uint32_t ext, uint16_t *ss, uint32_t *esp)
{
    const struct seg_cache *tr = &c->seg[S_TR];
    int type = attr_sys_type(tr->attr);
    bool tss32 = type == SYS_TSS32 || type == SYS_TSS32_BUSY;
    uint32_t esp_off = tss32 ? 4u + 8u * (uint32_t)dpl : 2u + 4u * (uint32_t)dpl;
    uint32_t ss_off = tss32 ? esp_off + 4 : esp_off + 2;
    if (!attr_present(tr->attr) || ss_off + 1 > tr->limit)
        cpu_raise(c, EXC_TS, sel_err(tr->sel, ext));
    *esp = sys_read(c, tr->base + esp_off, tss32 ? 4 : 2);
    *ss = (uint16_t)sys_read(c, tr->base + ss_off, 2);
}

void cpu_note_unsupported(struct cpu *c, enum unsupported_note what)
{
    static const char *const what_text[NOTE_COUNT] = {
        [NOTE_TSS_DEBUG_TRAP] = "the debug trap (T) bit of a TSS (no #DB on task entry)",
    };
    uint8_t bit = (uint8_t)(1u << what);
    if (c->noted_unsupported & bit)
        return;
    c->noted_unsupported |= bit;
    cpu_log(c, "not supported: %s at %04x:%08x", what_text[what], c->seg[S_CS].sel, c->insn_eip);
}

/* ---- segment checks ---- */

void seg_update_check(struct cpu *c, int s)
{
    struct seg_cache *sc = &c->seg[s];
    uint16_t attr = sc->attr;
    uint8_t check = 0;
    if (attr_is_expand_down(attr))
        check = SEGCHK_READ | SEGCHK_WRITE;
    if (c->pe && !c->vm86) {
        if (!attr_present(attr))
            check = SEGCHK_READ | SEGCHK_WRITE;
        if (!attr_readable(attr))
            check |= SEGCHK_READ;
        if (!attr_writable(attr))
            check |= SEGCHK_WRITE;
    }
    sc->check = check;
}

uint32_t seg_check_slow(struct cpu *c, int s, uint32_t off, int size, bool write)
{
    const struct seg_cache *sc = &c->seg[s];
    int vec = s == S_SS ? EXC_SS : EXC_GP;
    if (c->pe && !c->vm86) {
        bool allowed = write ? attr_writable(sc->attr) : attr_readable(sc->attr);
        if (!attr_present(sc->attr) || !allowed)
            cpu_raise(c, vec, 0);
    }
    if (!seg_cache_fits(sc, off, size))
        cpu_raise(c, vec, 0);
    return sc->base + off;
}

/* ---- loads ---- */

void seg_load_data_checked(struct cpu *c, int s, uint16_t sel, int vec, uint32_t ext)
{
    struct desc d;
    if (sel_is_null(sel)) {
        seg_set_null(c, s, sel);
        return;
    }
    if (!desc_read(c, sel, &d))
        cpu_raise(c, vec, sel_err(sel, ext));
    uint16_t attr = desc_attr(&d);
    if (!attr_readable(attr))
        cpu_raise(c, vec, sel_err(sel, ext));
    bool privileged = !attr_is_conforming(attr);
    if (privileged && (sel_rpl(sel) > attr_dpl(attr) || c->cpl > attr_dpl(attr)))
        cpu_raise(c, vec, sel_err(sel, ext));
    desc_require_present(c, &d, EXC_NP, sel_err(sel, ext));
    desc_set_accessed(c, &d);
    seg_set_from_desc(c, s, sel, &d);
}

void cpu_load_seg(struct cpu *c, int s, uint16_t sel)
{
    bool old_stack32 = c->stack32;
    if (!c->pe || c->vm86) {
        seg_load_real(c, s, sel);
        return;
    }
    if (s == S_SS) {
        struct desc d;
        desc_fetch_stack(c, sel, c->cpl, EXC_GP, 0, &d);
        seg_commit_ss(c, sel, &d);
        if (c->stack32 != old_stack32)
            cpu_end_block(c);
        return;
    }
    seg_load_data_checked(c, s, sel, EXC_GP, 0);
}

/* ---- mode ---- */

void cpu_update_mode(struct cpu *c)
{
    c->pe = c->cr[0] & CR0_PE;
    c->vm86 = c->pe && (c->eflags & F_VM);
    if (!c->pe)
        c->cpl = 0;
    else if (c->vm86)
        c->cpl = 3;
    /* V86 code and stacks are 16-bit whatever the caches hold */
    c->code32 = !c->vm86 && (c->seg[S_CS].attr & ATTR_DB);
    c->stack32 = !c->vm86 && (c->seg[S_SS].attr & ATTR_DB);
    c->tlb_cur = &c->tlb[c->cpl == 3];
    for (int s = S_ES; s <= S_GS; s++)
        seg_update_check(c, s);
}

/* ---- I/O permission ---- */

void cpu_check_io(struct cpu *c, uint16_t port, int size)
{
    int iopl = (c->eflags & F_IOPL) >> 12;
    if (!c->pe || (!c->vm86 && c->cpl <= iopl))
        return;
    const struct seg_cache *tr = &c->seg[S_TR];
    int type = attr_sys_type(tr->attr);
    if (!attr_present(tr->attr) || (type != SYS_TSS32 && type != SYS_TSS32_BUSY) || tr->limit < 0x67)
        cpu_gp(c, 0);
    uint32_t byte_off = sys_read(c, tr->base + 0x66, 2) + port / 8u;
    if (byte_off + 1 > tr->limit)
        cpu_gp(c, 0);
    uint32_t bitmap = sys_read(c, tr->base + byte_off, 2);
    uint32_t wanted = ((1u << size) - 1) << (port & 7);
    if (bitmap & wanted)
        cpu_gp(c, 0);
}

/* ---- stack frames ---- */

void frame_on_current(struct cpu *c, struct stack_frame *f)
{
    f->new_ss = NULL;
    f->esp = c->r[R_ESP];
    f->big = c->stack32;
    f->vec = EXC_SS;
    f->err = 0;
}

void frame_on_new(struct stack_frame *f, const struct seg_cache *ss, uint32_t esp, uint32_t err)
{
    f->new_ss = ss;
    f->esp = esp;
    f->big = ss->attr & ATTR_DB;
    f->vec = EXC_SS;
    f->err = err;
}

void frame_push(struct cpu *c, struct stack_frame *f, uint32_t v, int size)
{
    uint32_t mask = f->big ? 0xFFFFFFFFu : 0xFFFFu;
    uint32_t sp = (f->esp - (uint32_t)size) & mask;
    if (!f->new_ss) {
        seg_write(c, S_SS, sp, v, size);
    } else {
        if (!seg_cache_fits(f->new_ss, sp, size))
            cpu_raise(c, f->vec, f->err);
        sys_write(c, f->new_ss->base + sp, v, size);
    }
    f->esp = (f->esp & ~mask) | sp;
}

void inner_stack_open(struct cpu *c, int cpl, uint32_t ext, struct inner_stack *s, struct stack_frame *f)
{
    uint32_t esp;
    tss_inner_stack(c, cpl, ext, &s->sel, &esp);
    desc_fetch_stack(c, s->sel, cpl, EXC_TS, ext, &s->desc);
    s->cache.sel = s->sel;
    s->cache.base = desc_base(&s->desc);
    s->cache.limit = desc_limit(&s->desc);
    s->cache.attr = desc_attr(&s->desc);
    s->cache.check = 0;
    frame_on_new(f, &s->cache, esp, sel_err(s->sel, ext));
}

void inner_stack_commit(struct cpu *c, struct inner_stack *s, const struct stack_frame *f)
{
    seg_commit_ss(c, s->sel, &s->desc);
    c->r[R_ESP] = f->esp;
}

/* ---- public (cpu.h) ---- */

void cpu_set_seg_real(struct cpu *c, enum cpu_sreg s, uint16_t sel)
{
    seg_load_real(c, s, sel);
    cpu_update_mode(c);
}

void cpu_set_seg_cache(struct cpu *c, enum cpu_sreg s, uint16_t sel,
                       uint32_t base, uint32_t limit, uint16_t attr)
{
    struct seg_cache *sc = &c->seg[s];
    sc->sel = sel;
    sc->base = base;
    sc->limit = limit;
    sc->attr = attr;
    if (s == S_CS && c->pe && !c->vm86)
        c->cpl = (uint8_t)sel_rpl(sel);
    seg_update_check(c, s);
    cpu_update_mode(c);
}

const struct seg_cache *cpu_get_seg(const struct cpu *c, enum cpu_sreg s)
{
    return &c->seg[s];
}

void cpu_set_gdt(struct cpu *c, uint32_t base, uint16_t limit)
{
    c->gdtr.base = base;
    c->gdtr.limit = limit;
}

void cpu_set_idt(struct cpu *c, uint32_t base, uint16_t limit)
{
    c->idtr.base = base;
    c->idtr.limit = limit;
}
