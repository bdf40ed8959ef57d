/* native_helper.c — the host-CPU side of the differential test (built -m32).
 *
 * Promises: reads batches of struct dt_case from stdin, runs each sequence
 * natively at the shared guest addresses (proto.h) with every GPR and EFLAGS
 * (arithmetic flags and DF) loaded from the case, and writes one struct
 * dt_result per case to stdout: registers and flags at the terminator, plus
 * the data and stack buffers. A CPU exception raised by the sequence (#DE from
 * DIV, or anything a faulty sequence does) is caught on an alternate signal
 * stack and reported as the vector with the registers at the faulting
 * instruction; it never kills the helper.
 *
 * A case that uses the x87 gets its FPU state by FRSTOR just before the
 * sequence, and FNSAVE takes the FPU state at the terminator or, after a
 * fault, once the kernel has restored the interrupted FPU state on sigreturn.
 * FNSAVE leaves the FPU initialised, as the C code around expects.
 *
 * The trampoline below keeps its state in the context page at DT_CTX_ADDR,
 * which both the assembly and the signal handler address absolutely.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "proto.h"

#if !defined(__i386__)
#error "native_helper.c must be built for 32-bit x86 (gcc -m32)"
#endif

/* Context page layout (offsets from DT_CTX_ADDR). */
struct dt_ctx {
    struct dt_regs in;        /* 0x00 */
    uint32_t pad0[6];
    struct dt_regs out;       /* 0x40 */
    uint32_t pad1[6];
    uint32_t host_esp;        /* 0x80 */
    int32_t fault;            /* 0x84 */
    uint32_t fpu_used;        /* 0x88 */
    uint32_t pad2[29];
    uint8_t fpu_in[DT_FPU_IMAGE];   /* 0x100 */
    uint8_t pad3[0x80 - DT_FPU_IMAGE];
    uint8_t fpu_out[DT_FPU_IMAGE];  /* 0x180 */
};
_Static_assert(__builtin_offsetof(struct dt_ctx, out) == 0x40, "ctx layout");
_Static_assert(__builtin_offsetof(struct dt_ctx, host_esp) == 0x80, "ctx layout");
_Static_assert(__builtin_offsetof(struct dt_ctx, fpu_used) == 0x88, "ctx layout");
_Static_assert(__builtin_offsetof(struct dt_ctx, fpu_in) == 0x100, "ctx layout");
_Static_assert(__builtin_offsetof(struct dt_ctx, fpu_out) == 0x180, "ctx layout");

#define STR2(x) #x
#define STR(x) STR2(x)
#define CTX(off) STR(DT_CTX_ADDR) "+" #off

void difft_enter(void);
void difft_exit(void);
void difft_fault_return(void);

/* Loads the case's registers and flags, jumps to the code; the sequence's
 * terminator jumps to difft_exit, which stores them back. */
__asm__(
    ".text\n"
    ".globl difft_enter\n"
    ".type difft_enter, @function\n"
    "difft_enter:\n"
    "  pushl %ebp\n  pushl %ebx\n  pushl %esi\n  pushl %edi\n"
    "  movl %esp, " CTX(0x80) "\n"
    "  testl $1, " CTX(0x88) "\n"
    "  jz 1f\n"
    "  frstor " CTX(0x100) "\n"
    "1:\n"
    "  pushl " CTX(32) "\n"
    "  popfl\n"
    "  movl " CTX(0) ", %eax\n"
    "  movl " CTX(4) ", %ecx\n"
    "  movl " CTX(8) ", %edx\n"
    "  movl " CTX(12) ", %ebx\n"
    "  movl " CTX(20) ", %ebp\n"
    "  movl " CTX(24) ", %esi\n"
    "  movl " CTX(28) ", %edi\n"
    "  movl " CTX(16) ", %esp\n"
    "  jmp *" CTX(36) "\n"
    ".globl difft_exit\n"
    ".type difft_exit, @function\n"
    "difft_exit:\n"
    "  movl %eax, " CTX(0x40) "\n"
    "  movl %ecx, " CTX(0x44) "\n"
    "  movl %edx, " CTX(0x48) "\n"
    "  movl %ebx, " CTX(0x4C) "\n"
    "  movl %esp, " CTX(0x50) "\n"
    "  movl %ebp, " CTX(0x54) "\n"
    "  movl %esi, " CTX(0x58) "\n"
    "  movl %edi, " CTX(0x5C) "\n"
    "  movl " CTX(0x80) ", %esp\n"
    "  pushfl\n"
    "  popl " CTX(0x60) "\n"
    "  cld\n"
    "  call difft_save_fpu\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
    "  ret\n"
    ".globl difft_fault_return\n"
    ".type difft_fault_return, @function\n"
    "difft_fault_return:\n"
    "  movl " CTX(0x80) ", %esp\n"
    "  cld\n"
    "  call difft_save_fpu\n"
    "  popl %edi\n  popl %esi\n  popl %ebx\n  popl %ebp\n"
    "  ret\n"
    "difft_save_fpu:\n"
    "  testl $1, " CTX(0x88) "\n"
    "  jz 1f\n"
    "  fnsave " CTX(0x180) "\n"
    "1:\n"
    "  ret\n");

static struct dt_ctx *ctx_page(void) { return (struct dt_ctx *)(uintptr_t)DT_CTX_ADDR; }

/* A fault inside the sequence: record the state at the faulting instruction
 * and resume at difft_fault_return instead. */
static void on_fault(int sig, siginfo_t *si, void *uc_void)
{
    (void)si;
    ucontext_t *uc = uc_void;
    greg_t *g = uc->uc_mcontext.gregs;
    uint32_t eip = (uint32_t)g[REG_EIP];
    if (eip < DT_CODE_ADDR || eip >= DT_CODE_ADDR + 4096u) {
        signal(sig, SIG_DFL);   /* not the guest: let it kill us visibly */
        return;
    }
    struct dt_ctx *ctx = ctx_page();
    static const int greg_of[DT_NREGS] = {
        REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_UESP, REG_EBP, REG_ESI, REG_EDI,
    };
    for (int r = 0; r < DT_NREGS; r++) ctx->out.r[r] = (uint32_t)g[greg_of[r]];
    ctx->out.eflags = (uint32_t)g[REG_EFL];
    ctx->out.eip = eip;
    ctx->fault = (int32_t)g[REG_TRAPNO];
    g[REG_EIP] = (greg_t)(uintptr_t)difft_fault_return;
}

static int map_fixed(uint32_t addr, uint32_t len, int prot)
{
    void *p = mmap((void *)(uintptr_t)addr, len, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)(uintptr_t)addr) {
        fprintf(stderr, "difftest-native: cannot map %#x: %s\n", addr, p == MAP_FAILED ? "failed" : "moved");
        return -1;
    }
    return 0;
}

static int setup(void)
{
    if (map_fixed(DT_CODE_ADDR, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC) ||
        map_fixed(DT_DATA_ADDR, 0x1000, PROT_READ | PROT_WRITE) ||
        map_fixed(DT_STACK_ADDR, 0x1000, PROT_READ | PROT_WRITE) ||
        map_fixed(DT_CTX_ADDR, 0x1000, PROT_READ | PROT_WRITE))
        return -1;
    stack_t alt = { .ss_sp = malloc(1u << 16), .ss_size = 1u << 16 };
    if (!alt.ss_sp || sigaltstack(&alt, NULL)) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = { SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP };
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
        if (sigaction(sigs[k], &sa, NULL)) return -1;
    return 0;
}

static void run_case(const struct dt_case *tc, struct dt_result *res)
{
    uint8_t *code = (uint8_t *)(uintptr_t)DT_CODE_ADDR;
    uint32_t len = tc->code_len <= DT_CODE_MAX ? tc->code_len : DT_CODE_MAX;
    memcpy(code, tc->code, len);
    uint32_t after = DT_CODE_ADDR + len + 5;   /* jmp rel32 to difft_exit */
    int32_t rel = (int32_t)((uint32_t)(uintptr_t)difft_exit - after);
    code[len] = 0xE9;
    memcpy(code + len + 1, &rel, 4);
    __builtin___clear_cache((char *)code, (char *)code + len + 5);

    dt_fill((uint8_t *)(uintptr_t)DT_DATA_ADDR, DT_DATA_SIZE, tc->mem_seed);
    dt_fill((uint8_t *)(uintptr_t)DT_STACK_ADDR, DT_STACK_SIZE, tc->mem_seed ^ 0x5A5A5A5Au);

    struct dt_ctx *ctx = ctx_page();
    ctx->in = tc->init;
    ctx->in.eip = DT_CODE_ADDR;
    ctx->fault = DT_NO_FAULT;
    ctx->fpu_used = tc->fpu_used ? 1 : 0;
    memcpy(ctx->fpu_in, tc->fpu_init, DT_FPU_IMAGE);
    difft_enter();
    res->regs = ctx->out;
    res->fault = ctx->fault;
    if (res->fault == DT_NO_FAULT) res->regs.eip = DT_CODE_ADDR + len;
    memcpy(res->data, (void *)(uintptr_t)DT_DATA_ADDR, DT_DATA_SIZE);
    memcpy(res->stack, (void *)(uintptr_t)DT_STACK_ADDR, DT_STACK_SIZE);
    if (tc->fpu_used) memcpy(res->fpu, ctx->fpu_out, DT_FPU_IMAGE);
    else memset(res->fpu, 0, DT_FPU_IMAGE);
}

static int read_full(void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(0, (char *)buf + got, len - got);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

static int write_full(const void *buf, size_t len)
{
    for (size_t put = 0; put < len;) {
        ssize_t n = write(1, (const char *)buf + put, len - put);
        if (n <= 0) return -1;
        put += (size_t)n;
    }
    return 0;
}

int main(void)
{
    if (setup()) return 2;
    for (;;) {
        uint32_t n;
        if (read_full(&n, sizeof n) || n == 0) return 0;
        if (n > 65536) return 2;
        struct dt_case *cases = malloc(n * sizeof *cases);
        struct dt_result *results = malloc(n * sizeof *results);
        if (!cases || !results || read_full(cases, n * sizeof *cases)) return 2;
        for (uint32_t k = 0; k < n; k++) run_case(&cases[k], &results[k]);
        if (write_full(results, n * sizeof *results)) return 2;
        free(cases);
        free(results);
    }
}
