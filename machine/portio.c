/* portio.c — the I/O port bus (see portio.h). */
#include "portio.h"

#include "bits.h"

#include <stdbool.h>
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

const char *portbus_add_tap(struct portbus *bus, uint16_t port, port_tap_fn fn, void *opaque)
{
    if (!fn)
        return "port tap needs a callback";
    if (bus->ntaps == PORTBUS_MAX_TAPS)
        return "too many port taps";
    bus->taps[bus->ntaps++] = (struct port_tap){ .port = port, .fn = fn, .opaque = opaque };
    bus->tapped[port / 8] |= (uint8_t)(1u << (port % 8));
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

static void dispatch_write(const struct portbus *bus, uint16_t port, uint32_t val, int size)
{
    const struct port_handler *h = whole_access_owner(bus, port, size);
    if (h) {
        h->write(h->opaque, port, val & access_mask(size), size);
        return;
    }
    if (size == 1)
        return;
    int half = size / 2;
    dispatch_write(bus, port, val & access_mask(half), half);
    dispatch_write(bus, (uint16_t)(port + half), (val >> (8 * half)) & access_mask(half), half);
}

static bool port_tapped(const struct portbus *bus, uint16_t port)
{
    return bus->tapped[port / 8] & (1u << (port % 8));
}

/* Byte k of the write goes to the taps of port + k, in the order they were added. */
static void notify_taps(const struct portbus *bus, uint16_t port, uint32_t val, int size)
{
    for (int k = 0; k < size; k++) {
        uint16_t p = (uint16_t)(port + k);
        if (!port_tapped(bus, p))
            continue;
        for (int t = 0; t < bus->ntaps; t++)
            if (bus->taps[t].port == p)
                bus->taps[t].fn(bus->taps[t].opaque, p, (uint8_t)(val >> (8 * k)));
    }
}

void portbus_write(const struct portbus *bus, uint16_t port, uint32_t val, int size)
{
    dispatch_write(bus, port, val, size);
    if (bus->ntaps)
        notify_taps(bus, port, val, size);
}
