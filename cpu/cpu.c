/* cpu.c — creating, resetting and inspecting a CPU.
 *
 * Promises: cpu_new gives a CPU in the power-on state with its own opcode
 * table, TLB and block cache; the accessors let the board and tests read and
 * set architectural state consistently (mode bookkeeping, TLB and lazy flags
 * kept in step).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct cpu *cpu_new(const struct cpu_bus *bus)
{
    struct cpu *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->bc = bc_new();
    if (!c->bc) {
        free(c);
        return NULL;
    }
    c->bus = *bus;
    decode_build_table(c);
    cpu_reset(c);
    return c;
}

void cpu_free(struct cpu *c)
{
    if (!c) return;
    free(c->bc);
    free(c);
}

static void reset_seg(struct cpu *c, int s, uint16_t sel, uint32_t base, uint16_t attr)
{
    cpu_set_seg_cache(c, s, sel, base, 0xFFFF, attr);
}

void cpu_reset(struct cpu *c)
{
    memset(c->r, 0, sizeof c->r);
    c->r[R_EDX] = 0x0633;          /* family 6, model 3, stepping 3 */
    c->eflags = 2;
    c->lf_op = LF_NONE;
    memset(c->cr, 0, sizeof c->cr);
    memset(c->dr, 0, sizeof c->dr);
    c->cr[0] = CR0_ET | CR0_CD | CR0_NW;
    c->dr[6] = 0xFFFF0FF0;
    c->dr[7] = 0x400;
    c->a20_mask = 0xFFFFFFFFu;
    c->gdtr.base = c->idtr.base = 0;
    c->gdtr.limit = c->idtr.limit = 0xFFFF;
    for (int s = 0; s < S_COUNT; s++) reset_seg(c, s, 0, 0, 0x93);
    reset_seg(c, S_CS, 0xF000, 0xFFFF0000u, 0x9B);
    reset_seg(c, S_LDTR, 0, 0, 0x82);
    reset_seg(c, S_TR, 0, 0, 0x8B);
    c->eip = 0xFFF0;
    fpu_reset(&c->fpu);
    msr_reset(c);
    c->halted = c->intr_shadow = c->end_block = c->exit_request = false;
    c->delivering = -1;
    c->cur_block = NULL;
    cpu_update_mode(c);
    mmu_flush_tlb(c);
    bc_flush(c);
}

void cpu_set_intr(struct cpu *c, bool level) { c->intr_line = level; }
void cpu_request_exit(struct cpu *c) { c->exit_request = true; }

void cpu_set_a20(struct cpu *c, bool enabled)
{
    uint32_t mask = enabled ? 0xFFFFFFFFu : 0xFFEFFFFFu;
    if (mask == c->a20_mask) return;
    c->a20_mask = mask;
    mmu_flush_tlb(c);
}

void cpu_phys_written(struct cpu *c, uint32_t paddr, uint32_t len)
{
    if (!len) return;
    uint32_t last = paddr + (len - 1);
    if (last < paddr) last = 0xFFFFFFFFu;
    for (uint64_t p = paddr & ~0xFFFu; p <= last; p += 0x1000)
        if (bc_page_has_code(c, (uint32_t)p)) bc_invalidate_page(c, (uint32_t)p);
}

void cpu_memory_map_changed(struct cpu *c)
{
    mmu_flush_tlb(c);
    bc_flush(c);
}

bool cpu_is_halted(const struct cpu *c) { return c->halted; }
bool cpu_halted_forever(const struct cpu *c) { return c->halted && !(c->eflags & F_IF); }
uint64_t cpu_icount(const struct cpu *c) { return c->icount; }

uint32_t cpu_get_reg(const struct cpu *c, enum cpu_reg r) { return r < R_NONE ? c->r[r] : 0; }
void cpu_set_reg(struct cpu *c, enum cpu_reg r, uint32_t v)
{
    if (r < R_NONE) c->r[r] = v;
}
uint32_t cpu_get_eip(const struct cpu *c) { return c->eip; }
void cpu_set_eip(struct cpu *c, uint32_t eip) { c->eip = eip; }
uint32_t cpu_get_eflags(struct cpu *c) { return cpu_read_eflags(c); }

void cpu_set_eflags(struct cpu *c, uint32_t v)
{
    c->lf_op = LF_NONE;
    c->eflags = (v | 2u) & ~(0xFFC00000u | (1u << 3) | (1u << 5) | (1u << 15));
    cpu_update_mode(c);
}

void cpu_set_cr0(struct cpu *c, uint32_t cr0)
{
    c->cr[0] = cr0 | CR0_ET;
    cpu_update_mode(c);
    mmu_flush_tlb(c);
}

uint32_t cpu_get_cr(const struct cpu *c, int n) { return (n >= 0 && n < 5) ? c->cr[n] : 0; }

void cpu_log(struct cpu *c, const char *fmt, ...)
{
    (void)c;
    va_list ap;
    va_start(ap, fmt);
    fputs("plan86: cpu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
