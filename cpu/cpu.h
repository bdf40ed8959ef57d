/* cpu.h — the x86 CPU core as the board (machine/) and the tests see it.
 *
 * Promises: an i686-class CPU that runs guest code out of physical memory that
 * the board presents through struct cpu_bus. All CPU state lives in struct cpu
 * (no globals); the core never touches host memory other than what the bus
 * hands it (RAM pages, checked against ram_size). Guest faults never crash the
 * emulator: they become x86 exceptions delivered to the guest.
 */
#ifndef PLAN86_CPU_H
#define PLAN86_CPU_H

#include <stdbool.h>
#include <stdint.h>

/* What the CPU needs from the board. Every callback gets `ctx`. */
struct cpu_bus {
    void *ctx;
    /* Host pointer to the start of the 4 KiB physical page holding `paddr` when
     * that page is plain memory (RAM, or ROM when !write), else NULL, in which
     * case the access goes through mem_read / mem_write (MMIO, unmapped). */
    uint8_t *(*page_ptr)(void *ctx, uint32_t paddr, bool write);
    uint32_t (*mem_read)(void *ctx, uint32_t paddr, int size);
    void (*mem_write)(void *ctx, uint32_t paddr, uint32_t val, int size);
    uint32_t (*io_read)(void *ctx, uint16_t port, int size);
    void (*io_write)(void *ctx, uint16_t port, uint32_t val, int size);
    /* INTR acknowledge: the vector of the highest-priority pending interrupt. */
    uint8_t (*irq_ack)(void *ctx);
    /* Virtual time in nanoseconds (RDTSC follows it). */
    uint64_t (*now_ns)(void *ctx);
    /* Triple fault: the board decides (reset or exit). */
    void (*shutdown)(void *ctx);
    /* FERR# output of the x87 (unmasked exception pending with CR0.NE=0):
     * the board routes it to IRQ13. May be NULL. */
    void (*ferr)(void *ctx, bool level);
};

enum cpu_reg { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, R_NONE };
enum cpu_sreg { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S_COUNT };

/* EFLAGS bits */
enum {
    F_CF = 1u << 0, F_PF = 1u << 2, F_AF = 1u << 4, F_ZF = 1u << 6,
    F_SF = 1u << 7, F_TF = 1u << 8, F_IF = 1u << 9, F_DF = 1u << 10,
    F_OF = 1u << 11, F_IOPL = 3u << 12, F_NT = 1u << 14, F_RF = 1u << 16,
    F_VM = 1u << 17, F_AC = 1u << 18, F_VIF = 1u << 19, F_VIP = 1u << 20,
    F_ID = 1u << 21,
    F_ARITH = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF,
};

/* CR0 bits */
enum {
    CR0_PE = 1u << 0, CR0_MP = 1u << 1, CR0_EM = 1u << 2, CR0_TS = 1u << 3,
    CR0_ET = 1u << 4, CR0_NE = 1u << 5, CR0_WP = 1u << 16, CR0_AM = 1u << 18,
    CR0_NW = 1u << 29, CR0_CD = 1u << 30, CR0_PG = 1u << 31,
};

/* Exception vectors */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* A segment register with its hidden descriptor cache.
 * attr: descriptor access byte in bits 0..7 (type, S, DPL, P), and the flags
 * nibble of descriptor byte 6 in bits 12..15 (AVL, L, D/B, G). limit is the
 * byte-granular effective limit (G already applied). */
struct seg_cache {
    uint32_t base;
    uint32_t limit;
    uint16_t sel;
    uint16_t attr;
    uint8_t check;   /* SEGCHK_* bits: accesses that need the slow check */
};

struct cpu;

struct cpu *cpu_new(const struct cpu_bus *bus);
void cpu_free(struct cpu *c);
/* Power-on/RESET state: real mode, CS=F000 base FFFF0000, EIP=FFF0. */
void cpu_reset(struct cpu *c);
/* Runs guest code for about `budget` instructions (whole blocks; it may run a
 * block past the budget). Returns early when the CPU halts or on
 * cpu_request_exit. Returns the number of instructions retired. */
uint64_t cpu_run(struct cpu *c, uint64_t budget);
/* Level of the INTR line from the interrupt controller. */
void cpu_set_intr(struct cpu *c, bool level);
/* Makes cpu_run return at the next block boundary (e.g. a device asks). */
void cpu_request_exit(struct cpu *c);
void cpu_set_a20(struct cpu *c, bool enabled);
/* Something other than the CPU wrote guest RAM (DMA): drop decoded code there. */
void cpu_phys_written(struct cpu *c, uint32_t paddr, uint32_t len);
/* The board's memory map changed (ROM shadowing, MMIO moved): drop the TLB. */
void cpu_memory_map_changed(struct cpu *c);

/* HLT state: halted and whether it can ever wake (IF=0 halts for good). */
bool cpu_is_halted(const struct cpu *c);
bool cpu_halted_forever(const struct cpu *c);
uint64_t cpu_icount(const struct cpu *c);

/* State access for the board, tests and debuggers. */
uint32_t cpu_get_reg(const struct cpu *c, enum cpu_reg r);
void cpu_set_reg(struct cpu *c, enum cpu_reg r, uint32_t v);
uint32_t cpu_get_eip(const struct cpu *c);
void cpu_set_eip(struct cpu *c, uint32_t eip);
uint32_t cpu_get_eflags(struct cpu *c);
void cpu_set_eflags(struct cpu *c, uint32_t v);
/* Loads a segment register the way real mode does (base = sel << 4),
 * keeping the cached limit and attributes (as hardware does). */
void cpu_set_seg_real(struct cpu *c, enum cpu_sreg s, uint16_t sel);
/* Loads a segment register's hidden cache directly (test set-up, boot loader). */
void cpu_set_seg_cache(struct cpu *c, enum cpu_sreg s, uint16_t sel,
                       uint32_t base, uint32_t limit, uint16_t attr);
const struct seg_cache *cpu_get_seg(const struct cpu *c, enum cpu_sreg s);
/* Sets CR0 (and the mode derived from it) as MOV CR0 would, without checks. */
void cpu_set_cr0(struct cpu *c, uint32_t cr0);
uint32_t cpu_get_cr(const struct cpu *c, int n);
void cpu_set_gdt(struct cpu *c, uint32_t base, uint16_t limit);
void cpu_set_idt(struct cpu *c, uint32_t base, uint16_t limit);

#endif
