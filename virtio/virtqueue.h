/* virtqueue.h — a split virtqueue (virtio 1.x, section 2.6) in guest RAM.
 *
 * Promises: the device side of one split ring. virtq_enable checks the
 * driver's ring layout (size a power of two up to VIRTQ_MAX_SIZE, alignment,
 * every byte of the three areas inside guest RAM). virtq_pop takes the next
 * available chain and walks it, direct and indirect descriptors alike, into
 * a list of guest-RAM segments: every address and length is checked against
 * RAM, chains are bounded (a loop is a chain that is too long), an indirect
 * table inside an indirect table, INDIRECT together with NEXT, a readable
 * descriptor after a writable one and an avail index that runs ahead by more
 * than the ring size are all refused. A refused chain yields VIRTQ_BROKEN
 * with a message; the caller marks the device DEVICE_NEEDS_RESET and the
 * queue never touches guest memory again until it is reset. Nothing here
 * reads or writes host memory outside guest RAM or the caller's buffers.
 * virtq_push puts a used element (completions may come in any order) and
 * says whether the driver wants an interrupt for it: VIRTQ_AVAIL_F_NO_INTERRUPT,
 * or used_event when EVENT_IDX is negotiated. With EVENT_IDX the queue also
 * publishes avail_event after each drain, so the driver notifies only when
 * it has new work.
 */
#ifndef PLAN86_VIRTQUEUE_H
#define PLAN86_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

#define VIRTQ_MAX_SIZE 1024        /* largest ring a device may offer */
#define VIRTQ_MAX_SEGS 1024        /* descriptors in one chain, indirect ones included */

enum {
    VIRTQ_DESC_F_NEXT = 1, VIRTQ_DESC_F_WRITE = 2, VIRTQ_DESC_F_INDIRECT = 4,
    VIRTQ_AVAIL_F_NO_INTERRUPT = 1, VIRTQ_USED_F_NO_NOTIFY = 1,
};
#define VIRTQ_DESC_SIZE 16
#define VIRTQ_USED_ELEM_SIZE 8

/* One guest-RAM buffer of a chain, already checked to lie inside RAM. */
struct virtq_seg {
    uint32_t addr, len;
};

/* A popped chain: readable segments first, then writable ones. */
struct virtq_chain {
    uint16_t head;
    uint32_t nread, nwrite;        /* segs[0..nread) readable, then nwrite writable */
    uint64_t read_bytes, write_bytes;
    struct virtq_seg segs[VIRTQ_MAX_SEGS];
};

struct virtq {
    struct machine *m;
    uint16_t max_size;             /* what the device offers */
    uint16_t size;                 /* what the driver chose */
    uint64_t desc_addr, avail_addr, used_addr;
    bool ready;                    /* enabled with a valid layout */
    bool indirect;                 /* RING_INDIRECT_DESC negotiated */
    bool event_idx;                /* RING_EVENT_IDX negotiated */
    uint16_t last_avail;           /* next avail ring slot the device reads */
    uint16_t used_idx;             /* next used ring slot the device writes */
};

enum virtq_pop_result { VIRTQ_EMPTY, VIRTQ_CHAIN, VIRTQ_BROKEN };

/* Device reset: back to the offered size, nothing set up. */
void virtq_reset(struct virtq *q, struct machine *m, uint16_t max_size);
/* The driver enables the queue. NULL, or why the layout is refused. */
const char *virtq_enable(struct virtq *q, bool indirect, bool event_idx);
/* VIRTQ_CHAIN fills *chain; VIRTQ_BROKEN sets *why. */
enum virtq_pop_result virtq_pop(struct virtq *q, struct virtq_chain *chain, const char **why);
/* After a drain: with EVENT_IDX, ask to be notified at the next new entry. */
void virtq_publish_avail_event(struct virtq *q);
/* Puts the used element (head, bytes written); true when the driver wants
 * an interrupt for it. */
bool virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Gather: the chain's readable bytes in order into dst (at most len).
 * Scatter: src in order into the segments (at most their total). Both
 * return how many bytes moved. */
uint64_t virtq_chain_gather(struct machine *m, const struct virtq_chain *chain, uint8_t *dst, uint64_t len);
uint64_t virtq_segs_scatter(struct machine *m, const struct virtq_seg *segs, uint32_t nsegs,
                            const uint8_t *src, uint64_t len);

#endif
