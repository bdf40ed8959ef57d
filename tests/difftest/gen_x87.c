/* gen_x87.c — the x87 half of the difftest generator (gen_priv.h).
 *
 * Promises: x87_emit_one() emits one x87 instruction drawn from a weighted
 * table of forms (every load/store format, arithmetic in all forms, compares,
 * constants, FLDCW, FCMOVcc, stack control, FNSTSW, transcendentals), with
 * everything it needs set up first: an interesting value planted at a memory
 * operand by MOVs to its absolute address, a valid control word for FLDCW
 * (exceptions always masked, random rounding and precision), and operands in
 * the valid range pushed before a transcendental. It tracks which condition
 * codes (C0-C3) the SDM leaves undefined; when FNSTSW stores some, an AND
 * right after it clears them, so stored status words compare exactly.
 * x87_initial_state() makes a random FNSAVE image that FRSTOR accepts: masked
 * exceptions, sticky flags without ES/B, any TOP, a contiguous run of
 * non-empty registers from ST(0), values of every class.
 */
#include <string.h>

#include "gen_priv.h"

/* ---------------------------------------------------------------- values */

enum { C0 = 0x0100, C1 = 0x0200, C2 = 0x0400, C3 = 0x4000, CC_ALL = C0 | C1 | C2 | C3 };
enum { SW_TOP_SHIFT = 11, SW_STICKY = 0x7F, CW_MASK_ALL = 0x3F, CW_RESERVED_ONE = 0x40 };

struct fp_format {
    uint8_t bytes, exp_bits, frac_bits;
    bool explicit_int;      /* the 80-bit format stores its integer bit */
};
static const struct fp_format F32 = { 4, 8, 23, false }, F64 = { 8, 11, 52, false },
                              F80 = { 10, 15, 63, true };

static uint32_t pick(uint32_t *rng, uint32_t n) { return dt_xorshift(rng) % n; }
static uint64_t rnd64(uint32_t *rng)
{
    uint64_t hi = dt_xorshift(rng);
    return hi << 32 | dt_xorshift(rng);
}
static void put_bytes_le(uint8_t *out, uint64_t v, int n)
{
    for (int k = 0; k < n; k++) out[k] = (uint8_t)(v >> (8 * k));
}

static void pack_fp(const struct fp_format *f, bool sign, uint32_t exp, uint64_t frac, bool j, uint8_t *out)
{
    if (f->explicit_int) {
        put_bytes_le(out, (uint64_t)j << 63 | frac, 8);
        put_bytes_le(out + 8, (uint64_t)sign << 15 | exp, 2);
        return;
    }
    uint64_t v = (uint64_t)sign << (f->exp_bits + f->frac_bits) | (uint64_t)exp << f->frac_bits | frac;
    put_bytes_le(out, v, f->bytes);
}

/* A value of any class: zeros, denormals, infinities, quiet and signalling
 * NaNs, extreme and moderate exponents, short mantissas (exact small values);
 * in 80-bit format rarely an unsupported encoding (integer bit flipped). */
static void interesting_fp(uint32_t *rng, const struct fp_format *f, uint8_t *out)
{
    uint32_t emax = (1u << f->exp_bits) - 1, bias = emax >> 1;
    uint64_t fmask = (1ull << f->frac_bits) - 1, quiet = 1ull << (f->frac_bits - 1);
    bool sign = pick(rng, 2);
    uint64_t frac = rnd64(rng) & fmask;
    uint32_t exp;
    switch (pick(rng, 12)) {
    case 0: exp = 0; frac = 0; break;
    case 1: exp = 0; frac = (frac >> pick(rng, f->frac_bits)) | 1; break;
    case 2: exp = emax; frac = 0; break;
    case 3: exp = emax; frac |= quiet; break;
    case 4: exp = emax; frac = (frac & ~quiet) | 1; break;
    case 5: exp = emax - 1 - pick(rng, 4); break;
    case 6: exp = 1 + pick(rng, 4); break;
    case 7: exp = bias + pick(rng, 16); frac &= ~(fmask >> pick(rng, 8)); break;
    case 8: exp = bias - 2 + pick(rng, 4); break;
    default: exp = bias - 70 + pick(rng, 141); break;
    }
    bool j = exp != 0;
    if (f->explicit_int && pick(rng, 24) == 0) j = !j;
    pack_fp(f, sign, exp, frac, j, out);
}

/* Exceptions masked, bit 6 as FNINIT leaves it, random precision (24, 53 or
 * 64 bits; never the reserved 01) and rounding. */
static uint16_t control_word(uint32_t *rng)
{
    static const uint8_t precisions[] = { 0, 2, 3, 3 };
    uint32_t pc = precisions[pick(rng, 4)], rc = pick(rng, 4);
    return (uint16_t)(CW_RESERVED_ONE | CW_MASK_ALL | pc << 8 | rc << 10);
}

/* The tag FNSAVE reports for an 80-bit value: 0 valid, 1 zero, 2 special. */
static unsigned tag_of(const uint8_t *v)
{
    uint32_t exp = (v[9] & 0x7Fu) << 8 | v[8];
    uint64_t mant = 0;
    for (int k = 7; k >= 0; k--) mant = mant << 8 | v[k];
    if (exp == 0x7FFF) return 2;
    if (exp == 0) return mant ? 2 : 1;
    return mant >> 63 ? 0 : 2;
}

void x87_initial_state(uint32_t *rng, uint8_t image[DT_FPU_IMAGE])
{
    memset(image, 0, DT_FPU_IMAGE);
    put_bytes_le(image + DT_FPU_CW, control_word(rng), 2);
    uint32_t top = pick(rng, 8);
    uint32_t sticky = pick(rng, 2) ? dt_xorshift(rng) & SW_STICKY : 0;
    uint32_t sw = top << SW_TOP_SHIFT | sticky | (dt_xorshift(rng) & CC_ALL);
    put_bytes_le(image + DT_FPU_SW, sw, 2);
    uint32_t depth = pick(rng, 9), tw = 0;
    for (uint32_t i = 0; i < 8; i++) {
        uint8_t *reg = image + DT_FPU_ST + 10 * i;
        interesting_fp(rng, &F80, reg);
        uint32_t tag = i < depth ? tag_of(reg) : 3;
        if (i < depth && pick(rng, 8) == 0) tag = pick(rng, 3);   /* FNSAVE recomputes it */
        tw |= tag << (2 * ((top + i) & 7));
    }
    put_bytes_le(image + DT_FPU_TW, tw, 2);
}

/* ---------------------------------------------------------------- forms */

enum xkind { XK_MEM, XK_REG, XK_FIXED };
enum xtype { XT_NONE, XT_F32, XT_F64, XT_F80, XT_I16, XT_I32, XT_I64, XT_CW };
/* Operand ranges for values pushed before an instruction. */
enum xrange { XR_NONE, XR_ANY, XR_UNIT, XR_LOG1P, XR_POS, XR_TRIG, XR_INT };
enum xspecial { XS_NONE, XS_STSW_AX, XS_STSW_MEM };

struct xform {
    const char *name;
    uint8_t op, modrm;      /* MEM: ModRM.reg; REG: ModRM of ST(0), i added; FIXED: 2nd byte */
    uint8_t kind, type;
    bool load;              /* reads its memory operand: a value may be planted there */
    uint16_t cc_def, cc_undef;
    uint16_t fl_rd, fl_def; /* EFLAGS read (FCMOVcc) / written (FCOMI) */
    uint8_t st1, st0;       /* ranges pushed first (ends as ST1) and last (ST0) */
    uint8_t special;
    uint8_t weight;
};

#define XROW(nm, op, mr, kind, type, load, def, undef, rd, fdef, st1, st0, sp, wt) \
    { nm, op, mr, kind, type, load, def, undef, rd, fdef, st1, st0, sp, wt }
#define CC_REST (C0 | C2 | C3)   /* with C1 defined (round-up / stack fault): the usual case */
#define LOAD(nm, op, ext, type, def, undef, wt) \
    XROW(nm, op, ext, XK_MEM, type, true, def, undef, 0, 0, XR_NONE, XR_NONE, XS_NONE, wt)
#define STORE(nm, op, ext, type, def, undef, sp, wt) \
    XROW(nm, op, ext, XK_MEM, type, false, def, undef, 0, 0, XR_NONE, XR_NONE, sp, wt)
#define REG(nm, op, mr, def, undef, rd, fdef, wt) \
    XROW(nm, op, mr, XK_REG, XT_NONE, false, def, undef, rd, fdef, XR_NONE, XR_NONE, XS_NONE, wt)
#define FIXED(nm, b2, def, undef, st1, st0, wt) \
    XROW(nm, 0xD9, b2, XK_FIXED, XT_NONE, false, def, undef, 0, 0, st1, st0, XS_NONE, wt)
/* ModRM.reg k of D8/DC/DA/DE; the register forms of DC/DE swap SUB/SUBR, DIV/DIVR. */
#define ARITH(k, nm, nm_dc)                                              \
    LOAD("f" nm " m32", 0xD8, k, XT_F32, C1, CC_REST, 2),                   \
    LOAD("f" nm " m64", 0xDC, k, XT_F64, C1, CC_REST, 2),                   \
    LOAD("fi" nm " m32", 0xDA, k, XT_I32, C1, CC_REST, 1),                  \
    LOAD("fi" nm " m16", 0xDE, k, XT_I16, C1, CC_REST, 1),                  \
    REG("f" nm " st,st(i)", 0xD8, 0xC0 + 8 * k, C1, CC_REST, 0, 0, 2),      \
    REG("f" nm_dc " st(i),st", 0xDC, 0xC0 + 8 * k, C1, CC_REST, 0, 0, 2),   \
    REG("f" nm_dc "p st(i),st", 0xDE, 0xC0 + 8 * k, C1, CC_REST, 0, 0, 2)
#define COMPARE(k, nm, inm)                                              \
    LOAD(nm " m32", 0xD8, k, XT_F32, CC_ALL, 0, 1),                      \
    LOAD(nm " m64", 0xDC, k, XT_F64, CC_ALL, 0, 1),                      \
    LOAD(inm " m32", 0xDA, k, XT_I32, CC_ALL, 0, 1),                     \
    LOAD(inm " m16", 0xDE, k, XT_I16, CC_ALL, 0, 1),                     \
    REG(nm " st(i)", 0xD8, 0xC0 + 8 * k, CC_ALL, 0, 0, 0, 2)
#define FCMOV(nm, op, mr, rd) REG(nm " st,st(i)", op, mr, C1, CC_REST, rd, 0, 1)
#define FCOMI(nm, op, mr) REG(nm " st,st(i)", op, mr, C1, 0, 0, ALLF, 2)
#define TRANS(nm, b2, def, undef, st1, st0) FIXED(nm, b2, def, undef, st1, st0, 2)

static const struct xform xforms[] = {
    /* loads and stores */
    LOAD("fld m32", 0xD9, 0, XT_F32, C1, CC_REST, 3),
    LOAD("fld m64", 0xDD, 0, XT_F64, C1, CC_REST, 3),
    LOAD("fld m80", 0xDB, 5, XT_F80, C1, CC_REST, 3),
    REG("fld st(i)", 0xD9, 0xC0, C1, CC_REST, 0, 0, 2),
    STORE("fst m32", 0xD9, 2, XT_F32, C1, CC_REST, XS_NONE, 2),
    STORE("fstp m32", 0xD9, 3, XT_F32, C1, CC_REST, XS_NONE, 2),
    STORE("fst m64", 0xDD, 2, XT_F64, C1, CC_REST, XS_NONE, 2),
    STORE("fstp m64", 0xDD, 3, XT_F64, C1, CC_REST, XS_NONE, 2),
    STORE("fstp m80", 0xDB, 7, XT_F80, C1, CC_REST, XS_NONE, 2),
    REG("fst st(i)", 0xDD, 0xD0, C1, CC_REST, 0, 0, 1),
    REG("fstp st(i)", 0xDD, 0xD8, C1, CC_REST, 0, 0, 2),
    LOAD("fild m16", 0xDF, 0, XT_I16, C1, CC_REST, 2),
    LOAD("fild m32", 0xDB, 0, XT_I32, C1, CC_REST, 2),
    LOAD("fild m64", 0xDF, 5, XT_I64, C1, CC_REST, 2),
    STORE("fist m16", 0xDF, 2, XT_I16, C1, CC_REST, XS_NONE, 2),
    STORE("fistp m16", 0xDF, 3, XT_I16, C1, CC_REST, XS_NONE, 2),
    STORE("fist m32", 0xDB, 2, XT_I32, C1, CC_REST, XS_NONE, 2),
    STORE("fistp m32", 0xDB, 3, XT_I32, C1, CC_REST, XS_NONE, 2),
    STORE("fistp m64", 0xDF, 7, XT_I64, C1, CC_REST, XS_NONE, 2),
    /* arithmetic */
    ARITH(0, "add", "add"),
    ARITH(1, "mul", "mul"),
    ARITH(4, "sub", "subr"),
    ARITH(5, "subr", "sub"),
    ARITH(6, "div", "divr"),
    ARITH(7, "divr", "div"),
    FIXED("fchs", 0xE0, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fabs", 0xE1, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fsqrt", 0xFA, C1, CC_REST, XR_NONE, XR_NONE, 2),
    FIXED("frndint", 0xFC, C1, CC_REST, XR_NONE, XR_NONE, 2),
    FIXED("fscale", 0xFD, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fscale (small int scale)", 0xFD, C1, CC_REST, XR_INT, XR_ANY, 1),
    FIXED("fxtract", 0xF4, C1, CC_REST, XR_NONE, XR_NONE, 2),
    FIXED("fprem", 0xF8, CC_ALL, 0, XR_NONE, XR_NONE, 2),
    FIXED("fprem1", 0xF5, CC_ALL, 0, XR_NONE, XR_NONE, 2),
    /* compares */
    COMPARE(2, "fcom", "ficom"),
    COMPARE(3, "fcomp", "ficomp"),
    XROW("fcompp", 0xDE, 0xD9, XK_FIXED, XT_NONE, false, CC_ALL, 0, 0, 0, XR_NONE, XR_NONE, XS_NONE, 1),
    REG("fucom st(i)", 0xDD, 0xE0, CC_ALL, 0, 0, 0, 2),
    REG("fucomp st(i)", 0xDD, 0xE8, CC_ALL, 0, 0, 0, 1),
    XROW("fucompp", 0xDA, 0xE9, XK_FIXED, XT_NONE, false, CC_ALL, 0, 0, 0, XR_NONE, XR_NONE, XS_NONE, 1),
    FCOMI("fcomi", 0xDB, 0xF0),
    FCOMI("fcomip", 0xDF, 0xF0),
    FCOMI("fucomi", 0xDB, 0xE8),
    FCOMI("fucomip", 0xDF, 0xE8),
    FIXED("ftst", 0xE4, CC_ALL, 0, XR_NONE, XR_NONE, 2),
    FIXED("fxam", 0xE5, CC_ALL, 0, XR_NONE, XR_NONE, 2),
    /* constants */
    FIXED("fld1", 0xE8, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldl2t", 0xE9, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldl2e", 0xEA, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldpi", 0xEB, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldlg2", 0xEC, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldln2", 0xED, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fldz", 0xEE, C1, CC_REST, XR_NONE, XR_NONE, 1),
    /* control, stack, moves */
    LOAD("fldcw m16", 0xD9, 5, XT_CW, 0, CC_ALL, 3),
    STORE("fnstcw m16", 0xD9, 7, XT_I16, 0, CC_ALL, XS_NONE, 1),
    STORE("fnstsw m16", 0xDD, 7, XT_I16, 0, CC_ALL, XS_STSW_MEM, 1),
    XROW("fnstsw ax", 0xDF, 0xE0, XK_FIXED, XT_NONE, false, 0, CC_ALL, 0, 0, XR_NONE, XR_NONE, XS_STSW_AX, 3),
    XROW("fnclex", 0xDB, 0xE2, XK_FIXED, XT_NONE, false, 0, CC_ALL, 0, 0, XR_NONE, XR_NONE, XS_NONE, 1),
    REG("fxch st(i)", 0xD9, 0xC8, C1, CC_REST, 0, 0, 2),
    REG("ffree st(i)", 0xDD, 0xC0, 0, CC_ALL, 0, 0, 1),
    FIXED("fincstp", 0xF7, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fdecstp", 0xF6, C1, CC_REST, XR_NONE, XR_NONE, 1),
    FIXED("fnop", 0xD0, 0, CC_ALL, XR_NONE, XR_NONE, 1),
    FCMOV("fcmovb", 0xDA, 0xC0, CF),
    FCMOV("fcmove", 0xDA, 0xC8, ZF),
    FCMOV("fcmovbe", 0xDA, 0xD0, CF | ZF),
    FCMOV("fcmovu", 0xDA, 0xD8, PF),
    FCMOV("fcmovnb", 0xDB, 0xC0, CF),
    FCMOV("fcmovne", 0xDB, 0xC8, ZF),
    FCMOV("fcmovnbe", 0xDB, 0xD0, CF | ZF),
    FCMOV("fcmovnu", 0xDB, 0xD8, PF),
    /* transcendentals: C2 of the trigonometric ones says "out of range" */
    TRANS("f2xm1", 0xF0, C1, CC_REST, XR_NONE, XR_UNIT),
    TRANS("fyl2x", 0xF1, C1, CC_REST, XR_ANY, XR_POS),
    TRANS("fyl2xp1", 0xF9, C1, CC_REST, XR_ANY, XR_LOG1P),
    TRANS("fptan", 0xF2, C1 | C2, C0 | C3, XR_NONE, XR_TRIG),
    TRANS("fpatan", 0xF3, C1, CC_REST, XR_ANY, XR_ANY),
    TRANS("fsin", 0xFE, C1 | C2, C0 | C3, XR_NONE, XR_TRIG),
    TRANS("fcos", 0xFF, C1 | C2, C0 | C3, XR_NONE, XR_TRIG),
    TRANS("fsincos", 0xFB, C1 | C2, C0 | C3, XR_NONE, XR_TRIG),
};

/* ---------------------------------------------------------------- emission */

static int type_bytes(uint8_t type)
{
    static const uint8_t bytes[] = { [XT_NONE] = 0, [XT_F32] = 4, [XT_F64] = 8, [XT_F80] = 10,
                                     [XT_I16] = 2, [XT_I32] = 4, [XT_I64] = 8, [XT_CW] = 2 };
    return bytes[type];
}

static void cc_update(struct gen *g, uint16_t def, uint16_t undef)
{
    g->t.fsw_undef = (uint16_t)((g->t.fsw_undef & ~def) | undef);
}

/* MOVs of immediates to the absolute address of an operand (set-up parts). */
static void plant(struct gen *g, uint32_t addr, const uint8_t *v, int n)
{
    for (int k = 0; k < n; k += 4) {
        int w = n - k >= 4 ? 4 : 2;
        uint32_t imm = 0;
        for (int b = w - 1; b >= 0; b--) imm = imm << 8 | v[k + b];
        part_begin(g, w == 4 ? "mov m32,imm32 (plant)" : "mov m16,imm16 (plant)", w, true);
        if (w == 2) put8(g, 0x66);
        put8(g, 0xC7);
        put8(g, 0x05);              /* [disp32] */
        put_le(g, addr + (uint32_t)k, 4);
        put_le(g, imm, w);
        part_end(g, 0, 0);
    }
}

static void interesting_int(struct gen *g, int bytes, uint8_t *out)
{
    uint64_t lo = interesting(g);
    uint64_t v = lo | (uint64_t)interesting(g) << 32;
    if (one_in(g, 2)) v = (uint64_t)(int64_t)(int32_t)lo;           /* fits in 32 bits */
    if (bytes == 8 && one_in(g, 8)) v = one_in(g, 2) ? 1ull << 63 : ~(1ull << 63);
    put_bytes_le(out, v, bytes);
}

/* A value of the operand's type worth loading (planted 2 times in 3). */
static void operand_value(struct gen *g, uint8_t type, uint8_t *out)
{
    switch (type) {
    case XT_F32: interesting_fp(&g->rng, &F32, out); break;
    case XT_F64: interesting_fp(&g->rng, &F64, out); break;
    case XT_F80: interesting_fp(&g->rng, &F80, out); break;
    case XT_CW: put_bytes_le(out, control_word(&g->rng), 2); break;
    default: interesting_int(g, type_bytes(type), out); break;
    }
}

/* A 64-bit double in a range (bit-built, so the generator needs no libm). */
static uint64_t range_value(struct gen *g, uint8_t range)
{
    uint64_t frac = rnd64(&g->rng) & ((1ull << 52) - 1);
    uint64_t sign = (uint64_t)(rnd(g) & 1) << 63;
    int exp;
    switch (range) {
    case XR_UNIT: exp = one_in(g, 8) ? 0 : -(int)below(g, 40) - 1; if (!exp) frac = 0; break;
    case XR_LOG1P: exp = -(int)below(g, 40) - 3; break;                       /* |x| < 0.25 */
    case XR_POS: sign = 0; exp = (int)below(g, 121) - 60; break;
    case XR_TRIG: exp = one_in(g, 8) ? (int)below(g, 63) : (int)below(g, 40) - 20; break;
    case XR_INT: {
        int32_t k = (int32_t)below(g, 141) - 70;
        double d = (double)k;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return bits;
    }
    default: {
        uint8_t b[8];
        interesting_fp(&g->rng, &F64, b);
        uint64_t bits = 0;
        for (int k = 7; k >= 0; k--) bits = bits << 8 | b[k];
        return bits;
    }
    }
    return sign | (uint64_t)(1023 + exp) << 52 | frac;
}

/* Plants a double in the data buffer and pushes it: fld qword [disp32]. */
static void push_in_range(struct gen *g, uint8_t range)
{
    if (range == XR_NONE) return;
    bool on_stack;
    uint32_t addr = pick_mem_target(g, false, &on_stack);
    uint8_t v[8];
    put_bytes_le(v, range_value(g, range), 8);
    plant(g, addr, v, 8);
    part_begin(g, "fld m64 (setup)", 8, true);
    put8(g, 0xDD);
    put8(g, 0x05);
    put_le(g, addr, 4);
    cc_update(g, C1, CC_REST);
    part_end(g, 0, 0);
}

/* After FNSTSW: an AND that clears the condition codes undefined before it. */
static void mask_stored_sw(struct gen *g, const struct xform *f, const struct mem_op *m, uint16_t undef)
{
    if (!undef) return;
    g->seq->part[g->t.nparts - 1].cut_ok = false;   /* not comparable before the AND */
    part_begin(g, "and ax/m16,imm16 (clear undefined C0-C3)", 2, true);
    put8(g, 0x66);
    if (f->special == XS_STSW_AX) put8(g, 0x25);
    else {
        put8(g, 0x81);
        put_modrm(g, m, 4);
    }
    put_le(g, (uint16_t)~undef, 2);
    part_end(g, LOGIC_DEF, AF);
}

static bool emit_xform(struct gen *g, const struct xform *f)
{
    if ((f->fl_rd & g->t.undef) || (f->special == XS_STSW_AX && g->base == EAX)) return false;
    push_in_range(g, f->st1);
    push_in_range(g, f->st0);
    struct mem_op m = { 0 };
    if (f->kind == XK_MEM) {
        bool on_stack;
        uint32_t addr = pick_mem_target(g, true, &on_stack);
        if (f->type == XT_CW || (f->load && !one_in(g, 3))) {
            uint8_t v[10];
            operand_value(g, f->type, v);
            plant(g, addr, v, type_bytes(f->type));
        }
        plan_mem_at(g, &m, addr, on_stack);
    }
    uint16_t undef_before = g->t.fsw_undef;
    part_begin(g, f->name, type_bytes(f->type), false);
    if (f->kind == XK_MEM && one_in(g, 8)) { static const uint8_t seg[] = { 0x26, 0x36, 0x3E }; put8(g, seg[below(g, 3)]); }
    put8(g, f->op);
    if (f->kind == XK_MEM) put_modrm(g, &m, f->modrm);
    else put8(g, f->modrm + (f->kind == XK_REG ? below(g, 8) : 0));
    cc_update(g, f->cc_def, f->cc_undef);
    part_end(g, f->fl_def, 0);
    if (f->special == XS_STSW_AX) clobber(g, EAX, 4);
    if (f->special != XS_NONE) mask_stored_sw(g, f, &m, undef_before);
    return true;
}

bool x87_emit_one(struct gen *g)
{
    uint32_t total = 0;
    for (size_t k = 0; k < sizeof xforms / sizeof xforms[0]; k++) total += xforms[k].weight;
    uint32_t x = below(g, total);
    for (size_t k = 0;; k++) {
        if (x < xforms[k].weight) return emit_xform(g, &xforms[k]);
        x -= xforms[k].weight;
    }
}
