/* test_chipset.c — Check tests for the chipset devices: port 0x92/0x80, the
 * i8042 keyboard controller, PCI config mechanism #1 with the i440FX and
 * PIIX3/PIIX4-PM functions, BIOS-style PCI resource assignment and fw_cfg.
 * Every device is attached to a board built with machine_new and driven
 * through the port bus, as the guest would; no guest code runs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bios/pci_assign.h"
#include "cpu/cpu.h"
#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "devices/sysctl.h"
#include "machine/machine.h"
#include "machine/snapshot.h"

#define RAM_SIZE (2u << 20)

struct shadow_call {
    uint32_t base, size;
    bool read_ram, write_ram;
};

struct board {
    struct machine *m;
    struct sysctl sys;
    struct i8042 kbc;
    struct pci_bus pci;
    struct i440fx host;
    struct piix3 piix;
    struct fw_cfg fw;
    struct shadow_call shadow[64];
    int nshadow;
};

static void record_shadow(void *opaque, uint32_t base, uint32_t size, bool read_ram, bool write_ram)
{
    struct board *b = opaque;
    if (b->nshadow < 64)
        b->shadow[b->nshadow++] = (struct shadow_call){ base, size, read_ram, write_ram };
}

static struct board *board_new(void)
{
    struct board *b = calloc(1, sizeof *b);
    char err[160];
    b->m = machine_new_bare(RAM_SIZE, true, 1, err, sizeof err);
    ck_assert_msg(b->m != NULL, "%s", err);
    ck_assert_ptr_null(sysctl_attach(b->m, &b->sys));
    ck_assert_ptr_null(i8042_attach(b->m, &b->kbc, &b->sys));
    ck_assert_ptr_null(pci_bus_attach(b->m, &b->pci));
    ck_assert_ptr_null(i440fx_attach(b->m, &b->host, &b->pci, record_shadow, b));
    ck_assert_ptr_null(piix3_attach(b->m, &b->piix, &b->pci));
    ck_assert_ptr_null(fw_cfg_attach(b->m, &b->fw));
    return b;
}

static void board_free(struct board *b)
{
    fw_cfg_free(&b->fw);
    machine_free(b->m);
    free(b);
}

static uint32_t in(struct board *b, uint16_t port, int size) { return portbus_read(&b->m->io, port, size); }
static void out(struct board *b, uint16_t port, uint32_t v, int size) { portbus_write(&b->m->io, port, v, size); }

static uint32_t cfg_read(struct board *b, uint8_t devfn, uint8_t off, int size)
{
    out(b, 0xCF8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xFCu), 4);
    return in(b, (uint16_t)(0xCFC + (off & 3)), size);
}

static void cfg_write(struct board *b, uint8_t devfn, uint8_t off, uint32_t v, int size)
{
    out(b, 0xCF8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xFCu), 4);
    out(b, (uint16_t)(0xCFC + (off & 3)), v, size);
}

/* ---- port 0x92 and 0x80 ---- */

START_TEST(port92_a20_and_reset)
{
    struct board *b = board_new();
    ck_assert(b->sys.a20);
    out(b, 0x92, 0x00, 1);
    ck_assert(!b->sys.a20);
    ck_assert_uint_eq(in(b, 0x92, 1), 0x00);
    out(b, 0x92, 0x02, 1);
    ck_assert(b->sys.a20);
    ck_assert_uint_eq(in(b, 0x92, 1), 0x02);
    ck_assert(!b->m->reset_pending);
    out(b, 0x92, 0x03, 1);
    ck_assert(b->m->reset_pending);
    ck_assert_uint_eq(in(b, 0x92, 1), 0x02);   /* bit 0 reads 0 after the pulse */
    machine_reset(b->m);
    ck_assert(!b->m->reset_pending);
    ck_assert_uint_eq(in(b, 0x92, 1), 0x02);   /* A20 on again, as the CPU's reset */
    out(b, 0x80, 0x5A, 1);
    ck_assert_uint_eq(in(b, 0x80, 1), 0x5A);
    board_free(b);
}
END_TEST

/* ---- port 0xCF9: reset control ---- */

START_TEST(reset_control_register)
{
    struct board *b = board_new();
    out(b, 0xCF9, 0x02, 1);                    /* SYS_RST alone: no reset yet */
    ck_assert(!b->m->reset_pending);
    ck_assert_uint_eq(in(b, 0xCF9, 1), 0x02);
    out(b, 0xCF8, 0x80000000u, 4);             /* the dword config address is unaffected */
    ck_assert_uint_eq(in(b, 0xCF8, 4), 0x80000000u);
    out(b, 0xCF9, 0x06, 1);                    /* RST_CPU 0 -> 1: reset */
    ck_assert(b->m->reset_pending);
    machine_reset(b->m);
    ck_assert(!b->m->reset_pending);
    ck_assert_uint_eq(in(b, 0xCF9, 1), 0x00);
    out(b, 0xCF9, 0xF1, 1);                    /* reserved bits read back as 0 */
    ck_assert_uint_eq(in(b, 0xCF9, 1), 0x00);
    ck_assert(!b->m->reset_pending);
    board_free(b);
}
END_TEST

/* ---- i8042 ---- */

static void expect_bytes(struct board *b, const uint8_t *want, size_t n, bool aux)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t st = (uint8_t)in(b, 0x64, 1);
        ck_assert_msg(st & I8042_STATUS_OBF, "byte %zu missing", k);
        ck_assert_uint_eq(!!(st & I8042_STATUS_AUX), aux);
        ck_assert_uint_eq(in(b, 0x60, 1), want[k]);
    }
    ck_assert_uint_eq(in(b, 0x64, 1) & I8042_STATUS_OBF, 0);
}

START_TEST(kbc_self_test_and_command_byte)
{
    struct board *b = board_new();
    out(b, 0x64, 0xAA, 1);
    expect_bytes(b, (const uint8_t[]){ 0x55 }, 1, false);
    ck_assert(in(b, 0x64, 1) & I8042_STATUS_SYS);
    out(b, 0x64, 0xAB, 1);
    expect_bytes(b, (const uint8_t[]){ 0x00 }, 1, false);
    out(b, 0x64, 0x60, 1);
    ck_assert(in(b, 0x64, 1) & I8042_STATUS_CMD);
    out(b, 0x60, 0x61, 1);
    out(b, 0x64, 0x20, 1);
    expect_bytes(b, (const uint8_t[]){ 0x61 }, 1, false);
    board_free(b);
}
END_TEST

START_TEST(kbc_a20_and_reset)
{
    struct board *b = board_new();
    out(b, 0x64, 0xD1, 1);
    out(b, 0x60, 0xCD, 1);            /* A20 off, reset line high */
    ck_assert(!b->sys.a20);
    ck_assert(!b->m->reset_pending);
    out(b, 0x64, 0xD0, 1);
    expect_bytes(b, (const uint8_t[]){ 0xCD }, 1, false);
    out(b, 0x64, 0xDF, 1);
    ck_assert(b->sys.a20);
    out(b, 0x64, 0xD0, 1);
    expect_bytes(b, (const uint8_t[]){ 0xCF }, 1, false);
    out(b, 0x64, 0xFE, 1);
    ck_assert(b->m->reset_pending);
    machine_reset(b->m);
    ck_assert(!b->m->reset_pending);
    ck_assert_uint_eq(b->sys.resets_requested, 1);
    board_free(b);
}
END_TEST

START_TEST(keyboard_reset_identify_and_translation)
{
    struct board *b = board_new();
    out(b, 0x60, 0xFF, 1);
    ck_assert(irq_level(&b->m->irq, 1));
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xAA }, 2, false);
    ck_assert(!irq_level(&b->m->irq, 1));
    out(b, 0x60, 0xF2, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xAB, 0x83 }, 3, false);
    out(b, 0x60, 0xEE, 1);
    expect_bytes(b, (const uint8_t[]){ 0xEE }, 1, false);
    out(b, 0x60, 0xED, 1);
    out(b, 0x60, 0x07, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xFA }, 2, false);
    ck_assert_uint_eq(b->kbc.kbd.leds, 7);
    out(b, 0x60, 0xF0, 1);
    out(b, 0x60, 0x00, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xFA, 0x02 }, 3, false);
    i8042_key_event(&b->kbc, (const uint8_t[]){ 0x1C, 0xF0, 0x1C }, 3);
    expect_bytes(b, (const uint8_t[]){ 0x1C, 0xF0, 0x1C }, 3, false);
    out(b, 0x64, 0x60, 1);
    out(b, 0x60, 0x61, 1);            /* translate to set 1 */
    i8042_key_event(&b->kbc, (const uint8_t[]){ 0x1C, 0xF0, 0x1C, 0x76, 0xE0, 0xF0, 0x75 }, 7);
    expect_bytes(b, (const uint8_t[]){ 0x1E, 0x9E, 0x01, 0xE0, 0xC8 }, 5, false);
    out(b, 0x60, 0xF2, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xAB, 0x41 }, 3, false);
    out(b, 0x60, 0xF5, 1);            /* disabled: key presses are not sent */
    expect_bytes(b, (const uint8_t[]){ 0xFA }, 1, false);
    i8042_key_event(&b->kbc, (const uint8_t[]){ 0x1C }, 1);
    ck_assert_uint_eq(in(b, 0x64, 1) & I8042_STATUS_OBF, 0);
    board_free(b);
}
END_TEST

START_TEST(mouse_reset_identify_and_stream)
{
    struct board *b = board_new();
    out(b, 0x64, 0xA8, 1);
    out(b, 0x64, 0xD4, 1);
    out(b, 0x60, 0xFF, 1);
    ck_assert(irq_level(&b->m->irq, 12));
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0xAA, 0x00 }, 3, true);
    static const uint8_t rates[] = { 200, 100, 80 };
    for (int k = 0; k < 3; k++) {
        out(b, 0x64, 0xD4, 1);
        out(b, 0x60, 0xF3, 1);
        out(b, 0x64, 0xD4, 1);
        out(b, 0x60, rates[k], 1);
        expect_bytes(b, (const uint8_t[]){ 0xFA, 0xFA }, 2, true);
    }
    out(b, 0x64, 0xD4, 1);
    out(b, 0x60, 0xF2, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0x03 }, 2, true);
    out(b, 0x64, 0xD4, 1);
    out(b, 0x60, 0xF4, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA }, 1, true);
    i8042_mouse_event(&b->kbc, -3, 5, 1);
    expect_bytes(b, (const uint8_t[]){ 0x19, 0xFD, 0x05, 0x00 }, 4, true);
    out(b, 0x64, 0xD4, 1);
    out(b, 0x60, 0xE9, 1);
    expect_bytes(b, (const uint8_t[]){ 0xFA, 0x24, 0x02, 80 }, 4, true);
    board_free(b);
}
END_TEST

START_TEST(i8042_save_load_round_trip)
{
    struct board *b = board_new();
    out(b, 0x60, 0xF2, 1);
    struct snap_writer w;
    snap_writer_init(&w);
    i8042_save(&b->kbc, &w);
    struct board *c = board_new();
    struct snap_reader r;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(i8042_load(&c->kbc, &r));
    expect_bytes(c, (const uint8_t[]){ 0xFA, 0xAB, 0x83 }, 3, false);
    snap_reader_init(&r, w.buf, w.len - 1);
    ck_assert(!i8042_load(&c->kbc, &r));
    snap_writer_free(&w);
    board_free(b);
    board_free(c);
}
END_TEST

/* ---- PCI ---- */

START_TEST(pci_config_layout)
{
    struct board *b = board_new();
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(0, 0), 0, 4), 0x12378086);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(0, 0), 0x08, 4), 0x06000002);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(0, 0), 0x0E, 1), 0x00);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 0), 0x00, 4), 0x70008086);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 0), 0x0A, 2), 0x0601);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 0), 0x0E, 1), 0x80);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 0), 0x60, 4), 0x80808080);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 3), 0x02, 2), 0x7113);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 3), 0x08, 4), 0x06800003);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 3), 0x3D, 1), 1);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 3), 0x40, 4), 1);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(5, 0), 0x00, 4), 0xFFFFFFFF);
    cfg_write(b, PCI_DEVFN(0, 0), 0x00, 0, 4);   /* read-only */
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(0, 0), 0x01, 1), 0x80);
    out(b, 0xCF8, 0x80000000u, 2);               /* not the address register */
    ck_assert_uint_eq(in(b, 0xCF8, 4), 0x80000000u | PCI_DEVFN(0, 0) << 8);
    board_free(b);
}
END_TEST

START_TEST(pam_registers_drive_shadowing)
{
    struct board *b = board_new();
    ck_assert_int_eq(b->nshadow, I440FX_PAM_SEGMENTS);
    ck_assert_uint_eq(b->shadow[0].base, 0xF0000);
    ck_assert(!b->shadow[0].read_ram && !b->shadow[0].write_ram);
    b->nshadow = 0;
    cfg_write(b, PCI_DEVFN(0, 0), 0x5A, 0x31, 1);
    ck_assert_int_eq(b->nshadow, 2);
    ck_assert_uint_eq(b->shadow[0].base, 0xC0000);
    ck_assert(b->shadow[0].read_ram && !b->shadow[0].write_ram);
    ck_assert_uint_eq(b->shadow[1].base, 0xC4000);
    ck_assert(b->shadow[1].read_ram && b->shadow[1].write_ram);
    b->nshadow = 0;
    cfg_write(b, PCI_DEVFN(0, 0), 0x58, 0x3300, 2);   /* PAM0 via a word at 0x58 */
    ck_assert_int_eq(b->nshadow, 1);
    ck_assert_uint_eq(b->shadow[0].base, 0xF0000);
    ck_assert_uint_eq(b->shadow[0].size, 0x10000);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(0, 0), 0x59, 1), 0x30);
    board_free(b);
}
END_TEST

struct test_dev {
    struct pci_device pci;
    int moves;
    int last_bar;
    uint32_t last_old, last_new;
};

static void test_bar_moved(void *opaque, int bar, uint32_t old_base, uint32_t new_base)
{
    struct test_dev *t = opaque;
    t->moves++;
    t->last_bar = bar;
    t->last_old = old_base;
    t->last_new = new_base;
}

static void add_test_dev(struct board *b, struct test_dev *t, uint8_t devfn)
{
    memset(t, 0, sizeof *t);
    pci_device_init(&t->pci, 0x1AF4, 0x1049, 0x010000, 1);
    pci_device_add_bar(&t->pci, 0, 32, PCI_BAR_IO);
    pci_device_add_bar(&t->pci, 1, 4096, 0);
    pci_device_add_bar(&t->pci, 4, 0x4000, PCI_BAR_PREFETCH);
    pci_device_set_interrupt_pin(&t->pci, 1);
    t->pci.bar_moved = test_bar_moved;
    t->pci.opaque = t;
    ck_assert_ptr_null(pci_register_device(&b->pci, devfn, &t->pci));
}

START_TEST(pci_bar_sizing_and_moves)
{
    struct board *b = board_new();
    struct test_dev t;
    add_test_dev(b, &t, PCI_DEVFN(3, 0));
    uint8_t df = PCI_DEVFN(3, 0);
    cfg_write(b, df, 0x10, 0xFFFFFFFF, 4);
    ck_assert_uint_eq(cfg_read(b, df, 0x10, 4), 0xFFFFFFE1);
    cfg_write(b, df, 0x14, 0xFFFFFFFF, 4);
    ck_assert_uint_eq(cfg_read(b, df, 0x14, 4), 0xFFFFF000);
    ck_assert_uint_eq(cfg_read(b, df, 0x20, 4), 0x8);
    cfg_write(b, df, 0x20, 0xFFFFFFFF, 4);
    ck_assert_uint_eq(cfg_read(b, df, 0x20, 4), 0xFFFFC008);
    cfg_write(b, df, 0x18, 0xFFFFFFFF, 4);       /* no BAR 2 */
    ck_assert_uint_eq(cfg_read(b, df, 0x18, 4), 0);
    cfg_write(b, df, 0x04, PCI_COMMAND_MEMORY, 2);   /* all-ones bases do not decode */
    ck_assert_int_eq(t.moves, 0);
    cfg_write(b, df, 0x14, 0xFEB00000, 4);
    ck_assert_int_eq(t.moves, 1);
    ck_assert_int_eq(t.last_bar, 1);
    ck_assert_uint_eq(t.last_old, PCI_BAR_UNMAPPED);
    ck_assert_uint_eq(t.last_new, 0xFEB00000);
    cfg_write(b, df, 0x16, 0xFEB1, 2);           /* a word write moves it */
    ck_assert_uint_eq(t.last_old, 0xFEB00000);
    ck_assert_uint_eq(t.last_new, 0xFEB10000);
    cfg_write(b, df, 0x04, 0, 2);
    ck_assert_uint_eq(t.last_new, PCI_BAR_UNMAPPED);
    board_free(b);
}
END_TEST

START_TEST(pci_pirq_routing)
{
    struct board *b = board_new();
    struct test_dev t;
    add_test_dev(b, &t, PCI_DEVFN(3, 0));     /* slot 3 INTA -> PIRQC */
    ck_assert_int_eq(pci_pin_to_pirq(PCI_DEVFN(3, 0), 1), 2);
    pci_set_irq(&t.pci, true);
    ck_assert(!irq_level(&b->m->irq, 10));    /* routing disabled */
    cfg_write(b, PCI_DEVFN(1, 0), 0x62, 10, 1);
    ck_assert(irq_level(&b->m->irq, 10));
    cfg_write(b, PCI_DEVFN(1, 0), 0x62, 11, 1);
    ck_assert(!irq_level(&b->m->irq, 10));
    ck_assert(irq_level(&b->m->irq, 11));
    pci_set_irq(&t.pci, false);
    ck_assert(!irq_level(&b->m->irq, 11));
    cfg_write(b, PCI_DEVFN(1, 0), 0x62, 2, 1); /* IRQ 2 is not routable */
    pci_set_irq(&t.pci, true);
    ck_assert(!irq_level(&b->m->irq, 2));
    ck_assert_int_eq(piix3_pirq_irq(&b->piix, 2), -1);
    board_free(b);
}
END_TEST

START_TEST(pci_assign_gives_windows_and_lines)
{
    struct board *b = board_new();
    struct test_dev t, u;
    add_test_dev(b, &t, PCI_DEVFN(3, 0));
    add_test_dev(b, &u, PCI_DEVFN(4, 0));
    ck_assert_ptr_null(pci_assign_resources(&b->pci, PCI_ASSIGN_MEM_BASE));
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(1, 0), 0x60, 4), 0x0B0A0B0A);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(3, 0), 0x10, 4), 0xC001);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(4, 0), 0x10, 4), 0xC021);
    /* largest first: both 16 KiB BARs, then both 4 KiB ones */
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(3, 0), 0x20, 4), 0xE0000008);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(4, 0), 0x20, 4), 0xE0004008);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(3, 0), 0x14, 4), 0xE0008000);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(4, 0), 0x14, 4), 0xE0009000);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(3, 0), 0x04, 2), 7);
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(3, 0), 0x3C, 1), 10);   /* PIRQC */
    ck_assert_uint_eq(cfg_read(b, PCI_DEVFN(4, 0), 0x3C, 1), 11);   /* PIRQD */
    ck_assert_uint_eq(t.pci.bar_mapped[1], 0xE0008000);
    ck_assert_uint_eq(u.pci.bar_mapped[0], 0xC020);
    pci_set_irq(&u.pci, true);
    ck_assert(irq_level(&b->m->irq, 11));
    board_free(b);
}
END_TEST

/* ---- ACPI PM ---- */

static void advance_ns(struct board *b, uint64_t ns)
{
    vclock_skip_to(&b->m->clock, machine_now_ns(b->m) + ns, cpu_icount(b->m->cpu));
}

START_TEST(pm_timer_rate_and_sci)
{
    struct board *b = board_new();
    ck_assert_ptr_null(pci_assign_resources(&b->pci, PCI_ASSIGN_MEM_BASE));
    uint16_t base = PCI_ASSIGN_PM_BASE;
    uint32_t t0 = in(b, base + PM_TMR, 4);
    advance_ns(b, 1000000000u);
    uint32_t t1 = in(b, base + PM_TMR, 4);
    ck_assert_uint_eq((t1 - t0) & 0xFFFFFF, PIIX_PM_TIMER_HZ);
    ck_assert_uint_eq(t1 >> 24, 0);
    /* timer overflow (bit 23 flips every 2^23 ticks, ~2.34 s) with TMR_EN: SCI */
    out(b, base + PM1_EN, PM1_TMR, 2);
    ck_assert(!irq_level(&b->m->irq, 9));
    advance_ns(b, 2400000000u);
    sched_run_due(&b->m->sched, machine_now_ns(b->m));
    ck_assert(irq_level(&b->m->irq, 9));
    ck_assert(in(b, base + PM1_STS, 2) & PM1_TMR);
    out(b, base + PM1_STS, PM1_TMR, 2);
    ck_assert(!irq_level(&b->m->irq, 9));
    /* ACPI enable through the APM control port */
    out(b, 0xB2, 0xF1, 1);
    ck_assert_uint_eq(in(b, base + PM1_CNT, 2) & PM1_CNT_SCI_EN, 1);
    board_free(b);
}
END_TEST

START_TEST(pm_s5_powers_off)
{
    struct board *b = board_new();
    ck_assert_ptr_null(pci_assign_resources(&b->pci, PCI_ASSIGN_MEM_BASE));
    out(b, PCI_ASSIGN_PM_BASE + PM1_CNT, 1u << PM1_CNT_SLP_TYP_SHIFT, 2);   /* SLP_TYP only */
    ck_assert(!b->m->stopping);
    out(b, PCI_ASSIGN_PM_BASE + PM1_CNT, PM1_CNT_SLP_EN | PM_SLP_TYP_S5 << PM1_CNT_SLP_TYP_SHIFT, 2);
    ck_assert(b->m->stopping);
    ck_assert_int_eq(b->m->stop_reason, PLAN86_STOP_POWEROFF);
    ck_assert_uint_eq(in(b, PCI_ASSIGN_PM_BASE + PM1_CNT, 2) & PM1_CNT_SLP_EN, 0);
    board_free(b);
}
END_TEST

/* ---- fw_cfg ---- */

static void fw_select(struct board *b, uint16_t key) { out(b, FW_CFG_PORT_SEL, key, 2); }

static void fw_read(struct board *b, uint8_t *dst, size_t n)
{
    for (size_t k = 0; k < n; k++)
        dst[k] = (uint8_t)in(b, FW_CFG_PORT_DATA, 1);
}

START_TEST(fw_cfg_signature_id_and_directory)
{
    struct board *b = board_new();
    uint8_t buf[256];
    fw_select(b, FW_CFG_SIGNATURE);
    fw_read(b, buf, 5);
    ck_assert_mem_eq(buf, "QEMU\0", 5);
    fw_select(b, FW_CFG_ID);
    fw_read(b, buf, 4);
    ck_assert_mem_eq(buf, "\x03\0\0\0", 4);
    fw_select(b, FW_CFG_RAM_SIZE);
    fw_read(b, buf, 8);
    ck_assert_mem_eq(buf, "\0\0\x20\0\0\0\0\0", 8);
    ck_assert_uint_eq(in(b, FW_CFG_PORT_DMA, 4), 0x554D4551);   /* "QEMU" in port order */
    ck_assert_ptr_null(fw_cfg_add_file(&b->fw, "etc/boot-fail-wait", "\x05\0\0\0", 4));
    ck_assert_ptr_null(fw_cfg_add_file(&b->fw, "bootorder", "/rom@genroms/linuxboot.bin\n", 27));
    ck_assert_ptr_nonnull(fw_cfg_add_file(&b->fw, "bootorder", "x", 1));
    fw_select(b, FW_CFG_FILE_DIR);
    fw_read(b, buf, 4 + 2 * 64);
    ck_assert_mem_eq(buf, "\0\0\0\x02", 4);
    ck_assert_mem_eq(buf + 4, "\0\0\0\x04\0\x20\0\0etc/boot-fail-wait\0", 27);
    ck_assert_mem_eq(buf + 68, "\0\0\0\x1b\0\x21\0\0bootorder\0", 18);
    fw_select(b, 0x21);
    fw_read(b, buf, 28);
    ck_assert_mem_eq(buf, "/rom@genroms/linuxboot.bin\n\0", 28);
    board_free(b);
}
END_TEST

static uint32_t swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (uint8_t)(v >> (8 * (n - 1 - k)));
}

static void dma_request(struct board *b, uint32_t block, uint32_t control, uint32_t len, uint64_t addr)
{
    put_be(b->m->ram + block, control, 4);
    put_be(b->m->ram + block + 4, len, 4);
    put_be(b->m->ram + block + 8, addr, 8);
    out(b, FW_CFG_PORT_DMA, swap32(0), 4);
    out(b, FW_CFG_PORT_DMA + 4, swap32(block), 4);
}

START_TEST(fw_cfg_dma_read)
{
    struct board *b = board_new();
    ck_assert_ptr_null(fw_cfg_add_item(&b->fw, FW_CFG_CMDLINE_DATA, "console=ttyS0", 14));
    dma_request(b, 0x1000, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | FW_CFG_CMDLINE_DATA << 16, 8, 0x2000);
    ck_assert_mem_eq(b->m->ram + 0x1000, "\0\0\0\0", 4);
    ck_assert_mem_eq(b->m->ram + 0x2000, "console=", 8);
    dma_request(b, 0x1000, FW_CFG_DMA_SKIP, 2, 0);
    dma_request(b, 0x1000, FW_CFG_DMA_READ, 8, 0x3000);   /* 4 bytes left, then zeros */
    ck_assert_mem_eq(b->m->ram + 0x3000, "yS0\0\0\0\0\0", 8);
    dma_request(b, 0x1000, FW_CFG_DMA_READ, 16, RAM_SIZE - 8);   /* beyond RAM */
    ck_assert_uint_eq(b->m->ram[0x1003], FW_CFG_DMA_ERROR);
    dma_request(b, 0x1000, FW_CFG_DMA_WRITE, 4, 0x2000);        /* read-only items */
    ck_assert_uint_eq(b->m->ram[0x1003], FW_CFG_DMA_ERROR);
    out(b, FW_CFG_PORT_DMA + 4, swap32(RAM_SIZE - 4), 4);       /* block outside RAM: ignored */
    board_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chipset");
    TCase *tc = tcase_create("chipset");
    tcase_add_test(tc, port92_a20_and_reset);
    tcase_add_test(tc, reset_control_register);
    tcase_add_test(tc, kbc_self_test_and_command_byte);
    tcase_add_test(tc, kbc_a20_and_reset);
    tcase_add_test(tc, keyboard_reset_identify_and_translation);
    tcase_add_test(tc, mouse_reset_identify_and_stream);
    tcase_add_test(tc, i8042_save_load_round_trip);
    tcase_add_test(tc, pci_config_layout);
    tcase_add_test(tc, pam_registers_drive_shadowing);
    tcase_add_test(tc, pci_bar_sizing_and_moves);
    tcase_add_test(tc, pci_pirq_routing);
    tcase_add_test(tc, pci_assign_gives_windows_and_lines);
    tcase_add_test(tc, pm_timer_rate_and_sci);
    tcase_add_test(tc, pm_s5_powers_off);
    tcase_add_test(tc, fw_cfg_signature_id_and_directory);
    tcase_add_test(tc, fw_cfg_dma_read);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
