/* mmu.c — linear to physical translation, the software TLB and its slow paths.
 *
 * Promises: every guest memory access that misses the TLB arrives here; it is
 * translated by a table-driven page walker (today 32-bit paging: 4 KiB pages
 * and, with CR4.PSE, 4 MiB pages; PAE is one more paging_format row), with
 * the accessed and dirty bits set as a locked read-modify-write once the whole
 * access is known to be allowed, and #PF raised with CR2 and the error code
 * (P, W/R, U/S, RSVD). Accesses are routed to RAM/ROM by host pointer or to the
 * board's mem_read/mem_write, split when they cross a page (both pages
 * translated before anything is written), and writes to pages holding decoded
 * code drop that code. Only plain RAM gets write fast paths, and only once the
 * page is dirty; only RAM/ROM get read fast paths. TLB slots remember global
 * (CR4.PGE) and large-page translations so a CR3 write keeps global pages and
 * INVLPG drops every slot of a large page. Every flush bumps c->tlb_epoch.
 */
#include "internal.h"

enum { PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80, PTE_G = 0x100 };
enum { PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8 };

uint32_t phys_read(struct cpu *c, uint32_t phys, int size)
{
    uint8_t *page = c->bus.page_ptr(c->bus.ctx, phys & ~0xFFFu, false);
    if (page && (phys & 0xFFF) <= 0x1000u - (uint32_t)size) return load_le(page + (phys & 0xFFF), size);
    if (page) {
        uint32_t v = 0;
        for (int k = 0; k < size; k++) v |= phys_read(c, phys + (uint32_t)k, 1) << (8 * k);
        return v;
    }
    return c->bus.mem_read(c->bus.ctx, phys, size);
}

static void drop_code_on_write(struct cpu *c, uint32_t phys, int size)
{
    if (bc_page_has_code(c, phys)) bc_invalidate_page(c, phys);
    if (((phys + (uint32_t)size - 1) ^ phys) & ~0xFFFu) {
        uint32_t next = (phys + (uint32_t)size - 1) & ~0xFFFu;
        if (bc_page_has_code(c, next)) bc_invalidate_page(c, next);
    }
}

void phys_write(struct cpu *c, uint32_t phys, uint32_t val, int size)
{
    uint8_t *page = c->bus.page_ptr(c->bus.ctx, phys & ~0xFFFu, true);
    drop_code_on_write(c, phys, size);
    if (page && (phys & 0xFFF) <= 0x1000u - (uint32_t)size) {
        store_le(page + (phys & 0xFFF), val, size);
        return;
    }
    if (page) {
        for (int k = 0; k < size; k++) phys_write(c, phys + (uint32_t)k, (val >> (8 * k)) & 0xFF, 1);
        return;
    }
    c->bus.mem_write(c->bus.ctx, phys, val, size);
}

/* ---- the page walker ---- */

/* One level of a paging format. */
struct paging_level {
    uint8_t shift;            /* lowest linear-address bit of this level's index */
    uint8_t index_bits;
    bool large_ok;            /* PS may map a large page here ... */
    uint32_t large_cr4;       /* ... when these CR4 bits are all set */
    uint64_t reserved;        /* bits a present entry must leave 0 (#PF with RSVD) */
    uint64_t reserved_large;  /* the same for an entry mapping a large page */
};

/* A paging format: PAE adds a row (three levels, 8-byte entries, CR3 naming a
 * 32-byte-aligned PDPT, reserved bits, later NX) and paging_format() picks it
 * with CR4.PAE. */
struct paging_format {
    uint8_t levels;
    uint8_t entry_bytes;
    uint32_t cr3_mask;        /* bits of CR3 holding the first table's address */
    uint64_t addr_mask;       /* bits of an entry holding a table or frame address */
    struct paging_level level[3];
};

/* 32-bit paging. A 4 MiB PDE holds the PAT bit in bit 12 and would hold
 * physical address bits 32+ in bits 13..21 (PSE-36, not offered): reserved. */
static const struct paging_format paging_32bit = {
    .levels = 2, .entry_bytes = 4, .cr3_mask = 0xFFFFF000u, .addr_mask = 0xFFFFF000u,
    .level = {
        { .shift = 22, .index_bits = 10, .large_ok = true, .large_cr4 = CR4_PSE,
          .reserved = 0, .reserved_large = 0x003FE000u },
        { .shift = 12, .index_bits = 10 },
    },
};

static const struct paging_format *paging_format(const struct cpu *c)
{
    (void)c;                  /* PAE: c->cr[4] & CR4_PAE selects its format here */
    return &paging_32bit;
}

static uint64_t read_entry(struct cpu *c, uint32_t addr, int bytes)
{
    uint64_t v = phys_read(c, addr, 4);
    if (bytes == 8) v |= (uint64_t)phys_read(c, addr + 4, 4) << 32;
    return v;
}

/* Sets A/D bits in a paging entry as a locked read-modify-write: the entry is
 * read afresh (an earlier level may alias it) and written only if it changes.
 * The bits live in the low dword whatever the entry size. */
static void set_entry_bits(struct cpu *c, uint32_t addr, uint32_t bits)
{
    uint32_t v = phys_read(c, addr, 4);
    if ((v | bits) != v) phys_write(c, addr, v | bits, 4);
}

struct walk_result {
    uint32_t phys;
    uint32_t err;             /* #PF error code when the walk fails */
    bool writable;            /* writes at this privilege pass and the page is dirty */
    uint8_t tlb_attr;         /* TLBA_GLOBAL, TLBA_LARGE */
};

/* Walks the paging structures for one access. Accessed and dirty bits are set
 * only when the access is allowed. Returns false with w->err on a fault. */
static bool page_walk(struct cpu *c, uint32_t lin, bool write, bool user, struct walk_result *w)
{
    const struct paging_format *f = paging_format(c);
    uint32_t access = (write ? PF_W : 0) | (user ? PF_U : 0);
    uint32_t addr[3];
    uint64_t entry = 0, perm = PTE_W | PTE_U, table = c->cr[3] & f->cr3_mask;
    int n = 0;
    for (;; n++) {
        const struct paging_level *lv = &f->level[n];
        uint32_t index = (lin >> lv->shift) & ((1u << lv->index_bits) - 1);
        addr[n] = ((uint32_t)table + index * f->entry_bytes) & c->a20_mask;
        entry = read_entry(c, addr[n], f->entry_bytes);
        if (!(entry & PTE_P)) {
            w->err = access;
            return false;
        }
        bool large = lv->large_ok && (entry & PTE_PS) && (c->cr[4] & lv->large_cr4) == lv->large_cr4;
        if (entry & (large ? lv->reserved_large : lv->reserved)) {
            w->err = access | PF_P | PF_RSVD;
            return false;
        }
        perm &= entry;
        if (large || n == f->levels - 1) break;
        table = entry & f->addr_mask;
    }
    bool w_ok = (perm & PTE_W) || (!user && !(c->cr[0] & CR0_WP));
    if ((user && !(perm & PTE_U)) || (write && !w_ok)) {
        w->err = access | PF_P;
        return false;
    }
    for (int k = 0; k < n; k++) set_entry_bits(c, addr[k], PTE_A);
    set_entry_bits(c, addr[n], PTE_A | (write ? PTE_D : 0));
    uint32_t offset_mask = (1u << f->level[n].shift) - 1;
    w->phys = ((uint32_t)(entry & f->addr_mask) & ~offset_mask) | (lin & offset_mask);
    w->writable = w_ok && (write || (entry & PTE_D));
    w->tlb_attr = (uint8_t)(((entry & PTE_G) && (c->cr[4] & CR4_PGE) ? TLBA_GLOBAL : 0) |
                            (n < f->levels - 1 ? TLBA_LARGE : 0));
    return true;
}

static bool translate(struct cpu *c, uint32_t lin, bool write, bool user, struct walk_result *w)
{
    if (!(c->cr[0] & CR0_PG)) {
        *w = (struct walk_result){ .phys = lin & c->a20_mask, .writable = true };
        return true;
    }
    if (!page_walk(c, lin, write, user, w)) return false;
    w->phys &= c->a20_mask;
    return true;
}

_Noreturn static void page_fault(struct cpu *c, uint32_t lin, uint32_t err)
{
    c->cr[2] = lin;
    cpu_raise(c, EXC_PF, err);
}

bool mmu_translate_try(struct cpu *c, uint32_t lin, bool write, bool user, uint32_t *phys)
{
    struct walk_result w;
    if (!translate(c, lin, write, user, &w)) return false;
    *phys = w.phys;
    return true;
}

uint32_t mmu_translate(struct cpu *c, uint32_t lin, bool write, bool user)
{
    struct walk_result w;
    if (!translate(c, lin, write, user, &w)) page_fault(c, lin, w.err);
    return w.phys;
}

/* ---- the TLB ---- */

static void note_large_region(struct tlb *t, uint32_t lin)
{
    t->large_map[lin >> 27] |= 1u << ((lin >> 22) & 31);
}

static bool large_region_noted(const struct tlb *t, uint32_t lin)
{
    return t->large_map[lin >> 27] & (1u << ((lin >> 22) & 31));
}

/* The linear page a slot translates, or TLB_INVALID when it is empty. */
static uint32_t slot_page(const struct tlb *t, uint32_t idx)
{
    return t->read_tag[idx] != TLB_INVALID ? t->read_tag[idx] : t->code_tag[idx];
}

static void drop_slot(struct tlb *t, uint32_t idx)
{
    t->read_tag[idx] = TLB_INVALID;
    t->write_tag[idx] = TLB_INVALID;
    t->code_tag[idx] = TLB_INVALID;
    t->attr[idx] = 0;
}

/* Translates and installs TLB entries for the page of `lin`. */
static uint32_t tlb_fill(struct cpu *c, uint32_t lin, bool write)
{
    struct walk_result w;
    if (!translate(c, lin, write, cpu_user_access(c), &w)) page_fault(c, lin, w.err);
    struct tlb *t = c->tlb_cur;
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1), page = lin & ~0xFFFu, ppage = w.phys & ~0xFFFu;
    uint8_t *host = c->bus.page_ptr(c->bus.ctx, ppage, false);
    if (t->code_tag[idx] != page) t->code_tag[idx] = TLB_INVALID;
    t->read_tag[idx] = TLB_INVALID;
    t->write_tag[idx] = TLB_INVALID;
    t->attr[idx] = w.tlb_attr;
    t->phys[idx] = ppage;
    if (w.tlb_attr & TLBA_LARGE) note_large_region(t, lin);
    if (host) {
        t->addend[idx] = (uintptr_t)host - page;
        t->read_tag[idx] = page;
        if (w.writable && !bc_page_has_code(c, ppage) && c->bus.page_ptr(c->bus.ctx, ppage, true) == host)
            t->write_tag[idx] = page;
    }
    return w.phys;
}

static bool crosses_page(uint32_t lin, int size) { return (lin & 0xFFF) > 0x1000u - (uint32_t)size; }

uint32_t mmu_read_slow(struct cpu *c, uint32_t lin, int size)
{
    if (crosses_page(lin, size)) {
        uint32_t v = 0;
        for (int k = 0; k < size; k++) v |= lin_read(c, lin + (uint32_t)k, 1) << (8 * k);
        return v;
    }
    uint32_t phys = tlb_fill(c, lin, false);
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    if (c->tlb_cur->read_tag[idx] == (lin & ~0xFFFu))
        return load_le((const uint8_t *)(c->tlb_cur->addend[idx] + lin), size);
    return c->bus.mem_read(c->bus.ctx, phys, size);
}

void mmu_write_slow(struct cpu *c, uint32_t lin, uint32_t val, int size)
{
    if (crosses_page(lin, size)) {
        /* translate both pages first: a fault on the second writes nothing */
        uint32_t second = (lin + (uint32_t)size - 1) & ~0xFFFu;
        uint32_t p0 = tlb_fill(c, lin, true), p1 = tlb_fill(c, second, true);
        for (int k = 0; k < size; k++) {
            uint32_t l = lin + (uint32_t)k;
            uint32_t p = (l & ~0xFFFu) == second ? p1 + (l - second) : p0 + k;
            phys_write(c, p, (val >> (8 * k)) & 0xFF, 1);
        }
        return;
    }
    uint32_t phys = tlb_fill(c, lin, true);
    phys_write(c, phys, val, size);
}

uint32_t sys_read(struct cpu *c, uint32_t lin, int size)
{
    if (crosses_page(lin, size)) {
        uint32_t v = 0;
        for (int k = 0; k < size; k++) v |= sys_read(c, lin + (uint32_t)k, 1) << (8 * k);
        return v;
    }
    return phys_read(c, mmu_translate(c, lin, false, false), size);
}

void sys_write(struct cpu *c, uint32_t lin, uint32_t val, int size)
{
    if (crosses_page(lin, size)) {
        mmu_translate(c, (lin + (uint32_t)size - 1) & ~0xFFFu, true, false);
        for (int k = 0; k < size; k++) sys_write(c, lin + (uint32_t)k, (val >> (8 * k)) & 0xFF, 1);
        return;
    }
    phys_write(c, mmu_translate(c, lin, true, false), val, size);
}

uint32_t mmu_code_phys(struct cpu *c, uint32_t lin)
{
    struct tlb *t = c->tlb_cur;
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    if (likely(t->code_tag[idx] == (lin & ~0xFFFu))) return t->phys[idx] | (lin & 0xFFF);
    uint32_t phys = tlb_fill(c, lin, false);
    t->code_tag[idx] = lin & ~0xFFFu;
    t->phys[idx] = phys & ~0xFFFu;
    return phys;
}

void mmu_protect_code_page(struct cpu *c, uint32_t phys_page)
{
    for (int k = 0; k < 2; k++)
        for (uint32_t idx = 0; idx < TLB_SIZE; idx++)
            if (c->tlb[k].write_tag[idx] != TLB_INVALID && c->tlb[k].phys[idx] == phys_page)
                c->tlb[k].write_tag[idx] = TLB_INVALID;
}

void mmu_flush_tlb(struct cpu *c)
{
    c->tlb_epoch++;
    for (int k = 0; k < 2; k++) {
        struct tlb *t = &c->tlb[k];
        memset(t->read_tag, 0xFF, sizeof t->read_tag);
        memset(t->write_tag, 0xFF, sizeof t->write_tag);
        memset(t->code_tag, 0xFF, sizeof t->code_tag);
        memset(t->attr, 0, sizeof t->attr);
        memset(t->large_map, 0, sizeof t->large_map);
    }
}

void mmu_flush_nonglobal(struct cpu *c)
{
    c->tlb_epoch++;
    for (int k = 0; k < 2; k++) {
        struct tlb *t = &c->tlb[k];
        memset(t->large_map, 0, sizeof t->large_map);
        for (uint32_t idx = 0; idx < TLB_SIZE; idx++) {
            if (!(t->attr[idx] & TLBA_GLOBAL)) drop_slot(t, idx);
            else if (t->attr[idx] & TLBA_LARGE) note_large_region(t, slot_page(t, idx));
        }
    }
}

void mmu_flush_page(struct cpu *c, uint32_t lin)
{
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1), region = lin >> 22;
    c->tlb_epoch++;
    for (int k = 0; k < 2; k++) {
        struct tlb *t = &c->tlb[k];
        drop_slot(t, idx);
        if (!large_region_noted(t, lin)) continue;
        t->large_map[lin >> 27] &= ~(1u << ((lin >> 22) & 31));
        for (uint32_t i = 0; i < TLB_SIZE; i++)
            if ((t->attr[i] & TLBA_LARGE) && slot_page(t, i) >> 22 == region) drop_slot(t, i);
    }
}
