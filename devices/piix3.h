/* piix3.h — the PIIX3 PCI-to-ISA bridge (8086:7000, 00:01.0) with its PIRQ
 * router, and the PIIX4-style ACPI power management function (8086:7113,
 * 00:01.3).
 *
 * Promises:
 * - PIRQA-D route registers 0x60-0x63 (bit 7 disables, bits 0-3 the ISA IRQ;
 *   IRQs 0-2, 8 and 13 count as disabled) feed the PCI bus's INTx routing.
 * - The PM function decodes 64 I/O ports at PMBASE (config 0x40, bits 6-15)
 *   while PMREGMISC (config 0x80) bit 0 is set: PM1_STS (write 1 to clear),
 *   PM1_EN, PM1_CNT, the 24-bit PM timer at +8 counting at 3.579545 MHz from
 *   the virtual clock, GPSTS/GPEN. The SCI is ISA IRQ 9, high while an enabled
 *   status bit (timer overflow, global, power button, RTC) is set. Writing
 *   PM1_CNT with SLP_EN and SLP_TYP = 0 (the S5 value our DSDT names) powers
 *   the machine off: the run stops with PLAN86_STOP_POWEROFF.
 * - APM control port 0xB2: 0xF1 sets SCI_EN, 0xF0 clears it (ACPI enable and
 *   disable through SMI_CMD).
 * The port window is claimed the first time the guest enables it; the port
 * bus cannot release ports yet, so a later move to another base leaves the
 * window at its first base (disabled) until the board can unclaim ports.
 */
#ifndef PLAN86_PIIX3_H
#define PLAN86_PIIX3_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/scheduler.h"
#include "pci.h"

#define PIIX3_PIRQ_ROUTE 0x60
#define PIIX_PM_BASE_REG 0x40
#define PIIX_PM_MISC_REG 0x80
#define PIIX_PM_IO_SIZE 64
#define PIIX_PM_SCI_IRQ 9
#define PIIX_PM_TIMER_HZ 3579545u

enum {
    PM1_STS = 0x00, PM1_EN = 0x02, PM1_CNT = 0x04, PM_TMR = 0x08, PM_GPSTS = 0x0C, PM_GPEN = 0x0E,
};
enum {
    PM1_TMR = 1u << 0, PM1_GBL = 1u << 5, PM1_PWRBTN = 1u << 8, PM1_RTC = 1u << 10, PM1_WAK = 1u << 15,
};
enum { PM1_CNT_SCI_EN = 1u << 0, PM1_CNT_SLP_EN = 1u << 13 };
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM_SLP_TYP_S5 0

struct piix3 {
    struct machine *m;
    struct pci_device isa;       /* 00:01.0 */
    struct pci_device pm;        /* 00:01.3 */
    struct timer tmr_overflow;   /* armed while TMR_EN: next flip of timer bit 23 */
    uint16_t pm1_sts, pm1_en, pm1_cnt, gpsts, gpen;
    uint64_t tmr_epoch;          /* timer ticks >> 23 when last checked */
    uint32_t pm_io_claimed;      /* base of the claimed window, 0 = none */
    bool sci_level;
};

const char *piix3_attach(struct machine *m, struct piix3 *p, struct pci_bus *bus);
/* ISA IRQ a PIRQ (0..3) reaches, or -1. */
int piix3_pirq_irq(const struct piix3 *p, int pirq);
/* The PM timer's count now (24 bits). */
uint32_t piix3_pm_timer(const struct piix3 *p);
/* The frontend's power button: sets PWRBTN_STS (an SCI when enabled). */
void piix3_power_button(struct piix3 *p);

void piix3_save(const struct piix3 *p, struct snap_writer *w);
bool piix3_load(struct piix3 *p, struct snap_reader *r);

#endif
