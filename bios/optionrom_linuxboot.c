/* optionrom_linuxboot.c — the Linux boot option ROM (see optionrom_linuxboot.h).
 *
 * The ROM is laid out as:
 *   0x000  option ROM header: 55 AA, size 1 (x 512 bytes), init entry (RETF:
 *          nothing to set up), PnP header offset at 0x1A
 *   0x020  PnP expansion header ("$PnP", 2 x 16 bytes, checksummed), whose
 *          Boot Entry Vector is the boot code
 *   0x040  product name
 *   0x060  boot code (16-bit real mode, hand-assembled below)
 *   0x110  table of fw_cfg keys: address, size, data for each blob; 0 ends it
 *   0x1FF  checksum byte (all 512 bytes sum to 0)
 */
#include "optionrom_linuxboot.h"

#include <string.h>

#include "devices/fw_cfg.h"
#include "le.h"

enum {
    ROM_INIT = 0x03,
    ROM_PNP_POINTER = 0x1A,
    PNP_HEADER = 0x20,
    PNP_HEADER_LEN = 0x20,
    PNP_CHECKSUM = PNP_HEADER + 0x09,
    PNP_PRODUCT_NAME = PNP_HEADER + 0x10,
    PNP_BEV = PNP_HEADER + 0x1A,
    ROM_NAME = 0x40,
    ROM_CODE = 0x60,
    ROM_KEY_TABLE = 0x110,
};

#define OPCODE_RETF 0xCB

/* The boot code, assembled for offset 0x60 (relative jumps and calls). */
static const uint8_t boot_code[] = {
    /* bev: */
    0xFC,                   /* 60 cld */
    0x0E,                   /* 61 push cs */
    0x1F,                   /* 62 pop ds                   ; the key table is in this ROM */
    0xBE, 0x10, 0x01,       /* 63 mov si, 0x110 */
    /* next_item: */
    0xAD,                   /* 66 lodsw                    ; ax = address key */
    0x85, 0xC0,             /* 67 test ax, ax */
    0x74, 0x19,             /* 69 jz boot_kernel (0x84) */
    0x89, 0xC3,             /* 6B mov bx, ax */
    0xE8, 0x33, 0x00,       /* 6D call read32 (0xA3) */
    0x66, 0x89, 0xC7,       /* 70 mov edi, eax             ; edi = where the blob goes */
    0xAD,                   /* 73 lodsw                    ; ax = size key */
    0x89, 0xC3,             /* 74 mov bx, ax */
    0xE8, 0x2A, 0x00,       /* 76 call read32 (0xA3) */
    0x66, 0x89, 0xC1,       /* 79 mov ecx, eax             ; ecx = its length */
    0xAD,                   /* 7C lodsw                    ; ax = data key */
    0x89, 0xC3,             /* 7D mov bx, ax */
    0xE8, 0x33, 0x00,       /* 7F call dma_read (0xB5) */
    0xEB, 0xE2,             /* 82 jmp next_item (0x66) */
    /* boot_kernel: */
    0xBB, FW_CFG_SETUP_ADDR, 0x00, /* 84 mov bx, FW_CFG_SETUP_ADDR */
    0xE8, 0x19, 0x00,       /* 87 call read32 (0xA3) */
    0x66, 0xC1, 0xE8, 0x04, /* 8A shr eax, 4               ; ax = setup segment */
    0xFA,                   /* 8E cli */
    0x8E, 0xD8,             /* 8F mov ds, ax */
    0x8E, 0xC0,             /* 91 mov es, ax */
    0x8E, 0xE0,             /* 93 mov fs, ax */
    0x8E, 0xE8,             /* 95 mov gs, ax */
    0x8E, 0xD0,             /* 97 mov ss, ax */
    0xBC, 0xF0, 0xFF,       /* 99 mov sp, 0xFFF0           ; top of the setup segment */
    0x83, 0xC0, 0x20,       /* 9C add ax, 0x20 */
    0x50,                   /* 9F push ax */
    0x6A, 0x00,             /* A0 push 0 */
    0xCB,                   /* A2 retf                     ; jmp (seg + 0x20):0 */
    /* read32: eax = the first dword of fw_cfg item bx (port interface) */
    0xBA, 0x10, 0x05,       /* A3 mov dx, 0x510 */
    0x89, 0xD8,             /* A6 mov ax, bx */
    0xEF,                   /* A8 out dx, ax               ; select */
    0x42,                   /* A9 inc dx                   ; 0x511, data */
    0xB9, 0x04, 0x00,       /* AA mov cx, 4 */
    0xEC,                   /* AD in al, dx */
    0x66, 0xC1, 0xC8, 0x08, /* AE ror eax, 8               ; four bytes, little-endian */
    0xE2, 0xF9,             /* B2 loop 0xAD */
    0xC3,                   /* B4 ret */
    /* dma_read: item bx, ecx bytes to physical edi, by a DMA block on the stack */
    0x66, 0x0F, 0xCF,       /* B5 bswap edi */
    0x66, 0x57,             /* B8 push edi                 ; address, low dword (big-endian) */
    0x66, 0x6A, 0x00,       /* BA push dword 0             ; address, high dword */
    0x66, 0x0F, 0xC9,       /* BD bswap ecx */
    0x66, 0x51,             /* C0 push ecx                 ; length */
    0x66, 0x0F, 0xB7, 0xC3, /* C2 movzx eax, bx */
    0x66, 0xC1, 0xE0, 0x10, /* C6 shl eax, 16 */
    0x0C, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, /* CA or al, SELECT | READ */
    0x66, 0x0F, 0xC8,       /* CC bswap eax */
    0x66, 0x50,             /* CF push eax                 ; control */
    0x8C, 0xD0,             /* D1 mov ax, ss */
    0x66, 0x0F, 0xB7, 0xC0, /* D3 movzx eax, ax */
    0x66, 0xC1, 0xE0, 0x04, /* D7 shl eax, 4 */
    0x66, 0x0F, 0xB7, 0xD4, /* DB movzx edx, sp */
    0x66, 0x01, 0xD0,       /* DF add eax, edx             ; physical address of the block */
    0x66, 0x0F, 0xC8,       /* E2 bswap eax */
    0x66, 0x89, 0xC3,       /* E5 mov ebx, eax */
    0x66, 0x31, 0xC0,       /* E8 xor eax, eax */
    0xBA, 0x14, 0x05,       /* EB mov dx, 0x514 */
    0x66, 0xEF,             /* EE out dx, eax              ; high half of the address: 0 */
    0x66, 0x89, 0xD8,       /* F0 mov eax, ebx */
    0xBA, 0x18, 0x05,       /* F3 mov dx, 0x518 */
    0x66, 0xEF,             /* F6 out dx, eax              ; low half: starts the transfer */
    0x89, 0xE5,             /* F8 mov bp, sp */
    0x66, 0x8B, 0x46, 0x00, /* FA mov eax, [bp]            ; control: 0 when done, no error */
    0x83, 0xC4, 0x10,       /* FE add sp, 16 */
    0x66, 0x85, 0xC0,       /* 101 test eax, eax */
    0x75, 0x01,             /* 104 jnz fail (0x107) */
    0xC3,                   /* 106 ret */
    /* fail: */
    0xCD, 0x18,             /* 107 int 18h                 ; boot failure */
};

_Static_assert(ROM_CODE + sizeof boot_code <= ROM_KEY_TABLE, "boot code overlaps the key table");

/* Address, size and data keys of each blob, in loading order. */
static const uint16_t blob_keys[] = {
    FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA,
    FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA,
    FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA,
    FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA,
    0,
};

static const char product_name[] = "plan86 Linux boot";

_Static_assert(ROM_KEY_TABLE + sizeof blob_keys < OPTIONROM_LINUXBOOT_SIZE - 1, "key table too long");
_Static_assert(ROM_NAME + sizeof product_name <= ROM_CODE, "product name too long");

/* The byte that makes [p, p+len) sum to zero, given it is stored as 0 there. */
static uint8_t checksum_byte(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t k = 0; k < len; k++)
        sum = (uint8_t)(sum + p[k]);
    return (uint8_t)-sum;
}

static void build_pnp_header(uint8_t *rom)
{
    uint8_t *pnp = rom + PNP_HEADER;
    memcpy(pnp, "$PnP", 4);
    pnp[4] = 1;                          /* structure revision */
    pnp[5] = PNP_HEADER_LEN / 16;        /* length in 16-byte units */
    le_put16(rom + PNP_PRODUCT_NAME, ROM_NAME);
    le_put16(rom + PNP_BEV, ROM_CODE);
    rom[PNP_CHECKSUM] = checksum_byte(pnp, PNP_HEADER_LEN);
}

void optionrom_linuxboot_build(uint8_t rom[OPTIONROM_LINUXBOOT_SIZE])
{
    memset(rom, 0, OPTIONROM_LINUXBOOT_SIZE);
    rom[0] = 0x55;
    rom[1] = 0xAA;
    rom[2] = OPTIONROM_LINUXBOOT_SIZE / 512;
    rom[ROM_INIT] = OPCODE_RETF;
    le_put16(rom + ROM_PNP_POINTER, PNP_HEADER);
    build_pnp_header(rom);
    memcpy(rom + ROM_NAME, product_name, sizeof product_name);
    memcpy(rom + ROM_CODE, boot_code, sizeof boot_code);
    for (size_t k = 0; k < sizeof blob_keys / sizeof blob_keys[0]; k++)
        le_put16(rom + ROM_KEY_TABLE + 2 * k, blob_keys[k]);
    rom[OPTIONROM_LINUXBOOT_SIZE - 1] = checksum_byte(rom, OPTIONROM_LINUXBOOT_SIZE);
}
