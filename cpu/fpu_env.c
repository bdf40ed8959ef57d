/* fpu_env.c — x87 state as a whole: reset, FNINIT, tags, the exception
 * summary, and the memory images of FNSTENV/FLDENV (14/28-byte
 * environments in real/V86 and protected layouts), FNSAVE/FRSTOR (94/108
 * bytes) and FXSAVE/FXRSTOR (512 bytes, 16-byte aligned).
 *
 * Promises: stores probe every page first and loads read everything before
 * touching the FPU, so a faulting instruction leaves the FPU unchanged.
 */
#include "fpu_impl.h"

enum { MXCSR_DEFAULT = 0x1F80, MXCSR_MASK = 0xFFBF, FX_BYTES = 288 };

void fpu_reset(struct fpu *f)
{
    *f = (struct fpu){ .cw = 0x0040, .full = 0xFF };
}

void fpu_init(struct cpu *c)
{
    struct fpu *f = &c->fpu;
    f->cw = 0x037F;
    f->sw = 0;
    f->full = 0;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
    fpu_update_es(c);
}

int fpu_tag(const struct fpu *f, int p)
{
    const struct f80 *v = &f->st[p];
    int exp = v->sexp & 0x7FFF;
    if (!((f->full >> p) & 1)) return 3;
    if (exp == 0x7FFF) return 2;
    if (exp == 0) return v->mant ? 2 : 1;
    return (v->mant >> 63) ? 0 : 2;
}

uint16_t fpu_tag_word(const struct fpu *f)
{
    uint16_t tw = 0;
    for (int p = 0; p < 8; p++) tw |= (uint16_t)(fpu_tag(f, p) << (2 * p));
    return tw;
}

void fpu_update_es(struct cpu *c)
{
    struct fpu *f = &c->fpu;
    if (f->sw & ~f->cw & FSW_EXC) {
        f->sw |= FSW_ES | FSW_B;
        return;
    }
    f->sw &= (uint16_t)~(FSW_ES | FSW_B);
    if (f->ferr) {
        f->ferr = false;
        if (c->bus.ferr) c->bus.ferr(c->bus.ctx, false);
    }
}

/* ---- memory blocks ---- */

static uint32_t block_offset(const struct cpu *c, const struct insn *i, uint32_t off)
{
    uint32_t ea = insn_ea(c, i) + off;
    return (i->flags & I_ADDR32) ? ea : (ea & 0xFFFF);
}

static int chunk(int left) { return left >= 4 ? 4 : left >= 2 ? 2 : 1; }

void fpu_mem_read(struct cpu *c, const struct insn *i, uint32_t off, void *dst, int n)
{
    uint8_t *d = dst;
    for (int k = 0; k < n;) {
        int size = chunk(n - k);
        store_le(d + k, seg_read(c, i->seg, block_offset(c, i, off + (uint32_t)k), size), size);
        k += size;
    }
}

void fpu_mem_probe_write(struct cpu *c, const struct insn *i, uint32_t off, int n)
{
    /* blocks are at most 512 bytes: the first and last byte cover every page */
    uint32_t first = seg_lin(c, i->seg, block_offset(c, i, off), 1, true);
    uint32_t last = seg_lin(c, i->seg, block_offset(c, i, off + (uint32_t)n - 1), 1, true);
    bool user = cpu_user_access(c);
    mmu_translate(c, first, true, user);
    if ((first ^ last) & ~0xFFFu) mmu_translate(c, last, true, user);
}

void fpu_mem_write(struct cpu *c, const struct insn *i, uint32_t off, const void *src, int n)
{
    const uint8_t *s = src;
    fpu_mem_probe_write(c, i, off, n);
    for (int k = 0; k < n;) {
        int size = chunk(n - k);
        seg_write(c, i->seg, block_offset(c, i, off + (uint32_t)k), load_le(s + k, size), size);
        k += size;
    }
}

/* ---- environments ---- */

static void put16(uint8_t *p, uint32_t v) { store_le(p, v & 0xFFFF, 2); }
static void put32(uint8_t *p, uint32_t v) { store_le(p, v, 4); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)load_le(p, 2); }
static uint32_t get32(const uint8_t *p) { return load_le(p, 4); }

static bool env_real_layout(const struct cpu *c) { return !c->pe || c->vm86; }
static int env_bytes(const struct insn *i) { return (i->flags & I_OP32) ? 28 : 14; }

/* Environment fields are 16 or 32 bits wide by operand size ("step"); the
 * upper half of a 32-bit slot is reserved and stored as ones. */
static void put_field(uint8_t *p, uint32_t v, int step) { store_le(p, v, step); }
static uint32_t get_field(const uint8_t *p, int step) { return load_le(p, step); }

/* Writes the environment image into b; returns its size. */
static int env_image(struct cpu *c, const struct insn *i, uint8_t *b)
{
    const struct fpu *f = &c->fpu;
    int step = (i->flags & I_OP32) ? 4 : 2;
    uint32_t hi_mask = step == 4 ? 0xFFFF : 0xF;
    uint32_t fop = f->fop & 0x7FF;
    uint32_t field[7] = { f->cw, f->sw, fpu_tag_word(f) };
    if (env_real_layout(c)) {
        uint32_t ip = ((uint32_t)f->fcs << 4) + f->fip, dp = ((uint32_t)f->fds << 4) + f->fdp;
        field[3] = ip & 0xFFFF;
        field[4] = (((ip >> 16) & hi_mask) << 12) | fop;
        field[5] = dp & 0xFFFF;
        field[6] = ((dp >> 16) & hi_mask) << 12;
    } else {
        field[3] = f->fip;
        field[4] = f->fcs | (step == 4 ? fop << 16 : 0);
        field[5] = f->fdp;
        field[6] = f->fds;
    }
    /* fields whose 32-bit slot has a reserved upper half */
    unsigned reserved_upper = env_real_layout(c) ? 0x2F : 0x47;
    for (int k = 0; k < 7; k++)
        put_field(b + step * k, field[k] | (((reserved_upper >> k) & 1) ? 0xFFFF0000u : 0), step);
    return 7 * step;
}

/* Loads an environment image (FLDENV, FRSTOR): everything but registers. */
static void env_load(struct cpu *c, const struct insn *i, const uint8_t *b)
{
    struct fpu *f = &c->fpu;
    int step = (i->flags & I_OP32) ? 4 : 2;
    uint32_t hi_mask = step == 4 ? 0xFFFF : 0xF;
    uint32_t field[7];
    for (int k = 0; k < 7; k++) field[k] = get_field(b + step * k, step);
    f->cw = fpu_cw_value(field[0]);
    f->sw = (uint16_t)field[1];
    f->full = 0;
    for (int r = 0; r < 8; r++)
        if (((field[2] >> (2 * r)) & 3) != 3) f->full |= (uint8_t)(1u << r);
    if (env_real_layout(c)) {
        f->fip = (field[3] & 0xFFFF) | (((field[4] >> 12) & hi_mask) << 16);
        f->fop = field[4] & 0x7FF;
        f->fdp = (field[5] & 0xFFFF) | (((field[6] >> 12) & hi_mask) << 16);
        f->fcs = f->fds = 0;
    } else {
        f->fip = field[3];
        f->fcs = (uint16_t)field[4];
        f->fop = step == 4 ? (field[4] >> 16) & 0x7FF : f->fop;
        f->fdp = field[5];
        f->fds = (uint16_t)field[6];
    }
    fpu_update_es(c);
}

void fpu_op_fnstenv(struct cpu *c, const struct insn *i)
{
    uint8_t b[28];
    fpu_mem_write(c, i, 0, b, env_image(c, i, b));
    c->fpu.cw |= FCW_MASKS;
}

void fpu_op_fldenv(struct cpu *c, const struct insn *i)
{
    uint8_t b[28];
    fpu_mem_read(c, i, 0, b, env_bytes(i));
    env_load(c, i, b);
}

static void f80_put(uint8_t *p, const struct f80 *v)
{
    memcpy(p, &v->mant, 8);
    memcpy(p + 8, &v->sexp, 2);
}
static void f80_get(struct f80 *v, const uint8_t *p)
{
    memcpy(&v->mant, p, 8);
    memcpy(&v->sexp, p + 8, 2);
}

void fpu_op_fnsave(struct cpu *c, const struct insn *i)
{
    uint8_t b[28 + 80];
    int n = env_image(c, i, b);
    for (int k = 0; k < 8; k++) f80_put(b + n + 10 * k, st_ref(&c->fpu, k));
    fpu_mem_write(c, i, 0, b, n + 80);
    fpu_init(c);
}

void fpu_op_frstor(struct cpu *c, const struct insn *i)
{
    uint8_t b[28 + 80];
    int n = env_bytes(i);
    fpu_mem_read(c, i, 0, b, n + 80);
    env_load(c, i, b);
    for (int k = 0; k < 8; k++) f80_get(st_ref(&c->fpu, k), b + n + 10 * k);
}

/* ---- FXSAVE / FXRSTOR ---- */

static void fx_check(struct cpu *c, const struct insn *i)
{
    if (c->cr[0] & (CR0_EM | CR0_TS)) cpu_raise(c, EXC_NM, EXC_NOERR);
    if ((c->seg[i->seg].base + insn_ea(c, i)) & 15) cpu_gp(c, 0);
}

void fpu_op_fxsave(struct cpu *c, const struct insn *i)
{
    const struct fpu *f = &c->fpu;
    uint8_t b[FX_BYTES] = {0};
    fx_check(c, i);
    put16(b, f->cw);
    put16(b + 2, f->sw);
    b[4] = f->full;
    put16(b + 6, f->fop & 0x7FF);
    put32(b + 8, f->fip);
    put16(b + 12, f->fcs);
    put32(b + 16, f->fdp);
    put16(b + 20, f->fds);
    put32(b + 24, MXCSR_DEFAULT);
    put32(b + 28, MXCSR_MASK);
    for (int k = 0; k < 8; k++) f80_put(b + 32 + 16 * k, &f->st[(fpu_top(f) + k) & 7]);
    fpu_mem_write(c, i, 0, b, FX_BYTES);
}

void fpu_op_fxrstor(struct cpu *c, const struct insn *i)
{
    struct fpu *f = &c->fpu;
    uint8_t b[160];
    fx_check(c, i);
    fpu_mem_read(c, i, 0, b, sizeof b);
    if (get32(b + 24) & ~(uint32_t)MXCSR_MASK) cpu_gp(c, 0);
    f->cw = fpu_cw_value(get16(b));
    f->sw = get16(b + 2);
    f->full = b[4];
    f->fop = get16(b + 6) & 0x7FF;
    f->fip = get32(b + 8);
    f->fcs = get16(b + 12);
    f->fdp = get32(b + 16);
    f->fds = get16(b + 20);
    for (int k = 0; k < 8; k++) f80_get(&f->st[(fpu_top(f) + k) & 7], b + 32 + 16 * k);
    fpu_update_es(c);
}
