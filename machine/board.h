/* board.h — the PC devices of a full machine (the chipset around the CPU).
 *
 * Promises: struct board holds one of each PC device; board_attach adds them
 * to a machine in dependency order (the PIC first: it becomes the interrupt
 * controller). A bare machine (machine_new_bare, for unit tests) has none.
 */
#ifndef PLAN86_BOARD_H
#define PLAN86_BOARD_H

#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "devices/piix3.h"
#include "devices/pit.h"
#include "devices/rtc.h"
#include "devices/sysctl.h"
#include "devices/uart.h"
#include "fs9p/server.h"
#include "virtio/virtio_9p.h"

struct board {
    struct pic pic;
    struct pit pit;
    struct rtc rtc;
    struct uart com1;
    struct sysctl sysctl;
    struct i8042 kbc;
    struct pci_bus pci;
    struct i440fx host_bridge;
    struct piix3 piix3;
    struct fw_cfg fw_cfg;
    bool pam_noted;
    /* the 9p file system: present when a back end was given */
    struct virtio_9p virtio_9p;
    struct p9_server *p9;
};

/* NULL, or which device could not be attached and why. */
const char *board_attach(struct machine *m, struct board *b, char *err, size_t err_size);
/* Adds the virtio-9p device (PCI 00:03.0) serving `backend` (the server owns
 * it from here on, also on failure) under `mount_tag` (NULL: host9p). */
const char *board_attach_9p(struct machine *m, struct board *b, const struct p9_backend *backend,
                            const char *mount_tag);
void board_free(struct board *b);

#endif
