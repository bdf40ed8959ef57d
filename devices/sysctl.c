/* sysctl.c — port 0x92 fast A20/reset and the port 0x80 POST sink (see sysctl.h). */
#include "sysctl.h"

#include "machine/machine.h"
#include "machine/snapshot.h"

#define PORT_A_RESET 0x01
#define PORT_A_A20 0x02

void sysctl_set_a20(struct sysctl *s, bool enabled)
{
    s->a20 = enabled;
    machine_set_a20(s->m, enabled);
}

void sysctl_request_reset(struct sysctl *s)
{
    s->resets_requested++;
    machine_request_reset(s->m);
}

static uint32_t port_a_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    (void)size;
    const struct sysctl *s = opaque;
    return (s->port_a & ~PORT_A_A20) | (s->a20 ? PORT_A_A20 : 0);
}

static void port_a_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    (void)size;
    struct sysctl *s = opaque;
    uint8_t byte = (uint8_t)val;
    bool reset_edge = (byte & PORT_A_RESET) && !(s->port_a & PORT_A_RESET);
    s->port_a = byte;
    sysctl_set_a20(s, byte & PORT_A_A20);
    if (reset_edge) {
        s->port_a &= (uint8_t)~PORT_A_RESET;
        sysctl_request_reset(s);
    }
}

static uint32_t post_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    (void)size;
    const struct sysctl *s = opaque;
    return s->post_code;
}

static void post_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    (void)size;
    struct sysctl *s = opaque;
    s->post_code = (uint8_t)val;
}

static void sysctl_reset(void *opaque)
{
    struct sysctl *s = opaque;
    s->port_a = 0;
    s->a20 = true;   /* the CPU's RESET state: A20 on */
}

const char *sysctl_attach(struct machine *m, struct sysctl *s)
{
    *s = (struct sysctl){ .m = m };
    sysctl_reset(s);
    const char *why = machine_register_ports(m, SYSCTL_PORT_A, 1, PORT_SIZE_8, port_a_read, port_a_write, s);
    if (!why)
        why = machine_register_ports(m, SYSCTL_POST_PORT, 1, PORT_SIZE_8, post_read, post_write, s);
    if (!why)
        why = machine_add_reset_hook(m, sysctl_reset, s);
    return why;
}

void sysctl_save(const struct sysctl *s, struct snap_writer *w)
{
    snap_put_u8(w, s->port_a);
    snap_put_u8(w, s->post_code);
    snap_put_bool(w, s->a20);
}

bool sysctl_load(struct sysctl *s, struct snap_reader *r)
{
    uint8_t port_a = snap_get_u8(r);
    uint8_t post = snap_get_u8(r);
    bool a20 = snap_get_bool(r);
    if (!snap_ok(r))
        return false;
    s->port_a = port_a & (uint8_t)~PORT_A_RESET;
    s->post_code = post;
    sysctl_set_a20(s, a20);
    return true;
}
