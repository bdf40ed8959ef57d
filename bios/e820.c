/* e820.c — the PC physical memory map (see e820.h). */
#include "e820.h"

#include "le.h"

/* Below 1 MiB: RAM up to the EBDA, the EBDA reserved, the VGA window and
 * option-ROM area left out (the kernel never uses them), the BIOS area
 * reserved (firmware tables such as ACPI's live there). */
static const struct e820_entry pc_low_map[] = {
    { 0, E820_LOW_RAM_END, E820_RAM },
    { E820_LOW_RAM_END, E820_VGA_START - E820_LOW_RAM_END, E820_RESERVED },
    { E820_BIOS_AREA_START, E820_HIGH_RAM_START - E820_BIOS_AREA_START, E820_RESERVED },
};

bool e820_add(struct e820_table *t, uint64_t addr, uint64_t size, enum e820_type type)
{
    if (t->count == E820_MAX_ENTRIES || size == 0)
        return false;
    t->entries[t->count++] = (struct e820_entry){ addr, size, type };
    return true;
}

void e820_build_pc(struct e820_table *t, uint32_t ram_size)
{
    t->count = 0;
    for (size_t k = 0; k < sizeof pc_low_map / sizeof pc_low_map[0]; k++)
        e820_add(t, pc_low_map[k].addr, pc_low_map[k].size, pc_low_map[k].type);
    if (ram_size > E820_HIGH_RAM_START)
        e820_add(t, E820_HIGH_RAM_START, ram_size - E820_HIGH_RAM_START, E820_RAM);
}

size_t e820_encode(const struct e820_table *t, uint8_t *out, size_t out_size)
{
    size_t need = (size_t)t->count * E820_RECORD_SIZE;
    if (out_size < need)
        return 0;
    for (int k = 0; k < t->count; k++) {
        uint8_t *rec = out + (size_t)k * E820_RECORD_SIZE;
        le_put64(rec, t->entries[k].addr);
        le_put64(rec + 8, t->entries[k].size);
        le_put32(rec + 16, t->entries[k].type);
    }
    return need;
}
