/* ops_io.c — port I/O: IN and OUT (E4-E7 with an imm8 port, EC-EF with DX).
 *
 * Promises: the I/O permission check (IOPL, TSS bitmap) runs before the port
 * is touched, so a denied access raises #GP(0) with no device side effect.
 * Accesses go to the board's port bus with their width (1, 2 or 4 bytes).
 */
#include "internal.h"

static inline uint16_t imm_port(const struct insn *i) { return (uint16_t)(i->imm & 0xFF); }
static inline uint16_t dx_port(const struct cpu *c) { return get_r16(c, R_EDX); }

static void port_in(struct cpu *c, uint16_t port, int size)
{
    cpu_check_io(c, port, size);
    reg_write(c, R_EAX, c->bus.io_read(c->bus.ctx, port, size), size);
}

static void port_out(struct cpu *c, uint16_t port, int size)
{
    cpu_check_io(c, port, size);
    c->bus.io_write(c->bus.ctx, port, reg_read(c, R_EAX, size), size);
}

/* E4 / E5 / EC / ED: IN AL/AX/EAX, port */
static void in_imm8(struct cpu *c, const struct insn *i) { port_in(c, imm_port(i), 1); }
static void in_imm16(struct cpu *c, const struct insn *i) { port_in(c, imm_port(i), 2); }
static void in_imm32(struct cpu *c, const struct insn *i) { port_in(c, imm_port(i), 4); }
static void in_dx8(struct cpu *c, const struct insn *i) { (void)i; port_in(c, dx_port(c), 1); }
static void in_dx16(struct cpu *c, const struct insn *i) { (void)i; port_in(c, dx_port(c), 2); }
static void in_dx32(struct cpu *c, const struct insn *i) { (void)i; port_in(c, dx_port(c), 4); }

/* E6 / E7 / EE / EF: OUT port, AL/AX/EAX */
static void out_imm8(struct cpu *c, const struct insn *i) { port_out(c, imm_port(i), 1); }
static void out_imm16(struct cpu *c, const struct insn *i) { port_out(c, imm_port(i), 2); }
static void out_imm32(struct cpu *c, const struct insn *i) { port_out(c, imm_port(i), 4); }
static void out_dx8(struct cpu *c, const struct insn *i) { (void)i; port_out(c, dx_port(c), 1); }
static void out_dx16(struct cpu *c, const struct insn *i) { (void)i; port_out(c, dx_port(c), 2); }
static void out_dx32(struct cpu *c, const struct insn *i) { (void)i; port_out(c, dx_port(c), 4); }

const struct opdesc ops_io[] = {
    { 0xE4, -1, DI(IMM_IB), in_imm8, in_imm8 },
    { 0xE5, -1, DI(IMM_IB), in_imm16, in_imm32 },
    { 0xE6, -1, DI(IMM_IB), out_imm8, out_imm8 },
    { 0xE7, -1, DI(IMM_IB), out_imm16, out_imm32 },
    { 0xEC, -1, 0, in_dx8, in_dx8 },
    { 0xED, -1, 0, in_dx16, in_dx32 },
    { 0xEE, -1, 0, out_dx8, out_dx8 },
    { 0xEF, -1, 0, out_dx16, out_dx32 },
    OPDESC_END
};
