/* debugcon.c — the Bochs/QEMU debug console at port 0xE9.
 *
 * Promises: every byte the guest writes to port 0xE9 goes to the machine's
 * console output; reading the port returns 0xE9, which is how guests detect
 * the device. Wider accesses are split into bytes by the port bus.
 */
#include "machine/devices.h"
#include "machine/machine.h"

#define DEBUGCON_PORT 0xE9

static uint32_t debugcon_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return DEBUGCON_PORT;
}

static void debugcon_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    (void)size;
    uint8_t byte = (uint8_t)val;
    machine_console_write(opaque, &byte, 1);
}

const char *debugcon_attach(struct machine *m)
{
    return machine_register_ports(m, DEBUGCON_PORT, 1, PORT_SIZE_8, debugcon_read, debugcon_write, m);
}
