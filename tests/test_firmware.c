/* test_firmware.c — Check tests for what firmware boot rests on: PAM shadow
 * RAM of the firmware area (each of the four read/write choices, through
 * machine_shadow_segment and through the i440FX's PAM registers on the PCI
 * bus, and back to ROM on reset), the memory map's split regions and
 * removal, plan86's Linux boot option ROM (header, PnP header, checksums)
 * and the fw_cfg items fwcfg_boot_setup gives SeaBIOS, with its errors on
 * bad kernels. No guest code runs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bios/fwcfg_boot.h"
#include "bios/optionrom_linuxboot.h"
#include "devices/fw_cfg.h"
#include "machine/board.h"
#include "machine/machine.h"

#define RAM_SIZE (4u << 20)
#define ROM_BASE 0xF0000u
#define ROM_SIZE 0x10000u
#define ROM_BYTE 0xABu
#define SEG 0xF0000u

static struct machine *new_board_with_rom(void)
{
    char err[256];
    struct machine *m = machine_new(RAM_SIZE, true, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    static uint8_t rom[ROM_SIZE];
    memset(rom, ROM_BYTE, sizeof rom);
    ck_assert_ptr_null(machine_map_rom(m, ROM_BASE, rom, sizeof rom));
    return m;
}

static uint8_t peek(struct machine *m, uint32_t a) { return (uint8_t)memmap_read(&m->mem, a, 1); }
static void poke(struct machine *m, uint32_t a, uint8_t v) { memmap_write(&m->mem, a, v, 1); }

/* Writes PAM0 (config 0x59 of 00:00.0) through configuration mechanism #1. */
static void write_pam0(struct machine *m, uint8_t v)
{
    portbus_write(&m->io, 0xCF8, 0x80000058u, 4);
    portbus_write(&m->io, 0xCFD, v, 1);
}

START_TEST(shadow_modes)
{
    struct machine *m = new_board_with_rom();
    ck_assert_uint_eq(peek(m, SEG), ROM_BYTE);                 /* power on: the ROM */
    poke(m, SEG, 0x11);
    ck_assert_uint_eq(m->ram[SEG], 0);                         /* ... writes dropped */
    ck_assert_ptr_null(machine_shadow_segment(m, SEG, 0x10000, false, true));
    poke(m, SEG, 0x22);                                        /* write-only: copy ROM to RAM */
    ck_assert_uint_eq(m->ram[SEG], 0x22);
    ck_assert_uint_eq(peek(m, SEG), ROM_BYTE);
    ck_assert_ptr_null(machine_shadow_segment(m, SEG, 0x10000, true, true));
    ck_assert_uint_eq(peek(m, SEG), 0x22);                     /* read/write RAM */
    poke(m, SEG + 1, 0x33);
    ck_assert_uint_eq(peek(m, SEG + 1), 0x33);
    ck_assert_ptr_null(machine_shadow_segment(m, SEG, 0x10000, true, false));
    poke(m, SEG, 0x44);                                        /* read-only RAM */
    ck_assert_uint_eq(peek(m, SEG), 0x22);
    ck_assert_ptr_null(machine_shadow_segment(m, SEG, 0x10000, false, false));
    ck_assert_uint_eq(peek(m, SEG), ROM_BYTE);                 /* back to the ROM */
    ck_assert_ptr_nonnull(machine_shadow_segment(m, 0xF8000, 0x10000, true, true));
    machine_free(m);
}
END_TEST

START_TEST(shadow_through_pam_and_reset)
{
    struct machine *m = new_board_with_rom();
    write_pam0(m, 0x30);                                       /* 0xF0000: read/write RAM */
    poke(m, SEG, 0x55);
    ck_assert_uint_eq(peek(m, SEG), 0x55);
    ck_assert_uint_eq(peek(m, 0xE0000), 0);                    /* other segments untouched */
    write_pam0(m, 0x10);                                       /* read-only */
    poke(m, SEG, 0x66);
    ck_assert_uint_eq(peek(m, SEG), 0x55);
    machine_reset(m);
    ck_assert_uint_eq(peek(m, SEG), ROM_BYTE);                 /* reset: PAM 0, the ROM again */
    machine_free(m);
}
END_TEST

START_TEST(split_region_and_remove)
{
    struct memmap mm;
    memmap_init(&mm);
    static uint8_t reads[0x2000], writes[0x2000];
    memset(reads, 7, sizeof reads);
    struct mem_region r = { .base = 0x2000, .size = 0x2000, .kind = MEM_SPLIT, .priority = 1,
                            .host = reads, .write_host = writes };
    ck_assert_ptr_null(memmap_add(&mm, &r));
    memmap_write(&mm, 0x2004, 0x01020304, 4);
    ck_assert_uint_eq(memmap_read(&mm, 0x2004, 4), 0x07070707);
    ck_assert_uint_eq(writes[4], 4);
    ck_assert_ptr_eq(memmap_page_ptr(&mm, 0x2000, false), reads);
    ck_assert_ptr_eq(memmap_page_ptr(&mm, 0x3000, true), writes + 0x1000);
    ck_assert(!memmap_remove(&mm, 0x2000, 0x2000, 0));         /* exact match only */
    ck_assert(memmap_remove(&mm, 0x2000, 0x2000, 1));
    ck_assert_uint_eq(memmap_read(&mm, 0x2004, 1), 0xFF);      /* unmapped again */
    r.write_host = NULL;
    ck_assert_ptr_nonnull(memmap_add(&mm, &r));                /* a split region needs both */
}
END_TEST

static unsigned sum(const uint8_t *p, size_t n)
{
    unsigned s = 0;
    while (n--)
        s += *p++;
    return s & 0xFF;
}

START_TEST(option_rom_layout)
{
    uint8_t rom[OPTIONROM_LINUXBOOT_SIZE];
    optionrom_linuxboot_build(rom);
    ck_assert_uint_eq(rom[0], 0x55);
    ck_assert_uint_eq(rom[1], 0xAA);
    ck_assert_uint_eq(rom[2] * 512u, sizeof rom);
    ck_assert_uint_eq(sum(rom, sizeof rom), 0);
    unsigned pnp = rom[0x1A] | rom[0x1B] << 8;
    ck_assert_mem_eq(rom + pnp, "$PnP", 4);
    ck_assert_uint_eq(sum(rom + pnp, rom[pnp + 5] * 16u), 0);
    unsigned bev = rom[pnp + 0x1A] | rom[pnp + 0x1B] << 8;
    ck_assert_uint_eq(rom[bev], 0xFC);                         /* cld: the boot code */
    unsigned name = rom[pnp + 0x10] | rom[pnp + 0x11] << 8;
    ck_assert_str_eq((const char *)rom + name, "plan86 Linux boot");
}
END_TEST

/* The fw_cfg directory entry named `name`: its key, or -1. */
static int file_key(const struct fw_cfg *f, const char *name)
{
    const uint8_t *dir = f->items[FW_CFG_FILE_DIR].data;
    uint32_t count = (uint32_t)dir[0] << 24 | dir[1] << 16 | dir[2] << 8 | dir[3];
    for (uint32_t k = 0; k < count; k++) {
        const uint8_t *e = dir + 4 + 64 * k;
        if (!strcmp((const char *)e + 8, name))
            return e[4] << 8 | e[5];
    }
    return -1;
}

static const char *write_temp(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/plan86-test-firmware-%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

START_TEST(fw_cfg_items)
{
    struct machine *m = new_board_with_rom();
    struct fw_cfg *f = &m->board->fw_cfg;
    char err[256];
    ck_assert(fwcfg_boot_setup(f, m->ram_size, NULL, err, sizeof err));
    int e820 = file_key(f, "etc/e820");
    ck_assert_int_ge(e820, FW_CFG_FILE_FIRST);
    ck_assert_uint_eq(f->items[e820].len, 20);                 /* one record: all RAM */
    ck_assert_uint_eq(f->items[e820].data[10], RAM_SIZE >> 16);
    ck_assert_int_eq(file_key(f, "bootorder"), -1);            /* no kernel, no option ROM */
    ck_assert_uint_eq(f->items[FW_CFG_NOGRAPHIC].data[0], 1);
    machine_free(m);
}
END_TEST

START_TEST(bad_kernels)
{
    struct machine *m = new_board_with_rom();
    char err[256];
    struct fwcfg_boot_linux k = { .kernel_path = "/nonexistent/bzImage" };
    ck_assert(!fwcfg_boot_setup(&m->board->fw_cfg, m->ram_size, &k, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot open kernel") != NULL, "%s", err);
    machine_free(m);
    m = new_board_with_rom();                                  /* setup runs once per board */
    static uint8_t junk[4096];
    k.kernel_path = write_temp(junk, sizeof junk);
    ck_assert(!fwcfg_boot_setup(&m->board->fw_cfg, m->ram_size, &k, err, sizeof err));
    ck_assert_msg(strstr(err, "not a bzImage") != NULL, "%s", err);
    unlink(k.kernel_path);
    machine_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("firmware");
    TCase *t = tcase_create("shadow");
    tcase_add_test(t, shadow_modes);
    tcase_add_test(t, shadow_through_pam_and_reset);
    tcase_add_test(t, split_region_and_remove);
    suite_add_tcase(s, t);
    TCase *b = tcase_create("boot");
    tcase_add_test(b, option_rom_layout);
    tcase_add_test(b, fw_cfg_items);
    tcase_add_test(b, bad_kernels);
    suite_add_tcase(s, b);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
