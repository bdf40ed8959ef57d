/* virtio_9p.c — the virtio-9p device (see virtio_9p.h). */
#include "virtio_9p.h"

#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"

#define REQUEST_QUEUE 0
#define PCI_CLASS_OTHER 0x000200u   /* as QEMU's virtio-9p-pci */

static uint32_t make_token(const struct virtio_9p *dev, uint16_t head) { return (uint32_t)dev->epoch << 16 | head; }

/* Config space: u16 tag_len, then the tag's bytes (no terminator). */
static uint32_t config_read(void *opaque, uint32_t offset, int size)
{
    const struct virtio_9p *dev = opaque;
    uint32_t v = 0;
    for (int k = 0; k < size; k++) {
        uint32_t at = offset + (uint32_t)k;
        uint8_t byte = at < 2 ? (uint8_t)(dev->tag_len >> (8 * at)) : dev->tag[at - 2];
        v |= (uint32_t)byte << (8 * k);
    }
    return v;
}

static void release(struct virtio_9p_request *r)
{
    free(r->writable);
    *r = (struct virtio_9p_request){ 0 };
}

static void finish(struct virtio_9p *dev, uint16_t head, uint32_t written)
{
    struct virtq *q = virtio_pci_queue(&dev->vp, REQUEST_QUEUE);
    if (virtq_push(q, head, written))
        virtio_pci_queue_interrupt(&dev->vp);
}

/* Records the chain's writable buffers, then hands the frame over. */
static void start_request(struct virtio_9p *dev)
{
    const struct virtq_chain *c = &dev->chain;
    struct virtio_9p_request *r = &dev->requests[c->head];
    if (r->busy) {
        virtio_pci_needs_reset(&dev->vp, "a descriptor head was made available again while in flight");
        return;
    }
    if (c->read_bytes > VIRTIO_9P_MAX_FRAME) {
        finish(dev, c->head, 0);
        return;
    }
    struct virtq_seg *writable = malloc(sizeof *writable * (c->nwrite ? c->nwrite : 1));
    if (!writable) {
        finish(dev, c->head, 0);
        return;
    }
    memcpy(writable, c->segs + c->nread, sizeof *writable * c->nwrite);
    *r = (struct virtio_9p_request){ .busy = true, .nwrite = c->nwrite, .writable = writable };
    size_t len = (size_t)virtq_chain_gather(dev->vp.m, c, dev->frame, c->read_bytes);
    dev->handler->submit(dev->handler_ctx, dev->frame, len, make_token(dev, c->head));
}

static void queue_notify(void *opaque, int queue)
{
    struct virtio_9p *dev = opaque;
    struct virtq *q = virtio_pci_queue(&dev->vp, queue);
    if (queue != REQUEST_QUEUE)
        return;
    for (;;) {
        const char *why = NULL;
        enum virtq_pop_result got = virtq_pop(q, &dev->chain, &why);
        if (got == VIRTQ_BROKEN)
            virtio_pci_needs_reset(&dev->vp, why);
        if (got != VIRTQ_CHAIN)
            break;
        start_request(dev);
        if (!virtio_pci_running(&dev->vp))
            return;
    }
    virtq_publish_avail_event(q);
}

static void device_reset(void *opaque)
{
    struct virtio_9p *dev = opaque;
    for (int k = 0; k < VIRTIO_9P_QUEUE_SIZE; k++)
        release(&dev->requests[k]);
    dev->epoch++;
    if (dev->handler->reset)
        dev->handler->reset(dev->handler_ctx);
}

static const struct virtio_device_ops virtio_9p_ops = {
    .config_read = config_read,
    .queue_notify = queue_notify,
    .reset = device_reset,
};

bool virtio_9p_complete(struct virtio_9p *dev, uint32_t token, const uint8_t *reply, size_t len)
{
    uint16_t head = (uint16_t)token;
    if (token >> 16 != dev->epoch || head >= VIRTIO_9P_QUEUE_SIZE || !dev->requests[head].busy)
        return false;
    struct virtio_9p_request *r = &dev->requests[head];
    uint32_t written = (uint32_t)virtq_segs_scatter(dev->vp.m, r->writable, r->nwrite, reply, len);
    release(r);
    finish(dev, head, written);
    return true;
}

const char *virtio_9p_attach(struct machine *m, struct virtio_9p *dev, struct pci_bus *bus, uint8_t devfn,
                             const char *mount_tag, const struct virtio_9p_handler *handler, void *handler_ctx)
{
    const char *tag = mount_tag ? mount_tag : VIRTIO_9P_DEFAULT_TAG;
    size_t tag_len = strlen(tag);
    if (tag_len == 0 || tag_len > VIRTIO_9P_MAX_TAG)
        return "the 9p mount tag must be 1 to 255 bytes long";
    if (!handler || !handler->submit)
        return "virtio-9p needs a request handler";
    *dev = (struct virtio_9p){ .handler = handler, .handler_ctx = handler_ctx, .tag_len = (uint16_t)tag_len };
    memcpy(dev->tag, tag, tag_len);
    dev->frame = malloc(VIRTIO_9P_MAX_FRAME);
    if (!dev->frame)
        return "out of memory for the virtio-9p request frame";
    const struct virtio_pci_identity id = {
        .device_type = VIRTIO_9P_DEVICE_TYPE, .class_code = PCI_CLASS_OTHER, .features = VIRTIO_9P_MOUNT_TAG,
        .num_queues = 1, .queue_max_size = VIRTIO_9P_QUEUE_SIZE, .config_size = 2 + (uint32_t)tag_len,
    };
    const char *why = virtio_pci_attach(m, &dev->vp, bus, devfn, &id, &virtio_9p_ops, dev);
    if (why)
        virtio_9p_free(dev);
    return why;
}

void virtio_9p_free(struct virtio_9p *dev)
{
    for (int k = 0; k < VIRTIO_9P_QUEUE_SIZE; k++)
        release(&dev->requests[k]);
    free(dev->frame);
    dev->frame = NULL;
}
