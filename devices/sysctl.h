/* sysctl.h — port 0x92 (System Control Port A: fast A20 gate and fast reset)
 * and port 0x80 (the POST code sink), plus the board's A20 gate and reset
 * line that the keyboard controller drives too.
 *
 * Promises: bit 1 of port 0x92 sets the A20 gate, a 0->1 edge of bit 0 asks
 * for a machine reset; reads return the last value written (bit 0 reads 0
 * after the reset). Whoever drives the A20 gate last wins (as on QEMU's
 * board). A reset requested while the CPU runs takes place when its slice
 * ends, at the next run-loop step; never inside the port write. Port 0x80
 * keeps the last POST code and reads it back; write taps (port logs) still
 * see every byte written there.
 */
#ifndef PLAN86_SYSCTL_H
#define PLAN86_SYSCTL_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct snap_writer;
struct snap_reader;

#define SYSCTL_PORT_A 0x92
#define SYSCTL_POST_PORT 0x80

struct sysctl {
    struct machine *m;
    uint8_t port_a;      /* last value written to 0x92 (bit 0 cleared) */
    uint8_t post_code;   /* last byte written to 0x80 */
    bool a20;            /* the A20 gate as last driven */
    uint64_t resets_requested;
};

const char *sysctl_attach(struct machine *m, struct sysctl *s);
/* The A20 gate and the reset line, for port 0x92 and the keyboard controller. */
void sysctl_set_a20(struct sysctl *s, bool enabled);
void sysctl_request_reset(struct sysctl *s);

void sysctl_save(const struct sysctl *s, struct snap_writer *w);
/* Restores the registers and drives the A20 gate to the saved level. */
bool sysctl_load(struct sysctl *s, struct snap_reader *r);

#endif
