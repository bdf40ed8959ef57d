/* fw_cfg.h — QEMU's firmware configuration device, as SeaBIOS and Linux's
 * qemu_fw_cfg driver know it.
 *
 * Promises: port 0x510 (16-bit) selects an item and rewinds it; port 0x511
 * reads the selected item byte by byte (0 past its end; writes ignored).
 * The DMA interface at 0x514 (big-endian 64-bit address of a control block,
 * the high half at 0x514 and the low half at 0x518, a write to the low half
 * starts the transfer; reads of 0x514 give "QEMU CFG" for detection) does
 * select, read, skip and (refused, as the items are read-only) write,
 * bounded by guest RAM; a bad request sets the error bit, never more.
 * Items: the signature "QEMU", the ID (traditional + DMA), UUID, RAM size,
 * nb_cpus, max_cpus and the file directory (FW_CFG_FILE_DIR, big-endian
 * count then 64-byte entries); the board adds items by key and named files.
 * Item contents are copied; they are board configuration, not saved state.
 */
#ifndef PLAN86_FW_CFG_H
#define PLAN86_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct snap_writer;
struct snap_reader;

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514

enum fw_cfg_key {
    FW_CFG_SIGNATURE = 0x00, FW_CFG_ID = 0x01, FW_CFG_UUID = 0x02, FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04, FW_CFG_NB_CPUS = 0x05, FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07, FW_CFG_KERNEL_SIZE = 0x08, FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0A, FW_CFG_INITRD_SIZE = 0x0B, FW_CFG_BOOT_DEVICE = 0x0C,
    FW_CFG_NUMA = 0x0D, FW_CFG_BOOT_MENU = 0x0E, FW_CFG_MAX_CPUS = 0x0F,
    FW_CFG_KERNEL_ENTRY = 0x10, FW_CFG_KERNEL_DATA = 0x11, FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13, FW_CFG_CMDLINE_SIZE = 0x14, FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16, FW_CFG_SETUP_SIZE = 0x17, FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19, FW_CFG_FILE_FIRST = 0x20,
};

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA 0x2
#define FW_CFG_MAX_FILES 64
#define FW_CFG_FILE_NAME 56
#define FW_CFG_KEYS (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)

enum { FW_CFG_DMA_ERROR = 0x01, FW_CFG_DMA_READ = 0x02, FW_CFG_DMA_SKIP = 0x04,
       FW_CFG_DMA_SELECT = 0x08, FW_CFG_DMA_WRITE = 0x10 };

struct fw_cfg_item {
    uint8_t *data;
    uint32_t len;
};

struct fw_cfg {
    struct machine *m;
    struct fw_cfg_item items[FW_CFG_KEYS];
    int nfiles;
    uint16_t selector;
    uint32_t offset;          /* read position in the selected item */
    uint32_t dma_high;        /* 0x514 as last written */
};

/* Claims the ports and fills the fixed items (RAM size = the machine's RAM). */
const char *fw_cfg_attach(struct machine *m, struct fw_cfg *f);
void fw_cfg_free(struct fw_cfg *f);
/* Sets (replaces) item `key` with a copy of data. NULL or why not. */
const char *fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);
const char *fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v);
const char *fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v);
const char *fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v);
/* Adds a named file (e.g. "etc/e820", "bootorder") at the next free key and
 * lists it in the file directory. NULL or why not. */
const char *fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len);

void fw_cfg_save(const struct fw_cfg *f, struct snap_writer *w);
bool fw_cfg_load(struct fw_cfg *f, struct snap_reader *r);

#endif
