/* fw_cfg.c — QEMU-compatible firmware configuration device (see fw_cfg.h). */
#include "fw_cfg.h"

#include <stdlib.h>
#include <string.h>

#include "machine/machine.h"
#include "machine/snapshot.h"

#define DIR_ENTRY_SIZE (4 + 2 + 2 + FW_CFG_FILE_NAME)
#define DMA_CONTROL_BLOCK 16
#define DMA_SIGNATURE_HIGH 0x51454D55u   /* "QEMU" as a big-endian dword */
#define DMA_SIGNATURE_LOW 0x20434647u    /* " CFG" */

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int k = 0; k < bytes; k++)
        p[k] = (uint8_t)(v >> (8 * (bytes - 1 - k)));
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v = v << 8 | p[k];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int k = 0; k < bytes; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

/* ---- items ---- */

const char *fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
    if (key >= FW_CFG_KEYS)
        return "fw_cfg key out of range";
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return "out of memory for an fw_cfg item";
    if (len)
        memcpy(copy, data, len);
    free(f->items[key].data);
    f->items[key] = (struct fw_cfg_item){ copy, len };
    return NULL;
}

static const char *add_le(struct fw_cfg *f, uint16_t key, uint64_t v, int bytes)
{
    uint8_t buf[8];
    put_le(buf, v, bytes);
    return fw_cfg_add_item(f, key, buf, (uint32_t)bytes);
}

const char *fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v) { return add_le(f, key, v, 2); }
const char *fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v) { return add_le(f, key, v, 4); }
const char *fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v) { return add_le(f, key, v, 8); }

/* The directory: big-endian file count, then size, key, reserved, name. */
static const char *rebuild_directory(struct fw_cfg *f, const char *const *names)
{
    uint32_t len = 4 + (uint32_t)f->nfiles * DIR_ENTRY_SIZE;
    uint8_t *dir = calloc(1, len);
    if (!dir)
        return "out of memory for the fw_cfg directory";
    put_be(dir, (uint64_t)f->nfiles, 4);
    for (int k = 0; k < f->nfiles; k++) {
        uint8_t *e = dir + 4 + k * DIR_ENTRY_SIZE;
        put_be(e, f->items[FW_CFG_FILE_FIRST + k].len, 4);
        put_be(e + 4, (uint64_t)(FW_CFG_FILE_FIRST + k), 2);
        memcpy(e + 8, names[k], strlen(names[k]));
    }
    const char *why = fw_cfg_add_item(f, FW_CFG_FILE_DIR, dir, len);
    free(dir);
    return why;
}

const char *fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len)
{
    if (f->nfiles == FW_CFG_MAX_FILES)
        return "too many fw_cfg files";
    if (!name || !*name || strlen(name) >= FW_CFG_FILE_NAME)
        return "fw_cfg file name is empty or longer than 55 bytes";
    const char *names[FW_CFG_MAX_FILES];
    const struct fw_cfg_item *dir = &f->items[FW_CFG_FILE_DIR];
    for (int k = 0; k < f->nfiles; k++) {
        const char *existing = (const char *)dir->data + 4 + k * DIR_ENTRY_SIZE + 8;
        if (!strcmp(existing, name))
            return "an fw_cfg file of that name already exists";
        names[k] = existing;
    }
    names[f->nfiles] = name;
    const char *why = fw_cfg_add_item(f, (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles), data, len);
    if (why)
        return why;
    f->nfiles++;
    /* names[] points into the old directory: rebuild before it is freed. */
    uint8_t *old = f->items[FW_CFG_FILE_DIR].data;
    f->items[FW_CFG_FILE_DIR].data = NULL;
    why = rebuild_directory(f, names);
    free(old);
    return why;
}

/* ---- the selected item ---- */

static void select_item(struct fw_cfg *f, uint16_t key)
{
    f->selector = key;
    f->offset = 0;
}

static const struct fw_cfg_item *selected(const struct fw_cfg *f)
{
    return f->selector < FW_CFG_KEYS ? &f->items[f->selector] : NULL;
}

static uint8_t next_byte(struct fw_cfg *f)
{
    const struct fw_cfg_item *it = selected(f);
    if (!it || f->offset >= it->len)
        return 0;
    return it->data[f->offset++];
}

/* ---- ports ---- */

static uint32_t sel_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0;
}

static void sel_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    (void)size;
    select_item(opaque, (uint16_t)val);
}

static uint32_t data_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= (uint32_t)next_byte(opaque) << (8 * k);
    return v;
}

static void data_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)opaque;
    (void)port;
    (void)val;
    (void)size;
}

/* ---- DMA ---- */

/* Copies guest RAM; false when any byte lies outside it. */
static bool guest_read(const struct machine *m, uint64_t paddr, void *dst, uint32_t len)
{
    if (paddr > m->ram_size || len > m->ram_size - paddr)
        return false;
    memcpy(dst, m->ram + paddr, len);
    return true;
}

static bool guest_fits(const struct machine *m, uint64_t paddr, uint32_t len)
{
    return paddr <= m->ram_size && len <= m->ram_size - paddr;
}

/* Moves up to len bytes of the item into guest RAM at addr (zeros past its end). */
static bool dma_read_into(struct fw_cfg *f, uint64_t addr, uint32_t len)
{
    if (!guest_fits(f->m, addr, len))
        return false;
    uint8_t chunk[512];
    while (len) {
        uint32_t n = len < sizeof chunk ? len : (uint32_t)sizeof chunk;
        for (uint32_t k = 0; k < n; k++)
            chunk[k] = next_byte(f);
        machine_phys_write(f->m, (uint32_t)addr, chunk, n);
        addr += n;
        len -= n;
    }
    return true;
}

static void dma_skip(struct fw_cfg *f, uint32_t len)
{
    const struct fw_cfg_item *it = selected(f);
    uint32_t avail = it && f->offset < it->len ? it->len - f->offset : 0;
    f->offset += len < avail ? len : avail;
}

static uint32_t dma_transfer(struct fw_cfg *f, uint32_t control, uint32_t len, uint64_t addr)
{
    if (control & FW_CFG_DMA_SELECT)
        select_item(f, (uint16_t)(control >> 16));
    if (control & FW_CFG_DMA_WRITE)
        return FW_CFG_DMA_ERROR;
    if (control & FW_CFG_DMA_READ)
        return dma_read_into(f, addr, len) ? 0 : FW_CFG_DMA_ERROR;
    if (control & FW_CFG_DMA_SKIP)
        dma_skip(f, len);
    return 0;
}

static void dma_start(struct fw_cfg *f, uint64_t block_addr)
{
    uint8_t block[DMA_CONTROL_BLOCK];
    if (!guest_read(f->m, block_addr, block, sizeof block))
        return;
    uint32_t control = (uint32_t)get_be(block, 4);
    uint32_t status = dma_transfer(f, control, (uint32_t)get_be(block + 4, 4), get_be(block + 8, 8));
    uint8_t done[4];
    put_be(done, status, 4);
    machine_phys_write(f->m, (uint32_t)block_addr, done, sizeof done);
}

static uint32_t be32_swap(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

static uint32_t dma_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    uint8_t sig[8];
    put_be(sig, (uint64_t)DMA_SIGNATURE_HIGH << 32 | DMA_SIGNATURE_LOW, 8);
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= (uint32_t)sig[port - FW_CFG_PORT_DMA + k] << (8 * k);
    return v;
}

/* The guest writes the big-endian address with outl, so each dword arrives
 * byte-swapped; only whole dwords count. */
static void dma_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct fw_cfg *f = opaque;
    if (size != 4)
        return;
    if (port == FW_CFG_PORT_DMA)
        f->dma_high = be32_swap(val);
    else if (port == FW_CFG_PORT_DMA + 4)
        dma_start(f, (uint64_t)f->dma_high << 32 | be32_swap(val));
}

/* ---- assembly ---- */

static const char *add_fixed_items(struct fw_cfg *f)
{
    static const uint8_t uuid[16];
    const char *why = fw_cfg_add_item(f, FW_CFG_SIGNATURE, "QEMU", 4);
    if (!why) why = fw_cfg_add_u32(f, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
    if (!why) why = fw_cfg_add_item(f, FW_CFG_UUID, uuid, sizeof uuid);
    if (!why) why = fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, f->m->ram_size);
    if (!why) why = fw_cfg_add_u16(f, FW_CFG_NB_CPUS, 1);
    if (!why) why = fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, 1);
    if (!why) why = rebuild_directory(f, NULL);
    return why;
}

static void fw_cfg_reset(void *opaque)
{
    struct fw_cfg *f = opaque;
    select_item(f, FW_CFG_SIGNATURE);
    f->dma_high = 0;
}

const char *fw_cfg_attach(struct machine *m, struct fw_cfg *f)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    const char *why = add_fixed_items(f);
    if (!why) why = machine_register_ports(m, FW_CFG_PORT_SEL, 1, PORT_SIZE_16 | PORT_SIZE_8, sel_read, sel_write, f);
    if (!why) why = machine_register_ports(m, FW_CFG_PORT_DATA, 1, PORT_SIZE_8, data_read, data_write, f);
    if (!why) why = machine_register_ports(m, FW_CFG_PORT_DMA, 8, PORT_SIZE_ALL, dma_read, dma_write, f);
    if (!why) why = machine_add_reset_hook(m, fw_cfg_reset, f);
    return why;
}

void fw_cfg_free(struct fw_cfg *f)
{
    for (int k = 0; k < FW_CFG_KEYS; k++) {
        free(f->items[k].data);
        f->items[k] = (struct fw_cfg_item){ NULL, 0 };
    }
}

void fw_cfg_save(const struct fw_cfg *f, struct snap_writer *w)
{
    snap_put_u16(w, f->selector);
    snap_put_u32(w, f->offset);
    snap_put_u32(w, f->dma_high);
}

bool fw_cfg_load(struct fw_cfg *f, struct snap_reader *r)
{
    uint16_t sel = snap_get_u16(r);
    uint32_t offset = snap_get_u32(r), high = snap_get_u32(r);
    if (!snap_ok(r))
        return false;
    select_item(f, sel);
    const struct fw_cfg_item *it = selected(f);
    if (offset > (it ? it->len : 0)) {
        snap_fail(r, "fw_cfg: read offset beyond the selected item");
        return false;
    }
    f->offset = offset;
    f->dma_high = high;
    return true;
}
