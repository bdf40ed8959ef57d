/* fwcfg_boot.h — what a firmware image (SeaBIOS) finds in fw_cfg on plan86.
 *
 * Promises: fwcfg_boot_setup fills the board's fw_cfg the way QEMU does for
 * SeaBIOS: "etc/e820" (all RAM as one range; SeaBIOS reserves its own areas
 * and builds its own ACPI, SMBIOS and MP tables from the PCI devices it
 * finds, as no "etc/table-loader" is given) and NOGRAPHIC (there is no
 * display, so SeaBIOS mirrors its screen on COM1). Given a kernel, it also
 * hands Linux over as QEMU's -kernel does: the real-mode setup with its
 * header patched (command line, initrd, heap), the protected-mode kernel, the
 * initrd and the command line as the FW_CFG_{SETUP,KERNEL,INITRD,CMDLINE}_*
 * items, plan86's own boot option ROM (optionrom_linuxboot.h) as
 * "genroms/plan86-linuxboot.bin" and a "bootorder" naming it first. Items
 * are board configuration: they survive a reset, so the firmware boots the
 * kernel again. Call it once per board (the fw_cfg file names must be new).
 * A bad kernel or initrd gives false and one line in err.
 */
#ifndef PLAN86_FWCFG_BOOT_H
#define PLAN86_FWCFG_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fw_cfg;

/* Guest addresses of the blobs (QEMU's choices for a modern bzImage). */
#define FWCFG_BOOT_SETUP_ADDR 0x10000u
#define FWCFG_BOOT_CMDLINE_ADDR 0x20000u
#define FWCFG_BOOT_KERNEL_ADDR 0x100000u
/* RAM kept free at the top for the firmware's own tables (SeaBIOS's high zone). */
#define FWCFG_BOOT_FIRMWARE_TOP_RESERVE (1u << 20)

struct fwcfg_boot_linux {
    const char *kernel_path;
    const char *initrd_path;   /* NULL: none */
    const char *cmdline;       /* NULL: empty */
};

/* kernel may be NULL (firmware boot of whatever the firmware finds). */
bool fwcfg_boot_setup(struct fw_cfg *f, uint32_t ram_size, const struct fwcfg_boot_linux *kernel,
                      char *err, size_t err_size);

#endif
