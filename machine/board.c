/* board.c — assembles the PC devices onto a machine (see board.h). */
#include "board.h"

#include <stdio.h>

#include "machine.h"

/* PAM: the memory map follows each shadow segment's choice (machine.h).
 * A choice the map cannot follow is said once, not silently. */
static void board_pam_changed(void *opaque, uint32_t base, uint32_t size, bool read_ram, bool write_ram)
{
    struct machine *m = opaque;
    const char *why = machine_shadow_segment(m, base, size, read_ram, write_ram);
    if (why && !m->board->pam_noted) {
        m->board->pam_noted = true;
        fprintf(stderr, "plan86: i440FX PAM at 0x%05X: %s\n", (unsigned)base, why);
    }
}

static const char *attach_pic(struct machine *m, struct board *b) { return pic_attach(m, &b->pic); }
static const char *attach_pit(struct machine *m, struct board *b) { return pit_attach(m, &b->pit); }
static const char *attach_rtc(struct machine *m, struct board *b)
{
    return rtc_attach(m, &b->rtc, rtc_default_start_time(m->clock.deterministic), m->ram_size);
}
static const char *attach_com1(struct machine *m, struct board *b)
{
    return uart_attach(m, &b->com1, UART_COM1_BASE, UART_COM1_IRQ, uart_output_to_console, m);
}
static const char *attach_sysctl(struct machine *m, struct board *b) { return sysctl_attach(m, &b->sysctl); }
static const char *attach_kbc(struct machine *m, struct board *b) { return i8042_attach(m, &b->kbc, &b->sysctl); }
static const char *attach_pci(struct machine *m, struct board *b) { return pci_bus_attach(m, &b->pci); }
static const char *attach_host(struct machine *m, struct board *b)
{
    return i440fx_attach(m, &b->host_bridge, &b->pci, board_pam_changed, m);
}
static const char *attach_piix3(struct machine *m, struct board *b) { return piix3_attach(m, &b->piix3, &b->pci); }
static const char *attach_fw_cfg(struct machine *m, struct board *b) { return fw_cfg_attach(m, &b->fw_cfg); }

static const struct {
    const char *name;
    const char *(*attach)(struct machine *m, struct board *b);
} pc_devices[] = {
    { "8259 PIC", attach_pic },     /* first: the interrupt controller */
    { "8254 PIT", attach_pit },
    { "RTC/CMOS", attach_rtc },
    { "COM1", attach_com1 },
    { "port 0x92/0x80", attach_sysctl },
    { "i8042", attach_kbc },
    { "PCI bus", attach_pci },
    { "i440FX", attach_host },
    { "PIIX3", attach_piix3 },
    { "fw_cfg", attach_fw_cfg },
};

const char *board_attach(struct machine *m, struct board *b, char *err, size_t err_size)
{
    for (size_t k = 0; k < sizeof pc_devices / sizeof pc_devices[0]; k++) {
        const char *why = pc_devices[k].attach(m, b);
        if (why) {
            snprintf(err, err_size, "%s: %s", pc_devices[k].name, why);
            return err;
        }
    }
    return NULL;
}

/* ---- the 9p file system ---- */

static void p9_reply_to_device(void *ctx, uint64_t token, const uint8_t *reply, size_t len)
{
    virtio_9p_complete(ctx, (uint32_t)token, reply, len);
}

static const struct virtio_9p_handler p9_transport = {
    .submit = p9_server_transport_submit,
    .reset = p9_server_transport_reset,
};

const char *board_attach_9p(struct machine *m, struct board *b, const struct p9_backend *backend,
                            const char *mount_tag)
{
    struct p9_server_config cfg = { .backend = *backend };
    b->p9 = p9_server_new(&cfg);
    if (!b->p9)
        return "out of memory for the 9p server";
    p9_server_set_completion(b->p9, p9_reply_to_device, &b->virtio_9p);
    return virtio_9p_attach(m, &b->virtio_9p, &b->pci, PCI_DEVFN(3, 0), mount_tag, &p9_transport, b->p9);
}

void board_free(struct board *b)
{
    if (b->p9) {
        virtio_9p_free(&b->virtio_9p);
        p9_server_free(b->p9);
    }
    fw_cfg_free(&b->fw_cfg);
}
