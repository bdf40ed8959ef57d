/* fpu_host.c — one x87 operation on the host FPU (see fpu_host.h).
 *
 * Every operation runs the same frame: save the host control word, load an
 * environment holding the guest's control word and condition codes (no
 * pending exceptions, all registers empty), push in[1] and in[0], run the
 * one instruction, read the status word and clear the exceptions with
 * non-waiting instructions, restore the host control word (all masked) and
 * pop three slots into out[] so the host stack is empty again whatever the
 * instruction pushed or popped. Needs an x86 host (x87 present).
 */
#include <string.h>

#include "fpu_host.h"

#if !defined(__x86_64__) && !defined(__i386__)
#error "plan86's x87 runs on the host's x87 unit: build on an x86 host"
#endif

/* The 28-byte protected-mode environment FLDENV takes. */
struct host_env {
    uint16_t cw, r0, sw, r1, tw, r2;
    uint32_t ip, cs_op, dp, ds;
};

typedef void (*host_stub)(struct host_x87 *x, const struct host_env *env);

#define HOST_STUB(name, index, insn)                                                        \
    static void stub_##name(struct host_x87 *x, const struct host_env *env)            \
    {                                                                                  \
        uint16_t host_cw;                                                              \
        __asm__ volatile("fnstcw %[hcw]\n\t"                                           \
                         "fldenv %[env]\n\t"                                           \
                         "fldt %[in1]\n\t"                                             \
                         "fldt %[in0]\n\t"                                             \
                         insn "\n\t"                                                   \
                         "fnstsw %[sw]\n\t"                                            \
                         "fnclex\n\t"                                                  \
                         "fldcw %[hcw]\n\t"                                            \
                         "fstpt %[o0]\n\t"                                             \
                         "fstpt %[o1]\n\t"                                             \
                         "fstpt %[o2]\n\t"                                             \
                         "fnclex"                                                      \
                         : [hcw] "+m"(host_cw), [sw] "=m"(x->sw), [o0] "=m"(x->out[0]), \
                           [o1] "=m"(x->out[1]), [o2] "=m"(x->out[2]), [mem] "+m"(x->mem) \
                         : [env] "m"(*env), [in0] "m"(x->in[0]), [in1] "m"(x->in[1])   \
                         : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",  \
                           "st(7)", "cc");                                             \
    }

/* The memory-operand arithmetic group in ModRM.reg order; AT&T suffix sfx
 * (s/l) and prefix pre (f, or fi for integers) name the operand format. */
#define ARITH_MEM_OPS(X, base, sfx, pre)                                               \
    X(base##_0, base, pre "add" sfx " %[mem]") X(base##_1, base + 1, pre "mul" sfx " %[mem]") \
    X(base##_2, base + 2, pre "com" sfx " %[mem]") X(base##_3, base + 3, pre "com" sfx " %[mem]") \
    X(base##_4, base + 4, pre "sub" sfx " %[mem]") X(base##_5, base + 5, pre "subr" sfx " %[mem]") \
    X(base##_6, base + 6, pre "div" sfx " %[mem]") X(base##_7, base + 7, pre "divr" sfx " %[mem]")

#define HOST_OPS(X)                                                                    \
    X(HOP_ADD, HOP_ADD, "fadd %%st(1), %%st") X(HOP_MUL, HOP_MUL, "fmul %%st(1), %%st")                  \
    X(HOP_SUB, HOP_SUB, "fsub %%st(1), %%st") X(HOP_SUBR, HOP_SUBR, "fsubr %%st(1), %%st")                \
    X(HOP_DIV, HOP_DIV, "fdiv %%st(1), %%st") X(HOP_DIVR, HOP_DIVR, "fdivr %%st(1), %%st")                \
    X(HOP_COM, HOP_COM, "fcom %%st(1)") X(HOP_UCOM, HOP_UCOM, "fucom %%st(1)")                            \
    X(HOP_TST, HOP_TST, "ftst") X(HOP_XAM, HOP_XAM, "fxam")                                              \
    X(HOP_LD1, HOP_LD1, "fld1") X(HOP_LDL2T, HOP_LDL2T, "fldl2t") X(HOP_LDL2E, HOP_LDL2E, "fldl2e")                   \
    X(HOP_LDPI, HOP_LDPI, "fldpi") X(HOP_LDLG2, HOP_LDLG2, "fldlg2") X(HOP_LDLN2, HOP_LDLN2, "fldln2")                 \
    X(HOP_LDZ, HOP_LDZ, "fldz")                                                                 \
    X(HOP_F2XM1, HOP_F2XM1, "f2xm1") X(HOP_FYL2X, HOP_FYL2X, "fyl2x") X(HOP_FPTAN, HOP_FPTAN, "fptan")                  \
    X(HOP_FPATAN, HOP_FPATAN, "fpatan") X(HOP_FXTRACT, HOP_FXTRACT, "fxtract") X(HOP_FPREM1, HOP_FPREM1, "fprem1")          \
    X(HOP_FPREM, HOP_FPREM, "fprem") X(HOP_FYL2XP1, HOP_FYL2XP1, "fyl2xp1") X(HOP_FSQRT, HOP_FSQRT, "fsqrt")              \
    X(HOP_FSINCOS, HOP_FSINCOS, "fsincos") X(HOP_FRNDINT, HOP_FRNDINT, "frndint") X(HOP_FSCALE, HOP_FSCALE, "fscale")        \
    X(HOP_FSIN, HOP_FSIN, "fsin") X(HOP_FCOS, HOP_FCOS, "fcos")                                            \
    X(HOP_LD_F32, HOP_LD_F32, "flds %[mem]") X(HOP_LD_F64, HOP_LD_F64, "fldl %[mem]")                          \
    X(HOP_LD_I16, HOP_LD_I16, "filds %[mem]") X(HOP_LD_I32, HOP_LD_I32, "fildl %[mem]")                        \
    X(HOP_LD_I64, HOP_LD_I64, "fildll %[mem]") X(HOP_LD_BCD, HOP_LD_BCD, "fbld %[mem]")                        \
    X(HOP_ST_F32, HOP_ST_F32, "fsts %[mem]") X(HOP_ST_F64, HOP_ST_F64, "fstl %[mem]")                          \
    X(HOP_ST_I16, HOP_ST_I16, "fists %[mem]") X(HOP_ST_I32, HOP_ST_I32, "fistl %[mem]")                        \
    X(HOP_ST_I64, HOP_ST_I64, "fistpll %[mem]") X(HOP_ST_BCD, HOP_ST_BCD, "fbstp %[mem]")                     \
    ARITH_MEM_OPS(X, HOP_ARITH_F32, "s", "f") ARITH_MEM_OPS(X, HOP_ARITH_F64, "l", "f")  \
    ARITH_MEM_OPS(X, HOP_ARITH_I32, "l", "fi") ARITH_MEM_OPS(X, HOP_ARITH_I16, "s", "fi")

HOST_OPS(HOST_STUB)

#define HOST_ROW(name, index, insn) [index] = stub_##name,
static const host_stub host_stubs[HOP_COUNT] = { HOST_OPS(HOST_ROW) };

void fpu_host_run(enum host_op op, struct host_x87 *x)
{
    struct host_env env;
    memset(&env, 0, sizeof env);
    env.cw = x->cw;
    env.sw = x->sw & FSW_CC;
    env.tw = 0xFFFF;
    host_stubs[op](x, &env);
}
