/* test_paging.c — Check tests: paging, the TLB, control registers, MSRs,
 * SYSENTER/SYSEXIT and CPUID of the plan86 CPU.
 *
 * Guests run on the flat protected-mode board (tests/difftest/pm_guest.h).
 * Page tables identity-map the first 4 MiB (supervisor pages, except the user
 * code and stack pages); linear DATA_LIN (4 MiB up) maps through a second page
 * table to DATA_PHYS, and LARGE_LIN is a 4 MiB page. Covered: 4 KiB and 4 MiB
 * walks with the exact accessed/dirty bits, #PF error codes and CR2 for
 * user/supervisor/CR0.WP cases, reserved bits in a 4 MiB PDE, INVLPG of 4 KiB
 * and 4 MiB mappings, CR3 reloads keeping global pages and a CR4.PGE toggle
 * flushing them, SYSENTER/SYSEXIT, RDMSR/WRMSR (reserved bits, unknown MSRs),
 * CPUID, CR4 reserved bits, RDTSC with CR4.TSD and DR7.GD.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "cpu/internal.h"
#include "pm_guest.h"

enum {
    RAM = 16u << 20,
    CODE = 0x10000, SETUP_CODE = 0x11000, KENTRY = 0x12000, KSTACK = 0x30000,
    PD = 0x20000, PT0 = 0x21000, PT1 = 0x22000,
    USER_CODE = 0x40000, USER_STACK = 0x48000,
    DATA_LIN = 0x400000, DATA_PHYS = 0x50000, DATA2_PHYS = 0x60000,
    LARGE_LIN = 0xC00000, LARGE_PHYS = 0x800000, LARGE2_PHYS = 0x400000,
};
enum { P = 1, W = 2, U = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100 };
enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

/* ---- a tiny assembler ---- */

struct code {
    uint8_t b[512];
    uint32_t n;
};

static void bytes(struct code *c, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int k = 0; k < count; k++) c->b[c->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}
static void d32(struct code *c, uint32_t v)
{
    for (int k = 0; k < 4; k++) c->b[c->n++] = (uint8_t)(v >> (8 * k));
}
static void mov_imm(struct code *c, int reg, uint32_t v) { bytes(c, 1, 0xB8 + reg); d32(c, v); }
static void load(struct code *c, int reg, uint32_t addr) { bytes(c, 2, 0x8B, 0x05 | reg << 3); d32(c, addr); }
static void store(struct code *c, uint32_t addr, int reg) { bytes(c, 2, 0x89, 0x05 | reg << 3); d32(c, addr); }
static void store_imm(struct code *c, uint32_t addr, uint32_t v) { bytes(c, 2, 0xC7, 0x05); d32(c, addr); d32(c, v); }
static void mov_to_cr(struct code *c, int cr) { bytes(c, 3, 0x0F, 0x22, 0xC0 | cr << 3); }   /* mov crN, eax */
static void mov_from_cr(struct code *c, int cr) { bytes(c, 3, 0x0F, 0x20, 0xC0 | cr << 3); } /* mov eax, crN */
static void invlpg(struct code *c, uint32_t addr) { bytes(c, 3, 0x0F, 0x01, 0x3D); d32(c, addr); }
static void hlt(struct code *c) { bytes(c, 1, 0xF4); }
static uint32_t here(const struct code *c, uint32_t at) { return at + c->n; }

/* ---- the board with page tables ---- */

struct vm {
    struct pmg *g;
    struct cpu *c;
    uint8_t *ram;
    struct pmg_exit ex;
};

static void poke32(struct vm *v, uint32_t addr, uint32_t val) { pmg_write(v->g, addr, &val, 4); }
static uint32_t peek32(const struct vm *v, uint32_t addr)
{
    uint32_t val;
    memcpy(&val, v->ram + addr, 4);
    return val;
}
static uint32_t pde_addr(uint32_t lin) { return PD + (lin >> 22) * 4; }
static uint32_t pte_addr(uint32_t lin) { return PT1 + ((lin >> 12) & 0x3FF) * 4; }  /* DATA_LIN's table */
static uint32_t reg(const struct vm *v, int r) { return cpu_get_reg(v->c, (enum cpu_reg)r); }

static struct vm vm_new(void)
{
    struct vm v = { .g = pmg_new(RAM) };
    ck_assert_ptr_nonnull(v.g);
    v.c = pmg_cpu(v.g);
    v.ram = pmg_ram(v.g);
    poke32(&v, PD, PT0 | P | W | U);
    for (uint32_t k = 0; k < 1024; k++) poke32(&v, PT0 + k * 4, (k << 12) | P | W);
    poke32(&v, PT0 + (USER_CODE >> 12) * 4, USER_CODE | P | W | U);
    poke32(&v, PT0 + ((USER_STACK - 0x1000) >> 12) * 4, (USER_STACK - 0x1000) | P | W | U);
    poke32(&v, pde_addr(DATA_LIN), PT1 | P | W | U);
    for (uint32_t k = 0; k < 16; k++) poke32(&v, PT1 + k * 4, (DATA_PHYS + (k << 12)) | P | W | U);
    return v;
}

static void run_at(struct vm *v, int cpl, uint32_t at, const struct code *c)
{
    pmg_write(v->g, at, c->b, c->n);
    pmg_enter(v->g, cpl, at, cpl ? USER_STACK : KSTACK, 0x2);
    ck_assert_int_eq(pmg_run(v->g, 100000, &v->ex), 0);
}

/* Runs ring-0 code that must end at its own HLT. */
static void run0(struct vm *v, const struct code *c)
{
    run_at(v, 0, CODE, c);
    ck_assert_int_eq(v->ex.vector, -1);
}

/* CR3 = PD, CR4 = cr4, CR0 |= PG | cr0_bits, by guest instructions. */
static void paging_on(struct vm *v, uint32_t cr4, uint32_t cr0_bits)
{
    struct code c = { .n = 0 };
    mov_imm(&c, EAX, PD);
    mov_to_cr(&c, 3);
    mov_imm(&c, EAX, cr4);
    mov_to_cr(&c, 4);
    mov_from_cr(&c, 0);
    bytes(&c, 1, 0x0D);                  /* or eax, imm32 */
    d32(&c, CR0_PG | cr0_bits);
    mov_to_cr(&c, 0);
    hlt(&c);
    run_at(v, 0, SETUP_CODE, &c);
    ck_assert_int_eq(v->ex.vector, -1);
}

static void expect_fault(const struct vm *v, int vector, uint32_t err, uint32_t eip)
{
    ck_assert_int_eq(v->ex.vector, vector);
    ck_assert_uint_eq(v->ex.err, err);
    ck_assert_uint_eq(v->ex.eip, eip);
}

/* ---- page walks and accessed/dirty bits ---- */

START_TEST(walk_4k_accessed_then_dirty)
{
    struct vm v = vm_new();
    poke32(&v, DATA_PHYS + 0x10, 0x11223344);
    paging_on(&v, 0, 0);
    struct code c = { .n = 0 };
    load(&c, EBX, DATA_LIN + 0x10);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(reg(&v, EBX), 0x11223344);
    ck_assert_uint_eq(peek32(&v, pde_addr(DATA_LIN)), PT1 | P | W | U | A);
    ck_assert_uint_eq(peek32(&v, pte_addr(DATA_LIN)), DATA_PHYS | P | W | U | A);
    /* the read filled the TLB; the first write must still set D */
    c.n = 0;
    store_imm(&c, DATA_LIN + 0x10, 0x55667788);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(peek32(&v, DATA_PHYS + 0x10), 0x55667788);
    ck_assert_uint_eq(peek32(&v, pde_addr(DATA_LIN)), PT1 | P | W | U | A);
    ck_assert_uint_eq(peek32(&v, pte_addr(DATA_LIN)), DATA_PHYS | P | W | U | A | D);
    /* a page never touched keeps A and D clear */
    ck_assert_uint_eq(peek32(&v, pte_addr(DATA_LIN + 0x1000)), (DATA_PHYS + 0x1000) | P | W | U);
    pmg_free(v.g);
}
END_TEST

START_TEST(walk_4m_accessed_then_dirty)
{
    struct vm v = vm_new();
    poke32(&v, pde_addr(LARGE_LIN), LARGE_PHYS | P | W | PS);
    poke32(&v, LARGE_PHYS + 0x1234, 0xCAFEF00D);
    paging_on(&v, CR4_PSE, 0);
    struct code c = { .n = 0 };
    load(&c, EBX, LARGE_LIN + 0x1234);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(reg(&v, EBX), 0xCAFEF00D);
    ck_assert_uint_eq(peek32(&v, pde_addr(LARGE_LIN)), LARGE_PHYS | P | W | PS | A);
    c.n = 0;
    store_imm(&c, LARGE_LIN + 0x3FFFFC, 0x12345678);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(peek32(&v, LARGE_PHYS + 0x3FFFFC), 0x12345678);
    ck_assert_uint_eq(peek32(&v, pde_addr(LARGE_LIN)), LARGE_PHYS | P | W | PS | A | D);
    pmg_free(v.g);
}
END_TEST

/* Without CR4.PSE the PS bit is ignored: the PDE names a page table (here
 * all zero, so the PTE is not present). */
START_TEST(ps_ignored_without_pse)
{
    struct vm v = vm_new();
    poke32(&v, pde_addr(LARGE_LIN), LARGE_PHYS | P | W | PS);
    paging_on(&v, 0, 0);
    struct code c = { .n = 0 };
    load(&c, EBX, LARGE_LIN + 0x1234);
    hlt(&c);
    run_at(&v, 0, CODE, &c);
    expect_fault(&v, EXC_PF, 0, CODE);
    ck_assert_uint_eq(cpu_get_cr(v.c, 2), LARGE_LIN + 0x1234);
    pmg_free(v.g);
}
END_TEST

/* Bits 13..21 of a 4 MiB PDE are reserved (no PSE-36): #PF with P and RSVD. */
START_TEST(large_pde_reserved_bits)
{
    struct vm v = vm_new();
    poke32(&v, pde_addr(LARGE_LIN), LARGE_PHYS | (1u << 13) | P | W | PS);
    paging_on(&v, CR4_PSE, 0);
    struct code c = { .n = 0 };
    store_imm(&c, LARGE_LIN + 8, 1);
    hlt(&c);
    run_at(&v, 0, CODE, &c);
    expect_fault(&v, EXC_PF, 0x8 | 0x2 | 0x1, CODE);
    ck_assert_uint_eq(cpu_get_cr(v.c, 2), LARGE_LIN + 8);
    ck_assert_uint_eq(peek32(&v, pde_addr(LARGE_LIN)), LARGE_PHYS | (1u << 13) | P | W | PS);
    pmg_free(v.g);
}
END_TEST

/* ---- #PF error codes and CR2 ---- */

struct pf_case {
    int cpl;
    bool write;
    uint32_t pde_flags, pte_flags;
    uint32_t cr0_wp;
    int err;              /* expected #PF error code, -1: no fault */
};

static const struct pf_case pf_cases[] = {
    { 0, false, P | W | U, 0, 0, 0 },                   /* not present, supervisor read */
    { 0, true, P | W | U, 0, 0, 2 },                    /* not present, supervisor write */
    { 3, false, P | W | U, 0, 0, 4 },                   /* not present, user read */
    { 3, true, P | W | U, 0, 0, 6 },                    /* not present, user write */
    { 3, false, 0, P | W | U, 0, 4 },                   /* PDE not present */
    { 3, false, P | W | U, P | W, 0, 5 },               /* user read of a supervisor page */
    { 3, false, P | W, P | W | U, 0, 5 },               /* ... supervisor by its PDE */
    { 3, true, P | W | U, P | U, 0, 7 },                /* user write to a read-only page */
    { 3, true, P | U, P | W | U, 0, 7 },                /* ... read-only by its PDE */
    { 3, true, P | W | U, P | W | U, 0, -1 },           /* user write allowed */
    { 0, true, P | W | U, P | U, 0, -1 },               /* supervisor write, WP=0: allowed */
    { 0, true, P | U, P | W, 0, -1 },                   /* ... read-only PDE, WP=0 */
    { 0, true, P | W | U, P | U, CR0_WP, 3 },           /* supervisor write, WP=1 */
    { 0, true, P | W | U, P, CR0_WP, 3 },               /* ... supervisor read-only page */
    { 0, true, P | W, P | W, CR0_WP, -1 },              /* WP=1, writable: allowed */
    { 0, false, P | W | U, P, CR0_WP, -1 },             /* reads are never write-protected */
};

START_TEST(page_fault_error_codes)
{
    const struct pf_case *t = &pf_cases[_i];
    struct vm v = vm_new();
    uint32_t lin = DATA_LIN + 0x2010, pte = (DATA_PHYS + 0x2000) | t->pte_flags;
    poke32(&v, pde_addr(lin), PT1 | t->pde_flags);
    poke32(&v, pte_addr(lin), pte);
    paging_on(&v, 0, t->cr0_wp);
    uint32_t at = t->cpl ? USER_CODE : CODE;
    struct code c = { .n = 0 };
    if (t->write) store(&c, lin, EAX);
    else load(&c, EAX, lin);
    uint32_t next = here(&c, at);
    hlt(&c);
    run_at(&v, t->cpl, at, &c);
    if (t->err < 0) {
        /* HLT ends a ring-0 guest; at ring 3 it raises #GP(0) */
        ck_assert_int_eq(v.ex.vector, t->cpl ? EXC_GP : -1);
        if (t->cpl) ck_assert_uint_eq(v.ex.eip, next);
        ck_assert_uint_eq(peek32(&v, pte_addr(lin)), pte | A | (t->write ? D : 0));
    } else {
        expect_fault(&v, EXC_PF, (uint32_t)t->err, at);
        ck_assert_uint_eq(cpu_get_cr(v.c, 2), lin);
        ck_assert_uint_eq(peek32(&v, pte_addr(lin)), pte);     /* no A/D on a fault */
    }
    pmg_free(v.g);
}
END_TEST

/* ---- TLB invalidation ---- */

/* A changed PTE takes effect after INVLPG (the TLB held the old one). */
START_TEST(invlpg_4k)
{
    struct vm v = vm_new();
    poke32(&v, DATA_PHYS, 0xAAAA0001);
    poke32(&v, DATA2_PHYS, 0xBBBB0002);
    paging_on(&v, 0, 0);
    struct code c = { .n = 0 };
    load(&c, EAX, DATA_LIN);
    store_imm(&c, pte_addr(DATA_LIN), DATA2_PHYS | P | W | U);
    load(&c, EBX, DATA_LIN);
    invlpg(&c, DATA_LIN + 0x123);
    load(&c, ECX, DATA_LIN);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(reg(&v, EAX), 0xAAAA0001);
    ck_assert_uint_eq(reg(&v, EBX), 0xAAAA0001);
    ck_assert_uint_eq(reg(&v, ECX), 0xBBBB0002);
    pmg_free(v.g);
}
END_TEST

/* INVLPG of any address in a 4 MiB page drops every 4 KiB piece of it. */
START_TEST(invlpg_4m)
{
    struct vm v = vm_new();
    poke32(&v, pde_addr(LARGE_LIN), LARGE_PHYS | P | W | PS);
    poke32(&v, LARGE_PHYS + 0x1000, 0xA1);
    poke32(&v, LARGE_PHYS + 0x5000, 0xA2);
    poke32(&v, LARGE2_PHYS + 0x1000, 0xB1);
    poke32(&v, LARGE2_PHYS + 0x5000, 0xB2);
    paging_on(&v, CR4_PSE, 0);
    struct code c = { .n = 0 };
    load(&c, EAX, LARGE_LIN + 0x1000);
    load(&c, EBX, LARGE_LIN + 0x5000);
    store_imm(&c, pde_addr(LARGE_LIN), LARGE2_PHYS | P | W | PS);
    invlpg(&c, LARGE_LIN + 0x3000);
    load(&c, ECX, LARGE_LIN + 0x1000);
    load(&c, EDX, LARGE_LIN + 0x5000);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(reg(&v, EAX), 0xA1);
    ck_assert_uint_eq(reg(&v, EBX), 0xA2);
    ck_assert_uint_eq(reg(&v, ECX), 0xB1);
    ck_assert_uint_eq(reg(&v, EDX), 0xB2);
    pmg_free(v.g);
}
END_TEST

/* Two pages, X global and Y not, both remapped in memory: a CR3 reload
 * drops Y only; clearing CR4.PGE drops X too. */
static void global_pages(uint32_t cr4, bool x_survives_cr3)
{
    struct vm v = vm_new();
    uint32_t x = DATA_LIN, y = DATA_LIN + 0x1000;
    poke32(&v, pte_addr(x), DATA_PHYS | P | W | U | G);
    poke32(&v, DATA_PHYS, 0x1);
    poke32(&v, DATA_PHYS + 0x1000, 0x2);
    poke32(&v, DATA2_PHYS, 0x11);
    poke32(&v, DATA2_PHYS + 0x1000, 0x22);
    paging_on(&v, cr4, 0);
    struct code c = { .n = 0 };
    load(&c, EBX, x);
    load(&c, ECX, y);
    store_imm(&c, pte_addr(x), DATA2_PHYS | P | W | U | G);
    store_imm(&c, pte_addr(y), (DATA2_PHYS + 0x1000) | P | W | U);
    mov_from_cr(&c, 3);
    mov_to_cr(&c, 3);
    load(&c, EDX, x);
    load(&c, ESI, y);
    mov_imm(&c, EAX, 0);
    mov_to_cr(&c, 4);
    load(&c, EDI, x);
    hlt(&c);
    run0(&v, &c);
    ck_assert_uint_eq(reg(&v, EBX), 0x1);
    ck_assert_uint_eq(reg(&v, ECX), 0x2);
    ck_assert_uint_eq(reg(&v, EDX), x_survives_cr3 ? 0x1 : 0x11);
    ck_assert_uint_eq(reg(&v, ESI), 0x22);
    ck_assert_uint_eq(reg(&v, EDI), 0x11);
    pmg_free(v.g);
}

START_TEST(cr3_reload_keeps_global_pages) { global_pages(CR4_PGE, true); }
END_TEST

START_TEST(g_bit_ignored_without_pge) { global_pages(0, false); }
END_TEST

/* ---- SYSENTER / SYSEXIT ---- */

static void wrmsr_code(struct code *c, uint32_t msr, uint64_t v)
{
    mov_imm(c, ECX, msr);
    mov_imm(c, EAX, (uint32_t)v);
    mov_imm(c, EDX, (uint32_t)(v >> 32));
    bytes(c, 2, 0x0F, 0x30);
}

static void set_sysenter_msrs(struct vm *v, uint32_t cs)
{
    struct code c = { .n = 0 };
    wrmsr_code(&c, 0x174, cs);
    wrmsr_code(&c, 0x175, 0x7000);
    wrmsr_code(&c, 0x176, KENTRY);
    hlt(&c);
    run0(v, &c);
}

START_TEST(sysenter_sysexit_round_trip)
{
    struct vm v = vm_new();
    paging_on(&v, 0, 0);
    set_sysenter_msrs(&v, PMG_CS0);
    struct code k = { .n = 0 };            /* ring 0: note CS, SS, ESP, EFLAGS */
    bytes(&k, 2, 0x8C, 0xCB);             /* mov ebx, cs */
    bytes(&k, 2, 0x8C, 0xD6);             /* mov esi, ss */
    bytes(&k, 2, 0x89, 0xE5);             /* mov ebp, esp */
    bytes(&k, 2, 0x9C, 0x5F);             /* pushfd; pop edi */
    bytes(&k, 2, 0x0F, 0x35);             /* sysexit */
    pmg_write(v.g, KENTRY, k.b, k.n);
    struct code u = { .n = 0 };            /* ring 3 */
    mov_imm(&u, ECX, USER_STACK - 0x100);
    mov_imm(&u, EDX, USER_CODE + 0x40);
    bytes(&u, 2, 0x0F, 0x34);             /* sysenter */
    u.n = 0x40;
    bytes(&u, 2, 0x8C, 0xC8);             /* mov eax, cs */
    bytes(&u, 2, 0x8C, 0xD2);             /* mov edx, ss */
    uint32_t halt_at = here(&u, USER_CODE);
    hlt(&u);
    pmg_write(v.g, USER_CODE, u.b, u.n);
    pmg_enter(v.g, 3, USER_CODE, USER_STACK, 0x202);
    ck_assert_int_eq(pmg_run(v.g, 100000, &v.ex), 0);
    expect_fault(&v, EXC_GP, 0, halt_at);  /* HLT at CPL 3: back in ring 3 */
    ck_assert_uint_eq(v.ex.esp, USER_STACK - 0x100);
    ck_assert_uint_eq(reg(&v, EBX) & 0xFFFF, PMG_CS0);
    ck_assert_uint_eq(reg(&v, ESI) & 0xFFFF, PMG_DS0);
    ck_assert_uint_eq(reg(&v, EBP), 0x7000);
    ck_assert_uint_eq(reg(&v, EDI) & F_IF, 0);
    ck_assert_uint_eq(reg(&v, EAX) & 0xFFFF, PMG_CS3);
    ck_assert_uint_eq(reg(&v, EDX) & 0xFFFF, PMG_DS3);
    pmg_free(v.g);
}
END_TEST

START_TEST(sysenter_null_cs_faults)
{
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    bytes(&c, 2, 0x0F, 0x34);
    hlt(&c);
    run_at(&v, 3, USER_CODE, &c);
    expect_fault(&v, EXC_GP, 0, USER_CODE);
    pmg_free(v.g);
}
END_TEST

START_TEST(sysexit_at_cpl3_faults)
{
    struct vm v = vm_new();
    set_sysenter_msrs(&v, PMG_CS0);
    struct code c = { .n = 0 };
    bytes(&c, 2, 0x0F, 0x35);
    hlt(&c);
    run_at(&v, 3, USER_CODE, &c);
    expect_fault(&v, EXC_GP, 0, USER_CODE);
    pmg_free(v.g);
}
END_TEST

/* ---- RDMSR / WRMSR ---- */

struct msr_case {
    uint32_t msr;
    bool write;
    uint64_t value;
    bool gp;
    uint64_t reads;       /* RDMSR result when no #GP */
};

static const struct msr_case msr_cases[] = {
    { 0x12345, false, 0, true, 0 },                                /* unknown */
    { 0x12345, true, 0, true, 0 },
    { 0x1B, false, 0, true, 0 },                                   /* APIC_BASE: no APIC */
    { 0x1A0, false, 0, true, 0 },                                  /* MISC_ENABLE: not on a P6 */
    { 0x10, true, 0x100000005ull, false, 5 },                      /* TSC: high half cleared */
    { 0x8B, true, 0, false, 0 },                                   /* microcode signature */
    { 0x174, true, 0xFFFF000000000008ull, false, 8 },              /* SYSENTER_CS: 32 bits */
    { 0x175, true, 0xDEADBEEF12345678ull, false, 0x12345678 },
    { 0x176, true, 0xC0100000, false, 0xC0100000 },
    { 0x277, false, 0, false, 0x0007040600070406ull },             /* PAT power-on */
    { 0x277, true, 0x0007010600070406ull, false, 0x0007010600070406ull },
    { 0x277, true, 0x0007040200070406ull, true, 0 },               /* type 2 reserved */
    { 0x277, true, 0x0007040600070408ull, true, 0 },               /* bits 3..7 reserved */
    { 0xFE, false, 0, false, 0x508 },                              /* MTRRcap: 8 var, FIX, WC */
    { 0xFE, true, 0x508, true, 0 },                                /* read-only */
    { 0x2FF, true, 0xC06, false, 0xC06 },                          /* MTRRdefType */
    { 0x2FF, true, 0xC02, true, 0 },
    { 0x2FF, true, 0x1C06, true, 0 },
    { 0x200, true, 0x10000006, false, 0x10000006 },                /* PHYSBASE0 */
    { 0x200, true, 0x10000106, true, 0 },                          /* bits 8..11 reserved */
    { 0x200, true, 0x1000000006ull, true, 0 },                     /* beyond MAXPHYADDR 36 */
    { 0x20F, true, 0xF0000800, false, 0xF0000800 },                /* PHYSMASK7 */
    { 0x20F, true, 0xF0000801, true, 0 },
    { 0x210, false, 0, true, 0 },                                  /* no 9th range */
    { 0x250, true, 0x0606060606060606ull, false, 0x0606060606060606ull },
    { 0x259, true, 0x0000010104050606ull, false, 0x0000010104050606ull },
    { 0x26F, true, 0x0606060606060603ull, true, 0 },
    { 0x25A, false, 0, true, 0 },                                  /* gap between fixed MTRRs */
};

START_TEST(msr_access)
{
    const struct msr_case *t = &msr_cases[_i];
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    if (t->write) wrmsr_code(&c, t->msr, t->value);
    else mov_imm(&c, ECX, t->msr);
    uint32_t rd_at = here(&c, CODE);
    bytes(&c, 2, 0x0F, 0x32);
    hlt(&c);
    run_at(&v, 0, CODE, &c);
    if (t->gp) {
        expect_fault(&v, EXC_GP, 0, t->write ? rd_at - 2 : rd_at);
    } else {
        ck_assert_int_eq(v.ex.vector, -1);
        ck_assert_uint_eq(reg(&v, EAX), (uint32_t)t->reads);
        ck_assert_uint_eq(reg(&v, EDX), (uint32_t)(t->reads >> 32));
    }
    pmg_free(v.g);
}
END_TEST

START_TEST(msr_needs_cpl0)
{
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    mov_imm(&c, ECX, 0x10);
    bytes(&c, 2, 0x0F, 0x32);
    hlt(&c);
    run_at(&v, 3, USER_CODE, &c);
    expect_fault(&v, EXC_GP, 0, USER_CODE + 5);
    pmg_free(v.g);
}
END_TEST

/* ---- CPUID, CR4, RDTSC, debug registers ---- */

static void cpuid_leaf(struct vm *v, uint32_t leaf, uint32_t out[4])
{
    struct code c = { .n = 0 };
    mov_imm(&c, EAX, leaf);
    bytes(&c, 2, 0x0F, 0xA2);
    hlt(&c);
    run0(v, &c);
    const int regs[4] = { EAX, EBX, ECX, EDX };
    for (int k = 0; k < 4; k++) out[k] = reg(v, regs[k]);
}

START_TEST(cpuid_describes_pentium2)
{
    struct vm v = vm_new();
    uint32_t r[4], top[4];
    cpuid_leaf(&v, 0, r);
    ck_assert_uint_eq(r[0], 2);
    char vendor[13] = { 0 };
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    ck_assert_str_eq(vendor, "GenuineIntel");
    cpuid_leaf(&v, 1, r);
    ck_assert_uint_eq(r[0], 0x0633);
    ck_assert_uint_eq(r[1], 0);
    ck_assert_uint_eq(r[2], 0);
    /* FPU PSE TSC MSR CX8 SEP MTRR PGE CMOV PAT FXSR; no VME DE PAE MCE APIC MMX */
    ck_assert_uint_eq(r[3], 0x0101B939);
    cpuid_leaf(&v, 2, top);
    ck_assert_uint_eq(top[0] & 0xFF, 1);
    const uint32_t beyond[] = { 3, 7, 0x80000000u, 0xFFFFFFFFu };
    for (size_t k = 0; k < sizeof beyond / sizeof beyond[0]; k++) {
        cpuid_leaf(&v, beyond[k], r);
        ck_assert_mem_eq(r, top, sizeof r);
    }
    pmg_free(v.g);
}
END_TEST

static const uint32_t cr4_cases[][2] = {   /* value, #GP expected */
    { CR4_TSD | CR4_PSE | CR4_PGE | CR4_OSFXSR, 0 },
    { CR4_VME, 1 }, { CR4_PVI, 1 }, { CR4_DE, 1 }, { CR4_PAE, 1 }, { CR4_MCE, 1 },
    { CR4_PCE, 1 }, { CR4_OSXMMEXCPT, 1 }, { 1u << 11, 1 }, { 1u << 31, 1 },
};

START_TEST(cr4_reserved_bits)
{
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    mov_imm(&c, EAX, cr4_cases[_i][0]);
    mov_to_cr(&c, 4);
    hlt(&c);
    run_at(&v, 0, CODE, &c);
    if (cr4_cases[_i][1]) {
        expect_fault(&v, EXC_GP, 0, CODE + 5);
        ck_assert_uint_eq(cpu_get_cr(v.c, 4), 0);
    } else {
        ck_assert_int_eq(v.ex.vector, -1);
        ck_assert_uint_eq(cpu_get_cr(v.c, 4), cr4_cases[_i][0]);
    }
    pmg_free(v.g);
}
END_TEST

/* RDTSC at CPL 3: allowed, #GP(0) once CR4.TSD is set. */
START_TEST(rdtsc_time_stamp_disable)
{
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    wrmsr_code(&c, 0x10, 0x1234);
    hlt(&c);
    run0(&v, &c);
    c.n = 0;
    bytes(&c, 2, 0x0F, 0x31);
    hlt(&c);
    run_at(&v, 3, USER_CODE, &c);
    expect_fault(&v, EXC_GP, 0, USER_CODE + 2);      /* the HLT: RDTSC ran */
    ck_assert_uint_eq(reg(&v, EAX), 0x1234);          /* this board's clock stands at 0 */
    ck_assert_uint_eq(reg(&v, EDX), 0);
    c.n = 0;
    mov_imm(&c, EAX, CR4_TSD);
    mov_to_cr(&c, 4);
    hlt(&c);
    run0(&v, &c);
    c.n = 0;
    bytes(&c, 2, 0x0F, 0x31);
    hlt(&c);
    run_at(&v, 3, USER_CODE, &c);
    expect_fault(&v, EXC_GP, 0, USER_CODE);
    pmg_free(v.g);
}
END_TEST

/* DR7.GD: the next MOV DR faults with #DB, sets DR6.BD and clears GD. */
START_TEST(debug_general_detect)
{
    struct vm v = vm_new();
    struct code c = { .n = 0 };
    mov_imm(&c, EAX, 0x2000);
    bytes(&c, 3, 0x0F, 0x23, 0xF8);       /* mov dr7, eax */
    uint32_t at = here(&c, CODE);
    bytes(&c, 3, 0x0F, 0x21, 0xC3);       /* mov ebx, dr0 */
    hlt(&c);
    run_at(&v, 0, CODE, &c);
    ck_assert_int_eq(v.ex.vector, EXC_DB);
    ck_assert_uint_eq(v.ex.eip, at);
    ck_assert_uint_eq(v.c->dr[6] & 0x2000, 0x2000);
    ck_assert_uint_eq(v.c->dr[7], 0x400);
    pmg_free(v.g);
}
END_TEST

static Suite *paging_suite(void)
{
    Suite *s = suite_create("paging");
    TCase *t = tcase_create("paging");
    tcase_add_test(t, walk_4k_accessed_then_dirty);
    tcase_add_test(t, walk_4m_accessed_then_dirty);
    tcase_add_test(t, ps_ignored_without_pse);
    tcase_add_test(t, large_pde_reserved_bits);
    tcase_add_loop_test(t, page_fault_error_codes, 0, sizeof pf_cases / sizeof pf_cases[0]);
    tcase_add_test(t, invlpg_4k);
    tcase_add_test(t, invlpg_4m);
    tcase_add_test(t, cr3_reload_keeps_global_pages);
    tcase_add_test(t, g_bit_ignored_without_pge);
    suite_add_tcase(s, t);
    TCase *sys = tcase_create("system");
    tcase_add_test(sys, sysenter_sysexit_round_trip);
    tcase_add_test(sys, sysenter_null_cs_faults);
    tcase_add_test(sys, sysexit_at_cpl3_faults);
    tcase_add_loop_test(sys, msr_access, 0, sizeof msr_cases / sizeof msr_cases[0]);
    tcase_add_test(sys, msr_needs_cpl0);
    tcase_add_test(sys, cpuid_describes_pentium2);
    tcase_add_loop_test(sys, cr4_reserved_bits, 0, sizeof cr4_cases / sizeof cr4_cases[0]);
    tcase_add_test(sys, rdtsc_time_stamp_disable);
    tcase_add_test(sys, debug_general_detect);
    suite_add_tcase(s, sys);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(paging_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
