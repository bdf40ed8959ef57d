/* proto.h — what the difftest driver (64-bit) and its native helper (32-bit,
 * gcc -m32) agree on: the guest address layout both sides use, the initial
 * state of one test case, the final state it produced, and the pipe framing.
 *
 * Promises: every struct here has the same layout in both builds (fixed-width
 * fields only, no pointers), and dt_fill() derives the initial contents of the
 * data and stack buffers from a 32-bit seed identically on both sides, so the
 * buffers never cross the pipe on the way in.
 *
 * x87: a case that uses the FPU carries a 108-byte FNSAVE image (32-bit
 * protected-mode layout) that both sides FRSTOR before the sequence, and its
 * result carries the FNSAVE image taken where the sequence ended or faulted.
 *
 * Pipe framing: driver -> helper: uint32_t n, then n struct dt_case;
 * helper -> driver: n struct dt_result. n == 0 asks the helper to exit.
 */
#ifndef DIFFTEST_PROTO_H
#define DIFFTEST_PROTO_H

#include <stdint.h>

/* Linear addresses, identical in the native process and in the plan86 guest. */
#define DT_CODE_ADDR 0x00400000u   /* one page: the sequence, then a terminator */
#define DT_DATA_ADDR 0x00402000u   /* data buffer, memory operands land here */
#define DT_STACK_ADDR 0x00404000u  /* stack buffer; ESP starts inside it */
#define DT_CTX_ADDR 0x00406000u    /* native helper only: register hand-over page */

#define DT_DATA_SIZE 1024u
#define DT_STACK_SIZE 512u
#define DT_STACK_START (DT_STACK_ADDR + 384u)  /* initial ESP */
#define DT_CODE_MAX 1024u          /* sequence bytes, terminator excluded */

/* FNSAVE / FRSTOR image, 32-bit protected-mode layout. */
#define DT_FPU_IMAGE 108u
enum {
    DT_FPU_CW = 0, DT_FPU_SW = 4, DT_FPU_TW = 8,   /* 16-bit words (upper halves reserved) */
    DT_FPU_FIP = 12, DT_FPU_FCS_FOP = 16, DT_FPU_FDP = 20, DT_FPU_FDS = 24,
    DT_FPU_ST = 28,                                 /* ST(0)..ST(7), 10 bytes each */
};

enum { DT_NREGS = 8 };
#define DT_NO_FAULT (-1)

struct dt_regs {
    uint32_t r[DT_NREGS];      /* EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI */
    uint32_t eflags;
    uint32_t eip;
};

struct dt_case {
    struct dt_regs init;       /* eip is DT_CODE_ADDR */
    uint32_t mem_seed;         /* dt_fill() seed of the data and stack buffers */
    uint32_t code_len;
    uint32_t fpu_used;         /* nonzero: FRSTOR fpu_init before, FNSAVE after */
    uint8_t code[DT_CODE_MAX];
    uint8_t fpu_init[DT_FPU_IMAGE];
};

struct dt_result {
    struct dt_regs regs;       /* at the terminator, or at the faulting instruction */
    int32_t fault;             /* exception vector, or DT_NO_FAULT */
    uint8_t data[DT_DATA_SIZE];
    uint8_t stack[DT_STACK_SIZE];
    uint8_t fpu[DT_FPU_IMAGE];  /* FNSAVE image when the case uses the FPU, else zero */
};

/* A small, fast, reproducible generator (xorshift32); state must not be 0. */
static inline uint32_t dt_xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Initial buffer contents from a seed: mostly random bytes, some zero runs. */
static inline void dt_fill(uint8_t *buf, uint32_t len, uint32_t seed)
{
    uint32_t s = seed ? seed : 0x9E3779B9u;
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t v = dt_xorshift(&s);
        if ((v & 0x70) == 0) v = 0;
        for (uint32_t k = 0; k < 4 && i + k < len; k++) buf[i + k] = (uint8_t)(v >> (8 * k));
    }
}

#endif
