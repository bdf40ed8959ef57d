/* pci.c — PCI bus 0: configuration mechanism #1, BAR decoding, INTx routing
 * (see pci.h). */
#include "pci.h"

#include <string.h>

#include "machine/machine.h"
#include "machine/snapshot.h"

#define CONFIG_ADDRESS_PORT 0xCF8
#define CONFIG_DATA_PORT 0xCFC
#define RESET_CONTROL_PORT 0xCF9
#define RESET_CONTROL_MASK 0x0E   /* SYS_RST, RST_CPU, FULL_RST */
#define RESET_CONTROL_RST_CPU 0x04
#define CONFIG_ENABLE 0x80000000u
#define CONFIG_BUS(a) (((a) >> 16) & 0xFF)
#define CONFIG_DEVFN(a) (((a) >> 8) & 0xFF)
#define CONFIG_REG(a) ((a) & 0xFC)
#define BAR_OFFSET(bar) ((uint8_t)(PCI_BAR0 + 4 * (bar)))
#define STATUS_CAP_LIST 0x10

/* ---- raw little-endian access ---- */

uint32_t pci_get_raw(const struct pci_device *d, uint8_t offset, int size)
{
    uint32_t v = 0;
    for (int k = 0; k < size && offset + k < PCI_CONFIG_SIZE; k++)
        v |= (uint32_t)d->config[offset + k] << (8 * k);
    return v;
}

static void put_bytes(uint8_t *bytes, uint8_t offset, uint32_t val, int size)
{
    for (int k = 0; k < size && offset + k < PCI_CONFIG_SIZE; k++)
        bytes[offset + k] = (uint8_t)(val >> (8 * k));
}

void pci_set_raw(struct pci_device *d, uint8_t offset, uint32_t val, int size)
{
    put_bytes(d->config, offset, val, size);
}

void pci_set_wmask(struct pci_device *d, uint8_t offset, uint32_t mask, int size)
{
    put_bytes(d->wmask, offset, mask, size);
}

/* ---- functions ---- */

void pci_device_init(struct pci_device *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision)
{
    memset(d, 0, sizeof *d);
    pci_set_raw(d, PCI_VENDOR_ID, vendor, 2);
    pci_set_raw(d, PCI_DEVICE_ID, device, 2);
    pci_set_raw(d, PCI_REVISION, revision | (class_code << 8), 4);
    pci_set_wmask(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    pci_set_wmask(d, PCI_INTERRUPT_LINE, 0xFF, 1);
    for (int bar = 0; bar < PCI_NUM_BARS; bar++)
        d->bar_mapped[bar] = PCI_BAR_UNMAPPED;
}

void pci_device_add_bar(struct pci_device *d, int bar, uint32_t size, uint32_t flags)
{
    if (bar < 0 || bar >= PCI_NUM_BARS || size == 0 || (size & (size - 1)))
        return;
    uint32_t type_bits = (flags & PCI_BAR_IO) ? PCI_BAR_IO : (flags & PCI_BAR_PREFETCH);
    uint32_t low_bits = (flags & PCI_BAR_IO) ? 0x3u : 0xFu;
    d->bar_size[bar] = size;
    pci_set_raw(d, BAR_OFFSET(bar), type_bits, 4);
    pci_set_wmask(d, BAR_OFFSET(bar), ~(size - 1) & ~low_bits, 4);
}

void pci_device_set_interrupt_pin(struct pci_device *d, uint8_t pin)
{
    pci_set_raw(d, PCI_INTERRUPT_PIN, pin <= 4 ? pin : 0, 1);
}

static bool bar_is_io(const struct pci_device *d, int bar)
{
    return d->config[BAR_OFFSET(bar)] & PCI_BAR_IO;
}

/* Where a BAR decodes now: its base when the command register enables its
 * space and the whole window fits the space (an all-ones sizing value does
 * not), else PCI_BAR_UNMAPPED. */
static uint32_t bar_decoded_base(const struct pci_device *d, int bar)
{
    uint32_t size = d->bar_size[bar];
    if (!size)
        return PCI_BAR_UNMAPPED;
    bool io = bar_is_io(d, bar);
    uint32_t command = pci_get_raw(d, PCI_COMMAND, 2);
    uint32_t base = pci_get_raw(d, BAR_OFFSET(bar), 4) & ~(io ? 0x3u : 0xFu);
    uint64_t limit = io ? 0x10000u : (1ull << 32) - 1;
    if (!(command & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) || base == 0 ||
        (uint64_t)base + size > limit)
        return PCI_BAR_UNMAPPED;
    return base;
}

static void update_bar_mappings(struct pci_device *d)
{
    for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
        uint32_t now = bar_decoded_base(d, bar);
        uint32_t before = d->bar_mapped[bar];
        if (now == before)
            continue;
        d->bar_mapped[bar] = now;
        if (d->bar_moved)
            d->bar_moved(d->opaque, bar, before, now);
    }
}

static bool touches(uint8_t offset, int size, uint8_t first, int len)
{
    return offset < first + len && first < offset + size;
}

uint32_t pci_config_read(const struct pci_device *d, uint8_t offset, int size)
{
    return pci_get_raw(d, offset, size);
}

void pci_config_write(struct pci_device *d, uint8_t offset, uint32_t val, int size)
{
    for (int k = 0; k < size && offset + k < PCI_CONFIG_SIZE; k++) {
        uint8_t byte = (uint8_t)(val >> (8 * k));
        uint8_t *cell = &d->config[offset + k];
        uint8_t wm = d->wmask[offset + k], w1c = d->w1cmask[offset + k];
        *cell = (uint8_t)(((*cell & ~wm) | (byte & wm)) & ~(byte & w1c));
    }
    if (touches(offset, size, PCI_COMMAND, 2) || touches(offset, size, PCI_BAR0, 4 * PCI_NUM_BARS))
        update_bar_mappings(d);
    if (d->config_written)
        d->config_written(d->opaque, offset, size);
}

const char *pci_register_device(struct pci_bus *bus, uint8_t devfn, struct pci_device *d)
{
    if (bus->functions[devfn])
        return "PCI device/function number already taken";
    d->bus = bus;
    d->devfn = devfn;
    bus->functions[devfn] = d;
    return NULL;
}

/* ---- INTx ---- */

int pci_pin_to_pirq(uint8_t devfn, uint8_t pin)
{
    return ((devfn >> 3) + pin - 2) & 3;
}

static uint16_t wanted_isa_levels(const struct pci_bus *bus)
{
    uint16_t levels = 0;
    if (!bus->route)
        return 0;
    for (int devfn = 0; devfn < PCI_MAX_FUNCTIONS; devfn++) {
        const struct pci_device *d = bus->functions[devfn];
        uint8_t pin = d ? d->config[PCI_INTERRUPT_PIN] : 0;
        if (!d || !d->irq_asserted || pin < 1 || pin > 4)
            continue;
        int irq = bus->route(bus->route_opaque, pci_pin_to_pirq((uint8_t)devfn, pin));
        if (irq >= 0 && irq < PCI_ISA_IRQS)
            levels |= (uint16_t)(1u << irq);
    }
    return levels;
}

void pci_bus_routing_changed(struct pci_bus *bus)
{
    uint16_t want = wanted_isa_levels(bus);
    uint16_t changed = want ^ bus->isa_levels;
    bus->isa_levels = want;
    for (int irq = 0; irq < PCI_ISA_IRQS; irq++) {
        if (!(changed & (1u << irq)))
            continue;
        if (want & (1u << irq))
            machine_irq_raise(bus->m, irq);
        else
            machine_irq_lower(bus->m, irq);
    }
}

void pci_set_irq(struct pci_device *d, bool asserted)
{
    if (d->irq_asserted == asserted)
        return;
    d->irq_asserted = asserted;
    if (d->bus)
        pci_bus_routing_changed(d->bus);
}

void pci_bus_set_router(struct pci_bus *bus, pci_pirq_route_fn route, void *opaque)
{
    bus->route = route;
    bus->route_opaque = opaque;
    pci_bus_routing_changed(bus);
}

/* ---- configuration mechanism #1 ---- */

static struct pci_device *addressed_function(const struct pci_bus *bus)
{
    uint32_t a = bus->config_address;
    if (!(a & CONFIG_ENABLE) || CONFIG_BUS(a) != 0)
        return NULL;
    return bus->functions[CONFIG_DEVFN(a)];
}

static uint32_t address_read(void *opaque, uint16_t port, int size)
{
    const struct pci_bus *bus = opaque;
    if (port == RESET_CONTROL_PORT && size == 1)
        return bus->reset_control;
    return port == CONFIG_ADDRESS_PORT && size == 4 ? bus->config_address : 0xFFFFFFFFu;
}

/* RST_CPU going from 0 to 1 resets the machine (hard or soft alike here). */
static void reset_control_write(struct pci_bus *bus, uint8_t val)
{
    bool start = (val & RESET_CONTROL_RST_CPU) && !(bus->reset_control & RESET_CONTROL_RST_CPU);
    bus->reset_control = val & RESET_CONTROL_MASK;
    if (start) {
        bus->reset_control &= (uint8_t)~RESET_CONTROL_RST_CPU;
        machine_request_reset(bus->m);
    }
}

static void address_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct pci_bus *bus = opaque;
    if (port == CONFIG_ADDRESS_PORT && size == 4)
        bus->config_address = val & 0x80FFFFFCu;
    else if (port == RESET_CONTROL_PORT && size == 1)
        reset_control_write(bus, (uint8_t)val);
}

static uint32_t data_read(void *opaque, uint16_t port, int size)
{
    const struct pci_bus *bus = opaque;
    const struct pci_device *d = addressed_function(bus);
    if (!d)
        return 0xFFFFFFFFu;
    return pci_config_read(d, (uint8_t)(CONFIG_REG(bus->config_address) + (port - CONFIG_DATA_PORT)), size);
}

static void data_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct pci_bus *bus = opaque;
    struct pci_device *d = addressed_function(bus);
    if (d)
        pci_config_write(d, (uint8_t)(CONFIG_REG(bus->config_address) + (port - CONFIG_DATA_PORT)), val, size);
}

static void reset_function(struct pci_device *d)
{
    pci_set_raw(d, PCI_COMMAND, 0, 2);
    pci_set_raw(d, PCI_INTERRUPT_LINE, 0, 1);
    for (int bar = 0; bar < PCI_NUM_BARS; bar++)
        if (d->bar_size[bar])
            pci_set_raw(d, BAR_OFFSET(bar), pci_get_raw(d, BAR_OFFSET(bar), 4) & (bar_is_io(d, bar) ? 0x3u : 0xFu), 4);
    update_bar_mappings(d);
}

static void pci_bus_reset(void *opaque)
{
    struct pci_bus *bus = opaque;
    bus->config_address = 0;
    bus->reset_control = 0;
    for (int devfn = 0; devfn < PCI_MAX_FUNCTIONS; devfn++)
        if (bus->functions[devfn])
            reset_function(bus->functions[devfn]);
}

const char *pci_bus_attach(struct machine *m, struct pci_bus *bus)
{
    memset(bus, 0, sizeof *bus);
    bus->m = m;
    const char *why = machine_register_ports(m, CONFIG_ADDRESS_PORT, 4, PORT_SIZE_ALL,
                                             address_read, address_write, bus);
    if (!why)
        why = machine_register_ports(m, CONFIG_DATA_PORT, 4, PORT_SIZE_ALL, data_read, data_write, bus);
    if (!why)
        why = machine_add_reset_hook(m, pci_bus_reset, bus);
    return why;
}

/* ---- save / load ---- */

void pci_bus_save(const struct pci_bus *bus, struct snap_writer *w)
{
    snap_put_u32(w, bus->config_address);
    snap_put_u8(w, bus->reset_control);
    for (int devfn = 0; devfn < PCI_MAX_FUNCTIONS; devfn++) {
        const struct pci_device *d = bus->functions[devfn];
        snap_put_bool(w, d != NULL);
        if (d) {
            snap_put_bytes(w, d->config, PCI_CONFIG_SIZE);
            snap_put_bool(w, d->irq_asserted);
        }
    }
}

/* Read-only bytes must match what the function was built with. */
static bool load_function(struct pci_device *d, struct snap_reader *r)
{
    uint8_t config[PCI_CONFIG_SIZE];
    snap_get_bytes(r, config, sizeof config);
    bool asserted = snap_get_bool(r);
    if (!snap_ok(r))
        return false;
    for (int k = 0; k < PCI_CONFIG_SIZE; k++)
        if ((config[k] ^ d->config[k]) & ~(d->wmask[k] | d->w1cmask[k])) {
            snap_fail(r, "PCI: a read-only configuration byte differs from this machine's device");
            return false;
        }
    memcpy(d->config, config, sizeof config);
    d->irq_asserted = asserted;
    update_bar_mappings(d);
    if (d->config_written)
        d->config_written(d->opaque, 0, PCI_CONFIG_SIZE);
    return true;
}

bool pci_bus_load(struct pci_bus *bus, struct snap_reader *r)
{
    uint32_t address = snap_get_u32(r);
    uint8_t reset_control = snap_get_u8(r);
    for (int devfn = 0; devfn < PCI_MAX_FUNCTIONS && snap_ok(r); devfn++) {
        bool present = snap_get_bool(r);
        if (snap_ok(r) && present != (bus->functions[devfn] != NULL))
            snap_fail(r, "PCI: the saved machine has different PCI functions");
        else if (present && !load_function(bus->functions[devfn], r))
            return false;
    }
    if (!snap_ok(r))
        return false;
    bus->config_address = address & 0x80FFFFFCu;
    bus->reset_control = reset_control & RESET_CONTROL_MASK;
    pci_bus_routing_changed(bus);
    return true;
}
