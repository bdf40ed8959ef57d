/* test_rtc.c — Check tests for the MC146818 RTC/CMOS (devices/rtc.c).
 *
 * Each test builds a deterministic machine (virtual time stands still until
 * the test moves it), drives the RTC through its port callbacks and checks
 * exact register values, IRQ 8 and timer deadlines in virtual nanoseconds.
 */
#include <check.h>
#include <stdlib.h>

#include "cpu/cpu.h"
#include "devices/rtc.h"
#include "machine/machine.h"
#include "machine/snapshot.h"
#include "test_clock.h"

#define SEC 1000000000ull
#define START_2021_03_14_150926 1615734566

struct bench {
    struct machine *m;
    struct rtc rtc;
};

static void bench_open(struct bench *b, int64_t start)
{
    char err[200];
    b->m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(b->m != NULL, "%s", err);
    ck_assert_uint_eq(machine_now_ns(b->m), 0);
    rtc_init(&b->rtc, b->m, start, 1u << 20);
}

static void bench_close(struct bench *b)
{
    rtc_reset(&b->rtc);                              /* cancels its timer */
    machine_free(b->m);
}

static void advance_to(struct bench *b, uint64_t ns) { test_advance_to(b->m, ns); }

static uint8_t rtc_read_register(struct rtc *r, uint8_t index)
{
    rtc_port_write(r, 0x70, index, 1);
    return (uint8_t)rtc_port_read(r, 0x71, 1);
}

static uint8_t cmos_read(struct bench *b, uint8_t index)
{
    return rtc_read_register(&b->rtc, index);
}

static void cmos_write(struct bench *b, uint8_t index, uint8_t v)
{
    rtc_port_write(&b->rtc, 0x70, index, 1);
    rtc_port_write(&b->rtc, 0x71, v, 1);
}

static bool irq8(const struct bench *b) { return irq_level(&b->m->irq, RTC_IRQ); }

START_TEST(rtc_power_on_registers)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    static const uint8_t expected[][2] = {
        { 0x00, 0x00 }, { 0x02, 0x00 }, { 0x04, 0x00 }, { 0x06, 7 }, { 0x07, 0x01 }, { 0x08, 0x01 },
        { 0x09, 0x00 }, { 0x32, 0x20 }, { 0x0A, 0x26 }, { 0x0B, 0x02 }, { 0x0C, 0x00 }, { 0x0D, 0x80 },
    };
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++)
        ck_assert_msg(cmos_read(&b, expected[k][0]) == expected[k][1], "register %02X", expected[k][0]);
    ck_assert(!irq8(&b));
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SCHED_NEVER);   /* nothing enabled: no timer */
    bench_close(&b);
}
END_TEST

START_TEST(rtc_index_port_and_nmi_mask)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    rtc_port_write(&b.rtc, 0x70, 0x80 | 0x0A, 1);
    ck_assert(b.rtc.nmi_masked);
    ck_assert_uint_eq(rtc_port_read(&b.rtc, 0x71, 1), 0x26);
    rtc_port_write(&b.rtc, 0x70, 0x0D, 1);
    ck_assert(!b.rtc.nmi_masked);
    ck_assert_uint_eq(rtc_port_read(&b.rtc, 0x70, 1), 0xFF);
    cmos_write(&b, 0x0D, 0x00);                      /* D is read-only */
    ck_assert_uint_eq(cmos_read(&b, 0x0D), 0x80);
    cmos_write(&b, 0x7F, 0x5A);                      /* plain CMOS RAM */
    ck_assert_uint_eq(cmos_read(&b, 0x7F), 0x5A);
    bench_close(&b);
}
END_TEST

START_TEST(rtc_bcd_binary_12_24_hours)
{
    struct bench b;
    bench_open(&b, START_2021_03_14_150926);       /* a Sunday, 15:09:26 */
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x26);
    ck_assert_uint_eq(cmos_read(&b, 0x02), 0x09);
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x15);
    ck_assert_uint_eq(cmos_read(&b, 0x06), 1);
    ck_assert_uint_eq(cmos_read(&b, 0x07), 0x14);
    ck_assert_uint_eq(cmos_read(&b, 0x08), 0x03);
    ck_assert_uint_eq(cmos_read(&b, 0x09), 0x21);
    ck_assert_uint_eq(cmos_read(&b, 0x32), 0x20);
    cmos_write(&b, 0x0B, 0x06);                      /* binary, 24 h */
    ck_assert_uint_eq(cmos_read(&b, 0x00), 26);
    ck_assert_uint_eq(cmos_read(&b, 0x04), 15);
    ck_assert_uint_eq(cmos_read(&b, 0x07), 14);
    ck_assert_uint_eq(cmos_read(&b, 0x09), 21);
    ck_assert_uint_eq(cmos_read(&b, 0x32), 20);
    cmos_write(&b, 0x0B, 0x04);                      /* binary, 12 h: 3 PM */
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x83);
    cmos_write(&b, 0x0B, 0x00);                      /* BCD, 12 h */
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x83);
    cmos_write(&b, 0x04, 0x12);                      /* 12 AM is midnight */
    cmos_write(&b, 0x0B, 0x02);
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x00);
    cmos_write(&b, 0x0B, 0x00);
    cmos_write(&b, 0x04, 0x92);                      /* 12 PM is noon */
    cmos_write(&b, 0x0B, 0x02);
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x12);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x26);    /* the rest of the time is kept */
    bench_close(&b);
}
END_TEST

START_TEST(rtc_update_cycle_and_uip_window)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    advance_to(&b, SEC - 244000 - 1);
    ck_assert_uint_eq(cmos_read(&b, 0x0A), 0x26);
    advance_to(&b, SEC - 244000);
    ck_assert_uint_eq(cmos_read(&b, 0x0A), 0xA6);    /* UIP: 244 us before the update */
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x00);
    advance_to(&b, SEC - 1);
    ck_assert_uint_eq(cmos_read(&b, 0x0A), 0xA6);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x00);
    advance_to(&b, SEC);
    ck_assert_uint_eq(cmos_read(&b, 0x0A), 0x26);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x01);
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x50);    /* UF and PF (1024 Hz) without enables: no IRQF */
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x00);
    ck_assert(!irq8(&b));
    advance_to(&b, 3600 * SEC + SEC / 2);            /* an hour later, mid-second */
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x01);
    ck_assert_uint_eq(cmos_read(&b, 0x02), 0x00);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x00);
    bench_close(&b);
}
END_TEST

START_TEST(rtc_update_ended_interrupt_once_per_second)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    cmos_write(&b, 0x0B, 0x12);                      /* UIE */
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SEC);
    for (uint64_t s = 1; s <= 5; s++) {
        advance_to(&b, s * SEC - 1);
        ck_assert(!irq8(&b));
        advance_to(&b, s * SEC);
        ck_assert(irq8(&b));
        ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SCHED_NEVER);   /* IRQF set: nothing to do */
        advance_to(&b, s * SEC + 1000);
        ck_assert_uint_eq(cmos_read(&b, 0x0C), 0xD0);   /* IRQF, UF and the periodic flag */
        ck_assert(!irq8(&b));
        ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x00);
        ck_assert_uint_eq(cmos_read(&b, 0x00), s);
    }
    bench_close(&b);
}
END_TEST

static const struct {
    uint8_t rate;
    uint64_t first_ns, second_ns;
} periodic_cases[] = {
    { 1, 3906250, 7812500 }, { 2, 7812500, 15625000 }, { 3, 122071, 244141 },
    { 6, 976563, 1953125 }, { 15, 500000000, 1000000000 },
};

START_TEST(rtc_periodic_rates)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    uint8_t rate = periodic_cases[_i].rate;
    cmos_write(&b, 0x0A, (uint8_t)(0x20 | rate));
    cmos_write(&b, 0x0B, 0x42);                      /* PIE */
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), periodic_cases[_i].first_ns);
    advance_to(&b, periodic_cases[_i].first_ns - 1);
    ck_assert(!irq8(&b));
    advance_to(&b, periodic_cases[_i].first_ns);
    ck_assert(irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0xC0);
    ck_assert(!irq8(&b));
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), periodic_cases[_i].second_ns);
    advance_to(&b, periodic_cases[_i].second_ns);
    ck_assert(irq8(&b));
    bench_close(&b);
}
END_TEST

START_TEST(rtc_periodic_flag_without_interrupt)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    advance_to(&b, 1000000);                         /* 1 ms at 1024 Hz: one edge passed */
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x40);
    ck_assert(!irq8(&b));
    cmos_write(&b, 0x0A, 0x20);                      /* rate 0: no periodic edges, no timer */
    cmos_write(&b, 0x0B, 0x42);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SCHED_NEVER);
    advance_to(&b, 500000000);
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x00);
    bench_close(&b);
}
END_TEST

START_TEST(rtc_alarm_interrupt_and_dont_care)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    cmos_write(&b, 0x01, 0x03);                      /* at second 3 ... */
    cmos_write(&b, 0x03, 0xC0);                      /* ... of any minute ... */
    cmos_write(&b, 0x05, 0xFF);                      /* ... of any hour */
    cmos_write(&b, 0x0B, 0x22);                      /* AIE */
    advance_to(&b, 2 * SEC);
    ck_assert(!irq8(&b));
    advance_to(&b, 3 * SEC);
    ck_assert(irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0xF0);    /* IRQF, AF, the UF of the same update, PF */
    advance_to(&b, 62 * SEC);
    ck_assert(!irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x50);
    advance_to(&b, 63 * SEC);
    ck_assert(irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0xF0);
    /* a long gap is caught up in one read: the alarm matched inside it */
    cmos_write(&b, 0x0B, 0x02);
    cmos_write(&b, 0x05, 0x05);                      /* 05:xx:03 */
    advance_to(&b, 3 * 86400 * SEC);
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x70);
    ck_assert_uint_eq(cmos_read(&b, 0x07), 0x04);    /* 2000-01-04 */
    bench_close(&b);
}
END_TEST

START_TEST(rtc_set_bit_and_divider_reset)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    cmos_write(&b, 0x0B, 0x92);                      /* SET clears UIE */
    ck_assert_uint_eq(cmos_read(&b, 0x0B), 0x82);
    static const uint8_t new_time[][2] = {
        { 0x00, 0x59 }, { 0x02, 0x59 }, { 0x04, 0x23 }, { 0x07, 0x31 }, { 0x08, 0x12 }, { 0x09, 0x99 }, { 0x32, 0x19 },
    };
    for (size_t k = 0; k < sizeof new_time / sizeof new_time[0]; k++)
        cmos_write(&b, new_time[k][0], new_time[k][1]);
    advance_to(&b, 3 * SEC + SEC / 2);               /* no updates while SET */
    ck_assert_uint_eq(cmos_read(&b, 0x0A), 0x26);    /* and no UIP */
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x59);
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x40);    /* periodic edges go on */
    cmos_write(&b, 0x0B, 0x02);
    ck_assert_uint_eq(cmos_read(&b, 0x06), 6);       /* 1999-12-31: Friday */
    advance_to(&b, 4 * SEC);                         /* the chain kept its phase */
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x00);
    ck_assert_uint_eq(cmos_read(&b, 0x04), 0x00);
    ck_assert_uint_eq(cmos_read(&b, 0x07), 0x01);
    ck_assert_uint_eq(cmos_read(&b, 0x08), 0x01);
    ck_assert_uint_eq(cmos_read(&b, 0x09), 0x00);
    ck_assert_uint_eq(cmos_read(&b, 0x32), 0x20);
    ck_assert_uint_eq(cmos_read(&b, 0x06), 7);

    cmos_write(&b, 0x0A, 0x76);                      /* divider chain in reset: time stands */
    advance_to(&b, 10 * SEC);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x00);
    cmos_write(&b, 0x0A, 0x26);                      /* first update 500 ms later */
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x70);    /* PF, UF, and AF: alarm 00:00:00 matched */
    cmos_write(&b, 0x0B, 0x12);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), 10 * SEC + SEC / 2);
    advance_to(&b, 10 * SEC + SEC / 2);
    ck_assert(irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x01);
    bench_close(&b);
}
END_TEST

START_TEST(rtc_cmos_memory_bytes)
{
    static const struct {
        uint32_t ram;
        uint16_t ext_kib, above_16m;
    } sizes[] = {
        { 8u << 20, 7168, 0 }, { 64u << 20, 64512, 768 }, { 128u << 20, 0xFFFF, 1792 },
        { 3072u << 20, 0xFFFF, 48896 }, { 512u << 10, 0, 0 },
    };
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        rtc_init(&b.rtc, b.m, RTC_DETERMINISTIC_EPOCH, sizes[k].ram);
        ck_assert_uint_eq(cmos_read(&b, 0x15) | cmos_read(&b, 0x16) << 8, 640);
        ck_assert_uint_eq(cmos_read(&b, 0x17) | cmos_read(&b, 0x18) << 8, sizes[k].ext_kib);
        ck_assert_uint_eq(cmos_read(&b, 0x30) | cmos_read(&b, 0x31) << 8, sizes[k].ext_kib);
        ck_assert_uint_eq(cmos_read(&b, 0x34) | cmos_read(&b, 0x35) << 8, sizes[k].above_16m);
        ck_assert_uint_eq(cmos_read(&b, 0x5B) | cmos_read(&b, 0x5C) | cmos_read(&b, 0x5D), 0);
        unsigned sum = 0;
        for (uint8_t i = 0x10; i < 0x2E; i++)
            sum += cmos_read(&b, i);
        ck_assert_uint_eq(cmos_read(&b, 0x2E) << 8 | cmos_read(&b, 0x2F), sum);
    }
    ck_assert_uint_eq(cmos_read(&b, 0x0F), 0x00);    /* shutdown status: normal boot */
    ck_assert_uint_eq(cmos_read(&b, 0x10), 0x00);    /* no floppy */
    ck_assert_uint_eq(cmos_read(&b, 0x14), 0x06);    /* FPU, PS/2 mouse, VGA, no floppy */
    ck_assert_uint_eq(cmos_read(&b, 0x3D), 0x32);    /* boot: disk, CD-ROM, ... */
    ck_assert_uint_eq(cmos_read(&b, 0x38), 0x11);    /* ... floppy; no floppy signature check */
    bench_close(&b);
}
END_TEST

START_TEST(rtc_reset_keeps_time_and_cmos)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    cmos_write(&b, 0x0F, 0x0A);                      /* shutdown code survives the reset */
    cmos_write(&b, 0x0B, 0x7A);                      /* PIE AIE UIE SQWE */
    advance_to(&b, 2 * SEC);
    ck_assert(irq8(&b));
    rtc_reset(&b.rtc);
    ck_assert(!irq8(&b));
    ck_assert_uint_eq(cmos_read(&b, 0x0B), 0x02);
    ck_assert_uint_eq(cmos_read(&b, 0x0C), 0x00);
    ck_assert_uint_eq(cmos_read(&b, 0x0F), 0x0A);
    ck_assert_uint_eq(cmos_read(&b, 0x00), 0x02);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SCHED_NEVER);
    bench_close(&b);
}
END_TEST

START_TEST(rtc_save_and_load)
{
    struct bench b;
    bench_open(&b, START_2021_03_14_150926);
    cmos_write(&b, 0x0B, 0x12);
    cmos_write(&b, 0x40, 0x77);
    advance_to(&b, SEC / 4);
    struct snap_writer w;
    snap_writer_init(&w);
    rtc_save(&b.rtc, &w);
    ck_assert(!w.failed);
    rtc_reset(&b.rtc);                               /* the original falls silent */

    struct rtc copy;
    rtc_init(&copy, b.m, 0, 1u << 20);
    struct snap_reader r;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(rtc_load(&copy, &r));
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SEC);   /* the loaded UIE re-armed */
    ck_assert_uint_eq(rtc_read_register(&copy, 0x40), 0x77);
    ck_assert_uint_eq(rtc_read_register(&copy, 0x00), 0x26);
    advance_to(&b, SEC);
    ck_assert(irq8(&b));
    ck_assert_uint_eq(rtc_read_register(&copy, 0x00), 0x27);
    ck_assert_uint_eq(rtc_read_register(&copy, 0x0C), 0xD0);

    /* a bad index or a short stream is refused and changes nothing */
    w.buf[RTC_CMOS_SIZE] = 0x80;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(!rtc_load(&copy, &r));
    snap_reader_init(&r, w.buf, w.len - 1);
    ck_assert(!rtc_load(&copy, &r));
    ck_assert_uint_eq(rtc_read_register(&copy, 0x40), 0x77);
    rtc_reset(&copy);
    snap_writer_free(&w);
    bench_close(&b);
}
END_TEST

/* Hostile guest: any value to any register in any order never breaks the emulator. */
START_TEST(rtc_survives_random_port_traffic)
{
    struct bench b;
    bench_open(&b, RTC_DETERMINISTIC_EPOCH);
    uint32_t seed = 12345;
    uint64_t now = 0;
    for (int k = 0; k < 200000; k++) {
        seed = seed * 1103515245u + 12345u;
        uint8_t v = (uint8_t)(seed >> 16);
        switch (seed >> 30) {
        case 0: rtc_port_write(&b.rtc, 0x70, v, 1); break;
        case 1: rtc_port_write(&b.rtc, 0x71, v, 1); break;
        case 2: rtc_port_read(&b.rtc, 0x71, 1); break;
        default: now += v * 1000003ull; advance_to(&b, now);
        }
    }
    bench_close(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rtc");
    TCase *tc = tcase_create("rtc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rtc_power_on_registers);
    tcase_add_test(tc, rtc_index_port_and_nmi_mask);
    tcase_add_test(tc, rtc_bcd_binary_12_24_hours);
    tcase_add_test(tc, rtc_update_cycle_and_uip_window);
    tcase_add_test(tc, rtc_update_ended_interrupt_once_per_second);
    tcase_add_loop_test(tc, rtc_periodic_rates, 0, sizeof periodic_cases / sizeof periodic_cases[0]);
    tcase_add_test(tc, rtc_periodic_flag_without_interrupt);
    tcase_add_test(tc, rtc_alarm_interrupt_and_dont_care);
    tcase_add_test(tc, rtc_set_bit_and_divider_reset);
    tcase_add_test(tc, rtc_cmos_memory_bytes);
    tcase_add_test(tc, rtc_reset_keeps_time_and_cmos);
    tcase_add_test(tc, rtc_save_and_load);
    tcase_add_test(tc, rtc_survives_random_port_traffic);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
