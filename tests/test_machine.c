/* test_machine.c — Check tests for the board (machine/), the CLI parser
 * (frontend/options.c) and, in the "cpu" group, whole-machine runs.
 *
 * Run with "units" for everything that needs no working CPU core, or "cpu"
 * for the tests that execute guest code (the demo and a BIOS image).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "frontend/options.h"
#include "machine/demo.h"
#include "machine/irq.h"
#include "machine/machine.h"
#include "machine/memmap.h"
#include "machine/portio.h"
#include "machine/scheduler.h"
#include "machine/vclock.h"
#include "plan86.h"

/* ---- a recording MMIO / port device ---- */

struct recorder {
    int calls;
    uint32_t last_addr, last_val;
    int last_size;
    uint32_t read_value;
};

static uint32_t rec_mmio_read(void *opaque, uint32_t off, int size)
{
    struct recorder *r = opaque;
    r->calls++;
    r->last_addr = off;
    r->last_size = size;
    return r->read_value;
}

static void rec_mmio_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct recorder *r = opaque;
    r->calls++;
    r->last_addr = off;
    r->last_val = val;
    r->last_size = size;
}

static uint32_t rec_port_read(void *opaque, uint16_t port, int size)
{
    return rec_mmio_read(opaque, port, size);
}

static void rec_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    rec_mmio_write(opaque, port, val, size);
}

/* ---- memory map ---- */

static uint8_t test_ram[64 * 1024];
static uint8_t test_rom[8 * 1024];

static void add_ram_rom(struct memmap *mm)
{
    memset(test_ram, 0, sizeof test_ram);
    for (size_t k = 0; k < sizeof test_rom; k++)
        test_rom[k] = (uint8_t)k;
    struct mem_region ram = { .base = 0, .size = sizeof test_ram, .kind = MEM_RAM, .host = test_ram };
    struct mem_region rom = { .base = 0xE000, .size = sizeof test_rom, .kind = MEM_ROM, .priority = 1, .host = test_rom };
    ck_assert_ptr_null(memmap_add(mm, &ram));
    ck_assert_ptr_null(memmap_add(mm, &rom));
}

START_TEST(memmap_ram_and_rom)
{
    struct memmap mm;
    memmap_init(&mm);
    add_ram_rom(&mm);
    memmap_write(&mm, 0x100, 0x11223344, 4);
    ck_assert_uint_eq(memmap_read(&mm, 0x100, 4), 0x11223344);
    ck_assert_uint_eq(memmap_read(&mm, 0x101, 2), 0x2233);
    ck_assert_uint_eq(test_ram[0x100], 0x44);
    /* ROM over RAM at 0xE000..0xFFFF: reads the ROM, writes change nothing */
    ck_assert_uint_eq(memmap_read(&mm, 0xE010, 1), 0x10);
    memmap_write(&mm, 0xE010, 0xAA, 1);
    ck_assert_uint_eq(memmap_read(&mm, 0xE010, 1), 0x10);
    ck_assert_uint_eq(test_ram[0xE010], 0);
}
END_TEST

START_TEST(memmap_mmio_routing)
{
    struct memmap mm;
    memmap_init(&mm);
    add_ram_rom(&mm);
    struct recorder rec = { .read_value = 0xCAFEBABE };
    struct mem_region io = { .base = 0x2000, .size = 0x100, .kind = MEM_MMIO, .priority = 2,
                             .read = rec_mmio_read, .write = rec_mmio_write, .opaque = &rec };
    ck_assert_ptr_null(memmap_add(&mm, &io));
    ck_assert_uint_eq(memmap_read(&mm, 0x2010, 4), 0xCAFEBABE);
    ck_assert_uint_eq(rec.last_addr, 0x10);
    ck_assert_int_eq(rec.last_size, 4);
    ck_assert_uint_eq(memmap_read(&mm, 0x2010, 2), 0xBABE);
    memmap_write(&mm, 0x20FE, 0xBEEF, 2);
    ck_assert_uint_eq(rec.last_addr, 0xFE);
    ck_assert_uint_eq(rec.last_val, 0xBEEF);
    ck_assert_int_eq(rec.last_size, 2);
    /* the RAM underneath is untouched; RAM around the hole still works */
    ck_assert_uint_eq(test_ram[0x20FE], 0);
    memmap_write(&mm, 0x2100, 0x5A, 1);
    ck_assert_uint_eq(test_ram[0x2100], 0x5A);
}
END_TEST

START_TEST(memmap_straddling_and_unmapped)
{
    struct memmap mm;
    memmap_init(&mm);
    add_ram_rom(&mm);
    /* unmapped: all ones for every size, writes dropped */
    ck_assert_uint_eq(memmap_read(&mm, 0x80000, 1), 0xFF);
    ck_assert_uint_eq(memmap_read(&mm, 0x80000, 2), 0xFFFF);
    ck_assert_uint_eq(memmap_read(&mm, 0xFFFFFFFC, 4), 0xFFFFFFFF);
    memmap_write(&mm, 0x80000, 0x12345678, 4);
    ck_assert_ptr_null(memmap_find(&mm, 0x80000));
    /* straddling the end of the ROM (end of mapped memory): split into bytes */
    ck_assert_uint_eq(memmap_read(&mm, 0xFFFE, 4), 0xFFFFFFFE);
    /* straddling RAM -> ROM */
    test_ram[0xDFFF] = 0x77;
    ck_assert_uint_eq(memmap_read(&mm, 0xDFFF, 2), 0x0077);
}
END_TEST

START_TEST(memmap_rejects_bad_regions)
{
    struct memmap mm;
    memmap_init(&mm);
    add_ram_rom(&mm);
    struct mem_region same_prio = { .base = 0x1000, .size = 0x1000, .kind = MEM_RAM, .host = test_ram };
    ck_assert_ptr_nonnull(memmap_add(&mm, &same_prio));
    struct mem_region beyond = { .base = 0xFFFFF000, .size = 0x2000, .kind = MEM_ROM, .priority = 5, .host = test_rom };
    ck_assert_ptr_nonnull(memmap_add(&mm, &beyond));
    struct mem_region empty = { .base = 0x100000, .size = 0, .kind = MEM_RAM, .priority = 5, .host = test_ram };
    ck_assert_ptr_nonnull(memmap_add(&mm, &empty));
    struct mem_region top = { .base = 0xFFFFE000, .size = 0x2000, .kind = MEM_ROM, .priority = 5, .host = test_rom };
    ck_assert_ptr_null(memmap_add(&mm, &top));
    ck_assert_uint_eq(memmap_read(&mm, 0xFFFFFFFF, 1), test_rom[0x1FFF]);
}
END_TEST

START_TEST(memmap_page_pointers)
{
    struct memmap mm;
    memmap_init(&mm);
    add_ram_rom(&mm);
    struct recorder rec = { 0 };
    struct mem_region io = { .base = 0x3800, .size = 0x100, .kind = MEM_MMIO, .priority = 2,
                             .read = rec_mmio_read, .write = rec_mmio_write, .opaque = &rec };
    ck_assert_ptr_null(memmap_add(&mm, &io));
    ck_assert_ptr_eq(memmap_page_ptr(&mm, 0x1234, true), test_ram + 0x1000);
    ck_assert_ptr_eq(memmap_page_ptr(&mm, 0xF123, false), test_rom + 0x1000);
    ck_assert_ptr_null(memmap_page_ptr(&mm, 0xF123, true));      /* ROM: no write pointer */
    ck_assert_ptr_null(memmap_page_ptr(&mm, 0x3000, false));     /* page shared with MMIO */
    ck_assert_ptr_null(memmap_page_ptr(&mm, 0x90000, false));    /* unmapped */
    ck_assert_int_eq(rec.calls, 0);
}
END_TEST

/* ---- port bus ---- */

START_TEST(ports_unclaimed_read_all_ones)
{
    static struct portbus bus;
    portbus_init(&bus);
    ck_assert_uint_eq(portbus_read(&bus, 0x80, 1), 0xFF);
    ck_assert_uint_eq(portbus_read(&bus, 0x80, 2), 0xFFFF);
    ck_assert_uint_eq(portbus_read(&bus, 0x80, 4), 0xFFFFFFFF);
    portbus_write(&bus, 0x80, 0x1234, 2);
}
END_TEST

START_TEST(ports_sizes_and_splitting)
{
    static struct portbus bus;
    portbus_init(&bus);
    struct recorder wide = { .read_value = 0x89ABCDEF }, narrow = { .read_value = 0x42 };
    ck_assert_ptr_null(portbus_register(&bus, 0x1F0, 8, PORT_SIZE_ALL, rec_port_read, rec_port_write, &wide));
    ck_assert_ptr_null(portbus_register(&bus, 0x60, 2, PORT_SIZE_8, rec_port_read, rec_port_write, &narrow));
    ck_assert_uint_eq(portbus_read(&bus, 0x1F0, 4), 0x89ABCDEF);
    ck_assert_int_eq(wide.calls, 1);
    ck_assert_int_eq(wide.last_size, 4);
    ck_assert_uint_eq(portbus_read(&bus, 0x1F0, 2), 0xCDEF);
    portbus_write(&bus, 0x1F2, 0xABCD, 2);
    ck_assert_uint_eq(wide.last_addr, 0x1F2);
    ck_assert_uint_eq(wide.last_val, 0xABCD);
    /* 8-bit-only device: a 16-bit access becomes two byte accesses */
    ck_assert_uint_eq(portbus_read(&bus, 0x60, 2), 0x4242);
    ck_assert_int_eq(narrow.calls, 2);
    ck_assert_int_eq(narrow.last_size, 1);
    portbus_write(&bus, 0x60, 0xBEEF, 2);
    ck_assert_uint_eq(narrow.last_addr, 0x61);
    ck_assert_uint_eq(narrow.last_val, 0xBE);
    /* straddling the end of a claim: the unclaimed half reads all ones */
    ck_assert_uint_eq(portbus_read(&bus, 0x61, 2), 0xFF42);
    ck_assert_uint_eq(portbus_read(&bus, 0x1F6, 4), 0xFFFFCDEF);
}
END_TEST

START_TEST(ports_reject_bad_claims)
{
    static struct portbus bus;
    portbus_init(&bus);
    struct recorder rec = { 0 };
    ck_assert_ptr_null(portbus_register(&bus, 0x3F8, 8, PORT_SIZE_8, rec_port_read, rec_port_write, &rec));
    ck_assert_ptr_nonnull(portbus_register(&bus, 0x3FF, 2, PORT_SIZE_8, rec_port_read, rec_port_write, &rec));
    ck_assert_ptr_nonnull(portbus_register(&bus, 0xFFFF, 2, PORT_SIZE_8, rec_port_read, rec_port_write, &rec));
    ck_assert_ptr_nonnull(portbus_register(&bus, 0x100, 0, PORT_SIZE_8, rec_port_read, rec_port_write, &rec));
    ck_assert_ptr_null(portbus_register(&bus, 0xFFFF, 1, PORT_SIZE_8, rec_port_read, rec_port_write, &rec));
}
END_TEST

struct tap_log {
    uint16_t ports[16];
    uint8_t bytes[16];
    int count;
};

static void log_tap(void *opaque, uint16_t port, uint8_t byte)
{
    struct tap_log *l = opaque;
    if (l->count < 16) {
        l->ports[l->count] = port;
        l->bytes[l->count++] = byte;
    }
}

START_TEST(ports_write_taps_watch_without_owning)
{
    static struct portbus bus;
    portbus_init(&bus);
    struct recorder dev = { 0 };
    struct tap_log taps = { .count = 0 };
    ck_assert_ptr_null(portbus_register(&bus, 0xE9, 1, PORT_SIZE_8, rec_port_read, rec_port_write, &dev));
    ck_assert_ptr_null(portbus_add_tap(&bus, 0xE9, log_tap, &taps));
    ck_assert_ptr_null(portbus_add_tap(&bus, 0x80, log_tap, &taps));
    ck_assert_ptr_null(portbus_add_tap(&bus, 0x81, log_tap, &taps));
    ck_assert_ptr_null(portbus_add_tap(&bus, 0xFFFF, log_tap, &taps));
    /* the owner still gets the write, and the tap sees the byte */
    portbus_write(&bus, 0xE9, 'x', 1);
    ck_assert_int_eq(dev.calls, 1);
    ck_assert_uint_eq(dev.last_val, 'x');
    ck_assert_int_eq(taps.count, 1);
    ck_assert_uint_eq(taps.ports[0], 0xE9);
    ck_assert_uint_eq(taps.bytes[0], 'x');
    /* a word write to unclaimed ports: each tapped port gets its own byte */
    portbus_write(&bus, 0x80, 0xBBAA, 2);
    ck_assert_int_eq(taps.count, 3);
    ck_assert_uint_eq(taps.ports[1], 0x80);
    ck_assert_uint_eq(taps.bytes[1], 0xAA);
    ck_assert_uint_eq(taps.ports[2], 0x81);
    ck_assert_uint_eq(taps.bytes[2], 0xBB);
    /* a dword write starting at 0x7F covers 0x80 and 0x81 with its middle bytes */
    portbus_write(&bus, 0x7F, 0x44332211, 4);
    ck_assert_int_eq(taps.count, 5);
    ck_assert_uint_eq(taps.bytes[3], 0x22);
    ck_assert_uint_eq(taps.bytes[4], 0x33);
    /* reads are not logged; a write wrapping past 0xFFFF reaches the tap there */
    ck_assert_uint_eq(portbus_read(&bus, 0x80, 1), 0xFF);
    portbus_write(&bus, 0xFFFF, 0x1234, 2);
    ck_assert_int_eq(taps.count, 6);
    ck_assert_uint_eq(taps.ports[5], 0xFFFF);
    ck_assert_uint_eq(taps.bytes[5], 0x34);
    ck_assert_int_eq(dev.calls, 1);
    ck_assert_ptr_nonnull(portbus_add_tap(&bus, 0x10, NULL, NULL));
    while (bus.ntaps < PORTBUS_MAX_TAPS)
        ck_assert_ptr_null(portbus_add_tap(&bus, 0x10, log_tap, &taps));
    ck_assert_ptr_nonnull(portbus_add_tap(&bus, 0x10, log_tap, &taps));
}
END_TEST

/* ---- IRQ lines and the stand-in controller ---- */

struct line_log {
    int changes;
    int last_line;
    bool last_level;
};

static void log_line_changed(void *opaque, int line, bool level)
{
    struct line_log *l = opaque;
    l->changes++;
    l->last_line = line;
    l->last_level = level;
}

static uint8_t log_ack(void *opaque)
{
    (void)opaque;
    return 0x99;
}

static const struct irq_controller logging_controller = { log_line_changed, log_ack };

START_TEST(irq_lines_report_changes_only)
{
    struct line_log log = { 0 };
    struct irq_lines irq;
    irq_lines_init(&irq, &logging_controller, &log);
    irq_raise(&irq, 3);
    irq_raise(&irq, 3);
    ck_assert_int_eq(log.changes, 1);
    ck_assert(irq_level(&irq, 3));
    irq_lower(&irq, 3);
    ck_assert_int_eq(log.changes, 2);
    ck_assert(!log.last_level);
    irq_pulse(&irq, 5);
    ck_assert_int_eq(log.changes, 4);
    ck_assert_int_eq(log.last_line, 5);
    ck_assert(!irq_level(&irq, 5));
    irq_raise(&irq, IRQ_LINES);
    irq_raise(&irq, -1);
    ck_assert_int_eq(log.changes, 4);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x99);
}
END_TEST

static void store_intr(void *opaque, bool level)
{
    *(bool *)opaque = level;
}

START_TEST(irq_basic_edge_and_level)
{
    bool intr = false;
    struct irq_basic b;
    struct irq_lines irq;
    irq_basic_init(&b, 0x20, store_intr, &intr);
    irq_lines_init(&irq, &irq_basic_controller, &b);
    irq_basic_set_trigger(&b, 9, IRQ_LEVEL);

    /* edge: one interrupt per rising edge, even while the line stays high */
    irq_raise(&irq, 4);
    ck_assert(intr);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x24);
    ck_assert(!intr);
    ck_assert_uint_eq(irq_acknowledge(&irq), irq_basic_spurious_vector(&b));
    irq_pulse(&irq, 4);
    ck_assert(intr);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x24);

    /* level: pending exactly while the line is high */
    irq_raise(&irq, 9);
    ck_assert(intr);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x29);
    ck_assert(intr);
    irq_lower(&irq, 9);
    ck_assert(!intr);

    /* the lowest line wins */
    irq_raise(&irq, 9);
    irq_pulse(&irq, 2);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x22);
    ck_assert_uint_eq(irq_acknowledge(&irq), 0x29);
}
END_TEST

/* ---- scheduler ---- */

struct fire_log {
    int order[64];
    int count;
};

struct test_timer {
    struct timer t;
    struct fire_log *log;
    int id;
    struct sched *s;
    uint64_t rearm_at;   /* 0: do not re-arm */
};

static void log_fire(void *opaque)
{
    struct test_timer *tt = opaque;
    tt->log->order[tt->log->count++] = tt->id;
    if (tt->rearm_at) {
        uint64_t at = tt->rearm_at;
        tt->rearm_at = 0;
        sched_arm(tt->s, &tt->t, at);
    }
}

static void make_timers(struct test_timer *tt, int n, struct sched *s, struct fire_log *log)
{
    for (int k = 0; k < n; k++) {
        tt[k] = (struct test_timer){ .log = log, .id = k, .s = s };
        timer_init(&tt[k].t, log_fire, &tt[k]);
    }
}

START_TEST(sched_orders_by_deadline_then_arming)
{
    struct sched s;
    struct fire_log log = { .count = 0 };
    struct test_timer tt[5];
    sched_init(&s);
    make_timers(tt, 5, &s, &log);
    sched_arm(&s, &tt[0].t, 300);
    sched_arm(&s, &tt[1].t, 100);
    sched_arm(&s, &tt[2].t, 200);
    sched_arm(&s, &tt[3].t, 100);
    sched_arm(&s, &tt[4].t, 500);
    ck_assert_uint_eq(sched_next_deadline(&s), 100);
    ck_assert_uint_eq(sched_run_due(&s, 99), 0);
    ck_assert_uint_eq(sched_run_due(&s, 300), 4);
    int want[] = { 1, 3, 2, 0 };
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(log.order[k], want[k]);
    ck_assert(timer_armed(&tt[4].t));
    ck_assert_uint_eq(sched_next_deadline(&s), 500);
    sched_free(&s);
    ck_assert(!timer_armed(&tt[4].t));
}
END_TEST

START_TEST(sched_cancel_and_rearm)
{
    struct sched s;
    struct fire_log log = { .count = 0 };
    struct test_timer tt[4];
    sched_init(&s);
    make_timers(tt, 4, &s, &log);
    for (int k = 0; k < 4; k++)
        sched_arm(&s, &tt[k].t, 100 + (uint64_t)k * 10);
    sched_cancel(&s, &tt[0].t);
    sched_cancel(&s, &tt[0].t);           /* cancelling an idle timer is harmless */
    sched_arm(&s, &tt[3].t, 50);           /* moves it to the front */
    tt[1].rearm_at = 105;                  /* re-arms itself inside the sweep */
    ck_assert_uint_eq(sched_next_deadline(&s), 50);
    ck_assert_uint_eq(sched_run_due(&s, 1000), 4);
    int want[] = { 3, 1, 1, 2 };
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(log.order[k], want[k]);
    ck_assert_uint_eq(sched_next_deadline(&s), SCHED_NEVER);
    sched_free(&s);
}
END_TEST

START_TEST(sched_many_timers_stay_sorted)
{
    enum { N = 48 };
    struct sched s;
    struct fire_log log = { .count = 0 };
    struct test_timer tt[N];
    sched_init(&s);
    make_timers(tt, N, &s, &log);
    for (int k = 0; k < N; k++)
        sched_arm(&s, &tt[k].t, (uint64_t)((k * 37) % N) * 7);
    for (int k = 0; k < N; k += 3)
        sched_cancel(&s, &tt[k].t);
    sched_run_due(&s, SCHED_NEVER - 1);
    ck_assert_int_eq(log.count, N - N / 3);
    for (int k = 1; k < log.count; k++)
        ck_assert_uint_le(tt[log.order[k - 1]].t.deadline, tt[log.order[k]].t.deadline);
    sched_free(&s);
}
END_TEST

/* ---- virtual clock ---- */

START_TEST(clock_deterministic)
{
    struct vclock vc;
    vclock_init(&vc, true, 3, 1000);
    ck_assert_uint_eq(vclock_now(&vc, 1000), 0);
    ck_assert_uint_eq(vclock_now(&vc, 1010), 30);
    vclock_resume(&vc);
    vclock_pause(&vc);
    ck_assert_uint_eq(vclock_now(&vc, 1010), 30);
    vclock_skip_to(&vc, 500, 1010);
    ck_assert_uint_eq(vclock_now(&vc, 1010), 500);
    ck_assert_uint_eq(vclock_now(&vc, 1012), 506);
    vclock_skip_to(&vc, 100, 1012);       /* never backwards */
    ck_assert_uint_eq(vclock_now(&vc, 1012), 506);
    ck_assert_uint_eq(vclock_insns_until(&vc, 512, 1012), 2);
    ck_assert_uint_eq(vclock_insns_until(&vc, 513, 1012), 3);
    ck_assert_uint_eq(vclock_insns_until(&vc, 10, 1012), 1);
}
END_TEST

START_TEST(clock_realtime_stands_still_when_paused)
{
    struct vclock vc;
    vclock_init(&vc, false, 1, 0);
    ck_assert_uint_eq(vclock_now(&vc, 0), 0);
    vclock_resume(&vc);
    usleep(2000);
    uint64_t t1 = vclock_now(&vc, 0);
    ck_assert_uint_ge(t1, 1000000);
    vclock_pause(&vc);
    uint64_t t2 = vclock_now(&vc, 0);
    usleep(2000);
    ck_assert_uint_eq(vclock_now(&vc, 12345), t2);
    ck_assert_uint_ge(t2, t1);
}
END_TEST

/* ---- the board ---- */

struct capture {
    char text[4096];
    size_t len;
};

static void capture_console(void *opaque, const uint8_t *bytes, size_t len)
{
    struct capture *c = opaque;
    for (size_t k = 0; k < len && c->len + 1 < sizeof c->text; k++)
        c->text[c->len++] = (char)bytes[k];
    c->text[c->len] = '\0';
}

START_TEST(machine_board_wiring)
{
    char err[200];
    struct machine *m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    struct capture cap = { .len = 0 };
    m->console_fn = capture_console;
    m->console_opaque = &cap;
    portbus_write(&m->io, 0xE9, 'h', 1);
    portbus_write(&m->io, 0xE9, 'i', 1);
    ck_assert_str_eq(cap.text, "hi");
    ck_assert_uint_eq(portbus_read(&m->io, 0xE9, 1), 0xE9);
    ck_assert_uint_eq(portbus_read(&m->io, 0x1234, 2), 0xFFFF);

    static const uint8_t rom[4096] = { 0x5A };
    ck_assert_ptr_null(machine_map_rom(m, 0xC0000, rom, sizeof rom));
    ck_assert_uint_eq(memmap_read(&m->mem, 0xC0000, 1), 0x5A);
    ck_assert_ptr_nonnull(machine_map_rom(m, 0xC0800, rom, sizeof rom));   /* overlaps a ROM */

    static const uint8_t data[4] = { 1, 2, 3, 4 };
    ck_assert(machine_phys_write(m, 0x500, data, 4));
    ck_assert_uint_eq(memmap_read(&m->mem, 0x500, 4), 0x04030201);
    ck_assert(!machine_phys_write(m, (1u << 20) - 2, data, 4));
    ck_assert_uint_eq(m->ram[(1u << 20) - 1], 2);

    struct recorder rec = { .read_value = 0x12345678 };
    ck_assert_ptr_null(machine_map_mmio(m, 0x3000, 0x100, rec_mmio_read, rec_mmio_write, &rec));
    ck_assert_uint_eq(memmap_read(&m->mem, 0x3004, 2), 0x5678);
    ck_assert_uint_eq(rec.last_addr, 4);

    /* IRQ lines reach INTR through the stand-in controller until a PIC is installed */
    machine_irq_raise(m, 1);
    ck_assert(m->intr_level);
    machine_irq_lower(m, 1);
    ck_assert(m->intr_level);          /* edge-triggered: latched until acknowledged */
    struct line_log log = { 0 };
    machine_set_irq_controller(m, &logging_controller, &log);
    ck_assert(!m->intr_level);
    machine_irq_pulse(m, 7);
    ck_assert_int_eq(log.changes, 2);

    struct timer t;
    timer_init(&t, NULL, NULL);
    machine_timer_arm(m, &t, 100);
    ck_assert_uint_eq(sched_next_deadline(&m->sched), 100);
    machine_timer_cancel(m, &t);
    ck_assert_uint_eq(sched_next_deadline(&m->sched), SCHED_NEVER);
    machine_free(m);
}
END_TEST

START_TEST(machine_rejects_bad_config)
{
    struct plan86_config cfg;
    char err[200] = "";
    plan86_config_defaults(&cfg);
    cfg.memory_bytes = 512 * 1024;
    ck_assert_ptr_null(plan86_create(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "memory"));
    plan86_config_defaults(&cfg);
    cfg.bios_path = "/nonexistent/bios.bin";
    ck_assert_ptr_null(plan86_create(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/bios.bin"));

    char path[] = "/tmp/plan86-test-bios-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static const uint8_t junk[1000];
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    cfg.bios_path = path;
    ck_assert_ptr_null(plan86_create(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "64 or 128 KiB"));
    unlink(path);
}
END_TEST

static char *read_text_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

START_TEST(machine_port_logs_append)
{
    char path[] = "/tmp/plan86-test-portlog-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "old:", 4), 4);
    close(fd);
    char err[200];
    struct machine *m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    struct capture cap = { .len = 0 };
    m->console_fn = capture_console;
    m->console_opaque = &cap;
    ck_assert_msg(machine_add_port_log(m, 0xE9, path, err, sizeof err), "%s", err);
    ck_assert_msg(machine_add_port_log(m, 0x80, path, err, sizeof err), "%s", err);
    portbus_write(&m->io, 0xE9, 'h', 1);
    portbus_write(&m->io, 0x80, '1', 1);
    portbus_write(&m->io, 0xE9, 'i', 1);
    ck_assert_str_eq(cap.text, "hi");          /* the debug console still works */
    machine_free(m);                           /* closes (and flushes) the logs */
    char text[64];
    /* two FILE streams on one file: each keeps its own bytes in order */
    read_text_file(path, text, sizeof text);
    ck_assert_int_eq(strlen(text), 7);
    ck_assert_int_eq(strncmp(text, "old:", 4), 0);
    ck_assert_ptr_nonnull(strstr(text, "hi"));
    ck_assert_ptr_nonnull(strchr(text, '1'));
    unlink(path);

    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.port_logs[cfg.nport_logs++] = (struct plan86_port_log){ 0x190, "/nonexistent/dir/post.log" };
    ck_assert_ptr_null(plan86_create(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/post.log"));
    ck_assert_ptr_nonnull(strstr(err, "0x0190"));
    ck_assert_ptr_null(strchr(err, '\n'));
    cfg.nport_logs = PLAN86_MAX_PORT_LOGS + 1;
    ck_assert_ptr_null(plan86_create(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "port logs"));
}
END_TEST

static void count_reset(void *opaque)
{
    ++*(int *)opaque;
}

START_TEST(machine_reset_restores_power_on_state)
{
    struct capture cap;
    char err[200];
    struct machine *m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    (void)cap;
    int hook_calls = 0;
    ck_assert_ptr_null(machine_add_reset_hook(m, count_reset, &hook_calls));
    ck_assert_ptr_nonnull(machine_add_reset_hook(m, NULL, NULL));
    m->ram[0x500] = 0x77;
    cpu_set_eip(m->cpu, 0x1234);
    machine_irq_pulse(m, 3);                   /* an edge the CPU never took */
    ck_assert(m->intr_level);
    machine_reset(m);
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_uint_eq(m->resets, 1);
    ck_assert_uint_eq(m->ram[0x500], 0x77);    /* RAM is kept */
    ck_assert_uint_eq(cpu_get_eip(m->cpu), 0xFFF0);
    ck_assert_uint_eq(cpu_get_seg(m->cpu, S_CS)->base, 0xFFFF0000u);
    ck_assert(!m->intr_level);
    machine_free(m);
}
END_TEST

/* ---- command line and config file ---- */

static bool parse_args(struct cli_options *o, char *err, size_t err_size, int argc, const char **argv)
{
    return cli_parse(argc, (char *const *)argv, o, err, err_size);
}

#define PARSE(o, err, ...) \
    parse_args(o, err, sizeof err, (int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)), \
               (const char *[]){ __VA_ARGS__ })

START_TEST(cli_sizes_and_seconds)
{
    unsigned long long v;
    ck_assert(cli_parse_size("256M", &v) && v == 256ull << 20);
    ck_assert(cli_parse_size("1G", &v) && v == 1ull << 30);
    ck_assert(cli_parse_size("64k", &v) && v == 64ull << 10);
    ck_assert(cli_parse_size("2GiB", &v) && v == 2ull << 30);
    ck_assert(cli_parse_size("300", &v) && v == 300ull << 20);
    ck_assert(!cli_parse_size("", &v));
    ck_assert(!cli_parse_size("-5M", &v));
    ck_assert(!cli_parse_size("12X", &v));
    ck_assert(!cli_parse_size("99999999999999999999G", &v));
    ck_assert(cli_parse_seconds("2.5", &v) && v == 2500000000ull);
    ck_assert(!cli_parse_seconds("0", &v));
    ck_assert(!cli_parse_seconds("5s", &v));
    ck_assert(!cli_parse_seconds("nan", &v));
}
END_TEST

START_TEST(cli_options_apply)
{
    struct cli_options o;
    char err[200];
    ck_assert(PARSE(&o, err, "plan86", "-m", "256M", "--deterministic", "--timeout=1.5", "--demo"));
    ck_assert_uint_eq(o.config.memory_bytes, 256ull << 20);
    ck_assert(o.config.deterministic && o.config.demo);
    ck_assert_uint_eq(o.config.timeout_ns, 1500000000ull);
    ck_assert(!o.help);
    cli_options_free(&o);
    ck_assert(PARSE(&o, err, "plan86", "--memory=1G", "--bios", "x.bin", "-h"));
    ck_assert_uint_eq(o.config.memory_bytes, 1ull << 30);
    ck_assert_str_eq(o.config.bios_path, "x.bin");
    ck_assert(o.help);
    cli_options_free(&o);
}
END_TEST

START_TEST(cli_errors_are_one_clear_line)
{
    struct cli_options o;
    char err[200];
    ck_assert(!PARSE(&o, err, "plan86", "--frobnicate"));
    ck_assert_ptr_nonnull(strstr(err, "--frobnicate"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "-m", "lots"));
    ck_assert_ptr_nonnull(strstr(err, "lots"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "-m", "8G"));
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "--bios"));
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "--demo=yes"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "stray"));
    ck_assert_ptr_nonnull(strstr(err, "stray"));
    cli_options_free(&o);
    ck_assert(!PARSE(&o, err, "plan86", "--timeout", "-1"));
    ck_assert_ptr_null(strchr(err, '\n'));
    cli_options_free(&o);
}
END_TEST

START_TEST(cli_port_logs_and_no_reboot)
{
    struct cli_options o;
    char err[200];
    ck_assert_msg(PARSE(&o, err, "plan86", "--port-log", "0xE9=out.txt", "--no-reboot",
                        "--port-log=400=post.log"), "%s", err);
    ck_assert(o.config.no_reboot);
    ck_assert_int_eq(o.config.nport_logs, 2);
    ck_assert_uint_eq(o.config.port_logs[0].port, 0xE9);
    ck_assert_str_eq(o.config.port_logs[0].path, "out.txt");
    ck_assert_uint_eq(o.config.port_logs[1].port, 400);
    ck_assert_str_eq(o.config.port_logs[1].path, "post.log");
    cli_options_free(&o);

    static const char *const bad[] = {
        "0x10000=f", "65536=f", "0xE9", "0xE9=", "=f", "0x=f", "E9=f", "-1=f", "0xE9 =f", "12a=f",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ck_assert_msg(!PARSE(&o, err, "plan86", "--port-log", bad[k]), "%s accepted", bad[k]);
        ck_assert_ptr_nonnull(strstr(err, "--port-log"));
        ck_assert_ptr_nonnull(strstr(err, bad[k]));
        cli_options_free(&o);
    }
    uint16_t port;
    const char *path;
    ck_assert(cli_parse_port_log("0xffff=a=b", &port, &path));
    ck_assert_uint_eq(port, 0xFFFF);
    ck_assert_str_eq(path, "a=b");

    const char *many[2 * PLAN86_MAX_PORT_LOGS + 3] = { "plan86" };
    for (int k = 0; k <= PLAN86_MAX_PORT_LOGS; k++) {
        many[1 + 2 * k] = "--port-log";
        many[2 + 2 * k] = "0x80=f";
    }
    ck_assert(!parse_args(&o, err, sizeof err, 2 * PLAN86_MAX_PORT_LOGS + 3, many));
    ck_assert_ptr_nonnull(strstr(err, "at most"));
    cli_options_free(&o);
}
END_TEST

START_TEST(cli_json_port_logs)
{
    struct cli_options o = { .nowned = 0 };
    char err[200];
    plan86_config_defaults(&o.config);
    ck_assert_msg(cli_apply_json(&o, "{\"port-log\": \"0x190=post.log\", \"no-reboot\": true}",
                                 "cfg.json", err, sizeof err), "%s", err);
    ck_assert(o.config.no_reboot);
    ck_assert_int_eq(o.config.nport_logs, 1);
    ck_assert_uint_eq(o.config.port_logs[0].port, 0x190);
    ck_assert_str_eq(o.config.port_logs[0].path, "post.log");
    ck_assert_msg(cli_apply_json(&o, "{\"port-log\": [\"0xE9=a.txt\", \"128=b.txt\"]}",
                                 "cfg.json", err, sizeof err), "%s", err);
    ck_assert_int_eq(o.config.nport_logs, 3);
    ck_assert_str_eq(o.config.port_logs[2].path, "b.txt");
    ck_assert_uint_eq(o.config.port_logs[2].port, 0x80);
    ck_assert(!cli_apply_json(&o, "{\"port-log\": 233}", "cfg.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "PORT=FILE"));
    ck_assert(!cli_apply_json(&o, "{\"port-log\": [\"0x99999=x\"]}", "cfg.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cfg.json"));
    ck_assert_ptr_nonnull(strstr(err, "0x99999=x"));
    cli_options_free(&o);
}
END_TEST

START_TEST(cli_json_config)
{
    struct cli_options o = { .nowned = 0 };
    char err[200];
    plan86_config_defaults(&o.config);
    ck_assert(cli_apply_json(&o, "{\"memory\": 64, \"bios\": \"fw.bin\", \"deterministic\": true,"
                                 " \"timeout\": 0.25}", "cfg.json", err, sizeof err));
    ck_assert_uint_eq(o.config.memory_bytes, 64ull << 20);
    ck_assert_str_eq(o.config.bios_path, "fw.bin");
    ck_assert(o.config.deterministic);
    ck_assert_uint_eq(o.config.timeout_ns, 250000000ull);
    ck_assert(!cli_apply_json(&o, "{\"memroy\": 64}", "cfg.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "memroy"));
    ck_assert(!cli_apply_json(&o, "{\"demo\": \"yes\"}", "cfg.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "true or false"));
    ck_assert(!cli_apply_json(&o, "{\"memory\": \"huge\"}", "cfg.json", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "cfg.json"));
    ck_assert(!cli_apply_json(&o, "{\"memory\": ", "cfg.json", err, sizeof err));
    ck_assert(!cli_apply_json(&o, "[1, 2]", "cfg.json", err, sizeof err));
    cli_options_free(&o);
}
END_TEST

START_TEST(cli_command_line_beats_config_file)
{
    char path[] = "/tmp/plan86-test-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *json = "{\"memory\": \"512M\", \"demo\": true, \"timeout\": 9}";
    ck_assert_int_eq(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    struct cli_options o;
    char err[200];
    ck_assert_msg(PARSE(&o, err, "plan86", "--timeout", "2", "--config", path), "%s", err);
    ck_assert_uint_eq(o.config.memory_bytes, 512ull << 20);
    ck_assert(o.config.demo);
    ck_assert_uint_eq(o.config.timeout_ns, 2000000000ull);
    cli_options_free(&o);
    unlink(path);
    ck_assert(!PARSE(&o, err, "plan86", "--config", path));
    ck_assert_ptr_nonnull(strstr(err, path));
    cli_options_free(&o);
}
END_TEST

/* ---- whole-machine runs (need a working CPU core) ---- */

static void expected_demo_output(char *out, size_t size)
{
    size_t len = (size_t)snprintf(out, size, "%s", DEMO_BANNER);
    uint32_t a = 0, b = 1;
    for (int k = 0; k < DEMO_FIB_COUNT; k++) {
        len += (size_t)snprintf(out + len, size - len, "%s%u", k ? " " : "", a);
        uint32_t next = a + b;
        a = b;
        b = next;
    }
    snprintf(out + len, size - len, "\n");
}

START_TEST(demo_runs_deterministically)
{
    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.demo = true;
    cfg.deterministic = true;
    cfg.timeout_ns = 100000000;   /* 0.1 s virtual = 1e8 instructions */
    char want[1024], err[200];
    expected_demo_output(want, sizeof want);
    for (int run = 0; run < 2; run++) {
        struct plan86 *p = plan86_create(&cfg, err, sizeof err);
        ck_assert_msg(p != NULL, "%s", err);
        struct capture cap = { .len = 0 };
        plan86_set_console(p, capture_console, &cap);
        ck_assert_int_eq(plan86_run(p), PLAN86_STOP_HALTED);
        ck_assert_str_eq(cap.text, want);
        struct plan86_stats st;
        plan86_get_stats(p, &st);
        ck_assert_uint_gt(st.instructions, 1000);
        ck_assert_uint_eq(st.virtual_ns, st.instructions);
        plan86_destroy(p);
    }
}
END_TEST

/* A 64 KiB real-mode BIOS: the reset vector far-jumps into the copy below
 * 1 MiB (F000:E000), which prints "OK" on port 0xE9 and halts. */
START_TEST(bios_image_runs_from_both_mappings)
{
    static uint8_t image[64 * 1024];
    static const uint8_t low_code[] = {
        0xB0, 'O', 0xE6, 0xE9,          /* mov al, 'O'; out 0xE9, al */
        0xB0, 'K', 0xE6, 0xE9,          /* mov al, 'K'; out 0xE9, al */
        0xFA, 0xF4,                     /* cli; hlt */
    };
    static const uint8_t reset[] = { 0xEA, 0x00, 0xE0, 0x00, 0xF0 };   /* jmp far F000:E000 */
    memset(image, 0xF4, sizeof image);
    memcpy(image + 0xE000, low_code, sizeof low_code);
    memcpy(image + 0xFFF0, reset, sizeof reset);
    char path[] = "/tmp/plan86-test-bios-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, image, sizeof image), (ssize_t)sizeof image);
    close(fd);

    struct plan86_config cfg;
    plan86_config_defaults(&cfg);
    cfg.bios_path = path;
    cfg.deterministic = true;
    cfg.timeout_ns = 10000000;
    char err[200];
    struct plan86 *p = plan86_create(&cfg, err, sizeof err);
    unlink(path);
    ck_assert_msg(p != NULL, "%s", err);
    struct capture cap = { .len = 0 };
    plan86_set_console(p, capture_console, &cap);
    ck_assert_int_eq(plan86_run(p), PLAN86_STOP_HALTED);
    ck_assert_str_eq(cap.text, "OK");
    ck_assert_ptr_nonnull(strstr(plan86_stop_message(p), "halted for good"));
    plan86_destroy(p);
}
END_TEST

/* Maps a 64 KiB real-mode firmware at 0xF0000 and 0xFFFF0000 whose reset
 * vector far-jumps to `code` at F000:E000. */
static void map_test_firmware(struct machine *m, const uint8_t *code, size_t len)
{
    static uint8_t image[64 * 1024];
    static const uint8_t reset[] = { 0xEA, 0x00, 0xE0, 0x00, 0xF0 };   /* jmp far F000:E000 */
    memset(image, 0xF4, sizeof image);
    memcpy(image + 0xE000, code, len);
    memcpy(image + 0xFFF0, reset, sizeof reset);
    ck_assert_ptr_null(machine_map_rom(m, 0xF0000, image, sizeof image));
    ck_assert_ptr_null(machine_map_rom(m, 0xFFFF0000u, image, sizeof image));
}

static struct machine *new_test_machine(bool deterministic, struct capture *cap)
{
    char err[200];
    struct machine *m = machine_new_bare(1u << 20, deterministic, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    cap->len = 0;
    cap->text[0] = '\0';
    m->console_fn = capture_console;
    m->console_opaque = cap;
    return m;
}

static void pulse_irq0(void *opaque)
{
    machine_irq_pulse(opaque, 0);
}

/* A timer raises IRQ 0 while the guest waits in HLT; the handler prints "T". */
START_TEST(timer_interrupt_wakes_hlt)
{
    static const uint8_t code[] = {
        0xFA,                           /* E000 cli */
        0x31, 0xC0,                     /* E001 xor ax, ax */
        0x8E, 0xD8,                     /* E003 mov ds, ax */
        0x8E, 0xD0,                     /* E005 mov ss, ax */
        0xBC, 0x00, 0x70,               /* E007 mov sp, 0x7000 */
        0xC7, 0x06, 0x80, 0x00, 0x1A, 0xE0, /* E00A mov word [0x80], 0xE01A ; vector 0x20 */
        0xC7, 0x06, 0x82, 0x00, 0x00, 0xF0, /* E010 mov word [0x82], 0xF000 */
        0xFB,                           /* E016 sti */
        0xF4,                           /* E017 hlt */
        0xFA,                           /* E018 cli */
        0xF4,                           /* E019 hlt                 ; for good */
        0xB0, 'T', 0xE6, 0xE9,          /* E01A handler: mov al, 'T'; out 0xE9, al */
        0xCF,                           /* E01E iret */
    };
    struct capture cap;
    struct machine *m = new_test_machine(true, &cap);
    map_test_firmware(m, code, sizeof code);
    struct timer t;
    timer_init(&t, pulse_irq0, m);
    machine_timer_arm(m, &t, 5000);
    m->timeout_ns = 10000000;
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_HALTED);
    ck_assert_str_eq(cap.text, "T");
    ck_assert_uint_ge(machine_now_ns(m), 5000);
    ck_assert_uint_lt(cpu_icount(m->cpu), 100);
    machine_free(m);
}
END_TEST

START_TEST(timeout_and_idle_stops)
{
    static const uint8_t spin[] = { 0xEB, 0xFE };                 /* jmp $ */
    static const uint8_t sleep_forever[] = { 0xFB, 0xF4, 0xEB, 0xFD }; /* sti; hlt; jmp back */
    struct capture cap;

    struct machine *m = new_test_machine(true, &cap);
    map_test_firmware(m, spin, sizeof spin);
    m->timeout_ns = 1000000;
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_TIMEOUT);
    ck_assert_uint_ge(machine_now_ns(m), 1000000);
    ck_assert_uint_ge(cpu_icount(m->cpu), 1000000);
    machine_free(m);

    m = new_test_machine(true, &cap);
    map_test_firmware(m, sleep_forever, sizeof sleep_forever);
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_IDLE);
    machine_free(m);

    /* realtime: an idle guest sleeps on the host until the timeout */
    m = new_test_machine(false, &cap);
    map_test_firmware(m, sleep_forever, sizeof sleep_forever);
    m->timeout_ns = 20000000;
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_TIMEOUT);
    ck_assert_uint_ge(m->wall_ns, 20000000);
    ck_assert_uint_lt(cpu_icount(m->cpu), 1000);
    machine_free(m);
}
END_TEST

/* Every boot adds one to the byte at 0:0500 and prints it; the first two
 * boots then triple-fault (INT3 with an empty real-mode IDT: #GP, #DF,
 * shutdown), the third halts. */
static const uint8_t count_boots_code[] = {
    0x31, 0xC0,                         /* E000 xor ax, ax */
    0x8E, 0xD8,                         /* E002 mov ds, ax */
    0xFE, 0x06, 0x00, 0x05,             /* E004 inc byte [0x500] */
    0xA0, 0x00, 0x05,                   /* E008 mov al, [0x500] */
    0x04, '0',                          /* E00B add al, '0' */
    0xE6, 0xE9,                         /* E00D out 0xE9, al */
    0x3C, '3',                          /* E00F cmp al, '3' */
    0x74, 0x08,                         /* E011 je E01B */
    0x2E, 0x0F, 0x01, 0x1E, 0x20, 0xE0, /* E013 lidt cs:[0xE020] */
    0xCC,                               /* E019 int3 */
    0xF4,                               /* E01A hlt (never reached) */
    0xFA, 0xF4,                         /* E01B cli; hlt */
    0xF4, 0xF4, 0xF4,                   /* E01D */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* E020 IDT pointer: limit 0, base 0 */
};

START_TEST(triple_fault_resets_the_machine)
{
    struct capture cap;
    struct machine *m = new_test_machine(true, &cap);
    map_test_firmware(m, count_boots_code, sizeof count_boots_code);
    m->timeout_ns = 10000000;
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_HALTED);
    ck_assert_str_eq(cap.text, "123");
    ck_assert_uint_eq(m->resets, 2);
    /* a reset restores the map the guest first saw: RAM again under a later ROM */
    static const uint8_t rom[4096] = { 0x5A };
    ck_assert_ptr_null(machine_map_rom(m, 0xC0000, rom, sizeof rom));
    ck_assert_uint_eq(memmap_read(&m->mem, 0xC0000, 1), 0x5A);
    machine_reset(m);
    ck_assert_uint_eq(memmap_read(&m->mem, 0xC0000, 1), 0);
    ck_assert_uint_eq(memmap_read(&m->mem, 0xFFFFFFF0u, 1), 0xEA);
    machine_free(m);

    m = new_test_machine(true, &cap);
    map_test_firmware(m, count_boots_code, sizeof count_boots_code);
    m->no_reboot = true;
    m->timeout_ns = 10000000;
    ck_assert_int_eq(machine_run(m), PLAN86_STOP_SHUTDOWN);
    ck_assert_str_eq(cap.text, "1");
    ck_assert_uint_eq(m->resets, 0);
    ck_assert_ptr_nonnull(strstr(m->stop_msg, "triple fault"));
    machine_free(m);
}
END_TEST

/* ---- suites ---- */

static void add_case(Suite *s, const char *name, const TTest *tests[], size_t n)
{
    TCase *tc = tcase_create(name);
    for (size_t k = 0; k < n; k++)
        tcase_add_test(tc, tests[k]);
    suite_add_tcase(s, tc);
}

#define ADD_CASE(suite, name, ...) \
    add_case(suite, name, (const TTest *[]){ __VA_ARGS__ }, \
             sizeof((const TTest *[]){ __VA_ARGS__ }) / sizeof(const TTest *))

static Suite *unit_suite(void)
{
    Suite *s = suite_create("units");
    ADD_CASE(s, "memmap", memmap_ram_and_rom, memmap_mmio_routing, memmap_straddling_and_unmapped,
             memmap_rejects_bad_regions, memmap_page_pointers);
    ADD_CASE(s, "ports", ports_unclaimed_read_all_ones, ports_sizes_and_splitting, ports_reject_bad_claims,
             ports_write_taps_watch_without_owning);
    ADD_CASE(s, "irq", irq_lines_report_changes_only, irq_basic_edge_and_level);
    ADD_CASE(s, "sched", sched_orders_by_deadline_then_arming, sched_cancel_and_rearm,
             sched_many_timers_stay_sorted);
    ADD_CASE(s, "clock", clock_deterministic, clock_realtime_stands_still_when_paused);
    ADD_CASE(s, "board", machine_board_wiring, machine_rejects_bad_config, machine_port_logs_append,
             machine_reset_restores_power_on_state);
    ADD_CASE(s, "cli", cli_sizes_and_seconds, cli_options_apply, cli_errors_are_one_clear_line,
             cli_port_logs_and_no_reboot, cli_json_config, cli_json_port_logs,
             cli_command_line_beats_config_file);
    return s;
}

static Suite *cpu_suite(void)
{
    Suite *s = suite_create("cpu");
    ADD_CASE(s, "runs", demo_runs_deterministically, bios_image_runs_from_both_mappings,
             timer_interrupt_wakes_hlt, timeout_and_idle_stops, triple_fault_resets_the_machine);
    return s;
}

int main(int argc, char **argv)
{
    bool cpu = argc > 1 && strcmp(argv[1], "cpu") == 0;
    SRunner *sr = srunner_create(cpu ? cpu_suite() : unit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
