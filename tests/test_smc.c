/* test_smc.c — Check tests: self-modifying code in the plan86 CPU.
 *
 * Each guest runs in 32-bit flat protected mode (tests/difftest/pm_guest.h),
 * executes code, rewrites instruction bytes that were already decoded, and
 * runs them again: the new instruction must execute. Covered: a patch to
 * another block (same page and another page), a store into the running block
 * ahead of the store, a loop that rewrites its own body, REP MOVSB copying
 * over a later instruction, and a write from outside the CPU (DMA).
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "pm_guest.h"

enum { CODE = 0x10000, STACK_TOP = 0x30000, RAM = 1u << 20 };

/* A tiny code buffer: bytes go to guest address `at`. */
struct code {
    uint8_t b[0x2000];
    uint32_t at, n;
};

static uint32_t here(const struct code *c) { return c->at + c->n; }
static void bytes(struct code *c, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int k = 0; k < count; k++) c->b[c->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}
static void d32(struct code *c, uint32_t v)
{
    for (int k = 0; k < 4; k++) c->b[c->n++] = (uint8_t)(v >> (8 * k));
}
static void org(struct code *c, uint32_t addr) { c->n = addr - c->at; }
static void call_to(struct code *c, uint32_t target)
{
    bytes(c, 1, 0xE8);
    d32(c, target - (here(c) + 4));
}

struct run {
    struct pmg *g;
    struct pmg_exit ex;
};

/* Loads the code, runs from CODE at CPL 0 until the guest's own HLT. */
static void run_guest(struct run *r, const struct code *c)
{
    r->g = pmg_new(RAM);
    ck_assert_ptr_nonnull(r->g);
    pmg_write(r->g, c->at, c->b, c->n);
    pmg_enter(r->g, 0, CODE, STACK_TOP, 0x2);
    ck_assert_int_eq(pmg_run(r->g, 1000000, &r->ex), 0);
    ck_assert_int_eq(r->ex.vector, -1);
}

static uint32_t reg(struct run *r, enum cpu_reg n) { return cpu_get_reg(pmg_cpu(r->g), n); }

/* f: mov eax, imm32; add eax, 1; ret. Returns the address of its imm32. */
static uint32_t put_function(struct code *c, uint32_t addr, uint32_t imm)
{
    org(c, addr);
    bytes(c, 1, 0xB8);
    uint32_t imm_at = here(c);
    d32(c, imm);
    bytes(c, 4, 0x83, 0xC0, 0x01, 0xC3);
    return imm_at;
}

/* call f; mov ebx, eax; mov [f.imm], 0x22222222; call f; hlt */
static void patch_other_block(uint32_t f_addr)
{
    struct code c = { .at = CODE };
    uint32_t imm_at = put_function(&c, f_addr, 0x11111111);
    org(&c, CODE);
    call_to(&c, f_addr);
    bytes(&c, 2, 0x89, 0xC3);
    bytes(&c, 2, 0xC7, 0x05);
    d32(&c, imm_at);
    d32(&c, 0x22222222);
    call_to(&c, f_addr);
    bytes(&c, 1, 0xF4);
    c.n = sizeof c.b;
    struct run r;
    run_guest(&r, &c);
    ck_assert_uint_eq(reg(&r, R_EBX), 0x11111112);
    ck_assert_uint_eq(reg(&r, R_EAX), 0x22222223);
    pmg_free(r.g);
}

START_TEST(patch_block_same_page) { patch_other_block(CODE + 0x100); }
END_TEST

START_TEST(patch_block_other_page) { patch_other_block(CODE + 0x1000); }
END_TEST

/* mov byte [target+2], 5; mov eax, 0; target: add eax, 1; hlt — one block,
 * the store rewrites an instruction after it in the same block. */
START_TEST(patch_ahead_in_running_block)
{
    struct code c = { .at = CODE };
    uint32_t target = CODE + 7 + 5;
    bytes(&c, 2, 0xC6, 0x05);
    d32(&c, target + 2);
    bytes(&c, 1, 0x05);
    bytes(&c, 1, 0xB8);
    d32(&c, 0);
    ck_assert_uint_eq(here(&c), target);
    bytes(&c, 4, 0x83, 0xC0, 0x01, 0xF4);
    struct run r;
    run_guest(&r, &c);
    ck_assert_uint_eq(reg(&r, R_EAX), 5);
    pmg_free(r.g);
}
END_TEST

/* A loop that bumps the immediate of its own ADD each time round:
 * mov ecx, 3; xor ebx, ebx; L: add ebx, 0x10; inc dword [L+2]; dec ecx; jnz L; hlt */
START_TEST(loop_rewrites_own_body)
{
    struct code c = { .at = CODE };
    bytes(&c, 1, 0xB9);
    d32(&c, 3);
    bytes(&c, 2, 0x31, 0xDB);
    uint32_t loop = here(&c);
    bytes(&c, 2, 0x81, 0xC3);
    d32(&c, 0x10);
    bytes(&c, 2, 0xFF, 0x05);
    d32(&c, loop + 2);
    bytes(&c, 1, 0x49);
    bytes(&c, 2, 0x75, (int)(uint8_t)(loop - (here(&c) + 2)));
    bytes(&c, 1, 0xF4);
    struct run r;
    run_guest(&r, &c);
    ck_assert_uint_eq(reg(&r, R_EBX), 0x10 + 0x11 + 0x12);
    ck_assert_uint_eq(reg(&r, R_ECX), 0);
    pmg_free(r.g);
}
END_TEST

/* mov esi, src; mov edi, target; mov ecx, 5; rep movsb; target: mov eax, 0x11111111; hlt
 * with src holding "mov eax, 0x77777777". */
START_TEST(rep_movs_over_later_instruction)
{
    struct code c = { .at = CODE };
    uint32_t src = CODE + 0x80, target = CODE + 5 * 3 + 2;
    bytes(&c, 1, 0xBE);
    d32(&c, src);
    bytes(&c, 1, 0xBF);
    d32(&c, target);
    bytes(&c, 1, 0xB9);
    d32(&c, 5);
    bytes(&c, 2, 0xF3, 0xA4);
    ck_assert_uint_eq(here(&c), target);
    bytes(&c, 1, 0xB8);
    d32(&c, 0x11111111);
    bytes(&c, 1, 0xF4);
    org(&c, src);
    bytes(&c, 1, 0xB8);
    d32(&c, 0x77777777);
    struct run r;
    run_guest(&r, &c);
    ck_assert_uint_eq(reg(&r, R_EAX), 0x77777777);
    pmg_free(r.g);
}
END_TEST

/* The host (a DMA engine) rewrites decoded code between two runs. */
START_TEST(external_write_drops_code)
{
    struct code c = { .at = CODE };
    uint32_t imm_at = put_function(&c, CODE + 0x100, 0x11111111);
    org(&c, CODE);
    call_to(&c, CODE + 0x100);
    bytes(&c, 1, 0xF4);
    c.n = 0x200;
    struct run r;
    run_guest(&r, &c);
    ck_assert_uint_eq(reg(&r, R_EAX), 0x11111112);
    static const uint8_t new_imm[4] = { 0x44, 0x44, 0x44, 0x44 };
    pmg_write(r.g, imm_at, new_imm, sizeof new_imm);
    pmg_enter(r.g, 0, CODE, STACK_TOP, 0x2);
    ck_assert_int_eq(pmg_run(r.g, 1000000, &r.ex), 0);
    ck_assert_uint_eq(reg(&r, R_EAX), 0x44444445);
    pmg_free(r.g);
}
END_TEST

static Suite *smc_suite(void)
{
    Suite *s = suite_create("smc");
    TCase *t = tcase_create("smc");
    tcase_add_test(t, patch_block_same_page);
    tcase_add_test(t, patch_block_other_page);
    tcase_add_test(t, patch_ahead_in_running_block);
    tcase_add_test(t, loop_rewrites_own_body);
    tcase_add_test(t, rep_movs_over_later_instruction);
    tcase_add_test(t, external_write_drops_code);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(smc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
