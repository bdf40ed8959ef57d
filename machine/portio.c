/* portio.c — the I/O port bus (see portio.h). */
#include "portio.h"

#include "bits.h"

#include <string.h>

void portbus_init(struct portbus *bus)
{
    memset(bus, 0, sizeof *bus);
}

const char *portbus_register(struct portbus *bus, uint16_t first, uint32_t count, uint8_t sizes,
                             port_read_fn read, port_write_fn write, void *opaque)
{
    if (count == 0 || first + count > 0x10000u)
        return "port range is empty or beyond 0xFFFF";
    if (!read || !write || !(sizes & PORT_SIZE_ALL))
        return "port handler needs read and write callbacks and an access size";
    if (bus->nhandlers == PORTBUS_MAX_HANDLERS)
        return "too many port handlers";
    for (uint32_t p = first; p < first + count; p++)
        if (bus->owner[p])
            return "port range overlaps a claimed port";
    bus->handlers[bus->nhandlers++] = (struct port_handler){
        .first = first, .last = (uint16_t)(first + count - 1), .sizes = sizes,
        .read = read, .write = write, .opaque = opaque,
    };
    memset(&bus->owner[first], bus->nhandlers, count);
    return NULL;
}

/* The handler that takes this access whole, or NULL when it must be split
 * (or, for a byte, when nobody takes it). */
static const struct port_handler *whole_access_owner(const struct portbus *bus, uint16_t port, int size)
{
    uint8_t idx = bus->owner[port];
    if (!idx)
        return NULL;
    const struct port_handler *h = &bus->handlers[idx - 1];
    if (!(h->sizes & size) || (uint32_t)port + (uint32_t)size - 1 > h->last)
        return NULL;
    return h;
}

uint32_t portbus_read(const struct portbus *bus, uint16_t port, int size)
{
    const struct port_handler *h = whole_access_owner(bus, port, size);
    if (h) {
        return h->read(h->opaque, port, size) & access_mask(size);
    }
    if (size == 1)
        return 0xFF;
    int half = size / 2;
    uint32_t lo = portbus_read(bus, port, half);
    uint32_t hi = portbus_read(bus, (uint16_t)(port + half), half);
    return lo | (hi << (8 * half));
}

void portbus_write(const struct portbus *bus, uint16_t port, uint32_t val, int size)
{
    const struct port_handler *h = whole_access_owner(bus, port, size);
    if (h) {
        h->write(h->opaque, port, val & access_mask(size), size);
        return;
    }
    if (size == 1)
        return;
    int half = size / 2;
    portbus_write(bus, port, val & access_mask(half), half);
    portbus_write(bus, (uint16_t)(port + half), (val >> (8 * half)) & access_mask(half), half);
}
