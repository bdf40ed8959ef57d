/* decode.c — x86 instruction decoder: guest bytes to struct insn records.
 *
 * Promises: prefixes, the one-byte and 0F opcode maps, ModRM/SIB with 16- and
 * 32-bit addressing and immediates are decoded table-driven from the ops_*
 * lists; the handler is chosen here by operand size, so handlers never look at
 * prefixes. Malformed input (over-long instructions, LOCK where not allowed,
 * register forms of memory-only opcodes, unknown opcodes) decodes to a handler
 * that raises the right exception when executed. Fetches honour the CS limit
 * and paging, and never read past what the bus maps.
 */
#include <stdio.h>

#include "internal.h"

#define MAX_INSN_LEN 15

static const struct opdesc *const op_groups[] = {
    ops_alu, ops_shift, ops_muldiv, ops_bits, ops_move, ops_stack,
    ops_string, ops_io, ops_control, ops_system, ops_fpu,
};

void decode_build_table(struct cpu *c)
{
    for (int k = 0; k < 512 * 8; k++)
        c->optab[k] = (struct opdesc){(uint16_t)(k / 8), -1, D_END, op_unimplemented, op_unimplemented};
    for (size_t g = 0; g < sizeof op_groups / sizeof op_groups[0]; g++) {
        for (const struct opdesc *d = op_groups[g]; d->op != 0xFFFF; d++) {
            for (int r = 0; r < 8; r++) {
                if (d->reg >= 0 && d->reg != r) continue;
                struct opdesc *slot = &c->optab[d->op * 8 + r];
                if (slot->fn16 != op_unimplemented)
                    cpu_log(c, "decoder: opcode %03X /%d listed twice", d->op, r);
                *slot = *d;
            }
        }
    }
    /* unlisted ModRM.reg values of a group opcode still have a ModRM byte */
    for (int op = 0; op < 512; op++) {
        uint16_t modrm = 0;
        for (int r = 0; r < 8; r++) modrm |= c->optab[op * 8 + r].dec & D_MODRM;
        for (int r = 0; r < 8; r++) c->optab[op * 8 + r].dec |= modrm;
    }
}

/* Instruction-byte fetcher over CS:EIP with page and limit handling. */
struct fetch {
    struct cpu *c;
    uint32_t eip;       /* offset of the next byte */
    uint32_t page_lin;  /* linear page currently mapped, TLB_INVALID if none */
    uint32_t page_phys;
    const uint8_t *host;
    uint32_t phys2;     /* second physical page touched, or 1 */
    bool first_page_done;
    bool fault;         /* a byte could not be fetched (limit or page) */
    bool raise;         /* raise that fault instead of recording it */
};

static uint8_t fetch_byte(struct fetch *f)
{
    struct cpu *c = f->c;
    uint32_t off = f->eip;
    if (off > c->seg[S_CS].limit) {
        if (f->raise) cpu_gp(c, 0);
        f->fault = true;
        return 0;
    }
    uint32_t lin = c->seg[S_CS].base + off;
    if ((lin & ~0xFFFu) != f->page_lin) {
        uint32_t phys;
        if (f->raise) phys = mmu_translate(c, lin, false, cpu_user_access(c));
        else if (!mmu_translate_try(c, lin, false, cpu_user_access(c), &phys)) {
            f->fault = true;
            return 0;
        }
        if (f->page_lin != TLB_INVALID) f->phys2 = phys & ~0xFFFu;
        f->page_lin = lin & ~0xFFFu;
        f->page_phys = phys & ~0xFFFu;
        f->host = c->bus.page_ptr(c->bus.ctx, f->page_phys, false);
    }
    f->eip++;
    if (f->host) return f->host[lin & 0xFFF];
    return (uint8_t)c->bus.mem_read(c->bus.ctx, f->page_phys | (lin & 0xFFF), 1);
}

static uint32_t fetch_n(struct fetch *f, int bytes)
{
    uint32_t v = 0;
    for (int k = 0; k < bytes; k++) v |= (uint32_t)fetch_byte(f) << (8 * k);
    return v;
}

static void op_lock_ud(struct cpu *c, const struct insn *i) { (void)i; cpu_ud(c); }
static void op_too_long(struct cpu *c, const struct insn *i) { (void)i; cpu_gp(c, 0); }
static const struct opdesc too_long_row = {0, -1, D_END, op_too_long, op_too_long};

static const uint8_t modrm16_base[8] = {R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX};
static const uint8_t modrm16_index[8] = {R_ESI, R_EDI, R_ESI, R_EDI, R_NONE, R_NONE, R_NONE, R_NONE};

static void decode_modrm16(struct fetch *f, struct insn *i, int mod, int rm, int *default_ss)
{
    i->base = modrm16_base[rm];
    i->index = modrm16_index[rm];
    *default_ss = (i->base == R_EBP);
    if (mod == 0 && rm == 6) {
        i->base = R_NONE;
        *default_ss = 0;
        i->disp = fetch_n(f, 2);
    } else if (mod == 1) {
        i->disp = (uint32_t)(int32_t)(int8_t)fetch_byte(f);
    } else if (mod == 2) {
        i->disp = fetch_n(f, 2);
    }
}

static void decode_modrm32(struct fetch *f, struct insn *i, int mod, int rm, int *default_ss)
{
    i->base = (uint8_t)rm;
    if (rm == 4) {
        uint8_t sib = fetch_byte(f);
        int base = sib & 7, index = (sib >> 3) & 7;
        i->scale = sib >> 6;
        i->index = index == 4 ? R_NONE : (uint8_t)index;
        i->base = (uint8_t)base;
        if (base == 5 && mod == 0) {
            i->base = R_NONE;
            i->disp = fetch_n(f, 4);
        }
    } else if (rm == 5 && mod == 0) {
        i->base = R_NONE;
        i->disp = fetch_n(f, 4);
    }
    *default_ss = (i->base == R_ESP || i->base == R_EBP);
    if (mod == 1) i->disp = (uint32_t)(int32_t)(int8_t)fetch_byte(f);
    else if (mod == 2) i->disp = fetch_n(f, 4);
}

static void decode_immediate(struct fetch *f, struct insn *i, int kind)
{
    int osize = (i->flags & I_OP32) ? 4 : 2;
    switch (kind) {
    case IMM_IB: i->imm = fetch_byte(f); break;
    case IMM_SB: case IMM_JB: i->imm = (uint32_t)(int32_t)(int8_t)fetch_byte(f); break;
    case IMM_IW: i->imm = fetch_n(f, 2); break;
    case IMM_IV: i->imm = fetch_n(f, osize); break;
    case IMM_JV:
        i->imm = fetch_n(f, osize);
        if (osize == 2) i->imm = (uint32_t)(int32_t)(int16_t)i->imm;
        break;
    case IMM_IWIB: i->imm = fetch_n(f, 2); i->imm2 = fetch_byte(f); break;
    case IMM_AP: i->imm = fetch_n(f, osize); i->imm2 = (uint16_t)fetch_n(f, 2); break;
    case IMM_MOFFS:
        i->disp = fetch_n(f, (i->flags & I_ADDR32) ? 4 : 2);
        i->flags |= I_MEM;
        break;
    default: break;
    }
}

/* Decodes one instruction at f->eip. Returns the row used (for D_END). */
static const struct opdesc *decode_one(struct cpu *c, struct fetch *f, struct insn *i)
{
    uint32_t start = f->eip;
    bool op32 = c->code32, addr32 = c->code32;
    int seg = -1;
    uint8_t b;
    memset(i, 0, sizeof *i);
    for (;;) {
        b = fetch_byte(f);
        if (f->fault) return NULL;
        if (b == 0x66) op32 = !c->code32;
        else if (b == 0x67) addr32 = !c->code32;
        else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E) seg = (b >> 3) & 3;
        else if (b == 0x64 || b == 0x65) seg = S_FS + (b - 0x64);
        else if (b == 0xF0) i->flags |= I_LOCK;
        else if (b == 0xF2) i->flags = (uint8_t)((i->flags & ~I_REP) | I_REPNE);
        else if (b == 0xF3) i->flags = (uint8_t)((i->flags & ~I_REPNE) | I_REP);
        else break;
        if (f->eip - start >= MAX_INSN_LEN) {
            i->fn = op_too_long;
            i->len = MAX_INSN_LEN;
            return &too_long_row;
        }
    }
    int op = b;
    if (b == 0x0F) {
        op = 0x100 | fetch_byte(f);
        i->map = 1;
    }
    i->op = (uint8_t)op;
    i->flags |= (op32 ? I_OP32 : 0) | (addr32 ? I_ADDR32 : 0) | (seg >= 0 ? I_SEGOVR : 0);
    i->base = i->index = R_NONE;
    i->seg = S_DS;

    const struct opdesc *d = &c->optab[op * 8];
    int default_ss = 0;
    if (d->dec & D_MODRM) {
        uint8_t modrm = fetch_byte(f);
        int mod = modrm >> 6, rm = modrm & 7;
        i->reg = (modrm >> 3) & 7;
        i->rm = (uint8_t)rm;
        d = &c->optab[op * 8 + i->reg];
        if (mod != 3 && !(d->dec & D_REGONLY)) {
            i->flags |= I_MEM;
            if (addr32) decode_modrm32(f, i, mod, rm, &default_ss);
            else decode_modrm16(f, i, mod, rm, &default_ss);
        }
    }
    decode_immediate(f, i, (d->dec >> D_IMM_SHIFT) & 0xF);
    if (f->fault) return NULL;
    i->seg = (uint8_t)(seg >= 0 ? seg : default_ss ? S_SS : S_DS);
    i->len = (uint8_t)(f->eip - start);
    i->fn = op32 ? d->fn32 : d->fn16;
    if (i->len > MAX_INSN_LEN) i->fn = op_too_long;
    else if (((d->dec & D_MEMONLY) && !(i->flags & I_MEM)) ||
             ((i->flags & I_LOCK) && (!(d->dec & D_LOCKOK) || !(i->flags & I_MEM))))
        i->fn = op_lock_ud;
    return d;
}

int decode_block(struct cpu *c, struct insn *out, int max, uint32_t *bytes, uint32_t *phys2)
{
    struct fetch f = {.c = c, .eip = c->eip, .page_lin = TLB_INVALID, .phys2 = 1, .raise = true};
    int n = 0;
    while (n < max) {
        struct fetch save = f;
        const struct opdesc *d = decode_one(c, &f, &out[n]);
        if (!d) {          /* fetch failed after the first instruction */
            f = save;
            break;
        }
        n++;
        f.raise = false;
        if ((d->dec & D_END) || out[n - 1].fn == op_too_long || f.phys2 != 1) break;
        if (((c->seg[S_CS].base + f.eip) & 0xFFF) == 0) break;   /* next page: new block */
    }
    *bytes = f.eip - c->eip;
    *phys2 = f.phys2;
    return n;
}

void op_unimplemented(struct cpu *c, const struct insn *i)
{
    int op = (i->map << 8) | i->op;
    if (!(c->ud_logged[op / 8] & (1u << (op % 8)))) {
        c->ud_logged[op / 8] |= (uint8_t)(1u << (op % 8));
        cpu_log(c, "#UD: opcode %s%02X /%d not implemented (at %04X:%08X)", i->map ? "0F " : "",
                i->op, i->reg, c->seg[S_CS].sel, c->insn_eip);
    }
    cpu_ud(c);
}
