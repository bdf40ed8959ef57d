/* pit.h — the 8254 programmable interval timer (ports 0x40-0x43) and the
 * PIT side of system control port B (port 0x61).
 *
 * Promises: three channels clocked at 1.193182 MHz, in all six modes, binary
 * or BCD, with LSB/MSB/LSB-then-MSB access, the counter latch command and the
 * read-back command (count and status). Counters are computed from the
 * virtual clock, never ticked: reading a channel at virtual time t gives the
 * same value however often and however late it is asked. A new count is taken
 * at the time of the write (the counter starts counting down with the next
 * input clock edge). Channel 0's OUT drives IRQ 0: a single timer is armed
 * for OUT0's next rising edge, where the line goes high (after dropping if it
 * was high); control word and count writes set the line to OUT0 at once.
 * Channels 0 and 1 have GATE tied high. Port 0x61: bit 0 drives GATE2, bit 1
 * (speaker data) and bits 2-3 read back as written, bit 4 toggles every
 * 15.085 us of virtual time (the refresh request), bit 5 reads OUT2. Reset:
 * every channel unprogrammed (mode 0, no count, OUT low), GATE2 low.
 */
#ifndef PLAN86_PIT_H
#define PLAN86_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/scheduler.h"

struct machine;
struct snap_writer;
struct snap_reader;

#define PIT_INPUT_HZ 1193182u
#define PIT_FIRST_PORT 0x40
#define PIT_CONTROL_PORT 0x43
#define PIT_PORT_B 0x61
#define PIT_IRQ 0
#define PIT_CHANNELS 3

enum pit_access { PIT_ACCESS_LSB = 1, PIT_ACCESS_MSB = 2, PIT_ACCESS_LSB_MSB = 3 };

enum pit_channel_state {
    PIT_IDLE,            /* no count since the control word */
    PIT_WAIT_TRIGGER,    /* modes 1 and 5: a count, waiting for a GATE rising edge */
    PIT_COUNTING,
};

struct pit_channel {
    uint8_t mode;             /* as programmed, 0..7 (6 and 7 act as 2 and 3) */
    uint8_t access;           /* enum pit_access */
    bool bcd;
    bool gate;
    uint8_t state;            /* enum pit_channel_state */
    bool paused;              /* counting stopped by GATE low (modes 0, 2, 3, 4) */
    bool null_count;          /* the count register holds a count not yet loaded */
    bool reload_pending;      /* modes 2, 3: `count` takes over at reload_tick */
    uint32_t count;           /* the count register, 1..0x10000 */
    uint32_t run_count;       /* the count the run in progress started from */
    uint64_t start_tick;      /* input clock tick at which the run was at run_count */
    uint64_t paused_elapsed;  /* ticks counted before GATE went low */
    uint64_t reload_tick;
    uint32_t held_value;      /* what the counter reads while it does not count */
    bool write_msb_next;      /* LSB-then-MSB flip-flops */
    uint8_t write_lsb;
    bool read_msb_next;
    bool count_latched;
    uint16_t latched_count;
    bool status_latched;
    uint8_t latched_status;
};

struct pit {
    struct machine *m;
    struct pit_channel ch[PIT_CHANNELS];
    uint8_t port_b;           /* port 0x61 bits 0-3 as written */
    struct timer irq_timer;   /* OUT0's next rising edge */
};

/* Claims ports 0x40-0x43 and 0x61 and registers a reset hook. */
const char *pit_attach(struct machine *m, struct pit *p);

void pit_save(const struct pit *p, struct snap_writer *w);
/* Validates everything before changing the device; then re-arms the IRQ 0
 * timer (the line's level is the board's state and is left alone). */
bool pit_load(struct pit *p, struct snap_reader *r);

#endif
