/* emu.c — runs difftest cases in plan86 (emu.h).
 *
 * The sequence is followed by HLT, which at CPL 3 raises #GP: a #GP whose EIP
 * is that HLT is the normal end, any other exception is the sequence's fault.
 */
#include "emu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pm_guest.h"

#define EMU_RAM (8u << 20)
#define RUN_BUDGET 100000

struct dt_emu {
    struct pmg *g;
};

struct dt_emu *dt_emu_new(void)
{
    struct dt_emu *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->g = pmg_new(EMU_RAM);
    if (!e->g) {
        free(e);
        return NULL;
    }
    return e;
}

void dt_emu_free(struct dt_emu *e)
{
    if (!e) return;
    pmg_free(e->g);
    free(e);
}

static void load_case(struct pmg *g, const struct dt_case *tc, uint32_t len)
{
    uint8_t page[4096];
    memset(page, 0xF4, sizeof page);            /* HLT after the sequence */
    memcpy(page, tc->code, len);
    pmg_write(g, DT_CODE_ADDR, page, sizeof page);
    uint8_t data[DT_DATA_SIZE], stack[DT_STACK_SIZE];
    dt_fill(data, DT_DATA_SIZE, tc->mem_seed);
    dt_fill(stack, DT_STACK_SIZE, tc->mem_seed ^ 0x5A5A5A5Au);
    pmg_write(g, DT_DATA_ADDR, data, sizeof data);
    pmg_write(g, DT_STACK_ADDR, stack, sizeof stack);
}

void dt_emu_run(struct dt_emu *e, const struct dt_case *tc, struct dt_result *res)
{
    struct pmg *g = e->g;
    struct cpu *c = pmg_cpu(g);
    uint32_t len = tc->code_len <= DT_CODE_MAX ? tc->code_len : DT_CODE_MAX;
    load_case(g, tc, len);
    pmg_enter(g, 3, DT_CODE_ADDR, tc->init.r[R_ESP], tc->init.eflags);
    for (int r = 0; r < DT_NREGS; r++)
        if (r != R_ESP) cpu_set_reg(c, (enum cpu_reg)r, tc->init.r[r]);

    struct pmg_exit ex;
    memset(res, 0, sizeof *res);
    bool ended = pmg_run(g, RUN_BUDGET, &ex) == 0;
    for (int r = 0; r < DT_NREGS; r++) res->regs.r[r] = cpu_get_reg(c, (enum cpu_reg)r);
    res->regs.eip = cpu_get_eip(c);
    res->regs.eflags = cpu_get_eflags(c);
    res->fault = DT_RUNAWAY;
    if (ended && ex.vector >= 0) {
        res->regs.r[R_ESP] = ex.esp;
        res->regs.eip = ex.eip;
        res->regs.eflags = ex.eflags;
        bool normal_end = ex.vector == EXC_GP && ex.eip == DT_CODE_ADDR + len;
        res->fault = normal_end ? DT_NO_FAULT : ex.vector;
    }
    const uint8_t *ram = pmg_ram(g);
    memcpy(res->data, ram + DT_DATA_ADDR, DT_DATA_SIZE);
    memcpy(res->stack, ram + DT_STACK_ADDR, DT_STACK_SIZE);
}
