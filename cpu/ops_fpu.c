/* ops_fpu.c — the x87 instruction set: the D8..DF escapes, WAIT and the
 * FXSAVE/FXRSTOR rows.
 *
 * Promises: every D8..DF encoding (documented ones and the aliases hardware
 * decodes) is dispatched from two tables, memory forms by (escape, ModRM.reg)
 * and register forms by (escape, ModRM.reg[, ModRM.rm]); unknown encodings
 * are #UD. Numbers are computed by the host's x87 (fpu_host.c) with the
 * guest's control word, so rounding, precision control, masked responses and
 * transcendentals match hardware bit for bit. This file owns the register
 * stack (overflow/underflow with the QNaN indefinite when masked), #NM, the
 * pending-exception check (#MF with CR0.NE, else FERR#), the exception
 * flags with ES/B, and FIP/FOP/FDP of the last numeric instruction. Memory
 * operands are read before and written before any FPU state changes, so a
 * faulting instruction is restartable.
 */
#include "ops_common.h"
#include "fpu_host.h"
#include "fpu_impl.h"

/* Exceptions that, unmasked, stop an instruction before it delivers. */
enum {
    BLOCK_ARITH = FSW_IE | FSW_DE | FSW_ZE,
    BLOCK_STORE = FSW_IE | FSW_DE | FSW_OE | FSW_UE,
};

/* ---- exception and stack bookkeeping ---- */

/* Adds exception flags (SF included) to the status word. True when none of
 * `blocking` is unmasked, i.e. the instruction goes on to deliver. */
static bool fpu_signal(struct cpu *c, unsigned exc, unsigned blocking)
{
    struct fpu *f = &c->fpu;
    f->sw |= (uint16_t)(exc & (FSW_EXC | FSW_SF));
    fpu_update_es(c);
    return !(exc & ~f->cw & blocking);
}

/* Stack overflow or underflow: IE and SF, C1 telling which. True when IE
 * is masked, and the caller then delivers the QNaN indefinite. */
static bool stack_fault(struct cpu *c, bool overflow)
{
    struct fpu *f = &c->fpu;
    f->sw = (uint16_t)((f->sw & ~FSW_C1) | (overflow ? FSW_C1 : 0));
    return fpu_signal(c, FSW_IE | FSW_SF, FSW_IE);
}

static void clear_c1(struct fpu *f) { f->sw &= (uint16_t)~FSW_C1; }
static void take_cc(struct fpu *f, uint16_t host_sw, unsigned which)
{
    f->sw = (uint16_t)((f->sw & ~which) | (host_sw & which));
}

/* st(i) as an operand, NULL when empty. */
static const struct f80 *st_src(struct fpu *f, int i) { return st_empty(f, i) ? NULL : st_ref(f, i); }

/* Runs one host operation with the guest's control word and condition
 * codes; returns the exception flags it raised (nothing is committed). */
static unsigned host_exec(struct cpu *c, enum host_op op, struct host_x87 *x)
{
    x->cw = c->fpu.cw;
    x->sw = c->fpu.sw;
    fpu_host_run(op, x);
    return x->sw & FSW_EXC;
}

/* Pending unmasked exception at a waiting instruction. */
static void fpu_check_pending(struct cpu *c)
{
    struct fpu *f = &c->fpu;
    if (!(f->sw & FSW_ES)) return;
    if (c->cr[0] & CR0_NE) cpu_raise(c, EXC_MF, EXC_NOERR);
    if (!f->ferr && c->bus.ferr) {
        f->ferr = true;
        c->bus.ferr(c->bus.ctx, true);
    }
}

/* ---- memory operand formats ---- */

enum mem_fmt { MF_F32, MF_F64, MF_I16, MF_I32, MF_I64, MF_BCD, MF_F80 };
enum { MF_POP = 0x10 };
struct mem_format {
    uint8_t bytes;
    uint8_t load, store;  /* enum host_op; unused for MF_F80 (a bit copy) */
};
static const struct mem_format mem_formats[] = {
    [MF_F32] = { 4, HOP_LD_F32, HOP_ST_F32 }, [MF_F64] = { 8, HOP_LD_F64, HOP_ST_F64 },
    [MF_I16] = { 2, HOP_LD_I16, HOP_ST_I16 }, [MF_I32] = { 4, HOP_LD_I32, HOP_ST_I32 },
    [MF_I64] = { 8, HOP_LD_I64, HOP_ST_I64 }, [MF_BCD] = { 10, HOP_LD_BCD, HOP_ST_BCD },
    [MF_F80] = { 10, 0, 0 },
};

static struct f80 f80_from_bytes(const uint8_t *b)
{
    struct f80 v;
    memcpy(&v.mant, b, 8);
    memcpy(&v.sexp, b + 8, 2);
    return v;
}

/* Converts memory bytes to 80 bits (FLD); returns the exceptions of the
 * conversion (SNaN: IE, denormal: DE), not yet committed. */
static unsigned convert_in(struct cpu *c, enum mem_fmt fmt, const uint8_t *bytes, struct f80 *out)
{
    if (fmt == MF_F80) {
        *out = f80_from_bytes(bytes);
        return 0;
    }
    struct host_x87 x = {0};
    memcpy(x.mem, bytes, mem_formats[fmt].bytes);
    unsigned exc = host_exec(c, mem_formats[fmt].load, &x);
    *out = x.out[0];
    return exc;
}

/* ---- arithmetic and compares ---- */

/* ModRM.reg of the arithmetic group: ST(0) op source. */
static const uint8_t arith_ops[8] = {
    HOP_ADD, HOP_MUL, HOP_COM, HOP_COM, HOP_SUB, HOP_SUBR, HOP_DIV, HOP_DIVR,
};
/* DC/DE register forms: ST(i) op ST(0), so SUB/SUBR and DIV/DIVR swap. */
static const uint8_t arith_ops_to_sti[8] = {
    HOP_ADD, HOP_MUL, HOP_COM, HOP_COM, HOP_SUBR, HOP_SUB, HOP_DIVR, HOP_DIV,
};

static void deliver(struct fpu *f, int dst, struct f80 v, int pops)
{
    st_write(f, dst, v);
    while (pops-- > 0) fpu_pop(f);
}

/* Commits a host result to st(dst) and pops, unless an unmasked
 * pre-computation exception stops it. */
static void arith_finish(struct cpu *c, int dst, int pops, const struct host_x87 *x, unsigned exc)
{
    struct fpu *f = &c->fpu;
    take_cc(f, x->sw, FSW_C1);
    if (fpu_signal(c, exc, BLOCK_ARITH)) deliver(f, dst, x->out[0], pops);
}

/* st(dst) := st(dst) op src, then pops; src NULL: an empty register. */
static void arith(struct cpu *c, enum host_op op, int dst, const struct f80 *src, int pops)
{
    struct fpu *f = &c->fpu;
    if (!src || st_empty(f, dst)) {
        if (stack_fault(c, false)) deliver(f, dst, f80_indefinite, pops);
        return;
    }
    struct host_x87 x = { .in = { *st_ref(f, dst), *src } };
    unsigned exc = host_exec(c, op, &x);
    arith_finish(c, dst, pops, &x, exc);
}

/* Compare arguments: bit 0 unordered (FUCOM*), bits 1..2 pops, bit 3 the
 * result goes to EFLAGS (FCOMI*). */
enum { CMP_UNORDERED = 1, CMP_POP1 = 2, CMP_POP2 = 4, CMP_EFLAGS = 8 };

/* Commits a compare's condition codes (or EFLAGS) and pops. */
static void compare_finish(struct cpu *c, uint16_t cc, int arg)
{
    struct fpu *f = &c->fpu;
    cc &= FSW_C0 | FSW_C2 | FSW_C3;
    if (arg & CMP_EFLAGS) {   /* C1 is left alone unless the stack faulted */
        flags_set(c, F_ZF | F_PF | F_CF | F_OF | F_SF | F_AF,
                  ((cc & FSW_C3) ? F_ZF : 0) | ((cc & FSW_C2) ? F_PF : 0) | ((cc & FSW_C0) ? F_CF : 0));
    } else {
        take_cc(f, cc, FSW_C0 | FSW_C2 | FSW_C3);
        clear_c1(f);
    }
    for (int pops = (arg >> 1) & 3; pops > 0; pops--) fpu_pop(f);
}

/* Masked stack underflow of a compare: unordered. */
static void compare_underflow(struct cpu *c, int arg)
{
    if (stack_fault(c, false)) compare_finish(c, FSW_C0 | FSW_C2 | FSW_C3, arg);
}

static void compare(struct cpu *c, const struct f80 *src, int arg)
{
    struct fpu *f = &c->fpu;
    if (!src || st_empty(f, 0)) {
        compare_underflow(c, arg);
        return;
    }
    struct host_x87 x = { .in = { *st_ref(f, 0), *src } };
    unsigned exc = host_exec(c, (arg & CMP_UNORDERED) ? HOP_UCOM : HOP_COM, &x);
    if (fpu_signal(c, exc, FSW_IE | FSW_DE)) compare_finish(c, x.sw, arg);
}

/* Host operation of the memory-operand arithmetic group, by format. */
static const uint8_t arith_mem_base[] = {
    [MF_F32] = HOP_ARITH_F32, [MF_F64] = HOP_ARITH_F64, [MF_I32] = HOP_ARITH_I32, [MF_I16] = HOP_ARITH_I16,
};

static void op_arith_mem(struct cpu *c, const struct insn *i, int fmt)
{
    struct fpu *f = &c->fpu;
    bool is_compare = i->reg == 2 || i->reg == 3;
    int arg = i->reg == 3 ? CMP_POP1 : 0;
    struct host_x87 x = {0};
    fpu_mem_read(c, i, 0, x.mem, mem_formats[fmt].bytes);
    if (st_empty(f, 0)) {
        if (is_compare) compare_underflow(c, arg);
        else arith(c, HOP_ADD, 0, NULL, 0);
        return;
    }
    x.in[0] = *st_ref(f, 0);
    unsigned exc = host_exec(c, (enum host_op)(arith_mem_base[fmt] + i->reg), &x);
    if (!is_compare) arith_finish(c, 0, 0, &x, exc);
    else if (fpu_signal(c, exc, FSW_IE | FSW_DE)) compare_finish(c, x.sw, arg);
}

static void op_arith_st0(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    arith(c, arith_ops[i->reg], 0, st_src(&c->fpu, i->rm), 0);
}

static void op_arith_sti(struct cpu *c, const struct insn *i, int pops)
{
    arith(c, arith_ops_to_sti[i->reg], i->rm, st_src(&c->fpu, 0), pops);
}

static void op_compare_reg(struct cpu *c, const struct insn *i, int arg)
{
    compare(c, st_src(&c->fpu, i->rm), arg);
}

/* ---- loads and stores ---- */

/* Stack overflow on a push: the QNaN indefinite goes on the stack when masked. */
static void push_overflow(struct cpu *c)
{
    if (stack_fault(c, true)) fpu_push(&c->fpu, f80_indefinite);
}

/* Pushes v (NULL: the source register was empty; underflow wins). */
static void push_checked(struct cpu *c, const struct f80 *v)
{
    struct fpu *f = &c->fpu;
    if (!st_empty(f, -1) || !v) {
        if (stack_fault(c, v != NULL)) fpu_push(f, f80_indefinite);
        return;
    }
    clear_c1(f);
    fpu_push(f, *v);
}

static void op_fld_mem(struct cpu *c, const struct insn *i, int fmt)
{
    struct fpu *f = &c->fpu;
    uint8_t m[10];
    struct f80 v;
    fpu_mem_read(c, i, 0, m, mem_formats[fmt].bytes);
    if (!st_empty(f, -1)) {
        push_overflow(c);
        return;
    }
    if (fpu_signal(c, convert_in(c, (enum mem_fmt)fmt, m, &v), BLOCK_ARITH)) push_checked(c, &v);
}

static void op_fld_reg(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    const struct f80 *src = st_src(&c->fpu, i->rm);
    struct f80 v = src ? *src : f80_indefinite;
    push_checked(c, src ? &v : NULL);
}

static void op_fconst(struct cpu *c, const struct insn *i, int hop)
{
    (void)i;
    if (!st_empty(&c->fpu, -1)) {
        push_overflow(c);
        return;
    }
    struct host_x87 x = {0};
    host_exec(c, (enum host_op)hop, &x);
    push_checked(c, &x.out[0]);
}

/* FST/FSTP/FIST/FISTP/FBSTP to memory; arg: enum mem_fmt | MF_POP. */
static void op_fst_mem(struct cpu *c, const struct insn *i, int arg)
{
    struct fpu *f = &c->fpu;
    enum mem_fmt fmt = (enum mem_fmt)(arg & 0xF);
    bool empty = st_empty(f, 0);
    struct f80 v = empty ? f80_indefinite : *st_ref(f, 0);
    struct host_x87 x = { .in = { v } };
    unsigned exc = empty ? FSW_IE | FSW_SF : 0;
    uint16_t c1 = 0;
    if (fmt == MF_F80) {
        memcpy(x.mem, &v.mant, 8);
        memcpy(x.mem + 8, &v.sexp, 2);
    } else {
        exc |= host_exec(c, mem_formats[fmt].store, &x);
        c1 = empty ? 0 : x.sw & FSW_C1;
    }
    bool delivers = !(exc & ~f->cw & BLOCK_STORE);
    if (delivers) fpu_mem_write(c, i, 0, x.mem, mem_formats[fmt].bytes);
    take_cc(f, c1, FSW_C1);
    fpu_signal(c, exc, 0);
    if (delivers && (arg & MF_POP)) fpu_pop(f);
}

/* FST/FSTP ST(i) */
static void op_fst_reg(struct cpu *c, const struct insn *i, int pops)
{
    struct fpu *f = &c->fpu;
    if (st_empty(f, 0)) {
        if (stack_fault(c, false)) deliver(f, i->rm, f80_indefinite, pops);
        return;
    }
    clear_c1(f);
    deliver(f, i->rm, *st_ref(f, 0), pops);
}

/* ---- register-stack operations ---- */

static void op_fxch(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    struct fpu *f = &c->fpu;
    bool underflow = st_empty(f, 0) || st_empty(f, i->rm);
    if (underflow && !stack_fault(c, false)) return;
    struct f80 a = st_empty(f, 0) ? f80_indefinite : *st_ref(f, 0);
    struct f80 b = st_empty(f, i->rm) ? f80_indefinite : *st_ref(f, i->rm);
    if (!underflow) clear_c1(f);
    st_write(f, 0, b);
    st_write(f, i->rm, a);
}

/* FCMOVcc: arg is the Jcc condition code. */
static void op_fcmov(struct cpu *c, const struct insn *i, int cc)
{
    struct fpu *f = &c->fpu;
    if (st_empty(f, 0) || st_empty(f, i->rm)) {
        if (stack_fault(c, false)) st_write(f, 0, f80_indefinite);
        return;
    }
    if (cpu_cond(c, cc)) st_write(f, 0, *st_ref(f, i->rm));
}

static void op_ffree(struct cpu *c, const struct insn *i, int pops)
{
    struct fpu *f = &c->fpu;
    f->full &= (uint8_t)~(1u << st_phys(f, i->rm));
    if (pops) fpu_pop(f);
}

static void op_incdecstp(struct cpu *c, const struct insn *i, int delta)
{
    (void)i;
    fpu_set_top(&c->fpu, fpu_top(&c->fpu) + delta);
    clear_c1(&c->fpu);
}

static void op_nop(struct cpu *c, const struct insn *i, int unused) { (void)c, (void)i, (void)unused; }

/* FCHS (arg 0x8000: flip the sign) and FABS (arg 0: clear it). */
static void op_sign(struct cpu *c, const struct insn *i, int flip)
{
    (void)i;
    struct fpu *f = &c->fpu;
    if (st_empty(f, 0)) {
        if (stack_fault(c, false)) st_write(f, 0, f80_indefinite);
        return;
    }
    struct f80 *v = st_ref(f, 0);
    v->sexp = (uint16_t)(flip ? v->sexp ^ 0x8000 : v->sexp & 0x7FFF);
    clear_c1(f);
}

static void op_fxam(struct cpu *c, const struct insn *i, int unused)
{
    (void)i, (void)unused;
    struct fpu *f = &c->fpu;
    if (st_empty(f, 0)) {
        uint16_t sign = (st_ref(f, 0)->sexp & 0x8000) ? FSW_C1 : 0;
        take_cc(f, FSW_C3 | FSW_C0 | sign, FSW_CC);
        return;
    }
    struct host_x87 x = { .in = { *st_ref(f, 0) } };
    host_exec(c, HOP_XAM, &x);
    take_cc(f, x.sw, FSW_CC);
}

/* ---- one-operand and two-operand host functions (D9 E0..FF) ---- */

/* Where a host function's operands come from and its results go. */
enum shape {
    SH_ST0,        /* ST0 := f(ST0)                     FSQRT, FSIN, F2XM1 ... */
    SH_ST0_ST1,    /* ST0 := f(ST0, ST1)                FSCALE, FPREM, FPREM1 */
    SH_POP_ST1,    /* ST1 := f(ST0, ST1), pop           FYL2X, FPATAN, FYL2XP1 */
    SH_PUSH,       /* ST0 := out1, push out0            FXTRACT */
    SH_PUSH_TRIG,  /* as SH_PUSH unless C2 (|x| >= 2^63) FPTAN, FSINCOS */
    SH_CC,         /* condition codes only              FTST */
};
#define UNARY(hop, shape) ((hop) | ((shape) << 8))

static void masked_fault_result(struct fpu *f, enum shape shape)
{
    switch (shape) {
    case SH_POP_ST1: deliver(f, 1, f80_indefinite, 1); break;
    case SH_PUSH: case SH_PUSH_TRIG:
        st_write(f, 0, f80_indefinite);
        fpu_push(f, f80_indefinite);
        break;
    case SH_CC: take_cc(f, FSW_C0 | FSW_C2 | FSW_C3, FSW_C0 | FSW_C2 | FSW_C3); break;
    default: st_write(f, 0, f80_indefinite); break;
    }
}

static void op_host_function(struct cpu *c, const struct insn *i, int arg)
{
    (void)i;
    struct fpu *f = &c->fpu;
    enum host_op hop = (enum host_op)(arg & 0xFF);
    enum shape shape = (enum shape)(arg >> 8);
    bool two = shape == SH_ST0_ST1 || shape == SH_POP_ST1;
    bool pushes = shape == SH_PUSH || shape == SH_PUSH_TRIG;
    if (st_empty(f, 0) || (two && st_empty(f, 1)) || (pushes && !st_empty(f, -1))) {
        if (shape != SH_CC) f->sw &= (uint16_t)~FSW_C2;
        if (stack_fault(c, !st_empty(f, 0) && pushes)) masked_fault_result(f, shape);
        return;
    }
    struct host_x87 x = { .in = { *st_ref(f, 0), two ? *st_ref(f, 1) : f80_indefinite } };
    if (shape == SH_PUSH_TRIG) f->sw &= (uint16_t)~FSW_C2;   /* set again when out of range */
    unsigned exc = host_exec(c, hop, &x);
    take_cc(f, x.sw, FSW_CC);
    if (!fpu_signal(c, exc, BLOCK_ARITH)) return;
    switch (shape) {
    case SH_ST0: case SH_ST0_ST1: st_write(f, 0, x.out[0]); break;
    case SH_POP_ST1: deliver(f, 1, x.out[0], 1); break;
    case SH_PUSH_TRIG:
        if (x.sw & FSW_C2) break;
        /* fall through */
    case SH_PUSH:
        st_write(f, 0, x.out[1]);
        fpu_push(f, x.out[0]);
        break;
    case SH_CC: break;
    }
}

/* ---- control ---- */

static void op_fnclex(struct cpu *c, const struct insn *i, int unused)
{
    (void)i, (void)unused;
    c->fpu.sw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
    fpu_update_es(c);
}

static void op_fninit(struct cpu *c, const struct insn *i, int unused)
{
    (void)i, (void)unused;
    fpu_init(c);
}

static void op_fldcw(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    c->fpu.cw = fpu_cw_value(seg_read(c, i->seg, insn_ea(c, i), 2));
    fpu_update_es(c);
}

static void op_fnstcw(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    seg_write(c, i->seg, insn_ea(c, i), c->fpu.cw, 2);
}

static void op_fnstsw_mem(struct cpu *c, const struct insn *i, int unused)
{
    (void)unused;
    seg_write(c, i->seg, insn_ea(c, i), c->fpu.sw, 2);
}

static void op_fnstsw_ax(struct cpu *c, const struct insn *i, int unused)
{
    (void)i, (void)unused;
    set_r16(c, R_EAX, c->fpu.sw);
}

static void op_fldenv(struct cpu *c, const struct insn *i, int unused) { (void)unused; fpu_op_fldenv(c, i); }
static void op_fnstenv(struct cpu *c, const struct insn *i, int unused) { (void)unused; fpu_op_fnstenv(c, i); }
static void op_frstor(struct cpu *c, const struct insn *i, int unused) { (void)unused; fpu_op_frstor(c, i); }
static void op_fnsave(struct cpu *c, const struct insn *i, int unused) { (void)unused; fpu_op_fnsave(c, i); }

/* ---- dispatch tables ---- */

/* How an instruction takes part in exception reporting. */
enum fpu_kind {
    FK_NUMERIC,  /* waits for a pending exception; records FIP/FOP/FDP */
    FK_CONTROL,  /* waits; leaves the pointers alone (FLDCW, FLDENV, FRSTOR) */
    FK_NOWAIT,   /* FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE */
};

typedef void (*fpu_fn)(struct cpu *c, const struct insn *i, int arg);
struct fpu_entry {
    fpu_fn fn;                       /* NULL: #UD */
    int16_t arg;
    uint8_t kind;
    const struct fpu_entry *by_rm;   /* register forms that differ by ModRM.rm */
};
#define N(fn, arg) { fn, arg, FK_NUMERIC, NULL }
#define CTL(fn) { fn, 0, FK_CONTROL, NULL }
#define NW(fn) { fn, 0, FK_NOWAIT, NULL }
#define BY_RM(table) { NULL, 0, FK_NUMERIC, table }
#define UD { NULL, 0, FK_NUMERIC, NULL }
#define ARITH_MEM(fmt) N(op_arith_mem, fmt), N(op_arith_mem, fmt), N(op_arith_mem, fmt),         \
    N(op_arith_mem, fmt), N(op_arith_mem, fmt), N(op_arith_mem, fmt), N(op_arith_mem, fmt),       \
    N(op_arith_mem, fmt)

static const struct fpu_entry mem_forms[8][8] = {
    { ARITH_MEM(MF_F32) },
    { N(op_fld_mem, MF_F32), UD, N(op_fst_mem, MF_F32), N(op_fst_mem, MF_F32 | MF_POP),
      CTL(op_fldenv), CTL(op_fldcw), NW(op_fnstenv), NW(op_fnstcw) },
    { ARITH_MEM(MF_I32) },
    { N(op_fld_mem, MF_I32), UD, N(op_fst_mem, MF_I32), N(op_fst_mem, MF_I32 | MF_POP),
      UD, N(op_fld_mem, MF_F80), UD, N(op_fst_mem, MF_F80 | MF_POP) },
    { ARITH_MEM(MF_F64) },
    { N(op_fld_mem, MF_F64), UD, N(op_fst_mem, MF_F64), N(op_fst_mem, MF_F64 | MF_POP),
      CTL(op_frstor), UD, NW(op_fnsave), NW(op_fnstsw_mem) },
    { ARITH_MEM(MF_I16) },
    { N(op_fld_mem, MF_I16), UD, N(op_fst_mem, MF_I16), N(op_fst_mem, MF_I16 | MF_POP),
      N(op_fld_mem, MF_BCD), N(op_fld_mem, MF_I64), N(op_fst_mem, MF_BCD | MF_POP),
      N(op_fst_mem, MF_I64 | MF_POP) },
};

static const struct fpu_entry d9_d0[8] = { N(op_nop, 0), UD, UD, UD, UD, UD, UD, UD };
static const struct fpu_entry d9_e0[8] = {
    N(op_sign, 1), N(op_sign, 0), UD, UD, N(op_host_function, UNARY(HOP_TST, SH_CC)),
    N(op_fxam, 0), UD, UD,
};
static const struct fpu_entry d9_e8[8] = {
    N(op_fconst, HOP_LD1), N(op_fconst, HOP_LDL2T), N(op_fconst, HOP_LDL2E),
    N(op_fconst, HOP_LDPI), N(op_fconst, HOP_LDLG2), N(op_fconst, HOP_LDLN2),
    N(op_fconst, HOP_LDZ), UD,
};
static const struct fpu_entry d9_f0[8] = {
    N(op_host_function, UNARY(HOP_F2XM1, SH_ST0)), N(op_host_function, UNARY(HOP_FYL2X, SH_POP_ST1)),
    N(op_host_function, UNARY(HOP_FPTAN, SH_PUSH_TRIG)), N(op_host_function, UNARY(HOP_FPATAN, SH_POP_ST1)),
    N(op_host_function, UNARY(HOP_FXTRACT, SH_PUSH)), N(op_host_function, UNARY(HOP_FPREM1, SH_ST0_ST1)),
    N(op_incdecstp, -1), N(op_incdecstp, 1),
};
static const struct fpu_entry d9_f8[8] = {
    N(op_host_function, UNARY(HOP_FPREM, SH_ST0_ST1)), N(op_host_function, UNARY(HOP_FYL2XP1, SH_POP_ST1)),
    N(op_host_function, UNARY(HOP_FSQRT, SH_ST0)), N(op_host_function, UNARY(HOP_FSINCOS, SH_PUSH_TRIG)),
    N(op_host_function, UNARY(HOP_FRNDINT, SH_ST0)), N(op_host_function, UNARY(HOP_FSCALE, SH_ST0_ST1)),
    N(op_host_function, UNARY(HOP_FSIN, SH_ST0)), N(op_host_function, UNARY(HOP_FCOS, SH_ST0)),
};
static const struct fpu_entry da_e8[8] = { UD, N(op_compare_reg, CMP_UNORDERED | CMP_POP2), UD, UD, UD, UD, UD, UD };
static const struct fpu_entry db_e0[8] = {
    NW(op_nop), NW(op_nop), NW(op_fnclex), NW(op_fninit), NW(op_nop), UD, UD, UD,
};
static const struct fpu_entry de_d8[8] = { UD, N(op_compare_reg, CMP_POP2), UD, UD, UD, UD, UD, UD };
static const struct fpu_entry df_e0[8] = { NW(op_fnstsw_ax), UD, UD, UD, UD, UD, UD, UD };

/* Jcc condition codes of FCMOVB/E/BE/U (DA) and their negations (DB). */
enum { CC_B = 2, CC_NB = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_NBE = 7, CC_P = 10, CC_NP = 11 };
#define ARITH_TO_STI(pops) N(op_arith_sti, pops), N(op_arith_sti, pops)
#define ARITH_TO_STI4(pops) ARITH_TO_STI(pops), ARITH_TO_STI(pops)

static const struct fpu_entry reg_forms[8][8] = {
    { N(op_arith_st0, 0), N(op_arith_st0, 0), N(op_compare_reg, 0), N(op_compare_reg, CMP_POP1),
      N(op_arith_st0, 0), N(op_arith_st0, 0), N(op_arith_st0, 0), N(op_arith_st0, 0) },
    { N(op_fld_reg, 0), N(op_fxch, 0), BY_RM(d9_d0), N(op_fst_reg, 1),
      BY_RM(d9_e0), BY_RM(d9_e8), BY_RM(d9_f0), BY_RM(d9_f8) },
    { N(op_fcmov, CC_B), N(op_fcmov, CC_E), N(op_fcmov, CC_BE), N(op_fcmov, CC_P),
      UD, BY_RM(da_e8), UD, UD },
    { N(op_fcmov, CC_NB), N(op_fcmov, CC_NE), N(op_fcmov, CC_NBE), N(op_fcmov, CC_NP),
      BY_RM(db_e0), N(op_compare_reg, CMP_UNORDERED | CMP_EFLAGS), N(op_compare_reg, CMP_EFLAGS), UD },
    { ARITH_TO_STI(0), N(op_compare_reg, 0), N(op_compare_reg, CMP_POP1), ARITH_TO_STI4(0) },
    { N(op_ffree, 0), N(op_fxch, 0), N(op_fst_reg, 0), N(op_fst_reg, 1),
      N(op_compare_reg, CMP_UNORDERED), N(op_compare_reg, CMP_UNORDERED | CMP_POP1), UD, UD },
    { ARITH_TO_STI(1), N(op_compare_reg, CMP_POP1), BY_RM(de_d8), ARITH_TO_STI4(1) },
    { N(op_ffree, 1), N(op_fxch, 0), N(op_fst_reg, 1), N(op_fst_reg, 1), BY_RM(df_e0),
      N(op_compare_reg, CMP_UNORDERED | CMP_EFLAGS | CMP_POP1),
      N(op_compare_reg, CMP_EFLAGS | CMP_POP1), UD },
};

/* ---- instruction pointers ---- */

static uint8_t code_byte(struct cpu *c, uint32_t k)
{
    uint32_t lin = c->seg[S_CS].base + c->insn_eip + k;
    return (uint8_t)phys_read(c, mmu_code_phys(c, lin), 1);
}

/* The ModRM byte as encoded (a memory form's mod is not in struct insn). */
static uint8_t fpu_modrm(struct cpu *c, const struct insn *i)
{
    uint8_t reg_rm = (uint8_t)((i->reg << 3) | i->rm);
    if (!(i->flags & I_MEM)) return 0xC0 | reg_rm;
    for (uint32_t k = 0; k + 1 < i->len; k++)
        if ((code_byte(c, k) & 0xF8) == 0xD8) return code_byte(c, k + 1);
    return reg_rm;
}

static void record_pointers(struct cpu *c, const struct insn *i)
{
    struct fpu *f = &c->fpu;
    f->fip = c->insn_eip;
    f->fcs = c->seg[S_CS].sel;
    f->fop = (uint16_t)(((i->op & 7) << 8) | fpu_modrm(c, i));
    if (i->flags & I_MEM) {
        f->fdp = insn_ea(c, i);
        f->fds = c->seg[i->seg].sel;
    }
}

/* ---- handlers ---- */

static void fpu_escape(struct cpu *c, const struct insn *i)
{
    if (c->cr[0] & (CR0_EM | CR0_TS)) cpu_raise(c, EXC_NM, EXC_NOERR);
    const struct fpu_entry *e = (i->flags & I_MEM) ? &mem_forms[i->op & 7][i->reg]
                                                   : &reg_forms[i->op & 7][i->reg];
    if (e->by_rm) e = &e->by_rm[i->rm];
    if (!e->fn) cpu_ud(c);
    if (e->kind != FK_NOWAIT) fpu_check_pending(c);
    e->fn(c, i, e->arg);
    if (e->kind == FK_NUMERIC) record_pointers(c, i);
}

static void op_wait(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr[0] & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) cpu_raise(c, EXC_NM, EXC_NOERR);
    fpu_check_pending(c);
}

const struct opdesc ops_fpu[] = {
    ROWS8(0xD8, M, fpu_escape, fpu_escape),
    SAME(0x9B, 0, op_wait),
    ROW(0x1AE, 0, M | D_MEMONLY, fpu_op_fxsave, fpu_op_fxsave),
    ROW(0x1AE, 1, M | D_MEMONLY, fpu_op_fxrstor, fpu_op_fxrstor),
    OPDESC_END
};
