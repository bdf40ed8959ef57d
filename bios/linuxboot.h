/* linuxboot.h — direct Linux boot without a BIOS (the x86 32-bit boot protocol).
 *
 * Promises: linuxboot_setup loads a bzImage (boot protocol 2.06 or newer)
 * into a freshly built machine and leaves the CPU at the kernel's 32-bit
 * entry exactly as Documentation/arch/x86/boot.rst asks: a zeroed
 * boot_params ("zero page") holding the kernel's setup header, the e820 map,
 * the command line and the initrd placement; the protected-mode kernel at
 * 1 MiB; the initrd page-aligned as high as the kernel allows; ACPI tables
 * (acpi.h) in reserved memory below 1 MiB; a GDT with flat __BOOT_CS (0x10)
 * and __BOOT_DS (0x18) loaded in CS and DS/ES/SS (and FS/GS), CR0.PE=1,
 * paging and interrupts off, ESI = boot_params, EBX = EBP = EDI = 0,
 * EIP = 1 MiB. Files of any size are streamed into guest RAM, never held
 * whole. A bad file gives false and one line in err (cannot open, not a
 * bzImage, protocol too old, truncated, too big for RAM, command line too
 * long); the machine may then be partly loaded and should be discarded.
 * It assumes no firmware is mapped over 0xF0000-0xFFFFF (the ACPI tables
 * are written to RAM there). PCI resources are the caller's to assign.
 */
#ifndef PLAN86_LINUXBOOT_H
#define PLAN86_LINUXBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

/* Where things go in guest physical memory. */
#define LINUXBOOT_GDT_ADDR 0x9000u
#define LINUXBOOT_PARAMS_ADDR 0x10000u     /* boot_params, 4 KiB */
#define LINUXBOOT_STACK_TOP LINUXBOOT_PARAMS_ADDR
#define LINUXBOOT_CMDLINE_ADDR 0x20000u
#define LINUXBOOT_CMDLINE_MAX 0x10000u     /* including the NUL */
#define LINUXBOOT_KERNEL_ADDR 0x100000u

/* Selectors the boot protocol fixes. */
#define LINUXBOOT_BOOT_CS 0x10u
#define LINUXBOOT_BOOT_DS 0x18u

/* boot_params offsets (arch/x86/include/uapi/asm/bootparam.h). */
enum {
    BP_ACPI_RSDP_ADDR = 0x070,   /* u64 */
    BP_ALT_MEM_K = 0x1E0,        /* u32 */
    BP_E820_ENTRIES = 0x1E8,     /* u8 */
    BP_SENTINEL = 0x1EF,         /* u8, must stay 0 */
    BP_SETUP_SECTS = 0x1F1,      /* u8; the setup header starts here */
    BP_SYSSIZE = 0x1F4,          /* u32, 16-byte units */
    BP_BOOT_FLAG = 0x1FE,        /* u16 0xAA55 */
    BP_JUMP = 0x200,             /* u16; header ends at 0x202 + byte at 0x201 */
    BP_HEADER = 0x202,           /* "HdrS" */
    BP_VERSION = 0x206,          /* u16 */
    BP_TYPE_OF_LOADER = 0x210,   /* u8 */
    BP_LOADFLAGS = 0x211,        /* u8 */
    BP_CODE32_START = 0x214,     /* u32 */
    BP_RAMDISK_IMAGE = 0x218,    /* u32 */
    BP_RAMDISK_SIZE = 0x21C,     /* u32 */
    BP_HEAP_END_PTR = 0x224,     /* u16 */
    BP_CMD_LINE_PTR = 0x228,     /* u32 */
    BP_INITRD_ADDR_MAX = 0x22C,  /* u32 */
    BP_KERNEL_ALIGNMENT = 0x230, /* u32 */
    BP_RELOCATABLE = 0x234,      /* u8 */
    BP_CMDLINE_SIZE = 0x238,     /* u32, 2.06+ */
    BP_PREF_ADDRESS = 0x258,     /* u64, 2.10+ */
    BP_INIT_SIZE = 0x260,        /* u32, 2.10+ */
    BP_SETUP_HEADER_LIMIT = 0x290,
    BP_E820_TABLE = 0x2D0,       /* 128 records of 20 bytes */
    BP_SIZE = 0x1000,
};

/* loadflags bits */
enum { LOADFLAG_LOADED_HIGH = 0x01, LOADFLAG_CAN_USE_HEAP = 0x80 };

bool linuxboot_setup(struct machine *m, const char *kernel_path, const char *initrd_path,
                     const char *cmdline, char *err, size_t err_size);

#endif
