/* bench-cpu.c — speed of the plan86 CPU core on a few loops, against the host.
 *
 * Promises: runs each loop as guest code in 32-bit flat protected mode (CPL 0,
 * the tests' pm_guest board) and the same instruction sequence natively
 * (inline assembly), and the same loop bytes under QEMU's software emulation
 * (bench-qemu.h; skipped with a notice when qemu-system-i386 is absent). It
 * times all three on the wall clock and prints one table: MIPS of each and the
 * speed ratios plan86/QEMU and plan86/native. Loops: register ALU, load/
 * modify/store over 64 KiB, REP MOVSD of 16 KiB blocks, call/push/pop/ret, and
 * data-dependent branches. Instruction counts are the architectural ones per
 * iteration (each REP MOVSD element counts as one instruction). QEMU gets its
 * own iteration counts, large enough for at least 0.5 s per loop.
 *
 * Usage: bench-cpu [--scale F]   (F multiplies the iteration counts; default 1)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-qemu.h"
#include "pm_guest.h"

#if !defined(__x86_64__)
#error "bench-cpu compares against the host CPU: build it on x86-64"
#endif

enum {
    CODE = 0x10000, STACK_TOP = 0x80000, BUF_A = 0x100000, BUF_B = 0x110000,
    RAM = 2u << 20, COPY_DWORDS = 4096,
};

/* QEMU runs the loops at these same guest addresses. */
_Static_assert(STACK_TOP <= 0xA0000 && BUF_B + COPY_DWORDS * 4 <= QEMU_LOOP_IMAGE_BASE,
               "the loops' stack and buffers must stay clear of QEMU's boot data and image");

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the guest programs (ECX or EBX counts iterations; HLT ends) ---- */

static const uint8_t alu_code[] = {
    0x01, 0xD8,             /* L: add eax, ebx */
    0x31, 0xD3,             /*    xor ebx, edx */
    0x29, 0xC2,             /*    sub edx, eax */
    0x46,                   /*    inc esi */
    0x49,                   /*    dec ecx */
    0x75, 0xF6,             /*    jnz L */
    0xF4,
};
static const uint8_t mem_code[] = {
    0x8B, 0x04, 0x3E,                   /* L: mov eax, [esi+edi] */
    0x01, 0xD0,                         /*    add eax, edx */
    0x89, 0x04, 0x3E,                   /*    mov [esi+edi], eax */
    0x83, 0xC7, 0x04,                   /*    add edi, 4 */
    0x81, 0xE7, 0xFF, 0xFF, 0x00, 0x00, /*    and edi, 0xFFFF */
    0x49,                               /*    dec ecx */
    0x75, 0xEC,                         /*    jnz L */
    0xF4,
};
static const uint8_t rep_code[] = {
    0xBE, 0x00, 0x00, 0x10, 0x00,       /* L: mov esi, BUF_A */
    0xBF, 0x00, 0x00, 0x11, 0x00,       /*    mov edi, BUF_B */
    0xB9, 0x00, 0x10, 0x00, 0x00,       /*    mov ecx, COPY_DWORDS */
    0xF3, 0xA5,                         /*    rep movsd */
    0x4B,                               /*    dec ebx */
    0x75, 0xEC,                         /*    jnz L */
    0xF4,
};
static const uint8_t call_code[] = {
    0xE8, 0x04, 0x00, 0x00, 0x00,       /* L: call F */
    0x49,                               /*    dec ecx */
    0x75, 0xF8,                         /*    jnz L */
    0xF4,                               /*    hlt */
    0x50,                               /* F: push eax */
    0x83, 0xC0, 0x01,                   /*    add eax, 1 */
    0x58,                               /*    pop eax */
    0xC3,                               /*    ret */
};
static const uint8_t branch_code[] = {
    0x89, 0xC8,             /* L: mov eax, ecx */
    0x83, 0xE0, 0x03,       /*    and eax, 3 */
    0x83, 0xF8, 0x01,       /*    cmp eax, 1 */
    0x74, 0x05,             /*    je A */
    0x83, 0xC3, 0x01,       /*    add ebx, 1 */
    0xEB, 0x03,             /*    jmp B */
    0x83, 0xEB, 0x02,       /* A: sub ebx, 2 */
    0xF6, 0xC1, 0x04,       /* B: test cl, 4 */
    0x74, 0x02,             /*    jz C */
    0x31, 0xCA,             /*    xor edx, ecx */
    0x49,                   /* C: dec ecx */
    0x75, 0xE4,             /*    jnz L */
    0xF4,
};

/* ---- the same loops natively ---- */

static void alu_native(uint32_t n, uint8_t *buf)
{
    (void)buf;
    uint32_t a = 1, b = 2, d = 3, s = 0;
    __asm__ volatile("1: add %%ebx, %%eax\n xor %%edx, %%ebx\n sub %%eax, %%edx\n"
                     " inc %%esi\n dec %%ecx\n jnz 1b\n"
                     : "+a"(a), "+b"(b), "+d"(d), "+S"(s), "+c"(n) : : "cc");
}

#define NATIVE_BUF_SIZE 0x20000

static void mem_native(uint32_t n, uint8_t *buf)
{
    uintptr_t base = (uintptr_t)buf;
    uint32_t off = 0, d = 3, a;
    __asm__ volatile("1: movl (%[b],%q[o]), %[a]\n addl %[d], %[a]\n movl %[a], (%[b],%q[o])\n"
                     " addl $4, %[o]\n andl $0xFFFF, %[o]\n decl %[n]\n jnz 1b\n"
                     : [a] "=&r"(a), [o] "+r"(off), [n] "+r"(n)
                     : [b] "r"(base), [d] "r"(d) : "cc", "memory");
}

static void rep_native(uint32_t n, uint8_t *buf)
{
    for (uint32_t k = 0; k < n; k++) {
        void *src = buf, *dst = buf + 0x10000;
        unsigned long count = COPY_DWORDS;
        __asm__ volatile("rep movsl" : "+S"(src), "+D"(dst), "+c"(count) : : "memory");
    }
}

static void call_native(uint32_t n, uint8_t *buf)
{
    (void)buf;
    uint32_t a = 0;
    __asm__ volatile("sub $128, %%rsp\n"          /* keep out of the red zone */
                     "1: call 2f\n dec %%ecx\n jnz 1b\n jmp 3f\n"
                     "2: push %%rax\n add $1, %%eax\n pop %%rax\n ret\n"
                     "3: add $128, %%rsp\n"
                     : "+a"(a), "+c"(n) : : "cc", "memory");
}

static void branch_native(uint32_t n, uint8_t *buf)
{
    (void)buf;
    uint32_t a, b = 0, d = 0;
    __asm__ volatile("1: mov %%ecx, %%eax\n and $3, %%eax\n cmp $1, %%eax\n je 2f\n"
                     " add $1, %%ebx\n jmp 3f\n"
                     "2: sub $2, %%ebx\n"
                     "3: test $4, %%cl\n jz 4f\n xor %%ecx, %%edx\n"
                     "4: dec %%ecx\n jnz 1b\n"
                     : "=&a"(a), "+b"(b), "+d"(d), "+c"(n) : : "cc");
}

/* ---- the table ---- */

struct loop {
    const char *name;
    const uint8_t *code;
    size_t code_len;
    size_t exit_offset;     /* the HLT that ends the loop */
    enum cpu_reg counter;
    uint32_t iterations;
    double insns_per_iter;
    void (*native)(uint32_t n, uint8_t *buf);
};

static const struct loop loops[] = {
    { "alu (add/xor/sub/inc/dec/jnz)", alu_code, sizeof alu_code, sizeof alu_code - 1,
      R_ECX, 20000000, 6, alu_native },
    { "load/add/store over 64 KiB", mem_code, sizeof mem_code, sizeof mem_code - 1,
      R_ECX, 10000000, 7, mem_native },
    { "rep movsd, 16 KiB blocks", rep_code, sizeof rep_code, sizeof rep_code - 1,
      R_EBX, 100000, 5 + COPY_DWORDS, rep_native },
    { "call/push/add/pop/ret", call_code, sizeof call_code, 8,
      R_ECX, 10000000, 7, call_native },      /* exit: the HLT before F */
    { "branchy (je/jmp/jz by data)", branch_code, sizeof branch_code, sizeof branch_code - 1,
      R_ECX, 10000000, 82.0 / 8, branch_native },
};

#define LOOP_COUNT (sizeof loops / sizeof loops[0])

/* Iteration counts are multiples of 8 (the branchy loop's period), >= 8. */
static uint32_t round_count(double n)
{
    if (n > (double)0xFFFFFFF8u) return 0xFFFFFFF8u;
    return n < 8 ? 8 : (uint32_t)n & ~7u;
}

/* The registers a loop starts with, in x86 encoding order (EAX..EDI). */
static void loop_regs(const struct loop *l, uint32_t n, uint32_t regs[8])
{
    for (int r = 0; r < 8; r++) regs[r] = 0;
    regs[R_ESP] = STACK_TOP;
    regs[R_ESI] = BUF_A;
    regs[R_EDX] = 3;
    regs[l->counter] = n;
}

/* Runs one loop in the guest; returns seconds, or a negative value on failure. */
static double time_guest(struct pmg *g, const struct loop *l, uint32_t n)
{
    struct cpu *c = pmg_cpu(g);
    uint32_t regs[8];
    loop_regs(l, n, regs);
    pmg_write(g, CODE, l->code, l->code_len);
    pmg_enter(g, 0, CODE, regs[R_ESP], 0x2);
    for (int r = 0; r < 8; r++) cpu_set_reg(c, (enum cpu_reg)r, regs[r]);
    struct pmg_exit ex;
    double t0 = now_s();
    int rc = pmg_run(g, UINT64_MAX, &ex);
    double t = now_s() - t0;
    if (rc || ex.vector != -1 || cpu_get_reg(c, l->counter) != 0) {
        fprintf(stderr, "bench-cpu: guest loop \"%s\" did not finish (vector %d at %08x)\n",
                l->name, ex.vector, ex.eip);
        return -1;
    }
    return t;
}

static double time_native(const struct loop *l, uint32_t n, uint8_t *buf)
{
    double t0 = now_s();
    l->native(n, buf);
    return now_s() - t0;
}

/* ---- the QEMU column ---- */

struct timings {
    uint32_t n, qemu_n;
    double plan86_s, native_s, qemu_s;  /* plan86_s < 0: failed; qemu_s < 0: no QEMU */
};

/* QEMU runs each loop at least QEMU_MIN_S x scale seconds; a loop that the
 * first pass (plan86's counts) finishes sooner is rerun sized for QEMU_TARGET_S. */
#define QEMU_MIN_S 0.5
#define QEMU_TARGET_S 1.0

static struct qemu_loop qemu_loop_of(const struct loop *l, uint32_t n)
{
    struct qemu_loop q = { .code = l->code, .code_len = l->code_len, .exit_offset = l->exit_offset };
    loop_regs(l, n, q.regs);
    return q;
}

/* Fills qemu_n and qemu_s of every loop's timings. */
static enum qemu_status time_qemu(struct timings *t, double scale)
{
    struct qemu_loop q[LOOP_COUNT];
    double s[LOOP_COUNT];
    for (size_t k = 0; k < LOOP_COUNT; k++) {
        t[k].qemu_n = t[k].n;
        q[k] = qemu_loop_of(&loops[k], t[k].n);
    }
    enum qemu_status st = qemu_time_loops(q, LOOP_COUNT, s);
    if (st != QEMU_OK) return st;
    size_t rerun[LOOP_COUNT], count = 0;
    for (size_t k = 0; k < LOOP_COUNT; k++) {
        t[k].qemu_s = s[k];
        if (s[k] >= QEMU_MIN_S * scale) continue;
        double per_iter = (s[k] > 1e-6 ? s[k] : 1e-6) / t[k].n;
        t[k].qemu_n = round_count(QEMU_TARGET_S * scale / per_iter);
        q[count] = qemu_loop_of(&loops[k], t[k].qemu_n);
        rerun[count++] = k;
    }
    if (count == 0) return QEMU_OK;
    st = qemu_time_loops(q, count, s);
    for (size_t j = 0; j < count && st == QEMU_OK; j++) t[rerun[j]].qemu_s = s[j];
    return st;
}

/* ---- main ---- */

static double mips(const struct loop *l, uint32_t n, double s) { return n * l->insns_per_iter / s / 1e6; }

static void print_row(const struct loop *l, const struct timings *t)
{
    if (t->plan86_s < 0) {
        printf("%-30s   plan86 run failed\n", l->name);
        return;
    }
    double p = mips(l, t->n, t->plan86_s), nat = mips(l, t->n, t->native_s);
    printf("%-30s %8.3f %11.1f", l->name, t->plan86_s, p);
    if (t->qemu_s >= 0) {
        double q = mips(l, t->qemu_n, t->qemu_s);
        printf(" %7.3f %9.1f %11.0f %11.3g %13.3g\n", t->qemu_s, q, nat, p / q, p / nat);
    } else {
        printf(" %7s %9s %11.0f %11s %13.3g\n", "-", "-", nat, "-", p / nat);
    }
}

static bool parse_args(int argc, char **argv, double *scale)
{
    *scale = 1.0;
    if (argc == 1) return true;
    if (argc != 3 || strcmp(argv[1], "--scale")) return false;
    *scale = atof(argv[2]);
    return *scale > 0;
}

int main(int argc, char **argv)
{
    double scale;
    if (!parse_args(argc, argv, &scale)) {
        fprintf(stderr, "usage: bench-cpu [--scale F]   (F > 0)\n");
        return 2;
    }
    struct pmg *g = pmg_new(RAM);
    uint8_t *buf = calloc(1, NATIVE_BUF_SIZE);
    if (!g || !buf) {
        fprintf(stderr, "bench-cpu: out of memory\n");
        return 2;
    }
    struct timings t[LOOP_COUNT];
    int status = 0;
    for (size_t k = 0; k < LOOP_COUNT; k++) {
        uint32_t n = round_count(loops[k].iterations * scale);
        t[k] = (struct timings){ .n = n, .plan86_s = time_guest(g, &loops[k], n), .qemu_s = -1 };
        t[k].native_s = time_native(&loops[k], n, buf);
        if (t[k].plan86_s < 0) status = 1;
    }
    pmg_free(g);
    free(buf);
    enum qemu_status qs = time_qemu(t, scale);
    if (qs == QEMU_ABSENT) printf(QEMU_BINARY " not found: QEMU column skipped\n");
    if (qs == QEMU_FAILED) status = 1;
    if (qs != QEMU_OK)
        for (size_t k = 0; k < LOOP_COUNT; k++) t[k].qemu_s = -1;
    printf("%-30s %8s %11s %7s %9s %11s %11s %13s\n", "loop (32-bit protected mode)", "plan86 s",
           "plan86 MIPS", "QEMU s", "QEMU MIPS", "native MIPS", "plan86/QEMU", "plan86/native");
    for (size_t k = 0; k < LOOP_COUNT; k++) print_row(&loops[k], &t[k]);
    printf("ratios are speeds (MIPS) of plan86 over QEMU TCG and over the host CPU\n");
    return status;
}
