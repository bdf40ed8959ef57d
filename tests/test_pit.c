/* test_pit.c — Check tests for the 8254 PIT and port 0x61 (devices/pit.c).
 *
 * Each test builds a deterministic board, attaches a PIT and drives it
 * through its ports while moving the virtual clock by hand; IRQ 0 goes to a
 * recording controller, so the PIC plays no part. Times are exact: input
 * clock tick n happens at the first nanosecond >= n * 10^9 / 1193182.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "devices/pit.h"
#include "machine/machine.h"
#include "machine/snapshot.h"

#define CONTROL 0x43
#define PORT_B 0x61
#define MAX_RISES 64

/* ---- a board with a PIT and a recording IRQ controller ---- */

struct irq0_log {
    struct machine *m;
    int rises;
    uint64_t rise_ns[MAX_RISES];
    bool level;
};

static void log_line_changed(void *opaque, int line, bool level)
{
    struct irq0_log *log = opaque;
    if (line != PIT_IRQ)
        return;
    if (level && !log->level && log->rises < MAX_RISES)
        log->rise_ns[log->rises] = machine_now_ns(log->m);
    log->rises += level && !log->level;
    log->level = level;
}

static uint8_t log_ack(void *opaque)
{
    (void)opaque;
    return 0;
}

static const struct irq_controller logging_controller = { log_line_changed, log_ack };

struct bench {
    struct machine *m;
    struct pit pit;
    struct irq0_log irq0;
};

static struct bench *bench_new(void)
{
    char err[200];
    struct bench *b = calloc(1, sizeof *b);
    ck_assert_ptr_nonnull(b);
    b->m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(b->m != NULL, "%s", err);
    b->irq0.m = b->m;
    machine_set_irq_controller(b->m, &logging_controller, &b->irq0);
    const char *why = pit_attach(b->m, &b->pit);
    ck_assert_msg(why == NULL, "%s", why);
    return b;
}

static void bench_free(struct bench *b)
{
    machine_free(b->m);
    free(b);
}

/* The first nanosecond of input clock tick n. */
static uint64_t tick_ns(uint64_t n)
{
    return (n * 1000000000u + PIT_INPUT_HZ - 1) / PIT_INPUT_HZ;
}

static void skip_to(struct bench *b, uint64_t ns)
{
    vclock_skip_to(&b->m->clock, ns, cpu_icount(b->m->cpu));
    ck_assert_uint_eq(machine_now_ns(b->m), ns);
}

/* Moves virtual time forward to `ns`, firing each timer at its deadline as
 * the run loop does. */
static void advance_to(struct bench *b, uint64_t ns)
{
    for (uint64_t next; (next = sched_next_deadline(&b->m->sched)) <= ns;) {
        skip_to(b, next);
        sched_run_due(&b->m->sched, next);
    }
    skip_to(b, ns);
}

static void out8(struct bench *b, uint16_t port, uint8_t val)
{
    portbus_write(&b->m->io, port, val, 1);
}

static uint8_t in8(struct bench *b, uint16_t port)
{
    return (uint8_t)portbus_read(&b->m->io, port, 1);
}

/* Control word then a 16-bit count, LSB first. */
static void program(struct bench *b, int ch, uint8_t mode_bits, uint16_t count)
{
    out8(b, CONTROL, (uint8_t)(ch << 6 | 0x30 | mode_bits));
    out8(b, (uint16_t)(0x40 + ch), (uint8_t)count);
    out8(b, (uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

/* Latches the count of a channel in LSB-then-MSB access and reads it. */
static unsigned latched(struct bench *b, int ch)
{
    out8(b, CONTROL, (uint8_t)(ch << 6));
    unsigned lo = in8(b, (uint16_t)(0x40 + ch));
    return lo | (unsigned)in8(b, (uint16_t)(0x40 + ch)) << 8;
}

static uint8_t status(struct bench *b, int ch)
{
    out8(b, CONTROL, (uint8_t)(0xE0 | 2 << ch));   /* read-back: status only */
    return in8(b, (uint16_t)(0x40 + ch));
}

static bool out2(struct bench *b)
{
    return in8(b, PORT_B) & 0x20;
}

static bool out_of(struct bench *b, int ch)
{
    return status(b, ch) & 0x80;
}

/* ---- modes ---- */

START_TEST(mode0_counts_down_and_raises_out_at_terminal_count)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);                       /* GATE2 high, speaker off */
    advance_to(b, tick_ns(10));
    program(b, 2, 0 << 1, 0x1000);               /* started at tick 10 */
    ck_assert(!out2(b));
    ck_assert_uint_eq(latched(b, 2), 0x1000);
    advance_to(b, tick_ns(110) - 1);
    ck_assert_uint_eq(latched(b, 2), 0x1000 - 99);
    advance_to(b, tick_ns(110));
    ck_assert_uint_eq(latched(b, 2), 0x1000 - 100);
    advance_to(b, tick_ns(10 + 0x1000) - 1);
    ck_assert(!out2(b));
    ck_assert_uint_eq(latched(b, 2), 1);
    advance_to(b, tick_ns(10 + 0x1000));
    ck_assert(out2(b));
    ck_assert_uint_eq(latched(b, 2), 0);
    advance_to(b, tick_ns(10 + 0x1000 + 5));
    ck_assert(out2(b));                          /* stays high, the counter wraps */
    ck_assert_uint_eq(latched(b, 2), 0x10000 - 5);
    bench_free(b);
}
END_TEST

START_TEST(mode0_gate_low_pauses_and_first_byte_stops)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 0, 1000);                      /* tick 0 */
    advance_to(b, tick_ns(100));
    out8(b, PORT_B, 0x00);                       /* pause at 900 */
    advance_to(b, tick_ns(5000));
    ck_assert_uint_eq(latched(b, 2), 900);
    ck_assert(!out2(b));
    out8(b, PORT_B, 0x01);                       /* resume */
    advance_to(b, tick_ns(5000 + 899));
    ck_assert_uint_eq(latched(b, 2), 1);
    advance_to(b, tick_ns(5900));
    ck_assert(out2(b));
    /* a new count's first byte stops counting and drops OUT at once */
    out8(b, 0x42, 0x34);
    ck_assert(!out2(b));
    advance_to(b, tick_ns(6000));
    ck_assert_uint_eq(latched(b, 2), 0);         /* held where it stopped */
    out8(b, 0x42, 0x12);
    advance_to(b, tick_ns(6001));
    ck_assert_uint_eq(latched(b, 2), 0x1234 - 1);
    bench_free(b);
}
END_TEST

START_TEST(mode1_one_shot_on_gate_edges)
{
    struct bench *b = bench_new();
    program(b, 2, 1 << 1, 300);
    ck_assert(out2(b));
    ck_assert_uint_eq(status(b, 2) & 0x40, 0x40);   /* null count: not yet loaded */
    advance_to(b, tick_ns(50));
    out8(b, PORT_B, 0x01);                       /* trigger at tick 50 */
    ck_assert(!out2(b));
    ck_assert_uint_eq(status(b, 2) & 0x40, 0);
    advance_to(b, tick_ns(150));
    ck_assert_uint_eq(latched(b, 2), 200);
    out8(b, PORT_B, 0x00);                       /* GATE low changes nothing */
    advance_to(b, tick_ns(349));
    ck_assert(!out2(b));
    advance_to(b, tick_ns(350));
    ck_assert(out2(b));
    out8(b, PORT_B, 0x01);                       /* retrigger at 350 */
    ck_assert(!out2(b));
    advance_to(b, tick_ns(650));
    ck_assert(out2(b));
    bench_free(b);
}
END_TEST

START_TEST(mode2_rate_generator_pulses_low_one_tick)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 2 << 1, 10);                   /* tick 0 */
    for (unsigned t = 0; t < 25; t++) {
        advance_to(b, tick_ns(t));
        ck_assert_uint_eq(latched(b, 2), 10 - t % 10);
        ck_assert_int_eq(out2(b), t % 10 != 9);
    }
    out8(b, PORT_B, 0x00);                       /* GATE low: OUT high, counter held */
    advance_to(b, tick_ns(39));
    ck_assert(out2(b));
    ck_assert_uint_eq(latched(b, 2), 6);
    out8(b, PORT_B, 0x01);                       /* GATE rising edge reloads */
    advance_to(b, tick_ns(42));
    ck_assert_uint_eq(latched(b, 2), 7);
    bench_free(b);
}
END_TEST

START_TEST(mode2_new_count_waits_for_the_period_end)
{
    struct bench *b = bench_new();
    program(b, 0, 2 << 1, 100);                  /* tick 0 */
    advance_to(b, tick_ns(130));
    out8(b, 0x40, 50);
    out8(b, 0x40, 0);
    ck_assert_uint_eq(status(b, 0) & 0x40, 0x40);
    ck_assert_uint_eq(latched(b, 0), 70);        /* the old period runs out */
    advance_to(b, tick_ns(199));
    ck_assert_uint_eq(latched(b, 0), 1);
    advance_to(b, tick_ns(200));
    ck_assert_uint_eq(latched(b, 0), 50);
    ck_assert_uint_eq(status(b, 0) & 0x40, 0);
    advance_to(b, tick_ns(260));
    ck_assert_uint_eq(latched(b, 0), 40);
    /* IRQ 0 rose at the end of each period: 100, 200, 250 */
    ck_assert_int_eq(b->irq0.rises, 4);          /* the control word raised OUT0 first */
    ck_assert_uint_eq(b->irq0.rise_ns[1], tick_ns(100));
    ck_assert_uint_eq(b->irq0.rise_ns[2], tick_ns(200));
    ck_assert_uint_eq(b->irq0.rise_ns[3], tick_ns(250));
    bench_free(b);
}
END_TEST

START_TEST(mode3_square_wave_even_and_odd)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 3 << 1, 6);
    static const unsigned even_values[] = { 6, 4, 2, 6, 4, 2 };
    for (unsigned t = 0; t < 12; t++) {
        advance_to(b, tick_ns(t));
        ck_assert_uint_eq(latched(b, 2), even_values[t % 6]);
        ck_assert_int_eq(out2(b), t % 6 < 3);
    }
    program(b, 2, 3 << 1, 5);                    /* at tick 11: high 3 ticks, low 2 */
    static const unsigned odd_values[] = { 5, 4, 2, 5, 2 };
    for (unsigned t = 0; t < 10; t++) {
        advance_to(b, tick_ns(11 + t));
        ck_assert_uint_eq(latched(b, 2), odd_values[t % 5]);
        ck_assert_int_eq(out2(b), t % 5 < 3);
    }
    bench_free(b);
}
END_TEST

START_TEST(mode4_and_mode5_strobe)
{
    struct bench *b = bench_new();
    program(b, 0, 4 << 1, 20);                   /* software strobe, tick 0 */
    ck_assert(out_of(b, 0));
    advance_to(b, tick_ns(19));
    ck_assert(out_of(b, 0));
    advance_to(b, tick_ns(20));
    ck_assert(!out_of(b, 0));
    ck_assert_uint_eq(latched(b, 0), 0);
    advance_to(b, tick_ns(21));
    ck_assert(out_of(b, 0));
    ck_assert_int_eq(b->irq0.rises, 2);          /* the control word, then the strobe's end */
    ck_assert_uint_eq(b->irq0.rise_ns[0], 0);
    ck_assert_uint_eq(b->irq0.rise_ns[1], tick_ns(21));
    ck_assert(!timer_armed(&b->pit.irq_timer));

    program(b, 2, 5 << 1, 30);                   /* hardware strobe waits for GATE */
    advance_to(b, tick_ns(100));
    ck_assert(out2(b));
    out8(b, PORT_B, 0x01);                       /* trigger at 100 */
    advance_to(b, tick_ns(129));
    ck_assert_uint_eq(latched(b, 2), 1);
    advance_to(b, tick_ns(130));
    ck_assert(!out2(b));
    advance_to(b, tick_ns(131));
    ck_assert(out2(b));
    bench_free(b);
}
END_TEST

START_TEST(bcd_counting)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 0x01, 0x1000);                 /* mode 0, BCD 1000 */
    advance_to(b, tick_ns(1));
    ck_assert_uint_eq(latched(b, 2), 0x0999);
    advance_to(b, tick_ns(1001));
    ck_assert_uint_eq(latched(b, 2), 0x9999);    /* wraps modulo 10000 */
    program(b, 2, 2 << 1 | 1, 0x0000);           /* mode 2, BCD 0 = 10000 */
    advance_to(b, tick_ns(1002));
    ck_assert_uint_eq(latched(b, 2), 0x9999);
    advance_to(b, tick_ns(1001 + 9999));
    ck_assert(!out2(b));
    advance_to(b, tick_ns(1001 + 10000));
    ck_assert(out2(b));
    ck_assert_uint_eq(status(b, 2), 0x80 | 0x30 | 2 << 1 | 1);
    bench_free(b);
}
END_TEST

/* ---- register interface ---- */

START_TEST(latch_holds_until_read_and_access_modes)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 0, 0x4000);
    advance_to(b, tick_ns(0x100));
    out8(b, CONTROL, 0x80);                      /* latch 0x3F00 */
    advance_to(b, tick_ns(0x300));
    out8(b, CONTROL, 0x80);                      /* ignored: already latched */
    ck_assert_uint_eq(in8(b, 0x42), 0x00);
    ck_assert_uint_eq(in8(b, 0x42), 0x3F);
    ck_assert_uint_eq(in8(b, 0x42), 0x00);       /* live again: 0x3D00 */
    ck_assert_uint_eq(in8(b, 0x42), 0x3D);

    out8(b, CONTROL, 0x90);                      /* ch2 LSB only, mode 0 */
    out8(b, 0x42, 0x50);
    advance_to(b, tick_ns(0x310));
    ck_assert_uint_eq(in8(b, 0x42), 0x40);
    ck_assert_uint_eq(in8(b, 0x42), 0x40);
    out8(b, CONTROL, 0xA0);                      /* ch2 MSB only */
    out8(b, 0x42, 0x12);                         /* count 0x1200 */
    advance_to(b, tick_ns(0x410));
    ck_assert_uint_eq(in8(b, 0x42), 0x11);
    ck_assert_uint_eq(in8(b, 0x43), 0xFF);       /* the control port reads nothing */
    bench_free(b);
}
END_TEST

START_TEST(read_back_status_then_count)
{
    struct bench *b = bench_new();
    out8(b, CONTROL, 0xB4);                      /* ch2 lohi mode 2 */
    ck_assert_uint_eq(status(b, 2), 0x80 | 0x40 | 0x30 | 2 << 1);   /* OUT high, null count */
    out8(b, PORT_B, 0x01);
    out8(b, 0x42, 0x00);
    out8(b, 0x42, 0x01);                         /* 256 at tick 0 */
    advance_to(b, tick_ns(16));
    out8(b, CONTROL, 0xC8);                      /* read-back count and status of ch2 */
    advance_to(b, tick_ns(32));
    out8(b, CONTROL, 0xC8);                      /* already latched: ignored */
    ck_assert_uint_eq(in8(b, 0x42), 0x80 | 0x30 | 2 << 1);
    ck_assert_uint_eq(in8(b, 0x42), 0xF0);
    ck_assert_uint_eq(in8(b, 0x42), 0x00);
    ck_assert_uint_eq(in8(b, 0x42), 0xE0);       /* live: 256 - 32 */
    /* one read-back command latches several channels */
    program(b, 0, 2 << 1, 1000);
    out8(b, CONTROL, 0xD6);                      /* counts of ch0 and ch1 */
    ck_assert_uint_eq(in8(b, 0x40), 1000 & 0xFF);
    ck_assert_uint_eq(in8(b, 0x40), 1000 >> 8);
    ck_assert_uint_eq(in8(b, 0x41), 0);          /* unprogrammed ch1 holds 0 */
    bench_free(b);
}
END_TEST

START_TEST(port_b_gate_speaker_out2_and_refresh)
{
    struct bench *b = bench_new();
    ck_assert_uint_eq(in8(b, PORT_B), 0x00);
    out8(b, PORT_B, 0xFF);                       /* bits 4-7 are read-only */
    ck_assert_uint_eq(in8(b, PORT_B) & 0xCF, 0x0F);
    out8(b, PORT_B, 0x03);
    advance_to(b, 15084);
    ck_assert_uint_eq(in8(b, PORT_B) & 0x10, 0);
    advance_to(b, 15085);
    ck_assert_uint_eq(in8(b, PORT_B) & 0x10, 0x10);
    advance_to(b, 30170);
    ck_assert_uint_eq(in8(b, PORT_B) & 0x10, 0);
    advance_to(b, 45255);
    ck_assert_uint_eq(in8(b, PORT_B), 0x13);     /* OUT2 low: ch2 never programmed */
    bench_free(b);
}
END_TEST

/* Linux's quick_pit_calibrate: mode 0 on channel 2 with count 0xFFFF, then
 * LSB/MSB reads whose MSB steps down once every 256 input clocks. */
START_TEST(linux_quick_calibration_pattern)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, (uint8_t)((in8(b, PORT_B) & ~0x02) | 0x01));
    advance_to(b, tick_ns(7));
    out8(b, CONTROL, 0xB0);
    out8(b, 0x42, 0xFF);
    out8(b, 0x42, 0xFF);
    for (unsigned k = 1; k < 200; k++) {
        advance_to(b, tick_ns(7 + 256 * k - 1));
        in8(b, 0x42);
        ck_assert_uint_eq(in8(b, 0x42), 0xFF - k + 1);
        advance_to(b, tick_ns(7 + 256 * k));
        in8(b, 0x42);
        ck_assert_uint_eq(in8(b, 0x42), 0xFF - k);
    }
    bench_free(b);
}
END_TEST

/* ---- IRQ 0 ---- */

START_TEST(irq0_periodic_rate_mode2_and_mode3)
{
    struct bench *b = bench_new();
    program(b, 0, 2 << 1, 1193);                 /* Linux's HZ=1000 setting, tick 0 */
    ck_assert_int_eq(b->irq0.rises, 1);          /* OUT0 went high with the control word */
    for (uint64_t ms = 1; ms <= 1000; ms++)
        advance_to(b, ms * 1000000);
    /* rising edges at 1193 * k for k >= 1, up to tick 1193182 */
    ck_assert_int_eq(b->irq0.rises, 1 + 1193182 / 1193);
    ck_assert_uint_eq(b->irq0.rise_ns[1], tick_ns(1193));
    ck_assert_uint_eq(b->irq0.rise_ns[2], tick_ns(2 * 1193));
    ck_assert_uint_eq(b->pit.irq_timer.deadline, tick_ns(1193 * (1193182 / 1193 + 1)));

    /* the BIOS's 18.2 Hz: mode 3, count 0 = 65536, started at tick 1193182 */
    program(b, 0, 3 << 1, 0);
    int before = b->irq0.rises;
    advance_to(b, 2000000000);
    ck_assert_int_eq(b->irq0.rises - before, 1193182 / 65536);
    bench_free(b);
}
END_TEST

START_TEST(irq0_one_shot_mode0_and_late_timer)
{
    struct bench *b = bench_new();
    program(b, 0, 0, 5000);
    ck_assert(!b->irq0.level);
    ck_assert_uint_eq(b->pit.irq_timer.deadline, tick_ns(5000));
    skip_to(b, tick_ns(5000) + 777777);           /* the run loop comes late */
    sched_run_due(&b->m->sched, tick_ns(5000) + 777777);
    ck_assert_int_eq(b->irq0.rises, 1);
    ck_assert(b->irq0.level);
    ck_assert(!timer_armed(&b->pit.irq_timer));
    program(b, 0, 0, 100);                        /* OUT0 drops with the new count */
    ck_assert(!b->irq0.level);
    advance_to(b, SCHED_NEVER / 2);
    ck_assert_int_eq(b->irq0.rises, 2);
    bench_free(b);
}
END_TEST

/* ---- life cycle ---- */

START_TEST(reset_and_save_load)
{
    struct bench *b = bench_new();
    out8(b, PORT_B, 0x01);
    program(b, 2, 3 << 1, 0x2345);
    program(b, 0, 2 << 1, 1000);
    advance_to(b, tick_ns(1500));
    out8(b, CONTROL, 0x80);                       /* a latch in flight travels too */
    struct snap_writer w;
    snap_writer_init(&w);
    pit_save(&b->pit, &w);
    ck_assert(!w.failed);

    struct bench *c = bench_new();
    advance_to(c, tick_ns(1500));
    struct snap_reader r;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert_msg(pit_load(&c->pit, &r), "%s", r.error);
    ck_assert_uint_eq(c->pit.irq_timer.deadline, tick_ns(2000));
    ck_assert_uint_eq(in8(c, 0x42), in8(b, 0x42));
    ck_assert_uint_eq(in8(c, 0x42), in8(b, 0x42));
    advance_to(b, tick_ns(1700));
    advance_to(c, tick_ns(1700));
    ck_assert_uint_eq(latched(c, 2), latched(b, 2));
    ck_assert_uint_eq(latched(c, 0), 300);
    ck_assert_uint_eq(in8(c, PORT_B) & 0x2F, in8(b, PORT_B) & 0x2F);

    /* a truncated or out-of-range state is refused and changes nothing */
    snap_reader_init(&r, w.buf, w.len - 1);
    ck_assert(!pit_load(&c->pit, &r));
    w.buf[1] = 9;                                 /* channel 0 mode */
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(!pit_load(&c->pit, &r));
    ck_assert_uint_eq(latched(c, 0), 300);
    snap_writer_free(&w);

    machine_reset(c->m);
    ck_assert(!timer_armed(&c->pit.irq_timer));
    ck_assert_uint_eq(status(c, 0), 0x30);          /* mode 0, no count, OUT low */
    ck_assert_uint_eq(in8(c, PORT_B) & 0x0F, 0);
    bench_free(c);
    bench_free(b);
}
END_TEST

/* Hostile guests: any value to any port in any order, time moving on; the
 * timer must always lie in the future and the emulator survive. */
START_TEST(random_port_writes_are_harmless)
{
    struct bench *b = bench_new();
    uint32_t seed = 12345;
    uint64_t now = 0;
    static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x43, 0x61 };
    for (int k = 0; k < 200000; k++) {
        seed = seed * 1103515245u + 12345u;
        uint16_t port = ports[(seed >> 16) % 6];
        uint8_t val = (uint8_t)(seed >> 8);
        if (seed & 1)
            out8(b, port, val);
        else
            in8(b, port);
        now += (seed >> 24) % 4000;
        advance_to(b, now);
        if (timer_armed(&b->pit.irq_timer))
            ck_assert_uint_gt(b->pit.irq_timer.deadline, now);
    }
    bench_free(b);
}
END_TEST

static Suite *pit_suite(void)
{
    Suite *s = suite_create("pit");
    TCase *modes = tcase_create("modes");
    tcase_add_test(modes, mode0_counts_down_and_raises_out_at_terminal_count);
    tcase_add_test(modes, mode0_gate_low_pauses_and_first_byte_stops);
    tcase_add_test(modes, mode1_one_shot_on_gate_edges);
    tcase_add_test(modes, mode2_rate_generator_pulses_low_one_tick);
    tcase_add_test(modes, mode2_new_count_waits_for_the_period_end);
    tcase_add_test(modes, mode3_square_wave_even_and_odd);
    tcase_add_test(modes, mode4_and_mode5_strobe);
    tcase_add_test(modes, bcd_counting);
    suite_add_tcase(s, modes);
    TCase *regs = tcase_create("registers");
    tcase_add_test(regs, latch_holds_until_read_and_access_modes);
    tcase_add_test(regs, read_back_status_then_count);
    tcase_add_test(regs, port_b_gate_speaker_out2_and_refresh);
    tcase_add_test(regs, linux_quick_calibration_pattern);
    suite_add_tcase(s, regs);
    TCase *irq = tcase_create("irq0");
    tcase_add_test(irq, irq0_periodic_rate_mode2_and_mode3);
    tcase_add_test(irq, irq0_one_shot_mode0_and_late_timer);
    suite_add_tcase(s, irq);
    TCase *life = tcase_create("life");
    tcase_add_test(life, reset_and_save_load);
    tcase_add_test(life, random_port_writes_are_harmless);
    tcase_set_timeout(life, 60);
    suite_add_tcase(s, life);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
