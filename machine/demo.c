/* demo.c — the built-in demo program, hand-assembled (see demo.h).
 *
 * ROM layout (4 KiB at linear 0xFFFFF000; real-mode CS base is 0xFFFF0000,
 * so ROM offset x is IP 0xF000 + x before the switch):
 *   0x000 GDT: null, 0x08 flat 4 GiB code (32-bit), 0x10 flat 4 GiB data
 *   0x018 GDT pointer: limit 0x17, base 0xFFFFF000
 *   0x020 powers of ten 1e9 .. 1, then 0 (dwords)
 *   0x050 the banner, NUL-terminated
 *   0x100 16-bit entry; 0x120 32-bit code; 0xFF0 reset vector
 * A dword counter lives in RAM at 0x1000.
 */
#include "demo.h"

#include <string.h>

#include "machine.h"

#define DEMO_ROM_BASE 0xFFFFF000u
#define DEMO_ROM_SIZE 0x1000u

static const uint8_t demo_gdt[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* null descriptor */
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x9A, 0xCF, 0x00, /* 0x08: base 0, limit 4G, code r/x, D=1 */
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x92, 0xCF, 0x00, /* 0x10: base 0, limit 4G, data r/w, B=1 */
    0x17, 0x00, 0x00, 0xF0, 0xFF, 0xFF,             /* 0x18: GDT pointer: limit 0x17, base 0xFFFFF000 */
};

static const uint8_t demo_real_mode[] = {           /* at 0x100, IP 0xF100 */
    0xFA,                                           /* cli */
    0x66, 0x2E, 0x0F, 0x01, 0x16, 0x18, 0xF0,       /* o32 lgdt cs:[0xF018] */
    0x66, 0xB8, 0x11, 0x00, 0x00, 0x00,             /* mov eax, 0x11        ; PE | ET */
    0x0F, 0x22, 0xC0,                               /* mov cr0, eax */
    0x66, 0xEA, 0x20, 0xF1, 0xFF, 0xFF, 0x08, 0x00, /* jmp dword 0x08:0xFFFFF120 */
};

static const uint8_t demo_protected_mode[] = {      /* at 0x120 */
    0x66, 0xB8, 0x10, 0x00,                         /* 120 mov ax, 0x10 */
    0x8E, 0xD8,                                     /* 124 mov ds, ax */
    0x8E, 0xC0,                                     /* 126 mov es, ax */
    0x8E, 0xD0,                                     /* 128 mov ss, ax */
    0xBC, 0x00, 0x00, 0x09, 0x00,                   /* 12a mov esp, 0x90000 */
    0xBE, 0x50, 0xF0, 0xFF, 0xFF,                   /* 12f mov esi, banner */
    0x8A, 0x06,                                     /* 134 banner: mov al, [esi] */
    0x3C, 0x00,                                     /* 136 cmp al, 0 */
    0x74, 0x07,                                     /* 138 je 141 */
    0xE6, 0xE9,                                     /* 13a out 0xE9, al */
    0x83, 0xC6, 0x01,                               /* 13c add esi, 1 */
    0xEB, 0xF3,                                     /* 13f jmp 134 */
    0xC7, 0x05, 0x00, 0x10, 0x00, 0x00,             /* 141 mov dword [0x1000], DEMO_FIB_COUNT */
    DEMO_FIB_COUNT, 0x00, 0x00, 0x00,
    0xBB, 0x00, 0x00, 0x00, 0x00,                   /* 14b mov ebx, 0          ; a */
    0xB9, 0x01, 0x00, 0x00, 0x00,                   /* 150 mov ecx, 1          ; b */
    0x89, 0xDA,                                     /* 155 fib: mov edx, ebx   ; value to print */
    0xBE, 0x20, 0xF0, 0xFF, 0xFF,                   /* 157 mov esi, powers of ten */
    0xBF, 0x00, 0x00, 0x00, 0x00,                   /* 15c mov edi, 0          ; digit printed yet */
    0x8B, 0x2E,                                     /* 161 power: mov ebp, [esi] */
    0x83, 0xFD, 0x00,                               /* 163 cmp ebp, 0 */
    0x74, 0x26,                                     /* 166 je 18e */
    0xB0, 0x30,                                     /* 168 mov al, '0' */
    0x39, 0xEA,                                     /* 16a count: cmp edx, ebp */
    0x72, 0x06,                                     /* 16c jb 174 */
    0x29, 0xEA,                                     /* 16e sub edx, ebp */
    0x04, 0x01,                                     /* 170 add al, 1 */
    0xEB, 0xF6,                                     /* 172 jmp 16a */
    0x3C, 0x30,                                     /* 174 cmp al, '0'        ; skip leading zeros */
    0x75, 0x0A,                                     /* 176 jne 182 */
    0x83, 0xFF, 0x00,                               /* 178 cmp edi, 0 */
    0x75, 0x05,                                     /* 17b jne 182 */
    0x83, 0xFD, 0x01,                               /* 17d cmp ebp, 1         ; but print a lone 0 */
    0x75, 0x07,                                     /* 180 jne 189 */
    0xE6, 0xE9,                                     /* 182 out 0xE9, al */
    0xBF, 0x01, 0x00, 0x00, 0x00,                   /* 184 mov edi, 1 */
    0x83, 0xC6, 0x04,                               /* 189 add esi, 4 */
    0xEB, 0xD3,                                     /* 18c jmp 161 */
    0x89, 0xC8,                                     /* 18e mov eax, ecx        ; (a, b) = (b, a + b) */
    0x01, 0xD9,                                     /* 190 add ecx, ebx */
    0x89, 0xC3,                                     /* 192 mov ebx, eax */
    0x83, 0x05, 0x00, 0x10, 0x00, 0x00, 0xFF,       /* 194 add dword [0x1000], -1 */
    0x74, 0x06,                                     /* 19b je 1a3 */
    0xB0, 0x20,                                     /* 19d mov al, ' ' */
    0xE6, 0xE9,                                     /* 19f out 0xE9, al */
    0xEB, 0xB2,                                     /* 1a1 jmp 155 */
    0xB0, 0x0A,                                     /* 1a3 mov al, '\n' */
    0xE6, 0xE9,                                     /* 1a5 out 0xE9, al */
    0xF4,                                           /* 1a7 hlt                 ; IF=0: for good */
    0xEB, 0xF9,                                     /* 1a8 jmp 1a3 */
};

static const uint8_t demo_reset_vector[] = {        /* at 0xFF0, IP 0xFFF0 */
    0xE9, 0x0D, 0xF1,                               /* jmp near 0xF100 */
};

static void put_dword(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static void build_rom(uint8_t *rom)
{
    static const struct { uint32_t offset; const uint8_t *bytes; size_t len; } pieces[] = {
        { 0x000, demo_gdt, sizeof demo_gdt },
        { 0x050, (const uint8_t *)DEMO_BANNER, sizeof DEMO_BANNER },
        { 0x100, demo_real_mode, sizeof demo_real_mode },
        { 0x120, demo_protected_mode, sizeof demo_protected_mode },
        { 0xFF0, demo_reset_vector, sizeof demo_reset_vector },
    };
    memset(rom, 0xF4, DEMO_ROM_SIZE);   /* stray jumps land on HLT */
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++)
        memcpy(rom + pieces[k].offset, pieces[k].bytes, pieces[k].len);
    uint32_t power = 1000000000u;
    for (uint32_t off = 0x20; power; off += 4, power /= 10)
        put_dword(rom + off, power);
    put_dword(rom + 0x20 + 40, 0);
}

const char *demo_load(struct machine *m)
{
    uint8_t rom[DEMO_ROM_SIZE];
    build_rom(rom);
    return machine_map_rom(m, DEMO_ROM_BASE, rom, DEMO_ROM_SIZE);
}
