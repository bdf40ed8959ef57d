/* uart.c — the 16550A UART (see uart.h for what it promises).
 *
 * Every port access ends in settle(): the IRQ line follows the highest
 * pending cause (gated by OUT2 and loopback) and the character-timeout timer
 * is armed exactly while the FIFO holds bytes and no timeout is pending.
 */
#include "uart.h"

#include <string.h>

#include "machine/machine.h"
#include "machine/snapshot.h"

#define NS_PER_SEC 1000000000ull
#define UART_CLOCK_HZ 1843200u       /* the PC's crystal; baud = clock / 16 / divisor */
#define TIMEOUT_CHARACTERS 4
#define POWER_ON_DIVISOR 12          /* 9600 baud until the guest programs it */

enum uart_register { REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR, NREGS };

#define IER_RDI 0x01    /* received data available (and character timeout) */
#define IER_THRI 0x02   /* transmitter holding register empty */
#define IER_RLSI 0x04   /* receiver line status */
#define IER_MSI 0x08    /* modem status */
#define IER_MASK 0x0F

#define IIR_NONE 0x01
#define IIR_MODEM_STATUS 0x00
#define IIR_THRE 0x02
#define IIR_RX_DATA 0x04
#define IIR_LINE_STATUS 0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFOS_ON 0xC0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_DMA 0x08
#define FCR_TRIGGER 0xC0
#define FCR_KEPT (FCR_ENABLE | FCR_DMA | FCR_TRIGGER)

#define LCR_WORD_LENGTH 0x03
#define LCR_TWO_STOP_BITS 0x04
#define LCR_PARITY 0x08
#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1F

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1E  /* OE, PE, FE, BI */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_LINES 0xF0
#define MSR_DELTAS 0x0F

/* What a connected terminal drives: clear to send, data set ready, carrier. */
#define MODEM_INPUTS_CONNECTED (MSR_CTS | MSR_DSR | MSR_DCD)

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

/* Loopback wires each modem control output to a modem status input. */
static const struct { uint8_t mcr, msr; } loopback_wiring[] = {
    { MCR_RTS, MSR_CTS }, { MCR_DTR, MSR_DSR }, { MCR_OUT1, MSR_RI }, { MCR_OUT2, MSR_DCD },
};

static bool fifo_enabled(const struct uart *u) { return u->fcr & FCR_ENABLE; }
static bool loopback(const struct uart *u) { return u->mcr & MCR_LOOP; }
static unsigned rx_capacity(const struct uart *u) { return fifo_enabled(u) ? UART_FIFO_SIZE : 1; }

/* ---- timing ---- */

/* Four character times (start, data, parity and stop bits) at the current baud rate. */
static uint64_t rx_timeout_ns(const struct uart *u)
{
    unsigned data_bits = 5 + (u->lcr & LCR_WORD_LENGTH);
    unsigned stop_half_bits = !(u->lcr & LCR_TWO_STOP_BITS) ? 2 : data_bits == 5 ? 3 : 4;
    uint64_t half_bits = 2 * (1 + data_bits + (u->lcr & LCR_PARITY ? 1 : 0)) + stop_half_bits;
    uint64_t divisor = u->divisor ? u->divisor : 0x10000;
    return TIMEOUT_CHARACTERS * half_bits * divisor * 16 * NS_PER_SEC / (UART_CLOCK_HZ * 2ull);
}

/* ---- interrupts ---- */

static bool rx_trigger_reached(const struct uart *u)
{
    unsigned level = fifo_enabled(u) ? rx_trigger_levels[u->fcr >> 6] : 1;
    return u->rx_count >= level;
}

/* The highest-priority enabled cause, as IIR bits 3-0. */
static uint8_t interrupt_cause(const struct uart *u)
{
    if ((u->ier & IER_RLSI) && (u->line_errors & LSR_ERRORS))
        return IIR_LINE_STATUS;
    if ((u->ier & IER_RDI) && rx_trigger_reached(u))
        return IIR_RX_DATA;
    if ((u->ier & IER_RDI) && u->timeout_pending)
        return IIR_TIMEOUT;
    if ((u->ier & IER_THRI) && u->thre_pending)
        return IIR_THRE;
    if ((u->ier & IER_MSI) && u->modem_deltas)
        return IIR_MODEM_STATUS;
    return IIR_NONE;
}

static void drive_irq(struct uart *u)
{
    bool level = interrupt_cause(u) != IIR_NONE && (u->mcr & MCR_OUT2) && !loopback(u);
    if (level == u->irq_level)
        return;
    u->irq_level = level;
    if (level)
        machine_irq_raise(u->m, u->irq);
    else
        machine_irq_lower(u->m, u->irq);
}

static void schedule_rx_timeout(struct uart *u)
{
    if (!fifo_enabled(u) || u->rx_count == 0 || u->timeout_pending) {
        machine_timer_cancel(u->m, &u->rx_timeout_timer);
        return;
    }
    uint64_t deadline = u->rx_activity_ns + rx_timeout_ns(u);
    if (!timer_armed(&u->rx_timeout_timer) || u->rx_timeout_timer.deadline != deadline)
        machine_timer_arm(u->m, &u->rx_timeout_timer, deadline);
}

static void settle(struct uart *u)
{
    drive_irq(u);
    schedule_rx_timeout(u);
}

static void rx_timeout_fired(void *opaque)
{
    struct uart *u = opaque;
    u->timeout_pending = fifo_enabled(u) && u->rx_count > 0;
    settle(u);
}

/* ---- the receiver ---- */

static void rx_clear(struct uart *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
    u->timeout_pending = false;
}

/* A character reaches the receiver. Full: an overrun (the FIFO keeps its
 * bytes; without FIFOs the new byte replaces the unread one). */
static void rx_push(struct uart *u, uint8_t byte)
{
    u->rx_activity_ns = machine_now_ns(u->m);
    if (u->rx_count == rx_capacity(u)) {
        u->line_errors |= LSR_OE;
        if (!fifo_enabled(u))
            u->rx_fifo[u->rx_head] = byte;
        return;
    }
    u->rx_fifo[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
}

/* Moves waiting input into the receiver while it has room (not in loopback,
 * where the receiver hears only the transmitter). */
static void pump_input(struct uart *u)
{
    while (!loopback(u) && u->input_count > 0 && u->rx_count < rx_capacity(u)) {
        rx_push(u, u->input[u->input_head]);
        u->input_head = (u->input_head + 1) % UART_INPUT_BUFFER;
        u->input_count--;
    }
}

static uint8_t rx_pop(struct uart *u)
{
    if (u->rx_count == 0)
        return 0;
    uint8_t byte = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
    u->rx_count--;
    u->timeout_pending = false;
    u->rx_activity_ns = machine_now_ns(u->m);
    pump_input(u);
    return byte;
}

/* ---- modem lines ---- */

static uint8_t modem_lines_now(const struct uart *u)
{
    if (!loopback(u))
        return u->modem_inputs;
    uint8_t lines = 0;
    for (size_t k = 0; k < sizeof loopback_wiring / sizeof loopback_wiring[0]; k++)
        if (u->mcr & loopback_wiring[k].mcr)
            lines |= loopback_wiring[k].msr;
    return lines;
}

/* Deltas: any change of CTS, DSR, DCD; RI only on its trailing edge. */
static void sample_modem_lines(struct uart *u)
{
    uint8_t now = modem_lines_now(u);
    uint8_t changed = (uint8_t)((now ^ u->modem_lines) & (MSR_CTS | MSR_DSR | MSR_DCD));
    uint8_t ri_fell = (uint8_t)(u->modem_lines & ~now & MSR_RI);
    u->modem_deltas |= (uint8_t)((changed | ri_fell) >> 4);
    u->modem_lines = now;
}

/* ---- registers ---- */

static bool dlab(const struct uart *u) { return u->lcr & LCR_DLAB; }

static uint8_t read_data(struct uart *u)
{
    return dlab(u) ? (uint8_t)u->divisor : rx_pop(u);
}

static uint8_t read_ier(struct uart *u)
{
    return dlab(u) ? (uint8_t)(u->divisor >> 8) : u->ier;
}

/* Reading IIR is what acknowledges a THR-empty interrupt. */
static uint8_t read_iir(struct uart *u)
{
    uint8_t cause = interrupt_cause(u);
    if (cause == IIR_THRE)
        u->thre_pending = false;
    return (uint8_t)(cause | (fifo_enabled(u) ? IIR_FIFOS_ON : 0));
}

static uint8_t read_lcr(struct uart *u) { return u->lcr; }
static uint8_t read_mcr(struct uart *u) { return u->mcr; }
static uint8_t read_scr(struct uart *u) { return u->scr; }

static uint8_t read_lsr(struct uart *u)
{
    uint8_t lsr = (uint8_t)(LSR_THRE | LSR_TEMT | u->line_errors | (u->rx_count ? LSR_DR : 0));
    u->line_errors = 0;
    return lsr;
}

static uint8_t read_msr(struct uart *u)
{
    uint8_t msr = (uint8_t)(u->modem_lines | u->modem_deltas);
    u->modem_deltas = 0;
    return msr;
}

/* The byte leaves at once; THR is empty again, a fresh THRE edge. */
static void transmit(struct uart *u, uint8_t byte)
{
    u->thre_pending = false;
    drive_irq(u);
    if (loopback(u))
        rx_push(u, byte);
    else if (u->output)
        u->output(u->output_opaque, &byte, 1);
    u->thre_pending = true;
}

static void write_data(struct uart *u, uint8_t v)
{
    if (dlab(u))
        u->divisor = (uint16_t)((u->divisor & 0xFF00) | v);
    else
        transmit(u, v);
}

/* Turning ETBEI on while THR is empty raises THRE again (drivers rely on it). */
static void write_ier(struct uart *u, uint8_t v)
{
    if (dlab(u)) {
        u->divisor = (uint16_t)((u->divisor & 0x00FF) | v << 8);
        return;
    }
    if ((v & IER_THRI) && !(u->ier & IER_THRI))
        u->thre_pending = true;
    u->ier = v & IER_MASK;
}

/* Switching the FIFOs on or off empties them; bits 1-2 clear them (the
 * transmit FIFO is always empty). */
static void write_fcr(struct uart *u, uint8_t v)
{
    bool enable = v & FCR_ENABLE;
    if (enable != fifo_enabled(u) || (enable && (v & FCR_CLEAR_RX)))
        rx_clear(u);
    u->fcr = enable ? v & FCR_KEPT : 0;
    pump_input(u);
}

static void write_lcr(struct uart *u, uint8_t v) { u->lcr = v; }
static void write_scr(struct uart *u, uint8_t v) { u->scr = v; }
static void write_read_only(struct uart *u, uint8_t v) { (void)u; (void)v; }

static void write_mcr(struct uart *u, uint8_t v)
{
    u->mcr = v & MCR_MASK;
    sample_modem_lines(u);
    pump_input(u);
}

typedef uint8_t (*register_read_fn)(struct uart *u);
typedef void (*register_write_fn)(struct uart *u, uint8_t v);

static const register_read_fn register_reads[NREGS] = {
    read_data, read_ier, read_iir, read_lcr, read_mcr, read_lsr, read_msr, read_scr,
};
static const register_write_fn register_writes[NREGS] = {
    write_data, write_ier, write_fcr, write_lcr, write_mcr, write_read_only, write_read_only, write_scr,
};

uint32_t uart_port_read(void *opaque, uint16_t port, int size)
{
    struct uart *u = opaque;
    (void)size;
    uint8_t v = register_reads[(uint16_t)(port - u->base) % NREGS](u);
    settle(u);
    return v;
}

void uart_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct uart *u = opaque;
    (void)size;
    register_writes[(uint16_t)(port - u->base) % NREGS](u, (uint8_t)val);
    settle(u);
}

/* ---- life cycle, input, save and load ---- */

void uart_output_to_console(void *machine, const uint8_t *bytes, size_t len)
{
    machine_console_write(machine, bytes, len);
}

void uart_reset(void *opaque)
{
    struct uart *u = opaque;
    u->ier = 0;
    u->lcr = 0;
    u->mcr = 0;
    u->fcr = 0;
    u->line_errors = 0;
    u->thre_pending = false;
    rx_clear(u);
    u->modem_lines = modem_lines_now(u);
    u->modem_deltas = 0;
    pump_input(u);
    settle(u);
}

void uart_init(struct uart *u, struct machine *m, uint16_t base, int irq,
               uart_output_fn output, void *output_opaque)
{
    memset(u, 0, sizeof *u);
    u->m = m;
    u->base = base;
    u->irq = irq;
    u->output = output;
    u->output_opaque = output_opaque;
    timer_init(&u->rx_timeout_timer, rx_timeout_fired, u);
    u->divisor = POWER_ON_DIVISOR;
    u->modem_inputs = MODEM_INPUTS_CONNECTED;
    uart_reset(u);
}

const char *uart_attach(struct machine *m, struct uart *u, uint16_t base, int irq,
                        uart_output_fn output, void *output_opaque)
{
    uart_init(u, m, base, irq, output, output_opaque);
    const char *why = machine_register_ports(m, base, NREGS, PORT_SIZE_8, uart_port_read, uart_port_write, u);
    return why ? why : machine_add_reset_hook(m, uart_reset, u);
}

size_t uart_receive(struct uart *u, const uint8_t *bytes, size_t len)
{
    size_t room = UART_INPUT_BUFFER - u->input_count;
    size_t taken = len < room ? len : room;
    for (size_t k = 0; k < taken; k++)
        u->input[(u->input_head + u->input_count + k) % UART_INPUT_BUFFER] = bytes[k];
    u->input_count += taken;
    pump_input(u);
    settle(u);
    return taken;
}

void uart_save(const struct uart *u, struct snap_writer *w)
{
    snap_put_u8(w, u->ier);
    snap_put_u8(w, u->lcr);
    snap_put_u8(w, u->mcr);
    snap_put_u8(w, u->scr);
    snap_put_u8(w, u->fcr);
    snap_put_u16(w, u->divisor);
    snap_put_u8(w, u->line_errors);
    snap_put_u8(w, u->modem_inputs);
    snap_put_u8(w, u->modem_lines);
    snap_put_u8(w, u->modem_deltas);
    snap_put_bool(w, u->thre_pending);
    snap_put_bool(w, u->timeout_pending);
    snap_put_bytes(w, u->rx_fifo, sizeof u->rx_fifo);
    snap_put_u8(w, u->rx_head);
    snap_put_u8(w, u->rx_count);
    snap_put_u64(w, u->rx_activity_ns);
    snap_put_u32(w, (uint32_t)u->input_count);
    for (size_t k = 0; k < u->input_count; k++)
        snap_put_u8(w, u->input[(u->input_head + k) % UART_INPUT_BUFFER]);
}

static bool uart_state_valid(const struct uart *s)
{
    return !(s->ier & ~IER_MASK) && !(s->mcr & ~MCR_MASK) && !(s->fcr & ~FCR_KEPT)
        && !(s->line_errors & ~LSR_ERRORS) && !(s->modem_inputs & ~MSR_LINES)
        && !(s->modem_lines & ~MSR_LINES) && !(s->modem_deltas & ~MSR_DELTAS)
        && s->rx_head < UART_FIFO_SIZE && s->rx_count <= rx_capacity(s)
        && s->input_count <= UART_INPUT_BUFFER;
}

bool uart_load(struct uart *u, struct snap_reader *r)
{
    struct uart s = *u;
    s.ier = snap_get_u8(r);
    s.lcr = snap_get_u8(r);
    s.mcr = snap_get_u8(r);
    s.scr = snap_get_u8(r);
    s.fcr = snap_get_u8(r);
    s.divisor = snap_get_u16(r);
    s.line_errors = snap_get_u8(r);
    s.modem_inputs = snap_get_u8(r);
    s.modem_lines = snap_get_u8(r);
    s.modem_deltas = snap_get_u8(r);
    s.thre_pending = snap_get_bool(r);
    s.timeout_pending = snap_get_bool(r);
    snap_get_bytes(r, s.rx_fifo, sizeof s.rx_fifo);
    s.rx_head = snap_get_u8(r);
    s.rx_count = snap_get_u8(r);
    s.rx_activity_ns = snap_get_u64(r);
    s.input_count = snap_get_u32(r);
    s.input_head = 0;
    if (snap_ok(r) && !uart_state_valid(&s))
        snap_fail(r, "UART state out of range");
    if (snap_ok(r))
        snap_get_bytes(r, s.input, s.input_count);
    if (!snap_ok(r))
        return false;
    *u = s;
    /* the opposite of the level it must have, so drive_irq() drives the line */
    u->irq_level = interrupt_cause(u) == IIR_NONE || !(u->mcr & MCR_OUT2) || loopback(u);
    settle(u);
    return true;
}
