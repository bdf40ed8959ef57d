/* pm_guest.c — flat protected-mode test board (pm_guest.h). */
#include "pm_guest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"

enum {
    GDT_ADDR = 0x1000,
    IDT_ADDR = 0x1800,
    TSS_ADDR = 0x2000,
    STUB_ADDR = 0x3000,
    STUB_SIZE = 4,
    NVECTORS = 32,
    KSTACK_TOP = 0x8000,
};

struct pmg {
    struct cpu *cpu;
    uint8_t *ram;
    uint32_t ram_size;
};

static uint8_t *bus_page(void *ctx, uint32_t paddr, bool write)
{
    (void)write;
    struct pmg *g = ctx;
    return paddr < g->ram_size ? g->ram + (paddr & ~0xFFFu) : NULL;
}
static uint32_t bus_mem_read(void *ctx, uint32_t paddr, int size)
{
    (void)ctx; (void)paddr; (void)size;
    return 0xFFFFFFFFu;
}
static void bus_mem_write(void *ctx, uint32_t paddr, uint32_t val, int size)
{
    (void)ctx; (void)paddr; (void)val; (void)size;
}
static uint32_t bus_io_read(void *ctx, uint16_t port, int size)
{
    (void)ctx; (void)port; (void)size;
    return 0xFFFFFFFFu;
}
static void bus_io_write(void *ctx, uint16_t port, uint32_t val, int size)
{
    (void)ctx; (void)port; (void)val; (void)size;
}
static uint8_t bus_irq_ack(void *ctx) { (void)ctx; return 0xFF; }
static uint64_t bus_now(void *ctx) { (void)ctx; return 0; }

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* A flat 4 GiB descriptor (G=1, D=1) with the given access byte. */
static void put_flat_desc(uint8_t *d, uint8_t access)
{
    static const uint8_t flat[8] = { 0xFF, 0xFF, 0, 0, 0, 0, 0xCF, 0 };
    memcpy(d, flat, 8);
    d[5] = access;
}

static void build_tables(struct pmg *g)
{
    uint8_t *gdt = g->ram + GDT_ADDR;
    put_flat_desc(gdt + PMG_CS0, 0x9A);
    put_flat_desc(gdt + PMG_DS0, 0x92);
    put_flat_desc(gdt + (PMG_CS3 & ~3), 0xFA);
    put_flat_desc(gdt + (PMG_DS3 & ~3), 0xF2);
    uint8_t *tss_desc = gdt + PMG_TSS;         /* 32-bit TSS, limit 0x67 */
    memset(tss_desc, 0, 8);
    tss_desc[0] = 0x67;
    tss_desc[2] = TSS_ADDR & 0xFF;
    tss_desc[3] = (TSS_ADDR >> 8) & 0xFF;
    tss_desc[5] = 0x8B;
    uint8_t *tss = g->ram + TSS_ADDR;
    put32(tss + 4, KSTACK_TOP);                /* ESP0 */
    put32(tss + 8, PMG_DS0);                   /* SS0 */
    put32(tss + 0x64, 0x68u << 16);            /* no I/O bitmap */
    for (int v = 0; v < NVECTORS; v++) {
        uint32_t stub = STUB_ADDR + (uint32_t)v * STUB_SIZE;
        uint8_t *gate = g->ram + IDT_ADDR + v * 8;
        gate[0] = stub & 0xFF;
        gate[1] = (stub >> 8) & 0xFF;
        gate[2] = PMG_CS0;
        gate[3] = 0;
        gate[4] = 0;
        gate[5] = 0x8E;                        /* present, DPL 0, 32-bit interrupt gate */
        gate[6] = (stub >> 16) & 0xFF;
        gate[7] = stub >> 24;
        static const uint8_t halt_forever[STUB_SIZE] = { 0xF4, 0xEB, 0xFD, 0x90 };
        memcpy(g->ram + stub, halt_forever, STUB_SIZE);
    }
}

struct pmg *pmg_new(uint32_t ram_size)
{
    if (ram_size < 0x10000 || (ram_size & 0xFFF)) return NULL;
    struct pmg *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->ram_size = ram_size;
    g->ram = calloc(1, ram_size);
    struct cpu_bus bus = {
        .ctx = g, .page_ptr = bus_page, .mem_read = bus_mem_read, .mem_write = bus_mem_write,
        .io_read = bus_io_read, .io_write = bus_io_write, .irq_ack = bus_irq_ack, .now_ns = bus_now,
    };
    g->cpu = g->ram ? cpu_new(&bus) : NULL;
    if (!g->cpu) {
        pmg_free(g);
        return NULL;
    }
    build_tables(g);
    cpu_set_cr0(g->cpu, CR0_PE | CR0_ET | CR0_NE);
    cpu_set_gdt(g->cpu, GDT_ADDR, 0x2F);
    cpu_set_idt(g->cpu, IDT_ADDR, NVECTORS * 8 - 1);
    cpu_set_seg_cache(g->cpu, S_TR, PMG_TSS, TSS_ADDR, 0x67, 0x8B);
    cpu_set_seg_cache(g->cpu, S_LDTR, 0, 0, 0, 0x82);
    pmg_enter(g, 0, PMG_FREE_BASE, KSTACK_TOP, 0x2);
    return g;
}

void pmg_free(struct pmg *g)
{
    if (!g) return;
    cpu_free(g->cpu);
    free(g->ram);
    free(g);
}

struct cpu *pmg_cpu(struct pmg *g) { return g->cpu; }
uint8_t *pmg_ram(struct pmg *g) { return g->ram; }

void pmg_write(struct pmg *g, uint32_t addr, const void *src, size_t len)
{
    if (addr >= g->ram_size || len > g->ram_size - addr) return;
    memcpy(g->ram + addr, src, len);
    cpu_phys_written(g->cpu, addr, (uint32_t)len);
}

void pmg_enter(struct pmg *g, int cpl, uint32_t eip, uint32_t esp, uint32_t eflags)
{
    struct cpu *c = g->cpu;
    uint16_t cs = cpl ? PMG_CS3 : PMG_CS0, ds = cpl ? PMG_DS3 : PMG_DS0;
    uint16_t dpl = (uint16_t)(cpl ? 0x60 : 0);
    cpu_set_seg_cache(c, S_CS, cs, 0, 0xFFFFFFFFu, (uint16_t)(0xC09B | dpl));
    cpu_set_seg_cache(c, S_SS, ds, 0, 0xFFFFFFFFu, (uint16_t)(0xC093 | dpl));
    cpu_set_seg_cache(c, S_DS, ds, 0, 0xFFFFFFFFu, (uint16_t)(0xC093 | dpl));
    cpu_set_seg_cache(c, S_ES, ds, 0, 0xFFFFFFFFu, (uint16_t)(0xC093 | dpl));
    cpu_set_seg_cache(c, S_FS, 0, 0, 0, 0);
    cpu_set_seg_cache(c, S_GS, 0, 0, 0, 0);
    cpu_set_eflags(c, eflags);
    cpu_set_reg(c, R_ESP, esp);
    cpu_set_eip(c, eip);
    c->halted = false;
}

static bool has_error_code(int v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

int pmg_run(struct pmg *g, uint64_t budget, struct pmg_exit *out)
{
    struct cpu *c = g->cpu;
    uint64_t done = 0;
    while (!cpu_is_halted(c)) {
        if (done >= budget) return -1;
        done += cpu_run(c, budget - done < 4096 ? budget - done : 4096) + 1;
    }
    uint32_t eip = cpu_get_eip(c), esp = cpu_get_reg(c, R_ESP);
    uint32_t stub = eip - 1 - STUB_ADDR;
    *out = (struct pmg_exit){ .vector = -1, .eip = eip, .esp = esp, .eflags = cpu_get_eflags(c) };
    if (stub >= NVECTORS * STUB_SIZE || stub % STUB_SIZE || esp > g->ram_size - 24)
        return 0;
    int v = (int)(stub / STUB_SIZE);
    const uint8_t *f = g->ram + esp;
    if (has_error_code(v)) {
        out->err = get32(f);
        f += 4;
    }
    out->vector = v;
    out->eip = get32(f);
    out->eflags = get32(f + 8);
    bool from_ring3 = (get32(f + 4) & 3) == 3;
    out->esp = from_ring3 ? get32(f + 12) : (uint32_t)(f + 12 - g->ram);
    return 0;
}
