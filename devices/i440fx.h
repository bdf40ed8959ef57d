/* i440fx.h — the Intel 440FX host bridge (8086:1237) at 00:00.0.
 *
 * Promises: a PCI function whose PAM registers (0x59-0x5F) choose, for each
 * of the 13 shadow segments of 0xC0000-0xFFFFF (segment 0: the 64 KiB BIOS
 * segment at 0xF0000, PAM0 bits 4-5; segments 1-12: 16 KiB each from 0xC0000
 * up, a nibble each of PAM1-PAM6), whether reads and writes reach RAM or the ROM/PCI
 * side. The board applies each choice through the shadow hook given at
 * attach (it owns the memory map and drops the CPU's TLB); the hook hears
 * every segment at attach and reset, then only segments whose choice changed.
 */
#ifndef PLAN86_I440FX_H
#define PLAN86_I440FX_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

#define I440FX_PAM_SEGMENTS 13
#define I440FX_PAM0 0x59

/* Segment [base, base+size): reads from RAM (else ROM/PCI), writes to RAM
 * (else dropped/PCI). */
typedef void (*i440fx_shadow_fn)(void *opaque, uint32_t base, uint32_t size, bool read_ram, bool write_ram);

struct i440fx {
    struct pci_device pci;
    i440fx_shadow_fn shadow;
    void *shadow_opaque;
    uint8_t applied[I440FX_PAM_SEGMENTS];   /* bit 0 read RAM, bit 1 write RAM */
};

const char *i440fx_attach(struct machine *m, struct i440fx *h, struct pci_bus *bus,
                          i440fx_shadow_fn shadow, void *shadow_opaque);
/* Segment k's window and its current PAM choice (bit 0 RE, bit 1 WE). */
void i440fx_segment(int k, uint32_t *base, uint32_t *size);
uint8_t i440fx_pam_mode(const struct i440fx *h, int k);

#endif
