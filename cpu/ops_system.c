/* ops_system.c — system instructions: descriptor-table registers, LDTR/TR,
 * access checks on selectors, control and debug registers, CPUID, the TSC,
 * model-specific registers (msr.c holds them) and SYSENTER/SYSEXIT.
 *
 * Promises: privileged instructions raise #GP(0) at CPL > 0 (V86 included),
 * protected-mode-only ones raise #UD in real and V86 mode, unknown control,
 * debug or model-specific registers raise #UD/#GP as hardware does. CR4 takes
 * only the bits of features present (TSD, PSE, PGE, OSFXSR); CR3 writes keep
 * global pages, CR0.PG/WP and CR4.PSE/PGE changes flush the whole TLB. Debug
 * registers are stored (no breakpoints fire yet); DR4/DR5 alias DR6/DR7 (no
 * CR4.DE) and DR7.GD turns the next MOV DR into #DB. CPUID describes a
 * Pentium II (GenuineIntel, family 6 model 3) and advertises only features
 * the core implements. The TSC runs at 1 GHz of virtual time.
 */
#include "descriptor.h"

#define SIZED_HANDLERS(name)                                                   \
    static void name##16(struct cpu *c, const struct insn *i) { name(c, i, 2); } \
    static void name##32(struct cpu *c, const struct insn *i) { name(c, i, 4); }

enum {
    /* CR4 bits of the features present; PAE, VME/PVI, DE, MCE, PCE and
     * OSXMMEXCPT come with their features. */
    CR4_SUPPORTED = CR4_TSD | CR4_PSE | CR4_PGE | CR4_OSFXSR,
    /* CR4 bits that change how linear addresses translate: a change flushes
     * every TLB entry, global ones included. */
    CR4_PAGING = CR4_PSE | CR4_PGE | CR4_PAE,
};

static inline void require_cpl0(struct cpu *c)
{
    if (c->cpl != 0)
        cpu_gp(c, 0);
}

static inline void require_protected(struct cpu *c)
{
    if (!c->pe || c->vm86)
        cpu_ud(c);
}

/* Offset `n` bytes past the memory operand, wrapped by the address size. */
static inline uint32_t ea_plus(const struct cpu *c, const struct insn *i, uint32_t n)
{
    uint32_t ea = insn_ea(c, i) + n;
    return (i->flags & I_ADDR32) ? ea : (ea & 0xFFFF);
}

/* Stores a selector or machine-status word: registers take the operand
 * size (zero-extended), memory always takes 16 bits. */
static void store_word(struct cpu *c, const struct insn *i, uint32_t v, int size)
{
    rm_write(c, i, v, (i->flags & I_MEM) ? 2 : size);
}

/* ---- 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW ---- */

static void sldt(struct cpu *c, const struct insn *i, int size)
{
    require_protected(c);
    store_word(c, i, c->seg[S_LDTR].sel, size);
}
SIZED_HANDLERS(sldt)

static void str(struct cpu *c, const struct insn *i, int size)
{
    require_protected(c);
    store_word(c, i, c->seg[S_TR].sel, size);
}
SIZED_HANDLERS(str)

/* Reads a GDT system descriptor of one of the wanted types for LLDT/LTR. */
static void fetch_system_desc(struct cpu *c, uint16_t sel, int type_a, int type_b, struct desc *d)
{
    if ((sel & 4) || !desc_read(c, sel, d))
        cpu_gp(c, sel_err(sel, 0));
    int type = attr_sys_type(desc_attr(d));
    if (type != type_a && type != type_b)
        cpu_gp(c, sel_err(sel, 0));
    desc_require_present(c, d, EXC_NP, sel_err(sel, 0));
}

static void lldt(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    if (sel_is_null(sel)) {
        seg_set_null(c, S_LDTR, sel);
        return;
    }
    struct desc d;
    fetch_system_desc(c, sel, SYS_LDT, SYS_LDT, &d);
    seg_set_from_desc(c, S_LDTR, sel, &d);
}

static void ltr(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    if (sel_is_null(sel))
        cpu_gp(c, 0);
    struct desc d;
    fetch_system_desc(c, sel, SYS_TSS16, SYS_TSS32, &d);
    d.hi |= 2u << 8;                                   /* busy */
    sys_write(c, d.addr + 5, (d.hi >> 8) & 0xFF, 1);
    seg_set_from_desc(c, S_TR, sel, &d);
}

/* Whether a code/data segment passes the privilege rule of VERR/VERW/LAR/LSL:
 * conforming code is always visible, anything else needs DPL >= max(CPL, RPL). */
static bool visible_at_cpl(const struct cpu *c, uint16_t sel, uint16_t attr)
{
    if (attr_is_conforming(attr))
        return true;
    int dpl = attr_dpl(attr);
    return dpl >= c->cpl && dpl >= sel_rpl(sel);
}

static void verify(struct cpu *c, const struct insn *i, bool write)
{
    require_protected(c);
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    struct desc d;
    bool ok = !sel_is_null(sel) && desc_read(c, sel, &d);
    if (ok) {
        uint16_t attr = desc_attr(&d);
        bool allowed = write ? attr_writable(attr) : attr_readable(attr);
        ok = (attr & ATTR_S) && allowed && visible_at_cpl(c, sel, attr);
    }
    flags_set(c, F_ZF, ok ? F_ZF : 0);
}

static void verr(struct cpu *c, const struct insn *i) { verify(c, i, false); }
static void verw(struct cpu *c, const struct insn *i) { verify(c, i, true); }

/* ---- LAR, LSL ---- */

/* System types LAR reports (LSL: those with a limit, i.e. no gates). */
static bool lar_type_ok(int type, bool want_limit)
{
    switch (type) {
    case SYS_TSS16: case SYS_LDT: case SYS_TSS16_BUSY: case SYS_TSS32: case SYS_TSS32_BUSY:
        return true;
    case SYS_CALL_GATE16: case SYS_TASK_GATE: case SYS_CALL_GATE32:
        return !want_limit;
    default:
        return false;
    }
}

/* Looks up the selector for LAR/LSL; false (ZF=0) when it may not be seen. */
static bool probe_selector(struct cpu *c, uint16_t sel, bool want_limit, struct desc *d)
{
    if (sel_is_null(sel) || !desc_read(c, sel, d))
        return false;
    uint16_t attr = desc_attr(d);
    if (!(attr & ATTR_S) && !lar_type_ok(attr_sys_type(attr), want_limit))
        return false;
    /* system descriptors follow the same DPL rule as non-conforming segments */
    return visible_at_cpl(c, sel, attr);
}

static void lar_lsl(struct cpu *c, const struct insn *i, int size, bool want_limit)
{
    require_protected(c);
    uint16_t sel = (uint16_t)rm_read(c, i, 2);
    struct desc d;
    bool ok = probe_selector(c, sel, want_limit, &d);
    if (ok)
        reg_write(c, i->reg, want_limit ? desc_limit(&d) : d.hi & 0x00FFFF00u, size);
    flags_set(c, F_ZF, ok ? F_ZF : 0);
}

static void lar(struct cpu *c, const struct insn *i, int size) { lar_lsl(c, i, size, false); }
SIZED_HANDLERS(lar)

static void lsl(struct cpu *c, const struct insn *i, int size) { lar_lsl(c, i, size, true); }
SIZED_HANDLERS(lsl)

/* ---- 0F 01: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG ---- */

static void store_table_reg(struct cpu *c, const struct insn *i, uint32_t base, uint16_t limit)
{
    seg_write(c, i->seg, insn_ea(c, i), limit, 2);
    seg_write(c, i->seg, ea_plus(c, i, 2), base, 4);
}

static void sgdt(struct cpu *c, const struct insn *i) { store_table_reg(c, i, c->gdtr.base, c->gdtr.limit); }
static void sidt(struct cpu *c, const struct insn *i) { store_table_reg(c, i, c->idtr.base, c->idtr.limit); }

/* LGDT/LIDT operand: 16-bit limit, then a 24-bit (16-bit operand size) or
 * 32-bit base. */
static void load_table_reg(struct cpu *c, const struct insn *i, int size, uint32_t *base, uint16_t *limit)
{
    require_cpl0(c);
    uint16_t new_limit = (uint16_t)seg_read(c, i->seg, insn_ea(c, i), 2);
    uint32_t new_base = seg_read(c, i->seg, ea_plus(c, i, 2), 4);
    *base = size == 2 ? new_base & 0xFFFFFF : new_base;
    *limit = new_limit;
}

static void lgdt(struct cpu *c, const struct insn *i, int size) { load_table_reg(c, i, size, &c->gdtr.base, &c->gdtr.limit); }
SIZED_HANDLERS(lgdt)

static void lidt(struct cpu *c, const struct insn *i, int size) { load_table_reg(c, i, size, &c->idtr.base, &c->idtr.limit); }
SIZED_HANDLERS(lidt)

static void smsw(struct cpu *c, const struct insn *i, int size) { store_word(c, i, c->cr[0], size); }
SIZED_HANDLERS(smsw)

/* Sets CR0 with the architectural checks and the mode/TLB consequences. */
static void write_cr0(struct cpu *c, uint32_t v)
{
    if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
        cpu_gp(c, 0);
    const uint32_t defined = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE |
                             CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;
    uint32_t old = c->cr[0];
    c->cr[0] = (v & defined) | CR0_ET;
    if ((old ^ c->cr[0]) & (CR0_PG | CR0_WP))
        mmu_flush_tlb(c);
    cpu_update_mode(c);
}

/* LMSW: PE, MP, EM, TS from the operand; PE can be set but not cleared. */
static void lmsw(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    uint32_t msw = rm_read(c, i, 2);
    uint32_t low4 = CR0_PE | CR0_MP | CR0_EM | CR0_TS;
    write_cr0(c, (c->cr[0] & ~(low4 & ~CR0_PE)) | (msw & low4));
}

static void invlpg(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    mmu_flush_page(c, c->seg[i->seg].base + insn_ea(c, i));
}

/* ---- control and debug registers ---- */

static void write_cr4(struct cpu *c, uint32_t v)
{
    if (v & ~(uint32_t)CR4_SUPPORTED)
        cpu_gp(c, 0);
    uint32_t old = c->cr[4];
    c->cr[4] = v;
    if ((old ^ v) & CR4_PAGING)
        mmu_flush_tlb(c);
}

static void mov_from_cr(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    if (i->reg == 1 || i->reg > 4)
        cpu_ud(c);
    c->r[i->rm] = c->cr[i->reg];
}

static void mov_to_cr(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    uint32_t v = c->r[i->rm];
    switch (i->reg) {
    case 0:
        write_cr0(c, v);
        break;
    case 2:
        c->cr[2] = v;
        break;
    case 3:
        c->cr[3] = v;
        mmu_flush_nonglobal(c);
        break;
    case 4:
        write_cr4(c, v);
        break;
    default:
        cpu_ud(c);
    }
}

enum { DR6_BD = 1u << 13, DR7_GD = 1u << 13 };

/* The checks every MOV DR makes: privilege, then general detect (DR7.GD: the
 * access faults with #DB, DR6.BD set, and GD clears for the handler). DR4 and
 * DR5 name DR6 and DR7 (CR4.DE is not offered). Returns the register index. */
static int debug_reg_access(struct cpu *c, int n)
{
    require_cpl0(c);
    if (c->dr[7] & DR7_GD) {
        c->dr[6] |= DR6_BD;
        c->dr[7] &= ~DR7_GD;
        cpu_raise(c, EXC_DB, EXC_NOERR);
    }
    return (n == 4 || n == 5) ? n + 2 : n;
}

static void mov_from_dr(struct cpu *c, const struct insn *i)
{
    c->r[i->rm] = c->dr[debug_reg_access(c, i->reg)];
}

static void mov_to_dr(struct cpu *c, const struct insn *i)
{
    int n = debug_reg_access(c, i->reg);
    uint32_t v = c->r[i->rm];
    if (n == 6)
        v = (v & 0x0000E00Fu) | 0xFFFF0FF0u;
    else if (n == 7)
        v = (v & 0xFFFF2BFFu) | 0x400u;
    c->dr[n] = v;
}

/* ---- CLTS, INVD, WBINVD, UD2 ---- */

static void clts(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    c->cr[0] &= ~CR0_TS;
}

/* INVD/WBINVD: no caches are modelled; only the privilege check remains. */
static void cache_flush(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
}

static void ud2(struct cpu *c, const struct insn *i)
{
    (void)i;
    cpu_ud(c);
}

/* ---- ARPL ---- */

static void arpl(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint16_t dest = (uint16_t)rm_read(c, i, 2);
    uint16_t src = get_r16(c, i->reg);
    bool raise = sel_rpl(dest) < sel_rpl(src);
    if (raise)
        rm_write(c, i, (dest & ~3u) | (src & 3u), 2);
    flags_set(c, F_ZF, raise ? F_ZF : 0);
}

/* ---- CPUID, RDTSC, MSRs ---- */

enum {
    CPUID_FPU = 1u << 0, CPUID_PSE = 1u << 3, CPUID_TSC = 1u << 4, CPUID_MSR = 1u << 5,
    CPUID_CX8 = 1u << 8, CPUID_SEP = 1u << 11, CPUID_MTRR = 1u << 12, CPUID_PGE = 1u << 13,
    CPUID_CMOV = 1u << 15, CPUID_PAT = 1u << 16, CPUID_FXSR = 1u << 24,
    /* Exactly what the core implements (the x87 and FXSAVE/FXRSTOR in ops_fpu.c). */
    CPUID_FEATURES = CPUID_FPU | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_SEP |
                     CPUID_MTRR | CPUID_PGE | CPUID_CMOV | CPUID_PAT | CPUID_FXSR,
    CPUID_SIGNATURE = 0x0633,   /* family 6, model 3, stepping 3: Pentium II (cpu_reset's EDX) */
    CPUID_MAX_LEAF = 2,
};

/* EAX, EBX, ECX, EDX of each basic leaf. */
static const uint32_t cpuid_leaves[CPUID_MAX_LEAF + 1][4] = {
    /* highest leaf; "Genu" "ntel" "ineI" */
    { CPUID_MAX_LEAF, 0x756E6547, 0x6C65746E, 0x49656E69 },
    /* signature; no brand index, CLFLUSH or APIC ID; no ECX features */
    { CPUID_SIGNATURE, 0, 0, CPUID_FEATURES },
    /* one round of cache and TLB descriptors, those of a Pentium II: 4 KiB
     * ITLB (01), 4 MiB ITLB (02), 4 KiB DTLB (03), 4 MiB DTLB (04), 16 KiB
     * L1 I (08) and D (0C), 512 KiB L2 (43) */
    { 0x03020101, 0, 0, 0x0C040843 },
};

static void cpuid(struct cpu *c, const struct insn *i)
{
    (void)i;
    /* Leaves above the maximum (extended ones included) report the highest
     * basic leaf, as Intel does. */
    uint32_t leaf = c->r[R_EAX] > CPUID_MAX_LEAF ? CPUID_MAX_LEAF : c->r[R_EAX];
    c->r[R_EAX] = cpuid_leaves[leaf][0];
    c->r[R_EBX] = cpuid_leaves[leaf][1];
    c->r[R_ECX] = cpuid_leaves[leaf][2];
    c->r[R_EDX] = cpuid_leaves[leaf][3];
}

static void rdtsc(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr[4] & CR4_TSD) && c->cpl != 0)
        cpu_gp(c, 0);
    uint64_t t = msr_tsc(c);
    c->r[R_EAX] = (uint32_t)t;
    c->r[R_EDX] = (uint32_t)(t >> 32);
}

static void rdmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    uint64_t v;
    if (!msr_read(c, c->r[R_ECX], &v))
        cpu_gp(c, 0);
    c->r[R_EAX] = (uint32_t)v;
    c->r[R_EDX] = (uint32_t)(v >> 32);
}

static void wrmsr(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    if (!msr_write(c, c->r[R_ECX], ((uint64_t)c->r[R_EDX] << 32) | c->r[R_EAX]))
        cpu_gp(c, 0);
}

/* ---- SYSENTER, SYSEXIT ---- */

/* Loads the flat 4 GiB code and stack segments SYSENTER/SYSEXIT imply, with
 * RPL = DPL = cpl (the GDT is not read). */
static void load_flat_cs_ss(struct cpu *c, uint16_t cs, uint16_t ss, int cpl)
{
    uint16_t dpl = (uint16_t)(cpl << 5);
    cpu_set_seg_cache(c, S_SS, ss, 0, 0xFFFFFFFFu, (uint16_t)(0xC093 | dpl));  /* RW data, B=1 */
    cpu_set_seg_cache(c, S_CS, cs, 0, 0xFFFFFFFFu, (uint16_t)(0xC09B | dpl));  /* exec/read, D=1 */
}

/* The SYSENTER_CS selector, #GP(0) outside protected mode or when it is null. */
static uint16_t sysenter_cs(struct cpu *c)
{
    uint16_t cs = (uint16_t)c->msr.sysenter_cs;
    if (!c->pe || (cs & 0xFFFC) == 0)
        cpu_gp(c, 0);
    return cs;
}

static void sysenter(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint16_t cs = sysenter_cs(c) & 0xFFFC;
    c->eflags &= ~(F_VM | F_IF | F_RF);
    load_flat_cs_ss(c, cs, (uint16_t)(cs + 8), 0);
    c->r[R_ESP] = c->msr.sysenter_esp;
    c->eip = c->msr.sysenter_eip;
}

static void sysexit(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint16_t cs = sysenter_cs(c);
    require_cpl0(c);
    load_flat_cs_ss(c, (uint16_t)((cs + 16) | 3), (uint16_t)((cs + 24) | 3), 3);
    c->r[R_ESP] = c->r[R_ECX];
    c->eip = c->r[R_EDX];
}

/* ---- opcode table ---- */

#define ROW(op, reg, dec, name) { (op), (reg), (dec), name##16, name##32 }
#define ROW1(op, reg, dec, fn) { (op), (reg), (dec), fn, fn }

const struct opdesc ops_system[] = {
    ROW(0x100, 0, D_MODRM, sldt),
    ROW(0x100, 1, D_MODRM, str),
    ROW1(0x100, 2, D_MODRM, lldt),
    ROW1(0x100, 3, D_MODRM, ltr),
    ROW1(0x100, 4, D_MODRM, verr),
    ROW1(0x100, 5, D_MODRM, verw),
    ROW1(0x101, 0, D_MODRM | D_MEMONLY, sgdt),
    ROW1(0x101, 1, D_MODRM | D_MEMONLY, sidt),
    ROW(0x101, 2, D_MODRM | D_MEMONLY, lgdt),
    ROW(0x101, 3, D_MODRM | D_MEMONLY, lidt),
    ROW(0x101, 4, D_MODRM, smsw),
    ROW1(0x101, 6, D_MODRM | D_END, lmsw),
    ROW1(0x101, 7, D_MODRM | D_MEMONLY | D_END, invlpg),
    ROW(0x102, -1, D_MODRM, lar),
    ROW(0x103, -1, D_MODRM, lsl),
    ROW1(0x106, -1, D_END, clts),
    ROW1(0x108, -1, 0, cache_flush),
    ROW1(0x109, -1, 0, cache_flush),
    ROW1(0x10B, -1, D_END, ud2),
    ROW1(0x120, -1, D_MODRM | D_REGONLY, mov_from_cr),
    ROW1(0x121, -1, D_MODRM | D_REGONLY, mov_from_dr),
    ROW1(0x122, -1, D_MODRM | D_REGONLY | D_END, mov_to_cr),
    ROW1(0x123, -1, D_MODRM | D_REGONLY, mov_to_dr),
    ROW1(0x63, -1, D_MODRM, arpl),
    ROW1(0x1A2, -1, 0, cpuid),
    ROW1(0x131, -1, 0, rdtsc),
    ROW1(0x132, -1, 0, rdmsr),
    ROW1(0x130, -1, 0, wrmsr),
    ROW1(0x134, -1, D_END, sysenter),
    ROW1(0x135, -1, D_END, sysexit),
    OPDESC_END
};
