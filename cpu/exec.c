/* exec.c — the run loop: decoded-block cache, execution, interrupts, faults.
 *
 * Promises: guest code runs as cached blocks of decoded instructions keyed by
 * physical address and code size; a write to a physical page holding decoded
 * code (seen by the MMU slow path or reported as DMA) drops that page's blocks
 * through a per-page generation, and stops the running block when it is hit.
 * Blocks chain: each remembers its last two successors, and a jump cache maps
 * linear EIPs to blocks; both are checked against TLB flushes and dropped code
 * before use, so chaining never changes where blocks start or end.
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

/* A cached route from a linear EIP to the block decoded there. It holds while
 * no TLB flush happened since (same tlb_epoch: linear->physical unchanged), for
 * the same privilege class and code size. When no decoded code was dropped
 * since either (same code_gen) the block's pages need no generation check. */
struct block_route {
    uint32_t lin;
    uint32_t epoch;
    uint32_t code_gen;
    bool user;
    struct block *block;
};

struct block {
    uint32_t phys;       /* physical address of the first byte */
    uint32_t phys2;      /* second physical page (last instruction crosses), or NO_PAGE */
    uint32_t gen, gen2;  /* page generations when decoded */
    uint32_t bytes;
    uint16_t n;
    uint8_t code32;
    struct insn *insns;
    struct block *next;  /* hash chain */
    struct block_route exits[2];   /* successors seen, most recent first */
};

/* The jump cache maps a linear EIP to its block by route, so the common path
 * skips the code translation and the hash walk; block exits chain the same way
 * without even the jump-cache probe. */
struct block_cache {
    struct block_route jc[1u << JC_BITS];
    struct block *hash[1u << BC_HASH_BITS];
    struct block blocks[BC_MAX_BLOCKS];
    struct insn insns[BC_MAX_INSNS];
    uint32_t nblocks, ninsns;
    uint32_t code_gen;   /* bumped whenever decoded code is dropped */
    uint32_t page_gen[PHYS_PAGES];
    uint8_t page_code[PHYS_PAGES];
};

struct block_cache *bc_new(void) { return calloc(1, sizeof(struct block_cache)); }

bool bc_page_has_code(const struct cpu *c, uint32_t phys) { return c->bc->page_code[phys >> 12]; }

void bc_invalidate_page(struct cpu *c, uint32_t phys)
{
    uint32_t page = phys >> 12;
    c->bc->code_gen++;
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
    for (uint32_t k = 0; k < bc->nblocks; k++) memset(bc->blocks[k].exits, 0, sizeof bc->blocks[k].exits);
    bc->nblocks = bc->ninsns = 0;
    bc->code_gen++;
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
    memset(b->exits, 0, sizeof b->exits);
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

/* Whether route r leads from the current CS:EIP (linear `lin`) to a block
 * that is still right for it. */
static inline __attribute__((always_inline)) bool route_valid(struct cpu *c, struct block_route *r,
                                                              uint32_t lin, bool user)
{
    struct block *b = r->block;
    if (!b || r->lin != lin || r->epoch != c->tlb_epoch || r->user != user || b->code32 != c->code32)
        return false;
    if (likely(r->code_gen == c->bc->code_gen))
        return (uint64_t)c->eip + b->bytes - 1 <= c->seg[S_CS].limit;
    if (!block_valid(c, b)) return false;
    r->code_gen = c->bc->code_gen;
    return true;
}

/* The block at CS:EIP; `prev` is the block that ran last (NULL if none or
 * unknown): its exits are tried first and learn the answer. */
static struct block *block_lookup(struct cpu *c, struct block *prev)
{
    uint32_t lin = c->seg[S_CS].base + c->eip;
    bool user = cpu_user_access(c);
    if (prev) {
        if (likely(route_valid(c, &prev->exits[0], lin, user))) return prev->exits[0].block;
        if (route_valid(c, &prev->exits[1], lin, user)) {
            struct block_route hit = prev->exits[1];
            prev->exits[1] = prev->exits[0];
            prev->exits[0] = hit;
            return hit.block;
        }
    }
    struct block_route *e = &c->bc->jc[(lin ^ (lin >> JC_BITS)) & ((1u << JC_BITS) - 1)];
    if (!route_valid(c, e, lin, user)) {
        struct block *b = block_lookup_phys(c, mmu_code_phys(c, lin));
        *e = (struct block_route){lin, c->tlb_epoch, c->bc->code_gen, user, b};
    }
    /* After a cache flush prev may be a recycled or unused slot: a route is
     * checked in full before use, so learning it in a slot in use is harmless,
     * and unused slots stay clear so the next flush finds every route. */
    if (prev && prev < c->bc->blocks + c->bc->nblocks) {
        prev->exits[1] = prev->exits[0];
        prev->exits[0] = *e;
    }
    return e->block;
}

/* Runs block b from its start. EIP advances in a local: a handler that moves
 * EIP elsewhere (control transfer, REP restart, interrupt) is the block's
 * last instruction or ends the block, so the loop never needs to read c->eip
 * back between instructions. */
static void block_run(struct cpu *c, struct block *b)
{
    const struct insn *i = b->insns, *end = i + b->n;
    uint32_t eip_mask = b->code32 ? 0xFFFFFFFFu : 0xFFFFu;   /* 16-bit IP wraps */
    uint32_t eip = c->eip;
    c->cur_block = b;
    c->block_eip = eip;
    c->end_block = false;
    do {
        c->insn_eip = eip;
        eip = (eip + i->len) & eip_mask;
        c->eip = eip;
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

/* Runs blocks until the budget is used up, an exit is requested or the CPU
 * halts. Each block's successor is looked up from its exits first. */
static void run_blocks(struct cpu *c, uint64_t target)
{
    struct block *prev = NULL;
    while (c->icount < target && !c->exit_request) {
        if (!service_interrupts(c)) break;
        c->insn_eip = c->eip;
        prev = block_lookup(c, prev);
        block_run(c, prev);
    }
}

uint64_t cpu_run(struct cpu *c, uint64_t budget)
{
    uint64_t start = c->icount, target = start + budget;
    if (setjmp(c->fault_jmp)) fault_caught(c);
    run_blocks(c, target);
    c->exit_request = false;
    return c->icount - start;
}
