/* rtc.h — the MC146818 real-time clock and its 128 bytes of CMOS memory.
 *
 * Promises: ports 0x70 (index; bit 7 masks NMI) and 0x71 (data). The time
 * and date run from the machine's virtual clock plus a start time given at
 * attach (seconds since 1970, UTC), shown in BCD or binary and 12 or 24 hour
 * form as register B asks. The divider chain (register A) counts 32768 Hz
 * ticks: one update per second, UIP high for the 244 us before each update,
 * updates inhibited by SET, the chain frozen while the divider is in reset
 * and the first update 500 ms after it leaves reset. Register C's PF/AF/UF
 * flags are set whether or not their interrupt is enabled and are cleared
 * (with IRQF and IRQ 8) by reading C; register D always reports valid RAM.
 * Nothing is polled: the clock catches up when read, and a timer is armed
 * only while an enabled interrupt is still to come. The CMOS bytes a BIOS
 * reads (memory sizes, equipment, boot order, century) are filled at attach
 * from the RAM size. Time registers hold normalized values: a written date
 * is kept as a point in time (out-of-range fields carry into the next).
 */
#ifndef PLAN86_RTC_H
#define PLAN86_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/scheduler.h"

struct machine;
struct snap_writer;
struct snap_reader;

#define RTC_IRQ 8
#define RTC_CMOS_SIZE 128
/* 2000-01-01 00:00:00 UTC: the start time of deterministic runs. */
#define RTC_DETERMINISTIC_EPOCH 946684800

struct rtc {
    struct machine *m;
    struct timer irq_timer;    /* armed only while an enabled interrupt is due */
    uint8_t cmos[RTC_CMOS_SIZE];
    uint8_t index;
    bool nmi_masked;           /* bit 7 of the last index write */
    uint8_t flags;             /* register C: PF, AF, UF (IRQF is derived) */
    int64_t seconds;           /* the time shown, seconds since 1970 UTC */
    uint64_t chain_origin_ns;  /* virtual time the divider chain last started */
    uint64_t synced_tick;      /* chain ticks already accounted for */
    uint32_t first_update_tick;/* ticks from origin to the first update: 1..32768 */
    bool irq_level;
};

/* Start time for a new machine: RTC_DETERMINISTIC_EPOCH when deterministic,
 * else the host's clock (the only host time this module reads). */
int64_t rtc_default_start_time(bool deterministic);

/* Prepares the state without claiming ports (tests drive it directly). */
void rtc_init(struct rtc *r, struct machine *m, int64_t start_time, uint32_t ram_size);
/* rtc_init, then claims ports 0x70-0x71 and adds a reset hook. NULL or why not. */
const char *rtc_attach(struct machine *m, struct rtc *r, int64_t start_time, uint32_t ram_size);
/* The port callbacks (port 0x70 or 0x71, one byte). */
uint32_t rtc_port_read(void *opaque, uint16_t port, int size);
void rtc_port_write(void *opaque, uint16_t port, uint32_t val, int size);
/* The RESET pin: interrupt enables and flags cleared, time and CMOS kept. */
void rtc_reset(void *opaque);

void rtc_save(const struct rtc *r, struct snap_writer *w);
/* Loads into an initialized device; false (and r unchanged) if the stream is bad. */
bool rtc_load(struct rtc *r, struct snap_reader *rd);

#endif
