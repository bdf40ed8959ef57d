/* irq.h — interrupt request lines and the interrupt controller hook.
 *
 * Promises: devices drive IRQ lines (raise, lower, pulse); the board keeps each
 * line's level and tells the installed controller about every change of level
 * (a pulse is a rising then a falling edge). The controller alone decides
 * what the CPU sees: it drives INTR and answers the acknowledge with a vector.
 * irq_basic is the stand-in controller until the 8259 PIC is installed in its
 * place: per line edge- or level-triggered, lowest line first, no masking.
 */
#ifndef PLAN86_IRQ_H
#define PLAN86_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define IRQ_LINES 24

struct irq_controller {
    void (*line_changed)(void *opaque, int line, bool level);
    uint8_t (*ack)(void *opaque);   /* vector of the interrupt the CPU takes */
};

struct irq_lines {
    uint32_t levels;
    const struct irq_controller *ctl;
    void *ctl_opaque;
};

void irq_lines_init(struct irq_lines *irq, const struct irq_controller *ctl, void *opaque);
/* Lines outside 0..IRQ_LINES-1 are ignored. */
void irq_set_level(struct irq_lines *irq, int line, bool level);
void irq_raise(struct irq_lines *irq, int line);
void irq_lower(struct irq_lines *irq, int line);
void irq_pulse(struct irq_lines *irq, int line);
bool irq_level(const struct irq_lines *irq, int line);
uint8_t irq_acknowledge(struct irq_lines *irq);

/* ---- the stand-in controller ---- */
enum irq_trigger { IRQ_EDGE, IRQ_LEVEL };
typedef void (*intr_line_fn)(void *opaque, bool level);

struct irq_basic {
    uint32_t level_mode;    /* bit set: line is level-triggered */
    uint32_t levels;        /* line levels as last reported */
    uint32_t latched;       /* edge lines: rising edges not yet acknowledged */
    uint8_t vector_base;    /* line n -> vector_base + n */
    intr_line_fn set_intr;
    void *intr_opaque;
};

extern const struct irq_controller irq_basic_controller;
/* All lines start edge-triggered. */
void irq_basic_init(struct irq_basic *b, uint8_t vector_base, intr_line_fn set_intr, void *opaque);
void irq_basic_set_trigger(struct irq_basic *b, int line, enum irq_trigger trigger);
/* Machine reset: forgets edges not yet acknowledged (levels still count). */
void irq_basic_reset(struct irq_basic *b);
/* The vector an acknowledge gets when nothing is pending (as the 8259's IRQ 7). */
static inline uint8_t irq_basic_spurious_vector(const struct irq_basic *b)
{
    return (uint8_t)(b->vector_base + 7);
}

#endif
