/* portio.h — the x86 I/O port bus (ports 0..0xFFFF).
 *
 * Promises: a device claims a port range once (no overlaps) and names the
 * access sizes it decodes (PORT_SIZE_* bits). An access of a size the owner
 * decodes, lying wholly inside its range, goes to it in one call; any other
 * access is split in halves (32 -> 16+16 -> 8+8). Bytes nobody claims read
 * all ones and their writes are dropped.
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

#define PORTBUS_MAX_HANDLERS 255

struct portbus {
    uint8_t owner[0x10000];  /* handler index + 1; 0 = unclaimed */
    struct port_handler handlers[PORTBUS_MAX_HANDLERS];
    int nhandlers;
};

void portbus_init(struct portbus *bus);
/* Claims [first, first+count). Returns NULL on success, else why it failed. */
const char *portbus_register(struct portbus *bus, uint16_t first, uint32_t count, uint8_t sizes,
                             port_read_fn read, port_write_fn write, void *opaque);
uint32_t portbus_read(const struct portbus *bus, uint16_t port, int size);
void portbus_write(const struct portbus *bus, uint16_t port, uint32_t val, int size);

#endif
