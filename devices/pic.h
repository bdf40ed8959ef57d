/* pic.h — the PC's pair of 8259A interrupt controllers (master at 0x20/0x21,
 * slave at 0xA0/0xA1 cascaded on master IR2) and the PIIX edge/level control
 * registers (ELCR, ports 0x4D0/0x4D1).
 *
 * Promises: once attached, the pair is the board's interrupt controller: IRQ
 * lines 0..15 reach it (line 2 is the cascade and lines above 15 belong to
 * an APIC, both ignored), it drives INTR and answers the CPU's acknowledge
 * with a vector. Modelled: ICW1-4 (vector base from ICW2, single mode, auto-
 * EOI, special fully nested mode), OCW1 masks, OCW2 (non-specific, specific
 * and rotating EOIs, rotate in auto-EOI mode, set priority), OCW3 (IRR/ISR
 * read, poll, special mask mode). Triggering follows the ELCR, as on PIIX
 * (ICW1's LTIM bit is ignored); IRQ 0, 1, 2, 8 and 13 are always edge. An
 * edge is latched in IRR until acknowledged; a level request lasts while the
 * line is high. An acknowledge with nothing to deliver gets the spurious
 * vector (IR7 of the master, or of the slave when the master chose IR2),
 * with no in-service bit set. Reset: both chips uninitialised, nothing
 * masked, vector bases 0, every line edge-triggered.
 */
#ifndef PLAN86_PIC_H
#define PLAN86_PIC_H

#include <stdbool.h>
#include <stdint.h>

struct machine;
struct snap_writer;
struct snap_reader;

#define PIC_MASTER_PORT 0x20
#define PIC_SLAVE_PORT 0xA0
#define PIC_ELCR_PORT 0x4D0
#define PIC_CASCADE_IR 2

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t inputs;           /* IR input levels as last reported */
    uint8_t elcr;             /* bit set: IR is level-triggered */
    uint8_t vector_base;      /* ICW2, low 3 bits clear */
    uint8_t priority_base;    /* the IR with the highest priority */
    uint8_t init_step;        /* 0: operational, else the ICW (2..4) expected next */
    bool icw4_expected;
    bool single;              /* ICW1 SNGL: no ICW3 */
    bool auto_eoi;
    bool rotate_on_auto_eoi;
    bool special_fully_nested;
    bool special_mask;
    bool read_isr;            /* OCW3: the command port reads ISR, else IRR */
    bool poll;                /* OCW3: the next read is a poll */
};

struct pic {
    struct machine *m;
    struct pic_chip chip[2];  /* master, slave */
};

/* Claims the ports, installs the pair as the board's interrupt controller
 * (do it before any device raises a line) and registers a reset hook. */
const char *pic_attach(struct machine *m, struct pic *p);

void pic_save(const struct pic *p, struct snap_writer *w);
/* Validates everything before changing the device; then drives INTR. */
bool pic_load(struct pic *p, struct snap_reader *r);

#endif
