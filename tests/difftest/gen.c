/* gen.c — builds random, reproducible 32-bit instruction sequences whose
 * outcome is fully defined, for running natively and in plan86 (gen.h).
 *
 * How: a table of instruction forms (opcode, operand kind, sizes, immediate,
 * what it writes, which flags it reads / defines / leaves undefined); each row
 * has an emitter, most use the generic one, a few (shifts, strings, jumps,
 * stack pairs, LEA) adjust the generic description first. One register (the
 * "base") points into the data buffer and is never written; ESP is tracked
 * statically. A memory operand picks a target inside a buffer and a random
 * addressing form, then solves for the displacement, setting up an index
 * register with a MOV first when the form needs one. The x87 forms and the
 * initial FPU state live in gen_x87.c; a sequence that uses the FPU draws
 * each instruction from either half.
 */
#include "gen.h"

#include <stddef.h>
#include <string.h>

#include "gen_priv.h"

/* ---------------------------------------------------------------- randomness */

uint32_t interesting(struct gen *g)
{
    static const uint32_t special[] = {
        0, 1, 2, 7, 8, 9, 10, 0x0F, 0x10, 0x1F, 0x20, 0x7F, 0x80, 0x99, 0xFF, 0x100,
        0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001,
        0xFFFFFFFE, 0xFFFFFFFF, 0x0000FF80, 0xFFFFFF7F, 0x12345678, 0x8000FFFF,
    };
    switch (below(g, 5)) {
    case 0: return special[below(g, sizeof special / sizeof special[0])];
    case 1: return below(g, 40);
    case 2: return (uint32_t)-(int32_t)below(g, 40);
    case 3: return rnd(g) & (0xFFu << (8 * below(g, 4)));
    default: return rnd(g);
    }
}

/* ---------------------------------------------------------------- emission */

static uint8_t *code(struct gen *g) { return g->seq->tc.code; }
void put8(struct gen *g, uint32_t b)
{
    if (g->t.len < DT_CODE_MAX) code(g)[g->t.len] = (uint8_t)b;
    g->t.len++;
}
void put_le(struct gen *g, uint32_t v, int bytes)
{
    for (int k = 0; k < bytes; k++) put8(g, v >> (8 * k));
}
static void put_opcode(struct gen *g, uint16_t op)
{
    if (op >= 0x100) put8(g, 0x0F);
    put8(g, op & 0xFF);
}

void part_begin(struct gen *g, const char *name, int size, bool setup)
{
    struct dt_part *p = &g->seq->part[g->t.nparts];
    *p = (struct dt_part){ .name = name, .off = (uint16_t)g->t.len, .size = (uint8_t)size,
                           .setup = setup, .undef_before = g->t.undef,
                           .fsw_undef_before = g->t.fsw_undef };
}
void part_end(struct gen *g, uint16_t def, uint16_t undef)
{
    struct dt_part *p = &g->seq->part[g->t.nparts++];
    g->t.undef = (uint16_t)((g->t.undef & ~def) | undef);
    p->len = (uint8_t)(g->t.len - p->off);
    p->undef_after = g->t.undef;
    p->fsw_undef_after = g->t.fsw_undef;
    p->cut_ok = g->skip_depth == 0;
}

/* ---------------------------------------------------------------- registers */

static int full_reg(int n, int size) { return size == 1 && n >= 4 ? n - 4 : n; }
static bool writable(const struct gen *g, int n, int size)
{
    int r = full_reg(n, size);
    return r != ESP && r != g->base;
}
static int pick_writable(struct gen *g, int size)
{
    for (;;) {
        int n = (int)below(g, 8);
        if (writable(g, n, size)) return n;
    }
}
void clobber(struct gen *g, int n, int size) { g->t.known[full_reg(n, size)] = false; }
static void clobber_mask(struct gen *g, uint32_t mask)
{
    for (int r = 0; r < 8; r++)
        if (mask & RB(r)) g->t.known[r] = false;
}

/* mov r32, imm32 that prepares an operand; the register becomes known. */
static void setup_mov(struct gen *g, int r, uint32_t v)
{
    part_begin(g, "mov r32,imm32 (setup)", 4, true);
    put8(g, 0xB8 + (uint32_t)r);
    put_le(g, v, 4);
    part_end(g, 0, 0);
    g->t.known[r] = true;
    g->t.val[r] = v;
}

/* ---------------------------------------------------------------- memory operands */

static uint32_t data_target(struct gen *g) { return DT_DATA_ADDR + 32 + below(g, DT_DATA_SIZE - 96); }
static uint32_t stack_target(struct gen *g)
{
    int64_t t = (int64_t)g->t.val[ESP] + (int64_t)below(g, 129) - 64;
    int64_t lo = DT_STACK_ADDR + 16, hi = DT_STACK_ADDR + DT_STACK_SIZE - 24;
    return (uint32_t)(t < lo ? lo : t > hi ? hi : t);
}

static void set_disp(struct gen *g, struct mem_op *m, uint32_t disp, bool zero_ok)
{
    int32_t d = (int32_t)disp;
    m->disp = disp;
    if (d == 0 && zero_ok && !one_in(g, 4)) { m->mod = 0; m->disp_len = 0; }
    else if (d >= -128 && d <= 127 && !one_in(g, 4)) { m->mod = 1; m->disp_len = 1; }
    else { m->mod = 2; m->disp_len = 4; }
}

uint32_t pick_mem_target(struct gen *g, bool allow_esp, bool *on_stack)
{
    *on_stack = allow_esp && one_in(g, 4);
    return *on_stack ? stack_target(g) : data_target(g);
}

void plan_mem_at(struct gen *g, struct mem_op *m, uint32_t target, bool on_stack)
{
    int base = on_stack ? ESP : g->base;
    bool use_base = !one_in(g, 5), use_index = one_in(g, 3);
    int index = -1, scale = (int)below(g, 4);
    if (use_index) {
        do index = (int)below(g, 8);
        while (index == ESP || (use_base && index == base) ||
               (!g->t.known[index] && (g->reserved & RB(index))));
        if (!g->t.known[index]) setup_mov(g, index, (uint32_t)((int32_t)below(g, 65) - 32));
    }
    uint32_t addr = (use_base ? g->t.val[base] : 0) + (use_index ? g->t.val[index] << scale : 0);
    uint32_t disp = target - addr;
    *m = (struct mem_op){ 0 };
    if (!use_base && !use_index) {          /* [disp32] */
        m->mod = 0; m->rm = 5; m->disp = disp; m->disp_len = 4;
        return;
    }
    bool sib = use_index || !use_base || base == ESP || one_in(g, 6);
    if (!sib) {
        m->rm = (uint8_t)base;
        set_disp(g, m, disp, base != EBP);
        return;
    }
    m->has_sib = true;
    m->rm = 4;
    m->sib = (uint8_t)((scale << 6) | ((use_index ? index : 4) << 3) | (use_base ? base : 5));
    if (!use_base) { m->mod = 0; m->disp = disp; m->disp_len = 4; }
    else set_disp(g, m, disp, base != EBP);
}

/* Plans a memory operand inside a buffer; may emit a set-up MOV for an index.
 * allow_esp: ESP may serve as the base (not for POP r/m). */
static void plan_mem(struct gen *g, struct mem_op *m, bool allow_esp)
{
    bool on_stack;
    uint32_t target = pick_mem_target(g, allow_esp, &on_stack);
    plan_mem_at(g, m, target, on_stack);
}

void put_modrm(struct gen *g, const struct mem_op *m, int reg)
{
    put8(g, (uint32_t)(m->mod << 6 | reg << 3 | m->rm));
    if (m->has_sib) put8(g, m->sib);
    put_le(g, m->disp, m->disp_len);
}

/* ---------------------------------------------------------------- forms */

enum opnd { O_NONE, O_RM, O_RM_REG, O_OPREG };
enum memrule { M_ANY, M_MEMONLY, M_REGONLY };
enum imm { I_NONE, I_B, I_W, I_Z };
enum { W_RM = 1, W_REG = 2 };
enum { S1 = 1, S2 = 2, S4 = 4, SV = S2 | S4, SA = S1 | S2 | S4 };

struct form;
typedef bool (*emit_fn)(struct gen *g, const struct form *f);

struct form {
    const char *name;
    emit_fn emit;
    uint16_t op8, opv;     /* opcode of the byte form / the 16-32 form; 0x1xx: 0F map */
    int8_t ext;            /* ModRM.reg of a group form, -1: a register operand */
    uint8_t sizes, opnd, mem, imm, wr;
    uint8_t imp_wr;        /* registers written implicitly (bit per register) */
    uint16_t fl_rd, fl_def, fl_undef;
    bool lockable;
    int8_t stack;          /* +1 push, -1 pop (of the operand size) */
    uint8_t param;         /* emitter-specific */
    uint8_t weight;
};

/* One instruction as it will be emitted: a form with its choices made. */
struct spec {
    const char *name;
    uint16_t op;
    int ext, size;
    uint8_t opnd, mem, imm, wr, imp_wr;
    uint16_t fl_rd, fl_def, fl_undef;
    bool lockable, imm_fixed, no_esp_base;
    bool seg_ok;           /* a segment override applies without a ModRM operand */
    uint32_t imm_val;
    int8_t stack;
    uint8_t prefix;        /* REP/REPNE or 0 */
};

static int pick_size(struct gen *g, uint8_t sizes)
{
    for (;;) {
        int s = 1 << below(g, 3);
        if (sizes & s) return s;
    }
}

static struct spec spec_of(struct gen *g, const struct form *f)
{
    struct spec s = {
        .name = f->name, .ext = f->ext, .size = pick_size(g, f->sizes),
        .opnd = f->opnd, .mem = f->mem, .imm = f->imm, .wr = f->wr, .imp_wr = f->imp_wr,
        .fl_rd = f->fl_rd, .fl_def = f->fl_def, .fl_undef = f->fl_undef,
        .lockable = f->lockable, .stack = f->stack,
    };
    s.op = s.size == 1 ? f->op8 : f->opv;
    return s;
}

static int imm_bytes(const struct spec *s)
{
    switch (s->imm) {
    case I_B: return 1;
    case I_W: return 2;
    case I_Z: return s->size;
    default: return 0;
    }
}

static bool stack_room(const struct gen *g, int delta)
{
    int64_t esp = (int64_t)g->t.val[ESP] + delta;
    return esp >= DT_STACK_ADDR + 48 && esp <= DT_STACK_ADDR + DT_STACK_SIZE - 16;
}

static void put_prefixes(struct gen *g, const struct spec *s, bool mem)
{
    uint8_t pre[4];
    int n = 0;
    if (mem && s->lockable && one_in(g, 4)) pre[n++] = 0xF0;
    if ((mem || s->seg_ok) && one_in(g, 6)) { static const uint8_t seg[] = { 0x26, 0x36, 0x3E }; pre[n++] = seg[below(g, 3)]; }
    if (s->size == 2) pre[n++] = 0x66;
    if (s->prefix) pre[n++] = s->prefix;
    if (n > 1 && one_in(g, 2)) { uint8_t t = pre[0]; pre[0] = pre[n - 1]; pre[n - 1] = t; }
    for (int k = 0; k < n; k++) put8(g, pre[k]);
}

/* Emits one instruction from a spec; false when it cannot be made valid here. */
static bool emit_spec(struct gen *g, struct spec *s)
{
    if ((s->fl_rd & g->t.undef) || (s->imp_wr & (RB(g->base) | RB(ESP)))) return false;
    int delta = -s->stack * s->size;
    if (delta && !stack_room(g, delta)) return false;
    bool has_rm = s->opnd == O_RM || s->opnd == O_RM_REG;
    bool mem = has_rm && (s->mem == M_MEMONLY || (s->mem == M_ANY && one_in(g, 2)));
    struct mem_op m;
    if (mem) plan_mem(g, &m, !s->no_esp_base);
    int reg = s->ext;
    if (s->opnd == O_RM_REG || s->opnd == O_OPREG)
        reg = (s->wr & W_REG) ? pick_writable(g, s->size) : (int)below(g, 8);
    if (!mem && has_rm) {
        int rm = (s->wr & W_RM) ? pick_writable(g, s->size) : (int)below(g, 8);
        m = (struct mem_op){ .mod = 3, .rm = (uint8_t)rm };
    }
    part_begin(g, s->name, s->size, false);
    put_prefixes(g, s, mem);
    if (s->opnd == O_OPREG) put_opcode(g, (uint16_t)(s->op + reg));
    else put_opcode(g, s->op);
    if (has_rm) put_modrm(g, &m, reg < 0 ? 0 : reg);
    put_le(g, s->imm_fixed ? s->imm_val : interesting(g), imm_bytes(s));
    part_end(g, s->fl_def, s->fl_undef);
    if ((s->wr & W_REG) && reg >= 0) clobber(g, reg, s->size);
    if ((s->wr & W_RM) && !mem) clobber(g, m.rm, s->size);
    clobber_mask(g, s->imp_wr);
    g->t.val[ESP] += (uint32_t)delta;
    return true;
}

static bool emit_generic(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    return emit_spec(g, &s);
}

/* MUL/IMUL/DIV/IDIV: AX or eDX:eAX; DIV sometimes gets a dividend that fits. */
static bool emit_muldiv(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    s.imp_wr = s.size == 1 ? RB(EAX) : RB(EAX) | RB(EDX);
    if ((s.imp_wr & RB(g->base)) != 0) return false;
    bool is_div = f->ext >= 6;
    if (is_div && one_in(g, 2)) {
        static const uint8_t movzx_eax_al[] = { 0x0F, 0xB6, 0xC0 }, cbw[] = { 0x66, 0x98 };
        static const uint8_t cdq[] = { 0x99 }, mov_edx_0[] = { 0xBA, 0, 0, 0, 0 };
        const uint8_t *b;
        size_t n;
        bool signed_div = f->ext == 7;
        if (s.size == 1) { b = signed_div ? cbw : movzx_eax_al; n = signed_div ? 2 : 3; }
        else { b = signed_div ? cdq : mov_edx_0; n = signed_div ? 1 : 5; }
        part_begin(g, "dividend (setup)", s.size, true);
        for (size_t k = 0; k < n; k++) put8(g, b[k]);
        part_end(g, 0, 0);
        clobber(g, s.size == 1 ? EAX : EDX, 4);
    }
    return emit_spec(g, &s);
}

static const uint16_t cc_reads[16] = {
    OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF, SF | OF, SF | OF,
    ZF | SF | OF, ZF | SF | OF,
};

static int pick_cc(struct gen *g)
{
    for (int tries = 0; tries < 16; tries++) {
        int cc = (int)below(g, 16);
        if (!(cc_reads[cc] & g->t.undef)) return cc;
    }
    return -1;
}

/* SETcc / CMOVcc: a condition whose flags are all defined. */
static bool emit_cc(struct gen *g, const struct form *f)
{
    int cc = pick_cc(g);
    if (cc < 0) return false;
    struct spec s = spec_of(g, f);
    s.op = (uint16_t)(s.op + cc);
    s.fl_rd = cc_reads[cc];
    return emit_spec(g, &s);
}

static uint32_t pick_count(struct gen *g)
{
    static const uint8_t counts[] = { 0, 1, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 255 };
    return one_in(g, 3) ? below(g, 256) : counts[below(g, sizeof counts)];
}

/* Flags of ROL..SAR (kind = ModRM.reg) with an 8-bit count. */
static void shift_flags(struct spec *s, int kind, uint32_t count)
{
    uint32_t c = count & 31;
    int bits = s->size * 8;
    s->fl_rd = (kind == 2 || kind == 3) && c ? CF : 0;
    s->fl_def = s->fl_undef = 0;
    if (c == 0) return;
    uint16_t of = c == 1 ? OF : 0;
    if (kind < 4) s->fl_def = CF | of;
    else {
        s->fl_def = CF | SF | ZF | PF | of;
        s->fl_undef = AF;
        if (kind != 7 && c >= (uint32_t)bits) { s->fl_def &= (uint16_t)~CF; s->fl_undef |= CF; }
    }
    if (!of) s->fl_undef |= OF;
}

/* Count into CL for the CL forms (ECX must not be the base). */
static bool setup_cl(struct gen *g, uint32_t count)
{
    if (g->base == ECX) return false;
    part_begin(g, "mov cl,imm8 (setup)", 1, true);
    put8(g, 0xB1);
    put8(g, count);
    part_end(g, 0, 0);
    clobber(g, ECX, 4);
    g->reserved |= RB(ECX);
    return true;
}

/* ROL/ROR/RCL/RCR/SHL/SHR/SAL/SAR; param: 0 imm8 (C0/C1), 1 by one (D0/D1), 2 by CL (D2/D3). */
static bool emit_shift(struct gen *g, const struct form *f)
{
    static const char *const names[3][8] = {
        { "rol r/m,imm8", "ror r/m,imm8", "rcl r/m,imm8", "rcr r/m,imm8",
          "shl r/m,imm8", "shr r/m,imm8", "sal(/6) r/m,imm8", "sar r/m,imm8" },
        { "rol r/m,1", "ror r/m,1", "rcl r/m,1", "rcr r/m,1",
          "shl r/m,1", "shr r/m,1", "sal(/6) r/m,1", "sar r/m,1" },
        { "rol r/m,cl", "ror r/m,cl", "rcl r/m,cl", "rcr r/m,cl",
          "shl r/m,cl", "shr r/m,cl", "sal(/6) r/m,cl", "sar r/m,cl" },
    };
    struct spec s = spec_of(g, f);
    s.ext = (int)below(g, 8);
    s.name = names[f->param][s.ext];
    uint32_t count = f->param == 1 ? 1 : pick_count(g);
    shift_flags(&s, s.ext, count);
    if (s.fl_rd & g->t.undef) return false;
    if (f->param == 0) { s.imm_fixed = true; s.imm_val = count; }
    if (f->param == 2 && !setup_cl(g, count)) return false;
    return emit_spec(g, &s);
}

/* SHLD/SHRD; param: 0 imm8, 1 CL. A 16-bit count above 16 has an undefined result. */
static bool emit_shxd(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    uint32_t count = pick_count(g);
    if (s.size == 2 && (count & 31) > 16) count &= 15;
    uint32_t c = count & 31;
    s.fl_def = s.fl_undef = 0;
    if (c) {
        s.fl_def = CF | SF | ZF | PF | (c == 1 ? OF : 0);
        s.fl_undef = AF | (c == 1 ? 0 : OF);
    }
    if (f->param == 0) { s.imm_fixed = true; s.imm_val = count; }
    else if (!setup_cl(g, count)) return false;
    return emit_spec(g, &s);
}

/* BT/BTS/BTR/BTC r/m, r: a memory form gets a small bit offset in its register. */
static bool emit_bt_reg(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    s.mem = one_in(g, 2) ? M_MEMONLY : M_REGONLY;
    if (s.mem == M_REGONLY) return emit_spec(g, &s);
    int r = pick_writable(g, 4);
    setup_mov(g, r, (uint32_t)((int32_t)below(g, 320) - 64));
    /* emit_spec picks the register operand at random: pin it to r */
    s.opnd = O_RM;
    s.ext = r;
    return emit_spec(g, &s);
}

/* AAM/AAD with a base that is usually 10, rarely 0 (#DE for AAM). */
static bool emit_bcd_imm(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    s.imm_fixed = true;
    s.imm_val = one_in(g, 2) ? 10 : one_in(g, 16) ? 0 : interesting(g) & 0xFF;
    return emit_spec(g, &s);
}

/* MOVS/CMPS/STOS/LODS/SCAS (param = opcode of the byte form), REP sometimes. */
static bool emit_string(struct gen *g, const struct form *f)
{
    uint8_t op = f->param;
    bool uses_esi = op == 0xA4 || op == 0xA6 || op == 0xAC;
    bool uses_edi = op != 0xAC;
    bool compares = op == 0xA6 || op == 0xAE;
    bool rep = !one_in(g, 3);
    uint32_t need = (uses_esi ? RB(ESI) : 0) | (uses_edi ? RB(EDI) : 0) | (rep ? RB(ECX) : 0) |
                    (op == 0xAC ? RB(EAX) : 0);
    if (need & RB(g->base)) return false;
    struct spec s = spec_of(g, f);
    s.op = (uint16_t)(op + (s.size > 1));
    uint32_t n = below(g, 17);
    if (uses_esi) setup_mov(g, ESI, DT_DATA_ADDR + 128 + below(g, DT_DATA_SIZE - 256));
    if (uses_edi) setup_mov(g, EDI, DT_DATA_ADDR + 128 + below(g, DT_DATA_SIZE - 256));
    if (rep) setup_mov(g, ECX, n);
    if (rep) s.prefix = compares && one_in(g, 2) ? 0xF2 : 0xF3;
    if (compares && (!rep || n > 0)) s.fl_def = ALLF;
    s.imp_wr = (uint8_t)need;
    s.seg_ok = uses_esi;
    return emit_spec(g, &s);
}

/* POP r/m: an ESP-based address would be computed after the pop; not generated. */
static bool emit_pop_rm(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    s.no_esp_base = true;
    return emit_spec(g, &s);
}

/* XLAT reads [EBX + AL]: only when EBX is the data pointer. */
static bool emit_xlat(struct gen *g, const struct form *f)
{
    if (g->base != EBX) return false;
    return emit_generic(g, f);
}

static bool emit_flagop(struct gen *g, const struct form *f)
{
    if (!emit_generic(g, f)) return false;
    if (f->opv == 0xFC) g->t.df = false;
    if (f->opv == 0xFD) g->t.df = true;
    return true;
}

void emit_fixed(struct gen *g, const char *name, const uint8_t *b, int n,
                uint16_t def, uint16_t undef)
{
    part_begin(g, name, 4, false);
    for (int k = 0; k < n; k++) put8(g, b[k]);
    part_end(g, def, undef);
}

/* ENTER n,level then LEAVE: ESP and EBP end where they started. */
static bool emit_enter_leave(struct gen *g, const struct form *f)
{
    (void)f;
    uint32_t n = below(g, 65), level = below(g, 2);
    if (!stack_room(g, -(int)(n + 8))) return false;
    uint8_t enter[] = { 0xC8, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)level }, leave[] = { 0xC9 };
    emit_fixed(g, "enter imm16,imm8", enter, 4, 0, 0);
    emit_fixed(g, "leave", leave, 1, 0, 0);
    return true;
}

/* PUSHA, sometimes followed by POPA (which restores every register but ESP). */
static bool emit_pusha(struct gen *g, const struct form *f)
{
    (void)f;
    int size = one_in(g, 3) ? 2 : 4;
    if (!stack_room(g, -8 * size)) return false;
    uint8_t pusha[] = { 0x66, 0x60 }, popa[] = { 0x66, 0x61 };
    int skip = size == 4;
    emit_fixed(g, "pusha", pusha + skip, 2 - skip, 0, 0);
    if (one_in(g, 2)) emit_fixed(g, "popa", popa + skip, 2 - skip, 0, 0);
    else g->t.val[ESP] -= (uint32_t)(8 * size);
    return true;
}

/* push imm32; popf: all arithmetic flags and DF become known. */
static bool emit_popf(struct gen *g, const struct form *f)
{
    (void)f;
    uint32_t v = 0x202 | (rnd(g) & (ALLF | DF));
    uint8_t push[] = { 0x68, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    uint8_t popf[] = { 0x9D };
    emit_fixed(g, "push imm32", push, 5, 0, 0);
    emit_fixed(g, "popf", popf, 1, ALLF, 0);
    g->t.df = (v & DF) != 0;
    return true;
}

/* call $+5; pop r — and push target; ret [imm16] to the next instruction. */
static bool emit_callret(struct gen *g, const struct form *f)
{
    (void)f;
    if (one_in(g, 2)) {
        int r = pick_writable(g, 4);
        uint8_t call[] = { 0xE8, 0, 0, 0, 0 }, pop[] = { (uint8_t)(0x58 + r) };
        emit_fixed(g, "call rel32", call, 5, 0, 0);
        emit_fixed(g, "pop r32", pop, 1, 0, 0);
        clobber(g, r, 4);
        return true;
    }
    uint32_t extra = one_in(g, 2) ? 0 : 2 * below(g, 9);
    if (!stack_room(g, (int)extra)) return false;
    uint32_t ret_len = extra ? 3 : 1;
    uint32_t target = DT_CODE_ADDR + g->t.len + 5 + ret_len;
    uint8_t push[] = { 0x68, (uint8_t)target, (uint8_t)(target >> 8), (uint8_t)(target >> 16),
                       (uint8_t)(target >> 24) };
    uint8_t ret[] = { extra ? 0xC2 : 0xC3, (uint8_t)extra, 0 };
    emit_fixed(g, "push imm32", push, 5, 0, 0);
    emit_fixed(g, extra ? "ret imm16" : "ret", ret, (int)ret_len, 0, 0);
    g->t.val[ESP] += extra;
    return true;
}

/* mov al/eAX <-> moffs32 at a data-buffer address. */
static bool emit_moffs(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    if (f->wr && g->base == EAX) return false;
    part_begin(g, s.name, s.size, false);
    put_prefixes(g, &s, true);
    put_opcode(g, s.op);
    put_le(g, data_target(g), 4);
    part_end(g, 0, 0);
    if (f->wr) clobber(g, EAX, 4);
    return true;
}

/* LEA with any 32-bit or 16-bit (67) addressing form over any registers. */
static bool emit_lea(struct gen *g, const struct form *f)
{
    struct spec s = spec_of(g, f);
    int reg = pick_writable(g, s.size);
    bool a16 = one_in(g, 4);
    uint8_t mod = (uint8_t)below(g, 3), rm = (uint8_t)below(g, 8);
    part_begin(g, a16 ? "lea (16-bit address)" : s.name, s.size, false);
    if (s.size == 2) put8(g, 0x66);
    if (a16) put8(g, 0x67);
    put8(g, 0x8D);
    put8(g, (uint32_t)(mod << 6 | reg << 3 | rm));
    int disp_len;
    if (a16) disp_len = mod == 1 ? 1 : (mod == 2 || (mod == 0 && rm == 6)) ? 2 : 0;
    else {
        bool sib_nobase = false;
        if (rm == 4) {
            uint8_t sib = (uint8_t)rnd(g);
            put8(g, sib);
            sib_nobase = mod == 0 && (sib & 7) == 5;
        }
        disp_len = mod == 1 ? 1 : (mod == 2 || (mod == 0 && rm == 5) || sib_nobase) ? 4 : 0;
    }
    put_le(g, interesting(g), disp_len);
    part_end(g, 0, 0);
    clobber(g, reg, s.size);
    return true;
}

static bool emit_one(struct gen *g, bool allow_jumps);

/* A forward jump over one instruction: Jcc/JMP/JECXZ/LOOPcc. The flags after
 * the target are undefined where either path leaves them undefined. */
static bool emit_jump(struct gen *g, const struct form *f)
{
    if (g->skip_depth) return false;
    uint8_t kind = (uint8_t)below(g, 6);   /* 0 jcc8 1 jcc32 2 jmp8 3 jmp32 4 jecxz 5 loop */
    uint8_t op[2];
    int oplen = 1, rel_len = 1;
    uint16_t rd = 0;
    const char *name = f->name;
    if (kind <= 1) {
        int cc = pick_cc(g);
        if (cc < 0) return false;
        rd = cc_reads[cc];
        if (kind == 0) op[0] = (uint8_t)(0x70 + cc);
        else { op[0] = 0x0F; op[1] = (uint8_t)(0x80 + cc); oplen = 2; rel_len = 4; }
        name = kind == 0 ? "jcc rel8" : "jcc rel32";
    } else if (kind <= 3) {
        op[0] = kind == 2 ? 0xEB : 0xE9;
        rel_len = kind == 2 ? 1 : 4;
        name = kind == 2 ? "jmp rel8" : "jmp rel32";
    } else if (kind == 4) {
        op[0] = 0xE3;
        name = "jecxz rel8";
    } else {
        if (g->base == ECX) return false;
        int which = (int)below(g, 3);       /* loopne, loope, loop */
        rd = which < 2 ? ZF : 0;
        if (rd & g->t.undef) return false;
        op[0] = (uint8_t)(0xE0 + which);
        name = which == 2 ? "loop rel8" : which ? "loope rel8" : "loopne rel8";
    }
    struct track before = g->t;
    g->skip_depth++;
    part_begin(g, name, 4, false);
    for (int k = 0; k < oplen; k++) put8(g, op[k]);
    uint32_t rel_at = g->t.len;
    put_le(g, 0, rel_len);
    part_end(g, 0, 0);
    if (kind == 5) clobber(g, ECX, 4);
    struct track after_jump = g->t;
    bool ok = emit_one(g, false);
    g->skip_depth--;
    uint32_t rel = g->t.len - (rel_at + (uint32_t)rel_len);
    if (!ok || g->t.val[ESP] != before.val[ESP] || g->t.df != before.df || (rel_len == 1 && rel > 127)) {
        g->t = before;
        return false;
    }
    for (int k = 0; k < rel_len; k++) code(g)[rel_at + (uint32_t)k] = (uint8_t)(rel >> (8 * k));
    g->t.undef |= after_jump.undef;
    g->t.fsw_undef |= after_jump.fsw_undef;
    for (int r = 0; r < 8; r++)
        g->t.known[r] = g->t.known[r] && after_jump.known[r] && g->t.val[r] == after_jump.val[r];
    return true;
}

#define ROW(nm, fn, o8, ov, ex, sz, od, mr, im, w, iw, rd, def, und, lk, st, pa, wt) \
    { nm, fn, o8, ov, ex, sz, od, mr, im, w, iw, rd, def, und, lk, st, pa, wt }
#define NONE 0xFFFF
#define ALU(a, nm, rd, def, und, w)                                                              \
    ROW(nm " r/m,r", emit_generic, a * 8, a * 8 + 1, -1, SA, O_RM_REG, M_ANY, I_NONE, w ? W_RM : 0, 0, rd, def, und, w, 0, 0, 1), \
    ROW(nm " r,r/m", emit_generic, a * 8 + 2, a * 8 + 3, -1, SA, O_RM_REG, M_ANY, I_NONE, w ? W_REG : 0, 0, rd, def, und, false, 0, 0, 1), \
    ROW(nm " acc,imm", emit_generic, a * 8 + 4, a * 8 + 5, -1, SA, O_NONE, M_ANY, I_Z, 0, w ? RB(EAX) : 0, rd, def, und, false, 0, 0, 1), \
    ROW(nm " r/m,imm", emit_generic, 0x80, 0x81, a, SA, O_RM, M_ANY, I_Z, w ? W_RM : 0, 0, rd, def, und, w, 0, 0, 1), \
    ROW(nm " r/m,imm8", emit_generic, NONE, 0x83, a, SV, O_RM, M_ANY, I_B, w ? W_RM : 0, 0, rd, def, und, w, 0, 0, 1)
#define SIMPLE(nm, o8, ov, sz, iw, rd, def, und, wt) \
    ROW(nm, emit_generic, o8, ov, -1, sz, O_NONE, M_ANY, I_NONE, 0, iw, rd, def, und, false, 0, 0, wt)
#define GROUP(nm, fn, o8, ov, ex, sz, w, iw, rd, def, und, lk, wt) \
    ROW(nm, fn, o8, ov, ex, sz, O_RM, M_ANY, I_NONE, w, iw, rd, def, und, lk, 0, 0, wt)
#define RMREG(nm, o8, ov, sz, mr, w, iw, def, und, lk, wt) \
    ROW(nm, emit_generic, o8, ov, -1, sz, O_RM_REG, mr, I_NONE, w, iw, 0, def, und, lk, 0, 0, wt)

static const struct form forms[] = {
    ALU(0, "add", 0, ALLF, 0, true),
    ALU(1, "or", 0, LOGIC_DEF, AF, true),
    ALU(2, "adc", CF, ALLF, 0, true),
    ALU(3, "sbb", CF, ALLF, 0, true),
    ALU(4, "and", 0, LOGIC_DEF, AF, true),
    ALU(5, "sub", 0, ALLF, 0, true),
    ALU(6, "xor", 0, LOGIC_DEF, AF, true),
    ALU(7, "cmp", 0, ALLF, 0, false),
    RMREG("test r/m,r", 0x84, 0x85, SA, M_ANY, 0, 0, LOGIC_DEF, AF, false, 1),
    ROW("test r/m,imm", emit_generic, 0xF6, 0xF7, 0, SA, O_RM, M_ANY, I_Z, 0, 0, 0, LOGIC_DEF, AF, false, 0, 0, 1),
    ROW("test acc,imm", emit_generic, 0xA8, 0xA9, -1, SA, O_NONE, M_ANY, I_Z, 0, 0, 0, LOGIC_DEF, AF, false, 0, 0, 1),
    GROUP("not r/m", emit_generic, 0xF6, 0xF7, 2, SA, W_RM, 0, 0, 0, 0, true, 1),
    GROUP("neg r/m", emit_generic, 0xF6, 0xF7, 3, SA, W_RM, 0, 0, ALLF, 0, true, 2),
    GROUP("inc r/m", emit_generic, 0xFE, 0xFF, 0, SA, W_RM, 0, 0, ALLF & ~CF, 0, true, 1),
    GROUP("dec r/m", emit_generic, 0xFE, 0xFF, 1, SA, W_RM, 0, 0, ALLF & ~CF, 0, true, 1),
    ROW("inc r", emit_generic, NONE, 0x40, -1, SV, O_OPREG, M_ANY, I_NONE, W_REG, 0, 0, ALLF & ~CF, 0, false, 0, 0, 1),
    ROW("dec r", emit_generic, NONE, 0x48, -1, SV, O_OPREG, M_ANY, I_NONE, W_REG, 0, 0, ALLF & ~CF, 0, false, 0, 0, 1),
    /* shifts and rotates */
    ROW("shift r/m,imm8", emit_shift, 0xC0, 0xC1, 0, SA, O_RM, M_ANY, I_B, W_RM, 0, 0, 0, 0, false, 0, 0, 6),
    ROW("shift r/m,1", emit_shift, 0xD0, 0xD1, 0, SA, O_RM, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, 0, 1, 4),
    ROW("shift r/m,cl", emit_shift, 0xD2, 0xD3, 0, SA, O_RM, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, 0, 2, 6),
    ROW("shld r/m,r,imm8", emit_shxd, NONE, 0x1A4, -1, SV, O_RM_REG, M_ANY, I_B, W_RM, 0, 0, 0, 0, false, 0, 0, 2),
    ROW("shld r/m,r,cl", emit_shxd, NONE, 0x1A5, -1, SV, O_RM_REG, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, 0, 1, 2),
    ROW("shrd r/m,r,imm8", emit_shxd, NONE, 0x1AC, -1, SV, O_RM_REG, M_ANY, I_B, W_RM, 0, 0, 0, 0, false, 0, 0, 2),
    ROW("shrd r/m,r,cl", emit_shxd, NONE, 0x1AD, -1, SV, O_RM_REG, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, 0, 1, 2),
    /* multiply and divide */
    GROUP("mul r/m", emit_muldiv, 0xF6, 0xF7, 4, SA, 0, 0, 0, CF | OF, SF | ZF | AF | PF, false, 2),
    GROUP("imul r/m", emit_muldiv, 0xF6, 0xF7, 5, SA, 0, 0, 0, CF | OF, SF | ZF | AF | PF, false, 2),
    GROUP("div r/m", emit_muldiv, 0xF6, 0xF7, 6, SA, 0, 0, 0, 0, ALLF, false, 3),
    GROUP("idiv r/m", emit_muldiv, 0xF6, 0xF7, 7, SA, 0, 0, 0, 0, ALLF, false, 3),
    RMREG("imul r,r/m", NONE, 0x1AF, SV, M_ANY, W_REG, 0, CF | OF, SF | ZF | AF | PF, false, 2),
    ROW("imul r,r/m,imm", emit_generic, NONE, 0x69, -1, SV, O_RM_REG, M_ANY, I_Z, W_REG, 0, 0, CF | OF, SF | ZF | AF | PF, false, 0, 0, 1),
    ROW("imul r,r/m,imm8", emit_generic, NONE, 0x6B, -1, SV, O_RM_REG, M_ANY, I_B, W_REG, 0, 0, CF | OF, SF | ZF | AF | PF, false, 0, 0, 1),
    /* BCD */
    SIMPLE("daa", 0x27, 0x27, S4, RB(EAX), AF | CF, CF | AF | SF | ZF | PF, OF, 1),
    SIMPLE("das", 0x2F, 0x2F, S4, RB(EAX), AF | CF, CF | AF | SF | ZF | PF, OF, 1),
    SIMPLE("aaa", 0x37, 0x37, S4, RB(EAX), AF, AF | CF, OF | SF | ZF | PF, 1),
    SIMPLE("aas", 0x3F, 0x3F, S4, RB(EAX), AF, AF | CF, OF | SF | ZF | PF, 1),
    ROW("aam imm8", emit_bcd_imm, 0xD4, 0xD4, -1, S4, O_NONE, M_ANY, I_B, 0, RB(EAX), 0, SF | ZF | PF, OF | AF | CF, false, 0, 0, 1),
    ROW("aad imm8", emit_bcd_imm, 0xD5, 0xD5, -1, S4, O_NONE, M_ANY, I_B, 0, RB(EAX), 0, SF | ZF | PF, OF | AF | CF, false, 0, 0, 1),
    /* conditions */
    ROW("setcc r/m8", emit_cc, 0x190, 0x190, 0, S1, O_RM, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, 0, 0, 3),
    ROW("cmovcc r,r/m", emit_cc, NONE, 0x140, -1, SV, O_RM_REG, M_ANY, I_NONE, W_REG, 0, 0, 0, 0, false, 0, 0, 3),
    ROW("jump", emit_jump, NONE, NONE, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 4),
    /* bits */
    ROW("bt r/m,r", emit_bt_reg, NONE, 0x1A3, -1, SV, O_RM_REG, M_ANY, I_NONE, 0, 0, 0, CF, OF | SF | AF | PF, false, 0, 0, 1),
    ROW("bts r/m,r", emit_bt_reg, NONE, 0x1AB, -1, SV, O_RM_REG, M_ANY, I_NONE, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    ROW("btr r/m,r", emit_bt_reg, NONE, 0x1B3, -1, SV, O_RM_REG, M_ANY, I_NONE, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    ROW("btc r/m,r", emit_bt_reg, NONE, 0x1BB, -1, SV, O_RM_REG, M_ANY, I_NONE, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    ROW("bt r/m,imm8", emit_generic, NONE, 0x1BA, 4, SV, O_RM, M_ANY, I_B, 0, 0, 0, CF, OF | SF | AF | PF, false, 0, 0, 1),
    ROW("bts r/m,imm8", emit_generic, NONE, 0x1BA, 5, SV, O_RM, M_ANY, I_B, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    ROW("btr r/m,imm8", emit_generic, NONE, 0x1BA, 6, SV, O_RM, M_ANY, I_B, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    ROW("btc r/m,imm8", emit_generic, NONE, 0x1BA, 7, SV, O_RM, M_ANY, I_B, W_RM, 0, 0, CF, OF | SF | AF | PF, true, 0, 0, 1),
    RMREG("bsf r,r/m", NONE, 0x1BC, SV, M_ANY, W_REG, 0, ZF, CF | OF | SF | AF | PF, false, 2),
    RMREG("bsr r,r/m", NONE, 0x1BD, SV, M_ANY, W_REG, 0, ZF, CF | OF | SF | AF | PF, false, 2),
    ROW("bswap r32", emit_generic, NONE, 0x1C8, -1, S4, O_OPREG, M_ANY, I_NONE, W_REG, 0, 0, 0, 0, false, 0, 0, 1),
    RMREG("cmpxchg r/m,r", 0x1B0, 0x1B1, SA, M_ANY, W_RM, RB(EAX), ALLF, 0, true, 2),
    RMREG("xadd r/m,r", 0x1C0, 0x1C1, SA, M_ANY, W_RM | W_REG, 0, ALLF, 0, true, 2),
    ROW("cmpxchg8b m64", emit_generic, NONE, 0x1C7, 1, S4, O_RM, M_MEMONLY, I_NONE, 0, RB(EAX) | RB(EDX), 0, ZF, 0, true, 0, 0, 1),
    /* moves */
    RMREG("mov r/m,r", 0x88, 0x89, SA, M_ANY, W_RM, 0, 0, 0, false, 1),
    RMREG("mov r,r/m", 0x8A, 0x8B, SA, M_ANY, W_REG, 0, 0, 0, false, 1),
    ROW("mov r/m,imm", emit_generic, 0xC6, 0xC7, 0, SA, O_RM, M_ANY, I_Z, W_RM, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("mov r,imm", emit_generic, 0xB0, 0xB8, -1, SA, O_OPREG, M_ANY, I_Z, W_REG, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("mov acc,moffs", emit_moffs, 0xA0, 0xA1, -1, SA, O_NONE, M_ANY, I_NONE, W_REG, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("mov moffs,acc", emit_moffs, 0xA2, 0xA3, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    RMREG("movzx r,r/m8", NONE, 0x1B6, SV, M_ANY, W_REG, 0, 0, 0, false, 1),
    RMREG("movzx r,r/m16", NONE, 0x1B7, SV, M_ANY, W_REG, 0, 0, 0, false, 1),
    RMREG("movsx r,r/m8", NONE, 0x1BE, SV, M_ANY, W_REG, 0, 0, 0, false, 1),
    RMREG("movsx r,r/m16", NONE, 0x1BF, SV, M_ANY, W_REG, 0, 0, 0, false, 1),
    RMREG("xchg r/m,r", 0x86, 0x87, SA, M_ANY, W_RM | W_REG, 0, 0, 0, true, 1),
    ROW("xchg eax,r", emit_generic, NONE, 0x90, -1, SV, O_OPREG, M_ANY, I_NONE, W_REG, RB(EAX), 0, 0, 0, false, 0, 0, 1),
    ROW("lea r,m", emit_lea, NONE, 0x8D, -1, SV, O_RM_REG, M_ANY, I_NONE, W_REG, 0, 0, 0, 0, false, 0, 0, 4),
    SIMPLE("cbw/cwde", NONE, 0x98, SV, RB(EAX), 0, 0, 0, 1),
    SIMPLE("cwd/cdq", NONE, 0x99, SV, RB(EDX), 0, 0, 0, 1),
    ROW("xlat", emit_xlat, 0xD7, 0xD7, -1, S1, O_NONE, M_ANY, I_NONE, 0, RB(EAX), 0, 0, 0, false, 0, 0, 2),
    ROW("nop r/m", emit_generic, NONE, 0x11F, 0, SV, O_RM, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    /* flags */
    SIMPLE("clc", 0xF8, 0xF8, S4, 0, 0, CF, 0, 1),
    SIMPLE("stc", 0xF9, 0xF9, S4, 0, 0, CF, 0, 1),
    SIMPLE("cmc", 0xF5, 0xF5, S4, 0, CF, CF, 0, 1),
    ROW("cld", emit_flagop, 0xFC, 0xFC, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("std", emit_flagop, 0xFD, 0xFD, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    SIMPLE("lahf", 0x9F, 0x9F, S4, RB(EAX), SF | ZF | AF | PF | CF, 0, 0, 1),
    SIMPLE("sahf", 0x9E, 0x9E, S4, 0, 0, SF | ZF | AF | PF | CF, 0, 1),
    ROW("popf", emit_popf, NONE, NONE, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    /* stack */
    ROW("push r", emit_generic, NONE, 0x50, -1, SV, O_OPREG, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 1, 0, 2),
    ROW("pop r", emit_generic, NONE, 0x58, -1, SV, O_OPREG, M_ANY, I_NONE, W_REG, 0, 0, 0, 0, false, -1, 0, 2),
    ROW("push imm", emit_generic, NONE, 0x68, -1, SV, O_NONE, M_ANY, I_Z, 0, 0, 0, 0, 0, false, 1, 0, 1),
    ROW("push imm8", emit_generic, NONE, 0x6A, -1, SV, O_NONE, M_ANY, I_B, 0, 0, 0, 0, 0, false, 1, 0, 1),
    ROW("push r/m", emit_generic, NONE, 0xFF, 6, SV, O_RM, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 1, 0, 1),
    ROW("pop r/m", emit_pop_rm, NONE, 0x8F, 0, SV, O_RM, M_ANY, I_NONE, W_RM, 0, 0, 0, 0, false, -1, 0, 1),
    ROW("pushf", emit_generic, NONE, 0x9C, -1, SV, O_NONE, M_ANY, I_NONE, 0, 0, ALLF, 0, 0, false, 1, 0, 1),
    ROW("pusha/popa", emit_pusha, NONE, NONE, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("enter/leave", emit_enter_leave, NONE, NONE, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 1),
    ROW("call/ret", emit_callret, NONE, NONE, -1, S4, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0, 2),
    /* strings */
    ROW("movs", emit_string, 0xA4, 0xA5, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0xA4, 2),
    ROW("cmps", emit_string, 0xA6, 0xA7, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0xA6, 2),
    ROW("stos", emit_string, 0xAA, 0xAB, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0xAA, 2),
    ROW("lods", emit_string, 0xAC, 0xAD, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0xAC, 1),
    ROW("scas", emit_string, 0xAE, 0xAF, -1, SA, O_NONE, M_ANY, I_NONE, 0, 0, 0, 0, 0, false, 0, 0xAE, 2),
};

static const struct form *pick_form(struct gen *g)
{
    uint32_t total = 0;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) total += forms[k].weight;
    uint32_t x = below(g, total);
    for (size_t k = 0;; k++) {
        if (x < forms[k].weight) return &forms[k];
        x -= forms[k].weight;
    }
}

/* Share of x87 instructions in a sequence that uses the FPU, in percent. */
#define X87_SHARE 60

/* One tested instruction (with its set-up); a failed attempt leaves no trace. */
static bool emit_one(struct gen *g, bool allow_jumps)
{
    for (int tries = 0; tries < 64; tries++) {
        bool x87 = g->x87 && below(g, 100) < X87_SHARE;
        const struct form *f = x87 ? NULL : pick_form(g);
        if (f && !allow_jumps && f->emit == emit_jump) continue;
        struct track before = g->t;
        g->reserved = 0;
        bool ok = x87 ? x87_emit_one(g) : f->emit(g, f);
        g->reserved = 0;
        if (ok) return true;
        g->t = before;
    }
    return false;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Whether sequence `index` uses the FPU, and its initial FPU state: drawn from
 * a stream of their own, so the integer-only sequences of a seed are the same
 * with and without x87 generation. */
static bool pick_x87(uint64_t seed, uint64_t index, int percent, struct dt_case *tc)
{
    if (percent <= 0) return false;
    uint32_t rng = (uint32_t)splitmix64(splitmix64(seed ^ 0x8087808780878087ull) ^ index);
    if (!rng) rng = 0x3C6EF372u;
    if (dt_xorshift(&rng) % 100 >= (uint32_t)percent) return false;
    tc->fpu_used = 1;
    x87_initial_state(&rng, tc->fpu_init);
    return true;
}

void dt_generate(uint64_t seed, uint64_t index, const struct dt_gen_opts *opts, struct dt_seq *out)
{
    memset(out, 0, sizeof *out);
    struct gen g = { .seq = out };
    g.rng = (uint32_t)splitmix64(splitmix64(seed) ^ index);
    if (!g.rng) g.rng = 0x6A09E667u;
    g.x87 = pick_x87(seed, index, opts->x87_percent, &out->tc);
    int max_insns = opts->max_insns;
    static const int bases[] = { EAX, ECX, EDX, EBX, EBP, ESI, EDI };
    g.base = bases[below(&g, 7)];
    struct dt_regs *in = &out->tc.init;
    for (int r = 0; r < DT_NREGS; r++) in->r[r] = interesting(&g);
    in->r[g.base] = DT_DATA_ADDR + 256 + below(&g, 384);
    in->r[ESP] = DT_STACK_START;
    g.t.known[g.base] = g.t.known[ESP] = true;
    g.t.val[g.base] = in->r[g.base];
    g.t.val[ESP] = in->r[ESP];
    g.t.df = one_in(&g, 4);
    in->eflags = 0x202 | (rnd(&g) & ALLF) | (g.t.df ? DF : 0);
    in->eip = DT_CODE_ADDR;
    out->tc.mem_seed = rnd(&g);

    if (max_insns < 1) max_insns = 1;
    if (max_insns > 12) max_insns = 12;
    int n = 1 + (int)below(&g, (uint32_t)max_insns);
    for (int k = 0; k < n; k++) {
        if (g.t.len > DT_CODE_MAX - 128 || g.t.nparts > DT_MAX_PARTS - 12) break;
        emit_one(&g, true);
    }
    out->tc.code_len = g.t.len;
    out->nparts = g.t.nparts;
    out->final_undef = g.t.undef;
    out->final_fsw_undef = g.t.fsw_undef;
}

const struct dt_part *dt_part_at(const struct dt_seq *s, uint32_t off)
{
    for (int k = 0; k < s->nparts; k++)
        if (s->part[k].off == off) return &s->part[k];
    return NULL;
}
