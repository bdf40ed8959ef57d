/* test_fpu.c — Check tests: the x87 FPU of the plan86 CPU.
 *
 * Small hand-assembled guests run in 32-bit flat protected mode
 * (tests/difftest/pm_guest.h); their results are compared bit for bit with
 * the same operations run on the host's own x87 (inline asm). Covered:
 * transcendentals (FSIN, FPATAN, FYL2X, FPTAN, F2XM1), rounding and
 * precision control, masked invalid results and stack underflow, #MF and
 * #NM delivery, FCOMI flags, integer and BCD round trips, the FXSAVE layout
 * and an FNSAVE/FRSTOR round trip.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pm_guest.h"

enum { CODE = 0x10000, DATA = 0x20000, STACK_TOP = 0x30000, RAM = 1u << 20 };
/* Data slots of the guests */
enum { IN_A = DATA, IN_B = DATA + 0x10, IN_CW = DATA + 0x20, OUT = DATA + 0x40, OUT2 = DATA + 0x60,
       SAVE = DATA + 0x100, SAVE2 = DATA + 0x200, FXAREA = DATA + 0x400 };

struct code {
    uint8_t b[512];
    uint32_t n;
};

static void bytes(struct code *c, int count, ...)
{
    va_list ap;
    va_start(ap, count);
    for (int k = 0; k < count; k++) c->b[c->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}
/* An x87 (or 0F AE) instruction with a [disp32] memory operand. */
static void mem_op(struct code *c, int op, int reg, uint32_t addr)
{
    if (op == 0xAE) bytes(c, 1, 0x0F);
    bytes(c, 2, op, (reg << 3) | 5);
    for (int k = 0; k < 4; k++) c->b[c->n++] = (uint8_t)(addr >> (8 * k));
}
#define FNINIT(c) bytes(c, 2, 0xDB, 0xE3)
#define FLD80(c, a) mem_op(c, 0xDB, 5, a)
#define FSTP80(c, a) mem_op(c, 0xDB, 7, a)
#define FLDCW(c, a) mem_op(c, 0xD9, 5, a)
#define FNSTSW_AX(c) bytes(c, 2, 0xDF, 0xE0)
#define HLT(c) bytes(c, 1, 0xF4)

struct run {
    struct pmg *g;
    struct pmg_exit ex;
};

/* Builds the board with the code loaded; inputs go in before go() runs it. */
static void prepare(struct run *r, const struct code *c)
{
    r->g = pmg_new(RAM);
    ck_assert_ptr_nonnull(r->g);
    pmg_write(r->g, CODE, c->b, c->n);
}
/* Runs at CPL 0 with the CR0 bits given set and cleared, until HLT or an exception. */
static void go_cr0(struct run *r, uint32_t cr0_set, uint32_t cr0_clear)
{
    struct cpu *cpu = pmg_cpu(r->g);
    cpu_set_cr0(cpu, (cpu_get_cr(cpu, 0) | cr0_set) & ~cr0_clear);
    pmg_enter(r->g, 0, CODE, STACK_TOP, 0x2);
    ck_assert_int_eq(pmg_run(r->g, 100000, &r->ex), 0);
}
static void go(struct run *r) { go_cr0(r, CR0_NE, CR0_EM | CR0_TS); }
static void run_to_hlt(struct run *r, const struct code *c)
{
    prepare(r, c);
    go(r);
    ck_assert_int_eq(r->ex.vector, -1);
}
static void put(struct run *r, uint32_t addr, const void *v, size_t n) { pmg_write(r->g, addr, v, n); }
static const uint8_t *at(struct run *r, uint32_t addr) { return pmg_ram(r->g) + addr; }

/* ---- host references ---- */

typedef struct { uint8_t b[10]; } x80;
static x80 to_x80(long double v)
{
    x80 x;
    memcpy(x.b, &v, 10);
    return x;
}

#define X87_CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"
/* out := insn applied to a (ST0) under control word cw. */
#define HOST1(name, insn)                                                              \
    static x80 name(x80 a, uint16_t cw)                                                \
    {                                                                                  \
        x80 out;                                                                       \
        uint16_t old;                                                                  \
        __asm__ volatile("fnstcw %[old]\n\tfldcw %[cw]\n\tfldt %[a]\n\t" insn "\n\t"   \
                         "fstpt %[out]\n\tfldcw %[old]"                                \
                         : [old] "+m"(old), [out] "=m"(out)                            \
                         : [cw] "m"(cw), [a] "m"(a) : X87_CLOBBERS);                   \
        return out;                                                                    \
    }
/* out := insn with ST1 = a, ST0 = b, which leaves one value. */
#define HOST2(name, insn)                                                              \
    static x80 name(x80 a, x80 b, uint16_t cw)                                         \
    {                                                                                  \
        x80 out;                                                                       \
        uint16_t old;                                                                  \
        __asm__ volatile("fnstcw %[old]\n\tfldcw %[cw]\n\tfldt %[a]\n\tfldt %[b]\n\t"  \
                         insn "\n\tfstpt %[out]\n\tfldcw %[old]"                       \
                         : [old] "+m"(old), [out] "=m"(out)                            \
                         : [cw] "m"(cw), [a] "m"(a), [b] "m"(b) : X87_CLOBBERS);       \
        return out;                                                                    \
    }
HOST1(host_fsin, "fsin")
HOST1(host_f2xm1, "f2xm1")
HOST1(host_fsqrt, "fsqrt")
HOST1(host_fptan, "fptan\n\tfstp %%st(0)")
HOST2(host_fpatan, "fpatan")
HOST2(host_fyl2x, "fyl2x")
HOST2(host_fdiv, ".byte 0xDE, 0xF9")   /* FDIVP ST(1), ST(0): ST1 := ST1 / ST0, pop */

static void assert_x80_eq(const uint8_t *got, x80 want)
{
    if (memcmp(got, want.b, 10) != 0) {
        char g[32], w[32];
        for (int k = 0; k < 10; k++) {
            snprintf(g + 3 * k, 4, "%02X ", got[9 - k]);
            snprintf(w + 3 * k, 4, "%02X ", want.b[9 - k]);
        }
        ck_abort_msg("got %s want %s", g, w);
    }
}

/* ---- one-operand and two-operand guests ---- */

/* fninit; fldcw [IN_CW]; fld [IN_A]; <op bytes>; fstp [OUT]; fnstsw ax; hlt */
static void unary_guest(uint8_t op0, uint8_t op1, x80 a, uint16_t cw, x80 want)
{
    struct code c = {0};
    FNINIT(&c);
    FLDCW(&c, IN_CW);
    FLD80(&c, IN_A);
    bytes(&c, 2, op0, op1);
    if (op1 == 0xF2) bytes(&c, 2, 0xDD, 0xD8);   /* FPTAN: fstp st0 drops the 1.0 */
    FSTP80(&c, OUT);
    HLT(&c);
    struct run r;
    prepare(&r, &c);
    put(&r, IN_A, a.b, 10);
    put(&r, IN_CW, &cw, 2);
    go(&r);
    ck_assert_int_eq(r.ex.vector, -1);
    assert_x80_eq(at(&r, OUT), want);
    pmg_free(r.g);
}

/* fninit; fldcw; fld [IN_A]; fld [IN_B]; <op>; fstp [OUT]; hlt */
static void binary_guest(uint8_t op0, uint8_t op1, x80 a, x80 b, uint16_t cw, x80 want)
{
    struct code c = {0};
    FNINIT(&c);
    FLDCW(&c, IN_CW);
    FLD80(&c, IN_A);
    FLD80(&c, IN_B);
    bytes(&c, 2, op0, op1);
    FSTP80(&c, OUT);
    HLT(&c);
    struct run r;
    prepare(&r, &c);
    put(&r, IN_A, a.b, 10);
    put(&r, IN_B, b.b, 10);
    put(&r, IN_CW, &cw, 2);
    go(&r);
    ck_assert_int_eq(r.ex.vector, -1);
    assert_x80_eq(at(&r, OUT), want);
    pmg_free(r.g);
}

static const long double samples[] = { 0.7L, -1.25L, 3.0L, 1e10L, 123456.789L, 1e-300L, -0.001L };
enum { NSAMPLES = sizeof samples / sizeof samples[0] };

START_TEST(transcendentals_match_host)
{
    for (int k = 0; k < NSAMPLES; k++) {
        x80 a = to_x80(samples[k]);
        unary_guest(0xD9, 0xFE, a, 0x37F, host_fsin(a, 0x37F));
        unary_guest(0xD9, 0xF2, a, 0x37F, host_fptan(a, 0x37F));
        unary_guest(0xD9, 0xFA, a, 0x37F, host_fsqrt(a, 0x37F));
        x80 small = to_x80(samples[k] / 16384.0L);
        unary_guest(0xD9, 0xF0, small, 0x37F, host_f2xm1(small, 0x37F));
        for (int j = 0; j < NSAMPLES; j++) {
            x80 b = to_x80(samples[j]);
            binary_guest(0xD9, 0xF3, a, b, 0x37F, host_fpatan(a, b, 0x37F));
            x80 pos = to_x80(samples[j] < 0 ? -samples[j] : samples[j]);
            binary_guest(0xD9, 0xF1, a, pos, 0x37F, host_fyl2x(a, pos, 0x37F));
        }
    }
}
END_TEST

/* FDIVP under every rounding mode and precision control. */
START_TEST(rounding_and_precision_control)
{
    static const uint16_t pcs[] = { 0x000, 0x200, 0x300 };
    for (int rc = 0; rc < 4; rc++)
        for (int p = 0; p < 3; p++) {
            uint16_t cw = (uint16_t)(0x7F | pcs[p] | (rc << 10));
            for (int k = 0; k < NSAMPLES; k++)
                for (int j = 0; j < NSAMPLES; j++) {
                    x80 a = to_x80(samples[k]), b = to_x80(samples[j] * 3.0L);
                    binary_guest(0xDE, 0xF9, a, b, cw, host_fdiv(a, b, cw));
                }
        }
}
END_TEST

/* 0/0 gives the QNaN indefinite and IE; an empty operand gives IE+SF. */
START_TEST(masked_invalid_and_stack_underflow)
{
    struct code c = {0};
    FNINIT(&c);
    bytes(&c, 4, 0xD9, 0xEE, 0xD9, 0xEE);   /* fldz; fldz */
    bytes(&c, 2, 0xDE, 0xF9);               /* fdivp */
    FSTP80(&c, OUT);
    FNSTSW_AX(&c);
    bytes(&c, 2, 0x89, 0xC3);               /* mov ebx, eax */
    FNINIT(&c);
    bytes(&c, 2, 0xD8, 0xC1);               /* fadd st0, st1 on an empty stack */
    FNSTSW_AX(&c);
    HLT(&c);
    struct run r;
    run_to_hlt(&r, &c);
    static const uint8_t indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF };
    ck_assert_mem_eq(at(&r, OUT), indefinite, 10);
    ck_assert_uint_eq(cpu_get_reg(pmg_cpu(r.g), R_EBX) & 0xFFFF, 0x0001);
    ck_assert_uint_eq(cpu_get_reg(pmg_cpu(r.g), R_EAX) & 0xFFFF, 0x0041);
    pmg_free(r.g);
}
END_TEST

/* Unmasked IE: the instruction changes nothing, the next WAIT raises #MF;
 * with CR0.TS the FPU instruction raises #NM. */
START_TEST(mf_and_nm_delivery)
{
    static const uint16_t cw = 0x37E;
    struct code c = {0};
    FNINIT(&c);
    FLDCW(&c, IN_CW);
    bytes(&c, 4, 0xD9, 0xEE, 0xD9, 0xEE);   /* fldz; fldz */
    bytes(&c, 2, 0xDE, 0xF9);               /* fdivp: unmasked IE */
    uint32_t wait_at = CODE + c.n;
    bytes(&c, 1, 0x9B);                     /* wait */
    HLT(&c);
    struct run r;
    prepare(&r, &c);
    put(&r, IN_CW, &cw, 2);
    go(&r);
    ck_assert_int_eq(r.ex.vector, 16);
    ck_assert_uint_eq(r.ex.eip, wait_at);
    pmg_free(r.g);

    struct code nm = {0};
    FNINIT(&nm);
    HLT(&nm);
    prepare(&r, &nm);
    go_cr0(&r, CR0_TS, 0);
    ck_assert_int_eq(r.ex.vector, 7);
    ck_assert_uint_eq(r.ex.eip, CODE);
    pmg_free(r.g);
}
END_TEST

/* fld [A]; fld [B]; fcomi st0, st1: B ? A into ZF/PF/CF. */
START_TEST(fcomi_sets_eflags)
{
    static const struct { long double a, b; uint32_t flags; } cases[] = {
        { 1.0L, 2.0L, 0 }, { 2.0L, 1.0L, 1 }, { 3.0L, 3.0L, 0x40 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct code c = {0};
        FNINIT(&c);
        FLD80(&c, IN_A);
        FLD80(&c, IN_B);
        bytes(&c, 2, 0xDB, 0xF1);
        HLT(&c);
        struct run r;
        prepare(&r, &c);
        x80 a = to_x80(cases[k].a), b = to_x80(cases[k].b);
        put(&r, IN_A, a.b, 10);
        put(&r, IN_B, b.b, 10);
        go(&r);
        ck_assert_uint_eq(cpu_get_eflags(pmg_cpu(r.g)) & 0x45, cases[k].flags);
        pmg_free(r.g);
    }
}
END_TEST

/* fild m64; fbstp [OUT]; fbld [OUT]; fistp m64 [OUT2] */
START_TEST(integer_and_bcd_round_trip)
{
    struct code c = {0};
    FNINIT(&c);
    mem_op(&c, 0xDF, 5, IN_A);
    mem_op(&c, 0xDF, 6, OUT);
    mem_op(&c, 0xDF, 4, OUT);
    mem_op(&c, 0xDF, 7, OUT2);
    FNSTSW_AX(&c);
    HLT(&c);
    struct run r;
    prepare(&r, &c);
    int64_t v = -123456789012345LL;
    put(&r, IN_A, &v, 8);
    go(&r);
    static const uint8_t bcd[10] = { 0x45, 0x23, 0x01, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0x80 };
    ck_assert_mem_eq(at(&r, OUT), bcd, 10);
    ck_assert_mem_eq(at(&r, OUT2), &v, 8);
    ck_assert_uint_eq(cpu_get_reg(pmg_cpu(r.g), R_EAX) & 0xFFFF, 0);
    pmg_free(r.g);
}
END_TEST

/* fld1; fldpi; fxsave: control/status/abridged tags, registers in stack order. */
START_TEST(fxsave_layout)
{
    struct code c = {0};
    FNINIT(&c);
    bytes(&c, 4, 0xD9, 0xE8, 0xD9, 0xEB);
    mem_op(&c, 0xAE, 0, FXAREA);
    HLT(&c);
    struct run r;
    run_to_hlt(&r, &c);
    const uint8_t *fx = at(&r, FXAREA);
    x80 pi = to_x80(3.14159265358979323846264338327950288L), one = to_x80(1.0L);
    uint16_t cw, sw;
    uint32_t mxcsr;
    memcpy(&cw, fx, 2);
    memcpy(&sw, fx + 2, 2);
    memcpy(&mxcsr, fx + 24, 4);
    ck_assert_uint_eq(cw, 0x37F);
    ck_assert_uint_eq(sw, 6u << 11);
    ck_assert_uint_eq(fx[4], 0xC0);
    ck_assert_uint_eq(mxcsr, 0x1F80);
    ck_assert_uint_eq(fx[6] | fx[7] << 8, 0x1EB);   /* FOP of fldpi */
    assert_x80_eq(fx + 32, pi);
    assert_x80_eq(fx + 48, one);
    pmg_free(r.g);
}
END_TEST

/* fld1; fldpi; fnsave [S]; fldz; frstor [S]; fnsave [S2]: S2 == S, and the
 * tag word in the image has pi and 1.0 valid, the rest empty. */
START_TEST(fsave_frstor_round_trip)
{
    struct code c = {0};
    FNINIT(&c);
    bytes(&c, 4, 0xD9, 0xE8, 0xD9, 0xEB);
    mem_op(&c, 0xDD, 6, SAVE);
    bytes(&c, 2, 0xD9, 0xEE);
    mem_op(&c, 0xDD, 4, SAVE);
    mem_op(&c, 0xDD, 6, SAVE2);
    HLT(&c);
    struct run r;
    run_to_hlt(&r, &c);
    ck_assert_mem_eq(at(&r, SAVE), at(&r, SAVE2), 108);
    uint16_t tw;
    memcpy(&tw, at(&r, SAVE) + 8, 2);
    ck_assert_uint_eq(tw, 0x0FFF);
    pmg_free(r.g);
}
END_TEST

static Suite *fpu_suite(void)
{
    Suite *s = suite_create("fpu");
    TCase *t = tcase_create("fpu");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, transcendentals_match_host);
    tcase_add_test(t, rounding_and_precision_control);
    tcase_add_test(t, masked_invalid_and_stack_underflow);
    tcase_add_test(t, mf_and_nm_delivery);
    tcase_add_test(t, fcomi_sets_eflags);
    tcase_add_test(t, integer_and_bcd_round_trip);
    tcase_add_test(t, fxsave_layout);
    tcase_add_test(t, fsave_frstor_round_trip);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fpu_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
