/* virtqueue.c — the device side of a split virtqueue (see virtqueue.h).
 *
 * Layout in guest RAM (all little-endian):
 *   descriptor table: size x { u64 addr, u32 len, u16 flags, u16 next }
 *   avail ring: u16 flags, u16 idx, u16 ring[size], u16 used_event
 *   used ring:  u16 flags, u16 idx, { u32 id, u32 len }[size], u16 avail_event
 */
#include "virtqueue.h"

#include "bios/le.h"
#include "machine/machine.h"

#define AVAIL_RING 4
#define USED_RING 4

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static bool ram_range_ok(const struct machine *m, uint64_t addr, uint64_t len)
{
    return addr <= m->ram_size && len <= m->ram_size - addr;
}

/* Only called on areas already checked to lie in RAM. */
static uint16_t ram_get16(struct machine *m, uint64_t addr)
{
    uint8_t b[2];
    machine_phys_read(m, (uint32_t)addr, b, sizeof b);
    return le_get16(b);
}

static void ram_put16(struct machine *m, uint64_t addr, uint16_t v)
{
    uint8_t b[2];
    le_put16(b, v);
    machine_phys_write(m, (uint32_t)addr, b, sizeof b);
}

static uint64_t avail_area_size(uint16_t size) { return AVAIL_RING + 2ull * size + 2; }
static uint64_t used_area_size(uint16_t size) { return USED_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * size + 2; }

void virtq_reset(struct virtq *q, struct machine *m, uint16_t max_size)
{
    *q = (struct virtq){ .m = m, .max_size = max_size, .size = max_size };
}

const char *virtq_enable(struct virtq *q, bool indirect, bool event_idx)
{
    uint16_t n = q->size;
    if (n == 0 || n > q->max_size || (n & (n - 1)))
        return "queue size is not a power of two within the offered size";
    if ((q->desc_addr & 15) || (q->avail_addr & 1) || (q->used_addr & 3))
        return "ring addresses are misaligned";
    if (!ram_range_ok(q->m, q->desc_addr, (uint64_t)VIRTQ_DESC_SIZE * n) ||
        !ram_range_ok(q->m, q->avail_addr, avail_area_size(n)) ||
        !ram_range_ok(q->m, q->used_addr, used_area_size(n)))
        return "a ring lies outside guest RAM";
    q->indirect = indirect;
    q->event_idx = event_idx;
    q->last_avail = 0;
    q->used_idx = 0;
    q->ready = true;
    return NULL;
}

/* ---- chain walking ---- */

static struct virtq_desc read_desc(struct machine *m, uint64_t table, uint32_t index)
{
    uint8_t b[VIRTQ_DESC_SIZE];
    machine_phys_read(m, (uint32_t)(table + (uint64_t)index * VIRTQ_DESC_SIZE), b, sizeof b);
    return (struct virtq_desc){
        .addr = le_get(b, 8), .len = le_get32(b + 8), .flags = le_get16(b + 12), .next = le_get16(b + 14),
    };
}

/* Where the walk stands: the table being read and how far it may go. */
struct walk {
    uint64_t table;
    uint32_t table_len;
    uint32_t steps;                /* descriptors read from this table */
    bool in_indirect;
};

static const char *enter_indirect(const struct virtq *q, struct walk *w, const struct virtq_desc *d)
{
    if (!q->indirect)
        return "indirect descriptor without RING_INDIRECT_DESC";
    if (w->in_indirect)
        return "indirect descriptor inside an indirect table";
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return "indirect descriptor with NEXT set";
    if (d->len == 0 || d->len % VIRTQ_DESC_SIZE || d->len / VIRTQ_DESC_SIZE > VIRTQ_MAX_SEGS)
        return "indirect table length is not a whole, bounded number of descriptors";
    /* the spec asks no alignment of an indirect table (Linux's kmalloc gives 8) */
    if (!ram_range_ok(q->m, d->addr, d->len))
        return "indirect table lies outside guest RAM";
    *w = (struct walk){ .table = d->addr, .table_len = d->len / VIRTQ_DESC_SIZE, .in_indirect = true };
    return NULL;
}

static const char *add_segment(const struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;
    if (!ram_range_ok(q->m, d->addr, d->len))
        return "buffer lies outside guest RAM";
    if (!writable && c->nwrite)
        return "readable buffer after a writable one";
    if (c->nread + c->nwrite == VIRTQ_MAX_SEGS)
        return "chain is too long";
    c->segs[c->nread + c->nwrite] = (struct virtq_seg){ (uint32_t)d->addr, d->len };
    if (writable) {
        c->nwrite++;
        c->write_bytes += d->len;
    } else {
        c->nread++;
        c->read_bytes += d->len;
    }
    return NULL;
}

/* Follows the chain from `head`; a chain longer than its table loops. */
static const char *walk_chain(const struct virtq *q, struct virtq_chain *c, uint16_t head)
{
    struct walk w = { .table = q->desc_addr, .table_len = q->size };
    uint32_t index = head;
    *c = (struct virtq_chain){ .head = head };
    for (;;) {
        if (index >= w.table_len)
            return "descriptor index beyond its table";
        if (++w.steps > w.table_len)
            return "descriptor chain loops or is longer than its table";
        struct virtq_desc d = read_desc(q->m, w.table, index);
        const char *why = (d.flags & VIRTQ_DESC_F_INDIRECT) ? enter_indirect(q, &w, &d) : add_segment(q, c, &d);
        if (why)
            return why;
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            index = 0;
        else if (d.flags & VIRTQ_DESC_F_NEXT)
            index = d.next;
        else
            return NULL;
    }
}

static enum virtq_pop_result broken(struct virtq *q, const char **why, const char *reason)
{
    q->ready = false;
    *why = reason;
    return VIRTQ_BROKEN;
}

enum virtq_pop_result virtq_pop(struct virtq *q, struct virtq_chain *chain, const char **why)
{
    if (!q->ready)
        return VIRTQ_EMPTY;
    uint16_t avail_idx = ram_get16(q->m, q->avail_addr + 2);
    if (avail_idx == q->last_avail)
        return VIRTQ_EMPTY;
    if ((uint16_t)(avail_idx - q->last_avail) > q->size)
        return broken(q, why, "avail index ran ahead by more than the ring size");
    uint16_t head = ram_get16(q->m, q->avail_addr + AVAIL_RING + 2ull * (q->last_avail % q->size));
    q->last_avail++;
    const char *reason = walk_chain(q, chain, head);
    return reason ? broken(q, why, reason) : VIRTQ_CHAIN;
}

void virtq_publish_avail_event(struct virtq *q)
{
    if (q->ready && q->event_idx)
        ram_put16(q->m, q->used_addr + USED_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * q->size, q->last_avail);
}

/* virtio 1.x 2.6.7.2: interrupt when new_idx has just passed the event index. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    if (!q->ready)
        return false;
    uint8_t elem[VIRTQ_USED_ELEM_SIZE];
    le_put32(elem, head);
    le_put32(elem + 4, written);
    uint64_t slot = q->used_addr + USED_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * (q->used_idx % q->size);
    machine_phys_write(q->m, (uint32_t)slot, elem, sizeof elem);
    uint16_t old_idx = q->used_idx++;
    ram_put16(q->m, q->used_addr + 2, q->used_idx);
    if (q->event_idx)
        return need_event(ram_get16(q->m, q->avail_addr + AVAIL_RING + 2ull * q->size), q->used_idx, old_idx);
    return !(ram_get16(q->m, q->avail_addr) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* ---- data movement ---- */

uint64_t virtq_chain_gather(struct machine *m, const struct virtq_chain *chain, uint8_t *dst, uint64_t len)
{
    uint64_t done = 0;
    for (uint32_t k = 0; k < chain->nread && done < len; k++) {
        uint64_t n = chain->segs[k].len < len - done ? chain->segs[k].len : len - done;
        machine_phys_read(m, chain->segs[k].addr, dst + done, (size_t)n);
        done += n;
    }
    return done;
}

uint64_t virtq_segs_scatter(struct machine *m, const struct virtq_seg *segs, uint32_t nsegs,
                            const uint8_t *src, uint64_t len)
{
    uint64_t done = 0;
    for (uint32_t k = 0; k < nsegs && done < len; k++) {
        uint64_t n = segs[k].len < len - done ? segs[k].len : len - done;
        machine_phys_write(m, segs[k].addr, src + done, (size_t)n);
        done += n;
    }
    return done;
}
