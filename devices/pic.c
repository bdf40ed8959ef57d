/* pic.c — the cascaded 8259A pair with the PIIX ELCR (see pic.h).
 *
 * The slave's INT output feeds master IR2 as a level: master IRR bit 2 is
 * recomputed from the slave after every change, so a slave request is never
 * lost when the master acknowledges IR2 while the slave still asks.
 */
#include "pic.h"

#include "machine/machine.h"
#include "machine/snapshot.h"

#define PIC_SPURIOUS_IR 7
#define CASCADE_BIT (1u << PIC_CASCADE_IR)
#define NO_IR (-1)

enum { MASTER, SLAVE };

/* Writable ELCR bits: IRQ 0, 1, 2 (master) and 8, 13 (slave) stay edge. */
static const uint8_t elcr_writable[2] = { 0xF8, 0xDE };

/* ---- one chip's priority logic ---- */

static int priority_rank(const struct pic_chip *c, int ir)
{
    return (ir - c->priority_base) & 7;
}

/* The IR in `bits` with the highest priority, or NO_IR. */
static int highest_priority_ir(const struct pic_chip *c, uint8_t bits)
{
    for (int k = 0; k < 8; k++) {
        int ir = (c->priority_base + k) & 7;
        if (bits & (1u << ir))
            return ir;
    }
    return NO_IR;
}

/* Lines whose IRR bit follows the input level (the cascade input is one). */
static uint8_t level_inputs(const struct pic_chip *c, int which)
{
    return which == MASTER ? (uint8_t)(c->elcr | CASCADE_BIT) : c->elcr;
}

/* The IR the chip would present to its INT output now, or NO_IR. In special
 * mask mode any unmasked request not itself in service goes; otherwise it
 * must outrank every IR in service (in special fully nested mode the master's
 * cascade IR may interrupt its own service). */
static int chip_pending_ir(const struct pic_chip *c, int which)
{
    uint8_t requests = c->irr & ~c->imr;
    if (c->special_mask)
        return highest_priority_ir(c, requests & ~c->isr);
    int ir = highest_priority_ir(c, requests);
    if (ir == NO_IR)
        return NO_IR;
    int served = highest_priority_ir(c, c->isr);
    if (served == NO_IR || priority_rank(c, ir) < priority_rank(c, served))
        return ir;
    bool nested_cascade = which == MASTER && c->special_fully_nested && ir == PIC_CASCADE_IR && served == ir;
    return nested_cascade ? ir : NO_IR;
}

/* INTA (or a poll) took `ir`: clear an edge request, mark it in service. */
static void chip_take(struct pic_chip *c, int which, int ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (!(level_inputs(c, which) & bit))
        c->irr &= (uint8_t)~bit;
    if (!c->auto_eoi)
        c->isr |= bit;
    else if (c->rotate_on_auto_eoi)
        c->priority_base = (uint8_t)((ir + 1) & 7);
}

static void chip_set_input(struct pic_chip *c, int which, int ir, bool level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    bool rising = level && !(c->inputs & bit);
    c->inputs = level ? c->inputs | bit : c->inputs & (uint8_t)~bit;
    if (level_inputs(c, which) & bit)
        c->irr = level ? c->irr | bit : c->irr & (uint8_t)~bit;
    else if (rising)
        c->irr |= bit;
}

static void chip_init_reset(struct pic_chip *c, int which)
{
    uint8_t elcr = c->elcr, inputs = c->inputs, vector_base = c->vector_base;
    *c = (struct pic_chip){ .elcr = elcr, .inputs = inputs, .vector_base = vector_base };
    c->irr = inputs & level_inputs(c, which);   /* edge-sense latches cleared */
}

/* ---- the pair ---- */

static void pic_update(struct pic *p)
{
    struct pic_chip *master = &p->chip[MASTER];
    bool slave_int = chip_pending_ir(&p->chip[SLAVE], SLAVE) != NO_IR;
    chip_set_input(master, MASTER, PIC_CASCADE_IR, slave_int);
    machine_set_intr(p->m, chip_pending_ir(master, MASTER) != NO_IR);
}

static uint8_t pic_acknowledge(void *opaque)
{
    struct pic *p = opaque;
    struct pic_chip *master = &p->chip[MASTER], *slave = &p->chip[SLAVE];
    int ir = chip_pending_ir(master, MASTER);
    uint8_t vector;
    if (ir == NO_IR) {
        vector = master->vector_base + PIC_SPURIOUS_IR;
    } else if (ir == PIC_CASCADE_IR) {
        int slave_ir = chip_pending_ir(slave, SLAVE);
        if (slave_ir == NO_IR) {
            vector = slave->vector_base + PIC_SPURIOUS_IR;
        } else {
            chip_take(slave, SLAVE, slave_ir);
            vector = (uint8_t)(slave->vector_base + slave_ir);
        }
        chip_take(master, MASTER, ir);
    } else {
        chip_take(master, MASTER, ir);
        vector = (uint8_t)(master->vector_base + ir);
    }
    pic_update(p);
    return vector;
}

static void pic_line_changed(void *opaque, int line, bool level)
{
    struct pic *p = opaque;
    if (line < 0 || line >= 16 || line == PIC_CASCADE_IR)
        return;
    int which = line >> 3;
    chip_set_input(&p->chip[which], which, line & 7, level);
    pic_update(p);
}

static const struct irq_controller pic_controller = {
    .line_changed = pic_line_changed,
    .ack = pic_acknowledge,
};

/* ---- command words ---- */

static void write_icw1(struct pic_chip *c, int which, uint8_t val)
{
    chip_init_reset(c, which);
    c->icw4_expected = val & 0x01;
    c->single = val & 0x02;
    c->init_step = 2;
}

/* ICW2..ICW4 arrive on the data port while initialising. */
static void write_init_word(struct pic_chip *c, uint8_t val)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = val & 0xF8;
        c->init_step = !c->single ? 3 : c->icw4_expected ? 4 : 0;
        break;
    case 3:   /* the cascade wiring is fixed on a PC: slave on master IR2 */
        c->init_step = c->icw4_expected ? 4 : 0;
        break;
    default:
        c->auto_eoi = val & 0x02;
        c->special_fully_nested = val & 0x10;
        c->init_step = 0;
        break;
    }
}

static void end_of_interrupt(struct pic_chip *c, int ir, bool rotate)
{
    if (ir == NO_IR)
        return;
    c->isr &= (uint8_t)~(1u << ir);
    if (rotate)
        c->priority_base = (uint8_t)((ir + 1) & 7);
}

/* OCW2: bits 7..5 are R, SL, EOI; bits 2..0 name an IR for SL commands. */
static void write_ocw2(struct pic_chip *c, uint8_t val)
{
    int level = val & 7;
    switch (val >> 5) {
    case 0: c->rotate_on_auto_eoi = false; break;
    case 1: end_of_interrupt(c, highest_priority_ir(c, c->isr), false); break;
    case 3: end_of_interrupt(c, level, false); break;
    case 4: c->rotate_on_auto_eoi = true; break;
    case 5: end_of_interrupt(c, highest_priority_ir(c, c->isr), true); break;
    case 6: c->priority_base = (uint8_t)((level + 1) & 7); break;
    case 7: end_of_interrupt(c, level, true); break;
    default: break;   /* 2: no operation */
    }
}

static void write_ocw3(struct pic_chip *c, uint8_t val)
{
    if (val & 0x40)
        c->special_mask = val & 0x20;
    c->poll = val & 0x04;
    if (val & 0x02)
        c->read_isr = val & 0x01;
}

static void write_command(struct pic_chip *c, int which, uint8_t val)
{
    if (val & 0x10)
        write_icw1(c, which, val);
    else if (val & 0x08)
        write_ocw3(c, val);
    else
        write_ocw2(c, val);
}

static void write_data(struct pic_chip *c, uint8_t val)
{
    if (c->init_step)
        write_init_word(c, val);
    else
        c->imr = val;
}

/* A poll read acknowledges like INTA: 0x80 | IR, or 0 with nothing pending. */
static uint8_t poll_read(struct pic *p, int which)
{
    struct pic_chip *c = &p->chip[which];
    c->poll = false;
    int ir = chip_pending_ir(c, which);
    if (ir == NO_IR)
        return 0;
    chip_take(c, which, ir);
    pic_update(p);
    return (uint8_t)(0x80 | ir);
}

/* ---- ports ---- */

static int chip_of_port(uint16_t port)
{
    return (port & 0x80) ? SLAVE : MASTER;
}

static uint32_t pic_port_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    struct pic *p = opaque;
    int which = chip_of_port(port);
    const struct pic_chip *c = &p->chip[which];
    if (c->poll)
        return poll_read(p, which);
    if (port & 1)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

static void pic_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct pic *p = opaque;
    int which = chip_of_port(port);
    if (port & 1)
        write_data(&p->chip[which], (uint8_t)val);
    else
        write_command(&p->chip[which], which, (uint8_t)val);
    pic_update(p);
}

static void set_elcr(struct pic_chip *c, int which, uint8_t val)
{
    c->elcr = val & elcr_writable[which];
    uint8_t level = level_inputs(c, which);
    c->irr = (uint8_t)((c->irr & ~level) | (c->inputs & level));
}

static uint32_t elcr_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    const struct pic *p = opaque;
    return p->chip[port - PIC_ELCR_PORT].elcr;
}

static void elcr_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct pic *p = opaque;
    int which = port - PIC_ELCR_PORT;
    set_elcr(&p->chip[which], which, (uint8_t)val);
    pic_update(p);
}

/* ---- life cycle ---- */

static void pic_reset(void *opaque)
{
    struct pic *p = opaque;
    for (int which = MASTER; which <= SLAVE; which++) {
        struct pic_chip *c = &p->chip[which];
        c->elcr = 0;
        c->vector_base = 0;
        chip_init_reset(c, which);
    }
    pic_update(p);
}

const char *pic_attach(struct machine *m, struct pic *p)
{
    *p = (struct pic){ .m = m };
    const char *why = machine_register_ports(m, PIC_MASTER_PORT, 2, PORT_SIZE_8, pic_port_read, pic_port_write, p);
    if (!why)
        why = machine_register_ports(m, PIC_SLAVE_PORT, 2, PORT_SIZE_8, pic_port_read, pic_port_write, p);
    if (!why)
        why = machine_register_ports(m, PIC_ELCR_PORT, 2, PORT_SIZE_8, elcr_read, elcr_write, p);
    if (!why)
        why = machine_add_reset_hook(m, pic_reset, p);
    if (why)
        return why;
    machine_set_irq_controller(m, &pic_controller, p);
    pic_reset(p);
    return NULL;
}

/* ---- save and restore ---- */

#define PIC_STATE_VERSION 1

static void save_chip(const struct pic_chip *c, struct snap_writer *w)
{
    const uint8_t bytes[] = { c->irr, c->isr, c->imr, c->inputs, c->elcr,
                              c->vector_base, c->priority_base, c->init_step };
    const bool flags[] = { c->icw4_expected, c->single, c->auto_eoi, c->rotate_on_auto_eoi,
                           c->special_fully_nested, c->special_mask, c->read_isr, c->poll };
    snap_put_bytes(w, bytes, sizeof bytes);
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        snap_put_bool(w, flags[k]);
}

static void load_chip(struct pic_chip *c, int which, struct snap_reader *r)
{
    uint8_t *bytes[] = { &c->irr, &c->isr, &c->imr, &c->inputs, &c->elcr,
                         &c->vector_base, &c->priority_base, &c->init_step };
    bool *flags[] = { &c->icw4_expected, &c->single, &c->auto_eoi, &c->rotate_on_auto_eoi,
                      &c->special_fully_nested, &c->special_mask, &c->read_isr, &c->poll };
    for (size_t k = 0; k < sizeof bytes / sizeof bytes[0]; k++)
        *bytes[k] = snap_get_u8(r);
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        *flags[k] = snap_get_bool(r);
    if (c->elcr & ~elcr_writable[which])
        snap_fail(r, "PIC state: an ELCR bit that cannot be set");
    if ((c->vector_base & 7) || c->priority_base > 7 || c->init_step == 1 || c->init_step > 4)
        snap_fail(r, "PIC state: a register out of range");
}

void pic_save(const struct pic *p, struct snap_writer *w)
{
    snap_put_u8(w, PIC_STATE_VERSION);
    for (int which = MASTER; which <= SLAVE; which++)
        save_chip(&p->chip[which], w);
}

bool pic_load(struct pic *p, struct snap_reader *r)
{
    struct pic loaded = { .m = p->m };
    if (snap_get_u8(r) != PIC_STATE_VERSION)
        snap_fail(r, "PIC state: unknown version");
    for (int which = MASTER; which <= SLAVE; which++)
        load_chip(&loaded.chip[which], which, r);
    if (!snap_ok(r))
        return false;
    *p = loaded;
    pic_update(p);
    return true;
}
