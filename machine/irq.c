/* irq.c — IRQ lines and the stand-in interrupt controller (see irq.h). */
#include "irq.h"

static bool line_valid(int line)
{
    return line >= 0 && line < IRQ_LINES;
}

void irq_lines_init(struct irq_lines *irq, const struct irq_controller *ctl, void *opaque)
{
    irq->levels = 0;
    irq->ctl = ctl;
    irq->ctl_opaque = opaque;
}

void irq_set_level(struct irq_lines *irq, int line, bool level)
{
    if (!line_valid(line) || irq_level(irq, line) == level)
        return;
    irq->levels ^= 1u << line;
    irq->ctl->line_changed(irq->ctl_opaque, line, level);
}

void irq_raise(struct irq_lines *irq, int line) { irq_set_level(irq, line, true); }
void irq_lower(struct irq_lines *irq, int line) { irq_set_level(irq, line, false); }

void irq_pulse(struct irq_lines *irq, int line)
{
    irq_set_level(irq, line, false);
    irq_set_level(irq, line, true);
    irq_set_level(irq, line, false);
}

bool irq_level(const struct irq_lines *irq, int line)
{
    return line_valid(line) && (irq->levels >> line) & 1;
}

uint8_t irq_acknowledge(struct irq_lines *irq)
{
    return irq->ctl->ack(irq->ctl_opaque);
}

/* ---- irq_basic ---- */

static uint32_t basic_pending(const struct irq_basic *b)
{
    return b->latched | (b->levels & b->level_mode);
}

static void basic_update_intr(struct irq_basic *b)
{
    b->set_intr(b->intr_opaque, basic_pending(b) != 0);
}

static void basic_line_changed(void *opaque, int line, bool level)
{
    struct irq_basic *b = opaque;
    uint32_t bit = 1u << line;
    if (level && !(b->levels & bit) && !(b->level_mode & bit))
        b->latched |= bit;
    b->levels = level ? b->levels | bit : b->levels & ~bit;
    basic_update_intr(b);
}

static uint8_t basic_ack(void *opaque)
{
    struct irq_basic *b = opaque;
    uint32_t pending = basic_pending(b);
    if (!pending)
        return irq_basic_spurious_vector(b);
    int line = __builtin_ctz(pending);
    b->latched &= ~(1u << line);
    basic_update_intr(b);
    return (uint8_t)(b->vector_base + line);
}

const struct irq_controller irq_basic_controller = {
    .line_changed = basic_line_changed,
    .ack = basic_ack,
};

void irq_basic_init(struct irq_basic *b, uint8_t vector_base, intr_line_fn set_intr, void *opaque)
{
    *b = (struct irq_basic){ .vector_base = vector_base, .set_intr = set_intr, .intr_opaque = opaque };
}

void irq_basic_reset(struct irq_basic *b)
{
    b->latched = 0;
    basic_update_intr(b);
}

void irq_basic_set_trigger(struct irq_basic *b, int line, enum irq_trigger trigger)
{
    if (!line_valid(line))
        return;
    uint32_t bit = 1u << line;
    b->level_mode = trigger == IRQ_LEVEL ? b->level_mode | bit : b->level_mode & ~bit;
    b->latched &= ~bit;
    basic_update_intr(b);
}
