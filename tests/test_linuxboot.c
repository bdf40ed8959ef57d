/* test_linuxboot.c — Check tests for direct Linux boot (bios/linuxboot.c),
 * the e820 map (bios/e820.c) and the ACPI tables (bios/acpi.c).
 *
 * A fake bzImage built here (setup header "HdrS" 2.15, one setup sector, a
 * tiny 32-bit payload) is booted on a real board: the payload far-jumps
 * through the GDT, reloads DS, uses the stack, then prints the command line
 * it finds through ESI -> boot_params.cmd_line_ptr to port 0xE9 and halts.
 * The other tests read guest RAM back: the zero page, e820 records, initrd
 * placement, ACPI checksums and links, and the error line for bad files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bios/acpi.h"
#include "bios/acpi_pm.h"
#include "bios/e820.h"
#include "bios/le.h"
#include "bios/linuxboot.h"
#include "cpu/cpu.h"
#include "machine/machine.h"

#define RAM_SIZE (64u << 20)
#define SETUP_SIZE 1024u                 /* setup_sects = 1 */
#define PM_SIZE 4096u
#define FAKE_PREF_ADDRESS 0x1000000u
#define FAKE_INIT_SIZE 0x400000u
#define FAKE_FOOTPRINT_END (FAKE_PREF_ADDRESS + FAKE_INIT_SIZE)

/* At 0x100000; see the file comment. */
static const uint8_t payload[] = {
    0xEA, 0x07, 0x00, 0x10, 0x00, 0x10, 0x00, /* 00 jmp far 0x10:0x00100007 */
    0xB8, 0x18, 0x00, 0x00, 0x00,             /* 07 mov eax, 0x18 */
    0x8E, 0xD8,                               /* 0c mov ds, eax */
    0x56,                                     /* 0e push esi */
    0x5B,                                     /* 0f pop ebx */
    0x8B, 0x93, 0x28, 0x02, 0x00, 0x00,       /* 10 mov edx, [ebx + 0x228] */
    0x8A, 0x02,                               /* 16 mov al, [edx] */
    0x84, 0xC0,                               /* 18 test al, al */
    0x74, 0x05,                               /* 1a jz 21 */
    0xE6, 0xE9,                               /* 1c out 0xE9, al */
    0x42,                                     /* 1e inc edx */
    0xEB, 0xF5,                               /* 1f jmp 16 */
    0xF4,                                     /* 21 hlt */
};
#define PAYLOAD_HLT_END (LINUXBOOT_KERNEL_ADDR + sizeof payload)

struct fake_kernel {
    uint8_t bytes[SETUP_SIZE + PM_SIZE];
    size_t size;
};

static void build_fake_kernel(struct fake_kernel *k, uint16_t version)
{
    uint8_t *b = k->bytes;
    memset(b, 0, sizeof k->bytes);
    b[BP_SETUP_SECTS] = 1;
    le_put32(b + BP_SYSSIZE, PM_SIZE / 16);
    le_put16(b + BP_BOOT_FLAG, 0xAA55);
    b[BP_JUMP] = 0xEB;
    b[BP_JUMP + 1] = 0x6A;                    /* header ends at 0x26C */
    memcpy(b + BP_HEADER, "HdrS", 4);
    le_put16(b + BP_VERSION, version);
    b[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
    le_put32(b + BP_CODE32_START, LINUXBOOT_KERNEL_ADDR);
    le_put32(b + BP_INITRD_ADDR_MAX, 0x37FFFFFF);
    le_put32(b + BP_KERNEL_ALIGNMENT, 0x200000);
    b[BP_RELOCATABLE] = 1;
    le_put32(b + BP_CMDLINE_SIZE, 2047);
    le_put64(b + BP_PREF_ADDRESS, FAKE_PREF_ADDRESS);
    le_put32(b + BP_INIT_SIZE, FAKE_INIT_SIZE);
    memcpy(b + SETUP_SIZE, payload, sizeof payload);
    k->size = sizeof k->bytes;
}

/* ---- temporary files and the board ---- */

static char *write_temp(const void *bytes, size_t len)
{
    char *path = strdup("/tmp/plan86-linuxboot-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    return path;
}

static char *write_kernel(const struct fake_kernel *k)
{
    return write_temp(k->bytes, k->size);
}

static void drop_temp(char *path)
{
    unlink(path);
    free(path);
}

struct console {
    char text[256];
    size_t len;
};

static void capture(void *opaque, const uint8_t *bytes, size_t len)
{
    struct console *c = opaque;
    for (size_t k = 0; k < len && c->len + 1 < sizeof c->text; k++)
        c->text[c->len++] = (char)bytes[k];
}

static struct machine *new_board(uint32_t ram_size)
{
    char err[160];
    struct machine *m = machine_new_bare(ram_size, true, 1, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    m->timeout_ns = 1000000000u;
    return m;
}

/* Boots the fake kernel; returns the board (caller frees). */
static struct machine *boot_fake(uint32_t ram_size, const char *initrd, const char *cmdline)
{
    struct fake_kernel k;
    build_fake_kernel(&k, 0x20F);
    char *path = write_kernel(&k);
    struct machine *m = new_board(ram_size);
    char err[200] = "";
    bool ok = linuxboot_setup(m, path, initrd, cmdline, err, sizeof err);
    drop_temp(path);
    ck_assert_msg(ok, "%s", err);
    return m;
}

static const uint8_t *zero_page(const struct machine *m)
{
    return m->ram + LINUXBOOT_PARAMS_ADDR;
}

/* ---- entry state and the payload ---- */

START_TEST(entry_state_follows_the_32bit_protocol)
{
    struct machine *m = boot_fake(RAM_SIZE, NULL, "console=ttyS0");
    struct cpu *c = m->cpu;
    ck_assert_uint_eq(cpu_get_eip(c), LINUXBOOT_KERNEL_ADDR);
    ck_assert_uint_eq(cpu_get_reg(c, R_ESI), LINUXBOOT_PARAMS_ADDR);
    ck_assert_uint_eq(cpu_get_reg(c, R_EBX), 0);
    ck_assert_uint_eq(cpu_get_reg(c, R_EBP), 0);
    ck_assert_uint_eq(cpu_get_reg(c, R_EDI), 0);
    ck_assert_uint_eq(cpu_get_cr(c, 0) & (CR0_PE | CR0_PG), CR0_PE);
    ck_assert_uint_eq(cpu_get_eflags(c) & F_IF, 0);
    ck_assert_uint_eq(cpu_get_seg(c, S_CS)->sel, LINUXBOOT_BOOT_CS);
    const enum cpu_sreg data[] = { S_DS, S_ES, S_SS };
    for (int k = 0; k < 3; k++) {
        ck_assert_uint_eq(cpu_get_seg(c, data[k])->sel, LINUXBOOT_BOOT_DS);
        ck_assert_uint_eq(cpu_get_seg(c, data[k])->base, 0);
        ck_assert_uint_eq(cpu_get_seg(c, data[k])->limit, 0xFFFFFFFFu);
    }
    /* The kernel image sits at 1 MiB. */
    ck_assert_mem_eq(m->ram + LINUXBOOT_KERNEL_ADDR, payload, sizeof payload);
    machine_free(m);
}
END_TEST

START_TEST(payload_runs_and_prints_the_command_line)
{
    struct machine *m = boot_fake(RAM_SIZE, NULL, "root=host9p quiet");
    struct console out = { .len = 0 };
    m->console_fn = capture;
    m->console_opaque = &out;
    enum plan86_stop_reason why = machine_run(m);
    ck_assert_int_eq(why, PLAN86_STOP_HALTED);
    ck_assert_str_eq(out.text, "root=host9p quiet");
    ck_assert_uint_eq(cpu_get_eip(m->cpu), PAYLOAD_HLT_END);
    ck_assert_uint_eq(cpu_get_reg(m->cpu, R_EBX), LINUXBOOT_PARAMS_ADDR);
    ck_assert_uint_eq(cpu_get_seg(m->cpu, S_CS)->sel, LINUXBOOT_BOOT_CS);
    machine_free(m);
}
END_TEST

/* ---- the zero page ---- */

START_TEST(zero_page_fields)
{
    struct machine *m = boot_fake(RAM_SIZE, NULL, "a=b");
    const uint8_t *bp = zero_page(m);
    ck_assert_mem_eq(bp + BP_HEADER, "HdrS", 4);
    ck_assert_uint_eq(le_get16(bp + BP_VERSION), 0x20F);
    ck_assert_uint_eq(bp[BP_TYPE_OF_LOADER], 0xFF);
    ck_assert_uint_eq(bp[BP_LOADFLAGS], LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP);
    ck_assert_uint_eq(le_get16(bp + BP_HEAP_END_PTR), 0xFE00);
    ck_assert_uint_eq(le_get32(bp + BP_CODE32_START), LINUXBOOT_KERNEL_ADDR);
    ck_assert_uint_eq(le_get32(bp + BP_CMD_LINE_PTR), LINUXBOOT_CMDLINE_ADDR);
    ck_assert_str_eq((const char *)m->ram + LINUXBOOT_CMDLINE_ADDR, "a=b");
    ck_assert_uint_eq(le_get32(bp + BP_RAMDISK_IMAGE), 0);
    ck_assert_uint_eq(le_get32(bp + BP_RAMDISK_SIZE), 0);
    ck_assert_uint_eq(bp[BP_SENTINEL], 0);
    ck_assert_uint_eq(le_get32(bp + BP_ALT_MEM_K), (RAM_SIZE >> 10) - 1024);
    /* Nothing of the setup code past the header is copied. */
    ck_assert_uint_eq(bp[0x26C], 0);
    /* The GDT the entry state points at. */
    const uint8_t *gdt = m->ram + LINUXBOOT_GDT_ADDR;
    ck_assert_uint_eq(gdt[LINUXBOOT_BOOT_CS + 5], 0x9B);
    ck_assert_uint_eq(gdt[LINUXBOOT_BOOT_DS + 5], 0x93);
    machine_free(m);
}
END_TEST

START_TEST(e820_map_in_the_zero_page)
{
    struct machine *m = boot_fake(RAM_SIZE, NULL, NULL);
    const uint8_t *bp = zero_page(m);
    static const struct e820_entry want[] = {
        { 0, 0x9FC00, E820_RAM },
        { 0x9FC00, 0x400, E820_RESERVED },
        { 0xF0000, 0x10000, E820_RESERVED },
        { 0x100000, RAM_SIZE - 0x100000, E820_RAM },
    };
    ck_assert_uint_eq(bp[BP_E820_ENTRIES], 4);
    for (int k = 0; k < 4; k++) {
        const uint8_t *rec = bp + BP_E820_TABLE + k * E820_RECORD_SIZE;
        ck_assert_uint_eq(le_get(rec, 8), want[k].addr);
        ck_assert_uint_eq(le_get(rec + 8, 8), want[k].size);
        ck_assert_uint_eq(le_get32(rec + 16), want[k].type);
    }
    ck_assert_str_eq((const char *)m->ram + LINUXBOOT_CMDLINE_ADDR, "");
    machine_free(m);
}
END_TEST

START_TEST(e820_reserves_firmware_above_ram)
{
    struct machine *m = new_board(RAM_SIZE);
    static const uint8_t rom[4096];
    ck_assert_ptr_null(machine_map_rom(m, 0xFFFFF000u, rom, sizeof rom));
    struct fake_kernel k;
    build_fake_kernel(&k, 0x20F);
    char *path = write_kernel(&k);
    char err[200];
    ck_assert_msg(linuxboot_setup(m, path, NULL, NULL, err, sizeof err), "%s", err);
    drop_temp(path);
    const uint8_t *bp = zero_page(m);
    ck_assert_uint_eq(bp[BP_E820_ENTRIES], 5);
    const uint8_t *rec = bp + BP_E820_TABLE + 4 * E820_RECORD_SIZE;
    ck_assert_uint_eq(le_get(rec, 8), 0xFFFFF000u);
    ck_assert_uint_eq(le_get(rec + 8, 8), 4096);
    ck_assert_uint_eq(le_get32(rec + 16), E820_RESERVED);
    machine_free(m);
}
END_TEST

/* ---- the initrd ---- */

static void check_initrd_at_top(uint32_t addr_max, uint32_t expect_top)
{
    uint8_t data[10000];
    for (size_t k = 0; k < sizeof data; k++)
        data[k] = (uint8_t)(k * 7);
    char *initrd = write_temp(data, sizeof data);
    struct fake_kernel k;
    build_fake_kernel(&k, 0x20F);
    le_put32(k.bytes + BP_INITRD_ADDR_MAX, addr_max);
    char *path = write_kernel(&k);
    struct machine *m = new_board(RAM_SIZE);
    char err[200];
    ck_assert_msg(linuxboot_setup(m, path, initrd, NULL, err, sizeof err), "%s", err);
    const uint8_t *bp = zero_page(m);
    uint32_t at = le_get32(bp + BP_RAMDISK_IMAGE);
    ck_assert_uint_eq(le_get32(bp + BP_RAMDISK_SIZE), sizeof data);
    ck_assert_uint_eq(at & 0xFFF, 0);
    ck_assert_uint_le(at + sizeof data, expect_top);
    ck_assert_uint_gt(at + sizeof data + 4096, expect_top);   /* as high as possible */
    ck_assert_uint_ge(at, FAKE_FOOTPRINT_END);
    ck_assert_mem_eq(m->ram + at, data, sizeof data);
    machine_free(m);
    drop_temp(path);
    drop_temp(initrd);
}

START_TEST(initrd_goes_high_and_page_aligned)
{
    check_initrd_at_top(0x37FFFFFF, RAM_SIZE);   /* RAM end is lower */
    check_initrd_at_top(0x2FFFFFF, 0x3000000);   /* initrd_addr_max is lower */
}
END_TEST

/* ---- ACPI ---- */

static uint8_t sum_bytes(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t k = 0; k < len; k++)
        s = (uint8_t)(s + p[k]);
    return s;
}

/* Returns the table at addr after checking its signature and checksum. */
static const uint8_t *sdt(const struct machine *m, uint32_t addr, const char *sig)
{
    ck_assert_uint_lt(addr, m->ram_size);
    const uint8_t *t = m->ram + addr;
    ck_assert_mem_eq(t, sig, 4);
    ck_assert_uint_eq(sum_bytes(t, le_get32(t + 4)), 0);
    return t;
}

static uint32_t find_rsdp(const struct machine *m)
{
    for (uint32_t a = 0xE0000; a < 0x100000; a += 16)
        if (!memcmp(m->ram + a, "RSD PTR ", 8))
            return a;
    ck_abort_msg("no RSDP in 0xE0000-0xFFFFF");
    return 0;
}

static bool reserved_in_e820(const uint8_t *bp, uint32_t addr)
{
    for (int k = 0; k < bp[BP_E820_ENTRIES]; k++) {
        const uint8_t *rec = bp + BP_E820_TABLE + k * E820_RECORD_SIZE;
        uint64_t base = le_get(rec, 8), size = le_get(rec + 8, 8);
        if (addr >= base && addr < base + size)
            return le_get32(rec + 16) == E820_RESERVED;
    }
    return false;
}

START_TEST(acpi_tables_link_and_sum)
{
    struct machine *m = boot_fake(RAM_SIZE, NULL, NULL);
    uint32_t rsdp_addr = find_rsdp(m);
    const uint8_t *rsdp = m->ram + rsdp_addr;
    ck_assert_uint_eq(sum_bytes(rsdp, 20), 0);
    ck_assert_uint_eq(rsdp[15], 0);
    ck_assert_uint_eq(le_get(zero_page(m) + BP_ACPI_RSDP_ADDR, 8), rsdp_addr);
    ck_assert(reserved_in_e820(zero_page(m), rsdp_addr));

    const uint8_t *rsdt = sdt(m, le_get32(rsdp + 16), "RSDT");
    ck_assert_uint_eq(le_get32(rsdt + 4), 40);
    const uint8_t *fadt = sdt(m, le_get32(rsdt + 36), "FACP");
    ck_assert_uint_eq(le_get32(fadt + 4), 116);
    ck_assert_uint_eq(le_get16(fadt + 46), ACPI_SCI_IRQ);
    ck_assert_uint_eq(le_get32(fadt + 48), ACPI_SMI_CMD_PORT);
    ck_assert_uint_eq(fadt[52], ACPI_SMI_ENABLE);
    ck_assert_uint_eq(fadt[53], ACPI_SMI_DISABLE);
    ck_assert_uint_eq(le_get32(fadt + 56), ACPI_PM_BASE);
    ck_assert_uint_eq(le_get32(fadt + 64), ACPI_PM_BASE + 4);
    ck_assert_uint_eq(le_get32(fadt + 76), ACPI_PM_BASE + 8);
    ck_assert_uint_eq(fadt[88], 4);
    ck_assert_uint_eq(fadt[89], 2);
    ck_assert_uint_eq(fadt[91], 4);
    ck_assert_uint_eq(le_get32(fadt + 112) & 1, 1);       /* WBINVD */

    uint32_t facs = le_get32(fadt + 36);
    ck_assert_uint_eq(facs % 64, 0);
    ck_assert_mem_eq(m->ram + facs, "FACS", 4);
    ck_assert_uint_eq(le_get32(m->ram + facs + 4), 64);

    const uint8_t *dsdt = sdt(m, le_get32(fadt + 40), "DSDT");
    uint32_t len = le_get32(dsdt + 4);
    static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };
    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03 };
    ck_assert(memmem(dsdt + 36, len - 36, s5, sizeof s5) != NULL);
    ck_assert(memmem(dsdt + 36, len - 36, hid, sizeof hid) != NULL);
    machine_free(m);
}
END_TEST

/* Scope(\_SB) and Device(PCI0) PkgLengths cover exactly the rest of the DSDT. */
START_TEST(acpi_dsdt_package_lengths)
{
    struct acpi_tables *t = malloc(sizeof *t);
    ck_assert(acpi_build(t, ACPI_TABLES_BASE));
    ck_assert_uint_eq(t->rsdp_addr, ACPI_TABLES_BASE);
    const uint8_t *rsdt = t->bytes + (le_get32(t->bytes + 16) - t->base);
    const uint8_t *fadt = t->bytes + (le_get32(rsdt + 36) - t->base);
    const uint8_t *dsdt = t->bytes + (le_get32(fadt + 40) - t->base);
    uint32_t len = le_get32(dsdt + 4);
    const uint8_t *aml = dsdt + 36 + 12;                   /* past the _S5 package */
    ck_assert_uint_eq(aml[0], 0x10);                       /* ScopeOp */
    ck_assert_uint_eq(aml[1], len - 36 - 12 - 1);          /* one-byte PkgLength */
    ck_assert_mem_eq(aml + 2, "\\_SB_", 5);
    ck_assert_uint_eq(aml[7], 0x5B);
    ck_assert_uint_eq(aml[8], 0x82);                       /* DeviceOp */
    ck_assert_uint_eq(aml[9], len - 36 - 12 - 9);
    ck_assert_mem_eq(aml + 10, "PCI0", 4);
    ck_assert(!acpi_build(t, ACPI_TABLES_BASE + 4));       /* misaligned */
    free(t);
}
END_TEST

/* ---- bad input ---- */

static void expect_kernel_error(const void *bytes, size_t len, uint32_t ram_size, const char *cmdline,
                                const char *want)
{
    char *path = write_temp(bytes, len);
    struct machine *m = new_board(ram_size);
    char err[200] = "";
    ck_assert(!linuxboot_setup(m, path, NULL, cmdline, err, sizeof err));
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    ck_assert(strchr(err, '\n') == NULL);
    machine_free(m);
    drop_temp(path);
}

START_TEST(rejects_bad_kernels)
{
    struct fake_kernel k;
    uint8_t junk[2000];
    memset(junk, 'x', sizeof junk);
    expect_kernel_error(junk, sizeof junk, RAM_SIZE, NULL, "is not a bzImage");
    expect_kernel_error(junk, 10, RAM_SIZE, NULL, "is not a bzImage");

    build_fake_kernel(&k, 0x205);
    expect_kernel_error(k.bytes, k.size, RAM_SIZE, NULL, "boot protocol 2.05; plan86 needs 2.06");

    build_fake_kernel(&k, 0x20F);
    k.bytes[BP_LOADFLAGS] = 0;
    expect_kernel_error(k.bytes, k.size, RAM_SIZE, NULL, "zImage");

    build_fake_kernel(&k, 0x20F);
    expect_kernel_error(k.bytes, SETUP_SIZE + 100, RAM_SIZE, NULL, "is truncated");
    expect_kernel_error(k.bytes, 0x210, RAM_SIZE, NULL, "truncated inside its setup header");

    expect_kernel_error(k.bytes, k.size, 16u << 20, NULL, "needs 20 MiB of RAM to boot; the machine has 16 MiB");

    char long_cmdline[3000];
    memset(long_cmdline, 'a', sizeof long_cmdline - 1);
    long_cmdline[sizeof long_cmdline - 1] = 0;
    expect_kernel_error(k.bytes, k.size, RAM_SIZE, long_cmdline, "at most 2047");
}
END_TEST

START_TEST(rejects_missing_files_and_huge_initrd)
{
    struct machine *m = new_board(RAM_SIZE);
    char err[200] = "";
    ck_assert(!linuxboot_setup(m, "/nonexistent/bzImage", NULL, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot open kernel /nonexistent/bzImage") != NULL, "%s", err);
    machine_free(m);

    struct fake_kernel k;
    build_fake_kernel(&k, 0x20F);
    char *path = write_kernel(&k);
    char *initrd = write_temp("", 0);
    ck_assert_int_eq(truncate(initrd, 60u << 20), 0);       /* sparse: 60 MiB */
    m = new_board(RAM_SIZE);
    ck_assert(!linuxboot_setup(m, path, initrd, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "does not fit") != NULL, "%s", err);
    machine_free(m);
    m = new_board(RAM_SIZE);
    ck_assert(!linuxboot_setup(m, path, "/nonexistent/initrd", NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot open initrd") != NULL, "%s", err);
    machine_free(m);
    drop_temp(initrd);
    drop_temp(path);
}
END_TEST

static Suite *linuxboot_suite(void)
{
    Suite *s = suite_create("linuxboot");
    TCase *tc = tcase_create("boot");
    tcase_add_test(tc, entry_state_follows_the_32bit_protocol);
    tcase_add_test(tc, payload_runs_and_prints_the_command_line);
    tcase_add_test(tc, zero_page_fields);
    tcase_add_test(tc, e820_map_in_the_zero_page);
    tcase_add_test(tc, e820_reserves_firmware_above_ram);
    tcase_add_test(tc, initrd_goes_high_and_page_aligned);
    tcase_add_test(tc, acpi_tables_link_and_sum);
    tcase_add_test(tc, acpi_dsdt_package_lengths);
    tcase_add_test(tc, rejects_bad_kernels);
    tcase_add_test(tc, rejects_missing_files_and_huge_initrd);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(linuxboot_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
