/* msr.c — the model-specific registers of the emulated Pentium II.
 *
 * Promises: RDMSR/WRMSR see exactly the MSRs that CPUID promises: the TSC
 * (virtual nanoseconds at 1 GHz; a write sets the low 32 bits and clears the
 * high ones, as on the P6), SYSENTER_CS/ESP/EIP (32 bits; the high half reads
 * 0 and writes to it are ignored), PAT, the MTRRs (MTRRcap: 8 variable ranges,
 * fixed ranges, write-combining) and the P6 microcode signature (0x8B: reads
 * revision 0). Everything else raises #GP(0): notably IA32_APIC_BASE, since
 * CPUID reports no local APIC, and MISC_ENABLE, which the P6 family lacks.
 * Writes that set reserved bits or name undefined memory types raise #GP(0).
 * PAT and the MTRRs are stored and read back only: no caches are modelled.
 */
#include "internal.h"

enum {
    PHYS_ADDR_BITS = 36,            /* the P6's 36-bit bus: MTRR masks are 36 bits (SeaBIOS writes them) */
    MTRR_CAP_VCNT = 8,
    MTRR_CAP_FIX = 1u << 8,
    MTRR_CAP_WC = 1u << 10,
    MTRR_DEF_FE = 1u << 10,
    MTRR_DEF_E = 1u << 11,
    MTRR_MASK_VALID = 1u << 11,
};
#define PAT_RESET_VALUE 0x0007040600070406ull
#define PHYS_PAGE_BITS ((((uint64_t)1 << PHYS_ADDR_BITS) - 1) & ~0xFFFull)

/* Memory types: UC 0, WC 1, WT 4, WP 5, WB 6; PAT adds UC- 7. */
#define MTRR_TYPES 0x73u
#define PAT_TYPES 0xF3u

static bool type_ok(uint64_t type, unsigned allowed) { return type < 8 && ((allowed >> type) & 1); }

/* Every byte of v holds a memory type of `allowed` (fixed MTRRs, PAT). */
static bool all_bytes_typed(uint64_t v, unsigned allowed)
{
    for (int k = 0; k < 8; k++)
        if (!type_ok((v >> (8 * k)) & 0xFF, allowed)) return false;
    return true;
}

uint64_t msr_tsc(struct cpu *c) { return c->bus.now_ns(c->bus.ctx) + c->msr.tsc_offset; }

/* ---- one handler pair per kind of MSR; `n` is the index within its row ---- */

static uint64_t read_tsc(struct cpu *c, uint32_t n) { (void)n; return msr_tsc(c); }
static bool write_tsc(struct cpu *c, uint32_t n, uint64_t v)
{
    (void)n;
    c->msr.tsc_offset = (uint32_t)v - c->bus.now_ns(c->bus.ctx);
    return true;
}

static uint64_t read_zero(struct cpu *c, uint32_t n) { (void)c; (void)n; return 0; }
static bool write_ignored(struct cpu *c, uint32_t n, uint64_t v) { (void)c; (void)n; (void)v; return true; }
static bool write_refused(struct cpu *c, uint32_t n, uint64_t v) { (void)c; (void)n; (void)v; return false; }

static uint64_t read_mtrr_cap(struct cpu *c, uint32_t n)
{
    (void)c; (void)n;
    return MTRR_CAP_VCNT | MTRR_CAP_FIX | MTRR_CAP_WC;
}

static uint32_t *sysenter_reg(struct cpu *c, uint32_t n)
{
    uint32_t *regs[3] = { &c->msr.sysenter_cs, &c->msr.sysenter_esp, &c->msr.sysenter_eip };
    return regs[n];
}
static uint64_t read_sysenter(struct cpu *c, uint32_t n) { return *sysenter_reg(c, n); }
static bool write_sysenter(struct cpu *c, uint32_t n, uint64_t v)
{
    *sysenter_reg(c, n) = (uint32_t)v;
    return true;
}

static uint64_t read_pat(struct cpu *c, uint32_t n) { (void)n; return c->msr.pat; }
static bool write_pat(struct cpu *c, uint32_t n, uint64_t v)
{
    (void)n;
    if (!all_bytes_typed(v, PAT_TYPES)) return false;
    c->msr.pat = v;
    return true;
}

static uint64_t read_mtrr_def(struct cpu *c, uint32_t n) { (void)n; return c->msr.mtrr_def_type; }
static bool write_mtrr_def(struct cpu *c, uint32_t n, uint64_t v)
{
    (void)n;
    if ((v & ~(uint64_t)(0xFF | MTRR_DEF_FE | MTRR_DEF_E)) || !type_ok(v & 0xFF, MTRR_TYPES)) return false;
    c->msr.mtrr_def_type = v;
    return true;
}

static uint64_t read_mtrr_fixed(struct cpu *c, uint32_t n) { return c->msr.mtrr_fixed[n]; }
static bool write_mtrr_fixed(struct cpu *c, uint32_t n, uint64_t v)
{
    if (!all_bytes_typed(v, MTRR_TYPES)) return false;
    c->msr.mtrr_fixed[n] = v;
    return true;
}

/* Variable ranges: even n is PHYSBASE (type, base), odd n PHYSMASK (valid, mask). */
static uint64_t read_mtrr_var(struct cpu *c, uint32_t n) { return c->msr.mtrr_var[n]; }
static bool write_mtrr_var(struct cpu *c, uint32_t n, uint64_t v)
{
    bool is_mask = n & 1;
    uint64_t defined = PHYS_PAGE_BITS | (is_mask ? MTRR_MASK_VALID : 0xFF);
    if ((v & ~defined) || (!is_mask && !type_ok(v & 0xFF, MTRR_TYPES))) return false;
    c->msr.mtrr_var[n] = v;
    return true;
}

/* ---- the MSR map ---- */

struct msr_row {
    uint32_t first, count;
    uint32_t slot;      /* index handed to the handlers for `first` */
    uint64_t (*read)(struct cpu *c, uint32_t n);
    bool (*write)(struct cpu *c, uint32_t n, uint64_t v);
};

static const struct msr_row msr_map[] = {
    { 0x010, 1, 0, read_tsc, write_tsc },                 /* IA32_TIME_STAMP_COUNTER */
    { 0x08B, 1, 0, read_zero, write_ignored },            /* IA32_BIOS_SIGN_ID */
    { 0x0FE, 1, 0, read_mtrr_cap, write_refused },        /* IA32_MTRRCAP */
    { 0x174, 3, 0, read_sysenter, write_sysenter },       /* IA32_SYSENTER_CS/ESP/EIP */
    { 0x200, 2 * MTRR_CAP_VCNT, 0, read_mtrr_var, write_mtrr_var },
    { 0x250, 1, 0, read_mtrr_fixed, write_mtrr_fixed },   /* FIX64K_00000 */
    { 0x258, 2, 1, read_mtrr_fixed, write_mtrr_fixed },   /* FIX16K_80000, _A0000 */
    { 0x268, 8, 3, read_mtrr_fixed, write_mtrr_fixed },   /* FIX4K_C0000 .. _F8000 */
    { 0x277, 1, 0, read_pat, write_pat },                 /* IA32_PAT */
    { 0x2FF, 1, 0, read_mtrr_def, write_mtrr_def },       /* IA32_MTRR_DEF_TYPE */
};

static const struct msr_row *msr_find(uint32_t msr, uint32_t *n)
{
    for (size_t k = 0; k < sizeof msr_map / sizeof msr_map[0]; k++) {
        const struct msr_row *row = &msr_map[k];
        if (msr - row->first < row->count) {
            *n = row->slot + (msr - row->first);
            return row;
        }
    }
    return NULL;
}

bool msr_read(struct cpu *c, uint32_t msr, uint64_t *value)
{
    uint32_t n;
    const struct msr_row *row = msr_find(msr, &n);
    if (!row) return false;
    *value = row->read(c, n);
    return true;
}

bool msr_write(struct cpu *c, uint32_t msr, uint64_t value)
{
    uint32_t n;
    const struct msr_row *row = msr_find(msr, &n);
    return row && row->write(c, n, value);
}

/* RESET: PAT to its architectural default, MTRRs disabled and cleared,
 * SYSENTER MSRs zero. The TSC keeps counting virtual time. */
void msr_reset(struct cpu *c)
{
    uint64_t tsc_offset = c->msr.tsc_offset;
    memset(&c->msr, 0, sizeof c->msr);
    c->msr.tsc_offset = tsc_offset;
    c->msr.pat = PAT_RESET_VALUE;
}
