/* virtio_9p.h — the virtio-9p device (type 9, PCI 1AF4:1049): the glue
 * between a virtqueue of 9p requests and an opaque 9p request handler.
 *
 * Promises: device configuration holds the mount tag (VIRTIO_9P_MOUNT_TAG,
 * `host9p` unless the board names another). Each available chain becomes
 * one request: its device-readable buffers gathered into one frame of at
 * most VIRTIO_9P_MAX_FRAME bytes, handed to handler->submit with a token.
 * The handler answers every token exactly once with virtio_9p_complete,
 * from inside submit or later on the guest thread, in any order; the reply
 * is scattered into that chain's device-writable buffers (cut to fit), the
 * used element is put and the driver interrupted as the ring asks. Other
 * requests go on while one waits. A request larger than the frame limit
 * completes at once with nothing written (the guest's 9p client sees an
 * error). A device reset forgets every request in flight: their tokens go
 * stale and completing them does nothing. Malformed chains are the
 * transport's business (DEVICE_NEEDS_RESET, see virtio_pci.h).
 */
#ifndef PLAN86_VIRTIO_9P_H
#define PLAN86_VIRTIO_9P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_pci.h"

#define VIRTIO_9P_DEVICE_TYPE 9
#define VIRTIO_9P_MOUNT_TAG (1ull << 0)
#define VIRTIO_9P_QUEUE_SIZE 128
#define VIRTIO_9P_MAX_TAG 255
#define VIRTIO_9P_DEFAULT_TAG "host9p"
/* Linux caps msize for virtio at 125 pages; room for that plus a header. */
#define VIRTIO_9P_MAX_FRAME ((512u << 10) + 4096u)

/* The 9p server side, opaque to the device. `req` is valid only during the
 * call; the handler copies what it keeps. */
struct virtio_9p_handler {
    void (*submit)(void *ctx, const uint8_t *req, size_t len, uint32_t token);
    /* The device was reset (may be NULL): drop the session and pending replies. */
    void (*reset)(void *ctx);
};

struct virtio_9p_request {
    bool busy;
    uint32_t nwrite;               /* the chain's writable buffers */
    struct virtq_seg *writable;
};

struct virtio_9p {
    struct virtio_pci vp;
    const struct virtio_9p_handler *handler;
    void *handler_ctx;
    uint16_t tag_len;
    uint8_t tag[VIRTIO_9P_MAX_TAG];
    uint16_t epoch;                /* bumped by each reset; tokens carry it */
    struct virtio_9p_request requests[VIRTIO_9P_QUEUE_SIZE];   /* by chain head */
    struct virtq_chain chain;      /* the chain being started */
    uint8_t *frame;                /* VIRTIO_9P_MAX_FRAME bytes */
};

/* mount_tag NULL means VIRTIO_9P_DEFAULT_TAG. NULL, or why not. */
const char *virtio_9p_attach(struct machine *m, struct virtio_9p *dev, struct pci_bus *bus, uint8_t devfn,
                             const char *mount_tag, const struct virtio_9p_handler *handler, void *handler_ctx);
void virtio_9p_free(struct virtio_9p *dev);
/* The reply to request `token`. False when the token is stale or unknown
 * (the device was reset since, or it was answered already). */
bool virtio_9p_complete(struct virtio_9p *dev, uint32_t token, const uint8_t *reply, size_t len);

#endif
