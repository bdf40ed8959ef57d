/* test_tasks.c — Check tests: task switching, V86 mode, I/O permission,
 * 16-bit protected mode and the error codes of descriptor checks.
 *
 * Each test builds a small protected-mode world in guest RAM on the
 * tests/difftest/pm_guest.h board: its own GDT (flat ring-0/3 segments, 32-
 * and 16-bit TSSs, a task gate, broken descriptors), an IDT whose gates lead
 * to per-vector "hlt" stubs, and a main TSS with an I/O permission bitmap.
 * Guest code is hand-assembled below, each instruction with its mnemonic.
 * A run ends at a HLT at CPL 0; the test then checks registers, memory, the
 * stack frame and the descriptor tables.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "pm_guest.h"

enum {
    RAM = 1u << 20,
    GDT = 0x1000, IDT = 0x1800, STUBS = 0x3000, STUB_SIZE = 4,
    TSS_B = 0x2000, TSS_16 = 0x2100, TSS_DF = 0x2200, TSS_E = 0x2300, TSS_SHORT = 0x2400,
    TSS_A = 0x4000, IO_BITMAP = TSS_A + 0x68, TSS_A_LIMIT = 0x68 + 0x2000,
    KSTACK = 0x8000, DATA = 0x9000, CODE_LOW = 0xA000,
    CODE = 0x10000, CODE_B = 0x11000, CODE_DF = 0x11800, CODE_E = 0x11C00,
    CODE16 = 0x12000, STACK = 0x30000, STACK_B = 0x31000, STACK_DF = 0x32000,
    V86_SEG = 0x2000, V86_SP = 0xF000,
};

/* GDT selectors (0x08..0x23 match pm_guest's). */
enum {
    SEL_CS0 = 0x08, SEL_DS0 = 0x10, SEL_CS3 = 0x1B, SEL_DS3 = 0x23,
    SEL_TSS_A = 0x28, SEL_TSS_B = 0x30, SEL_GATE_B = 0x38, SEL_TSS_16 = 0x40,
    SEL_CS16 = 0x48, SEL_TSS_DF = 0x50, SEL_DS_ABSENT = 0x58, SEL_SS_ABSENT = 0x60,
    SEL_TSS_E = 0x68, SEL_TSS_SHORT = 0x70, GDT_LIMIT = 0x77,
    SEL_BEYOND = 0x1238,
};

enum { IOPL3 = 3u << 12 };
enum { TYPE_TSS32 = 0x89, TYPE_TSS32_BUSY = 0x8B, TYPE_TSS16 = 0x81 };

/* ---- a tiny code emitter ---- */

struct code {
    uint8_t b[0x400];
    uint32_t at, n;
};

static uint32_t here(const struct code *c) { return c->at + c->n; }
static void bytes(struct code *c, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int k = 0; k < count; k++) c->b[c->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}
static void d16(struct code *c, uint32_t v) { bytes(c, 2, v & 0xFF, (v >> 8) & 0xFF); }
static void d32(struct code *c, uint32_t v) { d16(c, v & 0xFFFF); d16(c, v >> 16); }

/* 32-bit code */
static void mov_r32_imm(struct code *c, int reg, uint32_t v) { bytes(c, 1, 0xB8 + reg); d32(c, v); }
static void mov_ax_to_sreg(struct code *c, int sreg) { bytes(c, 2, 0x8E, 0xC0 | (sreg << 3)); }
static void mov_mem_imm32(struct code *c, uint32_t addr, uint32_t v) { bytes(c, 2, 0xC7, 0x05); d32(c, addr); d32(c, v); }
static void mov_mem_eax(struct code *c, uint32_t addr) { bytes(c, 1, 0xA3); d32(c, addr); }
static void far_ptr(struct code *c, int op, uint16_t sel, uint32_t off) { bytes(c, 1, op); d32(c, off); d16(c, sel); }
static void jmp_far(struct code *c, uint16_t sel, uint32_t off) { far_ptr(c, 0xEA, sel, off); }
static void call_far(struct code *c, uint16_t sel, uint32_t off) { far_ptr(c, 0x9A, sel, off); }
static void push_imm32(struct code *c, uint32_t v) { bytes(c, 1, 0x68); d32(c, v); }
static void pushfd_to(struct code *c, uint32_t addr) { bytes(c, 2, 0x9C, 0x58); mov_mem_eax(c, addr); } /* pushfd; pop eax; mov [addr], eax */
static void hlt(struct code *c) { bytes(c, 1, 0xF4); }

/* ---- the world ---- */

struct world {
    struct pmg *g;
    struct cpu *c;
    uint8_t *ram;
    struct pmg_exit ex;
};

static void put32(struct world *w, uint32_t a, uint32_t v) { memcpy(w->ram + a, &v, 4); }
static void put16(struct world *w, uint32_t a, uint16_t v) { memcpy(w->ram + a, &v, 2); }
static uint32_t get32(struct world *w, uint32_t a) { uint32_t v; memcpy(&v, w->ram + a, 4); return v; }
static uint16_t get16(struct world *w, uint32_t a) { uint16_t v; memcpy(&v, w->ram + a, 2); return v; }

/* flags: the descriptor's byte-6 nibble (G, D/B) */
static void gdt_desc(struct world *w, uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint8_t *d = w->ram + GDT + (sel & ~7u);
    d[0] = limit & 0xFF;
    d[1] = (limit >> 8) & 0xFF;
    d[2] = base & 0xFF;
    d[3] = (base >> 8) & 0xFF;
    d[4] = (base >> 16) & 0xFF;
    d[5] = access;
    d[6] = (uint8_t)((flags << 4) | ((limit >> 16) & 0xF));
    d[7] = base >> 24;
}
static uint8_t gdt_access(struct world *w, uint16_t sel) { return w->ram[GDT + (sel & ~7u) + 5]; }

/* A gate: call/task gates in the GDT, interrupt/trap/task gates in the IDT. */
static void put_gate(struct world *w, uint32_t at, uint16_t sel, uint32_t off, uint8_t access)
{
    put16(w, at, off & 0xFFFF);
    put16(w, at + 2, sel);
    w->ram[at + 4] = 0;
    w->ram[at + 5] = access;
    put16(w, at + 6, off >> 16);
}
static void idt_gate(struct world *w, int vec, uint16_t sel, uint32_t off, uint8_t access)
{
    put_gate(w, IDT + (uint32_t)vec * 8, sel, off, access);
}

/* A 32-bit TSS at `at` for a ring-0 flat task starting at eip with stack esp. */
static void tss32(struct world *w, uint32_t at, uint32_t eip, uint32_t esp, uint32_t eflags)
{
    memset(w->ram + at, 0, 0x68);
    put32(w, at + 4, KSTACK);
    put32(w, at + 8, SEL_DS0);
    put32(w, at + 0x20, eip);
    put32(w, at + 0x24, eflags);
    put32(w, at + 0x38, esp);
    static const uint16_t sregs[6] = { SEL_DS0, SEL_CS0, SEL_DS0, SEL_DS0, 0, 0 };
    for (int k = 0; k < 6; k++) put32(w, at + 0x48 + 4u * (uint32_t)k, sregs[k]);
    put32(w, at + 0x64, 0x68u << 16);
}
static void tss_set_sreg(struct world *w, uint32_t at, int sreg, uint16_t sel) { put32(w, at + 0x48 + 4u * (uint32_t)sreg, sel); }

static void world_new(struct world *w)
{
    w->g = pmg_new(RAM);
    ck_assert_ptr_nonnull(w->g);
    w->c = pmg_cpu(w->g);
    w->ram = pmg_ram(w->g);
    gdt_desc(w, SEL_CS0, 0, 0xFFFFF, 0x9A, 0xC);
    gdt_desc(w, SEL_DS0, 0, 0xFFFFF, 0x92, 0xC);
    gdt_desc(w, SEL_CS3, 0, 0xFFFFF, 0xFA, 0xC);
    gdt_desc(w, SEL_DS3, 0, 0xFFFFF, 0xF2, 0xC);
    gdt_desc(w, SEL_TSS_A, TSS_A, TSS_A_LIMIT, TYPE_TSS32_BUSY, 0);
    gdt_desc(w, SEL_TSS_B, TSS_B, 0x67, TYPE_TSS32, 0);
    put_gate(w, GDT + SEL_GATE_B, SEL_TSS_B, 0, 0x85);
    gdt_desc(w, SEL_TSS_16, TSS_16, 0x2B, TYPE_TSS16, 0);
    gdt_desc(w, SEL_CS16, CODE16, 0xFFFF, 0x9A, 0);
    gdt_desc(w, SEL_TSS_DF, TSS_DF, 0x67, TYPE_TSS32, 0);
    gdt_desc(w, SEL_DS_ABSENT, 0, 0xFFFFF, 0x12, 0xC);
    gdt_desc(w, SEL_SS_ABSENT, 0, 0xFFFFF, 0x12, 0xC);
    gdt_desc(w, SEL_TSS_E, TSS_E, 0x67, TYPE_TSS32, 0);
    gdt_desc(w, SEL_TSS_SHORT, TSS_SHORT, 0x50, TYPE_TSS32, 0);
    tss32(w, TSS_A, 0, 0, 2);                    /* I/O bitmap right after it */
    w->ram[IO_BITMAP + 0x41 / 8] |= 1u << (0x41 % 8);
    w->ram[IO_BITMAP + 0x400 / 8] |= 1u << (0x400 % 8);
    w->ram[IO_BITMAP + 0x2000] = 0xFF;
    for (int v = 0; v < 256; v++) {
        uint32_t stub = STUBS + (uint32_t)v * STUB_SIZE;
        static const uint8_t halt_forever[STUB_SIZE] = { 0xF4, 0xEB, 0xFD, 0x90 }; /* hlt; jmp $-1 */
        memcpy(w->ram + stub, halt_forever, STUB_SIZE);
        idt_gate(w, v, SEL_CS0, stub, 0x8E);   /* present, DPL 0, 32-bit interrupt gate */
    }
    cpu_phys_written(w->c, 0, RAM);
    cpu_set_gdt(w->c, GDT, GDT_LIMIT);
    cpu_set_idt(w->c, IDT, 256 * 8 - 1);
    cpu_set_seg_cache(w->c, S_TR, SEL_TSS_A, TSS_A, TSS_A_LIMIT, TYPE_TSS32_BUSY);
}

static void world_free(struct world *w) { pmg_free(w->g); }

static void load(struct world *w, const struct code *c) { pmg_write(w->g, c->at, c->b, c->n); }

/* Runs from CODE at `cpl` until a HLT at CPL 0. */
static void run(struct world *w, int cpl, uint32_t eflags)
{
    pmg_enter(w->g, cpl, CODE, STACK, eflags);
    ck_assert_int_eq(pmg_run(w->g, 100000, &w->ex), 0);
}

static uint32_t reg(struct world *w, enum cpu_reg r) { return cpu_get_reg(w->c, r); }
static uint16_t sel_of(struct world *w, enum cpu_sreg s) { return cpu_get_seg(w->c, s)->sel; }

/* ---- task switches ---- */

/* A: jmp TSS_B; B: mark, jmp TSS_A; A resumes after its jmp. */
START_TEST(jmp_to_tss_and_back)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, b = { .at = CODE_B };
    mov_r32_imm(&a, 3, 0xAAAA);                  /* mov ebx, 0xAAAA */
    jmp_far(&a, SEL_TSS_B, 0);                   /* jmp 0x30:0 */
    uint32_t resume = here(&a);
    hlt(&a);
    mov_r32_imm(&b, 3, 0xBBBB);                  /* mov ebx, 0xBBBB */
    mov_mem_imm32(&b, DATA, 0xB);                /* mov dword [DATA], 0xB */
    jmp_far(&b, SEL_TSS_A, 0);                   /* jmp 0x28:0 */
    load(&w, &a);
    load(&w, &b);
    tss32(&w, TSS_B, CODE_B, STACK_B, 2);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(w.ex.eip, resume + 1);
    ck_assert_uint_eq(reg(&w, R_EBX), 0xAAAA);   /* A's registers came back */
    ck_assert_uint_eq(reg(&w, R_ESP), STACK);
    ck_assert_uint_eq(get32(&w, DATA), 0xB);
    ck_assert_uint_eq(get32(&w, TSS_B + 0x34), 0xBBBB);   /* B's EBX saved */
    ck_assert_uint_eq(get16(&w, TSS_B), 0);      /* JMP writes no back link */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_A), TYPE_TSS32_BUSY);
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_B), TYPE_TSS32);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_A);
    ck_assert_uint_ne(cpu_get_cr(w.c, 0) & 8, 0);        /* CR0.TS */
    ck_assert_uint_eq(cpu_get_eflags(w.c) & F_NT, 0);
    world_free(&w);
}
END_TEST

/* A: call (TSS_B or the task gate); B: store EFLAGS, iretd; A: hlt. */
static void call_and_iret(uint16_t target)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, b = { .at = CODE_B };
    call_far(&a, target, 0);                     /* call target:0 */
    uint32_t resume = here(&a);
    hlt(&a);
    pushfd_to(&b, DATA);                         /* B's EFLAGS -> [DATA] */
    bytes(&b, 1, 0xCF);                          /* iretd: NT -> back to A */
    load(&w, &a);
    load(&w, &b);
    tss32(&w, TSS_B, CODE_B, STACK_B, 2);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(w.ex.eip, resume + 1);
    ck_assert_uint_ne(get32(&w, DATA) & F_NT, 0);
    ck_assert_uint_eq(get16(&w, TSS_B), SEL_TSS_A);                  /* back link */
    ck_assert_uint_eq(get32(&w, TSS_B + 0x24) & F_NT, 0);           /* saved by IRET without NT */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_B), TYPE_TSS32);       /* freed by IRET */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_A), TYPE_TSS32_BUSY);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_A);
    ck_assert_uint_eq(cpu_get_eflags(w.c) & F_NT, 0);
    world_free(&w);
}

START_TEST(call_tss_iret_back) { call_and_iret(SEL_TSS_B); }
END_TEST

START_TEST(call_task_gate_iret_back) { call_and_iret(SEL_GATE_B); }
END_TEST

/* While B runs (called), it is busy: calling it again is #GP(TSS). */
START_TEST(busy_task_refuses_call)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, b = { .at = CODE_B };
    call_far(&a, SEL_TSS_B, 0);
    hlt(&a);
    call_far(&b, SEL_TSS_B, 0);                  /* B calls itself */
    load(&w, &a);
    load(&w, &b);
    tss32(&w, TSS_B, CODE_B, STACK_B, 2);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 13);
    ck_assert_uint_eq(w.ex.err, SEL_TSS_B);
    ck_assert_uint_eq(w.ex.eip, CODE_B);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_B);
    world_free(&w);
}
END_TEST

/* A 16-bit TSS: CALL into a task whose registers are 16-bit, IRET back. */
START_TEST(sixteen_bit_tss)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, b = { .at = CODE_LOW };
    call_far(&a, SEL_TSS_16, 0);
    hlt(&a);
    mov_mem_eax(&b, DATA);                       /* mov [DATA], eax: AX from the TSS */
    bytes(&b, 1, 0xCF);                          /* iretd (NT set): back to A */
    load(&w, &a);
    load(&w, &b);
    memset(w.ram + TSS_16, 0, 0x2C);
    static const uint16_t fields[][2] = {
        { 0x0E, CODE_LOW }, { 0x10, 2 }, { 0x12, 0x1234 } /* AX */, { 0x1A, 0x800 } /* SP */,
        { 0x22, SEL_DS0 }, { 0x24, SEL_CS0 }, { 0x26, SEL_DS0 }, { 0x28, SEL_DS0 },
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
        put16(&w, TSS_16 + fields[k][0], fields[k][1]);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(get32(&w, DATA), 0xFFFF1234);   /* upper half all ones */
    ck_assert_uint_eq(get16(&w, TSS_16), SEL_TSS_A);  /* back link */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_16), TYPE_TSS16);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_A);
    world_free(&w);
}
END_TEST

/* The task of TSS_DF, for exceptions through a task gate: stores the error
 * code to DATA and its EFLAGS to DATA + 4, then halts. */
static void fault_task(struct world *w)
{
    struct code d = { .at = CODE_DF };
    bytes(&d, 1, 0x58);                          /* pop eax: the error code */
    mov_mem_eax(&d, DATA);
    pushfd_to(&d, DATA + 4);
    hlt(&d);
    load(w, &d);
    tss32(w, TSS_DF, CODE_DF, STACK_DF, 2);
}

/* #GP whose gate is absent -> #NP during delivery -> #DF through a task gate,
 * as Linux/i386 sets up its double-fault handler. */
START_TEST(double_fault_through_task_gate)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE };
    mov_r32_imm(&a, 0, SEL_BEYOND);              /* mov eax, 0x1238 */
    uint32_t faulting = here(&a);
    mov_ax_to_sreg(&a, 3);                       /* mov ds, ax: #GP(0x1238) */
    hlt(&a);
    load(&w, &a);
    fault_task(&w);
    put32(&w, DATA, 0xDEAD);
    w.ram[IDT + 13 * 8 + 5] = 0x0E;              /* #GP gate not present */
    idt_gate(&w, 8, SEL_TSS_DF, 0, 0x85);        /* #DF: task gate */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_DF);
    ck_assert_uint_eq(get32(&w, DATA), 0);
    ck_assert_uint_ne(get32(&w, DATA + 4) & F_NT, 0);
    ck_assert_uint_eq(reg(&w, R_ESP), STACK_DF);
    ck_assert_uint_eq(get16(&w, TSS_DF), SEL_TSS_A);
    ck_assert_uint_eq(get32(&w, TSS_A + 0x20), faulting);   /* old task saved at the fault */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_DF), TYPE_TSS32_BUSY);
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_A), TYPE_TSS32_BUSY);
    world_free(&w);
}
END_TEST

/* A bad DS in the new task: #TS(DS) raised in the new task's context. */
START_TEST(bad_segment_in_new_task_is_ts)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE };
    jmp_far(&a, SEL_TSS_E, 0);
    load(&w, &a);
    tss32(&w, TSS_E, CODE_E, STACK_B, 2);
    tss_set_sreg(&w, TSS_E, 3, SEL_BEYOND);      /* DS beyond the GDT */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 10);
    ck_assert_uint_eq(w.ex.err, SEL_BEYOND);
    ck_assert_uint_eq(w.ex.eip, CODE_E);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_E);
    ck_assert_uint_eq(sel_of(&w, S_DS), SEL_BEYOND);
    world_free(&w);
}
END_TEST

/* A bad LDT selector in the new task: #TS(LDT) before CS and SS are loaded,
 * so (as the SDM advises) its handler is a task of its own. */
START_TEST(bad_ldt_in_new_task_is_ts)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE };
    jmp_far(&a, SEL_TSS_E, 0);
    load(&w, &a);
    fault_task(&w);
    idt_gate(&w, 10, SEL_TSS_DF, 0, 0x85);       /* #TS: task gate */
    tss32(&w, TSS_E, CODE_E, STACK_B, 2);
    put32(&w, TSS_E + 0x60, SEL_DS0);            /* LDT selector naming a data segment */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_DF);
    ck_assert_uint_eq(get32(&w, DATA), SEL_DS0);
    ck_assert_uint_eq(get16(&w, TSS_DF), SEL_TSS_E);   /* nested: back link to E */
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_E), TYPE_TSS32_BUSY);
    ck_assert_uint_eq(gdt_access(&w, SEL_TSS_A), TYPE_TSS32);
    world_free(&w);
}
END_TEST

/* Faults the old task sees: a short TSS (#TS), an absent TSS (#NP). */
START_TEST(tss_checks_in_old_task)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE };
    jmp_far(&a, SEL_TSS_SHORT, 0);
    load(&w, &a);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 10);
    ck_assert_uint_eq(w.ex.err, SEL_TSS_SHORT);
    ck_assert_uint_eq(w.ex.eip, CODE);
    ck_assert_uint_eq(sel_of(&w, S_TR), SEL_TSS_A);
    world_free(&w);

    world_new(&w);
    load(&w, &a);
    w.ram[GDT + SEL_TSS_SHORT + 5] = 0x09;       /* not present */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 11);
    ck_assert_uint_eq(w.ex.err, SEL_TSS_SHORT);
    world_free(&w);
}
END_TEST

/* ---- V86 mode ---- */

/* Code at CPL 0 that enters V86 at V86_SEG:0 with `eflags` through IRETD. */
static void enter_v86(struct code *a, uint32_t eflags)
{
    for (int k = 0; k < 5; k++)
        push_imm32(a, V86_SEG);                  /* GS, FS, DS, ES, SS */
    push_imm32(a, V86_SP);                       /* ESP */
    push_imm32(a, eflags | F_VM | 2);            /* EFLAGS */
    push_imm32(a, V86_SEG);                      /* CS */
    push_imm32(a, 0);                            /* EIP */
    bytes(a, 1, 0xCF);                           /* iretd */
}

/* The frame INT 0x30 from V86 leaves on the ring-0 stack, copied to DATA by
 * the handler: EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS. */
START_TEST(v86_enter_int_and_return)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, v = { .at = V86_SEG * 16 }, h = { .at = CODE_B };
    enter_v86(&a, IOPL3);
    bytes(&v, 3, 0xBB, 0x00, 0x40);              /* mov bx, 0x4000 */
    bytes(&v, 2, 0x8E, 0xDB);                    /* mov ds, bx: real-mode style */
    bytes(&v, 6, 0xC7, 0x06, 0x00, 0x00, 0xEF, 0xBE); /* mov word [0], 0xBEEF */
    bytes(&v, 2, 0xCD, 0x30);                    /* int 0x30 */
    uint32_t after_int = here(&v) - V86_SEG * 16;
    bytes(&v, 6, 0xC7, 0x06, 0x02, 0x00, 0x11, 0x11); /* mov word [2], 0x1111 */
    uint32_t v86_hlt = here(&v) - V86_SEG * 16;
    hlt(&v);                                     /* CPL 3: #GP(0) */
    mov_r32_imm(&h, 0, SEL_DS0);
    mov_ax_to_sreg(&h, 3);                       /* mov ds, ax */
    mov_ax_to_sreg(&h, 0);                       /* mov es, ax */
    bytes(&h, 2, 0x89, 0xE6);                    /* mov esi, esp */
    mov_r32_imm(&h, 7, DATA);                    /* mov edi, DATA */
    mov_r32_imm(&h, 1, 9);                       /* mov ecx, 9 */
    bytes(&h, 2, 0xF3, 0xA5);                    /* rep movsd */
    bytes(&h, 1, 0xCF);                          /* iretd: back to V86 */
    load(&w, &a);
    load(&w, &v);
    load(&w, &h);
    idt_gate(&w, 0x30, SEL_CS0, CODE_B, 0xEE);   /* DPL 3 interrupt gate */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 13);
    ck_assert_uint_eq(w.ex.err, 0);
    ck_assert_uint_eq(w.ex.eip, v86_hlt);
    ck_assert_uint_eq(get16(&w, 0x40000), 0xBEEF);
    ck_assert_uint_eq(get16(&w, 0x40002), 0x1111);
    const uint32_t want[9] = { after_int, V86_SEG, 0, V86_SP, V86_SEG, V86_SEG, 0x4000, V86_SEG, V86_SEG };
    for (int k = 0; k < 9; k++)
        if (k != 2) ck_assert_uint_eq(get32(&w, DATA + 4u * (uint32_t)k), want[k]);
    ck_assert_uint_ne(get32(&w, DATA + 8) & F_VM, 0);
    ck_assert_uint_eq(cpu_get_eflags(w.c) & F_VM, 0);
    world_free(&w);
}
END_TEST

/* With IOPL < 3 each IOPL-sensitive instruction in V86 is #GP(0). */
START_TEST(v86_iopl_sensitive)
{
    static const uint8_t insns[][2] = {
        { 0xFA, 0x90 },   /* cli */
        { 0xFB, 0x90 },   /* sti */
        { 0x9C, 0x90 },   /* pushf */
        { 0x9D, 0x90 },   /* popf */
        { 0xCD, 0x30 },   /* int 0x30 */
        { 0xCF, 0x90 },   /* iret */
    };
    for (size_t k = 0; k < sizeof insns / sizeof insns[0]; k++) {
        struct world w;
        world_new(&w);
        struct code a = { .at = CODE }, v = { .at = V86_SEG * 16 };
        enter_v86(&a, 0);
        bytes(&v, 2, insns[k][0], insns[k][1]);
        load(&w, &a);
        load(&w, &v);
        idt_gate(&w, 0x30, SEL_CS0, STUBS, 0xEE);
        run(&w, 0, 2);
        ck_assert_int_eq(w.ex.vector, 13);
        ck_assert_uint_eq(w.ex.err, 0);
        ck_assert_uint_eq(w.ex.eip, 0);
        world_free(&w);
    }
}
END_TEST

/* INT3 in V86 is not IOPL-sensitive: it reaches a DPL-3 gate. */
START_TEST(v86_int3_ignores_iopl)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, v = { .at = V86_SEG * 16 };
    enter_v86(&a, 0);
    bytes(&v, 1, 0xCC);                          /* int3 */
    load(&w, &a);
    load(&w, &v);
    idt_gate(&w, 3, SEL_CS0, STUBS + 3 * STUB_SIZE, 0xEE);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 3);
    ck_assert_uint_eq(w.ex.eip, 1);
    ck_assert_uint_eq(reg(&w, R_ESP), KSTACK - 36);
    world_free(&w);
}
END_TEST

/* A task whose TSS has EFLAGS.VM starts in V86 mode. */
START_TEST(task_switch_into_v86)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, v = { .at = V86_SEG * 16 };
    jmp_far(&a, SEL_TSS_E, 0);
    bytes(&v, 2, 0x8C, 0xC8);                    /* mov ax, cs */
    bytes(&v, 1, 0xF4);                          /* hlt: #GP(0) */
    load(&w, &a);
    load(&w, &v);
    tss32(&w, TSS_E, 0, V86_SP, F_VM | 2);
    for (int s = 0; s < 6; s++) tss_set_sreg(&w, TSS_E, s, V86_SEG);
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 13);
    ck_assert_uint_eq(w.ex.eip, 2);
    ck_assert_uint_eq(reg(&w, R_EAX) & 0xFFFF, V86_SEG);
    ck_assert_uint_eq(get32(&w, KSTACK - 4), V86_SEG);   /* GS pushed on entry to ring 0 */
    world_free(&w);
}
END_TEST

/* ---- I/O permission bitmap ---- */

/* in al, `port` at CPL 3 with IOPL 0 (or in V86): bit clear passes, set faults. */
static int io_probe(bool v86, uint16_t port, int size)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, v = { .at = V86_SEG * 16 };
    struct code *io = v86 ? &v : &a;
    if (v86)
        enter_v86(&a, IOPL3);
    bytes(io, 1, 0xBA); d16(io, port);           /* mov dx, port (16-bit code) / mov edx, port (32-bit) */
    if (!v86) d16(io, 0);
    if (size == 2 && !v86) bytes(io, 1, 0x66);   /* operand size 16 in 32-bit code */
    bytes(io, 1, size == 1 ? 0xEC : 0xED);       /* in al/ax, dx */
    bytes(io, 1, 0xF4);                          /* hlt at CPL 3: #GP(0) marks "passed" */
    load(&w, &a);
    if (v86) load(&w, &v);
    run(&w, v86 ? 0 : 3, 2);
    ck_assert_int_eq(w.ex.vector, 13);
    uint32_t hlt_eip = (v86 ? v.n : a.n) - 1 + (v86 ? 0 : CODE);
    int passed = w.ex.eip == hlt_eip;
    world_free(&w);
    return passed;
}

START_TEST(io_bitmap_allow_deny)
{
    for (int v86 = 0; v86 <= 1; v86++) {
        ck_assert_int_eq(io_probe(v86, 0x40, 1), 1);
        ck_assert_int_eq(io_probe(v86, 0x41, 1), 0);
        ck_assert_int_eq(io_probe(v86, 0x3FE, 2), 1);
        ck_assert_int_eq(io_probe(v86, 0x3FF, 2), 0);   /* second byte's bit is 0x400 */
    }
}
END_TEST

/* ---- 16-bit protected mode ---- */

/* A 16-bit code segment calls INT 0x31 through a 16-bit interrupt gate to a
 * 16-bit handler, which reads its 16-bit frame and IRETs. */
START_TEST(sixteen_bit_protected_mode)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE }, p = { .at = CODE16 }, h = { .at = CODE16 + 0x100 };
    mov_r32_imm(&a, 4, 0xF000);                  /* mov esp, 0xF000 */
    jmp_far(&a, SEL_CS16, 0);                    /* jmp 0x48:0 */
    bytes(&p, 2, 0xCD, 0x31);                    /* int 0x31 */
    uint32_t after_int = p.n;
    bytes(&p, 3, 0xBA, 0x34, 0x12);              /* mov dx, 0x1234 */
    hlt(&p);
    bytes(&h, 2, 0x89, 0xE5);                    /* mov bp, sp */
    bytes(&h, 3, 0x8B, 0x46, 0x00);              /* mov ax, [bp+0] */
    bytes(&h, 3, 0x8B, 0x5E, 0x02);              /* mov bx, [bp+2] */
    bytes(&h, 3, 0x8B, 0x4E, 0x04);              /* mov cx, [bp+4] */
    bytes(&h, 1, 0xCF);                          /* iret (16-bit) */
    load(&w, &a);
    load(&w, &p);
    load(&w, &h);
    idt_gate(&w, 0x31, SEL_CS16, 0x100, 0x86);   /* 16-bit interrupt gate */
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, -1);
    ck_assert_uint_eq(reg(&w, R_EAX) & 0xFFFF, after_int);
    ck_assert_uint_eq(reg(&w, R_EBX) & 0xFFFF, SEL_CS16);
    ck_assert_uint_eq(reg(&w, R_ECX) & 0x2, 0x2);
    ck_assert_uint_eq(reg(&w, R_EDX) & 0xFFFF, 0x1234);
    ck_assert_uint_eq(reg(&w, R_ESP), 0xF000);
    world_free(&w);
}
END_TEST

/* ---- error codes of descriptor checks ---- */

struct sel_case {
    int sreg;
    uint16_t sel;
    int vector;
    uint32_t err;
};

START_TEST(segment_load_error_codes)
{
    static const struct sel_case cases[] = {
        { 3, SEL_BEYOND, 13, SEL_BEYOND },       /* DS beyond the GDT: #GP(sel) */
        { 3, SEL_DS_ABSENT, 11, SEL_DS_ABSENT }, /* DS not present: #NP(sel) */
        { 2, SEL_SS_ABSENT, 12, SEL_SS_ABSENT }, /* SS not present: #SS(sel) */
        { 2, SEL_DS3, 13, SEL_DS3 & ~3 },        /* SS of DPL 3 at CPL 0: #GP(sel) */
        { 2, 0, 13, 0 },                         /* null SS: #GP(0) */
        { 3, SEL_TSS_B, 13, SEL_TSS_B },         /* DS naming a TSS: #GP(sel) */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct world w;
        world_new(&w);
        struct code a = { .at = CODE };
        mov_r32_imm(&a, 0, cases[k].sel);
        mov_ax_to_sreg(&a, cases[k].sreg);
        hlt(&a);
        load(&w, &a);
        run(&w, 0, 2);
        ck_assert_int_eq(w.ex.vector, cases[k].vector);
        ck_assert_uint_eq(w.ex.err, cases[k].err);
        ck_assert_uint_eq(w.ex.eip, CODE + 5);
        world_free(&w);
    }
}
END_TEST

/* An absent IDT gate: #NP(vector*8 + 2), plus EXT for a hardware event. */
START_TEST(absent_gate_error_code)
{
    struct world w;
    world_new(&w);
    struct code a = { .at = CODE };
    bytes(&a, 2, 0xCD, 0x40);                    /* int 0x40 */
    load(&w, &a);
    w.ram[IDT + 0x40 * 8 + 5] = 0x0E;
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 11);
    ck_assert_uint_eq(w.ex.err, 0x40 * 8 + 2);
    world_free(&w);

    world_new(&w);
    struct code b = { .at = CODE };
    bytes(&b, 2, 0x0F, 0x0B);                    /* ud2: #UD, a benign exception */
    load(&w, &b);
    w.ram[IDT + 6 * 8 + 5] = 0x0E;
    run(&w, 0, 2);
    ck_assert_int_eq(w.ex.vector, 11);
    ck_assert_uint_eq(w.ex.err, 6 * 8 + 2 + 1);
    world_free(&w);
}
END_TEST

static Suite *tasks_suite(void)
{
    Suite *s = suite_create("tasks");
    TCase *t = tcase_create("tasks");
    tcase_add_test(t, jmp_to_tss_and_back);
    tcase_add_test(t, call_tss_iret_back);
    tcase_add_test(t, call_task_gate_iret_back);
    tcase_add_test(t, busy_task_refuses_call);
    tcase_add_test(t, sixteen_bit_tss);
    tcase_add_test(t, double_fault_through_task_gate);
    tcase_add_test(t, bad_segment_in_new_task_is_ts);
    tcase_add_test(t, bad_ldt_in_new_task_is_ts);
    tcase_add_test(t, tss_checks_in_old_task);
    tcase_add_test(t, v86_enter_int_and_return);
    tcase_add_test(t, v86_iopl_sensitive);
    tcase_add_test(t, v86_int3_ignores_iopl);
    tcase_add_test(t, task_switch_into_v86);
    tcase_add_test(t, io_bitmap_allow_deny);
    tcase_add_test(t, sixteen_bit_protected_mode);
    tcase_add_test(t, segment_load_error_codes);
    tcase_add_test(t, absent_gate_error_code);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tasks_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
