/* optionrom_linuxboot.h — plan86's own Linux boot option ROM for firmware boot.
 *
 * Promises: optionrom_linuxboot_build fills a 512-byte legacy option ROM
 * (0x55AA, one block, checksummed) with a PnP header whose Boot Entry Vector
 * a BIOS (SeaBIOS, given it as fw_cfg file "genroms/...") lists as a boot
 * device. Booted, it copies the kernel's real-mode setup, the protected-mode
 * kernel, the initrd and the command line from the standard fw_cfg items
 * (FW_CFG_{SETUP,KERNEL,INITRD,CMDLINE}_{ADDR,SIZE,DATA}) into RAM with fw_cfg
 * DMA, then enters the setup code as the x86 boot protocol asks: interrupts
 * off, DS=ES=FS=GS=SS = setup address >> 4, SP = 0xFFF0, a far jump to
 * (setup segment + 0x20):0. The setup header it copies must already say
 * where the command line and initrd are (fwcfg_boot.c patches it), and the
 * command line must sit OPTIONROM_LINUXBOOT_HEAP_SPAN bytes above the setup
 * code, the top of the real-mode stack and heap. A failed DMA transfer
 * gives INT 18h (boot failure: the BIOS goes on to its next boot device).
 */
#ifndef PLAN86_OPTIONROM_LINUXBOOT_H
#define PLAN86_OPTIONROM_LINUXBOOT_H

#include <stdint.h>

#define OPTIONROM_LINUXBOOT_SIZE 512
/* Setup code to command line: the real-mode segment the kernel's setup gets. */
#define OPTIONROM_LINUXBOOT_HEAP_SPAN 0x10000u

void optionrom_linuxboot_build(uint8_t rom[OPTIONROM_LINUXBOOT_SIZE]);

#endif
