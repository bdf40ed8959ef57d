/* pci_assign.c — BIOS-style PCI resource assignment (see pci_assign.h). */
#include "pci_assign.h"

#include "devices/pci.h"
#include "devices/piix3.h"

#define PIIX3_DEVFN PCI_DEVFN(1, 0)
#define PIIX_PM_DEVFN PCI_DEVFN(1, 3)

static const uint8_t pirq_irqs[PCI_PIRQ_COUNT] = { 10, 11, 10, 11 };

int pci_assign_pirq_irq(int pirq)
{
    return pirq_irqs[pirq & 3];
}

struct bar_ref {
    struct pci_device *d;
    int bar;
    uint32_t size;
};

struct windows {
    uint32_t io_next, mem_next;
};

/* Firmware-style sizing: all ones in, the size mask out, the old value back. */
static uint32_t size_bar(struct pci_device *d, int bar, bool *io)
{
    uint8_t off = (uint8_t)(PCI_BAR0 + 4 * bar);
    uint32_t old = pci_config_read(d, off, 4);
    pci_config_write(d, off, 0xFFFFFFFFu, 4);
    uint32_t mask = pci_config_read(d, off, 4);
    pci_config_write(d, off, old, 4);
    *io = mask & PCI_BAR_IO;
    mask &= *io ? ~0x3u : ~0xFu;
    if (*io)
        mask |= 0xFFFF0000u;
    return mask ? ~mask + 1 : 0;
}

static const char *place(struct pci_device *d, int bar, uint32_t size, uint32_t *next, uint32_t limit)
{
    uint64_t base = ((uint64_t)*next + size - 1) & ~(uint64_t)(size - 1);
    if (base + size > limit)
        return "PCI: the BARs do not fit the address window";
    pci_config_write(d, (uint8_t)(PCI_BAR0 + 4 * bar), (uint32_t)base, 4);
    *next = (uint32_t)(base + size);
    return NULL;
}

/* Collects every BAR; I/O ones are placed at once, memory ones returned. */
static const char *assign_io_collect_mem(struct pci_bus *bus, struct windows *w, struct bar_ref *mem, int *nmem)
{
    for (int devfn = 0; devfn < PCI_MAX_FUNCTIONS; devfn++) {
        struct pci_device *d = bus->functions[devfn];
        for (int bar = 0; d && bar < PCI_NUM_BARS; bar++) {
            bool io;
            uint32_t size = size_bar(d, bar, &io);
            if (!size)
                continue;
            if (!io) {
                mem[(*nmem)++] = (struct bar_ref){ d, bar, size };
                continue;
            }
            const char *why = place(d, bar, size, &w->io_next, PCI_ASSIGN_IO_LIMIT);
            if (why)
                return why;
        }
    }
    return NULL;
}

static const char *assign_mem(struct bar_ref *mem, int nmem, struct windows *w)
{
    for (int k = 1; k < nmem; k++)   /* insertion sort, largest first (stable) */
        for (int j = k; j > 0 && mem[j].size > mem[j - 1].size; j--) {
            struct bar_ref t = mem[j];
            mem[j] = mem[j - 1];
            mem[j - 1] = t;
        }
    for (int k = 0; k < nmem; k++) {
        const char *why = place(mem[k].d, mem[k].bar, mem[k].size, &w->mem_next, PCI_ASSIGN_MEM_LIMIT);
        if (why)
            return why;
    }
    return NULL;
}

static void enable_function(struct pci_device *d)
{
    uint32_t command = PCI_COMMAND_MASTER;
    for (int bar = 0; bar < PCI_NUM_BARS; bar++)
        if (d->bar_size[bar])
            command |= (pci_get_raw(d, (uint8_t)(PCI_BAR0 + 4 * bar), 1) & PCI_BAR_IO) ? PCI_COMMAND_IO
                                                                                       : PCI_COMMAND_MEMORY;
    pci_config_write(d, PCI_COMMAND, pci_config_read(d, PCI_COMMAND, 2) | command, 2);
    uint8_t pin = (uint8_t)pci_config_read(d, PCI_INTERRUPT_PIN, 1);
    if (pin >= 1 && pin <= 4)
        pci_config_write(d, PCI_INTERRUPT_LINE, (uint32_t)pci_assign_pirq_irq(pci_pin_to_pirq(d->devfn, pin)), 1);
}

static void setup_chipset(struct pci_bus *bus)
{
    struct pci_device *isa = bus->functions[PIIX3_DEVFN];
    for (int k = 0; isa && k < PCI_PIRQ_COUNT; k++)
        pci_config_write(isa, (uint8_t)(PIIX3_PIRQ_ROUTE + k), pirq_irqs[k], 1);
    struct pci_device *pm = bus->functions[PIIX_PM_DEVFN];
    if (pm) {
        pci_config_write(pm, PIIX_PM_BASE_REG, PCI_ASSIGN_PM_BASE | 1, 4);
        pci_config_write(pm, PIIX_PM_MISC_REG, 1, 1);
    }
}

const char *pci_assign_resources(struct pci_bus *bus, uint32_t mem_base)
{
    struct bar_ref mem[PCI_MAX_FUNCTIONS * PCI_NUM_BARS];
    int nmem = 0;
    struct windows w = { .io_next = PCI_ASSIGN_IO_BASE, .mem_next = mem_base };
    setup_chipset(bus);
    const char *why = assign_io_collect_mem(bus, &w, mem, &nmem);
    if (!why)
        why = assign_mem(mem, nmem, &w);
    for (int devfn = 0; !why && devfn < PCI_MAX_FUNCTIONS; devfn++)
        if (bus->functions[devfn])
            enable_function(bus->functions[devfn]);
    return why;
}
