/* acpi.h — the minimal ACPI tables of a plan86 PC without a BIOS.
 *
 * Promises: acpi_build lays out, for placement at a guest physical address,
 * an ACPI 1.0 table set with correct checksums and links: RSDP ("RSD PTR ",
 * revision 0) first, then FACS, RSDT -> FADT (revision 1) -> DSDT and FACS.
 * The FADT names the PIIX4-style PM registers of acpi_pm.h (SCI on IRQ 9,
 * no SMI command port: the machine is always in ACPI mode). The DSDT holds
 * \_S5 (soft off with the chipset's SLP_TYP) and \_SB.PCI0, a PNP0A03 host
 * bridge, so Linux finds PCI bus 0 through ACPI. No MADT: no APIC.
 * The RSDP must sit where the kernel scans (0xE0000-0xFFFFF) in memory the
 * e820 map reserves; ACPI_TABLES_BASE is such a place on the PC map.
 */
#ifndef PLAN86_ACPI_H
#define PLAN86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "e820.h"

#define ACPI_TABLES_BASE E820_BIOS_AREA_START
#define ACPI_TABLES_MAX 0x1000u

struct acpi_tables {
    uint8_t bytes[ACPI_TABLES_MAX];
    uint32_t base;        /* guest physical address of bytes[0] */
    uint32_t size;        /* bytes used */
    uint32_t rsdp_addr;   /* guest physical address of the RSDP (== base) */
};

/* Builds the tables for base (16-byte aligned, below 4 GiB - ACPI_TABLES_MAX).
 * Returns false if base is unusable. */
bool acpi_build(struct acpi_tables *t, uint32_t base);

#endif
