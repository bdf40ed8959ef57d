/* exec.c — the run loop: decoded-block cache, execution, interrupts, faults.
 *
 * Promises: guest code runs as cached blocks of decoded instructions keyed by
 * physical address and code size; a write to a physical page holding decoded
 * code (seen by the MMU slow path or reported as DMA) drops that page's blocks
 * through a per-page generation, and stops the running block when it is hit.
 * Interrupts are taken between blocks (honouring STI/MOV SS shadows and HLT).
 * A fault longjmps back here with the faulting instruction's state intact and
 * is delivered, escalating to #DF and to a triple fault (bus shutdown) per the
 * x86 exception classes.
 */
#include <stdlib.h>

#include "internal.h"

#define BC_HASH_BITS 14
#define BC_MAX_BLOCKS 32768
#define BLOCK_MAX_INSNS 64
#define BC_MAX_INSNS (BC_MAX_BLOCKS * 8)
#define PHYS_PAGES (1u << 20)
#define JC_BITS 12
#define NO_PAGE 1u

struct block {
    uint32_t phys;       /* physical address of the first byte */
    uint32_t phys2;      /* second physical page (last instruction crosses), or NO_PAGE */
    uint32_t gen, gen2;  /* page generations when decoded */
    uint32_t bytes;
    uint16_t n;
    uint8_t code32;
    struct insn *insns;
    struct block *next;  /* hash chain */
};

/* Jump cache: linear EIP -> block, valid while no TLB flush happened since
 * (same tlb_epoch) and for the same privilege class, so the common path skips
 * the code translation and the hash walk. */
struct jc_entry {
    uint32_t lin;
    uint32_t epoch;
    bool user;
    struct block *block;
};

struct block_cache {
    struct jc_entry jc[1u << JC_BITS];
    struct block *hash[1u << BC_HASH_BITS];
    struct block blocks[BC_MAX_BLOCKS];
    struct insn insns[BC_MAX_INSNS];
    uint32_t nblocks, ninsns;
    uint32_t page_gen[PHYS_PAGES];
    uint8_t page_code[PHYS_PAGES];
};

struct block_cache *bc_new(void) { return calloc(1, sizeof(struct block_cache)); }

bool bc_page_has_code(const struct cpu *c, uint32_t phys) { return c->bc->page_code[phys >> 12]; }

void bc_invalidate_page(struct cpu *c, uint32_t phys)
{
    uint32_t page = phys >> 12;
    c->bc->page_gen[page]++;
    c->bc->page_code[page] = 0;
    struct block *b = c->cur_block;
    if (b && ((b->phys >> 12) == page || (b->phys2 != NO_PAGE && (b->phys2 >> 12) == page)))
        c->end_block = true;
}

void bc_flush(struct cpu *c)
{
    struct block_cache *bc = c->bc;
    memset(bc->hash, 0, sizeof bc->hash);
    memset(bc->jc, 0, sizeof bc->jc);
    bc->nblocks = bc->ninsns = 0;
    c->cur_block = NULL;
}

static uint32_t bc_hash(uint32_t phys) { return (phys ^ (phys >> BC_HASH_BITS)) & ((1u << BC_HASH_BITS) - 1); }

static void mark_code_page(struct cpu *c, uint32_t phys)
{
    if (!c->bc->page_code[phys >> 12]) {
        c->bc->page_code[phys >> 12] = 1;
        mmu_protect_code_page(c, phys & ~0xFFFu);
    }
}

static struct block *block_build(struct cpu *c, uint32_t phys)
{
    struct block_cache *bc = c->bc;
    if (bc->nblocks == BC_MAX_BLOCKS || bc->ninsns + BLOCK_MAX_INSNS > BC_MAX_INSNS) bc_flush(c);
    struct block *b = &bc->blocks[bc->nblocks];
    b->insns = &bc->insns[bc->ninsns];
    b->n = (uint16_t)decode_block(c, b->insns, BLOCK_MAX_INSNS, &b->bytes, &b->phys2);
    bc->nblocks++;
    bc->ninsns += b->n;
    b->phys = phys;
    b->code32 = c->code32;
    mark_code_page(c, phys);
    b->gen = bc->page_gen[phys >> 12];
    if (b->phys2 != NO_PAGE) {
        mark_code_page(c, b->phys2);
        b->gen2 = bc->page_gen[b->phys2 >> 12];
    }
    uint32_t h = bc_hash(phys);
    b->next = bc->hash[h];
    bc->hash[h] = b;
    return b;
}

static bool block_valid(struct cpu *c, const struct block *b)
{
    const struct block_cache *bc = c->bc;
    if (b->gen != bc->page_gen[b->phys >> 12]) return false;
    if ((uint64_t)c->eip + b->bytes - 1 > c->seg[S_CS].limit) return false;
    if (b->phys2 == NO_PAGE) return true;
    uint32_t lin2 = (c->seg[S_CS].base + c->eip + b->bytes - 1) & ~0xFFFu, phys2;
    return b->gen2 == bc->page_gen[b->phys2 >> 12] &&
           mmu_translate_try(c, lin2, false, cpu_user_access(c), &phys2) &&
           (phys2 & ~0xFFFu) == b->phys2;
}

static struct block *block_lookup_phys(struct cpu *c, uint32_t phys)
{
    struct block **link = &c->bc->hash[bc_hash(phys)];
    for (struct block *b = *link; b; link = &b->next, b = b->next) {
        if (b->phys != phys || b->code32 != c->code32) continue;
        if (block_valid(c, b)) return b;
        *link = b->next;     /* stale: unlink, decode afresh */
        break;
    }
    return block_build(c, phys);
}

static struct block *block_lookup(struct cpu *c)
{
    uint32_t lin = c->seg[S_CS].base + c->eip;
    bool user = cpu_user_access(c);
    struct jc_entry *e = &c->bc->jc[(lin ^ (lin >> JC_BITS)) & ((1u << JC_BITS) - 1)];
    struct block *b = e->block;
    if (b && e->lin == lin && e->epoch == c->tlb_epoch && e->user == user &&
        b->code32 == c->code32 && b->phys2 == NO_PAGE && block_valid(c, b))
        return b;
    b = block_lookup_phys(c, mmu_code_phys(c, lin));
    *e = (struct jc_entry){lin, c->tlb_epoch, user, b};
    return b;
}

static void block_run(struct cpu *c, struct block *b)
{
    const struct insn *i = b->insns, *end = i + b->n;
    uint32_t eip_mask = b->code32 ? 0xFFFFFFFFu : 0xFFFFu;   /* 16-bit IP wraps */
    c->cur_block = b;
    c->block_eip = c->eip;
    c->end_block = false;
    do {
        c->insn_eip = c->eip;
        c->eip = (c->eip + i->len) & eip_mask;
        i->fn(c, i);
        i++;
    } while (i < end && !c->end_block);
    c->icount += (uint64_t)(i - b->insns);
    c->cur_block = NULL;
}

/* Instructions of cur_block retired before the faulting one. */
static uint32_t retired_before_fault(const struct cpu *c)
{
    const struct block *b = c->cur_block;
    uint32_t eip = c->block_eip, k = 0;
    uint32_t eip_mask = b->code32 ? 0xFFFFFFFFu : 0xFFFFu;
    while (k < b->n && eip != c->insn_eip) eip = (eip + b->insns[k++].len) & eip_mask;
    return k;
}

_Noreturn void cpu_raise(struct cpu *c, int vec, uint32_t err)
{
    c->exc_vec = (int8_t)vec;
    c->exc_err = err;
    longjmp(c->fault_jmp, 1);
}

/* c->delivering while an external interrupt is delivered: a fault then is
 * handled serially (benign), whatever the interrupt's vector number. */
#define DELIVERING_EXTERNAL (-2)

static bool contributory(int vec) { return vec == EXC_DE || (vec >= EXC_TS && vec <= EXC_GP); }

static void triple_fault(struct cpu *c)
{
    cpu_log(c, "triple fault at %04X:%08X: shutdown", c->seg[S_CS].sel, c->insn_eip);
    c->delivering = -1;
    c->exit_request = true;
    if (c->bus.shutdown) {
        c->bus.shutdown(c->bus.ctx);
    } else {
        c->halted = true;
        c->eflags &= ~F_IF;
    }
}

/* Each delivery counts as one retired instruction, so a guest stuck in a
 * fault loop still uses up its budget and the board's timers keep running. */
static void deliver(struct cpu *c, int vec, uint32_t err, bool exception)
{
    c->icount++;
    c->delivering = exception ? (int8_t)vec : DELIVERING_EXTERNAL;
    cpu_deliver_interrupt(c, vec, err, false);
    c->delivering = -1;
}

/* A fault unwound to the run loop: restart point, #DF rules, delivery. */
static void fault_caught(struct cpu *c)
{
    int vec = c->exc_vec;
    uint32_t err = c->exc_err;
    if (c->cur_block) {
        c->icount += retired_before_fault(c);
        c->cur_block = NULL;
    }
    c->eip = c->insn_eip;
    int first = c->delivering;
    if (first >= 0) {
        if (first == EXC_DF) {
            triple_fault(c);
            return;
        }
        if ((contributory(first) && contributory(vec)) ||
            (first == EXC_PF && (vec == EXC_PF || contributory(vec)))) {
            vec = EXC_DF;
            err = 0;
        }
    }
    deliver(c, vec, err, true);
}

/* Takes a pending interrupt if allowed. Returns false when the CPU stays halted. */
static bool service_interrupts(struct cpu *c)
{
    if (c->intr_shadow) {
        c->intr_shadow = false;
        return !c->halted;
    }
    if (c->intr_line && (c->eflags & F_IF)) {
        c->halted = false;
        uint8_t vec = c->bus.irq_ack(c->bus.ctx);
        c->insn_eip = c->eip;
        deliver(c, vec, EXC_NOERR, false);
    }
    return !c->halted;
}

uint64_t cpu_run(struct cpu *c, uint64_t budget)
{
    uint64_t start = c->icount, target = start + budget;
    if (setjmp(c->fault_jmp)) fault_caught(c);
    while (c->icount < target && !c->exit_request) {
        if (!service_interrupts(c)) break;
        c->insn_eip = c->eip;
        block_run(c, block_lookup(c));
    }
    c->exit_request = false;
    return c->icount - start;
}
