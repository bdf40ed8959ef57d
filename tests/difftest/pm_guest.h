/* pm_guest.h — a minimal board for CPU-level tests and benchmarks: flat RAM,
 * and a plan86 CPU in 32-bit flat protected mode (no paging).
 *
 * Promises: pmg_new() builds, in low RAM, a GDT (flat ring-0 and ring-3 code
 * and data), a TSS whose ring-0 stack is separate from any guest stack, and an
 * IDT whose 32 exception gates point at per-vector ring-0 stubs that halt. A
 * guest runs from pmg_enter() until it halts: either by its own HLT at CPL 0
 * or by an exception (HLT at CPL 3 is #GP), which pmg_run() reports with the
 * vector and the interrupted EIP, ESP and EFLAGS read back from the frame.
 * Guest addresses from PMG_FREE_BASE up to the RAM size are free for tests.
 */
#ifndef PLAN86_PM_GUEST_H
#define PLAN86_PM_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

#define PMG_FREE_BASE 0x10000u

/* Selectors of the flat segments. */
enum { PMG_CS0 = 0x08, PMG_DS0 = 0x10, PMG_CS3 = 0x1B, PMG_DS3 = 0x23, PMG_TSS = 0x28 };

struct pmg;

struct pmg_exit {
    int vector;        /* exception vector; -1: the guest executed HLT itself */
    uint32_t eip;      /* faulting (or next, for traps) instruction; after HLT */
    uint32_t esp;      /* guest ESP at the exception */
    uint32_t eflags;
    uint32_t err;      /* error code, 0 when the vector has none */
};

/* ram_size: a multiple of 4 KiB, at least 64 KiB. NULL when out of memory. */
struct pmg *pmg_new(uint32_t ram_size);
void pmg_free(struct pmg *g);
struct cpu *pmg_cpu(struct pmg *g);
uint8_t *pmg_ram(struct pmg *g);
/* Copies into guest RAM and tells the CPU (drops decoded code there). */
void pmg_write(struct pmg *g, uint32_t addr, const void *src, size_t len);
/* Sets flat CS/SS/DS/ES for `cpl` (0 or 3), EIP, ESP and EFLAGS; clears HLT. */
void pmg_enter(struct pmg *g, int cpl, uint32_t eip, uint32_t esp, uint32_t eflags);
/* Runs until the guest halts; 0 and *out filled, or -1 when `budget`
 * instructions pass first (a runaway guest). */
int pmg_run(struct pmg *g, uint64_t budget, struct pmg_exit *out);

#endif
