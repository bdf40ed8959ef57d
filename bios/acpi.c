/* acpi.c — builds the minimal ACPI 1.0 table set (see acpi.h).
 *
 * Table layouts follow the ACPI 1.0b specification (RSDP, SDT header, FADT
 * of 116 bytes, FACS of 64 bytes); the DSDT's AML is assembled here from a
 * handful of encoders (NameOp, PackageOp, ScopeOp, DeviceOp, integers).
 */
#include "acpi.h"

#include <string.h>

#include "acpi_pm.h"
#include "le.h"

#define SDT_HEADER_SIZE 36
#define SDT_CHECKSUM_OFFSET 9
#define RSDP_SIZE 20
#define RSDP_CHECKSUM_OFFSET 8
#define FACS_SIZE 64
#define FADT_SIZE 116
#define RSDT_SIZE (SDT_HEADER_SIZE + 4)

static const char acpi_oem_id[6] = { 'P', 'L', 'A', 'N', '8', '6' };
static const char acpi_oem_table_id[8] = { 'P', 'L', 'A', 'N', '8', '6', 'P', 'C' };
static const char acpi_creator_id[4] = { 'P', 'L', '8', '6' };

/* FADT flags (ACPI 1.0 table 5-9). */
enum {
    FADT_WBINVD = 1u << 0,
    FADT_PROC_C1 = 1u << 2,
    FADT_PWR_BUTTON = 1u << 4,     /* no fixed-feature power button */
    FADT_SLP_BUTTON = 1u << 5,     /* no fixed-feature sleep button */
    FADT_FIX_RTC = 1u << 6,        /* no RTC wake status in PM1 */
};

/* C2/C3 latencies above these limits mean "not supported". */
#define FADT_NO_C2_LATENCY 0x0FFFu
#define FADT_NO_C3_LATENCY 0x0FFFu

/* ---- checksums and headers ---- */

static void put_checksum(uint8_t *table, uint32_t len, uint32_t checksum_offset)
{
    uint8_t sum = 0;
    table[checksum_offset] = 0;
    for (uint32_t k = 0; k < len; k++)
        sum = (uint8_t)(sum + table[k]);
    table[checksum_offset] = (uint8_t)-sum;
}

static void put_sdt_header(uint8_t *p, const char signature[4], uint32_t len, uint8_t revision)
{
    memcpy(p, signature, 4);
    le_put32(p + 4, len);
    p[8] = revision;
    memcpy(p + 10, acpi_oem_id, sizeof acpi_oem_id);
    memcpy(p + 16, acpi_oem_table_id, sizeof acpi_oem_table_id);
    le_put32(p + 24, 1);                       /* OEM revision */
    memcpy(p + 28, acpi_creator_id, sizeof acpi_creator_id);
    le_put32(p + 32, 1);                       /* creator revision */
}

/* ---- AML ---- */

#define AML_MAX 512

struct aml {
    uint8_t b[AML_MAX];
    size_t len;
    bool overflow;
};

enum {
    AML_ZERO_OP = 0x00, AML_ONE_OP = 0x01, AML_NAME_OP = 0x08, AML_BYTE_PREFIX = 0x0A,
    AML_WORD_PREFIX = 0x0B, AML_DWORD_PREFIX = 0x0C, AML_SCOPE_OP = 0x10, AML_PACKAGE_OP = 0x12,
    AML_EXT_OP_PREFIX = 0x5B, AML_DEVICE_OP = 0x82, AML_ROOT_CHAR = 0x5C,
};

static void aml_bytes(struct aml *a, const void *src, size_t n)
{
    if (a->overflow || n > AML_MAX - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->b + a->len, src, n);
    a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

/* The smallest encoding of an integer constant. */
static void aml_integer(struct aml *a, uint32_t v)
{
    uint8_t enc[5];
    int width = v <= 0xFF ? 1 : v <= 0xFFFF ? 2 : 4;
    if (v <= AML_ONE_OP) {
        aml_byte(a, (uint8_t)v);
        return;
    }
    enc[0] = width == 1 ? AML_BYTE_PREFIX : width == 2 ? AML_WORD_PREFIX : AML_DWORD_PREFIX;
    le_put(enc + 1, v, width);
    aml_bytes(a, enc, (size_t)width + 1);
}

/* PkgLength for a body of body_len bytes: the count includes its own bytes. */
static void aml_pkg_length(struct aml *a, size_t body_len)
{
    size_t extra = body_len + 1 < 0x40 ? 0 : body_len + 2 < 0x1000 ? 1 : body_len + 3 < 0x100000 ? 2 : 3;
    size_t total = body_len + 1 + extra;
    if (extra == 0) {
        aml_byte(a, (uint8_t)total);
        return;
    }
    aml_byte(a, (uint8_t)((extra << 6) | (total & 0x0F)));
    for (size_t k = 0; k < extra; k++)
        aml_byte(a, (uint8_t)(total >> (4 + 8 * k)));
}

static void aml_name_integer(struct aml *a, const char name[4], uint32_t v)
{
    aml_byte(a, AML_NAME_OP);
    aml_bytes(a, name, 4);
    aml_integer(a, v);
}

/* Name(name, EisaId("AAA####")): the compressed 32-bit EISA ID. */
static void aml_name_eisa_id(struct aml *a, const char name[4], const char id[7])
{
    unsigned l0 = (unsigned)(id[0] - '@') & 0x1F, l1 = (unsigned)(id[1] - '@') & 0x1F;
    unsigned l2 = (unsigned)(id[2] - '@') & 0x1F;
    uint8_t enc[5] = { AML_DWORD_PREFIX, (uint8_t)((l0 << 2) | (l1 >> 3)), (uint8_t)((l1 << 5) | l2) };
    for (int k = 0; k < 2; k++) {
        char hex[3] = { id[3 + 2 * k], id[4 + 2 * k], 0 };
        unsigned v = 0;
        for (int d = 0; d < 2; d++)
            v = v * 16 + (unsigned)(hex[d] <= '9' ? hex[d] - '0' : hex[d] - 'A' + 10);
        enc[3 + k] = (uint8_t)v;
    }
    aml_byte(a, AML_NAME_OP);
    aml_bytes(a, name, 4);
    aml_bytes(a, enc, sizeof enc);
}

/* Name(name, Package() { values... }) */
static void aml_name_package(struct aml *a, const char name[4], const uint32_t *values, uint8_t count)
{
    struct aml body = { .len = 0 };
    aml_byte(&body, count);
    for (uint8_t k = 0; k < count; k++)
        aml_integer(&body, values[k]);
    aml_byte(a, AML_NAME_OP);
    aml_bytes(a, name, 4);
    aml_byte(a, AML_PACKAGE_OP);
    aml_pkg_length(a, body.len);
    aml_bytes(a, body.b, body.len);
    a->overflow |= body.overflow;
}

/* A named block: opcode bytes, PkgLength, the name string, the body. */
static void aml_block(struct aml *a, const uint8_t *op, size_t op_len, const uint8_t *name,
                      size_t name_len, const struct aml *body)
{
    aml_bytes(a, op, op_len);
    aml_pkg_length(a, name_len + body->len);
    aml_bytes(a, name, name_len);
    aml_bytes(a, body->b, body->len);
    a->overflow |= body->overflow;
}

/* \_S5 and Scope(\_SB) { Device(PCI0) { _HID PNP0A03, _ADR 0, _UID 0 } } */
static void build_dsdt_aml(struct aml *a)
{
    static const uint8_t scope_op[] = { AML_SCOPE_OP };
    static const uint8_t device_op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
    static const uint8_t sb_path[] = { AML_ROOT_CHAR, '_', 'S', 'B', '_' };
    static const uint8_t pci0_name[] = { 'P', 'C', 'I', '0' };
    const uint32_t s5[4] = { ACPI_SLP_TYP_S5, ACPI_SLP_TYP_S5, 0, 0 };

    aml_name_package(a, "_S5_", s5, 4);

    struct aml pci0 = { .len = 0 };
    aml_name_eisa_id(&pci0, "_HID", "PNP0A03");
    aml_name_integer(&pci0, "_ADR", 0);
    aml_name_integer(&pci0, "_UID", 0);
    struct aml sb = { .len = 0 };
    aml_block(&sb, device_op, sizeof device_op, pci0_name, sizeof pci0_name, &pci0);
    aml_block(a, scope_op, sizeof scope_op, sb_path, sizeof sb_path, &sb);
}

/* ---- the tables ---- */

/* Reserves len bytes at the next `align` boundary; UINT32_MAX when full. */
static uint32_t place(struct acpi_tables *t, uint32_t len, uint32_t align)
{
    uint32_t at = (t->size + align - 1) & ~(align - 1);
    if (at > ACPI_TABLES_MAX || len > ACPI_TABLES_MAX - at)
        return UINT32_MAX;
    t->size = at + len;
    return at;
}

static void build_rsdp(uint8_t *p, uint32_t rsdt_addr)
{
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, acpi_oem_id, sizeof acpi_oem_id);
    p[15] = 0;                                 /* revision 0: ACPI 1.0 */
    le_put32(p + 16, rsdt_addr);
    put_checksum(p, RSDP_SIZE, RSDP_CHECKSUM_OFFSET);
}

static void build_facs(uint8_t *p)
{
    memcpy(p, "FACS", 4);
    le_put32(p + 4, FACS_SIZE);                /* the rest (wake vector, lock) stays 0 */
}

static void build_rsdt(uint8_t *p, uint32_t fadt_addr)
{
    put_sdt_header(p, "RSDT", RSDT_SIZE, 1);
    le_put32(p + SDT_HEADER_SIZE, fadt_addr);
    put_checksum(p, RSDT_SIZE, SDT_CHECKSUM_OFFSET);
}

static void build_fadt(uint8_t *p, uint32_t facs_addr, uint32_t dsdt_addr)
{
    put_sdt_header(p, "FACP", FADT_SIZE, 1);
    le_put32(p + 36, facs_addr);               /* FIRMWARE_CTRL */
    le_put32(p + 40, dsdt_addr);
    p[44] = 0;                                 /* INT_MODEL: dual 8259 */
    le_put16(p + 46, ACPI_SCI_IRQ);
    le_put32(p + 48, ACPI_SMI_CMD_PORT);       /* SMI_CMD: the OS turns ACPI mode on here */
    p[52] = ACPI_SMI_ENABLE;
    p[53] = ACPI_SMI_DISABLE;
    le_put32(p + 56, ACPI_PM_BASE + ACPI_PM1_EVT_OFFSET);
    le_put32(p + 64, ACPI_PM_BASE + ACPI_PM1_CNT_OFFSET);
    le_put32(p + 76, ACPI_PM_BASE + ACPI_PM_TMR_OFFSET);
    p[88] = ACPI_PM1_EVT_LEN;
    p[89] = ACPI_PM1_CNT_LEN;
    p[91] = ACPI_PM_TMR_LEN;
    le_put16(p + 96, FADT_NO_C2_LATENCY);
    le_put16(p + 98, FADT_NO_C3_LATENCY);
    le_put32(p + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC);
    put_checksum(p, FADT_SIZE, SDT_CHECKSUM_OFFSET);
}

static bool build_dsdt(struct acpi_tables *t, uint32_t *dsdt_off)
{
    struct aml aml = { .len = 0 };
    build_dsdt_aml(&aml);
    uint32_t len = SDT_HEADER_SIZE + (uint32_t)aml.len;
    *dsdt_off = place(t, len, 16);
    if (aml.overflow || *dsdt_off == UINT32_MAX)
        return false;
    uint8_t *p = t->bytes + *dsdt_off;
    put_sdt_header(p, "DSDT", len, 1);         /* revision 1: 32-bit integers */
    memcpy(p + SDT_HEADER_SIZE, aml.b, aml.len);
    put_checksum(p, len, SDT_CHECKSUM_OFFSET);
    return true;
}

bool acpi_build(struct acpi_tables *t, uint32_t base)
{
    if (base % 16 || base > UINT32_MAX - ACPI_TABLES_MAX)
        return false;
    memset(t, 0, sizeof *t);
    t->base = base;
    uint32_t rsdp = place(t, RSDP_SIZE, 16);
    uint32_t facs = place(t, FACS_SIZE, 64);
    uint32_t rsdt = place(t, RSDT_SIZE, 16);
    uint32_t fadt = place(t, FADT_SIZE, 16);
    uint32_t dsdt;
    if (!build_dsdt(t, &dsdt))
        return false;
    build_rsdp(t->bytes + rsdp, base + rsdt);
    build_facs(t->bytes + facs);
    build_rsdt(t->bytes + rsdt, base + fadt);
    build_fadt(t->bytes + fadt, base + facs, base + dsdt);
    t->rsdp_addr = base + rsdp;
    return true;
}
