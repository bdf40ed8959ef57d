/* virtio_pci.c — the virtio 1.x PCI transport (see virtio_pci.h). */
#include "virtio_pci.h"

#include <stdio.h>

#include "machine/machine.h"

#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_SUBSYS_ID 0x2E
#define PCI_CAP_ID_VENDOR 0x09
#define FIRST_CAP 0x40
#define CAP_STRIDE 0x14            /* the notify capability's 20 bytes */
#define CAP_LEN 16
#define NOTIFY_CAP_LEN 20
#define WINDOW_SIZE 0x1000u

/* ---- common configuration: one row per register ---- */

struct common_field {
    uint8_t offset, size;
    int arg;                       /* which half / which address, for shared accessors */
    uint32_t (*get)(struct virtio_pci *vp, int arg);
    void (*set)(struct virtio_pci *vp, int arg, uint32_t val);   /* NULL: read-only */
};

static struct virtio_pci_queue *selected(struct virtio_pci *vp)
{
    return vp->queue_select < vp->id.num_queues ? &vp->queues[vp->queue_select] : NULL;
}

static uint32_t feature_half(uint64_t bits, uint32_t select)
{
    return select < 2 ? (uint32_t)(bits >> (32 * select)) : 0;
}

static uint32_t get_select(struct virtio_pci *vp, int driver)
{
    return driver ? vp->driver_feature_select : vp->device_feature_select;
}

static void set_select(struct virtio_pci *vp, int driver, uint32_t val)
{
    *(driver ? &vp->driver_feature_select : &vp->device_feature_select) = val;
}

static uint32_t get_device_features(struct virtio_pci *vp, int arg)
{
    (void)arg;
    return feature_half(vp->offered, vp->device_feature_select);
}

static uint32_t get_driver_features(struct virtio_pci *vp, int arg)
{
    (void)arg;
    return feature_half(vp->driver_features, vp->driver_feature_select);
}

static void set_driver_features(struct virtio_pci *vp, int arg, uint32_t val)
{
    (void)arg;
    uint32_t sel = vp->driver_feature_select;
    if (sel >= 2 || (vp->status & VIRTIO_STATUS_FEATURES_OK))
        return;
    vp->driver_features &= ~((uint64_t)UINT32_MAX << (32 * sel));
    vp->driver_features |= (uint64_t)val << (32 * sel);
}

static uint32_t get_no_vector(struct virtio_pci *vp, int arg)
{
    (void)vp; (void)arg;
    return VIRTIO_NO_VECTOR;
}

static uint32_t get_num_queues(struct virtio_pci *vp, int arg) { (void)arg; return vp->id.num_queues; }
static uint32_t get_status(struct virtio_pci *vp, int arg) { (void)arg; return vp->status; }
static uint32_t get_generation(struct virtio_pci *vp, int arg) { (void)arg; return vp->config_generation; }
static uint32_t get_queue_select(struct virtio_pci *vp, int arg) { (void)arg; return vp->queue_select; }
static void set_queue_select(struct virtio_pci *vp, int arg, uint32_t val) { (void)arg; vp->queue_select = (uint16_t)val; }

static uint32_t get_queue_size(struct virtio_pci *vp, int arg)
{
    (void)arg;
    struct virtio_pci_queue *q = selected(vp);
    return q ? q->vq.size : 0;
}

static void set_queue_size(struct virtio_pci *vp, int arg, uint32_t val)
{
    (void)arg;
    struct virtio_pci_queue *q = selected(vp);
    if (q && !q->enable)
        q->vq.size = (uint16_t)val;
}

static uint32_t get_queue_enable(struct virtio_pci *vp, int arg)
{
    (void)arg;
    struct virtio_pci_queue *q = selected(vp);
    return q && q->enable;
}

static void set_queue_enable(struct virtio_pci *vp, int arg, uint32_t val)
{
    (void)arg;
    struct virtio_pci_queue *q = selected(vp);
    if (!q || q->enable || val != 1)
        return;
    q->enable = true;
    const char *why = virtq_enable(&q->vq, vp->driver_features & VIRTIO_F_RING_INDIRECT_DESC,
                                   vp->driver_features & VIRTIO_F_RING_EVENT_IDX);
    if (why)
        virtio_pci_needs_reset(vp, why);
}

static uint32_t get_notify_off(struct virtio_pci *vp, int arg)
{
    (void)arg;
    return selected(vp) ? vp->queue_select : 0;
}

/* arg: bits 1-2 pick desc/driver/device area, bit 0 the high half. */
static uint64_t *queue_address(struct virtio_pci_queue *q, int arg)
{
    uint64_t *areas[] = { &q->vq.desc_addr, &q->vq.avail_addr, &q->vq.used_addr };
    return areas[arg >> 1];
}

static uint32_t get_queue_address(struct virtio_pci *vp, int arg)
{
    struct virtio_pci_queue *q = selected(vp);
    return q ? (uint32_t)(*queue_address(q, arg) >> (32 * (arg & 1))) : 0;
}

static void set_queue_address(struct virtio_pci *vp, int arg, uint32_t val)
{
    struct virtio_pci_queue *q = selected(vp);
    if (!q || q->enable)
        return;
    uint64_t *a = queue_address(q, arg);
    int shift = 32 * (arg & 1);
    *a = (*a & ~((uint64_t)UINT32_MAX << shift)) | ((uint64_t)val << shift);
}

static void set_status(struct virtio_pci *vp, int arg, uint32_t val);

static const struct common_field common_fields[] = {
    { 0x00, 4, 0, get_select, set_select },
    { 0x04, 4, 0, get_device_features, NULL },
    { 0x08, 4, 1, get_select, set_select },
    { 0x0C, 4, 0, get_driver_features, set_driver_features },
    { 0x10, 2, 0, get_no_vector, NULL },          /* msix_config */
    { 0x12, 2, 0, get_num_queues, NULL },
    { 0x14, 1, 0, get_status, set_status },
    { 0x15, 1, 0, get_generation, NULL },
    { 0x16, 2, 0, get_queue_select, set_queue_select },
    { 0x18, 2, 0, get_queue_size, set_queue_size },
    { 0x1A, 2, 0, get_no_vector, NULL },          /* queue_msix_vector */
    { 0x1C, 2, 0, get_queue_enable, set_queue_enable },
    { 0x1E, 2, 0, get_notify_off, NULL },
    { 0x20, 4, 0, get_queue_address, set_queue_address },
    { 0x24, 4, 1, get_queue_address, set_queue_address },
    { 0x28, 4, 2, get_queue_address, set_queue_address },
    { 0x2C, 4, 3, get_queue_address, set_queue_address },
    { 0x30, 4, 4, get_queue_address, set_queue_address },
    { 0x34, 4, 5, get_queue_address, set_queue_address },
};
#define NUM_COMMON_FIELDS (sizeof common_fields / sizeof common_fields[0])

static bool overlaps(uint32_t a, int alen, uint32_t b, int blen)
{
    return a < b + (uint32_t)blen && b < a + (uint32_t)alen;
}

/* Byte by byte, so any size at any offset reads what the fields hold. */
static uint32_t common_read(struct virtio_pci *vp, uint32_t offset, int size)
{
    uint32_t v = 0;
    for (size_t k = 0; k < NUM_COMMON_FIELDS; k++) {
        const struct common_field *f = &common_fields[k];
        if (!overlaps(offset, size, f->offset, f->size))
            continue;
        uint32_t fv = f->get(vp, f->arg);
        for (int b = 0; b < size; b++)
            if (offset + b >= f->offset && offset + b < (uint32_t)f->offset + f->size)
                v |= ((fv >> (8 * (offset + b - f->offset))) & 0xFF) << (8 * b);
    }
    return v;
}

/* A write covering part of a register merges into its current value. */
static void common_write(struct virtio_pci *vp, uint32_t offset, uint32_t val, int size)
{
    for (size_t k = 0; k < NUM_COMMON_FIELDS; k++) {
        const struct common_field *f = &common_fields[k];
        if (!f->set || !overlaps(offset, size, f->offset, f->size))
            continue;
        uint32_t fv = f->get(vp, f->arg);
        for (int b = 0; b < size; b++) {
            if (offset + b < f->offset || offset + b >= (uint32_t)f->offset + f->size)
                continue;
            int shift = 8 * (int)(offset + b - f->offset);
            fv = (fv & ~(0xFFu << shift)) | (((val >> (8 * b)) & 0xFF) << shift);
        }
        f->set(vp, f->arg, fv);
    }
}

/* ---- status, reset, interrupts ---- */

static void update_irq(struct virtio_pci *vp) { pci_set_irq(&vp->pci, vp->isr != 0); }

static void device_reset(struct virtio_pci *vp)
{
    vp->status = 0;
    vp->device_feature_select = vp->driver_feature_select = 0;
    vp->driver_features = 0;
    vp->queue_select = 0;
    vp->isr = 0;
    vp->broken_reason = NULL;
    for (int k = 0; k < vp->id.num_queues; k++) {
        virtq_reset(&vp->queues[k].vq, vp->m, vp->id.queue_max_size);
        vp->queues[k].enable = false;
    }
    update_irq(vp);
    vp->ops->reset(vp->dev);
}

static bool features_acceptable(const struct virtio_pci *vp)
{
    return !(vp->driver_features & ~vp->offered) && (vp->driver_features & VIRTIO_F_VERSION_1);
}

static void run_enabled_queues(struct virtio_pci *vp)
{
    for (int k = 0; k < vp->id.num_queues && virtio_pci_running(vp); k++)
        if (vp->queues[k].vq.ready)
            vp->ops->queue_notify(vp->dev, k);
}

static void set_status(struct virtio_pci *vp, int arg, uint32_t val)
{
    (void)arg;
    uint8_t old = vp->status, now = (uint8_t)val;
    if (now == 0) {
        device_reset(vp);
        return;
    }
    if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(vp))
        now &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    vp->status = (uint8_t)(now | (old & VIRTIO_STATUS_NEEDS_RESET));
    if ((now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        run_enabled_queues(vp);
}

bool virtio_pci_running(const struct virtio_pci *vp)
{
    return (vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) ==
           VIRTIO_STATUS_DRIVER_OK;
}

void virtio_pci_queue_interrupt(struct virtio_pci *vp)
{
    vp->isr |= VIRTIO_ISR_QUEUE;
    update_irq(vp);
}

void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why)
{
    if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vp->status |= VIRTIO_STATUS_NEEDS_RESET;
    vp->broken_reason = why;
    for (int k = 0; k < vp->id.num_queues; k++)
        vp->queues[k].vq.ready = false;
    fprintf(stderr, "plan86: virtio device %u at PCI 00:%02x.%u: %s; it needs a reset by the guest\n",
            vp->id.device_type, vp->pci.devfn >> 3, vp->pci.devfn & 7, why);
    vp->isr |= VIRTIO_ISR_CONFIG;
    update_irq(vp);
}

struct virtq *virtio_pci_queue(struct virtio_pci *vp, int queue)
{
    return queue >= 0 && queue < vp->id.num_queues ? &vp->queues[queue].vq : NULL;
}

/* ---- the BAR window ---- */

static uint32_t isr_read(struct virtio_pci *vp, uint32_t offset, int size)
{
    (void)offset; (void)size;
    uint32_t v = vp->isr;
    vp->isr = 0;
    update_irq(vp);
    return v;
}

static void ignore_write(struct virtio_pci *vp, uint32_t offset, uint32_t val, int size)
{
    (void)vp; (void)offset; (void)val; (void)size;
}

static uint32_t no_read(struct virtio_pci *vp, uint32_t offset, int size)
{
    (void)vp; (void)offset; (void)size;
    return 0;
}

static uint32_t device_config_read(struct virtio_pci *vp, uint32_t offset, int size)
{
    return offset + (uint32_t)size <= vp->id.config_size ? vp->ops->config_read(vp->dev, offset, size) : 0;
}

static void device_config_write(struct virtio_pci *vp, uint32_t offset, uint32_t val, int size)
{
    if (vp->ops->config_write && offset + (uint32_t)size <= vp->id.config_size)
        vp->ops->config_write(vp->dev, offset, val, size);
}

static void notify_write(struct virtio_pci *vp, uint32_t offset, uint32_t val, int size)
{
    (void)val; (void)size;
    uint32_t queue = offset / VIRTIO_PCI_NOTIFY_MULTIPLIER;
    if (offset % VIRTIO_PCI_NOTIFY_MULTIPLIER || queue >= vp->id.num_queues)
        return;
    if (virtio_pci_running(vp) && vp->queues[queue].vq.ready)
        vp->ops->queue_notify(vp->dev, (int)queue);
}

static uint32_t common_length(const struct virtio_pci *vp) { (void)vp; return VIRTIO_PCI_COMMON_SIZE; }
static uint32_t isr_length(const struct virtio_pci *vp) { (void)vp; return 1; }
static uint32_t device_length(const struct virtio_pci *vp) { return vp->id.config_size; }
static uint32_t notify_length(const struct virtio_pci *vp)
{
    return (uint32_t)vp->id.num_queues * VIRTIO_PCI_NOTIFY_MULTIPLIER;
}

/* The four structures: where each sits, how long it is, who serves it.
 * The capability list is built from the same rows. */
static const struct window {
    uint8_t cfg_type;
    uint32_t offset;
    uint32_t (*length)(const struct virtio_pci *vp);
    uint32_t (*read)(struct virtio_pci *vp, uint32_t offset, int size);
    void (*write)(struct virtio_pci *vp, uint32_t offset, uint32_t val, int size);
} windows[] = {
    { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET, common_length, common_read, common_write },
    { VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, isr_length, isr_read, ignore_write },
    { VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, device_length, device_config_read, device_config_write },
    { VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET, notify_length, no_read, notify_write },
};
#define NUM_WINDOWS (sizeof windows / sizeof windows[0])

/* The access lands in one window when the BAR decodes where we are mapped;
 * else it reads as zero and writes vanish. */
static const struct window *window_for(const struct virtio_pci *vp, uint32_t offset, int size)
{
    if (vp->pci.bar_mapped[VIRTIO_PCI_BAR] != vp->region_base)
        return NULL;
    const struct window *w = &windows[offset / WINDOW_SIZE];
    uint32_t rel = offset % WINDOW_SIZE;
    return rel + (uint32_t)size <= w->length(vp) ? w : NULL;
}

static uint32_t bar_read(void *opaque, uint32_t offset, int size)
{
    struct virtio_pci *vp = opaque;
    const struct window *w = window_for(vp, offset, size);
    return w ? w->read(vp, offset % WINDOW_SIZE, size) : 0;
}

static void bar_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
    struct virtio_pci *vp = opaque;
    const struct window *w = window_for(vp, offset, size);
    if (w)
        w->write(vp, offset % WINDOW_SIZE, val, size);
}

/* Is our window in the memory map at base? (A reset restores the map as it
 * was at power-on, which may or may not hold it.) */
static bool window_mapped_at(const struct virtio_pci *vp, uint32_t base)
{
    const struct mem_span *s = memmap_find(&vp->m->mem, base);
    return s && s->region->kind == MEM_MMIO && s->region->opaque == vp && s->region->base == base;
}

static void bar_moved(void *opaque, int bar, uint32_t old_base, uint32_t new_base)
{
    struct virtio_pci *vp = opaque;
    (void)old_base;
    if (bar != VIRTIO_PCI_BAR || new_base == PCI_BAR_UNMAPPED || window_mapped_at(vp, new_base))
        return;
    if (vp->region_base != PCI_BAR_UNMAPPED && window_mapped_at(vp, vp->region_base)) {
        fprintf(stderr, "plan86: virtio device %u: BAR moved from %#x to %#x, which the memory map cannot follow "
                "yet; the device is unreachable\n", vp->id.device_type, vp->region_base, new_base);
        return;
    }
    const char *why = machine_map_mmio(vp->m, new_base, VIRTIO_PCI_BAR_SIZE, bar_read, bar_write, vp);
    if (why)
        fprintf(stderr, "plan86: virtio device %u: cannot map its BAR at %#x: %s\n", vp->id.device_type, new_base, why);
    else
        vp->region_base = new_base;
}

/* ---- configuration space ---- */

static void put_capability(struct virtio_pci *vp, uint8_t at, uint8_t next, const struct window *w)
{
    struct pci_device *d = &vp->pci;
    bool notify = w->cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG;
    pci_set_raw(d, at, PCI_CAP_ID_VENDOR, 1);
    pci_set_raw(d, at + 1, next, 1);
    pci_set_raw(d, at + 2, notify ? NOTIFY_CAP_LEN : CAP_LEN, 1);
    pci_set_raw(d, at + 3, w->cfg_type, 1);
    pci_set_raw(d, at + 4, VIRTIO_PCI_BAR, 1);
    pci_set_raw(d, at + 8, w->offset, 4);
    pci_set_raw(d, at + 12, w->length(vp), 4);
    if (notify)
        pci_set_raw(d, at + 16, VIRTIO_PCI_NOTIFY_MULTIPLIER, 4);
}

static void build_config_space(struct virtio_pci *vp)
{
    struct pci_device *d = &vp->pci;
    pci_device_init(d, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vp->id.device_type),
                    vp->id.class_code, 1);
    pci_set_raw(d, PCI_SUBSYS_VENDOR, VIRTIO_PCI_VENDOR, 2);
    pci_set_raw(d, PCI_SUBSYS_ID, vp->id.device_type, 2);
    pci_device_add_bar(d, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, 0);
    pci_device_set_interrupt_pin(d, 1);
    pci_set_raw(d, PCI_STATUS, PCI_STATUS_CAP_LIST, 2);
    pci_set_raw(d, PCI_CAPABILITY_LIST, FIRST_CAP, 1);
    for (size_t k = 0; k < NUM_WINDOWS; k++) {
        uint8_t at = (uint8_t)(FIRST_CAP + k * CAP_STRIDE);
        uint8_t next = k + 1 < NUM_WINDOWS ? (uint8_t)(at + CAP_STRIDE) : 0;
        put_capability(vp, at, next, &windows[k]);
    }
    d->bar_moved = bar_moved;
    d->opaque = vp;
}

static void machine_reset_hook(void *opaque) { device_reset(opaque); }

const char *virtio_pci_attach(struct machine *m, struct virtio_pci *vp, struct pci_bus *bus, uint8_t devfn,
                              const struct virtio_pci_identity *id, const struct virtio_device_ops *ops,
                              void *dev)
{
    if (id->num_queues < 1 || id->num_queues > VIRTIO_PCI_MAX_QUEUES || id->config_size > WINDOW_SIZE ||
        id->queue_max_size == 0 || id->queue_max_size > VIRTQ_MAX_SIZE ||
        (id->queue_max_size & (id->queue_max_size - 1)))
        return "virtio device identity out of range";
    *vp = (struct virtio_pci){
        .m = m, .id = *id, .ops = ops, .dev = dev, .region_base = PCI_BAR_UNMAPPED,
        .offered = id->features | VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX,
    };
    build_config_space(vp);
    for (int k = 0; k < id->num_queues; k++)
        virtq_reset(&vp->queues[k].vq, m, id->queue_max_size);
    const char *why = pci_register_device(bus, devfn, &vp->pci);
    return why ? why : machine_add_reset_hook(m, machine_reset_hook, vp);
}
