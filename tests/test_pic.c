/* test_pic.c — Check tests for the 8259A pair and the ELCR (devices/pic.c).
 *
 * Each test builds a board, attaches the PIC pair as its interrupt
 * controller, drives IRQ lines and ports, and checks INTR (the machine's
 * intr_level) and the vectors the CPU's acknowledge gets.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/pic.h"
#include "machine/machine.h"
#include "machine/snapshot.h"

#define MASTER_CMD 0x20
#define MASTER_DATA 0x21
#define SLAVE_CMD 0xA0
#define SLAVE_DATA 0xA1
#define NON_SPECIFIC_EOI 0x20
#define READ_IRR 0x0A
#define READ_ISR 0x0B

struct bench {
    struct machine *m;
    struct pic pic;
};

static void out8(struct bench *b, uint16_t port, uint8_t val)
{
    portbus_write(&b->m->io, port, val, 1);
}

static uint8_t in8(struct bench *b, uint16_t port)
{
    return (uint8_t)portbus_read(&b->m->io, port, 1);
}

static bool intr(const struct bench *b)
{
    return b->m->intr_level;
}

static uint8_t inta(struct bench *b)
{
    return irq_acknowledge(&b->m->irq);
}

/* Linux's init_8259A: vectors 0x30.. and 0x38.., slave on IR2, 8086 mode;
 * `icw4_extra` adds ICW4 bits (AEOI 0x02, SFNM 0x10) to the master's. */
static void init_pair(struct bench *b, uint8_t icw4_extra)
{
    static const uint8_t master[] = { 0x11, 0x30, 0x04, 0x01 }, slave[] = { 0x11, 0x38, 0x02, 0x01 };
    out8(b, MASTER_CMD, master[0]);
    for (int k = 1; k < 4; k++)
        out8(b, MASTER_DATA, (uint8_t)(master[k] | (k == 3 ? icw4_extra : 0)));
    out8(b, SLAVE_CMD, slave[0]);
    for (int k = 1; k < 4; k++)
        out8(b, SLAVE_DATA, slave[k]);
}

static struct bench *bench_new(uint8_t icw4_extra)
{
    char err[200];
    struct bench *b = calloc(1, sizeof *b);
    ck_assert_ptr_nonnull(b);
    b->m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(b->m != NULL, "%s", err);
    const char *why = pic_attach(b->m, &b->pic);
    ck_assert_msg(why == NULL, "%s", why);
    init_pair(b, icw4_extra);
    return b;
}

static void bench_free(struct bench *b)
{
    machine_free(b->m);
    free(b);
}

static uint8_t read_reg(struct bench *b, uint16_t cmd_port, uint8_t ocw3)
{
    out8(b, cmd_port, ocw3);
    return in8(b, cmd_port);
}

START_TEST(priorities_and_non_specific_eoi)
{
    struct bench *b = bench_new(0);
    ck_assert(!intr(b));
    machine_irq_pulse(b->m, 5);
    machine_irq_pulse(b->m, 3);
    ck_assert(intr(b));
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_IRR), 0x28);
    ck_assert_uint_eq(inta(b), 0x33);
    ck_assert(!intr(b));                         /* IR5 waits behind IR3 in service */
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0x08);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_IRR), 0x20);
    machine_irq_pulse(b->m, 1);                  /* a higher priority nests */
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x31);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0x0A);
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0x0A);   /* ISR stays selected */
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);       /* ends IR1, the highest */
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0x08);
    ck_assert(!intr(b));
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x35);
    out8(b, MASTER_CMD, 0x65);                   /* specific EOI of IR5 */
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0);
    ck_assert_uint_eq(inta(b), 0x37);            /* nothing pending: spurious IR7 */
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0);    /* ... with no ISR bit */
    bench_free(b);
}
END_TEST

START_TEST(masking)
{
    struct bench *b = bench_new(0);
    out8(b, MASTER_DATA, 0x08);
    ck_assert_uint_eq(in8(b, MASTER_DATA), 0x08);
    machine_irq_pulse(b->m, 3);
    ck_assert(!intr(b));
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_IRR), 0x08);   /* latched while masked */
    out8(b, MASTER_DATA, 0x00);
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x33);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    out8(b, MASTER_DATA, 0x04);                  /* masking the cascade hides the slave */
    machine_irq_pulse(b->m, 12);
    ck_assert(!intr(b));
    out8(b, SLAVE_DATA, 0x10);                   /* slave masks its IR4 ... */
    out8(b, MASTER_DATA, 0x00);
    ck_assert(!intr(b));
    out8(b, SLAVE_DATA, 0x00);                   /* ... and lets it go */
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x3C);
    bench_free(b);
}
END_TEST

START_TEST(cascade_and_special_fully_nested_mode)
{
    struct bench *b = bench_new(0);
    machine_irq_pulse(b->m, 10);
    ck_assert(intr(b));
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_IRR), 0x04);
    ck_assert_uint_eq(inta(b), 0x3A);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0x04);
    ck_assert_uint_eq(read_reg(b, SLAVE_CMD, READ_ISR), 0x04);
    machine_irq_pulse(b->m, 4);                  /* below IR2 on the master: waits */
    machine_irq_pulse(b->m, 9);                  /* above IR10, but fully nested: waits */
    ck_assert(!intr(b));
    machine_irq_pulse(b->m, 1);
    ck_assert_uint_eq(inta(b), 0x31);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);       /* IR1 */
    out8(b, SLAVE_CMD, NON_SPECIFIC_EOI);        /* IR10 */
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);       /* IR2 */
    ck_assert_uint_eq(inta(b), 0x39);            /* the slave outranks master IR4 */
    out8(b, SLAVE_CMD, NON_SPECIFIC_EOI);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    ck_assert_uint_eq(inta(b), 0x34);
    bench_free(b);

    b = bench_new(0x10);                         /* special fully nested master */
    machine_irq_pulse(b->m, 10);
    ck_assert_uint_eq(inta(b), 0x3A);
    machine_irq_pulse(b->m, 11);                 /* lower than IR10: waits */
    ck_assert(!intr(b));
    machine_irq_pulse(b->m, 9);                  /* higher on the same slave: goes */
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x39);
    machine_irq_pulse(b->m, 4);                  /* still below master IR2 */
    ck_assert(!intr(b));
    bench_free(b);
}
END_TEST

START_TEST(elcr_edge_and_level)
{
    struct bench *b = bench_new(0);
    out8(b, 0x4D0, 0xFF);
    out8(b, 0x4D1, 0xFF);
    ck_assert_uint_eq(in8(b, 0x4D0), 0xF8);      /* IRQ 0, 1, 2 stay edge */
    ck_assert_uint_eq(in8(b, 0x4D1), 0xDE);      /* IRQ 8 and 13 stay edge */
    out8(b, 0x4D0, 0x20);                        /* IRQ 5 level */
    out8(b, 0x4D1, 0x00);
    machine_irq_raise(b->m, 5);
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x35);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    ck_assert(intr(b));                          /* still high: asks again */
    machine_irq_lower(b->m, 5);
    ck_assert(!intr(b));
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_IRR), 0);
    /* a level request withdrawn before INTA gets the spurious vector */
    machine_irq_raise(b->m, 5);
    machine_irq_lower(b->m, 5);
    ck_assert_uint_eq(inta(b), 0x37);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0);
    /* an edge stays latched after the line drops; a held line gives one edge */
    machine_irq_raise(b->m, 6);
    machine_irq_lower(b->m, 6);
    ck_assert_uint_eq(inta(b), 0x36);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    machine_irq_raise(b->m, 6);
    ck_assert_uint_eq(inta(b), 0x36);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    ck_assert(!intr(b));
    out8(b, 0x4D0, 0x40);                        /* now level: the high line asks */
    ck_assert(intr(b));
    bench_free(b);
}
END_TEST

START_TEST(rotation_and_priority_commands)
{
    struct bench *b = bench_new(0);
    out8(b, MASTER_CMD, 0xC4);                   /* set priority: IR4 lowest, IR5 highest */
    machine_irq_pulse(b->m, 3);
    machine_irq_pulse(b->m, 6);
    ck_assert_uint_eq(inta(b), 0x36);
    out8(b, MASTER_CMD, 0xA0);                   /* rotate on non-specific EOI: IR6 lowest */
    ck_assert_uint_eq(inta(b), 0x33);
    out8(b, MASTER_CMD, 0xE3);                   /* rotate on specific EOI 3: IR3 lowest */
    machine_irq_pulse(b->m, 3);
    machine_irq_pulse(b->m, 4);
    ck_assert_uint_eq(inta(b), 0x34);
    out8(b, MASTER_CMD, NON_SPECIFIC_EOI);
    ck_assert_uint_eq(inta(b), 0x33);
    out8(b, MASTER_CMD, 0x40);                   /* no operation */
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0x08);
    bench_free(b);
}
END_TEST

START_TEST(auto_eoi_and_rotation_in_it)
{
    struct bench *b = bench_new(0x02);
    machine_irq_pulse(b->m, 3);
    ck_assert_uint_eq(inta(b), 0x33);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0);
    machine_irq_pulse(b->m, 4);
    ck_assert(intr(b));                          /* nothing in service blocks it */
    out8(b, MASTER_CMD, 0x80);                   /* rotate in auto-EOI mode */
    ck_assert_uint_eq(inta(b), 0x34);            /* IR4 becomes lowest */
    machine_irq_pulse(b->m, 1);
    machine_irq_pulse(b->m, 6);
    ck_assert_uint_eq(inta(b), 0x36);
    out8(b, MASTER_CMD, 0x00);                   /* stop rotating */
    machine_irq_pulse(b->m, 6);
    ck_assert_uint_eq(inta(b), 0x31);            /* IR7 lowest after the last rotation */
    ck_assert_uint_eq(inta(b), 0x36);
    bench_free(b);
}
END_TEST

START_TEST(poll_mode)
{
    struct bench *b = bench_new(0);
    out8(b, MASTER_DATA, 0xFF);                  /* polling works with INTR unused */
    out8(b, MASTER_CMD, 0x0C);
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0x00); /* nothing pending */
    machine_irq_pulse(b->m, 12);
    out8(b, MASTER_DATA, 0x00);
    out8(b, SLAVE_DATA, 0x00);
    out8(b, MASTER_CMD, 0x0C);
    ck_assert_uint_eq(in8(b, MASTER_CMD), 0x82);
    out8(b, SLAVE_CMD, 0x0C);
    ck_assert_uint_eq(in8(b, SLAVE_DATA), 0x84);
    ck_assert_uint_eq(read_reg(b, SLAVE_CMD, READ_ISR), 0x10);
    ck_assert_uint_eq(in8(b, MASTER_DATA), 0x00);   /* poll is a one-shot: IMR again */
    bench_free(b);
}
END_TEST

START_TEST(special_mask_mode)
{
    struct bench *b = bench_new(0);
    machine_irq_pulse(b->m, 3);
    ck_assert_uint_eq(inta(b), 0x33);
    machine_irq_pulse(b->m, 5);
    ck_assert(!intr(b));
    out8(b, MASTER_CMD, 0x68);                   /* set special mask mode */
    out8(b, MASTER_DATA, 0x08);                  /* mask the level in service */
    ck_assert(intr(b));
    ck_assert_uint_eq(inta(b), 0x35);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0x28);
    out8(b, MASTER_CMD, 0x48);                   /* reset special mask mode */
    machine_irq_pulse(b->m, 4);
    ck_assert(!intr(b));
    bench_free(b);
}
END_TEST

START_TEST(single_mode_without_icw4_and_reset)
{
    struct bench *b = bench_new(0);
    out8(b, MASTER_CMD, 0x12);                   /* single, no ICW4 */
    out8(b, MASTER_DATA, 0x87);                  /* ICW2: low bits ignored */
    out8(b, MASTER_DATA, 0xFA);                  /* already OCW1 */
    ck_assert_uint_eq(in8(b, MASTER_DATA), 0xFA);
    machine_irq_pulse(b->m, 0);
    ck_assert_uint_eq(inta(b), 0x80);
    out8(b, 0x4D0, 0x20);
    machine_reset(b->m);
    ck_assert_uint_eq(in8(b, MASTER_DATA), 0);
    ck_assert_uint_eq(in8(b, 0x4D0), 0);
    ck_assert_uint_eq(read_reg(b, MASTER_CMD, READ_ISR), 0);
    ck_assert_uint_eq(inta(b), 0x07);
    bench_free(b);
}
END_TEST

START_TEST(save_and_load)
{
    struct bench *b = bench_new(0);
    out8(b, 0x4D1, 0x08);
    out8(b, MASTER_DATA, 0x40);
    machine_irq_pulse(b->m, 10);
    ck_assert_uint_eq(inta(b), 0x3A);
    machine_irq_pulse(b->m, 1);
    struct snap_writer w;
    snap_writer_init(&w);
    pic_save(&b->pic, &w);
    ck_assert(!w.failed);

    struct bench *c = bench_new(0);
    struct snap_reader r;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert_msg(pic_load(&c->pic, &r), "%s", r.error);
    ck_assert(intr(c));
    ck_assert_uint_eq(in8(c, 0x4D1), 0x08);
    ck_assert_uint_eq(in8(c, MASTER_DATA), 0x40);
    ck_assert_uint_eq(inta(c), 0x31);
    ck_assert_uint_eq(read_reg(c, SLAVE_CMD, READ_ISR), 0x04);

    snap_reader_init(&r, w.buf, w.len - 1);
    ck_assert(!pic_load(&c->pic, &r));
    w.buf[1 + 4] = 0x01;                         /* master ELCR bit 0 */
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(!pic_load(&c->pic, &r));
    ck_assert_uint_eq(in8(c, 0x4D0), 0);         /* unchanged */
    snap_writer_free(&w);
    bench_free(c);
    bench_free(b);
}
END_TEST

/* Hostile guests: random bytes to every port in any order, lines toggling,
 * acknowledges at random; nothing may crash. */
START_TEST(random_port_writes_are_harmless)
{
    struct bench *b = bench_new(0);
    static const uint16_t ports[] = { 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1 };
    uint32_t seed = 777;
    for (int k = 0; k < 200000; k++) {
        seed = seed * 1103515245u + 12345u;
        uint16_t port = ports[(seed >> 16) % 6];
        switch (seed & 3) {
        case 0: out8(b, port, (uint8_t)(seed >> 8)); break;
        case 1: in8(b, port); break;
        case 2: inta(b); break;
        default: machine_irq_pulse(b->m, (int)(seed >> 24) % IRQ_LINES); break;
        }
    }
    bench_free(b);
}
END_TEST

static Suite *pic_suite(void)
{
    Suite *s = suite_create("pic");
    TCase *tc = tcase_create("pic");
    tcase_add_test(tc, priorities_and_non_specific_eoi);
    tcase_add_test(tc, masking);
    tcase_add_test(tc, cascade_and_special_fully_nested_mode);
    tcase_add_test(tc, elcr_edge_and_level);
    tcase_add_test(tc, rotation_and_priority_commands);
    tcase_add_test(tc, auto_eoi_and_rotation_in_it);
    tcase_add_test(tc, poll_mode);
    tcase_add_test(tc, special_mask_mode);
    tcase_add_test(tc, single_mode_without_icw4_and_reset);
    tcase_add_test(tc, save_and_load);
    tcase_add_test(tc, random_port_writes_are_harmless);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
