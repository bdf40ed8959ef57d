/* virtio_pci.h — the virtio 1.x PCI transport (modern, non-transitional).
 *
 * Promises: a PCI function 1AF4:(1040 + device type), revision 1, subsystem
 * 1AF4:(device type), INTA, one 16 KiB memory BAR (BAR 0) holding the four
 * standard structures, each named by a vendor capability in the config
 * space: common configuration (feature bits, device status, queue setup),
 * ISR status (reading it clears it and drops INTx), device configuration
 * (the device's own callbacks) and queue notification (one 32-bit slot per
 * queue). Feature negotiation refuses FEATURES_OK unless the driver picked a
 * subset of the offered bits including VERSION_1. Writing status 0, or a
 * machine reset, resets the device and its queues. A guest error (bad ring
 * layout, malformed chain) sets DEVICE_NEEDS_RESET with a configuration
 * change interrupt; the device stays quiet until the driver resets it.
 * Queue notifications reach the device only while DRIVER_OK is set and the
 * device is sound; setting DRIVER_OK also runs every enabled queue once.
 * No MSI-X: interrupts are INTx through the PIIX3 PIRQ routing.
 * The memory map cannot unmap yet: the BAR window is mapped where the guest
 * (or firmware) first places it, again after a reset at the same place; a
 * move elsewhere leaves the device unreachable and says so on stderr.
 */
#ifndef PLAN86_VIRTIO_PCI_H
#define PLAN86_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "virtqueue.h"

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_MAX_QUEUES 4
#define VIRTIO_PCI_BAR 0
#define VIRTIO_PCI_BAR_SIZE 0x4000u
/* Where the structures sit in the BAR, and the notify stride. */
enum {
    VIRTIO_PCI_COMMON_OFFSET = 0x0000, VIRTIO_PCI_ISR_OFFSET = 0x1000,
    VIRTIO_PCI_DEVICE_OFFSET = 0x2000, VIRTIO_PCI_NOTIFY_OFFSET = 0x3000,
    VIRTIO_PCI_NOTIFY_MULTIPLIER = 4, VIRTIO_PCI_COMMON_SIZE = 0x38,
};
/* Capability cfg_type values. */
enum {
    VIRTIO_PCI_CAP_COMMON_CFG = 1, VIRTIO_PCI_CAP_NOTIFY_CFG = 2, VIRTIO_PCI_CAP_ISR_CFG = 3,
    VIRTIO_PCI_CAP_DEVICE_CFG = 4,
};
/* Device status bits. */
enum {
    VIRTIO_STATUS_ACKNOWLEDGE = 1, VIRTIO_STATUS_DRIVER = 2, VIRTIO_STATUS_DRIVER_OK = 4,
    VIRTIO_STATUS_FEATURES_OK = 8, VIRTIO_STATUS_NEEDS_RESET = 64, VIRTIO_STATUS_FAILED = 128,
};
enum { VIRTIO_ISR_QUEUE = 1, VIRTIO_ISR_CONFIG = 2 };
/* Transport feature bits. */
#define VIRTIO_F_RING_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_RING_EVENT_IDX (1ull << 29)
#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_NO_VECTOR 0xFFFF

/* What the device behind the transport provides. */
struct virtio_device_ops {
    /* Device configuration space; offset + size <= the config size. */
    uint32_t (*config_read)(void *dev, uint32_t offset, int size);
    void (*config_write)(void *dev, uint32_t offset, uint32_t val, int size);   /* may be NULL */
    /* The driver made buffers available on `queue` (which is ready). */
    void (*queue_notify)(void *dev, int queue);
    /* The device was reset: forget every request in flight. */
    void (*reset)(void *dev);
};

struct virtio_pci_identity {
    uint16_t device_type;          /* virtio device ID, e.g. 9 for 9p */
    uint32_t class_code;           /* 24-bit PCI class code */
    uint64_t features;             /* device bits; the transport adds its own */
    uint16_t num_queues;           /* 1..VIRTIO_PCI_MAX_QUEUES */
    uint16_t queue_max_size;       /* power of two, <= VIRTQ_MAX_SIZE */
    uint32_t config_size;          /* bytes of device configuration, <= 0x1000 */
};

struct virtio_pci_queue {
    struct virtq vq;
    bool enable;                   /* what the driver wrote to queue_enable */
};

struct virtio_pci {
    struct machine *m;
    struct pci_device pci;
    struct virtio_pci_identity id;
    uint64_t offered;              /* device and transport feature bits */
    const struct virtio_device_ops *ops;
    void *dev;
    uint32_t device_feature_select, driver_feature_select;
    uint64_t driver_features;
    uint8_t status, config_generation, isr;
    uint16_t queue_select;
    struct virtio_pci_queue queues[VIRTIO_PCI_MAX_QUEUES];
    uint32_t region_base;          /* where the BAR window is mapped, PCI_BAR_UNMAPPED = nowhere */
    const char *broken_reason;     /* why DEVICE_NEEDS_RESET was set, else NULL */
};

/* Registers the function at devfn and a reset hook. NULL, or why not. */
const char *virtio_pci_attach(struct machine *m, struct virtio_pci *vp, struct pci_bus *bus, uint8_t devfn,
                              const struct virtio_pci_identity *id, const struct virtio_device_ops *ops,
                              void *dev);
struct virtq *virtio_pci_queue(struct virtio_pci *vp, int queue);
/* True while the driver has set DRIVER_OK and the device is sound. */
bool virtio_pci_running(const struct virtio_pci *vp);
/* Used buffers on a queue: ISR bit 0 and INTx. */
void virtio_pci_queue_interrupt(struct virtio_pci *vp);
/* A guest error: DEVICE_NEEDS_RESET, a config interrupt, one line on stderr. */
void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why);

#endif
