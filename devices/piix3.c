/* piix3.c — PIIX3 ISA bridge (PIRQ routing) and the ACPI PM function (see piix3.h). */
#include "piix3.h"

#include "bios/acpi_pm.h"

#include <string.h>

#include "machine/machine.h"
#include "machine/snapshot.h"

#define APM_CONTROL_PORT ACPI_SMI_CMD_PORT
#define APM_ACPI_ENABLE ACPI_SMI_ENABLE
#define APM_ACPI_DISABLE ACPI_SMI_DISABLE
#define PIRQ_DISABLED 0x80
#define PM_BASE_MASK 0xFFC0u
#define PM_MISC_IO_ENABLE 0x01
#define TMR_EPOCH_SHIFT 23
#define PM1_SCI_SOURCES (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)
#define NS_PER_S 1000000000u

/* ---- PIRQ routing ---- */

int piix3_pirq_irq(const struct piix3 *p, int pirq)
{
    if (pirq < 0 || pirq >= PCI_PIRQ_COUNT)
        return -1;
    uint8_t route = p->isa.config[PIIX3_PIRQ_ROUTE + pirq];
    int irq = route & 0x0F;
    if ((route & PIRQ_DISABLED) || irq < 3 || irq == 8 || irq == 13)
        return -1;
    return irq;
}

static int route_pirq(void *opaque, int pirq)
{
    return piix3_pirq_irq(opaque, pirq);
}

static void isa_config_written(void *opaque, uint8_t offset, int size)
{
    struct piix3 *p = opaque;
    if (offset < PIIX3_PIRQ_ROUTE + PCI_PIRQ_COUNT && PIIX3_PIRQ_ROUTE < offset + size)
        pci_bus_routing_changed(p->isa.bus);
}

/* ---- PM timer and SCI ---- */

static uint64_t pm_ticks(const struct piix3 *p)
{
    uint64_t ns = machine_now_ns(p->m);
    return ns / NS_PER_S * PIIX_PM_TIMER_HZ + ns % NS_PER_S * PIIX_PM_TIMER_HZ / NS_PER_S;
}

uint32_t piix3_pm_timer(const struct piix3 *p)
{
    return (uint32_t)(pm_ticks(p) & 0xFFFFFF);
}

/* First virtual ns at which the tick count reaches `ticks`. */
static uint64_t ns_at_tick(uint64_t ticks)
{
    uint64_t whole = ticks / PIIX_PM_TIMER_HZ, rest = ticks % PIIX_PM_TIMER_HZ;
    return whole * NS_PER_S + (rest * NS_PER_S + PIIX_PM_TIMER_HZ - 1) / PIIX_PM_TIMER_HZ;
}

static void update_sci(struct piix3 *p)
{
    bool level = (p->pm1_sts & p->pm1_en & PM1_SCI_SOURCES) != 0;
    if (level == p->sci_level)
        return;
    p->sci_level = level;
    if (level)
        machine_irq_raise(p->m, PIIX_PM_SCI_IRQ);
    else
        machine_irq_lower(p->m, PIIX_PM_SCI_IRQ);
}

/* Latches TMR_STS when bit 23 flipped since the last look, re-arms the
 * overflow timer while TMR_EN is set, and updates the SCI. */
static void pm_refresh(struct piix3 *p)
{
    uint64_t epoch = pm_ticks(p) >> TMR_EPOCH_SHIFT;
    if (epoch != p->tmr_epoch)
        p->pm1_sts |= PM1_TMR;
    p->tmr_epoch = epoch;
    if (p->pm1_en & PM1_TMR)
        machine_timer_arm(p->m, &p->tmr_overflow, ns_at_tick((epoch + 1) << TMR_EPOCH_SHIFT));
    else
        machine_timer_cancel(p->m, &p->tmr_overflow);
    update_sci(p);
}

static void tmr_overflow_fired(void *opaque)
{
    pm_refresh(opaque);
}

void piix3_power_button(struct piix3 *p)
{
    p->pm1_sts |= PM1_PWRBTN;
    update_sci(p);
}

/* ---- PM registers ---- */

static uint8_t pm_read_byte(struct piix3 *p, unsigned off)
{
    uint32_t reg;
    switch (off & ~1u) {
    case PM1_STS: reg = p->pm1_sts; break;
    case PM1_EN: reg = p->pm1_en; break;
    case PM1_CNT: reg = p->pm1_cnt; break;
    case PM_TMR: case PM_TMR + 2: reg = piix3_pm_timer(p) >> (8 * (off & 2)); break;
    case PM_GPSTS: reg = p->gpsts; break;
    case PM_GPEN: reg = p->gpen; break;
    default: reg = 0; break;
    }
    return (uint8_t)(reg >> (8 * (off & 1)));
}

static void set_byte(uint16_t *reg, unsigned off, uint8_t byte)
{
    unsigned shift = 8 * (off & 1);
    *reg = (uint16_t)((*reg & ~(0xFFu << shift)) | ((unsigned)byte << shift));
}

static void pm1_cnt_written(struct piix3 *p, uint8_t high_byte)
{
    uint16_t value = (uint16_t)((p->pm1_cnt & 0xFF) | (high_byte << 8));
    p->pm1_cnt = value & (uint16_t)~PM1_CNT_SLP_EN;
    if (!(value & PM1_CNT_SLP_EN))
        return;
    if (((value >> PM1_CNT_SLP_TYP_SHIFT) & 7) == PM_SLP_TYP_S5)
        machine_request_stop(p->m, PLAN86_STOP_POWEROFF, "the guest powered the machine off (ACPI S5)");
}

static void pm_write_byte(struct piix3 *p, unsigned off, uint8_t byte)
{
    uint16_t sts_clear = 0;
    switch (off & ~1u) {
    case PM1_STS: set_byte(&sts_clear, off, byte); p->pm1_sts &= (uint16_t)~sts_clear; break;
    case PM1_EN: set_byte(&p->pm1_en, off, byte); break;
    case PM1_CNT:
        if (off & 1)
            pm1_cnt_written(p, byte);
        else
            set_byte(&p->pm1_cnt, off, byte);
        break;
    case PM_GPSTS: set_byte(&sts_clear, off, byte); p->gpsts &= (uint16_t)~sts_clear; break;
    case PM_GPEN: set_byte(&p->gpen, off, byte); break;
    default: break;
    }
}

static uint32_t pm_io_base(const struct piix3 *p)
{
    if (!(p->pm.config[PIIX_PM_MISC_REG] & PM_MISC_IO_ENABLE))
        return 0;
    return pci_get_raw(&p->pm, PIIX_PM_BASE_REG, 4) & PM_BASE_MASK;
}

static uint32_t pm_io_read(void *opaque, uint16_t port, int size)
{
    struct piix3 *p = opaque;
    if (pm_io_base(p) != p->pm_io_claimed)
        return 0xFFFFFFFFu;
    pm_refresh(p);
    uint32_t v = 0;
    for (int k = 0; k < size; k++)
        v |= (uint32_t)pm_read_byte(p, (unsigned)(port - p->pm_io_claimed + k)) << (8 * k);
    return v;
}

static void pm_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct piix3 *p = opaque;
    if (pm_io_base(p) != p->pm_io_claimed)
        return;
    pm_refresh(p);
    for (int k = 0; k < size; k++)
        pm_write_byte(p, (unsigned)(port - p->pm_io_claimed + k), (uint8_t)(val >> (8 * k)));
    pm_refresh(p);
}

static void pm_config_written(void *opaque, uint8_t offset, int size)
{
    (void)offset;
    (void)size;
    struct piix3 *p = opaque;
    uint32_t base = pm_io_base(p);
    if (!base || p->pm_io_claimed)
        return;
    if (!machine_register_ports(p->m, (uint16_t)base, PIIX_PM_IO_SIZE, PORT_SIZE_ALL, pm_io_read, pm_io_write, p))
        p->pm_io_claimed = base;
}

/* ---- APM control port ---- */

static uint32_t apm_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0;
}

static void apm_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct piix3 *p = opaque;
    if (port != APM_CONTROL_PORT)
        return;
    if ((uint8_t)val == APM_ACPI_ENABLE)
        p->pm1_cnt |= PM1_CNT_SCI_EN;
    else if ((uint8_t)val == APM_ACPI_DISABLE)
        p->pm1_cnt &= (uint16_t)~PM1_CNT_SCI_EN;
}

/* ---- assembly ---- */

static void piix3_reset(void *opaque)
{
    struct piix3 *p = opaque;
    for (int k = 0; k < PCI_PIRQ_COUNT; k++)
        p->isa.config[PIIX3_PIRQ_ROUTE + k] = PIRQ_DISABLED;
    pci_set_raw(&p->pm, PIIX_PM_BASE_REG, 1, 4);
    p->pm.config[PIIX_PM_MISC_REG] = 0;
    p->pm1_sts = p->pm1_en = p->pm1_cnt = p->gpsts = p->gpen = 0;
    p->tmr_epoch = pm_ticks(p) >> TMR_EPOCH_SHIFT;
    pm_refresh(p);
    pci_bus_routing_changed(p->isa.bus);
}

static void init_functions(struct piix3 *p)
{
    pci_device_init(&p->isa, 0x8086, 0x7000, 0x060100, 0x00);
    p->isa.config[PCI_HEADER_TYPE] = PCI_HEADER_MULTIFUNCTION;
    for (int k = 0; k < PCI_PIRQ_COUNT; k++)
        pci_set_wmask(&p->isa, (uint8_t)(PIIX3_PIRQ_ROUTE + k), 0x8F, 1);
    p->isa.config_written = isa_config_written;
    p->isa.opaque = p;

    pci_device_init(&p->pm, 0x8086, 0x7113, 0x068000, 0x03);
    pci_device_set_interrupt_pin(&p->pm, 1);
    pci_set_wmask(&p->pm, PIIX_PM_BASE_REG, PM_BASE_MASK, 4);
    pci_set_wmask(&p->pm, PIIX_PM_MISC_REG, PM_MISC_IO_ENABLE, 1);
    p->pm.config_written = pm_config_written;
    p->pm.opaque = p;
}

const char *piix3_attach(struct machine *m, struct piix3 *p, struct pci_bus *bus)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    timer_init(&p->tmr_overflow, tmr_overflow_fired, p);
    init_functions(p);
    const char *why = pci_register_device(bus, PCI_DEVFN(1, 0), &p->isa);
    if (!why)
        why = pci_register_device(bus, PCI_DEVFN(1, 3), &p->pm);
    if (!why)
        why = machine_register_ports(m, APM_CONTROL_PORT, 2, PORT_SIZE_8, apm_read, apm_write, p);
    if (!why)
        why = machine_add_reset_hook(m, piix3_reset, p);
    if (why)
        return why;
    pci_bus_set_router(bus, route_pirq, p);
    piix3_reset(p);
    return NULL;
}

/* ---- save / load (the config spaces travel with the PCI bus) ---- */

void piix3_save(const struct piix3 *p, struct snap_writer *w)
{
    snap_put_u16(w, p->pm1_sts);
    snap_put_u16(w, p->pm1_en);
    snap_put_u16(w, p->pm1_cnt);
    snap_put_u16(w, p->gpsts);
    snap_put_u16(w, p->gpen);
    snap_put_u64(w, p->tmr_epoch);
}

bool piix3_load(struct piix3 *p, struct snap_reader *r)
{
    uint16_t sts = snap_get_u16(r), en = snap_get_u16(r), cnt = snap_get_u16(r);
    uint16_t gpsts = snap_get_u16(r), gpen = snap_get_u16(r);
    uint64_t epoch = snap_get_u64(r);
    if (!snap_ok(r))
        return false;
    p->pm1_sts = sts;
    p->pm1_en = en;
    p->pm1_cnt = cnt & (uint16_t)~PM1_CNT_SLP_EN;
    p->gpsts = gpsts;
    p->gpen = gpen;
    p->tmr_epoch = epoch;
    pm_refresh(p);
    return true;
}
