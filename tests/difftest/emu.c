/* emu.c — runs difftest cases in plan86 (emu.h).
 *
 * The sequence is followed by HLT, which at CPL 3 raises #GP: a #GP whose EIP
 * is that HLT is the normal end, any other exception is the sequence's fault.
 *
 * A case that uses the x87 goes through plan86's own FRSTOR and FNSAVE, the
 * instructions the native side uses: a CPL-0 stub "frstor [in]; hlt" runs
 * before the sequence, and "fnsave [out]; hlt" after it (also after a fault),
 * both in the page the native helper keeps its context in. When a stub does not
 * reach its HLT, the case reports DT_FPU_STUB_FAILED as its fault.
 */
#include "emu.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pm_guest.h"

#define EMU_RAM (8u << 20)
#define RUN_BUDGET 100000
#define STUB_BUDGET 100

enum {
    FPU_IN_ADDR = DT_CTX_ADDR + 0x100,
    FPU_OUT_ADDR = DT_CTX_ADDR + 0x180,
    STUB_ADDR = DT_CTX_ADDR + 0x200,
    STUB_STACK = DT_CTX_ADDR + 0xF00,
    MODRM_DISP32 = 0x05,   /* mod 00, r/m 101: [disp32] */
};

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

/* Runs "<DD /ext> [addr]; hlt" at CPL 0: FRSTOR (ext 4) or FNSAVE (ext 6). */
static bool run_fpu_stub(struct pmg *g, int ext, uint32_t addr)
{
    uint8_t stub[] = { 0xDD, (uint8_t)(ext << 3 | MODRM_DISP32), (uint8_t)addr, (uint8_t)(addr >> 8),
                       (uint8_t)(addr >> 16), (uint8_t)(addr >> 24), 0xF4 };
    pmg_write(g, STUB_ADDR, stub, sizeof stub);
    pmg_enter(g, 0, STUB_ADDR, STUB_STACK, 0x2);
    struct pmg_exit ex;
    return pmg_run(g, STUB_BUDGET, &ex) == 0 && ex.vector < 0 && ex.eip == STUB_ADDR + sizeof stub;
}

void dt_emu_run(struct dt_emu *e, const struct dt_case *tc, struct dt_result *res)
{
    struct pmg *g = e->g;
    struct cpu *c = pmg_cpu(g);
    uint32_t len = tc->code_len <= DT_CODE_MAX ? tc->code_len : DT_CODE_MAX;
    load_case(g, tc, len);
    bool fpu_ok = true;
    if (tc->fpu_used) {
        pmg_write(g, FPU_IN_ADDR, tc->fpu_init, DT_FPU_IMAGE);
        fpu_ok = run_fpu_stub(g, 4, FPU_IN_ADDR);
    }
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
    if (!tc->fpu_used) return;
    if (fpu_ok && run_fpu_stub(g, 6, FPU_OUT_ADDR)) memcpy(res->fpu, ram + FPU_OUT_ADDR, DT_FPU_IMAGE);
    else res->fault = DT_FPU_STUB_FAILED;
}
