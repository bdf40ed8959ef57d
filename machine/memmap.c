/* memmap.c — guest physical address space (see memmap.h). */
#include "memmap.h"

#include "bits.h"

#include <stdlib.h>
#include <string.h>

void memmap_init(struct memmap *mm)
{
    memset(mm, 0, sizeof *mm);
}

static bool ranges_overlap(const struct mem_region *a, const struct mem_region *b)
{
    return a->base < b->base + b->size && b->base < a->base + a->size;
}

/* The region that owns addr: highest priority among those containing it. */
static const struct mem_region *owner_at(const struct memmap *mm, uint64_t addr)
{
    const struct mem_region *best = NULL;
    for (int k = 0; k < mm->nregions; k++) {
        const struct mem_region *r = &mm->regions[k];
        if (addr >= r->base && addr < r->base + r->size && (!best || r->priority > best->priority))
            best = r;
    }
    return best;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Cuts the address space at every region edge and keeps, for each piece,
 * its owner; neighbouring pieces with the same owner merge. */
static void rebuild_spans(struct memmap *mm)
{
    uint64_t cuts[2 * MEMMAP_MAX_REGIONS];
    int ncuts = 0;
    for (int k = 0; k < mm->nregions; k++) {
        cuts[ncuts++] = mm->regions[k].base;
        cuts[ncuts++] = mm->regions[k].base + mm->regions[k].size;
    }
    qsort(cuts, (size_t)ncuts, sizeof cuts[0], cmp_u64);
    mm->nspans = 0;
    for (int k = 0; k + 1 < ncuts; k++) {
        if (cuts[k] == cuts[k + 1])
            continue;
        const struct mem_region *r = owner_at(mm, cuts[k]);
        if (!r)
            continue;
        struct mem_span *last = mm->nspans ? &mm->spans[mm->nspans - 1] : NULL;
        if (last && last->region == r && last->end == cuts[k])
            last->end = cuts[k + 1];
        else
            mm->spans[mm->nspans++] = (struct mem_span){ cuts[k], cuts[k + 1], r };
    }
}

const char *memmap_add(struct memmap *mm, const struct mem_region *r)
{
    if (r->size == 0 || r->base >= MEMMAP_ADDR_LIMIT || r->size > MEMMAP_ADDR_LIMIT - r->base)
        return "region is empty or extends beyond 4 GiB";
    if ((r->kind == MEM_MMIO && (!r->read || !r->write)) || (r->kind != MEM_MMIO && !r->host) ||
        (r->kind == MEM_SPLIT && !r->write_host))
        return "region has no backing (host memory or callbacks)";
    if (mm->nregions == MEMMAP_MAX_REGIONS)
        return "too many memory regions";
    for (int k = 0; k < mm->nregions; k++)
        if (mm->regions[k].priority == r->priority && ranges_overlap(&mm->regions[k], r))
            return "region overlaps another of the same priority";
    mm->regions[mm->nregions++] = *r;
    rebuild_spans(mm);
    return NULL;
}

bool memmap_remove(struct memmap *mm, uint64_t base, uint64_t size, int priority)
{
    for (int k = 0; k < mm->nregions; k++) {
        const struct mem_region *r = &mm->regions[k];
        if (r->base == base && r->size == size && r->priority == priority) {
            memmove(&mm->regions[k], &mm->regions[k + 1], (size_t)(mm->nregions - k - 1) * sizeof *r);
            mm->nregions--;
            rebuild_spans(mm);
            return true;
        }
    }
    return false;
}

const struct mem_span *memmap_find(const struct memmap *mm, uint32_t paddr)
{
    int lo = 0, hi = mm->nspans - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const struct mem_span *s = &mm->spans[mid];
        if (paddr < s->start)
            hi = mid - 1;
        else if (paddr >= s->end)
            lo = mid + 1;
        else
            return s;
    }
    return NULL;
}

uint8_t *memmap_page_ptr(const struct memmap *mm, uint32_t paddr, bool write)
{
    uint32_t page = paddr & ~0xFFFu;
    const struct mem_span *s = memmap_find(mm, page);
    if (!s || s->end < (uint64_t)page + 0x1000)
        return NULL;
    const struct mem_region *r = s->region;
    if (r->kind == MEM_MMIO || (r->kind == MEM_ROM && write))
        return NULL;
    return (write && r->kind == MEM_SPLIT ? r->write_host : r->host) + (page - r->base);
}

/* The span holding the whole access [paddr, paddr+size), or NULL when the
 * access is unmapped or straddles a span edge. */
static const struct mem_span *span_for_access(const struct memmap *mm, uint32_t paddr, int size)
{
    const struct mem_span *s = memmap_find(mm, paddr);
    return s && (uint64_t)paddr + (uint64_t)size <= s->end ? s : NULL;
}

static uint32_t region_read(const struct mem_region *r, uint32_t paddr, int size)
{
    uint32_t off = (uint32_t)(paddr - r->base);
    if (r->kind == MEM_MMIO)
        return r->read(r->opaque, off, size) & access_mask(size);
    uint32_t v = 0;
    memcpy(&v, r->host + off, (size_t)size);
    return v;
}

uint32_t memmap_read(const struct memmap *mm, uint32_t paddr, int size)
{
    const struct mem_span *s = span_for_access(mm, paddr, size);
    if (s)
        return region_read(s->region, paddr, size);
    if (size == 1)
        return 0xFF;
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= memmap_read(mm, paddr + (uint32_t)k, 1) << (8 * k);
    return v;
}

void memmap_write(const struct memmap *mm, uint32_t paddr, uint32_t val, int size)
{
    const struct mem_span *s = span_for_access(mm, paddr, size);
    if (s) {
        const struct mem_region *r = s->region;
        uint32_t off = (uint32_t)(paddr - r->base);
        if (r->kind == MEM_MMIO)
            r->write(r->opaque, off, val & access_mask(size), size);
        else if (r->kind == MEM_RAM)
            memcpy(r->host + off, &val, (size_t)size);
        else if (r->kind == MEM_SPLIT)
            memcpy(r->write_host + off, &val, (size_t)size);
        return;
    }
    if (size == 1)
        return;
    for (int k = 0; k < size; k++)
        memmap_write(mm, paddr + (uint32_t)k, (val >> (8 * k)) & 0xFF, 1);
}
