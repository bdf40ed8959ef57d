/* i440fx.c — the 440FX host bridge and its PAM shadow-RAM control (see i440fx.h). */
#include "i440fx.h"

#include "machine/machine.h"

#define SEGMENT_SMALL 0x4000u
#define SEGMENT_BIOS_BASE 0xF0000u
#define SEGMENT_BIOS_SIZE 0x10000u
#define SEGMENT_LOW_BASE 0xC0000u

void i440fx_segment(int k, uint32_t *base, uint32_t *size)
{
    if (k == 0) {
        *base = SEGMENT_BIOS_BASE;
        *size = SEGMENT_BIOS_SIZE;
    } else {
        *base = SEGMENT_LOW_BASE + (uint32_t)(k - 1) * SEGMENT_SMALL;
        *size = SEGMENT_SMALL;
    }
}

/* Segment 0 is the high nibble of PAM0; segment k>0 is nibble (k-1) of PAM1.. */
uint8_t i440fx_pam_mode(const struct i440fx *h, int k)
{
    if (k == 0)
        return (h->pci.config[I440FX_PAM0] >> 4) & 3;
    uint8_t reg = h->pci.config[I440FX_PAM0 + 1 + (k - 1) / 2];
    return ((k - 1) & 1 ? reg >> 4 : reg) & 3;
}

static void apply_pam(struct i440fx *h, bool force)
{
    for (int k = 0; k < I440FX_PAM_SEGMENTS; k++) {
        uint8_t mode = i440fx_pam_mode(h, k);
        if (!force && mode == h->applied[k])
            continue;
        h->applied[k] = mode;
        uint32_t base, size;
        i440fx_segment(k, &base, &size);
        h->shadow(h->shadow_opaque, base, size, mode & 1, mode & 2);
    }
}

static void i440fx_config_written(void *opaque, uint8_t offset, int size)
{
    struct i440fx *h = opaque;
    if (offset < I440FX_PAM0 + 7 && I440FX_PAM0 < offset + size)
        apply_pam(h, false);
}

static void i440fx_reset(void *opaque)
{
    struct i440fx *h = opaque;
    for (int k = 0; k < 7; k++)
        h->pci.config[I440FX_PAM0 + k] = 0;
    apply_pam(h, true);
}

const char *i440fx_attach(struct machine *m, struct i440fx *h, struct pci_bus *bus,
                          i440fx_shadow_fn shadow, void *shadow_opaque)
{
    struct pci_device *d = &h->pci;
    pci_device_init(d, 0x8086, 0x1237, 0x060000, 0x02);
    pci_set_wmask(d, I440FX_PAM0, 0x30, 1);
    for (int k = 1; k < 7; k++)
        pci_set_wmask(d, (uint8_t)(I440FX_PAM0 + k), 0x33, 1);
    d->config_written = i440fx_config_written;
    d->opaque = h;
    h->shadow = shadow;
    h->shadow_opaque = shadow_opaque;
    const char *why = pci_register_device(bus, PCI_DEVFN(0, 0), d);
    if (!why)
        why = machine_add_reset_hook(m, i440fx_reset, h);
    if (!why)
        i440fx_reset(h);
    return why;
}
