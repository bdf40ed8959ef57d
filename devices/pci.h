/* pci.h — PCI bus 0: configuration mechanism #1 and the function registry.
 *
 * Promises: ports 0xCF8 (address, dword only) and 0xCFC-0xCFF (data, any
 * size at any offset) reach the 256-byte configuration space of the function
 * registered at bus 0, device/function `devfn`; absent functions read all
 * ones. Writes go through per-byte write masks (and write-1-to-clear masks,
 * e.g. the status register), so read-only fields stay put and BAR sizing
 * (write all ones, read back the size mask) falls out of the masks. When the
 * address a BAR decodes changes (new base, or the command register's I/O or
 * memory enable), the function's bar_moved callback hears the old and new
 * address (PCI_BAR_UNMAPPED when not decoded) and moves its region.
 * INTx: pci_set_irq drives the function's interrupt pin; the pin reaches
 * PIRQ (slot + pin - 2) & 3 and the router (the PIIX3) names the ISA IRQ of
 * each PIRQ; an ISA line is high while any pin routed to it is asserted.
 */
#ifndef PLAN86_PCI_H
#define PLAN86_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct snap_writer;
struct snap_reader;

#define PCI_CONFIG_SIZE 256
#define PCI_MAX_FUNCTIONS 256     /* devfn = device << 3 | function */
#define PCI_NUM_BARS 6
#define PCI_BAR_UNMAPPED UINT32_MAX
#define PCI_DEVFN(dev, fn) ((uint8_t)(((dev) << 3) | (fn)))

/* Configuration header offsets. */
enum {
    PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
    PCI_REVISION = 0x08, PCI_CLASS_PROG = 0x09, PCI_CLASS_DEVICE = 0x0A,
    PCI_HEADER_TYPE = 0x0E, PCI_BAR0 = 0x10, PCI_SUBSYS_VENDOR = 0x2C,
    PCI_INTERRUPT_LINE = 0x3C, PCI_INTERRUPT_PIN = 0x3D,
};
enum { PCI_COMMAND_IO = 0x1, PCI_COMMAND_MEMORY = 0x2, PCI_COMMAND_MASTER = 0x4 };
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_BAR_IO 0x1           /* BAR bit 0: I/O space */
#define PCI_BAR_PREFETCH 0x8     /* memory BAR bit 3 */
#define PCI_PIRQ_COUNT 4
#define PCI_ISA_IRQS 16

struct pci_bus;

/* The function's BAR `bar` now decodes at new_base (old_base before). */
typedef void (*pci_bar_moved_fn)(void *opaque, int bar, uint32_t old_base, uint32_t new_base);
/* After a guest config write of `size` bytes at `offset` (device registers). */
typedef void (*pci_config_written_fn)(void *opaque, uint8_t offset, int size);

struct pci_device {
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];
    uint8_t w1cmask[PCI_CONFIG_SIZE];
    uint32_t bar_size[PCI_NUM_BARS];     /* 0: no BAR */
    uint32_t bar_mapped[PCI_NUM_BARS];   /* decoded base or PCI_BAR_UNMAPPED */
    pci_bar_moved_fn bar_moved;
    pci_config_written_fn config_written;
    void *opaque;
    struct pci_bus *bus;
    uint8_t devfn;
    bool irq_asserted;
};

/* ISA IRQ that a PIRQ (0..3 = A..D) reaches, or -1 when disabled. */
typedef int (*pci_pirq_route_fn)(void *opaque, int pirq);

struct pci_bus {
    struct machine *m;
    uint32_t config_address;                  /* port 0xCF8 */
    uint8_t reset_control;                    /* port 0xCF9, the PIIX reset control register */
    struct pci_device *functions[PCI_MAX_FUNCTIONS];
    pci_pirq_route_fn route;
    void *route_opaque;
    uint16_t isa_levels;                      /* ISA lines PCI drives high */
};

/* Claims 0xCF8-0xCFF (0xCF9 as a byte is the reset control register: setting
 * RST_CPU (bit 2) resets the machine); registers a reset hook that resets every function's
 * command register and BARs (the rest is the functions' own reset hooks). */
const char *pci_bus_attach(struct machine *m, struct pci_bus *bus);
/* Header type 0 function: vendor, device, 24-bit class code (class, subclass,
 * programming interface), revision; command writable (I/O, memory, master),
 * status read-only, interrupt line writable, everything else read-only. */
void pci_device_init(struct pci_device *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision);
/* size: a power of two (>= 16 for memory, >= 4 for I/O); flags: PCI_BAR_IO or
 * memory (0, optionally PCI_BAR_PREFETCH). */
void pci_device_add_bar(struct pci_device *d, int bar, uint32_t size, uint32_t flags);
/* pin: 1..4 = INTA..INTD, 0 = none. */
void pci_device_set_interrupt_pin(struct pci_device *d, uint8_t pin);
const char *pci_register_device(struct pci_bus *bus, uint8_t devfn, struct pci_device *d);

/* Configuration access as the guest does it (masks applied, hooks called). */
uint32_t pci_config_read(const struct pci_device *d, uint8_t offset, int size);
void pci_config_write(struct pci_device *d, uint8_t offset, uint32_t val, int size);
/* Device-side helpers: raw little-endian access, no masks, no hooks. */
uint32_t pci_get_raw(const struct pci_device *d, uint8_t offset, int size);
void pci_set_raw(struct pci_device *d, uint8_t offset, uint32_t val, int size);
void pci_set_wmask(struct pci_device *d, uint8_t offset, uint32_t mask, int size);

/* INTx of a function (level). */
void pci_set_irq(struct pci_device *d, bool asserted);
int pci_pin_to_pirq(uint8_t devfn, uint8_t pin);
/* The router (PIIX3) names ISA IRQs; call pci_bus_routing_changed after its
 * registers change. */
void pci_bus_set_router(struct pci_bus *bus, pci_pirq_route_fn route, void *opaque);
void pci_bus_routing_changed(struct pci_bus *bus);

/* Saves the address register and each registered function's config space
 * and pin level; load checks the same functions are present, restores, then
 * re-decodes every BAR (calling bar_moved) and re-drives the ISA lines. */
void pci_bus_save(const struct pci_bus *bus, struct snap_writer *w);
bool pci_bus_load(struct pci_bus *bus, struct snap_reader *r);

#endif
