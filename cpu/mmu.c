/* mmu.c — linear to physical translation, the software TLB and its slow paths.
 *
 * Promises: every guest memory access that misses the TLB arrives here; it is
 * translated (two-level paging with 4 KiB and 4 MiB pages, A/D bits, #PF with
 * CR2 and error code), routed to RAM/ROM by host pointer or to the board's
 * mem_read/mem_write, split when it crosses a page (both pages translated before
 * anything is written), and writes to pages holding decoded code drop that code.
 * Only plain RAM gets write fast paths; only RAM/ROM get read fast paths.
 */
#include "internal.h"

enum { PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80 };
enum { PF_P = 1, PF_W = 2, PF_U = 4 };
#define CR4_PSE (1u << 4)

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

/* Page walk. Returns true with *phys, or false with the #PF error code in *err.
 * `set_bits` false performs a probe only (no A/D writes). *writable tells
 * whether a write at this privilege would be allowed without a fault. */
static bool page_walk(struct cpu *c, uint32_t lin, bool write, bool user, uint32_t *phys,
                      uint32_t *err, bool *writable)
{
    uint32_t pde_addr = (c->cr[3] & ~0xFFFu) | ((lin >> 22) << 2);
    uint32_t pde = phys_read(c, pde_addr & c->a20_mask, 4);
    uint32_t base_err = (write ? PF_W : 0) | (user ? PF_U : 0);
    if (!(pde & PTE_P)) { *err = base_err; return false; }
    bool large = (pde & PTE_PS) && (c->cr[4] & CR4_PSE);
    uint32_t pte = pde, pte_addr = pde_addr;
    if (!large) {
        pte_addr = (pde & ~0xFFFu) | (((lin >> 12) & 0x3FF) << 2);
        pte = phys_read(c, pte_addr & c->a20_mask, 4);
        if (!(pte & PTE_P)) { *err = base_err; return false; }
    }
    uint32_t perm = large ? pde : (pde & pte);
    bool w_ok = (perm & PTE_W) || (!user && !(c->cr[0] & CR0_WP));
    if ((user && !(perm & PTE_U)) || (write && !w_ok)) { *err = base_err | PF_P; return false; }
    if (!(pde & PTE_A)) phys_write(c, pde_addr & c->a20_mask, pde | PTE_A, 4);
    if (!large) {
        uint32_t npte = pte | PTE_A | (write ? PTE_D : 0);
        if (npte != pte) phys_write(c, pte_addr & c->a20_mask, npte, 4);
        *phys = (pte & ~0xFFFu) | (lin & 0xFFF);
    } else {
        if (write && !(pde & PTE_D)) phys_write(c, pde_addr & c->a20_mask, pde | PTE_A | PTE_D, 4);
        *phys = (pde & 0xFFC00000u) | (lin & 0x3FFFFF);
    }
    *writable = w_ok && (write || ((large ? pde : pte) & PTE_D));
    return true;
}

static bool translate(struct cpu *c, uint32_t lin, bool write, bool user, uint32_t *phys,
                      uint32_t *err, bool *writable)
{
    if (!(c->cr[0] & CR0_PG)) {
        *phys = lin & c->a20_mask;
        *writable = true;
        return true;
    }
    if (!page_walk(c, lin, write, user, phys, err, writable)) return false;
    *phys &= c->a20_mask;
    return true;
}

_Noreturn static void page_fault(struct cpu *c, uint32_t lin, uint32_t err)
{
    c->cr[2] = lin;
    cpu_raise(c, EXC_PF, err);
}

bool mmu_translate_try(struct cpu *c, uint32_t lin, bool write, bool user, uint32_t *phys)
{
    uint32_t err;
    bool writable;
    return translate(c, lin, write, user, phys, &err, &writable);
}

uint32_t mmu_translate(struct cpu *c, uint32_t lin, bool write, bool user)
{
    uint32_t phys, err;
    bool writable;
    if (!translate(c, lin, write, user, &phys, &err, &writable)) page_fault(c, lin, err);
    return phys;
}

/* Translates and installs TLB entries for the page of `lin`. */
static uint32_t tlb_fill(struct cpu *c, uint32_t lin, bool write)
{
    bool user = cpu_user_access(c), writable;
    uint32_t phys, err;
    if (!translate(c, lin, write, user, &phys, &err, &writable)) page_fault(c, lin, err);
    struct tlb *t = c->tlb_cur;
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1), page = lin & ~0xFFFu, ppage = phys & ~0xFFFu;
    uint8_t *host = c->bus.page_ptr(c->bus.ctx, ppage, false);
    if (t->code_tag[idx] != page) t->code_tag[idx] = TLB_INVALID;
    t->read_tag[idx] = TLB_INVALID;
    t->write_tag[idx] = TLB_INVALID;
    if (host) {
        t->addend[idx] = (uintptr_t)host - page;
        t->phys[idx] = ppage;
        t->read_tag[idx] = page;
        if (writable && !bc_page_has_code(c, ppage) && c->bus.page_ptr(c->bus.ctx, ppage, true) == host)
            t->write_tag[idx] = page;
    }
    return phys;
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
        memset(c->tlb[k].read_tag, 0xFF, sizeof c->tlb[k].read_tag);
        memset(c->tlb[k].write_tag, 0xFF, sizeof c->tlb[k].write_tag);
        memset(c->tlb[k].code_tag, 0xFF, sizeof c->tlb[k].code_tag);
    }
}

void mmu_flush_page(struct cpu *c, uint32_t lin)
{
    uint32_t idx = (lin >> 12) & (TLB_SIZE - 1);
    c->tlb_epoch++;
    for (int k = 0; k < 2; k++) {
        c->tlb[k].read_tag[idx] = TLB_INVALID;
        c->tlb[k].write_tag[idx] = TLB_INVALID;
        c->tlb[k].code_tag[idx] = TLB_INVALID;
    }
}
