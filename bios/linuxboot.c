/* linuxboot.c — direct Linux boot through the 32-bit boot protocol (see
 * linuxboot.h). Field meanings follow Documentation/arch/x86/boot.rst. */
#include "linuxboot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acpi.h"
#include "cpu/cpu.h"
#include "e820.h"
#include "le.h"
#include "machine/machine.h"

#define MIN_PROTOCOL 0x206u
#define PROTOCOL_WITH_INIT_SIZE 0x20Au
#define DEFAULT_SETUP_SECTS 4u          /* a setup_sects of 0 means 4 */
#define SECTOR 512u
#define BOOT_FLAG 0xAA55u
#define LOADER_UNDECLARED 0xFFu         /* type_of_loader: a loader without an ID */
#define HEAP_END 0xFE00u                /* the setup heap ends 512 bytes below 64 KiB */
#define DEFAULT_INITRD_ADDR_MAX 0x37FFFFFFu
#define PAGE_MASK 0xFFFu
#define COPY_CHUNK (256u * 1024u)
#define MIB (1024u * 1024u)

/* GDT: null, unused, __BOOT_CS flat 4 GiB code, __BOOT_DS flat 4 GiB data
 * (accessed bits preset so the CPU never writes them back). */
static const uint8_t boot_gdt[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x9B, 0xCF, 0x00,   /* 0x10: exec/read, D=1, G=1 */
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x93, 0xCF, 0x00,   /* 0x18: read/write, B=1, G=1 */
};
#define FLAT_CODE_ATTR 0xC09Bu
#define FLAT_DATA_ATTR 0xC093u

/* What the loader learns from the kernel's setup header. */
struct bzimage {
    FILE *f;
    const char *path;
    uint64_t file_size;
    uint16_t version;
    uint32_t setup_size;      /* bytes of real-mode setup before the kernel */
    uint64_t kernel_size;     /* protected-mode kernel bytes */
    uint64_t footprint_end;   /* end of the memory the kernel uses while booting */
    uint8_t params[BP_SIZE];  /* the zero page being built */
};

static bool fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err_size)
        vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static uint64_t round_up_mib(uint64_t bytes)
{
    return (bytes + MIB - 1) / MIB;
}

/* Opens a regular file and learns its size. */
static FILE *open_sized(const char *path, const char *what, uint64_t *size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        fail(err, err_size, "cannot open %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        fail(err, err_size, "%s %s is not a regular file", what, path);
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    return f;
}

/* Streams len bytes from offset in f into guest RAM at paddr. */
static bool copy_to_guest(struct machine *m, FILE *f, uint64_t offset, uint64_t len, uint32_t paddr,
                          const char *path, char *err, size_t err_size)
{
    uint8_t *buf = malloc(COPY_CHUNK);
    bool ok = buf && fseeko(f, (off_t)offset, SEEK_SET) == 0;
    while (ok && len) {
        size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
        ok = fread(buf, 1, n, f) == n && machine_phys_write(m, paddr, buf, n);
        paddr += (uint32_t)n;
        len -= n;
    }
    free(buf);
    return ok || fail(err, err_size, "cannot read %s into guest memory (file changed or I/O error)", path);
}

/* ---- the setup header ---- */

static bool check_magic(struct bzimage *k, const uint8_t *hdr, size_t got, char *err, size_t err_size)
{
    if (got < BP_VERSION + 2 || le_get16(hdr + BP_BOOT_FLAG) != BOOT_FLAG || memcmp(hdr + BP_HEADER, "HdrS", 4))
        return fail(err, err_size, "kernel %s is not a bzImage (no Linux boot header \"HdrS\")", k->path);
    k->version = le_get16(hdr + BP_VERSION);
    if (k->version < MIN_PROTOCOL)
        return fail(err, err_size, "kernel %s uses boot protocol %u.%02u; plan86 needs 2.06 or newer",
                    k->path, k->version >> 8, k->version & 0xFF);
    return true;
}

/* Copies the setup header (0x1F1 to 0x202 + the byte at 0x201) into the zero page. */
static bool copy_setup_header(struct bzimage *k, const uint8_t *hdr, size_t got, char *err, size_t err_size)
{
    size_t end = BP_HEADER + (size_t)hdr[BP_JUMP + 1];
    if (end > BP_SETUP_HEADER_LIMIT)
        end = BP_SETUP_HEADER_LIMIT;
    if (end > got)
        return fail(err, err_size, "kernel %s is truncated inside its setup header", k->path);
    memcpy(k->params + BP_SETUP_SECTS, hdr + BP_SETUP_SECTS, end - BP_SETUP_SECTS);
    if (!(k->params[BP_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
        return fail(err, err_size, "kernel %s is not a bzImage (a zImage loads below 1 MiB)", k->path);
    return true;
}

static bool size_kernel(struct bzimage *k, char *err, size_t err_size)
{
    uint32_t sects = k->params[BP_SETUP_SECTS] ? k->params[BP_SETUP_SECTS] : DEFAULT_SETUP_SECTS;
    k->setup_size = (sects + 1) * SECTOR;
    uint64_t promised = (uint64_t)le_get32(k->params + BP_SYSSIZE) * 16;
    if (k->file_size <= k->setup_size || k->file_size - k->setup_size < promised)
        return fail(err, err_size, "kernel %s is truncated: %llu bytes, its header promises %llu",
                    k->path, (unsigned long long)k->file_size,
                    (unsigned long long)(k->setup_size + promised));
    k->kernel_size = k->file_size - k->setup_size;
    return true;
}

/* Where the kernel decompresses itself: LOAD_PHYSICAL_ADDR (pref_address),
 * or above it when a relocatable kernel's alignment rounds 1 MiB higher. */
static uint64_t decompress_target(const struct bzimage *k)
{
    uint64_t target = le_get(k->params + BP_PREF_ADDRESS, 8);
    uint32_t align = le_get32(k->params + BP_KERNEL_ALIGNMENT);
    if (k->params[BP_RELOCATABLE] && align && !(align & (align - 1))) {
        uint64_t aligned = ((uint64_t)LINUXBOOT_KERNEL_ADDR + align - 1) & ~(uint64_t)(align - 1);
        if (aligned > target)
            target = aligned;
    }
    return target > LINUXBOOT_KERNEL_ADDR ? target : LINUXBOOT_KERNEL_ADDR;
}

/* The kernel as loaded, and (2.10+) the init_size bytes it decompresses into. */
static bool check_footprint(struct bzimage *k, uint32_t ram_size, char *err, size_t err_size)
{
    k->footprint_end = LINUXBOOT_KERNEL_ADDR + k->kernel_size;
    if (k->version >= PROTOCOL_WITH_INIT_SIZE) {
        uint64_t target = decompress_target(k);
        uint64_t end = target > UINT32_MAX ? UINT64_MAX : target + le_get32(k->params + BP_INIT_SIZE);
        if (end > k->footprint_end)
            k->footprint_end = end;
    }
    if (k->footprint_end > ram_size)
        return fail(err, err_size, "kernel %s needs %llu MiB of RAM to boot; the machine has %u MiB",
                    k->path, (unsigned long long)round_up_mib(k->footprint_end), ram_size / MIB);
    return true;
}

static bool load_kernel(struct machine *m, struct bzimage *k, char *err, size_t err_size)
{
    uint8_t hdr[BP_SETUP_HEADER_LIMIT] = { 0 };
    size_t got = fread(hdr, 1, sizeof hdr, k->f);
    return check_magic(k, hdr, got, err, err_size)
        && copy_setup_header(k, hdr, got, err, err_size)
        && size_kernel(k, err, err_size)
        && check_footprint(k, m->ram_size, err, err_size)
        && copy_to_guest(m, k->f, k->setup_size, k->kernel_size, LINUXBOOT_KERNEL_ADDR, k->path,
                         err, err_size);
}

/* ---- command line and initrd ---- */

static bool load_cmdline(struct machine *m, struct bzimage *k, const char *cmdline, char *err, size_t err_size)
{
    const char *text = cmdline ? cmdline : "";
    size_t len = strlen(text);
    uint32_t kernel_max = le_get32(k->params + BP_CMDLINE_SIZE);
    if (len > kernel_max || len >= LINUXBOOT_CMDLINE_MAX)
        return fail(err, err_size, "kernel command line is %zu bytes; this kernel accepts at most %u",
                    len, kernel_max < LINUXBOOT_CMDLINE_MAX - 1 ? kernel_max : LINUXBOOT_CMDLINE_MAX - 1);
    machine_phys_write(m, LINUXBOOT_CMDLINE_ADDR, text, len + 1);
    le_put32(k->params + BP_CMD_LINE_PTR, LINUXBOOT_CMDLINE_ADDR);
    return true;
}

/* The highest page-aligned address below min(initrd_addr_max + 1, RAM end)
 * that keeps the initrd clear of the kernel. */
static bool place_initrd(const struct bzimage *k, uint32_t ram_size, uint64_t size, uint32_t *addr,
                         const char *path, char *err, size_t err_size)
{
    uint64_t max = le_get32(k->params + BP_INITRD_ADDR_MAX);
    uint64_t top = (max ? max : DEFAULT_INITRD_ADDR_MAX) + 1;
    if (top > ram_size)
        top = ram_size;
    if (size > top || ((top - size) & ~(uint64_t)PAGE_MASK) < k->footprint_end)
        return fail(err, err_size, "initrd %s (%llu MiB) does not fit between the kernel (up to %llu MiB) "
                    "and %llu MiB; give the machine more memory",
                    path, (unsigned long long)round_up_mib(size),
                    (unsigned long long)round_up_mib(k->footprint_end), (unsigned long long)(top / MIB));
    *addr = (uint32_t)((top - size) & ~(uint64_t)PAGE_MASK);
    return true;
}

static bool load_initrd(struct machine *m, struct bzimage *k, const char *path, char *err, size_t err_size)
{
    uint64_t size = 0;
    uint32_t addr = 0;
    FILE *f = open_sized(path, "initrd", &size, err, err_size);
    if (!f)
        return false;
    bool ok = place_initrd(k, m->ram_size, size, &addr, path, err, err_size)
           && copy_to_guest(m, f, 0, size, addr, path, err, err_size);
    fclose(f);
    if (ok) {
        le_put32(k->params + BP_RAMDISK_IMAGE, addr);
        le_put32(k->params + BP_RAMDISK_SIZE, (uint32_t)size);
    }
    return ok;
}

/* ---- the zero page, firmware tables and the CPU ---- */

/* The PC map, plus any firmware ROM mapped above RAM (the high BIOS alias). */
static void fill_e820(struct machine *m, uint8_t *params)
{
    struct e820_table t;
    e820_build_pc(&t, m->ram_size);
    for (int k = 0; k < m->mem.nregions; k++) {
        const struct mem_region *r = &m->mem.regions[k];
        if (r->kind == MEM_ROM && r->base >= m->ram_size)
            e820_add(&t, r->base, r->size, E820_RESERVED);
    }
    e820_encode(&t, params + BP_E820_TABLE, BP_SIZE - BP_E820_TABLE);
    params[BP_E820_ENTRIES] = (uint8_t)t.count;
}

static bool install_acpi(struct machine *m, uint8_t *params, char *err, size_t err_size)
{
    struct acpi_tables *t = malloc(sizeof *t);
    bool ok = t && acpi_build(t, ACPI_TABLES_BASE)
           && machine_phys_write(m, t->base, t->bytes, t->size);
    if (ok)
        le_put64(params + BP_ACPI_RSDP_ADDR, t->rsdp_addr);
    free(t);
    return ok || fail(err, err_size, "cannot build the ACPI tables");
}

static void fill_loader_fields(struct machine *m, uint8_t *params)
{
    params[BP_TYPE_OF_LOADER] = LOADER_UNDECLARED;
    params[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
    le_put16(params + BP_HEAP_END_PTR, HEAP_END);
    le_put32(params + BP_CODE32_START, LINUXBOOT_KERNEL_ADDR);
    le_put32(params + BP_ALT_MEM_K, (m->ram_size - E820_HIGH_RAM_START) / 1024);
}

static void enter_32bit(struct cpu *c)
{
    static const enum cpu_sreg data_segs[] = { S_DS, S_ES, S_SS, S_FS, S_GS };
    cpu_set_gdt(c, LINUXBOOT_GDT_ADDR, sizeof boot_gdt - 1);
    cpu_set_idt(c, 0, 0);
    cpu_set_cr0(c, CR0_PE | CR0_ET);
    cpu_set_eflags(c, 0);
    cpu_set_seg_cache(c, S_CS, LINUXBOOT_BOOT_CS, 0, 0xFFFFFFFFu, FLAT_CODE_ATTR);
    for (size_t k = 0; k < sizeof data_segs / sizeof data_segs[0]; k++)
        cpu_set_seg_cache(c, data_segs[k], LINUXBOOT_BOOT_DS, 0, 0xFFFFFFFFu, FLAT_DATA_ATTR);
    for (int r = R_EAX; r < R_NONE; r++)
        cpu_set_reg(c, (enum cpu_reg)r, 0);
    cpu_set_reg(c, R_ESI, LINUXBOOT_PARAMS_ADDR);
    cpu_set_reg(c, R_ESP, LINUXBOOT_STACK_TOP);
    cpu_set_eip(c, LINUXBOOT_KERNEL_ADDR);
}

static bool boot_from(struct machine *m, struct bzimage *k, const char *initrd_path,
                      const char *cmdline, char *err, size_t err_size)
{
    if (!load_kernel(m, k, err, err_size) || !load_cmdline(m, k, cmdline, err, err_size))
        return false;
    if (initrd_path && !load_initrd(m, k, initrd_path, err, err_size))
        return false;
    fill_e820(m, k->params);
    if (!install_acpi(m, k->params, err, err_size))
        return false;
    fill_loader_fields(m, k->params);
    machine_phys_write(m, LINUXBOOT_PARAMS_ADDR, k->params, BP_SIZE);
    machine_phys_write(m, LINUXBOOT_GDT_ADDR, boot_gdt, sizeof boot_gdt);
    enter_32bit(m->cpu);
    return true;
}

bool linuxboot_setup(struct machine *m, const char *kernel_path, const char *initrd_path,
                     const char *cmdline, char *err, size_t err_size)
{
    struct bzimage *k = calloc(1, sizeof *k);
    if (!k)
        return fail(err, err_size, "out of memory loading kernel %s", kernel_path);
    k->path = kernel_path;
    k->f = open_sized(kernel_path, "kernel", &k->file_size, err, err_size);
    bool ok = k->f && boot_from(m, k, initrd_path, cmdline, err, err_size);
    if (k->f)
        fclose(k->f);
    free(k);
    return ok;
}
