/* e820.h — the physical memory map a PC firmware reports (INT 15h E820).
 *
 * Promises: a table of up to E820_MAX_ENTRIES ranges in the order added;
 * e820_build_pc fills the classic PC layout for a board with ram_size bytes
 * of RAM at 0 (conventional RAM, the EBDA and the BIOS area reserved, RAM
 * from 1 MiB up); e820_encode writes the 20-byte records Linux's boot_params
 * and QEMU's fw_cfg "etc/e820" both use.
 */
#ifndef PLAN86_E820_H
#define PLAN86_E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define E820_MAX_ENTRIES 128        /* boot_params.e820_table */
#define E820_RECORD_SIZE 20

/* The PC layout below 1 MiB. */
#define E820_LOW_RAM_END 0x9FC00u    /* the EBDA's 1 KiB starts here */
#define E820_VGA_START 0xA0000u
#define E820_BIOS_AREA_START 0xF0000u
#define E820_HIGH_RAM_START 0x100000u

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

struct e820_entry {
    uint64_t addr, size;
    uint32_t type;
};

struct e820_table {
    struct e820_entry entries[E820_MAX_ENTRIES];
    int count;
};

/* The PC map for ram_size bytes of RAM at address 0 (ram_size >= 1 MiB). */
void e820_build_pc(struct e820_table *t, uint32_t ram_size);
/* Appends one range; false (table unchanged) when full or size is 0. */
bool e820_add(struct e820_table *t, uint64_t addr, uint64_t size, enum e820_type type);
/* Writes count records to out; returns the bytes written (0 if out_size is short). */
size_t e820_encode(const struct e820_table *t, uint8_t *out, size_t out_size);

#endif
