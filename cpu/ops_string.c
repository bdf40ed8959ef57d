/* ops_string.c — string instructions: MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS
 * with and without REP/REPE/REPNE.
 *
 * Promises:
 *  - SI/DI and CX (16-bit address size) or ESI/EDI and ECX (32-bit) are used
 *    and wrap by the address size; DF picks the direction; a segment override
 *    applies to the source (DS:SI) only, ES:DI is fixed.
 *  - Restartable: every element commits ESI/EDI/ECX after its last access
 *    that can fault, so a fault in the middle of a REP leaves the registers at
 *    the faulting element and re-executing the instruction resumes it.
 *  - INS checks the destination (segment and page) before it reads the port,
 *    so a fault never swallows a port read.
 *  - REP MOVS/STOS with DF=0 copy or fill a page-bounded chunk at a time
 *    through host pointers from the TLB; pages without a TLB fast entry (MMIO,
 *    code pages, not yet translated) go element by element, the same path a
 *    single instruction takes.
 *  - A REP instruction yields after REP_BATCH elements (EIP back on itself,
 *    block ended) so interrupts, exit requests and virtual time are serviced
 *    in long loops; it resumes where it stopped.
 */
#include "internal.h"

/* Elements a REP instruction runs before it yields to the run loop. */
#define REP_BATCH 4096u

/* The run-time shape of one string instruction. */
struct strop {
    int size;        /* element size: 1, 2, 4 */
    int32_t step;    /* +size, or -size when DF=1 */
    uint32_t amask;  /* 0xFFFF or 0xFFFFFFFF by address size */
    int src_seg;     /* DS unless overridden */
};

/* One element; returns ZF of the comparison for CMPS/SCAS (else true). */
typedef bool (*str_elem_fn)(struct cpu *c, const struct strop *s);
/* Up to `max` elements at once without any fault; returns how many were done
 * (0: the element-by-element path must take the next one). */
typedef uint32_t (*str_bulk_fn)(struct cpu *c, const struct strop *s, uint32_t max);

struct strdesc {
    str_elem_fn elem;
    str_bulk_fn bulk;  /* NULL when there is no fast path */
    bool compares;     /* CMPS/SCAS: REPE/REPNE test ZF */
};

static inline struct strop strop_of(const struct cpu *c, const struct insn *i, int size)
{
    return (struct strop){
        .size = size,
        .step = (c->eflags & F_DF) ? -size : size,
        .amask = (i->flags & I_ADDR32) ? 0xFFFFFFFFu : 0xFFFFu,
        .src_seg = i->seg, /* DS unless overridden (decoder default) */
    };
}

/* ---- index and count registers, wrapped by the address size ---- */

static inline uint32_t areg(const struct cpu *c, int r, uint32_t amask) { return c->r[r] & amask; }
static inline void set_areg(struct cpu *c, int r, uint32_t v, uint32_t amask)
{
    c->r[r] = (c->r[r] & ~amask) | (v & amask);
}
static inline void advance(struct cpu *c, int r, const struct strop *s, uint32_t elements)
{
    set_areg(c, r, c->r[r] + (uint32_t)s->step * elements, s->amask);
}

/* ---- one element of each instruction ---- */

static bool movs_elem(struct cpu *c, const struct strop *s)
{
    uint32_t v = seg_read(c, s->src_seg, areg(c, R_ESI, s->amask), s->size);
    seg_write(c, S_ES, areg(c, R_EDI, s->amask), v, s->size);
    advance(c, R_ESI, s, 1);
    advance(c, R_EDI, s, 1);
    return true;
}

/* CMPS compares source minus destination, SCAS accumulator minus ES:DI. */
static bool compare(struct cpu *c, const struct strop *s, uint32_t a, uint32_t b)
{
    flags_lazy(c, LF_SUB, s->size, a - b, a, b);
    return a == b;
}

static bool cmps_elem(struct cpu *c, const struct strop *s)
{
    uint32_t a = seg_read(c, s->src_seg, areg(c, R_ESI, s->amask), s->size);
    uint32_t b = seg_read(c, S_ES, areg(c, R_EDI, s->amask), s->size);
    advance(c, R_ESI, s, 1);
    advance(c, R_EDI, s, 1);
    return compare(c, s, a, b);
}

static bool scas_elem(struct cpu *c, const struct strop *s)
{
    uint32_t b = seg_read(c, S_ES, areg(c, R_EDI, s->amask), s->size);
    advance(c, R_EDI, s, 1);
    return compare(c, s, reg_read(c, R_EAX, s->size), b);
}

static bool stos_elem(struct cpu *c, const struct strop *s)
{
    seg_write(c, S_ES, areg(c, R_EDI, s->amask), reg_read(c, R_EAX, s->size), s->size);
    advance(c, R_EDI, s, 1);
    return true;
}

static bool lods_elem(struct cpu *c, const struct strop *s)
{
    uint32_t v = seg_read(c, s->src_seg, areg(c, R_ESI, s->amask), s->size);
    reg_write(c, R_EAX, v, s->size);
    advance(c, R_ESI, s, 1);
    return true;
}

/* Raises now any #PF a write of `size` bytes at `lin` would raise, without
 * writing: nothing to do when the TLB already allows the write. */
static void probe_write(struct cpu *c, uint32_t lin, int size)
{
    const struct tlb *t = c->tlb_cur;
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    if (t->write_tag[idx] == (lin & ~0xFFFu) && (lin & 0xFFF) <= 0x1000u - (uint32_t)size)
        return;
    bool user = cpu_user_access(c);
    mmu_translate(c, lin, true, user);
    mmu_translate(c, lin + (uint32_t)size - 1, true, user);
}

static bool ins_elem(struct cpu *c, const struct strop *s)
{
    uint16_t port = get_r16(c, R_EDX);
    cpu_check_io(c, port, s->size);
    uint32_t lin = seg_lin(c, S_ES, areg(c, R_EDI, s->amask), s->size, true);
    probe_write(c, lin, s->size);
    lin_write(c, lin, c->bus.io_read(c->bus.ctx, port, s->size), s->size);
    advance(c, R_EDI, s, 1);
    return true;
}

static bool outs_elem(struct cpu *c, const struct strop *s)
{
    uint16_t port = get_r16(c, R_EDX);
    cpu_check_io(c, port, s->size);
    uint32_t v = seg_read(c, s->src_seg, areg(c, R_ESI, s->amask), s->size);
    c->bus.io_write(c->bus.ctx, port, v, s->size);
    advance(c, R_ESI, s, 1);
    return true;
}

/* ---- fast path: page-bounded chunks through TLB host pointers ---- */

static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* How many whole elements from offset `off` of segment `seg` lie within the
 * segment limit (by the fast check only), the address-size wrap and the page
 * of their linear address, when that page has a TLB fast entry for the
 * access; *host then points at the first. 0: the fast path cannot take even
 * one element (the element path then raises any fault at the right one). */
static uint32_t fast_span(struct cpu *c, const struct strop *s, int seg, uint32_t off,
                          bool write, uint8_t **host)
{
    const struct seg_cache *sc = &c->seg[seg];
    if ((sc->check & (write ? SEGCHK_WRITE : SEGCHK_READ)) || off > sc->limit) return 0;
    uint32_t lin = sc->base + off;
    const struct tlb *t = c->tlb_cur;
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    uint32_t tag = write ? t->write_tag[idx] : t->read_tag[idx];
    if (tag != (lin & ~0xFFFu)) return 0;
    uint64_t bytes = min_u64((uint64_t)sc->limit - off + 1, (uint64_t)s->amask - off + 1);
    bytes = min_u64(bytes, 0x1000u - (lin & 0xFFF));
    *host = (uint8_t *)(t->addend[idx] + lin);
    return (uint32_t)bytes / (uint32_t)s->size;
}

/* REP MOVS forward. A destination that starts inside the source chunk is
 * copied in pieces no longer than their distance, which gives the same
 * result as copying element by element (the pattern-fill idiom). */
static uint32_t movs_bulk(struct cpu *c, const struct strop *s, uint32_t max)
{
    if (s->step < 0) return 0;
    uint8_t *src, *dst;
    uint32_t n = min_u32(max, fast_span(c, s, s->src_seg, areg(c, R_ESI, s->amask), false, &src));
    if (n) n = min_u32(n, fast_span(c, s, S_ES, areg(c, R_EDI, s->amask), true, &dst));
    if (!n) return 0;
    uintptr_t gap = (uintptr_t)dst - (uintptr_t)src;
    if ((uintptr_t)dst > (uintptr_t)src && gap < (uintptr_t)n * (uint32_t)s->size)
        n = (uint32_t)(gap / (uint32_t)s->size);
    if (!n) return 0;
    memmove(dst, src, (size_t)n * (size_t)s->size);
    advance(c, R_ESI, s, n);
    advance(c, R_EDI, s, n);
    return n;
}

/* REP STOS forward. */
static uint32_t stos_bulk(struct cpu *c, const struct strop *s, uint32_t max)
{
    if (s->step < 0) return 0;
    uint8_t *dst;
    uint32_t n = min_u32(max, fast_span(c, s, S_ES, areg(c, R_EDI, s->amask), true, &dst));
    if (!n) return 0;
    uint32_t v = reg_read(c, R_EAX, s->size);
    if (s->size == 1) memset(dst, (int)v, n);
    else
        for (uint32_t k = 0; k < n; k++) store_le(dst + (size_t)k * (size_t)s->size, v, s->size);
    advance(c, R_EDI, s, n);
    return n;
}

/* ---- the REP driver ---- */

/* Leaves the instruction unfinished: it runs again after the run loop has
 * looked at interrupts and time. */
static void rep_yield(struct cpu *c)
{
    c->eip = c->insn_eip;
    cpu_end_block(c);
}

static void string_run(struct cpu *c, const struct insn *i, int size, const struct strdesc *d)
{
    struct strop s = strop_of(c, i, size);
    if (!(i->flags & (I_REP | I_REPNE))) {
        d->elem(c, &s);
        return;
    }
    bool stop_zf = (i->flags & I_REPNE) != 0; /* REPNE stops on equal, REPE on unequal */
    uint32_t done = 0;
    while (areg(c, R_ECX, s.amask) != 0) {
        if (done >= REP_BATCH) {
            rep_yield(c);
            return;
        }
        uint32_t left = areg(c, R_ECX, s.amask);
        uint32_t n = d->bulk ? d->bulk(c, &s, min_u32(left, REP_BATCH - done)) : 0;
        bool zf = true;
        if (n == 0) {
            zf = d->elem(c, &s);
            n = 1;
        }
        set_areg(c, R_ECX, left - n, s.amask);
        done += n;
        if (d->compares && zf == stop_zf) return;
    }
}

static const struct strdesc str_movs = { movs_elem, movs_bulk, false };
static const struct strdesc str_cmps = { cmps_elem, NULL, true };
static const struct strdesc str_stos = { stos_elem, stos_bulk, false };
static const struct strdesc str_lods = { lods_elem, NULL, false };
static const struct strdesc str_scas = { scas_elem, NULL, true };
static const struct strdesc str_ins = { ins_elem, NULL, false };
static const struct strdesc str_outs = { outs_elem, NULL, false };

/* name8 (byte form), name16, name32 handlers for one string instruction. */
#define STRING_HANDLERS(name)                                                                   \
    static void name##8(struct cpu *c, const struct insn *i) { string_run(c, i, 1, &str_##name); } \
    static void name##16(struct cpu *c, const struct insn *i) { string_run(c, i, 2, &str_##name); } \
    static void name##32(struct cpu *c, const struct insn *i) { string_run(c, i, 4, &str_##name); }

STRING_HANDLERS(movs)
STRING_HANDLERS(cmps)
STRING_HANDLERS(stos)
STRING_HANDLERS(lods)
STRING_HANDLERS(scas)
STRING_HANDLERS(ins)
STRING_HANDLERS(outs)

#define BYTE_ROW(op, name) { (op), -1, 0, name##8, name##8 }
#define WORD_ROW(op, name) { (op), -1, 0, name##16, name##32 }

const struct opdesc ops_string[] = {
    BYTE_ROW(0x6C, ins), WORD_ROW(0x6D, ins),
    BYTE_ROW(0x6E, outs), WORD_ROW(0x6F, outs),
    BYTE_ROW(0xA4, movs), WORD_ROW(0xA5, movs),
    BYTE_ROW(0xA6, cmps), WORD_ROW(0xA7, cmps),
    BYTE_ROW(0xAA, stos), WORD_ROW(0xAB, stos),
    BYTE_ROW(0xAC, lods), WORD_ROW(0xAD, lods),
    BYTE_ROW(0xAE, scas), WORD_ROW(0xAF, scas),
    OPDESC_END
};
