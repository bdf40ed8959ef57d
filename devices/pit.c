/* pit.c — the 8254 PIT and port 0x61 (see pit.h).
 *
 * A counting channel is described by the input clock tick at which its run
 * started and the count it started from; its counter and OUT at any later
 * tick are pure functions of the elapsed ticks. Modes 2 and 3 take a count
 * written mid-run at the end of the current period (reload_tick); every entry
 * point first "settles" the channels so that a due reload has happened.
 */
#include "pit.h"

#include "machine/machine.h"
#include "machine/snapshot.h"

#define NS_PER_S 1000000000u
#define REFRESH_TOGGLE_NS 15085u
#define NO_TICK UINT64_MAX
/* Ticks whose time in nanoseconds still fits in 64 bits. */
#define LAST_TIMED_TICK ((UINT64_MAX / NS_PER_S - 1) * PIT_INPUT_HZ)

#define PORT_B_WRITABLE 0x0F
#define PORT_B_GATE2 0x01
#define PORT_B_REFRESH 0x10
#define PORT_B_OUT2 0x20

/* ---- time ---- */

static uint64_t tick_at_ns(uint64_t ns)
{
    return ns / NS_PER_S * PIT_INPUT_HZ + ns % NS_PER_S * PIT_INPUT_HZ / NS_PER_S;
}

/* The first nanosecond at which `tick` has happened (tick <= LAST_TIMED_TICK). */
static uint64_t ns_at_tick(uint64_t tick)
{
    uint64_t part = tick % PIT_INPUT_HZ * NS_PER_S;
    return tick / PIT_INPUT_HZ * NS_PER_S + (part + PIT_INPUT_HZ - 1) / PIT_INPUT_HZ;
}

static uint64_t now_tick(const struct pit *p)
{
    return tick_at_ns(machine_now_ns(p->m));
}

/* ---- one channel as a function of time ---- */

static int effective_mode(const struct pit_channel *c)
{
    return c->mode > 5 ? c->mode - 4 : c->mode;
}

static uint32_t counter_modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 0x10000;
}

static bool gate_stops_counting(int mode)
{
    return mode != 1 && mode != 5;
}

static uint64_t elapsed_ticks(const struct pit_channel *c, uint64_t tick)
{
    if (c->paused)
        return c->paused_elapsed;
    return tick > c->start_tick ? tick - c->start_tick : 0;
}

static void settle(struct pit_channel *c, uint64_t tick)
{
    if (c->state != PIT_COUNTING || !c->reload_pending || c->paused || tick < c->reload_tick)
        return;
    c->start_tick = c->reload_tick;
    c->run_count = c->count;
    c->reload_pending = false;
    c->null_count = false;
}

/* Mode 3 counts down by two through each half period; an odd count spends
 * one more tick in the high half (N, N-1, N-3, ... then N, N-3, N-5, ...). */
static uint32_t square_wave_value(uint32_t n, uint64_t phase)
{
    uint64_t high_ticks = (n + 1) / 2;
    bool high = phase < high_ticks;
    uint64_t step = high ? phase : phase - high_ticks;
    if (step == 0)
        return n;
    uint32_t first = (n & 1) ? (high ? n + 1 : n - 1) : n;
    return (uint32_t)(first - 2 * step);
}

static uint32_t counter_value(const struct pit_channel *c, uint64_t tick)
{
    if (c->state != PIT_COUNTING)
        return c->held_value;
    uint64_t d = elapsed_ticks(c, tick);
    uint32_t n = c->run_count, modulus = counter_modulus(c);
    switch (effective_mode(c)) {
    case 2: return (uint32_t)(n - d % n);
    case 3: return square_wave_value(n, d % n);
    default: return (uint32_t)((n + modulus - d % modulus) % modulus);
    }
}

static bool out_level(const struct pit_channel *c, uint64_t tick)
{
    int mode = effective_mode(c);
    if (c->state != PIT_COUNTING)
        return !(c->state == PIT_IDLE && mode == 0);
    uint64_t d = elapsed_ticks(c, tick), n = c->run_count;
    switch (mode) {
    case 0:
    case 1: return d >= n;
    case 2: return c->paused || d % n != n - 1;
    case 3: return c->paused || d % n < (n + 1) / 2;
    default: return d != n;
    }
}

/* The first tick after `tick` at which OUT rises, or NO_TICK. */
static uint64_t next_rising_edge(const struct pit_channel *c, uint64_t tick)
{
    if (c->state != PIT_COUNTING || c->paused)
        return NO_TICK;
    if (c->reload_pending)
        return c->reload_tick;
    uint64_t n = c->run_count, edge;
    switch (effective_mode(c)) {
    case 0:
    case 1: edge = c->start_tick + n; break;
    case 2:
    case 3:
        if (n < 2)
            return NO_TICK;
        edge = c->start_tick + (elapsed_ticks(c, tick) / n + 1) * n;
        break;
    default: edge = c->start_tick + n + 1; break;
    }
    return edge > tick ? edge : NO_TICK;
}

static uint16_t to_bcd(uint32_t v)
{
    v %= 10000;
    return (uint16_t)(v % 10 | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000) << 12);
}

/* Nibbles above 9 are taken at face value, as a hostile guest may write them. */
static uint32_t from_bcd(uint16_t v)
{
    return (v & 0xF) + (v >> 4 & 0xF) * 10 + (v >> 8 & 0xF) * 100 + (v >> 12) * 1000u;
}

static uint16_t counter_reading(const struct pit_channel *c, uint64_t tick)
{
    uint32_t v = counter_value(c, tick);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

/* ---- channel state changes ---- */

static void begin_run(struct pit_channel *c, uint64_t tick)
{
    c->state = PIT_COUNTING;
    c->start_tick = tick;
    c->run_count = c->count;
    c->reload_pending = false;
    c->null_count = false;
    c->paused = !c->gate && gate_stops_counting(effective_mode(c));
    c->paused_elapsed = 0;
}

static void stop_run(struct pit_channel *c, uint64_t tick)
{
    c->held_value = counter_value(c, tick);
    c->state = PIT_IDLE;
    c->paused = false;
    c->reload_pending = false;
}

static void load_count(struct pit_channel *c, uint64_t tick, uint16_t raw)
{
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    c->count = n ? n : counter_modulus(c);
    c->null_count = true;
    int mode = effective_mode(c);
    if (mode == 1 || mode == 5) {
        if (c->state == PIT_IDLE)
            c->state = PIT_WAIT_TRIGGER;
    } else if ((mode == 2 || mode == 3) && c->state == PIT_COUNTING) {
        if (!c->paused) {   /* paused: the GATE rising edge loads it */
            c->reload_pending = true;
            c->reload_tick = c->start_tick + (elapsed_ticks(c, tick) / c->run_count + 1) * c->run_count;
        }
    } else {
        begin_run(c, tick);
    }
}

static void program_channel(struct pit_channel *c, uint64_t tick, uint8_t control)
{
    stop_run(c, tick);
    c->access = control >> 4 & 3;
    c->mode = control >> 1 & 7;
    c->bcd = control & 1;
    c->null_count = true;
    c->write_msb_next = c->read_msb_next = false;
    c->count_latched = c->status_latched = false;
}

/* Modes 1 and 5 start on a GATE rising edge; modes 2 and 3 start over. */
static bool gate_rise_restarts(const struct pit_channel *c, int mode)
{
    if (mode == 1 || mode == 5)
        return c->state != PIT_IDLE;
    return (mode == 2 || mode == 3) && c->state == PIT_COUNTING;
}

static void gate_changed(struct pit_channel *c, uint64_t tick)
{
    int mode = effective_mode(c);
    if (c->gate) {
        if (gate_rise_restarts(c, mode)) {
            begin_run(c, tick);
        } else if (c->paused) {
            c->start_tick = tick > c->paused_elapsed ? tick - c->paused_elapsed : 0;
            c->paused = false;
        }
    } else if (c->state == PIT_COUNTING && gate_stops_counting(mode) && !c->paused) {
        c->paused_elapsed = elapsed_ticks(c, tick);
        c->paused = true;
    }
}

static void latch_count(struct pit_channel *c, uint64_t tick)
{
    if (c->count_latched)
        return;
    c->latched_count = counter_reading(c, tick);
    c->count_latched = true;
}

static void latch_status(struct pit_channel *c, uint64_t tick)
{
    if (c->status_latched)
        return;
    c->latched_status = (uint8_t)(out_level(c, tick) << 7 | c->null_count << 6 | c->access << 4 |
                                  c->mode << 1 | c->bcd);
    c->status_latched = true;
}

/* The next byte of a 16-bit value as the access mode and flip-flop say;
 * *done tells whether it was the value's last byte. */
static uint8_t next_read_byte(struct pit_channel *c, uint16_t value, bool *done)
{
    bool msb = c->access == PIT_ACCESS_MSB || (c->access == PIT_ACCESS_LSB_MSB && c->read_msb_next);
    if (c->access == PIT_ACCESS_LSB_MSB)
        c->read_msb_next = !c->read_msb_next;
    *done = c->access != PIT_ACCESS_LSB_MSB || msb;
    return (uint8_t)(msb ? value >> 8 : value);
}

static uint8_t read_channel(struct pit_channel *c, uint64_t tick)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->latched_status;
    }
    bool done;
    if (c->count_latched) {
        uint8_t byte = next_read_byte(c, c->latched_count, &done);
        c->count_latched = !done;
        return byte;
    }
    return next_read_byte(c, counter_reading(c, tick), &done);
}

static void write_channel(struct pit_channel *c, uint64_t tick, uint8_t val)
{
    switch (c->access) {
    case PIT_ACCESS_LSB: load_count(c, tick, val); break;
    case PIT_ACCESS_MSB: load_count(c, tick, (uint16_t)(val << 8)); break;
    default:
        if (c->write_msb_next) {
            c->write_msb_next = false;
            load_count(c, tick, (uint16_t)(c->write_lsb | val << 8));
            break;
        }
        c->write_lsb = val;
        c->write_msb_next = true;
        if (effective_mode(c) == 0 && c->state == PIT_COUNTING)
            stop_run(c, tick);   /* the first byte stops mode 0 and drops OUT */
        break;
    }
}

/* ---- IRQ 0 ---- */

static void schedule_irq_edge(struct pit *p, uint64_t tick)
{
    uint64_t edge = next_rising_edge(&p->ch[0], tick);
    if (edge > LAST_TIMED_TICK)
        machine_timer_cancel(p->m, &p->irq_timer);
    else
        machine_timer_arm(p->m, &p->irq_timer, ns_at_tick(edge));
}

static void irq_edge_due(void *opaque)
{
    struct pit *p = opaque;
    uint64_t tick = now_tick(p);
    settle(&p->ch[0], tick);
    machine_irq_lower(p->m, PIT_IRQ);
    machine_irq_raise(p->m, PIT_IRQ);
    schedule_irq_edge(p, tick);
}

/* Channel 0 was reprogrammed: IRQ 0 follows OUT0 now, and from its next edge. */
static void channel0_changed(struct pit *p, uint64_t tick)
{
    if (out_level(&p->ch[0], tick))
        machine_irq_raise(p->m, PIT_IRQ);
    else
        machine_irq_lower(p->m, PIT_IRQ);
    schedule_irq_edge(p, tick);
}

static void settle_all(struct pit *p, uint64_t tick)
{
    for (int k = 0; k < PIT_CHANNELS; k++)
        settle(&p->ch[k], tick);
}

/* ---- ports 0x40-0x43 ---- */

static void control_write(struct pit *p, uint64_t tick, uint8_t val)
{
    int sc = val >> 6;
    if (sc == 3) {   /* read-back: bit 5 clear latches counts, bit 4 clear latches status */
        for (int k = 0; k < PIT_CHANNELS; k++) {
            if (!(val & (2 << k)))
                continue;
            if (!(val & 0x10))
                latch_status(&p->ch[k], tick);
            if (!(val & 0x20))
                latch_count(&p->ch[k], tick);
        }
    } else if ((val & 0x30) == 0) {
        latch_count(&p->ch[sc], tick);
    } else {
        program_channel(&p->ch[sc], tick, val);
        if (sc == 0)
            channel0_changed(p, tick);
    }
}

static uint32_t pit_port_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    struct pit *p = opaque;
    int k = port - PIT_FIRST_PORT;
    if (k >= PIT_CHANNELS)
        return 0xFF;   /* the control port reads nothing */
    uint64_t tick = now_tick(p);
    settle(&p->ch[k], tick);
    return read_channel(&p->ch[k], tick);
}

static void pit_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct pit *p = opaque;
    int k = port - PIT_FIRST_PORT;
    uint64_t tick = now_tick(p);
    settle_all(p, tick);
    if (k >= PIT_CHANNELS) {
        control_write(p, tick, (uint8_t)val);
        return;
    }
    write_channel(&p->ch[k], tick, (uint8_t)val);
    if (k == 0)
        channel0_changed(p, tick);
}

/* ---- port 0x61 ---- */

static uint32_t port_b_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    (void)size;
    struct pit *p = opaque;
    uint64_t ns = machine_now_ns(p->m);
    uint64_t tick = tick_at_ns(ns);
    settle(&p->ch[2], tick);
    bool refresh = (ns / REFRESH_TOGGLE_NS) & 1;
    return p->port_b | (refresh ? PORT_B_REFRESH : 0) | (out_level(&p->ch[2], tick) ? PORT_B_OUT2 : 0);
}

static void port_b_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    (void)size;
    struct pit *p = opaque;
    struct pit_channel *c = &p->ch[2];
    uint64_t tick = now_tick(p);
    settle(c, tick);
    p->port_b = val & PORT_B_WRITABLE;
    bool gate = val & PORT_B_GATE2;
    if (gate != c->gate) {
        c->gate = gate;
        gate_changed(c, tick);
    }
}

/* ---- life cycle ---- */

static void pit_reset(void *opaque)
{
    struct pit *p = opaque;
    for (int k = 0; k < PIT_CHANNELS; k++)
        p->ch[k] = (struct pit_channel){ .access = PIT_ACCESS_LSB_MSB, .gate = k != 2,
                                        .count = 0x10000, .run_count = 0x10000 };
    p->port_b = 0;
    machine_timer_cancel(p->m, &p->irq_timer);
    machine_irq_lower(p->m, PIT_IRQ);
}

const char *pit_attach(struct machine *m, struct pit *p)
{
    *p = (struct pit){ .m = m };
    timer_init(&p->irq_timer, irq_edge_due, p);
    const char *why = machine_register_ports(m, PIT_FIRST_PORT, 4, PORT_SIZE_8, pit_port_read, pit_port_write, p);
    if (!why)
        why = machine_register_ports(m, PIT_PORT_B, 1, PORT_SIZE_8, port_b_read, port_b_write, p);
    if (!why)
        why = machine_add_reset_hook(m, pit_reset, p);
    if (!why)
        pit_reset(p);
    return why;
}

/* ---- save and restore ---- */

#define PIT_STATE_VERSION 1

static void save_channel(const struct pit_channel *c, struct snap_writer *w)
{
    const uint8_t bytes[] = { c->mode, c->access, c->state, c->write_lsb, c->latched_status };
    const bool flags[] = { c->bcd, c->gate, c->paused, c->null_count, c->reload_pending,
                           c->write_msb_next, c->read_msb_next, c->count_latched, c->status_latched };
    snap_put_bytes(w, bytes, sizeof bytes);
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        snap_put_bool(w, flags[k]);
    snap_put_u32(w, c->count);
    snap_put_u32(w, c->run_count);
    snap_put_u32(w, c->held_value);
    snap_put_u16(w, c->latched_count);
    snap_put_u64(w, c->start_tick);
    snap_put_u64(w, c->paused_elapsed);
    snap_put_u64(w, c->reload_tick);
}

static bool count_valid(uint32_t n)
{
    return n >= 1 && n <= 0x10000;
}

static void load_channel(struct pit_channel *c, struct snap_reader *r)
{
    uint8_t *bytes[] = { &c->mode, &c->access, &c->state, &c->write_lsb, &c->latched_status };
    bool *flags[] = { &c->bcd, &c->gate, &c->paused, &c->null_count, &c->reload_pending,
                      &c->write_msb_next, &c->read_msb_next, &c->count_latched, &c->status_latched };
    for (size_t k = 0; k < sizeof bytes / sizeof bytes[0]; k++)
        *bytes[k] = snap_get_u8(r);
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        *flags[k] = snap_get_bool(r);
    c->count = snap_get_u32(r);
    c->run_count = snap_get_u32(r);
    c->held_value = snap_get_u32(r);
    c->latched_count = snap_get_u16(r);
    c->start_tick = snap_get_u64(r);
    c->paused_elapsed = snap_get_u64(r);
    c->reload_tick = snap_get_u64(r);
    if (c->mode > 7 || c->access < PIT_ACCESS_LSB || c->access > PIT_ACCESS_LSB_MSB ||
        c->state > PIT_COUNTING || !count_valid(c->count) || !count_valid(c->run_count) ||
        c->held_value > 0x10000)
        snap_fail(r, "PIT state: a channel register out of range");
}

void pit_save(const struct pit *p, struct snap_writer *w)
{
    snap_put_u8(w, PIT_STATE_VERSION);
    for (int k = 0; k < PIT_CHANNELS; k++)
        save_channel(&p->ch[k], w);
    snap_put_u8(w, p->port_b);
}

bool pit_load(struct pit *p, struct snap_reader *r)
{
    struct pit_channel ch[PIT_CHANNELS];
    if (snap_get_u8(r) != PIT_STATE_VERSION)
        snap_fail(r, "PIT state: unknown version");
    for (int k = 0; k < PIT_CHANNELS; k++)
        load_channel(&ch[k], r);
    uint8_t port_b = snap_get_u8(r);
    if ((port_b & ~PORT_B_WRITABLE) || !ch[0].gate || !ch[1].gate || ch[2].gate != (port_b & PORT_B_GATE2))
        snap_fail(r, "PIT state: bad gate or port 0x61 bits");
    if (!snap_ok(r))
        return false;
    for (int k = 0; k < PIT_CHANNELS; k++)
        p->ch[k] = ch[k];
    p->port_b = port_b;
    schedule_irq_edge(p, now_tick(p));
    return true;
}
