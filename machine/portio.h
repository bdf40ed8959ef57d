/* portio.h — the x86 I/O port bus (ports 0..0xFFFF).
 *
 * Promises: a device claims a port range once (no overlaps) and names the
 * access sizes it decodes (PORT_SIZE_* bits). An access of a size the owner
 * decodes, lying wholly inside its range, goes to it in one call; any other
 * access is split in halves (32 -> 16+16 -> 8+8). Bytes nobody claims read
 * all ones and their writes are dropped.
 * Write taps watch single ports without owning them: after every write, each
 * tap on a port the write covered gets that port's byte, whether or not a
 * device owns the port (POST codes, debug consoles, port logs).
 */
#ifndef PLAN86_PORTIO_H
#define PLAN86_PORTIO_H

#include <stdint.h>

/* port is the absolute port number of the access's first byte. */
typedef uint32_t (*port_read_fn)(void *opaque, uint16_t port, int size);
typedef void (*port_write_fn)(void *opaque, uint16_t port, uint32_t val, int size);

enum { PORT_SIZE_8 = 1, PORT_SIZE_16 = 2, PORT_SIZE_32 = 4, PORT_SIZE_ALL = 7 };

struct port_handler {
    uint16_t first, last;
    uint8_t sizes;
    port_read_fn read;
    port_write_fn write;
    void *opaque;
};

typedef void (*port_tap_fn)(void *opaque, uint16_t port, uint8_t byte);

struct port_tap {
    uint16_t port;
    port_tap_fn fn;
    void *opaque;
};

#define PORTBUS_MAX_HANDLERS 255
#define PORTBUS_MAX_TAPS 16

struct portbus {
    uint8_t owner[0x10000];  /* handler index + 1; 0 = unclaimed */
    struct port_handler handlers[PORTBUS_MAX_HANDLERS];
    int nhandlers;
    uint8_t tapped[0x10000 / 8];   /* bit set: some tap watches the port */
    struct port_tap taps[PORTBUS_MAX_TAPS];
    int ntaps;
};

void portbus_init(struct portbus *bus);
/* Claims [first, first+count). Returns NULL on success, else why it failed. */
const char *portbus_register(struct portbus *bus, uint16_t first, uint32_t count, uint8_t sizes,
                             port_read_fn read, port_write_fn write, void *opaque);
/* Adds a write tap on one port (several may watch the same port). Returns
 * NULL on success, else why it failed. */
const char *portbus_add_tap(struct portbus *bus, uint16_t port, port_tap_fn fn, void *opaque);
uint32_t portbus_read(const struct portbus *bus, uint16_t port, int size);
void portbus_write(const struct portbus *bus, uint16_t port, uint32_t val, int size);

#endif
