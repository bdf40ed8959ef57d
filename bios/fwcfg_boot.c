/* fwcfg_boot.c — fw_cfg contents for a firmware boot (see fwcfg_boot.h). */
#include "fwcfg_boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "e820.h"
#include "le.h"
#include "linuxboot.h"
#include "optionrom_linuxboot.h"

#define ROM_FILE "genroms/plan86-linuxboot.bin"
#define MIN_PROTOCOL 0x206u
#define PROTOCOL_INIT_SIZE 0x20Au        /* init_size is valid from 2.10 on */
#define DEFAULT_SETUP_SECTS 4u
#define SECTOR 512u
#define PAGE_MASK 0xFFFu
#define BOOT_FLAG 0xAA55u
#define LOADER_UNDECLARED 0xFFu
#define HEAP_END (OPTIONROM_LINUXBOOT_HEAP_SPAN - 0x200u)   /* heap_end_ptr: below the stack */

_Static_assert(FWCFG_BOOT_CMDLINE_ADDR - FWCFG_BOOT_SETUP_ADDR == OPTIONROM_LINUXBOOT_HEAP_SPAN,
               "the option ROM puts the setup stack top where the command line starts");

static bool fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static bool added(const char *why, char *err, size_t err_size)
{
    return !why || fail(err, err_size, "fw_cfg: %s", why);
}

/* Reads a whole file of at most `limit` bytes into a new buffer. */
static uint8_t *read_file(const char *path, const char *what, uint32_t limit, uint32_t *len,
                          char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, err_size, "cannot open %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || (unsigned long)size > limit)
        fail(err, err_size, "%s %s is too big for guest RAM (or unreadable)", what, path);
    else if (fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc(size ? (size_t)size : 1)))
        fail(err, err_size, "cannot read %s %s", what, path);
    else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fail(err, err_size, "cannot read %s %s", what, path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (uint32_t)size : 0;
    return buf;
}

/* ---- the bzImage ---- */

struct bzimage {
    uint8_t *file;
    uint32_t file_size, setup_size;
    uint64_t footprint_end;    /* the kernel's extent above 1 MiB, decompressed */
};

static bool check_header(const struct bzimage *k, const char *path, char *err, size_t err_size)
{
    const uint8_t *h = k->file;
    if (k->file_size < BP_SETUP_HEADER_LIMIT || le_get16(h + BP_BOOT_FLAG) != BOOT_FLAG ||
        memcmp(h + BP_HEADER, "HdrS", 4))
        return fail(err, err_size, "kernel %s is not a bzImage (no Linux boot header \"HdrS\")", path);
    uint16_t version = le_get16(h + BP_VERSION);
    if (version < MIN_PROTOCOL)
        return fail(err, err_size, "kernel %s uses boot protocol %u.%02u; plan86 needs 2.06 or newer",
                    path, version >> 8, version & 0xFF);
    if (!(h[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
        return fail(err, err_size, "kernel %s is not a bzImage (a zImage loads below 1 MiB)", path);
    return true;
}

static bool size_kernel(struct bzimage *k, const char *path, char *err, size_t err_size)
{
    const uint8_t *h = k->file;
    uint32_t sects = h[BP_SETUP_SECTS] ? h[BP_SETUP_SECTS] : DEFAULT_SETUP_SECTS;
    k->setup_size = (sects + 1) * SECTOR;
    if (k->file_size <= k->setup_size)
        return fail(err, err_size, "kernel %s is truncated after its setup code", path);
    uint64_t extent = k->file_size - k->setup_size;
    if (le_get16(h + BP_VERSION) >= PROTOCOL_INIT_SIZE && le_get32(h + BP_INIT_SIZE) > extent)
        extent = le_get32(h + BP_INIT_SIZE);
    k->footprint_end = FWCFG_BOOT_KERNEL_ADDR + extent;
    return true;
}

/* The highest page-aligned address that keeps the initrd below both
 * initrd_addr_max and the firmware's top-of-RAM tables, and above the kernel. */
static bool place_initrd(const struct bzimage *k, uint32_t ram_size, uint32_t size, uint32_t *addr,
                         const char *path, char *err, size_t err_size)
{
    uint64_t top = (uint64_t)le_get32(k->file + BP_INITRD_ADDR_MAX) + 1;
    uint64_t usable = ram_size - FWCFG_BOOT_FIRMWARE_TOP_RESERVE;
    if (top > usable)
        top = usable;
    if (size > top || ((top - size) & ~(uint64_t)PAGE_MASK) < k->footprint_end)
        return fail(err, err_size, "initrd %s (%u KiB) does not fit between the kernel and the top of RAM; "
                    "give the machine more memory", path, size >> 10);
    *addr = (uint32_t)((top - size) & ~(uint64_t)PAGE_MASK);
    return true;
}

/* What a boot loader writes into the setup header before the setup runs
 * (add_initrd writes the initrd's place). */
static void patch_setup_header(uint8_t *setup)
{
    setup[BP_TYPE_OF_LOADER] = LOADER_UNDECLARED;
    setup[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
    le_put16(setup + BP_HEAP_END_PTR, HEAP_END);
    le_put32(setup + BP_CMD_LINE_PTR, FWCFG_BOOT_CMDLINE_ADDR);
}

/* One blob: its address, size and contents under the three keys. */
static bool add_blob(struct fw_cfg *f, const uint16_t keys[3], uint32_t addr, const void *data, uint32_t len,
                     char *err, size_t err_size)
{
    return added(fw_cfg_add_u32(f, keys[0], addr), err, err_size) &&
           added(fw_cfg_add_u32(f, keys[1], len), err, err_size) &&
           added(fw_cfg_add_item(f, keys[2], data, len), err, err_size);
}

static const uint16_t setup_keys[3] = { FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA };
static const uint16_t kernel_keys[3] = { FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA };
static const uint16_t initrd_keys[3] = { FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA };
static const uint16_t cmdline_keys[3] = { FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA };

static bool add_cmdline(struct fw_cfg *f, const struct bzimage *k, const char *cmdline, char *err, size_t err_size)
{
    size_t len = strlen(cmdline) + 1;
    uint32_t max = le_get32(k->file + BP_CMDLINE_SIZE) + 1;
    if (len > max || len > LINUXBOOT_CMDLINE_MAX)
        return fail(err, err_size, "kernel command line is %zu bytes; the kernel takes at most %u",
                    len - 1, max - 1);
    return add_blob(f, cmdline_keys, FWCFG_BOOT_CMDLINE_ADDR, cmdline, (uint32_t)len, err, err_size);
}

static bool add_initrd(struct fw_cfg *f, const struct bzimage *k, uint32_t ram_size, const char *path,
                       uint8_t *setup, char *err, size_t err_size)
{
    uint32_t size = 0, addr = 0;
    uint8_t *data = path ? read_file(path, "initrd", ram_size, &size, err, err_size) : NULL;
    bool ok = !path || (data && place_initrd(k, ram_size, size, &addr, path, err, err_size) &&
                        add_blob(f, initrd_keys, addr, data, size, err, err_size));
    free(data);
    le_put32(setup + BP_RAMDISK_IMAGE, addr);
    le_put32(setup + BP_RAMDISK_SIZE, size);
    return ok;
}

static bool add_rom_and_bootorder(struct fw_cfg *f, char *err, size_t err_size)
{
    static const char bootorder[] = "/rom@" ROM_FILE;
    uint8_t rom[OPTIONROM_LINUXBOOT_SIZE];
    optionrom_linuxboot_build(rom);
    return added(fw_cfg_add_file(f, ROM_FILE, rom, sizeof rom), err, err_size) &&
           added(fw_cfg_add_file(f, "bootorder", bootorder, sizeof bootorder), err, err_size);
}

static bool add_kernel(struct fw_cfg *f, uint32_t ram_size, const struct fwcfg_boot_linux *kernel,
                       char *err, size_t err_size)
{
    struct bzimage k = { 0 };
    k.file = read_file(kernel->kernel_path, "kernel", ram_size, &k.file_size, err, err_size);
    bool ok = k.file && check_header(&k, kernel->kernel_path, err, err_size) &&
              size_kernel(&k, kernel->kernel_path, err, err_size);
    if (ok && k.footprint_end > ram_size - FWCFG_BOOT_FIRMWARE_TOP_RESERVE)
        ok = fail(err, err_size, "kernel %s needs %llu MiB of RAM; give the machine more memory",
                  kernel->kernel_path, (unsigned long long)(k.footprint_end >> 20) + 2);
    const char *cmdline = kernel->cmdline ? kernel->cmdline : "";
    ok = ok && add_initrd(f, &k, ram_size, kernel->initrd_path, k.file, err, err_size) &&
         add_cmdline(f, &k, cmdline, err, err_size);
    if (ok) {
        patch_setup_header(k.file);
        ok = add_blob(f, setup_keys, FWCFG_BOOT_SETUP_ADDR, k.file, k.setup_size, err, err_size) &&
             add_blob(f, kernel_keys, FWCFG_BOOT_KERNEL_ADDR, k.file + k.setup_size,
                      k.file_size - k.setup_size, err, err_size) &&
             add_rom_and_bootorder(f, err, err_size);
    }
    free(k.file);
    return ok;
}

static bool add_e820(struct fw_cfg *f, uint32_t ram_size, char *err, size_t err_size)
{
    struct e820_table t = { .count = 0 };
    e820_add(&t, 0, ram_size, E820_RAM);
    uint8_t records[E820_RECORD_SIZE];
    size_t len = e820_encode(&t, records, sizeof records);
    return added(fw_cfg_add_file(f, "etc/e820", records, (uint32_t)len), err, err_size);
}

bool fwcfg_boot_setup(struct fw_cfg *f, uint32_t ram_size, const struct fwcfg_boot_linux *kernel,
                      char *err, size_t err_size)
{
    return add_e820(f, ram_size, err, err_size) &&
           added(fw_cfg_add_u16(f, FW_CFG_NOGRAPHIC, 1), err, err_size) &&
           (!kernel || add_kernel(f, ram_size, kernel, err, err_size));
}
