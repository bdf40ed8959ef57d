/* test_uart.c — Check tests for the 16550A UART (devices/uart.c).
 *
 * Each test builds a deterministic machine, drives a UART at COM1's ports
 * through its port callbacks and checks exact register values, IRQ 4, the
 * bytes sent out and the character-timeout timing in virtual nanoseconds.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "devices/uart.h"
#include "machine/machine.h"
#include "machine/snapshot.h"
#include "test_clock.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct bench {
    struct machine *m;
    struct uart uart;
    uint8_t sent[256];
    size_t nsent;
};

static void capture_output(void *opaque, const uint8_t *bytes, size_t len)
{
    struct bench *b = opaque;
    for (size_t k = 0; k < len && b->nsent < sizeof b->sent; k++)
        b->sent[b->nsent++] = bytes[k];
}

static void bench_open(struct bench *b)
{
    char err[200];
    memset(b, 0, sizeof *b);
    b->m = machine_new_bare(1u << 20, true, 1, err, sizeof err);
    ck_assert_msg(b->m != NULL, "%s", err);
    uart_init(&b->uart, b->m, UART_COM1_BASE, UART_COM1_IRQ, capture_output, b);
}

static void bench_close(struct bench *b)
{
    uart_reset(&b->uart);   /* cancels its timer */
    machine_free(b->m);
}

static void advance_to(struct bench *b, uint64_t ns) { test_advance_to(b->m, ns); }

static uint8_t rd(struct bench *b, int reg)
{
    return (uint8_t)uart_port_read(&b->uart, (uint16_t)(UART_COM1_BASE + reg), 1);
}

static void wr(struct bench *b, int reg, uint8_t v)
{
    uart_port_write(&b->uart, (uint16_t)(UART_COM1_BASE + reg), v, 1);
}

static bool irq4(const struct bench *b) { return irq_level(&b->m->irq, UART_COM1_IRQ); }

/* 115200 baud, 8 data bits, no parity, one stop bit. */
static void set_115200_8n1(struct bench *b)
{
    wr(b, LCR, 0x80);
    wr(b, DLL, 1);
    wr(b, DLM, 0);
    wr(b, LCR, 0x03);
}

/* The steps of Linux's 8250 autoconfig that decide "16550A". */
START_TEST(uart_linux_8250_probe)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0);
    ck_assert_uint_eq(rd(&b, IER), 0x00);
    wr(&b, IER, 0xFF);
    ck_assert_uint_eq(rd(&b, IER), 0x0F);
    wr(&b, IER, 0);
    wr(&b, SCR, 0xA5);
    ck_assert_uint_eq(rd(&b, SCR), 0xA5);
    wr(&b, SCR, 0x5A);
    ck_assert_uint_eq(rd(&b, SCR), 0x5A);
    wr(&b, MCR, 0x10 | 0x0A);                        /* loopback, RTS, OUT2 */
    ck_assert_uint_eq(rd(&b, MSR) & 0xF0, 0x90);     /* CTS and DCD */
    wr(&b, MCR, 0);
    wr(&b, LCR, 0xBF);
    wr(&b, 2, 0);                                    /* the EFR probe hits FCR */
    wr(&b, LCR, 0);
    wr(&b, FCR, 0x01);
    ck_assert_uint_eq(rd(&b, IIR), 0xC1);            /* FIFOs on, nothing pending */
    wr(&b, FCR, 0x21);                               /* the 16750's 64-byte bit: no IIR bit 5 */
    ck_assert_uint_eq(rd(&b, IIR) >> 5, 6);
    wr(&b, FCR, 0);
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    ck_assert_uint_eq(rd(&b, LSR), 0x60);
    ck_assert_uint_eq(rd(&b, MSR), 0xB2);            /* a connected terminal; DSR came back */
    bench_close(&b);
}
END_TEST

START_TEST(uart_divisor_latch)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0x05);
    wr(&b, LCR, 0x83);
    wr(&b, DLL, 0x34);
    wr(&b, DLM, 0x12);
    ck_assert_uint_eq(rd(&b, DLL), 0x34);
    ck_assert_uint_eq(rd(&b, DLM), 0x12);
    ck_assert_uint_eq(b.nsent, 0);                   /* DLL writes are not data */
    wr(&b, LCR, 0x03);
    ck_assert_uint_eq(rd(&b, IER), 0x05);
    ck_assert_uint_eq(b.uart.divisor, 0x1234);
    bench_close(&b);
}
END_TEST

START_TEST(uart_transmit_goes_out_at_once)
{
    struct bench b;
    bench_open(&b);
    wr(&b, THR, 'h');
    wr(&b, THR, 'i');
    ck_assert_uint_eq(b.nsent, 2);
    ck_assert_int_eq(memcmp(b.sent, "hi", 2), 0);
    ck_assert_uint_eq(rd(&b, LSR), 0x60);            /* THRE and TEMT */
    bench_close(&b);
}
END_TEST

/* Every cause at once in loopback, then peeled off in priority order. */
START_TEST(uart_interrupt_priority)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0x0F);
    ck_assert_uint_eq(rd(&b, IIR), 0x02);            /* THRE from turning ETBEI on */
    ck_assert_uint_eq(rd(&b, IIR), 0x01);            /* ... which the read cleared */
    wr(&b, MCR, 0x18);                               /* loopback, OUT2: CTS and DSR drop */
    ck_assert_uint_eq(rd(&b, IIR), 0x00);            /* modem status */
    wr(&b, THR, 'A');                                /* THRE again, and 'A' received */
    ck_assert_uint_eq(b.nsent, 0);
    ck_assert_uint_eq(rd(&b, IIR), 0x04);            /* received data beats THRE and modem */
    wr(&b, THR, 'B');                                /* no FIFO: overrun */
    ck_assert_uint_eq(rd(&b, IIR), 0x06);            /* line status first of all */
    ck_assert_uint_eq(rd(&b, LSR), 0x63);            /* DR, OE, THRE, TEMT; OE now cleared */
    ck_assert_uint_eq(rd(&b, IIR), 0x04);
    ck_assert_uint_eq(rd(&b, RBR), 'B');             /* without a FIFO the new byte won */
    ck_assert_uint_eq(rd(&b, IIR), 0x02);
    ck_assert_uint_eq(rd(&b, IIR), 0x00);
    ck_assert_uint_eq(rd(&b, MSR), 0x83);            /* DCD (OUT2), deltas CTS and DSR */
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    ck_assert(!irq4(&b));                            /* loopback keeps the PC's IRQ off */
    bench_close(&b);
}
END_TEST

START_TEST(uart_out2_gates_irq)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0x02);
    ck_assert(!irq4(&b));
    wr(&b, MCR, 0x08);
    ck_assert(irq4(&b));
    wr(&b, MCR, 0x18);
    ck_assert(!irq4(&b));
    wr(&b, MCR, 0x08);
    ck_assert(irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0x02);
    ck_assert(!irq4(&b));
    bench_close(&b);
}
END_TEST

/* THRE cleared by reading IIR; re-raised by turning ETBEI on (Linux's
 * UART_BUG_THRE test) or by sending a byte; not by rewriting ETBEI. */
START_TEST(uart_thre_quirk)
{
    struct bench b;
    bench_open(&b);
    wr(&b, MCR, 0x08);
    wr(&b, IER, 0x02);
    ck_assert(irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0x02);
    ck_assert(!irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    wr(&b, IER, 0x02);                               /* no rising edge: stays clear */
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    wr(&b, IER, 0x00);
    wr(&b, IER, 0x02);
    ck_assert(irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0x02);
    wr(&b, THR, 'x');
    ck_assert(irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0x02);
    bench_close(&b);
}
END_TEST

START_TEST(uart_rx_fifo_trigger_levels)
{
    static const uint8_t levels[4] = { 1, 4, 8, 14 };
    struct bench b;
    bench_open(&b);
    wr(&b, MCR, 0x08);
    wr(&b, IER, 0x01);
    for (int t = 0; t < 4; t++) {
        wr(&b, FCR, (uint8_t)(t << 6 | 0x07));       /* enable, clear both FIFOs */
        for (uint8_t k = 0; k < levels[t] - 1; k++) {
            ck_assert_uint_eq(uart_receive(&b.uart, &k, 1), 1);
            ck_assert_uint_eq(rd(&b, IIR), 0xC1);
            ck_assert(!irq4(&b));
        }
        uint8_t last = 0xEE;
        uart_receive(&b.uart, &last, 1);
        ck_assert_uint_eq(rd(&b, IIR), 0xC4);
        ck_assert(irq4(&b));
        ck_assert_uint_eq(rd(&b, LSR), 0x61);
        for (uint8_t k = 0; k < levels[t] - 1; k++)
            ck_assert_uint_eq(rd(&b, RBR), k);
        ck_assert_uint_eq(rd(&b, RBR), 0xEE);
        ck_assert_uint_eq(rd(&b, LSR), 0x60);
        ck_assert(!irq4(&b));
    }
    bench_close(&b);
}
END_TEST

/* 4 characters of 10 bits at 115200 baud: 347222 ns after the last activity. */
START_TEST(uart_rx_timeout_timing)
{
    const uint64_t timeout = 347222;
    struct bench b;
    bench_open(&b);
    set_115200_8n1(&b);
    wr(&b, FCR, 0xC1);                               /* trigger level 14 */
    wr(&b, IER, 0x01);
    wr(&b, MCR, 0x08);
    advance_to(&b, 1000);
    uart_receive(&b.uart, (const uint8_t *)"abc", 3);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), 1000 + timeout);
    advance_to(&b, 1000 + timeout - 1);
    ck_assert_uint_eq(rd(&b, IIR), 0xC1);
    advance_to(&b, 1000 + timeout);
    ck_assert(irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0xCC);
    advance_to(&b, 500000);
    ck_assert_uint_eq(rd(&b, RBR), 'a');             /* a read clears it and restarts the wait */
    ck_assert(!irq4(&b));
    ck_assert_uint_eq(rd(&b, IIR), 0xC1);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), 500000 + timeout);
    advance_to(&b, 600000);
    uart_receive(&b.uart, (const uint8_t *)"d", 1);  /* a new byte restarts it too */
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), 600000 + timeout);
    advance_to(&b, 600000 + timeout);
    ck_assert_uint_eq(rd(&b, IIR), 0xCC);
    ck_assert_uint_eq(rd(&b, RBR), 'b');
    ck_assert_uint_eq(rd(&b, RBR), 'c');
    ck_assert_uint_eq(rd(&b, RBR), 'd');
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), SCHED_NEVER);   /* empty: no timer */
    ck_assert_uint_eq(rd(&b, IIR), 0xC1);
    /* 7 data bits, even parity, 2 stop bits at 9600 baud: 11 bits per character */
    wr(&b, LCR, 0x80);
    wr(&b, DLL, 12);
    wr(&b, LCR, 0x1E);
    advance_to(&b, 2000000);
    uart_receive(&b.uart, (const uint8_t *)"e", 1);
    ck_assert_uint_eq(sched_next_deadline(&b.m->sched), 2000000 + 4583333);
    bench_close(&b);
}
END_TEST

/* More input than the buffer holds: the rest is offered again; every byte
 * arrives, in order. */
START_TEST(uart_input_never_dropped)
{
    enum { TOTAL = 10000 };
    static uint8_t data[TOTAL];
    for (int k = 0; k < TOTAL; k++)
        data[k] = (uint8_t)(k * 7 + k / 256);
    struct bench b;
    bench_open(&b);
    wr(&b, FCR, 0x01);
    size_t offered = uart_receive(&b.uart, data, TOTAL);
    ck_assert_uint_eq(offered, UART_INPUT_BUFFER);
    size_t got = 0;
    while (got < TOTAL) {
        offered += uart_receive(&b.uart, data + offered, TOTAL - offered);
        ck_assert_uint_eq(rd(&b, LSR) & 0x03, 0x01); /* data ready, never an overrun */
        ck_assert_uint_eq(rd(&b, RBR), data[got]);
        got++;
    }
    ck_assert_uint_eq(offered, TOTAL);
    ck_assert_uint_eq(rd(&b, LSR), 0x60);
    /* in loopback the line is disconnected: input waits */
    wr(&b, MCR, 0x10);
    uart_receive(&b.uart, (const uint8_t *)"z", 1);
    ck_assert_uint_eq(rd(&b, LSR), 0x60);
    wr(&b, MCR, 0x00);
    ck_assert_uint_eq(rd(&b, LSR), 0x61);
    ck_assert_uint_eq(rd(&b, RBR), 'z');
    bench_close(&b);
}
END_TEST

START_TEST(uart_loopback_data_and_fifo_overrun)
{
    struct bench b;
    bench_open(&b);
    wr(&b, FCR, 0x01);
    wr(&b, MCR, 0x10);
    for (int k = 0; k < 17; k++)
        wr(&b, THR, (uint8_t)('a' + k));
    ck_assert_uint_eq(b.nsent, 0);
    ck_assert_uint_eq(rd(&b, LSR), 0x63);            /* the 17th overran the full FIFO */
    for (int k = 0; k < 16; k++)
        ck_assert_uint_eq(rd(&b, RBR), 'a' + k);
    ck_assert_uint_eq(rd(&b, LSR), 0x60);
    bench_close(&b);
}
END_TEST

START_TEST(uart_modem_status_deltas)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0x08);
    wr(&b, MCR, 0x10);                               /* loopback: every input drops */
    ck_assert_uint_eq(rd(&b, IIR), 0x00);
    ck_assert_uint_eq(rd(&b, MSR), 0x0B);            /* DCTS, DDSR, DDCD */
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    wr(&b, MCR, 0x1F);                               /* all up: RI rising is no delta */
    ck_assert_uint_eq(rd(&b, MSR), 0xFB);
    wr(&b, MCR, 0x1B);                               /* OUT1 off: RI trailing edge */
    ck_assert_uint_eq(rd(&b, MSR), 0xB4);
    ck_assert_uint_eq(rd(&b, MSR), 0xB0);
    wr(&b, MCR, 0x00);                               /* back to the terminal's lines */
    ck_assert_uint_eq(rd(&b, MSR), 0xB0);
    bench_close(&b);
}
END_TEST

START_TEST(uart_reset_keeps_waiting_input)
{
    struct bench b;
    bench_open(&b);
    wr(&b, IER, 0x0F);
    wr(&b, MCR, 0x08);
    wr(&b, LCR, 0x03);
    uart_receive(&b.uart, (const uint8_t *)"xy", 2);
    ck_assert(irq4(&b));
    uart_reset(&b.uart);
    ck_assert(!irq4(&b));
    ck_assert_uint_eq(rd(&b, IER), 0);
    ck_assert_uint_eq(rd(&b, LCR), 0);
    ck_assert_uint_eq(rd(&b, MCR), 0);
    ck_assert_uint_eq(rd(&b, IIR), 0x01);
    ck_assert_uint_eq(rd(&b, RBR), 'y');             /* reset emptied the RBR ('x'); 'y' waited */
    ck_assert_uint_eq(rd(&b, LSR), 0x60);
    bench_close(&b);
}
END_TEST

START_TEST(uart_save_and_load)
{
    struct bench b;
    bench_open(&b);
    set_115200_8n1(&b);
    wr(&b, FCR, 0x41);
    wr(&b, IER, 0x01);
    wr(&b, MCR, 0x0B);
    wr(&b, SCR, 0x99);
    static uint8_t data[5000];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)k;
    uart_receive(&b.uart, data, sizeof data);
    ck_assert(irq4(&b));
    struct snap_writer w;
    snap_writer_init(&w);
    uart_save(&b.uart, &w);
    ck_assert(!w.failed);
    uart_reset(&b.uart);
    ck_assert(!irq4(&b));

    struct uart copy;
    uart_init(&copy, b.m, UART_COM1_BASE, UART_COM1_IRQ, capture_output, &b);
    struct snap_reader r;
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(uart_load(&copy, &r));
    ck_assert(irq_level(&b.m->irq, UART_COM1_IRQ));
    ck_assert_uint_eq(uart_port_read(&copy, UART_COM1_BASE + SCR, 1), 0x99);
    ck_assert_uint_eq(uart_port_read(&copy, UART_COM1_BASE + IIR, 1), 0xC4);
    for (size_t k = 0; k < UART_INPUT_BUFFER; k++)
        ck_assert_uint_eq(uart_port_read(&copy, UART_COM1_BASE + RBR, 1), data[k]);

    w.buf[0] = 0x10;                                 /* IER bits the chip does not have */
    snap_reader_init(&r, w.buf, w.len);
    ck_assert(!uart_load(&copy, &r));
    w.buf[0] = 0x01;
    snap_reader_init(&r, w.buf, w.len - 1);
    ck_assert(!uart_load(&copy, &r));
    ck_assert_uint_eq(uart_port_read(&copy, UART_COM1_BASE + SCR, 1), 0x99);
    uart_reset(&copy);
    snap_writer_free(&w);
    bench_close(&b);
}
END_TEST

/* Hostile guest: any value to any register in any order never breaks the emulator. */
START_TEST(uart_survives_random_port_traffic)
{
    struct bench b;
    bench_open(&b);
    uint32_t seed = 777;
    uint64_t now = 0;
    for (int k = 0; k < 200000; k++) {
        seed = seed * 1103515245u + 12345u;
        uint8_t v = (uint8_t)(seed >> 16);
        int reg = (int)(seed >> 24) & 7;
        switch (seed >> 30) {
        case 0: wr(&b, reg, v); break;
        case 1: rd(&b, reg); break;
        case 2: uart_receive(&b.uart, &v, 1); break;
        default: now += v * 1009ull; advance_to(&b, now);
        }
    }
    bench_close(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uart");
    TCase *tc = tcase_create("uart");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, uart_linux_8250_probe);
    tcase_add_test(tc, uart_divisor_latch);
    tcase_add_test(tc, uart_transmit_goes_out_at_once);
    tcase_add_test(tc, uart_interrupt_priority);
    tcase_add_test(tc, uart_out2_gates_irq);
    tcase_add_test(tc, uart_thre_quirk);
    tcase_add_test(tc, uart_rx_fifo_trigger_levels);
    tcase_add_test(tc, uart_rx_timeout_timing);
    tcase_add_test(tc, uart_input_never_dropped);
    tcase_add_test(tc, uart_loopback_data_and_fifo_overrun);
    tcase_add_test(tc, uart_modem_status_deltas);
    tcase_add_test(tc, uart_reset_keeps_waiting_input);
    tcase_add_test(tc, uart_save_and_load);
    tcase_add_test(tc, uart_survives_random_port_traffic);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
