/* uart.h — a 16550A UART (COM1 0x3F8/IRQ 4, COM2 0x2F8/IRQ 3, COM3 0x3E8/IRQ 4,
 * COM4 0x2E8/IRQ 3: base and IRQ are attach parameters).
 *
 * Promises: the 16550A's registers (RBR/THR, IER, IIR/FCR, LCR, MCR, LSR,
 * MSR, SCR, the divisor latch under DLAB), a 16-byte receive FIFO with its
 * trigger levels, and every interrupt cause in the chip's priority order:
 * line status, received data, character timeout (4 character times of
 * virtual time at the programmed format and baud rate), THR empty (cleared
 * by reading IIR; turning ETBEI on while THR is empty raises it again) and
 * modem status. Transmitted bytes go to the output callback at once, so the
 * transmit FIFO is always empty and THRE/TEMT read as set. Loopback (MCR
 * bit 4) sends them to the receiver instead and loops the modem lines; on
 * PCs OUT2 gates the IRQ line, so the line is driven only with OUT2 set and
 * loopback off. Input from uart_receive waits in a bounded buffer and moves
 * into the FIFO as the guest reads; no byte is ever dropped (outside
 * loopback, where the guest can overrun its own receiver).
 */
#ifndef PLAN86_UART_H
#define PLAN86_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/scheduler.h"

struct machine;
struct snap_writer;
struct snap_reader;

#define UART_COM1_BASE 0x3F8
#define UART_COM1_IRQ 4
#define UART_COM2_BASE 0x2F8
#define UART_COM2_IRQ 3
#define UART_COM3_BASE 0x3E8
#define UART_COM3_IRQ 4
#define UART_COM4_BASE 0x2E8
#define UART_COM4_IRQ 3

#define UART_FIFO_SIZE 16
#define UART_INPUT_BUFFER 4096

typedef void (*uart_output_fn)(void *opaque, const uint8_t *bytes, size_t len);

struct uart {
    struct machine *m;
    uint16_t base;
    int irq;
    uart_output_fn output;
    void *output_opaque;
    struct timer rx_timeout_timer;

    uint8_t ier, lcr, mcr, scr;
    uint8_t fcr;                 /* FIFO enable and trigger level as last written */
    uint16_t divisor;
    uint8_t line_errors;         /* LSR OE/PE/FE/BI, cleared by reading LSR */
    uint8_t modem_inputs;        /* CTS/DSR/RI/DCD as the outside world drives them */
    uint8_t modem_lines;         /* MSR bits 4-7 as last seen by the chip */
    uint8_t modem_deltas;        /* MSR bits 0-3 */
    bool thre_pending;           /* THR-empty interrupt not yet cleared */
    bool timeout_pending;        /* character timeout reached */
    bool irq_level;

    uint8_t rx_fifo[UART_FIFO_SIZE];
    uint8_t rx_head, rx_count;
    uint64_t rx_activity_ns;     /* last byte into or out of the receive FIFO */

    uint8_t input[UART_INPUT_BUFFER];   /* received, not yet in the FIFO */
    size_t input_head, input_count;
};

/* Output callback that writes to the machine's console (opaque = the machine). */
void uart_output_to_console(void *machine, const uint8_t *bytes, size_t len);

/* Prepares the state without claiming ports (tests drive it directly). */
void uart_init(struct uart *u, struct machine *m, uint16_t base, int irq,
               uart_output_fn output, void *output_opaque);
/* uart_init, then claims base..base+7 and adds a reset hook. NULL or why not. */
const char *uart_attach(struct machine *m, struct uart *u, uint16_t base, int irq,
                        uart_output_fn output, void *output_opaque);
/* The port callbacks (one byte, port = base + register). */
uint32_t uart_port_read(void *opaque, uint16_t port, int size);
void uart_port_write(void *opaque, uint16_t port, uint32_t val, int size);
/* Master reset: registers to power-on values, FIFO emptied; waiting input kept. */
void uart_reset(void *opaque);

/* Bytes arriving on the serial line. Returns how many were taken: fewer than
 * len when the input buffer is full; the caller offers the rest later. */
size_t uart_receive(struct uart *u, const uint8_t *bytes, size_t len);

void uart_save(const struct uart *u, struct snap_writer *w);
/* Loads into an initialized device; false (and u unchanged) if the stream is bad. */
bool uart_load(struct uart *u, struct snap_reader *r);

#endif
