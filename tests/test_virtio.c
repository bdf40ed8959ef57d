/* test_virtio.c — Check tests for the virtio-pci transport, the split
 * virtqueue and the virtio-9p device glue (virtio/).
 *
 * A bare machine gets the PCI bus, the PIIX3 (PIRQ routing) and a virtio-9p
 * function; BIOS-style resource assignment places its BAR and names its
 * IRQ. The test then plays the Linux driver: it walks the capability list
 * through ports 0xCF8/0xCFC, negotiates features and sets up the queue
 * through the BAR's MMIO, writes descriptor tables and rings into guest RAM
 * and kicks the notify register. A small handler answers Tversion, at once
 * or later (to complete out of order). Malformed chains must put the device
 * in DEVICE_NEEDS_RESET without touching memory outside RAM (run under ASan).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bios/le.h"
#include "bios/pci_assign.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "machine/machine.h"
#include "virtio/virtio_9p.h"

#define RAM_SIZE (4u << 20)
#define DEVFN PCI_DEVFN(3, 0)
#define QSIZE 16
#define DESC 0x10000u
#define AVAIL 0x11000u
#define USED 0x12000u
#define IND 0x13000u
#define BUF 0x40000u              /* request/reply buffers, 0x1000 apart */
#define MAX_PENDING 16
#define P9_TVERSION 100
#define P9_RVERSION 101
#define P9_RLERROR 7
#define TVERSION_LEN 21

/* ---- the test handler: a 9p server that knows Tversion ---- */

struct test_handler {
    bool deferred;                /* keep tokens for the test to complete */
    int submits, resets;
    uint32_t tokens[MAX_PENDING];
    uint8_t frames[MAX_PENDING][64];
    int npending;
    size_t last_len;
};

struct rig {
    struct machine *m;
    struct pci_bus pci;
    struct piix3 piix;
    struct virtio_9p dev;
    struct test_handler h;
    uint32_t common, isr, devcfg, notify, notify_mul;
    int irq;
    uint16_t avail_idx;
};

/* Rversion for Tversion (msize capped at 8192), Rlerror EOPNOTSUPP otherwise. */
static size_t answer(const uint8_t *req, size_t len, uint8_t *reply)
{
    uint16_t tag = len >= 7 ? le_get16(req + 5) : 0xFFFF;
    if (len >= TVERSION_LEN && req[4] == P9_TVERSION) {
        uint32_t msize = le_get32(req + 7);
        le_put32(reply, TVERSION_LEN);
        reply[4] = P9_RVERSION;
        le_put16(reply + 5, tag);
        le_put32(reply + 7, msize < 8192 ? msize : 8192);
        le_put16(reply + 11, 8);
        memcpy(reply + 13, "9P2000.L", 8);
        return TVERSION_LEN;
    }
    le_put32(reply, 11);
    reply[4] = P9_RLERROR;
    le_put16(reply + 5, tag);
    le_put32(reply + 7, 95);
    return 11;
}

static struct rig *rig_of(void *ctx) { return ctx; }

static void handler_submit(void *ctx, const uint8_t *req, size_t len, uint32_t token)
{
    struct rig *r = rig_of(ctx);
    r->h.submits++;
    r->h.last_len = len;
    if (r->h.deferred) {
        ck_assert_int_lt(r->h.npending, MAX_PENDING);
        r->h.tokens[r->h.npending] = token;
        memcpy(r->h.frames[r->h.npending], req, len < 64 ? len : 64);
        r->h.npending++;
        return;
    }
    uint8_t reply[64];
    size_t n = answer(req, len, reply);
    ck_assert(virtio_9p_complete(&r->dev, token, reply, n));
}

static void handler_reset(void *ctx) { rig_of(ctx)->h.resets++; }

static const struct virtio_9p_handler test_handler_ops = { handler_submit, handler_reset };

/* Answers the pending request k (deferred mode). */
static bool complete_pending(struct rig *r, int k)
{
    uint8_t reply[64];
    size_t n = answer(r->h.frames[k], TVERSION_LEN, reply);
    return virtio_9p_complete(&r->dev, r->h.tokens[k], reply, n);
}

/* ---- bus access as the guest does it ---- */

static uint32_t cfg_read(struct rig *r, uint8_t off, int size)
{
    portbus_write(&r->m->io, 0xCF8, 0x80000000u | (uint32_t)DEVFN << 8 | (off & 0xFCu), 4);
    return portbus_read(&r->m->io, (uint16_t)(0xCFC + (off & 3)), size);
}

static void cfg_write(struct rig *r, uint8_t off, uint32_t val, int size)
{
    portbus_write(&r->m->io, 0xCF8, 0x80000000u | (uint32_t)DEVFN << 8 | (off & 0xFCu), 4);
    portbus_write(&r->m->io, (uint16_t)(0xCFC + (off & 3)), val, size);
}

static uint32_t rd(struct rig *r, uint32_t addr, int size) { return memmap_read(&r->m->mem, addr, size); }
static void wr(struct rig *r, uint32_t addr, uint32_t val, int size) { memmap_write(&r->m->mem, addr, val, size); }

static uint8_t status(struct rig *r) { return (uint8_t)rd(r, r->common + 0x14, 1); }
static void set_status(struct rig *r, uint8_t s) { wr(r, r->common + 0x14, s, 1); }
static uint8_t read_isr(struct rig *r) { return (uint8_t)rd(r, r->isr, 1); }

static void ram_put(struct rig *r, uint32_t addr, uint64_t v, int bytes) { le_put(r->m->ram + addr, v, bytes); }
static uint64_t ram_get(struct rig *r, uint32_t addr, int bytes) { return le_get(r->m->ram + addr, bytes); }

/* ---- discovery: the capability list ---- */

static void find_structures(struct rig *r)
{
    uint32_t bar = cfg_read(r, PCI_BAR0, 4) & ~0xFu;
    int found = 0;
    for (uint8_t at = (uint8_t)cfg_read(r, 0x34, 1); at; at = (uint8_t)cfg_read(r, at + 1, 1)) {
        ck_assert_uint_eq(cfg_read(r, at, 1), 0x09);
        uint8_t type = (uint8_t)cfg_read(r, at + 3, 1);
        ck_assert_uint_eq(cfg_read(r, at + 4, 1), 0);        /* BAR 0 */
        uint32_t addr = bar + cfg_read(r, at + 8, 4);
        uint32_t *slot[] = { NULL, &r->common, &r->notify, &r->isr, &r->devcfg };
        ck_assert(type >= 1 && type <= 4);
        *slot[type] = addr;
        if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
            ck_assert_uint_eq(cfg_read(r, at + 2, 1), 20);
            r->notify_mul = cfg_read(r, at + 16, 4);
        }
        found++;
    }
    ck_assert_int_eq(found, 4);
}

static struct rig *rig_new(const char *tag)
{
    struct rig *r = calloc(1, sizeof *r);
    char err[160];
    r->m = machine_new_bare(RAM_SIZE, true, 1, err, sizeof err);
    ck_assert_msg(r->m != NULL, "%s", err);
    ck_assert_ptr_null(pci_bus_attach(r->m, &r->pci));
    ck_assert_ptr_null(piix3_attach(r->m, &r->piix, &r->pci));
    ck_assert_ptr_null(virtio_9p_attach(r->m, &r->dev, &r->pci, DEVFN, tag, &test_handler_ops, r));
    ck_assert_ptr_null(pci_assign_resources(&r->pci, PCI_ASSIGN_MEM_BASE));
    r->irq = (int)cfg_read(r, PCI_INTERRUPT_LINE, 1);
    find_structures(r);
    return r;
}

static void rig_free(struct rig *r)
{
    virtio_9p_free(&r->dev);
    machine_free(r->m);
    free(r);
}

/* ---- the driver ---- */

static uint64_t device_features(struct rig *r)
{
    wr(r, r->common + 0x00, 0, 4);
    uint64_t lo = rd(r, r->common + 0x04, 4);
    wr(r, r->common + 0x00, 1, 4);
    return lo | (uint64_t)rd(r, r->common + 0x04, 4) << 32;
}

static bool negotiate(struct rig *r, uint64_t features)
{
    set_status(r, 0);
    set_status(r, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(r, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(r, r->common + 0x08, 0, 4);
    wr(r, r->common + 0x0C, (uint32_t)features, 4);
    wr(r, r->common + 0x08, 1, 4);
    wr(r, r->common + 0x0C, (uint32_t)(features >> 32), 4);
    set_status(r, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return status(r) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct rig *r)
{
    wr(r, r->common + 0x16, 0, 2);
    ck_assert_uint_eq(rd(r, r->common + 0x18, 2), VIRTIO_9P_QUEUE_SIZE);
    wr(r, r->common + 0x18, QSIZE, 2);                       /* the driver picks a smaller ring */
    wr(r, r->common + 0x20, DESC, 4);
    wr(r, r->common + 0x24, 0, 4);
    wr(r, r->common + 0x28, AVAIL, 4);
    wr(r, r->common + 0x2C, 0, 4);
    wr(r, r->common + 0x30, USED, 4);
    wr(r, r->common + 0x34, 0, 4);
    wr(r, r->common + 0x1C, 1, 2);
    ck_assert_uint_eq(rd(r, r->common + 0x1C, 2), 1);
}

static void driver_up(struct rig *r, uint64_t features)
{
    memset(r->m->ram + DESC, 0, 0x3000);
    r->avail_idx = 0;
    ck_assert(negotiate(r, features));
    setup_queue(r);
    set_status(r, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK);
    ck_assert_uint_eq(status(r) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

#define ALL_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX | VIRTIO_9P_MOUNT_TAG)

static void put_desc(struct rig *r, uint32_t table, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint32_t at = table + 16u * (uint32_t)i;
    ram_put(r, at, addr, 8);
    ram_put(r, at + 8, len, 4);
    ram_put(r, at + 12, flags, 2);
    ram_put(r, at + 14, next, 2);
}

static void put_tversion(struct rig *r, uint32_t addr, uint16_t tag)
{
    uint8_t *p = r->m->ram + addr;
    le_put32(p, TVERSION_LEN);
    p[4] = P9_TVERSION;
    le_put16(p + 5, tag);
    le_put32(p + 7, 65536);
    le_put16(p + 11, 8);
    memcpy(p + 13, "9P2000.L", 8);
}

static void kick(struct rig *r, uint16_t head)
{
    ram_put(r, AVAIL + 4 + 2u * (r->avail_idx % QSIZE), head, 2);
    r->avail_idx++;
    ram_put(r, AVAIL + 2, r->avail_idx, 2);
    wr(r, r->notify + 0 * r->notify_mul, 0, 2);
}

/* A two-descriptor request at head: Tversion in, 64-byte reply buffer out. */
static void post_direct(struct rig *r, uint16_t head, uint32_t buf)
{
    put_tversion(r, buf, head);
    memset(r->m->ram + buf + 0x800, 0, 64);
    put_desc(r, DESC, head, buf, TVERSION_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
    put_desc(r, DESC, head + 1, buf + 0x800, 64, VIRTQ_DESC_F_WRITE, 0);
    kick(r, head);
}

static uint16_t used_idx(struct rig *r) { return (uint16_t)ram_get(r, USED + 2, 2); }
static uint32_t used_id(struct rig *r, int n) { return (uint32_t)ram_get(r, USED + 4 + 8u * (uint32_t)n, 4); }
static uint32_t used_len(struct rig *r, int n) { return (uint32_t)ram_get(r, USED + 8 + 8u * (uint32_t)n, 4); }

static void assert_rversion(struct rig *r, uint32_t addr, uint16_t tag)
{
    const uint8_t *p = r->m->ram + addr;
    ck_assert_uint_eq(le_get32(p), TVERSION_LEN);
    ck_assert_uint_eq(p[4], P9_RVERSION);
    ck_assert_uint_eq(le_get16(p + 5), tag);
    ck_assert_uint_eq(le_get32(p + 7), 8192);
    ck_assert(memcmp(p + 13, "9P2000.L", 8) == 0);
}

/* ---- identity and negotiation ---- */

START_TEST(config_space_identity)
{
    struct rig *r = rig_new(NULL);
    ck_assert_uint_eq(cfg_read(r, 0x00, 2), 0x1AF4);
    ck_assert_uint_eq(cfg_read(r, 0x02, 2), 0x1049);
    ck_assert_uint_ge(cfg_read(r, 0x08, 1), 1);
    ck_assert_uint_eq(cfg_read(r, 0x2C, 2), 0x1AF4);
    ck_assert_uint_eq(cfg_read(r, 0x2E, 2), 9);
    ck_assert_uint_eq(cfg_read(r, 0x06, 2) & 0x10, 0x10);
    ck_assert_uint_eq(cfg_read(r, PCI_INTERRUPT_PIN, 1), 1);
    ck_assert_uint_eq(r->notify_mul, VIRTIO_PCI_NOTIFY_MULTIPLIER);
    ck_assert_int_eq(r->irq, pci_assign_pirq_irq(pci_pin_to_pirq(DEVFN, 1)));
    uint32_t bar = cfg_read(r, PCI_BAR0, 4);
    cfg_write(r, PCI_BAR0, 0xFFFFFFFF, 4);
    ck_assert_uint_eq(cfg_read(r, PCI_BAR0, 4), 0xFFFFC000);
    cfg_write(r, PCI_BAR0, bar, 4);
    ck_assert_uint_eq(rd(r, r->common + 0x12, 2), 1);        /* num_queues */
    rig_free(r);
}
END_TEST

START_TEST(feature_negotiation_and_tag)
{
    struct rig *r = rig_new(NULL);
    uint64_t offered = device_features(r);
    ck_assert_uint_eq(offered & ALL_FEATURES, ALL_FEATURES);
    ck_assert(!negotiate(r, VIRTIO_9P_MOUNT_TAG));                       /* no VERSION_1 */
    ck_assert(!negotiate(r, VIRTIO_F_VERSION_1 | (1ull << 40)));          /* not offered */
    ck_assert(negotiate(r, VIRTIO_F_VERSION_1 | VIRTIO_9P_MOUNT_TAG));
    ck_assert_uint_eq(rd(r, r->devcfg, 2), 6);
    char tag[7] = { 0 };
    for (int k = 0; k < 6; k++)
        tag[k] = (char)rd(r, r->devcfg + 2 + (uint32_t)k, 1);
    ck_assert_str_eq(tag, "host9p");
    ck_assert_uint_eq(rd(r, r->devcfg + 6, 2), '9' | 'p' << 8);
    ck_assert_uint_eq(rd(r, r->devcfg + 8, 2), 0);                       /* beyond the config */
    rig_free(r);

    r = rig_new("rootfs");
    ck_assert_uint_eq(rd(r, r->devcfg, 4), 6u | 'r' << 16 | 'o' << 24);
    rig_free(r);
}
END_TEST

/* ---- requests ---- */

START_TEST(tversion_direct_with_intx)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    ck_assert(!irq_level(&r->m->irq, r->irq));
    ram_put(r, AVAIL + 4 + 2 * QSIZE, 0, 2);                  /* used_event 0: interrupt on the first */
    post_direct(r, 0, BUF);
    ck_assert_int_eq(r->h.submits, 1);
    ck_assert_uint_eq(r->h.last_len, TVERSION_LEN);
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(used_id(r, 0), 0);
    ck_assert_uint_eq(used_len(r, 0), TVERSION_LEN);
    assert_rversion(r, BUF + 0x800, 0);
    ck_assert(irq_level(&r->m->irq, r->irq));
    ck_assert_uint_eq(read_isr(r), VIRTIO_ISR_QUEUE);
    ck_assert(!irq_level(&r->m->irq, r->irq));
    ck_assert_uint_eq(read_isr(r), 0);
    rig_free(r);
}
END_TEST

START_TEST(tversion_indirect)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    put_tversion(r, BUF, 7);
    /* readable part split 5 + 16 bytes, reply split 4 + 60 bytes */
    put_desc(r, IND, 0, BUF, 5, VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, IND, 1, BUF + 5, 16, VIRTQ_DESC_F_NEXT, 2);
    put_desc(r, IND, 2, BUF + 0x800, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    put_desc(r, IND, 3, BUF + 0x804, 60, VIRTQ_DESC_F_WRITE, 0);
    put_desc(r, DESC, 3, IND, 4 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 3);
    ck_assert_int_eq(r->h.submits, 1);
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(used_id(r, 0), 3);
    ck_assert_uint_eq(used_len(r, 0), TVERSION_LEN);
    assert_rversion(r, BUF + 0x800, 7);
    /* a direct descriptor followed by an indirect table is allowed too */
    put_tversion(r, BUF + 0x1000, 8);
    put_desc(r, IND, 0, BUF + 0x1800, 64, VIRTQ_DESC_F_WRITE, 0);
    put_desc(r, DESC, 5, BUF + 0x1000, TVERSION_LEN, VIRTQ_DESC_F_NEXT, 6);
    put_desc(r, DESC, 6, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 5);
    ck_assert_uint_eq(used_idx(r), 2);
    assert_rversion(r, BUF + 0x1800, 8);
    ck_assert_uint_eq(status(r) & VIRTIO_STATUS_NEEDS_RESET, 0);
    rig_free(r);
}
END_TEST

START_TEST(out_of_order_completion)
{
    struct rig *r = rig_new(NULL);
    r->h.deferred = true;
    driver_up(r, ALL_FEATURES);
    post_direct(r, 0, BUF);
    post_direct(r, 2, BUF + 0x1000);
    ck_assert_int_eq(r->h.npending, 2);
    ck_assert_uint_eq(used_idx(r), 0);
    ck_assert(complete_pending(r, 1));                       /* the second one first */
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(used_id(r, 0), 2);
    assert_rversion(r, BUF + 0x1800, 2);
    post_direct(r, 4, BUF + 0x2000);                         /* new work while the first waits */
    ck_assert_int_eq(r->h.npending, 3);
    ck_assert(complete_pending(r, 2));
    ck_assert(complete_pending(r, 0));
    ck_assert_uint_eq(used_idx(r), 3);
    ck_assert_uint_eq(used_id(r, 1), 4);
    ck_assert_uint_eq(used_id(r, 2), 0);
    assert_rversion(r, BUF + 0x800, 0);
    assert_rversion(r, BUF + 0x2800, 4);
    ck_assert(!complete_pending(r, 0));                      /* answered already */
    ck_assert(!virtio_9p_complete(&r->dev, 0xDEAD0001u, NULL, 0));
    ck_assert_uint_eq(used_idx(r), 3);
    rig_free(r);
}
END_TEST

START_TEST(event_idx_suppression)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    ram_put(r, AVAIL + 4 + 2 * QSIZE, 1, 2);                  /* used_event = 1 */
    post_direct(r, 0, BUF);
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(read_isr(r), 0);                        /* not yet past used_event */
    ck_assert_uint_eq(ram_get(r, USED + 4 + 8 * QSIZE, 2), 1);   /* avail_event: notify at entry 1 */
    post_direct(r, 2, BUF + 0x1000);
    ck_assert_uint_eq(used_idx(r), 2);
    ck_assert_uint_eq(read_isr(r), VIRTIO_ISR_QUEUE);
    ck_assert_uint_eq(ram_get(r, USED + 4 + 8 * QSIZE, 2), 2);
    rig_free(r);
}
END_TEST

START_TEST(no_interrupt_flag_without_event_idx)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, VIRTIO_F_VERSION_1 | VIRTIO_9P_MOUNT_TAG | VIRTIO_F_RING_INDIRECT_DESC);
    ram_put(r, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT, 2);
    post_direct(r, 0, BUF);
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(read_isr(r), 0);
    ck_assert_uint_eq(ram_get(r, USED + 4 + 8 * QSIZE, 2), 0);   /* no avail_event without EVENT_IDX */
    ram_put(r, AVAIL, 0, 2);
    post_direct(r, 2, BUF + 0x1000);
    ck_assert_uint_eq(read_isr(r), VIRTIO_ISR_QUEUE);
    rig_free(r);
}
END_TEST

START_TEST(reset_forgets_requests_in_flight)
{
    struct rig *r = rig_new(NULL);
    r->h.deferred = true;
    driver_up(r, ALL_FEATURES);
    int resets = r->h.resets;
    post_direct(r, 0, BUF);
    set_status(r, 0);
    ck_assert_uint_eq(status(r), 0);
    ck_assert_int_eq(r->h.resets, resets + 1);
    ck_assert(!complete_pending(r, 0));                       /* stale token */
    ck_assert_uint_eq(used_idx(r), 0);
    ck_assert_uint_eq(ram_get(r, BUF + 0x800, 4), 0);        /* nothing written */
    r->h.deferred = false;
    driver_up(r, ALL_FEATURES);
    post_direct(r, 0, BUF);
    ck_assert_uint_eq(used_idx(r), 1);
    rig_free(r);
}
END_TEST

START_TEST(oversized_request_completes_empty)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    put_desc(r, DESC, 0, 0x100000, VIRTIO_9P_MAX_FRAME + 1, VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, DESC, 1, BUF + 0x800, 64, VIRTQ_DESC_F_WRITE, 0);
    kick(r, 0);
    ck_assert_int_eq(r->h.submits, 0);
    ck_assert_uint_eq(used_idx(r), 1);
    ck_assert_uint_eq(used_len(r, 0), 0);
    ck_assert_uint_eq(status(r) & VIRTIO_STATUS_NEEDS_RESET, 0);
    rig_free(r);
}
END_TEST

/* ---- malformed chains: each must break the device, never the emulator ---- */

static void chain_loop(struct rig *r)
{
    put_desc(r, DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, DESC, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    kick(r, 0);
}

static void buffer_beyond_ram(struct rig *r)
{
    put_desc(r, DESC, 0, RAM_SIZE + 0x1000, 16, 0, 0);
    kick(r, 0);
}

static void buffer_above_4g(struct rig *r)
{
    put_desc(r, DESC, 0, (1ull << 32) | BUF, 16, 0, 0);
    kick(r, 0);
}

static void length_wraps(struct rig *r)
{
    put_desc(r, DESC, 0, RAM_SIZE - 8, 0xFFFFFFF0u, 0, 0);
    kick(r, 0);
}

static void writable_length_wraps(struct rig *r)
{
    put_desc(r, DESC, 0, BUF, TVERSION_LEN, VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, DESC, 1, RAM_SIZE - 8, 0xFFFFFFF0u, VIRTQ_DESC_F_WRITE, 0);
    kick(r, 0);
}

static void indirect_in_indirect(struct rig *r)
{
    put_desc(r, IND, 0, IND + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(r, DESC, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void indirect_table_too_long(struct rig *r)
{
    put_desc(r, DESC, 0, IND, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void chain_too_long(struct rig *r)
{
    for (int k = 0; k < VIRTQ_MAX_SEGS; k++)
        put_desc(r, IND, k, BUF, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(k + 1));
    put_desc(r, IND, VIRTQ_MAX_SEGS - 1, BUF, 1, 0, 0);
    put_desc(r, DESC, 0, BUF, 1, VIRTQ_DESC_F_NEXT, 1);     /* one direct + 1024 indirect */
    put_desc(r, DESC, 1, IND, 16 * VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void indirect_loop(struct rig *r)
{
    put_desc(r, IND, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, IND, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    put_desc(r, DESC, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void indirect_with_next(struct rig *r)
{
    put_desc(r, DESC, 0, IND, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    kick(r, 0);
}

static void indirect_odd_length(struct rig *r)
{
    put_desc(r, DESC, 0, IND, 24, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void indirect_table_beyond_ram(struct rig *r)
{
    put_desc(r, DESC, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
}

static void readable_after_writable(struct rig *r)
{
    put_desc(r, DESC, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    put_desc(r, DESC, 1, BUF, 8, 0, 0);
    kick(r, 0);
}

static void next_beyond_table(struct rig *r)
{
    put_desc(r, DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSIZE);
    kick(r, 0);
}

static void head_beyond_table(struct rig *r) { kick(r, 200); }

static void avail_index_jumps(struct rig *r)
{
    put_desc(r, DESC, 0, BUF, 8, 0, 0);
    ram_put(r, AVAIL + 2, QSIZE + 1, 2);
    wr(r, r->notify, 0, 2);
}

static void head_reused_in_flight(struct rig *r)
{
    r->h.deferred = true;
    post_direct(r, 0, BUF);
    kick(r, 0);
}

static const struct malformed {
    const char *name;
    void (*post)(struct rig *r);
} malformed_cases[] = {
    { "loop", chain_loop },
    { "buffer beyond RAM", buffer_beyond_ram },
    { "buffer above 4 GiB", buffer_above_4g },
    { "length wraps", length_wraps },
    { "writable length wraps", writable_length_wraps },
    { "indirect inside indirect", indirect_in_indirect },
    { "indirect table too long", indirect_table_too_long },
    { "chain too long", chain_too_long },
    { "loop in an indirect table", indirect_loop },
    { "indirect with NEXT", indirect_with_next },
    { "indirect length not whole descriptors", indirect_odd_length },
    { "indirect table beyond RAM", indirect_table_beyond_ram },
    { "readable after writable", readable_after_writable },
    { "next beyond the table", next_beyond_table },
    { "head beyond the table", head_beyond_table },
    { "avail index runs ahead", avail_index_jumps },
    { "head reused while in flight", head_reused_in_flight },
};
#define NUM_MALFORMED ((int)(sizeof malformed_cases / sizeof malformed_cases[0]))

START_TEST(malformed_chain_needs_reset)
{
    const struct malformed *c = &malformed_cases[_i];
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    int submits = r->h.submits;
    c->post(r);
    ck_assert_msg(status(r) & VIRTIO_STATUS_NEEDS_RESET, "%s: device not broken", c->name);
    ck_assert_msg(r->h.submits == submits + (c->post == head_reused_in_flight), "%s: request submitted", c->name);
    ck_assert_uint_eq(read_isr(r) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
    /* broken: a good request is ignored until the driver resets */
    r->h.deferred = false;
    post_direct(r, 4, BUF + 0x2000);
    ck_assert_int_eq(r->h.submits, submits + (c->post == head_reused_in_flight));
    driver_up(r, ALL_FEATURES);
    post_direct(r, 0, BUF);
    ck_assert_uint_eq(used_idx(r), 1);
    assert_rversion(r, BUF + 0x800, 0);
    rig_free(r);
}
END_TEST

START_TEST(bad_ring_layout_needs_reset)
{
    struct rig *r = rig_new(NULL);
    ck_assert(negotiate(r, ALL_FEATURES));
    wr(r, r->common + 0x16, 0, 2);
    wr(r, r->common + 0x20, RAM_SIZE - 0x10, 4);              /* table runs past RAM */
    wr(r, r->common + 0x28, AVAIL, 4);
    wr(r, r->common + 0x30, USED, 4);
    wr(r, r->common + 0x1C, 1, 2);
    ck_assert(status(r) & VIRTIO_STATUS_NEEDS_RESET);
    ck_assert_ptr_nonnull(r->dev.vp.broken_reason);
    set_status(r, 0);
    ck_assert_ptr_null(r->dev.vp.broken_reason);
    ck_assert(negotiate(r, ALL_FEATURES));
    wr(r, r->common + 0x18, 3, 2);                            /* not a power of two */
    wr(r, r->common + 0x20, DESC, 4);
    wr(r, r->common + 0x1C, 1, 2);
    ck_assert(status(r) & VIRTIO_STATUS_NEEDS_RESET);
    rig_free(r);
}
END_TEST

START_TEST(indirect_needs_the_feature)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, VIRTIO_F_VERSION_1 | VIRTIO_9P_MOUNT_TAG);
    put_desc(r, DESC, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
    kick(r, 0);
    ck_assert(status(r) & VIRTIO_STATUS_NEEDS_RESET);
    rig_free(r);
}
END_TEST

START_TEST(unmapped_bar_and_hostile_mmio)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    for (uint32_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 1) {   /* every byte, every size */
        (void)rd(r, r->common - VIRTIO_PCI_COMMON_OFFSET + off, 1 << (off % 3));
        if (off % VIRTIO_PCI_NOTIFY_MULTIPLIER == 0 && (off & 0xFFF) >= 0x40)
            wr(r, r->common + off, 0xFFFFFFFF, 4);
    }
    cfg_write(r, PCI_COMMAND, 0, 2);                          /* memory decoding off */
    ck_assert_uint_eq(rd(r, r->common + 0x12, 2), 0);
    wr(r, r->common + 0x14, 0, 1);                            /* ignored */
    cfg_write(r, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    ck_assert_uint_eq(rd(r, r->common + 0x12, 2), 1);
    ck_assert_uint_ne(status(r), 0);
    rig_free(r);
}
END_TEST

START_TEST(machine_reset_resets_the_device)
{
    struct rig *r = rig_new(NULL);
    driver_up(r, ALL_FEATURES);
    int resets = r->h.resets;
    machine_reset(r->m);
    ck_assert_int_eq(r->h.resets, resets + 1);
    ck_assert_ptr_null(pci_assign_resources(&r->pci, PCI_ASSIGN_MEM_BASE));   /* firmware again */
    ck_assert_uint_eq(status(r), 0);
    driver_up(r, ALL_FEATURES);
    post_direct(r, 0, BUF);
    ck_assert_uint_eq(used_idx(r), 1);
    rig_free(r);
}
END_TEST

static Suite *virtio_suite(void)
{
    Suite *s = suite_create("virtio");
    TCase *tc = tcase_create("virtio-9p");
    tcase_add_test(tc, config_space_identity);
    tcase_add_test(tc, feature_negotiation_and_tag);
    tcase_add_test(tc, tversion_direct_with_intx);
    tcase_add_test(tc, tversion_indirect);
    tcase_add_test(tc, out_of_order_completion);
    tcase_add_test(tc, event_idx_suppression);
    tcase_add_test(tc, no_interrupt_flag_without_event_idx);
    tcase_add_test(tc, reset_forgets_requests_in_flight);
    tcase_add_test(tc, oversized_request_completes_empty);
    tcase_add_loop_test(tc, malformed_chain_needs_reset, 0, NUM_MALFORMED);
    tcase_add_test(tc, bad_ring_layout_needs_reset);
    tcase_add_test(tc, indirect_needs_the_feature);
    tcase_add_test(tc, unmapped_bar_and_hostile_mmio);
    tcase_add_test(tc, machine_reset_resets_the_device);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(virtio_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
