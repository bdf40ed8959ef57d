/* pci_assign.h — what a PC BIOS does to the PCI bus, for booting Linux
 * without one.
 *
 * Promises: pci_assign_resources routes PIRQA-D to ISA IRQs 10, 11, 10, 11 in
 * the PIIX3, then for every registered function (in devfn order) sizes each
 * BAR the firmware way (write all ones, read the mask back), gives I/O BARs
 * naturally aligned addresses from PCI_ASSIGN_IO_BASE up and memory BARs
 * from mem_base up (largest first, so alignment wastes nothing), enables the
 * decoding it assigned (plus bus mastering), writes the interrupt line from
 * the PIRQ routing, and gives the PIIX4 PM function its I/O window at
 * PCI_ASSIGN_PM_BASE. Returns NULL, or why a window ran out.
 */
#ifndef PLAN86_PCI_ASSIGN_H
#define PLAN86_PCI_ASSIGN_H

#include <stdint.h>

struct pci_bus;

#include "bios/acpi_pm.h"

#define PCI_ASSIGN_IO_BASE 0xC000u
#define PCI_ASSIGN_IO_LIMIT 0x10000u
#define PCI_ASSIGN_MEM_BASE 0xE0000000u
#define PCI_ASSIGN_MEM_LIMIT 0xFEC00000u   /* the IOAPIC and the BIOS above */
#define PCI_ASSIGN_PM_BASE ACPI_PM_BASE

const char *pci_assign_resources(struct pci_bus *bus, uint32_t mem_base);
/* The ISA IRQ given to PIRQ n (0..3). */
int pci_assign_pirq_irq(int pirq);

#endif
