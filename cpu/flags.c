/* flags.c — lazy arithmetic flags and EFLAGS as the guest sees it.
 *
 * Promises: the six arithmetic flags are derived on demand from the last
 * flag-setting operation (c->lf_*) or read from c->eflags when lf_op is
 * LF_NONE; every reader goes through flag_* / flags_arith / cpu_cond, every
 * writer through flags_lazy / flags_lazy_incdec / flags_set / cpu_write_eflags.
 * The hot ones (CF/ZF/SF, conditions after compares and logic operations,
 * flags_set) are inline in internal.h; this file has the general cases.
 */
#include "internal.h"

/* carry-in of ADC/SBB, recovered from the operands and the result */
static uint32_t lazy_carry_in(const struct cpu *c)
{
    uint32_t m = size_mask(c->lf_size);
    if (c->lf_op == LF_ADC) return (c->lf_res - c->lf_a - c->lf_b) & m;
    return (c->lf_a - c->lf_b - c->lf_res) & m;
}

bool flag_cf_with_carry_in(const struct cpu *c)
{
    if (c->lf_op == LF_ADC) return lazy_carry_in(c) ? c->lf_res <= c->lf_a : c->lf_res < c->lf_a;
    return lazy_carry_in(c) ? c->lf_a <= c->lf_b : c->lf_a < c->lf_b;
}

bool flag_pf(struct cpu *c)
{
    if (c->lf_op == LF_NONE) return (c->eflags & F_PF) != 0;
    return !__builtin_parity(c->lf_res & 0xFF);
}

bool flag_af(struct cpu *c)
{
    switch (c->lf_op) {
    case LF_NONE: return (c->eflags & F_AF) != 0;
    case LF_LOGIC: return false;
    case LF_INC: return (c->lf_res & 0xF) == 0;
    case LF_DEC: return (c->lf_res & 0xF) == 0xF;
    default: return ((c->lf_a ^ c->lf_b ^ c->lf_res) & 0x10) != 0;
    }
}

bool flag_of(struct cpu *c)
{
    uint32_t sign = size_sign(c->lf_size), a = c->lf_a, b = c->lf_b, r = c->lf_res;
    switch (c->lf_op) {
    case LF_NONE: return (c->eflags & F_OF) != 0;
    case LF_ADD: case LF_ADC: return (~(a ^ b) & (a ^ r) & sign) != 0;
    case LF_SUB: case LF_SBB: return ((a ^ b) & (a ^ r) & sign) != 0;
    case LF_INC: return r == sign;
    case LF_DEC: return r == sign - 1;
    default: return false;
    }
}

uint32_t flags_arith(struct cpu *c)
{
    if (c->lf_op == LF_NONE) return c->eflags & F_ARITH;
    uint32_t szp = flags_szp(c->lf_res, c->lf_size);
    if (c->lf_op == LF_LOGIC) return szp;
    return szp | (flag_cf(c) ? F_CF : 0) | (flag_af(c) ? F_AF : 0) | (flag_of(c) ? F_OF : 0);
}

void flags_materialize(struct cpu *c)
{
    if (c->lf_op == LF_NONE) return;
    c->eflags = (c->eflags & ~F_ARITH) | flags_arith(c);
    c->lf_op = LF_NONE;
}

bool cpu_cond_general(struct cpu *c, int cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: r = flag_of(c); break;
    case 1: r = flag_cf(c); break;
    case 2: r = flag_zf(c); break;
    case 3: r = flag_cf(c) || flag_zf(c); break;
    case 4: r = flag_sf(c); break;
    case 5: r = flag_pf(c); break;
    case 6: r = flag_sf(c) != flag_of(c); break;
    default: r = flag_zf(c) || (flag_sf(c) != flag_of(c)); break;
    }
    return (cc & 1) ? !r : r;
}

uint32_t cpu_read_eflags(struct cpu *c)
{
    return (c->eflags & ~F_ARITH) | flags_arith(c) | 2u;
}

void cpu_write_eflags(struct cpu *c, uint32_t v, uint32_t changeable)
{
    uint32_t old_vm = c->eflags & F_VM;
    flags_materialize(c);
    c->eflags = ((c->eflags & ~changeable) | (v & changeable)) | 2u;
    c->eflags &= ~(0xFFC00000u | (1u << 3) | (1u << 5) | (1u << 15));
    if ((c->eflags & F_VM) != old_vm) cpu_update_mode(c);
}
