/* acpi_pm.h — the ACPI power-management hardware contract, in one place.
 *
 * Promises: the values the firmware tables (bios/acpi.c) advertise and the
 * chipset's PIIX4-style PM function (devices/) implements are the same
 * constants: the PM I/O base (PMBASE 0xB000, the value SeaBIOS programs
 * into a PIIX4, so BIOS and direct boot see one machine), the register
 * blocks inside it, the SCI line, and the SLP_TYP value that means S5
 * (soft off). PIIX4's SUS_TYP encoding is 0 = soft off, which is also what
 * QEMU's PIIX4 and its DSDT use.
 */
#ifndef PLAN86_ACPI_PM_H
#define PLAN86_ACPI_PM_H

#define ACPI_PM_BASE 0xB000u
#define ACPI_PM1_EVT_OFFSET 0x0u      /* PM1_STS (2 bytes), PM1_EN (2 bytes) */
#define ACPI_PM1_EVT_LEN 4u
#define ACPI_PM1_CNT_OFFSET 0x4u      /* PM1_CNT: SCI_EN bit 0, SLP_TYP bits 10-12, SLP_EN bit 13 */
#define ACPI_PM1_CNT_LEN 2u
#define ACPI_PM_TMR_OFFSET 0x8u       /* 24-bit, 3.579545 MHz */
#define ACPI_PM_TMR_LEN 4u
#define ACPI_PM_IO_SIZE 0x40u         /* the PIIX4 PM I/O window */

#define ACPI_SCI_IRQ 9u
/* The APM control port of the PIIX: writing ACPI_SMI_ENABLE sets SCI_EN. */
#define ACPI_SMI_CMD_PORT 0xB2u
#define ACPI_SMI_ENABLE 0xF1u
#define ACPI_SMI_DISABLE 0xF0u
#define ACPI_SLP_TYP_S5 0u
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10u
#define ACPI_PM1_CNT_SLP_EN (1u << 13)

#endif
