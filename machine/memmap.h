/* memmap.h — the guest physical address space: RAM, ROM and MMIO regions.
 *
 * Promises: regions may overlap; where they do, the higher priority wins
 * (equal priorities may not overlap). Lookups go through a flattened, sorted
 * view rebuilt on every change. ROM reads like RAM and ignores writes; MMIO
 * goes to callbacks with sizes 1, 2 and 4 (an access straddling a region edge
 * is split into bytes); unmapped addresses read all ones and drop writes.
 * A split region (shadow RAM being filled) reads from one buffer and writes
 * to another, and never gets a fast-path page that serves both. Regions can
 * be removed again by their exact base, size and priority.
 */
#ifndef PLAN86_MEMMAP_H
#define PLAN86_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

enum mem_kind { MEM_RAM, MEM_ROM, MEM_MMIO, MEM_SPLIT };

/* offset is relative to the region base. */
typedef uint32_t (*mmio_read_fn)(void *opaque, uint32_t offset, int size);
typedef void (*mmio_write_fn)(void *opaque, uint32_t offset, uint32_t val, int size);

struct mem_region {
    uint64_t base, size;
    enum mem_kind kind;
    int priority;
    uint8_t *host;           /* RAM and ROM contents; what a split region reads */
    uint8_t *write_host;     /* where a split region's writes land */
    mmio_read_fn read;
    mmio_write_fn write;
    void *opaque;
};

/* A piece of the flattened map: [start, end) belongs to one region. */
struct mem_span {
    uint64_t start, end;
    const struct mem_region *region;
};

#define MEMMAP_MAX_REGIONS 64
#define MEMMAP_ADDR_LIMIT (1ull << 32)

struct memmap {
    struct mem_region regions[MEMMAP_MAX_REGIONS];
    int nregions;
    struct mem_span spans[2 * MEMMAP_MAX_REGIONS + 1];
    int nspans;
};

void memmap_init(struct memmap *mm);
/* Adds a region (a copy of *r). Returns NULL on success, else why it failed. */
const char *memmap_add(struct memmap *mm, const struct mem_region *r);
/* Removes the region with exactly this base, size and priority; false when
 * there is none. */
bool memmap_remove(struct memmap *mm, uint64_t base, uint64_t size, int priority);
/* The span holding paddr, or NULL when unmapped. */
const struct mem_span *memmap_find(const struct memmap *mm, uint32_t paddr);
/* Host pointer to the 4 KiB page at paddr when the whole page is RAM (or ROM
 * and !write; or split, its read or write buffer); else NULL. */
uint8_t *memmap_page_ptr(const struct memmap *mm, uint32_t paddr, bool write);
uint32_t memmap_read(const struct memmap *mm, uint32_t paddr, int size);
void memmap_write(const struct memmap *mm, uint32_t paddr, uint32_t val, int size);

#endif
